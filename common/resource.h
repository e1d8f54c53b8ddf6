/* resource: the countable resources tasks request and workers offer, and the labels that
 * place a task on some workers only.
 *
 * An amount is a whole number in its resource's unit: cpu in thousandths of a core (a task
 * may ask for 0.5), mem in bytes, gpu in thousandths of a device (whole devices, 2000, or a
 * share of one, 500: never 1500), and any other name (disk, license.glpk) as its user
 * counts it. Names are lowercase: a letter, then letters, digits, '_', '.' or
 * '-', at most RES_NAME_MAX bytes. A label is "key=value". */
#ifndef WEFT_RESOURCE_H
#define WEFT_RESOURCE_H

#include <stddef.h>
#include <stdint.h>

#define RES_MAX 16       /* resources a task asks for, or a worker offers */
#define RES_NAME_MAX 64
#define RES_LABELS_MAX 16
#define RES_VALUE_MAX 64  /* bytes of a label's value, its NUL included */
#define RES_LABEL_MAX 128 /* bytes of "key=value" */
#define RES_CPU_MAX 4096  /* cores */
#define RES_GPU_MAX 64    /* devices of a worker */

typedef struct res_amount {
    char *name;
    uint64_t amount;
} res_amount;

/* 1 when name is a valid resource name (or label key). */
int res_name_ok(const char *name);
/* Parses text as an amount of resource name: cpu a number of cores with at most three
 * decimals ("0.5", "2"), gpu whole devices or a share of one ("2", "0.25"), mem a size
 * ("512M"), anything else a whole number. 0 or WEFT_EINVAL. */
int res_parse(const char *name, const char *text, uint64_t *out);
/* Formats an amount of name as a workflow writes it ("0.5", "1G", "4") into buf. */
char *res_format(const char *name, uint64_t amount, char *buf, size_t n);
/* The index of name in v[0..n-1], or n when absent. */
size_t res_index(const res_amount *v, size_t n, const char *name);
/* The amount of name in v[0..n-1], 0 when absent. */
uint64_t res_get(const res_amount *v, size_t n, const char *name);
/* 1 when name is in v[0..n-1] (with any amount, 0 included). */
int res_has_name(const res_amount *v, size_t n, const char *name);
/* Sets name to amount in *v (*n entries, at most RES_MAX): replaces an entry of that name,
 * else appends one (a copy of name). -1 when full. */
int res_set(res_amount **v, size_t *n, const char *name, uint64_t amount);
/* Frees the names and the array; *v becomes NULL and *n 0. */
void res_free(res_amount **v, size_t *n);
/* 1 when label ("key=value") is one of labels[0..n-1]. */
int res_has_label(char *const *labels, size_t n, const char *label);
/* Checks "key=value" (key a resource name, value 1-63 printable bytes without spaces):
 * 0 or WEFT_EINVAL. */
int res_label_ok(const char *label);

#endif
