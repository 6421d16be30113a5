#!/usr/bin/env python3
"""PyTorch reference for `xtf score`'s model work on the same data (issue #5's comparison).

For each GSM8K record: plain template (question + "\\n", then the answer), GPT-2 tokenizer,
truncated to --max-length; one eager forward per batch (sorted by length, padded, attention
mask) returning the next-token log-probs of the response tokens and the attention each
position receives from later queries (last layer, mean over heads), as xtf computes them;
plus the final-norm state of every distinct response token fed alone (TR), once per id.
Random weights of the given configuration, fp32, --threads threads (default 1, like one
xtf rank). Prints tokens/s over the prompt and response tokens read.

Needs torch and transformers; never needed by the tests.
Usage: scripts/bench_score_pytorch.py --model-dir DIR --data FILE [--records N] [--threads 1]
"""
import argparse
import json
import time

import torch
import transformers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True, help="checkpoint written by `xtf model init` (config.json, model.safetensors, tokenizer.json)")
    ap.add_argument("--data", required=True)
    ap.add_argument("--records", type=int, default=None)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--batch-tokens", type=int, default=2048)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tok = transformers.PreTrainedTokenizerFast(tokenizer_file=f"{args.model_dir}/tokenizer.json")
    model = transformers.AutoModelForCausalLM.from_pretrained(args.model_dir, attn_implementation="eager", dtype=torch.float32).eval()

    samples = []
    with open(args.data) as f:
        for i, line in enumerate(f):
            if args.records is not None and i >= args.records:
                break
            r = json.loads(line)
            p = tok(r["question"] + "\n")["input_ids"]
            a = tok(r["answer"])["input_ids"]
            ids = (p + a)[: args.max_length]
            samples.append((ids, len(p)))
    samples.sort(key=lambda s: len(s[0]))

    start = time.perf_counter()
    tokens = 0
    seen = set()
    with torch.inference_mode():
        i = 0
        while i < len(samples):
            j = i + 1
            while j < len(samples) and j - i < args.batch_size and (j - i + 1) * len(samples[j][0]) <= args.batch_tokens:
                j += 1
            batch = samples[i:j]
            T = max(len(s[0]) for s in batch)
            ids = torch.zeros((len(batch), T), dtype=torch.long)
            mask = torch.zeros((len(batch), T), dtype=torch.long)
            for b, (s, _) in enumerate(batch):
                ids[b, : len(s)] = torch.tensor(s)
                mask[b, : len(s)] = 1
            out = model(input_ids=ids, attention_mask=mask, output_attentions=True)
            logp = torch.log_softmax(out.logits[:, :-1].float(), dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
            att = out.attentions[-1].mean(dim=1)  # [B, T(query), T(key)]
            received = torch.triu(att.transpose(1, 2), diagonal=1).sum(-1)  # keys p, queries q > p
            for b, (s, p) in enumerate(batch):
                n = len(s)
                _ = logp[b, p - 1 : n - 1].exp()
                _ = received[b, p:n] / torch.clamp(torch.arange(n - 1, n - 1 - (n - p), -1, dtype=torch.float), min=1)
                seen.update(s[p:])
                tokens += n
            i = j
        # TR: one-token sequences of every distinct response id, 64 at a time.
        distinct = sorted(seen)
        for k in range(0, len(distinct), 64):
            block = torch.tensor(distinct[k : k + 64])[:, None]
            model.transformer(input_ids=block) if hasattr(model, "transformer") else model.model(input_ids=block)
    seconds = time.perf_counter() - start
    print(json.dumps({"records": len(samples), "tokens": tokens, "seconds": round(seconds, 2),
                      "tokens_per_second": round(tokens / seconds, 1), "threads": args.threads}))


if __name__ == "__main__":
    main()
