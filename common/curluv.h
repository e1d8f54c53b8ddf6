/* curluv: libcurl's multi interface on a libuv loop.
 *
 * Transfers run on the loop's thread without blocking it: libcurl tells which sockets to
 * watch (uv_poll) and when to time out (uv_timer), and each finished transfer is handed to
 * its callback. A slow, hanging or dead peer costs a socket, never the loop's time. */
#ifndef WEFT_CURLUV_H
#define WEFT_CURLUV_H

#include <curl/curl.h>
#include <uv.h>

typedef struct curluv curluv;

/* A transfer ended (rc: how); the callback owns easy again (and frees it). On
 * curluv_destroy, transfers still running end with CURLE_ABORTED_BY_CALLBACK. */
typedef void (*curluv_done)(void *ud, CURL *easy, CURLcode rc);

/* NULL when libcurl cannot make a multi handle. */
curluv *curluv_new(uv_loop_t *loop);
/* Starts easy (configured by the caller); done is called once, from the loop. */
int curluv_add(curluv *m, CURL *easy, curluv_done done, void *ud);
/* Transfers under way. */
size_t curluv_running(const curluv *m);
/* Ends every transfer (their callbacks run), and frees m once the loop has closed its
 * handles. Accepts NULL; sets *mp to NULL. */
void curluv_destroy(curluv **mp);

#endif
