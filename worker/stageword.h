/* stageword: the words a worker and a slot's executor share to hand over staged attempts
 * (worker/staging.c): STAGE_WORDS tokens in a memfd page, each 0 when free. A staged
 * attempt's ExecRequest names its word (ExecRequest.staged, 1-based) and its token
 * (ExecRequest.stage_token: never used twice, so a request taken back and left in the pipe
 * can never claim a later one); whoever swaps the token there for 0 first owns the attempt,
 * the executor to run it, the worker to take it back. */
#ifndef WEFT_STAGEWORD_H
#define WEFT_STAGEWORD_H

#include <stdatomic.h>
#include <stdint.h>

#define STAGE_WORDS 2 /* one claimed but not yet read by the executor, one staged behind it */

typedef _Atomic uint64_t stageword;

/* New words, zeroed, in a memfd whose descriptor (close-on-exec) is *fd; NULL (*fd -1)
 * with errno when they cannot be made. */
stageword *stageword_new(int *fd);
/* The words in memfd fd (the descriptor closed), or NULL. */
stageword *stageword_map(int fd);
void stageword_free(stageword *w);

/* Swaps token in word i for 0: 1 when it was there (the caller owns the attempt now). */
int stageword_take(stageword *w, uint32_t i, uint64_t token);

#endif
