#!/usr/bin/env bash
# The train and infer plugins through a real scheduler and worker. The nightly-training
# example (check and split in a subworkflow, train, batch inference, metrics, an approved
# deployment) on breast-cancer and diabetes:
# XGBoost reaches >= 0.94 test accuracy, liblinear's logistic regression >= 0.93, the
# diabetes regression reports R^2; infer.metrics' figures match the predictions file.
# Multiclass (iris) trains with XGBoost and a linear SVM. Batch inference over a generated
# 1,000,000-row CSV reports progress and keeps its peak RSS under a bound smaller than the
# file. A missing target column, model files of the wrong kind and other bad inputs fail as
# fatal with messages naming the cause, and the worker keeps serving.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker m1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
q() { sql "$T/state" "$1"; }
submit() { (cd "$WEFT_SRC" && "$weft" submit "$@" --scheduler "$ep" --wait); }
data="$WEFT_SRC/workflows/data"

# 1. The nightly-training example: its data prepared by a subworkflow per table, and its
# deployment waiting for a person's approval, given here with weft signal.
(cd "$WEFT_SRC" && "$weft" submit workflows/nightly-training.yaml --scheduler "$ep") \
    >"$T/run1.out" 2>&1 || fail "submit nightly-training"
for _ in $(seq 1200); do
    [ "$(q "SELECT state FROM tasks WHERE run_id = 1 AND name = 'approve_deploy'")" = waiting ] &&
        break
    sleep 0.1
done
expect_grep "the night waits for approval, asking with the model's AUC" \
    "^waiting for approval: Deploy the XGBoost model \(test AUC 0\.9[0-9]*\)\?$" \
    <(q "SELECT error FROM tasks WHERE run_id = 1 AND name = 'approve_deploy'")
"$weft" signal 1 approve_deploy --approve --scheduler "$ep" >/dev/null 2>&1
expect "... a person approves it" 0 $?
wait_run_ended "$T/state" 1
expect "the nightly-training pipeline succeeds" succeeded "$st"
expect "all 19 tasks succeed (8 of them the two calls of prepare.yaml)" "19|2" \
    "$(q "SELECT count(*), sum(name LIKE '%.split') FROM tasks WHERE run_id = 1 AND state = 'succeeded'")"
expect_grep "the model is deployed: its AUC passes min_auc, and who approved is named" \
    "^deploying the XGBoost model \(test AUC 0\.9[0-9]*\), approved by insecure$" \
    <(q "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 1 AND name = 'deploy'")
at_least "XGBoost's test accuracy on breast-cancer" 0.94 "$(task_out 1 xgboost_metrics metrics.accuracy)"
at_least "liblinear's logistic regression's test accuracy" 0.93 "$(task_out 1 logistic_metrics metrics.accuracy)"
at_least "XGBoost's test AUC" 0.97 "$(task_out 1 xgboost_metrics metrics.auc)"
at_least "the diabetes regression's test R^2" 0.3 "$(task_out 1 progression_metrics metrics.r2)"
expect "the regression reports RMSE and MAE too" "111 1 1" \
    "$(task_out 1 progression_metrics metrics.rows) $(q "SELECT json_type(outputs, '\$.metrics.rmse') = 'real' FROM tasks WHERE run_id = 1 AND name = 'progression_metrics'") $(q "SELECT json_type(outputs, '\$.metrics.mae') = 'real' FROM tasks WHERE run_id = 1 AND name = 'progression_metrics'")"
task_blob 1 xgboost_predict predictions >"$T/xgb-pred.csv"
expect "the predictions keep the target, then prediction and the positive class's score" \
    "benign,prediction,score_1 143" "$(head -n 1 "$T/xgb-pred.csv") $(wc -l <"$T/xgb-pred.csv")"
expect "infer.metrics' accuracy is the predictions file's" \
    "$(awk -F, 'NR > 1 { n++; r += ($1 == $2) } END { printf "%.6f", r / n }' "$T/xgb-pred.csv")" \
    "$(printf '%.6f' "$(task_out 1 xgboost_metrics metrics.accuracy)")"
task_blob 1 progression_predict predictions >"$T/reg-pred.csv"
expect "infer.metrics' RMSE is the predictions file's" \
    "$(awk -F, 'NR > 1 { n++; d = $1 - $2; s += d * d } END { printf "%.4f", sqrt(s / n) }' "$T/reg-pred.csv")" \
    "$(printf '%.4f' "$(task_out 1 progression_metrics metrics.rmse)")"
expect "XGBoost's importance names every feature" 30 \
    "$(q "SELECT count(*) FROM tasks, json_each(tasks.outputs, '\$.importance') WHERE run_id = 1 AND name = 'xgboost'")"
expect "early stopping kept the diabetes model's best round" 1 \
    "$(q "SELECT json_extract(outputs, '\$.metrics.rounds') = json_extract(outputs, '\$.metrics.best_iteration') + 1 FROM tasks WHERE run_id = 1 AND name = 'progression'")"
"$weft" logs 1 xgboost --scheduler "$ep" >"$T/xgb.log"
expect_grep "the training rounds are in the task log" 'train.xgboost: \[199\].*train-auc' "$T/xgb.log"

# 2. Multiclass: iris with XGBoost and a linear SVM; labels from a separate file.
cat >"$T/iris.yaml" <<YAML
workflow: iris
tasks:
  split: { type: data.split, with: { dataset: $data/iris.csv, test_fraction: 0.3, seed: 1, stratify: species } }
  xgb: { type: train.xgboost, with: { dataset: "\${split.outputs.train}", target: species, objective: multiclass, rounds: 30 } }
  xgb_pred: { type: infer.batch, with: { model: "\${xgb.outputs.model}", dataset: "\${split.outputs.test}", batch_size: 7 } }
  xgb_m: { type: infer.metrics, with: { predictions: "\${xgb_pred.outputs.predictions}", target: species } }
  svm: { type: train.linear, with: { dataset: "\${split.outputs.train}", target: species, objective: multiclass, solver: svm } }
  svm_pred: { type: infer.batch, with: { model: "\${svm.outputs.model}", dataset: "\${split.outputs.test}", keep: [] } }
  svm_m: { type: infer.metrics, with: { predictions: "\${svm_pred.outputs.predictions}", target: species, labels: "\${split.outputs.test}" } }
YAML
"$weft" submit "$T/iris.yaml" --scheduler "$ep" --wait >"$T/run2.out" 2>&1
expect "the iris workflow succeeds" 0 $?
at_least "XGBoost multiclass accuracy" 0.9 "$(task_out 2 xgb_m metrics.accuracy)"
at_least "linear SVM multiclass accuracy (labels from the test file)" 0.9 "$(task_out 2 svm_m metrics.accuracy)"
task_blob 2 svm_pred predictions >"$T/svm-pred.csv"
expect "a multiclass predictions file scores each class" "prediction,score_setosa,score_versicolor,score_virginica" \
    "$(head -n 1 "$T/svm-pred.csv")"

# 3. A million rows: memory stays bounded, progress is reported.
awk -v rows=20000 -v seed=1 -f "$WEFT_SRC/tests/tools/gen-rows.awk" >"$T/train.csv"
awk -v rows=1000000 -v seed=2 -f "$WEFT_SRC/tests/tools/gen-rows.awk" >"$T/big.csv"
cat >"$T/big.yaml" <<YAML
workflow: million
tasks:
  model:
    type: train.xgboost
    with: { dataset: $T/train.csv, target: label, objective: binary, rounds: 50,
            features: [x1, x2, x3, x4, x5, x6, x7, x8], params: { max_depth: 4 } }
  predict:
    type: infer.batch
    with: { model: "\${model.outputs.model}", dataset: $T/big.csv, batch_size: 10000, keep: [id, label] }
  score:
    type: infer.metrics
    with: { predictions: "\${predict.outputs.predictions}", target: label }
YAML
"$weft" submit "$T/big.yaml" --scheduler "$ep" --wait >"$T/run3.out" 2>&1
expect "the million-row inference succeeds" "0 1000000" "$? $(task_out 3 predict rows)"
task_blob 3 predict predictions >"$T/big-pred.csv"
expect "every row is predicted, in order" "1000001 1000000" \
    "$(wc -l <"$T/big-pred.csv") $(tail -n 1 "$T/big-pred.csv" | cut -d, -f1)"
at_least "the predictions score well" 0.9 "$(task_out 3 score metrics.accuracy)"
"$weft" logs 3 predict --scheduler "$ep" >"$T/big.log"
at_least "progress is reported per batch" 100 "$(grep -c '^progress ' "$T/big.log")"
expect_grep "and logged every tenth of the way" '^infer.batch: 500000 rows \(5[0-9]% of the file\)$' "$T/big.log"
rss=$(sed -n 's/.*peak RSS \([0-9]*\) KiB$/\1/p' "$T/big.log")
file_kib=$(( $(stat -c %s "$T/big.csv") / 1024 ))
echo "infer.batch: $(grep -o '[0-9]* rows in .*' "$T/big.log"); the CSV is $file_kib KiB"
at_least "the log reports the peak RSS, in KiB" 1 "$rss"
at_least "the file is bigger than the memory bound" 65536 "$file_kib"
if [ -n "${WEFT_SANITIZED:-}" ]; then
    # AddressSanitizer's quarantine holds freed memory back, so RSS is not the program's.
    skip "peak RSS bound: not made under sanitizers (freed memory is quarantined): $rss KiB"
else
    at_most "peak RSS stays under 64 MiB, less than the 1M-row file" 65536 "$rss"
fi

# 4. Bad inputs: fatal errors that name the cause.
printf 'weft-model 1\n{"kind":"torch","objective":"binary","target":"y","features":["a"],"classes":["0","1"],"payload_bytes":3}\nabc' >"$T/torch.model"
h=$(task_out 1 xgboost model.artifact)
head -c 2000 "$(blob_path "$h")" >"$T/cut.model"
sed 's/^\([^,]*\),/\1x,/; 2s/^[^,]*,/abc,/' "$data/breast-cancer.csv" >"$T/text.csv"
cat >"$T/bad.yaml" <<YAML
workflow: bad-ml
tasks:
  no_target: { type: train.xgboost, with: { dataset: $data/breast-cancer.csv, target: malignant, objective: binary } }
  csv_model: { type: infer.batch, with: { model: $data/iris.csv, dataset: $data/iris.csv } }
  torch_model: { type: infer.batch, with: { model: $T/torch.model, dataset: $data/iris.csv } }
  cut_model: { type: infer.batch, with: { model: $T/cut.model, dataset: $data/breast-cancer.csv } }
  wrong_data: { type: infer.batch, with: { model: "\${xgb_ok.outputs.model}", dataset: $data/diabetes.csv } }
  xgb_ok: { type: train.xgboost, with: { dataset: $data/breast-cancer.csv, target: benign, objective: binary, rounds: 5 } }
  typo_param: { type: train.xgboost, with: { dataset: $data/iris.csv, target: species, objective: multiclass, rounds: 5, params: { max_dept: 3 } } }
  three_classes: { type: train.linear, with: { dataset: $data/iris.csv, target: species, objective: binary } }
  text_feature: { type: train.linear, with: { dataset: $T/text.csv, target: benign, objective: binary } }
  svr_binary: { type: train.linear, with: { dataset: $data/breast-cancer.csv, target: benign, objective: binary, solver: svr } }
  text_target: { type: train.xgboost, with: { dataset: $data/iris.csv, target: species, objective: regression } }
  not_predictions: { type: infer.metrics, with: { predictions: $data/iris.csv, target: species } }
  bad_objective: { type: train.linear, with: { dataset: $data/iris.csv, target: species, objective: ranking } }
  target_feature: { type: train.linear, with: { dataset: $data/breast-cancer.csv, target: benign, objective: binary, features: [mean_radius, benign] } }
YAML
"$weft" submit "$T/bad.yaml" --scheduler "$ep" --wait >"$T/run4.out" 2>&1
expect "the run with bad inputs fails" 1 $?
err() { q "SELECT error FROM tasks WHERE run_id = 4 AND name = '$1'"; }
e="train.xgboost: breast-cancer.csv has no column 'malignant' (its columns: mean_radius, mean_texture,"
expect "a missing target column is named, with the columns there are" "$e" "$(err no_target | cut -c1-${#e})"
expect "and is fatal (not retried)" "fatal 1" "$(q "SELECT error_class || ' ' || attempts FROM tasks WHERE run_id = 4 AND name = 'no_target'")"
expect "a CSV given as a model is refused" \
    "infer.batch: iris.csv is not a usable weft model: it does not start with 'weft-model' (models come from train.xgboost or train.linear)" \
    "$(err csv_model)"
expect "a model of a kind weft cannot run is refused" \
    "infer.batch: a model of kind 'torch' is not one weft can run (xgboost, liblinear)" "$(err torch_model)"
expect "a truncated model is refused" \
    "infer.batch: cut.model is not a usable weft model: the payload is truncated" "$(err cut_model | sed 's/ (.*//')"
expect "a dataset without the model's features is refused" \
    "infer.batch: diabetes.csv has no column 'mean_radius'" "$(err wrong_data | sed 's/ (.*//')"
expect "an XGBoost parameter it does not use fails the task" \
    "train.xgboost: Parameters: { \"max_dept\" } are not used." "$(err typo_param)"
expect "binary needs two classes" \
    "train.linear: binary classification needs 2 classes in 'species'; it has 3" "$(err three_classes)"
expect "a feature that is not a number is named by line and column" \
    "train.linear: text.csv: line 2, column 'mean_radiusx': 'abc' is not a number" "$(err text_feature)"
expect "a regression solver cannot classify" "train.linear: solver svr cannot do binary" "$(err svr_binary)"
expect "a regression target must be a number" \
    "train.xgboost: iris.csv: line 2: the target 'species' is 'setosa', not a number (regression needs one)" "$(err text_target)"
expect "infer.metrics refuses a file that is not predictions" \
    "infer.metrics: iris.csv is not a predictions file: it has no 'prediction' column (infer.batch writes one)" "$(err not_predictions)"
expect "an unknown objective is named" \
    "train.linear: objective must be binary, multiclass or regression, not 'ranking'" "$(err bad_objective)"
expect "the target cannot be a feature" \
    "train.linear: the features list includes the target 'benign'" "$(err target_feature)"
expect "every bad input is fatal, tried once" "13" \
    "$(q "SELECT count(*) FROM tasks WHERE run_id = 4 AND state = 'failed' AND error_class = 'fatal' AND attempts = 1")"

# The worker still serves, and the earlier runs' outputs are intact.
"$weft" submit "$T/iris.yaml" --scheduler "$ep" --wait >"$T/run5.out" 2>&1
expect "the worker still trains (from the cache)" 0 $?
expect "run 1's model is still in the store, intact" "$h" \
    "$(b2sum -l 256 "$(blob_path "$h")" | cut -d' ' -f1)"

# A night whose model misses the bar: deploy is skipped, and the night still succeeds.
submit workflows/nightly-training.yaml -p min_auc=0.9999 >"$T/run6.out" 2>&1
expect "a night below min_auc succeeds" 0 $?
expect "... with deploy skipped, saying why" \
    "skipped|when \${ xgboost_metrics.outputs.metrics.auc >= params.min_auc } is false" \
    "$(q "SELECT state || '|' || error FROM tasks WHERE run_id = 6 AND name = 'deploy'")"
expect_grep "... and weft says so" "17/19 tasks succeeded \(2 skipped\)" "$T/run6.out"
expect "... nobody was asked to approve it" "skipped" \
    "$(q "SELECT state FROM tasks WHERE run_id = 6 AND name = 'approve_deploy'")"
finish
