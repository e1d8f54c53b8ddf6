#!/usr/bin/env bash
# The optimize plugin through a real scheduler and worker: American Steel solves to the
# integer optimum 15005 with GLPK (MathProg) and with CBC (the MPS export, and MathProg
# translated by GLPK); Hock-Schittkowski 71 from a hand-written .nl file solves with Ipopt
# to 17.014; a scenario sweep maps over 15 data files, infeasible scenarios being results;
# a syntax error, a malformed MPS or .nl file, and bad inputs fail as fatal with the
# solver's message, and the worker keeps serving.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker o1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
q() { sql "$T/state" "$1"; }
submit() { (cd "$WEFT_SRC" && "$weft" submit "$@" --scheduler "$ep" --wait); }

submit workflows/optimize.yaml >"$T/run1.out" 2>&1
expect "the three solvers' workflow succeeds" 0 $?
expect "GLPK solves American Steel from MathProg" "optimal 15005.0" "$(task_out 1 steel_glpk status) $(task_out 1 steel_glpk objective)"
expect "CBC solves its MPS export to the same cost" "optimal 15005.0" "$(task_out 1 steel_cbc status) $(task_out 1 steel_cbc objective)"
expect "CBC solves the MathProg model too" "optimal 15005.0" "$(task_out 1 steel_cbc_mathprog status) $(task_out 1 steel_cbc_mathprog objective)"
expect "Ipopt solves HS71 to 17.014" "optimal 17.0140" \
    "$(task_out 1 hs071 status) $(printf '%.4f' "$(task_out 1 hs071 objective)")"
task_blob 1 steel_glpk solution >"$T/steel.csv"
expect "the solution has a header and the 14 arcs" 15 "$(wc -l <"$T/steel.csv")"
expect_grep "names with commas are quoted" '^"flow\[Youngstown,Albany\]",1000$' "$T/steel.csv"
expect "the flows cost 15005" 15005 "$(awk -F'"' 'NR > 1 {split($3, v, ","); print $2, v[2]}' "$T/steel.csv" |
    sed 's/flow\[\(.*\),\(.*\)\]/\1 \2/' |
    awk 'BEGIN {c["Youngstown Albany"]=0.5; c["Youngstown Cincinnati"]=0.35; c["Youngstown KansasCity"]=0.45;
                c["Youngstown Chicago"]=0.375; c["Pittsburgh Cincinnati"]=0.35; c["Pittsburgh KansasCity"]=0.45;
                c["Pittsburgh Chicago"]=0.4; c["Pittsburgh Gary"]=0.45; c["Cincinnati Albany"]=0.35;
                c["Cincinnati Houston"]=0.55; c["KansasCity Houston"]=0.375; c["KansasCity Tempe"]=0.65;
                c["Chicago Tempe"]=0.6; c["Chicago Gary"]=0.12}
         {s += c[$1 " " $2] * $3} END {print s}')"
task_blob 1 hs071 solution >"$T/hs071.csv"
expect "HS71's solution" "1.0000 4.7430 3.8211 1.3794" \
    "$(awk -F, 'NR > 1 {printf "%s%.4f", (NR > 2 ? " " : ""), $2}' "$T/hs071.csv")"
"$weft" logs 1 steel_glpk --scheduler "$ep" >"$T/glpk.log"
expect_grep "the solver's log is the task log" "INTEGER OPTIMAL SOLUTION FOUND" "$T/glpk.log"
expect_grep "with the model's own printf" "^total cost: 15005$" "$T/glpk.log"

# The sweep: a map over 15 scenario data files.
submit workflows/steel-sweep.yaml >"$T/run2.out" 2>&1
expect "the sweep succeeds" 0 $?
expect "15 scenarios solved" 15 "$(q "SELECT count(*) FROM tasks WHERE run_id = 2 AND elem >= 0 AND state = 'succeeded'")"
expect "9 optimal, 6 infeasible (demand above capacity)" "infeasible:6 optimal:9" \
    "$(q "SELECT group_concat(s || ':' || n, ' ') FROM (SELECT json_extract(outputs, '\$.status') AS s, count(*) AS n FROM tasks WHERE run_id = 2 AND elem >= 0 GROUP BY s ORDER BY s)")"
expect "the base scenario costs 15005" 15005.0 "$(q "SELECT json_extract(outputs, '\$.objective[7]') FROM tasks WHERE run_id = 2 AND elem = -1")"
expect "an infeasible scenario has no objective" "" "$(q "SELECT json_extract(outputs, '\$.objective[9]') FROM tasks WHERE run_id = 2 AND elem = -1")"

# Bad models and bad inputs: fatal errors quoting the solver; results for infeasible and
# unbounded models.
sed 's/^var flow {(i, j) in ARCS} integer/var flow {(i, j) in ARCS} integr/' \
    "$WEFT_SRC/workflows/optimize/american-steel.mod" >"$T/syntax.mod"
sed 's/Albany 3000 Houston 7000/Albany 30000 Houston 7000/' \
    "$WEFT_SRC/workflows/optimize/american-steel.mod" >"$T/short.mod"
printf 'NAME bad\nROWS\n N obj\n G c1\nCOLUMNS\n x obj 1 c1 1 zz\nRHS\n rhs c1 1\nENDATA\n' >"$T/bad.mps"
printf 'maximize\n obj: x + y\nsubject to\n c1: x - y >= 1\nend\n' >"$T/unbounded.lp"
head -n 5 "$WEFT_SRC/workflows/optimize/hs071.nl" >"$T/cut.nl"
sed 's/^O0 0.*/O0 1/' "$WEFT_SRC/workflows/optimize/hs071.nl" >"$T/max71.nl"
printf 'var x >= 0, <= 4;\nvar y >= 0, <= 3;\nmaximize z: 3 * x + 2 * y;\ns.t. c: x + y <= 5;\nend;\n' >"$T/max.mod"
cat >"$T/bad.yaml" <<YAML
workflow: bad-models
tasks:
  syntax: { type: optimize.glpk, with: { model: $T/syntax.mod } }
  short_glpk: { type: optimize.glpk, with: { model: $T/short.mod } }
  short_cbc: { type: optimize.cbc, with: { model: $T/short.mod } }
  bad_mps: { type: optimize.cbc, with: { model: $T/bad.mps } }
  unbounded_glpk: { type: optimize.glpk, with: { model: $T/unbounded.lp } }
  unbounded_cbc: { type: optimize.cbc, with: { model: $T/unbounded.lp } }
  cut_nl: { type: optimize.nlp, with: { model: $T/cut.nl } }
  maximize_nl: { type: optimize.nlp, with: { model: $T/max71.nl } }
  max_glpk: { type: optimize.glpk, with: { model: $T/max.mod } }
  max_cbc: { type: optimize.cbc, with: { model: $T/max.mod } }
  nl_to_glpk: { type: optimize.glpk, with: { model: $WEFT_SRC/workflows/optimize/hs071.nl } }
  bad_gap: { type: optimize.cbc, with: { model: $T/bad.mps, gap: 1.5 } }
  no_format: { type: optimize.glpk, with: { model: $T/bad.yaml } }
YAML
"$weft" submit "$T/bad.yaml" --scheduler "$ep" --wait >"$T/run3.out" 2>&1
expect "the run with bad models fails" 1 $?
err() { q "SELECT error FROM tasks WHERE run_id = 3 AND name = '$1'"; }
expect "a syntax error quotes GLPK with the file and line" \
    "glpk: cannot read model 'syntax.mod': syntax.mod:14: syntax error in variable statement" "$(err syntax)"
expect "and is fatal (not retried)" "fatal 1" "$(q "SELECT error_class || ' ' || attempts FROM tasks WHERE run_id = 3 AND name = 'syntax'")"
expect "an infeasible model is a result (GLPK)" "succeeded infeasible" "$(q "SELECT state FROM tasks WHERE run_id = 3 AND name = 'short_glpk'") $(task_out 3 short_glpk status)"
expect "an infeasible model is a result (CBC)" "succeeded infeasible" "$(q "SELECT state FROM tasks WHERE run_id = 3 AND name = 'short_cbc'") $(task_out 3 short_cbc status)"
expect "an unbounded LP is a result (GLPK, CBC)" "unbounded unbounded" "$(task_out 3 unbounded_glpk status) $(task_out 3 unbounded_cbc status)"
expect "a malformed MPS file quotes CBC's reader with the line" \
    "cbc: cannot read model 'bad.mps': the solver's reader crashed; Bad image at line 6 <  x obj 1 c1 1 zz >; Coin0008I bad read with 1 errors" "$(err bad_mps)"
expect "a truncated .nl file quotes the ASL" \
    "ipopt: cannot read model 'cut.nl': Premature end of file, line 6 of cut.nl" "$(err cut_nl)"
expect "a maximizing .nl model reports its maximum (HS71's objective maximized)" "optimal 134.7338" \
    "$(task_out 3 maximize_nl status) $(printf '%.4f' "$(task_out 3 maximize_nl objective)")"
expect "a maximizing LP keeps its sense through GLPK's translation for CBC" "14.0 14.0" \
    "$(task_out 3 max_glpk objective) $(task_out 3 max_cbc objective)"
expect "a solver refuses a format it cannot read" \
    "glpk: cannot read nl models ('hs071.nl'); use optimize.nlp for .nl files" "$(err nl_to_glpk)"
expect "a bad gap is refused" "cbc: gap is a relative MIP gap in [0, 1), not 1.5" "$(err bad_gap)"
expect "a model of unknown format is refused" \
    "glpk: cannot tell the format of 'bad.yaml' from its name; set format: mathprog, lp, mps or nl" "$(err no_format)"

# The worker is still serving: the same workflow again, computed (no cache) on it.
submit workflows/optimize.yaml >"$T/run4.out" 2>&1
expect "the worker still solves" "0 15005.0" "$? $(task_out 4 steel_cbc objective)"
expect "on the same worker" o1 "$(q "SELECT DISTINCT worker FROM attempts WHERE run_id = 4")"
finish
