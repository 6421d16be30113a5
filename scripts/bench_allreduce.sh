#!/usr/bin/env bash
# Compares `xtf bench allreduce` with a plain C MPI_Allreduce program on the same buffers,
# both launched by scripts/xtf-mpirun (same flags, same environment), alternating runs.
#   scripts/bench_allreduce.sh [ranks=2] [rounds=3] [repetitions=20]
set -euo pipefail
cd "$(dirname "$0")/.."
ranks="${1:-2}"; rounds="${2:-3}"; reps="${3:-20}"
mpicc -O2 -o scripts/allreduce_baseline scripts/allreduce_baseline.c
for round in $(seq 1 "$rounds"); do
  echo "== round $round: plain C MPI_Allreduce"
  XTF_BIN="$PWD/scripts/allreduce_baseline" scripts/xtf-mpirun -np "$ranks" "$reps"
  echo "== round $round: xtf bench allreduce"
  scripts/xtf-mpirun -np "$ranks" bench allreduce --repetitions "$reps"
done
