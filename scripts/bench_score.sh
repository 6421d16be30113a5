#!/usr/bin/env bash
# Scoring throughput of `xtf score` (issue #5) on GSM8K train with a model of
# gpt2-small-bench size (random weights, the real GPT-2 tokenizer): -np 1 against -np 2,
# one OpenBLAS thread per rank, and peak memory against a dataset MEMORY_SCALE times larger.
#
#   scripts/bench_score.sh                 # all 7,473 records
#   RECORDS=1000 scripts/bench_score.sh    # the first 1,000 (quicker)
#   MEMORY_SCALE=10 scripts/bench_score.sh # also score the data repeated 10 times at -np 2
#   CONFIG=path/config.json ...            # another model size (a benchmark name or a config.json)
#
# Prints tokens/s (prompt and response tokens the model read, per wall second of the
# scoring phase) and peak RSS per rank, as `xtf score` logs them.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${RECORDS:-7473}
config=${CONFIG:-gpt2-small-bench}
work=${WORK:-${TMPDIR:-/tmp}/xtf-bench-score-$(basename "$config" .json)}
scale=${MEMORY_SCALE:-0}
xtf=.build/release/xtf
[ -x "$xtf" ] || scripts/setup.sh >/dev/null
mkdir -p "$work"
if [ ! -f "$work/model/model.safetensors" ]; then
  "$xtf" model init --config "$config" --out "$work/model" \
    --tokenizer ../shared/data/tokenizers/gpt2/tokenizer.json >/dev/null
fi
head -n "$records" ../shared/data/gsm8k/train.jsonl > "$work/data.jsonl"

# Runs one scoring job; prints "tokens/s peak-MiB-of-the-largest-rank".
score() { # np data
  local run="$work/run-np$1-$(basename "$2" .jsonl)"
  rm -rf "$run"
  XTF_BIN="$xtf" scripts/xtf-mpirun -np "$1" score --model "$work/model" --data "$2" --format gsm8k --task math \
    --out "$run" --max-length 256 --batch-tokens 2048 2> "$run.log" > /dev/null
  grep -o 'scored .*' "$run.log" | tail -1 >&2
  sed -nE 's/.*: ([0-9]+) tokens\/s.*\(MiB\): (.*)$/\1 \2/p' "$run.log" | tail -1 |
    awk '{m=0; for (i=2;i<=NF;i++) if ($i>m) m=$i; print $1, m}'
}

read -r one mem1 < <(score 1 "$work/data.jsonl")
read -r two mem2 < <(score 2 "$work/data.jsonl")
echo "records: $records"
echo "np=1: $one tokens/s, peak RSS $mem1 MiB"
echo "np=2: $two tokens/s, peak RSS $mem2 MiB per rank (max)"
awk -v a="$one" -v b="$two" 'BEGIN { printf "np=2 / np=1: %.2fx\n", b / a }'

if [ "$scale" -gt 1 ]; then
  big="$work/data-x$scale.jsonl"
  : > "$big"
  for _ in $(seq "$scale"); do cat "$work/data.jsonl" >> "$big"; done
  read -r big_rate big_mem < <(score 2 "$big")
  echo "np=2 on ${scale}x the records: $big_rate tokens/s, peak RSS $big_mem MiB per rank (max)"
  awk -v a="$mem2" -v b="$big_mem" 'BEGIN { printf "peak RSS %dx data / 1x data: %.3f\n", '"$scale"', b / a }'
fi
