#!/usr/bin/env bash
# The bad-workflow corpus: every NNN-*.yaml here must make `weft validate` exit 2 with
# exactly the messages in NNN-*.err, and print nothing on stdout; every good/*.yaml must
# validate (called/ holds files the cases call). Cases that cannot live in
# the repository as files (binary garbage, a 10 MB file, NUL bytes, bad UTF-8, deep
# nesting, a missing file, a directory) are generated into a scratch directory.
set -u
: "${WEFT_BIN:?}" "${WEFT_SRC:?}"
weft="$WEFT_BIN/weft"
fails=0 count=0

check() { # name expected-exit pattern-or-file mode(exact|regex) -- command...
    local name=$1 want_rc=$2 want=$3 mode=$4
    shift 5
    local out err rc
    out=$(mktemp) err=$(mktemp)
    "$@" >"$out" 2>"$err"
    rc=$?
    count=$((count + 1))
    if [ "$rc" -ne "$want_rc" ]; then
        echo "FAIL $name: exit $rc, expected $want_rc"; cat "$err"; fails=$((fails + 1))
    elif [ "$want_rc" -ne 0 ] && [ -s "$out" ]; then
        echo "FAIL $name: printed on stdout:"; cat "$out"; fails=$((fails + 1))
    elif [ "$mode" = exact ] && ! diff -u "$want" "$err"; then
        echo "FAIL $name: messages differ (above)"; fails=$((fails + 1))
    elif [ "$mode" = regex ] && [ "$want_rc" -ne 0 ] && ! grep -Eq -- "$want" "$err"; then
        echo "FAIL $name: expected /$want/, got:"; cat "$err"; fails=$((fails + 1))
    elif grep -q "AddressSanitizer\|runtime error\|Segmentation" "$err"; then
        echo "FAIL $name: crashed"; cat "$err"; fails=$((fails + 1))
    fi
    rm -f "$out" "$err"
}

cd "$WEFT_SRC/tests/cases" || exit 1
for y in [0-9][0-9][0-9]-*.yaml; do
    check "$y" 2 "${y%.yaml}.err" exact -- "$weft" validate "$y"
done
# Good ones: each construct as it should be written.
for y in good/*.yaml; do
    check "$y" 0 '.*' regex -- "$weft" validate "$y"
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch" || exit 1

printf '\x7fELF\x02\x01\x01\x00\x00\xff\xfe\x89PNG\r\n\x1a\n\x00\x01' >garbage.yaml
check garbage 2 '^garbage.yaml:1:[0-9]+: control character 0x02 is not allowed' regex -- "$weft" validate garbage.yaml

head -c 20971520 /dev/zero | tr '\0' 'a' >huge.yaml
check huge-20MB 2 '^huge.yaml:1:1: file is 20971520 bytes; the limit is 16777216 bytes$' regex \
    -- "$weft" validate huge.yaml

printf 'workflow: w\ntasks:\n  a: { type: noop }\n  b\0: { type: noop }\n' >nul.yaml
check nul-byte 2 '^nul.yaml:4:4: control character 0x00 is not allowed' regex -- "$weft" validate nul.yaml

printf 'workflow: \xc3\x28\ntasks: {}\n' >badutf8.yaml
check bad-utf8 2 '^badutf8.yaml:1:[0-9]+: YAML syntax error: invalid' regex -- "$weft" validate badutf8.yaml

{ printf 'workflow: w\ntasks:\n  a: { type: echo, with: { x: '; for _ in $(seq 100); do printf '['; done
  for _ in $(seq 100); do printf ']'; done; printf ' } }\n'; } >deep.yaml
check deep-nesting 2 '^deep.yaml:3:[0-9]+: nesting deeper than 64 levels$' regex -- "$weft" validate deep.yaml

check missing-file 2 '^nothere.yaml:1:1: No such file or directory$' regex -- "$weft" validate nothere.yaml
mkdir dir.yaml
check directory 2 '^dir.yaml:1:1: not a regular file$' regex -- "$weft" validate dir.yaml

printf 'workflow: w\nparams:\n  n: { type: int, default: 1 }\ntasks:\n  a: { type: echo, with: { n: "${params.n}" } }\n' >p.yaml
check param-unknown 2 "^p.yaml:1:1: -p m: the workflow has no parameter 'm'$" regex -- "$weft" validate p.yaml -p m=1
check param-bad-value 2 "^p.yaml:1:1: -p n=ten: not a valid int$" regex -- "$weft" validate p.yaml -p n=ten
check param-ok 0 '.*' regex -- "$weft" validate p.yaml -p n=5 --json
check usage-no-file 2 'expected one workflow file' regex -- "$weft" validate
check usage-bad-option 2 "unknown option '--frobnicate'" regex -- "$weft" validate p.yaml --frobnicate

echo "$count cases, $fails failed"
[ "$fails" -eq 0 ]
