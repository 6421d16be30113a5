#!/usr/bin/env bash
# scripts/gemm_own_kernel.c (a BLIS-style AVX-512 sgemm of our own) against OpenBLAS on xtf's
# gemm shapes, one thread, both alternated in one process ROUNDS times (default 3), with the
# core's FMA peak (scripts/fma_peak.c) measured just before and after (issue #19). OpenBLAS runs
# the kernels xtf would choose (OPENBLAS_CORETYPE from `xtf info`). Needs an AVX-512 CPU and
# an idle machine.
#
#   scripts/gemm_own_vs_openblas.sh
#   ROUNDS=5 scripts/gemm_own_vs_openblas.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
xtf="$here/../.build/release/xtf"
[ -x "$xtf" ] || "$here/setup.sh" >/dev/null
grep -qw avx512f /proc/cpuinfo || { echo "gemm_own_vs_openblas: this CPU has no AVX-512" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc=$(command -v clang || command -v gcc) || { echo "gemm_own_vs_openblas: needs clang or gcc" >&2; exit 2; }
"$cc" -O3 -o "$work/gemm_own_kernel" "$here/gemm_own_kernel.c" -lopenblas -lm
"$cc" -O2 -pthread -o "$work/fma_peak" "$here/fma_peak.c"
core=${OPENBLAS_CORETYPE:-$("$xtf" info --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["openblasCore"])')}
echo "OpenBLAS core $core, $(basename "$cc")"
"$work/fma_peak" 1 | sed 's/^/before: /'
OPENBLAS_CORETYPE=$core OPENBLAS_NUM_THREADS=1 "$work/gemm_own_kernel" "${ROUNDS:-3}"
"$work/fma_peak" 1 | sed 's/^/after: /'
