/* gc: garbage collection of the artifact store. See gc.h. */
#include "catalog/gc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strmap.h"
#include "common/xmem.h"

/* Values in the live set: referenced, and referenced and found in the store. */
static char referenced, found;

typedef struct collector {
    store *s;
    const gc_options *o;
    gc_report *r;
    strmap *live;         /* hash -> &referenced | &found */
    store_entry *garbage; /* entries to remove, as listed (names owned) */
    size_t ngarbage, capgarbage;
    int rc;
    weft_err *err;
} collector;

const char *gc_kind_name(store_entry_kind k)
{
    return k == STORE_BLOB ? "blob" : k == STORE_PARTIAL ? "partial" : "quarantined";
}

static int mark(void *ud, const char *hex)
{
    collector *g = ud;
    if (!strmap_get(g->live, hex))
        strmap_put(g->live, hex, &referenced);
    return 0;
}

/* A reference keeps its blob alive and, for a directory, the files its manifest names. A
 * manifest that is missing or corrupt names nothing that can be read: its files are
 * garbage unless something else references them. */
static void mark_ref(void *ud, const json_t *ref)
{
    collector *g = ud;
    const char *hex = artref_hash(ref);
    if (g->rc || !hex || strmap_get(g->live, hex))
        return;
    strmap_put(g->live, hex, &referenced);
    if (!artref_is_dir(ref))
        return;
    weft_err e = {0};
    int rc = store_dir_blobs(g->s, ref, mark, g, &e);
    if (rc && rc != WEFT_ENOTFOUND && rc != WEFT_ECORRUPT)
        g->rc = err_set(g->err, rc, "%s", e.msg);
}

static int mark_doc(void *ud, const char *text)
{
    collector *g = ud;
    json_error_t je;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, &je);
    if (!doc)
        return err_set(g->err, WEFT_ECORRUPT, "the catalogue holds a document that is not "
                       "JSON (%s); nothing was collected", je.text);
    artref_each(doc, mark_ref, g);
    json_decref(doc);
    return g->rc;
}

static json_t *entry_json(const store_entry *e)
{
    return json_pack("{s:s, s:s, s:I, s:I}", "kind", gc_kind_name(e->kind), "name", e->name,
                     "size", (json_int_t)e->size, "mtime_us", (json_int_t)e->mtime_us);
}

/* Sorts one listed entry: live, young garbage, or garbage. */
static int classify(void *ud, const store_entry *e)
{
    collector *g = ud;
    if (e->kind == STORE_BLOB && strmap_get(g->live, e->name)) {
        strmap_put(g->live, e->name, &found);
        g->r->live++;
    } else if (e->mtime_us > g->o->now_us - g->o->grace_us) {
        g->r->young++;
        g->r->young_bytes += e->size;
    } else {
        if (g->ngarbage == g->capgarbage) {
            g->capgarbage = g->capgarbage ? 2 * g->capgarbage : 256;
            g->garbage = xrealloc(g->garbage, g->capgarbage * sizeof *g->garbage);
        }
        g->garbage[g->ngarbage] = *e;
        g->garbage[g->ngarbage++].name = xstrdup(e->name);
    }
    return 0;
}

/* Removes (or, in a dry run, counts) the garbage found. */
static int sweep(collector *g)
{
    for (size_t i = 0; i < g->ngarbage; i++) {
        const store_entry *e = &g->garbage[i];
        int kept = 0;
        if (!g->o->dry_run) {
            int rc = g->s->ops->remove(g->s, e, &kept, g->err);
            if (rc)
                return rc;
        }
        if (kept) {
            g->r->rewritten++;
            continue;
        }
        g->r->count[e->kind]++;
        g->r->bytes[e->kind] += e->size;
        json_array_append_new(g->r->removed, entry_json(e));
    }
    return 0;
}

static void record(catalog *c, const gc_report *r, int64_t now_us)
{
    char detail[256];
    snprintf(detail, sizeof detail,
             "removed %llu artifacts (%llu bytes), %llu unfinished writes, %llu quarantined; "
             "%lld runs expired",
             (unsigned long long)r->count[STORE_BLOB], (unsigned long long)r->bytes[STORE_BLOB],
             (unsigned long long)r->count[STORE_PARTIAL],
             (unsigned long long)r->count[STORE_QUARANTINED], (long long)r->roots.runs_expired);
    catalog_event(c, 0, NULL, "gc", detail, now_us);
    catalog_commit(c, NULL);
}

int gc_collect(catalog *c, store *s, const gc_options *o, gc_report *r, weft_err *err)
{
    memset(r, 0, sizeof *r);
    r->removed = json_array();
    collector g = {.s = s, .o = o, .r = r, .live = strmap_new(), .err = err};
    int rc = catalog_each_root(c, o->expire_before_us, mark_doc, &g, &r->roots, err);
    if (!rc)
        rc = s->ops->list(s, classify, &g, err);
    if (!rc) {
        size_t pos = 0;
        const char *k;
        void *v;
        while (strmap_next(g.live, &pos, &k, &v))
            r->missing += v == &referenced;
        rc = sweep(&g);
    }
    if (!o->dry_run && (rc == 0 || json_array_size(r->removed)))
        record(c, r, o->now_us);
    strmap_destroy(&g.live);
    for (size_t i = 0; i < g.ngarbage; i++)
        free((char *)g.garbage[i].name);
    free(g.garbage);
    return rc;
}

void gc_report_free(gc_report *r)
{
    json_decref(r->removed);
    r->removed = NULL;
}

/* ---- weft check ---- */

#define CHECK_PROBLEMS_MAX 100

typedef struct checker {
    store *s;
    gc_check_report *r;
    strmap *seen;
} checker;

static void check_ref(void *ud, const json_t *ref)
{
    checker *k = ud;
    const char *hex = artref_hash(ref);
    if (!hex || strmap_get(k->seen, hex))
        return;
    strmap_put(k->seen, hex, &found);
    k->r->referenced++;
    weft_err e = {0};
    int rc = store_verify(k->s, ref, &e);
    if (rc == 0) {
        k->r->ok++;
        return;
    }
    *(rc == WEFT_ENOTFOUND ? &k->r->missing : &k->r->corrupt) += 1;
    if (json_array_size(k->r->problems) < CHECK_PROBLEMS_MAX)
        json_array_append_new(k->r->problems, json_string(e.msg));
}

static int check_doc(void *ud, const char *text)
{
    json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL);
    artref_each(doc, check_ref, ud);
    json_decref(doc);
    return 0;
}

int gc_check(catalog *c, store *s, gc_check_report *r, weft_err *err)
{
    memset(r, 0, sizeof *r);
    r->problems = json_array();
    checker k = {.s = s, .r = r, .seen = strmap_new()};
    catalog_roots roots;
    int rc = catalog_each_root(c, 0, check_doc, &k, &roots, err);
    strmap_destroy(&k.seen);
    return rc;
}

void gc_check_report_free(gc_check_report *r)
{
    json_decref(r->problems);
    r->problems = NULL;
}
