#!/usr/bin/env bash
# Where a command's gemm time goes, per call shape (issue #19): runs it with the
# scripts/gemm_profile.c shim preloaded, then prints, per (transA, transB, m, n, k), the calls,
# the seconds, the share of all gemm time and the GFLOP/s (2 m n k per call), largest first.
# Only cblas_sgemm is seen, from one process (under mpirun every rank would write the same
# file); a failing command still gets its report, and its exit status is kept.
#
#   scripts/gemm_profile.sh .build/release/xtf bench model --config configs/models/smollm2-135m.json --threads 2
#   TOP=20 scripts/gemm_profile.sh .build/release/xtf bench model --config llama-bench --threads 2
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -shared -fPIC -o "$work/gemm_profile.so" "$here/gemm_profile.c" -ldl
status=0
GEMM_PROFILE_OUT="$work/profile.tsv" LD_PRELOAD="$work/gemm_profile.so" "$@" || status=$?
[ -f "$work/profile.tsv" ] || { echo "gemm_profile: the command made no cblas_sgemm call (exit status $status)" >&2; exit "$status"; }
python3 - "$work/profile.tsv" "${TOP:-15}" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
total = sum(float(r["seconds"]) for r in rows)
flops = sum(2 * int(r["m"]) * int(r["n"]) * int(r["k"]) * int(r["calls"]) for r in rows)
rows.sort(key=lambda r: -float(r["seconds"]))
print(f"gemm: {sum(int(r['calls']) for r in rows)} calls, {total:.2f} s, {flops / total / 1e9:.1f} GFLOP/s overall, {len(rows)} shapes")
print("| op(A) op(B) | m | n | k | calls | seconds | share | GFLOP/s |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for r in rows[: int(sys.argv[2])]:
    s = float(r["seconds"])
    g = 2 * int(r["m"]) * int(r["n"]) * int(r["k"]) * int(r["calls"]) / s / 1e9 if s > 0 else 0
    print(f"| {r['transA']}{r['transB']} | {r['m']} | {r['n']} | {r['k']} | {r['calls']} | {s:.3f} | {100 * s / total:.1f}% | {g:.1f} |")
PY
exit "$status"
