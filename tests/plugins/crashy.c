/* Task types that fail the hard way, for isolation and retry tests: a segfault, an abort,
 * an exit, an allocation loop that runs out of its memory allowance, a hang that ignores
 * SIGTERM, a task that fails transiently until its third attempt, a slow task that
 * says it is alive (weft_heartbeat) every 100 ms for `ms` milliseconds, silent otherwise,
 * and one that saves a checkpoint naming its attempt before it does the same;
 * a task that prints with stdio, unflushed, and leaves a thread of its own that writes
 * to stderr 200 ms after the attempt ended; one that closes its stdout and stderr; and
 * one that touches `mb` MiB and gives them back before it ends. */
#include <pthread.h>
#include <sys/mman.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weft/plugin.h>

static int segv(weft_ctx *ctx)
{
    (void)ctx;
    raise(SIGSEGV);
    return WEFT_OK;
}

static int do_abort(weft_ctx *ctx)
{
    (void)ctx;
    abort();
}

static int do_exit(weft_ctx *ctx)
{
    (void)ctx;
    exit(3);
}

static int oom(weft_ctx *ctx)
{
    /* Touch 64 MiB blocks until malloc fails, then die as most programs do. Stops at 1 GiB,
     * so a build without memory limits (sanitizers) fails the task instead of the machine. */
    char *blocks[16];
    for (int i = 0; i < 16; i++) {
        blocks[i] = malloc(64u << 20);
        if (!blocks[i]) {
            weft_log(ctx, "out of memory after %d MiB", i * 64);
            abort();
        }
        memset(blocks[i], 1, 64u << 20);
    }
    for (int i = 0; i < 16; i++)
        free(blocks[i]);
    return weft_fail(ctx, "allocated 1 GiB without hitting a memory limit");
}

static int touch(weft_ctx *ctx)
{
    int64_t mb = 0;
    if (weft_input_int(ctx, "mb", &mb) != WEFT_OK || mb <= 0 || mb > 1024)
        return weft_fail(ctx, "touch: input mb must be 1 to 1024");
    size_t n = (size_t)mb << 20;
    char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return weft_fail(ctx, "touch: cannot map %lld MiB", (long long)mb);
    memset(p, 1, n);
    munmap(p, n);
    return WEFT_OK;
}

static int hang(weft_ctx *ctx)
{
    (void)ctx;
    signal(SIGTERM, SIG_IGN);
    for (;;)
        pause();
    return WEFT_OK;
}

static int slow(weft_ctx *ctx)
{
    int64_t ms = 0;
    if (weft_input_int(ctx, "ms", &ms) != WEFT_OK)
        return weft_fail(ctx, "slow: no input ms");
    for (int64_t t = 0; t < ms && !weft_cancelled(ctx); t += 100) {
        weft_heartbeat(ctx);
        usleep(100 * 1000);
    }
    return WEFT_OK;
}

/* A checkpoint whose content names the attempt (so each attempt's has its own hash), then
 * slow's wait. */
static int saver(weft_ctx *ctx)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/saver.checkpoint", weft_info(ctx, "workdir"));
    FILE *f = fopen(path, "w");
    if (!f)
        return weft_fail(ctx, "saver: cannot write %s", path);
    fprintf(f, "attempt %s\n", weft_info(ctx, "attempt"));
    if (fclose(f) != 0 || weft_checkpoint_save(ctx, path) != WEFT_OK)
        return weft_fail(ctx, "saver: checkpoint not saved");
    return slow(ctx);
}

static int flaky(weft_ctx *ctx)
{
    long attempt = strtol(weft_info(ctx, "attempt"), NULL, 10);
    if (attempt < 3)
        return weft_retry(ctx, "flaky: attempt %ld fails, as planned", attempt);
    return weft_output_int(ctx, "attempt", attempt) == WEFT_OK ? WEFT_OK : WEFT_FAIL;
}

static void *write_later(void *arg)
{
    (void)arg;
    usleep(200 * 1000);
    static const char msg[] = "stray-output of a plugin thread\n";
    if (write(2, msg, sizeof msg - 1) < 0)
        return NULL;
    return NULL;
}

static int stray(weft_ctx *ctx)
{
    (void)ctx;
    printf("mark-stray"); /* no newline, no flush: stdio holds it */
    pthread_t t;
    if (pthread_create(&t, NULL, write_later, NULL) == 0)
        pthread_detach(t);
    return WEFT_OK;
}

static int closes(weft_ctx *ctx)
{
    (void)ctx;
    close(1);
    close(2);
    return WEFT_OK;
}

static const weft_port none[] = {{.name = NULL}};
static const weft_port attempt_out[] = {{.name = "attempt", .type = "int"}, {.name = NULL}};
static const weft_port ms_in[] = {{.name = "ms", .type = "int"}, {.name = NULL}};
static const weft_port mb_in[] = {{.name = "mb", .type = "int"}, {.name = NULL}};
static const weft_task_type types[] = {
    {.name = "crashy.segv", .version = "1", .inputs = none, .outputs = none, .run = segv},
    {.name = "crashy.abort", .version = "1", .inputs = none, .outputs = none, .run = do_abort},
    {.name = "crashy.exit", .version = "1", .inputs = none, .outputs = none, .run = do_exit},
    {.name = "crashy.oom", .version = "1", .inputs = none, .outputs = none, .run = oom},
    {.name = "crashy.hang", .version = "1", .inputs = none, .outputs = none, .run = hang},
    {.name = "crashy.flaky", .version = "1", .inputs = none, .outputs = attempt_out,
     .run = flaky},
    {.name = "crashy.slow", .version = "1", .inputs = ms_in, .outputs = none, .run = slow},
    {.name = "crashy.saver", .version = "1", .inputs = ms_in, .outputs = none, .run = saver},
    {.name = "crashy.stray", .version = "1", .inputs = none, .outputs = none, .run = stray},
    {.name = "crashy.closes", .version = "1", .inputs = none, .outputs = none, .run = closes},
    {.name = "crashy.touch", .version = "1", .inputs = mb_in, .outputs = none, .run = touch},
    {.name = NULL}};

WEFT_PLUGIN_DECLARE("crashy", "1.0.0", types)
