/* infer.batch: predictions for a CSV file, a batch of rows at a time.
 *
 * An executor keeps the last few models it loaded (models.h), so a stream of small
 * requests against one model pays for loading it once. Memory is the model, one batch of
 * features (batch_size x features floats), its predictions and the batch's kept fields: it
 * does not grow with the file. Progress is the share of the file's bytes read. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "plugins/infer/infer.h"
#include "plugins/infer/models.h"
#include "plugins/ml/predict.h"
#include "plugins/support/clock.h"
#include "plugins/support/input.h"
#include "plugins/support/table.h"

#define BATCH_DEFAULT 10000
#define BATCH_MAX 1000000

typedef struct batch_job {
    weft_ctx *ctx;
    modelfile model;       /* the executor's kept model (a copy of its handle), or owned */
    predictor *pred;
    int cached;            /* model and pred are the executor's (models.h): not freed */
    table data;
    long *cols;            /* the model's features in the dataset */
    long *keep;            /* kept columns */
    size_t nkeep, batch, nscores;
    float *x;
    double *predicted, *scores;
    char *kept;            /* the batch's kept fields, NUL-separated */
    size_t kept_len, kept_cap;
    size_t *kept_at;       /* where each row's fields start in kept */
    FILE *out;
    size_t rows;
    double file_size;
} batch_job;

/* The model: from the executor's kept models (the plugin's open() state), else read. */
static int load_model(batch_job *b)
{
    const char *path, *workdir = weft_info(b->ctx, "workdir");
    char name[256], err[512];
    models *kept = weft_state(b->ctx);
    const modelfile *m;
    int hit = 0;
    if (plugin_input_file(b->ctx, "infer.batch", "model", &path, name, sizeof name) != WEFT_OK)
        return WEFT_FAIL;
    if (kept) {
        if (models_get(kept, path, name, workdir ? workdir : "/tmp", &m, &b->pred, &hit, err,
                       sizeof err) < 0)
            return weft_fail(b->ctx, "infer.batch: %s", err);
        b->model = *m;
        b->cached = 1;
    } else if (modelfile_read(path, name, &b->model, err, sizeof err) < 0 ||
               !(b->pred = predictor_open(&b->model, workdir ? workdir : "/tmp", err,
                                          sizeof err))) {
        return weft_fail(b->ctx, "infer.batch: %s", err);
    }
    b->nscores = predictor_nscores(b->pred);
    weft_log(b->ctx, "infer.batch: %s: a %s %s model of %zu features predicting '%s'%s", name,
             b->model.kind, model_objective_name(b->model.objective), b->model.nfeatures,
             b->model.target, hit ? " (kept loaded by this executor)" : "");
    return WEFT_OK;
}

int infer_batch_open(weft_ctx *ctx, void **state)
{
    (void)ctx;
    *state = models_new();
    return *state ? WEFT_OK : WEFT_FAIL;
}

void infer_batch_close(void *state)
{
    models_free(state);
}

/* The kept columns: the keep input, or the target when the dataset has it. */
static int choose_kept(batch_job *b)
{
    size_t n = 0;
    const char **names;
    if (weft_input_len(b->ctx, "keep", &n) == WEFT_OK) {
        names = calloc(n ? n : 1, sizeof *names);
        for (size_t i = 0; i < n; i++)
            weft_input_string_at(b->ctx, "keep", i, &names[i]);
    } else {
        names = calloc(1, sizeof *names);
        if (csv_find(b->data.header, b->data.ncols, b->model.target) >= 0)
            names[n++] = b->model.target;
    }
    int rc = WEFT_OK;
    for (size_t i = 0; i < n && rc == WEFT_OK; i++)
        if (!names[i] || !strcmp(names[i], PREDICTION_COLUMN) ||
            !strncmp(names[i], SCORE_PREFIX, strlen(SCORE_PREFIX)))
            rc = weft_fail(b->ctx, "infer.batch: cannot keep a column named '%s': the "
                           "predictions' own columns are %s and %s<class>",
                           names[i] ? names[i] : "", PREDICTION_COLUMN, SCORE_PREFIX);
    if (rc == WEFT_OK && !(b->keep = table_columns(&b->data, names, n)))
        rc = WEFT_FAIL;
    b->nkeep = n;
    free(names);
    return rc;
}

static int open_output(batch_job *b)
{
    const char *path;
    if (weft_output_path(b->ctx, "predictions", &path) != WEFT_OK || !(b->out = fopen(path, "w")))
        return weft_fail(b->ctx, "infer.batch: cannot write the predictions: %s",
                         strerror(errno));
    size_t n = b->nkeep + 1 + b->nscores;
    char **header = calloc(n, sizeof *header);
    for (size_t i = 0; i < b->nkeep; i++)
        header[i] = strdup(b->data.header[b->keep[i]]);
    header[b->nkeep] = strdup(PREDICTION_COLUMN);
    for (size_t k = 0; k < b->nscores; k++) {
        const char *cls = b->model.classes[b->model.objective == OBJ_BINARY ? 1 : k];
        size_t len = strlen(SCORE_PREFIX) + strlen(cls) + 1;
        header[b->nkeep + 1 + k] = malloc(len);
        snprintf(header[b->nkeep + 1 + k], len, "%s%s", SCORE_PREFIX, cls);
    }
    csv_write(b->out, header, n);
    for (size_t i = 0; i < n; i++)
        free(header[i]);
    free(header);
    return WEFT_OK;
}

static void keep_fields(batch_job *b, size_t row)
{
    b->kept_at[row] = b->kept_len;
    for (size_t i = 0; i < b->nkeep; i++) {
        const char *s = b->data.csv.fields[b->keep[i]];
        size_t len = strlen(s) + 1;
        while (b->kept_len + len > b->kept_cap) {
            b->kept_cap = b->kept_cap ? 2 * b->kept_cap : 65536;
            b->kept = realloc(b->kept, b->kept_cap);
        }
        memcpy(b->kept + b->kept_len, s, len);
        b->kept_len += len;
    }
}

static void format_number(char *buf, size_t n, double v)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, n, "%.9g", v);
}

static void write_batch(batch_job *b, size_t rows)
{
    size_t n = b->nkeep + 1 + b->nscores;
    char **fields = malloc(n * sizeof *fields);
    char *numbers = malloc((1 + b->nscores) * 32);
    for (size_t r = 0; r < rows; r++) {
        const char *s = b->kept + b->kept_at[r];
        for (size_t i = 0; i < b->nkeep; i++, s += strlen(s) + 1)
            fields[i] = (char *)s;
        if (b->model.objective == OBJ_REGRESSION) {
            format_number(numbers, 32, b->predicted[r]);
            fields[b->nkeep] = numbers;
        } else {
            fields[b->nkeep] = (char *)b->model.classes[(size_t)b->predicted[r]];
        }
        for (size_t k = 0; k < b->nscores; k++) {
            char *at = numbers + (1 + k) * 32;
            format_number(at, 32, b->scores[r * b->nscores + k]);
            fields[b->nkeep + 1 + k] = at;
        }
        csv_write(b->out, fields, n);
    }
    free(fields);
    free(numbers);
}

/* Reads up to b->batch rows; the count, or -1 after failing the task. */
static long read_batch(batch_job *b)
{
    size_t rows = 0;
    b->kept_len = 0;
    int more = 1;
    while (rows < b->batch && (more = table_next(&b->data)) == 1) {
        float *x = b->x + rows * b->model.nfeatures;
        if (table_numbers(&b->data, b->cols, b->model.nfeatures, x) != WEFT_OK)
            return -1;
        keep_fields(b, rows++);
    }
    return more < 0 ? -1 : (long)rows;
}

static void report_progress(batch_job *b, size_t *next_log)
{
    double at = (double)ftell(b->data.csv.f);
    weft_progress(b->ctx, at, b->file_size);
    if (b->rows >= *next_log) {
        weft_log(b->ctx, "infer.batch: %zu rows (%.0f%% of the file)", b->rows,
                 b->file_size > 0 ? 100 * at / b->file_size : 100);
        *next_log = b->rows + 10 * b->batch;
    }
}

static int predict_all(batch_job *b)
{
    size_t f = b->model.nfeatures, next_log = 10 * b->batch;
    b->x = malloc(b->batch * f * sizeof *b->x);
    b->predicted = malloc(b->batch * sizeof *b->predicted);
    b->scores = malloc((b->batch * b->nscores + 1) * sizeof *b->scores);
    b->kept_at = malloc(b->batch * sizeof *b->kept_at);
    long rows;
    char err[512];
    while ((rows = read_batch(b)) > 0) {
        if (weft_cancelled(b->ctx))
            return weft_fail(b->ctx, "infer.batch: cancelled after %zu rows", b->rows);
        if (predictor_run(b->pred, b->x, (size_t)rows, b->predicted, b->scores, err,
                          sizeof err) < 0)
            return weft_fail(b->ctx, "infer.batch: %s", err);
        write_batch(b, (size_t)rows);
        b->rows += (size_t)rows;
        report_progress(b, &next_log);
    }
    return rows < 0 ? WEFT_FAIL : WEFT_OK;
}

static int read_inputs(batch_job *b)
{
    int64_t batch = BATCH_DEFAULT;
    weft_input_int(b->ctx, "batch_size", &batch);
    if (batch < 1 || batch > BATCH_MAX)
        return weft_fail(b->ctx, "infer.batch: batch_size must be 1 to %d, not %lld",
                         BATCH_MAX, (long long)batch);
    b->batch = (size_t)batch;
    int rc = load_model(b);
    if (rc == WEFT_OK)
        rc = table_open(b->ctx, "infer.batch", "dataset", &b->data);
    if (rc != WEFT_OK)
        return rc;
    struct stat st;
    b->file_size = fstat(fileno(b->data.csv.f), &st) == 0 ? (double)st.st_size : 0;
    if (!(b->cols = table_columns(&b->data, b->model.features, b->model.nfeatures)))
        return WEFT_FAIL;
    return choose_kept(b);
}

static void batch_free(batch_job *b)
{
    if (!b->cached) {
        predictor_close(b->pred);
        modelfile_free(&b->model);
    }
    table_close(&b->data);
    free(b->cols);
    free(b->keep);
    free(b->x);
    free(b->predicted);
    free(b->scores);
    free(b->kept);
    free(b->kept_at);
}

int infer_batch_run(weft_ctx *ctx)
{
    batch_job b = {.ctx = ctx};
    double start = plugin_seconds();
    int rc = read_inputs(&b);
    if (rc == WEFT_OK)
        rc = open_output(&b);
    if (rc == WEFT_OK)
        rc = predict_all(&b);
    if (b.out && fclose(b.out) != 0 && rc == WEFT_OK)
        rc = weft_fail(ctx, "infer.batch: cannot write the predictions: %s", strerror(errno));
    if (rc == WEFT_OK) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        double secs = plugin_seconds() - start;
        weft_log(ctx, "infer.batch: %zu rows in %.2f s (%.0f rows/s), batches of %zu; peak "
                 "RSS %ld KiB", b.rows, secs, secs > 0 ? (double)b.rows / secs : 0, b.batch,
                 ru.ru_maxrss);
        rc = weft_output_int(ctx, "rows", (int64_t)b.rows) == WEFT_OK ? WEFT_OK : WEFT_FAIL;
    }
    batch_free(&b);
    return rc;
}
