#!/usr/bin/env python3
"""How close scoring runs' pcp (the probability of each response token) is to transformers
in float64 on the same token ids: the relative error's median, 99th percentile and maximum
per run, over the response tokens of the first CHUNKS chunks.

Needs torch and transformers (a comparison script: never used by the tests). MODEL_DIR is the
Hugging Face directory the runs scored with.

Usage: scripts/pcp_vs_float64.py MODEL_DIR RUN [RUN ...] [--chunks 2]
"""
import argparse
import importlib.util
import os

import numpy as np
import torch
import transformers

spec = importlib.util.spec_from_file_location("score_differences", os.path.join(os.path.dirname(__file__), "score_differences.py"))
score_differences = importlib.util.module_from_spec(spec)
spec.loader.exec_module(score_differences)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--chunks", type=int, default=2)
    args = ap.parse_args()
    model = transformers.AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float64).eval()
    errors = {run: [] for run in args.runs}
    for chunk in range(args.chunks):
        files = {run: score_differences.read(f"{run}/scores/chunk-{chunk:06d}.safetensors") for run in args.runs}
        first = files[args.runs[0]]
        samples, spans, span_offsets = first["sample_offsets"], first["response_spans"], first["span_offsets"]
        k = 0
        for s in range(len(samples) - 1):
            ids = torch.tensor(first["input_ids"][samples[s]:samples[s + 1]].astype(np.int64))[None]
            with torch.no_grad():
                log_probs = torch.log_softmax(model(ids).logits[0], -1)
            for j in range(span_offsets[s], span_offsets[s + 1]):
                for t in range(spans[2 * j], spans[2 * j + 1]):
                    assert t > 0, "a response token at position 0 has no prediction"
                    exact = log_probs[t - 1, ids[0, t]].exp().item()
                    for run in args.runs:
                        errors[run].append(abs(float(files[run]["pcp"][k]) - exact) / exact)
                    k += 1
    for run, e in errors.items():
        e = np.array(e)
        print(f"{run}: {len(e)} response tokens, relative error of pcp: median {np.median(e):.2e}, "
              f"p99 {np.quantile(e, 0.99):.2e}, max {e.max():.2e}")


if __name__ == "__main__":
    main()
