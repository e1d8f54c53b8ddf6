/* arena: memory for pieces that all go at once (nginx's pools): a parsed YAML document's
 * nodes and text, the events and task rows a catalogue turn holds until it writes them.
 * Pieces come from blocks of ARENA_BLOCK bytes (a piece over a quarter of that gets a block
 * of its own), aligned for pointers and 64-bit integers; none is freed alone, so a piece
 * costs a pointer's bump instead of a malloc and a free.
 *
 * An arena is a plain struct, empty when zeroed; it is not shared between threads. */
#ifndef WEFT_ARENA_H
#define WEFT_ARENA_H

#include <stddef.h>

#define ARENA_BLOCK (64u << 10)

typedef struct arena {
    struct arena_block *blocks; /* owned; the one pieces come from first */
} arena;

/* n bytes, uninitialised, until the arena is reset or destroyed. Never NULL: running out of
 * memory aborts (xmalloc). */
void *arena_alloc(arena *a, size_t n);
/* A copy of s in the arena, or NULL for NULL. */
char *arena_strdup(arena *a, const char *s);
/* A copy of the n bytes at s, with a '\0' after them. */
char *arena_strndup(arena *a, const char *s, size_t n);
/* Frees every piece at once. One standard block is kept for the pieces that come next (an
 * arena reset at every turn then allocates nothing in a steady state). */
void arena_reset(arena *a);
/* Frees every piece and every block. */
void arena_destroy(arena *a);

#endif
