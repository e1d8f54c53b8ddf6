/* embed.chunk: text files -> shards of overlapping chunks.
 *
 * A file's shard is fixed by a hash of its path, and files go into their shard in path
 * order, so adding or changing one file changes one shard: the other shards keep their
 * bytes, their hashes, and so their cached encodings. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plugins/embed/embed.h"
#include "plugins/embed/hashing.h"
#include "plugins/embed/textsplit.h"

#define FILE_MAX (64u << 20)  /* larger files are skipped */
#define SHARDS_MAX 4096

typedef struct text_file {
    char *path;   /* local path */
    char *name;   /* its id prefix: the path under source, or the submitted name */
} text_file;

typedef struct chunk_job {
    weft_ctx *ctx;
    size_t size, overlap, nshards;
    const char **ext;
    size_t next;
    text_file *files;
    size_t nfiles, cap;
    FILE **out;
    /* counts */
    size_t chunks, chunked, skipped;
    /* the file being split */
    const text_file *cur;
    const char *text;
    size_t seq;
    FILE *shard;
} chunk_job;

static void add_file(chunk_job *j, const char *path, const char *name)
{
    if (j->nfiles == j->cap) {
        j->cap = j->cap ? 2 * j->cap : 256;
        j->files = realloc(j->files, j->cap * sizeof *j->files);
    }
    j->files[j->nfiles++] = (text_file){strdup(path), strdup(name)};
}

static int wanted(const chunk_job *j, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < j->next; i++) {
        size_t e = strlen(j->ext[i]);
        if (n >= e && strcmp(name + n - e, j->ext[i]) == 0)
            return 1;
    }
    return 0;
}

/* Collects the wanted files under dir (rel is its path under the source). Hidden entries
 * are left out. */
static int walk(chunk_job *j, const char *dir, const char *rel)
{
    DIR *d = opendir(dir);
    if (!d)
        return weft_fail(j->ctx, "embed.chunk: cannot read directory '%s': %s",
                         rel[0] ? rel : ".", strerror(errno));
    struct dirent *e;
    int rc = WEFT_OK;
    while (rc == WEFT_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096], name[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(name, sizeof name, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = walk(j, path, name);
        else if (S_ISREG(st.st_mode) && wanted(j, e->d_name))
            add_file(j, path, name);
    }
    closedir(d);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const text_file *)a)->name, ((const text_file *)b)->name);
}

static int collect(chunk_job *j)
{
    const char *dir, *text;
    int have_dir = weft_input_path(j->ctx, "source", &dir) == WEFT_OK;
    if (have_dir && walk(j, dir, "") != WEFT_OK)
        return WEFT_FAIL;
    size_t n = 0;
    int have_files = weft_input_len(j->ctx, "files", &n) == WEFT_OK;
    json_t *refs = NULL;
    if (have_files && weft_input_json(j->ctx, "files", &text) == WEFT_OK)
        refs = json_loads(text, 0, NULL);
    for (size_t i = 0; i < n; i++) {
        const char *path, *name = json_string_value(json_object_get(json_array_get(refs, i),
                                                                    "name"));
        char fallback[32];
        snprintf(fallback, sizeof fallback, "file-%zu", i);
        if (weft_input_path_at(j->ctx, "files", i, &path) == WEFT_OK)
            add_file(j, path, name && *name ? name : fallback);
    }
    json_decref(refs);
    if (!have_dir && !have_files)
        return weft_fail(j->ctx, "embed.chunk: give a source directory or files");
    qsort(j->files, j->nfiles, sizeof *j->files, by_name);
    for (size_t i = 1; i < j->nfiles; i++)
        if (strcmp(j->files[i - 1].name, j->files[i].name) == 0)
            return weft_fail(j->ctx, "embed.chunk: two files are named '%s'", j->files[i].name);
    return WEFT_OK;
}

static int emit_chunk(void *arg, size_t start, size_t end)
{
    chunk_job *j = arg;
    char id[4200];
    snprintf(id, sizeof id, "%s#%zu", j->cur->name, j->seq++);
    json_t *line = json_pack("{s:s, s:s, s:I, s:I, s:s%}", "id", id, "source", j->cur->name,
                             "start", (json_int_t)start, "end", (json_int_t)end, "text",
                             j->text + start, end - start);
    if (!line)
        return weft_fail(j->ctx, "embed.chunk: %s: cannot encode a chunk", j->cur->name);
    int bad = json_dumpf(line, j->shard, JSON_COMPACT) != 0 || fputc('\n', j->shard) == EOF;
    json_decref(line);
    j->chunks++;
    return bad ? weft_fail(j->ctx, "embed.chunk: cannot write a shard: %s", strerror(errno))
               : 0;
}

/* Reads a file whole; NULL (after logging why) when it is too big or unreadable. */
static char *slurp(chunk_job *j, const text_file *f, size_t *len)
{
    FILE *in = fopen(f->path, "rb");
    struct stat st;
    if (!in || fstat(fileno(in), &st) != 0 || (size_t)st.st_size > FILE_MAX) {
        weft_log(j->ctx, "embed.chunk: skipping %s: %s", f->name,
                 in ? "larger than 64 MiB" : strerror(errno));
        if (in)
            fclose(in);
        return NULL;
    }
    char *text = malloc((size_t)st.st_size + 1);
    *len = fread(text, 1, (size_t)st.st_size, in);
    fclose(in);
    text[*len] = '\0';
    return text;
}

static int chunk_file(chunk_job *j, const text_file *f)
{
    size_t len = 0, bad;
    char *text = slurp(j, f, &len);
    if (!text) {
        j->skipped++;
        return WEFT_OK;
    }
    int rc = WEFT_OK;
    if (!utf8_valid(text, len, &bad)) {
        weft_log(j->ctx, "embed.chunk: skipping %s: not UTF-8 text (byte %zu)", f->name, bad);
        j->skipped++;
    } else {
        j->cur = f;
        j->text = text;
        j->seq = 0;
        j->shard = j->out[hashing_hash(f->name, strlen(f->name), 0) % j->nshards];
        rc = textsplit(text, len, j->size, j->overlap, emit_chunk, j) ? WEFT_FAIL : WEFT_OK;
        j->chunked++;
    }
    free(text);
    return rc;
}

static int open_shards(chunk_job *j)
{
    const char *dir;
    if (weft_output_path(j->ctx, "shards", &dir) != WEFT_OK)
        return weft_fail(j->ctx, "embed.chunk: no staging directory for the shards");
    j->out = calloc(j->nshards, sizeof *j->out);
    for (size_t s = 0; s < j->nshards; s++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/shard-%04zu.jsonl", dir, s);
        if (!(j->out[s] = fopen(path, "w")))
            return weft_fail(j->ctx, "embed.chunk: cannot write %s: %s", path, strerror(errno));
    }
    return WEFT_OK;
}

static int read_inputs(chunk_job *j)
{
    int64_t size = 1000, overlap = 100, nshards = 8;
    weft_input_int(j->ctx, "size", &size);
    weft_input_int(j->ctx, "overlap", &overlap);
    weft_input_int(j->ctx, "shards", &nshards);
    if (size < 1 || size > 1000000)
        return weft_fail(j->ctx, "embed.chunk: size must be 1 to 1000000 characters, not %lld",
                         (long long)size);
    if (overlap < 0 || overlap >= size)
        return weft_fail(j->ctx, "embed.chunk: overlap must be at least 0 and less than size "
                         "(%lld), not %lld", (long long)size, (long long)overlap);
    if (nshards < 1 || nshards > SHARDS_MAX)
        return weft_fail(j->ctx, "embed.chunk: shards must be 1 to %d, not %lld", SHARDS_MAX,
                         (long long)nshards);
    j->size = (size_t)size;
    j->overlap = (size_t)overlap;
    j->nshards = (size_t)nshards;
    static const char *const defaults[] = {".txt", ".md", ".rst"};
    size_t n;
    if (weft_input_len(j->ctx, "extensions", &n) == WEFT_OK) {
        j->ext = calloc(n ? n : 1, sizeof *j->ext);
        for (size_t i = 0; i < n; i++)
            if (weft_input_string_at(j->ctx, "extensions", i, &j->ext[j->next]) == WEFT_OK)
                j->next++;
    } else {
        j->ext = calloc(3, sizeof *j->ext);
        for (; j->next < 3; j->next++)
            j->ext[j->next] = defaults[j->next];
    }
    return WEFT_OK;
}

static int close_shards(chunk_job *j, int rc)
{
    for (size_t s = 0; j->out && s < j->nshards; s++)
        if (j->out[s] && fclose(j->out[s]) != 0 && rc == WEFT_OK)
            rc = weft_fail(j->ctx, "embed.chunk: cannot write a shard: %s", strerror(errno));
    free(j->out);
    return rc;
}

int embed_chunk_run(weft_ctx *ctx)
{
    chunk_job j = {.ctx = ctx};
    int rc = read_inputs(&j);
    if (rc == WEFT_OK)
        rc = collect(&j);
    if (rc == WEFT_OK)
        rc = open_shards(&j);
    for (size_t i = 0; rc == WEFT_OK && i < j.nfiles; i++) {
        if (weft_cancelled(ctx))
            rc = weft_fail(ctx, "embed.chunk: cancelled");
        else
            rc = chunk_file(&j, &j.files[i]);
        if ((i + 1) % 50 == 0 || i + 1 == j.nfiles)
            weft_progress(ctx, (double)(i + 1), (double)j.nfiles);
    }
    rc = close_shards(&j, rc);
    if (rc == WEFT_OK) {
        weft_log(ctx, "embed.chunk: %zu chunks from %zu files (%zu skipped) in %zu shards",
                 j.chunks, j.chunked, j.skipped, j.nshards);
        if (weft_output_int(ctx, "chunks", (int64_t)j.chunks) != WEFT_OK ||
            weft_output_int(ctx, "files", (int64_t)j.chunked) != WEFT_OK ||
            weft_output_int(ctx, "skipped", (int64_t)j.skipped) != WEFT_OK)
            rc = WEFT_FAIL;
    }
    for (size_t i = 0; i < j.nfiles; i++) {
        free(j.files[i].path);
        free(j.files[i].name);
    }
    free(j.files);
    free(j.ext);
    return rc;
}
