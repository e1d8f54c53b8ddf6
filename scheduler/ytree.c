/* ytree: YAML events to a positioned tree. See ytree.h. */
#include "scheduler/ytree.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/strmap.h"
#include "common/xmem.h"

typedef struct builder {
    yaml_parser_t parser;
    diag *d;
    int failed;
} builder;

static int next_event(builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev)) {
        const yaml_mark_t *m = &b->parser.problem_mark;
        diag_add(b->d, (int)m->line + 1, (int)m->column + 1, "YAML syntax error: %s%s%s",
                 b->parser.problem ? b->parser.problem : "unknown problem",
                 b->parser.context ? " " : "", b->parser.context ? b->parser.context : "");
        b->failed = 1;
        return -1;
    }
    return 0;
}

static ynode *new_node(enum ynode_kind kind, yaml_mark_t mark)
{
    ynode *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    n->line = (int)mark.line + 1;
    n->col = (int)mark.column + 1;
    return n;
}

static ynode *parse_node(builder *b, yaml_event_t *ev, int depth);

static ynode *parse_seq(builder *b, yaml_mark_t start, int depth)
{
    ynode *n = new_node(YN_SEQ, start);
    size_t cap = 0;
    for (;;) {
        yaml_event_t ev;
        if (next_event(b, &ev) < 0)
            break;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return n;
        }
        ynode *item = parse_node(b, &ev, depth + 1);
        if (!item)
            break;
        xgrow(&n->items, &cap, n->n + 1, sizeof *n->items);
        n->items[n->n++] = item;
    }
    ytree_free(n);
    return NULL;
}

static ynode *parse_map(builder *b, yaml_mark_t start, int depth)
{
    ynode *n = new_node(YN_MAP, start);
    size_t cap = 0, kcap = 0;
    strmap *seen = strmap_new();
    for (;;) {
        yaml_event_t ev;
        if (next_event(b, &ev) < 0)
            break;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            strmap_destroy(&seen);
            return n;
        }
        ynode *key = parse_node(b, &ev, depth + 1);
        if (!key)
            break;
        if (next_event(b, &ev) < 0) {
            ytree_free(key);
            break;
        }
        ynode *val = parse_node(b, &ev, depth + 1);
        if (!val) {
            ytree_free(key);
            break;
        }
        if (key->kind != YN_SCALAR) {
            diag_add(b->d, key->line, key->col, "mapping keys must be plain strings, not a %s",
                     ytree_kind_name(key));
        } else {
            ynode *first = strmap_get(seen, key->text);
            if (first)
                diag_add(b->d, key->line, key->col, "duplicate key '%s' (first defined at line %d)",
                         key->text, first->line);
            else
                strmap_put(seen, key->text, key);
        }
        xgrow(&n->keys, &kcap, n->n + 1, sizeof *n->keys);
        xgrow(&n->items, &cap, n->n + 1, sizeof *n->items);
        n->keys[n->n] = key;
        n->items[n->n++] = val;
    }
    strmap_destroy(&seen);
    ytree_free(n);
    return NULL;
}

/* Consumes ev (and the events of its children). Returns NULL after reporting an error. */
static ynode *parse_node(builder *b, yaml_event_t *ev, int depth)
{
    ynode *n = NULL;
    yaml_mark_t mark = ev->start_mark;
    if (depth > YTREE_MAX_DEPTH) {
        diag_add(b->d, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                 "nesting deeper than %d levels", YTREE_MAX_DEPTH);
        yaml_event_delete(ev);
        b->failed = 1;
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n = new_node(YN_SCALAR, mark);
        n->text = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (strlen(n->text) != ev->data.scalar.length)
            diag_add(b->d, n->line, n->col, "scalar contains a NUL character");
        yaml_event_delete(ev);
        return n;
    case YAML_SEQUENCE_START_EVENT:
        yaml_event_delete(ev);
        return parse_seq(b, mark, depth);
    case YAML_MAPPING_START_EVENT:
        yaml_event_delete(ev);
        return parse_map(b, mark, depth);
    case YAML_ALIAS_EVENT:
        diag_add(b->d, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                 "YAML aliases (*%s) are not supported; write the value out",
                 (const char *)ev->data.alias.anchor);
        break;
    default:
        diag_add(b->d, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                 "unexpected YAML event %d", (int)ev->type);
        break;
    }
    yaml_event_delete(ev);
    b->failed = 1;
    return NULL;
}

/* libyaml refuses control characters but places the error at the start of the input; find
 * the first one ourselves so the message points at it. Returns 0 when there is none. */
static int find_control_char(const char *buf, size_t len, diag *d)
{
    int line = 1, col = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch < 0x20 && ch != '\n' && ch != '\r' && ch != '\t') {
            diag_add(d, line, col, "control character 0x%02x is not allowed (is this a binary "
                     "file?)", ch);
            return -1;
        }
        if (ch == '\n')
            line++, col = 1;
        else if ((ch & 0xc0) != 0x80)
            col++;
    }
    return 0;
}

ynode *ytree_parse(const char *buf, size_t len, diag *d)
{
    builder b = {.d = d};
    if (find_control_char(buf, len, d) < 0)
        return NULL;
    yaml_parser_initialize(&b.parser);
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);
    ynode *root = NULL;
    yaml_event_t ev;
    /* STREAM-START, then DOCUMENT-START or STREAM-END (empty file). */
    if (next_event(&b, &ev) == 0) {
        yaml_event_delete(&ev);
        if (next_event(&b, &ev) == 0) {
            if (ev.type == YAML_STREAM_END_EVENT) {
                diag_add(d, 1, 1, "empty workflow file (expected a mapping with 'workflow' and "
                         "'tasks')");
                yaml_event_delete(&ev);
            } else {
                yaml_event_delete(&ev);
                if (next_event(&b, &ev) == 0)
                    root = parse_node(&b, &ev, 0);
                if (root && next_event(&b, &ev) == 0) { /* DOCUMENT-END */
                    yaml_event_delete(&ev);
                    if (next_event(&b, &ev) == 0) {
                        if (ev.type != YAML_STREAM_END_EVENT)
                            diag_add(d, (int)ev.start_mark.line + 1,
                                     (int)ev.start_mark.column + 1,
                                     "more than one YAML document; a workflow file holds one");
                        yaml_event_delete(&ev);
                    }
                }
            }
        }
    }
    yaml_parser_delete(&b.parser);
    if (diag_count(d)) {
        ytree_free(root);
        return NULL;
    }
    return root;
}

void ytree_free(ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        ytree_free(n->items[i]);
        if (n->keys)
            ytree_free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->text);
    free(n);
}

ynode *ytree_get(const ynode *map, const char *key)
{
    if (!map || map->kind != YN_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (map->keys[i]->kind == YN_SCALAR && strcmp(map->keys[i]->text, key) == 0)
            return map->items[i];
    return NULL;
}

const char *ytree_kind_name(const ynode *n)
{
    return n->kind == YN_MAP ? "mapping" : n->kind == YN_SEQ ? "list" : "scalar";
}
