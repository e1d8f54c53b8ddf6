/* Unit tests: the principal table (common/auth.c) and key files (common/keys.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/keys.h"
#include "common/log.h"
#include "common/xmem.h"
#include "common/auth.h"
#include "tests/unit/selftest.h"

static int test_table(void)
{
    int fails = 0;
    keypair a, b, c;
    CHECK(keys_generate(&a, NULL) == 0 && keys_generate(&b, NULL) == 0 &&
          keys_generate(&c, NULL) == 0);
    auth *t = auth_new();
    json_t *rows = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s, s:i}]", "public_key", a.pub,
                             "name", "gpu1", "role", "worker", "public_key", b.pub, "name",
                             "old", "role", "client", "revoked_us", 5);
    auth_load(t, rows);
    json_decref(rows);
    char buf[200], user[64];
    auth_peer p;
    const char *why = NULL;

    CHECK(auth_admit(t, a.pub) == NULL);
    CHECK_STR(auth_admit(t, b.pub), "revoked key");
    CHECK_STR(auth_admit(t, c.pub), "unknown key");
    snprintf(user, sizeof user, "key:%s", a.pub);
    CHECK(auth_identify(t, user, &p, &why) == 0 && p.roles == ROLE_WORKER);
    CHECK_STR(p.name, "gpu1");
    CHECK(auth_may_register(&p, "gpu1") && auth_may_register(&p, "gpu1.0"));
    CHECK(!auth_may_register(&p, "gpu10") && !auth_may_register(&p, "gpu") &&
          !auth_may_register(&p, "other"));
    CHECK(auth_identify(t, a.pub, &p, &why) < 0); /* no "key:" prefix: not from our ZAP */
    CHECK(auth_identify(t, NULL, &p, &why) < 0);
    CHECK(auth_identify(t, AUTH_USER_LOCAL, &p, &why) == 0 && p.roles == ROLE_ALL);
    CHECK(auth_may_register(&p, "anything"));

    /* Adding: a new key, a valid name, a known role, the role the name already has. */
#define ADD(key, name, role) auth_check_add(t, key, name, role, NULL, buf, sizeof buf)
    CHECK(ADD(c.pub, "gpu1", "worker") == NULL);
    CHECK(strstr(ADD(c.pub, "gpu1", "client"), "another role"));
    CHECK(strstr(ADD(a.pub, "x", "client"), "already on the list"));
    CHECK(strstr(ADD(c.pub, "bad name", "client"), "[A-Za-z0-9_-]"));
    CHECK(strstr(ADD(c.pub, "local", "client"), "reserved"));
    CHECK(strstr(ADD(c.pub, "x", "root"), "unknown role"));
#undef ADD
    auth_add(t, c.pub, "gpu1", "worker", NULL);
    CHECK(auth_admit(t, c.pub) == NULL);

    /* Admin holds the client role too; a client not the admin role. */
    CHECK(auth_role_parse("admin") == (ROLE_ADMIN | ROLE_CLIENT));
    CHECK(auth_role_parse("client") == ROLE_CLIENT && auth_role_parse("Admin") == 0);

    /* Revoking by name revokes every key of it, by key one key; a second time nothing. */
    CHECK(auth_revoke(t, "gpu1") == 2);
    CHECK_STR(auth_admit(t, a.pub), "revoked key");
    CHECK(auth_identify(t, user, &p, &why) < 0);
    CHECK_STR(why, "revoked key");
    CHECK(auth_revoke(t, "gpu1") == 0 && auth_revoke(t, "nobody") == 0);
    auth_destroy(&t);
    CHECK(t == NULL);
    return fails;
}

/* Projects: a client uses those it was added with ("default" when none), an admin and a
 * local peer every one; names are checked. */
static int test_projects(void)
{
    int fails = 0;
    keypair a, b, c, d;
    CHECK(keys_generate(&a, NULL) == 0 && keys_generate(&b, NULL) == 0 &&
          keys_generate(&c, NULL) == 0 && keys_generate(&d, NULL) == 0);
    auth *t = auth_new();
    json_t *ab = json_pack("[s, s]", "a", "b"), *bad = json_pack("[s]", "x y");
    char buf[200], user[64];
    auth_peer p;
    const char *why = NULL;
    CHECK(auth_check_add(t, a.pub, "alice", "client", ab, buf, sizeof buf) == NULL);
    CHECK(strstr(auth_check_add(t, a.pub, "alice", "client", bad, buf, sizeof buf),
                 "not 'x y'"));
    auth_add(t, a.pub, "alice", "client", ab);
    auth_add(t, b.pub, "bob", "client", NULL);
    auth_add(t, c.pub, "root", "admin", NULL);
    snprintf(user, sizeof user, "key:%s", a.pub);
    CHECK(auth_identify(t, user, &p, &why) == 0);
    CHECK(auth_may_use(&p, "a") && auth_may_use(&p, "b"));
    CHECK(!auth_may_use(&p, "default") && !auth_may_use(&p, "c"));
    char *j = auth_projects_json(&p);
    CHECK_STR(j, "[\"a\",\"b\"]");
    free(j);
    snprintf(user, sizeof user, "key:%s", b.pub);
    CHECK(auth_identify(t, user, &p, &why) == 0);
    CHECK(auth_may_use(&p, "default") && !auth_may_use(&p, "a"));
    snprintf(user, sizeof user, "key:%s", c.pub);
    CHECK(auth_identify(t, user, &p, &why) == 0);
    CHECK(auth_may_use(&p, "a") && auth_may_use(&p, "anything") && !auth_projects_json(&p));
    CHECK(auth_identify(t, AUTH_USER_LOCAL, &p, &why) == 0 && auth_may_use(&p, "a"));
    CHECK(auth_project_name_ok("ml-team_2") && !auth_project_name_ok("") &&
          !auth_project_name_ok("a/b") && !auth_project_name_ok(NULL));
    /* Loaded from the catalogue's rows: the same. */
    json_t *rows = json_pack("[{s:s, s:s, s:s, s:[s]}]", "public_key", d.pub, "name", "carol",
                             "role", "client", "projects", "ml");
    auth_load(t, rows);
    snprintf(user, sizeof user, "key:%s", d.pub);
    CHECK(auth_identify(t, user, &p, &why) == 0 && auth_may_use(&p, "ml") &&
          !auth_may_use(&p, "default"));
    json_decref(rows);
    json_decref(ab);
    json_decref(bad);
    auth_destroy(&t);
    return fails;
}

static int test_files(void)
{
    int fails = 0;
    char dir[] = "/tmp/weft-keys-test.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *path = xasprintf("%s/k", dir), *pub = xasprintf("%s/k.pub", dir);
    keypair kp, back;
    weft_err err = {0};
    CHECK(keys_generate(&kp, &err) == 0 && keys_valid(kp.pub) && keys_valid(kp.sec));
    CHECK(keys_write(path, &kp, &err) == 0);
    CHECK(keys_write(path, &kp, &err) < 0 && strstr(err.msg, "cannot create"));
    CHECK(keys_read(path, &back, &err) == 0);
    CHECK_STR(back.pub, kp.pub);
    CHECK_STR(back.sec, kp.sec);
    char out[KEY_Z85_LEN + 1];
    CHECK(keys_public_arg(pub, out, &err) == 0);
    CHECK_STR(out, kp.pub);
    CHECK(keys_public_arg(kp.pub, out, &err) == 0);
    CHECK(keys_public_arg("short", out, &err) < 0 && strstr(err.msg, "neither"));
    CHECK(keys_read(pub, &back, &err) < 0); /* no secret line (and 0644) */
    chmod(path, 0640);
    CHECK(keys_read(path, &back, &err) < 0 && strstr(err.msg, "chmod 600"));
    CHECK(!keys_valid("0123456789012345678901234567890123456789x"));

    /* Which connections need keys. */
    keys_conn kc;
    unsetenv("WEFT_KEY");
    unsetenv("WEFT_SERVER_KEY");
    unsetenv("WEFT_INSECURE");
    CHECK(keys_conn_setup(&kc, "ipc:/" "//tmp/s.sock", NULL, NULL, 0, &err) == 0 && !kc.curve);
    CHECK(keys_conn_setup(&kc, "tcp://127.0.0.1:1", NULL, NULL, 0, &err) < 0);
    CHECK(keys_conn_setup(&kc, "tcp://127.0.0.1:1", NULL, NULL, 1, &err) == 0 && !kc.curve);
    CHECK(keys_conn_setup(&kc, "tcp://10.0.0.1:1", NULL, NULL, 1, &err) < 0 &&
          strstr(err.msg, "loopback"));
    CHECK(keys_conn_setup(&kc, "tcp://10.0.0.1:1", NULL, kp.pub, 0, &err) < 0 &&
          strstr(err.msg, "both"));
    chmod(path, 0600);
    CHECK(keys_conn_setup(&kc, "tcp://10.0.0.1:1", path, pub, 0, &err) == 0 && kc.curve);
    CHECK(keys_is_loopback("tcp://localhost:5") && keys_is_loopback("tcp://[::1]:5") &&
          keys_is_loopback("tcp://127.0.0.2:5") && !keys_is_loopback("tcp://*:5") &&
          !keys_is_loopback("tcp://127.evil.example:5") && !keys_is_loopback("ipc://x"));
    unlink(path);
    unlink(pub);
    rmdir(dir);
    free(path);
    free(pub);
    return fails;
}

/* Control characters never reach the daemon log raw. */
static int test_escape(void)
{
    int fails = 0;
    char out[64];
    log_escape("a\nb\x1b[31m\tc\x7f", out, sizeof out);
    CHECK_STR(out, "a\\x0ab\\x1b[31m\\x09c\\x7f");
    char tiny[12];
    log_escape("\n\n\n", tiny, sizeof tiny); /* truncated at a whole escape */
    CHECK_STR(tiny, "\\x0a");
    log_escape("\xc2\x9b" "2J caf\xc3\xa9", out, sizeof out); /* C1 CSI; UTF-8 text kept */
    CHECK_STR(out, "\\xc2\\x9b" "2J caf\xc3\xa9");
    return fails;
}

/* Bearer tokens: their form, their identity (a hash, never the token), and a principal's
 * tokens acting, and revoked, with its keys. */
static int test_tokens(void)
{
    int fails = 0;
    char t1[AUTH_TOKEN_LEN + 1], t2[AUTH_TOKEN_LEN + 1], id[AUTH_TOKEN_ID_LEN + 1];
    auth_token_new(t1);
    auth_token_new(t2);
    CHECK(strlen(t1) == AUTH_TOKEN_LEN && !strncmp(t1, "weft_", 5) && strcmp(t1, t2) != 0);
    auth_token_id(t1, id);
    CHECK(!strncmp(id, "token:", 6) && strlen(id) == AUTH_TOKEN_ID_LEN && !strstr(id, t1 + 5));
    auth_token_id("weft_short", id);
    CHECK_STR(id, "");
    char bad[AUTH_TOKEN_LEN + 1];
    memcpy(bad, t1, sizeof bad);
    bad[10] = '!';
    auth_token_id(bad, id);
    CHECK_STR(id, "");
    auth_token_id(NULL, id);
    CHECK_STR(id, "");
    CHECK(auth_role_parse("gateway") == ROLE_GATEWAY);
    CHECK_STR(auth_role_name(ROLE_GATEWAY), "gateway");
    CHECK_STR(auth_role_name(ROLE_CLIENT | ROLE_ADMIN), "admin");
    CHECK(auth_role_name(ROLE_WORKER | ROLE_CLIENT) == NULL);

    auth *t = auth_new();
    keypair k;
    CHECK(keys_generate(&k, NULL) == 0);
    json_t *projects = json_pack("[s]", "p1");
    auth_add(t, k.pub, "alice", "client", projects);
    auth_token_id(t1, id);
    char buf[200];
    CHECK(auth_check_add(t, id, "alice", "admin", projects, buf, sizeof buf) != NULL);
    CHECK(auth_check_add(t, id, "alice", "client", projects, buf, sizeof buf) == NULL);
    auth_add(t, id, "alice", "client", projects);
    json_decref(projects);
    auth_peer p;
    const char *why = NULL;
    CHECK(auth_identify(t, id, &p, &why) == 0 && !strcmp(p.name, "alice") &&
          p.roles == ROLE_CLIENT && !p.local && auth_may_use(&p, "p1") &&
          !auth_may_use(&p, "p2"));
    char other[AUTH_TOKEN_ID_LEN + 1];
    auth_token_id(t2, other);
    CHECK(auth_identify(t, other, &p, &why) < 0);
    CHECK_STR(why, "unknown token");
    int roles = 0;
    const json_t *held = NULL;
    CHECK(auth_principal(t, "alice", &roles, &held) == 1 && roles == ROLE_CLIENT &&
          json_array_size(held) == 1);
    CHECK(auth_principal(t, "nobody", &roles, &held) == 0);
    CHECK(auth_revoke(t, "alice") == 2); /* the key and the token */
    CHECK(auth_identify(t, id, &p, &why) < 0);
    CHECK_STR(why, "revoked token");
    CHECK(auth_principal(t, "alice", &roles, &held) == 0);
    auth_destroy(&t);
    return fails;
}

int test_auth(void)
{
    return test_table() + test_projects() + test_files() + test_escape() + test_tokens();
}
