/* weft-testpeer ENDPOINT MODE: sends one malformed or unexpected message to a scheduler,
 * as a hostile or broken peer would, then exits. Used by the bad-frames test.
 *
 * Modes: garbage (random bytes), empty (a zero-length message), truncated (half of a valid
 * SubmitRequest), unknown-body (a Dispatch, which only the scheduler sends), oversized (a
 * message above the scheduler's 64 MiB cap), frames (a message of 12 frames).
 *
 * weft-testpeer ENDPOINT submit-file FILE: submits FILE with no client-side checks and
 * prints the scheduler's error text (the CLI itself refuses files above the limit).
 *
 * weft-testpeer ENDPOINT register NAME SLOTS HEARTBEAT_MS: registers as worker NAME with
 * the given values (no bounds checked here) and prints "refused: REASON" when the
 * scheduler refuses, or "accepted" when no refusal comes within 2 s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "common/wire.h"

/* Sends FILE as a SubmitRequest and prints the reply's error. Returns 0 when a reply came. */
static int submit_file(void *s, const char *file)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return 1;
    static char text[4u << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    Weft__SubmitRequest sub = WEFT__SUBMIT_REQUEST__INIT;
    sub.file_name = (char *)file;
    sub.yaml = text;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    size_t len;
    uint8_t *buf = wire_pack(&env, &len);
    int rc = zmq_send(s, buf, len, 0);
    free(buf);
    zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
    if (rc < 0 || zmq_poll(&item, 1, 5000) <= 0)
        return 1;
    zmq_msg_t m;
    zmq_msg_init(&m);
    zmq_msg_recv(&m, s, 0);
    Weft__Envelope *reply = wire_unpack(zmq_msg_data(&m), zmq_msg_size(&m));
    zmq_msg_close(&m);
    if (!reply || reply->body_case != WEFT__ENVELOPE__BODY_REPLY)
        return 1;
    printf("%s", reply->reply->error);
    weft__envelope__free_unpacked(reply, NULL);
    return 0;
}

/* Registers as a worker with raw values; prints what the scheduler said. */
static int register_raw(const char *endpoint, const char *name, const char *slots,
                        const char *heartbeat)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_ROUTING_ID, name, strlen(name));
    if (zmq_connect(s, endpoint) < 0)
        return 1;
    Weft__Register r = WEFT__REGISTER__INIT;
    r.name = (char *)name;
    r.slots = (uint32_t)strtoul(slots, NULL, 10);
    r.heartbeat_ms = (uint32_t)strtoul(heartbeat, NULL, 10);
    r.types_json = "{\"plugins\": [{\"name\": \"builtin\", \"types\": [{\"name\": \"noop\"}]}]}";
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_REGISTER;
    env.register_ = &r;
    size_t len;
    uint8_t *buf = wire_pack(&env, &len);
    int rc = zmq_send(s, buf, len, 0) < 0;
    free(buf);
    zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
    while (!rc && zmq_poll(&item, 1, 2000) > 0) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, s, 0);
        Weft__Envelope *e = wire_unpack(zmq_msg_data(&m), zmq_msg_size(&m));
        zmq_msg_close(&m);
        int refused = e && e->body_case == WEFT__ENVELOPE__BODY_REFUSED;
        if (refused)
            printf("refused: %s\n", e->refused->reason);
        if (e)
            weft__envelope__free_unpacked(e, NULL);
        if (refused)
            goto done;
    }
    printf("accepted\n");
done:
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 6 && !strcmp(argv[2], "register"))
        return register_raw(argv[1], argv[3], argv[4], argv[5]);
    if (argc == 4 && !strcmp(argv[2], "submit-file")) {
        void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
        int linger = 0;
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
        int rc = zmq_connect(s, argv[1]) < 0 ? 1 : submit_file(s, argv[3]);
        zmq_close(s);
        zmq_ctx_term(ctx);
        return rc;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: weft-testpeer ENDPOINT MODE\n");
        return 2;
    }
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 2000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, argv[1]) < 0)
        return 1;
    const char *mode = argv[2];
    int rc = 0;
    if (!strcmp(mode, "garbage")) {
        unsigned char buf[4096];
        srand(7);
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (unsigned char)rand();
        rc = zmq_send(s, buf, sizeof buf, 0);
    } else if (!strcmp(mode, "empty")) {
        rc = zmq_send(s, "", 0, 0);
    } else if (!strcmp(mode, "truncated") || !strcmp(mode, "unknown-body")) {
        Weft__Envelope env = WEFT__ENVELOPE__INIT;
        Weft__SubmitRequest sub = WEFT__SUBMIT_REQUEST__INIT;
        Weft__Dispatch d = WEFT__DISPATCH__INIT;
        sub.file_name = "x.yaml";
        sub.yaml = "workflow: x\ntasks:\n  a: { type: noop }\n";
        if (!strcmp(mode, "truncated")) {
            env.body_case = WEFT__ENVELOPE__BODY_SUBMIT;
            env.submit = &sub;
        } else {
            d.attempt_id = 1;
            d.task = "a";
            d.type = "noop";
            d.inputs_json = "{}";
            env.body_case = WEFT__ENVELOPE__BODY_DISPATCH;
            env.dispatch = &d;
        }
        size_t len;
        uint8_t *buf = wire_pack(&env, &len);
        rc = zmq_send(s, buf, !strcmp(mode, "truncated") ? len / 2 : len, 0);
        free(buf);
    } else if (!strcmp(mode, "oversized")) {
        size_t len = (size_t)WIRE_MAX + 1024;
        char *buf = calloc(1, len);
        rc = buf ? zmq_send(s, buf, len, 0) : -1;
        free(buf);
    } else if (!strcmp(mode, "frames")) {
        for (int i = 0; i < 12 && rc >= 0; i++)
            rc = zmq_send(s, "x", 1, i < 11 ? ZMQ_SNDMORE : 0);
    } else {
        fprintf(stderr, "weft-testpeer: unknown mode %s\n", mode);
        rc = -1;
    }
    usleep(100000);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc < 0 ? 1 : 0;
}
