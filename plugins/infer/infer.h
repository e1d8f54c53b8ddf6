/* infer: the infer plugin's task types. */
#ifndef WEFT_INFER_H
#define WEFT_INFER_H

#include <weft/plugin.h>

/* The predictions file's columns: the kept columns, then PREDICTION_COLUMN, then one
 * SCORE_PREFIX column per scored class (binary: the positive class only). */
#define PREDICTION_COLUMN "prediction"
#define SCORE_PREFIX "score_"

int infer_batch_run(weft_ctx *ctx);
/* infer.batch's open() and close(): the executor's kept models. */
int infer_batch_open(weft_ctx *ctx, void **state);
void infer_batch_close(void *state);
int infer_metrics_run(weft_ctx *ctx);

#endif
