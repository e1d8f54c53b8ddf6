/* Unit tests for the rerun planner (scheduler/retry.c): reuse, partial maps, changed inputs,
 * --from, unusable outputs, and rows that do not match the workflow. */
#include <stdlib.h>

#include "common/xmem.h"
#include "compiler/compile.h"
#include "scheduler/retry.h"
#include "tests/unit/fixture.h"
#include "tests/unit/selftest.h"

static dag *compile_echo(const char *text)
{
    typereg *r = fixture_types();
    dag *g = fixture_compile(r, "t.yaml", text, NULL);
    typereg_destroy(&r);
    return g;
}

static const char wf[] = "workflow: w\n"
                         "tasks:\n"
                         "  a: { type: echo, with: { l: [1, 2, 3] } }\n"
                         "  m: { type: echo, map: \"${a.outputs.l}\", with: { x: \"${item}\" } }\n"
                         "  b: { type: echo, with: { xs: \"${m.outputs.x}\" } }\n"
                         "  c: { type: echo, with: { k: 1 } }\n";

/* The old run: a and c succeeded, m's element 1 failed, b skipped. */
static const char rows[] =
    "[{\"name\":\"a\",\"state\":\"succeeded\",\"inputs\":{\"l\":[1,2,3]},"
    "\"outputs\":{\"l\":[1,2,3]},\"source\":\"computed\"},"
    "{\"name\":\"m\",\"state\":\"failed\",\"elements\":["
    "{\"name\":\"m[0]\",\"state\":\"succeeded\",\"inputs\":{\"x\":1},\"outputs\":{\"x\":1},"
    "\"source\":\"cache\",\"source_run\":4,\"source_task\":\"m[0]\"},"
    "{\"name\":\"m[1]\",\"state\":\"failed\",\"error\":\"boom\"},"
    "{\"name\":\"m[2]\",\"state\":\"succeeded\",\"inputs\":{\"x\":3},\"outputs\":{\"x\":3}}]},"
    "{\"name\":\"b\",\"state\":\"skipped\"},"
    "{\"name\":\"c\",\"state\":\"succeeded\",\"inputs\":{\"k\":2},\"outputs\":{\"k\":2}}]";

static int refuse_c(void *ud, const json_t *outputs, char *why, size_t n)
{
    (void)ud;
    if (!json_object_get(outputs, "k"))
        return 0;
    snprintf(why, n, "artifact gone");
    return -1;
}

/* A map of 150 elements whose old rows say element 0 failed and the rest succeeded, then
 * the same with a row missing (the list changed). */
static int wide_map(void)
{
    int fails = 0;
    char why[256];
    json_t *l = json_array();
    for (int i = 0; i < 150; i++)
        json_array_append_new(l, json_integer(i));
    char *list = json_dumps(l, JSON_COMPACT);
    char *text = xasprintf("workflow: w\ntasks:\n  a: { type: echo, with: { l: %s } }\n"
                           "  m: { type: echo, map: \"${a.outputs.l}\", "
                           "with: { x: \"${item}\" } }\n", list);
    dag *g = compile_echo(text);
    json_t *elems = json_array();
    for (int i = 0; i < 150; i++)
        json_array_append_new(elems, json_pack("{s:s, s:s, s:{s:i}, s:{s:i}}", "name", "m[i]",
                                               "state", i ? "failed" : "succeeded", "inputs",
                                               "x", i, "outputs", "x", i));
    json_t *old = json_pack("[{s:s, s:s, s:{s:O}, s:{s:O}}, {s:s, s:s, s:o}]", "name", "a",
                            "state", "succeeded", "inputs", "l", l, "outputs", "l", l, "name",
                            "m", "state", "failed", "elements", elems);
    retry_source src = {.tasks = old, .elements = retry_nested_elements, .ud = old};
    retry_plan *p = g ? retry_plan_make(g, 7, &src, -1, NULL, NULL, why, sizeof why) : NULL;
    json_t *plan = p ? retry_plan_json(p, g) : NULL;
    json_t *el = json_object_get(json_array_get(json_object_get(plan, "tasks"), 1), "elements");
    /* The plan counts every element that executes again and names the first 100. */
    CHECK(p && p->t[1].action == RETRY_PARTIAL && p->nexec == 149 && p->nreuse == 2);
    CHECK(json_integer_value(json_object_get(el, "executed")) == 149);
    CHECK(json_array_size(json_object_get(el, "execute")) == RETRY_LISTED);
    json_decref(plan);
    retry_plan_free(p);
    json_array_remove(elems, 149);
    p = g ? retry_plan_make(g, 7, &src, -1, NULL, NULL, why, sizeof why) : NULL;
    CHECK(p && p->t[1].action == RETRY_EXECUTE && !p->t[1].elems);
    CHECK(p && !strcmp(p->t[1].u.reason, "its list changed since run 7"));
    retry_plan_free(p);
    json_decref(old);
    json_decref(l);
    dag_free(g);
    free(text);
    free(list);
    return fails;
}

/* A map over an empty list that succeeded is reused like any succeeded task. */
static int empty_map(void)
{
    int fails = 0;
    char why[256];
    dag *g = compile_echo("workflow: w\ntasks:\n  a: { type: echo, with: { l: [] } }\n"
                          "  m: { type: echo, map: \"${a.outputs.l}\", "
                          "with: { x: \"${item}\" } }\n");
    json_t *old = json_loads("[{\"name\":\"a\",\"state\":\"succeeded\",\"inputs\":{\"l\":[]},"
                             "\"outputs\":{\"l\":[]}},{\"name\":\"m\",\"state\":\"succeeded\","
                             "\"outputs\":{\"x\":[]}}]", 0, NULL);
    retry_source src = {.tasks = old, .elements = retry_nested_elements, .ud = old};
    retry_plan *p = g ? retry_plan_make(g, 7, &src, -1, NULL, NULL, why, sizeof why) : NULL;
    CHECK(p && p->t[1].action == RETRY_REUSE && p->nexec == 0);
    retry_plan_free(p);
    json_decref(old);
    dag_free(g);
    return fails;
}

int test_retry(void)
{
    int fails = 0;
    char why[256];
    dag *g = compile_echo(wf);
    json_t *old = json_loads(rows, 0, NULL);
    CHECK(g && old);
    if (!g || !old)
        return fails;
    retry_source src = {.tasks = old, .elements = retry_nested_elements, .ud = old};
    retry_plan *p = retry_plan_make(g, 7, &src, -1, NULL, NULL, why, sizeof why);
    CHECK(p != NULL);
    if (p) {
        CHECK(p->t[0].action == RETRY_REUSE);
        CHECK(p->t[1].action == RETRY_PARTIAL && p->t[1].nelems == 3);
        CHECK(p->t[1].elems[0].reuse && !p->t[1].elems[1].reuse && p->t[1].elems[2].reuse);
        CHECK_STR(p->t[1].elems[1].reason, "failed in run 7: boom");
        /* Lineage follows a copied output to the execution that computed it. */
        CHECK(p->t[1].elems[0].source_run == 4 && p->t[1].elems[2].source_run == 7);
        CHECK_STR(p->t[2].u.reason, "upstream task 'm' executes again");
        /* c's recorded inputs differ from what it would get now ({"k": 1}). */
        CHECK(p->t[3].action == RETRY_EXECUTE);
        CHECK_STR(p->t[3].u.reason, "its inputs changed since run 7");
        CHECK(p->nreuse == 3 && p->nexec == 3); /* a, m[0], m[2]; m[1], b, c */
        core_task_snapshot snap[4], elems[3];
        retry_plan_snapshot(p, snap, elems);
        CHECK(snap[0].state == TS_SUCCEEDED && snap[1].state == TS_RUNNING);
        CHECK(snap[1].nelems == 3 && elems[1].state == TS_PENDING);
        CHECK(snap[2].state == TS_PENDING);
    }
    retry_plan_free(p);

    /* --from a forces everything below it. */
    p = retry_plan_make(g, 7, &src, 0, NULL, NULL, why, sizeof why);
    CHECK(p && p->t[0].action == RETRY_EXECUTE && p->t[1].action == RETRY_EXECUTE);
    CHECK(p && !strcmp(p->t[1].u.reason, "forced: --from a"));
    retry_plan_free(p);

    /* Outputs that no longer verify execute again. */
    json_object_set_new(json_object_get(json_array_get(old, 3), "inputs"), "k", json_integer(1));
    p = retry_plan_make(g, 7, &src, -1, refuse_c, NULL, why, sizeof why);
    CHECK(p && p->t[3].action == RETRY_EXECUTE);
    CHECK(p && !strcmp(p->t[3].u.reason, "its outputs from run 7 cannot be reused: artifact gone"));
    retry_plan_free(p);

    /* Rows of another workflow are refused. */
    json_array_remove(old, 3);
    CHECK(retry_plan_make(g, 7, &src, -1, NULL, NULL, why, sizeof why) == NULL);
    CHECK_STR(why, "run 7 has 3 tasks; its workflow now compiles to 4");
    json_decref(old);
    dag_free(g);
    return fails + wide_map() + empty_map();
}
