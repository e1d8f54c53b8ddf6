/* fuzz-seeds: writes the generated part of the fuzz corpus: packed Envelopes (wire/),
 * executor frame streams (frame/), .npy matrices (npy/), model files (modelfile/) and index
 * files with the stand-in FAISS part (indexfile/), each made by weft's own writers.
 *
 *     build-fuzz/bin/fuzz-seeds tests/fuzz/corpus
 *
 * The other seeds are files of the repository (workflows, tests/cases, CSV datasets),
 * trained models and glove files made by weft-glove-convert; tests/fuzz/README.md says
 * where each came from. Rerun after a change to weft.proto or to a file format, and commit
 * the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/wire.h"
#include "plugins/embed/npy.h"
#include "plugins/ml/modelfile.h"

/* ROOT/DIR/NAME into path, making ROOT/DIR when it is missing. */
static void seed_path(char *path, size_t n, const char *root, const char *dir, const char *name)
{
    snprintf(path, n, "%s/%s", root, dir);
    mkdir(path, 0777); /* or it exists */
    snprintf(path, n, "%s/%s/%s", root, dir, name);
}

static void put(const char *root, const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    seed_path(path, sizeof path, root, dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "fuzz-seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void put_envelope(const char *root, const char *name, Weft__Envelope *env)
{
    size_t len;
    uint8_t *buf = wire_pack(env, &len);
    put(root, "wire", name, buf, len);
    free(buf);
}

static void wire_seeds(const char *root)
{
    char *labels[] = {"gpu", "zone-a"};
    uint64_t running[] = {7, 9};
    Weft__Register reg = WEFT__REGISTER__INIT;
    reg.name = "gpu-01";
    reg.slots = 8;
    reg.types_json = "{\"plugins\":[{\"name\":\"builtin\",\"version\":\"0.1.0\",\"path\":"
                     "\"/x/builtin.so\",\"types\":[{\"name\":\"noop\",\"version\":\"1\","
                     "\"inputs\":[],\"outputs\":[]}]}]}";
    reg.cpu = 8;
    reg.mem = 16ull << 30;
    reg.n_labels = 2;
    reg.labels = labels;
    reg.n_running = 2;
    reg.running = running;
    reg.heartbeat_ms = 1000;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_REGISTER;
    env.register_ = &reg;
    put_envelope(root, "register", &env);

    Weft__Heartbeat hb = WEFT__HEARTBEAT__INIT;
    hb.free_slots = 3;
    env = (Weft__Envelope)WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    put_envelope(root, "heartbeat", &env);

    Weft__Dispatch d = WEFT__DISPATCH__INIT;
    d.attempt_id = 42;
    d.run_id = 3;
    d.task = "words";
    d.type = "shell";
    d.inputs_json = "{\"argv\":[\"sh\",\"-c\",\"echo hi\"],\"env\":{\"TEXT\":{\"artifact\":"
                    "\"ab12\",\"name\":\"GPL-3\"}}}";
    d.attempt = 2;
    d.timeout_ms = 60000;
    d.mem_bytes = 2ull << 30;
    d.store = "/var/lib/weft/artifacts";
    env = (Weft__Envelope)WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_DISPATCH;
    env.dispatch = &d;
    put_envelope(root, "dispatch", &env);

    Weft__Result r = WEFT__RESULT__INIT;
    r.attempt_id = 42;
    r.ok = 0;
    r.error_class = WEFT__ERROR_CLASS__ERROR_TRANSIENT;
    r.message = "glpk: time limit";
    r.outputs_json = "{}";
    r.log.data = (uint8_t *)"line 1\nline 2\n";
    r.log.len = 14;
    r.started_us = 1700000000000000;
    r.finished_us = 1700000000250000;
    env = (Weft__Envelope)WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_RESULT;
    env.result = &r;
    put_envelope(root, "result", &env);

    Weft__Param p[] = {WEFT__PARAM__INIT, WEFT__PARAM__INIT};
    Weft__Param *pp[] = {&p[0], &p[1]};
    p[0].name = "top";
    p[0].value = "10";
    p[1].name = "text";
    p[1].value = "README.md";
    Weft__SubmitRequest s = WEFT__SUBMIT_REQUEST__INIT;
    s.file_name = "word-count.yaml";
    s.yaml = "workflow: w\ntasks:\n  a: { type: noop }\n";
    s.n_params = 2;
    s.params = pp;
    s.cwd = "/home/user";
    env = (Weft__Envelope)WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_SUBMIT;
    env.submit = &s;
    put_envelope(root, "submit", &env);

    Weft__QueryRequest q = WEFT__QUERY_REQUEST__INIT;
    q.kind = WEFT__QUERY_KIND__QUERY_EVENTS;
    q.run_id = 3;
    q.after_seq = 17;
    q.limit = 100;
    env = (Weft__Envelope)WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_QUERY;
    env.query = &q;
    put_envelope(root, "query", &env);

    Weft__Reply rep = WEFT__REPLY__INIT;
    rep.code = -11;
    rep.error = "w.yaml:3:5: unknown task type 'nop'\n";
    rep.json = "{\"runs\":[]}";
    rep.run_id = 0;
    env = (Weft__Envelope)WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_REPLY;
    env.reply = &rep;
    put_envelope(root, "reply", &env);

    Weft__RetryRequest rt = WEFT__RETRY_REQUEST__INIT;
    rt.run_id = 3;
    rt.from_task = "report";
    rt.n_params = 1;
    rt.params = pp;
    rt.dry_run = 1;
    env = (Weft__Envelope)WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_RETRY;
    env.retry = &rt;
    put_envelope(root, "retry", &env);

    Weft__Stop st = WEFT__STOP__INIT;
    st.attempt_id = 42;
    env = (Weft__Envelope)WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_STOP;
    env.stop = &st;
    put_envelope(root, "stop", &env);

    Weft__CancelRequest c = WEFT__CANCEL_REQUEST__INIT;
    c.run_id = 3;
    env = (Weft__Envelope)WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_CANCEL;
    env.cancel = &c;
    put_envelope(root, "cancel", &env);

    Weft__Shutdown sh = WEFT__SHUTDOWN__INIT;
    env = (Weft__Envelope)WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_SHUTDOWN;
    env.shutdown = &sh;
    put_envelope(root, "shutdown", &env);
}

/* Appends a frame (4-byte big-endian length, then the bytes) to buf at *len. */
static void frame_append(uint8_t *buf, size_t *len, const uint8_t *data, size_t n)
{
    uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    memcpy(buf + *len, hdr, 4);
    memcpy(buf + *len + 4, data, n);
    *len += 4 + n;
}

static void frame_seeds(const char *root)
{
    Weft__ExecRequest rq = WEFT__EXEC_REQUEST__INIT;
    rq.attempt_id = 42;
    rq.type = "embed.encode";
    rq.plugin = "/usr/lib/weft/plugins/embed.so";
    rq.inputs_json = "{\"shard\":{\"artifact\":\"ab12\",\"name\":\"shard-3.jsonl\"},"
                     "\"backend\":\"hashing\"}";
    rq.log_path = "/tmp/weft/42.log";
    rq.run_id = 3;
    rq.task = "encode[3]";
    rq.attempt = 1;
    rq.workdir = "/tmp/weft/42";
    rq.mem_bytes = 1ull << 30;
    rq.store = "/var/lib/weft/artifacts";
    Weft__ExecResult interim = WEFT__EXEC_RESULT__INIT;
    interim.attempt_id = 42;
    interim.interim = 1;
    interim.checkpoint_json = "{\"artifact\":\"cd34\"}";
    Weft__ExecResult res = WEFT__EXEC_RESULT__INIT;
    res.attempt_id = 42;
    res.ok = 1;
    res.outputs_json = "{\"count\":120,\"vectors\":{\"artifact\":\"ef56\"}}";
    res.log.data = (uint8_t *)"encoded 120 chunks\n";
    res.log.len = 19;

    uint8_t packed[3][512], stream[2048];
    size_t n[3], len = 0;
    n[0] = weft__exec_request__pack(&rq, packed[0]);
    n[1] = weft__exec_result__pack(&interim, packed[1]);
    n[2] = weft__exec_result__pack(&res, packed[2]);
    /* control byte 0x80: a limit no frame reaches; then the seed of the read sizes */
    stream[len++] = 0x80;
    stream[len++] = 7;
    frame_append(stream, &len, packed[0], n[0]);
    put(root, "frame", "request", stream, len);
    len = 2;
    frame_append(stream, &len, packed[1], n[1]);
    frame_append(stream, &len, packed[2], n[2]);
    put(root, "frame", "interim-then-result", stream, len);
    /* a limit of 64 bytes, which the second frame exceeds */
    stream[0] = 64;
    len = 2;
    frame_append(stream, &len, packed[1], n[1]);
    frame_append(stream, &len, packed[0], n[0]);
    put(root, "frame", "over-limit", stream, len);
    /* a truncated last frame */
    stream[0] = 0x80;
    len = 2;
    frame_append(stream, &len, packed[2], n[2]);
    frame_append(stream, &len, packed[1], n[1]);
    put(root, "frame", "truncated", stream, len - 5);
}

static void npy_seed(const char *root, const char *name, size_t rows, size_t cols)
{
    float *x = calloc(rows * cols + 1, sizeof *x);
    for (size_t i = 0; i < rows * cols; i++)
        x[i] = (float)((i * 37 % 101) - 50) / 50.0f;
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    if (!f || npy_write(f, x, rows, cols) != 0 || fclose(f) != 0)
        exit(1);
    put(root, "npy", name, text, len);
    free(text);
    free(x);
}

static void model_seed(const char *root, const char *name, const char *meta_json,
                       const char *payload)
{
    char path[4096], err[256];
    seed_path(path, sizeof path, root, "modelfile", name);
    json_t *meta = json_loads(meta_json, 0, NULL);
    if (!meta || modelfile_write(path, meta, payload, strlen(payload), err, sizeof err) != 0) {
        fprintf(stderr, "fuzz-seeds: %s: %s\n", name, meta ? err : "bad metadata");
        exit(1);
    }
    json_decref(meta);
}

static void index_seed(const char *root, const char *name, const char *meta, const char *ids,
                       const char *faiss)
{
    char text[1024];
    int n = snprintf(text, sizeof text, "weft-index 1\n%s\n%s\n%s", meta, ids, faiss);
    put(root, "indexfile", name, text, (size_t)n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz-seeds CORPUS_DIR (tests/fuzz/corpus)\n");
        return 2;
    }
    const char *root = argv[1];
    wire_seeds(root);
    frame_seeds(root);
    npy_seed(root, "vectors-3x4", 3, 4);
    npy_seed(root, "vectors-2x100", 2, 100);
    npy_seed(root, "empty-0x384", 0, 384);
    model_seed(root, "xgboost-binary",
               "{\"kind\":\"xgboost\",\"objective\":\"binary\",\"target\":\"benign\","
               "\"features\":[\"radius\",\"texture\"],\"classes\":[\"0\",\"1\"]}",
               "{\"learner\":{\"attributes\":{},\"gradient_booster\":{\"name\":\"gbtree\"}}}");
    model_seed(root, "linear-multiclass",
               "{\"kind\":\"liblinear\",\"objective\":\"multiclass\",\"target\":\"species\","
               "\"features\":[\"sepal_length\",\"sepal_width\",\"petal_length\"],"
               "\"classes\":[\"setosa\",\"versicolor\",\"virginica\"],\"solver\":\"l2r_lr\","
               "\"scale\":{\"mean\":[5.8,3.0,3.7],\"std\":[0.8,0.4,1.7]}}",
               "solver_type L2R_LR\nnr_class 3\nlabel 0 1 2\nnr_feature 3\nbias -1\nw\n"
               "0.1 0.2 0.3\n0.4 0.5 0.6\n0.7 0.8 0.9\n");
    model_seed(root, "regression",
               "{\"kind\":\"xgboost\",\"objective\":\"regression\","
               "\"target\":\"progression\",\"features\":[\"age\",\"bmi\"]}",
               "{}");
    index_seed(root, "hnsw-hashing",
               "{\"method\":\"hnsw\",\"backend\":\"hashing\",\"dim\":384,\"model\":\"\","
               "\"count\":3,\"ef_search\":128}",
               "[\"a.txt#0\",\"a.txt#1\",\"b.txt#0\"]", "3 384\n");
    index_seed(root, "ivf-glove",
               "{\"method\":\"ivf\",\"backend\":\"glove\",\"dim\":100,"
               "\"model\":\"glove-3f2a9c0d11e4b7a8\",\"count\":2,\"nprobe\":32}",
               "[\"doc#0\",\"doc#1\"]", "2 100\n");
    index_seed(root, "exact-http",
               "{\"method\":\"exact\",\"backend\":\"http\",\"dim\":8,"
               "\"model\":\"text-embedding-3-small\",\"count\":1}",
               "[\"q#0\"]", "1 8\n");
    return 0;
}
