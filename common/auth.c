/* auth: principals and their keys. See auth.h. */
#include "common/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/hash.h"
#include "common/keys.h"
#include "common/strmap.h"
#include "common/xmem.h"

typedef struct akey {
    char *name;
    int roles;
    int revoked;
    json_t *projects;  /* the project names it uses (never empty: ["default"]) */
} akey;

struct auth {
    strmap *keys; /* Z85 public key -> akey */
};

auth *auth_new(void)
{
    auth *a = xcalloc(1, sizeof *a);
    a->keys = strmap_new();
    return a;
}

void auth_destroy(auth **ap)
{
    if (!ap || !*ap)
        return;
    size_t pos = 0;
    const char *k;
    void *v;
    while (strmap_next((*ap)->keys, &pos, &k, &v)) {
        free(((akey *)v)->name);
        json_decref(((akey *)v)->projects);
        free(v);
    }
    strmap_destroy(&(*ap)->keys);
    free(*ap);
    *ap = NULL;
}

int auth_role_parse(const char *role)
{
    if (!role)
        return 0;
    if (!strcmp(role, "worker"))
        return ROLE_WORKER;
    if (!strcmp(role, "client"))
        return ROLE_CLIENT;
    if (!strcmp(role, "admin"))
        return ROLE_CLIENT | ROLE_ADMIN;
    if (!strcmp(role, "gateway"))
        return ROLE_GATEWAY;
    return 0;
}

const char *auth_role_name(int roles)
{
    switch (roles) {
    case ROLE_WORKER: return "worker";
    case ROLE_CLIENT: return "client";
    case ROLE_CLIENT | ROLE_ADMIN: return "admin";
    case ROLE_GATEWAY: return "gateway";
    default: return NULL;
    }
}

void auth_token_new(char out[AUTH_TOKEN_LEN + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(out, AUTH_TOKEN_PREFIX, strlen(AUTH_TOKEN_PREFIX));
    sodium_bin2base64(out + strlen(AUTH_TOKEN_PREFIX), AUTH_TOKEN_LEN + 1 - 5, raw,
                      sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void auth_token_id(const char *token, char out[AUTH_TOKEN_ID_LEN + 1])
{
    size_t plen = strlen(AUTH_TOKEN_PREFIX);
    out[0] = '\0';
    if (!token || strlen(token) != AUTH_TOKEN_LEN || strncmp(token, AUTH_TOKEN_PREFIX, plen) ||
        strspn(token + plen, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789-_") != AUTH_TOKEN_LEN - plen)
        return;
    memcpy(out, "token:", 6);
    hash_hex(token, AUTH_TOKEN_LEN, out + 6);
}

static void put_key(auth *a, const char *key, const char *name, int roles,
                    const json_t *projects, int revoked)
{
    akey *ak = strmap_get(a->keys, key);
    if (!ak) {
        ak = xcalloc(1, sizeof *ak);
        strmap_put(a->keys, key, ak);
    }
    free(ak->name);
    json_decref(ak->projects);
    ak->name = xstrdup(name);
    ak->roles = roles;
    ak->revoked = revoked;
    ak->projects = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(projects, i, p)
        if (json_is_string(p) && auth_project_name_ok(json_string_value(p)))
            json_array_append(ak->projects, p);
    if (!json_array_size(ak->projects))
        json_array_append_new(ak->projects, json_string("default"));
}

void auth_load(auth *a, const json_t *rows)
{
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        const char *key = json_string_value(json_object_get(r, "public_key"));
        const char *name = json_string_value(json_object_get(r, "name"));
        int roles = auth_role_parse(json_string_value(json_object_get(r, "role")));
        if (key && name && roles)
            put_key(a, key, name, roles, json_object_get(r, "projects"),
                    json_integer_value(json_object_get(r, "revoked_us")) > 0);
    }
}

/* The roles of name's unrevoked keys (0: it has none); with revoke set, revokes them and
 * returns how many instead. */
static int visit_name(const auth *a, const char *name, int revoke)
{
    size_t pos = 0;
    const char *k;
    void *v;
    int roles = 0, revoked = 0;
    while (strmap_next(a->keys, &pos, &k, &v)) {
        akey *ak = v;
        if (strcmp(ak->name, name) != 0 || ak->revoked)
            continue;
        roles = ak->roles;
        if (revoke) {
            ak->revoked = 1;
            revoked++;
        }
    }
    return revoke ? revoked : roles;
}

int auth_principal(const auth *a, const char *name, int *roles, const json_t **projects)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (strmap_next(a->keys, &pos, &k, &v)) {
        akey *ak = v;
        if (!ak->revoked && !strcmp(ak->name, name)) {
            *roles = ak->roles;
            *projects = ak->projects;
            return 1;
        }
    }
    return 0;
}

/* Whether s is 1 to max characters of [A-Za-z0-9_-]. */
static int plain_name(const char *s, size_t max)
{
    size_t len = strlen(s);
    return len && len <= max &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == len;
}

int auth_project_name_ok(const char *name)
{
    return name && plain_name(name, 64);
}

const char *auth_check_add(const auth *a, const char *key, const char *name, const char *role,
                           const json_t *projects, char *buf, size_t n)
{
    size_t i;
    json_t *p;
    json_array_foreach(projects, i, p) {
        if (!auth_project_name_ok(json_string_value(p))) {
            snprintf(buf, n, "a project's name is 1 to 64 characters of [A-Za-z0-9_-], "
                     "not '%.64s'", json_is_string(p) ? json_string_value(p) : "?");
            return buf;
        }
    }
    int roles = auth_role_parse(role);
    if (!plain_name(name, 128))
        snprintf(buf, n, "a principal's name is 1 to 128 characters of [A-Za-z0-9_-]");
    else if (!strcmp(name, AUTH_USER_LOCAL) || !strcmp(name, AUTH_USER_INSECURE))
        snprintf(buf, n, "'%s' is reserved", name);
    else if (keys_valid(name))
        snprintf(buf, n, "a principal's name must not read as a key");
    else if (!roles)
        snprintf(buf, n, "unknown role '%.32s' (worker, client, admin or gateway)",
                 role ? role : "");
    else if (strmap_get(a->keys, key))
        snprintf(buf, n, "this key is already on the list (as '%s')",
                 ((akey *)strmap_get(a->keys, key))->name);
    else {
        int held = visit_name(a, name, 0);
        if (held && held != roles) {
            snprintf(buf, n, "'%s' already holds a key with another role", name);
            return buf;
        }
        return NULL;
    }
    return buf;
}

void auth_add(auth *a, const char *key, const char *name, const char *role,
              const json_t *projects)
{
    put_key(a, key, name, auth_role_parse(role), projects, 0);
}

int auth_revoke(auth *a, const char *name_or_key)
{
    akey *ak = strmap_get(a->keys, name_or_key);
    if (ak) {
        int was = !ak->revoked;
        ak->revoked = 1;
        return was;
    }
    return visit_name(a, name_or_key, 1);
}

const char *auth_admit(const auth *a, const char *z85)
{
    akey *ak = strmap_get(a->keys, z85);
    if (!ak)
        return "unknown key";
    if (ak->revoked)
        return "revoked key";
    return NULL;
}

int auth_identify(const auth *a, const char *user_id, auth_peer *out, const char **why)
{
    if (user_id && (!strcmp(user_id, AUTH_USER_LOCAL) || !strcmp(user_id, AUTH_USER_INSECURE))) {
        out->name = !strcmp(user_id, AUTH_USER_LOCAL) ? AUTH_USER_LOCAL : AUTH_USER_INSECURE;
        out->roles = ROLE_ALL;
        out->local = !strcmp(user_id, AUTH_USER_LOCAL);
        out->all_projects = 1;
        out->projects = NULL;
        return 0;
    }
    const char *cred = !user_id ? NULL
                       : !strncmp(user_id, "key:", 4) ? user_id + 4
                       : !strncmp(user_id, "token:", 6) ? user_id : NULL;
    if (!cred) {
        *why = "the connection was not authenticated";
        return -1;
    }
    akey *ak = strmap_get(a->keys, cred);
    if (!ak || ak->revoked) {
        *why = cred == user_id ? (ak ? "revoked token" : "unknown token")
                               : (ak ? "revoked key" : "unknown key");
        return -1;
    }
    out->name = ak->name;
    out->roles = ak->roles;
    out->local = 0;
    out->all_projects = (ak->roles & ROLE_ADMIN) != 0;
    out->projects = ak->projects;
    return 0;
}

int auth_may_register(const auth_peer *peer, const char *worker)
{
    if (peer->roles == ROLE_ALL)
        return 1;
    if (!(peer->roles & ROLE_WORKER))
        return 0;
    size_t n = strlen(peer->name);
    return !strncmp(worker, peer->name, n) && (worker[n] == '\0' || worker[n] == '.');
}

int auth_may_use(const auth_peer *peer, const char *project)
{
    if (peer->all_projects)
        return 1;
    size_t i;
    json_t *p;
    json_array_foreach(peer->projects, i, p)
        if (!strcmp(json_string_value(p), project))
            return 1;
    return 0;
}

char *auth_projects_json(const auth_peer *peer)
{
    return peer->all_projects ? NULL : json_dumps(peer->projects, JSON_COMPACT);
}
