/* ytree: YAML events to a positioned tree. See ytree.h. */
#include "compiler/ytree.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/strmap.h"
#include "common/xmem.h"

typedef struct builder {
    yaml_parser_t parser;
    diag *d;
    ytree *t;
    ynode **stack; /* the children of the mappings and lists being built, innermost last */
    size_t nstack, capstack;
} builder;

static int next_event(builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev)) {
        const yaml_mark_t *m = &b->parser.problem_mark;
        diag_add(b->d, (int)m->line + 1, (int)m->column + 1, "YAML syntax error: %s%s%s",
                 b->parser.problem ? b->parser.problem : "unknown problem",
                 b->parser.context ? " " : "", b->parser.context ? b->parser.context : "");
        return -1;
    }
    return 0;
}

static ynode *new_node(builder *b, enum ynode_kind kind, yaml_mark_t mark)
{
    ynode *n = arena_alloc(&b->t->mem, sizeof *n);
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->line = (int)mark.line + 1;
    n->col = (int)mark.column + 1;
    return n;
}

static void push(builder *b, ynode *n)
{
    xgrow(&b->stack, &b->capstack, b->nstack + 1, sizeof *b->stack);
    b->stack[b->nstack++] = n;
}

/* The n nodes from the stack's base, every step-th from first, as an array of the tree. */
static ynode **take(builder *b, size_t base, size_t first, size_t step, size_t n)
{
    ynode **v = n ? arena_alloc(&b->t->mem, n * sizeof *v) : NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = b->stack[base + first + i * step];
    return v;
}

static ynode *parse_node(builder *b, yaml_event_t *ev, int depth);

static ynode *parse_seq(builder *b, yaml_mark_t start, int depth)
{
    ynode *n = new_node(b, YN_SEQ, start);
    size_t base = b->nstack;
    for (;;) {
        yaml_event_t ev;
        if (next_event(b, &ev) < 0)
            break;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            n->n = (uint32_t)(b->nstack - base);
            n->items = take(b, base, 0, 1, n->n);
            b->nstack = base;
            return n;
        }
        ynode *item = parse_node(b, &ev, depth + 1);
        if (!item)
            break;
        push(b, item);
    }
    b->nstack = base;
    return NULL;
}

/* Reports key if the mapping being built (its pairs on the stack from base) has it
 * already. Small mappings are searched; from DUP_SCAN keys on, seen indexes them. */
#define DUP_SCAN 16
static void check_duplicate(builder *b, size_t base, const ynode *key, strmap **seen)
{
    size_t pairs = (b->nstack - base) / 2;
    const ynode *first = NULL;
    if (pairs < DUP_SCAN) {
        for (size_t i = 0; i < pairs && !first; i++) {
            const ynode *k = b->stack[base + 2 * i];
            if (k->kind == YN_SCALAR && strcmp(k->text, key->text) == 0)
                first = k;
        }
    } else {
        if (!*seen) {
            *seen = strmap_new();
            for (size_t i = pairs; i-- > 0;)
                if (b->stack[base + 2 * i]->kind == YN_SCALAR)
                    strmap_put(*seen, b->stack[base + 2 * i]->text, b->stack[base + 2 * i]);
        }
        first = strmap_get(*seen, key->text);
        if (!first)
            strmap_put(*seen, key->text, (void *)key);
    }
    if (first)
        diag_add(b->d, key->line, key->col, "duplicate key '%s' (first defined at line %d)",
                 key->text, first->line);
}

static ynode *parse_map(builder *b, yaml_mark_t start, int depth)
{
    ynode *n = new_node(b, YN_MAP, start);
    size_t base = b->nstack;
    strmap *seen = NULL;
    for (;;) {
        yaml_event_t ev;
        if (next_event(b, &ev) < 0)
            break;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            strmap_destroy(&seen);
            n->n = (uint32_t)((b->nstack - base) / 2);
            n->keys = take(b, base, 0, 2, n->n);
            n->items = take(b, base, 1, 2, n->n);
            b->nstack = base;
            return n;
        }
        ynode *key = parse_node(b, &ev, depth + 1);
        if (!key || next_event(b, &ev) < 0)
            break;
        if (key->kind != YN_SCALAR)
            diag_add(b->d, key->line, key->col, "mapping keys must be plain strings, not a %s",
                     ytree_kind_name(key));
        else
            check_duplicate(b, base, key, &seen);
        push(b, key);
        ynode *val = parse_node(b, &ev, depth + 1);
        if (!val)
            break;
        push(b, val);
    }
    strmap_destroy(&seen);
    b->nstack = base;
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
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        size_t len = ev->data.scalar.length;
        n = new_node(b, YN_SCALAR, mark);
        n->text = arena_strndup(&b->t->mem, (const char *)ev->data.scalar.value, len);
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (memchr(n->text, '\0', len))
            diag_add(b->d, n->line, n->col, "scalar contains a NUL character");
        yaml_event_delete(ev);
        return n;
    }
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

ytree *ytree_parse(const char *buf, size_t len, diag *d)
{
    builder b = {.d = d, .t = xcalloc(1, sizeof *b.t)};
    if (find_control_char(buf, len, d) < 0) {
        ytree_free(&b.t);
        return NULL;
    }
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
    free(b.stack);
    b.t->root = root;
    if (!root || diag_count(d))
        ytree_free(&b.t);
    return b.t;
}

void ytree_free(ytree **tp)
{
    ytree *t = *tp;
    if (!t)
        return;
    arena_destroy(&t->mem);
    free(t);
    *tp = NULL;
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
