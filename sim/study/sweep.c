/*
 * sweep.c: the grid of a sweep (see sweep.h for the section's syntax and the points' names).
 *
 * The grid keeps every swept value as override text (vals[k][i]: the i-th value of key k),
 * and a point is only its index: value_of turns it into one value index per key, the last
 * key varying fastest for product, all keys together for zip. The buffers a point is
 * written into (its overrides, their origins, its name) are sized at load for the longest
 * value of every key, so study_grid_point cannot fail.
 */
#include "study/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"
#include "out/db.h"

struct study_grid {
    char **keys;  /* swept keys */
    char ***vals; /* vals[k][i]: i-th value of key k */
    size_t *nvals;
    size_t nkeys, npoints;
    int zip;
    char db[1024]; /* the config's output.db resolved against it; "" when it has none */
    const char *config;        /* borrowed */
    const ydoc_override *base; /* borrowed: the sweep-wide overrides */
    size_t n_base;
    ydoc_override *pov; /* a point's overrides: base, then one per key */
    char *origins;      /* their "sweep key=value" origins, orig_len bytes */
    size_t orig_len;
    char *name; /* a point's name, name_len bytes */
    size_t name_len;
};

static char *copy_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void study_grid_destroy(study_grid *g)
{
    if (!g)
        return;
    for (size_t k = 0; k < g->nkeys; k++) {
        free(g->keys[k]);
        for (size_t i = 0; g->vals && i < g->nvals[k]; i++)
            free(g->vals[k][i]);
        free(g->vals ? g->vals[k] : NULL);
    }
    free(g->keys);
    free(g->vals);
    free(g->nvals);
    free(g->pov);
    free(g->origins);
    free(g->name);
    free(g);
}

/* A swept value as override text: a scalar as it is, a list of scalars as "[a, b]"; NULL
 * for anything else (a mapping, a list holding one) or when out of memory. */
static char *value_text(const ydoc *d, ynode v)
{
    if (ydoc_node_kind(d, v) == YDOC_SCALAR)
        return copy_str(ydoc_scalar(d, v));
    if (ydoc_node_kind(d, v) != YDOC_SEQ)
        return NULL;
    size_t n = ydoc_seq_len(d, v), len = 3;
    for (size_t i = 0; i < n; i++) {
        const char *s = ydoc_scalar(d, ydoc_seq_at(d, v, i));
        if (!s)
            return NULL;
        len += strlen(s) + 2;
    }
    char *out = malloc(len);
    if (!out)
        return NULL;
    strcpy(out, "[");
    for (size_t i = 0; i < n; i++) {
        strcat(out, ydoc_scalar(d, ydoc_seq_at(d, v, i)));
        if (i + 1 < n)
            strcat(out, ", ");
    }
    strcat(out, "]");
    return out;
}

/* Reads the values v of swept key (the next of g's keys). */
static sim_code load_key(const ydoc *d, const char *key, ynode v, study_grid *g,
                         sim_status *st)
{
    size_t m = ydoc_seq_len(d, v);
    char found[96];
    if (ydoc_node_kind(d, v) != YDOC_SEQ || m == 0) {
        ydoc_describe(d, v, found, sizeof found);
        return ydoc_error(d, v, st, "key '%s': expected a non-empty list of values, found %s",
                          key, found);
    }
    size_t k = g->nkeys;
    g->keys[k] = copy_str(key);
    g->vals[k] = calloc(m, sizeof *g->vals[k]);
    g->nkeys++;
    if (!g->keys[k] || !g->vals[k])
        return sim_status_set(st, SIM_ERR_NOMEM, g->config, 0, 0, "out of memory");
    g->nvals[k] = m;
    for (size_t j = 0; j < m; j++) {
        ynode item = ydoc_seq_at(d, v, j);
        if (!(g->vals[k][j] = value_text(d, item))) {
            ydoc_describe(d, item, found, sizeof found);
            return ydoc_error(d, item, st,
                              "key '%s': expected a value or a list of values, found %s", key,
                              found);
        }
    }
    if (g->zip && g->nvals[k] != g->nvals[0])
        return ydoc_error(d, v, st,
                          "key '%s': zip needs lists of equal length: %zu values here, %zu "
                          "for '%s'", key, g->nvals[k], g->nvals[0], g->keys[0]);
    return SIM_OK;
}

/* Reads the keys of the sweep mapping sw (mode already read) into g. */
static sim_code load_keys(const ydoc *d, ynode sw, study_grid *g, sim_status *st)
{
    size_t n = ydoc_map_len(d, sw);
    g->keys = calloc(n ? n : 1, sizeof *g->keys);
    g->vals = calloc(n ? n : 1, sizeof *g->vals);
    g->nvals = calloc(n ? n : 1, sizeof *g->nvals);
    if (!g->keys || !g->vals || !g->nvals)
        return sim_status_set(st, SIM_ERR_NOMEM, g->config, 0, 0, "out of memory");
    sim_code rc = SIM_OK;
    for (size_t i = 0; rc == SIM_OK && i < n; i++) {
        ynode kn = ydoc_map_key_at(d, sw, i);
        const char *key = ydoc_scalar(d, kn);
        if (!key) {
            char found[96];
            ydoc_describe(d, kn, found, sizeof found);
            return ydoc_error(d, kn, st, "key 'sweep': expected dotted keys such as "
                              "parallelism.tp, found %s", found);
        }
        if (strcmp(key, "mode") != 0)
            rc = load_key(d, key, ydoc_map_value_at(d, sw, i), g, st);
    }
    return rc;
}

/* The number of points of g's keys, or an error at sw when there are none or too many. */
static sim_code count_points(const ydoc *d, ynode sw, study_grid *g, sim_status *st)
{
    if (g->nkeys == 0)
        return ydoc_error(d, sw, st, "key 'sweep': expected at least one key with a list of "
                          "values");
    g->npoints = g->zip ? g->nvals[0] : 1;
    for (size_t k = 0; !g->zip && k < g->nkeys; k++) {
        if (g->npoints > STUDY_SWEEP_MAX_POINTS / g->nvals[k])
            return ydoc_error(d, sw, st, "key 'sweep': expected at most %d points, found a "
                              "grid of more (split it, or sweep fewer values)",
                              STUDY_SWEEP_MAX_POINTS);
        g->npoints *= g->nvals[k];
    }
    return SIM_OK;
}

/* Sizes and allocates the buffers a point is written into (see study_grid_point). */
static sim_code alloc_point(study_grid *g, sim_status *st)
{
    g->orig_len = 1;
    g->name_len = strlen(g->config) + 2;
    for (size_t i = 0; i < g->n_base; i++)
        g->name_len += strlen(g->base[i].path) + strlen(g->base[i].value) + 2;
    for (size_t k = 0; k < g->nkeys; k++) {
        size_t longest = 0;
        for (size_t i = 0; i < g->nvals[k]; i++)
            longest = strlen(g->vals[k][i]) > longest ? strlen(g->vals[k][i]) : longest;
        g->orig_len += strlen("sweep =") + strlen(g->keys[k]) + longest + 1;
        g->name_len += strlen(g->keys[k]) + longest + 2;
    }
    g->pov = malloc((g->n_base + g->nkeys) * sizeof *g->pov);
    g->origins = malloc(g->orig_len);
    g->name = malloc(g->name_len);
    if (!g->pov || !g->origins || !g->name)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    return SIM_OK;
}

/* The sweep section of the document d of g's config (overrides applied), into g. */
static sim_code load_section(const ydoc *d, study_grid *g, sim_status *st)
{
    static const char *const modes[] = {"product", "zip", NULL};
    ynode root = ydoc_root(d), sw = 0;
    int mode = 0;
    sim_code rc = ydoc_expect(d, root, YDOC_MAP, NULL, st);
    if (rc == SIM_OK && !(sw = ydoc_map_get(d, root, "sweep")))
        rc = ydoc_error(d, root, st,
                        "missing key 'sweep' in the document: expected a mapping of dotted "
                        "keys to lists of values, such as {parallelism.tp: [2, 4, 8]}");
    if (rc == SIM_OK)
        rc = ydoc_expect(d, sw, YDOC_MAP, "sweep", st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, sw, "mode", 0, "sweep mode", modes, &mode, st);
    g->zip = mode == 1;
    if (rc == SIM_OK)
        rc = load_keys(d, sw, g, st);
    ynode out = rc == SIM_OK ? ydoc_map_get(d, root, "output") : 0;
    const char *dbv = out ? ydoc_scalar(d, ydoc_map_get(d, out, "db")) : NULL;
    if (dbv)
        sim_path_join(g->config, dbv, g->db, sizeof g->db);
    if (rc == SIM_OK)
        rc = count_points(d, sw, g, st);
    return rc;
}

sim_code study_grid_load(const char *config, const ydoc_override *base, size_t n_base,
                         study_grid **out, sim_status *st)
{
    ydoc *d = NULL;
    *out = NULL;
    study_grid *g = calloc(1, sizeof *g);
    if (!g)
        return sim_status_set(st, SIM_ERR_NOMEM, config, 0, 0, "out of memory");
    g->config = config;
    g->base = base;
    g->n_base = n_base;
    sim_code rc = ydoc_load_file(config, &d, st);
    if (rc == SIM_OK)
        rc = ydoc_apply(d, base, n_base, st);
    if (rc == SIM_OK)
        rc = load_section(d, g, st);
    if (rc == SIM_OK)
        rc = alloc_point(g, st);
    ydoc_destroy(d);
    if (rc != SIM_OK)
        study_grid_destroy(g);
    else
        *out = g;
    return rc;
}

size_t study_grid_points(const study_grid *g)
{
    return g->npoints;
}

const char *study_grid_db(const study_grid *g)
{
    return g->db;
}

/* The value index of key k in point p. */
static size_t value_of(const study_grid *g, size_t p, size_t k)
{
    if (g->zip)
        return p;
    for (size_t j = g->nkeys; j-- > k + 1;)
        p /= g->nvals[j];
    return p % g->nvals[k];
}

const char *study_grid_point(study_grid *g, size_t p, const ydoc_override **ov, size_t *n_ov)
{
    size_t nb = g->n_base, used = 0;
    for (size_t i = 0; i < nb; i++)
        g->pov[i] = g->base[i];
    for (size_t k = 0; k < g->nkeys; k++) {
        const char *v = g->vals[k][value_of(g, p, k)];
        int w = snprintf(g->origins + used, g->orig_len - used, "sweep %s=%s", g->keys[k], v);
        g->pov[nb + k] = (ydoc_override){g->keys[k], v, g->origins + used};
        used += (size_t)(w > 0 ? w : 0) + 1;
        if (used >= g->orig_len)
            used = g->orig_len - 1;
    }
    char *name = g->name;
    strcpy(name, g->config);
    for (size_t i = 0; i < nb; i++) {
        strcat(name, "|");
        strcat(name, g->base[i].path);
        strcat(name, "=");
        strcat(name, g->base[i].value);
    }
    for (size_t k = 0; k < g->nkeys; k++) {
        strcat(name, "|");
        strcat(name, g->keys[k]);
        strcat(name, "=");
        strcat(name, g->vals[k][value_of(g, p, k)]);
    }
    *ov = g->pov;
    *n_ov = nb + g->nkeys;
    return name;
}

int study_grid_in_shard(size_t p, size_t shard_i, size_t shard_n)
{
    return p % shard_n == shard_i - 1;
}

static int cmp_str(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x ? x : "", y ? y : "");
}

sim_code study_grid_pending(study_grid *g, const char *db_path, size_t shard_i, size_t shard_n,
                            unsigned char *todo, size_t *pending, size_t *skipped,
                            sim_status *st)
{
    db *d = NULL;
    char **done = NULL;
    size_t n_done = 0;
    *pending = *skipped = 0;
    sim_code rc = db_open(db_path, &d, st);
    if (rc == SIM_OK)
        rc = db_query_texts(d, "SELECT value FROM sweep_param WHERE key = '_point'", &done,
                            &n_done, st);
    db_close(d);
    if (rc != SIM_OK)
        return rc;
    if (n_done) /* qsort and bsearch take no NULL array, even empty */
        qsort(done, n_done, sizeof *done, cmp_str);
    for (size_t p = 0; p < g->npoints; p++) {
        const ydoc_override *ov;
        size_t n_ov;
        todo[p] = (unsigned char)study_grid_in_shard(p, shard_i, shard_n);
        if (!todo[p])
            continue;
        const char *name = study_grid_point(g, p, &ov, &n_ov);
        if (n_done && bsearch(&name, done, n_done, sizeof *done, cmp_str)) {
            todo[p] = 0;
            ++*skipped;
        }
        *pending += todo[p];
    }
    db_free_texts(done, n_done);
    return SIM_OK;
}
