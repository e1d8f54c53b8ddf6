/* weft gc: garbage collection of the artifact store in the state directory.
 *
 *   weft gc [--dry-run] [--grace DURATION] [--expire DURATION] [--json]
 *
 * Removes the blobs nothing in the catalogue references, unfinished writes and quarantined
 * blobs, once older than the grace period (default 1h). With --expire, runs that finished
 * longer ago than DURATION no longer keep their artifacts alive (their history stays; cache
 * entries still keep theirs until evicted). Like `weft cache`, it works on the state
 * directory (--state), and can run while the scheduler does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/gc.h"
#include "cli/cli.h"
#include "common/clock.h"
#include "common/units.h"
#include "common/xmem.h"

#define GRACE_DEFAULT_MS (3600 * 1000LL)

static json_t *report_json(const gc_options *g, const cli_opts *o, const gc_report *r)
{
    json_t *j = json_pack(
        "{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:I, s:I, s:I}",
        "dry_run", g->dry_run, "grace_ms", (json_int_t)(g->grace_us / 1000), "runs_kept",
        (json_int_t)r->roots.runs_kept, "runs_expired", (json_int_t)r->roots.runs_expired,
        "cache_entries", (json_int_t)r->roots.cache_entries, "live", (json_int_t)r->live,
        "missing", (json_int_t)r->missing, "removed", "blobs",
        (json_int_t)r->count[STORE_BLOB], "blob_bytes", (json_int_t)r->bytes[STORE_BLOB],
        "partial", (json_int_t)r->count[STORE_PARTIAL], "partial_bytes",
        (json_int_t)r->bytes[STORE_PARTIAL], "quarantined",
        (json_int_t)r->count[STORE_QUARANTINED], "quarantined_bytes",
        (json_int_t)r->bytes[STORE_QUARANTINED], "young", (json_int_t)r->young, "young_bytes",
        (json_int_t)r->young_bytes, "rewritten", (json_int_t)r->rewritten);
    json_object_set_new(j, "expire_ms", o->expire_ms < 0 ? json_null()
                                                         : json_integer(o->expire_ms));
    json_object_set(j, "entries", r->removed);
    return j;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static void print_report(const gc_options *g, const cli_opts *o, const gc_report *r)
{
    char b[3][32], t[32];
    const char *verb = g->dry_run ? "would remove" : "removed";
    size_t i;
    json_t *e;
    if (g->dry_run)
        json_array_foreach(r->removed, i, e)
            printf("  %-11s  %s  %s\n", cli_str(e, "kind"), cli_str(e, "name"),
                   units_format_bytes((uint64_t)json_integer_value(json_object_get(e, "size")),
                                      b[0], sizeof b[0]));
    printf("live: %llu %s, referenced by %lld %s and %lld cache %s",
           (unsigned long long)r->live, plural(r->live, "artifact", "artifacts"),
           (long long)r->roots.runs_kept, plural((uint64_t)r->roots.runs_kept, "run", "runs"),
           (long long)r->roots.cache_entries,
           plural((uint64_t)r->roots.cache_entries, "entry", "entries"));
    if (o->expire_ms >= 0)
        printf(" (%lld %s finished more than %s ago expired)", (long long)r->roots.runs_expired,
               plural((uint64_t)r->roots.runs_expired, "run", "runs"),
               units_format_ms(o->expire_ms, t, sizeof t));
    printf("\n");
    if (r->missing)
        printf("missing: %llu referenced %s not in the store (tasks that need them run "
               "again)\n", (unsigned long long)r->missing,
               plural(r->missing, "artifact is", "artifacts are"));
    for (int k = 0; k < 3; k++)
        units_format_bytes(r->bytes[k], b[k], sizeof b[k]);
    printf("%s: %llu unreferenced %s (%s), %llu unfinished %s (%s), %llu quarantined %s (%s)\n",
           verb, (unsigned long long)r->count[STORE_BLOB],
           plural(r->count[STORE_BLOB], "artifact", "artifacts"), b[STORE_BLOB],
           (unsigned long long)r->count[STORE_PARTIAL],
           plural(r->count[STORE_PARTIAL], "write", "writes"), b[STORE_PARTIAL],
           (unsigned long long)r->count[STORE_QUARANTINED],
           plural(r->count[STORE_QUARANTINED], "blob", "blobs"), b[STORE_QUARANTINED]);
    if (r->young || r->rewritten)
        printf("kept: %llu unreferenced %s (%s) written in the last %s%s\n",
               (unsigned long long)(r->young + r->rewritten),
               plural(r->young + r->rewritten, "entry", "entries"),
               units_format_bytes(r->young_bytes, b[0], sizeof b[0]),
               units_format_ms(g->grace_us / 1000, t, sizeof t),
               r->rewritten ? ", or rewritten while collecting" : "");
}

/* The catalogue, which must exist: against an empty one every blob would be garbage. */
static int open_catalog(const cli_opts *o, catalog **cat)
{
    weft_err err = {0};
    char *path = xasprintf("%s/catalog.db", o->state);
    int rc = access(path, F_OK) < 0
                 ? err_set(&err, WEFT_ENOTFOUND, "no catalogue at %s: %s", path, strerror(errno))
                 : catalog_open(o->state, o->dry_run, cat, &err);
    free(path);
    if (rc < 0)
        fprintf(stderr, "weft gc: %s; nothing was collected\n", err.msg);
    return rc < 0 ? EXIT_USAGE : EXIT_OK;
}

int cmd_gc(cli_opts *o)
{
    if (o->nargs) {
        fprintf(stderr, "weft gc: unexpected argument '%s' (gc takes only options)\n",
                o->args[0]);
        return EXIT_USAGE;
    }
    catalog *cat = NULL;
    int code = open_catalog(o, &cat);
    if (code)
        return code;
    store *st = NULL;
    weft_err err = {0};
    char *where = store_location_of_state(o->state);
    if (store_open(where, &st, &err) < 0) {
        fprintf(stderr, "weft gc: %s\n", err.msg);
        free(where);
        catalog_close(&cat);
        return EXIT_USAGE;
    }
    free(where);
    int64_t now = clock_wall_us();
    gc_options g = {.dry_run = o->dry_run, .now_us = now,
                    .grace_us = (o->grace_ms < 0 ? GRACE_DEFAULT_MS : o->grace_ms) * 1000,
                    .expire_before_us = o->expire_ms < 0 ? 0 : now - o->expire_ms * 1000};
    gc_report r;
    int rc = gc_collect(cat, st, &g, &r, &err);
    int show = rc == 0 || json_array_size(r.removed) > 0; /* else the error says it all */
    if (show && o->json) {
        json_t *j = report_json(&g, o, &r);
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(j);
    } else if (show) {
        print_report(&g, o, &r);
    }
    if (rc)
        fprintf(stderr, "weft gc: %s\n", err.msg);
    gc_report_free(&r);
    store_close(&st);
    catalog_close(&cat);
    return rc ? cli_exit_for(&err) : EXIT_OK;
}
