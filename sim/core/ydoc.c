/*
 * ydoc.c: YAML documents loaded with libyaml's document API, checked once at load.
 *
 * The ydoc keeps libyaml's yaml_document_t as is: a node handle is libyaml's node index
 * (1-based, 0 = none), so the public ynode needs no translation table. Loading is one pass
 * of yaml_parser_load plus three checks that make every later walk safe and every later
 * message precise:
 *   1. a second yaml_parser_load must find the end of the stream (one document per file);
 *   2. no mapping holds the same scalar key twice (sorted per mapping, so O(n log n));
 *   3. a depth-first walk from the root assigns each node its first parent (which gives
 *      ydoc_place its "graph.links[2]" names), refuses scalars with NUL bytes, refuses
 *      alias cycles (libyaml happily builds `&a [*a]`), nesting deeper than YDOC_MAX_DEPTH
 *      counting aliases, and aliases that expand to more than a bounded number of nodes
 *      (the "billion laughs"), so that no consumer walking the tree can loop or explode.
 * Invariants after a successful load: the root exists; every node reachable from it has a
 * parent entry (the root's is 0); the node graph is acyclic.
 *
 * Every message this file writes is located at a node's start mark, 1-based.
 */
#include "core/ydoc.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "core/units.h"

/* Deepest nesting accepted, counting levels reached through aliases. */
#define YDOC_MAX_DEPTH 64
/* Aliases may expand the tree to this many nodes beyond the nodes written in the file. */
#define YDOC_MAX_EXPANSION 1000000.0
/* Longest key for which a did-you-mean suggestion is computed. */
#define YDOC_SUGGEST_MAX 64
/* Scalars longer than this are elided in messages. */
#define YDOC_QUOTE_MAX 60

struct ydoc {
    yaml_document_t doc;
    int has_doc;   /* doc must be deleted */
    char *file;    /* owned copy of the name */
    int n_nodes;
    ynode *parent; /* [n_nodes + 1]: first parent found from the root, 0 for the root */
    size_t *pos;   /* [n_nodes + 1]: item index in a list or pair index in a mapping */
    unsigned char *is_key; /* [n_nodes + 1]: node was reached as a mapping key */
    char **origin;         /* [n_nodes + 1] or NULL: the override that made a node (ydoc_set) */
    int n_origin;          /* entries of origin */
};

/* ---- small helpers ------------------------------------------------------------------- */

static int mark_to_int(size_t v)
{
    return v >= (size_t)INT_MAX ? INT_MAX : (int)v + 1;
}

static const yaml_node_t *node_at(const ydoc *d, ynode n)
{
    if (!d || !d->has_doc || n < 1 || n > d->n_nodes)
        return NULL;
    return d->doc.nodes.start + (n - 1);
}

static const char *scalar_of(const yaml_node_t *y)
{
    return y && y->type == YAML_SCALAR_NODE ? (const char *)y->data.scalar.value : NULL;
}

/*
 * Writes text in single quotes into buf, elided to YDOC_QUOTE_MAX bytes (cut at a UTF-8
 * character boundary) so that a long value cannot crowd the rest of a message out.
 */
static void quote_text(const char *text, char *buf, size_t len)
{
    size_t n = strlen(text);
    if (n <= YDOC_QUOTE_MAX) {
        snprintf(buf, len, "'%s'", text);
        return;
    }
    n = YDOC_QUOTE_MAX;
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    snprintf(buf, len, "'%.*s...'", (int)n, text);
}

/* Status located at an explicit position in d's file (line/col 1-based, 0 = unknown). */
static sim_code error_at(const char *file, int line, int col, sim_status *st, const char *fmt,
                         ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static sim_code error_at(const char *file, int line, int col, sim_status *st, const char *fmt,
                         ...)
{
    char msg[SIM_STATUS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sim_status_set(st, SIM_ERR_INPUT, file, line, col, "%s", msg);
}

/* ---- loading ------------------------------------------------------------------------- */

/*
 * Turns a libyaml failure into a status. Reader errors (bad UTF-8, control characters)
 * carry a byte offset rather than a mark, so their line and column are counted in text.
 */
static sim_code parser_error(const yaml_parser_t *p, const char *name, const char *text,
                             size_t len, sim_status *st)
{
    const char *problem = p->problem ? p->problem : "unknown problem";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return sim_status_set(st, SIM_ERR_NOMEM, name, 0, 0, "out of memory parsing YAML");
    case YAML_READER_ERROR: {
        size_t off = p->problem_offset < len ? p->problem_offset : len;
        int line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
            if (text[i] == '\n') {
                line = line < INT_MAX ? line + 1 : line;
                col = 1;
            } else {
                col = col < INT_MAX ? col + 1 : col;
            }
        }
        if (p->problem_value >= 0)
            return error_at(name, line, col, st, "invalid text: %s (0x%02X)", problem,
                            (unsigned)p->problem_value);
        return error_at(name, line, col, st, "invalid text: %s", problem);
    }
    default:
        break;
    }
    int line = mark_to_int(p->problem_mark.line), col = mark_to_int(p->problem_mark.column);
    if (p->context)
        return error_at(name, line, col, st, "syntax error: %s (%s at line %d)", problem,
                        p->context, mark_to_int(p->context_mark.line));
    return error_at(name, line, col, st, "syntax error: %s", problem);
}

typedef struct key_ref {
    const char *text;
    size_t pos; /* pair index */
} key_ref;

static int key_ref_cmp(const void *a, const void *b)
{
    const key_ref *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    if (c)
        return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * Refuses a repeated scalar key in any mapping. Per mapping, the error is at the second
 * occurrence that comes first in the file; mappings are checked in node order, which is
 * the order in which they start in the file.
 */
static sim_code check_duplicates(ydoc *d, sim_status *st)
{
    sim_code rc = SIM_OK;
    key_ref *refs = NULL;
    size_t cap = 0;
    for (ynode n = 1; n <= d->n_nodes && rc == SIM_OK; n++) {
        const yaml_node_t *y = node_at(d, n);
        if (y->type != YAML_MAPPING_NODE)
            continue;
        size_t np = (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
        if (np < 2)
            continue;
        if (np > cap) {
            key_ref *p = realloc(refs, np * sizeof *p);
            if (!p) {
                rc = sim_status_set(st, SIM_ERR_NOMEM, d->file, 0, 0,
                                    "out of memory checking keys");
                break;
            }
            refs = p;
            cap = np;
        }
        size_t k = 0;
        for (size_t i = 0; i < np; i++) {
            const char *t = scalar_of(node_at(d, y->data.mapping.pairs.start[i].key));
            if (t)
                refs[k++] = (key_ref){t, i};
        }
        qsort(refs, k, sizeof *refs, key_ref_cmp);
        size_t best = SIZE_MAX, first = 0;
        for (size_t i = 1; i < k; i++) {
            if (strcmp(refs[i].text, refs[i - 1].text) == 0 && refs[i].pos < best &&
                (i < 2 || strcmp(refs[i - 2].text, refs[i].text) != 0)) {
                best = refs[i].pos;
                first = refs[i - 1].pos;
            }
        }
        if (best != SIZE_MAX) {
            ynode dup = y->data.mapping.pairs.start[best].key;
            ynode orig = y->data.mapping.pairs.start[first].key;
            char q[YDOC_QUOTE_MAX + 8];
            quote_text(ydoc_scalar(d, dup), q, sizeof q);
            rc = ydoc_error(d, dup, st, "duplicate key %s (first at line %d)", q,
                            ydoc_line(d, orig));
        }
    }
    free(refs);
    return rc;
}

typedef struct walk_frame {
    ynode node;
    size_t next; /* next child: item index, or 2 * pair index (+1 for the value) */
} walk_frame;

/* Child number i of y (items, or keys and values interleaved); 0 past the end. */
static ynode child_at(const yaml_node_t *y, size_t i, size_t *pos, int *is_key)
{
    if (y->type == YAML_SEQUENCE_NODE) {
        size_t n = (size_t)(y->data.sequence.items.top - y->data.sequence.items.start);
        *pos = i;
        *is_key = 0;
        return i < n ? y->data.sequence.items.start[i] : 0;
    }
    if (y->type == YAML_MAPPING_NODE) {
        size_t n = (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
        *pos = i / 2;
        *is_key = (i % 2) == 0;
        if (i / 2 >= n)
            return 0;
        const yaml_node_pair_t *p = &y->data.mapping.pairs.start[i / 2];
        return *is_key ? p->key : p->value;
    }
    return 0;
}

/*
 * Depth-first walk from the root (see the file comment). height[n] is the longest chain of
 * nodes from n down, expand[n] the number of nodes n stands for once aliases are expanded.
 */
static sim_code check_structure(ydoc *d, sim_status *st)
{
    sim_code rc = SIM_OK;
    size_t count = (size_t)d->n_nodes + 1;
    unsigned char *color = calloc(count, 1); /* 0 unseen, 1 on the stack, 2 done */
    int *height = calloc(count, sizeof *height);
    double *expand = calloc(count, sizeof *expand);
    walk_frame stack[YDOC_MAX_DEPTH + 1];
    int top = 0;
    double limit = YDOC_MAX_EXPANSION + (double)d->n_nodes;
    d->parent = calloc(count, sizeof *d->parent);
    d->pos = calloc(count, sizeof *d->pos);
    d->is_key = calloc(count, 1);
    if (!color || !height || !expand || !d->parent || !d->pos || !d->is_key) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, d->file, 0, 0, "out of memory loading YAML");
        goto done;
    }
    ynode root = ydoc_root(d);
    stack[top++] = (walk_frame){root, 0};
    color[root] = 1;
    while (top > 0) {
        walk_frame *f = &stack[top - 1];
        const yaml_node_t *y = node_at(d, f->node);
        if (y->type == YAML_SCALAR_NODE && strlen(scalar_of(y)) != y->data.scalar.length) {
            rc = ydoc_error(d, f->node, st, "a value contains a NUL character");
            goto done;
        }
        size_t pos = 0;
        int is_key = 0;
        ynode c = child_at(y, f->next++, &pos, &is_key);
        if (!c) {
            /* All children done: the node's height and expansion are final. */
            int h = 0;
            double e = 1;
            for (size_t i = 0; (c = child_at(y, i, &pos, &is_key)) != 0; i++) {
                h = height[c] > h ? height[c] : h;
                e += expand[c];
            }
            height[f->node] = h + 1;
            expand[f->node] = e;
            if (e > limit) {
                rc = ydoc_error(d, f->node, st,
                                "aliases expand the document by more than %.0f nodes",
                                YDOC_MAX_EXPANSION);
                goto done;
            }
            color[f->node] = 2;
            top--;
            continue;
        }
        if (color[c] == 1) {
            rc = ydoc_error(d, f->node, st, "an alias refers to a node that contains it");
            goto done;
        }
        if (color[c] == 2) {
            /* Reached again through an alias: its subtree counts from this depth. */
            if (top + height[c] > YDOC_MAX_DEPTH) {
                rc = ydoc_error(d, f->node, st, "nesting deeper than %d levels (counting aliases)",
                                YDOC_MAX_DEPTH);
                goto done;
            }
            continue;
        }
        if (top >= YDOC_MAX_DEPTH) {
            rc = ydoc_error(d, c, st, "nesting deeper than %d levels", YDOC_MAX_DEPTH);
            goto done;
        }
        d->parent[c] = f->node;
        d->pos[c] = pos;
        d->is_key[c] = (unsigned char)is_key;
        color[c] = 1;
        stack[top++] = (walk_frame){c, 0};
    }
done:
    free(color);
    free(height);
    free(expand);
    return rc;
}

/* True when the root is missing or a plain empty scalar ("---" alone). */
static int is_empty_document(const ydoc *d)
{
    const yaml_node_t *r = node_at(d, 1);
    return !r || (r->type == YAML_SCALAR_NODE && r->data.scalar.length == 0 &&
                  r->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
}

sim_code ydoc_load_string(const char *name, const char *text, size_t len, ydoc **out,
                          sim_status *st)
{
    sim_code rc = SIM_OK;
    yaml_parser_t parser;
    yaml_document_t extra;
    int has_parser = 0;
    ydoc *d = calloc(1, sizeof *d);
    if (!name)
        name = "<string>";
    if (!d || !(d->file = malloc(strlen(name) + 1))) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, name, 0, 0, "out of memory loading YAML");
        goto done;
    }
    memcpy(d->file, name, strlen(name) + 1);
    if (!yaml_parser_initialize(&parser)) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, name, 0, 0, "out of memory loading YAML");
        goto done;
    }
    has_parser = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &d->doc)) {
        rc = parser_error(&parser, name, text, len, st);
        goto done;
    }
    d->has_doc = 1;
    long count = (long)(d->doc.nodes.top - d->doc.nodes.start);
    if (count >= INT_MAX) {
        rc = sim_status_set(st, SIM_ERR_LIMIT, name, 0, 0, "too many YAML nodes");
        goto done;
    }
    d->n_nodes = (int)count;
    if (is_empty_document(d)) {
        const yaml_node_t *r = node_at(d, 1);
        rc = error_at(name, r ? mark_to_int(r->start_mark.line) : 1,
                      r ? mark_to_int(r->start_mark.column) : 1, st,
                      "empty document: expected a mapping");
        goto done;
    }
    if (!yaml_parser_load(&parser, &extra)) {
        rc = parser_error(&parser, name, text, len, st);
        goto done;
    }
    int more = yaml_document_get_root_node(&extra) != NULL;
    yaml_mark_t extra_mark = extra.start_mark;
    yaml_document_delete(&extra);
    if (more) {
        rc = error_at(name, mark_to_int(extra_mark.line), mark_to_int(extra_mark.column), st,
                      "expected one document, found a second one");
        goto done;
    }
    rc = check_duplicates(d, st);
    if (rc == SIM_OK)
        rc = check_structure(d, st);
done:
    if (has_parser)
        yaml_parser_delete(&parser);
    if (rc != SIM_OK) {
        ydoc_destroy(d);
        d = NULL;
    }
    *out = d;
    return rc;
}

sim_code ydoc_load_file(const char *path, ydoc **out, sim_status *st)
{
    sim_code rc = SIM_OK;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f) {
        rc = sim_status_set(st, SIM_ERR_INPUT, path, 0, 0, "cannot open '%s': %s", path,
                            strerror(errno));
        goto done;
    }
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        rc = sim_status_set(st, SIM_ERR_INPUT, path, 0, 0,
                            "cannot open '%s': expected a file, found a directory", path);
        goto done;
    }
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *p = realloc(buf, ncap);
            if (!p) {
                rc = sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory reading '%s'",
                                    path);
                goto done;
            }
            buf = p;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rc = sim_status_set(st, SIM_ERR_IO, path, 0, 0, "cannot read '%s': %s", path,
                            strerror(errno));
        goto done;
    }
    rc = ydoc_load_string(path, buf, len, out, st);
done:
    if (f)
        fclose(f);
    free(buf);
    return rc;
}

void ydoc_destroy(ydoc *d)
{
    if (!d)
        return;
    if (d->has_doc)
        yaml_document_delete(&d->doc);
    free(d->file);
    free(d->parent);
    free(d->pos);
    free(d->is_key);
    for (int i = 0; i < d->n_origin; i++)
        free(d->origin[i]);
    free(d->origin);
    free(d);
}

/* ---- navigation ---------------------------------------------------------------------- */

const char *ydoc_file(const ydoc *d)
{
    return d->file;
}

ynode ydoc_root(const ydoc *d)
{
    return node_at(d, 1) ? 1 : 0;
}

ydoc_kind ydoc_node_kind(const ydoc *d, ynode n)
{
    const yaml_node_t *y = node_at(d, n);
    if (!y)
        return YDOC_NONE;
    switch (y->type) {
    case YAML_SCALAR_NODE: return YDOC_SCALAR;
    case YAML_SEQUENCE_NODE: return YDOC_SEQ;
    case YAML_MAPPING_NODE: return YDOC_MAP;
    default: return YDOC_NONE;
    }
}

/* The override that created node n, or NULL for nodes read from the file. */
static const char *origin_of(const ydoc *d, ynode n)
{
    return d && n > 0 && n < d->n_origin ? d->origin[n] : NULL;
}

int ydoc_line(const ydoc *d, ynode n)
{
    const yaml_node_t *y = node_at(d, n);
    return y && !origin_of(d, n) ? mark_to_int(y->start_mark.line) : 0;
}

int ydoc_col(const ydoc *d, ynode n)
{
    const yaml_node_t *y = node_at(d, n);
    return y && !origin_of(d, n) ? mark_to_int(y->start_mark.column) : 0;
}

void ydoc_describe(const ydoc *d, ynode n, char *buf, size_t len)
{
    const yaml_node_t *y = node_at(d, n);
    if (!len)
        return;
    if (!y)
        snprintf(buf, len, "nothing");
    else if (y->type == YAML_MAPPING_NODE)
        snprintf(buf, len, "a mapping");
    else if (y->type == YAML_SEQUENCE_NODE)
        snprintf(buf, len, "a list");
    else if (y->data.scalar.length == 0)
        snprintf(buf, len, "an empty value");
    else
        quote_text(scalar_of(y), buf, len);
}

void ydoc_place(const ydoc *d, ynode n, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = '\0';
    if (!node_at(d, n)) {
        snprintf(buf, len, "nothing");
        return;
    }
    while (d->parent && d->is_key[n]) /* a key sits where its mapping does */
        n = d->parent[n];
    if (!d->parent || n == ydoc_root(d)) {
        snprintf(buf, len, "the document");
        return;
    }
    ynode chain[YDOC_MAX_DEPTH + 1];
    int depth = 0;
    for (ynode m = n; m && m != ydoc_root(d) && depth <= YDOC_MAX_DEPTH; m = d->parent[m])
        chain[depth++] = m;
    size_t used = 0;
    for (int i = depth - 1; i >= 0 && used < len; i--) {
        ynode m = chain[i], p = d->parent[m];
        const yaml_node_t *py = node_at(d, p);
        int w;
        if (!py)
            break;
        if (py->type == YAML_SEQUENCE_NODE) {
            w = snprintf(buf + used, len - used, "[%zu]", d->pos[m]);
        } else {
            const char *k = scalar_of(node_at(d, py->data.mapping.pairs.start[d->pos[m]].key));
            w = snprintf(buf + used, len - used, "%s%s", used ? "." : "", k ? k : "?");
        }
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

const char *ydoc_scalar(const ydoc *d, ynode n)
{
    return scalar_of(node_at(d, n));
}

size_t ydoc_seq_len(const ydoc *d, ynode n)
{
    const yaml_node_t *y = node_at(d, n);
    if (!y || y->type != YAML_SEQUENCE_NODE)
        return 0;
    return (size_t)(y->data.sequence.items.top - y->data.sequence.items.start);
}

ynode ydoc_seq_at(const ydoc *d, ynode n, size_t i)
{
    if (i >= ydoc_seq_len(d, n))
        return 0;
    return node_at(d, n)->data.sequence.items.start[i];
}

size_t ydoc_map_len(const ydoc *d, ynode n)
{
    const yaml_node_t *y = node_at(d, n);
    if (!y || y->type != YAML_MAPPING_NODE)
        return 0;
    return (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
}

ynode ydoc_map_key_at(const ydoc *d, ynode n, size_t i)
{
    if (i >= ydoc_map_len(d, n))
        return 0;
    return node_at(d, n)->data.mapping.pairs.start[i].key;
}

ynode ydoc_map_value_at(const ydoc *d, ynode n, size_t i)
{
    if (i >= ydoc_map_len(d, n))
        return 0;
    return node_at(d, n)->data.mapping.pairs.start[i].value;
}

ynode ydoc_map_get(const ydoc *d, ynode n, const char *key)
{
    size_t np = ydoc_map_len(d, n);
    for (size_t i = 0; i < np; i++) {
        const char *k = ydoc_scalar(d, ydoc_map_key_at(d, n, i));
        if (k && strcmp(k, key) == 0)
            return ydoc_map_value_at(d, n, i);
    }
    return 0;
}

/* ---- errors and checks --------------------------------------------------------------- */

sim_code ydoc_error(const ydoc *d, ynode n, sim_status *st, const char *fmt, ...)
{
    char msg[SIM_STATUS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = origin_of(d, n) ? origin_of(d, n) : d ? d->file : NULL;
    return sim_status_set(st, SIM_ERR_INPUT, file, ydoc_line(d, n), ydoc_col(d, n), "%s", msg);
}

/* ---- overrides ----------------------------------------------------------------------- */

/* Records origin for node n (grows the table). 0 on NOMEM. */
static int set_origin(ydoc *d, ynode n, const char *origin)
{
    if (n >= d->n_origin) {
        int cap = n + 16;
        char **p = realloc(d->origin, (size_t)cap * sizeof *p);
        if (!p)
            return 0;
        for (int i = d->n_origin; i < cap; i++)
            p[i] = NULL;
        d->origin = p;
        d->n_origin = cap;
    }
    free(d->origin[n]);
    d->origin[n] = malloc(strlen(origin) + 1);
    if (!d->origin[n])
        return 0;
    memcpy(d->origin[n], origin, strlen(origin) + 1);
    return 1;
}

/* New node for value: a plain scalar, or a list of scalars for "[a, b, c]". 0 on NOMEM. */
static int add_value(ydoc *d, const char *value, const char *origin)
{
    size_t len = strlen(value);
    int n;
    if (len >= 2 && value[0] == '[' && value[len - 1] == ']') {
        n = yaml_document_add_sequence(&d->doc, NULL, YAML_FLOW_SEQUENCE_STYLE);
        if (!n || !set_origin(d, n, origin))
            return 0;
        const char *p = value + 1, *end = value + len - 1;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *stop = comma ? comma : end;
            const char *a = p, *b = stop;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            if (b > a || comma) {
                int item = yaml_document_add_scalar(&d->doc, NULL, (yaml_char_t *)a,
                                                    (int)(b - a), YAML_PLAIN_SCALAR_STYLE);
                if (!item || !set_origin(d, item, origin) ||
                    !yaml_document_append_sequence_item(&d->doc, n, item))
                    return 0;
            }
            p = stop + 1;
        }
        return n;
    }
    n = yaml_document_add_scalar(&d->doc, NULL, (yaml_char_t *)value, (int)len,
                                 YAML_PLAIN_SCALAR_STYLE);
    return n && set_origin(d, n, origin) ? n : 0;
}

sim_code ydoc_set(ydoc *d, const char *path, const char *value, const char *origin,
                  sim_status *st)
{
    char key[256];
    const char *p = path;
    ynode map = ydoc_root(d);
    if (!path[0] || strlen(path) >= sizeof key)
        return sim_status_set(st, SIM_ERR_INPUT, origin, 0, 0,
                              "expected KEY=VALUE with a key path such as parallelism.tp");
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        memcpy(key, p, n);
        key[n] = 0;
        if (!n)
            return sim_status_set(st, SIM_ERR_INPUT, origin, 0, 0,
                                  "empty key in the path '%s'", path);
        /* A list is entered by a 0-based index ("wan.0.bandwidth"); its items are replaced
         * only through a key below them. */
        if (ydoc_node_kind(d, map) == YDOC_SEQ && dot) {
            char *end = NULL;
            unsigned long idx = strtoul(key, &end, 10);
            if (*end || idx >= ydoc_seq_len(d, map))
                return sim_status_set(st, SIM_ERR_INPUT, origin, 0, 0,
                                      "cannot set '%s': '%s' is not an index of the list of %zu",
                                      path, key, ydoc_seq_len(d, map));
            map = ydoc_seq_at(d, map, idx);
            p = dot + 1;
            continue;
        }
        if (ydoc_node_kind(d, map) != YDOC_MAP) {
            char found[96];
            ydoc_describe(d, map, found, sizeof found);
            return sim_status_set(st, SIM_ERR_INPUT, origin, 0, 0,
                                  "cannot set '%s': the value before '%s' is %s, not a mapping",
                                  path, key, found);
        }
        ynode child = ydoc_map_get(d, map, key);
        int made = 0;
        if (!dot) {
            made = add_value(d, value, origin);
        } else if (!child) {
            made = yaml_document_add_mapping(&d->doc, NULL, YAML_BLOCK_MAPPING_STYLE);
            if (made && !set_origin(d, made, origin))
                made = 0;
        }
        if ((!dot || !child) && !made)
            return sim_status_set(st, SIM_ERR_NOMEM, origin, 0, 0, "out of memory");
        if (made) {
            yaml_node_t *m = d->doc.nodes.start + (map - 1);
            yaml_node_pair_t *pair = m->data.mapping.pairs.start;
            for (; pair < m->data.mapping.pairs.top; pair++)
                if (!strcmp(scalar_of(node_at(d, pair->key)) ? scalar_of(node_at(d, pair->key))
                                                             : "", key))
                    break;
            if (pair < m->data.mapping.pairs.top) {
                pair->value = made;
            } else {
                int k = yaml_document_add_scalar(&d->doc, NULL, (yaml_char_t *)key, (int)n,
                                                 YAML_PLAIN_SCALAR_STYLE);
                if (!k || !set_origin(d, k, origin) ||
                    !yaml_document_append_mapping_pair(&d->doc, map, k, made))
                    return sim_status_set(st, SIM_ERR_NOMEM, origin, 0, 0, "out of memory");
            }
            d->n_nodes = (int)(d->doc.nodes.top - d->doc.nodes.start);
            child = made;
        }
        if (!dot)
            break;
        map = child;
        p = dot + 1;
    }
    /* Parents and places for the new nodes: walk the whole tree again. */
    free(d->parent);
    free(d->pos);
    free(d->is_key);
    d->parent = NULL;
    d->pos = NULL;
    d->is_key = NULL;
    return check_structure(d, st);
}

/* Edit distance of a and b, or SIZE_MAX when either is too long to bother. */
static size_t levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > YDOC_SUGGEST_MAX || lb > YDOC_SUGGEST_MAX)
        return SIZE_MAX;
    size_t row[YDOC_SUGGEST_MAX + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *ydoc_suggest(const char *word, const char *const *choices)
{
    const char *best = NULL;
    size_t best_dist = SIZE_MAX;
    for (size_t i = 0; choices[i]; i++) {
        size_t dist = levenshtein(word, choices[i]);
        size_t third = strlen(choices[i]) / 3;
        size_t limit = third > 2 ? third : 2;
        if (dist <= limit && dist < best_dist) {
            best = choices[i];
            best_dist = dist;
        }
    }
    return best;
}

void ydoc_join_words(const char *const *words, char *buf, size_t len)
{
    size_t used = 0;
    if (!len)
        return;
    buf[0] = '\0';
    for (size_t i = 0; words[i] && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", words[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

sim_code ydoc_check_keys(const ydoc *d, ynode n, const char *what, const char *const *allowed,
                         sim_status *st)
{
    char found[YDOC_QUOTE_MAX + 8];
    if (ydoc_node_kind(d, n) != YDOC_MAP) {
        ydoc_describe(d, n, found, sizeof found);
        return ydoc_error(d, n, st, "%s: expected a mapping, found %s", what, found);
    }
    size_t np = ydoc_map_len(d, n);
    for (size_t i = 0; i < np; i++) {
        ynode k = ydoc_map_key_at(d, n, i);
        const char *text = ydoc_scalar(d, k);
        if (!text) {
            ydoc_describe(d, k, found, sizeof found);
            return ydoc_error(d, k, st, "expected a key name in %s, found %s", what, found);
        }
        size_t a = 0;
        while (allowed[a] && strcmp(allowed[a], text) != 0)
            a++;
        if (allowed[a])
            continue;
        char list[512];
        ydoc_join_words(allowed, list, sizeof list);
        quote_text(text, found, sizeof found);
        const char *hint = ydoc_suggest(text, allowed);
        if (hint)
            return ydoc_error(d, k, st, "unknown key %s in %s (did you mean '%s'?); "
                              "expected one of: %s", found, what, hint, list);
        return ydoc_error(d, k, st, "unknown key %s in %s; expected one of: %s", found, what,
                          list);
    }
    return SIM_OK;
}

static const char *kind_noun(ydoc_kind kind)
{
    switch (kind) {
    case YDOC_SCALAR: return "a single value";
    case YDOC_SEQ: return "a list";
    case YDOC_MAP: return "a mapping";
    default: return "nothing";
    }
}

sim_code ydoc_expect(const ydoc *d, ynode n, ydoc_kind kind, const char *key, sim_status *st)
{
    if (ydoc_node_kind(d, n) == kind)
        return SIM_OK;
    char found[YDOC_QUOTE_MAX + 8];
    ydoc_describe(d, n, found, sizeof found);
    if (key)
        return ydoc_error(d, n, st, "key '%s': expected %s, found %s", key, kind_noun(kind),
                          found);
    char place[256];
    ydoc_place(d, n, place, sizeof place);
    return ydoc_error(d, n, st, "%s: expected %s, found %s", place, kind_noun(kind), found);
}

/* ---- typed getters ------------------------------------------------------------------- */

/*
 * Finds key in map and requires a scalar there. *node is 0 (and SIM_OK returned) when the
 * key is absent and not required. expect completes "expected ..." in messages.
 */
static sim_code get_scalar(const ydoc *d, ynode map, const char *key, int required,
                           const char *expect, ynode *node, sim_status *st)
{
    char buf[256];
    *node = 0;
    if (ydoc_node_kind(d, map) != YDOC_MAP) {
        char found[YDOC_QUOTE_MAX + 8];
        ydoc_place(d, map, buf, sizeof buf);
        ydoc_describe(d, map, found, sizeof found);
        return ydoc_error(d, map, st, "%s: expected a mapping, found %s", buf, found);
    }
    ynode v = ydoc_map_get(d, map, key);
    if (!v) {
        if (!required)
            return SIM_OK;
        ydoc_place(d, map, buf, sizeof buf);
        return ydoc_error(d, map, st, "missing key '%s' in %s: expected %s", key, buf, expect);
    }
    if (ydoc_node_kind(d, v) != YDOC_SCALAR) {
        ydoc_describe(d, v, buf, sizeof buf);
        return ydoc_error(d, v, st, "key '%s': expected %s, found %s", key, expect, buf);
    }
    *node = v;
    return SIM_OK;
}

typedef sim_code (*unit_parser)(const char *text, double *out, char *why, size_t whyn);

/* Shared body of the getters whose value is a double parsed by a core/units.h function. */
static sim_code get_parsed(const ydoc *d, ynode map, const char *key, int required,
                           const char *expect, unit_parser parse, double *out, sim_status *st)
{
    ynode v;
    sim_code rc = get_scalar(d, map, key, required, expect, &v, st);
    if (rc != SIM_OK || !v)
        return rc;
    char why[SIM_STATUS_MSG_MAX / 2];
    double x = 0;
    if (parse(ydoc_scalar(d, v), &x, why, sizeof why) != SIM_OK)
        return ydoc_error(d, v, st, "key '%s': %s", key, why);
    *out = x;
    return SIM_OK;
}

sim_code ydoc_get_str(const ydoc *d, ynode map, const char *key, int required,
                      const char **out, sim_status *st)
{
    ynode v;
    sim_code rc = get_scalar(d, map, key, required, "a string", &v, st);
    if (rc != SIM_OK || !v)
        return rc;
    const char *s = ydoc_scalar(d, v);
    if (!s[0])
        return ydoc_error(d, v, st, "key '%s': expected a string, found an empty value", key);
    *out = s;
    return SIM_OK;
}

sim_code ydoc_get_bw(const ydoc *d, ynode map, const char *key, int required, double *out_Bps,
                     sim_status *st)
{
    return get_parsed(d, map, key, required, "a bandwidth such as '100 Gb/s'",
                      sim_units_parse_bw, out_Bps, st);
}

sim_code ydoc_get_time(const ydoc *d, ynode map, const char *key, int required,
                       int64_t *out_ps, sim_status *st)
{
    ynode v;
    sim_code rc = get_scalar(d, map, key, required, "a time such as '1 us'", &v, st);
    if (rc != SIM_OK || !v)
        return rc;
    char why[SIM_STATUS_MSG_MAX / 2];
    int64_t ps = 0;
    if (sim_units_parse_time(ydoc_scalar(d, v), &ps, why, sizeof why) != SIM_OK)
        return ydoc_error(d, v, st, "key '%s': %s", key, why);
    *out_ps = ps;
    return SIM_OK;
}

sim_code ydoc_get_bytes(const ydoc *d, ynode map, const char *key, int required,
                        double *out_bytes, sim_status *st)
{
    return get_parsed(d, map, key, required, "a size such as '80 GiB'", sim_units_parse_bytes,
                      out_bytes, st);
}

sim_code ydoc_get_flops(const ydoc *d, ynode map, const char *key, int required,
                        double *out_flops, sim_status *st)
{
    return get_parsed(d, map, key, required, "a compute rate such as '989.4 TFLOP/s'",
                      sim_units_parse_flops, out_flops, st);
}

sim_code ydoc_get_length(const ydoc *d, ynode map, const char *key, int required,
                         double *out_m, sim_status *st)
{
    return get_parsed(d, map, key, required, "a length such as '10 km'",
                      sim_units_parse_length, out_m, st);
}

sim_code ydoc_get_double(const ydoc *d, ynode map, const char *key, int required, double *out,
                         sim_status *st)
{
    return get_parsed(d, map, key, required, "a number such as '0.5'", sim_units_parse_number,
                      out, st);
}

sim_code ydoc_get_int(const ydoc *d, ynode map, const char *key, int required, int64_t lo,
                      int64_t hi, int64_t *out, sim_status *st)
{
    ynode v;
    sim_code rc = get_scalar(d, map, key, required, "an integer such as '8'", &v, st);
    if (rc != SIM_OK || !v)
        return rc;
    const char *s = ydoc_scalar(d, v);
    char q[YDOC_QUOTE_MAX + 8];
    quote_text(s, q, sizeof q);
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    size_t digits = strspn(s + i, "0123456789");
    if (!digits || s[i + digits] != '\0')
        return ydoc_error(d, v, st, "key '%s': expected an integer, found %s", key, q);
    errno = 0;
    long long x = strtoll(s, NULL, 10);
    if (errno == ERANGE || x < lo || x > hi)
        return ydoc_error(d, v, st, "key '%s': expected an integer in [%lld, %lld], found %s",
                          key, (long long)lo, (long long)hi, q);
    *out = (int64_t)x;
    return SIM_OK;
}

sim_code ydoc_get_bool(const ydoc *d, ynode map, const char *key, int required, int *out,
                       sim_status *st)
{
    /* YAML 1.1 spellings in the three usual cases. */
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                      "on", "On", "ON", NULL};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO",
                                     "off", "Off", "OFF", NULL};
    ynode v;
    sim_code rc = get_scalar(d, map, key, required, "true or false", &v, st);
    if (rc != SIM_OK || !v)
        return rc;
    const char *s = ydoc_scalar(d, v);
    for (size_t i = 0; yes[i]; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = 1;
            return SIM_OK;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = 0;
            return SIM_OK;
        }
    }
    char q[YDOC_QUOTE_MAX + 8];
    quote_text(s, q, sizeof q);
    return ydoc_error(d, v, st, "key '%s': expected true or false, found %s", key, q);
}

sim_code ydoc_get_enum(const ydoc *d, ynode map, const char *key, int required,
                       const char *what, const char *const *names, int *out, sim_status *st)
{
    const char *text = NULL;
    sim_code rc = ydoc_get_str(d, map, key, required, &text, st);
    if (rc != SIM_OK || !text)
        return rc;
    for (int i = 0; names[i]; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return SIM_OK;
        }
    char found[96], list[512];
    ynode v = ydoc_map_get(d, map, key);
    ydoc_describe(d, v, found, sizeof found);
    ydoc_join_words(names, list, sizeof list);
    const char *hint = ydoc_suggest(text, names);
    if (hint)
        return ydoc_error(d, v, st, "key '%s': unknown %s %s (did you mean '%s'?); expected "
                          "one of: %s", key, what, found, hint, list);
    return ydoc_error(d, v, st, "key '%s': unknown %s %s; expected one of: %s", key, what, found,
                      list);
}

sim_code ydoc_apply(ydoc *d, const ydoc_override *ov, size_t n, sim_status *st)
{
    sim_code rc = SIM_OK;
    for (size_t i = 0; i < n && rc == SIM_OK; i++)
        rc = ydoc_set(d, ov[i].path, ov[i].value, ov[i].origin, st);
    return rc;
}

sim_code ydoc_get_section(const ydoc *d, ynode map, const char *key, int required,
                          const char *const *allowed, ynode *out, sim_status *st)
{
    char place[256];
    *out = 0;
    ynode v = ydoc_map_get(d, map, key);
    if (!v) {
        if (!required)
            return SIM_OK;
        char keys[512];
        ydoc_join_words(allowed, keys, sizeof keys);
        ydoc_place(d, map, place, sizeof place);
        return ydoc_error(d, map, st, "missing key '%s' in %s: expected a mapping with keys %s",
                          key, place, keys);
    }
    sim_code rc = ydoc_expect(d, v, YDOC_MAP, key, st);
    if (rc != SIM_OK)
        return rc;
    ydoc_place(d, v, place, sizeof place);
    rc = ydoc_check_keys(d, v, place, allowed, st);
    if (rc != SIM_OK)
        return rc;
    *out = v;
    return SIM_OK;
}
