/* Commands about the catalogue itself: events (a run's audit trail), backup, restore and
 * check. backup, restore and check work on the state directory (--state), on the machine
 * that holds it; events asks a scheduler or reads the local catalogue. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/gc.h"
#include "catalog/store.h"
#include "cli/cli.h"
#include "common/units.h"
#include "common/xmem.h"

#define EVENTS_PAGE 1000

/* "2026-12-01T19:06:15.123Z" */
static const char *rfc3339(int64_t us, char *buf, size_t n)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + len, n - len, ".%03dZ", (int)(us / 1000 % 1000));
    return buf;
}

static void print_event(const json_t *e)
{
    char ts[40];
    const char *task = cli_str(e, "task"), *detail = cli_str(e, "detail");
    printf("%s  %-20s %-16s %s\n", rfc3339(json_integer_value(json_object_get(e, "ts_us")), ts,
                                          sizeof ts),
           *task ? task : "-", cli_str(e, "kind"), detail);
}

int cmd_events(cli_opts *o)
{
    uint64_t run = 0;
    if (o->nargs != 1 || units_uint(o->args[0], 1, INT64_MAX, &run) < 0) {
        fprintf(stderr, "weft: events takes RUN (a run id)\n");
        return EXIT_USAGE;
    }
    source *s = NULL;
    int rc = source_open(o, &s);
    if (rc)
        return rc;
    weft_err err = {0};
    /* The run must exist: an empty trail would otherwise look like a quiet run. */
    json_t *row = source_run(s, run, 1, 1, &err);
    json_t *all = row ? json_array() : NULL;
    uint64_t after = 0;
    for (size_t got = EVENTS_PAGE; all && got >= EVENTS_PAGE;) {
        json_t *page = source_query(s, WEFT__QUERY_KIND__QUERY_EVENTS, run, NULL, after, &err);
        if (!page) {
            json_decref(all);
            all = NULL;
            break;
        }
        got = json_array_size(page);
        size_t i;
        json_t *e;
        json_array_foreach(page, i, e) {
            after = (uint64_t)json_integer_value(json_object_get(e, "seq"));
            if (!o->json)
                print_event(e);
            json_array_append(all, e);
        }
        json_decref(page);
        if (!got)
            break;
    }
    if (!all) {
        rc = cli_exit_for(&err);
    } else if (o->json) {
        char *text = json_dumps(all, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
    }
    json_decref(all);
    json_decref(row);
    source_close(&s);
    return rc;
}

/* backup, restore and check read the state directory itself. */
static int local_only(const cli_opts *o, const char *cmd)
{
    if (!o->scheduler)
        return 0;
    fprintf(stderr, "weft %s: works on the state directory; run it on the scheduler's machine "
            "with --state DIR (not --scheduler)\n", cmd);
    return EXIT_USAGE;
}

int cmd_backup(cli_opts *o)
{
    if (o->nargs != 1) {
        fprintf(stderr, "weft backup: takes DEST (a new file, or a directory for catalog.db)\n");
        return EXIT_USAGE;
    }
    if (local_only(o, "backup"))
        return EXIT_USAGE;
    struct stat st;
    char *dest = stat(o->args[0], &st) == 0 && S_ISDIR(st.st_mode)
                     ? xasprintf("%s/catalog.db", o->args[0])
                     : xstrdup(o->args[0]);
    weft_err err = {0};
    int rc = catalog_backup(o->state, dest, &err);
    if (rc == 0)
        printf("backed up %s/catalog.db to %s (artifacts stay in %s/artifacts: they are "
               "immutable, copy them with cp -a or rsync)\n", o->state, dest, o->state);
    else
        fprintf(stderr, "weft backup: %s\n", err.msg);
    free(dest);
    return rc ? EXIT_USAGE : EXIT_OK;
}

int cmd_restore(cli_opts *o)
{
    if (o->nargs != 1) {
        fprintf(stderr, "weft restore: takes BACKUP (a file made by weft backup)\n");
        return EXIT_USAGE;
    }
    if (local_only(o, "restore"))
        return EXIT_USAGE;
    /* The scheduler's lock: no scheduler may run on the catalogue being replaced. */
    char *lock = xasprintf("%s/scheduler.lock", o->state);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
        fprintf(stderr, "weft restore: %s is in use by a running scheduler (%s); stop it "
                "first\n", o->state, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(lock);
        return EXIT_USAGE;
    }
    weft_err err = {0};
    char *kept = NULL;
    int rc = catalog_restore(o->state, o->args[0], &kept, &err);
    if (rc == 0)
        printf("restored %s/catalog.db from %s%s%s; ids go on after every id issued before\n",
               o->state, o->args[0], kept ? "; the replaced file is kept as " : "",
               kept ? kept : "");
    else
        fprintf(stderr, "weft restore: %s; nothing was changed\n", err.msg);
    free(kept);
    close(fd);
    free(lock);
    return rc ? EXIT_USAGE : EXIT_OK;
}

int cmd_check(cli_opts *o)
{
    if (o->nargs || local_only(o, "check")) {
        if (o->nargs)
            fprintf(stderr, "weft check: takes only options (--state DIR, --full, --json)\n");
        return EXIT_USAGE;
    }
    catalog *cat = NULL;
    store *st = NULL;
    weft_err err = {0}, db = {0}, hist = {0};
    char *where = store_location_of_state(o->state), *db_path = xasprintf("%s/catalog.db",
                                                                            o->state);
    int missing = access(db_path, F_OK) < 0;
    free(db_path);
    if (missing || catalog_open(o->state, CATALOG_READONLY | CATALOG_ANY_VERSION, &cat, &err) < 0 ||
        store_open(where, &st, &err) < 0) {
        fprintf(stderr, "weft check: %s\n", missing ? "no catalogue in that state directory"
                                                    : err.msg);
        free(where);
        catalog_close(&cat);
        return missing ? EXIT_USAGE : EXIT_RUN_FAILED;
    }
    free(where);
    catalog_check(cat, o->full, &db);
    catalog_check_history(cat, &hist);
    gc_check_report r = {0};
    int rc = db.code || hist.code ? 0 : gc_check(cat, st, &r, &err);
    int bad = db.code || hist.code || rc || r.corrupt;
    if (o->json) {
        json_t *j = json_pack("{s:b, s:s?, s:s?, s:{s:I, s:I, s:I, s:I}, s:O?}", "ok", !bad,
                              "database", db.code ? db.msg : NULL, "history",
                              hist.code ? hist.msg : NULL, "artifacts", "referenced",
                              (json_int_t)r.referenced, "ok", (json_int_t)r.ok, "missing",
                              (json_int_t)r.missing, "corrupt", (json_int_t)r.corrupt,
                              "problems", r.problems);
        char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
        json_decref(j);
    } else {
        printf("database (%s): %s\n", o->full ? "integrity_check" : "quick_check",
               db.code ? db.msg : "ok");
        printf("history: %s\n", hist.code ? hist.msg : "ok (catalog.marks and logs/ agree)");
        if (!db.code && !hist.code)
            printf("artifacts: %llu referenced, %llu verified, %llu missing, %llu corrupt\n",
                   (unsigned long long)r.referenced, (unsigned long long)r.ok,
                   (unsigned long long)r.missing, (unsigned long long)r.corrupt);
        size_t i;
        json_t *p;
        json_array_foreach(r.problems, i, p)
            printf("  %s\n", json_string_value(p));
        if (r.missing && !r.corrupt)
            printf("(missing blobs are expected after weft gc --expire; a task that needs one "
                   "computes it again)\n");
    }
    if (rc)
        fprintf(stderr, "weft check: %s\n", err.msg);
    gc_check_report_free(&r);
    store_close(&st);
    catalog_close(&cat);
    return bad ? EXIT_RUN_FAILED : EXIT_OK;
}
