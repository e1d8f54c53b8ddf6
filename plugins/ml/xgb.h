/* xgb: what the XGBoost trainer and predictor share. */
#ifndef WEFT_ML_XGB_H
#define WEFT_ML_XGB_H

#include <stddef.h>

/* XGBoost's last error, reduced to its first line without the timestamp and the source
 * location ("Invalid Input: 'foo', valid values are: ..."); written into buf. */
const char *xgb_last_error(char *buf, size_t n);

#endif
