/*
 * ydoc_int.h: what the files of the ydoc module share; only sim/core/ydoc*.c include it.
 * ydoc_load.c loads a document and checks it once, ydoc.c navigates it and words messages,
 * ydoc_set.c applies command-line overrides to it, ydoc_get.c holds the typed getters.
 *
 * The ydoc keeps libyaml's yaml_document_t as is: a node handle is libyaml's node index
 * (1-based, 0 = none), so the public ynode needs no translation table. After a successful
 * load (and after every ydoc_set) the root exists, every node reachable from it has a
 * parent entry (the root's is 0), and the node graph is acyclic (see ydoc_load.c).
 */
#ifndef SIM_YDOC_INT_H
#define SIM_YDOC_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "core/vec.h"
#include "core/ydoc.h"

/* Deepest nesting accepted, counting levels reached through aliases. */
#define YDOC_MAX_DEPTH 64
/* Scalars longer than this are elided in messages. */
#define YDOC_QUOTE_MAX 60

struct ydoc {
    yaml_document_t doc;
    bool has_doc;  /* doc must be deleted */
    char *file;    /* owned copy of the name */
    int n_nodes;
    ynode *parent; /* [n_nodes + 1]: first parent found from the root, 0 for the root */
    size_t *pos;   /* [n_nodes + 1]: item index in a list or pair index in a mapping */
    unsigned char *is_key; /* [n_nodes + 1]: node was reached as a mapping key */
    SIM_VEC(char *) origin; /* by node, NULL past its end: the override that made a node */
};

static inline int ydoc__mark_to_int(size_t v)
{
    return v >= (size_t)INT_MAX ? INT_MAX : (int)v + 1;
}

static inline const yaml_node_t *ydoc__node_at(const ydoc *d, ynode n)
{
    if (!d || !d->has_doc || n < 1 || n > d->n_nodes)
        return NULL;
    return d->doc.nodes.start + (n - 1);
}

static inline const char *ydoc__scalar_of(const yaml_node_t *y)
{
    return y && y->type == YAML_SCALAR_NODE ? (const char *)y->data.scalar.value : NULL;
}

/* The override that created node n (ydoc_set), or NULL for nodes read from the file. */
static inline const char *ydoc__origin_of(const ydoc *d, ynode n)
{
    return d && n > 0 && (size_t)n < d->origin.n ? d->origin.v[n] : NULL;
}

/*
 * Writes text in single quotes into buf, elided to YDOC_QUOTE_MAX bytes (cut at a UTF-8
 * character boundary) so that a long value cannot crowd the rest of a message out.
 */
void ydoc__quote_text(const char *text, char *buf, size_t len);

/*
 * The depth-first walk from the root of ydoc_load.c's check 3: (re)builds d->parent, pos and
 * is_key (which must be NULL) and refuses NUL bytes, alias cycles, deep nesting and alias
 * expansion. SIM_ERR_INPUT located at the offending node, SIM_ERR_NOMEM.
 */
sim_code ydoc__check_structure(ydoc *d, sim_status *st);

#endif
