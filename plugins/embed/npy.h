/* npy: NumPy's .npy format (version 1.0) for float32 matrices, so NumPy and vector
 * database importers read the vectors as they are: numpy.load("vectors.npy"). */
#ifndef WEFT_EMBED_NPY_H
#define WEFT_EMBED_NPY_H

#include <stddef.h>
#include <stdio.h>

/* Writes rows x cols little-endian float32 values (C order) to f; 0, or -1. */
int npy_write(FILE *f, const float *data, size_t rows, size_t cols);
/* Reads a float32 C-order 2-D matrix; *data is malloc'd. 0, or -1 with why. */
int npy_read(const char *path, float **data, size_t *rows, size_t *cols, char *why, size_t n);

#endif
