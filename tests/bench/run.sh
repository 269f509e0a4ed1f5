#!/usr/bin/env bash
# tests/bench/run.sh - logferry against its peers and its ceiling, file -> Kafka (mock
# cluster on loopback).
#
#   tests/bench/run.sh [throughput|latency|all|idle|scaling] [options]
#
#   --runs N          throughput runs per agent (default 3; PEERS.md used 5)
#   --lines N         lines in the throughput data (default 500000; PEERS.md used 2000000)
#   --kind K[,K...]   access (nginx combined) | error (logback + Java traces, joined by
#                     the java preset) | slow (MySQL slow log, 5 lines per entry) | mixed
#                     (the three as three files side by side, in genlog's mixed
#                     proportions; every agent tails the three). Default: access; for
#                     "all": access,mixed,error,slow. Rows of other kinds than access
#                     are labelled "agent [kind]"
#   --agents LIST     comma list of
#                       logferry          as the benchmark configures it: compression
#                                         none, record_headers none (configs/logferry.yaml.in)
#                       logferry-defaults the shipped defaults: lz4, record_headers id
#                       logferry-http     the http output into a local _bulk endpoint
#                                         (tests/bench/http/es_sink.c); "broker CPU s" is
#                                         then the endpoint's
#                       rsyslog           imfile -> omkafka exactly as ../shared/bench/
#                                         PEERS.md configures it (addMetadata="off")
#                       syslog-ng, fluent-bit  as PEERS.md configures them, when found
#                                         (PATH, or SYSLOG_NG / FLUENT_BIT = the binary)
#                       kcat-json         the ceiling for our records: kcat -P of the very
#                                         JSON records logferry produces (made beforehand
#                                         with `logferry parse`, not timed), uncompressed
#                       kcat-json-lz4     the same with compression.codec=lz4
#                       kcat              kcat -P of the raw lines (the broker path)
#                     default: logferry, logferry-defaults, the peers that are installed,
#                     kcat-json, kcat-json-lz4
#   --rate R          latency: lines per second (default 1000)
#   --seconds S       latency: append period (default 20)
#   --lat-runs N      latency runs per agent (default 1)
#   --files N         idle: tailed files (default 1000)
#   --build DIR       meson build dir with agent/logferry, the kafka plugin, mock-kafka and
#                     tests/bench/pipeline tools (default: BUILD env or <repo>/build-bench,
#                     set up and built with ninja if needed)
#   --lf-config F     logferry config template for the agent "logferry" (default
#                     configs/logferry.yaml.in; a template with @FILE@ instead of @INPUTS@
#                     gets the first data file)
#   --work DIR        scratch directory (default /tmp/lf-bench); data files are cached there
#   --out FILE        also write the markdown report to FILE
#   --chart FILE      also draw the throughput rows as an SVG chart (gnuplot)
#
# Every run gets a new mock-kafka (3 brokers, topic "logs", 12 partitions, RF 3) and new
# agent state. The agent reads the data from the beginning; the clock stops when the sum
# of the partition high watermarks reaches the number of messages that agent sends
# (lines for the peers and kcat; records for logferry, which joins multi-line entries:
# counted beforehand with `logferry parse`), at which moment the agent's utime+stime and
# VmHWM are read from /proc (lf-bench-run). Agents run interleaved: run 1 of every
# agent, then run 2, ... Latency mode pre-fills 1,000 lines, waits until they are in the
# broker, then appends RATE lines/s for S seconds, one write(2) each, and a consumer
# measures write -> arrival (lf-bench-latency); a "floor" row produces the same lines
# directly. Idle mode (logferry only; also the last part of "all") is tests/bench/idle.sh:
# N one-line files delivered, then each thread's voluntary+involuntary context switches
# per second over S seconds (--seconds; default 30 for idle) with nothing written, with
# the HTTP endpoint and an alert webhook configured and $NOTIFY_SOCKET set. Scaling mode
# (logferry only) runs the access data as 1, 4 and 16 files tailed at once, and as one
# file into two outputs (Kafka + the file output). Everything listens on 127.0.0.1;
# every wait is bounded; all started processes are stopped on exit.
#
# "all" is throughput (access, mixed, error, slow), scaling, latency and idle, in one
# report.
# Example (the PEERS.md configuration, docs/performance.md's table and chart):
#   tests/bench/run.sh all --runs 5 --lines 2000000 --chart docs/performance-throughput.svg
# HTTP vs Kafka output: tests/bench/run.sh throughput --agents logferry,logferry-http
set -u -o pipefail

MODE=all
RUNS=3
LINES=500000
KIND=access
KINDS=""
AGENTS=""
RATE=1000
SECONDS_LAT=20
SECONDS_IDLE=30
LAT_RUNS=1
NFILES=1000
BUILD_DIR="${BUILD:-}"
WORK=/tmp/lf-bench
OUT=""
CHART=""
LF_CONF_IN=""
TOPIC=logs
PARTS=12

usage() { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "run.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
    throughput | latency | all | idle | scaling) MODE=$1 ;;
    --runs) RUNS=$2; shift ;;
    --lines) LINES=$2; shift ;;
    --kind) KINDS=$2; shift ;;
    --agents) AGENTS=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --seconds) SECONDS_LAT=$2; SECONDS_IDLE=$2; shift ;;
    --lat-runs) LAT_RUNS=$2; shift ;;
    --files) NFILES=$2; shift ;;
    --build) BUILD_DIR=$2; shift ;;
    --work) WORK=$2; shift ;;
    --out) OUT=$2; shift ;;
    --chart) CHART=$2; shift ;;
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
if [ -z "$KINDS" ]; then
    KINDS=access
    [ "$MODE" = all ] && KINDS=access,mixed,error,slow
fi
for KIND in ${KINDS//,/ }; do
    case "$KIND" in access | error | slow | mixed) ;; *) die "--kind access|error|slow|mixed" ;; esac
done
KIND=${KINDS%%,*}

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

SYSLOG_NG=${SYSLOG_NG:-$(command -v syslog-ng || true)}
FLUENT_BIT=${FLUENT_BIT:-$(command -v fluent-bit || true)}
if [ -z "$AGENTS" ]; then
    AGENTS=logferry,logferry-defaults
    command -v rsyslogd >/dev/null && [ -n "$(ls /usr/lib/*/rsyslog/omkafka.so 2>/dev/null)" ] &&
        AGENTS="$AGENTS,rsyslog"
    [ -n "$SYSLOG_NG" ] && AGENTS="$AGENTS,syslog-ng"
    [ -n "$FLUENT_BIT" ] && AGENTS="$AGENTS,fluent-bit"
    command -v kcat >/dev/null && AGENTS="$AGENTS,kcat-json,kcat-json-lz4"
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
# data_files kind lines [nfiles]: fills FILES (and FILE_KINDS) with the data of a run.
# mixed: the three kinds as three files, in the proportions of genlog's mixed file
# (46.7% access lines, 13.8% slow-log lines, the rest error lines). nfiles > 1 (access
# only): the access data split into that many files of whole lines.
FILES=()
FILE_KINDS=()
data_files() {
    local kind=$1 n=$2 parts=${3:-1} a e sl f i
    FILES=()
    FILE_KINDS=()
    if [ "$kind" = mixed ]; then
        a=$((n * 467 / 1000)); sl=$((n * 138 / 1000 / 5 * 5)); e=$((n - a - sl))
        FILES=("$(gen access "$a")" "$(gen error "$e")" "$(gen slow "$sl")")
        FILE_KINDS=(access error slow)
    elif [ "$parts" -gt 1 ]; then
        f=$(gen "$kind" "$n")
        if [ ! -s "$f.split$parts.$(printf %02d $((parts - 1)))" ]; then
            split -n "l/$parts" -d -a 2 "$f" "$f.split$parts." || die "split failed"
        fi
        for ((i = 0; i < parts; i++)); do
            FILES+=("$f.split$parts.$(printf %02d "$i")")
            FILE_KINDS+=("$kind")
        done
    else
        FILES=("$(gen "$kind" "$n")")
        FILE_KINDS=("$kind")
    fi
}
# The logferry inputs for FILES: one input per kind (the access files of scaling mode
# share one input with several paths).
inputs_yaml() {
    local i k paths=""
    for ((i = 0; i < ${#FILES[@]}; i++)); do
        [ "${FILE_KINDS[$i]}" = access ] && paths="$paths\"${FILES[$i]}\", "
    done
    [ -n "$paths" ] && printf '  - {name: access, paths: [%s], type: request, start_at: beginning, parser: {type: nginx}}\n' "${paths%, }"
    for ((i = 0; i < ${#FILES[@]}; i++)); do
        k=${FILE_KINDS[$i]}
        case "$k" in
        error)
            printf '  - name: error\n    paths: ["%s"]\n    type: error\n    start_at: beginning\n' "${FILES[$i]}"
            printf "    parser: {type: logback, format: '%%d{yyyy-MM-dd HH:mm:ss.SSS} %%level [%%thread] %%logger - %%msg%%n'}\n"
            printf '    multiline: {preset: java}\n' ;;
        slow)
            printf '  - name: slow\n    paths: ["%s"]\n    type: query\n    start_at: beginning\n' "${FILES[$i]}"
            printf '    parser: {type: mysql-slow}\n    multiline: {preset: mysql-slow}\n' ;;
        esac
    done
}
# The JSON records logferry sends for FILES, written once with `logferry parse` on the
# benchmark's own config (not timed): the payload of the kcat-json rows, and the
# message count logferry's runs wait for. Echoes the path; the count is in path.count.
records_file() { # config
    local key out i
    key=$(printf '%s\n' "${FILES[@]}" | md5sum | cut -c1-12)
    out="$WORK/data/records-$key.json"
    if [ ! -s "$out.count" ]; then
        echo "writing the records of ${FILES[*]} with logferry parse" >&2
        : >"$out.tmp"
        for ((i = 0; i < ${#FILES[@]}; i++)); do
            "$LF" parse -c "$1" -i "${FILE_KINDS[$i]}" "${FILES[$i]}" 2>"$out.err" >>"$out.tmp" ||
                { cat "$out.err" >&2; die "logferry parse failed on ${FILES[$i]}"; }
        done
        mv "$out.tmp" "$out"
        wc -l <"$out" >"$out.count"
    fi
    echo "$out"
}
expected_msgs() { # agent -> messages that agent sends for FILES
    case "$1" in
    logferry | logferry-defaults | logferry-http | kcat-json | kcat-json-lz4)
        cat "$RECORDS.count" ;;
    *) cat "${FILES[@]}" | wc -l ;;
    esac
}

# ---- agents: write the config, print the command line -----------------------------
# lf_config template dir [extra outputs yaml]: the logferry config of a run
lf_config() {
    local tpl=$1 d=$2 extra=${3:-} inputs
    inputs=$(inputs_yaml)
    python3 - "$tpl" "$d/logferry.yaml" "$d/state" "$PLUGIN_DIR" "${FILES[0]}" "$BROKERS" \
        "$TOPIC" "$inputs" "$extra" <<'PY'
import sys
tpl, out, state, plugins, first, brokers, topic, inputs, extra = sys.argv[1:]
s = open(tpl).read()
for k, v in (("@STATE_DIR@", state), ("@PLUGIN_DIR@", plugins), ("@FILE@", first),
             ("@BROKERS@", brokers), ("@TOPIC@", topic), ("@INPUTS@", inputs),
             ("@EXTRA_OUTPUTS@", extra)):
    s = s.replace(k, v)
open(out, "w").write(s)
PY
}
agent_cmd() { # agent dir
    local a=$1 d=$2 f arr
    case "$a" in
    logferry)
        lf_config "$LF_CONF_IN" "$d" "${EXTRA_OUTPUTS:-}"
        echo "$LF run -c $d/logferry.yaml"
        ;;
    logferry-defaults)
        lf_config "$HERE/configs/logferry-defaults.yaml.in" "$d" "${EXTRA_OUTPUTS:-}"
        echo "$LF run -c $d/logferry.yaml"
        ;;
    logferry-http)
        [ -f "$BUILD_DIR/plugins/out_http/out_http.so" ] || die "no out_http.so in $BUILD_DIR"
        sed -e "s|@STATE_DIR@|$d/state|" -e "s|@PLUGIN_DIR@|$BUILD_DIR/plugins/out_http|" \
            -e "s|@FILE@|${FILES[0]}|" -e "s|@URL@|$ES_URL|" \
            "$HERE/configs/logferry-http.yaml.in" >"$d/logferry.yaml"
        echo "$LF run -c $d/logferry.yaml"
        ;;
    rsyslog)
        mkdir -p "$d/rsyslog"
        arr=$(echo "$BROKERS" | sed 's/[^,]*/"&"/g')
        for f in "${FILES[@]}"; do
            printf 'input(type="imfile" file="%s" tag="bench" freshStartTail="off" addMetadata="off" ruleset="tokafka")\n' "$f"
        done >"$d/inputs.conf"
        python3 - "$HERE/configs/rsyslog.conf.in" "$d/rsyslog.conf" "$d/rsyslog" "$d/inputs.conf" \
            "$arr" "$TOPIC" <<'PY'
import sys
tpl, out, work, inputs, arr, topic = sys.argv[1:]
s = open(tpl).read()
for k, v in (("@WORK_DIR@", work), ("@INPUTS@", open(inputs).read().rstrip("\n")),
             ("@BROKERS_ARRAY@", arr), ("@TOPIC@", topic)):
    s = s.replace(k, v)
open(out, "w").write(s)
PY
        echo "rsyslogd -n -f $d/rsyslog.conf -i $d/rsyslog.pid"
        ;;
    syslog-ng)
        {
            echo '@version: 3.38'
            echo 'options { keep-hostname(yes); };'
            local i=0
            for f in "${FILES[@]}"; do
                echo "source s$i { file(\"$f\" flags(no-parse) follow-freq(1)); };"
                i=$((i + 1))
            done
            echo "destination d_kafka { kafka-c(bootstrap-servers(\"$BROKERS\") topic(\"$TOPIC\")"
            echo '  message("$MSG") config("request.required.acks" => "-1")); };'
            for ((i = 0; i < ${#FILES[@]}; i++)); do
                echo "log { source(s$i); destination(d_kafka); flags(flow-control); };"
            done
        } >"$d/syslog-ng.conf"
        echo "$SYSLOG_NG -F --no-caps -f $d/syslog-ng.conf --persist-file=$d/syslog-ng.persist --pidfile=$d/syslog-ng.pid --control=$d/syslog-ng.ctl -e"
        ;;
    fluent-bit)
        {
            printf '[SERVICE]\n    Flush 1\n    Log_Level warn\n'
            for f in "${FILES[@]}"; do
                printf '[INPUT]\n    Name tail\n    Path %s\n    Read_from_Head true\n    DB %s/tail-%s.db\n' "$f" "$d" "$(basename "$f")"
            done
            printf '[OUTPUT]\n    Name kafka\n    Match *\n    Brokers %s\n    Topics %s\n' "$BROKERS" "$TOPIC"
            printf '    Format raw\n    Raw_Log_Key log\n    rdkafka.request.required.acks -1\n'
        } >"$d/fluent-bit.conf"
        echo "$FLUENT_BIT -c $d/fluent-bit.conf"
        ;;
    kcat)
        echo "kcat -P -b $BROKERS -t $TOPIC -X request.required.acks=-1 -l ${FILES[*]}"
        ;;
    kcat-json)
        echo "kcat -P -b $BROKERS -t $TOPIC -X request.required.acks=-1 -l $RECORDS"
        ;;
    kcat-json-lz4)
        echo "kcat -P -b $BROKERS -t $TOPIC -X request.required.acks=-1 -X compression.codec=lz4 -l $RECORDS"
        ;;
    *) die "unknown agent $a" ;;
    esac
}

kv() { # key line -> value
    sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"
}

# ---- throughput ------------------------------------------------------------------
# prepare_data [nfiles]: FILES for KIND/LINES, in the page cache, and RECORDS (the JSON
# records logferry sends for them; see records_file)
prepare_data() {
    local d="$RUNDIR/parse"
    data_files "$KIND" "$LINES" "${1:-1}"
    cat "${FILES[@]}" >/dev/null # page cache
    mkdir -p "$d"
    BROKERS=127.0.0.1:9 lf_config "$HERE/configs/logferry.yaml.in" "$d"
    RECORDS=$(records_file "$d/logferry.yaml")
    [ -s "$RECORDS.count" ] || die "no records for ${FILES[*]} (see $d/logferry.yaml)"
}
# tp_run label agent run: one timed run of an agent on FILES, appended to TP_TSV
tp_run() {
    local label=$1 a=$2 r=$3 d cmd res bcpu want bytes
    d="$RUNDIR/tp-${label// /}-$r"
    mkdir -p "$d"
    want=$(expected_msgs "$a")
    bytes=$(cat "${FILES[@]}" | wc -c)
    if [ "$a" = logferry-http ]; then
        start_es "$d"
        cmd=$(agent_cmd "$a" "$d")
        res=$(python3 "$HERE/http_run.py" -u "$ES_URL" -n "$want" \
            -T $((60 + LINES / 50000)) -- $cmd 2>"$d/agent.err")
    else
        start_broker "$d"
        cmd=$(agent_cmd "$a" "$d")
        # timeout: 60 s + 20 us per line (50k lines/s) — far above any sane run
        res=$("$BRUN" -b "$BROKERS" -t "$TOPIC" -n "$want" -s 1000 \
            -T $((60 + LINES / 50000)) -- $cmd 2>"$d/agent.err")
    fi
    bcpu=$(stop_broker)
    echo "throughput $label run $r: $res" >&2
    local ok=1
    [ "$(kv timeout "$res")" = 0 ] && [ "$(kv hwm "$res")" = "$want" ] || ok=0
    printf '%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n' "$label" "$r" "$LINES" "$want" \
        "$bytes" "$(kv wall_s "$res")" "$(kv first_s "$res")" "$(kv hwm "$res")" \
        "$(kv cpu_user_s "$res")" "$(kv cpu_sys_s "$res")" "$(kv rss_kib "$res")" \
        "$bcpu" "$ok" >>"$TP_TSV"
}
tp_header() {
    printf 'agent\trun\tlines\tmsgs\tbytes\twall_s\tfirst_s\thwm\tcpu_user_s\tcpu_sys_s\trss_kib\tbroker_cpu_s\tok\n' >"$TP_TSV"
}
throughput() {
    local r a sfx
    tp_header
    for KIND in ${KINDS//,/ }; do
        prepare_data
        sfx=""
        [ "$KIND" = access ] || sfx=" [$KIND]"
        for ((r = 1; r <= RUNS; r++)); do
            for a in "${AGENT_LIST[@]}"; do
                [ "$a" = logferry-http ] && [ "$KIND" != access ] && continue
                tp_run "$a$sfx" "$a" "$r"
            done
        done
    done
}
# scaling: logferry alone, the same access data as 1, 4 and 16 files, and 1 file into
# two outputs (Kafka + the file output); runs interleaved like throughput's
scaling() {
    local r n
    KIND=access
    [ -s "$TP_TSV" ] || tp_header
    for ((r = 1; r <= RUNS; r++)); do
        for n in 1 4 16; do
            prepare_data "$n"
            tp_run "files-$n" logferry "$r"
        done
        prepare_data 1
        EXTRA_OUTPUTS="  - {name: copy, plugin: file, path: \"$RUNDIR/tp-kafka+file-$r/copy.jsonl\"}" \
            tp_run "kafka+file" logferry "$r"
    done
}

# ---- latency ---------------------------------------------------------------------
latency() {
    local a d cmd apid res bcpu r
    printf 'agent\trun\tsent\trecv\tdup\tp50_ms\tp99_ms\tp999_ms\tmax_ms\tcpu_pct\n' >"$LAT_TSV"
    for ((r = 1; r <= LAT_RUNS; r++)); do
    for a in floor "${AGENT_LIST[@]}"; do
        case "$a" in kcat*) continue ;; esac # kcat -P is not a tailer; "floor" is its latency
        [ "$a" = logferry-http ] && continue # the latency tools read Kafka
        d="$RUNDIR/lat-$a-$r"
        mkdir -p "$d"
        start_broker "$d"
        python3 "$HERE/genlog.py" access 1000 --seed 7 -o "$d/app.log"
        FILES=("$d/app.log")
        FILE_KINDS=(access)
        apid=0
        if [ "$a" != floor ]; then
            cmd=$(agent_cmd "$a" "$d")
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
# tests/bench/idle.sh: wake-ups per second of each thread of an idle agent (its own
# broker, files and agent; see its header)
idle() {
    "$HERE/idle.sh" --build "$BUILD_DIR" --files "$NFILES" --seconds "$SECONDS_IDLE" \
        --work "$RUNDIR/idle" --out "$RUNDIR/idle.md" || die "idle.sh failed"
}

if [ "$MODE" = idle ]; then
    idle
    [ -z "$OUT" ] || cp "$RUNDIR/idle.md" "$OUT"
    exit 0
fi

case "$MODE" in
scaling) scaling ;;
throughput) throughput ;;
latency) latency ;;
all) throughput; scaling; latency; idle >/dev/null ;;
esac

# ---- report ----------------------------------------------------------------------
python3 - "$RUNDIR" "$MODE" "$KINDS" "$LINES" "$RUNS" "$RATE" "$SECONDS_LAT" <<'PY' | tee "$RUNDIR/report.md"
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
def cell(xs, fmt="{:.2f}"):
    xs = [x for x in xs if x is not None]
    if not xs: return "n/a"
    return f"{fmt.format(med(xs))} [{fmt.format(min(xs))}..{fmt.format(max(xs))}]"
if tp:
    what = "access lines (scaling, logferry)" if mode == "scaling" else f"lines of each kind ({kind})"
    print(f"### Throughput: {int(lines):,} {what}, median [min..max] of {runs} interleaved run(s)\n")
    print("| agent | ok runs | messages | wall s | lines/s | MB/s | CPU s (user+sys) | CPU s per 1M lines | CPU s per 1M messages | peak RSS MiB | first msg s | broker CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for a in dict.fromkeys(r["agent"] for r in tp):
        rs = [r for r in tp if r["agent"] == a]
        ok = [r for r in rs if r["ok"] == "1"]
        n = int(rs[0]["lines"]); m = int(rs[0]["msgs"]); b = int(rs[0]["bytes"])
        wall = [num(r["wall_s"]) for r in ok]
        lps = [n / w for w in wall if w]
        cpu = [num(r["cpu_user_s"]) + num(r["cpu_sys_s"]) for r in ok
               if num(r["cpu_user_s"]) is not None and num(r["cpu_sys_s"]) is not None]
        rss = [num(r["rss_kib"]) / 1024 for r in ok if num(r["rss_kib"]) is not None]
        first = [num(r["first_s"]) for r in ok]
        bcpu = [num(r["broker_cpu_s"]) for r in ok]
        kc = a.startswith("kcat")  # kcat is the ceiling, not an agent: its CPU is not compared
        res[a] = dict(lps=med(lps), cpu1m=None if kc else med([c / n * 1e6 for c in cpu]),
                      rss=None if kc else med(rss), first=med(first))
        print(f"| {a} | {len(ok)}/{len(rs)} | {m:,} | {cell(wall)} | {cell(lps, '{:,.0f}')} | "
              f"{cell([b / w / 1e6 for w in wall if w], '{:.1f}')} | {cell(cpu)} | "
              f"{f(med([c / n * 1e6 for c in cpu]))} | {f(med([c / m * 1e6 for c in cpu]))} | "
              f"{cell(rss, '{:.1f}')} | {cell(first, '{:.3f}')} | {cell(bcpu)} |")
    print()
    def ratio(x, y):
        return "n/a" if x is None or not y else f"{x / y:.2f}x"
    pairs = [("logferry", "kcat-json"), ("logferry-defaults", "kcat-json-lz4")]
    for lf in ("logferry", "logferry-defaults"):
        pairs += [(lf, p) for p in ("rsyslog", "syslog-ng", "fluent-bit")]
    pairs += [("logferry", "kcat"), ("logferry-http", "logferry")]
    pairs += [(x, "files-1") for x in ("files-4", "files-16", "kafka+file")]
    pairs += [(f"{x} [{k}]", f"{y} [{k}]") for k in ("mixed", "error", "slow") for x, y in pairs]
    pairs = [(x, y) for x, y in pairs if x in res and y in res]
    if pairs:
        print("| ratio (same interleaved run) | lines/s | CPU per 1M lines | peak RSS | first msg |")
        print("|---|---|---|---|---|")
        for x, y in pairs:
            a, p = res[x], res[y]
            print(f"| {x} / {y} | {ratio(a['lps'], p['lps'])} | {ratio(a['cpu1m'], p['cpu1m'])} | "
                  f"{ratio(a['rss'], p['rss'])} | {ratio(a['first'], p['first'])} |")
        print()
    with open(os.path.join(rundir, "chart.dat"), "w") as out:
        for a, v in res.items():
            if " [" in a or a.startswith(("files-", "kafka+file")):
                continue  # the chart shows the access rows of the agents
            cpu = v["cpu1m"] if v["cpu1m"] is not None else 0
            out.write(f'"{a}" {v["lps"] or 0:.0f} {cpu:.3f}\n')
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
if [ "$MODE" = all ] && [ -f "$RUNDIR/idle.md" ]; then
    echo | tee -a "$RUNDIR/report.md"
    tee -a "$RUNDIR/report.md" <"$RUNDIR/idle.md"
fi
[ -n "$OUT" ] && cp "$RUNDIR/report.md" "$OUT"
if [ -n "$CHART" ] && [ -s "$RUNDIR/chart.dat" ]; then
    command -v gnuplot >/dev/null || die "--chart needs gnuplot (apt-get install gnuplot-nox)"
    gnuplot <<EOF || die "gnuplot failed"
set terminal svg size 960,440 dynamic font "sans,11"
set output "$CHART"
set multiplot layout 1,2 title "$LINES nginx access lines: medians of $RUNS interleaved runs ($(basename "$RUNDIR"))"
set style fill solid 0.8 border -1
set boxwidth 0.7
set xtics rotate by -35 nomirror
set grid ytics
set yrange [0:*]
set title "lines/s (higher is better)"
plot "$RUNDIR/chart.dat" using 0:2:xtic(1) with boxes lc rgb "#3b7dd8" notitle
set title "agent CPU s per 1M lines (lower is better; kcat rows: n/a)"
plot "$RUNDIR/chart.dat" using 0:3:xtic(1) with boxes lc rgb "#d8703b" notitle
unset multiplot
EOF
    echo "chart: $CHART"
fi
exit 0
