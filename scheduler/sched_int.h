/* sched_int: the scheduler shell's state, shared by sched.c (loop, sockets, messages) and
 * sched_fx.c (applying the core's effects). Private to the scheduler. */
#ifndef WEFT_SCHED_INT_H
#define WEFT_SCHED_INT_H

#include <uv.h>

#include "catalog/catalog.h"
#include "common/keys.h"
#include "common/wire.h"
#include "common/auth.h"
#include "common/histo.h"
#include "compiler/compile.h"
#include "catalog/store.h"
#include "common/strmap.h"
#include "common/u64map.h"
#include "scheduler/core.h"
#include "scheduler/sched.h"
#include "compiler/typereg.h"
#include "scheduler/ingest.h"
#include "weft.pb-c.h"
#include "common/zsock.h"

/* What a queued message is, for a turn that cannot commit: replies to clients are replaced
 * by a refusal, messages to workers (dispatches, stops) are dropped, control messages
 * (asking a worker to register) go out anyway. */
enum out_kind { OUT_REPLY, OUT_WORKER, OUT_CONTROL };

/* A socket the scheduler listens on. TCP endpoints share one socket that speaks CURVE
 * (or, with --insecure, plain loopback TCP); ipc:// endpoints another, without CURVE, whose
 * peers are known by their uid. Each has a ZeroMQ monitor that logs refused handshakes. */
typedef struct listener {
    struct sched *s;
    zsock *z;
    zsock *monitor;
    int index;
} listener;

#define SCHED_LISTENERS 2

/* The connection a registered worker talks on: messages to it go there, and only messages
 * from there are the worker's. */
typedef struct wconn {
    listener *via;
    uint8_t *rid;     /* its routing id on via */
    size_t ridlen;
    char *user;       /* the User-Id it was admitted with */
    int batches;      /* it takes Batch envelopes (Register.batches) */
} wconn;

/* A message waiting for the turn's commit. */
typedef struct outmsg {
    listener *via;
    uint8_t *id;
    size_t idlen;
    uint8_t *data;
    size_t len;
    int kind;     /* enum out_kind */
    char *worker; /* for dispatches: the worker to declare lost if unroutable */
} outmsg;

/* What a new run is made from (borrowed). */
typedef struct sched_new_run {
    const char *file, *yaml;
    const json_t *pinned;   /* path -> artifact reference, for every path it named */
    int64_t retry_of;       /* the run it retries, or 0 */
    const char *project;
    const char *labels;     /* JSON object */
    int64_t schedule_id;    /* the schedule that fired it (0: none) ... */
    int64_t logical_s;      /* ... and the slot */
} sched_new_run;

struct sched {
    uv_loop_t loop;
    wire_inbox inbox; /* the messages being handled, decoded (sched.c sched_on_message) */
    void *zctx;
    listener listeners[SCHED_LISTENERS];
    listener *cur;    /* the listener of the message being handled: replies go there */
    zsock *zap;       /* the ZAP handler (inproc://zeromq.zap.01) */
    auth *auth;
    keypair key;      /* the scheduler's own CURVE key pair (state dir/scheduler.key) */
    uint8_t nonce_key[32];
    struct nonce_slot *nonces; /* the nonces of recent dispatches (sched_auth.c) */
    struct ended_slot *ended;  /* the units of recently ended attempts (sched_worker.c) */
    strmap *wconns;   /* worker name -> wconn */
    strmap *wnames;   /* listener index and routing id, in hex -> worker name (owned) */
    catalog *cat;
    core *core;
    typereg *types;
    store *store;
    core_effects fx;
    uv_prepare_t prepare;
    uv_timer_t timer;
    int64_t tick_due_us;     /* when the timer is to fire (clock_mono_us) */
    uv_signal_t sigint, sigterm;
    outmsg *out;
    size_t nout, capout;
    outmsg *backlog;  /* messages to workers whose queue was full, in order */
    size_t nbacklog, capbacklog;
    uv_timer_t backlog_timer;
    uv_idle_t spin;   /* active while messages are left to read: the loop must not block */
    core_event *lookups; /* EV_LOOKUP answers waiting to be stepped */
    size_t nlookups, caplookups;
    int lock_fd;
    int stopping;
    char *state_dir;
    /* Unknown workers asked to register again -> when (ms, as a pointer): one request per
     * REREGISTER_WAIT_MS, so heartbeats queued during our restart do not bring back
     * duplicate registrations, the late one of which would fail attempts dispatched after
     * the first. */
    strmap *reregister_asked;
    /* Degraded: the catalogue cannot be written (disk full, I/O error, damaged, locked by
     * another process). The turn that failed was rolled back and the core set aside; until
     * a probe write succeeds, write requests are refused with the reason, reads are served,
     * and worker messages wait (workers resend their results when asked to register). */
    int degraded;
    weft_err degraded_why;
    int64_t degraded_since_us;
    uint64_t commit_failures;
    int64_t attempt_grace_us;
    int64_t aging_us;            /* core_set_aging */
    uv_timer_t probe;
    uint64_t probe_ms;
    json_t *project_limits; /* project name -> its row of catalog_list_projects */
    strmap *uploads;  /* principal-hash -> upload under way (sched_upload.c) */
    u64map *grants;   /* attempt id -> the blobs its worker may fetch (sched_blob.c) */
    struct schedules *schedules; /* the live schedules (sched_schedule.c) */
    struct notifier *notifier;   /* the outbox's deliveries (sched_notify.c) */
    uv_timer_t schedule_timer;
    uint64_t max_upload;
    /* What only the scheduler sees, for the gateway's /metrics (QUERY_METRICS): the wait
     * of ready tasks for a slot, the time from a dispatch to its attempt's start on the
     * worker, and each turn's commit. Since this scheduler started. */
    histo queue_wait, dispatch_latency, commit_time;
    struct waits *waits; /* submits answered when their run ends (sched_exec.c) */
    struct journal *journal; /* small blobs the commit makes durable (sched_journal.c) */
};

/* ---- sched_exec.c: registered workflows, and runs answered when they end ---- */

/* Registers rq's workflow in project (SubmitRequest mode "register") and answers. */
void sched_register(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                    const Weft__SubmitRequest *rq, const char *project);
/* The registration of name in project (catalog_registration_get). */
json_t *sched_registration(sched *s, const char *project, const char *name, weft_err *err);
/* Answers the request id when run ends, or after wait_ms. */
void sched_wait_for_run(sched *s, const zmq_msg_t *id, uint64_t run, uint32_t wait_ms,
                        int64_t now);
/* run ended in state (error: why, or NULL): answers whoever waits for it, with the outputs
 * of g's last task. */
void sched_wait_run_ended(sched *s, const dag *g, uint64_t run, const char *state,
                          const char *error);
void sched_waits_init(sched *s);
void sched_waits_free(sched *s);

/* What only the scheduler knows, for /metrics (QUERY_METRICS): {"ready_by_type",
 * "workers", "slots", "free_slots", "runs_active", "degraded", and the histograms
 * "queue_wait", "dispatch_latency", "commit_time" (histo_json)}. New reference. */
json_t *sched_metrics(sched *s);

/* ---- sched_worker.c: messages from workers ---- */

void sched_on_register(sched *s, const zmq_msg_t *id, const Weft__Register *r,
                       const auth_peer *peer, const char *user);
void sched_on_heartbeat(sched *s, const zmq_msg_t *id, const char *user);
void sched_on_log_chunk(sched *s, const zmq_msg_t *id, const char *user,
                        const Weft__LogChunk *c);
void sched_on_result(sched *s, const zmq_msg_t *id, const char *user, const Weft__Result *r);
/* The registered worker that talks on connection id, or NULL after asking the connection
 * to register (again: we restarted, or declared it lost), with what it is running; once,
 * until it does or the wait is over. */
const char *sched_known_worker(sched *s, const zmq_msg_t *id, const char *user);

/* ---- sched_conn.c: listeners and the connections of workers ---- */

/* Opens the listeners for cfg's endpoints (CURVE on TCP unless cfg->insecure). */
int sched_listen(sched *s, const sched_config *cfg, weft_err *err);
void sched_listeners_close(sched *s);
/* sched.c: handles one message of a listener (arg). */
void sched_on_message(void *arg, zmq_msg_t *frames, size_t n);
/* Receives from every listener; returns how many messages. */
size_t sched_drain(sched *s);
/* Why a registration (declaring ntypes task types) is outside the bounds every worker must
 * keep (wire.h, resource.h), in buf; or NULL. */
const char *sched_registration_bounds(const Weft__Register *r, size_t ntypes, char *buf,
                                      size_t n);
/* Records that worker talks on the current message's connection id (replacing its old one). */
void sched_bind_worker(sched *s, const char *worker, const zmq_msg_t *id, const char *user);
/* The worker that talks on the current message's connection id, admitted as user, or
 * NULL. */
const char *sched_worker_of(sched *s, const zmq_msg_t *id, const char *user);
/* Forgets worker's connection (it was lost). */
void sched_unbind_worker(sched *s, const char *worker);
/* The connection of worker, or NULL. */
wconn *sched_worker_conn(sched *s, const char *worker);
void sched_conns_free(sched *s);

/* ---- sched_auth.c: keys, ZAP, and the authorization of every message ---- */

/* Loads or makes the scheduler's key pair and the keys it admits, and starts the ZAP handler
 * (before any listener binds). */
int sched_auth_open(sched *s, weft_err *err);
void sched_auth_close(sched *s);
/* Whether the sender of env (admitted as user_id on the current listener) may send it;
 * when not, logs who and why, answers a client with WEFT_EDENIED, and returns 0. */
int sched_authorize(sched *s, const zmq_msg_t *id, const char *user_id,
                    const Weft__Envelope *env, auth_peer *peer);
/* Logs a refused message and answers it: a client request with WEFT_EDENIED, a worker's
 * registration (or, with tell, any worker message: its key is unknown or revoked) with
 * Refused. */
void sched_deny(sched *s, const zmq_msg_t *id, const char *who, const Weft__Envelope *env,
                const char *why, int tell);
/* Key management: list, add, revoke (admin). */
void sched_on_keys(sched *s, const zmq_msg_t *id, const Weft__KeysRequest *rq);
/* Reloads the keys from the catalogue (after a turn that could not commit). */
int sched_auth_reload(sched *s);
/* Notes the unit of an attempt that ended: a late result of it (a checkpoint) then finds
 * its task's row at once. */
void sched_attempt_ended(sched *s, uint64_t attempt_id, uint64_t run, int idx, int elem);
/* The nonce of an attempt: a keyed hash of its id (32 hex digits and a NUL). */
void sched_nonce(sched *s, uint64_t attempt_id, char out[33]);

/* ---- sched_project.c: projects ---- */

/* Reads every project's limits from the catalogue and gives them to the core (after it is
 * made). */
int sched_projects_load(sched *s);
/* Whether peer may use project for what ("a submit"); else the request is refused (logged,
 * answered) and 0 returned. */
int sched_may_use(sched *s, const zmq_msg_t *id, const auth_peer *peer, const char *project,
                  const char *what);
/* Whether peer may see and act on run (also when there is no such run: the request says
 * so); else the request is refused and 0 returned. */
int sched_may_see_run(sched *s, const zmq_msg_t *id, const auth_peer *peer, uint64_t run,
                      const char *what);
/* Whether a new run of project with ntasks tasks is within the project's limits (running
 * runs, tasks per run); else the request is answered with WEFT_ELIMIT and 0 returned. */
int sched_within_limits(sched *s, const zmq_msg_t *id, const char *project, size_t ntasks);
/* The same without answering: 1 when a run of project with ntasks tasks is within its
 * limits (new_run 0: only the tasks per run are checked), else 0 with why. */
int sched_limits_why(sched *s, const char *project, size_t ntasks, int new_run, char *why,
                     size_t n);
/* A project request: list (what peer may use), or set limits (admin). */
void sched_on_project(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                      const Weft__ProjectRequest *rq);

/* ---- sched_schedule.c: schedules and backfills ---- */

/* A submit whose mode is "schedule" (register g's schedule) or "backfill" (queue the slots
 * of a range); answers it. g is consumed. */
void sched_schedule_submit(sched *s, const zmq_msg_t *id, const auth_peer *peer, dag *g,
                           const sched_new_run *nr, const Weft__SubmitRequest *rq,
                           int64_t now);
/* List, pause, resume, remove. */
void sched_on_schedule(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                       const Weft__ScheduleRequest *rq);
/* (Re)reads the live schedules from the catalogue: slots that passed since a schedule's
 * cursor up to live_from_s (the scheduler was down) follow its catchup; later ones (a
 * spell of being degraded) are due. */
int sched_schedules_load(sched *s, int64_t live_from_s);
/* Looks at the schedules in the next loop turn (a run ended: a queued slot may start). */
void sched_schedules_kick(sched *s);
void sched_schedules_free(sched *s);

/* ---- sched_notify.c: notifications through the outbox ---- */

/* The task a task event is about. */
typedef struct sched_notify_task {
    const char *name;    /* the task, or "task[i]" for an element */
    const char *errclass, *message;
    int64_t seq;         /* tells one retry of it from the next */
} sched_notify_task;
/* Queues event of run (compiled as g) for every target of g's notify: that listens for it,
 * with the turn; task: for task_failed and retrying, else NULL. */
void sched_notify_event(sched *s, const dag *g, uint64_t run, const char *event,
                        const sched_notify_task *task);
/* Looks at the outbox in the next loop turn. */
void sched_notify_kick(sched *s);
/* Starts delivering (secrets as cfg says); -1 when libcurl cannot. */
int sched_notify_open(sched *s, const sched_config *cfg);
/* Stops: transfers under way are abandoned (delivered again after a restart). */
void sched_notify_close(sched *s);

/* ---- sched_upload.c: blobs remote clients upload ---- */

void sched_on_upload(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                     const Weft__UploadRequest *rq);
/* A piece of a blob of a task's outputs, for a client that may see its run. */
void sched_on_download(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                       const Weft__DownloadRequest *rq);
void sched_uploads_free(sched *s);
/* A piece of a blob the scheduler receives: a client's upload, a worker's push. */
#define BLOB_PIECE_MAX (1u << 20)
typedef struct blob_piece {
    const char *hash;
    uint64_t size, offset; /* the whole blob's size; where data starts */
    const uint8_t *data;
    size_t len;
} blob_piece;
/* Writes p into the partial blob sender is sending (resumed from where it stopped, even
 * after a restart), which joins the store once whole and matching its hash. *have: how
 * much the scheduler holds (the sender goes on from there); *stored: the blob is in the
 * store. dedup: a blob already in the store counts as sent. At most max_partial blobs of one
 * sender under way. 0, or an error (err set). */
int sched_receive(sched *s, const char *sender, const blob_piece *p, int dedup,
                  size_t max_partial, uint64_t *have, int *stored, weft_err *err);
/* Whether a message about attempt (body: a result, a log chunk, a blob) from worker sender
 * carries the attempt's nonce and sender is the worker it was dispatched to; else it is
 * refused (logged, nothing changes). */
int sched_attempt_authentic(sched *s, const zmq_msg_t *id, const char *sender,
                            uint64_t attempt, const char *given, int body);
/* A worker's BlobFetch and BlobPush (sched_blob.c), from sender, authenticated. */
void sched_on_blob_fetch(sched *s, const zmq_msg_t *id, const char *sender,
                         const Weft__BlobFetch *rq);
void sched_on_blob_push(sched *s, const zmq_msg_t *id, const char *sender,
                        const Weft__BlobPush *rq);
/* Whether every blob v references (and every file of its directories) is in the store;
 * else why names the first one missing. */
int sched_blobs_present(sched *s, const json_t *v, char *why, size_t n);
/* Forgets what attempt_id was allowed to fetch (it ended). */
void sched_blob_forget(sched *s, uint64_t attempt_id);
void sched_blobs_free(sched *s);

/* ---- sched_journal.c: small blobs made durable by the turn's commit ----
 *
 * A blob of at most SCHED_JOURNAL_BLOB_MAX bytes for a local store is added to the
 * catalogue's blob journal in the turn that references it (held by the store meanwhile,
 * store_hold), and its store file is written unsynced once that turn has committed, before
 * the turn's messages go: no fsync of its own on the way from a result to what it
 * releases. A sync of the store's file system, off the loop at most once a second, lets the
 * journal drop what it covered; on start, what is still journalled is written again if lost
 * and synced (sched_journal_open). */

#define SCHED_JOURNAL_BLOB_MAX (64u << 10)

/* Opens the journal for s's store (kept only for a local store), after replaying what the
 * catalogue still journals. 0, or an error (a blob that can be neither found nor written). */
int sched_journal_open(sched *s, weft_err *err);
/* The largest blob a worker may send back inside its Result (0: none, store not local). */
uint32_t sched_journal_inline_max(const sched *s);
/* Stores len bytes of data as a blob (its hash into hex): journalled in the turn when
 * small and the store local, else written and synced now. */
int sched_journal_put(sched *s, const void *data, size_t len, char hex[HASH_HEX_LEN + 1],
                      weft_err *err);
/* A blob a worker sent with its result (hash as sent): journalled when it is what its hash
 * says, small enough, and not in the store. 0, or WEFT_EINVAL / WEFT_EDB with why. */
int sched_journal_take(sched *s, const char *hash, const void *data, size_t len, weft_err *err);
/* After the turn's commit: writes the files of what it journalled (ok), or forgets them
 * (the turn was rolled back). */
void sched_journal_committed(sched *s, int ok);
/* Starts a sync of the store's file system when journalled blobs wait for one, and drops
 * the entries a finished sync covered (in the turn). */
void sched_journal_tick(sched *s);
void sched_journal_free(sched *s);

/* ---- sched_out.c: outgoing messages ---- */

/* A peer's routing id for the log: printable ids as they are, others in hex. */
const char *sched_peer_name(zmq_msg_t *id, char *buf, size_t n);
/* Queues env for peer id of the current listener. */
void sched_queue_env(sched *s, const zmq_msg_t *id, const Weft__Envelope *env, int kind);
/* Sends the queued messages (after the turn's commit), the backlog first. A reply that
 * finds its client's queue full is dropped; a message to a worker waits in the backlog; a
 * worker that cannot be reached is lost. */
void sched_flush(sched *s);
void sched_on_backlog_timer(uv_timer_t *t);
/* Drops the backlog (its messages belong to a core set aside). */
void sched_backlog_clear(sched *s);
/* Frees the queue and the backlog. */
void sched_out_free(sched *s);
/* Queues packed bytes (takes ownership) for peer id of the current listener. */
void sched_queue_packed(sched *s, const zmq_msg_t *id, uint8_t *data, size_t len, int kind,
                        const char *worker);
/* Packs a Reply envelope; caller frees. */
uint8_t *sched_pack_reply(int code, const char *error, const char *json, uint64_t run_id,
                          size_t *len);
/* Queues a reply to client id (error: lines of messages; json: the answer). */
void sched_reply(sched *s, const zmq_msg_t *id, int code, const char *error, const char *json,
                 uint64_t run_id);
/* A successful reply carrying bytes (a download's piece) beside json. */
void sched_reply_data(sched *s, const zmq_msg_t *id, const char *json, const void *bytes,
                      size_t n);
/* Replies with j (consumed), or with err when j is NULL. */
void sched_reply_json(sched *s, const zmq_msg_t *id, json_t *j, const weft_err *err);
/* The same with the answer as JSON text (consumed). */
void sched_reply_text(sched *s, const zmq_msg_t *id, char *text, const weft_err *err);
/* Steps the core with ev and applies the effects (answering lookups). */
void sched_step(sched *s, core_event *ev);
/* Records a new run of g: workflow, run row, task rows and edges. Returns its id, or
 * WEFT_EDB. */
int64_t sched_create_run(sched *s, const dag *g, const sched_new_run *nr, int64_t now);
/* Records a new run of g (consumed) with its "submitted" event (detail) and gives it to the
 * core. Returns its id, or WEFT_EDB. */
int64_t sched_start_run(sched *s, dag *g, const sched_new_run *nr, const char *detail,
                        int64_t now);
/* Records a successful answer to peer's request with key (none: nothing), with the turn. */
void sched_remember_answer(sched *s, const auth_peer *peer, const char *key, const char *kind,
                           const char *json, uint64_t run_id, int64_t now);
/* -p parameters from a request (borrowing its strings); caller frees the array. */
compile_param *sched_wire_params(Weft__Param *const *wire, size_t n);
/* Labels (key -> value) as a JSON object text (caller frees), or NULL with why. */
char *sched_labels_json(Weft__Param *const *labels, size_t n, char *why, size_t wn);
/* What a client sent with a submit or retry for its paths: references to blobs it
 * uploaded, and small files inline. */
typedef struct sched_sent {
    Weft__Param *const *uploads;
    size_t nuploads;
    Weft__InlineFile *const *files;
    size_t nfiles;
} sched_sent;
#define SCHED_SENT(rq) \
    ((sched_sent){(rq)->uploads, (rq)->n_uploads, (rq)->files, (rq)->n_files})
#define SCHED_INLINE_MAX (64u << 10) /* a file sent inline */
#define SCHED_INLINE_FILES 16        /* files sent inline with one request */
/* Sets up ic for compiling a client's request in project: its paths from its cwd (a local
 * client) or from what it sent (a remote one; inline files are stored and recorded as
 * uploaded now). 0, or -1 with why (an inline file refused or not stored); either way
 * sched_ingest_end frees ic. */
int sched_ingest_begin(sched *s, ingest_ctx *ic, const auth_peer *peer, const char *cwd,
                       const sched_sent *sent, const char *project, char *why, size_t wn);
void sched_ingest_end(ingest_ctx *ic);
/* Answers a request that failed to compile with errors: when some of its paths were not
 * uploaded, with the list of them for the client to upload first. */
void sched_reply_compile_errors(sched *s, const zmq_msg_t *id, const ingest_ctx *ic,
                                const char *errors, int code);
/* sched_client.c: client requests. */
void sched_on_submit(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                     const Weft__SubmitRequest *rq);
void sched_on_cancel(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                     const Weft__CancelRequest *rq);
/* sched_client.c: when run is not active, answers why (it ended: how; or there is no
 * such run) and returns 1; else 0. */
int sched_refuse_ended_run(sched *s, const zmq_msg_t *id, uint64_t run);
/* sched_signal.c: decides a waiting approval. */
void sched_on_signal(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                     const Weft__SignalRequest *rq);
void sched_on_query(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                    const Weft__QueryRequest *q);
void sched_on_retry(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                    const Weft__RetryRequest *rq);
/* When peer's key (may be NULL or "") was answered before, queues that first answer to id
 * and returns 1; a key that is too long, or was used for a request of another kind
 * ("submit", "retry", "cancel"), is refused (also 1). Else 0. Keys are per principal: the
 * same key from another principal is another request. */
int sched_answered_before(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                          const char *kind, const char *key);
/* Queues env for worker, sent after the turn's commit. */
void sched_queue_to_worker(sched *s, const char *worker, const Weft__Envelope *env);
/* Turns the core's pending effects into catalogue writes and queued messages, and clears
 * them. Lookups are answered into s->lookups, for the caller to step. */
void sched_apply_effects(sched *s, int64_t now);

/* sched_commit.c: commits the turn's writes. On failure the turn is rolled back (its
 * replies become refusals, its worker messages are dropped) and the scheduler degrades;
 * returns -1 then, else 0. */
int sched_commit(sched *s);
/* Rebuilds every run a previous scheduler (or the core set aside) left running; a run that
 * cannot be rebuilt is marked failed with the reason. Commits. */
void sched_recover_runs(sched *s);
/* Refuses a write request from client id while degraded, with the reason. */
void sched_refuse_degraded(sched *s, const zmq_msg_t *id);
/* The scheduler's own state for weft status: "ok" or "degraded" with the reason (new
 * reference). */
json_t *sched_health(sched *s);

#endif
