/* gw_auth: who an HTTP request comes from (its bearer token, checked against the keys the
 * catalogue holds as the request reads them, so a revoked token is refused at once) and
 * what it may see. The scheduler authorizes again whatever the gateway relays to it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/store.h"
#include "common/xmem.h"
#include "gateway/gw.h"

/* Each connection's thread keeps its catalogue reader for the requests that follow on the
 * connection (opening one costs about a millisecond); it is closed when the thread ends. */
static pthread_key_t reader_key;
static pthread_once_t reader_once = PTHREAD_ONCE_INIT;

static void close_reader(void *cat)
{
    catalog_close((catalog **)&cat);
}

/* The same for the artifact store the scheduler records (a local directory or S3). */
static pthread_key_t store_key;

static void close_store(void *st)
{
    store_close((store **)&st);
}

static void make_key(void)
{
    pthread_key_create(&reader_key, close_reader);
    pthread_key_create(&store_key, close_store);
}

store *gw_store(gw_req *r, weft_err *err)
{
    pthread_once(&reader_once, make_key);
    store *st = pthread_getspecific(store_key);
    if (st)
        return st;
    char *where = store_location_of_state(r->g->cfg.state);
    if (store_open(where, &st, err) == 0)
        pthread_setspecific(store_key, st);
    free(where);
    return st;
}

catalog *gw_catalog(gw_req *r)
{
    if (r->cat)
        return r->cat;
    pthread_once(&reader_once, make_key);
    r->cat = pthread_getspecific(reader_key);
    if (r->cat)
        return r->cat;
    weft_err err = {0};
    if (catalog_open(r->g->cfg.state, CATALOG_READONLY, &r->cat, &err) < 0) {
        gw_error(r, 503, "unavailable", NULL, "cannot read the catalogue: %s", err.msg);
        return NULL;
    }
    pthread_setspecific(reader_key, r->cat);
    return r->cat;
}

/* The token of "Authorization: Bearer TOKEN", or NULL. */
static const char *bearer(gw_req *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return h;
}

static void unauthorized(gw_req *r, const char *why)
{
    char *msg = xasprintf("%s (send Authorization: Bearer TOKEN; weft keys token NAME makes "
                          "one)", why);
    json_t *e = json_pack("{s:s, s:s, s:n}", "code", "unauthorized", "message", msg, "field");
    free(msg);
    json_t *body = json_pack("{s:o}", "error", e);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"weft\"");
    gw_respond(r, 401, resp);
}

int gw_authenticate(gw_req *r)
{
    const char *token = bearer(r);
    if (!token) {
        unauthorized(r, "no bearer token");
        return -1;
    }
    char id[AUTH_TOKEN_ID_LEN + 1];
    auth_token_id(token, id);
    if (!id[0]) {
        unauthorized(r, "a malformed token");
        return -1;
    }
    catalog *cat = gw_catalog(r);
    if (!cat)
        return -1;
    weft_err err = {0};
    json_t *rows = catalog_list_keys(cat, &err);
    if (!rows) {
        gw_error(r, 503, "unavailable", NULL, "cannot read the keys: %s", err.msg);
        return -1;
    }
    r->auth = auth_new();
    auth_load(r->auth, rows);
    json_decref(rows);
    const char *why = NULL;
    if (auth_identify(r->auth, id, &r->peer, &why) < 0) {
        unauthorized(r, why);
        return -1;
    }
    snprintf(r->token, sizeof r->token, "%s", token);
    return 0;
}

int gw_may_use(gw_req *r, const char *project)
{
    if (auth_may_use(&r->peer, project))
        return 1;
    gw_error(r, 403, "forbidden", "project", "'%s' may not use project '%s'", r->peer.name,
             project);
    return 0;
}

int gw_may_see_run(gw_req *r, int64_t run, char *project, size_t n)
{
    catalog *cat = gw_catalog(r);
    if (!cat)
        return 0;
    int rc = catalog_run_project(cat, run, project, n);
    if (rc < 0)
        gw_error(r, 503, "unavailable", NULL, "cannot read the run's project");
    else if (rc == 0)
        gw_error(r, 404, "not_found", "run", "no run %lld", (long long)run);
    else if (!auth_may_use(&r->peer, project))
        gw_error(r, 403, "forbidden", "run", "run %lld is not in a project '%s' may use",
                 (long long)run, r->peer.name);
    else
        return 1;
    return 0;
}
