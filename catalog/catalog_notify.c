/* catalog_notify: the notification outbox (see catalog.h). */
#include <stdio.h>

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"

int catalog_put_notification(catalog *c, const catalog_notification *n, int64_t now_us)
{
    sqlite3_stmt *s = cat_prepared(c, ST_NOTIFY_PUT,
        "INSERT OR IGNORE INTO notifications(key, run_id, project, event, target, payload, "
        "state, next_us, created_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7)");
    if (!s)
        return WEFT_EDB;
    cat_bind_text(s, 1, n->key);
    cat_bind_time(s, 2, n->run);
    cat_bind_text(s, 3, n->project);
    cat_bind_text(s, 4, n->event);
    cat_bind_text(s, 5, n->target);
    cat_bind_text(s, 6, n->payload);
    sqlite3_bind_int64(s, 7, now_us);
    if (cat_done(c, s, "queue a notification") < 0)
        return WEFT_EDB;
    return sqlite3_changes(c->db) == 1;
}

json_t *catalog_due_notifications(catalog *c, int64_t now_us, int limit, weft_err *err)
{
    int64_t args[] = {now_us, limit};
    return cat_rows(c, "SELECT id, key, run_id, project, event, target, payload, attempts, "
                    "created_us FROM notifications WHERE state = 'pending' AND next_us <= ?1 "
                    "ORDER BY next_us, id LIMIT ?2", args, 2, NULL, err);
}

int64_t catalog_next_notification_us(catalog *c)
{
    weft_err err = {0};
    json_t *rows = cat_rows(c, "SELECT coalesce(min(next_us), 0) AS t FROM notifications "
                            "WHERE state = 'pending'", NULL, 0, NULL, &err);
    int64_t t = rows ? json_integer_value(json_object_get(json_array_get(rows, 0), "t")) : 0;
    json_decref(rows);
    return t;
}

int catalog_record_delivery(catalog *c, const catalog_delivery *d)
{
    sqlite3_stmt *s = cat_prepared(c, ST_NOTIFY_ATTEMPT,
        "INSERT OR REPLACE INTO notification_attempts(notification_id, number, started_us, "
        "finished_us, status, error) SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM "
        "notifications WHERE id = ?1 AND key = ?7)");
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, d->id);
    sqlite3_bind_int(s, 2, d->number);
    sqlite3_bind_int64(s, 3, d->started_us);
    sqlite3_bind_int64(s, 4, d->finished_us);
    if (d->status)
        sqlite3_bind_int64(s, 5, d->status);
    cat_bind_text(s, 6, d->error);
    cat_bind_text(s, 7, d->key);
    if (cat_done(c, s, "record a delivery") < 0)
        return WEFT_EDB;
    s = cat_prepared(c, ST_NOTIFY_STATE,
        "UPDATE notifications SET state = ?2, attempts = ?3, next_us = ?4, last_error = ?5, "
        "finished_us = CASE WHEN ?2 = 'pending' THEN NULL ELSE ?6 END WHERE id = ?1 AND "
        "key = ?7");
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, d->id);
    cat_bind_text(s, 2, d->state);
    sqlite3_bind_int(s, 3, d->number);
    sqlite3_bind_int64(s, 4, d->next_us);
    cat_bind_text(s, 5, d->error);
    sqlite3_bind_int64(s, 6, d->finished_us);
    cat_bind_text(s, 7, d->key);
    return cat_done(c, s, "record a delivery");
}

json_t *catalog_query_notifications(catalog *c, int64_t run, const char *within, int limit,
                                    weft_err *err)
{
    sqlite3_stmt *st;
    const char *sql = "SELECT id, run_id, project, event, json_extract(target, '$.type') AS "
                      "type, state, attempts, created_us, finished_us, last_error "
                      "FROM notifications WHERE (?1 = 0 OR run_id = ?1) AND (?2 IS NULL OR "
                      "project IN (SELECT value FROM json_each(?2))) ORDER BY id DESC LIMIT ?3";
    st = cat_query(c, sql, err);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, run);
    cat_bind_text(st, 2, within);
    sqlite3_bind_int(st, 3, limit > 0 ? limit : 100);
    json_t *rows = cat_query_rows(c, st, err);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        int64_t args[] = {json_integer_value(json_object_get(r, "id"))};
        json_t *a = cat_rows(c, "SELECT number, started_us, finished_us, status, error FROM "
                             "notification_attempts WHERE notification_id = ?1 ORDER BY "
                             "number", args, 1, NULL, err);
        json_object_set_new(r, "attempt_list", a ? a : json_array());
    }
    return rows;
}
