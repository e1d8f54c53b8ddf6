/* catalog_schedule: schedules, backfills and the slots they fired (see catalog.h). */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "common/cron.h"

int64_t catalog_add_schedule(catalog *c, const catalog_schedule *sc, int64_t now_us)
{
    sqlite3_stmt *s = cat_prepared(c, ST_SCHEDULE_ADD,
        "INSERT INTO schedules(name, kind, project, workflow, file, spec, params, artifacts, "
        "labels, timing, max_active, cursor_s, created_us, created_by) VALUES (coalesce(?1, "
        "'backfill-' || (SELECT coalesce(max(id), 0) + 1 FROM schedules)), ?2, ?3, ?4, ?5, ?6, "
        "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
    if (!s)
        return WEFT_EDB;
    const char *text[] = {sc->name, sc->kind, sc->project, sc->workflow, sc->file, sc->spec,
                          sc->params, sc->artifacts, sc->labels, sc->timing};
    for (int i = 0; i < 10; i++)
        cat_bind_text(s, i + 1, text[i]);
    sqlite3_bind_int64(s, 11, sc->max_active);
    sqlite3_bind_int64(s, 12, sc->cursor_s);
    sqlite3_bind_int64(s, 13, now_us);
    cat_bind_text(s, 14, sc->created_by);
    if (cat_done(c, s, "add a schedule") < 0)
        return WEFT_EDB;
    return sqlite3_last_insert_rowid(c->db);
}

int catalog_schedule_set(catalog *c, int64_t id, int paused, int64_t removed_us)
{
    sqlite3_stmt *s = cat_prepared(c, ST_SCHEDULE_SET,
        "UPDATE schedules SET paused = ?2, removed_us = ?3 WHERE id = ?1");
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, paused);
    cat_bind_time(s, 3, removed_us);
    return cat_done(c, s, "change a schedule");
}

int catalog_schedule_cursor(catalog *c, int64_t id, int64_t cursor_s)
{
    sqlite3_stmt *s = cat_prepared(c, ST_SCHEDULE_CURSOR,
        "UPDATE schedules SET cursor_s = ?2 WHERE id = ?1");
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, cursor_s);
    return cat_done(c, s, "advance a schedule");
}

int catalog_put_fire(catalog *c, int64_t schedule, int64_t slot_s, int64_t start_s,
                     int64_t now_us)
{
    sqlite3_stmt *s = cat_prepared(c, ST_FIRE_PUT,
        "INSERT OR IGNORE INTO fires(schedule_id, slot_s, interval_start_s, queued_us) "
        "VALUES (?1, ?2, ?3, ?4)");
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, schedule);
    sqlite3_bind_int64(s, 2, slot_s);
    sqlite3_bind_int64(s, 3, start_s);
    sqlite3_bind_int64(s, 4, now_us);
    if (cat_done(c, s, "record a fired slot") < 0)
        return WEFT_EDB;
    return sqlite3_changes(c->db) == 1;
}

int catalog_fire_started(catalog *c, int64_t schedule, int64_t slot_s, int64_t run,
                         const char *error)
{
    sqlite3_stmt *s = cat_prepared(c, ST_FIRE_STARTED,
        "UPDATE fires SET run_id = ?3, error = ?4 WHERE schedule_id = ?1 AND slot_s = ?2");
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, schedule);
    sqlite3_bind_int64(s, 2, slot_s);
    cat_bind_time(s, 3, run);
    cat_bind_text(s, 4, error);
    return cat_done(c, s, "start a fired slot");
}

/* What a listing shows of each schedule beside its row. */
#define SCHEDULE_SUMMARY \
    "s.id, s.name, s.kind, s.project, s.workflow, s.timing, s.labels, s.max_active, s.paused, " \
    "s.cursor_s, s.created_us, s.created_by, s.removed_us, " \
    "(SELECT count(*) FROM fires f WHERE f.schedule_id = s.id) AS fired, " \
    "(SELECT count(*) FROM fires f WHERE f.schedule_id = s.id AND f.run_id IS NULL AND " \
    "f.error IS NULL) AS queued, " \
    "(SELECT count(*) FROM runs r WHERE r.schedule_id = s.id AND r.state = 'running') " \
    "AS running, " \
    "(SELECT max(r.id) FROM runs r WHERE r.schedule_id = s.id) AS last_run, " \
    "(SELECT r.state FROM runs r WHERE r.schedule_id = s.id ORDER BY r.id DESC LIMIT 1) " \
    "AS last_state, " \
    "(SELECT r.logical_s FROM runs r WHERE r.schedule_id = s.id ORDER BY r.id DESC LIMIT 1) " \
    "AS last_slot_s, " \
    "(SELECT f.error FROM fires f WHERE f.schedule_id = s.id AND f.error IS NOT NULL " \
    "ORDER BY f.slot_s DESC LIMIT 1) AS last_error "

json_t *catalog_list_schedules(catalog *c, const char *within, int removed, weft_err *err)
{
    sqlite3_stmt *st;
    const char *sql = "SELECT " SCHEDULE_SUMMARY "FROM schedules s "
                      "WHERE (?1 IS NULL OR s.project IN (SELECT value FROM json_each(?1))) "
                      "AND (?2 OR s.removed_us IS NULL) ORDER BY s.name, s.id";
    st = cat_query(c, sql, err);
    if (!st)
        return NULL;
    cat_bind_text(st, 1, within);
    sqlite3_bind_int(st, 2, removed);
    return cat_query_rows(c, st, err);
}

json_t *catalog_schedule_get(catalog *c, int64_t id, const char *name, weft_err *err)
{
    int64_t args[] = {id};
    json_t *rows = cat_rows(c, "SELECT " SCHEDULE_SUMMARY ", s.file, s.spec, s.params, "
                            "s.artifacts FROM schedules s WHERE (?1 > 0 AND s.id = ?1) OR "
                            "(?1 = 0 AND s.name = ?2 AND s.removed_us IS NULL)",
                            args, 1, name, err);
    json_t *row = rows && json_array_size(rows) == 1 ? json_incref(json_array_get(rows, 0))
                                                      : NULL;
    if (rows && !row) {
        if (id)
            err_set(err, WEFT_ENOTFOUND, "no schedule %lld", (long long)id);
        else
            err_set(err, WEFT_ENOTFOUND, "no schedule '%s' (weft schedule ls lists them)",
                    name ? name : "");
    }
    json_decref(rows);
    return row;
}

json_t *catalog_live_schedules(catalog *c, weft_err *err)
{
    return cat_rows(c, "SELECT id FROM schedules WHERE removed_us IS NULL ORDER BY id", NULL, 0,
                    NULL, err);
}

json_t *catalog_queued_fires(catalog *c, int64_t schedule, int limit, weft_err *err)
{
    int64_t args[] = {schedule, limit};
    return cat_rows(c, "SELECT slot_s, interval_start_s FROM fires WHERE schedule_id = ?1 AND "
                    "run_id IS NULL AND error IS NULL ORDER BY slot_s LIMIT ?2",
                    args, 2, NULL, err);
}

int64_t catalog_schedule_running(catalog *c, int64_t schedule)
{
    int64_t args[] = {schedule};
    weft_err err = {0};
    json_t *rows = cat_rows(c, "SELECT count(*) AS n FROM runs WHERE schedule_id = ?1 AND "
                            "state = 'running'", args, 1, NULL, &err);
    int64_t n = rows ? json_integer_value(json_object_get(json_array_get(rows, 0), "n"))
                     : WEFT_EDB;
    json_decref(rows);
    return n;
}

int catalog_slot_taken(catalog *c, const char *project, const char *workflow, int64_t slot_s)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT 1 FROM runs r JOIN workflows w ON w.id = r.workflow_id "
                           "WHERE r.logical_s = ?3 AND r.state IN ('succeeded', 'running') AND "
                           "r.project = ?1 AND w.name = ?2 LIMIT 1", -1, &st, NULL) !=
        SQLITE_OK)
        return WEFT_EDB;
    cat_bind_text(st, 1, project);
    cat_bind_text(st, 2, workflow);
    sqlite3_bind_int64(st, 3, slot_s);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : WEFT_EDB;
}

void catalog_schedule_describe(json_t *row, int64_t now_s)
{
    int backfill = !strcmp(json_string_value(json_object_get(row, "kind")), "backfill");
    const char *state = "active";
    if (!json_is_null(json_object_get(row, "removed_us")))
        state = "removed";
    else if (json_integer_value(json_object_get(row, "paused")))
        state = "paused";
    else if (backfill && !json_integer_value(json_object_get(row, "queued")) &&
             !json_integer_value(json_object_get(row, "running")))
        state = "done";
    else if (backfill)
        state = "running";
    json_object_set_new(row, "state", json_string(state));
    if (!backfill && !strcmp(state, "active")) {
        int64_t cursor = json_integer_value(json_object_get(row, "cursor_s"));
        int64_t next = cron_schedule_next(json_object_get(row, "timing"),
                                          cursor > now_s ? cursor : now_s);
        json_object_set_new(row, "next_s", next >= 0 ? json_integer(next) : json_null());
    }
}
