#!/usr/bin/env python3
"""Encoding speed of `xtf bench tokenizer` against the `tokenizers` package, both on one
thread, on the same texts (issue #4).

    python3 scripts/bench_tokenizer.py [--tokenizer PATH] [--input FILE.jsonl] [--fields a,b] [--repetitions N]

Defaults: the GPT-2 tokenizer.json and GSM8K train (question and answer fields) from
../shared. The reference runs `Tokenizer.encode_batch` with RAYON_NUM_THREADS=1 and
TOKENIZERS_PARALLELISM=false (and, for reference, `encode_batch_fast`, which skips offsets);
both sides do one warm-up pass, then report the median of N timed passes over all records. Builds xtf (release) when needed. Prints a Markdown table.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Tokenizer  # noqa: E402 (after the thread settings)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")


def reference(path, texts, repetitions, method="encode_batch"):
    tok = Tokenizer.from_file(path)
    encode = getattr(tok, method)
    encode(texts)  # warm-up
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        encodings = encode(texts)
        times.append(time.perf_counter() - start)
    return statistics.median(times), sum(len(e.ids) for e in encodings)


def swift(xtf, path, input_path, field, repetitions):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([xtf, "bench", "tokenizer", "--tokenizer", path, "--input", input_path, "--field", field,
                        "--repetitions", str(repetitions), "--json", out.name], check=True, stdout=subprocess.DEVNULL)
        r = json.load(open(out.name))
    return r["medianSeconds"], r["tokens"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokenizer", default=os.path.join(SHARED, "data", "tokenizers", "gpt2", "tokenizer.json"))
    p.add_argument("--input", default=os.path.join(SHARED, "data", "gsm8k", "train.jsonl"))
    p.add_argument("--fields", default="question,answer")
    p.add_argument("--repetitions", type=int, default=5)
    a = p.parse_args()
    subprocess.run(["swift", "build", "-c", "release", "--product", "xtf"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    xtf = os.path.join(subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, text=True).strip(), "xtf")

    print("| field | MB | tokens | tokenizers s | MB/s | tokens/s | xtf s | MB/s | tokens/s | xtf / tokenizers "
          "| encode_batch_fast MB/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for field in a.fields.split(","):
        with open(a.input, encoding="utf-8") as f:
            texts = [json.loads(line)[field] for line in f if line.strip()]
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        ref_s, ref_tokens = reference(a.tokenizer, texts, a.repetitions)
        xtf_s, xtf_tokens = swift(xtf, a.tokenizer, a.input, field, a.repetitions)
        if ref_tokens != xtf_tokens:
            sys.exit(f"token counts differ on {field}: tokenizers {ref_tokens}, xtf {xtf_tokens}")
        # encode_batch_fast (tokenizers >= 0.20) skips offsets: the reference's fastest path.
        fast = f"{mb / reference(a.tokenizer, texts, a.repetitions, 'encode_batch_fast')[0]:.2f}" \
            if hasattr(Tokenizer, "encode_batch_fast") else "n/a"
        print(f"| {field} | {mb:.2f} | {ref_tokens} | {ref_s:.3f} | {mb / ref_s:.2f} | {ref_tokens / ref_s:,.0f} "
              f"| {xtf_s:.3f} | {mb / xtf_s:.2f} | {xtf_tokens / xtf_s:,.0f} | {ref_s / xtf_s:.2f}x | {fast} |")


if __name__ == "__main__":
    main()
