/* Unit tests for common/: units, wtype and JSON text, strmap, u64map, framebuf, wire batches. */
#include <stdlib.h>

#include "common/arena.h"
#include "common/frame.h"
#include "common/jsonbuf.h"
#include "common/jsontext.h"
#include "common/resource.h"
#include "common/strmap.h"
#include "common/text.h"
#include "common/u64map.h"
#include "common/units.h"
#include "common/wire.h"
#include "common/wtype.h"
#include "common/xmem.h"
#include "tests/unit/selftest.h"

int test_units(void)
{
    int fails = 0;
    int64_t ms;
    uint64_t b;
    /* Resource amounts: cpu to a thousandth of a core, mem a size, others whole. */
    char rbuf[32];
    CHECK(res_parse("cpu", "0.5", &b) == 0 && b == 500);
    CHECK(res_parse("cpu", "2", &b) == 0 && b == 2000);
    CHECK(res_parse("cpu", "1.250", &b) == 0 && b == 1250);
    CHECK(res_parse("cpu", "0.0005", &b) != 0 && res_parse("cpu", "4097", &b) != 0);
    CHECK(res_parse("cpu", "", &b) != 0 && res_parse("cpu", "-1", &b) != 0);
    CHECK(res_parse("mem", "1G", &b) == 0 && b == 1u << 30);
    CHECK(res_parse("license.glpk", "2", &b) == 0 && b == 2);
    CHECK(res_parse("disk", "1.5", &b) != 0);
    CHECK_STR(res_format("cpu", 500, rbuf, sizeof rbuf), "0.5");
    CHECK_STR(res_format("cpu", 2000, rbuf, sizeof rbuf), "2");
    CHECK_STR(res_format("cpu", 1250, rbuf, sizeof rbuf), "1.25");
    CHECK_STR(res_format("mem", 3u << 29, rbuf, sizeof rbuf), "1536M");
    CHECK_STR(res_format("gpu", 4000, rbuf, sizeof rbuf), "4");
    CHECK_STR(res_format("gpu", 250, rbuf, sizeof rbuf), "0.25");
    /* GPUs: whole devices, or a share of one. */
    CHECK(res_parse("gpu", "2", &b) == 0 && b == 2000);
    CHECK(res_parse("gpu", "0.5", &b) == 0 && b == 500);
    CHECK(res_parse("gpu", "1.5", &b) != 0 && res_parse("gpu", "65", &b) != 0);
    /* Floats in text: the shortest form that reads back the same. */
    CHECK_STR(text_double(0.9788732394, rbuf, sizeof rbuf), "0.9788732394");
    CHECK_STR(text_double(0.1 + 0.2, rbuf, sizeof rbuf), "0.30000000000000004");
    CHECK_STR(text_double(3.0, rbuf, sizeof rbuf), "3");
    CHECK_STR(text_double(1e100, rbuf, sizeof rbuf), "1e+100");
    CHECK_STR(text_double(-2.5e-7, rbuf, sizeof rbuf), "-2.5e-07");
    /* JSON text written directly: escapes, well-formed UTF-8 kept, anything else '?'. */
    jsonbuf jb = {0};
    jsonbuf_raw(&jb, "[");
    jsonbuf_str(&jb, "q\"b\\s\n\x01 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    jsonbuf_raw(&jb, ",");
    jsonbuf_str(&jb, "\xff\xc3( \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82");
    jsonbuf_raw(&jb, ",");
    jsonbuf_str(&jb, NULL);
    jsonbuf_raw(&jb, ",");
    jsonbuf_int(&jb, -9007199254740993LL);
    jsonbuf_raw(&jb, "]");
    char *jt = jsonbuf_take(&jb);
    CHECK_STR(jt, "[\"q\\\"b\\\\s\\u000a\\u0001 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\","
                  "\"?\?( ?? ??? ???? ??\",null,-9007199254740993]");
    json_t *jv = json_loads(jt, 0, NULL);
    CHECK(jv && !strcmp(json_string_value(json_array_get(jv, 0)),
                        "q\"b\\s\n\x01 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    CHECK(jv && json_is_null(json_array_get(jv, 2)) && jb.s == NULL);
    json_decref(jv);
    free(jt);
    /* Integers at their limits; a cleared buffer is written again from its start. */
    jsonbuf_int(&jb, 0);
    jsonbuf_raw(&jb, " ");
    jsonbuf_int(&jb, INT64_MIN);
    jsonbuf_raw(&jb, " ");
    jsonbuf_int(&jb, INT64_MAX);
    CHECK_STR(jb.s, "0 -9223372036854775808 9223372036854775807");
    jsonbuf_clear(&jb);
    CHECK(jb.n == 0 && jb.s && !jb.s[0]);
    jsonbuf_int(&jb, -7);
    CHECK_STR(jb.s, "-7");
    jsonbuf_free(&jb);
    CHECK(jb.s == NULL && jb.n == 0);
    /* A log's text: the same characters kept, the same bytes '?'. */
    static const char bad[] = "\xff\xc3( \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82";
    char *t8 = text_utf8(bad, sizeof bad - 1);
    CHECK_STR(t8, "?\?( ?? ??? ???? ??");
    free(t8);
    t8 = text_utf8("\xc3\xa9\0x\xf0\x9f\x98\x80", 8);
    CHECK_STR(t8, "\xc3\xa9?x\xf0\x9f\x98\x80");
    free(t8);
    CHECK(res_name_ok("license.glpk") && !res_name_ok("Disk") && !res_name_ok("9x"));
    CHECK(res_label_ok("pool=gpu") == 0 && res_label_ok("pool") != 0 &&
          res_label_ok("pool=two words") != 0 && res_label_ok("Pool=a") != 0);
    CHECK(units_duration_ms("500ms", &ms) == 0 && ms == 500);
    CHECK(units_duration_ms("2s", &ms) == 0 && ms == 2000);
    CHECK(units_duration_ms("10m", &ms) == 0 && ms == 600000);
    CHECK(units_duration_ms("1h30m", &ms) == 0 && ms == 5400000);
    CHECK(units_duration_ms("1d", &ms) == 0 && ms == 86400000);
    CHECK(units_duration_ms("5", &ms) < 0);          /* unit required */
    CHECK(units_duration_ms("", &ms) < 0);
    CHECK(units_duration_ms("2x", &ms) < 0);
    CHECK(units_duration_ms("30m1h", &ms) < 0);      /* largest unit first */
    CHECK(units_duration_ms("-1s", &ms) < 0);
    CHECK(units_duration_ms("99999999999999999999s", &ms) < 0);
    CHECK(units_size_bytes("512M", &b) == 0 && b == 512ULL << 20);
    CHECK(units_size_bytes("2G", &b) == 0 && b == 2ULL << 30);
    CHECK(units_size_bytes("2GiB", &b) == 0 && b == 2ULL << 30);
    CHECK(units_size_bytes("1024", &b) == 0 && b == 1024);
    CHECK(units_size_bytes("2Q", &b) < 0);
    CHECK(units_size_bytes("G", &b) < 0);
    CHECK(units_size_bytes("99999999999T", &b) < 0);
    char buf[32];
    CHECK_STR(units_format_ms(250, buf, sizeof buf), "250ms");
    CHECK_STR(units_format_ms(1500, buf, sizeof buf), "1.5s");
    CHECK_STR(units_format_ms(123000, buf, sizeof buf), "2m03s");
    CHECK_STR(units_format_bytes(512, buf, sizeof buf), "512 B");
    CHECK_STR(units_format_bytes(1536, buf, sizeof buf), "1.5 KiB");
    CHECK_STR(units_format_bytes(3ull << 30, buf, sizeof buf), "3.0 GiB");
    return fails;
}

int test_wtype(void)
{
    int fails = 0;
    wtype t;
    char buf[64], why[128];
    CHECK(wtype_parse("list<list<int>>", &t) == 0 && t.base == WT_INT && t.depth == 2);
    CHECK_STR(wtype_format(t, buf, sizeof buf), "list<list<int>>");
    CHECK(wtype_parse("list<int", &t) < 0);
    CHECK(wtype_parse("integer", &t) < 0);
    CHECK(wtype_parse("list<>", &t) < 0);
    CHECK(wtype_assignable((wtype){WT_FLOAT, 0}, (wtype){WT_INT, 0}));
    CHECK(!wtype_assignable((wtype){WT_INT, 0}, (wtype){WT_FLOAT, 0}));
    CHECK(wtype_assignable((wtype){WT_JSON, 0}, (wtype){WT_STRING, 1}));
    CHECK(wtype_assignable((wtype){WT_FILE, 0}, (wtype){WT_MODEL, 0}));
    CHECK(!wtype_assignable((wtype){WT_DIR, 0}, (wtype){WT_FILE, 0}));
    json_t *v = json_pack("[s, i]", "a", 1);
    CHECK(!wtype_check_json((wtype){WT_STRING, 1}, v, why, sizeof why));
    CHECK_STR(why, "element 1: expected string, got int");
    json_decref(v);
    v = json_string("5 minutes");
    CHECK(!wtype_check_json((wtype){WT_DURATION, 0}, v, why, sizeof why));
    json_decref(v);
    /* Values as text: the empty object without the encoder, the rest with it. */
    v = json_object();
    char *text = jsontext_dump(v);
    CHECK_STR(text, "{}");
    free(text);
    json_object_set_new(v, "a", json_pack("[i, s]", 1, "x"));
    text = jsontext_dump(v);
    CHECK_STR(text, "{\"a\":[1,\"x\"]}");
    json_decref(v);
    v = jsontext_load(text);
    CHECK(json_integer_value(json_array_get(json_object_get(v, "a"), 0)) == 1);
    json_decref(v);
    free(text);
    v = jsontext_load("{}");
    CHECK(json_is_object(v) && json_object_size(v) == 0);
    json_decref(v);
    CHECK(!jsontext_load("{") && !jsontext_load(NULL) && !jsontext_dump(NULL));
    return fails;
}

int test_maps(void)
{
    int fails = 0;
    strmap *m = strmap_new();
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        CHECK(strmap_put(m, key, (void *)(intptr_t)(i + 1)) == NULL);
    }
    for (int i = 0; i < 5000; i += 2) {
        snprintf(key, sizeof key, "k%d", i);
        CHECK(strmap_del(m, key) == (void *)(intptr_t)(i + 1));
    }
    CHECK(strmap_count(m) == 2500);
    CHECK(strmap_get(m, "k1") == (void *)2);
    CHECK(strmap_get(m, "k2") == NULL);
    strmap_destroy(&m);
    CHECK(m == NULL);

    u64map *u = u64map_new();
    for (uint64_t i = 1; i <= 20000; i++)
        u64map_put(u, i * 7919, (void *)(uintptr_t)i);
    for (uint64_t i = 1; i <= 20000; i += 3)
        CHECK(u64map_del(u, i * 7919) == (void *)(uintptr_t)i);
    size_t live = 0;
    for (uint64_t i = 1; i <= 20000; i++) {
        void *v = u64map_get(u, i * 7919);
        if ((i - 1) % 3 == 0)
            CHECK(v == NULL);
        else
            live += v == (void *)(uintptr_t)i;
    }
    CHECK(live == u64map_count(u));
    u64map_destroy(&u);
    return fails;
}

/* Pieces keep their contents and alignment across blocks; a large piece gets a block of its
 * own behind the current one; a reset keeps one standard block, from which the next pieces
 * come. */
int test_arena(void)
{
    int fails = 0;
    arena a = {0};
    CHECK(arena_strdup(&a, NULL) == NULL && a.blocks == NULL);
    char *first = arena_strdup(&a, "first"), *s[20000];
    char want[32];
    for (int i = 0; i < 20000; i++) { /* about 16 bytes each: several blocks */
        snprintf(want, sizeof want, "piece %d", i);
        s[i] = arena_strdup(&a, want);
        CHECK(((uintptr_t)s[i] & 7) == 0);
    }
    char *before = arena_alloc(&a, 16);
    char *big = arena_alloc(&a, 3 * ARENA_BLOCK);
    memset(big, 'x', 3 * ARENA_BLOCK);
    char *after = arena_strndup(&a, "after the big one", 5);
    CHECK(after == before + 16); /* the big piece took a block of its own */
    CHECK_STR(first, "first");
    CHECK_STR(after, "after");
    for (int i = 0; i < 20000; i += 997) {
        snprintf(want, sizeof want, "piece %d", i);
        CHECK_STR(s[i], want);
    }
    arena_reset(&a);
    CHECK(a.blocks != NULL);
    char *again = arena_strdup(&a, "again");
    CHECK_STR(again, "again");
    arena_reset(&a); /* the block kept is the one the next pieces come from, from its start */
    CHECK(arena_alloc(&a, 8) == again);
    arena_destroy(&a);
    CHECK(a.blocks == NULL);
    arena_reset(&a); /* an empty arena stays empty */
    CHECK(a.blocks == NULL);
    return fails;
}

int test_frame(void)
{
    int fails = 0;
    framebuf fb;
    framebuf_init(&fb, 16);
    const uint8_t two[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 1, 'z'};
    const uint8_t *f;
    size_t len;
    framebuf_feed(&fb, two, 5); /* a partial frame */
    CHECK(framebuf_next(&fb, &f, &len) == 0);
    framebuf_feed(&fb, two + 5, sizeof two - 5);
    CHECK(framebuf_next(&fb, &f, &len) == 1 && len == 3 && f[0] == 'a');
    CHECK(framebuf_next(&fb, &f, &len) == 1 && len == 1 && f[0] == 'z');
    CHECK(framebuf_next(&fb, &f, &len) == 0);
    const uint8_t huge[] = {0, 0, 1, 0}; /* 256 bytes > max 16 */
    framebuf_feed(&fb, huge, 4);
    CHECK(framebuf_next(&fb, &f, &len) < 0);
    framebuf_free(&fb);
    /* A Batch made of packed envelopes unpacks to them, in order. */
    uint8_t *items[3];
    size_t lens[3];
    for (int i = 0; i < 3; i++) {
        Weft__Heartbeat hb = WEFT__HEARTBEAT__INIT;
        hb.free_slots = (uint32_t)(i * 300); /* 0, then varints of one and two bytes */
        Weft__Envelope env = WEFT__ENVELOPE__INIT;
        env.body_case = WEFT__ENVELOPE__BODY_HEARTBEAT;
        env.heartbeat = &hb;
        items[i] = wire_pack(&env, &lens[i]);
    }
    size_t blen;
    uint8_t *b = wire_batch((const uint8_t *const *)items, lens, 3, &blen);
    Weft__Envelope *env = wire_unpack(b, blen);
    CHECK(env && env->body_case == WEFT__ENVELOPE__BODY_BATCH && env->batch->n_items == 3);
    for (size_t i = 0; env && i < env->batch->n_items; i++)
        CHECK(env->batch->items[i]->body_case == WEFT__ENVELOPE__BODY_HEARTBEAT &&
              env->batch->items[i]->heartbeat->free_slots == i * 300);
    if (env)
        weft__envelope__free_unpacked(env, NULL);
    free(b);
    for (int i = 0; i < 3; i++)
        free(items[i]);
    return fails;
}
