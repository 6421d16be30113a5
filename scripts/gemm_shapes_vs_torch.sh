#!/usr/bin/env bash
# OpenBLAS's sgemm against torch.matmul on the same shapes (scripts/gemm_shapes.c), 1 and 2
# threads, ROUNDS rounds (default 4) alternating; prints every rate, then the medians (issue
# #19: how much of xtf's lead over PyTorch the gemms themselves decide on a given CPU).
# OpenBLAS runs with the kernels xtf would choose (OPENBLAS_CORETYPE from `xtf info`). Needs
# torch and an idle machine.
#
#   scripts/gemm_shapes_vs_torch.sh
#   ROUNDS=8 scripts/gemm_shapes_vs_torch.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
xtf="$here/../.build/release/xtf"
[ -x "$xtf" ] || "$here/setup.sh" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/gemm_shapes" "$here/gemm_shapes.c" -lopenblas
core=${OPENBLAS_CORETYPE:-$("$xtf" info --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["openblasCore"])')}
echo "OpenBLAS core $core"
for round in $(seq "${ROUNDS:-4}"); do
  for threads in 1 2; do
    OPENBLAS_CORETYPE=$core OPENBLAS_NUM_THREADS=$threads "$work/gemm_shapes" | sed "s/^/$threads /"
    python3 "$here/gemm_shapes_torch.py" "$threads" | sed "s/^/$threads /"
  done
done | tee "$work/rates" | sed "s/^\([12]\) /\1 thread(s): /"
# Medians per shape and thread count (GFLOP/s), and torch's over OpenBLAS's.
python3 - "$work/rates" <<'PY2'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    threads, library, shape, value, _ = line.split()
    rates.setdefault((shape.rstrip(":"), threads, library), []).append(float(value))
print("| m x n x k | threads | OpenBLAS (median) | torch (median) | torch / OpenBLAS |")
print("| --- | ---: | ---: | ---: | ---: |")
for shape, threads in sorted({(s, t) for s, t, _ in rates}, key=lambda k: (k[1], k[0])):
    o, t = (statistics.median(rates[(shape, threads, lib)]) for lib in ("openblas", "torch"))
    print(f"| {shape} | {threads} | {o:.1f} | {t:.1f} | {t / o:.2f}x |")
PY2
