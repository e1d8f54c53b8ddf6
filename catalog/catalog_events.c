/* catalog_events: the events of a turn, kept in memory and written together when the turn
 * commits (or before anything reads events, or once EVENTS_HELD_MAX are held), in the
 * turn's transaction, CAT_PER_INSERT rows per statement: a
 * statement's own cost, which every row paid before, is paid once for many. Their order,
 * hence their seq, is the order they were recorded in. See catalog.h. */
#include <stdlib.h>

#include "catalog/catalog_int.h"
#include "common/xmem.h"

#define EVENT_COLUMNS 5
/* Then the held events are written, and the next ones held: a turn that makes 100,000
 * tasks ready holds 16,384 events at most, not 12 MB of them. */
#define EVENTS_HELD_MAX 16384

#define EVENTS_INSERT "INSERT INTO events(ts_us, run_id, task, kind, detail) VALUES "
static const char *const event_sql = EVENTS_INSERT "(?,?,?,?,?)";
#define EVENT_VALUES4 "(?,?,?,?,?),(?,?,?,?,?),(?,?,?,?,?),(?,?,?,?,?)"
static const char *const events_sql =
    EVENTS_INSERT EVENT_VALUES4 "," EVENT_VALUES4 "," EVENT_VALUES4 "," EVENT_VALUES4;
_Static_assert(CAT_PER_INSERT == 16, "events_sql has 16 rows");

int catalog_event(catalog *c, int64_t run, const char *task, const char *kind,
                  const char *detail, int64_t now_us)
{
    if (cat_turn_begin(c) < 0)
        return WEFT_EDB;
    if (c->nevents == EVENTS_HELD_MAX && cat_events_write(c) < 0)
        return WEFT_EDB; /* the turn failed: it is rolled back */
    xgrow(&c->events, &c->capevents, c->nevents + 1, sizeof *c->events);
    cat_event *e = &c->events[c->nevents++];
    e->ts_us = now_us;
    e->run = run;
    e->task = arena_strdup(&c->event_text, task);
    e->kind = arena_strdup(&c->event_text, kind);
    e->detail = arena_strdup(&c->event_text, detail);
    return 0;
}

/* Binds event i of c's as the row at column offset off of s. */
static void bind_event(sqlite3_stmt *s, int off, size_t i, void *ud)
{
    const cat_event *e = &((catalog *)ud)->events[i];
    sqlite3_bind_int64(s, off + 1, e->ts_us);
    if (e->run)
        sqlite3_bind_int64(s, off + 2, e->run);
    cat_bind_text(s, off + 3, e->task);
    cat_bind_text(s, off + 4, e->kind);
    cat_bind_text(s, off + 5, e->detail);
}

void cat_events_drop(catalog *c)
{
    c->nevents = 0;
    arena_reset(&c->event_text);
}

int cat_events_write(catalog *c)
{
    const cat_insert ins = {ST_EVENTS, ST_EVENT, events_sql, event_sql, EVENT_COLUMNS,
                            bind_event, "append events"};
    int rc = cat_insert_rows(c, &ins, c->nevents, c);
    cat_events_drop(c);
    return rc;
}
