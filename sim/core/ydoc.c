/*
 * ydoc.c: walking a loaded YAML document (kinds, scalars, lists, mappings, places) and the
 * messages about its nodes: located errors, key checks with did-you-mean hints.
 *
 * Every message this file writes is located at a node's start mark, 1-based; a node made
 * by an override (ydoc_set.c) has no mark and is located at the override's text instead.
 * Loading is in ydoc_load.c, overrides in ydoc_set.c, typed getters in ydoc_get.c.
 */
#include "core/ydoc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/ydoc_int.h"

/* Longest key for which a did-you-mean suggestion is computed. */
#define YDOC_SUGGEST_MAX 64

void ydoc__quote_text(const char *text, char *buf, size_t len)
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

/* ---- navigation ---------------------------------------------------------------------- */

const char *ydoc_file(const ydoc *d)
{
    return d->file;
}

ynode ydoc_root(const ydoc *d)
{
    return ydoc__node_at(d, 1) ? 1 : 0;
}

ydoc_kind ydoc_node_kind(const ydoc *d, ynode n)
{
    const yaml_node_t *y = ydoc__node_at(d, n);
    if (!y)
        return YDOC_NONE;
    switch (y->type) {
    case YAML_SCALAR_NODE: return YDOC_SCALAR;
    case YAML_SEQUENCE_NODE: return YDOC_SEQ;
    case YAML_MAPPING_NODE: return YDOC_MAP;
    default: return YDOC_NONE;
    }
}

int ydoc_line(const ydoc *d, ynode n)
{
    const yaml_node_t *y = ydoc__node_at(d, n);
    return y && !ydoc__origin_of(d, n) ? ydoc__mark_to_int(y->start_mark.line) : 0;
}

int ydoc_col(const ydoc *d, ynode n)
{
    const yaml_node_t *y = ydoc__node_at(d, n);
    return y && !ydoc__origin_of(d, n) ? ydoc__mark_to_int(y->start_mark.column) : 0;
}

void ydoc_describe(const ydoc *d, ynode n, char *buf, size_t len)
{
    const yaml_node_t *y = ydoc__node_at(d, n);
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
        ydoc__quote_text(ydoc__scalar_of(y), buf, len);
}

void ydoc_place(const ydoc *d, ynode n, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = '\0';
    if (!ydoc__node_at(d, n)) {
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
        const yaml_node_t *py = ydoc__node_at(d, p);
        int w;
        if (!py)
            break;
        if (py->type == YAML_SEQUENCE_NODE) {
            w = snprintf(buf + used, len - used, "[%zu]", d->pos[m]);
        } else {
            ynode key = py->data.mapping.pairs.start[d->pos[m]].key;
            const char *k = ydoc__scalar_of(ydoc__node_at(d, key));
            w = snprintf(buf + used, len - used, "%s%s", used ? "." : "", k ? k : "?");
        }
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

const char *ydoc_scalar(const ydoc *d, ynode n)
{
    return ydoc__scalar_of(ydoc__node_at(d, n));
}

size_t ydoc_seq_len(const ydoc *d, ynode n)
{
    const yaml_node_t *y = ydoc__node_at(d, n);
    if (!y || y->type != YAML_SEQUENCE_NODE)
        return 0;
    return (size_t)(y->data.sequence.items.top - y->data.sequence.items.start);
}

ynode ydoc_seq_at(const ydoc *d, ynode n, size_t i)
{
    if (i >= ydoc_seq_len(d, n))
        return 0;
    return ydoc__node_at(d, n)->data.sequence.items.start[i];
}

size_t ydoc_map_len(const ydoc *d, ynode n)
{
    const yaml_node_t *y = ydoc__node_at(d, n);
    if (!y || y->type != YAML_MAPPING_NODE)
        return 0;
    return (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
}

ynode ydoc_map_key_at(const ydoc *d, ynode n, size_t i)
{
    if (i >= ydoc_map_len(d, n))
        return 0;
    return ydoc__node_at(d, n)->data.mapping.pairs.start[i].key;
}

ynode ydoc_map_value_at(const ydoc *d, ynode n, size_t i)
{
    if (i >= ydoc_map_len(d, n))
        return 0;
    return ydoc__node_at(d, n)->data.mapping.pairs.start[i].value;
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
    const char *file = ydoc__origin_of(d, n) ? ydoc__origin_of(d, n) : d ? d->file : NULL;
    return sim_status_set(st, SIM_ERR_INPUT, file, ydoc_line(d, n), ydoc_col(d, n), "%s", msg);
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
        ydoc__quote_text(text, found, sizeof found);
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
