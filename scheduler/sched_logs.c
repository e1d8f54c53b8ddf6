/* sched_logs: attempts' logs as they arrive (streamed pieces, and the whole of each with
 * its result), written where the catalogue keeps logs once the turn's messages are sent:
 * the file system work (a run's log directory made) is not on the way from a message to
 * what it releases. In arrival order. */
#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"
#include "scheduler/sched_int.h"

typedef struct log_piece {
    int64_t run;
    char *task;
    int attempt;
    uint64_t offset;
    int whole; /* the attempt's whole log: the file ends with it */
    uint8_t *data;
    size_t len;
} log_piece;

void sched_log_keep(sched *s, uint64_t run, const char *task, int attempt, uint64_t offset,
                    int whole, const uint8_t *data, size_t len)
{
    if (!len)
        return;
    xgrow(&s->log_pieces, &s->caplog_pieces, s->nlog_pieces + 1, sizeof *s->log_pieces);
    s->log_pieces[s->nlog_pieces++] = (log_piece){(int64_t)run, xstrdup(task), attempt, offset,
                                                  whole, memcpy(xmalloc(len), data, len), len};
}

void sched_logs_write(sched *s)
{
    for (size_t i = 0; i < s->nlog_pieces; i++) {
        log_piece *l = &s->log_pieces[i];
        if (l->whole)
            catalog_write_log(s->cat, l->run, l->task, l->attempt, l->data, l->len);
        else
            catalog_append_log(s->cat, l->run, l->task, l->attempt, l->offset, l->data, l->len);
        free(l->task);
        free(l->data);
    }
    s->nlog_pieces = 0;
}

void sched_logs_free(sched *s)
{
    if (s->cat)
        sched_logs_write(s);
    free(s->log_pieces);
    s->log_pieces = NULL;
}
