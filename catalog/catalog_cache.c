/* catalog_cache: memoization in the catalogue: the cache table (one entry per key, pointing
 * at the run and task that computed it), the key and source recorded on each task, and the
 * queries behind `weft cache`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "common/xmem.h"

int catalog_task_lookup(catalog *c, int64_t run, int idx, int elem, const char *key,
                        const char *cache_version, const char *inputs_json)
{
    sqlite3_stmt *s = cat_stmt(c, ST_TASK_LOOKUP);
    if (!s)
        return WEFT_EDB;
    cat_bind_task(c, s, run, idx, elem);
    cat_bind_text(s, 3, key);
    cat_bind_text(s, 4, cache_version);
    cat_bind_text(s, 5, inputs_json);
    return cat_done_task(c, s, "record lookup");
}

int catalog_task_source(catalog *c, int64_t run, int idx, int elem, const char *via,
                        int64_t src_run, const char *src_task)
{
    sqlite3_stmt *s = cat_stmt(c, ST_TASK_SOURCE);
    if (!s)
        return WEFT_EDB;
    cat_bind_task(c, s, run, idx, elem);
    cat_bind_text(s, 3, via);
    cat_bind_time(s, 4, src_run);
    cat_bind_text(s, 5, src_task);
    return cat_done_task(c, s, "record source");
}

json_t *catalog_cache_get(catalog *c, const char *key)
{
    sqlite3_stmt *s = cat_stmt(c, ST_CACHE_GET);
    if (!s)
        return NULL;
    cat_bind_text(s, 1, key);
    if (sqlite3_step(s) != SQLITE_ROW)
        return NULL;
    json_t *outputs = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
    if (!json_is_object(outputs)) {
        json_decref(outputs);
        return NULL;
    }
    json_t *e = json_pack("{s:o, s:I, s:s}", "outputs", outputs, "run_id",
                          (json_int_t)sqlite3_column_int64(s, 1), "task",
                          (const char *)sqlite3_column_text(s, 2));
    sqlite3_reset(s);
    return e;
}

int catalog_cache_hit(catalog *c, const char *key, int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_CACHE_HIT);
    if (!s)
        return WEFT_EDB;
    cat_bind_text(s, 1, key);
    sqlite3_bind_int64(s, 2, now_us);
    return cat_done(c, s, "count cache hit");
}

int catalog_cache_put(catalog *c, int64_t run, int idx, int elem, const char *outputs_json,
                      int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_CACHE_PUT);
    if (!s)
        return WEFT_EDB;
    cat_bind_unit(s, run, idx, elem);
    cat_bind_text(s, 3, outputs_json);
    sqlite3_bind_int64(s, 4, now_us);
    return cat_done(c, s, "store cache entry");
}

int catalog_cache_del(catalog *c, const char *key)
{
    sqlite3_stmt *s = cat_stmt(c, ST_CACHE_DEL);
    if (!s)
        return WEFT_EDB;
    cat_bind_text(s, 1, key);
    return cat_done(c, s, "delete cache entry");
}

/* Binds NULL-able text filters ?1.. and runs sql, returning rows. */
static json_t *filtered(catalog *c, const char *sql, const char *const *texts, int ntexts,
                        int64_t limit, weft_err *err)
{
    sqlite3_stmt *st = cat_query(c, sql, err);
    if (!st)
        return NULL;
    for (int i = 0; i < ntexts; i++)
        cat_bind_text(st, i + 1, texts[i]);
    sqlite3_bind_int64(st, ntexts + 1, limit);
    return cat_query_rows(c, st, err);
}

json_t *catalog_query_cache(catalog *c, const catalog_cache_filter *f, int limit,
                            weft_err *err)
{
    const char *texts[] = {f->workflow, f->task, f->project};
    return filtered(c,
                    "SELECT key, project, workflow, task, type, type_version, cache_version, "
                    "run_id, created_us, hits, last_hit_us FROM cache "
                    "WHERE (?1 IS NULL OR workflow = ?1) AND (?2 IS NULL OR task = ?2) "
                    "AND (?3 IS NULL OR project = ?3) "
                    "ORDER BY created_us DESC, key LIMIT ?4",
                    texts, 3, limit > 0 ? limit : 100, err);
}

json_t *catalog_query_cache_entry(catalog *c, const char *prefix, weft_err *err)
{
    const char *texts[] = {prefix};
    return filtered(c,
                    "SELECT key, project, workflow, task, type, type_version, cache_version, "
                    "inputs, outputs, run_id, created_us, hits, last_hit_us FROM cache "
                    "WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key LIMIT ?2",
                    texts, 1, 10, err);
}

json_t *catalog_query_cache_explain(catalog *c, int64_t run, const char *task, weft_err *err)
{
    const char *texts[] = {task};
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT t.name AS task, w.name AS workflow, t.type, t.type_version, t.state, "
             "t.cache_key AS key, t.cache_version, t.inputs, t.source, t.source_run, "
             "t.source_task, r.created_us, r.project FROM tasks t JOIN runs r ON r.id = t.run_id "
             "JOIN workflows w ON w.id = r.workflow_id "
             "WHERE t.run_id = %lld AND t.name = ?1 LIMIT ?2",
             (long long)run);
    json_t *rows = filtered(c, sql, texts, 1, 1, err);
    if (!rows)
        return NULL;
    json_t *t = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    if (!t) {
        err_set(err, WEFT_ENOTFOUND, "run %lld has no task '%s'", (long long)run, task);
        return NULL;
    }
    const char *near[] = {json_string_value(json_object_get(t, "workflow")), task};
    snprintf(sql, sizeof sql,
             "SELECT key, type, type_version, cache_version, inputs, run_id, created_us "
             "FROM cache WHERE workflow = ?1 AND task = ?2 AND run_id <> %lld "
             "AND project = (SELECT project FROM runs WHERE id = %lld) "
             "AND created_us <= %lld ORDER BY created_us DESC LIMIT ?3",
             (long long)run, (long long)run,
             (long long)json_integer_value(json_object_get(t, "created_us")));
    json_t *n = filtered(c, sql, near, 2, 1, err);
    if (!n) {
        json_decref(t);
        return NULL;
    }
    json_t *first = json_array_get(n, 0);
    json_object_set(t, "nearest", first ? first : json_null());
    json_decref(n);
    return t;
}

int64_t catalog_cache_evict(catalog *c, const catalog_cache_filter *f, weft_err *err)
{
    sqlite3_stmt *st;
    const char *sql = "DELETE FROM cache WHERE (?1 IS NULL OR substr(key, 1, length(?1)) = ?1) "
                      "AND (?2 IS NULL OR workflow = ?2) AND (?3 IS NULL OR task = ?3) "
                      "AND (?4 IS NULL OR project = ?4)";
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return err_set(err, WEFT_EDB, "catalogue: %s", sqlite3_errmsg(c->db));
    cat_bind_text(st, 1, f->prefix);
    cat_bind_text(st, 2, f->workflow);
    cat_bind_text(st, 3, f->task);
    cat_bind_text(st, 4, f->project);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return err_set(err, WEFT_EDB, "catalogue: %s", sqlite3_errmsg(c->db));
    return sqlite3_changes(c->db);
}
