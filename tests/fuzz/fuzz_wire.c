/* fuzz_wire: the Envelope decoder (wire_unpack), which reads every message a scheduler,
 * worker or CLI receives over ZeroMQ; each input is decoded twice, with malloc (where the
 * sanitizers see each piece apart) and into an arena (wire_unpack_in, as the scheduler and
 * the worker decode), and both must accept or refuse it alike.
 *
 * Checked besides memory safety: an accepted Envelope has its body, and every string in it,
 * at any depth, is a string (possibly empty), never NULL: receivers read fields such as
 * dispatch->task or result->message without checking, as protobuf-c's proto3 decoding
 * allows. Not checked: that packing a decoded Envelope gives the bytes back; protobuf-c
 * keeps unknown fields with tags it cannot write again, and no weft process forwards what
 * it received. */
#include <protobuf-c/protobuf-c.h>

#include "common/wire.h"
#include "tests/fuzz/fuzz.h"

/* Asserts that the strings of m and its submessages are set. */
static void check_strings(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *at = (const char *)m + f->offset;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* only the member the case names is set */
            if (*(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
                continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            void *const *items = *(void *const *const *)at;
            if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
                continue;
            WEFT_ASSERT(n == 0 || items);
            for (size_t k = 0; k < n; k++) {
                WEFT_ASSERT(items[k]);
                if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                    check_strings(items[k]);
            }
        } else if (f->type == PROTOBUF_C_TYPE_STRING) {
            WEFT_ASSERT(*(const char *const *)at);
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)at;
            WEFT_ASSERT(sub || !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF));
            if (sub)
                check_strings(sub);
        }
    }
}

static void check(const Weft__Envelope *env)
{
    WEFT_ASSERT(env->body_case != WEFT__ENVELOPE__BODY__NOT_SET);
    WEFT_ASSERT(protobuf_c_message_check(&env->base));
    check_strings(&env->base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Weft__Envelope *env = wire_unpack(data, size);
    arena mem = {0};
    Weft__Envelope *in_arena = wire_unpack_in(&mem, data, size);
    WEFT_ASSERT(!env == !in_arena);
    if (env) {
        check(env);
        check(in_arena);
        WEFT_ASSERT(env->body_case == in_arena->body_case);
        weft__envelope__free_unpacked(env, NULL);
    }
    arena_destroy(&mem);
    return 0;
}
