/* Unit tests for catalog/s3.c's pure parts: locations, addressing and credentials taken
 * from the environment and the credentials file, and reading S3's XML answers. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "catalog/s3.h"
#include "common/fsutil.h"
#include "common/xmem.h"
#include "tests/unit/selftest.h"

#define EMPTY_PART "/" "/" /* two slashes in a row: an empty part of a prefix */

static void clear_env(void)
{
    const char *names[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                           "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "WEFT_S3_ENDPOINT",
                           "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "WEFT_S3_ADDRESSING"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
}

static int locations(void)
{
    int fails = 0;
    s3_client *c = NULL;
    weft_err err = {0};
    setenv("AWS_ACCESS_KEY_ID", "id", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    CHECK(s3_open("s3://bucket/a/b/", &c, &err) == 0);
    CHECK_STR(c ? s3_prefix(c) : NULL, "a/b/");
    s3_close(&c);
    CHECK(s3_open("s3://bucket", &c, &err) == 0);
    CHECK_STR(c ? s3_prefix(c) : NULL, "");
    s3_close(&c);
    CHECK(s3_open("/var/lib/weft", &c, &err) == WEFT_EINVAL);
    CHECK(strstr(err.msg, "is not an S3 location") != NULL);
    CHECK(s3_open("s3://bad bucket/x", &c, &err) == WEFT_EINVAL);
    CHECK(s3_open("s3://b/a" EMPTY_PART "b", &c, &err) == WEFT_EINVAL);
    CHECK(s3_open("s3:/" "/" "/x", &c, &err) == WEFT_EINVAL);             /* no bucket */
    setenv("WEFT_S3_ADDRESSING", "sideways", 1);
    CHECK(s3_open("s3://b", &c, &err) == WEFT_EINVAL);
    CHECK(strstr(err.msg, "path or virtual, not 'sideways'") != NULL);
    unsetenv("WEFT_S3_ADDRESSING");
    setenv("WEFT_S3_ENDPOINT", "ftp://x", 1);
    CHECK(s3_open("s3://b", &c, &err) == WEFT_EINVAL);
    CHECK(strstr(err.msg, "is not an http(s) URL") != NULL);
    clear_env();
    return fails;
}

static int credentials_file(void)
{
    int fails = 0;
    char dir[] = "/tmp/weft-s3-test.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *file = xasprintf("%s/credentials", dir);
    const char *text = "[default]\naws_access_key_id = A\n  aws_secret_access_key=B \r\n"
                       "[other]\naws_access_key_id=C\n";
    CHECK(fs_write_file(file, text, strlen(text)) == 0);
    setenv("AWS_SHARED_CREDENTIALS_FILE", file, 1);
    s3_client *c = NULL;
    weft_err err = {0};
    CHECK(s3_open("s3://b", &c, &err) == 0); /* default: both keys */
    s3_close(&c);
    setenv("AWS_PROFILE", "other", 1); /* no secret there */
    CHECK(s3_open("s3://b", &c, &err) == WEFT_EINVAL);
    CHECK(strstr(err.msg, "no S3 credentials") != NULL && strstr(err.msg, "'other'") != NULL);
    setenv("AWS_PROFILE", "missing", 1);
    CHECK(s3_open("s3://b", &c, &err) == WEFT_EINVAL);
    clear_env();
    fs_remove_tree(dir);
    free(file);
    return fails;
}

static int xml(void)
{
    int fails = 0;
    const char *doc = "<ListBucketResult><IsTruncated>true</IsTruncated>"
                      "<Contents><Key>p/ab/c&amp;d</Key><Size>5</Size></Contents>"
                      "<Contents><Key>p/x</Key></Contents>"
                      "<NextContinuationToken>t&lt;1&gt;</NextContinuationToken>"
                      "</ListBucketResult>";
    char out[64];
    size_t pos = 0;
    CHECK(s3_xml_next(doc, "Key", &pos, out, sizeof out) == 0);
    CHECK_STR(out, "p/ab/c&d");
    CHECK(s3_xml_next(doc, "Key", &pos, out, sizeof out) == 0);
    CHECK_STR(out, "p/x");
    CHECK(s3_xml_next(doc, "Key", &pos, out, sizeof out) == -1);
    pos = 0;
    CHECK(s3_xml_next(doc, "NextContinuationToken", &pos, out, sizeof out) == 0);
    CHECK_STR(out, "t<1>");
    pos = 0;
    CHECK(s3_xml_next(NULL, "Key", &pos, out, sizeof out) == -1);
    s3_response r = {.status = 503, .body = "<Error><Code>SlowDown</Code><Message>Please reduce"
                                            "</Message></Error>"};
    s3_describe(&r, out, sizeof out);
    CHECK_STR(out, "HTTP 503 SlowDown: Please reduce");
    return fails;
}

int test_s3(void)
{
    clear_env();
    return locations() + credentials_file() + xml();
}
