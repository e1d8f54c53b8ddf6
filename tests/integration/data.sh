#!/usr/bin/env bash
# The data plugin through a real scheduler and worker, on the breast-cancer table: data.check
# passes its expectations and reports them; data.split is seeded (same seed, same split),
# stratified (class shares kept), loses no row and keeps quoted fields intact. Failed
# expectations fail the task as fatal with a summary naming each one and its first lines;
# malformed files and bad expectations are refused with messages naming the cause.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker d1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
q() { sql "$T/state" "$1"; }
err() { q "SELECT error FROM tasks WHERE run_id = $1 AND name = '$2'"; }
bc="$WEFT_SRC/workflows/data/breast-cancer.csv"

cat >"$T/good.yaml" <<YAML
workflow: data-good
tasks:
  check:
    type: data.check
    with:
      dataset: $bc
      expect:
        columns: [mean_radius, worst_area, benign]
        rows: { min: 500, max: 1000 }
        not_null: [mean_radius, benign]
        range: { mean_radius: { min: 5, max: 30 }, worst_area: { min: 0 } }
        values: { benign: [0, 1] }
  split:
    type: data.split
    needs: [check]
    with: { dataset: $bc, test_fraction: 0.25, seed: 7, stratify: benign }
  again:
    type: data.split
    needs: [check]
    with: { dataset: $bc, test_fraction: 0.25, seed: 7, stratify: benign }
  other:
    type: data.split
    with: { dataset: $bc, test_fraction: 0.25, seed: 8 }
YAML
"$weft" submit "$T/good.yaml" --scheduler "$ep" --wait >"$T/run1.out" 2>&1
expect "the checks and splits succeed" 0 $?
expect "the report: all 9 expectations passed, 569 rows" "1 569 9" \
    "$(task_out 1 check report.passed) $(task_out 1 check rows) $(q "SELECT json_array_length(outputs, '\$.report.checks') FROM tasks WHERE run_id = 1 AND name = 'check'")"
expect "a quarter of the rows, rounded per class, go to test" "427 142" "$(task_out 1 split train_rows) $(task_out 1 split test_rows)"
task_blob 1 split train >"$T/train.csv"
task_blob 1 split test >"$T/test.csv"
expect "both sides have the header" "$(head -n 1 "$bc") $(head -n 1 "$bc")" "$(head -n 1 "$T/train.csv") $(head -n 1 "$T/test.csv")"
expect "no row is lost or doubled" "$(tail -n +2 "$bc" | sort | md5sum)" \
    "$( (tail -n +2 "$T/train.csv"; tail -n +2 "$T/test.csv") | sort | md5sum)"
expect "stratified: the test side keeps the class shares (89 benign, 53 malignant)" "53 89" \
    "$(tail -n +2 "$T/test.csv" | awk -F, '{n[$NF]++} END {print n[0], n[1]}')"
expect "the same seed gives the same split" "$(task_out 1 split test.artifact)" "$(task_out 1 again test.artifact)"
if [ "$(task_out 1 split test.artifact)" != "$(task_out 1 other test.artifact)" ]; then
    ok "another seed gives another split"
else
    fail "another seed gives another split"
fi

# Quoted fields (commas, quotes, line breaks, CRLF) survive a split byte for byte.
printf 'id,text,n\r\n1,"a, b",1\r\n2,"say ""hi""",2\r\n3,"two\nlines",3\r\n4,plain,4\r\n' >"$T/quoted.csv"
cat >"$T/quoted.yaml" <<YAML
workflow: data-quoted
tasks:
  split: { type: data.split, with: { dataset: $T/quoted.csv, test_fraction: 0.5, seed: 1 } }
YAML
"$weft" submit "$T/quoted.yaml" --scheduler "$ep" --wait >"$T/run2.out" 2>&1
expect "a file with quoted fields splits" 0 $?
task_blob 2 split train >"$T/q-train.csv"
task_blob 2 split test >"$T/q-test.csv"
expect "the quoted fields come back intact" "[['1', 'a, b', '1'], ['2', 'say \"hi\"', '2'], ['3', 'two\\nlines', '3'], ['4', 'plain', '4']]" \
    "$(python3 -c 'import csv, sys
rows = [r for f in sys.argv[1:] for r in list(csv.reader(open(f, newline="")))[1:]]
print(sorted(rows))' "$T/q-train.csv" "$T/q-test.csv")"

# Failed expectations: a fatal failure with a readable summary.
printf 'id,age,label\n1,34,yes\n2,,no\n3,130,no\n3,40,maybe\n5,abc,yes\n' >"$T/people.csv"
cat >"$T/bad.yaml" <<YAML
workflow: data-bad
tasks:
  expectations:
    type: data.check
    with:
      dataset: $T/people.csv
      expect:
        columns: [id, age, label, email]
        rows: { min: 10 }
        not_null: [age]
        unique: [id]
        range: { age: { min: 0, max: 120 } }
        values: { label: [yes, no] }
  unknown_key:
    type: data.check
    with: { dataset: $T/people.csv, expect: { not_empty: [age] } }
  bad_shape:
    type: data.check
    with: { dataset: $T/people.csv, expect: { range: { age: [0, 120] } } }
  no_column:
    type: data.split
    with: { dataset: $T/people.csv, stratify: group }
  bad_fraction:
    type: data.split
    with: { dataset: $T/people.csv, test_fraction: 1.5 }
YAML
printf 'a,b,c\n1,2,3\n4,5\n' >"$T/ragged.csv"
printf 'a,b\n1,"open\n2,3\n' >"$T/unclosed.csv"
: >"$T/empty.csv"
for f in ragged unclosed empty; do
    printf '  %s: { type: data.split, with: { dataset: %s } }\n' "$f" "$T/$f.csv" >>"$T/bad.yaml"
done
"$weft" submit "$T/bad.yaml" --scheduler "$ep" --wait >"$T/run3.out" 2>&1
expect "the run with bad data fails" 1 $?
expect "failed expectations are summarised, each with its first lines" \
    "data.check: 6 of 9 expectations failed on people.csv: columns(email): the column is missing; not_null(age): 1 missing value (line 3); range(age): 2 values outside [0, 120] or not a number (line 4: '130', line 6: 'abc'); rows: 5 rows, outside [10, inf]; unique(id): 1 repeated value (line 5: '3'); values(label): 1 value not allowed (line 5: 'maybe')" \
    "$(err 3 expectations)"
expect "and are fatal, not retried" "fatal 1" "$(q "SELECT error_class || ' ' || attempts FROM tasks WHERE run_id = 3 AND name = 'expectations'")"
"$weft" logs 3 expectations --scheduler "$ep" >"$T/check.log"
expect_grep "the full report is in the task log" '"expectation":"unique","passed":false,"failures":1,"column":"id"' "$T/check.log"
expect "an unknown expectation is named" \
    "data.check: unknown expectation 'not_empty' (use columns, rows, not_null, unique, range, values)" "$(err 3 unknown_key)"
expect "a badly shaped expectation is named" "data.check: expect.range.age must be {min: N, max: N}" "$(err 3 bad_shape)"
expect "a missing stratify column lists the columns" \
    "data.split: people.csv has no column 'group' (its columns: id, age, label)" "$(err 3 no_column)"
expect "a bad fraction is refused" "data.split: test_fraction must be between 0 and 1, not 1.5" "$(err 3 bad_fraction)"
expect "a ragged row is named by line" "data.split: ragged.csv: line 3 has 2 fields; the header has 3" "$(err 3 ragged)"
expect "an unclosed quote is named by line" "data.split: unclosed.csv: line 2: a quoted field is not closed" "$(err 3 unclosed)"
expect "an empty file is refused" "data.split: empty.csv: the file is empty (a header row is needed)" "$(err 3 empty)"
expect "the worker is still serving" "$(q "SELECT count(*) FROM workers WHERE name = 'd1' AND state = 'up'")" 1
finish
