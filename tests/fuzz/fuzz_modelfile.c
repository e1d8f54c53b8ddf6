/* fuzz_modelfile: the model file reader (plugins/ml/modelfile.c), which infer.batch and
 * infer.metrics run on the model they are given.
 *
 * Checked besides memory safety: a refused file says why; an accepted one has a kind, a
 * target, at least one feature and, for a classifier, two or more classes; and writing it
 * with modelfile_write reads back as the same metadata and payload. */
#include <stdlib.h>
#include <string.h>

#include "plugins/ml/modelfile.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    modelfile m, back;
    char err[512] = "";
    if (modelfile_read(fuzz_path(0, data, size), "fuzz.model", &m, err, sizeof err) < 0) {
        WEFT_ASSERT(err[0] != '\0' && !m.meta && !m.payload);
        return 0;
    }
    WEFT_ASSERT(m.kind && m.target && m.nfeatures >= 1 && m.payload && m.payload_len > 0);
    for (size_t i = 0; i < m.nfeatures; i++)
        WEFT_ASSERT(m.features[i]);
    if (m.objective == OBJ_REGRESSION)
        WEFT_ASSERT(!m.classes && m.nclasses == 0);
    else
        WEFT_ASSERT(m.nclasses >= 2);
    for (size_t i = 0; i < m.nclasses; i++)
        WEFT_ASSERT(m.classes[i]);
    WEFT_ASSERT(model_objective_name(m.objective));

    json_t *meta = json_deep_copy(m.meta);
    const char *out = fuzz_path(1, "", 0);
    WEFT_ASSERT(modelfile_write(out, meta, m.payload, m.payload_len, err, sizeof err) == 0);
    WEFT_ASSERT(modelfile_read(out, "fuzz.model", &back, err, sizeof err) == 0);
    WEFT_ASSERT(json_equal(back.meta, m.meta) && back.payload_len == m.payload_len &&
                memcmp(back.payload, m.payload, m.payload_len) == 0);
    json_decref(meta);
    modelfile_free(&back);
    modelfile_free(&m);
    return 0;
}
