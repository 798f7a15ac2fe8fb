/*
 * search.c: the parallelism search's space, its pruning and its choice of replays (see
 * search.h).
 */
#include "search/search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "hw/chip.h"
#include "topo/topo.h"
#include "workload/plan.h"

static const char *const rec_names[] = {"none", "selective", "full"};

static void mark_dominated(search_result *r);

static sim_code push(search_result *r, const search_cand *c, size_t *cap, sim_status *st)
{
    if (r->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 256;
        search_cand *v = realloc(r->c, nc * sizeof *v);
        if (!v)
            return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
        r->c = v;
        *cap = nc;
    }
    r->c[r->n++] = *c;
    return SIM_OK;
}

static const char *const sched_names[] = {"gpipe", "1f1b", "interleaved"};

void search_fsdp_value(int fsdp, char *buf, size_t len)
{
    if (fsdp == WL_FSDP_NONE) {
        snprintf(buf, len, "false");
        return;
    }
    const char *name = wl_fsdp_name((wl_fsdp)fsdp);
    size_t i = 0;
    for (; name[i] && i + 1 < len; i++)
        buf[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    buf[i] = 0;
}

const char *search_schedule_name(int schedule)
{
    return schedule >= 0 && schedule < 3 ? sched_names[schedule] : "?";
}

void search_overrides(const search_cand *c, search_ovbuf *b, ydoc_override *ov, size_t *n)
{
    char fsdp[32];
    search_fsdp_value(c->fsdp, fsdp, sizeof fsdp);
    const struct {
        const char *key;
        long long v;
        const char *text;
    } kv[] = {
        {"tp", c->tp, NULL},
        {"pp", c->pp, NULL},
        {"dp", c->dp, NULL},
        {"cp", c->cp, NULL},
        {"ep", c->ep, NULL},
        {"virtual_stages", c->vp, NULL},
        {"schedule", 0, sched_names[c->schedule]},
        {"micro_batch", c->micro_batch, NULL},
        {"zero", c->zero, NULL},
        {"fsdp", 0, fsdp},
        {"recompute", 0, rec_names[c->recompute]},
        {"first_stage_layers", c->first_layers, NULL},
        {"last_stage_layers", c->last_layers, NULL},
        {"fsdp_shard_size", c->fsdp_shard, NULL},
    };
    _Static_assert(sizeof kv / sizeof kv[0] <= SEARCH_OV_MAX, "SEARCH_OV_MAX too small");
    *n = 0;
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        if (!strcmp(kv[i].key, "fsdp_shard_size") && !c->fsdp_shard)
            continue; /* the hybrid strategies' only */
        size_t j = *n;
        snprintf(b->key[j], sizeof b->key[j], "parallelism.%s", kv[i].key);
        if (kv[i].text)
            snprintf(b->val[j], sizeof b->val[j], "%s", kv[i].text);
        else
            snprintf(b->val[j], sizeof b->val[j], "%lld", kv[i].v);
        if (kv[i].text)
            snprintf(b->origin[j], sizeof b->origin[j], "search: parallelism.%s=%s", kv[i].key,
                     kv[i].text);
        else
            snprintf(b->origin[j], sizeof b->origin[j], "search: parallelism.%s=%lld",
                     kv[i].key, kv[i].v);
        ov[(*n)++] = (ydoc_override){b->key[j], b->val[j], b->origin[j]};
    }
}

void search_describe(const search_cand *c, char *buf, size_t len)
{
    char layout[48] = "", shard[48];
    if (c->first_layers || c->last_layers)
        snprintf(layout, sizeof layout, " (%lld+..+%lld)", (long long)c->first_layers,
                 (long long)c->last_layers);
    if (c->fsdp == WL_FSDP_NONE)
        snprintf(shard, sizeof shard, "zero %d", c->zero);
    else if (c->fsdp_shard)
        snprintf(shard, sizeof shard, "fsdp %s/%lld", wl_fsdp_name((wl_fsdp)c->fsdp),
                 (long long)c->fsdp_shard);
    else
        snprintf(shard, sizeof shard, "fsdp %s", wl_fsdp_name((wl_fsdp)c->fsdp));
    snprintf(buf, len, "tp %lld pp %lld dp %lld cp %lld ep %lld vp %lld%s%s%s mb %lld %s %s",
             (long long)c->tp, (long long)c->pp, (long long)c->dp, (long long)c->cp,
             (long long)c->ep, (long long)c->vp, layout, c->pp > 1 ? " " : "",
             c->pp > 1 ? sched_names[c->schedule] : "", (long long)c->micro_batch, shard,
             c->recompute == WL_RECOMPUTE_NONE ? "no recompute"
             : c->recompute == WL_RECOMPUTE_SELECTIVE ? "selective recompute"
                                                      : "full recompute");
}

/* The chips of chip 0's node (its scale-up domain's share, at least 1). */
static int64_t node_chips(const topo *t, int64_t n)
{
    int32_t node = topo_chip_node(t, 0);
    int64_t k = 1;
    while (k < n && topo_chip_node(t, (int32_t)k) == node)
        k++;
    return k;
}

/* First and last stage layers when pp x vp stages do not split L evenly: the middle stages
 * carry ceil(L / (pp vp)) per chunk, the first and last share the rest; 0, 0 when even.
 * -1 when no such layout exists (too few layers). */
static int layout_of(int64_t L, int64_t pp, int64_t vp, int64_t *first, int64_t *last)
{
    *first = *last = 0;
    int64_t chunks = pp * vp;
    if (L % chunks == 0)
        return 0;
    if (pp < 3)
        return -1;
    int64_t k = (L + chunks - 1) / chunks; /* per middle chunk */
    int64_t rest = L - (pp - 2) * vp * k; /* first and last stages, vp chunks each */
    if (rest < 2 * vp)
        return -1;
    *first = rest / 2;
    *last = rest - *first;
    return 0;
}

/* Whether the candidate's memory fits the chip, from the model alone; reason when not. */
static bool fits(const plan *base, const search_cand *c, double hbm, char *reason, size_t len)
{
    wl_workload w = *plan_workload(base);
    wl_parallel par = *plan_parallel(base);
    w.micro_batch = c->micro_batch;
    par.tp = c->tp, par.pp = c->pp, par.dp = c->dp, par.cp = c->cp, par.ep = c->ep;
    par.vp = c->vp;
    par.schedule = (wl_schedule)c->schedule;
    par.zero = c->zero;
    par.fsdp = c->fsdp != WL_FSDP_NONE;
    par.fsdp_strategy = (wl_fsdp)c->fsdp;
    par.fsdp_shard = c->fsdp_shard;
    par.recompute = (wl_recompute)c->recompute;
    par.first_stage_layers = c->first_layers;
    par.last_stage_layers = c->last_layers;
    par.layout_n = 0;
    if (w.global_batch % (c->micro_batch * c->dp) != 0) {
        snprintf(reason, len, "global batch %lld not divisible by micro-batch %lld x dp %lld",
                 (long long)w.global_batch, (long long)c->micro_batch, (long long)c->dp);
        return false;
    }
    wl_memory m;
    sim_status st;
    if (wl_memory_per_rank(&w, &par, &m, &st) != SIM_OK) {
        snprintf(reason, len, "%.*s", (int)len - 1, st.msg);
        return false;
    }
    if (hbm > 0 && m.total > hbm) {
        snprintf(reason, len, "memory %.2f GiB per rank exceeds the chip's %.2f GiB",
                 m.total / 1073741824.0, hbm / 1073741824.0);
        return false;
    }
    return true;
}

/* Checks and estimates c: plan_load with its overrides (on the base plan's topology),
 * then the estimate. */
static void evaluate(const char *config, const ydoc_override *ov, size_t n_ov, search_cand *c,
                     ydoc_override *all, topo *shared)
{
    search_ovbuf b;
    size_t k = 0;
    search_overrides(c, &b, all + n_ov, &k);
    if (n_ov)
        memcpy(all, ov, n_ov * sizeof *ov);
    plan *p = NULL;
    sim_status st;
    sim_status_clear(&st);
    if (plan_load_shared(config, all, n_ov + k, shared, &p, &st) != SIM_OK ||
        search_estimate_plan(p, &c->est, &st) != SIM_OK) {
        char msg[SIM_STATUS_MSG_MAX + 64];
        sim_status_format(&st, msg, sizeof msg);
        snprintf(c->reason, sizeof c->reason, "%.*s", (int)sizeof c->reason - 1, msg);
        c->state = SEARCH_REJECTED;
    } else {
        c->state = SEARCH_ESTIMATED;
    }
    plan_destroy(p);
}

/* The sharding modes, in the order they are enumerated. */
static const struct sharding {
    int zero, fsdp;
    bool hybrid;
} shardings[] = {
    {0, WL_FSDP_NONE, false},
    {1, WL_FSDP_NONE, false},
    {2, WL_FSDP_NONE, false},
    {0, WL_FSDP_FULL_SHARD, false},
    {0, WL_FSDP_SHARD_GRAD_OP, false},
    {0, WL_FSDP_HYBRID_SHARD, true},
    {0, WL_FSDP_HYBRID_SHARD_ZERO2, true},
};
#define N_SHARDINGS (sizeof shardings / sizeof shardings[0])

/* Whether sharding h applies to a job of pp stages and replicas = dp x cp, whose node holds
 * per_node of its replicas; *group: the hybrid strategies' shard group, the node's replicas
 * (the largest divisor of the replicas up to per_node, as the planner's default). */
static bool sharding_applies(const struct sharding *h, int64_t pp, int64_t replicas,
                             int64_t per_node, int64_t *group)
{
    *group = 0;
    if (replicas == 1)
        return h->zero == 0 && h->fsdp == WL_FSDP_NONE;
    if (h->zero == 2 && pp > 1)
        return false;
    if (!h->hybrid)
        return true;
    int64_t g = per_node < replicas ? per_node : replicas;
    while (g > 1 && replicas % g != 0)
        g--;
    if (g <= 1 || g >= replicas)
        return false; /* the same as no sharding, or as full sharding */
    *group = g;
    return true;
}

/* Whether schedule sc applies: pp 1 runs no pipeline (1f1b stands for none); virtual stages
 * need the interleaved schedule and one chunk a stage takes gpipe or 1f1b. */
static bool schedule_applies(int sc, int64_t pp, int64_t vp)
{
    if (vp > 1)
        return sc == WL_SCHED_INTERLEAVED;
    if (pp == 1)
        return sc == WL_SCHED_1F1B;
    return sc == WL_SCHED_1F1B || sc == WL_SCHED_GPIPE;
}

sim_code search_enumerate(const char *config, const ydoc_override *ov, size_t n_ov,
                          search_result *out, sim_status *st)
{
    memset(out, 0, sizeof *out);
    double t0 = sim_wall_s();
    plan *base = NULL;
    sim_code rc = plan_load(config, ov, n_ov, &base, st);
    if (rc != SIM_OK)
        return rc;
    const wl_workload *w = plan_workload(base);
    const topo *t = plan_topo(base);
    const hw_chip *chip = topo_chip_hw(t, 0);
    double hbm = chip ? chip->hbm_bytes : 0;
    int64_t N = plan_ranks(base), node = node_chips(t, N), L = w->layers;
    out->chips = N;
    ydoc_override *all = malloc((n_ov + SEARCH_OV_MAX) * sizeof *all);
    if (!all) {
        plan_destroy(base);
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    size_t cap = 0;
    static const int64_t vps[] = {1, 2, 3, 4, 6, 8};
    static const int64_t mbs[] = {1, 2, 4};
    for (int64_t tp = 1; rc == SIM_OK && tp <= node && N % tp == 0; tp *= 2)
        for (int64_t cp = 1;
             rc == SIM_OK && N % (tp * cp) == 0 && (cp == 1 || w->sequence / cp >= 4096);
             cp *= 2)
            for (int64_t pp = 1; rc == SIM_OK && pp <= L && pp <= N / (tp * cp); pp++) {
                if ((N / (tp * cp)) % pp != 0)
                    continue;
                int64_t dp = N / (tp * cp * pp);
                for (int64_t ep = 1; rc == SIM_OK && ep <= (w->experts ? dp * cp : 1); ep *= 2) {
                    if (w->experts && (w->experts % ep != 0 || (dp * cp) % ep != 0))
                        continue;
                    for (size_t iv = 0; rc == SIM_OK && iv < sizeof vps / sizeof vps[0]; iv++) {
                        int64_t vp = vps[iv];
                        if ((pp == 1 && vp > 1) || pp * vp > L)
                            continue;
                        int64_t first, last;
                        if (layout_of(L, pp, vp, &first, &last) != 0)
                            continue;
                        for (int sc = 0; rc == SIM_OK && sc < 3; sc++) {
                            if (!schedule_applies(sc, pp, vp))
                                continue;
                            for (size_t im = 0; rc == SIM_OK && im < sizeof mbs / sizeof mbs[0];
                                 im++)
                                for (size_t ih = 0; rc == SIM_OK && ih < N_SHARDINGS; ih++) {
                                    int64_t group = 0;
                                    if (!sharding_applies(&shardings[ih], pp, dp * cp,
                                                          node / (tp * cp), &group))
                                        continue;
                                    for (int rec = 0; rc == SIM_OK && rec < 3; rec++) {
                                        search_cand c = {
                                            .tp = tp, .pp = pp, .dp = dp, .cp = cp, .ep = ep,
                                            .vp = vp, .micro_batch = mbs[im],
                                            .first_layers = first, .last_layers = last,
                                            .zero = shardings[ih].zero,
                                            .fsdp = shardings[ih].fsdp, .fsdp_shard = group,
                                            .schedule = sc, .recompute = rec};
                                        if (fits(base, &c, hbm, c.reason, sizeof c.reason))
                                            evaluate(config, ov, n_ov, &c, all, plan_topo(base));
                                        else
                                            c.state = SEARCH_REJECTED;
                                        out->n_valid += c.state == SEARCH_ESTIMATED;
                                        rc = push(out, &c, &cap, st);
                                    }
                                }
                        }
                    }
                }
            }
    free(all);
    plan_destroy(base);
    if (rc == SIM_OK)
        mark_dominated(out);
    out->enumerate_wall_s = sim_wall_s() - t0;
    if (rc != SIM_OK)
        search_result_free(out);
    return rc;
}

void search_result_free(search_result *r)
{
    if (!r)
        return;
    free(r->c);
    memset(r, 0, sizeof *r);
}

static const search_result *sort_r;

static int by_estimate(const void *a, const void *b)
{
    const search_cand *x = &sort_r->c[*(const size_t *)a], *y = &sort_r->c[*(const size_t *)b];
    if (x->est.step_s != y->est.step_s)
        return x->est.step_s < y->est.step_s ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Whether a and b differ in their schedule alone. */
static bool schedule_siblings(const search_cand *a, const search_cand *b)
{
    return a->tp == b->tp && a->pp == b->pp && a->dp == b->dp && a->cp == b->cp &&
           a->ep == b->ep && a->vp == b->vp && a->micro_batch == b->micro_batch &&
           a->first_layers == b->first_layers && a->last_layers == b->last_layers &&
           a->zero == b->zero && a->fsdp == b->fsdp && a->fsdp_shard == b->fsdp_shard &&
           a->recompute == b->recompute && a->schedule != b->schedule;
}

/* GPipe has 1F1B's bubble and holds every micro-batch's activations: where its 1F1B
 * sibling estimates as fast or faster in no more memory, replaying GPipe too would spend a
 * replay on a candidate that cannot be better (the enumeration puts the sibling after it,
 * within one block of micro-batches x shardings x recomputations). */
static void mark_dominated(search_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        search_cand *g = &r->c[i];
        if (g->state != SEARCH_ESTIMATED || g->schedule != WL_SCHED_GPIPE)
            continue;
        for (size_t j = i + 1; j < r->n && j <= i + 3 * N_SHARDINGS * 3 * 3; j++) {
            const search_cand *f = &r->c[j];
            if (!schedule_siblings(g, f))
                continue;
            if (f->state == SEARCH_ESTIMATED && f->est.step_s <= g->est.step_s &&
                f->est.memory_bytes <= g->est.memory_bytes) {
                g->dominated = true;
                snprintf(g->reason, sizeof g->reason,
                         "dominated by candidate %zu: 1F1B, as fast or faster in no more memory",
                         j);
            }
            break;
        }
    }
}

size_t search_select(search_result *r, size_t top, double margin, size_t max_top,
                     size_t sample)
{
    size_t *ix = malloc((r->n_valid ? r->n_valid : 1) * sizeof *ix), k = 0;
    if (!ix)
        return 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->c[i].state == SEARCH_ESTIMATED && !r->c[i].dominated)
            ix[k++] = i;
    sort_r = r;
    qsort(ix, k, sizeof *ix, by_estimate);
    size_t marked = 0, n_top = 0;
    double best = k ? r->c[ix[0]].est.step_s : 0;
    for (size_t i = 0; i < k && n_top < max_top; i++)
        if (i < top || r->c[ix[i]].est.step_s <= best * (1 + margin)) {
            r->c[ix[i]].top = true;
            n_top++;
        }
    marked = n_top;
    /* the calibration sample: evenly over the ranks after the top ones */
    size_t rest = k > n_top ? k - n_top : 0;
    for (size_t j = 0; j < sample && j < rest; j++) {
        size_t at = n_top + (rest - 1) * (j + 1) / (sample < rest ? sample : rest);
        if (!r->c[ix[at]].top && !r->c[ix[at]].sample) {
            r->c[ix[at]].sample = true;
            marked++;
        }
    }
    free(ix);
    return marked;
}

/* Ranks (1-based, ties their mean) of x into r. */
static void ranks(const double *x, size_t n, double *r)
{
    for (size_t i = 0; i < n; i++) {
        size_t less = 0, equal = 0;
        for (size_t j = 0; j < n; j++) {
            less += x[j] < x[i];
            equal += x[j] == x[i];
        }
        r[i] = (double)less + ((double)equal + 1) / 2;
    }
}

double search_spearman(const double *x, const double *y, size_t n)
{
    if (n < 2)
        return NAN;
    double *rx = malloc(2 * n * sizeof *rx);
    if (!rx)
        return NAN;
    double *ry = rx + n;
    ranks(x, n, rx);
    ranks(y, n, ry);
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++)
        mx += rx[i], my += ry[i];
    mx /= (double)n, my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        sxy += (rx[i] - mx) * (ry[i] - my);
        sxx += (rx[i] - mx) * (rx[i] - mx);
        syy += (ry[i] - my) * (ry[i] - my);
    }
    free(rx);
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}
