#!/usr/bin/env bash
# tests/bench/obs-overhead.sh - the cost of the metrics endpoint: interleaved pairs of
# `run.sh throughput --runs 1 --agents logferry` with the endpoint off (configs/
# logferry.yaml.in) and on (configs/logferry-http.yaml.in) while a scraper GETs /metrics
# every 100 ms (150x Prometheus' default 15 s interval, so the main loop builds a snapshot
# on every tick: the worst case). Pairs alternate their order (off,on then on,off) so a
# drift of the shared machine does not favour one side. Prints one line per run and the
# medians of wall time and agent CPU.
#
#   tests/bench/obs-overhead.sh [PAIRS] [LINES] [BUILD_DIR]   (default 4 1000000 build-bench)
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PAIRS=${1:-4}
LINES=${2:-1000000}
BUILD=${3:-$HERE/../../build-bench}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WORK=$(mktemp -d /tmp/lf-obs-overhead-XXXXXX)
sed "s|@HTTP_PORT@|$PORT|" "$HERE/configs/logferry-http.yaml.in" >"$WORK/logferry-http.yaml.in"
SCRAPER=""
trap '[ -n "$SCRAPER" ] && kill "$SCRAPER" 2>/dev/null; rm -rf "$WORK"' EXIT

kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

one() { # off|on -> "wall cpu" on stdout
    local mode=$1 cfg=() line scrapes
    if [ "$mode" = on ]; then
        cfg=(--lf-config "$WORK/logferry-http.yaml.in")
        : >"$WORK/scrapes"
        # the scraper: 10 GETs per second while the run lasts (refused while no agent runs)
        (while :; do
            curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/metrics" >>"$WORK/scrapes"
            sleep 0.1
        done) &
        SCRAPER=$!
    fi
    line=$("$HERE/run.sh" throughput --runs 1 --agents logferry --lines "$LINES" \
        --build "$BUILD" --work /tmp/lf-bench "${cfg[@]}" 2>&1 >/dev/null | grep '^throughput logferry')
    if [ -n "$SCRAPER" ]; then
        kill "$SCRAPER" 2>/dev/null
        wait "$SCRAPER" 2>/dev/null
        SCRAPER=""
        scrapes=$(grep -c '^200' "$WORK/scrapes")
    fi
    local wall cpu
    wall=$(kv wall_s "$line")
    cpu=$(awk -v u="$(kv cpu_user_s "$line")" -v s="$(kv cpu_sys_s "$line")" 'BEGIN{printf "%.2f", u+s}')
    echo "$mode wall_s=$wall cpu_s=$cpu hwm=$(kv hwm "$line")${scrapes:+ scrapes_200=$scrapes}" >&2
    echo "$mode $wall $cpu" >>"$WORK/results"
}

for ((p = 1; p <= PAIRS; p++)); do
    if ((p % 2)); then one off; one on; else one on; one off; fi
done
median() { sort -n | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
for m in off on; do
    w=$(awk -v m=$m '$1==m{print $2}' "$WORK/results" | median)
    c=$(awk -v m=$m '$1==m{print $3}' "$WORK/results" | median)
    echo "median metrics $m: wall_s=$w cpu_s=$c ($PAIRS runs of $LINES lines)"
done
