/* s3: a small S3 client over libcurl. See s3.h. */
#include "catalog/s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/xmem.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define IO_BUF (1u << 20)
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

struct s3_client {
    CURL *easy;
    char *endpoint; /* scheme://host[:port], no trailing slash */
    char *region, *bucket, *prefix;
    char *key_id, *secret, *token;
    int path_style;
    char *sigv4;    /* "aws:amz:REGION:s3" */
};

/* ---- configuration ---- */

static const char *env(const char *a, const char *b, const char *c)
{
    const char *names[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        const char *v = names[i] ? getenv(names[i]) : NULL;
        if (v && *v)
            return v;
    }
    return NULL;
}

/* The credentials of profile in an AWS credentials file (INI). 0 when both keys were found. */
static int read_credentials(s3_client *c, const char *file, const char *profile)
{
    char *text = NULL;
    if (fs_read_file(file, 1u << 20, &text, NULL, NULL) < 0)
        return -1;
    int in = 0;
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        while (*line == ' ' || *line == '\t')
            line++;
        line[strcspn(line, "\r")] = '\0';
        if (*line == '[') {
            char *end = strchr(line, ']');
            in = end && (size_t)(end - line - 1) == strlen(profile) &&
                 !strncmp(line + 1, profile, strlen(profile));
            continue;
        }
        char *eq = strchr(line, '=');
        if (!in || !eq)
            continue;
        char *k = line, *v = eq + 1, *ke = eq;
        while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
            ke--;
        *ke = '\0';
        while (*v == ' ' || *v == '\t')
            v++;
        char **slot = !strcmp(k, "aws_access_key_id")       ? &c->key_id
                      : !strcmp(k, "aws_secret_access_key") ? &c->secret
                      : !strcmp(k, "aws_session_token")     ? &c->token
                                                            : NULL;
        if (slot) {
            free(*slot);
            *slot = xstrdup(v);
        }
    }
    sodium_memzero(text, strlen(text));
    free(text);
    return c->key_id && c->secret ? 0 : -1;
}

static int credentials(s3_client *c, weft_err *err)
{
    const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (id && *id && secret && *secret) {
        c->key_id = xstrdup(id);
        c->secret = xstrdup(secret);
        const char *token = getenv("AWS_SESSION_TOKEN");
        c->token = token && *token ? xstrdup(token) : NULL;
        return 0;
    }
    const char *home = getenv("HOME"), *profile = env("AWS_PROFILE", NULL, NULL);
    const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
    char *path = file && *file ? xstrdup(file) : xasprintf("%s/.aws/credentials", home ? home : "");
    int rc = read_credentials(c, path, profile ? profile : "default");
    if (rc < 0)
        err_set(err, WEFT_EINVAL, "no S3 credentials: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or give profile '%s' in %s", profile ? profile : "default",
                path);
    free(path);
    return rc < 0 ? WEFT_EINVAL : 0;
}

/* Whether s is a safe name part: letters, digits, . _ - and / (not leading, no "//"). */
static int safe_name(const char *s, int slashes)
{
    for (const char *p = s; *p; p++) {
        int slash = slashes && *p == '/' && p != s && p[-1] != '/';
        if (!slash && !strchr(NAME_CHARS, *p))
            return 0;
    }
    return 1;
}

int s3_open(const char *location, s3_client **out, weft_err *err)
{
    if (strncmp(location, "s3://", 5) != 0)
        return err_set(err, WEFT_EINVAL, "'%s' is not an S3 location (s3://BUCKET/PREFIX)",
                       location);
    s3_client *c = xcalloc(1, sizeof *c);
    const char *b = location + 5, *slash = strchr(b, '/');
    c->bucket = slash ? xstrndup(b, (size_t)(slash - b)) : xstrdup(b);
    char *pre = xstrdup(slash ? slash + 1 : "");
    size_t pl = strlen(pre);
    while (pl && pre[pl - 1] == '/')
        pre[--pl] = '\0';
    c->prefix = pl ? xasprintf("%s/", pre) : xstrdup("");
    int rc = 0;
    if (!*c->bucket || !safe_name(c->bucket, 0) || !safe_name(pre, 1))
        rc = err_set(err, WEFT_EINVAL, "'%s': a bucket and prefix of letters, digits, '.', "
                     "'_', '-' (and '/' between prefix parts)", location);
    free(pre);
    const char *region = env("AWS_REGION", "AWS_DEFAULT_REGION", NULL);
    c->region = xstrdup(region ? region : "us-east-1");
    const char *ep = env("WEFT_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
    c->endpoint = ep ? xstrdup(ep) : xasprintf("https://s3.%s.amazonaws.com", c->region);
    size_t el = strlen(c->endpoint);
    while (el && c->endpoint[el - 1] == '/')
        c->endpoint[--el] = '\0';
    const char *addressing = getenv("WEFT_S3_ADDRESSING");
    c->path_style = addressing && *addressing ? !strcmp(addressing, "path") : ep != NULL;
    if (rc == 0 && addressing && *addressing && strcmp(addressing, "path") &&
        strcmp(addressing, "virtual"))
        rc = err_set(err, WEFT_EINVAL, "WEFT_S3_ADDRESSING is path or virtual, not '%s'",
                     addressing);
    if (rc == 0 && strncmp(c->endpoint, "http://", 7) && strncmp(c->endpoint, "https://", 8))
        rc = err_set(err, WEFT_EINVAL, "the S3 endpoint '%s' is not an http(s) URL",
                     c->endpoint);
    if (rc == 0)
        rc = credentials(c, err);
    c->sigv4 = xasprintf("aws:amz:%s:s3", c->region);
    if (rc == 0 && !(c->easy = curl_easy_init()))
        rc = err_set(err, WEFT_EIO, "cannot start libcurl");
    if (rc < 0) {
        s3_close(&c);
        return rc;
    }
    *out = c;
    return 0;
}

void s3_close(s3_client **cp)
{
    s3_client *c = cp ? *cp : NULL;
    if (!c)
        return;
    if (c->easy)
        curl_easy_cleanup(c->easy);
    if (c->secret)
        sodium_memzero(c->secret, strlen(c->secret));
    free(c->endpoint);
    free(c->region);
    free(c->bucket);
    free(c->prefix);
    free(c->key_id);
    free(c->secret);
    free(c->token);
    free(c->sigv4);
    free(c);
    *cp = NULL;
}

const char *s3_prefix(const s3_client *c)
{
    return c->prefix;
}

/* ---- one request ---- */

typedef struct transfer {
    const s3_request *rq;
    uint64_t sent;
    s3_response *resp;
    size_t cap;
    int write_failed;
} transfer;

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    transfer *t = ud;
    const s3_request *rq = t->rq;
    uint64_t total = rq->body_fd >= 0 ? rq->body_len : rq->body_mem_len;
    size_t want = size * n;
    if (want > total - t->sent)
        want = (size_t)(total - t->sent);
    if (!want)
        return 0;
    if (rq->body_fd < 0) {
        memcpy(buf, rq->body_mem + t->sent, want);
    } else {
        ssize_t r = pread(rq->body_fd, buf, want, rq->body_off + (off_t)t->sent);
        if (r <= 0)
            return CURL_READFUNC_ABORT;
        want = (size_t)r;
    }
    t->sent += want;
    return want;
}

static size_t on_write(char *data, size_t size, size_t n, void *ud)
{
    transfer *t = ud;
    size_t len = size * n;
    if (t->rq->out_fd >= 0 && t->resp->status / 100 == 2) {
        for (size_t off = 0; off < len;) {
            ssize_t w = write(t->rq->out_fd, data + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                t->write_failed = 1;
                return 0;
            }
            off += (size_t)w;
        }
        return len;
    }
    if (t->resp->len + len > (64u << 20)) /* an answer in memory: XML, never a blob */
        return 0;
    xgrow(&t->resp->body, &t->cap, t->resp->len + len + 1, 1);
    memcpy(t->resp->body + t->resp->len, data, len);
    t->resp->len += len;
    t->resp->body[t->resp->len] = '\0';
    return len;
}

static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
    transfer *t = ud;
    size_t len = size * n;
    if (len > 5 && !strncasecmp(line, "HTTP/", 5)) {
        long status = 0;
        const char *sp = memchr(line, ' ', len);
        if (sp)
            status = strtol(sp + 1, NULL, 10);
        t->resp->status = status;
    } else if (len > 5 && !strncasecmp(line, "ETag:", 5)) {
        const char *v = line + 5;
        while (*v == ' ')
            v++;
        size_t vl = strcspn(v, "\r\n");
        snprintf(t->resp->etag, sizeof t->resp->etag, "%.*s", (int)vl, v);
    }
    return len;
}

/* The SHA-256 of the request's body, in hex. */
static int body_sha256(const s3_request *rq, char hex[65])
{
    crypto_hash_sha256_state st;
    unsigned char sum[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    if (rq->body_fd >= 0) {
        char *buf = xmalloc(IO_BUF);
        for (uint64_t done = 0; done < rq->body_len;) {
            size_t want = rq->body_len - done < IO_BUF ? (size_t)(rq->body_len - done) : IO_BUF;
            ssize_t r = pread(rq->body_fd, buf, want, rq->body_off + (off_t)done);
            if (r <= 0) {
                free(buf);
                return -1;
            }
            crypto_hash_sha256_update(&st, (unsigned char *)buf, (size_t)r);
            done += (uint64_t)r;
        }
        free(buf);
    } else if (rq->body_mem) {
        crypto_hash_sha256_update(&st, (const unsigned char *)rq->body_mem, rq->body_mem_len);
    }
    crypto_hash_sha256_final(&st, sum);
    sodium_bin2hex(hex, 65, sum, sizeof sum);
    return 0;
}

static char *url_of(const s3_client *c, const s3_request *rq)
{
    const char *q = rq->query ? rq->query : "";
    const char *key = rq->key ? rq->key : "";
    const char *sep = *q ? "?" : "";
    if (c->path_style)
        return xasprintf("%s/%s/%s%s%s%s", c->endpoint, c->bucket, *key ? c->prefix : "", key,
                         sep, q);
    const char *host = strstr(c->endpoint, "://") + 3;
    return xasprintf("%.*s%s.%s/%s%s%s%s", (int)(host - c->endpoint), c->endpoint, c->bucket,
                     host, *key ? c->prefix : "", key, sep, q);
}

/* One try. Returns the curl code; the answer in *resp. */
static CURLcode try_once(s3_client *c, const s3_request *rq, const char *sha, off_t out_start,
                         s3_response *resp)
{
    CURL *e = c->easy;
    curl_easy_reset(e);
    transfer t = {.rq = rq, .resp = resp};
    char *url = url_of(c, rq);
    char *userpwd = xasprintf("%s:%s", c->key_id, c->secret);
    char hdr[128], range[64], *token = NULL;
    snprintf(hdr, sizeof hdr, "x-amz-content-sha256: %s", sha);
    struct curl_slist *h = curl_slist_append(NULL, hdr);
    h = curl_slist_append(h, "Expect:");
    if (c->token) {
        token = xasprintf("x-amz-security-token: %s", c->token);
        h = curl_slist_append(h, token);
    }
    if (rq->out_fd >= 0 && out_start > 0) {
        snprintf(range, sizeof range, "Range: bytes=%lld-", (long long)out_start);
        h = curl_slist_append(h, range);
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_AWS_SIGV4, c->sigv4);
    curl_easy_setopt(e, CURLOPT_USERPWD, userpwd);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(e, CURLOPT_FILETIME, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    uint64_t body = rq->body_fd >= 0 ? rq->body_len : rq->body_mem_len;
    if (!strcmp(rq->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(rq->method, "PUT") || !strcmp(rq->method, "POST")) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, &t);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body);
        if (!strcmp(rq->method, "POST"))
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "POST");
    } else if (strcmp(rq->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    CURLcode rc = curl_easy_perform(e);
    long status = 0;
    curl_off_t filetime = -1;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_FILETIME_T, &filetime);
    resp->status = status;
    resp->modified_us = filetime >= 0 ? (int64_t)filetime * 1000000 : 0;
    if (t.write_failed && rc == CURLE_OK)
        rc = CURLE_WRITE_ERROR;
    curl_slist_free_all(h);
    sodium_memzero(userpwd, strlen(userpwd));
    free(userpwd);
    free(token);
    free(url);
    return rc;
}

static int retryable(CURLcode rc, long status)
{
    if (rc != CURLE_OK)
        return rc != CURLE_WRITE_ERROR && rc != CURLE_ABORTED_BY_CALLBACK;
    return status == 500 || status == 502 || status == 503 || status == 504 || status == 429;
}

int s3_do(s3_client *c, const s3_request *rq, s3_response *resp, weft_err *err)
{
    char sha[65];
    memset(resp, 0, sizeof *resp);
    if (body_sha256(rq, sha) < 0)
        return err_set(err, WEFT_EIO, "cannot read what goes to %s", rq->key);
    off_t out_start = rq->out_fd >= 0 ? lseek(rq->out_fd, 0, SEEK_END) : 0;
    unsigned delay = BACKOFF_FIRST_MS;
    CURLcode rc = CURLE_OK;
    for (int attempt = 1;; attempt++) {
        s3_response_free(resp);
        rc = try_once(c, rq, sha, out_start, resp);
        if (!retryable(rc, resp->status) || attempt == S3_TRIES)
            break;
        if (rq->out_fd >= 0 && (ftruncate(rq->out_fd, out_start) < 0 ||
                                lseek(rq->out_fd, out_start, SEEK_SET) < 0))
            break;
        unsigned ms = delay / 2 + randombytes_uniform(delay / 2 + 1);
        log_info("S3 %s %s%s: %s; again in %u ms (try %d of %d)", rq->method, c->prefix,
                 rq->key ? rq->key : "", rc ? curl_easy_strerror(rc) : "throttled or failed",
                 ms, attempt + 1, S3_TRIES);
        if (rc == CURLE_OK)
            log_debug("S3 answered %ld", resp->status);
        usleep(ms * 1000u);
        delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    }
    if (rc != CURLE_OK)
        return err_set(err, rc == CURLE_WRITE_ERROR ? WEFT_EIO : WEFT_EUNREACH,
                       "S3 %s %s%s: %s", rq->method, c->prefix, rq->key ? rq->key : "",
                       curl_easy_strerror(rc));
    return 0;
}

void s3_response_free(s3_response *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
    r->etag[0] = '\0';
}

/* ---- answers ---- */

static void unescape(char *s)
{
    static const struct { const char *ent; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    char *w = s;
    for (const char *r = s; *r;) {
        size_t i, n = sizeof ents / sizeof ents[0];
        for (i = 0; i < n && strncmp(r, ents[i].ent, strlen(ents[i].ent)); i++) {
        }
        if (i < n) {
            *w++ = ents[i].c;
            r += strlen(ents[i].ent);
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

int s3_xml_next(const char *xml, const char *tag, size_t *pos, char *out, size_t n)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = xml ? strstr(xml + *pos, open) : NULL;
    const char *b = a ? strstr(a, close) : NULL;
    if (!b)
        return -1;
    a += strlen(open);
    snprintf(out, n, "%.*s", (int)(b - a), a);
    unescape(out);
    *pos = (size_t)(b - xml) + strlen(close);
    return 0;
}

void s3_describe(const s3_response *r, char *out, size_t n)
{
    char code[128] = "", msg[256] = "";
    size_t pos = 0;
    s3_xml_next(r->body, "Code", &pos, code, sizeof code);
    pos = 0;
    s3_xml_next(r->body, "Message", &pos, msg, sizeof msg);
    snprintf(out, n, "HTTP %ld%s%s%s%s", r->status, *code ? " " : "", code, *msg ? ": " : "",
             msg);
}
