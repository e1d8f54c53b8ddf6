/* units: durations ("500ms 2s 10m 1h 1h30m") and sizes ("512M 2G 1024"), as in workflows.
 *
 * Both parsers are strict: the whole string must be consumed, numbers are non-negative
 * integers, and overflow is an error. They return 0 or WEFT_EINVAL. */
#ifndef WEFT_UNITS_H
#define WEFT_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Parses a duration into milliseconds. Units: ms, s, m, h, d; components may be chained
 * from largest to smallest ("1h30m"). A bare number is refused (the unit is required). */
int units_duration_ms(const char *s, int64_t *out_ms);
/* Parses a size into bytes. Suffixes K, M, G, T (powers of 1024, optional trailing "i"/"B"
 * as in "2GiB"); a bare number is bytes. */
int units_size_bytes(const char *s, uint64_t *out_bytes);
/* Parses a whole decimal number in [lo, hi] (no sign, no spaces, nothing after it). */
int units_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* Formats milliseconds compactly ("1.5s", "250ms", "2m03s") into buf. Returns buf. */
char *units_format_ms(int64_t ms, char *buf, size_t n);
/* Formats a size in bytes with a binary unit ("512 B", "1.5 KiB", "3.2 GiB") into buf. */
char *units_format_bytes(uint64_t bytes, char *buf, size_t n);

#endif
