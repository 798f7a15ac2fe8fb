/*
 * ydoc_load.c: YAML documents loaded with libyaml's document API, checked once at load.
 *
 * Loading is one pass of yaml_parser_load plus three checks that make every later walk safe
 * and every later message precise:
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

#include "core/vec.h"
#include "core/ydoc_int.h"

/* Aliases may expand the tree to this many nodes beyond the nodes written in the file. */
#define YDOC_MAX_EXPANSION 1000000.0

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
    int line = ydoc__mark_to_int(p->problem_mark.line);
    int col = ydoc__mark_to_int(p->problem_mark.column);
    if (p->context)
        return error_at(name, line, col, st, "syntax error: %s (%s at line %d)", problem,
                        p->context, ydoc__mark_to_int(p->context_mark.line));
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
    SIM_VEC(key_ref) refs = {0}; /* the scalar keys of one mapping */
    for (ynode n = 1; n <= d->n_nodes && rc == SIM_OK; n++) {
        const yaml_node_t *y = ydoc__node_at(d, n);
        if (y->type != YAML_MAPPING_NODE)
            continue;
        size_t np = (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
        if (np < 2)
            continue;
        if (sim_vec_reserve(&refs, np) != 0) {
            rc = sim_status_set(st, SIM_ERR_NOMEM, d->file, 0, 0, "out of memory checking keys");
            break;
        }
        const key_ref *r = refs.v;
        size_t k = 0;
        for (size_t i = 0; i < np; i++) {
            const char *t = ydoc__scalar_of(ydoc__node_at(d, y->data.mapping.pairs.start[i].key));
            if (t)
                refs.v[k++] = (key_ref){t, i};
        }
        qsort(refs.v, k, sizeof *refs.v, key_ref_cmp);
        size_t best = SIZE_MAX, first = 0;
        for (size_t i = 1; i < k; i++) {
            if (strcmp(r[i].text, r[i - 1].text) == 0 && r[i].pos < best &&
                (i < 2 || strcmp(r[i - 2].text, r[i].text) != 0)) {
                best = r[i].pos;
                first = r[i - 1].pos;
            }
        }
        if (best != SIZE_MAX) {
            ynode dup = y->data.mapping.pairs.start[best].key;
            ynode orig = y->data.mapping.pairs.start[first].key;
            char q[YDOC_QUOTE_MAX + 8];
            ydoc__quote_text(ydoc_scalar(d, dup), q, sizeof q);
            rc = ydoc_error(d, dup, st, "duplicate key %s (first at line %d)", q,
                            ydoc_line(d, orig));
        }
    }
    sim_vec_free(&refs);
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
 * Depth-first walk from the root (see the file comment and ydoc_int.h). height[n] is the
 * longest chain of nodes from n down, expand[n] the number of nodes n stands for once
 * aliases are expanded.
 */
sim_code ydoc__check_structure(ydoc *d, sim_status *st)
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
        const yaml_node_t *y = ydoc__node_at(d, f->node);
        if (y->type == YAML_SCALAR_NODE && strlen(ydoc__scalar_of(y)) != y->data.scalar.length) {
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
    const yaml_node_t *r = ydoc__node_at(d, 1);
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
    d->has_doc = true;
    long count = (long)(d->doc.nodes.top - d->doc.nodes.start);
    if (count >= INT_MAX) {
        rc = sim_status_set(st, SIM_ERR_LIMIT, name, 0, 0, "too many YAML nodes");
        goto done;
    }
    d->n_nodes = (int)count;
    if (is_empty_document(d)) {
        const yaml_node_t *r = ydoc__node_at(d, 1);
        rc = error_at(name, r ? ydoc__mark_to_int(r->start_mark.line) : 1,
                      r ? ydoc__mark_to_int(r->start_mark.column) : 1, st,
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
        rc = error_at(name, ydoc__mark_to_int(extra_mark.line),
                      ydoc__mark_to_int(extra_mark.column), st,
                      "expected one document, found a second one");
        goto done;
    }
    rc = check_duplicates(d, st);
    if (rc == SIM_OK)
        rc = ydoc__check_structure(d, st);
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
    SIM_VEC(char) buf = {0}; /* the file's bytes in buf.v[0..buf.n) */
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
        /* 64 KiB first, then doubling */
        if (buf.n == buf.cap && sim_vec_reserve(&buf, buf.cap ? buf.cap + 1 : 65536) != 0) {
            rc = sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory reading '%s'",
                                path);
            goto done;
        }
        size_t got = fread(buf.v + buf.n, 1, buf.cap - buf.n, f);
        buf.n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rc = sim_status_set(st, SIM_ERR_IO, path, 0, 0, "cannot read '%s': %s", path,
                            strerror(errno));
        goto done;
    }
    rc = ydoc_load_string(path, buf.v, buf.n, out, st);
done:
    if (f)
        fclose(f);
    sim_vec_free(&buf);
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
    for (size_t i = 0; i < d->origin.n; i++)
        free(d->origin.v[i]);
    sim_vec_free(&d->origin);
    free(d);
}

