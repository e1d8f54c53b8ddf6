/* notify_send: building and judging the request of one delivery. See notify_send.h. */
#include "scheduler/notify_send.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/xmem.h"

#define SLACK_HEADER_MAX 150
#define SLACK_SECTION_MAX 3000

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

void notify_sign(const char *key, size_t keylen, const char *ts, const char *body,
                 size_t len, char out[72])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, keylen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, 65, mac, sizeof mac);
}

/* Appends printf-style text to *buf (length *len). */
static void add(char **buf, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    *buf = xrealloc(*buf, *len + (size_t)n + 1);
    vsnprintf(*buf + *len, (size_t)n + 1, fmt, aq);
    va_end(aq);
    *len += (size_t)n;
}

static void add_task(char **t, size_t *tl, const json_t *task)
{
    const char *cls = str(task, "class");
    add(t, tl, "\n- %s: %s%s%s\n", str(task, "task"), cls, *cls ? ": " : "",
        str(task, "message"));
    const char *tail = str(task, "log_tail");
    if (*tail)
        add(t, tl, "  last lines of its log:\n%s%s", tail,
            tail[strlen(tail) - 1] == '\n' ? "" : "\n");
}

void notify_text(const json_t *payload, char **subject, char **text)
{
    const char *event = str(payload, "event");
    json_int_t run = json_integer_value(json_object_get(payload, "run"));
    const json_t *task = json_object_get(payload, "task");
    if (task)
        *subject = xasprintf("[weft] %s: task %s of run %lld (%s)", event, str(task, "task"),
                             (long long)run, str(payload, "workflow"));
    else
        *subject = xasprintf("[weft] run %lld of %s %s", (long long)run,
                             str(payload, "workflow"), str(payload, "state"));
    char *t = NULL;
    size_t tl = 0;
    add(&t, &tl, "%s\n\nworkflow %s, project %s, run %lld: %s", *subject,
        str(payload, "workflow"), str(payload, "project"), (long long)run,
        str(payload, "state"));
    if (*str(payload, "error"))
        add(&t, &tl, " (%s)", str(payload, "error"));
    add(&t, &tl, "\nstarted %s%s%s\n", str(payload, "created"),
        *str(payload, "finished") ? ", ended " : "", str(payload, "finished"));
    const json_t *sched = json_object_get(payload, "schedule");
    if (json_is_object(sched))
        add(&t, &tl, "schedule %s, slot %s\n", str(sched, "name"), str(sched, "time"));
    if (task)
        add_task(&t, &tl, task);
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(payload, "failed_tasks"), i, f)
        add_task(&t, &tl, f);
    if (task && !strcmp(event, "approval"))
        add(&t, &tl, "\ndecide it: weft signal %lld %s --approve | --reject REASON\n",
            (long long)run, str(task, "task"));
    if (*str(payload, "retry"))
        add(&t, &tl, "\nretry what failed, reusing what succeeded: %s\n", str(payload, "retry"));
    *text = t;
}

/* Cuts s to at most max bytes, at a UTF-8 character, ending with "..." when cut. */
static void cut(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    n = max - 3;
    while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(s + n, "...", 4);
}

/* An incoming-webhook body: the summary as text, and as a header and a section block,
 * within Slack's limits (a header's text 150 characters, a section's 3000). */
static char *slack_body(const json_t *payload)
{
    char *subject, *text;
    notify_text(payload, &subject, &text);
    char *rest = strchr(text, '\n');
    cut(subject, SLACK_HEADER_MAX);
    if (rest)
        cut(rest + 1, SLACK_SECTION_MAX);
    json_t *b = json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}]}", "text", subject,
                          "blocks", "type", "header", "text", "type", "plain_text", "text",
                          subject, "type", "section", "text", "type", "mrkdwn", "text",
                          rest ? rest + 1 : "");
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    free(subject);
    free(text);
    return body;
}

/* An RFC 5322 message with CRLF line ends. */
static char *email_message(const json_t *target, const json_t *payload, const char *key,
                           int64_t now_s, size_t *len)
{
    char *subject, *text, date[64];
    notify_text(payload, &subject, &text);
    time_t t = (time_t)now_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    char *m = NULL;
    size_t ml = 0;
    add(&m, &ml, "Date: %s\r\nFrom: %s\r\nTo: ", date, str(target, "from"));
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(target, "to"), i, a)
        add(&m, &ml, "%s%s", i ? ", " : "", json_string_value(a));
    add(&m, &ml, "\r\nSubject: %s\r\nMessage-ID: <%s@weft>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n", subject, key);
    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            add(&m, &ml, "\r\n");
        else if (*p != '\r')
            add(&m, &ml, "%c", *p);
    }
    free(subject);
    free(text);
    *len = ml;
    return m;
}

static size_t read_body(char *buf, size_t size, size_t n, void *ud)
{
    notify_request *r = ud;
    size_t want = size * n, left = r->len - r->off;
    if (want > left)
        want = left;
    memcpy(buf, r->body + r->off, want);
    r->off += want;
    return want;
}

static size_t discard(char *buf, size_t size, size_t n, void *ud)
{
    (void)buf;
    (void)ud;
    return size * n;
}

static void add_header(notify_request *r, const char *name, const char *value)
{
    char *h = xasprintf("%s: %s", name, value);
    r->headers = curl_slist_append(r->headers, h);
    free(h);
}

static int make_http(notify_request *r, const json_t *target, const json_t *payload,
                     const char *key, int64_t now_s, notify_secret_fn secret, void *ud,
                     char *why, size_t n)
{
    int slack = !strcmp(str(target, "type"), "slack");
    char *url = NULL;
    if (*str(target, "url_secret") &&
        !(url = secret(ud, str(target, "url_secret"), why, n)))
        return -1;
    r->body = slack ? slack_body(payload) : json_dumps(payload, JSON_COMPACT);
    r->len = strlen(r->body);
    add_header(r, "Content-Type", "application/json");
    add_header(r, "X-Weft-Delivery", key);
    add_header(r, "X-Weft-Event", str(payload, "event"));
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)json_object_get(target, "headers"), k, v)
        add_header(r, k, json_string_value(v));
    if (*str(target, "secret")) {
        char *key_value = secret(ud, str(target, "secret"), why, n);
        if (!key_value) {
            free(url);
            return -1;
        }
        char ts[32], sig[72];
        snprintf(ts, sizeof ts, "%lld", (long long)now_s);
        notify_sign(key_value, strlen(key_value), ts, r->body, r->len, sig);
        sodium_memzero(key_value, strlen(key_value));
        free(key_value);
        add_header(r, "X-Weft-Timestamp", ts);
        add_header(r, "X-Weft-Signature", sig);
    }
    curl_easy_setopt(r->easy, CURLOPT_URL, url ? url : str(target, "url"));
    if (url) {
        sodium_memzero(url, strlen(url));
        free(url);
    }
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)r->len);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, discard);
    return 0;
}

static int make_smtp(notify_request *r, const json_t *target, const json_t *payload,
                     const char *key, int64_t now_s, notify_secret_fn secret, void *ud,
                     char *why, size_t n)
{
    r->smtp = 1;
    if (*str(target, "password_secret")) {
        char *pw = secret(ud, str(target, "password_secret"), why, n);
        if (!pw)
            return -1;
        curl_easy_setopt(r->easy, CURLOPT_USERNAME, str(target, "user"));
        /* A password never crosses the network in the clear: STARTTLS or smtps://. */
        curl_easy_setopt(r->easy, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
        curl_easy_setopt(r->easy, CURLOPT_PASSWORD, pw); /* libcurl keeps a copy */
        sodium_memzero(pw, strlen(pw));
        free(pw);
    }
    r->body = email_message(target, payload, key, now_s, &r->len);
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(target, "to"), i, a) {
        char *rcpt = xasprintf("<%s>", json_string_value(a));
        r->rcpt = curl_slist_append(r->rcpt, rcpt);
        free(rcpt);
    }
    char *from = xasprintf("<%s>", str(target, "from"));
    curl_easy_setopt(r->easy, CURLOPT_URL, str(target, "smtp"));
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(r->easy, CURLOPT_MAIL_FROM, from);
    free(from);
    curl_easy_setopt(r->easy, CURLOPT_MAIL_RCPT, r->rcpt);
    curl_easy_setopt(r->easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(r->easy, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(r->easy, CURLOPT_READDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_INFILESIZE, (long)r->len);
    return 0;
}

int notify_request_make(notify_request *r, const json_t *target, const json_t *payload,
                        const char *key, int64_t now_s, notify_secret_fn secret, void *ud,
                        char *why, size_t n)
{
    memset(r, 0, sizeof *r);
    r->easy = curl_easy_init();
    if (!r->easy) {
        snprintf(why, n, "libcurl cannot make a transfer");
        return -1;
    }
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)NOTIFY_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)NOTIFY_TIMEOUT_MS);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "weft-scheduler");
    int rc = !strcmp(str(target, "type"), "email")
                 ? make_smtp(r, target, payload, key, now_s, secret, ud, why, n)
                 : make_http(r, target, payload, key, now_s, secret, ud, why, n);
    if (rc < 0)
        notify_request_free(r);
    return rc;
}

int notify_request_outcome(notify_request *r, CURLcode rc, long *status, char *why, size_t n)
{
    *status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, status);
    if (rc != CURLE_OK) {
        snprintf(why, n, "%s", *r->errbuf ? r->errbuf : curl_easy_strerror(rc));
        return -1;
    }
    if (!r->smtp && (*status < 200 || *status > 299)) {
        snprintf(why, n, "the endpoint answered HTTP %ld", *status);
        return -1;
    }
    return 0;
}

void notify_request_free(notify_request *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    curl_slist_free_all(r->rcpt);
    free(r->body);
    memset(r, 0, sizeof *r);
}
