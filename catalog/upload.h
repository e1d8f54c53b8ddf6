/* upload: a remote client's files and directories sent to the scheduler for its submit or
 * retry, through the scheduler's upload protocol (UploadRequest).
 *
 * The scheduler answers a request naming paths it has not received with the list of them.
 * The client then stores each path in a private staging store (the same content-addressed
 * form as the scheduler's: a directory becomes a manifest and its files), sends every blob
 * in chunks, resuming from what the scheduler says it holds, and sends the request again
 * with each path's reference. A blob the project already holds is not sent again. */
#ifndef WEFT_UPLOAD_H
#define WEFT_UPLOAD_H

#include "common/client.h"
#include "common/err.h"

/* Sends env (a submit or retry) through cl, uploading what the scheduler asks for first,
 * and returns 0 with *reply (caller frees), or -1 with err. only_under (NULL: anything the
 * client can read) limits what may be uploaded to the files under that directory ("":
 * nothing): a gateway sends only what its caller sent it, never a file of its own
 * machine. */
int upload_call(client *cl, Weft__Envelope *env, const char *only_under,
                Weft__Envelope **reply, weft_err *err);

#endif
