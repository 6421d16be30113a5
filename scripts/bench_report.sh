#!/usr/bin/env bash
# How fast the HTML report of a run opens (issue #8: the GSM8K run's report in under 2 s in
# headless Chromium). Writes the report with `xtf report`, then opens it REPEAT times in
# Debian's chromium and, as the baseline in the same script, a blank page; prints the page's
# own times after navigation start: to the load event (`data-load-ms`: parsed, laid out, the
# sample browser drawn) and the browser's wall time for each (which also holds chromium's
# start-up and --dump-dom serializing the page).
#
#   scripts/bench_report.sh                       # RUN=runs/gsm8k REPEAT=5
#   RUN=runs/experiment/seed-1 scripts/bench_report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
run=${RUN:-runs/gsm8k}
repeat=${REPEAT:-5}
xtf=${XTF:-.build/release/xtf}
work=${WORK:-${TMPDIR:-/tmp}/xtf-bench-report}
[ -x "$xtf" ] || scripts/setup.sh >/dev/null
command -v chromium >/dev/null || { echo "bench_report: needs Debian's chromium (apt-get install chromium)" >&2; exit 1; }
mkdir -p "$work"
[ -f "$run/manifest.json" ] || { echo "bench_report: $run is not a finished run directory" >&2; exit 1; }

start=$(date +%s.%N)
"$xtf" report "$run" --out "$work/report.html" --figures "$work/figures"
written=$(awk "BEGIN {printf \"%.2f\", $(date +%s.%N) - $start}")
echo '<!DOCTYPE html><html><body data-ready="yes"><script>window.addEventListener("load", function () { document.body.dataset.loadMs = Math.round(performance.now()); });</script></body></html>' > "$work/blank.html"
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars)

measure() { # file -> "render_ms wall_s" per repeat
  for _ in $(seq "$repeat"); do
    local t0 t1 dom
    t0=$(date +%s.%N)
    dom=$(chromium "${flags[@]}" --dump-dom "file://$(realpath "$1")" 2>/dev/null)
    t1=$(date +%s.%N)
    grep -q 'data-ready="yes"' <<<"$dom" || { echo "bench_report: $1 did not finish rendering" >&2; exit 1; }
    echo "$(grep -o 'data-load-ms="[0-9]*"' <<<"$dom" | grep -o '[0-9]*') $(awk "BEGIN {printf \"%.2f\", $t1 - $t0}")"
  done
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
report=$(measure "$work/report.html"); blank=$(measure "$work/blank.html")
r_ms=$(cut -d' ' -f1 <<<"$report" | median); r_wall=$(cut -d' ' -f2 <<<"$report" | median)
b_ms=$(cut -d' ' -f1 <<<"$blank" | median); b_wall=$(cut -d' ' -f2 <<<"$blank" | median)
size=$(stat -c %s "$work/report.html")
echo "report of $run: $(( size / 1024 )) KiB, written by xtf report in ${written} s"
echo "median of $repeat opens in headless chromium:"
echo "  report: load event ${r_ms} ms after navigation start; browser wall ${r_wall} s"
echo "  blank page (baseline): load event ${b_ms} ms; browser wall ${b_wall} s"
echo "  report - blank: $(( r_ms - b_ms )) ms to the load event, $(awk "BEGIN {printf \"%.2f\", $r_wall - $b_wall}") s wall"
