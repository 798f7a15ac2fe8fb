/*
 * ydoc_set.c: command-line overrides (--set KEY=VALUE) applied to a loaded document.
 *
 * New nodes are appended to libyaml's document; each records its origin, the override's
 * text, which stands for the file in messages about it since it has no line. After every
 * change the structure check of ydoc_load.c runs again, so parents and places cover the new
 * nodes.
 */
#include "core/ydoc.h"

#include <stdlib.h>
#include <string.h>

#include "core/vec.h"
#include "core/ydoc_int.h"

/* Records origin for node n (grows the table). 0 on NOMEM. */
static int set_origin(ydoc *d, ynode n, const char *origin)
{
    size_t need = (size_t)n + 1;
    if (need > d->origin.n) {
        if (sim_vec_reserve(&d->origin, need) != 0)
            return 0;
        while (d->origin.n < need)
            d->origin.v[d->origin.n++] = NULL;
    }
    char **slot = &d->origin.v[n];
    free(*slot);
    *slot = malloc(strlen(origin) + 1);
    if (!*slot)
        return 0;
    memcpy(*slot, origin, strlen(origin) + 1);
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
            for (; pair < m->data.mapping.pairs.top; pair++) {
                const char *k = ydoc__scalar_of(ydoc__node_at(d, pair->key));
                if (!strcmp(k ? k : "", key))
                    break;
            }
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
    return ydoc__check_structure(d, st);
}

sim_code ydoc_apply(ydoc *d, const ydoc_override *ov, size_t n, sim_status *st)
{
    sim_code rc = SIM_OK;
    for (size_t i = 0; i < n && rc == SIM_OK; i++)
        rc = ydoc_set(d, ov[i].path, ov[i].value, ov[i].origin, st);
    return rc;
}
