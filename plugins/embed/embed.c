/* embed: chunking, embedding and vector search for retrieval pipelines. See embed.h. */
#include "plugins/embed/embed.h"

static const weft_port chunk_in[] = {
    {"source", "dir", WEFT_PORT_OPTIONAL, "a directory walked for text files"},
    {"files", "list<file>", WEFT_PORT_OPTIONAL, "text files (with or instead of source)"},
    {"size", "int", WEFT_PORT_OPTIONAL, "characters per chunk (1000)"},
    {"overlap", "int", WEFT_PORT_OPTIONAL, "characters neighbouring chunks share (100)"},
    {"shards", "int", WEFT_PORT_OPTIONAL, "shard count; a file's shard is fixed by its path (8)"},
    {"extensions", "list<string>", WEFT_PORT_OPTIONAL,
     "file name endings walked in source ([.txt, .md, .rst])"},
    {NULL, NULL, 0, NULL}};
static const weft_port chunk_out[] = {
    {"shards", "list<file>", 0, "JSONL shards: {id, source, start, end, text} per chunk"},
    {"chunks", "int", 0, NULL},
    {"files", "int", 0, "files chunked"},
    {"skipped", "int", 0, "files skipped (not UTF-8 text)"},
    {NULL, NULL, 0, NULL}};
/* The inputs that pick and configure an encoder (encoder_open). */
#define ENCODER_PORTS                                                                        \
    {"glove", "file", WEFT_PORT_OPTIONAL, "glove: the vectors file scripts/glove.sh makes"},   \
    {"endpoint", "string", WEFT_PORT_OPTIONAL,                                               \
     "http: the API base; POST {endpoint}/embeddings"},                                      \
    {"api_key_env", "string", WEFT_PORT_OPTIONAL,                                            \
     "http: the variable holding the API key (OPENAI_API_KEY)"},                             \
    {"batch", "int", WEFT_PORT_OPTIONAL, "http: texts per request (64)"},                    \
    {"timeout", "duration", WEFT_PORT_OPTIONAL, "http: per request (60s); then transient"},  \
    {"checkpoint_batches", "int", WEFT_PORT_OPTIONAL,                                       \
     "http: batches between checkpoints a retry resumes from (16; 0 never)"}

static const weft_port encode_in[] = {
    {"shard", "file", 0, "a JSONL shard from embed.chunk"},
    {"backend", "string", WEFT_PORT_OPTIONAL, "hashing (the default), glove or http"},
    {"dim", "int", WEFT_PORT_OPTIONAL,
     "hashing: vector dimension (384); http: the dimension required (any)"},
    {"model", "string", WEFT_PORT_OPTIONAL, "http: the model the endpoint runs"},
    ENCODER_PORTS,
    {NULL, NULL, 0, NULL}};
static const weft_port encode_out[] = {
    {"vectors", "file", 0, "float32 matrix, one row per chunk (.npy)"},
    {"ids", "file", 0, "JSON: the encoder and the chunk ids, row for row"},
    {"count", "int", 0, "chunks encoded"},
    {NULL, NULL, 0, NULL}};

static const weft_port index_in[] = {
    {"vectors", "list<file>", 0, "the vectors of each shard, from embed.encode"},
    {"ids", "list<file>", 0, "the ids of each shard, from embed.encode, in the same order"},
    {"method", "string", WEFT_PORT_OPTIONAL, "hnsw (approximate, the default), ivf or exact"},
    {"m", "int", WEFT_PORT_OPTIONAL, "hnsw: links per node (32)"},
    {"ef_construction", "int", WEFT_PORT_OPTIONAL, "hnsw: candidates while building (200)"},
    {"ef_search", "int", WEFT_PORT_OPTIONAL, "hnsw: candidates while searching (128)"},
    {"nlist", "int", WEFT_PORT_OPTIONAL, "ivf: k-means cells (about sqrt of the vectors)"},
    {"nprobe", "int", WEFT_PORT_OPTIONAL, "ivf: cells scanned per query (32)"},
    {NULL, NULL, 0, NULL}};
static const weft_port index_out[] = {
    {"index", "file", 0, "the index, for embed.search and weft"},
    {"count", "int", 0, "vectors indexed"},
    {"recall_at_10", "float", 0,
     "hnsw, ivf: recall@10 against exact search over 500 blended corpus queries (exact: 1)"},
    {NULL, NULL, 0, NULL}};
static const weft_port search_in[] = {
    {"index", "file", 0, "an index from embed.index"},
    {"queries", "list<string>", 0, "texts to look up"},
    {"k", "int", WEFT_PORT_OPTIONAL, "hits per query (10)"},
    {"ef_search", "int", WEFT_PORT_OPTIONAL, "hnsw: candidates while searching (the index's)"},
    {"nprobe", "int", WEFT_PORT_OPTIONAL, "ivf: cells scanned per query (the index's)"},
    ENCODER_PORTS,
    {NULL, NULL, 0, NULL}};
static const weft_port search_out[] = {
    {"results", "json", 0, "[{query, hits: [{id, score}]}], nearest first"},
    {NULL, NULL, 0, NULL}};

static const weft_task_type types[] = {
    {.name = "embed.chunk", .version = "1", .inputs = chunk_in, .outputs = chunk_out,
     .run = embed_chunk_run},
    {.name = "embed.encode", .version = "1", .inputs = encode_in, .outputs = encode_out,
     .run = embed_encode_run},
    {.name = "embed.index", .version = "1", .inputs = index_in, .outputs = index_out,
     .run = embed_index_run},
    {.name = "embed.search", .version = "1", .inputs = search_in, .outputs = search_out,
     .run = embed_search_run},
    {.name = NULL}};

WEFT_PLUGIN_DECLARE("embed", "1.0.0", types)
