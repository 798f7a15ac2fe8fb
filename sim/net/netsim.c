/*
 * netsim.c: transfer lifecycle on top of the engine and the max-min solver.
 *
 * A transfer's one ev_node serves first as its latency timer, then as its completion
 * event. Invariant while active: remaining is exact as of t_last_ps, and finish_ps =
 * t_last_ps + remaining / rate (rounded to the picosecond). Whenever the solver changes
 * the rate the progress made at the old rate is booked first.
 *
 * Per solved component the transfers that finish first have their completion event in
 * the queue: the others cannot finish before them, and a completion re-solves the whole
 * component (each piece a departure splits off touches one of its links). So a solve costs
 * one scan of what the solver reports and a few queue operations, however many rates
 * changed. A resumed solve (maxmin.h) reports only the re-filled transfers and the earliest
 * of the rest (by var.key, the finish time): a transfer of the rest may then stay in the
 * queue beside the new earliest, which is harmless, since its time is its exact finish
 * (its rate did not change). on_component keeps queued_ps for that reason.
 *
 * Usage arrays come from per-size-class pools (powers of two), so transfers of any width,
 * from a 3-hop flow to a 2,048-rank ring, recycle their memory.
 */
#include "net/netsim.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/pool.h"
#include "core/vec.h"

#define N_CLASSES 32

/* A transfer waits out its latency, then shares bandwidth until its last byte. */
typedef enum xf_state { XF_LATENCY = 0, XF_ACTIVE = 1 } xf_state;

/* What a solve reads and writes of every transfer in a re-solved component comes first,
 * next to the variable's rate and previous rate: one or two cache lines per transfer. */
struct net_transfer {
    double remaining;
    int64_t t_last_ps;
    int64_t finish_ps; /* projected completion at the current rate */
    int64_t queued_ps; /* time of the completion event in the queue; -1 when none */
    net_mm_var var;
    ev_node node;
    net_sim *ns;
    double bytes;
    double cap;
    net_done_fn done;
    void *user;
    xf_state state;
    uint8_t size_class;
};

/* A link's capacity changing at a time (net_sim_schedule_capacity). */
typedef struct cap_change {
    ev_node node; /* first member */
    net_sim *ns;
    net_link_id l;
    double cap;
} cap_change;

struct net_sim {
    ev_engine *e;
    SIM_VEC(cap_change *) changes;
    const net_graph *g;
    net_mm_system *mm;
    sim_pool *xf_pool;
    sim_pool *elem_pool[N_CLASSES];
    ev_node solve_node;
    double *link_bytes;
    SIM_VEC(net_transfer *) cand; /* on_component scratch, reserved as far as live */
    SIM_VEC(net_mm_elem) merged, merged_tmp; /* merge_many's scratch, sort_by_link's */
    struct link_mark {
        uint32_t epoch, at; /* merge_many: the merge that last met the link, its place */
    } *marks;               /* [links], made at the first merge_many */
    uint32_t merge_epoch;
    size_t n_cand;                /* candidates so far in the component being reported */
    int64_t best_ps;              /* earliest finish so far in that component */
    bool timing;
    net_sim_stats stats;
    size_t live;
    sim_status error; /* first failure inside the event loop */
};

static void on_solve(ev_engine *e, ev_node *n);

sim_code net_sim_create(ev_engine *e, const net_graph *g, int naive, net_sim **out,
                        sim_status *st)
{
    sim_code rc = SIM_OK;
    double *caps = NULL;
    size_t nl = net_graph_link_count(g);
    net_sim *ns = calloc(1, sizeof *ns);
    if (!ns)
        goto nomem;
    ns->e = e;
    ns->g = g;
    ev_node_init(&ns->solve_node, on_solve);
    ns->best_ps = INT64_MAX;
    ns->xf_pool = sim_pool_create(sizeof(net_transfer), 1024);
    ns->link_bytes = calloc(nl ? nl : 1, sizeof *ns->link_bytes);
    caps = malloc((nl ? nl : 1) * sizeof *caps);
    if (!ns->xf_pool || !ns->link_bytes || !caps)
        goto nomem;
    for (size_t l = 0; l < nl; l++)
        caps[l] = net_graph_link(g, (net_link_id)l)->bw_Bps;
    rc = net_mm_create(nl, caps, naive, &ns->mm, st);
    if (rc != SIM_OK)
        goto fail;
    free(caps);
    *out = ns;
    return SIM_OK;
nomem:
    rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory creating the network");
fail:
    free(caps);
    net_sim_destroy(ns);
    return rc;
}

void net_sim_destroy(net_sim *ns)
{
    if (!ns)
        return;
    if (ns->e)
        ev_cancel(ns->e, &ns->solve_node);
    for (size_t i = 0; i < ns->changes.n; i++) {
        if (ns->e)
            ev_cancel(ns->e, &ns->changes.v[i]->node);
        free(ns->changes.v[i]);
    }
    sim_vec_free(&ns->changes);
    sim_vec_free(&ns->cand);
    sim_vec_free(&ns->merged);
    sim_vec_free(&ns->merged_tmp);
    free(ns->marks);
    net_mm_destroy(ns->mm);
    sim_pool_destroy(ns->xf_pool);
    for (int i = 0; i < N_CLASSES; i++)
        sim_pool_destroy(ns->elem_pool[i]);
    free(ns->link_bytes);
    free(ns);
}

void net_sim_set_timing(net_sim *ns, int on) { ns->timing = on; }
const sim_status *net_sim_error(const net_sim *ns) { return ns->error.code ? &ns->error : NULL; }
const net_sim_stats *net_sim_get_stats(const net_sim *ns) { return &ns->stats; }
const net_mm_stats *net_sim_solver_stats(const net_sim *ns) { return net_mm_get_stats(ns->mm); }
double net_sim_link_load(const net_sim *ns, net_link_id l) { return net_mm_cnst_load(ns->mm, l); }
double net_sim_link_bytes(const net_sim *ns, net_link_id l) { return ns->link_bytes[l]; }
ev_engine *net_sim_engine(net_sim *ns) { return ns->e; }
size_t net_sim_live(const net_sim *ns) { return ns->live; }
double net_transfer_rate(const net_transfer *t) { return t->state == XF_ACTIVE ? t->var.rate : 0; }

static inline double ps_to_s(int64_t ps) { return (double)ps * 1e-12; }

static inline net_transfer *xf_of_node(ev_node *n)
{
    return (net_transfer *)(void *)((char *)n - offsetof(net_transfer, node));
}

static inline net_transfer *xf_of_var(net_mm_var *v)
{
    return (net_transfer *)(void *)((char *)v - offsetof(net_transfer, var));
}

double net_transfer_finish_s(const net_transfer *t)
{
    double dt = t->remaining > 0 && isfinite(t->var.rate) ? t->remaining / t->var.rate : 0;
    return ps_to_s(t->t_last_ps) + dt;
}

double net_transfer_remaining(const net_sim *ns, const net_transfer *t)
{
    if (t->state != XF_ACTIVE)
        return t->remaining;
    if (!isfinite(t->var.rate))
        return 0;
    double left = t->remaining - t->var.rate * ps_to_s(ev_now(ns->e) - t->t_last_ps);
    return left > 0 ? left : 0;
}

static void request_solve(net_sim *ns)
{
    if (!ev_node_scheduled(&ns->solve_node))
        ev_schedule(ns->e, &ns->solve_node, ev_now(ns->e), EV_CLASS_LATE);
}

/* Time for bytes at rate, in ps, rounded to nearest and clamped. */
static int64_t duration_ps(double bytes, double rate)
{
    if (!(bytes > 0) || rate == INFINITY)
        return 0;
    double ps = bytes / rate * 1e12;
    if (ps >= 4.6e18)
        return INT64_MAX / 2;
    return ev_round_ps(ps);
}

static void xf_unqueue(net_sim *ns, net_transfer *t)
{
    ev_cancel(ns->e, &t->node);
    t->queued_ps = -1;
}

static void xf_queue(net_sim *ns, net_transfer *t, int64_t at_ps)
{
    ev_schedule(ns->e, &t->node, at_ps, EV_CLASS_NORMAL);
    t->queued_ps = at_ps;
}

static void on_component(void *ctx, net_mm_var *const *vars, size_t n, int last)
{
    net_sim *ns = ctx;
    int64_t now = ev_now(ns->e);
    int64_t best = ns->best_ps;
    /* One pass over the component (in the solver's pieces); the second only over the
     * candidates: transfers in the queue and those at or below the running minimum when
     * met. */
    size_t nc = ns->n_cand;
    net_transfer **cand = ns->cand.v;
    for (size_t i = 0; i < n; i++) {
        net_transfer *t = xf_of_var(vars[i]);
        if (i + 8 < n)
            __builtin_prefetch(xf_of_var(vars[i + 8]), 1);
        double r = t->var.rate, old = t->var.prev_rate;
        if (r != old) {
            if (old > 0) {
                t->remaining -= old * ps_to_s(now - t->t_last_ps);
                if (t->remaining < 0)
                    t->remaining = 0;
            }
            t->t_last_ps = now;
            t->finish_ps = now + duration_ps(t->remaining, r);
        }
        t->var.key = t->finish_ps;
        if (t->finish_ps <= best) {
            best = t->finish_ps;
            cand[nc++] = t;
        } else if (t->queued_ps >= 0) {
            cand[nc++] = t;
        }
    }
    if (!last) {
        ns->best_ps = best;
        ns->n_cand = nc;
        return;
    }
    ns->best_ps = INT64_MAX;
    ns->n_cand = 0;
    /* Only the earliest are in the queue; one already there at that time stays put. */
    for (size_t i = 0; i < nc; i++) {
        net_transfer *t = cand[i];
        int want = t->finish_ps == best;
        if (t->queued_ps >= 0) {
            if (want && t->queued_ps == best)
                continue;
            xf_unqueue(ns, t);
        }
        if (want)
            xf_queue(ns, t, best);
    }
}

static void on_solve(ev_engine *e, ev_node *n)
{
    net_sim *ns = (net_sim *)(void *)((char *)n - offsetof(net_sim, solve_node));
    (void)e;
    double t0 = ns->timing ? sim_wall_s() : 0;
    net_mm_solve(ns->mm, on_component, ns);
    ns->stats.solve_events++;
    if (ns->timing)
        ns->stats.solve_wall_s += sim_wall_s() - t0;
}

static void on_cap_change(ev_engine *e, ev_node *n)
{
    cap_change *c = (cap_change *)(void *)n;
    (void)e;
    net_mm_cnst_set_capacity(c->ns->mm, (int32_t)c->l, c->cap);
    request_solve(c->ns);
}

sim_code net_sim_schedule_capacity(net_sim *ns, net_link_id l, int64_t at_ps, double cap_Bps,
                                   sim_status *st)
{
    if (!(cap_Bps > 0))
        return sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0,
                              "link %d: a capacity must stay above 0, found %g", (int)l,
                              cap_Bps);
    if (at_ps <= ev_now(ns->e)) {
        net_mm_cnst_set_capacity(ns->mm, (int32_t)l, cap_Bps);
        request_solve(ns);
        return SIM_OK;
    }
    cap_change *c = malloc(sizeof *c);
    if (!c || sim_vec_push(&ns->changes, c) != 0) {
        free(c);
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    ev_node_init(&c->node, on_cap_change);
    c->ns = ns;
    c->l = l;
    c->cap = cap_Bps;
    if (ev_schedule(ns->e, &c->node, at_ps, EV_CLASS_NORMAL) != SIM_OK)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    return SIM_OK;
}

static void on_complete(ev_engine *e, ev_node *n)
{
    net_transfer *t = xf_of_node(n);
    net_sim *ns = t->ns;
    t->queued_ps = -1;
    if (ev_now(e) >= INT64_MAX / 4) {
        /* duration_ps's clamp: a rate of nearly nothing that never rose again, a link down
         * for good (a WAN background load of 1 with no later point) */
        if (!ns->error.code)
            sim_status_set(&ns->error, SIM_ERR_INPUT, NULL, 0, 0,
                           "a transfer of %.6g B never ends: a link it crosses stays down (a "
                           "WAN background load of 1 with no later point; routes are fixed, "
                           "nothing is rerouted)", t->bytes);
        ev_stop(e);
        return;
    }
    for (uint32_t i = 0; i < t->var.n_elems; i++)
        ns->link_bytes[t->var.elems[i].cnst] += t->var.elems[i].w * t->bytes;
    if (t->var.enabled) {
        net_mm_var_disable(ns->mm, &t->var);
        /* a departure that left nothing to re-solve (net_mm_var_disable) needs no solve:
         * one would find no work and report nothing */
        if (net_mm_dirty(ns->mm))
            request_solve(ns);
    }
    ns->stats.finished++;
    ns->live--;
    if (t->done)
        t->done(ns, t, t->user);
    if (t->var.elems)
        sim_pool_put(ns->elem_pool[t->size_class], t->var.elems);
    sim_pool_put(ns->xf_pool, t);
}

static void on_latency_end(ev_engine *e, ev_node *n)
{
    net_transfer *t = xf_of_node(n);
    net_sim *ns = t->ns;
    t->node.fn = on_complete;
    t->state = XF_ACTIVE;
    t->t_last_ps = ev_now(e);
    if (!(t->remaining > 0)) {
        t->var.rate = INFINITY;
        on_complete(e, n);
        return;
    }
    if (t->var.n_elems == 0) {
        t->var.rate = t->cap > 0 ? t->cap : INFINITY;
        t->finish_ps = t->t_last_ps + duration_ps(t->remaining, t->var.rate);
        xf_queue(ns, t, t->finish_ps);
        return;
    }
    if (net_mm_var_enable(ns->mm, &t->var, &ns->error) != SIM_OK) {
        /* out of memory inside the loop: stop cleanly, the caller reads net_sim_error */
        ev_stop(e);
        return;
    }
    request_solve(ns);
}

/* The pooled element array of size class cls (2^cls elements). */
static net_mm_elem *elems_get(net_sim *ns, unsigned cls)
{
    if (cls >= N_CLASSES)
        return NULL;
    if (!ns->elem_pool[cls]) {
        size_t per = ((size_t)1 << cls) >= 1024 ? 1 : (size_t)1024 >> cls;
        ns->elem_pool[cls] = sim_pool_create(sizeof(net_mm_elem) << cls, per);
        if (!ns->elem_pool[cls])
            return NULL;
    }
    return sim_pool_get(ns->elem_pool[cls]);
}

static unsigned size_class(size_t n)
{
    unsigned cls = 0;
    while (((size_t)1 << cls) < n)
        cls++;
    return cls;
}

/* Sorts ns->merged.v[0..k) (distinct links) by link: a least-significant-digit radix sort
 * by bytes, skipping the bytes every key shares (a collective's links differ in their low
 * two or three): a few passes over k elements where a comparison sort called a function
 * k log k times. 0 when out of memory. */
static int sort_by_link(net_sim *ns, size_t k)
{
    if (sim_vec_reserve(&ns->merged_tmp, k) != 0)
        return 0;
    net_mm_elem *a = ns->merged.v, *b = ns->merged_tmp.v;
    uint32_t all_or = 0, all_and = UINT32_MAX;
    for (size_t i = 0; i < k; i++) {
        all_or |= (uint32_t)a[i].cnst;
        all_and &= (uint32_t)a[i].cnst;
    }
    for (int shift = 0; shift < 32; shift += 8) {
        if ((((all_or ^ all_and) >> shift) & 0xffu) == 0)
            continue; /* every key has this byte: the pass would keep the order */
        size_t count[257] = {0};
        for (size_t i = 0; i < k; i++)
            count[(((uint32_t)a[i].cnst >> shift) & 0xffu) + 1]++;
        for (int d = 0; d < 256; d++)
            count[d + 1] += count[d];
        for (size_t i = 0; i < k; i++)
            b[count[((uint32_t)a[i].cnst >> shift) & 0xffu]++] = a[i];
        net_mm_elem *t = a;
        a = b;
        b = t;
    }
    if (a != ns->merged.v)
        memcpy(ns->merged.v, a, k * sizeof *a);
    return 1;
}

/* Merges the usages of many links (a coupled collective's hundreds of routes) into
 * ns->merged, first appearance first, each link's weights added in their order of
 * appearance; then sorts the distinct links. The result is what a stable sort followed by
 * a merge of neighbours gives (the weights are added in the same order), in O(n) plus a
 * radix sort of the distinct links (sort_by_link). Returns their count, 0 when out of memory. */
static size_t merge_many(net_sim *ns, const net_transfer_spec *spec)
{
    size_t n = spec->n_uses, k = 0;
    if (sim_vec_reserve(&ns->merged, n) != 0)
        return 0;
    size_t nl = net_graph_link_count(ns->g);
    if (!ns->marks && !(ns->marks = calloc(nl ? nl : 1, sizeof *ns->marks)))
        return 0;
    if (++ns->merge_epoch == 0) { /* wrapped: forget every mark */
        memset(ns->marks, 0, nl * sizeof *ns->marks);
        ns->merge_epoch = 1;
    }
    net_mm_elem *m = ns->merged.v;
    for (size_t i = 0; i < n; i++) {
        struct link_mark *mk = &ns->marks[spec->uses[i].link];
        assert(spec->uses[i].w > 0);
        if (mk->epoch == ns->merge_epoch) {
            m[mk->at].w += spec->uses[i].w;
        } else {
            mk->epoch = ns->merge_epoch;
            mk->at = (uint32_t)k;
            m[k++] = (net_mm_elem){.cnst = spec->uses[i].link, .w = spec->uses[i].w};
        }
    }
    return sort_by_link(ns, k) ? k : 0;
}

/* Copies the usages into a pooled element array, merging repeated links. */
static sim_code copy_uses(net_sim *ns, net_transfer *t, const net_transfer_spec *spec)
{
    size_t n = spec->n_uses;
    if (n > 16) {
        size_t k = merge_many(ns, spec);
        unsigned cls = size_class(k);
        net_mm_elem *el = k ? elems_get(ns, cls) : NULL;
        if (!el)
            return SIM_ERR_NOMEM;
        memcpy(el, ns->merged.v, k * sizeof *el);
        t->size_class = (uint8_t)cls;
        t->var.elems = el;
        t->var.n_elems = (uint32_t)k;
        return SIM_OK;
    }
    unsigned cls = size_class(n);
    net_mm_elem *el = elems_get(ns, cls);
    if (!el)
        return SIM_ERR_NOMEM;
    t->size_class = (uint8_t)cls;
    for (size_t i = 0; i < n; i++) {
        assert(spec->uses[i].w > 0);
        el[i] = (net_mm_elem){.cnst = spec->uses[i].link, .w = spec->uses[i].w};
    }
    if (n > 1) {
        /* insertion sort: stable, so repeated links add their weights in their order of
         * appearance (as merge_many does); no call per comparison */
        for (size_t i = 1; i < n; i++) {
            net_mm_elem x = el[i];
            size_t j = i;
            for (; j > 0 && el[j - 1].cnst > x.cnst; j--)
                el[j] = el[j - 1];
            el[j] = x;
        }
        size_t k = 0;
        for (size_t i = 1; i < n; i++) {
            if (el[i].cnst == el[k].cnst)
                el[k].w += el[i].w;
            else
                el[++k] = el[i];
        }
        n = k + 1;
    }
    t->var.elems = el;
    t->var.n_elems = (uint32_t)n;
    return SIM_OK;
}

sim_code net_transfer_start(net_sim *ns, const net_transfer_spec *spec, net_transfer **out,
                            sim_status *st)
{
    assert(spec->bytes >= 0 && spec->lat_ps >= 0);
    net_transfer *t = sim_pool_get(ns->xf_pool);
    if (!t)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory starting a transfer");
    memset(t, 0, sizeof *t);
    t->queued_ps = -1;
    t->ns = ns;
    t->bytes = t->remaining = spec->bytes;
    t->cap = spec->rate_cap_Bps > 0 ? spec->rate_cap_Bps : 0;
    t->var.bound = t->cap;
    t->done = spec->done;
    t->user = spec->user;
    sim_code rc = SIM_OK;
    if (spec->n_uses > 0 && copy_uses(ns, t, spec) != SIM_OK)
        rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory starting a transfer");
    /* reserve solver scratch now so that activation inside the event loop cannot fail */
    if (rc == SIM_OK && t->var.n_elems)
        rc = net_mm_reserve(ns->mm, ns->live + 1, st);
    if (rc == SIM_OK && t->var.n_elems && sim_vec_reserve(&ns->cand, ns->live + 1) != 0)
        rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory starting a transfer");
    ev_node_init(&t->node, on_latency_end);
    if (rc == SIM_OK &&
        ev_schedule(ns->e, &t->node, ev_now(ns->e) + spec->lat_ps, EV_CLASS_NORMAL) != SIM_OK)
        rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for events");
    if (rc != SIM_OK) {
        if (t->var.elems)
            sim_pool_put(ns->elem_pool[t->size_class], t->var.elems);
        sim_pool_put(ns->xf_pool, t);
        return rc;
    }
    ns->stats.started++;
    ns->live++;
    if (out)
        *out = t;
    return SIM_OK;
}
