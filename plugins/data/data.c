/* data: dataset tasks on CSV files.
 *
 *   data.split  a seeded train/test split, optionally stratified by a column
 *   data.check  declarative expectations on a CSV file; a failed expectation fails the
 *               task (fatal) with a readable report */
#include "plugins/data/data.h"

static const weft_port split_in[] = {
    {"dataset", "file", 0, "a CSV file with a header row"},
    {"test_fraction", "float", WEFT_PORT_OPTIONAL, "share of rows for the test side (0.2)"},
    {"seed", "int", WEFT_PORT_OPTIONAL, "the same seed gives the same split (0)"},
    {"stratify", "string", WEFT_PORT_OPTIONAL,
     "keep this column's class shares on both sides (\"\": none)"},
    {NULL, NULL, 0, NULL}};
static const weft_port split_out[] = {
    {"train", "file", 0, "the training rows, with the header"},
    {"test", "file", 0, "the test rows, with the header"},
    {"train_rows", "int", 0, NULL},
    {"test_rows", "int", 0, NULL},
    {NULL, NULL, 0, NULL}};
static const weft_port check_in[] = {
    {"dataset", "file", 0, "a CSV file with a header row"},
    {"expect", "json", 0,
     "expectations: columns, rows {min, max}, not_null, unique, range {col: {min, max}}, "
     "values {col: [allowed]}"},
    {NULL, NULL, 0, NULL}};
static const weft_port check_out[] = {
    {"report", "json", 0, "every expectation with its outcome"},
    {"rows", "int", 0, "data rows"},
    {NULL, NULL, 0, NULL}};

static const weft_task_type types[] = {
    {.name = "data.split", .version = "1", .inputs = split_in, .outputs = split_out,
     .run = data_split_run},
    {.name = "data.check", .version = "1", .inputs = check_in, .outputs = check_out,
     .run = data_check_run},
    {.name = NULL}};

WEFT_PLUGIN_DECLARE("data", "1.0.0", types)
