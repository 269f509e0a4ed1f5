#!/bin/sh
# measure.sh LOGFERRY [NFILES] [LINES] - idle CPU of an agent tailing NFILES idle files
# (utime+stime from /proc/PID/stat over 30 s), with the files held open and again with
# them closed by close_inactive (open fds counted), and tail read throughput (LINES lines
# of ~100 bytes into the file output). Not run by meson: numbers for the tail issue's note.
# The tail alone into a null sink: tests/unit/tail/bench_tail.
set -eu
BIN=$1; NFILES=${2:-1000}; LINES=${3:-1000000}
D=$(mktemp -d /tmp/lf-measure-XXXXXX)
trap 'kill $PID 2>/dev/null || true; rm -rf "$D"' EXIT
mkdir -p "$D/logs"
conf() {
  cat > "$D/c.yaml" <<EOC
agent: {state_dir: $D/state-$1, log_level: warn}
inputs: [{name: t, paths: ['$D/logs/$2']${3:-}}]
outputs: [{name: f, plugin: file, path: $D/out-$1.json}]
EOC
}
ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
nlines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
wait_lines() { while [ "$(nlines "$1")" -lt "$2" ]; do sleep 0.05; done; }

i=0; while [ $i -lt "$NFILES" ]; do echo "line of file $i" > "$D/logs/f$i.log"; i=$((i+1)); done
conf idle 'f*.log'
"$BIN" run -c "$D/c.yaml" 2>"$D/idle.err" & PID=$!
wait_lines "$D/out-idle.json" "$NFILES"
sleep 2
T0=$(ticks $PID); sleep 30; T1=$(ticks $PID)
HZ=$(getconf CLK_TCK)
echo "idle: $NFILES files, $((T1 - T0)) ticks (1/$HZ s) of CPU in 30 s" \
     "= $(awk "BEGIN{printf \"%.3f\", ($T1-$T0)/$HZ/30*100}")% of one core"
kill $PID; wait $PID || true

conf idle-closed 'f*.log' ', close_inactive: 1s'
"$BIN" run -c "$D/c.yaml" 2>"$D/idle-closed.err" & PID=$!
wait_lines "$D/out-idle-closed.json" "$NFILES"
sleep 3
T0=$(ticks $PID); sleep 30; T1=$(ticks $PID)
echo "idle, closed by close_inactive: $NFILES files, $(ls /proc/$PID/fd | wc -l) fds open," \
     "$((T1 - T0)) ticks in 30 s = $(awk "BEGIN{printf \"%.3f\", ($T1-$T0)/$HZ/30*100}")% of one core"
kill $PID; wait $PID || true

awk -v n="$LINES" 'BEGIN{for(i=1;i<=n;i++) printf "2026-11-21T10:00:00Z INFO worker-7 request %d handled in 12 ms status=200 path=/api/v1/items\n", i}' > "$D/logs/big.data"
conf tp 'big.data'
S=$(date +%s.%N)
"$BIN" run -c "$D/c.yaml" 2>"$D/tp.err" & PID=$!
wait_lines "$D/out-tp.json" "$LINES"
E=$(date +%s.%N)
echo "throughput: $LINES lines in $(awk "BEGIN{printf \"%.2f\", $E-$S}") s" \
     "= $(awk "BEGIN{printf \"%.0f\", $LINES/($E-$S)}") lines/s (tail -> raw encode -> file output)"
kill $PID; wait $PID || true
