/* xmem: allocation that aborts on exhaustion, and the always-on assertion.
 *
 * The daemons cannot do anything useful without memory, so running out is treated as a bug
 * (abort with a message), as Redis's zmalloc does. Sizes that come from a peer or a file are
 * capped by the caller before they reach these functions. */
#ifndef WEFT_XMEM_H
#define WEFT_XMEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh string; caller frees with free(). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows the array *items (of *cap elements of elsize bytes) so that it holds at least need
 * elements. Growth is geometric; new memory is zeroed. */
void xgrow(void *items, size_t *cap, size_t need, size_t elsize);
/* Grows the array *items to hold exactly need elements, when it holds fewer: for an array
 * whose size is known at once (the doubling of xgrow would leave up to half unused). */
void xreserve(void *items, size_t *cap, size_t need, size_t elsize);
/* Frees the array *items, emptied by its caller, when it has room for more than keep
 * elements: what one large burst grew it to is not held for good. */
void xtrim(void *items, size_t *cap, size_t keep);

void weft_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

/* Invariants that must hold in every build; a failure is a bug in weft and aborts. */
#define WEFT_ASSERT(e) ((e) ? (void)0 : weft_assert_fail(#e, __FILE__, __LINE__))

#endif
