/* weft cache: the memoization cache in the state directory's catalogue.
 *
 *   weft cache ls [--workflow W] [--task T] [--project P]   entries, newest first
 *   weft cache show KEY                       one entry (a unique key prefix), with inputs
 *                                             and outputs
 *   weft cache evict KEY | --workflow W [--task T] | --project P | --all
 *   weft cache explain RUN TASK               why TASK of RUN hit or missed: which part of
 *                                             its key differs from the nearest earlier entry
 *
 * These read (and evict writes) the catalogue directly, so they run where the scheduler's
 * state directory is (--state). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "catalog/store.h"
#include "cli/cli.h"
#include "common/units.h"
#include "common/xmem.h"
#include "compiler/cachekey.h"

static int open_catalog(const cli_opts *o, int readonly, catalog **cat)
{
    weft_err err = {0};
    if (catalog_open(o->state, readonly, cat, &err) < 0) {
        fprintf(stderr, "weft: %s\n", err.msg);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static const char *when(int64_t us, char *buf, size_t n)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

static int cache_ls(const cli_opts *o, catalog *cat)
{
    weft_err err = {0};
    catalog_cache_filter f = {.workflow = o->workflow, .task = o->task, .project = o->project};
    json_t *rows = catalog_query_cache(cat, &f, 1000, &err);
    if (!rows) {
        fprintf(stderr, "weft: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (o->json) {
        cli_print_json(rows);
    } else {
        printf("%-16s  %-12s  %-20s  %-16s  %-10s  %5s  %4s  %s\n", "KEY", "PROJECT",
               "WORKFLOW", "TASK", "TYPE", "RUN", "HITS", "CREATED (UTC)");
        size_t i;
        json_t *r;
        char tb[32];
        json_array_foreach(rows, i, r) {
            printf("%-16.16s  %-12s  %-20s  %-16s  %-10s  %5lld  %4lld  %s\n",
                   json_string_value(json_object_get(r, "key")),
                   json_string_value(json_object_get(r, "project")),
                   json_string_value(json_object_get(r, "workflow")),
                   json_string_value(json_object_get(r, "task")),
                   json_string_value(json_object_get(r, "type")),
                   (long long)json_integer_value(json_object_get(r, "run_id")),
                   (long long)json_integer_value(json_object_get(r, "hits")),
                   when(json_integer_value(json_object_get(r, "created_us")), tb, sizeof tb));
        }
        printf("%zu entr%s\n", json_array_size(rows), json_array_size(rows) == 1 ? "y" : "ies");
    }
    json_decref(rows);
    return EXIT_OK;
}

static int cache_show(const cli_opts *o, catalog *cat)
{
    if (o->nargs != 2 || !*o->args[1]) {
        fprintf(stderr, "weft: cache show takes a key (or a unique prefix of one)\n");
        return EXIT_USAGE;
    }
    weft_err err = {0};
    json_t *rows = catalog_query_cache_entry(cat, o->args[1], &err);
    int rc = EXIT_OK;
    if (!rows) {
        fprintf(stderr, "weft: %s\n", err.msg);
        rc = EXIT_USAGE;
    } else if (json_array_size(rows) != 1) {
        fprintf(stderr, "weft: %s cache entry matches '%s'\n",
                json_array_size(rows) ? "more than one" : "no", o->args[1]);
        rc = EXIT_USAGE;
    } else {
        cli_print_json(json_array_get(rows, 0));
    }
    json_decref(rows);
    return rc;
}

static int cache_evict(const cli_opts *o, catalog *cat)
{
    const char *prefix = o->nargs == 2 ? o->args[1] : NULL;
    if (o->nargs > 2 || (!prefix && !o->workflow && !o->project && !o->all) ||
        (prefix && !*prefix)) {
        fprintf(stderr, "weft: cache evict takes a key, --workflow W [--task T], --project P, "
                        "or --all\n");
        return EXIT_USAGE;
    }
    weft_err err = {0};
    catalog_cache_filter f = {.prefix = prefix, .workflow = o->workflow, .task = o->task,
                              .project = o->project};
    int64_t n = catalog_cache_evict(cat, &f, &err);
    if (n < 0) {
        fprintf(stderr, "weft: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (o->json)
        printf("{\"evicted\": %lld}\n", (long long)n);
    else
        printf("evicted %lld cache entr%s\n", (long long)n, n == 1 ? "y" : "ies");
    return EXIT_OK;
}

/* ---- explain ---- */

static void add_diff(json_t *diffs, const char *what, const json_t *before, const json_t *after)
{
    json_array_append_new(diffs, json_pack("{s:s, s:O, s:O}", "component", what, "before",
                                           before ? before : json_null(), "after",
                                           after ? after : json_null()));
}

#define MAX_DIFFS 20

/* Adds the leaves where before and after differ, each named by its path ('env'.TEXT,
 * 'argv'[4]); an artifact is a leaf (its hash is what counts). top: the inputs object,
 * whose keys are input names. */
static void diff_values(json_t *diffs, const char *path, const json_t *before,
                        const json_t *after, int top)
{
    if (json_array_size(diffs) >= MAX_DIFFS || json_equal(before, after))
        return;
    char sub[300];
    const char *k;
    json_t *v;
    int leaf_b = !json_is_object(before) || json_object_get(before, "artifact");
    int leaf_a = !json_is_object(after) || json_object_get(after, "artifact");
    if (!leaf_b && !leaf_a) {
        json_object_foreach((json_t *)after, k, v) {
            snprintf(sub, sizeof sub, top ? "%s'%s'" : "%s.%s", path, k);
            diff_values(diffs, sub, json_object_get(before, k), v, 0);
        }
        json_object_foreach((json_t *)before, k, v) {
            snprintf(sub, sizeof sub, top ? "%s'%s'" : "%s.%s", path, k);
            if (!json_object_get(after, k))
                diff_values(diffs, sub, v, NULL, 0);
        }
        return;
    }
    if (json_is_array(before) && json_is_array(after) &&
        json_array_size(before) == json_array_size(after)) {
        for (size_t i = 0; i < json_array_size(after); i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            diff_values(diffs, sub, json_array_get(before, i), json_array_get(after, i), 0);
        }
        return;
    }
    add_diff(diffs, path, before, after);
}

/* The differences between two key components objects, in key order. */
static json_t *key_diffs(const json_t *then, const json_t *now)
{
    json_t *diffs = json_array();
    static const char *const scalars[] = {"type", "version", "cache_version"};
    for (size_t i = 0; i < 3; i++)
        if (!json_equal(json_object_get(then, scalars[i]), json_object_get(now, scalars[i])))
            add_diff(diffs, scalars[i], json_object_get(then, scalars[i]),
                     json_object_get(now, scalars[i]));
    diff_values(diffs, "input ", json_object_get(then, "inputs"), json_object_get(now, "inputs"),
                1);
    return diffs;
}

/* One side of a difference, shortened for a terminal: artifacts by their hash. */
static char *brief(const json_t *v)
{
    if (!v || json_is_null(v))
        return xstrdup("(absent)");
    const char *hex = json_string_value(json_object_get(v, "artifact"));
    if (hex)
        return xasprintf("artifact %.16s", hex);
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (strlen(s) > 72)
        memcpy(s + 69, "...", 4);
    return s;
}

static json_t *explain(const json_t *row)
{
    json_t *out = json_pack("{s:O, s:O, s:O, s:O}", "task", json_object_get(row, "task"), "state",
                            json_object_get(row, "state"), "key", json_object_get(row, "key"),
                            "source", json_object_get(row, "source"));
    const char *key = json_string_value(json_object_get(row, "key"));
    const json_t *near = json_object_get(row, "nearest");
    if (!key) {
        json_object_set_new(out, "verdict", json_string("not memoized: the task has no "
                                                        "cache: setting, or never became ready"));
        return out;
    }
    const char *via = json_string_value(json_object_get(row, "source"));
    json_t *now = cachekey_components(json_string_value(json_object_get(row, "type")),
                                      json_string_value(json_object_get(row, "type_version")),
                                      json_string_value(json_object_get(row, "cache_version")),
                                      json_string_value(json_object_get(row, "project")),
                                      json_object_get(row, "inputs"));
    json_object_set_new(out, "components", json_incref(now));
    if (via && strcmp(via, "computed") != 0) {
        json_object_set_new(out, "verdict",
                            json_pack("s", !strcmp(via, "cache") ? "hit" : "reused in flight"));
        json_object_set(out, "from_run", json_object_get(row, "source_run"));
    } else if (!json_is_object(near)) {
        json_object_set_new(out, "verdict",
                            json_string("miss: no earlier cache entry for this workflow and "
                                        "task"));
    } else {
        json_t *then = cachekey_components(
            json_string_value(json_object_get(near, "type")),
            json_string_value(json_object_get(near, "type_version")),
            json_string_value(json_object_get(near, "cache_version")),
            json_string_value(json_object_get(row, "project")), json_object_get(near, "inputs"));
        json_t *diffs = key_diffs(then, now);
        json_object_set_new(out, "verdict",
                            json_string(json_array_size(diffs)
                                            ? "miss: the key differs from the nearest entry"
                                            : "miss: same key as the nearest entry, which did "
                                              "not exist, or was evicted or invalid, when this "
                                              "task looked"));
        json_object_set_new(out, "nearest", json_pack("{s:O, s:O}", "key",
                                                      json_object_get(near, "key"), "run",
                                                      json_object_get(near, "run_id")));
        json_object_set_new(out, "differences", diffs);
        json_decref(then);
    }
    json_decref(now);
    return out;
}

static int cache_explain(const cli_opts *o, catalog *cat)
{
    uint64_t run;
    if (o->nargs != 3 || units_uint(o->args[1], 1, INT64_MAX, &run) < 0) {
        fprintf(stderr, "weft: cache explain takes a run id and a task name\n");
        return EXIT_USAGE;
    }
    weft_err err = {0};
    json_t *row = catalog_query_cache_explain(cat, (int64_t)run, o->args[2], &err);
    if (!row) {
        fprintf(stderr, "weft: %s\n", err.msg);
        return EXIT_USAGE;
    }
    json_t *x = explain(row);
    json_decref(row);
    if (o->json) {
        cli_print_json(x);
        json_decref(x);
        return EXIT_OK;
    }
    printf("run %llu task %s: %s\n", (unsigned long long)run, o->args[2],
           json_string_value(json_object_get(x, "verdict")));
    if (json_object_get(x, "key"))
        printf("  key      %s\n", json_string_value(json_object_get(x, "key")));
    if (json_is_integer(json_object_get(x, "from_run")))
        printf("  outputs  from run %lld\n",
               (long long)json_integer_value(json_object_get(x, "from_run")));
    const json_t *near = json_object_get(x, "nearest");
    if (json_is_object(near))
        printf("  nearest  %s (run %lld)\n", json_string_value(json_object_get(near, "key")),
               (long long)json_integer_value(json_object_get(near, "run")));
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(x, "differences"), i, d) {
        char *b = brief(json_object_get(d, "before")), *a = brief(json_object_get(d, "after"));
        printf("  changed  %s: %s -> %s\n", json_string_value(json_object_get(d, "component")),
               b, a);
        free(b);
        free(a);
    }
    json_decref(x);
    return EXIT_OK;
}

int cmd_cache(cli_opts *o)
{
    static const struct {
        const char *name;
        int (*fn)(const cli_opts *, catalog *);
        int readonly;
    } subs[] = {{"ls", cache_ls, 1},
                {"show", cache_show, 1},
                {"evict", cache_evict, 0},
                {"explain", cache_explain, 1}};
    for (size_t i = 0; o->nargs && i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(o->args[0], subs[i].name) != 0)
            continue;
        catalog *cat = NULL;
        int rc = open_catalog(o, subs[i].readonly, &cat);
        if (rc == EXIT_OK)
            rc = subs[i].fn(o, cat);
        catalog_close(&cat);
        return rc;
    }
    fprintf(stderr, "weft: cache takes ls, show KEY, evict KEY|--workflow W|--all, or "
                    "explain RUN TASK\n");
    return EXIT_USAGE;
}
