#!/usr/bin/env bash
# Training throughput of `xtf train` (issue #6): -np 2 with one OpenBLAS thread per rank
# against -np 1 with two threads, the same global batches (GSM8K train, every response token
# with a loss), random weights of a benchmark configuration; and how much of the gradient
# all-reduce the backward hides, from the per-step timeline.
#
#   scripts/bench_train.sh                          # gpt2-small-bench, 20 steps
#   CONFIG=gpt2-124M STEPS=10 scripts/bench_train.sh
#   CONFIG=llama-bench scripts/bench_train.sh     # tokenizes with a Llama-3-style tokenizer
#                                                 # trained by scripts/train_test_tokenizers.py
set -euo pipefail
cd "$(dirname "$0")/.."
config=${CONFIG:-gpt2-small-bench}
steps=${STEPS:-20}
work=${WORK:-${TMPDIR:-/tmp}/xtf-bench-train}
xtf=.build/release/xtf
[ -x "$xtf" ] || scripts/setup.sh >/dev/null
mkdir -p "$work"
case "$config" in
  gpt2-*) tokenizer=../shared/data/tokenizers/gpt2/tokenizer.json ;;
  llama-*) # GPT-2's ids do not fit a 32,000-id vocabulary: a small Llama-3-style tokenizer (needs `tokenizers`)
    [ -f "$work/tokenizers/llama3/tokenizer.json" ] || python3 scripts/train_test_tokenizers.py "$work/tokenizers" >/dev/null
    tokenizer=$work/tokenizers/llama3/tokenizer.json ;;
  *) echo "unknown CONFIG $config" >&2; exit 2 ;;
esac
[ -f "$work/$config/model.safetensors" ] || "$xtf" model init --config "$config" --out "$work/$config" --tokenizer "$tokenizer" >/dev/null
head -n 2000 ../shared/data/gsm8k/train.jsonl > "$work/data.jsonl"

run() { # np threads
  local out="$work/out-np$1"
  rm -rf "$out"
  OPENBLAS_NUM_THREADS=$2 XTF_BIN="$xtf" scripts/xtf-mpirun -np "$1" train --model "$work/$config" --data "$work/data.jsonl" \
    --format gsm8k --mask none --max-length 256 --on-bad-record skip --out "$out" --max-steps "$steps" --global-batch 16 \
    --micro-batch-tokens 4096 --timeline --checkpoint-every 100000 2> "$out.log" > /dev/null
  python3 - "$out/timeline.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][1:]  # step 1 warms up
wall = sum(r["compute"] + r["exposedCommunication"] + r["optimizer"] for r in rows)
comm = sum(r["communication"] for r in rows); exposed = sum(r["exposedCommunication"] for r in rows)
tokens = sum(r["inputTokens"] for r in rows)
hidden = 1 - exposed / comm if comm > 0 else 0
print(f"{tokens / wall:.0f} {comm:.3f} {exposed:.3f} {hidden:.3f}")
PY
}
read -r one _ _ _ < <(run 1 2)
read -r two comm exposed hidden < <(run 2 1)
echo "config: $config, $steps steps of 16 GSM8K samples (steps 2..$steps timed)"
echo "np=1, 2 OpenBLAS threads: $one tokens/s"
echo "np=2, 1 thread per rank:  $two tokens/s; all-reduce ${comm}s, exposed ${exposed}s, hidden fraction $hidden"
awk -v a="$one" -v b="$two" 'BEGIN { printf "np=2 / np=1: %.2fx\n", b / a }'
