/* plugload: dlopen, check and describe plugins. See plugload.h. */
#include "worker/plugload.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/strmap.h"
#include "common/wtype.h"
#include "common/xmem.h"

/* sizeof(weft_plugin) in ABI 1.0: the smallest descriptor a 1.x plugin may have. */
#define PLUGIN_SIZE_1_0 (2 * sizeof(uint32_t) + 4 * sizeof(char *))

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int valid_name(const char *s, int allow_dot)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              (allow_dot && c == '.')))
            return 0;
    }
    return 1;
}

static int check_ports(const char *file, const weft_task_type *t, const weft_port *ports,
                       const char *what, weft_err *err)
{
    strmap *seen = strmap_new();
    int rc = 0, ntask_outputs = 0;
    for (size_t i = 0; ports && ports[i].name; i++) {
        wtype ty;
        if (strcmp(ports[i].name, "*") != 0 && !valid_name(ports[i].name, 0))
            rc = err_set(err, WEFT_EPLUGIN, "plugin '%s': type '%s' has an %s with a bad name '%s'",
                         file, t->name, what, ports[i].name);
        else if (!ports[i].type || wtype_parse(ports[i].type, &ty) < 0)
            rc = err_set(err, WEFT_EPLUGIN,
                         "plugin '%s': %s '%s' of type '%s' has unknown type '%s'", file, what,
                         ports[i].name, t->name, ports[i].type ? ports[i].type : "(null)");
        else if ((ports[i].flags & WEFT_PORT_OUTPUTS) &&
                 (strcmp(what, "input") != 0 || strcmp(ports[i].type, "json") != 0 ||
                  ntask_outputs++ > 0))
            rc = err_set(err, WEFT_EPLUGIN, "plugin '%s': type '%s': only one input, of type "
                         "json, may take the task's outputs: (WEFT_PORT_OUTPUTS on %s '%s')",
                         file, t->name, what, ports[i].name);
        else if (strmap_put(seen, ports[i].name, (void *)1))
            rc = err_set(err, WEFT_EPLUGIN, "plugin '%s': type '%s' declares %s '%s' twice", file,
                         t->name, what, ports[i].name);
        if (rc)
            break;
    }
    strmap_destroy(&seen);
    return rc;
}

static int check_type(const char *file, const weft_plugin *d, const weft_task_type *t,
                      weft_err *err)
{
    if (!valid_name(t->name, 1))
        return err_set(err, WEFT_EPLUGIN, "plugin '%s': bad task type name '%s' (use [a-z0-9_.-])",
                       file, t->name);
    size_t plen = strlen(d->name);
    int builtin = strcmp(d->name, "builtin") == 0;
    if (!builtin && (strncmp(t->name, d->name, plen) != 0 || t->name[plen] != '.'))
        return err_set(err, WEFT_EPLUGIN, "plugin '%s': task type '%s' must be named '%s.<name>'",
                       file, t->name, d->name);
    if (!t->run)
        return err_set(err, WEFT_EPLUGIN, "plugin '%s': task type '%s' has no run function", file,
                       t->name);
    if (!t->version || !*t->version)
        return err_set(err, WEFT_EPLUGIN, "plugin '%s': task type '%s' has no version", file,
                       t->name);
    for (int i = 0; i < 4; i++)
        if (t->reserved[i])
            return err_set(err, WEFT_EPLUGIN,
                           "plugin '%s': task type '%s' sets reserved slot %d (must be NULL)", file,
                           t->name, i);
    int rc = check_ports(file, t, t->inputs, "input", err);
    return rc ? rc : check_ports(file, t, t->outputs, "output", err);
}

static int check_descriptor(const char *file, const weft_plugin *d, weft_err *err)
{
    unsigned major = d->abi >> 16, minor = d->abi & 0xffff;
    if (major != WEFT_PLUGIN_ABI_MAJOR || minor > WEFT_PLUGIN_ABI_MINOR)
        return err_set(err, WEFT_EPLUGIN,
                       "plugin '%s' was built for weft plugin ABI %u.%u; this executor "
                       "supports ABI %d.0 to %d.%d",
                       file, major, minor, WEFT_PLUGIN_ABI_MAJOR, WEFT_PLUGIN_ABI_MAJOR,
                       WEFT_PLUGIN_ABI_MINOR);
    if (d->size < PLUGIN_SIZE_1_0)
        return err_set(err, WEFT_EPLUGIN,
                       "plugin '%s': descriptor is %u bytes; ABI %u.%u needs at least %zu", file,
                       d->size, major, minor, PLUGIN_SIZE_1_0);
    if (!d->build || strcmp(d->build, WEFT_BUILD_SIG) != 0)
        return err_set(err, WEFT_EPLUGIN,
                       "plugin '%s' was built with signature '%s'; this executor is '%s'", file,
                       d->build ? d->build : "(none)", WEFT_BUILD_SIG);
    if (!valid_name(d->name, 0))
        return err_set(err, WEFT_EPLUGIN, "plugin '%s': bad plugin name '%s'", file,
                       d->name ? d->name : "(null)");
    if (!d->version || !*d->version)
        return err_set(err, WEFT_EPLUGIN, "plugin '%s': no version", file);
    if (!d->types || !d->types[0].name)
        return err_set(err, WEFT_EPLUGIN, "plugin '%s' declares no task types", file);
    strmap *seen = strmap_new();
    int rc = 0;
    for (size_t i = 0; d->types[i].name && !rc; i++) {
        rc = check_type(file, d, &d->types[i], err);
        if (!rc && strmap_put(seen, d->types[i].name, (void *)1))
            rc = err_set(err, WEFT_EPLUGIN, "plugin '%s' declares task type '%s' twice", file,
                         d->types[i].name);
    }
    strmap_destroy(&seen);
    return rc;
}

int plug_load(const char *path, const weft_host *host, plug **out, weft_err *err)
{
    const char *file = base_name(path);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return err_set(err, WEFT_EPLUGIN, "plugin '%s' cannot be loaded: %s", file, dlerror());
    weft_plugin_init_fn init;
    *(void **)&init = dlsym(h, WEFT_PLUGIN_INIT_SYMBOL);
    if (!init) {
        dlclose(h);
        return err_set(err, WEFT_EPLUGIN, "plugin '%s' has no entry point '%s'", file,
                       WEFT_PLUGIN_INIT_SYMBOL);
    }
    const weft_plugin *d = init(host);
    int rc = d ? check_descriptor(file, d, err)
               : err_set(err, WEFT_EPLUGIN, "plugin '%s': %s returned NULL", file,
                         WEFT_PLUGIN_INIT_SYMBOL);
    if (rc) {
        dlclose(h);
        return rc;
    }
    plug *p = xcalloc(1, sizeof *p);
    p->handle = h;
    p->desc = d;
    char *abs = realpath(path, NULL);
    p->path = abs ? abs : xstrdup(path);
    *out = p;
    return 0;
}

void plug_unload(plug **pp)
{
    if (!pp || !*pp)
        return;
    dlclose((*pp)->handle);
    free((*pp)->path);
    free(*pp);
    *pp = NULL;
}

const weft_task_type *plug_find_type(const plug *p, const char *name)
{
    for (size_t i = 0; p->desc->types[i].name; i++)
        if (strcmp(p->desc->types[i].name, name) == 0)
            return &p->desc->types[i];
    return NULL;
}

static json_t *ports_json(const weft_port *ports)
{
    json_t *a = json_array();
    for (size_t i = 0; ports && ports[i].name; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:b, s:s}", "name", ports[i].name,
                                           "type", ports[i].type, "optional",
                                           (ports[i].flags & WEFT_PORT_OPTIONAL) != 0,
                                           "task_outputs",
                                           (ports[i].flags & WEFT_PORT_OUTPUTS) != 0, "doc",
                                           ports[i].doc ? ports[i].doc : ""));
    return a;
}

static json_t *plugin_json(const plug *p)
{
    json_t *types = json_array();
    for (size_t i = 0; p->desc->types[i].name; i++) {
        const weft_task_type *t = &p->desc->types[i];
        json_array_append_new(types, json_pack("{s:s, s:s, s:o, s:o}", "name", t->name, "version",
                                               t->version, "inputs", ports_json(t->inputs),
                                               "outputs", ports_json(t->outputs)));
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "name", p->desc->name, "version", p->desc->version,
                     "path", p->path, "types", types);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the .so files to load for one path element (a directory or a file). */
static void list_candidates(const char *elem, char ***files, size_t *n, size_t *cap)
{
    struct stat st;
    if (stat(elem, &st) < 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        xgrow(files, cap, *n + 1, sizeof **files);
        (*files)[(*n)++] = xstrdup(elem);
        return;
    }
    DIR *d = opendir(elem);
    if (!d)
        return;
    size_t first = *n;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 3 && strcmp(e->d_name + len - 3, ".so") == 0) {
            xgrow(files, cap, *n + 1, sizeof **files);
            (*files)[(*n)++] = xasprintf("%s/%s", elem, e->d_name);
        }
    }
    closedir(d);
    qsort(*files + first, *n - first, sizeof **files, cmp_str);
}

static void add_error(json_t *errors, const char *path, const char *msg)
{
    json_array_append_new(errors, json_pack("{s:s, s:s}", "path", path, "message", msg));
}

json_t *plug_describe_path(const char *path, const weft_host *host)
{
    json_t *plugins = json_array(), *errors = json_array();
    char **files = NULL;
    size_t n = 0, cap = 0;
    char *copy = xstrdup(path);
    char *save = NULL;
    for (char *elem = strtok_r(copy, ":", &save); elem; elem = strtok_r(NULL, ":", &save))
        list_candidates(elem, &files, &n, &cap);
    free(copy);

    strmap *owner = strmap_new(); /* task type -> plugin file that provides it */
    for (size_t i = 0; i < n; i++) {
        plug *p = NULL;
        weft_err err = {0};
        if (plug_load(files[i], host, &p, &err) < 0) {
            add_error(errors, files[i], err.msg);
            continue;
        }
        const char *clash = NULL, *clash_type = NULL;
        for (size_t t = 0; p->desc->types[t].name && !clash; t++) {
            clash = strmap_get(owner, p->desc->types[t].name);
            clash_type = p->desc->types[t].name;
        }
        if (clash) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "plugin '%s' declares task type '%s', already provided by '%s'",
                     base_name(files[i]), clash_type, clash);
            add_error(errors, files[i], msg);
        } else {
            for (size_t t = 0; p->desc->types[t].name; t++)
                strmap_put(owner, p->desc->types[t].name, (void *)base_name(files[i]));
            json_array_append_new(plugins, plugin_json(p));
        }
        plug_unload(&p);
    }
    strmap_destroy(&owner);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    return json_pack("{s:o, s:o}", "plugins", plugins, "errors", errors);
}
