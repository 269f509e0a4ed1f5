#!/usr/bin/env bash
# badinput.sh - the bad-input catalogue, end to end (docs/security.md lists each case).
#
#   badinput.sh AGENT MOCK_KAFKA
#
# Each case runs the real agent and checks what it must do: never crash, never hang,
# bounded errors, and no silent loss (a record that cannot be parsed is forwarded marked
# parse_failure, one that cannot be delivered stays unacknowledged, spooled or dead-
# lettered). Cases:
#   garbage     random bytes (NULs, invalid UTF-8): every line a record marked
#               parse_failure, valid lines after them parsed
#   long-line   a 100 MB line: one record cut at max_line_bytes and marked truncated, the
#               next line intact, peak RSS bounded
#   churn       files truncated, grown, deleted and re-created in a tight loop for 5 s:
#               the agent survives and still tails every file afterwards
#   unreadable  a file without read permission: logged once (not per scan), picked up
#               by the next scan once readable (run as an unprivileged user when root)
#   not-a-file  a directory, a FIFO and a symlink loop matching the glob: logged once
#               each, never opened (a FIFO would block), the other files still tailed
#   broker-err  Produce errors injected by the mock cluster (unknown and fatal codes):
#               retried or dead-lettered, every record accounted for
#   broker-junk a "broker" answering random bytes: errors logged, no crash, records kept
#               (spooled), clean exit on SIGTERM
#   full-disk   state_dir on a 512 KiB tmpfs while the broker is down: bounded errors,
#               no crash; once the broker is back every line arrives (skipped, with the
#               reason, where mounting is not permitted)
# Prints "PASS: ..." / "FAIL: ..." / "SKIP: ..." per check and a summary; exit 1 on any
# failure.
set -u -o pipefail

[ $# -eq 2 ] || { echo "usage: $0 AGENT MOCK_KAFKA" >&2; exit 2; }
AGENT=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
MOCK=$2
PLUGINS=$(cd "$(dirname "$AGENT")/../plugins" && pwd)
W=$(mktemp -d /tmp/lf-it-bad.XXXXXX)
chmod 755 "$W"
PASS=0 FAIL=0 SKIP=0
PIDS=()
MOUNTED=""

cleanup() {
    local p
    for p in "${PIDS[@]}"; do { kill -KILL "$p" && wait "$p"; } 2>/dev/null; done
    [ -n "$MOUNTED" ] && umount "$MOUNTED" 2>/dev/null
    [ -n "${BAD_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

ok() { echo "PASS: $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL: $1"; FAIL=$((FAIL + 1)); [ -n "${2:-}" ] && tail -n 15 "$2" | cut -c1-300 | sed 's/^/    | /'; }
skip() { echo "SKIP: $1"; SKIP=$((SKIP + 1)); }
wait_for() { # SECONDS CMD...: true as soon as CMD succeeds (polled every 0.2 s)
    local end=$(($(date +%s) + $1))
    shift
    while ! "$@"; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.2
    done
}
nlines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
has_lines() { [ "$(nlines "$1")" -ge "$2" ]; }
count() { grep -c -a -- "$2" "$1" 2>/dev/null || true; }

# conf DIR INPUT_EXTRA OUTPUT_YAML: one input on DIR/logs/*.log
conf() {
    mkdir -p "$1/logs" "$1/state"
    cat >"$1/agent.yaml" <<EOF
agent: { name: bad, state_dir: $1/state, shutdown_timeout: 5s, plugin_dir: $PLUGINS/out_kafka }
inputs:
  - { name: in, paths: ["$1/logs/*.log"], start_at: beginning, rescan_interval: 1s, parser: { type: apache } $2 }
outputs:
$3
EOF
}
file_out() { echo "  - { name: f, plugin: file, path: $1/out.jsonl }"; }
# start DIR [RUNAS...]: agent in the background, log in DIR/agent.log
start() {
    local d=$1
    shift
    "$@" "$AGENT" run -c "$d/agent.yaml" >"$d/agent.out" 2>>"$d/agent.log" &
    APID=$!
    PIDS+=("$APID")
}
stop() { # -> the agent's exit code; SIGKILL after 15 s
    kill -TERM "$APID" 2>/dev/null
    local i
    for ((i = 0; i < 150; i++)); do
        kill -0 "$APID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$APID" 2>/dev/null
    wait "$APID"
}
alive() { kill -0 "$APID" 2>/dev/null; }
stops_cleanly() { # label dir
    local rc=0
    stop || rc=$?
    [ "$rc" = 0 ] && ok "$1: exits 0 on SIGTERM" || bad "$1: exit status $rc" "$2/agent.log"
}
APACHE='203.0.113.7 - - [03/Dec/2026:12:00:00 +0000] "GET /ok HTTP/1.1" 200 12 "-" "probe"'

# ---- garbage ---------------------------------------------------------------------
D=$W/garbage
conf "$D" "" "$(file_out "$D")"
python3 - "$D/logs/g.log" "$APACHE" <<'PY'
import random, sys
seed = random.randrange(1 << 30)
print(f"garbage: seed {seed}", file=sys.stderr)
r = random.Random(seed)
with open(sys.argv[1], "wb") as f:
    for _ in range(2000):
        line = bytes(r.randrange(256) for _ in range(r.randrange(1, 300)))
        f.write(line.replace(b"\n", b"\x00") + b"\n")
    f.write(sys.argv[2].encode() + b"\n")
PY
start "$D"
if wait_for 30 has_lines "$D/out.jsonl" 2001; then ok "garbage: 2001 lines, 2001 records"; else
    bad "garbage: $(nlines "$D/out.jsonl") records of 2001" "$D/agent.log"; fi
n=$(count "$D/out.jsonl" '"parse_failure"')
[ "$n" = 2000 ] && ok "garbage: the 2000 random lines are marked parse_failure" ||
    bad "garbage: $n of 2000 random lines marked parse_failure"
tail -n1 "$D/out.jsonl" | grep -q '"url.path":"/ok"' && ! tail -n1 "$D/out.jsonl" | grep -q parse_failure &&
    ok "garbage: the valid line after them is parsed" || bad "garbage: the valid line is not parsed"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$D/out.jsonl" &&
    ok "garbage: every record is valid JSON" || bad "garbage: invalid JSON in the output"
stops_cleanly garbage "$D"

# ---- long line -------------------------------------------------------------------
D=$W/long
conf "$D" "" "$(file_out "$D")"
{ head -c $((100 * 1024 * 1024)) /dev/zero | tr '\0' 'x'; printf '\n%s\n' "$APACHE"; } >"$D/logs/long.log"
start "$D"
if wait_for 60 has_lines "$D/out.jsonl" 2; then ok "long-line: 2 records"; else
    bad "long-line: $(nlines "$D/out.jsonl") records of 2" "$D/agent.log"; fi
hwm=$(awk '/VmHWM/{print $2}' "/proc/$APID/status" 2>/dev/null)
[ -n "$hwm" ] && [ "$hwm" -lt $((64 * 1024)) ] && ok "long-line: peak RSS $((hwm / 1024)) MiB (< 64)" ||
    bad "long-line: peak RSS ${hwm:-?} KiB"
head -n1 "$D/out.jsonl" | grep -q '"truncated"' && ok "long-line: the long line is marked truncated" ||
    bad "long-line: no truncated mark"
len=$(head -n1 "$D/out.jsonl" | python3 -c 'import json,sys; print(len(json.loads(sys.stdin.read())["message"]))')
[ "$len" = $((1024 * 1024)) ] && ok "long-line: cut at max_line_bytes (1 MiB)" || bad "long-line: message of $len bytes"
tail -n1 "$D/out.jsonl" | grep -q '"url.path":"/ok"' && ok "long-line: the next line is intact" ||
    bad "long-line: the next line is not intact"
stops_cleanly long-line "$D"

# ---- churn -----------------------------------------------------------------------
D=$W/churn
conf "$D" "" "$(file_out "$D")"
start "$D"
python3 - "$D/logs" "$APACHE" <<'PY'
import os, random, sys, time
d, line = sys.argv[1], (sys.argv[2] + "\n").encode()
r = random.Random()
end = time.monotonic() + 5
ops = 0
while time.monotonic() < end:
    p = os.path.join(d, f"c{r.randrange(5)}.log")
    op = r.randrange(4)
    try:
        if op == 0:
            with open(p, "ab") as f: f.write(line * r.randrange(1, 50))
        elif op == 1:
            os.truncate(p, r.randrange(0, 2000))
        elif op == 2:
            os.unlink(p)
        else:
            with open(p, "wb") as f: f.write(line * r.randrange(1, 5))
    except FileNotFoundError:
        pass
    ops += 1
print(f"churn: {ops} operations", file=sys.stderr)
PY
alive && ok "churn: the agent survived" || bad "churn: the agent died" "$D/agent.log"
for i in 0 1 2 3 4; do printf '%s\n' "${APACHE/\/ok/\/final$i}" >"$D/logs/c$i.log"; done
all_final() { [ "$(grep -c -a '/final[0-4]' "$D/out.jsonl" 2>/dev/null)" -ge 5 ]; }
wait_for 20 all_final && ok "churn: a line written afterwards to each of the 5 files arrives" ||
    bad "churn: $(grep -c -a '/final' "$D/out.jsonl") of 5 final lines" "$D/agent.log"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$D/out.jsonl" &&
    ok "churn: every record is valid JSON" || bad "churn: invalid JSON in the output"
stops_cleanly churn "$D"

# ---- unreadable file -------------------------------------------------------------
D=$W/unreadable
conf "$D" "" "$(file_out "$D")"
printf '%s\n' "$APACHE" "$APACHE" >"$D/logs/secret.log"
printf '%s\n' "$APACHE" >"$D/logs/open.log"
chmod 000 "$D/logs/secret.log"
RUNAS=()
if [ "$(id -u)" = 0 ]; then # root reads anything: run the agent as nobody
    chmod 777 "$D" "$D/logs" "$D/state"
    RUNAS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
start "$D" "${RUNAS[@]}"
wait_for 20 has_lines "$D/out.jsonl" 1 || bad "unreadable: the readable file did not arrive" "$D/agent.log"
sleep 3.5 # three rescans (rescan_interval 1s) must not log it again: a bounded window
n=$(count "$D/agent.log" "secret.log: cannot open (Permission denied)")
[ "$n" = 1 ] && ok "unreadable: logged once over 3 rescans" || bad "unreadable: logged $n times" "$D/agent.log"
chmod 644 "$D/logs/secret.log"
wait_for 20 has_lines "$D/out.jsonl" 3 && ok "unreadable: picked up once readable" ||
    bad "unreadable: $(nlines "$D/out.jsonl") records of 3 after chmod" "$D/agent.log"
stops_cleanly unreadable "$D"

# ---- not a file ------------------------------------------------------------------
D=$W/notafile
conf "$D" "" "$(file_out "$D")"
mkdir "$D/logs/adir.log"
mkfifo "$D/logs/fifo.log"
ln -s loop2.log "$D/logs/loop1.log"
ln -s loop1.log "$D/logs/loop2.log"
printf '%s\n' "$APACHE" >"$D/logs/real.log"
start "$D"
wait_for 20 has_lines "$D/out.jsonl" 1 && ok "not-a-file: the regular file is tailed" ||
    bad "not-a-file: nothing from the regular file" "$D/agent.log"
sleep 3.5 # three rescans
for what in "adir.log: a directory" "fifo.log: a FIFO" "loop1.log: cannot stat (Too many levels"; do
    n=$(count "$D/agent.log" "$what")
    [ "$n" = 1 ] && ok "not-a-file: '$what' logged once" || bad "not-a-file: '$what' logged $n times" "$D/agent.log"
done
stops_cleanly not-a-file "$D"

# ---- broker errors injected by the mock cluster ------------------------------------
mkfifo "$W/mock.cmd"
"$MOCK" -b 1 -t bad:1:1 -c "$W/mock.cmd" </dev/null >"$W/mock.out" 2>"$W/mock.err" &
MPID=$!
PIDS+=("$MPID")
exec 9<>"$W/mock.cmd"
wait_for 10 test -s "$W/mock.out" || { echo "badinput.sh: mock-kafka did not start" >&2; exit 1; }
BROKERS=$(head -n1 "$W/mock.out")
mk() { echo "$*" >&9; }
kafka_out() { echo "  - { name: k, plugin: kafka, brokers: '$BROKERS', topic: bad, retry: { backoff: 100ms, max_backoff: 500ms } }"; }
topic_count() { kcat -C -b "$BROKERS" -t bad -e -q -f '%s\n' 2>/dev/null | wc -l; }
D=$W/brokererr
conf "$D" "" "$(kafka_out)"
for i in $(seq 1 200); do printf '%s\n' "${APACHE/\/ok/\/e$i}"; done >"$D/logs/e.log"
mk err Produce 9999 3          # an error code no Kafka version defines
mk err Produce UNKNOWN_SERVER_ERROR 3
mk err Produce CORRUPT_MESSAGE 2
start "$D"
delivered() { [ "$(topic_count)" -ge 200 ]; }
if wait_for 60 delivered; then ok "broker-err: all 200 records delivered after the injected errors"; else
    dl=$(cat "$D"/state/dead-letter/*.jsonl 2>/dev/null | wc -l)
    [ "$(($(topic_count) + dl))" -ge 200 ] && ok "broker-err: 200 records delivered or dead-lettered" ||
        bad "broker-err: $(topic_count) delivered, $dl dead-lettered of 200" "$D/agent.log"
fi
stops_cleanly broker-err "$D"
exec 9>&-

# ---- a "broker" that answers junk ----------------------------------------------------
D=$W/junk
python3 - "$D.port" <<'PY' &
import os, random, socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
def serve(c):
    r = random.Random()
    try:
        while c.recv(65536):
            kind = r.randrange(3)
            if kind == 0:    # random bytes
                c.sendall(os.urandom(r.randrange(1, 512)))
            elif kind == 1:  # a huge length prefix and nothing behind it
                c.sendall(b"\x7f\xff\xff\xff" + os.urandom(8))
            else:            # a short frame with a plausible correlation id
                c.sendall(b"\x00\x00\x00\x08\x00\x00\x00\x01" + os.urandom(4))
    except OSError:
        pass
    c.close()
for _ in range(400):  # bounded: the agent reconnects at most this often during the case
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
JPID=$!
PIDS+=("$JPID")
wait_for 10 test -s "$D.port" || { echo "badinput.sh: junk server did not start" >&2; exit 1; }
conf "$D" "" "  - { name: k, plugin: kafka, brokers: '127.0.0.1:$(cat "$D.port")', topic: bad }"
for i in $(seq 1 50); do printf '%s\n' "$APACHE"; done >"$D/logs/j.log"
start "$D"
spooled() { grep -q -a "breaker open" "$D/agent.log"; }
wait_for 30 spooled && ok "broker-junk: the breaker opened (records go to the spool)" ||
    bad "broker-junk: the breaker did not open" "$D/agent.log"
alive && ok "broker-junk: the agent survived the junk replies" || bad "broker-junk: the agent died" "$D/agent.log"
stops_cleanly broker-junk "$D"
[ -n "$(find "$D/state" -path '*spool*' -type f -size +0 2>/dev/null | head -n1)" ] &&
    ok "broker-junk: the undelivered records are in the spool" ||
    bad "broker-junk: no spool segment under state_dir" "$D/agent.log"
kill "$JPID" 2>/dev/null

# ---- full disk under state_dir ---------------------------------------------------------
D=$W/fulldisk
mkdir -p "$D/state"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=512k tmpfs "$D/state" 2>"$W/mount.err"; then
    skip "full-disk: cannot mount a tmpfs here ($(head -c 100 "$W/mount.err" 2>/dev/null || echo "not root"))"
else
    MOUNTED=$D/state
    conf "$D" "" "$(kafka_out)"
    exec 9<>"$W/mock.cmd"
    mk down all
    for i in $(seq 1 20000); do printf '%s\n' "${APACHE/\/ok/\/d$i}"; done >"$D/logs/d.log"
    start "$D"
    nospace() { grep -q -a "No space left" "$D/agent.log"; }
    wait_for 60 nospace && ok "full-disk: the full state_dir is reported" ||
        bad "full-disk: no ENOSPC error logged" "$D/agent.log"
    sleep 2 # bounded window for the error rate
    n=$(count "$D/agent.log" "No space left")
    [ "$n" -le 50 ] && ok "full-disk: $n ENOSPC lines (bounded)" || bad "full-disk: $n ENOSPC lines"
    alive && ok "full-disk: the agent survived" || bad "full-disk: the agent died" "$D/agent.log"
    before=$(topic_count)
    mk up all
    all_in() { [ "$(($(topic_count) - before))" -ge 20000 ]; }
    wait_for 120 all_in && ok "full-disk: all 20000 lines arrive once the broker is back" ||
        bad "full-disk: $(($(topic_count) - before)) of 20000 arrived" "$D/agent.log"
    stops_cleanly full-disk "$D"
    exec 9>&-
fi

echo "badinput: $PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]
