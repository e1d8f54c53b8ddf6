/* keys: CURVE key pairs and connection security. See keys.h. */
#include "common/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "common/fsutil.h"
#include "common/xmem.h"

#define KEY_FILE_MAX 4096

int keys_valid(const char *s)
{
    uint8_t raw[32];
    return s && strlen(s) == KEY_Z85_LEN && zmq_z85_decode(raw, s) != NULL;
}

int keys_generate(keypair *kp, weft_err *err)
{
    if (zmq_curve_keypair(kp->pub, kp->sec) < 0)
        return err_set(err, WEFT_EINVAL, "cannot make a key pair: %s (libzmq without CURVE?)",
                       zmq_strerror(errno));
    return 0;
}

/* Writes text to a new file at path with mode (never over an existing file, never through
 * a symlink). */
static int write_new(const char *path, const char *text, mode_t mode, weft_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return err_set(err, WEFT_EIO, "cannot create %s: %s", path, strerror(errno));
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int bad = n != (ssize_t)len || fchmod(fd, mode) < 0 || fsync(fd) < 0;
    int e = errno;
    close(fd);
    if (bad) {
        unlink(path);
        return err_set(err, WEFT_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

int keys_write(const char *path, const keypair *kp, weft_err *err)
{
    char *text = xasprintf("# weft CURVE key pair. Keep this file secret.\n"
                           "public-key = \"%s\"\nsecret-key = \"%s\"\n",
                           kp->pub, kp->sec);
    char *pub = xasprintf("public-key = \"%s\"\n", kp->pub);
    char *pubpath = xasprintf("%s.pub", path);
    int rc = write_new(path, text, 0600, err);
    if (rc == 0 && (rc = write_new(pubpath, pub, 0644, err)) < 0)
        unlink(path);
    free(text);
    free(pub);
    free(pubpath);
    return rc;
}

/* The Z85 value of the line "field = "VALUE"" in text; 0 when there is none. */
static int find_field(const char *text, const char *field, char out[KEY_Z85_LEN + 1])
{
    size_t flen = strlen(field);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        p += strspn(p, " \t");
        if (strncmp(p, field, flen) != 0)
            continue;
        const char *q = p + flen;
        q += strspn(q, " \t");
        if (*q++ != '=')
            continue;
        q += strspn(q, " \t");
        if (*q++ != '"')
            continue;
        if (strlen(q) < KEY_Z85_LEN + 1 || q[KEY_Z85_LEN] != '"')
            return 0;
        memcpy(out, q, KEY_Z85_LEN);
        out[KEY_Z85_LEN] = '\0';
        return keys_valid(out);
    }
    return 0;
}

/* Reads a small key file (no symlink games: O_NOFOLLOW) into a fresh buffer. */
static int read_key_file(const char *path, int secret, char **text, weft_err *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return err_set(err, WEFT_EIO, "cannot open key file %s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > KEY_FILE_MAX) {
        close(fd);
        return err_set(err, WEFT_EINVAL, "%s is not a key file", path);
    }
    if (secret && (st.st_mode & 077)) {
        close(fd);
        return err_set(err, WEFT_EINVAL,
                       "key file %s may be read by others (mode %04o): chmod 600 it",
                       path, (unsigned)(st.st_mode & 07777));
    }
    *text = xmalloc((size_t)st.st_size + 1);
    ssize_t n = read(fd, *text, (size_t)st.st_size);
    close(fd);
    (*text)[n > 0 ? n : 0] = '\0';
    return 0;
}

int keys_read(const char *path, keypair *kp, weft_err *err)
{
    char *text = NULL;
    int rc = read_key_file(path, 1, &text, err);
    if (rc < 0)
        return rc;
    if (!find_field(text, "public-key", kp->pub) || !find_field(text, "secret-key", kp->sec))
        rc = err_set(err, WEFT_EINVAL,
                     "%s is not a weft key pair (public-key and secret-key lines of 40 Z85 "
                     "characters; make one with weft keys gen)", path);
    free(text);
    return rc;
}

int keys_public_arg(const char *arg, char out[KEY_Z85_LEN + 1], weft_err *err)
{
    if (keys_valid(arg)) {
        memcpy(out, arg, KEY_Z85_LEN + 1);
        return 0;
    }
    if (access(arg, F_OK) != 0)
        return err_set(err, WEFT_EINVAL,
                       "'%.60s' is neither a public key (40 Z85 characters) nor a key file",
                       arg);
    char *text = NULL;
    int rc = read_key_file(arg, 0, &text, err);
    if (rc < 0)
        return rc;
    if (!find_field(text, "public-key", out))
        rc = err_set(err, WEFT_EINVAL, "%s holds no public-key line", arg);
    free(text);
    return rc;
}

int keys_is_loopback(const char *endpoint)
{
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return 0;
    const char *h = endpoint + 6;
    const char *semi = strchr(h, ';'); /* tcp://SOURCE;DEST: the destination counts */
    if (semi)
        h = semi + 1;
    const char *colon = strrchr(h, ':');
    if (!colon)
        return 0;
    size_t n = (size_t)(colon - h);
    if ((n == 9 && !strncmp(h, "localhost", 9)) || (n == 5 && !strncmp(h, "[::1]", 5)))
        return 1;
    /* 127.0.0.0/8, as numbers only: "127.evil.example" is a name, not an address. */
    return n > 4 && !strncmp(h, "127.", 4) && strspn(h, "0123456789.") == n;
}

static const char *env_or(const char *v, const char *name)
{
    if (v && *v)
        return v;
    const char *e = getenv(name);
    return e && *e ? e : NULL;
}

int keys_conn_setup(keys_conn *kc, const char *endpoint, const char *key_file,
                    const char *server_key, int insecure, weft_err *err)
{
    memset(kc, 0, sizeof *kc);
    kc->ipv6 = strchr(endpoint, '[') != NULL; /* tcp://[::1]:PORT */
    key_file = env_or(key_file, "WEFT_KEY");
    server_key = env_or(server_key, "WEFT_SERVER_KEY");
    const char *ins = getenv("WEFT_INSECURE");
    insecure = insecure || (ins && !strcmp(ins, "1"));
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return 0; /* ipc:// and inproc://: the scheduler knows a local peer by its uid */
    if (!key_file && !server_key) {
        if (insecure && keys_is_loopback(endpoint))
            return 0;
        return err_set(err, WEFT_EINVAL,
                       "%s: a TCP connection needs --key FILE and --server-key KEY "
                       "(plain TCP only with --insecure, and only to a loopback address)",
                       endpoint);
    }
    if (!key_file || !server_key)
        return err_set(err, WEFT_EINVAL, "%s: CURVE needs both --key FILE and --server-key KEY",
                       endpoint);
    int rc = keys_read(key_file, &kc->mine, err);
    if (rc == 0)
        rc = keys_public_arg(server_key, kc->server, err);
    kc->curve = rc == 0;
    return rc;
}

void keys_conn_apply(const keys_conn *kc, void *zsock)
{
    int one = 1;
    if (kc->ipv6)
        zmq_setsockopt(zsock, ZMQ_IPV6, &one, sizeof one);
    if (!kc->curve)
        return;
    zmq_setsockopt(zsock, ZMQ_CURVE_SERVERKEY, kc->server, KEY_Z85_LEN);
    zmq_setsockopt(zsock, ZMQ_CURVE_PUBLICKEY, kc->mine.pub, KEY_Z85_LEN);
    zmq_setsockopt(zsock, ZMQ_CURVE_SECRETKEY, kc->mine.sec, KEY_Z85_LEN);
}

const char *keys_handshake_why(const void *frame, size_t len, int server)
{
    if (len != 6)
        return NULL;
    uint16_t event;
    uint32_t value;
    memcpy(&event, frame, 2);
    memcpy(&value, (const char *)frame + 2, 4);
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        return server ? "its key was refused"
                      : "the scheduler refused this key (not on its list, or revoked)";
    if (event != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
        event != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        return NULL;
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        return server ? "it does not speak CURVE (a peer without --key and --server-key?)"
                      : "the scheduler and this peer disagree on CURVE (the scheduler wants "
                        "--key and --server-key, or is --insecure and wants none)";
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        return server ? "its CURVE handshake failed (a wrong --server-key?)"
                      : "the CURVE handshake failed (is --server-key the scheduler's key?)";
    return server ? "its handshake failed"
                  : "the handshake failed (does the scheduler want CURVE keys, or none?)";
}
