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

int memo_lookup(catalog *cat, store *st, const dag *g, uint64_t run, int task,
                const char *key, const json_t *inputs, int64_t now_us, json_t **outputs,
                char **from)
{
    const dag_task *t = &g->tasks[task];
    char *text = json_dumps(inputs, JSON_COMPACT);
    catalog_task_lookup(cat, (int64_t)run, task, key, t->cache_version, text);
    free(text);
    json_t *e = catalog_cache_get(cat, key);
    if (!e)
        return 0;
    verify_ctx v = {.st = st};
    store_each_ref(json_object_get(e, "outputs"), verify_ref, &v);
    if (v.bad) {
        char detail[WEFT_ERR_MSG_MAX + 100];
        snprintf(detail, sizeof detail, "cache entry %.16s dropped: %s", key, v.err.msg);
        log_warn("run %llu task %s: %s", (unsigned long long)run, t->name, detail);
        catalog_cache_del(cat, key);
        catalog_event(cat, (int64_t)run, t->name, "cache_invalid", detail, now_us);
        json_decref(e);
        return 0;
    }
    catalog_cache_hit(cat, key, now_us);
    json_t *src = json_pack("{s:s, s:O, s:O, s:s}", "via", "cache", "run",
                            json_object_get(e, "run_id"), "task", json_object_get(e, "task"),
                            "key", key);
    *from = json_dumps(src, JSON_COMPACT);
    json_decref(src);
    *outputs = json_incref(json_object_get(e, "outputs"));
    json_decref(e);
    return 1;
}

void memo_task_succeeded(catalog *cat, uint64_t run, int task, const char *key,
                         const char *from, const json_t *outputs, int64_t now_us)
{
    if (from) {
        json_t *src = json_loads(from, 0, NULL);
        catalog_task_source(cat, (int64_t)run, task,
                            json_string_value(json_object_get(src, "via")),
                            json_integer_value(json_object_get(src, "run")),
                            json_string_value(json_object_get(src, "task")));
        json_decref(src);
        return;
    }
    if (key) {
        catalog_task_source(cat, (int64_t)run, task, "computed", 0, NULL);
        char *text = json_dumps(outputs, JSON_COMPACT);
        catalog_cache_put(cat, (int64_t)run, task, text, now_us);
        free(text);
    }
}
