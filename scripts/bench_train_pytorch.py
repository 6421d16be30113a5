#!/usr/bin/env python3
"""PyTorch reference for `xtf train` on the same records (issue #19's training comparison).

The first --records GSM8K records, plain template (question + "\\n", then the answer),
tokenized with the model's tokenizer.json and truncated to --max-length, sorted by length
and cut into batches of --batch (padded to the batch's longest, attention mask: sorting keeps
the padding small, as transformers' group_by_length does; xtf packs without padding); loss =
mean cross-entropy over the response tokens; AdamW (lr 1e-4); one epoch. Full fine-tuning, or with --lora r,alpha,modules PEFT
adapters on the frozen base. fp32, SDPA attention, --threads threads. Prints JSON: the
tokens read (prompt and response, padding not counted), the wall seconds of the whole epoch
and tokens/s.

Needs torch and transformers (and peft for --lora); never needed by the tests.
Usage: scripts/bench_train_pytorch.py --model-dir DIR --data FILE --records 48 --batch 8 [--lora 8,32,q_proj+v_proj] [--threads 2]
"""
import argparse
import json
import time

import torch
import transformers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--lora")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tok = transformers.PreTrainedTokenizerFast(tokenizer_file=f"{args.model_dir}/tokenizer.json")
    model = transformers.AutoModelForCausalLM.from_pretrained(args.model_dir, attn_implementation="sdpa", dtype=torch.float32)
    if args.lora:
        import peft
        rank, alpha, modules = args.lora.split(",")
        model = peft.get_peft_model(model, peft.LoraConfig(r=int(rank), lora_alpha=int(alpha), target_modules=modules.split("+"),
                                                           lora_dropout=0.0, task_type="CAUSAL_LM"))
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    samples = []
    with open(args.data) as f:
        for line in f:
            if len(samples) == args.records:
                break
            r = json.loads(line)
            p = tok(r["question"] + "\n")["input_ids"]
            a = tok(r["answer"])["input_ids"]
            samples.append(((p + a)[: args.max_length], len(p)))

    samples.sort(key=lambda s: len(s[0]))
    tokens = sum(len(ids) for ids, _ in samples)
    padded = sum(len(b) * max(len(ids) for ids, _ in b) for b in (samples[i:i + args.batch] for i in range(0, len(samples), args.batch)))
    start = time.perf_counter()
    for i in range(0, len(samples), args.batch):
        batch = samples[i:i + args.batch]
        T = max(len(ids) for ids, _ in batch)
        ids = torch.zeros((len(batch), T), dtype=torch.long)
        attention = torch.zeros((len(batch), T), dtype=torch.long)
        labels = torch.full((len(batch), T), -100, dtype=torch.long)
        for b, (s, prompt) in enumerate(batch):
            ids[b, : len(s)] = torch.tensor(s)
            attention[b, : len(s)] = 1
            labels[b, prompt: len(s)] = torch.tensor(s[prompt:])
        loss = model(input_ids=ids, attention_mask=attention, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    seconds = time.perf_counter() - start
    print(json.dumps({"tokens": tokens, "seconds": seconds, "tokens_per_second": tokens / seconds, "padded_tokens": padded, "steps": (len(samples) + args.batch - 1) // args.batch,
                      "lora": args.lora, "torch": torch.__version__, "transformers": transformers.__version__}))


if __name__ == "__main__":
    main()
