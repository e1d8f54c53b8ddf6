/* weft run: run a workflow locally, with no daemon to start.
 *
 * Checks the workflow first, in a child process (errors exit 2 before anything starts),
 * then starts a scheduler on the state directory and local workers as child processes (they
 * die with this process), submits the workflow, follows its progress, shuts the children
 * down and exits with the run's status. Everything is recorded in the state directory's
 * catalogue, so `weft status`, `weft logs` and `weft list` work afterwards. `weft retry`
 * uses the same local session. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/fsutil.h"
#include "common/xmem.h"
#include "compiler/typereg.h"

/* The attempts each local worker holds beyond its slots (weft-worker --prefetch). */
#define LOCAL_PREFETCH "64"

/* Starts argv[0] with argv; the child gets SIGTERM if we die. Returns its pid or -1. */
static pid_t start_child(char *const *argv)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        execv(argv[0], argv);
        fprintf(stderr, "weft: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Stops a child with sig (0: it was asked to stop already) and waits, killing it after 5 s.
 * A child that did not exit cleanly is reported: its log on stderr says why. */
static void stop_child(pid_t pid, int sig, const char *what)
{
    int status = 0;
    if (pid <= 0)
        return;
    if (sig)
        kill(pid, sig);
    for (int i = 0; i < 250; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
        if (i == 249) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
    }
    if (WIFSIGNALED(status))
        fprintf(stderr, "weft: the local %s was killed by signal %d\n", what, WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        fprintf(stderr, "weft: the local %s exited with status %d\n", what, WEXITSTATUS(status));
}

/* The check itself: the workflow compiles (errors printed). */
static int check(cli_opts *o)
{
    typereg *types = cli_types(o);
    if (!types)
        return EXIT_USAGE;
    diag *d = diag_new(o->args[0]);
    dag *g = compile_file(o->args[0], types, o->params, o->nparams, d);
    int rc = EXIT_OK;
    if (!g) {
        char *errors = diag_render(d);
        fputs(errors, stderr);
        free(errors);
        rc = EXIT_USAGE;
    }
    dag_free(g);
    diag_destroy(&d);
    typereg_destroy(&types);
    return rc;
}

/* Checks the workflow in a child process: what compiling a large file takes (a
 * million-item list: about 110 MB for a second) is the child's, never this process's,
 * which then follows the run for as long as it lasts. */
static int check_first(cli_opts *o)
{
    fflush(NULL);
    /* Waited for even when weft was started with SIGCHLD ignored (children then reap
     * themselves, and waitpid would not see the check's status). */
    void (*was)(int) = signal(SIGCHLD, SIG_DFL);
    pid_t pid = fork();
    if (pid < 0) {
        signal(SIGCHLD, was);
        return check(o);
    }
    if (pid == 0) {
        int rc = check(o);
        fflush(NULL);
        _exit(rc);
    }
    int status = 0;
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    signal(SIGCHLD, was);
    if (got == pid && WIFEXITED(status))
        return WEXITSTATUS(status);
    fprintf(stderr, "weft: checking %s failed (signal %d)\n", o->args[0],
            WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return EXIT_USAGE;
}

int cli_local_session(cli_opts *o, local_start start)
{
    weft_err derr = {0};
    if (fs_private_dir(o->state, &derr) < 0) {
        fprintf(stderr, "weft: %s\n", derr.msg);
        return EXIT_USAGE;
    }
    char *sched_exe = fs_sibling_exe("weft-scheduler");
    char *worker_exe = fs_sibling_exe("weft-worker");
    char *endpoint = xasprintf("ipc://%s/run-%d.sock", o->state, (int)getpid());
    char *work = xasprintf("%s/work-%d", o->state, (int)getpid());

    char *plugin_path = o->plugin_path ? xstrdup(o->plugin_path) : fs_default_plugin_path();
    uint32_t nworkers = o->workers ? o->workers : 1;
    char slots[16], name[64];
    snprintf(slots, sizeof slots, "%u", o->slots ? o->slots : 0);
    char *sargv[] = {sched_exe, "--state", (char *)o->state, "--listen", endpoint,
                     "--plugin-path", plugin_path, "--log-level", "warn", NULL};
    pid_t sched = start_child(sargv);
    pid_t *workers = xcalloc(nworkers, sizeof *workers);
    for (uint32_t i = 0; i < nworkers; i++) {
        snprintf(name, sizeof name, "local-%d-%u", (int)getpid(), i);
        char *wdir = xasprintf("%s/%s", work, name);
        /* Without --slots the argument list ends early and the worker uses one per core.
         * The workers are this machine's alone: a queue beyond their slots costs no balance
         * across machines, and keeps each slot from waiting for the scheduler between
         * short tasks (a map of 20,000 no-op elements: 4,600 against 2,400 a second). */
        char *wargv[] = {worker_exe, "--scheduler", endpoint, "--name", name, "--plugin-path",
                         plugin_path, "--work-dir", wdir, "--log-level", "warn", "--prefetch",
                         LOCAL_PREFETCH, o->slots ? "--slots" : NULL, slots, NULL};
        workers[i] = start_child(wargv);
        free(wdir);
    }

    /* Talk to the scheduler like any client; the request waits in the socket until the
     * scheduler has bound its endpoint. */
    cli_opts so = *o;
    so.scheduler = endpoint;
    so.wait = 0;
    source *s = NULL;
    int rc = source_open(&so, &s);
    uint64_t run = 0;
    if (!rc)
        rc = start(s, &so, &run);
    if (!rc && run) {
        rc = follow_run(s, run, o->json || o->quiet);
        if (o->json && !o->quiet)
            printf("{\"run\": %llu, \"state\": \"%s\"}\n", (unsigned long long)run,
                   rc == EXIT_OK ? "succeeded" : "failed");
        else if (!o->quiet)
            print_run_summary(s, run);
    }
    int asked = 0;
    if (s) {
        weft_err err = {0};
        json_t *ack = source_query(s, WEFT__QUERY_KIND__QUERY_SHUTDOWN, 0, NULL, 0, &err);
        asked = ack != NULL;
        json_decref(ack);
    }
    source_close(&s);
    for (uint32_t i = 0; i < nworkers; i++)
        stop_child(workers[i], SIGTERM, "worker");
    stop_child(sched, asked ? 0 : SIGTERM, "scheduler");
    char *sock = xasprintf("%s/run-%d.sock", o->state, (int)getpid());
    unlink(sock);
    free(sock);
    fs_remove_tree(work);
    free(workers);
    free(sched_exe);
    free(worker_exe);
    free(endpoint);
    free(work);
    free(plugin_path);
    return rc;
}

static int submit_and_say(source *s, cli_opts *o, uint64_t *run)
{
    int rc = submit_file(s, o, run);
    if (!rc && !o->json)
        printf("run %llu: %s\n", (unsigned long long)*run, o->args[0]);
    return rc;
}

int cli_run_checked(cli_opts *o, local_start start)
{
    int rc = check_first(o);
    return rc ? rc : cli_local_session(o, start);
}

int cmd_run(cli_opts *o)
{
    if (o->nargs != 1) {
        fprintf(stderr, "weft: run takes one workflow file\n");
        return EXIT_USAGE;
    }
    return cli_run_checked(o, submit_and_say);
}
