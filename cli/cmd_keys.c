/* weft keys: CURVE key pairs, and the keys a scheduler admits.
 *
 *   weft keys gen FILE                    a new key pair: FILE (0600) and FILE.pub
 *   weft keys add NAME --role R [--project P]... KEY|FILE
 *                                         admit a public key as principal NAME; a client
 *                                         uses the projects named ("default" when none)
 *   weft keys token NAME [--role R] [--project P]...
 *                                         an HTTP bearer token acting as principal NAME
 *                                         (with its role and projects; a new NAME takes
 *                                         them from --role and --project), printed once
 *   weft keys ls                          every key and token, revoked ones too
 *   weft keys revoke NAME|KEY|TOKEN-ID    refuse NAME's keys and tokens, or one of them,
 *                                         from now on
 *
 * Everything but gen asks the scheduler (--scheduler, else the one serving --state) and
 * needs the admin role; a local peer of the scheduler's own user has it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/keys.h"

static int keys_gen(cli_opts *o)
{
    if (o->nargs != 2) {
        fprintf(stderr, "weft: keys gen takes the file to write\n");
        return EXIT_USAGE;
    }
    keypair kp;
    weft_err err = {0};
    if (keys_generate(&kp, &err) < 0 || keys_write(o->args[1], &kp, &err) < 0) {
        fprintf(stderr, "weft: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (o->json)
        printf("{\"public_key\": \"%s\", \"file\": \"%s\"}\n", kp.pub, o->args[1]);
    else
        printf("%s\n", kp.pub);
    return EXIT_OK;
}

json_t *cli_ask(const cli_opts *o, const Weft__Envelope *env, int *rc)
{
    source *s = NULL;
    if ((*rc = cli_open_scheduler(o, &s)) != 0)
        return NULL;
    Weft__Envelope *reply = NULL;
    weft_err err = {0};
    json_t *j = NULL;
    if (client_call(source_client(s), env, &reply, &err) < 0)
        *rc = cli_exit_for(&err);
    else if (reply->reply->code)
        *rc = cli_refused(reply->reply);
    else
        j = json_loads(reply->reply->json, 0, NULL);
    if (reply)
        weft__envelope__free_unpacked(reply, NULL);
    source_close(&s);
    return j;
}

/* Sends a key request to the scheduler; returns the answer's JSON or NULL (printed). */
static json_t *ask(cli_opts *o, Weft__KeysRequest *rq, int *rc)
{
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_KEYS;
    env.keys = rq;
    return cli_ask(o, &env, rc);
}

static void print_time(int64_t us)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
    printf("%-20s", buf);
}

static int keys_ls(cli_opts *o)
{
    Weft__KeysRequest rq = WEFT__KEYS_REQUEST__INIT;
    rq.op = WEFT__KEYS_OP__KEYS_LIST;
    int rc;
    json_t *rows = ask(o, &rq, &rc);
    if (!rows)
        return rc;
    if (o->json) {
        char *text = json_dumps(rows, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
    } else {
        printf("%-24s %-7s %-41s %-20s %-20s %s\n", "NAME", "ROLE", "KEY OR TOKEN", "PROJECTS",
               "ADDED", "REVOKED");
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r)
        {
            const char *role = json_string_value(json_object_get(r, "role"));
            char *projects = json_dumps(json_object_get(r, "projects"), JSON_COMPACT);
            printf("%-24s %-7s %-41s %-20s ", json_string_value(json_object_get(r, "name")),
                   role, json_string_value(json_object_get(r, "public_key")),
                   !strcmp(role, "client") && projects ? projects
                   : !strcmp(role, "admin")           ? "(all)"
                                                      : "-");
            free(projects);
            print_time(json_integer_value(json_object_get(r, "created_us")));
            int64_t rev = json_integer_value(json_object_get(r, "revoked_us"));
            if (rev)
                print_time(rev);
            printf("\n");
        }
    }
    json_decref(rows);
    return EXIT_OK;
}

static int keys_add(cli_opts *o)
{
    if (o->nargs != 3 || !o->role) {
        fprintf(stderr, "weft: keys add takes NAME --role worker|client|admin and a public "
                        "key (or its file)\n");
        return EXIT_USAGE;
    }
    char pub[KEY_Z85_LEN + 1];
    weft_err err = {0};
    if (keys_public_arg(o->args[2], pub, &err) < 0) {
        fprintf(stderr, "weft: %s\n", err.msg);
        return EXIT_USAGE;
    }
    Weft__KeysRequest rq = WEFT__KEYS_REQUEST__INIT;
    rq.op = WEFT__KEYS_OP__KEYS_ADD;
    rq.name = o->args[1];
    rq.role = (char *)o->role;
    rq.public_key = pub;
    rq.projects = (char **)o->projects;
    rq.n_projects = o->nprojects;
    int rc;
    json_t *j = ask(o, &rq, &rc);
    if (!j)
        return rc;
    char *text = json_dumps(j, JSON_COMPACT);
    char *projects = json_dumps(json_object_get(j, "projects"), JSON_COMPACT);
    if (!o->json)
        printf("added %s for '%s' (%s%s%s)\n", pub, o->args[1], o->role,
               json_array_size(json_object_get(j, "projects")) ? ", projects " : "",
               json_array_size(json_object_get(j, "projects")) ? projects : "");
    else
        puts(text);
    free(text);
    free(projects);
    json_decref(j);
    return EXIT_OK;
}

static int keys_token(cli_opts *o)
{
    if (o->nargs != 2) {
        fprintf(stderr, "weft: keys token takes the principal's name\n");
        return EXIT_USAGE;
    }
    Weft__KeysRequest rq = WEFT__KEYS_REQUEST__INIT;
    rq.op = WEFT__KEYS_OP__KEYS_TOKEN;
    rq.name = o->args[1];
    rq.role = (char *)(o->role ? o->role : "");
    rq.projects = (char **)o->projects;
    rq.n_projects = o->nprojects;
    int rc;
    json_t *j = ask(o, &rq, &rc);
    if (!j)
        return rc;
    if (o->json) {
        char *text = json_dumps(j, JSON_COMPACT);
        puts(text);
        free(text);
    } else {
        printf("%s\n", json_string_value(json_object_get(j, "token")));
        fprintf(stderr, "weft: a token for '%s' (%s; revoke with weft keys revoke %s); it is "
                "shown only now\n", o->args[1], json_string_value(json_object_get(j, "role")),
                json_string_value(json_object_get(j, "id")));
    }
    json_decref(j);
    return EXIT_OK;
}

static int keys_revoke(cli_opts *o)
{
    if (o->nargs != 2) {
        fprintf(stderr, "weft: keys revoke takes a principal's name, a public key or a "
                "token's id\n");
        return EXIT_USAGE;
    }
    Weft__KeysRequest rq = WEFT__KEYS_REQUEST__INIT;
    rq.op = WEFT__KEYS_OP__KEYS_REVOKE;
    if (keys_valid(o->args[1]))
        rq.public_key = o->args[1];
    else
        rq.name = o->args[1];
    int rc;
    json_t *j = ask(o, &rq, &rc);
    if (!j)
        return rc;
    printf(o->json ? "{\"revoked\": \"%s\", \"keys\": %lld}\n" : "revoked %s (%lld key(s))\n",
           o->args[1], (long long)json_integer_value(json_object_get(j, "keys")));
    json_decref(j);
    return EXIT_OK;
}

int cmd_keys(cli_opts *o)
{
    const char *sub = o->nargs ? o->args[0] : "";
    if (!strcmp(sub, "gen"))
        return keys_gen(o);
    if (!strcmp(sub, "ls"))
        return keys_ls(o);
    if (!strcmp(sub, "add"))
        return keys_add(o);
    if (!strcmp(sub, "revoke"))
        return keys_revoke(o);
    if (!strcmp(sub, "token"))
        return keys_token(o);
    fprintf(stderr, "weft: keys takes gen, add, token, ls or revoke\n");
    return EXIT_USAGE;
}
