/* example: a complete small weft plugin, the one docs/plugins.md walks through.
 *
 * example.wordcount counts the words of a text file, leaving out common English words, and
 * reports the most frequent. It shows the parts of the plugin ABI a real plugin uses:
 *
 *   - typed inputs and outputs, declared so workflows are checked before anything runs;
 *   - a file input, read through the path the host verified against its hash;
 *   - open()/close(): state loaded once per executor (the stopword set) and kept across
 *     tasks; `served` counts the tasks this executor's state has seen;
 *   - checkpoints: every `every` lines it saves its counts, and a retried attempt resumes
 *     from the last save (`resumed_at` says where) instead of starting over;
 *   - failures with messages that say what is wrong with which input.
 *
 * Build it in weft's tree (plugins/CMakeLists.txt), or alone against an installed weft:
 *   cmake -S plugins/example -B build-example && cmake --build build-example */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weft/plugin.h>

#define WORD_MAX 64

/* ---- a word -> count table (open addressing) ---- */

typedef struct entry {
    char *word;
    long count;
} entry;

typedef struct table {
    entry *slots;
    size_t cap, n;
} table;

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static entry *slot_of(const table *t, const char *word)
{
    size_t i = hash(word) & (t->cap - 1);
    while (t->slots[i].word && strcmp(t->slots[i].word, word) != 0)
        i = (i + 1) & (t->cap - 1);
    return &t->slots[i];
}

static void table_add(table *t, const char *word, long count)
{
    if (2 * (t->n + 1) > t->cap) {
        table bigger = {calloc(t->cap ? 2 * t->cap : 1024, sizeof(entry)),
                        t->cap ? 2 * t->cap : 1024, t->n};
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].word)
                *slot_of(&bigger, t->slots[i].word) = t->slots[i];
        free(t->slots);
        *t = bigger;
    }
    entry *e = slot_of(t, word);
    if (!e->word) {
        e->word = strdup(word);
        t->n++;
    }
    e->count += count;
}

static int table_has(const table *t, const char *word)
{
    return t->cap && slot_of(t, word)->word != NULL;
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].word);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ---- open/close: the state kept across tasks ---- */

typedef struct state {
    table stopwords;
    long served; /* tasks run with this state */
} state;

static const char *const stopwords[] = {
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have",
    "he", "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was",
    "were", "which", "will", "with", "you", "not", "can", "if", "we", "they", "i", NULL};

static int wordcount_open(weft_ctx *ctx, void **out)
{
    state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(ctx, "example.wordcount: out of memory");
    for (size_t i = 0; stopwords[i]; i++)
        table_add(&s->stopwords, stopwords[i], 1);
    weft_log(ctx, "example.wordcount: opened (%zu stopwords)", s->stopwords.n);
    *out = s;
    return WEFT_OK;
}

static void wordcount_close(void *p)
{
    state *s = p;
    table_free(&s->stopwords);
    free(s);
}

/* ---- checkpoints: "example.wordcount 1 LINES\n" then "WORD COUNT" lines ---- */

static int save_checkpoint(weft_ctx *ctx, const table *counts, long lines)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/wordcount.checkpoint", weft_info(ctx, "workdir"));
    FILE *f = fopen(path, "w");
    if (!f)
        return weft_fail(ctx, "example.wordcount: cannot write %s: %s", path, strerror(errno));
    fprintf(f, "example.wordcount 1 %ld\n", lines);
    for (size_t i = 0; i < counts->cap; i++)
        if (counts->slots[i].word)
            fprintf(f, "%s %ld\n", counts->slots[i].word, counts->slots[i].count);
    if (fclose(f) != 0)
        return weft_fail(ctx, "example.wordcount: cannot write %s", path);
    int rc = weft_checkpoint_save(ctx, path);
    if (rc != WEFT_OK) /* not fatal: a retry would only start over */
        weft_log(ctx, "example.wordcount: checkpoint not saved (%d)", rc);
    return WEFT_OK;
}

/* Loads the last checkpoint, if an earlier attempt saved one; returns the lines it covers. */
static long load_checkpoint(weft_ctx *ctx, table *counts)
{
    const char *path;
    if (weft_checkpoint(ctx, &path) != WEFT_OK)
        return 0;
    FILE *f = fopen(path, "r");
    long lines = 0, count;
    char word[WORD_MAX + 1];
    if (!f || fscanf(f, "example.wordcount 1 %ld\n", &lines) != 1) {
        weft_log(ctx, "example.wordcount: the checkpoint is not ours; starting over");
        if (f)
            fclose(f);
        return 0;
    }
    while (fscanf(f, "%64s %ld\n", word, &count) == 2)
        table_add(counts, word, count);
    fclose(f);
    weft_log(ctx, "example.wordcount: resuming at line %ld", lines);
    return lines;
}

/* ---- run ---- */

typedef struct params {
    const char *path;
    int64_t top, every, crash_after;
} params;

static int read_params(weft_ctx *ctx, params *p)
{
    *p = (params){.top = 10, .every = 1000, .crash_after = -1};
    if (weft_input_path(ctx, "text", &p->path) != WEFT_OK)
        return weft_fail(ctx, "example.wordcount: input 'text' is not a readable file");
    weft_input_int(ctx, "top", &p->top);
    weft_input_int(ctx, "every", &p->every);
    weft_input_int(ctx, "crash_after", &p->crash_after);
    if (p->top < 1 || p->top > 1000)
        return weft_fail(ctx, "example.wordcount: top must be 1 to 1000, not %lld",
                         (long long)p->top);
    if (p->every < 1)
        return weft_fail(ctx, "example.wordcount: every must be at least 1, not %lld",
                         (long long)p->every);
    return WEFT_OK;
}

static void count_line(const char *line, const table *stop, table *counts)
{
    char w[WORD_MAX + 1];
    size_t n = 0;
    for (const char *c = line;; c++) {
        if (isalnum((unsigned char)*c)) {
            if (n < WORD_MAX)
                w[n++] = (char)tolower((unsigned char)*c);
            continue;
        }
        w[n] = '\0';
        if (n && !table_has(stop, w))
            table_add(counts, w, 1);
        n = 0;
        if (!*c)
            return;
    }
}

static int by_count(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->word, y->word);
}

static int set_outputs(weft_ctx *ctx, const table *counts, long resumed, long served,
                       int64_t top)
{
    entry *all = malloc((counts->n ? counts->n : 1) * sizeof *all);
    size_t n = 0;
    long total = 0;
    for (size_t i = 0; i < counts->cap; i++)
        if (counts->slots[i].word) {
            all[n++] = counts->slots[i];
            total += counts->slots[i].count;
        }
    qsort(all, n, sizeof *all, by_count);
    /* Words are lowercase letters and digits, so they need no JSON escaping; an entry is
     * at most WORD_MAX + 48 bytes. */
    size_t cap = 8 + (size_t)top * (WORD_MAX + 64), len = 0;
    char *json = malloc(cap);
    len += (size_t)snprintf(json, cap, "[");
    for (size_t i = 0; i < n && i < (size_t)top; i++)
        len += (size_t)snprintf(json + len, cap - len, "%s{\"word\": \"%s\", \"count\": %ld}",
                                i ? ", " : "", all[i].word, all[i].count);
    snprintf(json + len, cap - len, "]");
    int rc = weft_output_int(ctx, "words", total) == WEFT_OK &&
             weft_output_int(ctx, "distinct", (int64_t)n) == WEFT_OK &&
             weft_output_json(ctx, "top", json) == WEFT_OK &&
             weft_output_int(ctx, "resumed_at", resumed) == WEFT_OK &&
             weft_output_int(ctx, "served", served) == WEFT_OK ? WEFT_OK : WEFT_FAIL;
    free(json);
    free(all);
    return rc;
}

static int wordcount_run(weft_ctx *ctx)
{
    state *st = weft_state(ctx);
    params p;
    if (read_params(ctx, &p) != WEFT_OK)
        return WEFT_FAIL;
    FILE *f = fopen(p.path, "r");
    if (!f)
        return weft_fail(ctx, "example.wordcount: cannot read 'text': %s", strerror(errno));
    table counts = {0};
    long resumed = load_checkpoint(ctx, &counts), lineno = 0;
    int rc = WEFT_OK;
    char *line = NULL;
    size_t cap = 0;
    while (rc == WEFT_OK && getline(&line, &cap, f) >= 0) {
        if (++lineno <= resumed)
            continue;
        count_line(line, &st->stopwords, &counts);
        if (lineno % p.every == 0)
            rc = save_checkpoint(ctx, &counts, lineno);
        if (!resumed && lineno == p.crash_after)
            _exit(3); /* crash_after: die as a crashing plugin would, for tests */
        if (weft_cancelled(ctx))
            rc = weft_fail(ctx, "example.wordcount: cancelled at line %ld", lineno);
    }
    free(line);
    fclose(f);
    st->served++;
    if (rc == WEFT_OK)
        rc = set_outputs(ctx, &counts, resumed, st->served, p.top);
    table_free(&counts);
    return rc;
}

static const weft_port wordcount_in[] = {
    {"text", "file", 0, "a UTF-8 or ASCII text file"},
    {"top", "int", WEFT_PORT_OPTIONAL, "how many of the most frequent words to report (10)"},
    {"every", "int", WEFT_PORT_OPTIONAL, "lines between checkpoints (1000)"},
    {"crash_after", "int", WEFT_PORT_OPTIONAL,
     "for tests: an attempt that starts from the beginning exits after this line"},
    {NULL, NULL, 0, NULL}};
static const weft_port wordcount_out[] = {
    {"words", "int", 0, "words counted (common English words left out)"},
    {"distinct", "int", 0, "different words"},
    {"top", "json", 0, "[{word, count}], most frequent first"},
    {"resumed_at", "int", 0, "the line this attempt resumed after (0: from the start)"},
    {"served", "int", 0, "tasks this executor's open() state has served"},
    {NULL, NULL, 0, NULL}};

static const weft_task_type types[] = {
    {.name = "example.wordcount", .version = "1", .inputs = wordcount_in,
     .outputs = wordcount_out, .run = wordcount_run, .open = wordcount_open,
     .close = wordcount_close},
    {.name = NULL}};

WEFT_PLUGIN_DECLARE("example", "1.0.0", types)
