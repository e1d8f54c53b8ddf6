/* catalog_metrics: counts over the catalogue for the gateway's /metrics, each grouped by
 * project and restricted to the projects of a JSON array (NULL: every project). They read
 * what was committed: the numbers match any other reader's. */
#include <stdio.h>

#include "catalog/catalog_int.h"

#define WITHIN(col) "(?1 IS NULL OR " col " IN (SELECT value FROM json_each(?1)))"

static const struct {
    const char *name, *sql;
} queries[] = {
    {"runs", "SELECT r.project, w.name AS workflow, r.state, count(*) AS n FROM runs r "
             "JOIN workflows w ON w.id = r.workflow_id WHERE " WITHIN("r.project")
             " GROUP BY 1, 2, 3"},
    {"tasks", "SELECT r.project, w.name AS workflow, t.state, count(*) AS n FROM tasks t "
              "JOIN runs r ON r.id = t.run_id JOIN workflows w ON w.id = r.workflow_id "
              "WHERE t.elem = -1 AND " WITHIN("r.project") " GROUP BY 1, 2, 3"},
    {"attempts", "SELECT r.project, w.name AS workflow, a.state, "
                 "coalesce(a.error_class, '') AS error_class, count(*) AS n FROM attempts a "
                 "JOIN runs r ON r.id = a.run_id JOIN workflows w ON w.id = r.workflow_id "
                 "WHERE " WITHIN("r.project") " GROUP BY 1, 2, 3, 4"},
    {"cache", "SELECT r.project, CASE t.source WHEN 'computed' THEN 'miss' ELSE 'hit' END "
              "AS result, count(*) AS n FROM tasks t JOIN runs r ON r.id = t.run_id "
              "WHERE t.cache_key IS NOT NULL AND t.state = 'succeeded' AND t.source IS NOT "
              "NULL AND t.source != 'retry' AND " WITHIN("r.project") " GROUP BY 1, 2"},
    {"notifications", "SELECT project, state, count(*) AS n FROM notifications WHERE "
                      WITHIN("project") " GROUP BY 1, 2"},
    {"deliveries", "SELECT n.project, CASE WHEN a.error IS NULL THEN 'ok' ELSE 'error' END "
                   "AS outcome, count(*) AS n FROM notification_attempts a JOIN "
                   "notifications n ON n.id = a.notification_id WHERE " WITHIN("n.project")
                   " GROUP BY 1, 2"},
    {"schedules", "SELECT s.project, s.name, s.paused, (SELECT f.queued_us / 1e6 - f.slot_s "
                  "FROM fires f WHERE f.schedule_id = s.id ORDER BY f.slot_s DESC LIMIT 1) "
                  "AS lag_s FROM schedules s WHERE s.removed_us IS NULL AND "
                  WITHIN("s.project")},
};

json_t *catalog_metrics(catalog *c, const char *within, weft_err *err)
{
    json_t *out = json_object();
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        json_t *rows = cat_rows(c, queries[i].sql, NULL, 0, within, err);
        if (!rows) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, queries[i].name, rows);
    }
    return out;
}
