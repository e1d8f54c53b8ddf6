/* memo: cache lookups and records. See memo.h. */
#include "scheduler/memo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmem.h"

typedef struct verify_ctx {
    store *st;
    weft_err err;
    int bad;
} verify_ctx;

static void verify_ref(void *ud, const json_t *ref)
{
    verify_ctx *v = ud;
    if (!v->bad && store_verify(v->st, ref, &v->err) != 0)
        v->bad = 1;
}

int memo_outputs_usable(store *st, const json_t *outputs, weft_err *err)
{
    verify_ctx v = {.st = st};
    artref_each(outputs, verify_ref, &v);
    if (v.bad)
        *err = v.err;
    return v.bad ? (v.err.code ? v.err.code : WEFT_ECORRUPT) : 0;
}

void memo_lookup(catalog *cat, store *st, const dag *g, const core_effect *e, int64_t now_us,
                 core_event *ans)
{
    const dag_task *t = &g->tasks[e->task];
    int64_t run = (int64_t)e->run_id;
    *ans = (core_event){.kind = EV_LOOKUP, .now_us = now_us, .run_id = e->run_id,
                        .task = e->task, .elem = e->elem};
    char *text = json_dumps(e->json, JSON_COMPACT);
    catalog_task_lookup(cat, run, e->task, e->elem, e->key, t->cache_version, text);
    free(text);
    json_t *entry = catalog_cache_get(cat, e->key);
    if (!entry)
        return;
    weft_err err = {0};
    if (memo_outputs_usable(st, json_object_get(entry, "outputs"), &err) != 0) {
        char detail[WEFT_ERR_MSG_MAX + 100], name[300];
        dag_unit_name(g, e->task, e->elem, name, sizeof name);
        snprintf(detail, sizeof detail, "cache entry %.16s dropped: %s", e->key, err.msg);
        log_warn("run %lld task %s: %s", (long long)run, name, detail);
        catalog_cache_del(cat, e->key);
        catalog_event(cat, run, name, "cache_invalid", detail, now_us);
    } else {
        catalog_cache_hit(cat, e->key, now_us);
        ans->ok = 1;
        ans->outputs = json_incref(json_object_get(entry, "outputs"));
        ans->source_run = (uint64_t)json_integer_value(json_object_get(entry, "run_id"));
        ans->source_task = xstrdup(json_string_value(json_object_get(entry, "task")));
    }
    json_decref(entry);
}

void memo_task_succeeded(catalog *cat, const core_effect *e, int64_t now_us)
{
    catalog_task_source(cat, (int64_t)e->run_id, e->task, e->elem, core_source_name(e->source),
                        (int64_t)e->source_run, e->source_task);
    if (e->source == SRC_COMPUTED && e->key) {
        char *text = json_dumps(e->json, JSON_COMPACT);
        catalog_cache_put(cat, (int64_t)e->run_id, e->task, e->elem, text, now_us);
        free(text);
    }
}
