/* Unit tests of the embed plugin's pure logic: UTF-8 checks, chunking and hashing. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plugins/embed/hashing.h"
#include "plugins/embed/textsplit.h"
#include "tests/unit/selftest.h"

typedef struct chunks {
    const char *text;
    char got[16][128];
    size_t n;
} chunks;

static int keep(void *arg, size_t start, size_t end)
{
    chunks *c = arg;
    if (c->n < 16)
        snprintf(c->got[c->n++], 128, "%.*s", (int)(end - start), c->text + start);
    return 0;
}

static chunks split(const char *text, size_t size, size_t overlap)
{
    chunks c = {.text = text};
    textsplit(text, strlen(text), size, overlap, keep, &c);
    return c;
}

static int test_utf8(void)
{
    int fails = 0;
    size_t bad = 0;
    CHECK(utf8_valid("caf\xc3\xa9 \xf0\x9f\x8d\xae", 10, &bad));
    CHECK(!utf8_valid("ab\xff", 3, &bad) && bad == 2);
    CHECK(!utf8_valid("a\xc3", 2, &bad) && bad == 1);             /* cut sequence */
    CHECK(!utf8_valid("\xc0\xaf", 2, &bad) && bad == 0);          /* overlong '/' */
    CHECK(!utf8_valid("\xed\xa0\x80", 3, &bad) && bad == 0);      /* a surrogate */
    CHECK(!utf8_valid("a\0b", 3, &bad) && bad == 1);              /* NUL: binary */
    return fails;
}

static int test_split(void)
{
    int fails = 0;
    /* the sentence end wins over the size limit when it is in the last quarter */
    chunks c = split("One two three. Four five six.", 18, 0);
    CHECK(c.n == 2);
    CHECK_STR(c.got[0], "One two three. ");
    CHECK_STR(c.got[1], "Four five six.");
    /* a paragraph break wins over a sentence end */
    c = split("Alpha beta. Gamma\n\nDelta epsilon zeta", 20, 0);
    CHECK_STR(c.got[0], "Alpha beta. Gamma\n\n");
    /* overlap: the next chunk starts back inside the previous one, at a word */
    c = split("aaa bbb ccc ddd eee fff ggg hhh", 12, 5);
    CHECK(c.n >= 3);
    CHECK_STR(c.got[0], "aaa bbb ccc ");
    CHECK_STR(c.got[1], "ccc ddd eee ");
    /* multibyte characters count once and are never cut */
    c = split("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4, 0);
    CHECK(c.n == 2);
    CHECK_STR(c.got[0], "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    /* whitespace-only stretches make no chunk */
    c = split("   \n\n  \t ", 4, 0);
    CHECK(c.n == 0);
    /* no boundary at all: cut at the size */
    c = split("abcdefghij", 4, 1);
    CHECK(c.n == 3);
    CHECK_STR(c.got[0], "abcd");
    CHECK_STR(c.got[1], "defg");
    return fails;
}

static float cosine(const float *a, const float *b, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static int test_hashing(void)
{
    int fails = 0;
    enum { D = 256 };
    float a[D], b[D], c[D], a2[D];
    const char *x = "read a file line by line", *y = "reading lines from a file",
               *z = "matrix multiplication on the GPU";
    hashing_encode(x, strlen(x), a, D);
    hashing_encode(x, strlen(x), a2, D);
    hashing_encode(y, strlen(y), b, D);
    hashing_encode(z, strlen(z), c, D);
    CHECK(memcmp(a, a2, sizeof a) == 0);                  /* deterministic */
    CHECK(fabsf(cosine(a, a, D) - 1) < 1e-5f);            /* unit length */
    CHECK(cosine(a, b, D) > cosine(a, c, D) + 0.2f);      /* shared words and n-grams */
    hashing_encode("READ A FILE", 11, b, D);
    hashing_encode("read a file", 11, c, D);
    CHECK(memcmp(b, c, sizeof b) == 0);                   /* ASCII case folded */
    hashing_encode(" ,;- ", 5, c, D);
    CHECK(cosine(c, c, D) == 0);                          /* no words: zeros */
    return fails;
}

int test_embed(void)
{
    return test_utf8() + test_split() + test_hashing();
}
