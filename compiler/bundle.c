/* bundle: the files a workflow calls, carried in its text. See bundle.h. */
#include "compiler/bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/fsutil.h"
#include "common/strmap.h"
#include "common/xmem.h"
#include "compiler/compile.h"
#include "compiler/ytree.h"

int bundle_key(const char *from, const char *uses, char *out, size_t n)
{
    char joined[4096];
    const char *slash = from ? strrchr(from, '/') : NULL;
    if (!*uses || uses[0] == '/') {
        snprintf(out, n, "uses: '%s' must be a path relative to the file that names it",
                 uses);
        return -1;
    }
    int len = snprintf(joined, sizeof joined, "%.*s%s%s", slash ? (int)(slash - from) : 0,
                       from ? from : "", slash ? "/" : "", uses);
    if (len < 0 || (size_t)len >= sizeof joined || (size_t)len >= n) {
        snprintf(out, n, "uses: '%.100s...' is too long", uses);
        return -1;
    }
    /* Normalize: drop "." and empty parts; ".." takes back the part before it (one that
     * leads out of the directory stays). */
    char *parts[512];
    size_t np = 0, o = 0;
    for (char *part = joined, *next; part; part = next) {
        next = strchr(part, '/');
        if (next)
            *next++ = '\0';
        if (!*part || !strcmp(part, "."))
            continue;
        if (!strcmp(part, "..") && np && strcmp(parts[np - 1], ".."))
            np--;
        else if (np < sizeof parts / sizeof parts[0])
            parts[np++] = part;
    }
    if (!np) {
        snprintf(out, n, "uses: '%s' names no file", uses);
        return -1;
    }
    for (size_t i = 0; i < np; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s", i ? "/" : "", parts[i]);
    out[o] = '\0';
    return 0;
}

/* The keys file (key from, text) calls, in order, appended to keys (existing ones kept);
 * none when it is the submitted workflow (from "") and carries bundled: already. */
static void calls_of(const char *from, const char *text, size_t len, strmap *seen,
                     char ***keys, size_t *nkeys, size_t *cap)
{
    diag *d = diag_new("bundle");
    ytree *t = ytree_parse(text, len, d);
    int root = t && t->root->kind == YN_MAP;
    const ynode *tasks = root && !(!*from && ytree_get(t->root, "bundled"))
                             ? ytree_get(t->root, "tasks")
                             : NULL;
    for (size_t i = 0; tasks && tasks->kind == YN_MAP && i < tasks->n; i++) {
        const ynode *tn = tasks->items[i];
        const ynode *type = tn->kind == YN_MAP ? ytree_get(tn, "type") : NULL;
        const ynode *uses = tn->kind == YN_MAP ? ytree_get(tn, "uses") : NULL;
        char key[1024];
        if (!type || type->kind != YN_SCALAR || strcmp(type->text, "workflow") != 0 || !uses ||
            uses->kind != YN_SCALAR || bundle_key(from, uses->text, key, sizeof key) < 0 ||
            strmap_get(seen, key))
            continue;
        strmap_put(seen, key, (void *)1);
        xgrow(keys, cap, *nkeys + 1, sizeof **keys);
        (*keys)[(*nkeys)++] = xstrdup(key);
    }
    ytree_free(&t);
    diag_destroy(&d);
}

/* Appends s (n bytes) to *out. */
static void put(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
    xgrow(out, cap, *len + n + 1, 1);
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
}

/* Appends `  "key": "text"` (both JSON strings). */
static void put_file(char **out, size_t *len, size_t *cap, const char *key, const char *text,
                     size_t tlen)
{
    json_t *k = json_string(key), *v = json_stringn(text, tlen);
    char *ks = json_dumps(k, JSON_ENCODE_ANY), *vs = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    put(out, len, cap, "  ", 2);
    put(out, len, cap, ks, strlen(ks));
    put(out, len, cap, ": ", 2);
    put(out, len, cap, vs ? vs : "\"\"", vs ? strlen(vs) : 2);
    put(out, len, cap, "\n", 1);
    free(ks);
    free(vs);
    json_decref(k);
    json_decref(v);
}

char *compile_bundle(const char *path, size_t *len, char *why, size_t n)
{
    char *text = NULL;
    size_t tlen = 0, cap = 0, nkeys = 0, capkeys = 0;
    weft_err err = {0};
    if (fs_read_file(path, COMPILE_MAX_FILE, &text, &tlen, &err) < 0) {
        snprintf(why, n, "%s", err.msg);
        return NULL;
    }
    cap = tlen + 1;
    strmap *seen = strmap_new();
    char **keys = NULL;
    calls_of("", text, tlen, seen, &keys, &nkeys, &capkeys);
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path) : 0;
    int ok = 1;
    for (size_t i = 0; ok && i < nkeys; i++) {
        char file[4400], *sub = NULL;
        size_t slen = 0;
        snprintf(file, sizeof file, "%.*s%s%s", dirlen, path, slash ? "/" : "", keys[i]);
        if (nkeys > BUNDLE_MAX_FILES) {
            snprintf(why, n, "%s calls more than %d workflow files", path, BUNDLE_MAX_FILES);
            ok = 0;
        } else if (fs_read_file(file, COMPILE_MAX_FILE, &sub, &slen, &err) < 0) {
            snprintf(why, n, "uses: %s: %s", keys[i], err.msg);
            ok = 0;
        } else if (tlen + slen * 2 + 64 > COMPILE_MAX_FILE) {
            snprintf(why, n, "%s with the workflows it calls is past %u bytes", path,
                     COMPILE_MAX_FILE);
            ok = 0;
        } else {
            if (i == 0)
                put(&text, &tlen, &cap, "\nbundled:\n", 10);
            put_file(&text, &tlen, &cap, keys[i], sub, slen);
            calls_of(keys[i], sub, slen, seen, &keys, &nkeys, &capkeys);
        }
        free(sub);
    }
    for (size_t i = 0; i < nkeys; i++)
        free(keys[i]);
    free(keys);
    strmap_destroy(&seen);
    if (!ok) {
        free(text);
        return NULL;
    }
    *len = tlen;
    return text;
}
