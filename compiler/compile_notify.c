/* compile_notify: a workflow's `notify:` targets and `sla:`, checked and normalized into
 * dag.notify for the scheduler's outbox (scheduler/sched_notify.c):
 *
 *   [{"type": "webhook", "url", "headers": {}, "secret": NAME | null, "on": [EVENT...]},
 *    {"type": "slack", "url" | "url_secret", "on"},
 *    {"type": "email", "smtp", "from", "to": [...], "user", "password_secret", "on"}]
 *
 * Secrets are named, never written: the scheduler reads them from its --secrets-dir or
 * --secret-env when it delivers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compile_int.h"

#define TARGETS_MAX 16
#define RECIPIENTS_MAX 50
#define HEADERS_MAX 20
#define TEXT_MAX 2048

static const char *const events[] = {"started", "succeeded", "failed", "cancelled",
                                     "task_failed", "retrying", "sla_missed", "approval",
                                     NULL};

/* Whether s is printable text without line breaks (what a header or address may hold). */
static int one_line(const char *s)
{
    if (strlen(s) > TEXT_MAX)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static int url_ok(const char *url, const char *const *schemes)
{
    for (; *schemes; schemes++) {
        size_t n = strlen(*schemes);
        if (!strncmp(url, *schemes, n) && url[n] && url[n] != '/' && one_line(url) &&
            !strchr(url, ' '))
            return 1;
    }
    return 0;
}

static const char *scalar(cc *c, const ynode *target, const char *key, const char *what)
{
    const ynode *n = ytree_get(target, key);
    if (!n || !cc_expect(c, n, YN_SCALAR, what))
        return NULL;
    if (!one_line(n->text)) {
        diag_add(c->d, n->line, n->col, "notify: %s holds a control character or is longer "
                 "than %d bytes", what, TEXT_MAX);
        return NULL;
    }
    return n->text;
}

static void set_secret(cc *c, const ynode *target, const char *key, json_t *out)
{
    const ynode *n = ytree_get(target, key);
    if (!n || !cc_expect(c, n, YN_SCALAR, "a secret's name"))
        return;
    if (!cc_secret_name_ok(n->text))
        diag_add(c->d, n->line, n->col, "notify: %s: '%s' is not a secret's name (1 to 128 "
                 "characters of [A-Za-z0-9._-])", key, n->text);
    else
        json_object_set_new(out, key, json_string(n->text));
}

/* n, or when it is a scalar, a list of it (in *seq, pointing at *one). */
static const ynode *as_list(const ynode *n, ynode *seq, const ynode **one)
{
    if (!n || n->kind != YN_SCALAR)
        return n;
    *one = n;
    *seq = (ynode){.kind = YN_SEQ, .n = 1, .items = (ynode **)one, .line = n->line,
                   .col = n->col};
    return seq;
}

/* on: [EVENT...] (default [failed]). */
static void compile_on(cc *c, const ynode *target, json_t *out)
{
    json_t *on = json_array();
    ynode seq;
    const ynode *one;
    const ynode *n = as_list(ytree_get(target, "on"), &seq, &one);
    if (!n)
        json_array_append_new(on, json_string("failed"));
    for (size_t i = 0; n && cc_expect(c, n, YN_SEQ, "'on'") && i < n->n; i++) {
        const ynode *e = n->items[i];
        size_t k = 0;
        while (e->kind == YN_SCALAR && events[k] && strcmp(events[k], e->text))
            k++;
        if (e->kind != YN_SCALAR || !events[k])
            diag_add(c->d, e->line, e->col, "notify: on: '%s' is not an event (started, "
                     "succeeded, failed, cancelled, task_failed, retrying, sla_missed, "
                     "approval)",
                     e->kind == YN_SCALAR ? e->text : "?");
        else
            json_array_append_new(on, json_string(e->text));
    }
    json_object_set_new(out, "on", on);
}

static void compile_headers(cc *c, const ynode *target, json_t *out)
{
    const ynode *n = ytree_get(target, "headers");
    json_t *h = json_object();
    if (n && cc_expect(c, n, YN_MAP, "'headers'")) {
        if (n->n > HEADERS_MAX)
            diag_add(c->d, n->line, n->col, "notify: at most %d headers", HEADERS_MAX);
        for (size_t i = 0; i < n->n; i++) {
            const char *k = n->keys[i]->text;
            const ynode *v = n->items[i];
            size_t kl = strlen(k);
            if (!kl || kl > 64 || strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                            "0123456789-") != kl ||
                v->kind != YN_SCALAR || !one_line(v->text))
                diag_add(c->d, n->keys[i]->line, n->keys[i]->col, "notify: header '%s': a "
                         "name of [A-Za-z0-9-] with a one-line value", k);
            else
                json_object_set_new(h, k, json_string(v->text));
        }
    }
    json_object_set_new(out, "headers", h);
}

static int address_ok(const char *a)
{
    const char *at = strchr(a, '@');
    return at && at != a && at[1] && !strchr(at + 1, '@') && one_line(a) &&
           !strpbrk(a, " <>,;\"");
}

static void compile_email(cc *c, const ynode *t, json_t *out)
{
    static const char *const smtp[] = {"smtp://", "smtps://", NULL};
    const char *url = scalar(c, t, "smtp", "'smtp'"), *from = scalar(c, t, "from", "'from'");
    if (!url || !url_ok(url, smtp))
        diag_add(c->d, t->line, t->col, "notify: an email target needs smtp: "
                 "smtp://HOST[:PORT] (or smtps://)");
    else
        json_object_set_new(out, "smtp", json_string(url));
    if (!from || !address_ok(from))
        diag_add(c->d, t->line, t->col, "notify: an email target needs from: an address");
    else
        json_object_set_new(out, "from", json_string(from));
    ynode seq;
    const ynode *one;
    const ynode *to = as_list(ytree_get(t, "to"), &seq, &one);
    json_t *list = json_array();
    for (size_t i = 0; to && to->kind == YN_SEQ && i < to->n; i++) {
        const ynode *a = to->items[i];
        if (a->kind != YN_SCALAR || !address_ok(a->text))
            diag_add(c->d, a->line, a->col, "notify: to: '%s' is not an address",
                     a->kind == YN_SCALAR ? a->text : "?");
        else
            json_array_append_new(list, json_string(a->text));
    }
    if (!json_array_size(list) || json_array_size(list) > RECIPIENTS_MAX)
        diag_add(c->d, t->line, t->col, "notify: an email target needs to: 1 to %d addresses",
                 RECIPIENTS_MAX);
    json_object_set_new(out, "to", list);
    const char *user = scalar(c, t, "user", "'user'");
    if (user)
        json_object_set_new(out, "user", json_string(user));
    set_secret(c, t, "password_secret", out);
}

static json_t *compile_target(cc *c, const ynode *t)
{
    static const char *const known[] = {"type", "on", "url", "url_secret", "headers", "secret",
                                        "smtp", "from", "to", "user", "password_secret",
                                        NULL};
    static const char *const http[] = {"http://", "https://", NULL};
    if (!cc_expect(c, t, YN_MAP, "a notify target"))
        return NULL;
    cc_check_keys(c, t, "a notify target", known);
    const char *type = scalar(c, t, "type", "'type'");
    json_t *out = json_pack("{s:s}", "type", type ? type : "");
    compile_on(c, t, out);
    const char *url = scalar(c, t, "url", "'url'");
    if (type && !strcmp(type, "email")) {
        compile_email(c, t, out);
    } else if (type && (!strcmp(type, "webhook") || !strcmp(type, "slack"))) {
        set_secret(c, t, !strcmp(type, "slack") ? "url_secret" : "secret", out);
        if (url && !url_ok(url, http))
            diag_add(c->d, t->line, t->col, "notify: url: '%s' is not an http:// or https:// "
                     "URL", url);
        else if (url)
            json_object_set_new(out, "url", json_string(url));
        else if (!json_object_get(out, "url_secret"))
            diag_add(c->d, t->line, t->col, "notify: a %s target needs url:%s", type,
                     !strcmp(type, "slack") ? " or url_secret: (the incoming webhook's URL is "
                                              "a credential)" : "");
        if (!strcmp(type, "webhook"))
            compile_headers(c, t, out);
    } else {
        diag_add(c->d, t->line, t->col, "notify: type is webhook, slack or email, not '%s'",
                 type ? type : "");
    }
    return out;
}

void cc_compile_notify(cc *c, const ynode *n, const ynode *slan)
{
    if (slan)
        cc_get_duration(c, slan, "'sla'", &c->g->sla_ms);
    if (!n || !cc_expect(c, n, YN_SEQ, "'notify' (a list of targets)"))
        return;
    if (n->n > TARGETS_MAX)
        diag_add(c->d, n->line, n->col, "notify: at most %d targets", TARGETS_MAX);
    json_t *list = json_array();
    for (size_t i = 0; i < n->n; i++) {
        json_t *t = compile_target(c, n->items[i]);
        if (t)
            json_array_append_new(list, t);
    }
    c->g->notify = list;
}
