#!/usr/bin/env bash
# valgrind.sh - memcheck on the end-to-end smoke test: the README demo (config/demo.yaml:
# an nginx log parsed, sent to the embedded Kafka cluster and to stdout) run twice under
# valgrind -- the first run delivers the 5 demo lines, the restart resumes from the
# checkpoint and delivers only 2 lines appended meanwhile -- and `logferry check`.
# Fails on any memcheck error or definite leak (--errors-for-leak-kinds=definite), on
# a wrong record count or a non-zero exit. No suppressions are needed today; if a
# third-party one ever is, it goes in .ci/valgrind.supp with the reason.
#
# Usage: .ci/valgrind.sh [BUILD_DIR]   (default: build; a non-sanitizer build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/agent/logferry
command -v valgrind > /dev/null || { echo "valgrind.sh: valgrind is missing (.ci/deps.sh)"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
vg=(valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
  --errors-for-leak-kinds=definite --num-callers=30 --track-origins=yes)
[ -f .ci/valgrind.supp ] && vg+=(--suppressions=.ci/valgrind.supp)
mkdir -p "$work/demo"
cp config/demo/access.log "$work/demo/access.log"
sed -e "s|/tmp/logferry-demo|$work/state|" -e "s|config/demo/access.log|$work/demo/access.log|" \
  config/demo.yaml > "$work/demo.yaml"

# run_demo N LOG: runs the agent under valgrind until N records are on stdout (bounded:
# 60 s, valgrind is ~20x slower), then SIGINT; fails unless exactly N arrived.
run_demo() {
  local want=$1 log=$2 pid i
  "${vg[@]}" --log-file="$log" "$bin" run -c "$work/demo.yaml" > "$work/out.json" &
  pid=$!
  for i in $(seq 1 600); do
    [ "$(wc -l < "$work/out.json")" -ge "$want" ] && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  kill -INT "$pid" 2> /dev/null || true
  local rc=0
  wait "$pid" || rc=$?
  grep -E "ERROR SUMMARY|definitely lost" "$log" | sed "s/^/valgrind: /"
  if [ "$rc" -ne 0 ]; then
    echo "valgrind.sh: the agent (or memcheck) failed with exit status $rc:"; cat "$log"; exit 1
  fi
  local got
  got=$(wc -l < "$work/out.json")
  [ "$got" -eq "$want" ] || { echo "valgrind.sh: expected $want records, got $got"; exit 1; }
}

"${vg[@]}" --log-file="$work/check.vg" "$bin" check -c "$work/demo.yaml" > /dev/null ||
  { echo "valgrind.sh: check failed"; cat "$work/check.vg"; exit 1; }
grep -E "ERROR SUMMARY" "$work/check.vg" | sed "s/^/valgrind (check): /"
run_demo 5 "$work/run1.vg"
tail -n 2 config/demo/access.log >> "$work/demo/access.log"
run_demo 2 "$work/run2.vg"
echo "valgrind.sh: demo under memcheck: 0 errors, 0 definite leaks (2 runs and check)"
