/* secrets: resolving and masking a task's secrets. See secrets.h. */
#include "common/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "common/wire.h"
#include "common/xmem.h"

#define MASK "***"
#define MASK_MIN 4 /* shorter values would mask ordinary text */

/* Reads the secret file path into a fresh buffer (a trailing newline dropped). */
static char *read_secret(const char *path, const char **why)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        *why = fd < 0 && errno == ENOENT ? "it is not in the secrets directory"
                                         : "it is not a readable regular file";
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (st.st_size > (off_t)SECRET_MAX) {
        close(fd);
        *why = "it is larger than 64 KiB";
        return NULL;
    }
    char *v = xmalloc((size_t)st.st_size + 1);
    ssize_t got = read(fd, v, (size_t)st.st_size);
    close(fd);
    size_t len = got > 0 ? (size_t)got : 0;
    if (len && v[len - 1] == '\n')
        len--;
    v[len] = '\0';
    return v;
}

int secrets_env_name_ok(const char *name)
{
    size_t len = strlen(name);
    return len && len <= 128 && !(name[0] >= '0' && name[0] <= '9') &&
           strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
               len;
}

int secrets_from_env(const char *const *names, size_t n, secret_set *out, char *why,
                     size_t whylen)
{
    memset(out, 0, sizeof *out);
    out->envs = xcalloc(n + 1, sizeof *out->envs);
    out->values = xcalloc(n + 1, sizeof *out->values);
    for (size_t i = 0; i < n; i++) {
        char *v = getenv(names[i]);
        if (!secrets_env_name_ok(names[i])) {
            snprintf(why, whylen, "--secret-env %.128s: not an environment variable's name",
                     names[i]);
        } else if (!v) {
            snprintf(why, whylen, "--secret-env %.128s: the worker's environment has no %s",
                     names[i], names[i]);
        } else if (strlen(v) > SECRET_MAX) {
            snprintf(why, whylen, "--secret-env %.128s: larger than 64 KiB", names[i]);
        } else {
            out->envs[out->n] = xstrdup(names[i]);
            out->values[out->n++] = xstrdup(v);
            /* The value leaves the environment (no executor inherits it) and its bytes are
             * wiped where they were (for the initial environment: what /proc shows). */
            sodium_memzero(v, strlen(v));
            unsetenv(names[i]);
            continue;
        }
        secrets_free(out);
        return -1;
    }
    return 0;
}

/* The value of secret name in env, or NULL. */
static const char *env_secret(const secret_set *env, const char *name)
{
    for (size_t i = 0; env && i < env->n; i++)
        if (!strcmp(env->envs[i], name))
            return env->values[i];
    return NULL;
}

char *secrets_read(const char *dir, const secret_set *env, const char *name,
                   const char *where, char *why, size_t whylen)
{
    const char *reason = "it has neither --secrets-dir nor --secret-env for it";
    /* Names were checked where they were written; nothing sent is trusted. */
    char *v = NULL;
    if (dir && !strchr(name, '/') && name[0] != '.' && name[0]) {
        char *path = xasprintf("%s/%s", dir, name);
        v = read_secret(path, &reason);
        free(path);
    }
    const char *from_env = v ? NULL : env_secret(env, name);
    if (from_env)
        v = xstrdup(from_env);
    else if (!v && env && env->n && dir)
        reason = "it is neither in the secrets directory nor among --secret-env";
    if (!v)
        snprintf(why, whylen, "secret '%.128s' is not available on %s: %s", name, where,
                 reason);
    return v;
}

int secrets_resolve(const char *dir, const secret_set *env, Weft__Param *const *refs,
                    size_t n, secret_set *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    out->envs = xcalloc(n + 1, sizeof *out->envs);
    out->values = xcalloc(n + 1, sizeof *out->values);
    for (size_t i = 0; i < n; i++) {
        char *v = secrets_read(dir, env, refs[i]->value, "this worker", why, whylen);
        if (!v) {
            secrets_free(out);
            return -1;
        }
        out->envs[out->n] = xstrdup(refs[i]->name);
        out->values[out->n++] = v;
    }
    return 0;
}

void secrets_free(secret_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->envs[i]);
        sodium_memzero(s->values[i], strlen(s->values[i]));
        free(s->values[i]);
    }
    free(s->envs);
    free(s->values);
    memset(s, 0, sizeof *s);
}

/* Replaces every occurrence of pat in buf (NUL-terminated, *len bytes) by MASK. */
static char *replace_all(char *buf, size_t *len, const char *pat)
{
    size_t plen = strlen(pat);
    if (plen < MASK_MIN)
        return buf;
    for (char *hit = memmem(buf, *len, pat, plen); hit;
         hit = memmem(hit, *len - (size_t)(hit - buf), pat, plen)) {
        memcpy(hit, MASK, 3);
        memmove(hit + 3, hit + plen, *len - (size_t)(hit - buf) - plen + 1);
        *len -= plen - 3;
        hit += 3;
    }
    return buf;
}

char *secrets_mask(const secret_set *s, const char *data, size_t len, size_t *outlen)
{
    char *buf = xmalloc(len + 1);
    memcpy(buf, data, len);
    buf[len] = '\0';
    for (size_t i = 0; i < s->n; i++) {
        replace_all(buf, &len, s->values[i]);
        /* As it appears inside JSON (outputs): quotes, backslashes, control characters. */
        json_t *str = json_string(s->values[i]);
        char *esc = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
        if (esc && strlen(esc) >= 2) {
            esc[strlen(esc) - 1] = '\0';
            if (strcmp(esc + 1, s->values[i]) != 0)
                replace_all(buf, &len, esc + 1);
        }
        free(esc);
        json_decref(str);
    }
    *outlen = len;
    return buf;
}

void secrets_mask_result(const secret_set *s, Weft__Result *r, char *held[3])
{
    size_t n;
    held[0] = secrets_mask(s, r->message, strlen(r->message), &n);
    held[1] = secrets_mask(s, r->outputs_json, strlen(r->outputs_json), &n);
    held[2] = secrets_mask(s, r->log.data ? (const char *)r->log.data : "", r->log.len, &n);
    r->message = held[0];
    r->outputs_json = held[1];
    r->log.data = (uint8_t *)held[2];
    r->log.len = n;
}

void secrets_release(char *held[3])
{
    for (int i = 0; i < 3; i++)
        free(held[i]);
}

Weft__Param **secrets_params(const secret_set *s, Weft__Param **storage)
{
    return wire_params(s->envs, s->values, s->n, storage);
}
