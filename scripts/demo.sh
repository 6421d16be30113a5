#!/usr/bin/env bash
# README command 1: set up, then run the main job under mpirun -np 2 on GSM8K:
# score every response token, mask, and fine-tune on what XTF keeps.
#
# Until the embedded default base model lands (issue #7), the base model is a small GPT-2
# with seeded random weights and the real GPT-2 tokenizer: every stage runs for real, but
# the scores of a random model mean nothing. Give a real checkpoint with MODEL=DIR
# (config.json, model.safetensors, tokenizer.json). RECORDS picks how many GSM8K records.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
records=${RECORDS:-256}
work=${WORK:-runs/demo}
np=${NP:-2}
mkdir -p "$work"
model=${MODEL:-$work/base-model}
if [ -z "${MODEL:-}" ] && [ ! -f "$model/model.safetensors" ]; then
  cat > "$work/base-config.json" <<'JSON'
{"model_type": "gpt2", "vocab_size": 50257, "n_embd": 128, "n_layer": 2, "n_head": 4,
 "n_positions": 512, "layer_norm_epsilon": 1e-5, "tie_word_embeddings": true}
JSON
  .build/release/xtf model init --config "$work/base-config.json" --out "$model" --seed 1 \
    --tokenizer ../shared/data/tokenizers/gpt2/tokenizer.json
fi
head -n "$records" ../shared/data/gsm8k/train.jsonl > "$work/train.jsonl"
rm -rf "$work/run" "$work/finetuned"

echo
echo "== xtf score + mask: $records GSM8K records on $np ranks"
scripts/xtf-mpirun -np "$np" score --model "$model" --data "$work/train.jsonl" --format gsm8k --task math \
  --out "$work/run" --records-per-chunk 32 --max-length 384
echo
echo "== xtf train --mask xtf: 20 steps on $np ranks"
scripts/xtf-mpirun -np "$np" train --model "$model" --scores "$work/run" --mask xtf --out "$work/finetuned" \
  --max-steps 20 --global-batch 8 --lr 1e-3 --warmup-steps 2
echo
echo "outputs: $work/run (masked.jsonl, tokens.jsonl, stats.json, manifest.json), $work/finetuned (checkpoint, losses.jsonl)"
