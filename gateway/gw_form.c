/* gw_form: forms as request bodies (multipart/form-data, with files), parsed by
 * libmicrohttpd's post processor as they arrive; any other body is JSON. Files go to a
 * private directory of the request's own, never into memory, and are removed when the
 * request ends; --max-upload bounds the whole body, --max-body the fields that are not
 * files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "catalog/upload.h"
#include "common/fsutil.h"
#include "common/xmem.h"
#include "gateway/gw.h"

#define FORM_BUFFER (64u << 10)
#define FORM_FIELDS_MAX 512
#define SENT_DIR "/request" /* where the files given in JSON are said to be (no directory) */

/* The name a received file is kept under, in dir: its own, stripped of anything but
 * [A-Za-z0-9._-] (so the scheduler names it in messages), after a counter. */
static char *file_path(gw_req *r, const char *dir, const char *filename)
{
    char safe[128];
    size_t j = 0;
    for (const char *p = filename; *p && j + 1 < sizeof safe; p++)
        safe[j++] = (strchr("._-", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= 'A' && *p <= 'Z')) ? *p : '_';
    safe[j] = '\0';
    if (!j || safe[0] == '.')
        snprintf(safe, sizeof safe, "upload");
    return xasprintf("%s/%u-%s", dir, r->nfiles++, safe);
}

/* r's private directory for the files it was sent (made on first use): 0, or -1. */
static int updir(gw_req *r)
{
    if (r->updir)
        return 0;
    const char *tmp = getenv("TMPDIR");
    char *dir = xasprintf("%s/weft-gateway.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        free(dir);
        return -1;
    }
    r->updir = dir;
    return 0;
}

/* Starts receiving the file of field key; -1 with r->form_error when it cannot. */
static int open_part(gw_req *r, const char *key, const char *filename)
{
    if (updir(r) < 0) {
        r->form_error = "cannot make a directory for the uploaded files";
        return -1;
    }
    char *path = file_path(r, r->updir, filename);
    r->part_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (r->part_fd < 0) {
        free(path);
        r->form_error = "cannot store an uploaded file";
        return -1;
    }
    json_object_set_new(r->form, key, json_pack("{s:s}", "path", path));
    free(path);
    free(r->part_key);
    r->part_key = xstrdup(key);
    return 0;
}

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *encoding, const char *data, uint64_t off,
                               size_t size)
{
    gw_req *r = cls;
    if (!key || !*key)
        return MHD_YES;
    if (filename) {
        if (off == 0 || !r->part_key || strcmp(r->part_key, key)) {
            if (r->part_fd >= 0)
                close(r->part_fd);
            r->part_fd = -1;
            if (json_object_size(r->form) >= FORM_FIELDS_MAX || json_object_get(r->form, key)) {
                r->form_error = "a field given twice, or too many fields";
                return MHD_NO;
            }
            if (open_part(r, key, filename) < 0)
                return MHD_NO;
        }
        if (size && write(r->part_fd, data, size) != (ssize_t)size) {
            r->form_error = "cannot store an uploaded file (disk full?)";
            return MHD_NO;
        }
        return MHD_YES;
    }
    json_t *v = json_object_get(r->form, key);
    if (!v && json_object_size(r->form) >= FORM_FIELDS_MAX) {
        r->form_error = "too many fields";
        return MHD_NO;
    }
    const char *had = json_string_value(v);
    if (v && !had) {
        r->form_error = "a field given twice";
        return MHD_NO;
    }
    r->len += size;
    if (r->len > r->g->cfg.max_body) {
        r->too_large = 1; /* the fields alone: --max-body */
        return MHD_NO;
    }
    /* A value may come in pieces, cut anywhere (inside a UTF-8 character too): its bytes
     * are joined here and checked as text once whole (gw_form_json). */
    size_t hl = had && off ? json_string_length(v) : 0;
    char *joined = xmalloc(hl + size + 1);
    memcpy(joined, hl ? had : "", hl);
    memcpy(joined + hl, data, size);
    json_object_set_new(r->form, key, json_stringn_nocheck(joined, hl + size));
    free(joined);
    return MHD_YES;
}

int gw_form_begin(gw_req *r)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || strncasecmp(ct, "multipart/form-data", 19))
        return 0;
    r->part_fd = -1;
    r->form = json_object();
    r->form_pp = MHD_create_post_processor(r->conn, FORM_BUFFER, on_part, r);
    if (!r->form_pp)
        r->form_error = "a form without a boundary, or of an encoding not understood";
    return 1;
}

void gw_form_take(gw_req *r, const char *data, size_t n)
{
    r->received += n;
    if (r->too_large || r->form_error)
        return;
    if (r->received > r->g->cfg.max_upload) {
        r->too_large = 1;
        return;
    }
    if (MHD_post_process(r->form_pp, data, n) != MHD_YES && !r->form_error && !r->too_large)
        r->form_error = "a form that does not parse";
}

/* Adds form field key (text, or a file {"path"}) to out: "params.NAME" into out.params,
 * a JSON object field (params, labels) parsed. -1 with r->form_error. */
static int add_field(gw_req *r, json_t *out, const char *key, json_t *v)
{
    const char *text = json_string_value(v);
    json_t *checked = text ? json_stringn(text, json_string_length(v)) : NULL;
    if (text && !checked) {
        r->form_error = "a field that is not UTF-8 text";
        return -1;
    }
    json_decref(checked);
    json_t *value = text ? json_string(text) : json_incref(json_object_get(v, "path"));
    if (!strncmp(key, "params.", 7) && key[7]) {
        json_t *params = json_object_get(out, "params");
        if (!params)
            json_object_set_new(out, "params", params = json_object());
        json_object_set_new(params, key + 7, value);
        return 0;
    }
    if (text && (!strcmp(key, "params") || !strcmp(key, "labels") || !strcmp(key, "dry_run"))) {
        json_decref(value);
        value = json_loads(text, JSON_DECODE_ANY, NULL);
        if (!value) {
            r->form_error = "a field that must hold JSON does not";
            return -1;
        }
        json_t *had = json_object_get(out, key);
        if (json_is_object(had) && json_is_object(value)) {
            json_object_update_missing(had, value); /* params.NAME fields win */
            json_decref(value);
            return 0;
        }
    }
    json_object_set_new(out, key, value);
    return 0;
}

json_t *gw_form_json(gw_req *r)
{
    if (r->part_fd >= 0 && close(r->part_fd) < 0 && !r->form_error)
        r->form_error = "cannot store an uploaded file";
    r->part_fd = -1;
    json_t *out = json_object();
    const char *k;
    json_t *v;
    if (!r->form_error) {
        json_object_foreach(r->form, k, v)
            if (add_field(r, out, k, v) < 0)
                break;
    }
    if (r->form_error) {
        gw_error(r, 400, "invalid_form", NULL, "%s", r->form_error);
        json_decref(out);
        return NULL;
    }
    /* A workflow sent as a file is its text. */
    const char *wf = json_string_value(json_object_get(json_object_get(r->form, "yaml"),
                                                       "path"));
    if (wf) {
        char *text = NULL;
        weft_err err = {0};
        if (fs_read_file(wf, 1u << 20, &text, NULL, &err) < 0) {
            gw_error(r, 400, "invalid_argument", "yaml", "the workflow file: %s", err.msg);
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, "yaml", json_string(text));
        free(text);
    }
    return out;
}

int gw_inline_files(gw_req *r, json_t *params)
{
    const char *k;
    json_t *v;
    json_object_foreach(params, k, v) {
        const json_t *content = json_object_get(v, "content");
        if (!content)
            continue; /* a value (a json parameter's object included) */
        const char *name = json_string_value(json_object_get(v, "name"));
        char field[160];
        snprintf(field, sizeof field, "params.%s", k);
        if (!json_is_string(content) || json_object_size(v) > (json_object_get(v, "name") ? 2u
                                                                                          : 1u)) {
            gw_error(r, 400, "invalid_argument", field, "%s: a file given in JSON is "
                     "{\"content\": TEXT, \"name\": NAME}", field);
            return -1;
        }
        size_t len = json_string_length(content);
        if (len <= UPLOAD_INLINE_MAX && r->nsent < UPLOAD_INLINE_FILES) {
            /* Small: sent inside the submit as it is, no file made. */
            Weft__InlineFile *f = xcalloc(1, sizeof *f);
            weft__inline_file__init(f);
            f->path = file_path(r, SENT_DIR, name ? name : k);
            f->data.data = len ? memcpy(xmalloc(len), json_string_value(content), len) : NULL;
            f->data.len = len;
            xgrow(&r->sent, &r->capsent, r->nsent + 1, sizeof *r->sent);
            r->sent[r->nsent++] = f;
            json_object_set_new(params, k, json_string(f->path));
            continue;
        }
        if (updir(r) < 0) {
            gw_error(r, 503, "unavailable", NULL, "cannot make a directory for the files sent");
            return -1;
        }
        char *path = file_path(r, r->updir, name ? name : k);
        FILE *f = fopen(path, "wx");
        int ok = f && fwrite(json_string_value(content), 1, len, f) == len;
        if (f && fclose(f) != 0)
            ok = 0;
        if (ok)
            json_object_set_new(params, k, json_string(path));
        free(path);
        if (!ok) {
            gw_error(r, 503, "unavailable", NULL, "cannot store a file sent (disk full?)");
            return -1;
        }
    }
    return 0;
}

void gw_form_end(gw_req *r)
{
    upload_files_free(r->sent, r->nsent);
    r->sent = NULL;
    r->nsent = r->capsent = 0;
    if (r->updir)
        fs_remove_tree(r->updir);
    free(r->updir);
    r->updir = NULL;
    if (!r->form)
        return;
    if (r->form_pp)
        MHD_destroy_post_processor(r->form_pp);
    r->form_pp = NULL;
    if (r->part_fd >= 0)
        close(r->part_fd);
    r->part_fd = -1;
    free(r->part_key);
    r->part_key = NULL;
    json_decref(r->form);
    r->form = NULL;
}
