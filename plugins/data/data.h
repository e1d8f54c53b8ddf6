/* data: the data plugin's task types. */
#ifndef WEFT_DATA_H
#define WEFT_DATA_H

#include <weft/plugin.h>

#include "plugins/support/table.h"

int data_split_run(weft_ctx *ctx);
int data_check_run(weft_ctx *ctx);

#endif
