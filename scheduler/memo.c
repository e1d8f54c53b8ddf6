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

void memo_lookup(catalog *cat, store *st, const dag *g, uint64_t run, int task,
                 const char *key, const json_t *inputs, int64_t now_us, core_event *ans)
{
    const dag_task *t = &g->tasks[task];
    *ans = (core_event){.kind = EV_LOOKUP, .now_us = now_us, .run_id = run, .task = task};
    char *text = json_dumps(inputs, JSON_COMPACT);
    catalog_task_lookup(cat, (int64_t)run, task, key, t->cache_version, text);
    free(text);
    json_t *e = catalog_cache_get(cat, key);
    if (!e)
        return;
    verify_ctx v = {.st = st};
    store_each_ref(json_object_get(e, "outputs"), verify_ref, &v);
    if (v.bad) {
        char detail[WEFT_ERR_MSG_MAX + 100];
        snprintf(detail, sizeof detail, "cache entry %.16s dropped: %s", key, v.err.msg);
        log_warn("run %llu task %s: %s", (unsigned long long)run, t->name, detail);
        catalog_cache_del(cat, key);
        catalog_event(cat, (int64_t)run, t->name, "cache_invalid", detail, now_us);
    } else {
        catalog_cache_hit(cat, key, now_us);
        ans->ok = 1;
        ans->outputs = json_incref(json_object_get(e, "outputs"));
        ans->source_run = (uint64_t)json_integer_value(json_object_get(e, "run_id"));
        ans->source_task = xstrdup(json_string_value(json_object_get(e, "task")));
    }
    json_decref(e);
}

void memo_task_succeeded(catalog *cat, const core_effect *e, int64_t now_us)
{
    catalog_task_source(cat, (int64_t)e->run_id, e->task, core_source_name(e->source),
                        (int64_t)e->source_run, e->source_task);
    if (e->source == SRC_COMPUTED && e->key) {
        char *text = json_dumps(e->json, JSON_COMPACT);
        catalog_cache_put(cat, (int64_t)e->run_id, e->task, text, now_us);
        free(text);
    }
}
