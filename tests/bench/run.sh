#!/usr/bin/env bash
# tests/bench/run.sh - logferry against its peers, file -> Kafka (mock cluster on loopback).
#
#   tests/bench/run.sh [throughput|latency|all|idle] [options]
#
#   --runs N          throughput runs per agent (default 3; PEERS.md used 5)
#   --lines N         lines in the throughput file (default 500000; PEERS.md used 2000000)
#   --kind K          access (nginx combined, default) | mixed | error | slow
#   --agents LIST     comma list of logferry,rsyslog,kcat,logferry-http (default: the first
#                     three that are installed). logferry-http is logferry with the http
#                     output into a local _bulk endpoint (lf-bench-es-sink, tests/bench/
#                     http/es_sink.c) instead of Kafka: its rows interleave with the
#                     others', and "broker CPU s" is then the endpoint's
#   --rate R          latency: lines per second (default 1000)
#   --seconds S       latency: append period (default 20)
#   --lat-runs N      latency runs per agent (default 1)
#   --files N         idle: tailed files (default 1000)
#   --build DIR       meson build dir with agent/logferry, the kafka plugin, mock-kafka and
#                     tests/bench/pipeline tools (default: BUILD env or <repo>/build-bench,
#                     set up and built with ninja if needed)
#   --lf-config F     logferry config template (default configs/logferry.yaml.in)
#   --work DIR        scratch directory (default /tmp/lf-bench); data files are cached there
#   --out FILE        also write the markdown report to FILE
#
# Every run gets a new mock-kafka (3 brokers, topic "logs", 12 partitions, RF 3) and new
# agent state. The agent reads the whole file from the beginning; the clock stops when
# the sum of the partition high watermarks reaches the line count (lf-bench-run), at
# which moment the agent's utime+stime and VmHWM are read from /proc. Latency mode
# pre-fills 1,000 lines, waits until they are in the broker, then appends RATE lines/s
# for S seconds, one write(2) each, and a consumer measures write -> arrival
# (lf-bench-latency); a "floor" row produces the same lines directly. Idle mode (logferry
# only, not part of "all") tails N one-line files, waits until the N records are in the
# broker, then reports the agent's CPU and context switches over S seconds (--seconds,
# default 20) with nothing written. Everything listens
# on 127.0.0.1; every wait is bounded; all started processes are stopped on exit.
#
# Example (the PEERS.md configuration): tests/bench/run.sh all --runs 5 --lines 2000000
# HTTP vs Kafka output: tests/bench/run.sh throughput --agents logferry,logferry-http
set -u -o pipefail

MODE=all
RUNS=3
LINES=500000
KIND=access
AGENTS=""
RATE=1000
SECONDS_LAT=20
LAT_RUNS=1
NFILES=1000
BUILD_DIR="${BUILD:-}"
WORK=/tmp/lf-bench
OUT=""
LF_CONF_IN=""
TOPIC=logs
PARTS=12

usage() { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "run.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
    throughput | latency | all | idle) MODE=$1 ;;
    --runs) RUNS=$2; shift ;;
    --lines) LINES=$2; shift ;;
    --kind) KIND=$2; shift ;;
    --agents) AGENTS=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --seconds) SECONDS_LAT=$2; shift ;;
    --lat-runs) LAT_RUNS=$2; shift ;;
    --files) NFILES=$2; shift ;;
    --build) BUILD_DIR=$2; shift ;;
    --work) WORK=$2; shift ;;
    --out) OUT=$2; shift ;;
    --lf-config) LF_CONF_IN=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
case "$RUNS$LINES$RATE$SECONDS_LAT$LAT_RUNS$NFILES" in *[!0-9]*) die "numbers expected" ;; esac
[ "$RUNS" -ge 1 ] && [ "$RUNS" -le 50 ] || die "--runs 1..50"
[ "$LAT_RUNS" -ge 1 ] && [ "$LAT_RUNS" -le 20 ] || die "--lat-runs 1..20"
[ "$SECONDS_LAT" -ge 1 ] && [ "$SECONDS_LAT" -le 600 ] || die "--seconds 1..600"
[ "$LINES" -ge 1000 ] && [ "$LINES" -le 50000000 ] || die "--lines 1000..50000000"
[ "$NFILES" -ge 1 ] && [ "$NFILES" -le 100000 ] || die "--files 1..100000"

HERE=$(cd "$(dirname "$0")" && pwd)
LF_CONF_IN=${LF_CONF_IN:-$HERE/configs/logferry.yaml.in}
[ -f "$LF_CONF_IN" ] || die "no $LF_CONF_IN"
REPO=$(cd "$HERE/../.." && pwd)
if [ -z "$BUILD_DIR" ]; then
    BUILD_DIR="$REPO/build-bench"
    if [ ! -f "$BUILD_DIR/build.ninja" ]; then
        meson setup "$BUILD_DIR" "$REPO" --buildtype=release >/dev/null || die "meson setup failed"
    fi
    ninja -C "$BUILD_DIR" >/dev/null || die "build failed in $BUILD_DIR (use --build DIR)"
fi
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
LF="$BUILD_DIR/agent/logferry"
PLUGIN_DIR="$BUILD_DIR/plugins/out_kafka"
MOCK="$BUILD_DIR/tests/tools/mock-kafka/mock-kafka"
BRUN="$BUILD_DIR/tests/bench/pipeline/lf-bench-run"
BLAT="$BUILD_DIR/tests/bench/pipeline/lf-bench-latency"
for f in "$LF" "$MOCK" "$BRUN" "$BLAT" "$PLUGIN_DIR/out_kafka.so"; do
    [ -x "$f" ] || [ -f "$f" ] || die "missing $f (build with librdkafka-dev installed)"
done

if [ -z "$AGENTS" ]; then
    AGENTS=logferry
    command -v rsyslogd >/dev/null && [ -n "$(ls /usr/lib/*/rsyslog/omkafka.so 2>/dev/null)" ] &&
        AGENTS="$AGENTS,rsyslog"
    command -v kcat >/dev/null && AGENTS="$AGENTS,kcat"
fi
IFS=, read -r -a AGENT_LIST <<<"$AGENTS"

mkdir -p "$WORK/data" "$WORK/run" || die "cannot create $WORK"
STAMP=$(date +%Y%m%d-%H%M%S)
RUNDIR="$WORK/run/$STAMP"
mkdir -p "$RUNDIR"
TP_TSV="$RUNDIR/throughput.tsv"
LAT_TSV="$RUNDIR/latency.tsv"

# ---- process bookkeeping: everything we start is stopped on exit -------------------
PIDS=()
stop_pid() { # pid [seconds]
    local pid=$1 t=${2:-10} i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < t * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
cleanup() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p" 5; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

proc_cpu() { # pid -> utime+stime seconds
    awk -v tck="$(getconf CLK_TCK)" '{sub(/.*\) /,""); printf "%.2f", ($12+$13)/tck}' \
        "/proc/$1/stat" 2>/dev/null || echo -1
}

# ---- broker ----------------------------------------------------------------------
MOCK_PID=""
BROKERS=""
start_broker() { # dir
    local d=$1 i
    "$MOCK" -b 3 -t "$TOPIC:$PARTS:3" </dev/null >"$d/mock.out" 2>"$d/mock.err" &
    MOCK_PID=$!
    PIDS+=("$MOCK_PID")
    for ((i = 0; i < 100; i++)); do
        BROKERS=$(head -n1 "$d/mock.out" 2>/dev/null)
        [ -n "$BROKERS" ] && return 0
        sleep 0.05
    done
    die "mock-kafka did not print its bootstrap list ($d/mock.err)"
}
stop_broker() { # -> echoes broker CPU s
    local c
    c=$(proc_cpu "$MOCK_PID")
    stop_pid "$MOCK_PID" 5
    echo "$c"
}

# ---- local _bulk endpoint (agent logferry-http) -------------------------------------
ES_URL=""
start_es() { # dir
    local d=$1 i
    rm -f "$d/es.port"
    "$BUILD_DIR/tests/bench/http/lf-bench-es-sink" "$d/es.port" </dev/null >"$d/es.out" 2>&1 &
    MOCK_PID=$!
    PIDS+=("$MOCK_PID")
    for ((i = 0; i < 100; i++)); do
        [ -s "$d/es.port" ] && { ES_URL="http://127.0.0.1:$(cat "$d/es.port")"; return 0; }
        sleep 0.05
    done
    die "es_server.py did not start ($d/es.out)"
}

# ---- data ------------------------------------------------------------------------
gen() { # kind lines -> path
    local f="$WORK/data/$1-$2.log"
    if [ ! -s "$f" ]; then
        echo "generating $f" >&2
        python3 "$HERE/genlog.py" "$1" "$2" -o "$f.tmp" && mv "$f.tmp" "$f" || die "genlog failed"
    fi
    echo "$f"
}

# ---- agents: write the config, print the command line -----------------------------
agent_cmd() { # agent dir file
    local a=$1 d=$2 file=$3
    case "$a" in
    logferry)
        sed -e "s|@STATE_DIR@|$d/state|" -e "s|@PLUGIN_DIR@|$PLUGIN_DIR|" -e "s|@FILE@|$file|" \
            -e "s|@BROKERS@|$BROKERS|" -e "s|@TOPIC@|$TOPIC|" \
            "$LF_CONF_IN" >"$d/logferry.yaml"
        echo "$LF run -c $d/logferry.yaml"
        ;;
    logferry-http)
        [ -f "$BUILD_DIR/plugins/out_http/out_http.so" ] || die "no out_http.so in $BUILD_DIR"
        sed -e "s|@STATE_DIR@|$d/state|" -e "s|@PLUGIN_DIR@|$BUILD_DIR/plugins/out_http|" \
            -e "s|@FILE@|$file|" -e "s|@URL@|$ES_URL|" \
            "$HERE/configs/logferry-http.yaml.in" >"$d/logferry.yaml"
        echo "$LF run -c $d/logferry.yaml"
        ;;
    rsyslog)
        mkdir -p "$d/rsyslog"
        local arr
        arr=$(echo "$BROKERS" | sed 's/[^,]*/"&"/g')
        sed -e "s|@WORK_DIR@|$d/rsyslog|" -e "s|@FILE@|$file|" -e "s|@BROKERS_ARRAY@|$arr|" \
            -e "s|@TOPIC@|$TOPIC|" "$HERE/configs/rsyslog.conf.in" >"$d/rsyslog.conf"
        echo "rsyslogd -n -f $d/rsyslog.conf -i $d/rsyslog.pid"
        ;;
    kcat)
        echo "kcat -P -b $BROKERS -t $TOPIC -X request.required.acks=-1 -l $file"
        ;;
    *) die "unknown agent $a" ;;
    esac
}

kv() { # key line -> value
    sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"
}

# ---- throughput ------------------------------------------------------------------
throughput() {
    local file bytes r a d cmd res bcpu
    file=$(gen "$KIND" "$LINES")
    bytes=$(stat -c %s "$file")
    cat "$file" >/dev/null # page cache
    printf 'agent\trun\tlines\tbytes\twall_s\tfirst_s\thwm\tcpu_user_s\tcpu_sys_s\trss_kib\tbroker_cpu_s\tok\n' >"$TP_TSV"
    for ((r = 1; r <= RUNS; r++)); do
        for a in "${AGENT_LIST[@]}"; do
            d="$RUNDIR/tp-$a-$r"
            mkdir -p "$d"
            if [ "$a" = logferry-http ]; then
                start_es "$d"
                cmd=$(agent_cmd "$a" "$d" "$file")
                res=$(python3 "$HERE/http_run.py" -u "$ES_URL" -n "$LINES" \
                    -T $((60 + LINES / 50000)) -- $cmd 2>"$d/agent.err")
            else
                start_broker "$d"
                cmd=$(agent_cmd "$a" "$d" "$file")
                # timeout: 60 s + 20 us per line (50k lines/s) — far above any sane run
                res=$("$BRUN" -b "$BROKERS" -t "$TOPIC" -n "$LINES" -s 1000 \
                    -T $((60 + LINES / 50000)) -- $cmd 2>"$d/agent.err")
            fi
            bcpu=$(stop_broker)
            echo "throughput $a run $r: $res" >&2
            local ok=1
            [ "$(kv timeout "$res")" = 0 ] && [ "$(kv hwm "$res")" = "$LINES" ] || ok=0
            printf '%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n' "$a" "$r" "$LINES" "$bytes" \
                "$(kv wall_s "$res")" "$(kv first_s "$res")" "$(kv hwm "$res")" \
                "$(kv cpu_user_s "$res")" "$(kv cpu_sys_s "$res")" "$(kv rss_kib "$res")" \
                "$bcpu" "$ok" >>"$TP_TSV"
        done
    done
}

# ---- latency ---------------------------------------------------------------------
latency() {
    local a d cmd apid res bcpu r
    printf 'agent\trun\tsent\trecv\tdup\tp50_ms\tp99_ms\tp999_ms\tmax_ms\tcpu_pct\n' >"$LAT_TSV"
    for ((r = 1; r <= LAT_RUNS; r++)); do
    for a in floor "${AGENT_LIST[@]}"; do
        [ "$a" = kcat ] && continue # kcat -P is not a tailer; "floor" is its latency
        [ "$a" = logferry-http ] && continue # the latency tools read Kafka
        d="$RUNDIR/lat-$a-$r"
        mkdir -p "$d"
        start_broker "$d"
        python3 "$HERE/genlog.py" access 1000 --seed 7 -o "$d/app.log"
        apid=0
        if [ "$a" != floor ]; then
            cmd=$(agent_cmd "$a" "$d" "$d/app.log")
            $cmd 2>"$d/agent.err" &
            apid=$!
            PIDS+=("$apid")
        fi
        if [ "$a" = floor ]; then
            res=$("$BLAT" -b "$BROKERS" -t "$TOPIC" -f "$d/app.log" -r "$RATE" -d "$SECONDS_LAT" -D 1)
        else
            res=$("$BLAT" -b "$BROKERS" -t "$TOPIC" -f "$d/app.log" -r "$RATE" -d "$SECONDS_LAT" \
                -w 1000 -p "$apid")
        fi
        echo "latency $a run $r: $res" >&2
        [ "$apid" != 0 ] && stop_pid "$apid" 15
        bcpu=$(stop_broker)
        printf '%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$a" "$r" "$(kv sent "$res")" \
            "$(kv recv "$res")" "$(kv dup "$res")" "$(kv p50_ms "$res")" "$(kv p99_ms "$res")" \
            "$(kv p999_ms "$res")" "$(kv max_ms "$res")" "$(kv cpu_pct "$res")" >>"$LAT_TSV"
    done
    done
}

# ---- idle ------------------------------------------------------------------------
ctxsw() { # pid -> voluntary+involuntary context switches of all threads
    cat /proc/"$1"/task/*/status 2>/dev/null |
        awk '/_ctxt_switches/{n+=$2} END{print n+0}'
}
idle() {
    local d="$RUNDIR/idle" i apid wpid cmd c0 c1 s0 s1 hwm rss
    mkdir -p "$d/files"
    for ((i = 0; i < NFILES; i++)); do
        printf '10.0.0.1 - - [21/Nov/2025:12:00:00 +0000] "GET /idle/%d HTTP/1.1" 200 1 "-" "bench"\n' \
            "$i" >"$d/files/f$i.log"
    done
    start_broker "$d"
    # lf-bench-run counts the watermark from its own start, so it starts first, with a
    # stand-in command, and returns once every file's line is in the broker (bounded)
    "$BRUN" -b "$BROKERS" -t "$TOPIC" -n "$NFILES" -s 0 -T 60 -- sleep 120 >"$d/wait.out" \
        2>"$d/wait.err" &
    wpid=$!
    PIDS+=("$wpid")
    sleep 0.5
    cmd=$(agent_cmd logferry "$d" "$d/files/*.log")
    (ulimit -n $((NFILES + 1024)) 2>/dev/null; exec $cmd) 2>"$d/agent.err" &
    apid=$!
    PIDS+=("$apid")
    wait "$wpid"
    hwm=$(sed -n 's/.* hwm=\([0-9]*\).*/\1/p' "$d/wait.out")
    sleep 2 # let startup work (scans, checkpoints) finish
    c0=$(proc_cpu "$apid"); s0=$(ctxsw "$apid")
    sleep "$SECONDS_LAT"
    c1=$(proc_cpu "$apid"); s1=$(ctxsw "$apid")
    rss=$(awk '/VmRSS/{print $2}' /proc/"$apid"/status 2>/dev/null)
    stop_pid "$apid" 15
    stop_broker >/dev/null
    python3 - "$NFILES" "$SECONDS_LAT" "${hwm:-0}" "$c0" "$c1" "$s0" "$s1" "${rss:-0}" <<'PY' | tee "$RUNDIR/report.md"
import sys
n, secs, hwm, c0, c1, s0, s1, rss = sys.argv[1:]
secs = float(secs); cpu = float(c1) - float(c0)
print(f"### Idle: logferry tailing {int(n):,} files, nothing written, {secs:.0f} s\n")
print("| files | records in broker | CPU s | CPU % of a core | context switches/s | RSS MiB |")
print("|---|---|---|---|---|---|")
print(f"| {int(n):,} | {int(hwm):,} | {cpu:.2f} | {100 * cpu / secs:.2f} | {(int(s1) - int(s0)) / secs:.1f} | {int(rss) / 1024:.1f} |")
print("\nCPU from /proc/PID/stat (clock ticks of 10 ms, so 0.00 means under one tick).")
PY
}

[ "$MODE" = idle ] && { idle; exit 0; }

[ "$MODE" = latency ] || throughput
[ "$MODE" = throughput ] || latency

# ---- report ----------------------------------------------------------------------
python3 - "$RUNDIR" "$MODE" "$KIND" "$LINES" "$RUNS" "$RATE" "$SECONDS_LAT" <<'PY' | tee "$RUNDIR/report.md"
import csv, os, statistics, sys
rundir, mode, kind, lines, runs, rate, secs = sys.argv[1:]
def rows(name):
    p = os.path.join(rundir, name)
    return list(csv.DictReader(open(p), delimiter="\t")) if os.path.exists(p) else []
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
def f(v, fmt="{:.2f}"):
    return "n/a" if v is None else fmt.format(v)
def num(s):
    try:
        v = float(s)
        return None if v < 0 else v
    except (TypeError, ValueError):
        return None
tp = rows("throughput.tsv")
print(f"## logferry benchmark ({os.path.basename(rundir)})\n")
res = {}
if tp:
    print(f"### Throughput: {int(lines):,} {kind} lines, median [min..max] of {runs} run(s)\n")
    print("| agent | ok runs | wall s | lines/s | MB/s | CPU s (user+sys) | CPU s per 1M lines | peak RSS MiB | first msg s | broker CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for a in dict.fromkeys(r["agent"] for r in tp):
        rs = [r for r in tp if r["agent"] == a]
        ok = [r for r in rs if r["ok"] == "1"]
        n = int(rs[0]["lines"]); b = int(rs[0]["bytes"])
        wall = [num(r["wall_s"]) for r in ok]
        lps = [n / w for w in wall if w]
        cpu = [num(r["cpu_user_s"]) + num(r["cpu_sys_s"]) for r in ok
               if num(r["cpu_user_s"]) is not None and num(r["cpu_sys_s"]) is not None]
        rss = [num(r["rss_kib"]) / 1024 for r in ok if num(r["rss_kib"]) is not None]
        first = [num(r["first_s"]) for r in ok]
        bcpu = [num(r["broker_cpu_s"]) for r in ok]
        def cell(xs, fmt="{:.2f}"):
            xs = [x for x in xs if x is not None]
            if not xs: return "n/a"
            return f"{fmt.format(med(xs))} [{fmt.format(min(xs))}..{fmt.format(max(xs))}]"
        res[a] = dict(lps=med(lps), cpu1m=med([c / n * 1e6 for c in cpu]), rss=med(rss),
                      first=med(first))
        print(f"| {a} | {len(ok)}/{len(rs)} | {cell(wall)} | {cell(lps, '{:,.0f}')} | "
              f"{cell([b / w / 1e6 for w in wall if w], '{:.1f}')} | {cell(cpu)} | "
              f"{f(res[a]['cpu1m'])} | {cell(rss, '{:.1f}')} | {cell(first, '{:.3f}')} | {cell(bcpu)} |")
    print()
    if "logferry" in res:
        lf = res["logferry"]
        print("| ratio | lines/s | CPU per 1M lines | peak RSS | first msg |")
        print("|---|---|---|---|---|")
        def ratio(x, y):
            return "n/a" if x is None or not y else f"{x / y:.2f}x"
        for peer in ("rsyslog", "kcat"):
            if peer in res:
                p = res[peer]
                print(f"| logferry/{peer} | {ratio(lf['lps'], p['lps'])} | {ratio(lf['cpu1m'], p['cpu1m'])} | "
                      f"{ratio(lf['rss'], p['rss'])} | {ratio(lf['first'], p['first'])} |")
        if "logferry-http" in res:
            h = res["logferry-http"]
            print(f"| logferry-http/logferry | {ratio(h['lps'], lf['lps'])} | {ratio(h['cpu1m'], lf['cpu1m'])} | "
                  f"{ratio(h['rss'], lf['rss'])} | {ratio(h['first'], lf['first'])} |")
        print()
lat = rows("latency.tsv")
if lat:
    nr = len({r["run"] for r in lat})
    print(f"### Latency: {int(rate):,} lines/s for {secs} s, write -> consumer, median [min..max] of {nr} run(s)\n")
    print("| agent | sent | received | dup | p50 ms | p99 ms | p99.9 ms | max ms | agent CPU % of a core |")
    print("|---|---|---|---|---|---|---|---|---|")
    def lcell(rs, k):
        xs = [num(r[k]) for r in rs if num(r[k]) is not None]
        if not xs: return "n/a"
        if len(xs) == 1: return f"{xs[0]:.2f}" if k != "cpu_pct" else f"{xs[0]:.1f}"
        return f"{med(xs):.2f} [{min(xs):.2f}..{max(xs):.2f}]" if k != "cpu_pct" else f"{med(xs):.1f} [{min(xs):.1f}..{max(xs):.1f}]"
    for a in dict.fromkeys(r["agent"] for r in lat):
        rs = [r for r in lat if r["agent"] == a]
        tot = lambda k: sum(int(r[k] or 0) for r in rs)
        print(f"| {a} | {tot('sent')} | {tot('recv')} | {tot('dup')} | {lcell(rs, 'p50_ms')} | {lcell(rs, 'p99_ms')} | "
              f"{lcell(rs, 'p999_ms')} | {lcell(rs, 'max_ms')} | {lcell(rs, 'cpu_pct') if a != 'floor' else 'n/a'} |")
    print()
print(f"Raw rows: {rundir}/throughput.tsv, latency.tsv")
PY
[ -n "$OUT" ] && cp "$RUNDIR/report.md" "$OUT"
exit 0
