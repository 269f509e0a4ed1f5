#!/usr/bin/env bash
# tests/bench/obs-overhead.sh - the cost of the metrics endpoint: interleaved runs of
# `run.sh throughput --runs 1 --agents logferry` with the endpoint off (configs/
# logferry.yaml.in) and on (configs/logferry-metrics.yaml.in) while one python3 scraper GETs
# /metrics every 100 ms (150x Prometheus' default 15 s interval; the main loop then builds
# a fresh snapshot at most every 250 ms). With BASE_BUILD (a release build of another
# commit, e.g. the one before the metrics), a third arm "base" runs that build with the
# endpoint off: the cost of the always-on counters and histograms. The arms rotate per
# round so a drift of the shared machine does not favour one. Prints one line per run and
# the medians of wall time and agent CPU (utime+stime).
#
#   tests/bench/obs-overhead.sh [ROUNDS] [LINES] [BUILD_DIR] [BASE_BUILD]
#   (default 4 1000000 build-bench, no base)
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PAIRS=${1:-4}
LINES=${2:-1000000}
BUILD=${3:-$HERE/../../build-bench}
BASE_BUILD=${4:-}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WORK=$(mktemp -d /tmp/lf-obs-overhead-XXXXXX)
sed "s|@HTTP_PORT@|$PORT|" "$HERE/configs/logferry-metrics.yaml.in" >"$WORK/logferry-metrics.yaml.in"
SCRAPER=""
trap '[ -n "$SCRAPER" ] && kill "$SCRAPER" 2>/dev/null; rm -rf "$WORK"' EXIT

kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

one() { # off|on|base -> a line in $WORK/results
    local mode=$1 cfg=() line scrapes="" build=$BUILD
    [ "$mode" = base ] && build=$BASE_BUILD
    if [ "$mode" = on ]; then
        cfg=(--lf-config "$WORK/logferry-metrics.yaml.in")
        : >"$WORK/scrapes"
        # the scraper: one python3 process (no fork per request, so the scraper itself
        # takes little CPU from the agent), a GET every 100 ms; refused while no agent runs
        python3 -c '
import socket, sys, time
while True:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head = s.recv(12)
        while s.recv(65536):
            pass
        s.close()
        print(head.decode(errors="replace"), flush=True)
    except OSError:
        pass
    time.sleep(0.1)
' "$PORT" >>"$WORK/scrapes" &
        SCRAPER=$!
    fi
    line=$("$HERE/run.sh" throughput --runs 1 --agents logferry --lines "$LINES" \
        --build "$build" --work /tmp/lf-bench "${cfg[@]}" 2>&1 >/dev/null | grep '^throughput logferry')
    if [ -n "$SCRAPER" ]; then
        kill "$SCRAPER" 2>/dev/null
        wait "$SCRAPER" 2>/dev/null
        SCRAPER=""
        scrapes=$(grep -c '^HTTP/1.1 200' "$WORK/scrapes")
    fi
    local wall cpu
    wall=$(kv wall_s "$line")
    cpu=$(awk -v u="$(kv cpu_user_s "$line")" -v s="$(kv cpu_sys_s "$line")" 'BEGIN{printf "%.2f", u+s}')
    echo "$mode wall_s=$wall cpu_s=$cpu hwm=$(kv hwm "$line")${scrapes:+ scrapes_200=$scrapes}" >&2
    echo "$mode $wall $cpu" >>"$WORK/results"
}

ARMS=(off on)
[ -n "$BASE_BUILD" ] && ARMS+=(base)
for ((p = 0; p < PAIRS; p++)); do
    for ((k = 0; k < ${#ARMS[@]}; k++)); do
        one "${ARMS[$(((p + k) % ${#ARMS[@]}))]}"
    done
done
median() { sort -n | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
for m in "${ARMS[@]}"; do
    w=$(awk -v m=$m '$1==m{print $2}' "$WORK/results" | median)
    c=$(awk -v m=$m '$1==m{print $3}' "$WORK/results" | median)
    echo "median $m: wall_s=$w cpu_s=$c ($PAIRS runs of $LINES lines)"
done
