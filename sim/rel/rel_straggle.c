/*
 * rel_straggle.c: the step-time distribution under stragglers and what replacing the slowest
 * nodes buys (rel_straggle.h has the model).
 *
 * Data: one factor array per replay ([topology chips], as exec_opts.slowdown reads it: rank i
 * on chip i), reused across draws. Per draw the slowed nodes are listed once (node_span:
 * a node's chips are consecutive, site by site and node by node, topo.h) and sorted slowest
 * first; dropping k of them resets the first min(k, slowed) spans. Replays are keyed by that
 * count within a draw: the same count means the same factors, hence the same step (the
 * replay is deterministic), so it is replayed once; a count equal to all the slowed nodes is
 * the baseline's all-ones factors, and a count of zero the draw's own.
 *
 * Invariants: every replay of one call uses the same exec options except the factors;
 * r->step_s[i] is draw i's (seed run.seed + i); the statistics are GSL's over step_s.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort_double.h>
#include <gsl/gsl_statistics_double.h>

#include "rel/rel_straggle.h"

typedef struct node_span {
    int64_t first, end; /* chips [first, end) */
    double max;         /* the slowest chip's factor */
} node_span;

/* Slowest first; ties to the lower chip id (deterministic). */
static int cmp_span(const void *a, const void *b)
{
    const node_span *x = a, *y = b;
    if (x->max != y->max)
        return x->max > y->max ? -1 : 1;
    return (x->first > y->first) - (x->first < y->first);
}

/* The nodes of chips [0, chips) of t: all into *all_nodes (may be NULL) and the slowed ones
 * (a factor above 1) into spans[0..*n) sorted slowest first. spans: [chips] caller-owned. */
static void slowed_nodes(const topo *t, int64_t chips, const double *f, node_span *spans,
                         int64_t *n, int64_t *all_nodes)
{
    int64_t m = 0, nodes = 0;
    for (int64_t c = 0; c < chips;) {
        size_t site = topo_chip_site(t, (int32_t)c);
        int32_t node = topo_chip_node(t, (int32_t)c);
        node_span s = {c, c, 1};
        while (s.end < chips && topo_chip_site(t, (int32_t)s.end) == site &&
               topo_chip_node(t, (int32_t)s.end) == node) {
            if (f[s.end] > s.max)
                s.max = f[s.end];
            s.end++;
        }
        nodes++;
        if (s.max > 1)
            spans[m++] = s;
        c = s.end;
    }
    qsort(spans, (size_t)m, sizeof *spans, cmp_span);
    *n = m;
    if (all_nodes)
        *all_nodes = nodes;
}

/* out = f with the first k spans' chips at 1. */
static void reset_spans(const node_span *spans, int64_t k, const double *f, double *out,
                        size_t n_chips)
{
    if (out != f)
        memcpy(out, f, n_chips * sizeof *out);
    for (int64_t i = 0; i < k; i++)
        for (int64_t c = spans[i].first; c < spans[i].end; c++)
            out[c] = 1;
}

int64_t rel_straggle_chips(const plan *p)
{
    const plan_cross_dc *x = plan_cross_dc_of(p);
    if (x->scheme != PLAN_XDC_DILOCO && x->scheme != PLAN_XDC_STREAMING)
        return plan_ranks(p);
    int64_t last = x->replicas - 1;
    return plan_site_base(p, last) + plan_ranks(plan_site(p, last));
}

sim_code rel_straggle_drop(const topo *t, int64_t chips, const double *f, int64_t k,
                           double *out, int64_t *replaced, sim_status *st)
{
    node_span *spans = malloc((size_t)(chips > 0 ? chips : 1) * sizeof *spans);
    if (!spans)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    int64_t n = 0;
    slowed_nodes(t, chips, f, spans, &n, NULL);
    int64_t kk = k < n ? k : n;
    reset_spans(spans, kk > 0 ? kk : 0, f, out, topo_chip_count(t));
    if (replaced)
        *replaced = kk > 0 ? kk : 0;
    free(spans);
    return SIM_OK;
}

/* One replay with factors f: its step into *step_s. */
static sim_code replay(plan *p, const exec_opts *base, const double *f, double *step_s,
                       int64_t *replays, sim_status *st)
{
    exec_opts o = *base;
    o.slowdown = f;
    exec_result r;
    sim_code rc = exec_run(p, &o, &r, st);
    if (rc == SIM_OK && r.stopped)
        rc = sim_status_set(st, SIM_ERR_LIMIT, NULL, 0, 0,
                            "stragglers: a replay stopped at its bound (max events or wall "
                            "time) before the step ended");
    if (rc == SIM_OK)
        *step_s = r.step_time_s;
    exec_result_free(&r);
    ++*replays;
    return rc;
}

static sim_code check_opts(const rel_straggle_opts *o, sim_status *st)
{
    if (o->seeds < 1 || o->seeds > REL_STRAGGLE_MAX_SEEDS)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                              "stragglers: expected from 1 to %d draws, found %lld",
                              REL_STRAGGLE_MAX_SEEDS, (long long)o->seeds);
    if (o->n_drop > REL_STRAGGLE_MAX_DROP || (o->n_drop && !o->drop))
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                              "stragglers: expected at most %d node counts to drop, found %zu",
                              REL_STRAGGLE_MAX_DROP, o->n_drop);
    for (size_t j = 0; j < o->n_drop; j++)
        if (o->drop[j] < 1)
            return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                                  "stragglers: expected node counts to drop of 1 or more, "
                                  "found %lld", (long long)o->drop[j]);
    return SIM_OK;
}

/* The draws' statistics (GSL) into r. */
static sim_code summarize(rel_straggle_result *r, sim_status *st)
{
    size_t n = (size_t)r->draws;
    double *s = malloc(n * sizeof *s);
    if (!s)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    memcpy(s, r->step_s, n * sizeof *s);
    gsl_sort(s, 1, n);
    r->mean_s = gsl_stats_mean(r->step_s, 1, n);
    r->min_s = s[0];
    r->max_s = s[n - 1];
    r->p50_s = gsl_stats_quantile_from_sorted_data(s, 1, n, 0.5);
    r->p90_s = gsl_stats_quantile_from_sorted_data(s, 1, n, 0.9);
    r->p99_s = gsl_stats_quantile_from_sorted_data(s, 1, n, 0.99);
    for (size_t j = 0; j < r->n_drop; j++)
        r->drop_s[j] = gsl_stats_mean(r->drop_step_s + j * n, 1, n);
    free(s);
    return SIM_OK;
}

sim_code rel_straggle_run(plan *p, const rel_straggle_opts *o, rel_straggle_result *r,
                          sim_status *st)
{
    memset(r, 0, sizeof *r);
    sim_code rc = check_opts(o, st);
    if (rc != SIM_OK)
        return rc;
    const topo *t = plan_topo(p);
    size_t n_chips = topo_chip_count(t);
    int64_t chips = rel_straggle_chips(p), draws = o->seeds;
    exec_opts base = o->exec ? *o->exec : (exec_opts){0};
    base.trace = NULL;
    base.progress = false;
    const plan_cross_dc *x = plan_cross_dc_of(p);
    base.replicas =
        x->scheme == PLAN_XDC_DILOCO || x->scheme == PLAN_XDC_STREAMING ? x->replicas : 0;
    double *ones = malloc((n_chips ? n_chips : 1) * sizeof *ones);
    double *f = malloc((n_chips ? n_chips : 1) * sizeof *f);
    double *g = malloc((n_chips ? n_chips : 1) * sizeof *g);
    node_span *spans = malloc((size_t)(chips > 0 ? chips : 1) * sizeof *spans);
    double *by_count = malloc((o->n_drop + 1) * sizeof *by_count); /* a draw's replays */
    int64_t *count = malloc((o->n_drop + 1) * sizeof *count);
    r->draws = draws;
    r->first_seed = plan_seed(p);
    r->step_s = calloc((size_t)draws, sizeof *r->step_s);
    r->slow_chips = calloc((size_t)draws, sizeof *r->slow_chips);
    r->slow_nodes = calloc((size_t)draws, sizeof *r->slow_nodes);
    r->n_drop = o->n_drop;
    r->drop_k = calloc(o->n_drop + 1, sizeof *r->drop_k);
    r->drop_s = calloc(o->n_drop + 1, sizeof *r->drop_s);
    r->drop_step_s = calloc(o->n_drop * (size_t)draws + 1, sizeof *r->drop_step_s);
    r->chips = chips;
    if (!ones || !f || !g || !spans || !by_count || !count || !r->step_s || !r->slow_chips ||
        !r->slow_nodes || !r->drop_k || !r->drop_s ||
        !r->drop_step_s) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < n_chips; c++)
        ones[c] = 1;
    for (size_t j = 0; j < o->n_drop; j++)
        r->drop_k[j] = o->drop[j];
    rc = replay(p, &base, ones, &r->baseline_s, &r->replays, st);
    for (int64_t i = 0; rc == SIM_OK && i < draws; i++) {
        rc = plan_draw_slowdown(p, r->first_seed + (uint64_t)i, f, st);
        if (rc != SIM_OK)
            break;
        int64_t n = 0;
        slowed_nodes(t, chips, f, spans, &n, &r->nodes);
        for (int64_t c = 0; c < chips; c++)
            r->slow_chips[i] += f[c] > 1;
        r->slow_nodes[i] = n;
        rc = n ? replay(p, &base, f, &r->step_s[i], &r->replays, st) : SIM_OK;
        if (!n)
            r->step_s[i] = r->baseline_s; /* the baseline's factors */
        size_t known = 0;
        for (size_t j = 0; rc == SIM_OK && j < o->n_drop; j++) {
            int64_t kk = o->drop[j] < n ? o->drop[j] : n;
            double step = kk == 0 ? r->step_s[i] : kk == n ? r->baseline_s : -1;
            for (size_t q = 0; step < 0 && q < known; q++)
                if (count[q] == kk)
                    step = by_count[q];
            if (step < 0) {
                reset_spans(spans, kk, f, g, n_chips);
                rc = replay(p, &base, g, &step, &r->replays, st);
                count[known] = kk;
                by_count[known++] = step;
            }
            r->drop_step_s[j * (size_t)draws + (size_t)i] = step;
        }
    }
    if (rc == SIM_OK)
        rc = summarize(r, st);
done:
    free(ones);
    free(f);
    free(g);
    free(spans);
    free(by_count);
    free(count);
    return rc;
}

void rel_straggle_result_free(rel_straggle_result *r)
{
    if (!r)
        return;
    free(r->step_s);
    free(r->slow_chips);
    free(r->slow_nodes);
    free(r->drop_k);
    free(r->drop_s);
    free(r->drop_step_s);
    memset(r, 0, sizeof *r);
}
