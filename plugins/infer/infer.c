/* infer: predictions and their evaluation.
 *
 *   infer.batch    a model file from train.xgboost or train.linear and a CSV dataset ->
 *                  a predictions CSV, in batches, with memory bounded by the batch size
 *   infer.metrics  predictions and labels -> accuracy, precision, recall, F1, AUC
 *                  (classification) or RMSE, MAE, R^2 (regression) */
#include "plugins/infer/infer.h"

static const weft_port batch_in[] = {
    {"model", "model", 0, "a model file from train.xgboost or train.linear"},
    {"dataset", "dataset", 0, "a CSV file with the model's feature columns"},
    {"batch_size", "int", WEFT_PORT_OPTIONAL, "rows predicted at a time (10000)"},
    {"keep", "list<string>", WEFT_PORT_OPTIONAL,
     "columns copied to the predictions (the model's target, when the dataset has it)"},
    {NULL, NULL, 0, NULL}};
static const weft_port batch_out[] = {
    {"predictions", "file", 0, "CSV: the kept columns, prediction, and score_<class>"},
    {"rows", "int", 0, "rows predicted"},
    {NULL, NULL, 0, NULL}};
static const weft_port metrics_in[] = {
    {"predictions", "file", 0, "a predictions CSV from infer.batch"},
    {"target", "string", 0, "the column holding the true labels"},
    {"labels", "dataset", WEFT_PORT_OPTIONAL,
     "a CSV with the target column, row for row with the predictions (the predictions file)"},
    {NULL, NULL, 0, NULL}};
static const weft_port metrics_out[] = {
    {"metrics", "json", 0, "accuracy, precision, recall, f1, auc; or rmse, mae, r2"},
    {NULL, NULL, 0, NULL}};

static const weft_task_type types[] = {
    {.name = "infer.batch", .version = "1", .inputs = batch_in, .outputs = batch_out,
     .run = infer_batch_run, .open = infer_batch_open, .close = infer_batch_close},
    {.name = "infer.metrics", .version = "1", .inputs = metrics_in, .outputs = metrics_out,
     .run = infer_metrics_run},
    {.name = NULL}};

WEFT_PLUGIN_DECLARE("infer", "1.0.0", types)
