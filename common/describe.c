/* describe: ask weft-executor for the plugins on a path. See describe.h. */
#include "common/describe.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmem.h"

#define DESCRIBE_MAX (16u << 20)

int describe_plugins(const char *executor, const char *plugin_path, json_t **out,
                     weft_err *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return err_set(err, WEFT_EIO, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    char *argv[] = {(char *)executor, "--describe", (char *)plugin_path, NULL};
    extern char **environ;
    pid_t pid;
    int rc = posix_spawn(&pid, executor, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return err_set(err, WEFT_EIO, "cannot run %s: %s", executor, strerror(rc));
    }
    size_t cap = 65536, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap && cap < DESCRIBE_MAX)
            buf = xrealloc(buf, cap *= 2);
        if (len + 1 >= cap)
            break;
        ssize_t r = read(p[0], buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(p[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    buf[len] = '\0';
    json_error_t jerr;
    json_t *j = json_loads(buf, 0, &jerr);
    free(buf);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !json_is_object(j)) {
        json_decref(j);
        return err_set(err, WEFT_EIO, "%s --describe %s failed (status %d)", executor,
                       plugin_path, status);
    }
    *out = j;
    return 0;
}

void describe_index(const json_t *desc, strmap *type_plugin)
{
    size_t i, j;
    const json_t *e, *pl, *t;
    json_array_foreach(json_object_get(desc, "errors"), i, e)
        log_error("%s", json_string_value(json_object_get(e, "message")));
    json_array_foreach(json_object_get(desc, "plugins"), i, pl) {
        const char *path = json_string_value(json_object_get(pl, "path"));
        json_array_foreach(json_object_get(pl, "types"), j, t) {
            const char *name = json_string_value(json_object_get(t, "name"));
            if (name && path)
                free(strmap_put(type_plugin, name, xstrdup(path)));
        }
    }
}
