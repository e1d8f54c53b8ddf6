/* catalog_events: the audit trail. The events of a turn are kept in memory and written
 * together when the turn commits (or before anything reads events, or once EVENTS_HELD_MAX
 * are held), in the turn's transaction.
 *
 * They are stored in blocks (table event_blocks): a run's events of a turn, in the order
 * they were recorded, BLOCK_EVENTS at most to a row, as a JSON array of
 * [ts_us, task, kind, detail]; the row's seq is its first event's, and the others follow
 * it. A notable event (the run's own, a task's failure or retry wait) is a row of its own,
 * flagged, so that a client following a run finds those without reading the others. A row
 * costs SQLite about as much to write with one event as with sixty: a task's ready,
 * dispatched and succeeded events were three rows of their own, and two index entries each.
 * The view events shows one event a row, as the table of that name did. See catalog.h. */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "common/jsonbuf.h"
#include "common/text.h"
#include "common/xmem.h"

/* Then the held events are written, and the next ones held: a turn that makes 100,000
 * tasks ready holds 16,384 events at most, not 12 MB of them. */
#define EVENTS_HELD_MAX 16384
/* A block holds this many events at most (readers rely on it to find the block an event
 * is in), and takes no more once its text passes BLOCK_BYTES: it stays within a page. */
#define BLOCK_EVENTS 64
#define BLOCK_BYTES 3000

static const char *const next_sql =
    "SELECT seq + n FROM event_blocks ORDER BY seq DESC LIMIT 1";
static const char *const block_sql =
    "INSERT INTO event_blocks(seq, run_id, n, notable, events) VALUES (?1, ?2, ?3, ?4, ?5)";

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

/* What a following client is shown besides counts (catalog_query_progress). */
static int notable(const cat_event *e)
{
    return !e->task || !strcmp(e->kind, "failed") || !strcmp(e->kind, "retry_wait");
}

void cat_events_drop(catalog *c)
{
    c->nevents = 0;
    arena_reset(&c->event_text);
}

/* The seq the next event takes: one past the last written (in this transaction too). */
static int64_t next_seq(catalog *c)
{
    sqlite3_stmt *s = cat_prepared(c, ST_EVENT_NEXT, next_sql);
    if (!s)
        return WEFT_EDB;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return 1;
    if (rc != SQLITE_ROW)
        return cat_db_fail(c, "find the next event's number");
    int64_t seq = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return seq;
}

/* Appends event e to block text b ([ts_us, task, kind, detail]). */
static void put_event(jsonbuf *b, const cat_event *e)
{
    jsonbuf_raw(b, b->n > 1 ? ",[" : "[");
    jsonbuf_int(b, e->ts_us);
    jsonbuf_raw(b, ",");
    jsonbuf_str(b, e->task);
    jsonbuf_raw(b, ",");
    jsonbuf_str(b, e->kind);
    jsonbuf_raw(b, ",");
    jsonbuf_str(b, e->detail);
    jsonbuf_raw(b, "]");
}

/* Writes block text b (n events of run, the first numbered seq). */
static int write_block(catalog *c, int64_t seq, int64_t run, int n, int flagged, jsonbuf *b)
{
    jsonbuf_raw(b, "]");
    sqlite3_stmt *s = cat_prepared(c, ST_EVENT_BLOCK, block_sql);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, seq);
    if (run)
        sqlite3_bind_int64(s, 2, run);
    sqlite3_bind_int(s, 3, n);
    sqlite3_bind_int(s, 4, flagged);
    sqlite3_bind_text(s, 5, b->s, (int)b->n, SQLITE_STATIC);
    int rc = cat_done(c, s, "append events");
    jsonbuf_clear(b);
    return rc;
}

/* A held event's place in the order it is written: by run, then as recorded. */
typedef struct event_place {
    int64_t run;
    size_t at;
} event_place;

static int by_run(const void *a, const void *b)
{
    const event_place *x = a, *y = b;
    if (x->run != y->run)
        return x->run < y->run ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* Writes the held events in places (n of them, sorted) as blocks numbered from seq. */
static int write_blocks(catalog *c, const event_place *places, size_t n, int64_t seq)
{
    jsonbuf b = {0};
    int rc = 0, count = 0;
    int64_t first = seq;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const cat_event *e = &c->events[places[i].at];
        int alone = notable(e);
        if (count && alone)
            rc = write_block(c, first, e->run, count, 0, &b);
        if (rc < 0)
            break;
        if (!b.n) {
            jsonbuf_raw(&b, "[");
            first = seq;
            count = 0;
        }
        put_event(&b, e);
        count++;
        seq++;
        int last = i + 1 == n || places[i + 1].run != e->run;
        if (alone || last || count == BLOCK_EVENTS || b.n > BLOCK_BYTES) {
            rc = write_block(c, first, e->run, count, alone, &b);
            count = 0;
        }
    }
    jsonbuf_free(&b);
    return rc;
}

int cat_events_write(catalog *c)
{
    if (!c->nevents)
        return 0;
    int64_t seq = next_seq(c);
    event_place *places = xmalloc(c->nevents * sizeof *places);
    int sorted = 1;
    for (size_t i = 0; i < c->nevents; i++) {
        places[i] = (event_place){c->events[i].run, i};
        sorted = sorted && (!i || places[i - 1].run <= places[i].run);
    }
    if (!sorted) /* a turn's events are mostly of one run */
        qsort(places, c->nevents, sizeof *places, by_run);
    int rc = seq < 0 ? WEFT_EDB : write_blocks(c, places, c->nevents, seq);
    free(places);
    cat_events_drop(c);
    return rc;
}

int cat_events_flush(catalog *c, weft_err *err)
{
    if (c->nevents && cat_events_write(c) < 0)
        return err_set(err, WEFT_EDB, "cannot write the turn's events: %s", c->turn_err.msg);
    return 0;
}

/* The block in column 1 of st's row, parsed. Blocks weft writes are well-formed UTF-8
 * (jsonbuf); one moved from an event row of schema 21 may hold the bytes of a character cut
 * in two: those become '?', as jsonbuf makes them. */
static json_t *load_block(sqlite3_stmt *st)
{
    const char *text = (const char *)sqlite3_column_text(st, 1);
    size_t n = (size_t)sqlite3_column_bytes(st, 1);
    json_t *block = json_loadb(text, n, 0, NULL);
    if (!block && text) {
        char *clean = text_utf8(text, n);
        block = json_loads(clean, 0, NULL);
        free(clean);
    }
    return block;
}

/* Calls each(ud, seq, event) for the events of the blocks st returns (seq, events), those
 * numbered above after, in order, until limit were passed (each returns 0, or < 0 for an
 * event it cannot take). 0, or WEFT_EDB with err. */
typedef int (*event_fn)(void *ud, int64_t seq, json_t *event);
static int each_event(catalog *c, sqlite3_stmt *st, int64_t after, int limit, event_fn each,
                      void *ud, weft_err *err)
{
    int rc, stop = 0;
    int64_t seq = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        seq = sqlite3_column_int64(st, 0);
        json_t *block = load_block(st);
        if (!json_is_array(block)) {
            json_decref(block);
            sqlite3_reset(st);
            return err_set(err, WEFT_EDB, "the catalogue's events from %lld are not JSON",
                           (long long)seq);
        }
        for (size_t i = 0; i < json_array_size(block) && !stop; i++, seq++)
            if (seq > after && (stop = each(ud, seq, json_array_get(block, i))) == 0)
                stop = --limit == 0;
        json_decref(block);
    }
    sqlite3_reset(st);
    if (stop < 0)
        return err_set(err, WEFT_EDB, "the catalogue's event %lld cannot be read",
                       (long long)(seq - 1));
    if (!stop && rc != SQLITE_DONE)
        return err_set(err, WEFT_EDB, "catalogue query failed: %s", sqlite3_errmsg(c->db));
    return 0;
}

/* Event field i: a string, or NULL. */
static const char *field(json_t *event, size_t i)
{
    return json_string_value(json_array_get(event, i));
}

static int put_text(void *ud, int64_t seq, json_t *event)
{
    jsonbuf *b = ud;
    jsonbuf_raw(b, b->n > 1 ? ",{\"seq\":" : "{\"seq\":");
    jsonbuf_int(b, seq);
    jsonbuf_raw(b, ",\"ts_us\":");
    jsonbuf_int(b, json_integer_value(json_array_get(event, 0)));
    jsonbuf_raw(b, ",\"task\":");
    jsonbuf_str(b, field(event, 1));
    jsonbuf_raw(b, ",\"kind\":");
    jsonbuf_str(b, field(event, 2));
    jsonbuf_raw(b, ",\"detail\":");
    jsonbuf_str(b, field(event, 3));
    jsonbuf_raw(b, "}");
    return 0;
}

char *catalog_query_events_text(catalog *c, int64_t run, int64_t after_seq, int limit,
                                weft_err *err)
{
    if (cat_events_flush(c, err) < 0)
        return NULL;
    /* The blocks that may hold events after ?2: a block holds ?3 at most. */
    sqlite3_stmt *st = cat_query(c, "SELECT seq, events FROM event_blocks WHERE run_id = ?1 "
                                    "AND seq > ?2 - ?3 ORDER BY seq", err);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, after_seq);
    sqlite3_bind_int(st, 3, BLOCK_EVENTS);
    jsonbuf b = {0};
    jsonbuf_raw(&b, "[");
    if (each_event(c, st, after_seq, limit > 0 ? limit : 1000, put_text, &b, err) < 0) {
        jsonbuf_free(&b);
        return NULL;
    }
    jsonbuf_raw(&b, "]");
    return jsonbuf_take(&b);
}

json_t *catalog_query_events(catalog *c, int64_t run, int64_t after_seq, int limit,
                             weft_err *err)
{
    char *text = catalog_query_events_text(c, run, after_seq, limit, err);
    json_t *events = text ? json_loads(text, 0, NULL) : NULL;
    if (text && !events)
        err_set(err, WEFT_EDB, "the catalogue's events of run %lld are not JSON",
                (long long)run);
    free(text);
    return events;
}

int64_t cat_events_last(catalog *c, int64_t run, weft_err *err)
{
    sqlite3_stmt *st = cat_query(c, "SELECT seq + n - 1 FROM event_blocks WHERE run_id = ?1 "
                                    "ORDER BY seq DESC LIMIT 1", err);
    if (!st)
        return WEFT_EDB;
    sqlite3_bind_int64(st, 1, run);
    int rc = sqlite3_step(st);
    int64_t last = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return err_set(err, WEFT_EDB, "catalogue query failed: %s", sqlite3_errmsg(c->db));
    return last;
}

static int put_object(void *ud, int64_t seq, json_t *event)
{
    json_t *o = json_pack("{s:I, s:O?, s:O?, s:O?, s:O?}", "seq", (json_int_t)seq, "ts_us",
                          json_array_get(event, 0), "task", json_array_get(event, 1), "kind",
                          json_array_get(event, 2), "detail", json_array_get(event, 3));
    if (!o)
        return -1;
    json_array_append_new(ud, o);
    return 0;
}

json_t *cat_events_notable(catalog *c, int64_t run, int64_t after_seq, int64_t upto,
                           int limit, weft_err *err)
{
    /* The condition of index event_blocks_notable (catalog_file.c). */
    sqlite3_stmt *st = cat_query(c, "SELECT seq, events FROM event_blocks WHERE run_id = ?1 "
                                    "AND seq > ?2 AND seq <= ?3 AND notable ORDER BY seq",
                                 err);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, after_seq);
    sqlite3_bind_int64(st, 3, upto);
    json_t *events = json_array();
    if (each_event(c, st, after_seq, limit, put_object, events, err) < 0) {
        json_decref(events);
        return NULL;
    }
    return events;
}
