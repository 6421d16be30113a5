#!/usr/bin/env bash
# Makes the embedded default base model, models/default/ (config.json, model.safetensors,
# tokenizer.json, PROVENANCE.md), with this project's own tools only:
#   1. `xtf groundtruth generate` writes a pretraining corpus (arithmetic facts and chains,
#      stories with the amount restated after each event, the stock phrases and everyday
#      sentences the benchmark's noise is made of; never the benchmark's question and worked
#      solution format) and trains a byte-level BPE tokenizer of at most 1,024 ids on it;
#   2. `xtf model init` makes a seeded random Llama-style model (below);
#   3. `xtf train` pretrains it on the corpus (every token has a loss) under mpirun -np 2.
# Deterministic: the same seed and -np give the same bytes.
#
#   scripts/make_default_model.sh            # SEED=1 DOCUMENTS=32000 EPOCHS=2
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${SEED:-1}
documents=${DOCUMENTS:-32000}
epochs=${EPOCHS:-2}
work=${WORK:-${TMPDIR:-/tmp}/xtf-default-model}
out=models/default
xtf=.build/release/xtf
[ -x "$xtf" ] || scripts/setup.sh >/dev/null
rm -rf "$work"; mkdir -p "$work"

"$xtf" groundtruth generate --out "$work/data" --seed "$seed" --train 0 --test 0 --pretrain "$documents" \
  --tokenizer-vocabulary 1024
# The end-of-text id is the tokenizer's <|endoftext|>: training appends it to every document
# (and fine-tuning to every response), and generation stops on it.
eos=$("$xtf" tokenize --tokenizer "$work/data/tokenizer.json" --text "<|endoftext|>" | sed -E 's/.*\[([0-9]+)\].*/\1/')
cat > "$work/config.json" <<JSON
{"model_type": "llama", "vocab_size": 1024, "hidden_size": 256, "num_hidden_layers": 4,
 "num_attention_heads": 4, "num_key_value_heads": 4, "intermediate_size": 704,
 "max_position_embeddings": 512, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
 "tie_word_embeddings": true, "bos_token_id": $eos, "eos_token_id": $eos}
JSON
"$xtf" model init --config "$work/config.json" --out "$work/init" --seed "$seed" --tokenizer "$work/data/tokenizer.json"
start=$(date +%s)
scripts/xtf-mpirun -np 2 train --model "$work/init" --data "$work/data/pretrain.jsonl" --format prompt-response \
  --mask none --out "$work/pretrain" --epochs "$epochs" --global-batch 64 --micro-batch-tokens 4096 \
  --lr 3e-3 --warmup-steps 50 --seed "$seed" --max-length 256 --checkpoint-every 200
elapsed=$(( $(date +%s) - start ))
checkpoint=$(ls -d "$work"/pretrain/checkpoint-* | sort | tail -1)

mkdir -p "$out"
cp "$checkpoint/config.json" "$checkpoint/model.safetensors" "$out/"
cp "$work/data/tokenizer.json" "$out/"
losses=$(python3 -c "import json,sys; l=[json.loads(x)['loss'] for x in open(sys.argv[1])]; print(f'{l[0]:.3f} -> {l[-1]:.3f} over {len(l)} steps')" "$work/pretrain/losses.jsonl" 2>/dev/null || echo "see $work/pretrain/losses.jsonl")
cat > "$out/PROVENANCE.md" <<MD
# models/default: the embedded base model

Made by \`scripts/make_default_model.sh\` (SEED=$seed DOCUMENTS=$documents EPOCHS=$epochs), with xtf
$("$xtf" --version) on $(date -u +%Y-%m-%d), in ${elapsed} s of pretraining under \`mpirun -np 2\`.

- Tokenizer: byte-level BPE trained by \`xtf groundtruth generate --tokenizer-vocabulary 1024\`
  on the pretraining corpus: $(( eos )) learned ids (the merges stop when every word of the
  corpus is one token, below the 1,024 asked) and \`<|endoftext|>\` = $eos, the model's BOS/EOS,
  appended to every document. The model's 1,024 embedding rows leave room for a larger tokenizer.
- Model: Llama layout, 4 layers, width 256, 4 heads, MLP 704, RoPE theta 10,000, tied
  embeddings, context 512; seeded random initialisation (\`xtf model init --seed $seed\`).
- Data: $documents documents of \`xtf groundtruth generate --seed $seed\`'s pretraining corpus
  (text the generator writes: arithmetic facts and chains of them, stories about the people
  and things of the word problems with the amount restated after each event, stock phrases,
  everyday sentences, remarks about numbers; never the benchmark's question and worked
  solution format). Nothing from outside this repository.
- Training: \`xtf train --mask none\`, every token with a loss, $epochs epochs, global batch 64,
  AdamW lr 3e-3 with 50 warm-up steps and cosine decay, seed $seed. Loss $losses.
MD
ls -la "$out"
