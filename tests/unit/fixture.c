/* fixture: see fixture.h. */
#include "tests/unit/fixture.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "compiler/diag.h"

typereg *fixture_types(void)
{
    const char *desc =
        "{\"plugins\":[{\"name\":\"builtin\",\"version\":\"1\",\"path\":\"/x.so\",\"types\":["
        "{\"name\":\"echo\",\"version\":\"1\",\"inputs\":[{\"name\":\"*\",\"type\":\"any\","
        "\"optional\":true}],\"outputs\":[{\"name\":\"*\",\"type\":\"any\"}]},"
        "{\"name\":\"sleep\",\"version\":\"1\",\"inputs\":[{\"name\":\"duration\",\"type\":"
        "\"duration\"}],\"outputs\":[]},"
        "{\"name\":\"count\",\"version\":\"2\",\"inputs\":[{\"name\":\"n\",\"type\":\"int\"},"
        "{\"name\":\"tags\",\"type\":\"list<string>\",\"optional\":true}],"
        "\"outputs\":[{\"name\":\"total\",\"type\":\"int\"}]}]}]}";
    json_t *j = json_loads(desc, 0, NULL);
    typereg *r = typereg_new();
    typereg_add_description(r, j);
    json_decref(j);
    return r;
}

dag *fixture_compile(const typereg *r, const char *file, const char *text, char **errors)
{
    diag *d = diag_new(file);
    compile_input in = {.file = file, .text = text, .len = strlen(text), .types = r};
    dag *g = compile_workflow(&in, d);
    if (errors)
        *errors = diag_render(d);
    diag_destroy(&d);
    return g;
}
