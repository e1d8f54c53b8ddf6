/* weft: the command-line client. Parses options and dispatches to a command. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cron.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/units.h"
#include "common/xmem.h"

static const char usage_text[] =
    "usage: weft COMMAND [options]\n"
    "\n"
    "  run FILE [-p k=v]... [--slots N]  run a workflow locally (embedded scheduler + worker)\n"
    "  submit FILE [-p k=v]... [-l k=v]... [--wait]  submit a workflow (with labels)\n"
    "  register FILE [--project P]       keep a workflow by name, to run it by name over\n"
    "                                    HTTP (weft serve); its default paths are taken now\n"
    "  status [RUN]                      a run and its tasks, or the scheduler\n"
    "  workers                           registered workers: slots, cpu, mem, gpu used of\n"
    "                                    what each offers, other resources, labels\n"
    "  list [--workflow W] [--status S] [--since T] [--until T] [--label k=v]...\n"
    "       [--schedule NAME] [--limit N] [--before RUN]\n"
    "                                    runs, newest first (the next page: --before)\n"
    "  logs RUN [TASK] [-f]              task logs (-f: follow them as they are written)\n"
    "  get RUN/TASK[/OUTPUT] [-o PATH]   a task's output: a file or directory, or JSON\n"
    "  cancel RUN                        stop a run: nothing new starts, running tasks stop\n"
    "  signal RUN TASK --approve [-i k=v]... | --reject REASON\n"
    "                                    decide an approval (type: approve) that waits\n"
    "  retry RUN [--from TASK] [-p k=v]... [--dry-run]\n"
    "                                    rerun a run, reusing what succeeded\n"
    "  validate FILE [-p k=v]...         check a workflow without running it\n"
    "  graph FILE --dot|--mermaid        print the task graph\n"
    "  plugins                           task types on the plugin path\n"
    "  task run TYPE [-i k=v]... [-o DIR]  run one task alone (plugin development); its\n"
    "                                    files are written into DIR (default: here)\n"
    "  search INDEX|RUN/TASK QUERY... [-k N]   nearest chunks in a vector index\n"
    "  cache ls [--workflow W] [--task T] [--project P]  memoized results, newest first\n"
    "  cache show KEY                    one cache entry with its inputs and outputs\n"
    "  cache evict KEY|--workflow W [--task T]|--project P|--all   forget cache entries\n"
    "  cache explain RUN TASK            why a task hit or missed the cache\n"
    "  gc [--dry-run] [--grace D] [--expire D]   remove artifacts nothing references\n"
    "  schedule next FILE [-n N] [--after TIME]  the next fire times of FILE's schedule\n"
    "  schedule add FILE [-p k=v]... [-l k=v]... [--name N]\n"
    "                                    fire FILE's schedule on the scheduler\n"
    "  schedule ls [--all]               schedules and backfills: next fire, last run\n"
    "  schedule pause|resume|rm NAME     stop firing, fire again (with catchup), remove\n"
    "  backfill FILE --from T --to T [--max-active N] [--rerun] [--name N]\n"
    "                                    run every slot of FILE's schedule in a range\n"
    "  events RUN                        a run's audit trail: every transition, in order\n"
    "  notifications [RUN]               notifications queued and their deliveries\n"
    "  backup DEST                       a consistent copy of the catalogue (while it runs)\n"
    "  restore BACKUP                    put a backup in place (the scheduler stopped)\n"
    "  check [--full]                    verify the catalogue and its artifacts offline\n"
    "  keys gen FILE                     make a CURVE key pair (FILE 0600, FILE.pub)\n"
    "  keys add NAME --role R [--project P]... KEY|FILE\n"
    "                                    admit a public key (R: worker, client, admin,\n"
    "                                    gateway); a client uses the projects named\n"
    "                                    (default: default)\n"
    "  keys token NAME [--role R] [--project P]...\n"
    "                                    an HTTP bearer token for principal NAME (weft serve)\n"
    "  keys ls                           the keys and tokens the scheduler admits\n"
    "  keys revoke NAME|KEY|TOKEN-ID     refuse a principal's keys and tokens, or one, at once\n"
    "  serve [--listen URL] ...          the HTTP API, metrics and web UI (weft-gateway)\n"
    "  project set NAME [--max-runs N] [--max-tasks N] [--max-inflight N] [--priority P]\n"
    "                                    a project's limits (admin; 0: none)\n"
    "  project ls                        projects with their limits and what they use\n"
    "\n"
    "options:\n"
    "  --scheduler ENDPOINT  talk to this scheduler ($WEFT_SCHEDULER), e.g. tcp://host:7700\n"
    "  --state DIR           local state directory ($WEFT_STATE, default .weft)\n"
    "  --plugin-path PATH    plugin directories ($WEFT_PLUGIN_PATH)\n"
    "  --json                machine-readable output\n"
    "  --timeout DURATION    how long to wait for the scheduler ($WEFT_TIMEOUT, default 10s)\n"
    "  --key FILE            this client's CURVE key pair, for tcp:// ($WEFT_KEY)\n"
    "  --server-key KEY      the scheduler's public key or its file ($WEFT_SERVER_KEY)\n"
    "  --insecure            plain TCP, to a loopback address only ($WEFT_INSECURE=1)\n"
    "  --project P           submit: the run's project; list, cache: only project P\n"
    "                        ($WEFT_PROJECT; default: default)\n"
    "  --idempotency-key K   submit, retry, cancel, signal: a repeated key gets the first\n"
    "                        answer\n"
    "                        (default: a new key, kept while the request is retried)\n"
    "  --                    what follows is arguments, not options (a key that begins\n"
    "                        with -)\n"
    "\n"
    "exit codes: 0 success, 1 run failed (check: problems found), 2 usage or validation "
    "error,\n  3 cannot reach the scheduler (or it cannot write its catalogue now), 4 the "
    "scheduler\n  refused this client (its key, or a role it lacks)\n";

/* weft serve ARGS...: the gateway, weft-gateway ARGS... (beside this program). */
static int cmd_serve(int argc, char **argv)
{
    char *exe = fs_sibling_exe("weft-gateway");
    char **args = xcalloc((size_t)argc + 1, sizeof *args);
    args[0] = exe;
    for (int i = 1; i < argc; i++)
        args[i] = argv[i];
    execv(exe, args);
    fprintf(stderr, "weft: cannot start %s: %s\n", exe, strerror(errno));
    free(args);
    free(exe);
    return EXIT_UNREACH;
}

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "weft: %s\n", why);
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}

static int parse_count(const char *s, uint32_t *out)
{
    uint64_t v;
    if (units_uint(s, 1, 1024, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Parses options after the command. Returns 0 or EXIT_USAGE (message printed). */
static int parse(int argc, char **argv, cli_opts *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) { /* the rest are arguments, such as a key that begins with - */
            while (++i < argc)
                o->args[o->nargs++] = argv[i];
            break;
        }
        if (!strcmp(a, "--json"))
            o->json = 1;
        else if (!strcmp(a, "--dot"))
            o->dot = 1;
        else if (!strcmp(a, "--mermaid"))
            o->mermaid = 1;
        else if (!strcmp(a, "--wait"))
            o->wait = 1;
        else if (!strcmp(a, "--approve"))
            o->approve = 1;
        else if (!strcmp(a, "--reject") && v)
            o->reject = argv[++i];
        else if (!strcmp(a, "--dry-run"))
            o->dry_run = 1;
        else if (!strcmp(a, "--full"))
            o->full = 1;
        else if (!strcmp(a, "--from") && v)
            o->from = argv[++i];
        else if (!strcmp(a, "--all"))
            o->all = 1;
        else if (!strcmp(a, "--rerun"))
            o->rerun = 1;
        else if (!strcmp(a, "-f") || !strcmp(a, "--follow"))
            o->follow = 1;
        else if (!strcmp(a, "--to") && v)
            o->to = argv[++i];
        else if (!strcmp(a, "--name") && v)
            o->name = argv[++i];
        else if (!strcmp(a, "--schedule") && v)
            o->schedule = argv[++i];
        else if (!strcmp(a, "-o") && v)
            o->out = argv[++i];
        else if (!strcmp(a, "--workflow") && v)
            o->workflow = argv[++i];
        else if (!strcmp(a, "--task") && v)
            o->task = argv[++i];
        else if (!strcmp(a, "--idempotency-key") && v) {
            o->idempotency_key = argv[++i];
            if (!*o->idempotency_key || strlen(o->idempotency_key) > 128)
                return usage("--idempotency-key takes 1 to 128 characters");
        }
        else if (!strcmp(a, "--key") && v)
            o->key_file = argv[++i];
        else if (!strcmp(a, "--server-key") && v)
            o->server_key = argv[++i];
        else if (!strcmp(a, "--insecure"))
            o->insecure = 1;
        else if (!strcmp(a, "--role") && v)
            o->role = argv[++i];
        else if (!strcmp(a, "--project") && v)
            o->project = o->projects[o->nprojects++] = argv[++i];
        else if ((!strcmp(a, "--max-runs") || !strcmp(a, "--max-tasks") ||
                  !strcmp(a, "--max-inflight")) && v) {
            uint64_t n;
            if (units_uint(argv[++i], 0, 1000000000, &n) < 0) {
                fprintf(stderr, "weft: %s takes a count (0: no limit), not '%s'\n", a, argv[i]);
                return usage(NULL);
            }
            *(a[6] == 'r' ? &o->max_runs : a[6] == 't' ? &o->max_tasks : &o->max_inflight) =
                (int64_t)n;
        }
        else if (!strcmp(a, "--priority") && v) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end || n < -1000 || n > 1000) {
                fprintf(stderr, "weft: --priority takes a whole number from -1000 to 1000, "
                        "not '%s'\n", argv[i]);
                return usage(NULL);
            }
            o->has_priority = 1;
            o->priority = (int)n;
        }
        else if (!strcmp(a, "--scheduler") && v)
            o->scheduler = argv[++i];
        else if (!strcmp(a, "--state") && v)
            o->state = argv[++i];
        else if (!strcmp(a, "--plugin-path") && v)
            o->plugin_path = argv[++i];
        else if (!strcmp(a, "--slots") && v) {
            if (parse_count(argv[++i], &o->slots) < 0)
                return usage("--slots takes a number from 1 to 1024");
        } else if (!strcmp(a, "--timeout") && v) {
            int64_t ms;
            if (units_duration_ms(argv[++i], &ms) < 0 || ms <= 0 || ms > 3600000)
                return usage("--timeout takes a duration such as 500ms or 30s");
            o->timeout_ms = (int)ms;
        } else if ((!strcmp(a, "--grace") || !strcmp(a, "--expire")) && v) {
            int64_t ms;
            if (units_duration_ms(argv[++i], &ms) < 0) {
                fprintf(stderr, "weft: %s takes a duration such as 1h or 30d, not '%s'\n", a,
                        argv[i]);
                return usage(NULL);
            }
            *(a[2] == 'g' ? &o->grace_ms : &o->expire_ms) = ms;
        } else if (!strcmp(a, "--workers") && v) {
            if (parse_count(argv[++i], &o->workers) < 0)
                return usage("--workers takes a number from 1 to 1024");
        } else if (!strcmp(a, "--max-active") && v) {
            uint64_t n;
            if (units_uint(argv[++i], 1, 1000, &n) < 0)
                return usage("--max-active takes a count from 1 to 1000");
            o->max_active = (uint32_t)n;
        } else if (!strcmp(a, "-n") && v) {
            uint64_t n;
            if (units_uint(argv[++i], 1, 10000, &n) < 0)
                return usage("-n takes a count from 1 to 10000");
            o->count = (uint32_t)n;
        } else if (!strcmp(a, "--after") && v) {
            o->after = argv[++i];
        } else if ((!strcmp(a, "-l") || !strcmp(a, "--label")) && v) {
            char *eq = strchr(argv[++i], '=');
            if (!eq || eq == argv[i])
                return usage("-l and --label take key=value");
            *eq = '\0';
            o->labels[o->nlabels++] = (compile_param){argv[i], eq + 1, a};
        } else if (!strcmp(a, "--status") && v) {
            o->status = argv[++i];
            if (strcmp(o->status, "running") && strcmp(o->status, "succeeded") &&
                strcmp(o->status, "failed") && strcmp(o->status, "cancelled"))
                return usage("--status takes running, succeeded, failed or cancelled");
        } else if ((!strcmp(a, "--since") || !strcmp(a, "--until")) && v) {
            if (cron_parse_when(argv[++i], (int64_t)time(NULL), a[2] == 's' ? &o->since_us
                                                                        : &o->until_us) < 0) {
                fprintf(stderr, "weft: %s takes an RFC 3339 time (2026-01-01T00:00:00Z) or a "
                                "duration ago (24h), not '%s'\n", a, argv[i]);
                return usage(NULL);
            }
        } else if (!strcmp(a, "--limit") && v) {
            uint64_t n;
            if (units_uint(argv[++i], 1, 10000, &n) < 0)
                return usage("--limit takes a count from 1 to 10000");
            o->limit = (uint32_t)n;
        } else if (!strcmp(a, "--before") && v) {
            if (units_uint(argv[++i], 1, INT64_MAX, &o->before) < 0)
                return usage("--before takes a run id");
        } else if (!strcmp(a, "-k") && v) {
            o->params[o->nparams++] = (compile_param){"k", argv[++i], "-k"};
        } else if ((!strcmp(a, "-p") || !strcmp(a, "-i")) && v) {
            char *eq = strchr(argv[++i], '=');
            if (!eq || eq == argv[i])
                return usage(a[1] == 'p' ? "-p takes name=value" : "-i takes name=value");
            *eq = '\0';
            o->params[o->nparams++] = (compile_param){argv[i], eq + 1, a};
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "weft: unknown option '%s'\n", a);
            return usage(NULL);
        } else {
            o->args[o->nargs++] = argv[i];
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(cli_opts *);
    } commands[] = {{"run", cmd_run},         {"submit", cmd_submit}, {"status", cmd_status},
                    {"list", cmd_list},       {"logs", cmd_logs},     {"validate", cmd_validate},
                    {"graph", cmd_graph},     {"plugins", cmd_plugins},
                    {"cancel", cmd_cancel},   {"cache", cmd_cache},   {"retry", cmd_retry},
                    {"signal", cmd_signal},
                    {"gc", cmd_gc},           {"task", cmd_task},     {"search", cmd_search},
                    {"events", cmd_events},   {"backup", cmd_backup}, {"restore", cmd_restore},
                    {"check", cmd_check},     {"keys", cmd_keys},     {"project", cmd_project},
                    {"schedule", cmd_schedule}, {"backfill", cmd_backfill},
                    {"notifications", cmd_notifications},
                    {"get", cmd_get},         {"register", cmd_register},
                    {"workers", cmd_workers}};
    log_init("weft", LOG_WARN);
    /* What the CLI writes (local state, catalogue backups, key pairs) is its user's alone. */
    umask(077);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "serve"))
        return cmd_serve(argc - 1, argv + 1);
    cli_opts o = {.scheduler = getenv("WEFT_SCHEDULER"), .state = getenv("WEFT_STATE"),
                  .plugin_path = getenv("WEFT_PLUGIN_PATH"), .project = getenv("WEFT_PROJECT"),
                  .grace_ms = -1, .expire_ms = -1, .max_runs = -1, .max_tasks = -1,
                  .max_inflight = -1};
    if (o.project && !*o.project)
        o.project = NULL;
    if (o.scheduler && !*o.scheduler)
        o.scheduler = NULL;
    if (!o.state || !*o.state)
        o.state = ".weft";
    int64_t ms = 10000;
    const char *t = getenv("WEFT_TIMEOUT");
    if (t && *t && (units_duration_ms(t, &ms) < 0 || ms <= 0 || ms > 3600000)) {
        fprintf(stderr, "weft: WEFT_TIMEOUT='%s' is not a duration such as 30s\n", t);
        return EXIT_USAGE;
    }
    o.timeout_ms = (int)ms;
    o.params = xcalloc((size_t)argc, sizeof *o.params);
    o.args = xcalloc((size_t)argc, sizeof *o.args);
    o.projects = xcalloc((size_t)argc, sizeof *o.projects);
    o.labels = xcalloc((size_t)argc, sizeof *o.labels);
    int rc = parse(argc, argv, &o);
    if (rc == 0) {
        rc = -1;
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (!strcmp(argv[1], commands[i].name))
                rc = commands[i].fn(&o);
        if (rc == -1) {
            fprintf(stderr, "weft: unknown command '%s'\n", argv[1]);
            rc = usage(NULL);
        }
    }
    free(o.params);
    free(o.args);
    free(o.projects);
    free(o.labels);
    return rc;
}
