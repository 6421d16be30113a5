#!/usr/bin/env bash
# OpenBLAS's sgemm against torch.matmul on the same shapes, 1 and 2 threads, ROUNDS rounds
# alternating (issue #19: where xtf's lead over PyTorch goes on a given CPU). OpenBLAS runs
# with the kernels xtf would choose (OPENBLAS_CORETYPE from `xtf info`). Needs torch and an
# idle machine.
#
#   scripts/gemm_shapes_vs_torch.sh
#   ROUNDS=3 scripts/gemm_shapes_vs_torch.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
xtf="$here/../.build/release/xtf"
[ -x "$xtf" ] || "$here/setup.sh" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/gemm_shapes" "$here/gemm_shapes.c" -lopenblas
core=${OPENBLAS_CORETYPE:-$("$xtf" info --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["openblasCore"])')}
echo "OpenBLAS core $core"
for round in $(seq "${ROUNDS:-2}"); do
  for threads in 1 2; do
    OPENBLAS_CORETYPE=$core OPENBLAS_NUM_THREADS=$threads "$work/gemm_shapes" | sed "s/^/round $round, $threads thread(s): /"
    python3 "$here/gemm_shapes_torch.py" "$threads" | sed "s/^/round $round, $threads thread(s): /"
  done
done
