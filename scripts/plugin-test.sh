#!/usr/bin/env bash
# weft-plugin-test: the checks every weft plugin should pass, for any plugin author.
#
#   weft-plugin-test PLUGIN.so [CASES]
#
# 1. The plugin loads on its own: the right ABI, the entry point, well-formed types (no
#    type or port declared twice). A refusal is printed as weft names it.
# 2. Its task types are named PLUGIN.something, carry a version, and document every port.
# 3. It declares no task type that a plugin on weft's plugin path already provides.
# 4. Each case in CASES runs as one task through weft (`weft task run`: a real scheduler,
#    worker and executor) and must end as the case says. One case per line:
#
#      ok    TYPE [-i name=value]... | JQ-EXPRESSION   the task succeeds and the expression
#                                                       is true of its outputs
#      fails TYPE [-i name=value]... | TEXT            the task fails and its message
#                                                       contains TEXT
#
#    Blank lines and lines starting with # are skipped; paths in values are taken from the
#    CASES file's directory; values may be quoted as in a shell. Setting an output the type
#    does not declare, or returning without setting a declared one, fails the case.
#
# Prints ok:/FAIL: lines and exits 0 when every check passed. Needs weft (on PATH, or
# $WEFT) and jq.
set -u
plugin=${1:?usage: weft-plugin-test PLUGIN.so [CASES]}
cases=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
weft=${WEFT:-$(command -v weft || echo "$here/weft")}
case "$weft" in /*) ;; *) weft="$PWD/$weft" ;; esac
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-plugin-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -f "$plugin" ] || { echo "weft-plugin-test: no such file: $plugin" >&2; exit 2; }
mkdir -p "$tmp/alone"
cp "$plugin" "$tmp/alone/"
file=$(basename "$plugin")

"$weft" plugins --json --plugin-path "$tmp/alone" >"$tmp/alone.json" 2>"$tmp/alone.err"
refusal=$(jq -r '.errors[]?.message' "$tmp/alone.json" 2>/dev/null)
name=$(jq -r '.plugins[0].name // empty' "$tmp/alone.json" 2>/dev/null)
if [ -n "$refusal" ] || [ -z "$name" ]; then
    fail "$file does not load: ${refusal:-$(cat "$tmp/alone.err")}"
    echo "1 check failed"
    exit 1
fi
ok "$file loads: plugin '$name' $(jq -r '.plugins[0].version' "$tmp/alone.json"), $(jq '.plugins[0].types | length' "$tmp/alone.json") task type(s)"

bad=$(jq -r --arg p "$name." '.plugins[0].types[] | select((.name | startswith($p)) | not) | .name' "$tmp/alone.json")
[ -z "$bad" ] && ok "task types are named $name.*" || fail "task types not named $name.*: $bad"
bad=$(jq -r '.plugins[0].types[] | select(.version == null or .version == "") | .name' "$tmp/alone.json")
[ -z "$bad" ] && ok "every task type has a version" || fail "task types without a version: $bad"
bad=$(jq -r '.plugins[0].types[] | .name as $t | (.inputs + .outputs)[] | select(.doc == null or .doc == "") | "\($t).\(.name)"' "$tmp/alone.json")
[ -z "$bad" ] && ok "every port is documented" || fail "ports without a doc line: $(echo $bad)"

# The plugin path's plugins, but for one with this file's name (an installed copy of it).
mkdir -p "$tmp/shipped"
"$weft" plugins --json 2>/dev/null | jq -r '.plugins[].path' | while read -r so; do
    [ "$(basename "$so")" = "$file" ] || ln -sf "$so" "$tmp/shipped/"
done
"$weft" plugins --json --plugin-path "$tmp/shipped:$tmp/alone" >"$tmp/all.json" 2>/dev/null
clash=$(jq -r --arg f "$file" '.errors[]? | select(.message | contains("plugin '"'"'" + $f + "'"'"'")) | .message' "$tmp/all.json")
[ -z "$clash" ] && ok "no task type clashes with the plugin path's" || fail "$clash"

n=0
if [ -n "$cases" ]; then
    dir=$(cd "$(dirname "$cases")" && pwd)
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in '' | '#'*) continue ;; esac
        n=$((n + 1))
        read -r want call <<<"$line"
        check=${call#*| }
        call=${call%% |*}
        eval "set -- $call"
        (cd "$dir" && "$weft" task run "$@" --plugin-path "$tmp/alone" --state "$tmp/state") \
            >"$tmp/case.out" 2>&1
        rc=$?
        outputs=$(sed -n '/^{/,/^}/p' "$tmp/case.out")
        if [ "$want" = ok ]; then
            if [ "$rc" -eq 0 ] && [ "$(echo "$outputs" | jq -r "$check" 2>&1)" = true ]; then
                ok "case $n: $call"
            else
                fail "case $n: $call: expected success with $check; got:"
                sed 's/^/    /' "$tmp/case.out"
            fi
        elif [ "$want" = fails ]; then
            if [ "$rc" -eq 1 ] && grep -qF -- "$check" "$tmp/case.out"; then
                ok "case $n fails as it should: $call"
            else
                fail "case $n: $call: expected failure with '$check'; got (exit $rc):"
                sed 's/^/    /' "$tmp/case.out"
            fi
        else
            fail "case $n: a case starts with ok or fails, not '$want'"
        fi
    done <"$cases"
fi
[ "$fails" -eq 0 ] && echo "all checks passed ($n cases)" || echo "$fails check(s) failed"
[ "$fails" -eq 0 ]
