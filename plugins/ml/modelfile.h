/* modelfile: the model artifact train.* writes and infer.* reads.
 *
 * A model file is one self-describing file:
 *
 *     weft-model 1\n
 *     {"kind":"xgboost","objective":"binary","target":"benign","features":[...],...}\n
 *     <payload: the library's own serialized model, meta.payload_bytes long>
 *
 * The metadata line names the library that reads the payload ("kind"), the objective
 * (binary, multiclass, regression), the target column, the feature columns in the order the
 * model takes them, the class labels in class-index order (classification), and whatever
 * else that kind needs (a feature scaling, a solver). A file that is not a model, a newer
 * format or a truncated payload is refused with a message saying which. */
#ifndef WEFT_PLUGIN_MODELFILE_H
#define WEFT_PLUGIN_MODELFILE_H

#include <stddef.h>

#include <jansson.h>

#define MODELFILE_MAGIC "weft-model"
#define MODELFILE_VERSION 1
#define MODELFILE_META_MAX (64u << 20)

typedef enum { OBJ_BINARY, OBJ_MULTICLASS, OBJ_REGRESSION } model_objective;

typedef struct modelfile {
    json_t *meta;              /* owned */
    model_objective objective;
    const char *kind, *target; /* borrowed from meta */
    size_t nfeatures, nclasses;
    const char **features;     /* nfeatures names (borrowed from meta) */
    const char **classes;      /* nclasses labels (borrowed), NULL for regression */
    unsigned char *payload;    /* owned */
    size_t payload_len;
} modelfile;

/* Parses "binary", "multiclass" or "regression"; 0, or -1. */
int model_objective_parse(const char *s, model_objective *out);
const char *model_objective_name(model_objective o);

/* Writes meta (which gets "payload_bytes") and the payload to path; 0, or -1 with err. */
int modelfile_write(const char *path, json_t *meta, const void *payload, size_t len,
                    char *err, size_t n);
/* Reads and checks a model file; 0, or -1 with err (not a model, another format version,
 * malformed metadata, a truncated payload). `name` is the file's name for messages. */
int modelfile_read(const char *path, const char *name, modelfile *m, char *err, size_t n);
void modelfile_free(modelfile *m);

#endif
