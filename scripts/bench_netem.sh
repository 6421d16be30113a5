#!/usr/bin/env bash
# Training over slow links (issue #9): `xtf train` with one rank per network-namespace host
# (cluster/netns-hosts.sh, TCP only), first on unshaped links, then with every host's
# outgoing link shaped by tc (default: 1 Gbit/s and 0.5 ms one way; then 100 Mbit/s), in
# the same script: tokens/s, seconds in the gradient all-reduce and how many of them the
# backward does not hide.
#
#   scripts/bench_netem.sh                    # 2 and 4 hosts, 8 steps, gpt2-small-bench
#   HOSTS="2" STEPS=12 RATES="1gbit" DELAY=2ms scripts/bench_netem.sh
# Needs root and iproute2's tc. A delay needs the netem qdisc: on a kernel built without it
# the script says so loudly and shapes the rate alone (tbf).
set -euo pipefail
cd "$(dirname "$0")/.."
config=${CONFIG:-gpt2-small-bench}
steps=${STEPS:-8}
hosts_list=${HOSTS:-2 4}
rates=${RATES:-1gbit 100mbit}
delay=${DELAY-0.5ms}
work=${WORK:-${TMPDIR:-/tmp}/xtf-bench-netem}
xtf=$PWD/.build/release/xtf
[ -x "$xtf" ] || scripts/setup.sh >/dev/null
[ "$(id -u)" -eq 0 ] || { echo "bench_netem.sh: needs root (network namespaces, tc)" >&2; exit 1; }
mkdir -p "$work"
[ -f "$work/$config/model.safetensors" ] || "$xtf" model init --config "$config" --out "$work/$config" \
  --tokenizer ../shared/data/tokenizers/gpt2/tokenizer.json >/dev/null
head -n 2000 ../shared/data/gsm8k/train.jsonl > "$work/data.jsonl"
trap 'cluster/netns-hosts.sh unshape >/dev/null 2>&1 || true' EXIT

run() { # hosts label
  local out="$work/out-$1-$2"
  rm -rf "$out"
  XTF_BIN="$xtf" cluster/netns-run.sh -np "$1" train --model "$work/$config" --data "$work/data.jsonl" \
    --format gsm8k --mask none --max-length 256 --on-bad-record skip --out "$out" --max-steps "$steps" --global-batch 16 \
    --micro-batch-tokens 4096 --timeline --checkpoint-every 100000 2> "$out.log" > /dev/null \
    || { echo "bench_netem.sh: training on $1 hosts failed, see $out.log" >&2; exit 1; }
  python3 - "$out/timeline.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][1:]  # step 1 warms up
wall = sum(r["compute"] + r["exposedCommunication"] + r["optimizer"] for r in rows)
comm = sum(r["communication"] for r in rows); exposed = sum(r["exposedCommunication"] for r in rows)
tokens = sum(r["inputTokens"] for r in rows)
print(f"{tokens / wall:.0f} {comm:.2f} {exposed:.2f} {wall:.2f}")
PY
}

echo "config: $config, $steps steps of 16 GSM8K samples (steps 2..$steps timed), one rank per host over TCP"
printf '%-6s %-22s %10s %14s %12s %10s\n' hosts link tokens/s all-reduce_s exposed_s wall_s
for hosts in $hosts_list; do
  cluster/netns-hosts.sh up "$hosts"
  cluster/netns-hosts.sh unshape
  read -r free_rate free_comm free_exposed free_wall < <(run "$hosts" unlimited)
  printf '%-6s %-22s %10s %14s %12s %10s\n' "$hosts" unlimited "$free_rate" "$free_comm" "$free_exposed" "$free_wall"
  for rate in $rates; do
    link_delay="$delay"
    # Exit status 3: no netem in this kernel, so no delay; anything else is a real error.
    shaped=0; cluster/netns-hosts.sh shape "$rate" "$link_delay" 2>/dev/null || shaped=$?
    if [ "$shaped" -eq 3 ]; then
      echo "*** bench_netem.sh: this kernel has no netem qdisc: the links get rate $rate WITHOUT the $link_delay delay ***" >&2
      link_delay=""
      cluster/netns-hosts.sh shape "$rate"
    elif [ "$shaped" -ne 0 ]; then
      echo "bench_netem.sh: cluster/netns-hosts.sh shape $rate $link_delay failed (status $shaped)" >&2; exit 1
    fi
    label="$rate${link_delay:+, $link_delay}"
    read -r rate_s comm exposed wall < <(run "$hosts" "$rate")
    cluster/netns-hosts.sh unshape
    printf '%-6s %-22s %10s %14s %12s %10s\n' "$hosts" "$label" "$rate_s" "$comm" "$exposed" "$wall"
    awk -v a="$free_rate" -v b="$rate_s" -v h="$hosts" -v l="$label" \
      'BEGIN { printf "%s hosts, %s: throughput %.2fx of unlimited\n", h, l, b / a }'
  done
done
