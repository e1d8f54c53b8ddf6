/* fixture: what the compiler and core tests share: a hand-written type registry and a
 * one-call compile. Used by weft-selftest and weft-sim. */
#ifndef WEFT_TEST_FIXTURE_H
#define WEFT_TEST_FIXTURE_H

#include "compiler/compile.h"
#include "compiler/typereg.h"

/* Task types echo (any inputs, mirrored as outputs), sleep (duration) and count (n: int,
 * optional tags: list<string>; total: int), as a plugin would describe them. */
typereg *fixture_types(void);
/* Compiles text (named file in messages); returns the dag, or NULL. With errors, the
 * rendered diagnostics are returned in *errors (caller frees). */
dag *fixture_compile(const typereg *r, const char *file, const char *text, char **errors);

#endif
