#!/usr/bin/env python3
"""Reads the files of `xtf export` with the trainers' own code and checks that the tokens XTF
masked stay without a loss (-100) all the way to a training batch (a test helper: ExportTests).

    python3 scripts/check_export.py --jsonl ALL.jsonl --trl TRL.jsonl --axolotl AXOLOTL.jsonl --tokenizer tokenizer.json [--packed-out FILE.json]

ALL.jsonl (`--to jsonl`) is the truth: ids and labels as masked.jsonl has them.
- datasets: every file loads with `load_dataset("json")` and holds the truth's columns.
- axolotl's batches: transformers' DataCollatorForSeq2Seq, the collator axolotl uses for
  pre-tokenized data, pads labels with -100 and keeps every label.
- TRL: SFTTrainer (packing on, completion_only_loss=True) prepares the TRL file
  and packs it; in every packed batch each sequence's labels equal the truth's.
Prints one JSON object: what was checked, and `skipped` with the reason for each check whose
library is missing. Exits 1 on a mismatch. With --packed-out, TRL's packed batches (each row's
input_ids, labels and position_ids) are written there: the reference ExportTests checks
without TRL (Tests/PipelineTests/Fixtures/trl-packing).
"""
import argparse
import json
import sys
import tempfile


def fail(message):
    print(json.dumps({"error": message}))
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jsonl", required=True)
    parser.add_argument("--trl", required=True)
    parser.add_argument("--axolotl", required=True)
    parser.add_argument("--tokenizer", required=True, help="tokenizer.json of the run's tokenizer")
    parser.add_argument("--packed-out", help="write TRL's packed batches here (JSON)")
    args = parser.parse_args()
    truth = [json.loads(line) for line in open(args.jsonl, encoding="utf-8") if line.strip()]
    report = {"samples": len(truth), "checked": [], "skipped": {}}

    import datasets

    datasets.disable_progress_bars()
    loaded = {name: datasets.load_dataset("json", data_files=path, split="train")
              for name, path in [("jsonl", args.jsonl), ("trl", args.trl), ("axolotl", args.axolotl)]}
    if sorted(loaded["trl"].column_names) != ["completion_mask", "input_ids"]:
        fail(f"trl columns {loaded['trl'].column_names}")
    if sorted(loaded["axolotl"].column_names) != ["attention_mask", "input_ids", "labels"]:
        fail(f"axolotl columns {loaded['axolotl'].column_names}")
    for i, t in enumerate(truth):
        trl, axo = loaded["trl"][i], loaded["axolotl"][i]
        if trl["input_ids"] != t["input_ids"] or axo["input_ids"] != t["input_ids"]:
            fail(f"{t['id']}: input_ids differ")
        if trl["completion_mask"] != [int(label != -100) for label in t["labels"]]:
            fail(f"{t['id']}: completion_mask is not where labels != -100")
        if axo["labels"] != t["labels"] or axo["attention_mask"] != [1] * len(t["input_ids"]):
            fail(f"{t['id']}: axolotl labels or attention_mask differ")
    report["checked"].append("datasets")

    try:
        import torch  # noqa: F401
        from transformers import DataCollatorForSeq2Seq, PreTrainedTokenizerFast
    except ImportError as error:
        report["skipped"]["axolotl-collator"] = report["skipped"]["trl"] = f"no torch/transformers: {error}"
        print(json.dumps(report))
        return
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=args.tokenizer)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.convert_ids_to_tokens(0)
    collator = DataCollatorForSeq2Seq(tokenizer=tokenizer, padding=True, label_pad_token_id=-100)
    for start in range(0, len(truth), 4):
        rows = [loaded["axolotl"][i] for i in range(start, min(start + 4, len(truth)))]
        batch = collator(rows)
        for row, labels in zip(rows, batch["labels"].tolist()):
            n = len(row["labels"])
            if labels[:n] != row["labels"] or any(label != -100 for label in labels[n:]):
                fail("axolotl collator changed labels")
    report["checked"].append("axolotl-collator")

    try:
        from transformers import GPT2Config, GPT2LMHeadModel
        from trl import SFTConfig, SFTTrainer
    except ImportError as error:
        report["skipped"]["trl"] = f"no trl: {error}"
        print(json.dumps(report))
        return
    longest = max(len(t["input_ids"]) for t in truth)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=longest + 8, n_embd=8, n_layer=1, n_head=1))
    by_ids = {tuple(t["input_ids"]): t["labels"] for t in truth}
    with tempfile.TemporaryDirectory() as out:
        # completion_only_loss must be set: TRL turns it on by itself only for prompt/completion text columns.
        config = SFTConfig(output_dir=out, packing=True, completion_only_loss=True, max_length=2 * longest, per_device_train_batch_size=2,
                           report_to="none", dataset_num_proc=None, use_cpu=True)
        trainer = SFTTrainer(model=model, args=config, train_dataset=loaded["trl"], processing_class=tokenizer)
        seen, packed_rows, recorded = 0, 0, []
        for batch in trainer.get_train_dataloader():
            ids, labels, positions = batch["input_ids"].tolist(), batch["labels"].tolist(), batch["position_ids"].tolist()
            for row_ids, row_labels, row_positions in zip(ids, labels, positions):
                packed_rows += 1
                recorded.append({"input_ids": row_ids, "labels": row_labels, "position_ids": row_positions})
                starts = [k for k, p in enumerate(row_positions) if p == 0] + [len(row_positions)]
                for a, b in zip(starts, starts[1:]):
                    key = tuple(row_ids[a:b])
                    if key not in by_ids:
                        if all(label == -100 for label in row_labels[a:b]):
                            continue  # padding
                        fail(f"a packed sequence of {b - a} tokens matches no sample")
                    if row_labels[a:b] != by_ids[key]:
                        diff = [k for k, (x, y) in enumerate(zip(row_labels[a:b], by_ids[key])) if x != y]
                        fail(f"packed labels differ from xtf's at positions {diff[:10]}")
                    seen += 1
        if seen != len(truth):
            fail(f"the packed batches hold {seen} of {len(truth)} samples")
        report["checked"].append("trl-packed")
        report["packed_rows"] = packed_rows
        if args.packed_out:
            import transformers
            import trl
            with open(args.packed_out, "w", encoding="utf-8") as f:
                json.dump({"trl": trl.__version__, "transformers": transformers.__version__, "rows": recorded}, f, separators=(",", ":"))
                f.write("\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
