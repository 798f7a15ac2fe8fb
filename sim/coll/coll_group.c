/*
 * coll_group.c: what a collective group's membership alone decides (coll_int.h): its
 * member list, whether it lies in one scale-up domain with in-switch reduction, the box of
 * one torus it fills, and its hierarchy [member in domain][domain in site][site]. The torus
 * box is found when the group is made; the hierarchy on first use, since only hierarchical
 * algorithms walk it. Each box gives every member its rank along each box dimension, which
 * is how the torus and hierarchical phases place their rings.
 */
#include <stdlib.h>
#include <string.h>

#include "coll/coll_int.h"

void coll__group_free(coll_group *g)
{
    if (!g)
        return;
    free(g->chips);
    free(g->torus.rank_of);
    free(g->levels.rank_of);
    free(g->ring[0].uses);
    free(g->ring[1].uses);
    free(g);
}

/* Orders member indices by (site, domain, chip). */
typedef struct level_key {
    int64_t site, dom, chip;
    size_t i;
} level_key;

static int by_level(const void *a, const void *b)
{
    const level_key *x = a, *y = b;
    if (x->site != y->site)
        return x->site < y->site ? -1 : 1;
    if (x->dom != y->dom)
        return x->dom < y->dom ? -1 : 1;
    return x->chip < y->chip ? -1 : x->chip > y->chip;
}

/*
 * Hierarchical decomposition of g's members (n >= 2): a box [member in domain][domain in
 * site][site] when every site holds the same number of domains of the group and every
 * domain the same number of members, and at least two of the three sizes exceed one. Sets
 * g->levels (nd = 0 unless it applies). 1: it applies; 0: it does not; -1: no memory.
 */
static int make_levels(const topo *t, coll_group *grp)
{
    size_t n = grp->n;
    box *bx = &grp->levels;
    bx->nd = 0;
    level_key *k = malloc(n * sizeof *k);
    if (!k)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int32_t dom = topo_chip_domain(t, grp->chips[i]);
        k[i] = (level_key){(int64_t)topo_chip_site(t, grp->chips[i]),
                           dom >= 0 ? dom : -1 - (int64_t)grp->chips[i], grp->chips[i], i};
    }
    qsort(k, n, sizeof *k, by_level);
    /* ranks along the three levels, and the sizes they must share */
    int64_t G = 0, D = 0, S = 0, g = 0, d = 0, s = 0;
    int ok = 1, *rank = malloc(n * 3 * sizeof *rank);
    if (!rank) {
        free(k);
        return -1;
    }
    for (size_t a = 0; a < n && ok; a++) {
        int new_site = a == 0 || k[a].site != k[a - 1].site;
        int new_dom = new_site || k[a].dom != k[a - 1].dom;
        if (a > 0 && new_dom) { /* the domain before is complete */
            ok = G == 0 || G == g;
            G = g;
        }
        if (a > 0 && new_site) { /* the site before is complete */
            ok = ok && (D == 0 || D == d);
            D = d;
        }
        g = new_dom ? 1 : g + 1;
        d = new_site ? 1 : d + (new_dom ? 1 : 0);
        s += new_site ? 1 : 0;
        rank[k[a].i * 3 + 0] = (int)(g - 1);
        rank[k[a].i * 3 + 1] = (int)(d - 1);
        rank[k[a].i * 3 + 2] = (int)(s - 1);
    }
    ok = ok && (G == 0 || G == g) && (D == 0 || D == d);
    G = g;
    D = d;
    S = s;
    int sizes[3] = {(int)G, (int)D, (int)S};
    for (int q = 0; ok && q < 3; q++)
        if (sizes[q] > 1) {
            bx->tdim[bx->nd] = q;
            bx->tsize[bx->nd++] = sizes[q];
        }
    int rc = ok && bx->nd >= 2 && (size_t)(G * D * S) == n;
    if (rc) {
        free(bx->rank_of);
        bx->rank_of = malloc(n * 3 * sizeof *bx->rank_of);
        rc = bx->rank_of ? 1 : -1;
    }
    for (size_t i = 0; rc == 1 && i < n; i++)
        for (int j = 0; j < bx->nd; j++)
            bx->rank_of[i * 3 + (size_t)j] = rank[i * 3 + (size_t)bx->tdim[j]];
    if (rc != 1)
        bx->nd = 0;
    free(rank);
    free(k);
    return rc;
}

/*
 * Whether g's members fill a box of one torus: every combination of their per-dimension
 * coordinate values is a member. Sets g->torus (nd = 0 when they do not, or memory ran out).
 */
static void make_torus(const topo *t, coll_group *grp)
{
    box *bx = &grp->torus;
    bx->nd = 0;
    if (grp->n < 4)
        return;
    int coords[3], dims[3], nd0 = topo_chip_torus_coord(t, grp->chips[0], coords, dims);
    if (nd0 == 0)
        return;
    int32_t dom = topo_chip_domain(t, grp->chips[0]);
    unsigned char *seen[3] = {NULL, NULL, NULL};
    int ok = 1;
    for (int q = 0; q < nd0 && ok; q++)
        ok = (seen[q] = calloc((size_t)dims[q], 1)) != NULL;
    for (size_t i = 0; ok && i < grp->n; i++) {
        ok = topo_chip_domain(t, grp->chips[i]) == dom &&
             topo_chip_torus_coord(t, grp->chips[i], coords, dims) == nd0;
        for (int q = 0; ok && q < nd0; q++)
            seen[q][coords[q]] = 1;
    }
    /* rank of each value along each dimension; box size */
    int *rank[3] = {NULL, NULL, NULL};
    size_t box_n = 1;
    for (int q = 0; ok && q < nd0; q++) {
        rank[q] = malloc((size_t)dims[q] * sizeof *rank[q]);
        ok = rank[q] != NULL;
        int c = 0;
        for (int v = 0; ok && v < dims[q]; v++)
            rank[q][v] = seen[q][v] ? c++ : -1;
        if (ok && c > 1) {
            bx->tdim[bx->nd] = q;
            bx->tsize[bx->nd++] = c;
        }
        box_n *= (size_t)(c ? c : 1);
    }
    ok = ok && box_n == grp->n && bx->nd > 0;
    if (ok) {
        free(bx->rank_of);
        bx->rank_of = malloc(grp->n * 3 * sizeof *bx->rank_of);
        ok = bx->rank_of != NULL;
    }
    for (size_t i = 0; ok && i < grp->n; i++) {
        topo_chip_torus_coord(t, grp->chips[i], coords, dims);
        for (int j = 0; j < bx->nd; j++)
            bx->rank_of[i * 3 + (size_t)j] = rank[bx->tdim[j]][coords[bx->tdim[j]]];
    }
    if (!ok) /* not a box: no torus, whatever was filled in on the way */
        bx->nd = 0;
    for (int q = 0; q < 3; q++) {
        free(seen[q]);
        free(rank[q]);
    }
}

/* Members per domain when chips[0..n) come in equal runs of >= 2 members of one domain
 * each, over >= 2 domains in increasing order (coll_group.per_domain); else 0. */
static size_t domain_runs(const topo *t, const int32_t *chips, size_t n)
{
    size_t run = 0, len = 0, runs = 0;
    int32_t prev = -1;
    for (size_t i = 0; i < n; i++) {
        int32_t dom = topo_chip_domain(t, chips[i]);
        if (dom < 0 || dom < prev)
            return 0;
        if (i > 0 && dom == prev) {
            len++;
            continue;
        }
        if (i > 0 && run == 0) /* the first run ends: its length is every run's */
            run = len;
        else if (i > 0 && len != run)
            return 0;
        runs++;
        len = 1;
        prev = dom;
    }
    if (runs < 2 || len != run || run < 2)
        return 0;
    return run;
}

int coll__group_make(const topo *t, const int32_t *chips, size_t n, coll_group **out)
{
    coll_group *g = calloc(1, sizeof *g);
    if (g)
        g->chips = malloc((n ? n : 1) * sizeof *g->chips);
    if (!g || !g->chips) {
        coll__group_free(g);
        return -1;
    }
    if (n)
        memcpy(g->chips, chips, n * sizeof *chips);
    g->n = n;
    g->one_domain = true;
    g->sharp = n > 0 && topo_chip_in_switch_reduction(t, chips[0]);
    for (size_t i = 1; i < n; i++)
        g->one_domain &= topo_chip_domain(t, chips[i]) == topo_chip_domain(t, chips[0]) &&
                         topo_chip_domain(t, chips[0]) >= 0;
    g->per_domain = domain_runs(t, chips, n);
    make_torus(t, g);
    *out = g;
    return 0;
}

/* The hierarchy of g, computed on first use (again next time when memory ran out: the
 * collective then runs as a ring, as it would have). */
const box *coll__group_levels(const topo *t, coll_group *g)
{
    if (!g->levels_known && make_levels(t, g) >= 0)
        g->levels_known = true;
    return &g->levels;
}

