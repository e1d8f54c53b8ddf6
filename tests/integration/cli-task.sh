#!/usr/bin/env bash
# weft task run (one task alone, for plugin development) and weft search (an index from
# the command line), each in a local session on a state directory.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
export WEFT_STATE="$T/state"
"$weft" task run echo -i x=5 -i msg=hello >echo.out 2>&1
expect "task run succeeds" 0 $?
expect "and prints the outputs as JSON" '5 hello' "$(sed -n '/^{/,/^}/p' echo.out | jq -r '"\(.x) \(.msg)"')"
"$weft" task run no.such -i x=1 >nosuch.out 2>&1
expect "an unknown type exits 2" 2 $?
expect_grep "naming it" "no plugin on the plugin path provides task type 'no.such'" nosuch.out
"$weft" task run embed.chunk -i nope=1 >noinput.out 2>&1
expect "an unknown input exits 2" 2 $?
expect_grep "listing the type's inputs" "embed.chunk has no input 'nope' \(its inputs: source, files, size, overlap, shards, extensions\)" noinput.out
"$weft" task run echo -i 'a: b=1' >badname.out 2>&1
expect "an input name that is not one exits 2" 2 $?
expect_grep "naming the rule" "'a: b' is not an input name \(\[a-z0-9_\]\+\)" badname.out
"$weft" task run embed.chunk -i size=big >badvalue.out 2>&1
expect "a value of the wrong type exits 2" 2 $?
expect_grep "naming the input as it was given" "-i size=big: not a valid int$" badvalue.out
expect "and nothing else" 1 "$(wc -l <badvalue.out)"
printf 'one two three\n' >a.txt
"$weft" task run embed.chunk -i files='["a.txt"]' -i size=10 -i overlap=20 >fails.out 2>&1
expect "a failing task exits 1" 1 $?
expect_grep "with the plugin's message" "embed.chunk: overlap must be at least 0 and less than size \(10\), not 20" fails.out
"$weft" task run sleep -i duration=1ms >plain.out 2>&1
expect "a type with no outputs prints an empty object" '{}' "$(sed -n '/^{/,/^}/p' plain.out | tr -d ' \n')"
printf 'id,x\n1,a\n2,b\n3,c\n4,d\n' >rows.csv
mkdir split-out
"$weft" task run data.split -i dataset=rows.csv -i test_fraction=0.5 -o split-out >split.out 2>&1
expect "a task with file outputs succeeds" 0 $?
expect "... and its files are written, each with the header, the rows split between them" \
    "test train|2|4" \
    "$(ls split-out | tr '\n' ' ' | sed 's/ $//')|$(cat split-out/* | grep -c '^id,x$')|$(cat split-out/* | grep -vc '^id,x$')"
"$weft" task run data.split -i dataset=rows.csv -i test_fraction=0.5 -o split-out >split2.out 2>&1
expect_grep "... and never overwritten" "exists; not overwritten" split2.out

mkdir corpus
cp /usr/share/doc/python3.11/html/_sources/tutorial/{inputoutput,errors,classes,modules}.rst.txt corpus/
cat >rag.yaml <<YAML
workflow: rag-small
tasks:
  chunk: { type: embed.chunk, with: { source: $T/corpus, size: 600, overlap: 60, shards: 2 } }
  encode: { type: embed.encode, map: "\${chunk.outputs.shards}", with: { shard: "\${item}", dim: 256 } }
  index: { type: embed.index, with: { vectors: "\${encode.outputs.vectors}", ids: "\${encode.outputs.ids}", method: exact } }
YAML
"$weft" run rag.yaml >rag.out 2>&1
expect "a small index is built" 0 $?
run=$(sed -n 's/^run \([0-9]*\): .*/\1/p' rag.out | head -n 1)
"$weft" search "$run/index" "raise an exception" "read and write files" -k 3 >search.out 2>&1
expect "weft search RUN/TASK answers" 0 $?
expect "three hits per query, numbered, each query on its own" "2 6" \
    "$(grep -c '^[a-z]' search.out) $(grep -cE '^  +[123]  [0-9.]+  [a-z]+\.rst\.txt#[0-9]+$' search.out)"
expect_grep "exceptions are found in the errors chapter" "^   1  [0-9.]+  errors.rst.txt#" \
    <(sed -n '1,4p' search.out)
idx=$(blob_path "$(task_out "$run" index index.artifact)")
"$weft" search "$idx" "classes and inheritance" --json >search.json 2>search.err
expect "an index file answers too, as JSON with --json" "10 classes" \
    "$(jq -r '"\(.[0].hits | length) \(.[0].hits[0].id | split(".")[0])"' search.json)"
expect "and nothing on stderr" "" "$(cat search.err)"
"$weft" search 77/index "x" >badref.out 2>&1
expect "an unknown RUN/TASK exits 2" 2 $?
expect_grep "saying what it expected" "'77/index' is neither a readable index file nor RUN/TASK naming a task with an 'index' output" badref.out
"$weft" search "$run/index" "x" -k 0 >badk.out 2>&1
expect "a bad k exits 1" 1 $?
expect_grep "with embed.search's message" "search failed: embed.search: k must be 1 to 1000, not 0" badk.out
finish
