/* secrets: the values of a task's secrets, resolved on the worker that runs it, and their
 * masking in everything the worker sends back; the scheduler reads the secrets of its
 * notifications (webhook signing keys, Slack URLs, SMTP passwords) the same way.
 *
 * A dispatch names secrets (environment variable -> secret name); the worker reads each
 * from its secrets directory (--secrets-dir: one file per secret, as a mounted Kubernetes
 * secret; a trailing newline is dropped), else from the variables of its own environment it
 * was allowed to take secrets from (--secret-env NAME: the secret NAME is the variable
 * NAME, read once at start and then removed from its environment and wiped, so no executor
 * inherits it), never from anything the scheduler sends. The
 * values travel to the executor over its private pipe, never in argv; a value of 4 bytes or
 * more that a task prints is replaced by *** in its log, message and outputs. */
#ifndef WEFT_SECRETS_H
#define WEFT_SECRETS_H

#include <stddef.h>

#include "weft.pb-c.h"

#define SECRET_MAX (64u << 10) /* the largest secret value */

typedef struct secret_set {
    size_t n;
    char **envs;   /* the environment variable each is given as */
    char **values;
} secret_set;

/* Whether name is an environment variable's: 1 to 128 of [A-Za-z0-9_], not starting with a
 * digit. */
int secrets_env_name_ok(const char *name);
/* Takes the secrets names[0..n) from the process's environment into out (each secret as
 * its variable's name) and removes and wipes the variables. 0, or -1 with why (a name that
 * is not a variable's, or a variable that is not set). */
int secrets_from_env(const char *const *names, size_t n, secret_set *out, char *why,
                     size_t whylen);
/* The value of secret name (caller frees and wipes): from dir (a file per secret), else
 * from env (may be NULL); NULL with why ("secret 'X' is not available on WHERE: ..."). */
char *secrets_read(const char *dir, const secret_set *env, const char *name,
                   const char *where, char *why, size_t whylen);
/* Reads the secrets refs names (name = variable, value = secret name) from dir, else from
 * env (secrets_from_env; may be NULL). 0, or -1 with why (the first secret missing,
 * unreadable or too large). */
int secrets_resolve(const char *dir, const secret_set *env, Weft__Param *const *refs,
                    size_t n, secret_set *out, char *why, size_t whylen);
void secrets_free(secret_set *s);
/* data (len bytes) with every value of s, raw or JSON-escaped, replaced by "***". A new
 * NUL-terminated buffer (caller frees); *outlen its length. */
char *secrets_mask(const secret_set *s, const char *data, size_t len, size_t *outlen);

/* Masks r's message, outputs and log: points them at fresh masked copies, which held[3]
 * keeps until secrets_release. */
void secrets_mask_result(const secret_set *s, Weft__Result *r, char *held[3]);
void secrets_release(char *held[3]);
/* The secrets as ExecRequest parameters (variable -> value), borrowing s's strings; free
 * the array and *storage. */
Weft__Param **secrets_params(const secret_set *s, Weft__Param **storage);

#endif
