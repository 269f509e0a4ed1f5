#!/usr/bin/env bash
# tests/bench/idle.sh - wake-ups of an idle logferry, thread by thread.
#
#   tests/bench/idle.sh [options]
#
# Starts the mock Kafka cluster (3 brokers, topic "logs", 12 partitions, RF 3, on
# 127.0.0.1), writes FILES files of one line each into one watched directory, and starts
# the agent on them (Kafka output, compression none; the HTTP endpoint on a unix socket
# and an alert webhook on a loopback port, so that every thread the agent can have runs;
# no RabbitMQ). $NOTIFY_SOCKET points at a datagram socket this script reads, as systemd
# would (Type=notify): it waits for READY=1, then until the FILES records are in the
# broker, then SETTLE more seconds, and then reads the voluntary and involuntary context
# switches of every thread (/proc/PID/task/TID/status, names from comm) twice, SECONDS
# apart, with nothing written. Each thread's switches per second are its wake-ups (a
# thread that sleeps and wakes is switched out once per sleep). Loopback only, every wait
# bounded, everything it started is stopped on exit.
#
#   --build DIR       meson build dir (default: $BUILD or <repo>/build)
#   --files N         files in the watched directory (default 1000)
#   --seconds S       measuring window (default 30)
#   --settle S        wait after the records arrived, before measuring (default 6: the
#                     last STATUS= about the startup's work goes out within 5 s)
#   --watchdog SEC    run with WATCHDOG_USEC=SEC*1e6 (systemd's WatchdogSec; default: off)
#   --no-http         no agent.http endpoint
#   --no-alerts       no alerts.webhook
#   --kafka-prop K=V  a librdkafka property for the output (repeatable)
#   --rabbitmq PORT   also a RabbitMQ output, to a private rabbitmq-server node this script
#                     starts on 127.0.0.1:PORT (tests/lib/rabbitmq.sh; distribution port
#                     PORT+1; about 10 s to start), with its queue "idle" bound
#   --rmq-heartbeat S the RabbitMQ output's heartbeat (default: the plugin's, 30 s)
#   --perf            also count each thread's system calls over the same window with
#                     `perf stat --per-thread -e raw_syscalls:sys_enter` (a column
#                     syscalls/s: a thread that never wakes makes none)
#   --work DIR        scratch directory (default /tmp/lf-idle)
#   --out FILE        also write the report (markdown) to FILE
#
# Prints a markdown table: thread id, name, voluntary/s, involuntary/s, wake-ups/s, then
# the totals, the agent's CPU over the window, and the notify messages seen in it.
set -u -o pipefail

NFILES=1000
SECS=30
SETTLE=6
WATCHDOG=0
HTTP=1
ALERTS=1
KPROPS=()
RMQ_PORT=0
RMQ_HB=""
PERF=0
BUILD_DIR="${BUILD:-}"
WORK=/tmp/lf-idle
OUT=""
TOPIC=logs
PARTS=12

usage() { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "idle.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
    --build) BUILD_DIR=$2; shift ;;
    --files) NFILES=$2; shift ;;
    --seconds) SECS=$2; shift ;;
    --settle) SETTLE=$2; shift ;;
    --watchdog) WATCHDOG=$2; shift ;;
    --no-http) HTTP=0 ;;
    --no-alerts) ALERTS=0 ;;
    --kafka-prop) KPROPS+=("$2"); shift ;;
    --rabbitmq) RMQ_PORT=$2; shift ;;
    --rmq-heartbeat) RMQ_HB=$2; shift ;;
    --perf) PERF=1 ;;
    --work) WORK=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
case "$NFILES$SECS$SETTLE$WATCHDOG$RMQ_PORT$RMQ_HB" in *[!0-9]*) die "numbers expected" ;; esac
[ "$RMQ_PORT" = 0 ] || { [ "$RMQ_PORT" -ge 1024 ] && [ "$RMQ_PORT" -le 65000 ]; } ||
    die "--rabbitmq 1024..65000"
[ "$NFILES" -ge 1 ] && [ "$NFILES" -le 100000 ] || die "--files 1..100000"
[ "$SECS" -ge 1 ] && [ "$SECS" -le 600 ] || die "--seconds 1..600"
[ "$SETTLE" -le 60 ] || die "--settle 0..60"
[ "$WATCHDOG" -le 3600 ] || die "--watchdog 0..3600"
for p in "${KPROPS[@]}"; do
    case "$p" in *=*) ;; *) die "--kafka-prop K=V" ;; esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build}
[ -d "$BUILD_DIR" ] || die "no build dir $BUILD_DIR (--build DIR)"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
LF="$BUILD_DIR/agent/logferry"
PLUGIN_DIR="$BUILD_DIR/plugins/out_kafka"
MOCK="$BUILD_DIR/tests/tools/mock-kafka/mock-kafka"
BRUN="$BUILD_DIR/tests/bench/pipeline/lf-bench-run"
RMQ_SO="$BUILD_DIR/plugins/out_rabbitmq/out_rabbitmq.so"
for f in "$LF" "$MOCK" "$BRUN" "$PLUGIN_DIR/out_kafka.so"; do
    [ -f "$f" ] || die "missing $f (build with librdkafka-dev installed)"
done
[ "$RMQ_PORT" = 0 ] || [ -f "$RMQ_SO" ] || die "missing $RMQ_SO"

D="$WORK/$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$D/files" "$D/state" "$D/plugins" || die "cannot create $D"
ln -s "$PLUGIN_DIR/out_kafka.so" "$D/plugins/"
[ "$RMQ_PORT" = 0 ] || ln -s "$RMQ_SO" "$D/plugins/"

# ---- everything started here is stopped on exit --------------------------------------
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
RMQ_DIR=""
RMQ_NODE="lfidle$$@localhost"
cleanup() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p" 5; done
    [ -z "$RMQ_DIR" ] || "$REPO/tests/lib/rabbitmq.sh" stop "$RMQ_DIR" "$RMQ_NODE" 40 >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # seconds command... : polls every 50 ms
    local t=$1 i
    shift
    for ((i = 0; i < t * 20; i++)); do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

# ---- the brokers, the notify socket, the files, the config ---------------------------
if [ "$RMQ_PORT" != 0 ]; then
    RMQ_DIR=$(mktemp -d /tmp/lf-idle-rmq-XXXXXX)
    "$REPO/tests/lib/rabbitmq.sh" start "$RMQ_DIR" "$RMQ_NODE" "$RMQ_PORT" $((RMQ_PORT + 1)) 90 \
        >"$D/rabbitmq.out" 2>&1 || die "rabbitmq-server did not start ($D/rabbitmq.out)"
fi
"$MOCK" -b 3 -t "$TOPIC:$PARTS:3" </dev/null >"$D/mock.out" 2>"$D/mock.err" &
PIDS+=($!)
wait_for 10 test -s "$D/mock.out" || die "mock-kafka did not start ($D/mock.err)"
BROKERS=$(head -n1 "$D/mock.out")

# What systemd would receive: one line per datagram, "<monotonic s> <message>", for at
# most SECS + 300 s.
python3 - "$D/notify.sock" "$D/notify.log" $((SECS + SETTLE + 300)) <<'PY' &
import socket, sys, time
path, log, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(1.0)
end = time.monotonic() + limit
with open(log, "w", buffering=1) as f:
    while time.monotonic() < end:
        try:
            msg = s.recv(4096).decode(errors="replace")
        except socket.timeout:
            continue
        f.write("%.3f %s\n" % (time.monotonic(), msg.replace("\n", " ")))
PY
PIDS+=($!)
wait_for 10 test -S "$D/notify.sock" || die "the notify listener did not start"

for ((i = 0; i < NFILES; i++)); do
    printf '10.0.0.1 - - [21/Nov/2025:12:00:00 +0000] "GET /idle/%d HTTP/1.1" 200 1 "-" "bench"\n' \
        "$i" >"$D/files/f$i.log"
done

{
    echo "agent:"
    echo "  state_dir: $D/state"
    echo "  plugin_dir: $D/plugins"
    echo "  log_level: info"
    [ "$HTTP" = 1 ] && echo "  http: { listen: \"unix:$D/http.sock\" }"
    echo "inputs:"
    echo "  - { name: idle, paths: [\"$D/files/*.log\"], start_at: beginning, parser: { type: nginx } }"
    echo "outputs:"
    echo "  - name: kafka"
    echo "    plugin: kafka"
    echo "    brokers: \"$BROKERS\""
    echo "    topic: $TOPIC"
    echo "    compression: none"
    echo "    record_headers: none"
    if [ ${#KPROPS[@]} -gt 0 ]; then
        echo "    librdkafka:"
        for p in "${KPROPS[@]}"; do echo "      ${p%%=*}: \"${p#*=}\""; done
    fi
    if [ "$RMQ_PORT" != 0 ]; then
        echo "  - name: rmq"
        echo "    plugin: rabbitmq"
        echo "    url: \"amqp://guest:guest@127.0.0.1:$RMQ_PORT/%2f\""
        echo "    exchange: logs"
        echo "    topology: { declare: true, queue: idle }"
        [ -z "$RMQ_HB" ] || echo "    heartbeat: ${RMQ_HB}s"
    fi
    # a closed loopback port: nothing is posted while nothing fails
    [ "$ALERTS" = 1 ] && echo "alerts: { webhook: \"http://127.0.0.1:9/idle\" }"
} >"$D/logferry.yaml"

# ---- run: READY, every record in the broker, settle ----------------------------------
# lf-bench-run counts the watermark from its own start and returns once the NFILES
# records are in the broker (at most 120 s); its command is a stand-in. It reads the
# starting watermark before the agent starts (else it counts from after the delivery)
"$BRUN" -b "$BROKERS" -t "$TOPIC" -n "$NFILES" -s 0 -T 120 -- sleep 300 >"$D/wait.out" \
    2>"$D/wait.err" &
WPID=$!
PIDS+=("$WPID")
sleep 1
WD_ENV=()
[ "$WATCHDOG" -gt 0 ] && WD_ENV=(WATCHDOG_USEC=$((WATCHDOG * 1000000)))
(
    ulimit -n $((NFILES + 1024)) 2>/dev/null
    exec env NOTIFY_SOCKET="$D/notify.sock" "${WD_ENV[@]}" "$LF" run -c "$D/logferry.yaml"
) 2>"$D/agent.err" &
APID=$!
PIDS+=("$APID")
wait_for 120 grep -q 'READY=1' "$D/notify.log" || die "no READY=1 within 120 s ($D/agent.err)"
wait "$WPID" || die "the $NFILES records did not reach the broker ($D/wait.out, $D/agent.err)"
grep -q "hwm=$NFILES\b" "$D/wait.out" || die "unexpected watermark: $(cat "$D/wait.out")"
sleep "$SETTLE"
kill -0 "$APID" 2>/dev/null || die "the agent exited ($D/agent.err)"

# ---- measure ---------------------------------------------------------------------------
sample() { # pid -> "tid name voluntary involuntary" per thread, then "cpu TICKS"
    local t
    for t in /proc/"$1"/task/*; do
        awk -v tid="${t##*/}" -v name="$(tr ' ' '_' <"$t/comm" 2>/dev/null)" \
            '/^voluntary_ctxt_switches/{v=$2} /^nonvoluntary_ctxt_switches/{n=$2}
             END{if (v != "") print tid, name, v, n}' "$t/status" 2>/dev/null
    done
    awk '{sub(/.*\) /,""); print "cpu", $12+$13}' /proc/"$1"/stat
}
N0=$(wc -l <"$D/notify.log")
: >"$D/perf.txt"
if [ "$PERF" = 1 ]; then
    perf stat --per-thread -x, -e raw_syscalls:sys_enter -p "$APID" -o "$D/perf.txt" \
        -- sleep "$SECS" &
    PPID_PERF=$!
fi
T0=$(date +%s.%N)
sample "$APID" >"$D/s0"
sleep "$SECS"
sample "$APID" >"$D/s1"
[ "$PERF" = 1 ] && { wait "$PPID_PERF" || die "perf stat failed ($D/perf.txt)"; }
T1=$(date +%s.%N)
N1=$(wc -l <"$D/notify.log")
stop_pid "$APID" 15
awk -v a="$N0" -v b="$N1" 'NR > a && NR <= b' "$D/notify.log" >"$D/notify.window"

REPORT=$(python3 - "$D/s0" "$D/s1" "$T0" "$T1" "$NFILES" "$(getconf CLK_TCK)" "$D/notify.window" \
    "$SECS" "$WATCHDOG" "${KPROPS[*]:-}" "$RMQ_PORT" "${RMQ_HB:-30}" "$D/perf.txt" <<'PY'
import collections, sys
s0, s1, t0, t1, nfiles, tck, notify, secs, wd, props, rmq, rmq_hb, perf = sys.argv[1:]
secs_real = float(t1) - float(t0)

def load(p):
    th, cpu = {}, 0
    for line in open(p):
        f = line.split()
        if f[0] == "cpu":
            cpu = int(f[1])
        else:
            th[f[0]] = (f[1], int(f[2]), int(f[3]))
    return th, cpu

a, c0 = load(s0)
b, c1 = load(s1)
print(f"### Idle: logferry tailing {int(nfiles):,} files, nothing written, {secs_real:.1f} s\n")
extra = []
if wd != "0":
    extra.append(f"WatchdogSec={wd}s")
if props:
    extra.append("librdkafka: " + props)
if rmq != "0":
    extra.append(f"and a RabbitMQ output, heartbeat {rmq_hb} s")
if extra:
    print("(" + "; ".join(extra) + ")\n")
calls = {}  # tid -> system calls in the window (perf stat -x, : "comm-tid,count,,event...")
for line in open(perf):
    f = line.strip().split(",")
    if len(f) > 2 and "-" in f[0] and f[1].isdigit():
        calls[f[0].rsplit("-", 1)[1]] = int(f[1])
    elif len(f) > 2 and "-" in f[0] and f[1].startswith("<not"):
        calls[f[0].rsplit("-", 1)[1]] = 0
pc = " syscalls/s |" if calls else ""
print("| thread | name | voluntary/s | involuntary/s | wake-ups/s |" + pc)
print("|---|---|---|---|---|" + ("---|" if calls else ""))
tv = tn = tc = 0
for tid in sorted(b, key=int):
    name, v1, n1 = b[tid]
    _, v0, n0 = a.get(tid, (name, 0, 0))
    if tid not in a:
        name += " (new)"
    v, n = (v1 - v0) / secs_real, (n1 - n0) / secs_real
    tv += v; tn += n
    c = ""
    if calls:
        tc += calls.get(tid, 0)
        c = f" {calls.get(tid, 0) / float(secs):.2f} |"
    print(f"| {tid} | {name} | {v:.2f} | {n:.2f} | {v + n:.2f} |{c}")
for tid in a:
    if tid not in b:
        print(f"| {tid} | {a[tid][0]} (exited) | - | - | - |")
tcs = f" {tc / float(secs):.2f} |" if calls else ""
print(f"| all | {len(b)} threads | {tv:.2f} | {tn:.2f} | {tv + tn:.2f} |{tcs}")
cpu = (c1 - c0) / int(tck)
print(f"\nCPU over the window: {cpu:.2f} s ({100 * cpu / secs_real:.2f}% of a core; "
      "clock ticks of 10 ms).")
seen = collections.Counter()
for line in open(notify):
    for m in line.split()[1:]:
        if "=" in m and m.split("=")[0].isupper():
            seen[m.split("=")[0]] += 1
if seen:
    print("Notify messages in the window: " +
          ", ".join(f"{k}= x{v}" for k, v in sorted(seen.items())) + ".")
else:
    print("Notify messages in the window: none.")
PY
)
echo "$REPORT"
[ -n "$OUT" ] && echo "$REPORT" >"$OUT"
exit 0
