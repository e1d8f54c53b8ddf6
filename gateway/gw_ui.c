/* gw_ui: the web UI's files (assets/ui: HTML, CSS, JavaScript, and the layout library it
 * ships), served as they are: the browser runs them with no build step. They hold no data
 * and need no token; the API calls they make do. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmem.h"
#include "gateway/gw.h"

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
    {".png", "image/png"},                 {".LICENSE", "text/plain; charset=utf-8"},
};

/* Whether name is a plain file name: [A-Za-z0-9._-], not starting with a dot. */
static int plain(const char *name)
{
    size_t len = strlen(name);
    return len && len < 128 && name[0] != '.' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
               len;
}

void gw_ui(gw_req *r)
{
    const char *name = r->args[0] ? r->args[0] : "index.html";
    int vendor = !strncmp(r->url, "/ui/vendor/", 11);
    const char *type = NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t n = strlen(name), e = strlen(types[i].ext);
        if (n > e && !strcmp(name + n - e, types[i].ext))
            type = types[i].type;
    }
    if (!plain(name) || !type) {
        gw_error(r, 404, "not_found", NULL, "no such file: %s", r->url);
        return;
    }
    char *path = xasprintf("%s/ui/%s%s", r->g->cfg.assets, vendor ? "vendor/" : "", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    free(path);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        gw_error(r, 404, "not_found", NULL, "no such file: %s", r->url);
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data: blob:; "
                            "object-src 'none'; frame-ancestors 'none'; base-uri 'none'");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    gw_respond(r, 200, resp);
}
