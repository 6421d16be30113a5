#!/usr/bin/env bash
# `xtf bench model` against the same work in PyTorch (scripts/bench_pytorch_model.py), issue
# #3: for each configuration, ROUNDS rounds that alternate the two (so drifts in the shared
# machine's speed hit both), 2 threads each: xtf as one process of 2 OpenBLAS threads, or with
# RANKS=2 as two ranks of one thread each (each rank runs half the batch, as the pipeline's
# ranks share work; its training step sums the gradients across the ranks). Prints per round and the medians, and the ratio
# of the medians. Needs torch and transformers (pip install torch transformers).
#
#   scripts/bench_model_vs_pytorch.sh                       # all three configs, 3 rounds
#   CONFIGS="gpt2-small-bench" ROUNDS=5 scripts/bench_model_vs_pytorch.sh
#   CONFIGS="configs/models/smollm2-135m.json configs/models/qwen3-0.6b.json" BATCH=4 LENGTH=256 scripts/bench_model_vs_pytorch.sh
#   LORA=8,32,q_proj+v_proj CONFIGS=configs/models/smollm2-135m.json scripts/bench_model_vs_pytorch.sh   # LoRA training (needs peft)
#   RANKS=2 CONFIGS=configs/models/smollm2-135m.json scripts/bench_model_vs_pytorch.sh      # xtf as 2 ranks x 1 thread
set -euo pipefail
cd "$(dirname "$0")/.."
configs=${CONFIGS:-"gpt2-small-bench llama-bench gpt2-124M"}
rounds=${ROUNDS:-3}
ranks=${RANKS:-1}
case "$ranks" in 1|2) ;; *) echo "RANKS is 1 or 2 (the two cores PyTorch's 2 threads use), got $ranks" >&2; exit 2 ;; esac
work=${WORK:-${TMPDIR:-/tmp}/xtf-bench-model}
xtf=.build/release/xtf
[ -x "$xtf" ] || scripts/setup.sh >/dev/null
python3 -c "import torch, transformers" 2>/dev/null || { echo "needs torch and transformers (pip install torch transformers)" >&2; exit 2; }
rm -rf "$work"; mkdir -p "$work"
for config in $configs; do
  for round in $(seq "$rounds"); do
    name=$(basename "$config" .json)
    shape=(${BATCH:+--batch "$BATCH"} ${LENGTH:+--length "$LENGTH"} ${LORA:+--lora "$LORA"})
    # One process runs without mpirun, which would bind it (and both its threads) to one core.
    launch=("$xtf"); [ "$ranks" -eq 1 ] || launch=(scripts/xtf-mpirun -np "$ranks")
    "${launch[@]}" bench model --config "$config" "${shape[@]}" --threads $((2 / ranks)) --json "$work/xtf-$name-$round.json" > "$work/xtf-$name-$round.log" 2>&1
    python3 scripts/bench_pytorch_model.py --config "$config" "${shape[@]}" --threads 2 --json "$work/torch-$name-$round.json" \
      > "$work/torch-$name-$round.log" 2>&1
  done
done
python3 - "$work" $(for c in $configs; do basename "$c" .json; done) <<'PY'
import glob, json, statistics, sys
work, configs = sys.argv[1], sys.argv[2:]
print("| config | mode | xtf tokens/s (rounds) | PyTorch tokens/s (rounds) | median xtf / median PyTorch | xtf MFU (median) |")
print("| --- | --- | --- | --- | ---: | ---: |")
for c in configs:
    xs = [json.load(open(f)) for f in sorted(glob.glob(f"{work}/xtf-{c}-*.json"))]
    ts = [json.load(open(f)) for f in sorted(glob.glob(f"{work}/torch-{c}-*.json"))]
    for mode in ["scoring", "training"]:
        x = [r[f"{mode}TokensPerSecond"] for r in xs]
        t = [r[f"{mode}_tokens_per_second"] for r in ts]
        mfu = statistics.median(r[f"{mode}GFLOPS"] / r["gemmCeilingGFLOPS"] for r in xs)
        print(f"| {c} | {mode} | {', '.join(f'{v:.0f}' for v in x)} | {', '.join(f'{v:.0f}' for v in t)} "
              f"| {statistics.median(x) / statistics.median(t):.2f}x | {100 * mfu:.1f}% |")
PY
