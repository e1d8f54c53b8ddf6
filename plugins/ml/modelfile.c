/* modelfile: see modelfile.h. */
#include "plugins/ml/modelfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const objective_names[] = {"binary", "multiclass", "regression"};

int model_objective_parse(const char *s, model_objective *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, objective_names[i]) == 0) {
            *out = (model_objective)i;
            return 0;
        }
    return -1;
}

const char *model_objective_name(model_objective o)
{
    return objective_names[o];
}

int modelfile_write(const char *path, json_t *meta, const void *payload, size_t len,
                    char *err, size_t n)
{
    json_object_set_new(meta, "payload_bytes", json_integer((json_int_t)len));
    char *text = json_dumps(meta, JSON_COMPACT);
    FILE *f = fopen(path, "wb");
    int ok = text && f && fprintf(f, "%s %d\n%s\n", MODELFILE_MAGIC, MODELFILE_VERSION,
                                  text) > 0 && fwrite(payload, 1, len, f) == len;
    int saved = errno;
    if (f && fclose(f) != 0)
        ok = 0;
    free(text);
    if (!ok)
        snprintf(err, n, "cannot write the model: %s", strerror(saved ? saved : errno));
    return ok ? 0 : -1;
}

static int fail(char *err, size_t n, const char *name, const char *why)
{
    snprintf(err, n, "%s is not a usable weft model: %s", name, why);
    return -1;
}

/* Reads "weft-model N\n"; 0, or -1 with err. */
static int read_magic(FILE *f, const char *name, char *err, size_t n)
{
    char line[64];
    if (!fgets(line, sizeof line, f) || strncmp(line, MODELFILE_MAGIC " ", 11) != 0)
        return fail(err, n, name, "it does not start with 'weft-model' (models come from "
                                  "train.xgboost or train.linear)");
    long version = strtol(line + 11, NULL, 10);
    if (version != MODELFILE_VERSION) {
        char why[128];
        snprintf(why, sizeof why, "model format %ld; this weft reads format %d", version,
                 MODELFILE_VERSION);
        return fail(err, n, name, why);
    }
    return 0;
}

/* The string array meta[key] into a borrowed array; 0, or -1. */
static int string_array(json_t *meta, const char *key, const char ***out, size_t *len)
{
    json_t *a = json_object_get(meta, key);
    if (!json_is_array(a) || json_array_size(a) == 0)
        return -1;
    *len = json_array_size(a);
    *out = calloc(*len, sizeof **out);
    for (size_t i = 0; i < *len; i++)
        if (!((*out)[i] = json_string_value(json_array_get(a, i))))
            return -1;
    return 0;
}

static int parse_meta(modelfile *m, const char *name, char *err, size_t n)
{
    json_t *meta = m->meta;
    const char *obj = json_string_value(json_object_get(meta, "objective"));
    m->kind = json_string_value(json_object_get(meta, "kind"));
    m->target = json_string_value(json_object_get(meta, "target"));
    if (!m->kind || !m->target || !obj || model_objective_parse(obj, &m->objective) < 0)
        return fail(err, n, name, "its metadata lacks kind, target or a known objective");
    if (string_array(meta, "features", &m->features, &m->nfeatures) < 0)
        return fail(err, n, name, "its metadata has no feature list");
    if (m->objective != OBJ_REGRESSION &&
        (string_array(meta, "classes", &m->classes, &m->nclasses) < 0 || m->nclasses < 2))
        return fail(err, n, name, "a classifier's metadata needs two or more classes");
    return 0;
}

static int read_payload(FILE *f, modelfile *m, const char *name, char *err, size_t n)
{
    json_int_t want = json_integer_value(json_object_get(m->meta, "payload_bytes"));
    if (want <= 0)
        return fail(err, n, name, "its metadata has no payload size");
    m->payload_len = (size_t)want;
    /* payload_bytes comes from the file: allocate no more than the file holds. */
    struct stat st;
    long at = ftell(f);
    size_t got = fstat(fileno(f), &st) == 0 && at >= 0 && st.st_size >= at
                     ? (size_t)(st.st_size - at)
                     : 0;
    if (m->payload_len <= got) {
        m->payload = malloc(m->payload_len);
        got = m->payload ? fread(m->payload, 1, m->payload_len, f) : 0;
    }
    if (got != m->payload_len) {
        char why[128];
        snprintf(why, sizeof why, "the payload is truncated (%zu of %zu bytes)", got,
                 m->payload_len);
        return fail(err, n, name, why);
    }
    if (fgetc(f) != EOF)
        return fail(err, n, name, "there are bytes after the payload");
    return 0;
}

int modelfile_read(const char *path, const char *name, modelfile *m, char *err, size_t n)
{
    memset(m, 0, sizeof *m);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, n, "cannot open %s: %s", name, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = read_magic(f, name, err, n);
    if (rc == 0 && ((len = getline(&line, &cap, f)) <= 1 || (size_t)len > MODELFILE_META_MAX))
        rc = fail(err, n, name, "its metadata line is missing or too long");
    json_error_t jerr;
    if (rc == 0 && !(m->meta = json_loads(line, JSON_REJECT_DUPLICATES, &jerr)))
        rc = fail(err, n, name, "its metadata is not JSON");
    if (rc == 0)
        rc = parse_meta(m, name, err, n);
    if (rc == 0)
        rc = read_payload(f, m, name, err, n);
    free(line);
    fclose(f);
    if (rc < 0)
        modelfile_free(m);
    return rc;
}

void modelfile_free(modelfile *m)
{
    json_decref(m->meta);
    free(m->features);
    free(m->classes);
    free(m->payload);
    memset(m, 0, sizeof *m);
}
