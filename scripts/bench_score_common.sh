# Shared by scripts/bench_score_vs_pytorch.sh and scripts/bench_score_gemm_swap.sh (sourced,
# from the repository's root): the model, the records, and the two sides' commands of the
# pipeline comparison, `xtf score` at -np 2 against scripts/bench_score_pytorch.py.
#   MODEL (default: SmolLM2-135M-Instruct, imported once), RECORDS (150), WEIGHTS (fp32)
# Sets model, records, weights and xtf; needs `work` set (emptied here).
model=${MODEL:-${XTF_CACHE:-$HOME/.cache/xtf}/smollm2-135m-instruct}
records=${RECORDS:-150}
weights=${WEIGHTS:-fp32}
xtf=$PWD/.build/release/xtf
[ -x "$xtf" ] || scripts/setup.sh >/dev/null
[ -f "$model/model.safetensors" ] || "$xtf" model import --gguf "$(scripts/fetch_smollm2.sh)" --out "$model" >/dev/null
python3 -c "import torch, transformers" 2>/dev/null || { echo "needs torch and transformers (pip install torch transformers)" >&2; exit 2; }
rm -rf "$work"; mkdir -p "$work"
head -n "$records" ../shared/data/gsm8k/train.jsonl > "$work/data.jsonl"

# score_xtf BINARY NAME: `xtf score` -np 2, one OpenBLAS thread per rank; log in $work/NAME.log.
score_xtf() {
  XTF_BIN="$1" scripts/xtf-mpirun -np 2 score --model "$model" --data "$work/data.jsonl" --format gsm8k --task math \
    --template plain --weights "$weights" --out "$work/run-$2" --max-length 256 --batch-tokens 2048 2> "$work/$2.log" > /dev/null
}
# score_torch NAME: PyTorch with 2 threads; tokens/s in $work/NAME.json.
score_torch() {
  python3 scripts/bench_score_pytorch.py --model-dir "$model" --data "$work/data.jsonl" --threads 2 > "$work/$1.json" 2> "$work/$1.log"
}
