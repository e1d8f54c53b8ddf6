/* typereg: task type declarations. See typereg.h. */
#include "compiler/typereg.h"

#include <stdlib.h>
#include <string.h>

#include "common/strmap.h"
#include "common/xmem.h"

struct typereg {
    strmap *types; /* name -> tt_decl* */
};

/* The scheduler's own types, as a plugin description. */
static const char builtin_types[] =
    "{\"plugins\": [{\"name\": \"weft\", \"version\": \"1\", \"path\": \"\", \"types\": ["
    "{\"name\": \"" TT_APPROVE "\", \"version\": \"1\", \"inputs\": ["
    "{\"name\": \"message\", \"type\": \"string\", \"optional\": true, "
    "\"doc\": \"what the approver is asked\"}, "
    "{\"name\": \"outputs\", \"type\": \"json\", \"optional\": true, "
    "\"task_outputs\": true, \"doc\": \"values the approval carries (weft signal -i)\"}], "
    "\"outputs\": [{\"name\": \"approved_by\", \"type\": \"string\", "
    "\"doc\": \"who approved\"}]}]}]}";

typereg *typereg_new(void)
{
    typereg *r = xcalloc(1, sizeof *r);
    r->types = strmap_new();
    json_t *builtin = json_loads(builtin_types, 0, NULL);
    size_t added = typereg_add_description(r, builtin);
    json_decref(builtin);
    if (added != 1)
        abort(); /* the text above is wrong */
    return r;
}

static void free_ports(tt_port *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].doc);
    }
    free(p);
}

static void free_decl(tt_decl *d)
{
    free(d->name);
    free(d->version);
    free(d->plugin);
    free(d->plugin_version);
    free(d->path);
    free(d->entry);
    free_ports(d->inputs, d->ninputs);
    free_ports(d->outputs, d->noutputs);
    free(d);
}

void typereg_destroy(typereg **rp)
{
    if (!rp || !*rp)
        return;
    size_t pos = 0;
    const char *k;
    void *v;
    while (strmap_next((*rp)->types, &pos, &k, &v))
        free_decl(v);
    strmap_destroy(&(*rp)->types);
    free(*rp);
    *rp = NULL;
}

static int load_ports(const json_t *arr, tt_port **out, size_t *n)
{
    size_t count = json_array_size(arr);
    tt_port *p = xcalloc(count ? count : 1, sizeof *p);
    size_t i;
    json_t *e;
    *n = 0;
    json_array_foreach(arr, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *doc = json_string_value(json_object_get(e, "doc"));
        if (!name || !type || wtype_parse(type, &p[*n].type) < 0) {
            free_ports(p, *n);
            return -1;
        }
        p[*n].name = xstrdup(name);
        p[*n].doc = xstrdup(doc ? doc : "");
        p[*n].optional = json_is_true(json_object_get(e, "optional"));
        p[*n].task_outputs = json_is_true(json_object_get(e, "task_outputs"));
        (*n)++;
    }
    *out = p;
    return 0;
}

static json_t *ports_json(const tt_port *p, size_t n)
{
    json_t *a = json_array();
    char tb[64];
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:b, s:s}", "name", p[i].name,
                                           "type", wtype_format(p[i].type, tb, sizeof tb),
                                           "optional", p[i].optional, "task_outputs",
                                           p[i].task_outputs, "doc", p[i].doc));
    return a;
}

/* d's entry in a description: its plugin, holding d alone. */
static char *entry_json(const tt_decl *d)
{
    json_t *type = json_pack("{s:s, s:s, s:o, s:o}", "name", d->name, "version", d->version,
                             "inputs", ports_json(d->inputs, d->ninputs), "outputs",
                             ports_json(d->outputs, d->noutputs));
    json_t *pl = json_pack("{s:s, s:s, s:s, s:[o]}", "name", d->plugin, "version",
                           d->plugin_version, "path", d->path, "types", type);
    char *text = json_dumps(pl, JSON_COMPACT);
    json_decref(pl);
    return text;
}

size_t typereg_add_description(typereg *r, const json_t *desc)
{
    size_t added = 0, i, j;
    json_t *pl, *t;
    json_array_foreach(json_object_get(desc, "plugins"), i, pl) {
        const char *pname = json_string_value(json_object_get(pl, "name"));
        const char *pver = json_string_value(json_object_get(pl, "version"));
        const char *path = json_string_value(json_object_get(pl, "path"));
        json_array_foreach(json_object_get(pl, "types"), j, t) {
            const char *name = json_string_value(json_object_get(t, "name"));
            const char *ver = json_string_value(json_object_get(t, "version"));
            if (!name || !ver || !pname || strmap_get(r->types, name))
                continue;
            tt_decl *d = xcalloc(1, sizeof *d);
            if (load_ports(json_object_get(t, "inputs"), &d->inputs, &d->ninputs) < 0 ||
                load_ports(json_object_get(t, "outputs"), &d->outputs, &d->noutputs) < 0) {
                free_decl(d);
                continue;
            }
            d->name = xstrdup(name);
            d->version = xstrdup(ver);
            d->plugin = xstrdup(pname);
            d->plugin_version = xstrdup(pver ? pver : "");
            d->path = xstrdup(path ? path : "");
            d->entry = entry_json(d);
            strmap_put(r->types, name, d);
            added++;
        }
    }
    return added;
}

const tt_decl *typereg_find(const typereg *r, const char *name)
{
    return strmap_get(r->types, name);
}


char *typereg_subset(const typereg *r, const char *const *names, size_t n)
{
    static const char head[] = "{\"plugins\":[", tail[] = "],\"errors\":[]}";
    const tt_decl **used = xcalloc(n ? n : 1, sizeof *used);
    size_t nused = 0, len = sizeof head + sizeof tail;
    strmap *seen = strmap_new();
    for (size_t i = 0; i < n; i++) {
        const tt_decl *d = strmap_get(r->types, names[i]);
        if (!d || !d->entry || strmap_put(seen, d->name, (void *)1))
            continue;
        used[nused++] = d;
        len += strlen(d->entry) + 1;
    }
    strmap_destroy(&seen);
    char *text = xmalloc(len), *p = text;
    memcpy(p, head, sizeof head - 1);
    p += sizeof head - 1;
    for (size_t i = 0; i < nused; i++) {
        if (i)
            *p++ = ',';
        size_t k = strlen(used[i]->entry);
        memcpy(p, used[i]->entry, k);
        p += k;
    }
    memcpy(p, tail, sizeof tail);
    free(used);
    return text;
}

const tt_port *tt_find_port(const tt_port *ports, size_t n, const char *name)
{
    const tt_port *star = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ports[i].name, name) == 0)
            return &ports[i];
        if (strcmp(ports[i].name, "*") == 0)
            star = &ports[i];
    }
    return star;
}

const tt_port *tt_outputs_port(const tt_decl *d)
{
    for (size_t i = 0; d && i < d->ninputs; i++)
        if (d->inputs[i].task_outputs)
            return &d->inputs[i];
    return NULL;
}

char *tt_port_list(const tt_port *ports, size_t n)
{
    size_t cap = 16, len = 0;
    char *s = xmalloc(cap);
    s[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(ports[i].name);
        xgrow(&s, &cap, len + l + 3, 1);
        if (len) {
            memcpy(s + len, ", ", 2);
            len += 2;
        }
        memcpy(s + len, ports[i].name, l + 1);
        len += l;
    }
    if (!n) {
        free(s);
        s = xstrdup("none");
    }
    return s;
}
