/* weft-bench-floor: what one link of a chain costs on this machine before weft does any
 * work. A link is one durable commit (the scheduler records the last task's result and the
 * next task's dispatch before it sends the dispatch), one ZeroMQ round trip (the dispatch to
 * the worker, the result back) and one pipe round trip (the worker's request to its
 * executor, the executor's result back). This program times each alone, one message in
 * flight, with weft's message sizes, and prints their medians' sum: no build of weft on this
 * machine can run a chain faster than that.
 *
 *   weft-bench-floor [DIR] [ROUNDS]
 *
 * DIR (default .) is where the SQLite file goes: put it on the disk that holds the
 * scheduler's state. ROUNDS (default 2000) is how many of each are timed. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define ROUNDS_MAX 1000000
#define DISPATCH_BYTES 150 /* a no-op task's Dispatch, as weft sends it */
#define RESULT_BYTES 120   /* its Result */

typedef struct {
    double p50, p99; /* microseconds */
} timing;

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static timing percentiles(int64_t *ns, int n)
{
    qsort(ns, (size_t)n, sizeof *ns, by_value);
    return (timing){ns[n / 2] / 1e3, ns[(int64_t)n * 99 / 100] / 1e3};
}

static int fail(const char *what)
{
    fprintf(stderr, "weft-bench-floor: %s: %s\n", what, strerror(errno));
    return -1;
}

/* The echoing side of the ZeroMQ round trip, in a child: connects to endpoint, as a worker
 * connects to its scheduler, and sends back each message it gets. */
static int zmq_echo(const char *endpoint, const char *server_public, int rounds)
{
    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_DEALER);
    char pub[41], sec[41], buf[512];
    int rc = -1, linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (server_public && (zmq_curve_keypair(pub, sec) != 0 ||
                          zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_public, 40) != 0 ||
                          zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, 40) != 0 ||
                          zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40) != 0))
        goto out;
    if (zmq_connect(sock, endpoint) != 0)
        goto out;
    int i = 0;
    for (; i < rounds; i++) {
        int n = zmq_recv(sock, buf, sizeof buf, 0);
        if (n < 0 || zmq_send(sock, buf, RESULT_BYTES, 0) != RESULT_BYTES)
            break;
    }
    rc = i == rounds ? 0 : -1;
out:
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return rc;
}

/* Times rounds ZeroMQ round trips over TCP loopback, with CURVE when curve is set, into ns.
 * Returns 0, or -1 with the reason on stderr. */
static int time_zmq(int curve, int64_t *ns, int rounds)
{
    int ready[2];
    if (pipe(ready) != 0)
        return fail("pipe");
    pid_t child = fork();
    if (child < 0)
        return fail("fork");
    if (child == 0) { /* its own context, made after the fork */
        char msg[128 + 41] = {0};
        close(ready[1]);
        ssize_t n = read(ready[0], msg, sizeof msg - 1);
        char *key = strchr(msg, ' ');
        if (n <= 0 || !key)
            _exit(2);
        *key++ = '\0';
        _exit(zmq_echo(msg, curve ? key : NULL, rounds) == 0 ? 0 : 1);
    }
    close(ready[0]);
    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_DEALER);
    char pub[41], sec[41], endpoint[128], msg[512] = {0};
    size_t len = sizeof endpoint;
    int server = 1, rc = -1, i = 0, linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_curve_keypair(pub, sec) != 0 ||
        (curve && (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &server, sizeof server) != 0 ||
                   zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40) != 0)) ||
        zmq_bind(sock, "tcp://127.0.0.1:*") != 0 ||
        zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0) {
        fprintf(stderr, "weft-bench-floor: zeromq: %s\n", zmq_strerror(zmq_errno()));
        goto out;
    }
    snprintf(msg, sizeof msg, "%s %s", endpoint, pub);
    if (write(ready[1], msg, strlen(msg)) < 0) {
        fail("pipe write");
        goto out;
    }
    memset(msg, 'x', DISPATCH_BYTES);
    for (; i < rounds; i++) {
        int64_t t0 = now_ns();
        if (zmq_send(sock, msg, DISPATCH_BYTES, 0) != DISPATCH_BYTES ||
            zmq_recv(sock, msg, sizeof msg, 0) < 0)
            break;
        ns[i] = now_ns() - t0;
    }
    rc = i == rounds ? 0 : -1;
    if (rc < 0)
        fprintf(stderr, "weft-bench-floor: zeromq round trip %d: %s\n", i,
                zmq_strerror(zmq_errno()));
out:
    close(ready[1]);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    if (rc < 0) /* it may wait for a message that will not come */
        kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Times rounds round trips over a pair of pipes to a child process, into ns. */
static int time_pipe(int64_t *ns, int rounds)
{
    int down[2], up[2];
    char buf[512];
    if (pipe(down) != 0 || pipe(up) != 0)
        return fail("pipe");
    pid_t child = fork();
    if (child < 0)
        return fail("fork");
    if (child == 0) {
        close(down[1]);
        close(up[0]);
        for (int i = 0; i < rounds; i++)
            if (read(down[0], buf, sizeof buf) <= 0 || write(up[1], buf, RESULT_BYTES) < 0)
                _exit(1);
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    memset(buf, 'x', sizeof buf);
    int i = 0;
    for (; i < rounds; i++) {
        int64_t t0 = now_ns();
        if (write(down[1], buf, DISPATCH_BYTES) != DISPATCH_BYTES ||
            read(up[0], buf, sizeof buf) <= 0)
            break;
        ns[i] = now_ns() - t0;
    }
    close(down[1]);
    close(up[0]);
    int status = 0;
    waitpid(child, &status, 0);
    if (i < rounds)
        return fail("pipe round trip");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int db_exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    fprintf(stderr, "weft-bench-floor: sqlite: %s: %s\n", sql, sqlite3_errmsg(db));
    return -1;
}

/* Times rounds transactions of two small rows each in a SQLite file in dir, as durable as
 * the catalogue's (WAL, synchronous=FULL), into ns. The file is removed after. */
static int time_commit(const char *dir, int64_t *ns, int rounds)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/weft-floor-%ld.db", dir, (long)getpid());
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    int rc = -1, i = 0;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "weft-bench-floor: %s: %s\n", path, sqlite3_errmsg(db));
        goto out;
    }
    if (db_exec(db, "PRAGMA journal_mode = WAL") < 0 ||
        db_exec(db, "PRAGMA synchronous = FULL") < 0 ||
        db_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, state TEXT, at INTEGER)") < 0 ||
        sqlite3_prepare_v2(db, "INSERT INTO t(state, at) VALUES ('running', ?1)", -1, &ins,
                           NULL) != SQLITE_OK)
        goto out;
    for (; i < rounds; i++) {
        int64_t t0 = now_ns();
        if (db_exec(db, "BEGIN") < 0)
            break;
        for (int row = 0; row < 2; row++) {
            sqlite3_bind_int64(ins, 1, t0);
            int step = sqlite3_step(ins);
            sqlite3_reset(ins);
            if (step != SQLITE_DONE)
                goto out;
        }
        if (db_exec(db, "COMMIT") < 0)
            break;
        ns[i] = now_ns() - t0;
    }
    rc = i == rounds ? 0 : -1;
out:
    if (rc < 0 && db)
        fprintf(stderr, "weft-bench-floor: commit %d: %s\n", i, sqlite3_errmsg(db));
    sqlite3_finalize(ins);
    sqlite3_close(db);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t k = 0; k < sizeof suffix / sizeof *suffix; k++) {
        char f[4200];
        snprintf(f, sizeof f, "%s%s", path, suffix[k]);
        unlink(f);
    }
    return rc;
}

static void show(const char *what, timing t)
{
    printf("  %-46s p50 %7.1f us   p99 %7.1f us\n", what, t.p50, t.p99);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
    if (argc > 3 || rounds < 10 || rounds > ROUNDS_MAX) {
        fprintf(stderr, "usage: weft-bench-floor [DIR] [ROUNDS: 10 to %d]\n", ROUNDS_MAX);
        return 2;
    }
    int64_t *ns = malloc((size_t)rounds * sizeof *ns);
    if (!ns)
        return 1;
    timing plain, curve, pipes, commit;
    int n = (int)rounds, rc = 1;
    if (time_zmq(0, ns, n) < 0)
        goto out;
    plain = percentiles(ns, n);
    if (time_zmq(1, ns, n) < 0)
        goto out;
    curve = percentiles(ns, n);
    if (time_pipe(ns, n) < 0)
        goto out;
    pipes = percentiles(ns, n);
    if (time_commit(dir, ns, n) < 0)
        goto out;
    commit = percentiles(ns, n);
    printf("floor of a chain link (one message in flight, %d rounds each):\n", n);
    show("ZeroMQ round trip, TCP loopback", plain);
    show("ZeroMQ round trip, TCP loopback, CURVE", curve);
    show("pipe round trip to another process", pipes);
    show("SQLite commit (WAL, synchronous=FULL)", commit);
    printf("  a link cannot take less than %.3f ms (plain TCP) or %.3f ms (CURVE) here\n",
           (plain.p50 + pipes.p50 + commit.p50) / 1e3, (curve.p50 + pipes.p50 + commit.p50) / 1e3);
    rc = 0;
out:
    free(ns);
    return rc;
}
