#!/usr/bin/env bash
# How far a faster gemm would take `xtf score` (issue #19): the pipeline comparison of
# scripts/bench_score_vs_pytorch.sh with a third side, the same xtf binary with the gemm
# library PyTorch itself uses (Intel MKL, the version torch reports in torch.__config__)
# interposed for cblas_sgemm by LD_PRELOAD, one sequential MKL thread per rank. A measurement
# only: xtf ships with Debian's OpenBLAS and nothing here changes that. ROUNDS rounds, the
# three sides' order rotated every round; prints each side's rounds and both xtf builds'
# ratios to PyTorch and to each other (scripts/paired_rounds.py). The order is a rotation of
# (OpenBLAS, MKL, PyTorch): every 3 rounds each side has run first, second and third once. Needs torch and transformers,
# pip to fetch the MKL wheel (~200 MB, kept in $XTF_CACHE), and an idle machine.
#
#   ROUNDS=5 scripts/bench_score_gemm_swap.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
work=${WORK:-${TMPDIR:-/tmp}/xtf-bench-score-gemm-swap}
source scripts/bench_score_common.sh
# The MKL torch was built with, e.g. "oneAPI Math Kernel Library Version 2024.2-Product Build".
mkl_version=$(python3 -c 'import re, torch; print(re.search(r"Math Kernel Library Version (\d+\.\d+)", torch.__config__.show()).group(1))')
mkl=${XTF_CACHE:-$HOME/.cache/xtf}/mkl-$mkl_version
if [ ! -s "$mkl/libmkl_rt.so.2" ]; then
  download=$(mktemp -d)
  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: "mkl==$mkl_version.*" -d "$download" >&2
  mkdir -p "$mkl"
  python3 - "$download" "$mkl" <<'PY'
import glob, os, shutil, sys, zipfile
download, target = sys.argv[1:]
wheel = zipfile.ZipFile(glob.glob(os.path.join(download, "mkl-*.whl"))[0])
for name in wheel.namelist():
    if "/lib/libmkl_" in name and ".so" in name:
        with wheel.open(name) as src, open(os.path.join(target, os.path.basename(name)), "wb") as dst:
            shutil.copyfileobj(src, dst)
PY
  rm -rf "$download"
fi
cat > "$work/xtf-mkl" <<EOF
#!/usr/bin/env bash
export LD_PRELOAD="$mkl/libmkl_rt.so.2" LD_LIBRARY_PATH="$mkl\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" MKL_THREADING_LAYER=SEQUENTIAL MKL_NUM_THREADS=1
exec "$xtf" "\$@"
EOF
chmod +x "$work/xtf-mkl"
# The binding is checked, not assumed: the interposed binary must take cblas_sgemm from MKL.
bindings=$(LD_BIND_NOW=1 LD_DEBUG=bindings "$work/xtf-mkl" --version 2>&1) || true
grep "to $mkl/libmkl_rt.so.2 .*cblas_sgemm" <<< "$bindings" > /dev/null \
  || { echo "bench_score_gemm_swap: cblas_sgemm did not bind to $mkl/libmkl_rt.so.2:" >&2; tail -5 <<< "$bindings" >&2; exit 1; }
run() { # side round
  case $1 in
    torch) score_torch "torch-$2" ;;
    openblas) score_xtf "$xtf" "openblas-$2" ;;
    mkl) score_xtf "$work/xtf-mkl" "mkl-$2" ;;
  esac
}
sides=(openblas mkl torch)
for round in $(seq "$rounds"); do
  for i in 0 1 2; do run "${sides[$(( (i + round) % 3 ))]}" "$round"; done
done
python3 - "$work" "$rounds" <<'PY'
import json, re, sys
sys.path.insert(0, "scripts")
from paired_rounds import summary
work, rounds = sys.argv[1], int(sys.argv[2])
def xtf(side, r):
    line = [l for l in open(f"{work}/{side}-{r}.log") if "tokens/s on" in l][-1]
    return float(re.search(r"([0-9.]+) tokens/s on", line).group(1))
obl = [xtf("openblas", r) for r in range(1, rounds + 1)]
mkl = [xtf("mkl", r) for r in range(1, rounds + 1)]
torch = [json.load(open(f"{work}/torch-{r}.json"))["tokens_per_second"] for r in range(1, rounds + 1)]
print("xtf score -np 2, OpenBLAS, tokens/s:", ", ".join(f"{v:.0f}" for v in obl))
print("xtf score -np 2, MKL's sgemm, tokens/s:", ", ".join(f"{v:.0f}" for v in mkl))
print("PyTorch 2 threads tokens/s:", ", ".join(f"{v:.0f}" for v in torch))
print(summary(obl, torch, target=1.5, names=("xtf (OpenBLAS)", "PyTorch")))
print(summary(mkl, torch, target=1.5, names=("xtf (MKL's sgemm)", "PyTorch")))
print(summary(mkl, obl, names=("xtf (MKL's sgemm)", "xtf (OpenBLAS)")))
PY
