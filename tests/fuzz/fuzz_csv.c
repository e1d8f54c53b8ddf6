/* fuzz_csv: the plugins' streaming CSV reader (plugins/support/csv.c), which reads every
 * dataset a data, train or infer task is given.
 *
 * Checked besides memory safety: a failed read says why; a file with a NUL byte is refused
 * (fields are C strings: it would cut one short); reading again after csv_rewind gives the
 * same records; and writing the records with csv_write and reading that back gives the same
 * records again (what data.split writes, train and infer read as written). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/support/csv.h"
#include "tests/fuzz/fuzz.h"

#define MAX_RECORDS 10000

/* Reads every record of r, writing each with csv_write into a fresh string (*out, caller
 * frees). Returns 0 at the end, -1 on an error, 1 when it stopped at MAX_RECORDS. */
static int read_all(csv_reader *r, char **out, size_t *len)
{
    FILE *m = open_memstream(out, len);
    WEFT_ASSERT(m);
    int rc;
    size_t n = 0;
    while ((rc = csv_next(r)) == 1 && n++ < MAX_RECORDS) {
        WEFT_ASSERT(r->nfields > 0 && r->line >= 1);
        for (size_t i = 0; i < r->nfields; i++) {
            double v;
            csv_is_null(r->fields[i]);
            csv_number(r->fields[i], &v);
        }
        csv_find(r->fields, r->nfields, "target");
        csv_write(m, r->fields, r->nfields);
    }
    if (rc < 0)
        WEFT_ASSERT(r->err[0] != '\0');
    WEFT_ASSERT(fclose(m) == 0);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    csv_reader r;
    WEFT_ASSERT(csv_open(&r, fuzz_path(0, data, size)) == 0);
    char *first, *second, *again;
    size_t first_len, second_len, again_len;
    int rc = read_all(&r, &first, &first_len);
    if (rc == 0)
        WEFT_ASSERT(!memchr(data, '\0', size));
    WEFT_ASSERT(csv_rewind(&r) == 0);
    WEFT_ASSERT(read_all(&r, &second, &second_len) == rc);
    WEFT_ASSERT(second_len == first_len && memcmp(first, second, first_len) == 0);
    csv_close(&r);

    /* What was read, written and read again: the same records. */
    WEFT_ASSERT(csv_open(&r, fuzz_path(1, first, first_len)) == 0);
    WEFT_ASSERT(read_all(&r, &again, &again_len) == 0);
    WEFT_ASSERT(again_len == first_len && memcmp(first, again, first_len) == 0);
    csv_close(&r);
    free(first);
    free(second);
    free(again);
    return 0;
}
