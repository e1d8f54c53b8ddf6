/* cli: shared pieces of the `weft` command-line client.
 *
 * Exit codes (DESIGN.md): 0 success, 1 the run failed, 2 usage or validation error,
 * 3 cannot reach the scheduler, 4 the scheduler refused this client (key or role). */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/client.h"
#include "compiler/compile.h"

enum { EXIT_OK = 0, EXIT_RUN_FAILED = 1, EXIT_USAGE = 2, EXIT_UNREACH = 3, EXIT_DENIED = 4 };

typedef struct cli_opts {
    const char *scheduler;   /* --scheduler / $WEFT_SCHEDULER; NULL = local state */
    const char *state;       /* --state / $WEFT_STATE; default .weft */
    const char *plugin_path; /* --plugin-path / $WEFT_PLUGIN_PATH */
    int json;                /* --json */
    int quiet;               /* local sessions: print nothing of the run's progress */
    int dot, mermaid;        /* graph formats */
    int wait;                /* submit --wait */
    uint32_t slots;          /* run --slots */
    uint32_t workers;        /* run --workers */
    int timeout_ms;          /* --timeout / $WEFT_TIMEOUT: how long to wait for a reply */
    const char *workflow;    /* cache: --workflow */
    const char *task;        /* cache: --task */
    int all;                 /* cache evict --all */
    const char *from;        /* retry --from TASK */
    int dry_run;             /* retry, gc --dry-run */
    int full;                /* check --full */
    int64_t grace_ms;        /* gc --grace (-1: not given) */
    int64_t expire_ms;       /* gc --expire (-1: not given) */
    const char *idempotency_key; /* --idempotency-key: submit, retry, cancel, signal */
    const char *key_file;    /* --key / $WEFT_KEY: this client's CURVE key pair */
    const char *server_key;  /* --server-key / $WEFT_SERVER_KEY: the scheduler's key */
    int insecure;            /* --insecure / $WEFT_INSECURE=1: plain TCP to loopback */
    const char *role;        /* keys add --role */
    const char *project;     /* --project / $WEFT_PROJECT: submit's project; list and cache
                                filter; keys add: the last of projects */
    const char **projects;   /* keys add: every --project given */
    size_t nprojects;
    int64_t max_runs, max_tasks, max_inflight; /* project set (-1: not given) */
    int has_priority, priority;                /* project set --priority */
    uint32_t count;          /* schedule next -n */
    const char *after;       /* schedule next --after TIME */
    const char *to;          /* backfill --to TIME (and --from TIME, in from) */
    const char *name;        /* schedule add, backfill: --name */
    const char *schedule;    /* list --schedule NAME */
    uint32_t max_active;     /* backfill --max-active N (0: the schedule's) */
    int rerun;               /* backfill --rerun */
    int approve;             /* signal --approve */
    const char *reject;      /* signal --reject REASON */
    int follow;              /* logs -f */
    const char *out;         /* get -o PATH */
    compile_param *labels;   /* submit -l k=v; list --label k=v */
    size_t nlabels;
    const char *status;      /* list --status STATE */
    int64_t since_us, until_us; /* list --since/--until (0: not given) */
    uint32_t limit;          /* list --limit N (0: the default) */
    uint64_t before;         /* list --before RUN */
    compile_param *params;   /* -p name=value */
    size_t nparams;
    char **args;             /* positional arguments after the command */
    size_t nargs;
} cli_opts;

/* Where queries go: a scheduler (when one is named) or the local catalogue. */
typedef struct source source;

/* Opens the query source for opts: the scheduler when opts->scheduler is set, else the
 * catalogue in opts->state. Prints the problem and returns the exit code on failure. */
int source_open(const cli_opts *opts, source **out);
void source_close(source **sp);
json_t *source_query(source *s, Weft__QueryKind kind, uint64_t run, const char *task,
                     uint64_t after_seq, weft_err *err);
/* Run run with at most max_elements elements of each mapped task listed, and every
 * element counted; with max_tasks, its tasks counted, and of more, max_tasks of them listed
 * (catalog_query_run_some; 0: every element, every task). */
json_t *source_run(source *s, uint64_t run, uint32_t max_elements, uint32_t max_tasks,
                   weft_err *err);
/* Attempt number attempt of task's log in run from offset on (catalog_query_log_tail). */
json_t *source_log_tail(source *s, uint64_t run, const char *task, uint32_t attempt,
                        uint64_t offset, weft_err *err);

/* Submits the workflow file opts->args[0] with opts' parameters through s (which must be a
 * scheduler). Prints errors; returns an exit code, with *run set on success. */
int submit_file(source *s, const cli_opts *opts, uint64_t *run);

/* The same for path, with how's mode fields (mode, schedule_name, from_s, to_s, max_active,
 * rerun): "" starts a run (*run), "schedule" and "backfill" register one, described by
 * *answer (when answer is not NULL; caller json_decrefs). */
int cli_submit(source *s, const cli_opts *o, const char *path, const Weft__SubmitRequest *how,
               uint64_t *run, json_t **answer);

/* ---- follow.c ---- */

/* Prints the events of run until it ends; returns EXIT_OK or EXIT_RUN_FAILED (or
 * EXIT_UNREACH when the source stops answering). On a terminal, a bar of counts and what
 * went wrong; otherwise a line per event, but a map of more than 100 elements prints its
 * elements' failures and retries, and a line of counts every 5 s and at its end. */
int follow_run(source *s, uint64_t run, int quiet);
/* Prints the summary of a finished run (failed tasks with their errors). */
void print_run_summary(source *s, uint64_t run);

/* Starts something on a scheduler (through s) and sets *run to the run to follow (0: none).
 * Prints what it did; returns an exit code. */
typedef int (*local_start)(source *s, cli_opts *o, uint64_t *run);
/* A local scheduler and workers on o->state (child processes, stopped before returning):
 * start runs against them, then the run is followed to its end. Returns the exit code. */
int cli_local_session(cli_opts *o, local_start start);
/* Checks the workflow file o->args[0] (exit 2 on errors), then runs it in a local session
 * started by start. */
int cli_run_checked(cli_opts *o, local_start start);
/* Opens the scheduler named by o, or else the one serving o->state. */
int cli_open_scheduler(const cli_opts *o, source **out);
/* The client of a scheduler source (NULL for a local catalogue). */
client *source_client(source *s);
/* Sends env to the scheduler named by o (or serving o->state); returns the answer's JSON
 * (caller json_decrefs), or NULL with the problem printed and *rc its exit code. */
json_t *cli_ask(const cli_opts *o, const Weft__Envelope *env, int *rc);
/* n name=value pairs (-p parameters, -l labels) for a request (pointers into pairs); free
 * both arrays. */
Weft__Param **cli_wire_params(const compile_param *pairs, size_t n, Weft__Param **storage);
/* Prints j as indented JSON. */
void cli_print_json(const json_t *j);
/* The string member k of o, or "" (answers print absent fields as empty). */
const char *cli_str(const json_t *o, const char *k);
/* The terminal colour of a state ("" without colour), and the code that ends it. */
const char *cli_paint(const char *state);
const char *cli_reset(void);
/* Before printing JSON from a scheduler or catalogue for people: every string's control
 * characters but newline and tab become \xNN, so a task's log or a plugin's message cannot
 * drive the terminal. (--json output is left as it is: JSON escapes them.) */
void cli_for_terminal(json_t *j);
/* s with those control characters written as \xNN (caller frees), or NULL when it has
 * none. */
char *cli_terminal_safe(const char *s);
/* Prints err and returns its exit code. */
int cli_exit_for(const weft_err *err);
/* The idempotency key for a write request: o's --idempotency-key, or a new one in buf. */
const char *cli_request_key(const cli_opts *o, char buf[33]);
/* Prints a refusal from the scheduler; returns its exit code (3 when the scheduler cannot
 * write its catalogue, 2 otherwise). Validation errors ("file:line:column: message" lines)
 * are printed as they are. */
int cli_refused(const Weft__Reply *r);

/* The registry of task types on the plugin path (described by weft-executor). Prints the
 * problem and returns NULL when it cannot be obtained. */
struct typereg *cli_types(const cli_opts *opts);

/* Compiles the workflow file path with o's parameters against the plugin path's types;
 * prints errors. The dag, or NULL with *rc set. */
dag *cli_compile(cli_opts *o, const char *path, int *rc);

int cmd_validate(cli_opts *o);
int cmd_graph(cli_opts *o);
int cmd_plugins(cli_opts *o);
int cmd_submit(cli_opts *o);
int cmd_register(cli_opts *o);
int cmd_status(cli_opts *o);
int cmd_list(cli_opts *o);
int cmd_workers(cli_opts *o);
/* Prints a query's answer for people; returns an exit code. */
typedef int (*cli_printer)(const json_t *j, const cli_opts *o);
/* Opens the source, asks, and prints the answer (as JSON with --json). */
int cli_show(const cli_opts *o, Weft__QueryKind kind, uint64_t run, const char *task,
             cli_printer print);
int cmd_logs(cli_opts *o);
int cmd_run(cli_opts *o);
int cmd_cancel(cli_opts *o);
int cmd_signal(cli_opts *o);
/* A run id from s; prints why and returns EXIT_USAGE when it is none. */
int cli_parse_run(const char *s, uint64_t *out);
int cmd_cache(cli_opts *o);
int cmd_retry(cli_opts *o);
int cmd_gc(cli_opts *o);
int cmd_task(cli_opts *o);
int cmd_search(cli_opts *o);
int cmd_events(cli_opts *o);
int cmd_backup(cli_opts *o);
int cmd_restore(cli_opts *o);
int cmd_check(cli_opts *o);
int cmd_keys(cli_opts *o);
int cmd_project(cli_opts *o);
int cmd_schedule(cli_opts *o);
int cmd_backfill(cli_opts *o);
int cmd_notifications(cli_opts *o);
int cmd_get(cli_opts *o);
/* weft logs -f (cmd_follow.c): prints run's logs (task's, or every task's) as they are
 * written, until they end. Returns an exit code. */
int cli_follow_logs(cli_opts *o, uint64_t run, const char *task);

/* Whether to use colour on stdout (a TTY, and NO_COLOR unset). */
int cli_color(void);

#endif
