#!/usr/bin/env python3
"""The shapes of scripts/gemm_shapes.c through torch.matmul (A @ B.T, fp32), for
scripts/gemm_shapes_vs_torch.sh. Argument: the thread count."""
import sys
import time

import torch

SHAPES = [(2048, 3072, 576), (2048, 576, 1536), (1024, 1024, 1024), (768, 256, 64)]


def main():
    torch.set_num_threads(int(sys.argv[1]))
    for m, n, k in SHAPES:
        a, b = torch.randn(m, k), torch.randn(n, k)
        for _ in range(3):
            a @ b.T
        reps = max(3, int(2e10 / (2 * m * n * k)))
        start = time.perf_counter()
        for _ in range(reps):
            a @ b.T
        seconds = time.perf_counter() - start
        print(f"torch {m}x{n}x{k}: {2 * m * n * k * reps / seconds / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
