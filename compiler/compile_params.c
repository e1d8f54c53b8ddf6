/* compile_params: the workflow's parameters: declared types and defaults, -p overrides, and
 * file or dir values taken into the artifact store. See compile_int.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/artref.h"
#include "common/xmem.h"
#include "compiler/compile_int.h"

/* Converts a -p value to a JSON value of type t. Returns NULL when it does not parse. */
static void check_secret_values(cc *c, const ynode *params);

static json_t *param_from_text(wtype t, const char *s)
{
    if (t.depth > 0 || t.base == WT_JSON)
        return json_loads(s, JSON_DECODE_ANY, NULL);
    char *end;
    errno = 0;
    switch (t.base) {
    case WT_INT: {
        long long v = strtoll(s, &end, 10);
        return *s && !*end && !errno ? json_integer(v) : NULL;
    }
    case WT_FLOAT: {
        double v = strtod(s, &end);
        return *s && !*end && !errno && isfinite(v) ? json_real(v) : NULL;
    }
    case WT_BOOL:
        if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "1"))
            return json_true();
        if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "0"))
            return json_false();
        return NULL;
    default:
        return json_string(s);
    }
}

static int overridden(const compile_input *in, const char *name)
{
    for (size_t i = 0; i < in->nparams; i++)
        if (!strcmp(in->params[i].name, name))
            return 1;
    return 0;
}

/* A value of the declared type of parameter name, if it has none. */
static void stand_in(cc *c, const char *name)
{
    uintptr_t packed = (uintptr_t)strmap_get(c->declared, name);
    if (!packed || json_object_get(c->params, name))
        return;
    wtype t = {(uint8_t)((packed - 1) % 256), (uint8_t)((packed - 1) / 256)};
    json_t *v;
    switch (t.depth ? WT__COUNT : t.base) {
    case WT__COUNT: v = json_array(); break;
    case WT_BOOL: v = json_false(); break;
    case WT_INT: v = json_integer(0); break;
    case WT_FLOAT: v = json_real(0); break;
    case WT_DURATION: v = json_string("1s"); break;
    case WT_SIZE: v = json_string("1"); break;
    case WT_JSON: v = json_object(); break;
    case WT_FILE: case WT_MODEL: case WT_DATASET: case WT_DIR:
        v = artref_pending(name, t.base == WT_DIR);
        break;
    default: v = json_string(name); break;
    }
    json_object_set_new(c->params, name, v);
}

void cc_compile_params(cc *c, const ynode *params, const compile_input *in)
{
    c->params = json_object();
    strmap *types = c->declared; /* name -> wtype packed in a pointer */
    if (params && cc_expect(c, params, YN_MAP, "'params'")) {
        for (size_t i = 0; i < params->n; i++) {
            const ynode *k = params->keys[i], *v = params->items[i];
            if (!cc_valid_name(k->text, 1)) {
                diag_add(c->d, k->line, k->col, "bad parameter name '%s' (use [a-z0-9_-])",
                         k->text);
                continue;
            }
            const ynode *tn = v->kind == YN_MAP ? ytree_get(v, "type") : NULL;
            const ynode *dn = v->kind == YN_MAP ? ytree_get(v, "default") : v;
            wtype t = {WT_ANY, 0};
            if (v->kind == YN_MAP) {
                static const char *const known[] = {"type", "default", "doc", "description", NULL};
                cc_check_keys(c, v, "a parameter", known);
                if (!tn) {
                    diag_add(c->d, v->line, v->col, "parameter '%s' has no 'type'", k->text);
                    continue;
                }
                int secret = tn->kind == YN_SCALAR && !strcmp(tn->text, "secret");
                if (secret && c->callee) {
                    diag_add(c->d, tn->line, tn->col, "parameter '%s': a workflow that is "
                             "called takes no secret parameter; give the secret to its tasks "
                             "by name (secrets:)", k->text);
                    continue;
                }
                if (secret) {
                    /* A secret's name, given at submit time; never its value. */
                    strmap_put(c->secret_params, k->text, (void *)1);
                    t = (wtype){WT_STRING, 0};
                } else if (!cc_expect(c, tn, YN_SCALAR, "'type'") ||
                           wtype_parse(tn->text, &t) < 0 || t.base == WT_ANY) {
                    if (tn->kind == YN_SCALAR)
                        diag_add(c->d, tn->line, tn->col, "unknown type '%s' for parameter '%s'",
                                 tn->text, k->text);
                    continue;
                }
            }
            json_t *val = dn ? cv_literal(dn) : NULL;
            if (v->kind != YN_MAP)
                t = wtype_of_json(val);
            char pw[200];
            snprintf(pw, sizeof pw, "default of parameter '%s'", k->text);
            if (val && cv_refuse_refs(c, val, dn, pw)) {
                json_decref(val);
                continue;
            }
            if (in->param_values && json_object_get(in->param_values, k->text)) {
                json_decref(val);
                val = json_incref(json_object_get(in->param_values, k->text));
                dn = k;
            }
            char why[256], what[200];
            snprintf(what, sizeof what, "parameter '%s'", k->text);
            strmap_put(types, k->text, (void *)(uintptr_t)(1 + t.base + 256 * t.depth));
            if (overridden(in, k->text)) {
                /* -p gives the value: the default is never read (its file need not exist). */
                json_decref(val);
                continue;
            }
            if (val && !json_is_null(val) && !(val = cv_artifacts(c, val, t, dn, what)))
                continue;
            if (val && !json_is_null(val) && !wtype_check_json(t, val, why, sizeof why))
                diag_add(c->d, dn->line, dn->col, "default of parameter '%s': %s", k->text, why);
            if (val && !json_is_null(val))
                json_object_set_new(c->params, k->text, val);
            else
                json_decref(val);
        }
    }
    for (size_t i = 0; i < in->nparams; i++) {
        const compile_param *p = &in->params[i];
        const char *opt = p->option ? p->option : "-p";
        uintptr_t packed = (uintptr_t)strmap_get(types, p->name);
        if (!packed) {
            diag_add(c->d, 1, 1, "%s %s: the workflow has no parameter '%s'", opt, p->name,
                     p->name);
            continue;
        }
        wtype t = {(uint8_t)((packed - 1) % 256), (uint8_t)((packed - 1) / 256)};
        json_t *v = param_from_text(t, p->value);
        char tb[64], why[256], what[200];
        snprintf(what, sizeof what, "%s %s", opt, p->name);
        if (v && cv_refuse_refs(c, v, &(ynode){.line = 1, .col = 1}, what)) {
            json_decref(v);
            continue;
        }
        if (v && !(v = cv_artifacts(c, v, t, &(ynode){.line = 1, .col = 1}, what)))
            continue;
        if (!v || !wtype_check_json(t, v, why, sizeof why)) {
            diag_add(c->d, 1, 1, "%s %s=%s: not a valid %s%s%s", opt, p->name, p->value,
                     wtype_format(t, tb, sizeof tb), v ? ": " : "", v ? why : "");
            json_decref(v);
            continue;
        }
        json_object_set_new(c->params, p->name, v);
    }
    check_secret_values(c, params);
    if (in->placeholders && params && params->kind == YN_MAP)
        for (size_t i = 0; i < params->n; i++)
            stand_in(c, params->keys[i]->text);
    if (params && params->kind == YN_MAP && !c->callee) /* a caller gives a callee's */
        for (size_t i = 0; i < params->n; i++)
            if (strmap_get(types, params->keys[i]->text) &&
                !json_object_get(c->params, params->keys[i]->text) &&
                !overridden(in, params->keys[i]->text)) /* given but invalid: said above */
                diag_add(c->d, params->keys[i]->line, params->keys[i]->col,
                         "parameter '%s' has no default; pass -p %s=VALUE", params->keys[i]->text,
                         params->keys[i]->text);
}

int cc_secret_name_ok(const char *s)
{
    size_t len = strlen(s);
    return len && len <= 128 && s[0] != '.' &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

/* An environment variable's name a secret may take: [A-Za-z_][A-Za-z0-9_]*, not weft's own
 * (WEFT_...) nor one every program relies on. */

static int secret_env_ok(const char *s)
{
    static const char *const taken[] = {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"};
    size_t n = strlen(s);
    if (!n || n > 128 || isdigit((unsigned char)s[0]) || !strncmp(s, "WEFT_", 5) ||
        !strncmp(s, "LD_", 3) ||
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != n)
        return 0;
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
        if (!strcmp(s, taken[i]))
            return 0;
    return 1;
}

/* A task's secret: a name as written, or "${params.X}" with X a parameter of type secret
 * (its value). NULL when that is not so (reported). */
static const char *secret_param(cc *c, const ynode *v)
{
    const char *s = v->text;
    size_t len = strlen(s);
    if (strncmp(s, "${", 2) != 0)
        return s;
    if (len < 11 || strncmp(s, "${params.", 9) != 0 || s[len - 1] != '}') {
        diag_add(c->d, v->line, v->col, "secrets: a secret is named as written or by a "
                 "parameter of type secret (${params.NAME}), not by '%s'", s);
        return NULL;
    }
    char *param = xstrndup(s + 9, len - 10);
    const char *name = json_string_value(json_object_get(c->params, param));
    if (!strmap_get(c->secret_params, param)) {
        diag_add(c->d, v->line, v->col, "secrets: parameter '%s' is not of type secret", param);
        name = NULL;
    }
    free(param);
    return name; /* a missing value was reported where the parameter is declared */
}

/* Every value of a parameter of type secret names a secret. */
static void check_secret_values(cc *c, const ynode *params)
{
    const char *k;
    void *unused;
    size_t pos = 0;
    while (strmap_next(c->secret_params, &pos, &k, &unused)) {
        const char *v = json_string_value(json_object_get(c->params, k));
        const ynode *at = params ? ytree_get(params, k) : NULL;
        if (json_object_get(c->params, k) && (!v || !cc_secret_name_ok(v)))
            diag_add(c->d, at ? at->line : 1, at ? at->col : 1, "parameter '%s' names a "
                     "secret: '%s' is not a secret's name (1 to 128 characters of "
                     "[A-Za-z0-9._-], not starting with '.')", k, v ? v : "(not a string)");
    }
}

void cc_compile_secrets(cc *c, int self, const ynode *n)
{
    dag_task *t = &c->g->tasks[self];
    if (!cc_expect(c, n, YN_MAP, "'secrets'"))
        return;
    t->secret_envs = xcalloc(n->n + 1, sizeof *t->secret_envs);
    t->secret_names = xcalloc(n->n + 1, sizeof *t->secret_names);
    for (size_t i = 0; i < n->n; i++) {
        const ynode *k = n->keys[i], *v = n->items[i];
        if (!secret_env_ok(k->text)) {
            diag_add(c->d, k->line, k->col, "secrets: '%s' is not an environment variable a "
                     "secret may take ([A-Za-z_][A-Za-z0-9_]*, not WEFT_... nor PATH, HOME, "
                     "LANG, LC_ALL, TZ, TMPDIR, LD_...)", k->text);
            continue;
        }
        if (!cc_expect(c, v, YN_SCALAR, "a secret's name"))
            continue;
        const char *name = secret_param(c, v);
        if (!name)
            continue;
        if (!cc_secret_name_ok(name)) {
            diag_add(c->d, v->line, v->col, "secrets: '%s' is not a secret's name (1 to 128 "
                     "characters of [A-Za-z0-9._-], not starting with '.')", name);
            continue;
        }
        t->secret_envs[t->nsecrets] = xstrdup(k->text);
        t->secret_names[t->nsecrets++] = xstrdup(name);
    }
}

/* One declared parameter as compile_describe_params describes it. */
static json_t *describe_param(const ynode *k, const ynode *v)
{
    const ynode *tn = v->kind == YN_MAP ? ytree_get(v, "type") : NULL;
    const ynode *dn = v->kind == YN_MAP ? ytree_get(v, "default") : v;
    const ynode *doc = v->kind == YN_MAP ? ytree_get(v, "doc") : NULL;
    if (!doc && v->kind == YN_MAP)
        doc = ytree_get(v, "description");
    json_t *def = dn ? cv_literal(dn) : NULL;
    char buf[64];
    const char *type = tn && tn->kind == YN_SCALAR ? tn->text
                                                   : wtype_format(wtype_of_json(def), buf,
                                                                  sizeof buf);
    json_t *p = json_pack("{s:s, s:s, s:b}", "name", k->text, "type", type, "required",
                          !def || json_is_null(def));
    json_object_set_new(p, "default", def && !json_is_null(def) ? def : json_null());
    if (def && json_is_null(def))
        json_decref(def);
    if (doc && doc->kind == YN_SCALAR)
        json_object_set_new(p, "doc", json_string(doc->text));
    return p;
}

json_t *compile_describe_params(const char *file, const char *text, size_t len)
{
    diag *d = diag_new(file);
    ytree *t = ytree_parse(text, len, d);
    const ynode *root = t ? t->root : NULL;
    diag_destroy(&d);
    const ynode *params = root && root->kind == YN_MAP ? ytree_get(root, "params") : NULL;
    json_t *out = json_array();
    for (size_t i = 0; params && params->kind == YN_MAP && i < params->n; i++)
        json_array_append_new(out, describe_param(params->keys[i], params->items[i]));
    ytree_free(&t);
    return out;
}
