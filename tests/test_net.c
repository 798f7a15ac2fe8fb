/*
 * test_net.c: the flow-level network model: analytic cases with known answers, the
 * incremental solver against the naive one and against the definition of max-min
 * fairness on random instances, and determinism.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/evq.h"
#include "core/hash.h"
#include "core/rng.h"
#include "net/graph.h"
#include "net/maxmin.h"
#include "net/netsim.h"
#include "net/route.h"

#define GBps 1e9
#define US 1000000LL /* ps */

/* ---- a tiny harness: graph of n links between distinct node pairs ---- */

typedef struct harness {
    net_graph *g;
    ev_engine *e;
    net_sim *ns;
    double finish[64];
    int done[64];
} harness;

static void h_init(harness *h, const double *caps, size_t n_links, const int64_t *lat,
                   int naive)
{
    memset(h, 0, sizeof *h);
    sim_status st;
    ck_assert_int_eq(net_graph_create(&h->g, &st), SIM_OK);
    char name[32];
    for (size_t i = 0; i <= n_links; i++) {
        snprintf(name, sizeof name, "n%zu", i);
        ck_assert_int_eq(net_graph_add_node(h->g, name, NET_NODE_ENDPOINT, NULL, &st), SIM_OK);
    }
    for (size_t i = 0; i < n_links; i++)
        ck_assert_int_eq(net_graph_add_link(h->g, (net_node_id)i, (net_node_id)(i + 1), caps[i],
                                            lat ? lat[i] : 0, NET_LINK_GENERIC, NULL, &st),
                         SIM_OK);
    ck_assert_int_eq(net_graph_finalize(h->g, &st), SIM_OK);
    ck_assert_int_eq(ev_engine_create(&h->e, &st), SIM_OK);
    ck_assert_int_eq(net_sim_create(h->e, h->g, naive, &h->ns, &st), SIM_OK);
}

static void h_free(harness *h)
{
    net_sim_destroy(h->ns);
    ev_engine_destroy(h->e);
    net_graph_destroy(h->g);
}

typedef struct h_flow {
    harness *h;
    int idx;
} h_flow;

static void h_done(net_sim *ns, net_transfer *t, void *user)
{
    (void)ns;
    h_flow *f = user;
    f->h->finish[f->idx] = net_transfer_finish_s(t);
    f->h->done[f->idx] = 1;
}

static h_flow flows_store[64];

static void h_start(harness *h, int idx, const net_usage *uses, size_t n, double bytes,
                    int64_t lat_ps, double cap)
{
    sim_status st;
    flows_store[idx] = (h_flow){h, idx};
    net_transfer_spec spec = {.uses = uses, .n_uses = n, .bytes = bytes, .lat_ps = lat_ps,
                              .rate_cap_Bps = cap, .done = h_done, .user = &flows_store[idx]};
    ck_assert_int_eq(net_transfer_start(h->ns, &spec, NULL, &st), SIM_OK);
}

#define U1(l) ((net_usage[]){{(l), 1.0}})

START_TEST(one_flow_latency_plus_size_over_bandwidth)
{
    harness h;
    double caps[] = {10 * GBps};
    h_init(&h, caps, 1, NULL, _i);
    h_start(&h, 0, U1(0), 1, 1e9, 1 * US, 0);
    ev_run(h.e, INT64_MAX);
    ck_assert(h.done[0]);
    ck_assert_double_eq_tol(h.finish[0], 1e-6 + 0.1, 1e-15);
    h_free(&h);
}
END_TEST

START_TEST(two_flows_on_one_link_get_half_each)
{
    harness h;
    double caps[] = {1 * GBps};
    h_init(&h, caps, 1, NULL, _i);
    h_start(&h, 0, U1(0), 1, 1e9, 0, 0);
    h_start(&h, 1, U1(0), 1, 1e9, 0, 0);
    ev_run(h.e, INT64_MAX);
    /* each at 0.5 GB/s: both end at 2 s */
    ck_assert_double_eq_tol(h.finish[0], 2.0, 1e-12);
    ck_assert_double_eq_tol(h.finish[1], 2.0, 1e-12);
    h_free(&h);
}
END_TEST

/* A departure that leaves its links without users, outside every fill log, needs no
 * solve (netsim schedules none); one that leaves another user on a link does. The naive
 * solver solves at every departure. */
START_TEST(departure_from_empty_links_solves_nothing)
{
    harness h;
    double caps[] = {1 * GBps, 1 * GBps};
    h_init(&h, caps, 2, NULL, _i);
    h_start(&h, 0, U1(0), 1, 1e9, 0, 0); /* alone on link 0: ends at 1 s */
    h_start(&h, 1, U1(1), 1, 2e9, 0, 0); /* with flow 2 on link 1 */
    h_start(&h, 2, U1(1), 1, 1e9, 0, 0);
    ev_run(h.e, INT64_MAX);
    ck_assert_double_eq_tol(h.finish[0], 1.0, 1e-12);
    ck_assert_double_eq_tol(h.finish[2], 2.0, 1e-12); /* half of 1 GB/s */
    ck_assert_double_eq_tol(h.finish[1], 3.0, 1e-12); /* then the whole link */
    /* solves: the arrivals (one, at 0), flow 2's departure (flow 1 speeds up); not flow
     * 0's nor flow 1's, which leave their links empty */
    ck_assert_uint_eq(net_sim_get_stats(h.ns)->solve_events, (_i ? 4u : 2u));
    h_free(&h);
}
END_TEST

START_TEST(parking_lot_two_levels)
{
    /* L0 cap 1, L1 cap 2. A crosses both, B only L0, C and D only L1.
     * L0 saturates first at 0.5 (A, B); L1 then shares 2 - 0.5 = 1.5 between C and D. */
    harness h;
    double caps[] = {1 * GBps, 2 * GBps};
    h_init(&h, caps, 2, NULL, _i);
    net_usage a[] = {{0, 1}, {1, 1}};
    h_start(&h, 0, a, 2, 0.5e9, 0, 0);  /* A: 0.5 GB at 0.5 GB/s -> 1 s */
    h_start(&h, 1, U1(0), 1, 0.5e9, 0, 0); /* B: 1 s */
    h_start(&h, 2, U1(1), 1, 1.5e9, 0, 0); /* C: 0.75 GB/s while A runs */
    h_start(&h, 3, U1(1), 1, 0.75e9, 0, 0); /* D: 0.75 GB at 0.75 -> 1 s */
    ev_run(h.e, INT64_MAX);
    ck_assert_double_eq_tol(h.finish[0], 1.0, 1e-12);
    ck_assert_double_eq_tol(h.finish[1], 1.0, 1e-12);
    ck_assert_double_eq_tol(h.finish[3], 1.0, 1e-12);
    /* C: 0.75 GB in the first second, then alone on L1 at 2 GB/s: 0.75 / 2 = 0.375 s */
    ck_assert_double_eq_tol(h.finish[2], 1.375, 1e-12);
    h_free(&h);
}
END_TEST

START_TEST(flow_starting_while_another_runs)
{
    /* A: 1 GB from 0; B: 0.5 GB from 0.25 s; link 1 GB/s.
     * A alone until 0.25 (0.25 GB), both at 0.5 until B ends at 1.25, A's last 0.25 GB
     * alone: 1.5 s. */
    harness h;
    double caps[] = {1 * GBps};
    h_init(&h, caps, 1, NULL, _i);
    h_start(&h, 0, U1(0), 1, 1e9, 0, 0);
    /* B's latency of 0.25 s makes it join the link at 0.25 s */
    h_start(&h, 2, U1(0), 1, 0.5e9, 250000 * US, 0);
    ev_run(h.e, INT64_MAX);
    ck_assert_double_eq_tol(h.finish[2], 1.25, 1e-12);
    ck_assert_double_eq_tol(h.finish[0], 1.5, 1e-12);
    h_free(&h);
}
END_TEST

START_TEST(latency_only_and_empty_path)
{
    harness h;
    double caps[] = {1 * GBps};
    h_init(&h, caps, 1, NULL, _i);
    h_start(&h, 0, U1(0), 1, 0, 7 * US, 0);     /* no bytes: latency only */
    h_start(&h, 1, NULL, 0, 1e9, 3 * US, 0);     /* no link, no cap: instant after latency */
    h_start(&h, 2, NULL, 0, 1e9, 0, 2 * GBps);   /* no link, capped: 0.5 s */
    ev_run(h.e, INT64_MAX);
    ck_assert_double_eq_tol(h.finish[0], 7e-6, 1e-18);
    ck_assert_double_eq_tol(h.finish[1], 3e-6, 1e-18);
    ck_assert_double_eq_tol(h.finish[2], 0.5, 1e-15);
    h_free(&h);
}
END_TEST

START_TEST(coupled_transfer_weights)
{
    /* A coupled transfer standing for 2 lock-step flows on the link (w = 2) and a plain
     * flow: progressive filling gives 2r + r = 1 GB/s, r = 1/3 GB/s. */
    harness h;
    double caps[] = {1 * GBps};
    h_init(&h, caps, 1, NULL, _i);
    net_usage ring[] = {{0, 2.0}};
    h_start(&h, 0, ring, 1, 1e9, 0, 0);
    h_start(&h, 1, U1(0), 1, 1e9, 0, 0);
    ev_run(h.e, INT64_MAX);
    /* both at 1/3 until both finish at 3 s (equal bytes, equal rates) */
    ck_assert_double_eq_tol(h.finish[0], 3.0, 1e-12);
    ck_assert_double_eq_tol(h.finish[1], 3.0, 1e-12);
    h_free(&h);
}
END_TEST

START_TEST(repeated_links_add_weights)
{
    /* a transfer listing link 0 twice with w = 0.5 each is the same as w = 1 */
    harness h;
    double caps[] = {1 * GBps};
    h_init(&h, caps, 1, NULL, _i);
    net_usage twice[] = {{0, 0.5}, {0, 0.5}};
    h_start(&h, 0, twice, 2, 1e9, 0, 0);
    ev_run(h.e, INT64_MAX);
    ck_assert_double_eq_tol(h.finish[0], 1.0, 1e-12);
    h_free(&h);
}
END_TEST

START_TEST(rate_cap_leaves_the_rest_to_others)
{
    harness h;
    double caps[] = {1 * GBps};
    h_init(&h, caps, 1, NULL, _i);
    h_start(&h, 0, U1(0), 1, 0.2e9, 0, 0.2 * GBps); /* capped: 1 s */
    h_start(&h, 1, U1(0), 1, 0.8e9, 0, 0);          /* gets 0.8: 1 s */
    ev_run(h.e, INT64_MAX);
    ck_assert_double_eq_tol(h.finish[0], 1.0, 1e-12);
    ck_assert_double_eq_tol(h.finish[1], 1.0, 1e-12);
    h_free(&h);
}
END_TEST

/* ---- solver against the definition and against the naive solver ---- */

typedef struct rand_inst {
    size_t n_links, n_vars;
    double *caps;
    net_mm_var *vars;
    net_mm_elem *elems;
} rand_inst;

static void rand_inst_make(rand_inst *ri, sim_rng *r, size_t n_links, size_t n_vars)
{
    ri->n_links = n_links;
    ri->n_vars = n_vars;
    ri->caps = malloc(n_links * sizeof *ri->caps);
    ri->vars = calloc(n_vars, sizeof *ri->vars);
    ri->elems = calloc(n_vars * 4, sizeof *ri->elems);
    for (size_t l = 0; l < n_links; l++)
        ri->caps[l] = 1 + 9 * sim_rng_uniform(r);
    for (size_t v = 0; v < n_vars; v++) {
        net_mm_var *x = &ri->vars[v];
        x->elems = &ri->elems[v * 4];
        size_t k = 1 + (size_t)sim_rng_below(r, 4);
        size_t n = 0;
        for (size_t i = 0; i < k; i++) {
            int32_t l = (int32_t)sim_rng_below(r, n_links);
            int dup = 0;
            for (size_t j = 0; j < n; j++)
                dup |= x->elems[j].cnst == l;
            if (dup)
                continue;
            x->elems[n].cnst = l;
            x->elems[n].w = sim_rng_uniform(r) < 0.3 ? 0.25 + 3 * sim_rng_uniform(r) : 1.0;
            n++;
        }
        x->n_elems = (uint32_t)n;
        x->bound = sim_rng_uniform(r) < 0.2 ? 0.1 + 3 * sim_rng_uniform(r) : 0;
    }
}

static void rand_inst_free(rand_inst *ri)
{
    free(ri->caps);
    free(ri->vars);
    free(ri->elems);
}

static void noop_component(void *ctx, net_mm_var *const *vars, size_t n, int last)
{
    (void)ctx;
    (void)vars;
    (void)n;
    (void)last;
}

/* Checks feasibility and the max-min property: each enabled variable is at its bound or
 * crosses a saturated link on which no other variable has a higher rate. */
static void check_maxmin(const rand_inst *ri, const int *on)
{
    double *load = calloc(ri->n_links, sizeof *load);
    double *maxr = calloc(ri->n_links, sizeof *maxr);
    for (size_t v = 0; v < ri->n_vars; v++) {
        if (!on[v])
            continue;
        const net_mm_var *x = &ri->vars[v];
        ck_assert(x->rate > 0);
        if (x->bound > 0)
            ck_assert(x->rate <= x->bound * (1 + 1e-9));
        for (uint32_t i = 0; i < x->n_elems; i++) {
            load[x->elems[i].cnst] += x->elems[i].w * x->rate;
            if (x->rate > maxr[x->elems[i].cnst])
                maxr[x->elems[i].cnst] = x->rate;
        }
    }
    for (size_t l = 0; l < ri->n_links; l++)
        ck_assert_msg(load[l] <= ri->caps[l] * (1 + 1e-9), "link %zu overloaded", l);
    for (size_t v = 0; v < ri->n_vars; v++) {
        if (!on[v])
            continue;
        const net_mm_var *x = &ri->vars[v];
        int ok = x->bound > 0 && x->rate >= x->bound * (1 - 1e-9);
        for (uint32_t i = 0; i < x->n_elems && !ok; i++) {
            int32_t l = x->elems[i].cnst;
            ok = load[l] >= ri->caps[l] * (1 - 1e-9) && x->rate >= maxr[l] * (1 - 1e-9);
        }
        ck_assert_msg(ok, "variable %zu has no bottleneck", v);
    }
    free(load);
    free(maxr);
}

/* Solves both systems (incremental and naive) and checks that every enabled variable has
 * the same rate in both to 1e-9 relative; returns how many were compared. */
static size_t solve_both_and_compare(net_mm_system *inc, net_mm_system *nai, const rand_inst *a,
                                     const rand_inst *b, const int *on, int inst, int step)
{
    net_mm_solve(inc, noop_component, NULL);
    net_mm_solve(nai, noop_component, NULL);
    size_t n = 0;
    for (size_t v = 0; v < a->n_vars; v++) {
        if (!on[v])
            continue;
        double x = a->vars[v].rate, y = b->vars[v].rate;
        ck_assert_msg(fabs(x - y) <= 1e-9 * y, "inst %d step %d var %zu: %.17g vs %.17g", inst,
                      step, v, x, y);
        n++;
    }
    return n;
}

START_TEST(incremental_matches_naive_and_definition_on_random_instances)
{
    sim_status st;
    sim_rng *r;
    ck_assert_int_eq(sim_rng_create(42, 1, &r, &st), SIM_OK);
    size_t checked = 0;
    for (int inst = 0; inst < 300; inst++) {
        size_t nl = 2 + (size_t)sim_rng_below(r, 30), nv = 1 + (size_t)sim_rng_below(r, 40);
        rand_inst a, b;
        uint64_t seed = (uint64_t)inst;
        sim_rng *ra, *rb;
        sim_rng_create(seed, 7, &ra, &st);
        sim_rng_create(seed, 7, &rb, &st);
        rand_inst_make(&a, ra, nl, nv);
        rand_inst_make(&b, rb, nl, nv);
        net_mm_system *inc, *nai;
        ck_assert_int_eq(net_mm_create(nl, a.caps, 0, &inc, &st), SIM_OK);
        ck_assert_int_eq(net_mm_create(nl, b.caps, 1, &nai, &st), SIM_OK);
        int *on = calloc(nv, sizeof *on);
        /* a random sequence of enables and disables, solving after each batch */
        for (int step = 0; step < 30; step++) {
            int batch = 1 + (int)sim_rng_below(r, 3);
            for (int k = 0; k < batch; k++) {
                size_t v = (size_t)sim_rng_below(r, nv);
                if (on[v]) {
                    net_mm_var_disable(inc, &a.vars[v]);
                    net_mm_var_disable(nai, &b.vars[v]);
                } else {
                    net_mm_var_enable(inc, &a.vars[v], &st);
                    net_mm_var_enable(nai, &b.vars[v], &st);
                }
                on[v] = !on[v];
            }
            checked += solve_both_and_compare(inc, nai, &a, &b, on, inst, step);
            check_maxmin(&a, on);
        }
        free(on);
        net_mm_destroy(inc);
        net_mm_destroy(nai);
        rand_inst_free(&a);
        rand_inst_free(&b);
        sim_rng_destroy(ra);
        sim_rng_destroy(rb);
    }
    ck_assert(checked > 10000);
    sim_rng_destroy(r);
}
END_TEST

/* Large components: the solver resumes its logged fill on departures (maxmin.c). Random
 * instances above that size, mostly departures (one or several per solve, including the
 * last-fixed and first-fixed variables), now and then an arrival or a capacity change,
 * against the naive solver and the definition after every solve. */
START_TEST(resumed_fills_match_naive_on_large_random_instances)
{
    sim_status st;
    sim_rng *r;
    ck_assert_int_eq(sim_rng_create(4242, 1, &r, &st), SIM_OK);
    uint64_t resumes = 0, local = 0;
    for (int inst = 0; inst < 4; inst++) {
        size_t nl = 8 + (size_t)sim_rng_below(r, 60), nv = 1100 + (size_t)sim_rng_below(r, 400);
        rand_inst a, b;
        sim_rng *ra, *rb;
        sim_rng_create((uint64_t)inst, 9, &ra, &st);
        sim_rng_create((uint64_t)inst, 9, &rb, &st);
        rand_inst_make(&a, ra, nl, nv);
        rand_inst_make(&b, rb, nl, nv);
        if (inst % 2 == 0)
            /* ties everywhere: equal capacities, unit weights, no bounds (so that resumes
             * take the solver's own path, resume_fill: every variable has 1-4 links) */
            for (size_t v = 0; v < nv; v++) {
                for (uint32_t k = 0; k < a.vars[v].n_elems; k++)
                    a.vars[v].elems[k].w = b.vars[v].elems[k].w = 1.0;
                a.vars[v].bound = b.vars[v].bound = 0;
            }
        if (inst % 2 == 0)
            for (size_t l = 0; l < nl; l++)
                a.caps[l] = b.caps[l] = 5.0;
        net_mm_system *inc, *nai;
        ck_assert_int_eq(net_mm_create(nl, a.caps, 0, &inc, &st), SIM_OK);
        ck_assert_int_eq(net_mm_create(nl, b.caps, 1, &nai, &st), SIM_OK);
        int *on = calloc(nv, sizeof *on);
        for (size_t v = 0; v < nv; v++) {
            net_mm_var_enable(inc, &a.vars[v], &st);
            net_mm_var_enable(nai, &b.vars[v], &st);
            on[v] = 1;
        }
        for (int step = 0; step < 70; step++) {
            double u = sim_rng_uniform(r);
            if (u < 0.06) {
                size_t l = (size_t)sim_rng_below(r, nl);
                double cap = 1 + 9 * sim_rng_uniform(r);
                net_mm_cnst_set_capacity(inc, (int32_t)l, cap);
                net_mm_cnst_set_capacity(nai, (int32_t)l, cap);
                a.caps[l] = b.caps[l] = cap;
            } else {
                int batch = u < 0.25 ? 2 + (int)sim_rng_below(r, 3) : 1;
                for (int k = 0; k < batch; k++) {
                    size_t v = (size_t)sim_rng_below(r, nv);
                    if (k == 0 && step % 5 == 1) {
                        /* the lowest or highest rate: first or last in the fill */
                        size_t best = nv;
                        for (size_t x = 0; x < nv; x++)
                            if (on[x] && (best == nv || (step % 10 == 1
                                                             ? a.vars[x].rate < a.vars[best].rate
                                                             : a.vars[x].rate > a.vars[best].rate)))
                                best = x;
                        if (best < nv)
                            v = best;
                    }
                    int arrive = !on[v] && sim_rng_uniform(r) < 0.1;
                    if (on[v]) {
                        net_mm_var_disable(inc, &a.vars[v]);
                        net_mm_var_disable(nai, &b.vars[v]);
                        on[v] = 0;
                    } else if (arrive) {
                        net_mm_var_enable(inc, &a.vars[v], &st);
                        net_mm_var_enable(nai, &b.vars[v], &st);
                        on[v] = 1;
                    }
                }
                if (step % 7 == 3) {
                    /* an arrival in the same solve as the departures: no resume may
                     * take it */
                    size_t v = (size_t)sim_rng_below(r, nv);
                    while (on[v])
                        v = (v + 1) % nv;
                    net_mm_var_enable(inc, &a.vars[v], &st);
                    net_mm_var_enable(nai, &b.vars[v], &st);
                    on[v] = 1;
                }
            }
            solve_both_and_compare(inc, nai, &a, &b, on, inst, step);
            check_maxmin(&a, on);
        }
        resumes += net_mm_get_stats(inc)->resumes;
        if (inst % 2 == 0)
            local += net_mm_get_stats(inc)->resumes_local;
        else
            ck_assert_uint_eq(net_mm_get_stats(inc)->resumes_local, 0);
        free(on);
        net_mm_destroy(inc);
        net_mm_destroy(nai);
        rand_inst_free(&a);
        rand_inst_free(&b);
        sim_rng_destroy(ra);
        sim_rng_destroy(rb);
    }
    ck_assert_uint_gt(resumes, 100);
    ck_assert_uint_gt(local, 50);
    sim_rng_destroy(r);
}
END_TEST

/* ---- an all-to-all on one switch (issue 18's shape), incremental vs naive ---- */

typedef struct a2a_sim {
    double *finish;
    int n_done;
} a2a_sim;

typedef struct a2a_flow {
    a2a_sim *sim;
    int idx;
} a2a_flow;

static void a2a_done(net_sim *ns, net_transfer *t, void *user)
{
    (void)ns;
    a2a_flow *f = user;
    f->sim->finish[f->idx] = net_transfer_finish_s(t);
    f->sim->n_done++;
}

/* Every ordered pair of n endpoints on one switch; sizes drawn from a few values (ties:
 * flows that end in the same picosecond) or uniform; variant 1 caps some rates and starts
 * a tenth of the flows later, so that arrivals interleave with departures. Variant 2: the
 * endpoints on three switches in a chain (endpoint i on switch i % 3), an all-to-all in
 * each group (three components of 156 flows at n = 40, each with a fill log of its own),
 * the groups starting 1 us apart, and 3% of the cross-group pairs started later on the
 * inter-switch links (arrivals that join components). Returns the solver's resumes. */
static uint64_t run_a2a(int n, int variant, int naive, a2a_sim *out)
{
    sim_status st;
    sim_rng *r;
    net_graph *g;
    ev_engine *e;
    net_sim *ns;
    sim_rng_create(777, (uint64_t)variant, &r, &st);
    ck_assert_int_eq(net_graph_create(&g, &st), SIM_OK);
    char name[32];
    net_node_id sw[3];
    int n_sw = variant == 2 ? 3 : 1;
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "h%d", i);
        net_graph_add_node(g, name, NET_NODE_ENDPOINT, NULL, &st);
    }
    for (int k = 0; k < n_sw; k++) {
        snprintf(name, sizeof name, "sw%d", k);
        net_graph_add_node(g, name, NET_NODE_SWITCH, &sw[k], &st);
        if (k > 0)
            ck_assert_int_eq(net_graph_add_cable(g, sw[k - 1], sw[k], 100e9, 1000000,
                                                 NET_LINK_LEAF_SPINE, NULL, &st), SIM_OK);
    }
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(net_graph_add_cable(g, (net_node_id)i, sw[i % n_sw], 50e9, 1000000,
                                             NET_LINK_NIC, NULL, &st), SIM_OK);
    ck_assert_int_eq(net_graph_finalize(g, &st), SIM_OK);
    net_router *router;
    ck_assert_int_eq(net_router_create(g, 0, &router, &st), SIM_OK);
    ck_assert_int_eq(ev_engine_create(&e, &st), SIM_OK);
    ck_assert_int_eq(net_sim_create(e, g, naive, &ns, &st), SIM_OK);
    int nf = n * (n - 1);
    out->finish = calloc((size_t)nf, sizeof *out->finish);
    out->n_done = 0;
    a2a_flow *tags = calloc((size_t)nf, sizeof *tags);
    int f = 0, started = 0;
    for (int s = 0; s < n; s++)
        for (int d = 0; d < n; d++) {
            if (s == d)
                continue;
            int64_t lat_ps = 0;
            if (variant == 1 && sim_rng_uniform(r) < 0.1)
                lat_ps = (int64_t)(2e7 * sim_rng_uniform(r));
            if (variant == 2) {
                if (s % 3 == d % 3) {
                    lat_ps = 1000000 * (int64_t)(s % 3);
                } else if (sim_rng_uniform(r) < 0.03) {
                    lat_ps = 5000000 + (int64_t)(4e7 * sim_rng_uniform(r));
                } else {
                    f++;
                    continue;
                }
            }
            net_link_id path[8];
            net_usage uses[8];
            size_t len;
            ck_assert_int_eq(net_route_path(router, (net_node_id)s, (net_node_id)d, 0, path, 8,
                                            &len, &st), SIM_OK);
            for (size_t i = 0; i < len; i++)
                uses[i] = (net_usage){path[i], 1.0};
            double bytes = variant == 0 ? 1e6 * (double)(1 + sim_rng_below(r, 6))
                                        : 5e5 + 1e6 * sim_rng_uniform(r);
            tags[f] = (a2a_flow){out, f};
            net_transfer_spec spec = {.uses = uses, .n_uses = len, .bytes = bytes,
                                      .lat_ps = lat_ps,
                                      .rate_cap_Bps = variant == 1 && sim_rng_uniform(r) < 0.05
                                                          ? 2e8 + 1e9 * sim_rng_uniform(r)
                                                          : 0,
                                      .done = a2a_done, .user = &tags[f]};
            ck_assert_int_eq(net_transfer_start(ns, &spec, NULL, &st), SIM_OK);
            f++;
            started++;
        }
    ev_run(e, INT64_MAX);
    ck_assert_int_eq(out->n_done, started);
    uint64_t resumes = net_sim_solver_stats(ns)->resumes;
    if (variant == 2 && !naive)
        ck_assert_uint_gt(net_sim_solver_stats(ns)->resumes_local, 50);
    if (variant == 0 && !naive)
        /* two links a flow, no cap: every resume takes resume_fill */
        ck_assert_uint_eq(net_sim_solver_stats(ns)->resumes_local, resumes);
    net_sim_destroy(ns);
    ev_engine_destroy(e);
    net_router_destroy(router);
    net_graph_destroy(g);
    free(tags);
    sim_rng_destroy(r);
    return resumes;
}

START_TEST(all_to_all_matches_naive)
{
    int n = 40; /* 1,560 flows: above the size from which fills are resumed (1,024) */
    a2a_sim a, b;
    uint64_t resumes = run_a2a(n, _i, 0, &a);
    ck_assert_uint_gt(resumes, 50);
    ck_assert_uint_eq(run_a2a(n, _i, 1, &b), 0);
    for (int i = 0; i < n * (n - 1); i++)
        ck_assert_msg(fabs(a.finish[i] - b.finish[i]) <= 1e-9 * b.finish[i],
                      "variant %d flow %d: %.17g vs %.17g", _i, i, a.finish[i], b.finish[i]);
    a2a_sim c;
    run_a2a(n, _i, 0, &c);
    ck_assert(memcmp(a.finish, c.finish, (size_t)(n * (n - 1)) * sizeof *a.finish) == 0);
    free(a.finish);
    free(b.finish);
    free(c.finish);
}
END_TEST

/* ---- whole simulations on random trees: incremental vs naive, and determinism ---- */

typedef struct tree_sim {
    harness h; /* first: a tag's harness pointer is the tree_sim */
    double finish[2000];
    h_flow tag[2000];
} tree_sim;

static void tree_done(net_sim *ns, net_transfer *t, void *user)
{
    (void)ns;
    h_flow *f = user;
    ((tree_sim *)(void *)f->h)->finish[f->idx] = net_transfer_finish_s(t);
}

typedef struct tree_start {
    ev_node node;
    tree_sim *ts;
    net_router *router;
    int idx;
    net_node_id src, dst;
    double bytes;
} tree_start;

static void tree_start_fn(ev_engine *e, ev_node *n)
{
    (void)e;
    tree_start *s = (tree_start *)(void *)n;
    net_link_id path[64];
    net_usage uses[64];
    size_t len;
    sim_status st;
    ck_assert_int_eq(net_route_path(s->router, s->src, s->dst, (uint64_t)s->idx, path, 64, &len,
                                    &st), SIM_OK);
    for (size_t i = 0; i < len; i++)
        uses[i] = (net_usage){path[i], 1.0};
    s->ts->tag[s->idx] = (h_flow){&s->ts->h, s->idx};
    net_transfer_spec spec = {.uses = uses, .n_uses = len, .bytes = s->bytes,
                              .lat_ps = net_path_latency_ps(s->ts->h.g, path, len),
                              .done = tree_done, .user = &s->ts->tag[s->idx]};
    ck_assert_int_eq(net_transfer_start(s->ts->h.ns, &spec, NULL, &st), SIM_OK);
}

/* A random tree of switches with hosts on it, n_flows random flows at random times. */
static void run_random_tree(uint64_t seed, int naive, int n_flows, tree_sim *ts)
{
    sim_status st;
    sim_rng *r;
    sim_rng_create(seed, 3, &r, &st);
    memset(ts, 0, sizeof *ts);
    harness *h = &ts->h;
    ck_assert_int_eq(net_graph_create(&h->g, &st), SIM_OK);
    int n_sw = 2 + (int)sim_rng_below(r, 8), n_host = 3 + (int)sim_rng_below(r, 20);
    char name[32];
    for (int i = 0; i < n_sw; i++) {
        snprintf(name, sizeof name, "s%d", i);
        net_graph_add_node(h->g, name, NET_NODE_SWITCH, NULL, &st);
        if (i > 0)
            net_graph_add_cable(h->g, i, (net_node_id)sim_rng_below(r, (uint64_t)i),
                                (1 + 9 * sim_rng_uniform(r)) * GBps,
                                (int64_t)sim_rng_below(r, 5 * US), NET_LINK_GENERIC, NULL, &st);
    }
    for (int i = 0; i < n_host; i++) {
        snprintf(name, sizeof name, "h%d", i);
        net_node_id id;
        net_graph_add_node(h->g, name, NET_NODE_ENDPOINT, &id, &st);
        net_graph_add_cable(h->g, id, (net_node_id)sim_rng_below(r, (uint64_t)n_sw),
                            (1 + 9 * sim_rng_uniform(r)) * GBps,
                            (int64_t)sim_rng_below(r, 5 * US), NET_LINK_GENERIC, NULL, &st);
    }
    ck_assert_int_eq(net_graph_finalize(h->g, &st), SIM_OK);
    ck_assert_int_eq(ev_engine_create(&h->e, &st), SIM_OK);
    ck_assert_int_eq(net_sim_create(h->e, h->g, naive, &h->ns, &st), SIM_OK);
    net_router *router;
    ck_assert_int_eq(net_router_create(h->g, 0, &router, &st), SIM_OK);
    tree_start *starts = calloc((size_t)n_flows, sizeof *starts);
    for (int i = 0; i < n_flows; i++) {
        tree_start *s = &starts[i];
        ev_node_init(&s->node, tree_start_fn);
        s->ts = ts;
        s->router = router;
        s->idx = i;
        s->src = (net_node_id)(n_sw + (int)sim_rng_below(r, (uint64_t)n_host));
        s->dst = (net_node_id)(n_sw + (int)sim_rng_below(r, (uint64_t)n_host));
        s->bytes = sim_rng_uniform(r) < 0.05 ? 0 : 1e3 + 1e8 * sim_rng_uniform(r);
        /* some flows start in the same instant to exercise batching */
        int64_t t = (int64_t)(sim_rng_uniform(r) * 0.05 * 1e12);
        if (i > 0 && sim_rng_uniform(r) < 0.1)
            t = starts[i - 1].node.t_ps;
        ev_schedule(h->e, &s->node, t, EV_CLASS_NORMAL);
    }
    ev_run(h->e, INT64_MAX);
    ck_assert_int_eq((int)net_sim_live(h->ns), 0);
    net_router_destroy(router);
    free(starts);
    h_free(h);
    sim_rng_destroy(r);
}

START_TEST(incremental_simulation_matches_naive_on_random_trees)
{
    static tree_sim a, b;
    int total = 0;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        int n = 50 + (int)(seed * 7 % 150);
        run_random_tree(seed, 0, n, &a);
        run_random_tree(seed, 1, n, &b);
        for (int i = 0; i < n; i++) {
            ck_assert(a.finish[i] > 0 || b.finish[i] == 0);
            ck_assert_msg(fabs(a.finish[i] - b.finish[i]) <= 1e-9 * b.finish[i] + 1e-12,
                          "seed %llu flow %d: %.17g vs %.17g", (unsigned long long)seed, i,
                          a.finish[i], b.finish[i]);
            total++;
        }
    }
    ck_assert(total > 5000);
}
END_TEST

START_TEST(same_input_same_output)
{
    static tree_sim a, b;
    run_random_tree(99, 0, 1500, &a);
    run_random_tree(99, 0, 1500, &b);
    ck_assert(memcmp(a.finish, b.finish, sizeof a.finish) == 0);
    int finished = 0;
    for (int i = 0; i < 1500; i++)
        finished += a.finish[i] > 0;
    ck_assert_int_gt(finished, 1000);
}
END_TEST

/* ---- event queue ---- */

typedef struct ev_rec {
    ev_node node;
    int id;
    int *log;
    int *n;
} ev_rec;

static void rec_fn(ev_engine *e, ev_node *n)
{
    (void)e;
    ev_rec *r = (ev_rec *)(void *)n;
    r->log[(*r->n)++] = r->id;
}

START_TEST(events_order_by_time_class_then_insertion)
{
    sim_status st;
    ev_engine *e;
    ck_assert_int_eq(ev_engine_create(&e, &st), SIM_OK);
    int log[16], n = 0;
    ev_rec r[6];
    for (int i = 0; i < 6; i++) {
        ev_node_init(&r[i].node, rec_fn);
        r[i].id = i;
        r[i].log = log;
        r[i].n = &n;
    }
    ev_schedule(e, &r[0].node, 10, EV_CLASS_LATE);
    ev_schedule(e, &r[1].node, 10, EV_CLASS_NORMAL);
    ev_schedule(e, &r[2].node, 5, EV_CLASS_NORMAL);
    ev_schedule(e, &r[3].node, 10, EV_CLASS_NORMAL);
    ev_schedule(e, &r[4].node, 7, EV_CLASS_NORMAL);
    ev_schedule(e, &r[5].node, 1, EV_CLASS_NORMAL);
    ev_cancel(e, &r[4].node);
    ck_assert(!ev_node_scheduled(&r[4].node));
    ev_schedule(e, &r[5].node, 20, EV_CLASS_NORMAL); /* move */
    ck_assert_uint_eq(ev_run(e, INT64_MAX), 5);
    int want[] = {2, 1, 3, 0, 5};
    ck_assert_int_eq(n, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(log[i], want[i]);
    ck_assert_int_eq(ev_now(e), 20);
    ev_engine_destroy(e);
}
END_TEST

/* The order evq.h promises: (t_ps, klass, seq). */
static int ev_before(const ev_node *a, const ev_node *b)
{
    if (a->t_ps != b->t_ps)
        return a->t_ps < b->t_ps;
    if (a->klass != b->klass)
        return a->klass < b->klass;
    return a->seq < b->seq;
}

START_TEST(event_heap_stays_sorted_under_random_churn)
{
    sim_status st;
    ev_engine *e;
    sim_rng *r;
    ck_assert_int_eq(ev_engine_create(&e, &st), SIM_OK);
    sim_rng_create(5, 5, &r, &st);
    enum { N = 5000 };
    static ev_rec recs[N];
    static int log[N];
    int n = 0;
    for (int i = 0; i < N; i++) {
        ev_node_init(&recs[i].node, rec_fn);
        recs[i].id = i;
        recs[i].log = log;
        recs[i].n = &n;
        ev_schedule(e, &recs[i].node, (int64_t)sim_rng_below(r, 1000),
                    (ev_class)sim_rng_below(r, 2));
    }
    for (int i = 0; i < N; i += 3)
        ev_cancel(e, &recs[i].node);
    for (int i = 1; i < N; i += 7) /* moves, earlier or later */
        ev_schedule(e, &recs[i].node, (int64_t)sim_rng_below(r, 1000),
                    (ev_class)sim_rng_below(r, 2));
    ev_run(e, INT64_MAX);
    for (int i = 1; i < n; i++) {
        const ev_node *a = &recs[log[i - 1]].node, *b = &recs[log[i]].node;
        ck_assert(ev_before(a, b));
    }
    int expect = 0;
    for (int i = 0; i < N; i++)
        expect += i % 3 != 0 || i % 7 == 1;
    ck_assert_int_eq(n, expect);
    sim_rng_destroy(r);
    ev_engine_destroy(e);
}
END_TEST

/* The queue against a reference: callbacks schedule, move and cancel nodes at random, many
 * in the running instant and both classes, with few distinct times (the instants' FIFOs do
 * the work) or many (the table of newest buckets forgets instants, which then have several
 * buckets); every node run must be the least (t_ps, klass, seq) of what is scheduled, found
 * by a scan, and scheduled/pending must agree with the reference. */
enum { CHURN_N = 300 };
typedef struct churn {
    ev_node node[CHURN_N];
    int sched[CHURN_N];
    sim_rng *r;
    long ran, budget;
    uint64_t spread; /* a node is scheduled at now + [0, spread) */
    int bad;
} churn;

static churn *churn_of; /* the callback's state: one churn test at a time */

static void churn_touch(ev_engine *e, churn *c)
{
    int i = (int)sim_rng_below(c->r, CHURN_N);
    if (sim_rng_below(c->r, 4) == 0) {
        ev_cancel(e, &c->node[i]);
        c->sched[i] = 0;
    } else {
        int64_t t = ev_now(e) + (int64_t)sim_rng_below(c->r, c->spread);
        ck_assert_int_eq(ev_schedule(e, &c->node[i], t, (ev_class)sim_rng_below(c->r, 2)),
                         SIM_OK);
        c->sched[i] = 1;
    }
}

static void churn_fn(ev_engine *e, ev_node *n)
{
    churn *c = churn_of;
    int id = (int)(n - c->node);
    if (!c->sched[id] || ev_node_scheduled(n))
        c->bad++;
    c->sched[id] = 0;
    for (int i = 0; i < CHURN_N; i++)
        if (c->sched[i] && ev_before(&c->node[i], n))
            c->bad++; /* something earlier was still waiting */
    size_t pending = 0;
    for (int i = 0; i < CHURN_N; i++) {
        pending += (size_t)c->sched[i];
        if (c->sched[i] != ev_node_scheduled(&c->node[i]))
            c->bad++;
    }
    if (pending != ev_pending(e))
        c->bad++;
    if (++c->ran < c->budget)
        for (int k = 1 + (int)sim_rng_below(c->r, 3); k > 0; k--)
            churn_touch(e, c);
}

static void churn_check(uint64_t spread)
{
    sim_status st;
    ev_engine *e;
    static churn c;
    memset(&c, 0, sizeof c);
    churn_of = &c;
    ck_assert_int_eq(ev_engine_create(&e, &st), SIM_OK);
    ck_assert_int_eq(sim_rng_create(11, 3, &c.r, &st), SIM_OK);
    c.budget = 200000;
    c.spread = spread;
    for (int i = 0; i < CHURN_N; i++)
        ev_node_init(&c.node[i], churn_fn);
    for (int i = 0; i < CHURN_N; i++)
        churn_touch(e, &c);
    /* in slices, so that runs resume where a bound stopped them (a slice is longer than the
     * spread, so that each runs something) */
    while (ev_pending(e) > 0)
        ev_run(e, ev_now(e) + 50 * (int64_t)spread / 4);
    ck_assert_int_eq(c.bad, 0);
    ck_assert_int_ge(c.ran, c.budget);
    /* clear unschedules every node */
    for (int i = 0; i < 50; i++)
        churn_touch(e, &c);
    ev_clear(e);
    ck_assert_uint_eq(ev_pending(e), 0);
    for (int i = 0; i < CHURN_N; i++)
        ck_assert(!ev_node_scheduled(&c.node[i]));
    sim_rng_destroy(c.r);
    ev_engine_destroy(e);
}

START_TEST(event_queue_matches_a_reference_under_churn)
{
    churn_check(4);
}
END_TEST

/* Hundreds of instants pending at once: the table of newest buckets forgets some, and an
 * instant scheduled again gets a second bucket, which must run after the first. */
START_TEST(event_queue_matches_a_reference_with_many_instants)
{
    churn_check(600);
}
END_TEST

/* ---- routing ---- */

START_TEST(ecmp_spreads_flows_over_equal_cost_paths)
{
    /* h0 - s0 = {s1..s4} = s5 - h1: four equal-cost two-hop middles */
    sim_status st;
    net_graph *g;
    net_graph_create(&g, &st);
    net_node_id h0, h1, s[6];
    net_graph_add_node(g, "h0", NET_NODE_ENDPOINT, &h0, &st);
    net_graph_add_node(g, "h1", NET_NODE_ENDPOINT, &h1, &st);
    char name[8];
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "s%d", i);
        net_graph_add_node(g, name, NET_NODE_SWITCH, &s[i], &st);
    }
    net_graph_add_cable(g, h0, s[0], GBps, 0, NET_LINK_GENERIC, NULL, &st);
    net_graph_add_cable(g, h1, s[5], GBps, 0, NET_LINK_GENERIC, NULL, &st);
    for (int i = 1; i <= 4; i++) {
        net_graph_add_cable(g, s[0], s[i], GBps, 0, NET_LINK_GENERIC, NULL, &st);
        net_graph_add_cable(g, s[i], s[5], GBps, 0, NET_LINK_GENERIC, NULL, &st);
    }
    net_graph_finalize(g, &st);
    net_router *r;
    ck_assert_int_eq(net_router_create(g, 0, &r, &st), SIM_OK);
    int count[8] = {0};
    for (uint64_t f = 0; f < 4000; f++) {
        net_link_id path[8];
        size_t len;
        ck_assert_int_eq(net_route_path(r, h0, h1, sim_hash_mix(f), path, 8, &len, &st), SIM_OK);
        ck_assert_uint_eq(len, 4);
        count[net_graph_link(g, path[1])->dst]++;
        /* the same flow hash always takes the same path */
        net_link_id again[8];
        net_route_path(r, h0, h1, sim_hash_mix(f), again, 8, &len, &st);
        ck_assert(memcmp(path, again, sizeof(net_link_id) * 4) == 0);
    }
    for (int i = 1; i <= 4; i++)
        ck_assert_msg(count[s[i]] > 850 && count[s[i]] < 1150, "middle %d got %d", i,
                      count[s[i]]);
    ck_assert_int_eq(net_route_hops(r, h0, h1), 4);
    net_router_destroy(r);
    net_graph_destroy(g);
}
END_TEST

START_TEST(unreachable_destination_is_an_input_error)
{
    sim_status st;
    net_graph *g;
    net_graph_create(&g, &st);
    net_node_id a, b;
    net_graph_add_node(g, "a", NET_NODE_ENDPOINT, &a, &st);
    net_graph_add_node(g, "b", NET_NODE_ENDPOINT, &b, &st);
    net_graph_finalize(g, &st);
    net_router *r;
    net_router_create(g, 0, &r, &st);
    net_link_id path[4];
    size_t len;
    ck_assert_int_eq(net_route_path(r, a, b, 1, path, 4, &len, &st), SIM_ERR_INPUT);
    ck_assert_str_eq(st.msg, "no path from 'a' to 'b'");
    net_router_destroy(r);
    net_graph_destroy(g);
}
END_TEST

/* Local resumes of both kinds of log (solver18): unit weights with two- and three-link
 * variables until the three-link ones have left (the generic loops), then two-link only
 * (the unrolled pair loops, from the first solve after the last three-link departure);
 * and two-link variables of weights other than 1 (the generic loops with weights). Rates
 * against the naive solver to 1e-9 after every solve. */
START_TEST(local_resumes_of_pair_and_mixed_logs_match_naive)
{
    sim_status st;
    for (int inst = 0; inst < 2; inst++) {
        sim_rng *r;
        ck_assert_int_eq(sim_rng_create(1818, (uint64_t)inst, &r, &st), SIM_OK);
        size_t nl = 40, nv = 900;
        rand_inst a, b;
        a.n_links = b.n_links = nl;
        a.n_vars = b.n_vars = nv;
        a.caps = malloc(nl * sizeof *a.caps);
        b.caps = malloc(nl * sizeof *b.caps);
        a.vars = calloc(nv, sizeof *a.vars);
        b.vars = calloc(nv, sizeof *b.vars);
        a.elems = calloc(nv * 4, sizeof *a.elems);
        b.elems = calloc(nv * 4, sizeof *b.elems);
        for (size_t l = 0; l < nl; l++)
            a.caps[l] = b.caps[l] = inst == 0 ? 5.0 : 1 + 9 * sim_rng_uniform(r);
        size_t n_wide = inst == 0 ? 60 : 0; /* vars [0, n_wide) cross three links */
        for (size_t v = 0; v < nv; v++) {
            uint32_t k = v < n_wide ? 3 : 2;
            int32_t l0 = (int32_t)sim_rng_below(r, nl);
            for (uint32_t i = 0; i < k; i++) {
                double w = inst == 0 ? 1.0 : 0.5 + 1.5 * sim_rng_uniform(r);
                int32_t l = (int32_t)(((size_t)l0 + 7 * i) % nl); /* distinct for i < 3 */
                a.elems[v * 4 + i].cnst = b.elems[v * 4 + i].cnst = l;
                a.elems[v * 4 + i].w = b.elems[v * 4 + i].w = w;
            }
            a.vars[v].elems = &a.elems[v * 4];
            b.vars[v].elems = &b.elems[v * 4];
            a.vars[v].n_elems = b.vars[v].n_elems = k;
        }
        net_mm_system *inc, *nai;
        ck_assert_int_eq(net_mm_create(nl, a.caps, 0, &inc, &st), SIM_OK);
        ck_assert_int_eq(net_mm_create(nl, b.caps, 1, &nai, &st), SIM_OK);
        int *on = calloc(nv, sizeof *on);
        for (size_t v = 0; v < nv; v++) {
            ck_assert_int_eq(net_mm_var_enable(inc, &a.vars[v], &st), SIM_OK);
            ck_assert_int_eq(net_mm_var_enable(nai, &b.vars[v], &st), SIM_OK);
            on[v] = 1;
        }
        uint64_t pair_before = 0;
        for (int step = 0; step < 130; step++) {
            /* the three-link variables leave first, one per solve; then random ones, in
             * batches of one to three */
            int batch = step < (int)n_wide ? 1 : 1 + (int)sim_rng_below(r, 3);
            for (int k = 0; k < batch; k++) {
                size_t v = step < (int)n_wide ? (size_t)step : (size_t)sim_rng_below(r, nv);
                while (!on[v])
                    v = (v + 1) % nv;
                net_mm_var_disable(inc, &a.vars[v]);
                net_mm_var_disable(nai, &b.vars[v]);
                on[v] = 0;
            }
            if (step == (int)n_wide - 1) /* before the first solve without them */
                pair_before = net_mm_get_stats(inc)->resumes_pair;
            solve_both_and_compare(inc, nai, &a, &b, on, inst, step);
            check_maxmin(&a, on);
        }
        const net_mm_stats *ms = net_mm_get_stats(inc);
        ck_assert_uint_gt(ms->resumes_local, 100);
        if (inst == 0) {
            /* no pair resume while three-link variables were in, many after */
            ck_assert_uint_eq(pair_before, 0);
            ck_assert_uint_gt(ms->resumes_pair, 40);
        } else {
            ck_assert_uint_eq(ms->resumes_pair, 0); /* weights other than 1 */
        }
        free(on);
        net_mm_destroy(inc);
        net_mm_destroy(nai);
        rand_inst_free(&a);
        rand_inst_free(&b);
        sim_rng_destroy(r);
    }
}
END_TEST

static Suite *net_suite(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("analytic");
    /* each analytic case runs with the incremental (0) and the naive (1) solver */
    tcase_add_loop_test(tc, one_flow_latency_plus_size_over_bandwidth, 0, 2);
    tcase_add_loop_test(tc, two_flows_on_one_link_get_half_each, 0, 2);
    tcase_add_loop_test(tc, parking_lot_two_levels, 0, 2);
    tcase_add_loop_test(tc, departure_from_empty_links_solves_nothing, 0, 2);
    tcase_add_loop_test(tc, flow_starting_while_another_runs, 0, 2);
    tcase_add_loop_test(tc, latency_only_and_empty_path, 0, 2);
    tcase_add_loop_test(tc, coupled_transfer_weights, 0, 2);
    tcase_add_loop_test(tc, repeated_links_add_weights, 0, 2);
    tcase_add_loop_test(tc, rate_cap_leaves_the_rest_to_others, 0, 2);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("random");
    tcase_set_timeout(tr, 600);
    tcase_add_test(tr, incremental_matches_naive_and_definition_on_random_instances);
    tcase_add_test(tr, incremental_simulation_matches_naive_on_random_trees);
    tcase_add_test(tr, resumed_fills_match_naive_on_large_random_instances);
    tcase_add_test(tr, local_resumes_of_pair_and_mixed_logs_match_naive);
    tcase_add_loop_test(tr, all_to_all_matches_naive, 0, 3);
    tcase_add_test(tr, same_input_same_output);
    suite_add_tcase(s, tr);
    TCase *te = tcase_create("engine");
    tcase_add_test(te, events_order_by_time_class_then_insertion);
    tcase_add_test(te, event_heap_stays_sorted_under_random_churn);
    tcase_add_test(te, event_queue_matches_a_reference_under_churn);
    tcase_add_test(te, event_queue_matches_a_reference_with_many_instants);
    tcase_add_test(te, ecmp_spreads_flows_over_equal_cost_paths);
    tcase_add_test(te, unreachable_destination_is_an_input_error);
    suite_add_tcase(s, te);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(net_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
