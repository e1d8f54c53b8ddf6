/* catalog_workflows: workflows by name: those registered in a project (to run by name, with
 * their typed parameters), and those that ran (the workflows table, one row per version
 * and parameters a run was compiled with). */
#include <stdio.h>

#include "catalog/catalog_int.h"

#define WITHIN(col) "(?1 IS NULL OR " col " IN (SELECT value FROM json_each(?1)))"

int64_t catalog_register(catalog *c, const catalog_registration *r, int64_t now_us)
{
    sqlite3_stmt *s = cat_prepared(c, ST_REGISTER,
        "INSERT INTO registrations(project, name, version, file, spec, params, artifacts, "
        "registered_us, registered_by) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT(project, name) DO UPDATE SET version = version + 1, file = ?3, "
        "spec = ?4, params = ?5, artifacts = ?6, registered_us = ?7, registered_by = ?8 "
        "RETURNING version");
    if (!s)
        return WEFT_EDB;
    const char *text[] = {r->project, r->name, r->file, r->spec, r->params, r->artifacts};
    for (int i = 0; i < 6; i++)
        cat_bind_text(s, i + 1, text[i]);
    sqlite3_bind_int64(s, 7, now_us);
    cat_bind_text(s, 8, r->by);
    int64_t version = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        version = sqlite3_column_int64(s, 0);
        rc = sqlite3_step(s);
    }
    if (rc != SQLITE_DONE || version <= 0)
        return cat_db_fail(c, "register a workflow");
    return version;
}

/* The first row of sql (?1 within or NULL, ?2 and ?3 the texts a and b), or NULL. */
static json_t *first_row(catalog *c, const char *sql, const char *within, const char *a,
                         const char *b, weft_err *err)
{
    sqlite3_stmt *st = cat_query(c, sql, err);
    if (!st)
        return NULL;
    cat_bind_text(st, 1, within);
    cat_bind_text(st, 2, a);
    cat_bind_text(st, 3, b);
    json_t *rows = cat_query_rows(c, st, err);
    json_t *row = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    return row;
}

json_t *catalog_registration_get(catalog *c, const char *project, const char *name,
                                 weft_err *err)
{
    json_t *row = first_row(c, "SELECT project, name, version, file, spec, params, artifacts, "
                               "registered_us, registered_by FROM registrations WHERE "
                               "?1 IS NULL AND project = ?2 AND name = ?3",
                            NULL, project, name, err);
    if (!row && !err->code)
        err_set(err, WEFT_ENOTFOUND, "no workflow '%.128s' is registered in project '%.64s'",
                name, project);
    return row;
}

json_t *catalog_query_workflows(catalog *c, const char *within, weft_err *err)
{
    sqlite3_stmt *st;
    const char *sql =
        "WITH ran AS (SELECT r.project, w.name, count(*) AS runs, max(r.created_us) AS "
        "last_run_us, max(r.id) AS last_id FROM runs r JOIN workflows w ON w.id = "
        "r.workflow_id WHERE " WITHIN("r.project") " GROUP BY 1, 2), "
        "names AS (SELECT project, name FROM ran UNION SELECT project, name FROM "
        "registrations WHERE " WITHIN("project") ") "
        "SELECT n.project, n.name, g.version AS registered, coalesce(ran.runs, 0) AS runs, "
        "ran.last_run_us, (SELECT state FROM runs WHERE id = ran.last_id) AS last_state "
        "FROM names n LEFT JOIN registrations g ON g.project = n.project AND g.name = n.name "
        "LEFT JOIN ran ON ran.project = n.project AND ran.name = n.name ORDER BY 2, 1";
    st = cat_query(c, sql, err);
    if (!st)
        return NULL;
    cat_bind_text(st, 1, within);
    return cat_query_rows(c, st, err);
}

json_t *catalog_query_workflow(catalog *c, const char *name, const char *project,
                               const char *within, weft_err *err)
{
    json_t *row = first_row(c, "SELECT project, name, version, file, spec, params, "
                               "registered_us, registered_by, 1 AS registered FROM "
                               "registrations WHERE name = ?2 AND (?3 IS NULL OR project = ?3) "
                               "AND " WITHIN("project") " ORDER BY registered_us DESC LIMIT 1",
                            within, name, project, err);
    if (!row && !err->code)
        row = first_row(c, "SELECT r.project, w.name, w.version, w.file, w.spec, 0 AS "
                           "registered, r.id AS last_run FROM workflows w JOIN runs r ON "
                           "r.workflow_id = w.id WHERE w.name = ?2 AND (?3 IS NULL OR "
                           "r.project = ?3) AND " WITHIN("r.project") " ORDER BY r.id DESC "
                           "LIMIT 1", within, name, project, err);
    if (row)
        json_object_set_new(row, "registered",
                            json_boolean(json_integer_value(json_object_get(row, "registered"))));
    else if (!err->code)
        err_set(err, WEFT_ENOTFOUND, "no workflow '%.128s' is registered or has run in a "
                "project this caller may use", name);
    return row;
}
