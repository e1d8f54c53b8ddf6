/* httpembed: see httpembed.h. */
#include "plugins/embed/httpembed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <weft/plugin.h>

#define RESPONSE_MAX (256u << 20) /* a larger answer is refused, not buffered */
#define DIM_MAX 65536

struct httpembed {
    CURL *curl;
    struct curl_slist *headers;
    char url[2048];
    char *model;
    size_t batch;
    float *rows;
    size_t rows_cap;
    char *body;    /* the current answer */
    size_t body_len, body_cap;
    int too_big;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    httpembed *h = arg;
    size_t n = size * nmemb;
    if (h->body_len + n + 1 > RESPONSE_MAX) {
        h->too_big = 1;
        return 0;
    }
    if (h->body_len + n + 1 > h->body_cap) {
        h->body_cap = (h->body_len + n + 1) * 2;
        h->body = realloc(h->body, h->body_cap);
    }
    memcpy(h->body + h->body_len, p, n);
    h->body_len += n;
    h->body[h->body_len] = '\0';
    return n;
}

httpembed *httpembed_open(const httpembed_config *c, char *why, size_t n)
{
    if (!c->endpoint ||
        (strncmp(c->endpoint, "http://", 7) && strncmp(c->endpoint, "https://", 8))) {
        snprintf(why, n, "endpoint must be an http:// or https:// URL (the API base, such as "
                 "http://host:8080/v1)");
        return NULL;
    }
    if (!c->model || !*c->model) {
        snprintf(why, n, "the http backend needs a model name");
        return NULL;
    }
    if (c->batch < 1 || c->batch > 2048 || c->timeout_ms < 1) {
        snprintf(why, n, "batch must be 1 to 2048 and timeout positive");
        return NULL;
    }
    httpembed *h = calloc(1, sizeof *h);
    size_t len = strlen(c->endpoint);
    while (len && c->endpoint[len - 1] == '/')
        len--;
    snprintf(h->url, sizeof h->url, "%.*s/embeddings", (int)len, c->endpoint);
    h->model = strdup(c->model);
    h->batch = c->batch;
    h->headers = curl_slist_append(NULL, "Content-Type: application/json");
    const char *key = c->key_env && *c->key_env ? getenv(c->key_env) : NULL;
    if (key && *key) {
        size_t klen = strlen(key) + 32;
        char *line = malloc(klen);
        snprintf(line, klen, "Authorization: Bearer %s", key);
        h->headers = curl_slist_append(h->headers, line);
        memset(line, 0, klen);
        free(line);
    }
    if (!(h->curl = curl_easy_init())) {
        snprintf(why, n, "libcurl could not start");
        httpembed_close(h);
        return NULL;
    }
    curl_easy_setopt(h->curl, CURLOPT_URL, h->url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "weft-embed/1");
    return h;
}

void httpembed_close(httpembed *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    free(h->model);
    free(h->rows);
    free(h->body);
    free(h);
}

size_t httpembed_batch_size(const httpembed *h)
{
    return h->batch;
}

static char *request_body(const httpembed *h, const char *const *texts, const size_t *lens,
                          size_t count)
{
    json_t *input = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(input, json_stringn(texts[i], lens[i]));
    json_t *doc = json_pack("{s:s, s:o}", "model", h->model, "input", input);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

/* The server's own words for an error answer: error.message, or the start of the body. */
static void server_words(const httpembed *h, char *out, size_t n)
{
    json_t *doc = json_loadb(h->body ? h->body : "", h->body_len, 0, NULL);
    json_t *err = json_object_get(doc, "error");
    const char *msg = json_is_string(err) ? json_string_value(err)
                                          : json_string_value(json_object_get(err, "message"));
    snprintf(out, n, "%.200s", msg ? msg : h->body ? h->body : "");
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    json_decref(doc);
}

static int malformed(const httpembed *h, char *why, size_t n, const char *what)
{
    snprintf(why, n, "malformed answer from %s: %s", h->url, what);
    return WEFT_FAIL;
}

/* Places each data[i].embedding of the answer into h->rows. */
static int parse_answer(httpembed *h, size_t count, size_t *dim, char *why, size_t n)
{
    json_error_t err;
    json_t *doc = json_loadb(h->body ? h->body : "", h->body_len, 0, &err);
    json_t *data = json_object_get(doc, "data");
    int rc = WEFT_OK;
    if (!doc)
        rc = malformed(h, why, n, "not JSON");
    else if (!json_is_array(data) || json_array_size(data) != count) {
        char what[96];
        snprintf(what, sizeof what, "%zu vectors in 'data' for %zu texts",
                 json_is_array(data) ? json_array_size(data) : 0, count);
        rc = malformed(h, why, n, what);
    }
    char *seen = calloc(count ? count : 1, 1);
    for (size_t i = 0; rc == WEFT_OK && i < count; i++) {
        json_t *item = json_array_get(data, i), *e = json_object_get(item, "embedding");
        json_t *at = json_object_get(item, "index");
        size_t row = json_is_integer(at) ? (size_t)json_integer_value(at) : i;
        size_t d = json_array_size(e);
        if (!json_is_array(e) || d == 0 || d > DIM_MAX)
            rc = malformed(h, why, n, "an item without an 'embedding' array of numbers");
        else if (row >= count || seen[row])
            rc = malformed(h, why, n, "an 'index' out of range or repeated");
        else if (*dim && d != *dim) {
            char what[96];
            snprintf(what, sizeof what, "a vector of %zu dimensions after %zu", d, *dim);
            rc = malformed(h, why, n, what);
        }
        if (rc != WEFT_OK)
            break;
        if (!*dim)
            *dim = d;
        if (h->rows_cap < count * d) {
            h->rows_cap = count * d;
            h->rows = realloc(h->rows, h->rows_cap * sizeof *h->rows);
        }
        seen[row] = 1;
        for (size_t j = 0; j < d && rc == WEFT_OK; j++) {
            json_t *x = json_array_get(e, j);
            if (!json_is_number(x))
                rc = malformed(h, why, n, "an embedding holding something other than numbers");
            h->rows[row * d + j] = (float)json_number_value(x);
        }
    }
    free(seen);
    json_decref(doc);
    return rc;
}

static int transient_curl(CURLcode c)
{
    return c != CURLE_URL_MALFORMAT && c != CURLE_UNSUPPORTED_PROTOCOL &&
           c != CURLE_NOT_BUILT_IN && c != CURLE_WRITE_ERROR;
}

int httpembed_batch(httpembed *h, const char *const *texts, const size_t *lens, size_t count,
                    const float **rows, size_t *dim, char *why, size_t n)
{
    char *body = request_body(h, texts, lens, count);
    h->body_len = 0;
    h->too_big = 0;
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    CURLcode c = curl_easy_perform(h->curl);
    free(body);
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (c != CURLE_OK) {
        if (h->too_big)
            snprintf(why, n, "%s answered more than %u MiB", h->url, RESPONSE_MAX >> 20);
        else
            snprintf(why, n, "%s: %s", h->url, curl_easy_strerror(c));
        return !h->too_big && transient_curl(c) ? WEFT_RETRY : WEFT_FAIL;
    }
    if (status != 200) {
        char words[256];
        server_words(h, words, sizeof words);
        snprintf(why, n, "%s answered HTTP %ld: %s", h->url, status, words);
        return status == 408 || status == 429 || status >= 500 ? WEFT_RETRY : WEFT_FAIL;
    }
    int rc = parse_answer(h, count, dim, why, n);
    *rows = h->rows;
    return rc;
}
