/* weft-gateway: weft's HTTP API, metrics and web UI (see gw.h). `weft serve` runs it.
 *
 *   weft-gateway [--listen URL] [--state DIR] [--scheduler ENDPOINT] [--cert FILE --key FILE]
 *                [--gateway-key FILE] [--server-key KEY] [--insecure] [--assets DIR]
 *                [--max-body SIZE] [--max-upload SIZE] [--max-conns N] [--sched-conns N]
 *                [--timeout DURATION] [--log-level LEVEL]
 *
 * URL is http://HOST:PORT or https://HOST:PORT (default http://127.0.0.1:8088); https needs
 * --cert and --key (PEM). DIR is the scheduler's state directory ($WEFT_STATE, default
 * .weft): the
 * gateway reads its catalogue and store, and talks to it at ipc://DIR/scheduler.sock unless
 * --scheduler names another endpoint (tcp:// speaks CURVE with --gateway-key, a key pair
 * the scheduler admits with the gateway role). `weft-gateway --routes` prints the routes
 * it serves. */
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/units.h"
#include "common/xmem.h"
#include "gateway/gw.h"

#define PEM_MAX (1u << 20)
#define OPENAPI_MAX (1u << 20)

static void usage(void)
{
    fprintf(stderr,
            "usage: weft-gateway [--listen http://HOST:PORT|https://HOST:PORT] [--state DIR]\n"
            "                    [--scheduler ENDPOINT] [--cert FILE --key FILE]\n"
            "                    [--gateway-key FILE] [--server-key KEY] [--insecure]\n"
            "                    [--assets DIR] [--max-body SIZE] [--max-upload SIZE]\n"
            "                    [--max-conns N] [--sched-conns N] [--timeout DURATION]\n"
            "                    [--log-level debug|info|warn|error]\n");
}

/* Parses a --NAME value into cfg; 1 when name was one of ours, -1 when its value is bad. */
static int option(gw_config *cfg, const char *name, const char *v, int *level)
{
    uint64_t n;
    int64_t ms;
    if (!strcmp(name, "--listen")) cfg->listen = v;
    else if (!strcmp(name, "--state")) cfg->state = v;
    else if (!strcmp(name, "--scheduler")) cfg->scheduler = v;
    else if (!strcmp(name, "--cert")) cfg->cert = v;
    else if (!strcmp(name, "--key")) cfg->key = v;
    else if (!strcmp(name, "--gateway-key")) cfg->key_file = v;
    else if (!strcmp(name, "--server-key")) cfg->server_key = v;
    else if (!strcmp(name, "--assets")) cfg->assets = v;
    else if (!strcmp(name, "--max-body"))
        return units_size_bytes(v, &cfg->max_body) < 0 || !cfg->max_body ? -1 : 1;
    else if (!strcmp(name, "--max-upload"))
        return units_size_bytes(v, &cfg->max_upload) < 0 || !cfg->max_upload ? -1 : 1;
    else if (!strcmp(name, "--max-conns")) {
        if (units_uint(v, 1, 10000, &n) < 0)
            return -1;
        cfg->max_conns = (unsigned)n;
    } else if (!strcmp(name, "--sched-conns")) {
        if (units_uint(v, 1, GW_SCHED_CONNS_MAX, &n) < 0)
            return -1;
        cfg->sched_conns = (unsigned)n;
    } else if (!strcmp(name, "--timeout")) {
        if (units_duration_ms(v, &ms) < 0 || ms <= 0 || ms > 3600000)
            return -1;
        cfg->timeout_ms = (int)ms;
    } else if (!strcmp(name, "--log-level")) {
        *level = log_level_parse(v);
        return *level < 0 ? -1 : 1;
    } else
        return 0;
    return 1;
}

/* The address of URL (http://HOST:PORT or https://HOST:PORT) into ss; 0, or -1 with why. */
static int parse_listen(const char *url, struct sockaddr_storage *ss, int *tls,
                        const char **why)
{
    const char *rest = !strncmp(url, "http://", 7) ? url + 7
                     : !strncmp(url, "https://", 8) ? url + 8 : NULL;
    *tls = rest == url + 8;
    *why = "--listen takes http://HOST:PORT or https://HOST:PORT";
    if (!rest)
        return -1;
    char host[256];
    const char *colon = strrchr(rest, ':');
    if (!colon || (size_t)(colon - rest) >= sizeof host || !colon[1])
        return -1;
    snprintf(host, sizeof host, "%.*s", (int)(colon - rest), rest);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV}, *ai = NULL;
    if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai) != 0 || !ai) {
        *why = "--listen: cannot resolve that host and port";
        return -1;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

static int read_text(const char *path, size_t max, char **out, size_t *len)
{
    weft_err err = {0};
    if (fs_read_file(path, max, out, len, &err) < 0) {
        fprintf(stderr, "weft-gateway: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int serve(gw *g, const struct sockaddr *addr, int tls)
{
    char *cert = NULL, *key = NULL, *why = NULL;
    size_t len;
    if (tls && (!g->cfg.cert || !g->cfg.key)) {
        fprintf(stderr, "weft-gateway: https:// needs --cert and --key (PEM files)\n");
        return 2;
    }
    if (tls && (read_text(g->cfg.cert, PEM_MAX, &cert, &len) < 0 ||
                read_text(g->cfg.key, PEM_MAX, &key, &len) < 0)) {
        free(cert);
        return 2;
    }
    int rc = gw_sched_open(g, &why) < 0 || gw_http_start(g, addr, tls, cert, key, &why) < 0;
    free(cert);
    if (key)
        memset(key, 0, strlen(key));
    free(key);
    if (rc) {
        fprintf(stderr, "weft-gateway: %s: %s\n", g->cfg.listen, why);
        free(why);
        gw_sched_close(g);
        return 1;
    }
    log_info("serving %s (state %s, scheduler %s)", g->cfg.listen, g->cfg.state, g->scheduler);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    log_info("stopping (signal %d)", sig);
    MHD_stop_daemon(g->mhd);
    gw_sched_close(g);
    return 0;
}

int main(int argc, char **argv)
{
    gw g = {.cfg = {.listen = "http://127.0.0.1:8088", .state = ".weft",
                    .max_body = 1u << 20, .max_upload = 1ull << 30, .max_conns = 256,
                    .sched_conns = 4, .timeout_ms = 10000}};
    int level = LOG_INFO;
    if (argc == 2 && !strcmp(argv[1], "--routes")) {
        gw_print_routes(stdout);
        return 0;
    }
    const char *env_state = getenv("WEFT_STATE");
    if (env_state && *env_state)
        g.cfg.state = env_state;
    for (int i = 1; i < argc; i++) {
        int r = !strcmp(argv[i], "--insecure") ? (g.cfg.insecure = 1)
                : i + 1 < argc ? option(&g.cfg, argv[i], argv[i + 1], &level) : 0;
        if (r <= 0) {
            if (r < 0)
                fprintf(stderr, "weft-gateway: bad value for %s: '%s'\n", argv[i], argv[i + 1]);
            usage();
            return 2;
        }
        i += strcmp(argv[i], "--insecure") != 0;
    }
    log_init("weft-gateway", (enum log_level)level);
    /* Signals are taken by sigwait; every thread started from here inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct sockaddr_storage ss;
    int tls;
    const char *why;
    if (parse_listen(g.cfg.listen, &ss, &tls, &why) < 0) {
        fprintf(stderr, "weft-gateway: %s (not '%s')\n", why, g.cfg.listen);
        return 2;
    }
    char *assets = g.cfg.assets ? NULL : fs_exe_dir();
    char *dir = g.cfg.assets ? xstrdup(g.cfg.assets) : xasprintf("%s/../share/weft/gateway",
                                                                 assets);
    free(assets);
    char *openapi = xasprintf("%s/openapi.yaml", dir);
    g.cfg.assets = dir;
    int rc = read_text(openapi, OPENAPI_MAX, &g.openapi, &g.openapi_len) < 0 ? 2 : 0;
    free(openapi);
    g.scheduler = g.cfg.scheduler ? xstrdup(g.cfg.scheduler)
                                  : xasprintf("ipc://%s/scheduler.sock", g.cfg.state);
    g.cache = gw_cache_new();
    if (!rc)
        rc = serve(&g, (struct sockaddr *)&ss, tls);
    gw_cache_free(g.cache);
    free(g.scheduler);
    free(g.openapi);
    free(g.counts);
    free(dir);
    return rc;
}
