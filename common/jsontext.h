/* jsontext: JSON values as compact text and back, without the library's cost for the
 * empty object that most task inputs and outputs are (a no-op task's are both). */
#ifndef WEFT_JSONTEXT_H
#define WEFT_JSONTEXT_H

#include <jansson.h>

/* v as compact text (malloc'd; caller frees), "{}" for an empty object; NULL when v is
 * NULL or cannot be encoded. */
char *jsontext_dump(const json_t *v);

/* The value text holds (a new reference), an empty object for "{}"; NULL when text is NULL
 * or not JSON. */
json_t *jsontext_load(const char *text);

#endif
