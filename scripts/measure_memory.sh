#!/usr/bin/env bash
# Runs a command and reports the peak memory of its whole process tree, as the node sees it:
# the sum of every process's proportional set size (PSS: private pages, plus each shared page
# divided among the processes that map it, so the ranks' one copy of a mapped checkpoint counts
# once), sampled every 0.2 s; also the largest single-process RSS.
#
#   scripts/measure_memory.sh scripts/xtf-mpirun -np 2 score --model M --weights mapped ...
#
# Prints "peak-pss-mib N" and "peak-rss-mib N" on stderr after the command's own output; exits
# with the command's status.
set -uo pipefail
"$@" &
root=$!
peak_pss=0 peak_rss=0
tree() {  # the pids of $1 and all its descendants
  local pid=$1
  echo "$pid"
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do tree "$child"; done
}
while kill -0 "$root" 2>/dev/null; do
  pss=0
  for pid in $(tree "$root"); do
    kib=$(awk '/^Pss:/ {print $2}' /proc/"$pid"/smaps_rollup 2>/dev/null)
    pss=$((pss + ${kib:-0}))
    rss=$(awk '/^VmRSS:/ {print $2}' /proc/"$pid"/status 2>/dev/null)
    [ "${rss:-0}" -gt "$peak_rss" ] && peak_rss=${rss:-0}
  done
  [ "$pss" -gt "$peak_pss" ] && peak_pss=$pss
  sleep 0.2
done
wait "$root"
status=$?
echo "peak-pss-mib $((peak_pss / 1024))" >&2
echo "peak-rss-mib $((peak_rss / 1024))" >&2
exit $status
