/* auth: who a peer is and what it may do. Pure: no sockets, no catalogue. The scheduler
 * and the gateway authorize with it.
 *
 * A principal is a name with a role and one or more credentials: CURVE public keys (several
 * while a key is rotated) and HTTP bearer tokens, kept by the hash of the token
 * ("token:HASH", never the token). Roles: a worker registers and reports results; a client
 * submits, queries, cancels and retries; an admin also manages keys and shuts the scheduler
 * down; a gateway only relays requests made with a token (it acts as the token's
 * principal). A peer is identified by the User-Id its connection was admitted with:
 * "key:Z85" for a CURVE key, "local" for a local peer of the scheduler's own uid,
 * "insecure" for a peer of an --insecure loopback endpoint; the last two may do anything.
 * An HTTP request is identified by "token:HASH". A credential revoked is refused from its
 * next use on, on an open connection too.
 *
 * Every run belongs to a project. A client key uses the projects it was added with
 * ("default" when none); an admin, a local and an insecure peer use every project. */
#ifndef WEFT_AUTH_H
#define WEFT_AUTH_H

#include <stddef.h>

#include <jansson.h>

enum { ROLE_WORKER = 1, ROLE_CLIENT = 2, ROLE_ADMIN = 4, ROLE_GATEWAY = 8, ROLE_ALL = 15 };

#define AUTH_USER_LOCAL "local"
#define AUTH_USER_INSECURE "insecure"

typedef struct auth auth;

/* Who sent a message: the principal's name and the roles it holds. */
typedef struct auth_peer {
    const char *name;
    int roles;
    int local;                    /* the local identity (its paths may be read here) */
    int all_projects;             /* uses every project */
    const json_t *projects;       /* else: the names of those it uses (a JSON array) */
} auth_peer;

auth *auth_new(void);
void auth_destroy(auth **ap);
/* Loads the rows of catalog_list_keys. */
void auth_load(auth *a, const json_t *rows);

/* "worker", "client", "admin", "gateway" -> the roles it grants (admin: client and admin);
 * 0 else. */
int auth_role_parse(const char *role);
/* The role's name for what auth_role_parse returned; NULL for anything else. */
const char *auth_role_name(int roles);

#define AUTH_TOKEN_PREFIX "weft_"
#define AUTH_TOKEN_LEN 48          /* "weft_" and 43 base64url characters (32 bytes) */
#define AUTH_TOKEN_ID_LEN (6 + 64) /* "token:" and the token's BLAKE2b-256 in hex */
/* A fresh bearer token (AUTH_TOKEN_LEN characters and a NUL). */
void auth_token_new(char out[AUTH_TOKEN_LEN + 1]);
/* The identity of a bearer token: "token:" and its hash, or "" when token is not of the
 * form auth_token_new makes. */
void auth_token_id(const char *token, char out[AUTH_TOKEN_ID_LEN + 1]);
/* Whether name holds an unrevoked credential: 1 with its roles and projects (valid until
 * the table changes), else 0. */
int auth_principal(const auth *a, const char *name, int *roles, const json_t **projects);

/* Whether name is a valid project name: 1 to 64 characters of [A-Za-z0-9_-]. */
int auth_project_name_ok(const char *name);
/* Why key cannot be added as name's with role and projects (an array of names, or NULL),
 * or NULL (writes into buf). */
const char *auth_check_add(const auth *a, const char *key, const char *name, const char *role,
                           const json_t *projects, char *buf, size_t n);
/* Adds the key (a Z85 key, or a token's identity); projects: the array of project names
 * (NULL or empty: "default"). */
void auth_add(auth *a, const char *key, const char *name, const char *role,
              const json_t *projects);
/* Revokes every credential of the principal name_or_key, or that one key (or token
 * identity); returns how many. */
int auth_revoke(auth *a, const char *name_or_key);

/* ZAP: whether a connection with CURVE key z85 is admitted; NULL, or why not. */
const char *auth_admit(const auth *a, const char *z85);
/* The peer of a message admitted as user_id ("local", "insecure", "key:Z85", or a token's
 * identity): 0, or -1 with why (unknown or revoked). The peer's name is valid until the
 * table changes. */
int auth_identify(const auth *a, const char *user_id, auth_peer *out, const char **why);
/* Whether peer may register a worker called worker: a worker principal NAME registers
 * NAME and NAME.ANYTHING; local and insecure peers any name. */
int auth_may_register(const auth_peer *peer, const char *worker);
/* Whether peer may submit, see, cancel and retry runs of project. */
int auth_may_use(const auth_peer *peer, const char *project);
/* The projects peer may use as a JSON array text (caller frees), or NULL for every one. */
char *auth_projects_json(const auth_peer *peer);

#endif
