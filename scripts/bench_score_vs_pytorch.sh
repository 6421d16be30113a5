#!/usr/bin/env bash
# `xtf score` against the same model work in PyTorch (scripts/bench_score_pytorch.py) on a
# real checkpoint, issue #19: ROUNDS rounds that alternate `xtf score` at -np 2 (one OpenBLAS
# thread per rank) and PyTorch with 2 threads, on the first RECORDS GSM8K train records, plain
# template, RI from the last layer, TR states of every distinct response id, --max-length 256
# --batch-tokens 2048; which side runs first swaps every round. Prints each round, the medians'
# ratio, and the median of the rounds' ratios with its interval against TARGET (default 1.5,
# the issue's; scripts/paired_rounds.py). Needs torch and transformers (pip install torch
# transformers) and an idle machine.
#
#   scripts/bench_score_vs_pytorch.sh                                 # SmolLM2-135M-Instruct, 150 records, 3 rounds (5 or more give an interval)
#   MODEL=DIR RECORDS=300 ROUNDS=8 WEIGHTS=mapped scripts/bench_score_vs_pytorch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
target=${TARGET:-1.5}
work=${WORK:-${TMPDIR:-/tmp}/xtf-bench-score-vs-pytorch}
source scripts/bench_score_common.sh
run_xtf() { score_xtf "$xtf" "xtf-$1"; }
run_torch() { score_torch "torch-$1"; }
# Which side runs first swaps every round, so an effect of the order is not in every ratio.
for round in $(seq "$rounds"); do
  if (( round % 2 )); then run_xtf "$round"; run_torch "$round"; else run_torch "$round"; run_xtf "$round"; fi
done
python3 - "$work" "$rounds" "$target" <<'PY'
import json, re, sys
sys.path.insert(0, "scripts")
from paired_rounds import summary
work, rounds = sys.argv[1], int(sys.argv[2])
xs, ts = [], []
for r in range(1, rounds + 1):
    line = [l for l in open(f"{work}/xtf-{r}.log") if "tokens/s on" in l][-1]
    xs.append(float(re.search(r"([0-9.]+) tokens/s on", line).group(1)))
    ts.append(json.load(open(f"{work}/torch-{r}.json"))["tokens_per_second"])
print("xtf score -np 2 tokens/s:", ", ".join(f"{v:.0f}" for v in xs))
print("PyTorch 2 threads tokens/s:", ", ".join(f"{v:.0f}" for v in ts))
print(summary(xs, ts, target=float(sys.argv[3])))
PY
