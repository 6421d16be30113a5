# Sourced by the families scripts: where one family's generated problems live, made on first use.
# family_data FAMILY DATA_SEED -> prints the directory (train.jsonl with labelled noise,
# train-clean.jsonl, test.jsonl: 2,000 training and 500 clean test problems). SURFACE, RATE,
# WORK and XTF_BIN as in families.sh; the seed stream is data seed + 100 x surface.
family_data() {
  local family=$1 d=$2
  local data="$PWD/${WORK:-runs/families}/$family/s${SURFACE:-1}-d$d${RATE:+-r$RATE}"
  [ -f "$data/train-clean.jsonl" ] || "$XTF_BIN" groundtruth generate --out "$data" --family "$family" \
    --surface "${SURFACE:-1}" --seed "$((d + 100 * ${SURFACE:-1}))" --train 2000 --test 500 --pretrain 0 \
    ${RATE:+--noise-rate "$RATE"} >/dev/null
  echo "$data"
}
