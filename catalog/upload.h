/* upload: a remote client's files and directories sent to the scheduler for its submit or
 * retry, through the scheduler's upload protocol (UploadRequest).
 *
 * The scheduler answers a request naming paths it has not received with the list of them.
 * The client then sends the request again carrying each small file (at most
 * UPLOAD_INLINE_MAX, UPLOAD_INLINE_FILES of them) inside it, and each other path's
 * reference: such a path it first stores in a private staging store (the same
 * content-addressed form as the scheduler's: a directory becomes a manifest and its
 * files), then sends every blob in chunks, resuming from what the scheduler says it
 * holds. A blob the project already holds is not sent again. */
#ifndef WEFT_UPLOAD_H
#define WEFT_UPLOAD_H

#include "common/client.h"
#include "common/err.h"

#define UPLOAD_INLINE_MAX (64u << 10) /* the protocol's limits (weft.proto InlineFile) */
#define UPLOAD_INLINE_FILES 16

/* Frees n inline files (their paths and data, allocated with malloc) and the array. */
void upload_files_free(Weft__InlineFile **files, size_t n);

/* Sends env (a submit or retry) through cl, with what the scheduler asks for, and returns
 * 0 with *reply (caller frees), or -1 with err. only_under (NULL: anything the client can
 * read) limits what may be sent to the files under that directory ("": nothing): a
 * gateway sends only what its caller sent it, never a file of its own machine; the files
 * in that directory go with the first request, before the scheduler asks. Inline files
 * env already carries (allocated with malloc, a file's content in hand) go with every
 * round, count towards UPLOAD_INLINE_FILES, and are freed with the rest. */
int upload_call(client *cl, Weft__Envelope *env, const char *only_under,
                Weft__Envelope **reply, weft_err *err);

#endif
