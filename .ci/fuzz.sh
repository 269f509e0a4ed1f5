#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer targets (tests/fuzz, clang, ASan+UBSan) in build-fuzz and
# runs each for a bounded time, two at a time; fails on any crash, sanitizer report, leak,
# timeout or out-of-memory, naming the input that caused it. Prints executions and
# coverage per target. docs/fuzzing.md explains the targets and the long run.
#
# Usage: .ci/fuzz.sh [TARGET...]   (default: every target)
# Environment: FUZZ_SECONDS (per target, default 30), FUZZ_JOBS (parallel targets,
#   default 2), FUZZ_BUILD (build directory, default build-fuzz), FUZZ_NICE (nice level,
#   default 0). The corpus grows in $FUZZ_BUILD/fuzz-corpus/<target> between runs;
#   artifacts land in $FUZZ_BUILD/fuzz-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${FUZZ_BUILD:-build-fuzz}
secs=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-2}
nice_lvl=${FUZZ_NICE:-0}
all=(parse_access parse_json parse_regex parse_mysql parse_pg parse_app multiline config
  template ckpt spool)
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=("${all[@]}")

command -v clang > /dev/null || { echo "fuzz.sh: clang is missing (.ci/deps.sh installs it)"; exit 2; }
if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzz=true -Db_lundef=false -Dintegration_tests=false
fi
ninja_targets=(tests/fuzz/fuzz_mkseeds)
# the config target loads the real plugins (their option tables) from the build tree
[[ " ${targets[*]} " == *" config "* ]] &&
  ninja_targets+=(plugins/out_kafka/out_kafka plugins/out_rabbitmq/out_rabbitmq
    plugins/out_http/out_http)
for t in "${targets[@]}"; do ninja_targets+=("tests/fuzz/fuzz_$t"); done
meson compile -C "$build" "${ninja_targets[@]}"

corpus=$build/fuzz-corpus
art=$build/fuzz-artifacts
logs=$build/fuzz-logs
mkdir -p "$corpus" "$art" "$logs"
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
"$build/tests/fuzz/fuzz_mkseeds" "$gen"
mkdir -p "$gen/config"
cp config/*.yaml "$gen/config/"

dict_of() {
  case $1 in
    parse_json) echo json ;;
    parse_access) echo access ;;
    parse_mysql | parse_pg) echo sql ;;
    config) echo yaml ;;
    template) echo template ;;
  esac
}

# run_one TARGET: one bounded libFuzzer run; its log is $logs/TARGET.log.
run_one() {
  local t=$1 d seeds=() opts=()
  mkdir -p "$corpus/$t"
  for d in "tests/fuzz/seeds/$t" "tests/fuzz/regressions/$t" "$gen/$t"; do
    [ -d "$d" ] && seeds+=("$d")
  done
  d=$(dict_of "$t")
  [ -n "$d" ] && opts+=("-dict=tests/fuzz/dict/$d.dict")
  local scratch
  scratch=$(mktemp -d "${FUZZ_TMP:-/tmp}/lf-fuzz-$t.XXXXXX")
  # -max_len: records and configs of a few KiB reach every branch; -rss_limit_mb and
  # -timeout turn a blow-up or a hang into a failure with its input saved.
  TMPDIR=$scratch nice -n "$nice_lvl" "$build/tests/fuzz/fuzz_$t" \
    -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$art/$t-" "${opts[@]}" \
    "$corpus/$t" "${seeds[@]}" > "$logs/$t.log" 2>&1
  local rc=$?
  rm -rf "$scratch"
  return $rc
}

[ -d /dev/shm ] && [ -w /dev/shm ] && export FUZZ_TMP=/dev/shm
export -f run_one dict_of
export build secs nice_lvl corpus art logs gen
echo "fuzzing ${#targets[@]} targets, ${secs} s each, $jobs at a time"
set +e
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}; echo "{} $?" >> "$logs/status"' 
set -e

failed=0
printf '%-14s %12s %8s %8s  %s\n' target executions exec/s cov result
for t in "${targets[@]}"; do
  log=$logs/$t.log
  rc=$(awk -v t="$t" '$1 == t { r = $2 } END { print r }' "$logs/status")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  result=ok
  if [ "$rc" != 0 ]; then
    failed=1
    result="FAILED (exit $rc): $(grep -m1 -E 'ERROR: |runtime error|SUMMARY' "$log" || true)"
  fi
  printf '%-14s %12s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$result"
done
rm -f "$logs/status"
if [ "$failed" -ne 0 ]; then
  echo "fuzz.sh: a target failed; logs in $logs, inputs in $art:"
  ls -1 "$art"
  echo "reproduce: $build/tests/fuzz/fuzz_TARGET $art/FILE; after the fix keep the input in"
  echo "tests/fuzz/regressions/TARGET/ (replayed by the unit suite) and add a unit test"
  exit 1
fi
