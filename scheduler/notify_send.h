/* notify_send: the request that delivers one notification to one target, for libcurl.
 *
 * A webhook gets the payload as its JSON body with the target's headers and, when the
 * target names a secret, X-Weft-Timestamp (Unix seconds) and X-Weft-Signature:
 * "sha256=" + hex HMAC-SHA256(secret, TIMESTAMP + "." + BODY), so a receiver can check
 * who sent it and refuse replays. Slack gets an incoming-webhook body (text and blocks);
 * email a plain-text message through SMTP. Every request carries the notification's key
 * (X-Weft-Delivery, or the Message-ID), the same on every attempt: delivery is at least
 * once, and a receiver drops what it has seen. */
#ifndef WEFT_NOTIFY_SEND_H
#define WEFT_NOTIFY_SEND_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#define NOTIFY_CONNECT_TIMEOUT_MS 10000
#define NOTIFY_TIMEOUT_MS 30000

typedef struct notify_request {
    CURL *easy;
    struct curl_slist *headers, *rcpt;
    char *body;     /* what is sent */
    size_t len, off;
    int smtp;
    char errbuf[CURL_ERROR_SIZE];
} notify_request;

/* The value of secret name (caller frees and wipes), or NULL with why. */
typedef char *(*notify_secret_fn)(void *ud, const char *name, char *why, size_t n);

/* Builds r to send payload (an object) to target (a normalized notify target) with key, at
 * now_s. 0, or -1 with why (a secret it names cannot be read). */
int notify_request_make(notify_request *r, const json_t *target, const json_t *payload,
                        const char *key, int64_t now_s, notify_secret_fn secret, void *ud,
                        char *why, size_t n);
/* What a finished transfer means: 0 delivered; else -1 with why. *status gets the HTTP
 * or SMTP reply code (0: none). */
int notify_request_outcome(notify_request *r, CURLcode rc, long *status, char *why, size_t n);
void notify_request_free(notify_request *r);
/* The payload for people: a subject line and a text (caller frees both). */
void notify_text(const json_t *payload, char **subject, char **text);
/* HMAC-SHA256 of "ts.body" with key, as "sha256=" and 64 hex digits. */
void notify_sign(const char *key, size_t keylen, const char *ts, const char *body,
                 size_t len, char out[72]);

#endif
