/* bundle: the workflow files a workflow calls (`type: workflow` with `uses: PATH`), carried
 * inside it.
 *
 * A `uses:` path is relative to the file that names it. Each called file is known by its
 * key: its path relative to the directory of the workflow that was submitted ("prep.yaml",
 * "lib/features.yaml", "../shared/x.yaml"). compile_bundle reads every file a workflow calls,
 * directly or not, and appends them under a top-level `bundled:` mapping of key to text
 * (each a JSON string, which YAML reads as a double-quoted scalar), so that one text holds
 * the run's whole definition: the scheduler compiles it without reading any file, stores it
 * with the run, and a restart or `weft retry` compiles the same thing. */
#ifndef WEFT_BUNDLE_H
#define WEFT_BUNDLE_H

#include <stddef.h>

#define BUNDLE_MAX_FILES 64  /* files one workflow calls, directly or not */
#define BUNDLE_MAX_DEPTH 8   /* calls within calls */

/* The key of `uses` (as written) in the file whose key is from ("" or NULL: the submitted
 * workflow), into out: joined with from's directory and normalized ("a/./b/../c.yaml" ->
 * "a/c.yaml"). -1 (why in out) for an empty or absolute path, or one too long. */
int bundle_key(const char *from, const char *uses, char *out, size_t n);

/* The text of the workflow at path with every file it calls appended (text alone when it
 * calls none, or already carries `bundled:`). NULL with why (n bytes) when a file cannot be
 * read, more than BUNDLE_MAX_FILES are called, or the whole is past COMPILE_MAX_FILE.
 * Files that cannot be parsed are carried as they are: compiling reports them. Caller
 * frees. */
char *compile_bundle(const char *path, size_t *len, char *why, size_t n);

#endif
