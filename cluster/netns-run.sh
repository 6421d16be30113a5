#!/usr/bin/env bash
# Runs xtf with one rank per namespace host (cluster/netns-hosts.sh), over TCP only:
#   cluster/netns-run.sh -np 4 info
#   XTF_BIN=.build/release/xtf-testbench cluster/netns-run.sh -np 4 collectives --out /tmp/x   # after scripts/test.sh (or XTF_BUILD_TESTS=1 scripts/setup.sh) built it
# Creates the hosts if needed. Each namespace host has its own network stack but they share
# the machine's cores, so ranks are not bound to cores (every "host" would pick core 0).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ "${1:-}" = "-np" ] || { echo "usage: $0 -np N xtf-arguments..." >&2; exit 2; }
np="$2"; shift 2
"$here/netns-hosts.sh" up "$np"
hostfile="$(mktemp)"
trap 'rm -f "$hostfile"' EXIT
"$here/netns-hosts.sh" hostfile "$np" > "$hostfile"
export XTF_MPIRUN_ARGS="--hostfile $hostfile --mca plm_rsh_agent $here/netns-rsh --bind-to none \
 --mca btl self,tcp --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 ${XTF_MPIRUN_ARGS:-}"
"$here/../scripts/xtf-mpirun" -np "$np" "$@"
