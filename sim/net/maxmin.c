/*
 * maxmin.c: incremental and naive weighted max-min solvers.
 *
 * Constraint records hold a contiguous array of their users (swap-removed; each element
 * remembers its position there) and the scratch of a solve: remaining capacity rem, unfixed
 * weight sumw and unfixed count nunf. Visit stamps (epoch) make "not yet seen in this solve"
 * an O(1) test without clearing anything.
 *
 * Incremental solve of one component, in O(E log L) for E elements over L links:
 *   1. collect the component by breadth-first search from a modified link;
 *   2. every link gets rem = capacity, sumw = sum of its users' weights, key = rem / sumw;
 *   3. repeatedly take the smaller of the lowest key and the lowest unfixed bound; fix the
 *      variables of that link (or that variable) at level max(key, previous level),
 *      subtracting w * rate from each link they cross.
 * Fixing a variable at level r <= s never lowers the share s of a link it crosses:
 * (rem - w r) / (sumw - w) >= rem / sumw exactly when r <= s. So levels are monotone, ties
 * resolve in one pass without an epsilon, and keys only rise: the heap is lazy. A link's
 * key is refreshed only when it reaches the top (a stale key is a lower bound), which makes
 * fixing a variable O(1) and the whole fill O(E + L log L) in the common case.
 */
#include "net/maxmin.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"

#define RATE_REL_TOL 1e-12
#define NAIVE_TIE_TOL 1e-12

typedef struct mm_user {
    net_mm_var *var;
    uint32_t k; /* index of this usage in var->elems (its weight is there) */
} mm_user;

/* 64 bytes: one cache line per link. */
typedef struct mm_cnst {
    double cap;
    double rem, sumw;
    SIM_VEC(mm_user) users; /* contiguous: a link's users are scanned sequentially */
    uint64_t epoch;
    uint32_t nunf;
    bool modified;
} mm_cnst;

typedef struct mm_hent {
    double key;
    int32_t id;
} mm_hent;

typedef struct bound_ent {
    double bound;
    uint32_t order;
    net_mm_var *var;
} bound_ent;

struct net_mm_system {
    size_t n_cnst;
    mm_cnst *c;
    int32_t *mod;
    size_t n_mod;
    SIM_VEC(net_mm_var *) active;
    /* scratch sized to n_cnst, or reserved as far as active (so a solve never allocates):
     * comp_v and bounded hold the variables and bounds of the component being solved */
    int32_t *comp_c;
    SIM_VEC(net_mm_var *) comp_v;
    mm_hent *heap;
    size_t n_heap;
    SIM_VEC(bound_ent) bounded;
    uint64_t epoch;
    bool naive;
    net_mm_stats stats;
};

sim_code net_mm_create(size_t n_cnst, const double *cap_Bps, int naive, net_mm_system **out,
                       sim_status *st)
{
    net_mm_system *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    s->n_cnst = n_cnst;
    s->naive = naive;
    size_t n = n_cnst ? n_cnst : 1;
    s->c = calloc(n, sizeof *s->c);
    s->mod = malloc(n * sizeof *s->mod);
    s->comp_c = malloc(n * sizeof *s->comp_c);
    s->heap = malloc(n * sizeof *s->heap);
    if (!s->c || !s->mod || !s->comp_c || !s->heap)
        goto nomem;
    for (size_t i = 0; i < n_cnst; i++) {
        assert(cap_Bps[i] > 0);
        s->c[i].cap = cap_Bps[i];
    }
    *out = s;
    return SIM_OK;
nomem:
    net_mm_destroy(s);
    return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0,
                          "out of memory for a sharing system of %zu links", n_cnst);
}

void net_mm_destroy(net_mm_system *s)
{
    if (!s)
        return;
    if (s->c)
        for (size_t i = 0; i < s->n_cnst; i++)
            sim_vec_free(&s->c[i].users);
    free(s->c);
    free(s->mod);
    free(s->comp_c);
    free(s->heap);
    sim_vec_free(&s->active);
    sim_vec_free(&s->comp_v);
    sim_vec_free(&s->bounded);
    free(s);
}

static void mark_modified(net_mm_system *s, int32_t c)
{
    if (!s->c[c].modified) {
        s->c[c].modified = true;
        s->mod[s->n_mod++] = c;
    }
}

sim_code net_mm_reserve(net_mm_system *s, size_t n, sim_status *st)
{
    if (n <= s->active.cap && n <= s->comp_v.cap && n <= s->bounded.cap)
        return SIM_OK;
    if (sim_vec_reserve(&s->active, n) != 0 || sim_vec_reserve(&s->comp_v, n) != 0 ||
        sim_vec_reserve(&s->bounded, n) != 0)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0,
                              "out of memory for %zu concurrent transfers", n);
    return SIM_OK;
}

sim_code net_mm_var_enable(net_mm_system *s, net_mm_var *var, sim_status *st)
{
    assert(!var->enabled && var->n_elems > 0);
    sim_code rc = net_mm_reserve(s, s->active.n + 1, st);
    if (rc != SIM_OK)
        return rc;
    var->active_idx = (uint32_t)s->active.n;
    s->active.v[s->active.n++] = var;
    var->enabled = true;
    var->rate = 0;
    var->epoch = 0;
    for (uint32_t i = 0; i < var->n_elems; i++) {
        net_mm_elem *e = &var->elems[i];
        assert(e->cnst >= 0 && (size_t)e->cnst < s->n_cnst && e->w > 0);
        mm_cnst *c = &s->c[e->cnst];
        e->var = var;
        e->pos = (uint32_t)c->users.n;
        /* most links carry a few users: 4 first (then doubling), not the vector's 8 */
        if ((!c->users.cap && sim_vec_reserve_exact(&c->users, 4) != 0) ||
            sim_vec_push(&c->users, ((mm_user){var, i})) != 0) {
            /* undo the usages added so far, leave var disabled */
            for (uint32_t j = 0; j < i; j++)
                s->c[var->elems[j].cnst].users.n--;
            s->active.n--;
            var->enabled = false;
            return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0,
                                  "out of memory for the users of a link");
        }
        mark_modified(s, e->cnst);
    }
    return SIM_OK;
}

void net_mm_var_disable(net_mm_system *s, net_mm_var *var)
{
    if (!var->enabled)
        return;
    for (uint32_t i = 0; i < var->n_elems; i++) {
        net_mm_elem *e = &var->elems[i];
        mm_cnst *c = &s->c[e->cnst];
        mm_user last = c->users.v[--c->users.n];
        if (e->pos != c->users.n) {
            c->users.v[e->pos] = last;
            last.var->elems[last.k].pos = e->pos;
        }
        mark_modified(s, e->cnst);
    }
    net_mm_var *last = s->active.v[--s->active.n];
    s->active.v[var->active_idx] = last;
    last->active_idx = var->active_idx;
    var->enabled = false;
}

void net_mm_cnst_set_capacity(net_mm_system *s, int32_t cnst, double cap_Bps)
{
    assert(cap_Bps > 0);
    s->c[cnst].cap = cap_Bps;
    mark_modified(s, cnst);
}

double net_mm_cnst_capacity(const net_mm_system *s, int32_t cnst) { return s->c[cnst].cap; }
double net_mm_cnst_load(const net_mm_system *s, int32_t cnst)
{
    double load = 0;
    const mm_cnst *c = &s->c[cnst];
    for (size_t i = 0; i < c->users.n; i++) {
        const net_mm_var *v = c->users.v[i].var;
        load += v->elems[c->users.v[i].k].w * v->rate;
    }
    return load;
}
size_t net_mm_cnst_users(const net_mm_system *s, int32_t cnst) { return s->c[cnst].users.n; }
int net_mm_dirty(const net_mm_system *s) { return s->n_mod != 0; }
const net_mm_stats *net_mm_get_stats(const net_mm_system *s) { return &s->stats; }

/* ---- 4-ary min-heap of (share, link) entries ----
 * The heap is lazy (see the file comment): entries are only pushed in a batch, then the
 * top is popped or has its key raised, so entries carry their key inline and no link needs
 * to know its position. Ties break by link id: deterministic. */

static inline int hent_less(const mm_hent *a, const mm_hent *b)
{
    return a->key < b->key || (a->key == b->key && a->id < b->id);
}

static void heap_down(net_mm_system *s, size_t i)
{
    mm_hent x = s->heap[i];
    size_t n = s->n_heap;
    for (;;) {
        size_t ch = 4 * i + 1;
        if (ch >= n)
            break;
        size_t best = ch, end = ch + 4 < n ? ch + 4 : n;
        for (size_t k = ch + 1; k < end; k++)
            if (hent_less(&s->heap[k], &s->heap[best]))
                best = k;
        if (!hent_less(&s->heap[best], &x))
            break;
        s->heap[i] = s->heap[best];
        i = best;
    }
    s->heap[i] = x;
}

static void heap_pop(net_mm_system *s)
{
    s->heap[0] = s->heap[--s->n_heap];
    if (s->n_heap)
        heap_down(s, 0);
}

static inline double share_of(const mm_cnst *c)
{
    double rem = c->rem > 0 ? c->rem : 0;
    double sumw = c->sumw > 1e-300 ? c->sumw : 1e-300;
    return rem / sumw;
}

/* ---- incremental solver ---- */

/* Fixes v at rate r. Links keep their heap keys: a key only ever rises when a variable is
 * fixed at the current level (see the file comment), so a stale key is a lower bound and
 * the main loop refreshes it when it reaches the top. */
static void fix_var(net_mm_system *s, net_mm_var *v, double r)
{
    v->fixed = 1;
    v->next_rate = r;
    for (uint32_t i = 0; i < v->n_elems; i++) {
        const net_mm_elem *e = &v->elems[i];
        mm_cnst *c = &s->c[e->cnst];
        c->rem -= e->w * r;
        c->sumw -= e->w;
        c->nunf--;
    }
}

static int bound_cmp(const void *a, const void *b)
{
    const bound_ent *x = a, *y = b;
    if (x->bound != y->bound)
        return x->bound < y->bound ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

static void report_changes(net_mm_system *s, net_mm_var **vars, size_t nv,
                           net_mm_component_fn cb, void *ctx)
{
    for (size_t i = 0; i < nv; i++) {
        net_mm_var *v = vars[i];
        double old = v->rate, r = v->next_rate;
        double scale = old > r ? old : r;
        v->prev_rate = old;
        if (fabs(r - old) > RATE_REL_TOL * scale) {
            v->rate = r;
            s->stats.rate_changes++;
        }
    }
    cb(ctx, vars, nv);
}

static void solve_component(net_mm_system *s, int32_t seed, net_mm_component_fn cb, void *ctx)
{
    uint64_t ep = s->epoch;
    size_t nc = 0, nv = 0, nb = 0;
    /* breadth-first over links and their users; each link is initialised when first
     * touched and each variable adds its weights when discovered: one pass */
    mm_cnst *c0 = &s->c[seed];
    c0->epoch = ep;
    c0->rem = c0->cap;
    c0->sumw = 0;
    c0->nunf = 0;
    s->comp_c[nc++] = seed;
    for (size_t i = 0; i < nc; i++) {
        const mm_cnst *ci = &s->c[s->comp_c[i]];
        for (size_t u = 0; u < ci->users.n; u++) {
            net_mm_var *v = ci->users.v[u].var;
            if (v->epoch == ep)
                continue;
            v->epoch = ep;
            v->fixed = 0;
            s->comp_v.v[nv++] = v;
            s->stats.elems_solved += v->n_elems;
            for (uint32_t k = 0; k < v->n_elems; k++) {
                int32_t id = v->elems[k].cnst;
                mm_cnst *c = &s->c[id];
                if (c->epoch != ep) {
                    c->epoch = ep;
                    c->rem = c->cap;
                    c->sumw = 0;
                    c->nunf = 0;
                    s->comp_c[nc++] = id;
                }
                c->sumw += v->elems[k].w;
                c->nunf++;
            }
        }
    }
    s->comp_v.n = nv;
    s->stats.components++;
    s->stats.vars_solved += nv;
    if (nv == 0)
        return;
    /* A link with a single user acts exactly like a rate cap on that user (it saturates
     * when, and only when, that user reaches cap / w): it joins the sorted bounds instead
     * of the heap, which keeps the heap to the links that are really shared. */
    for (size_t i = 0; i < nv; i++) {
        net_mm_var *v = s->comp_v.v[i];
        double b = v->bound > 0 ? v->bound : INFINITY;
        for (uint32_t k = 0; k < v->n_elems; k++) {
            const mm_cnst *c = &s->c[v->elems[k].cnst];
            if (c->nunf == 1 && c->cap / v->elems[k].w < b)
                b = c->cap / v->elems[k].w;
        }
        if (b < INFINITY) {
            s->bounded.v[nb] = (bound_ent){b, (uint32_t)nb, v};
            nb++;
        }
    }
    s->n_heap = 0;
    for (size_t i = 0; i < nc; i++) {
        int32_t id = s->comp_c[i];
        if (s->c[id].nunf <= 1)
            continue;
        s->heap[s->n_heap++] = (mm_hent){share_of(&s->c[id]), id};
    }
    for (size_t i = (s->n_heap + 2) / 4; i-- > 0;)
        heap_down(s, i);
    s->bounded.n = nb;
    if (nb > 1)
        qsort(s->bounded.v, nb, sizeof *s->bounded.v, bound_cmp);

    double level = 0;
    size_t bi = 0;
    for (;;) {
        /* refresh the top until its key is exact: then it is the true minimum */
        while (s->n_heap) {
            const mm_cnst *top = &s->c[s->heap[0].id];
            if (top->nunf == 0) {
                heap_pop(s);
                continue;
            }
            double sh = share_of(top);
            if (sh <= s->heap[0].key)
                break;
            s->heap[0].key = sh;
            heap_down(s, 0);
        }
        while (bi < nb && s->bounded.v[bi].var->fixed)
            bi++;
        double share = s->n_heap ? s->heap[0].key : INFINITY;
        if (bi < nb && s->bounded.v[bi].bound <= share) {
            double r = s->bounded.v[bi].bound;
            if (r > level)
                level = r;
            fix_var(s, s->bounded.v[bi].var, r);
            bi++;
            continue;
        }
        if (!s->n_heap)
            break;
        int32_t top = s->heap[0].id;
        heap_pop(s);
        if (share > level)
            level = share;
        const mm_cnst *ct = &s->c[top];
        for (size_t u = 0; u < ct->users.n; u++)
            if (!ct->users.v[u].var->fixed)
                fix_var(s, ct->users.v[u].var, level);
    }
    report_changes(s, s->comp_v.v, nv, cb, ctx);
}

/* ---- naive reference solver: rounds of full scans ---- */

static void solve_naive(net_mm_system *s, net_mm_component_fn cb, void *ctx)
{
    size_t nv = s->active.n;
    net_mm_var **vs = s->active.v;
    for (size_t i = 0; i < nv; i++)
        vs[i]->fixed = 0;
    size_t left = nv;
    while (left > 0) {
        /* recompute every link's remaining capacity and unfixed weight from scratch */
        for (size_t i = 0; i < nv; i++)
            for (uint32_t k = 0; k < vs[i]->n_elems; k++) {
                mm_cnst *c = &s->c[vs[i]->elems[k].cnst];
                c->rem = c->cap;
                c->sumw = 0;
            }
        for (size_t i = 0; i < nv; i++)
            for (uint32_t k = 0; k < vs[i]->n_elems; k++) {
                mm_cnst *c = &s->c[vs[i]->elems[k].cnst];
                if (vs[i]->fixed)
                    c->rem -= vs[i]->elems[k].w * vs[i]->next_rate;
                else
                    c->sumw += vs[i]->elems[k].w;
            }
        double m = INFINITY;
        for (size_t i = 0; i < nv; i++) {
            if (vs[i]->fixed)
                continue;
            if (vs[i]->bound > 0 && vs[i]->bound < m)
                m = vs[i]->bound;
            for (uint32_t k = 0; k < vs[i]->n_elems; k++) {
                double sh = share_of(&s->c[vs[i]->elems[k].cnst]);
                if (sh < m)
                    m = sh;
            }
        }
        double lim = m * (1 + NAIVE_TIE_TOL);
        for (size_t i = 0; i < nv; i++) {
            net_mm_var *v = vs[i];
            if (v->fixed)
                continue;
            int at = v->bound > 0 && v->bound <= lim;
            for (uint32_t k = 0; k < v->n_elems && !at; k++)
                at = share_of(&s->c[v->elems[k].cnst]) <= lim;
            if (at) {
                v->next_rate = m;
                v->fixed = 2; /* fixed this round: still counted as unfixed above */
                left--;
            }
        }
        for (size_t i = 0; i < nv; i++)
            if (vs[i]->fixed == 2)
                vs[i]->fixed = 1;
    }
    report_changes(s, vs, nv, cb, ctx);
}

void net_mm_solve(net_mm_system *s, net_mm_component_fn cb, void *ctx)
{
    if (!s->n_mod)
        return;
    s->stats.solves++;
    if (s->naive) {
        solve_naive(s, cb, ctx);
    } else {
        s->epoch++;
        for (size_t i = 0; i < s->n_mod; i++) {
            int32_t c = s->mod[i];
            if (s->c[c].epoch != s->epoch)
                solve_component(s, c, cb, ctx);
        }
    }
    for (size_t i = 0; i < s->n_mod; i++)
        s->c[s->mod[i]].modified = false;
    s->n_mod = 0;
}
