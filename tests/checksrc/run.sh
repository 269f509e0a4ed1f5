#!/usr/bin/env bash
# Self-test of .ci/checksrc: runs it on each fixture in tests/checksrc/fixtures/ (each breaks
# exactly one rule, clean.c and suppressed.c none) and asserts the exit status and the exact
# set of "rule:line" findings; then checks that the tree-wide file list skips the fixtures
# and that a clang-format other than 14 is refused. Exit 77 (meson: skipped) when the tools
# checksrc needs are not installed (bash .ci/deps.sh installs them; CI always has them).
set -u
cd "$(dirname "$0")/../.." || exit 1
cs=.ci/checksrc
fx=tests/checksrc/fixtures

if ! command -v pmccabe >/dev/null || ! command -v perl >/dev/null ||
    ! { command -v clang-format-14 >/dev/null || command -v clang-format >/dev/null; }; then
    echo "SKIP: pmccabe, perl or clang-format not installed (run bash .ci/deps.sh)"
    exit 77
fi

passed=0
failed=0
ok() {
    passed=$((passed + 1))
    echo "ok   $1"
}
bad() {
    failed=$((failed + 1))
    echo "FAIL $1"
    local line
    [ -z "${2:-}" ] || while IFS= read -r line; do echo "     | $line"; done <<<"$2"
}

# expect FILE STATUS [RULE:LINE...]: checksrc on FILE exits with STATUS and reports exactly
# the listed findings.
expect() {
    local name=$1 file=$fx/$1 status=$2 out rc got want
    shift 2
    out=$(bash "$cs" "$file" 2>&1)
    rc=$?
    got=$(sed -n -E "s|^$file:([0-9]+): ([a-z-]+): .*|\2:\1|p" <<<"$out" | sort)
    want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
    if [ "$rc" = "$status" ] && [ "$got" = "$want" ]; then
        ok "$name: exit $rc, findings [${got//$'\n'/ }]"
    else
        bad "$name: want exit $status [${want//$'\n'/ }], got exit $rc [${got//$'\n'/ }]" "$out"
    fi
}

expect clean.c 0
expect clang-format.c 1 clang-format:4 clang-format:6
expect func-length.c 1 func-length:4
expect banned-call.c 1 banned-call:8
expect macro-flow-return.c 1 macro-flow:5
expect macro-flow-if.c 1 macro-flow:5
expect first-member.h 1 first-member:10
expect suppression-noreason.c 1 suppression:6
expect suppression-unused.c 1 suppression:6
expect suppressed.c 0

out=$(bash "$cs" "$fx/suppressed.c" 2>&1)
if grep -q '; 1 suppression used' <<<"$out"; then
    ok "suppressed.c: the summary counts 1 suppression used"
else
    bad "suppressed.c: the summary does not count the suppression" "$out"
fi

if git rev-parse --git-dir >/dev/null 2>&1; then
    list=$(bash "$cs" --list-files)
    if [ -n "$list" ] && ! grep -q "^$fx/" <<<"$list" && grep -q '^agent/' <<<"$list"; then
        ok "--list-files: tracked sources listed, fixtures skipped"
    else
        bad "--list-files: fixtures listed or sources missing" "$(grep "^$fx/" <<<"$list")"
    fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#!/bin/sh\necho "Debian clang-format version 15.0.6"\n' >"$tmp/clang-format-15"
chmod +x "$tmp/clang-format-15"
out=$(CLANG_FORMAT="$tmp/clang-format-15" bash "$cs" "$fx/clean.c" 2>&1)
rc=$?
if [ "$rc" = 2 ] && grep -q 'not clang-format 14' <<<"$out"; then
    ok "clang-format 15 is refused (exit 2)"
else
    bad "clang-format 15: want exit 2 and a version message, got exit $rc" "$out"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
