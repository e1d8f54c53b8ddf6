/* fuzz: what the libFuzzer targets in tests/fuzz share.
 *
 * Each fuzz_NAME.c is one target: it defines LLVMFuzzerTestOneInput, and libFuzzer's main
 * (linked with -fsanitize=fuzzer) feeds it inputs, under AddressSanitizer and
 * UndefinedBehaviorSanitizer. A target checks more than "it did not crash" where its module
 * promises something checkable (a round trip, two readers agreeing, an error always carrying
 * a message): a broken promise fails a WEFT_ASSERT, which libFuzzer records as a crash.
 *
 * Readers that take a path read the input through fuzz_path, an in-memory file, so a target
 * touches no disk. Not here: anything that needs a daemon, a socket or a loaded plugin. */
#ifndef WEFT_FUZZ_H
#define WEFT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "common/xmem.h"

/* libFuzzer's entry point (it declares none itself). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Makes data[0..size) the content of in-memory file `which` (0 or 1, made on first use) and
 * returns a path that opens it, valid until the next call with the same `which`. A target
 * reads its input from file 0 and writes what it round-trips to file 1. Aborts when a file
 * cannot be made. */
const char *fuzz_path(int which, const void *data, size_t size);

#endif
