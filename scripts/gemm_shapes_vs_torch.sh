#!/usr/bin/env bash
# OpenBLAS's sgemm against torch.matmul on the same shapes (scripts/gemm_shapes.c), 1 and 2
# threads, ROUNDS rounds (default 4) alternating; prints every rate, then the medians (issue
# #19: how much of xtf's lead over PyTorch the gemms themselves decide on a given CPU), and
# each as a share of the cores' FMA peak measured in the same rounds (scripts/fma_peak.c).
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
gcc -O2 -pthread -o "$work/fma_peak" "$here/fma_peak.c"
core=${OPENBLAS_CORETYPE:-$("$xtf" info --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["openblasCore"])')}
echo "OpenBLAS core $core"
for round in $(seq "${ROUNDS:-4}"); do
  for threads in 1 2; do
    "$work/fma_peak" "$threads" | sed "s/^peak [0-9]*-lane FMA: \(.*\)/$threads peak fma: \1/"
    OPENBLAS_CORETYPE=$core OPENBLAS_NUM_THREADS=$threads "$work/gemm_shapes" | sed "s/^/$threads /"
    python3 "$here/gemm_shapes_torch.py" "$threads" | sed "s/^/$threads /"
  done
done | tee "$work/rates" | sed "s/^\([12]\) /\1 thread(s): /"
# Medians per shape and thread count (GFLOP/s), torch's over OpenBLAS's, and each over the
# median FMA peak of the same thread count.
python3 - "$work/rates" <<'PY2'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    threads, library, shape, value, _ = line.split()
    rates.setdefault((shape.rstrip(":"), threads, library), []).append(float(value))
peaks = {t: statistics.median(rates.pop(("fma", t, "peak"))) for t in ("1", "2")}
print("FMA peak (median GFLOP/s): " + ", ".join(f"{v:.1f} on {t} thread(s)" for t, v in peaks.items()))
print("| m x n x k | threads | OpenBLAS (median) | torch (median) | torch / OpenBLAS | OpenBLAS / peak | torch / peak |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for shape, threads in sorted({(s, t) for s, t, _ in rates}, key=lambda k: (k[1], k[0])):
    o, t = (statistics.median(rates[(shape, threads, lib)]) for lib in ("openblas", "torch"))
    p = peaks[threads]
    print(f"| {shape} | {threads} | {o:.1f} | {t:.1f} | {t / o:.2f}x | {100 * o / p:.0f}% | {100 * t / p:.0f}% |")
PY2
