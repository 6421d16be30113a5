#!/usr/bin/env bash
# README command 1: set up, then run the main job under mpirun -np 2.
# Until the scoring and training pipeline exists, the main job is the cluster's facts
# and both foundation benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo
echo "== xtf info (mpirun -np 2)"
scripts/xtf-mpirun -np 2 info
echo
echo "== xtf bench gemm (mpirun -np 2, one OpenBLAS thread per rank)"
scripts/xtf-mpirun -np 2 bench gemm --sizes 128 256 512 1024 --repetitions 5
echo
echo "== xtf bench allreduce (mpirun -np 2)"
scripts/xtf-mpirun -np 2 bench allreduce --repetitions 10
