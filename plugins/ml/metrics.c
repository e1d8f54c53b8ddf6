/* metrics: see metrics.h. */
#include "plugins/ml/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct scored {
    double score;
    unsigned char label;
} scored;

struct metrics {
    model_objective objective;
    size_t nclasses;
    const char *const *classes;
    size_t rows;
    /* classification: confusion[truth * (nclasses + 1) + predicted] */
    size_t *confusion;
    scored *scores;  /* binary rows with a score */
    size_t nscores, capscores;
    int no_auc;      /* a row came without a score */
    /* regression: Welford's mean and sum of squares of the truth, and the errors */
    double mean, m2, sse, sae;
};

metrics *metrics_new(model_objective objective, size_t nclasses, const char *const *classes)
{
    metrics *m = calloc(1, sizeof *m);
    m->objective = objective;
    m->nclasses = objective == OBJ_REGRESSION ? 0 : nclasses;
    m->classes = classes;
    if (m->nclasses)
        m->confusion = calloc((m->nclasses + 1) * (m->nclasses + 1), sizeof *m->confusion);
    return m;
}

void metrics_free(metrics *m)
{
    if (!m)
        return;
    free(m->confusion);
    free(m->scores);
    free(m);
}

size_t metrics_rows(const metrics *m)
{
    return m->rows;
}

void metrics_add_class(metrics *m, size_t truth, size_t predicted, double score)
{
    size_t k = m->nclasses + 1;
    truth = truth < m->nclasses ? truth : m->nclasses;
    predicted = predicted < m->nclasses ? predicted : m->nclasses;
    m->confusion[truth * k + predicted]++;
    m->rows++;
    if (m->objective != OBJ_BINARY || m->no_auc)
        return;
    if (isnan(score) || truth > 1) {
        m->no_auc = 1;
        return;
    }
    if (m->nscores == m->capscores) {
        m->capscores = m->capscores ? 2 * m->capscores : 1024;
        m->scores = realloc(m->scores, m->capscores * sizeof *m->scores);
    }
    m->scores[m->nscores++] = (scored){score, (unsigned char)truth};
}

void metrics_add_value(metrics *m, double truth, double predicted)
{
    m->rows++;
    double d = truth - m->mean;
    m->mean += d / (double)m->rows;
    m->m2 += d * (truth - m->mean);
    double e = truth - predicted;
    m->sse += e * e;
    m->sae += fabs(e);
}

static int by_score(const void *a, const void *b)
{
    double x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x > y) - (x < y);
}

/* Mann-Whitney: the positives' rank sum, ties given their average rank. */
static double auc_sorted(const scored *s, size_t n)
{
    double npos = 0, rank_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j].score == s[i].score)
            j++;
        double avg_rank = ((double)i + 1 + (double)j) / 2;
        for (size_t k = i; k < j; k++)
            if (s[k].label) {
                npos++;
                rank_sum += avg_rank;
            }
        i = j;
    }
    double nneg = (double)n - npos;
    if (npos == 0 || nneg == 0)
        return NAN;
    return (rank_sum - npos * (npos + 1) / 2) / (npos * nneg);
}

/* A number, or null when it is undefined (no rows of a class). */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

static double f1_of(double precision, double recall)
{
    return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
}

/* Class c's precision and recall from the confusion matrix. */
static void class_pr(const metrics *m, size_t c, double *precision, double *recall)
{
    size_t k = m->nclasses + 1;
    double tp = (double)m->confusion[c * k + c], predicted = 0, actual = 0;
    for (size_t i = 0; i < k; i++) {
        predicted += (double)m->confusion[i * k + c];
        actual += (double)m->confusion[c * k + i];
    }
    *precision = ratio(tp, predicted);
    *recall = ratio(tp, actual);
}

static double accuracy(const metrics *m)
{
    size_t k = m->nclasses + 1, right = 0;
    for (size_t c = 0; c < m->nclasses; c++)
        right += m->confusion[c * k + c];
    return ratio((double)right, (double)m->rows);
}

static void binary_json(metrics *m, json_t *o)
{
    double p, r;
    class_pr(m, 1, &p, &r);
    size_t k = m->nclasses + 1;
    json_object_set_new(o, "precision", num(p));
    json_object_set_new(o, "recall", num(r));
    json_object_set_new(o, "f1", num(f1_of(isnan(p) ? 0 : p, isnan(r) ? 0 : r)));
    if (!m->no_auc) {
        qsort(m->scores, m->nscores, sizeof *m->scores, by_score);
        json_object_set_new(o, "auc", num(auc_sorted(m->scores, m->nscores)));
    }
    json_object_set_new(o, "confusion",
                        json_pack("{s:I, s:I, s:I, s:I}",
                                  "tp", (json_int_t)m->confusion[1 * k + 1],
                                  "fp", (json_int_t)m->confusion[0 * k + 1],
                                  "tn", (json_int_t)m->confusion[0 * k + 0],
                                  "fn", (json_int_t)m->confusion[1 * k + 0]));
}

static void multiclass_json(const metrics *m, json_t *o)
{
    json_t *per = json_object();
    double sum_f1 = 0;
    for (size_t c = 0; c < m->nclasses; c++) {
        double p, r;
        class_pr(m, c, &p, &r);
        double f1 = f1_of(isnan(p) ? 0 : p, isnan(r) ? 0 : r);
        sum_f1 += f1;
        char idx[32];
        snprintf(idx, sizeof idx, "%zu", c);
        json_object_set_new(per, m->classes ? m->classes[c] : idx,
                            json_pack("{s:o, s:o, s:o}", "precision", num(p), "recall",
                                      num(r), "f1", num(f1)));
    }
    json_object_set_new(o, "macro_f1", num(sum_f1 / (double)m->nclasses));
    json_object_set_new(o, "classes", per);
}

json_t *metrics_json(metrics *m)
{
    json_t *o = json_pack("{s:I}", "rows", (json_int_t)m->rows);
    if (m->rows == 0)
        return o;
    if (m->objective == OBJ_REGRESSION) {
        double n = (double)m->rows;
        json_object_set_new(o, "rmse", num(sqrt(m->sse / n)));
        json_object_set_new(o, "mae", num(m->sae / n));
        json_object_set_new(o, "r2", num(m->m2 > 0 ? 1 - m->sse / m->m2 : NAN));
        return o;
    }
    json_object_set_new(o, "accuracy", num(accuracy(m)));
    if (m->objective == OBJ_BINARY)
        binary_json(m, o);
    else
        multiclass_json(m, o);
    return o;
}
