#!/usr/bin/env python3
"""The largest differences between the score files of two scoring runs of the same data.

For each tensor of every chunk's scores (pcp, ri, the ids and offsets): the largest absolute
and relative difference and how many values differ; "identical" when every value is equal
(compared as numbers, not bytes: `cmp` compares bytes). Used to
state how far a change of summation order moved the scores (docs/BENCHMARKS.md).

Usage: scripts/score_differences.py RUN_A RUN_B
"""
import glob
import json
import os
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def read(path):
    """A safetensors file's tensors as flat numpy arrays."""
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + start:8 + n + end], dtype=DTYPES[entry["dtype"]])
    return out


def main():
    a, b = sys.argv[1], sys.argv[2]
    worst, identical = {}, True
    names = lambda run: sorted(os.path.basename(p) for p in glob.glob(f"{run}/scores/*.safetensors"))
    if names(a) != names(b):
        sys.exit(f"the runs have different chunks: {len(names(a))} score files against {len(names(b))}")
    for path in sorted(glob.glob(f"{a}/scores/*.safetensors")):
        x, y = read(path), read(f"{b}/scores/{os.path.basename(path)}")
        if set(x) != set(y):
            sys.exit(f"{path}: tensors {sorted(x)} against {sorted(y)}")
        for name in x:
            u, v = x[name].astype(np.float64), y[name].astype(np.float64)
            if u.shape != v.shape:
                sys.exit(f"{path}: {name} has {u.size} values against {v.size}")
            if not np.array_equal(np.isnan(u), np.isnan(v)):
                print(f"{path}: {name} has NaN at other places")
                identical = False
            finite = np.isfinite(u) & np.isfinite(v)
            d = np.abs(u[finite] - v[finite])
            r = d / np.maximum(np.abs(u[finite]), 1e-30)
            w = worst.setdefault(name, [0.0, 0.0, 0])
            if d.size:
                w[0], w[1], w[2] = max(w[0], d.max()), max(w[1], r.max()), w[2] + int((d > 0).sum())
    for name, (d, r, n) in worst.items():
        identical &= n == 0
        print(f"{name}: max abs {d:.3g}, max rel {r:.3g}, {n} values differ")
    print("identical" if identical else "different")


if __name__ == "__main__":
    main()
