/*
 * multidc.c: cross-datacenter schemes (see multidc.h). The outer sync alone has its own
 * engine and network over the whole topology: it starts every group's all-reduce at time
 * zero and runs until the last ends. Streaming DiLoCo's fragment syncs run beside the inner
 * steps of every site in exec's engine (an exec_side).
 */
#include "exec/multidc.h"


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll/coll.h"
#include "core/clock.h"
#include "core/evq.h"
#include "core/rng.h"
#include "core/hash.h"
#include "net/netsim.h"
#include "out/trace.h"

/* ---- the outer sync's collectives ---- */

/*
 * Starts on ce the outer sync of `fraction` of every parameter: one all-reduce per rank of a
 * site's replica with dp coordinate 0, over the ranks holding the same parameters in every
 * dp replica of every site, site by site (hierarchical by site). Every all-reduce's end
 * calls done(user, ...); *started counts those started. Every sync, alone or beside the
 * inner steps, any fragment, seeds its flow hashes alike (one communicator, as NCCL reuses
 * it): the same ECMP paths, so that alone and co-simulated differ only by contention.
 */
/*
 * The outer sync of one parameter group over sites unequal in size (coll's hierarchical
 * all-reduce needs every site alike), in the same three levels, as collectives and messages:
 *   1. in every site, a reduce-scatter of S over its n_s members; then each member sends its
 *      S / n_s to its leader (L = the smallest site's members; member i's leader is the first
 *      member j with j L / n_s = i L / n_s, rounded down), so that leader l holds the site's
 *      sum of the l-th of L chunks of S / L;
 *   2. L all-reduces of S / L across the sites, one per chunk, over the sites' leaders l;
 *   3. every leader sends its members their shards back; an all-gather of S in every site.
 * With equal sites (L = n) the messages vanish and the volumes are the hierarchical
 * all-reduce's. Each step starts when the whole previous one has ended.
 */
typedef struct ugroup {
    struct ugroup *next; /* the caller's list of them, freed with outer_free */
    coll_engine *ce;
    const int32_t *chips; /* [n]: every site's members, site by site */
    const int64_t *count; /* [sites]: members per site */
    int64_t sites, L, stage;
    double S, start_s;
    uint64_t id;
    size_t live;
    coll_done_fn done;
    void *user;
    int64_t mem[]; /* owned: count's entries, then the chips */
} ugroup;

static void ugroup_next(void *user, double start_s, double end_s);

/* Leader of member i of a site of n members. */
static int64_t leader_of(int64_t i, int64_t n, int64_t L)
{
    int64_t l = i * L / n;
    return (l * n + L - 1) / L;
}

/* Starts stage g->stage; returns 0 after an error (st set). */
static int ugroup_stage(ugroup *g, sim_status *st)
{
    coll_req rq = {.algo = COLL_ALGO_AUTO, .done = ugroup_next, .user = g};
    int32_t *lead = NULL;
    int64_t off = 0;
    g->live = 1; /* held while starting */
    for (int64_t s = 0; s < g->sites; s++) {
        const int32_t *m = g->chips + off;
        int64_t n = g->count[s];
        off += n;
        if (g->stage == 0 || g->stage == 4) { /* reduce-scatter, all-gather in the site */
            rq.kind = g->stage == 0 ? COLL_REDUCE_SCATTER : COLL_ALLGATHER;
            rq.chips = m;
            rq.n = (size_t)n;
            rq.bytes = g->S;
            rq.id = sim_hash_mix(g->id ^ ((uint64_t)g->stage << 48) ^ (uint64_t)s);
            g->live++;
            if (coll_start(g->ce, &rq, NULL, st) != SIM_OK)
                return 0;
        } else if (g->stage == 1 || g->stage == 3) { /* shards to and from the leaders */
            for (int64_t i = 0; i < n; i++) {
                int64_t j = leader_of(i, n, g->L);
                if (j == i)
                    continue;
                g->live++;
                if (coll_send(g->ce, g->stage == 1 ? m[i] : m[j], g->stage == 1 ? m[j] : m[i],
                              g->S / (double)n,
                              sim_hash_mix(g->id ^ ((uint64_t)g->stage << 48) ^
                                           (uint64_t)(m[i] + 1)),
                              ugroup_next, g, st) != SIM_OK)
                    return 0;
            }
        }
    }
    if (g->stage == 2) { /* across the sites, chunk by chunk */
        lead = malloc((size_t)g->sites * sizeof *lead);
        if (!lead) {
            sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
            return 0;
        }
        for (int64_t l = 0; l < g->L; l++) {
            off = 0;
            for (int64_t s = 0; s < g->sites; s++) {
                int64_t n = g->count[s];
                lead[s] = g->chips[off + (l * n + g->L - 1) / g->L];
                off += n;
            }
            rq.kind = COLL_ALLREDUCE;
            rq.chips = lead;
            rq.n = (size_t)g->sites;
            rq.bytes = g->S / (double)g->L;
            rq.id = sim_hash_mix(g->id ^ (2ull << 48) ^ (uint64_t)l);
            g->live++;
            if (coll_start(g->ce, &rq, NULL, st) != SIM_OK) {
                free(lead);
                return 0;
            }
        }
        free(lead);
    }
    return 1;
}

/* One collective or message of g's stage is done (or the stage's start hold is released):
 * after the stage's last, the next stage; after stage 4, the group. */
static void ugroup_next(void *user, double start_s, double end_s)
{
    ugroup *g = user;
    (void)start_s;
    if (--g->live > 0)
        return;
    if (++g->stage == 5) {
        g->done(g->user, g->start_s, end_s);
        return;
    }
    sim_status st;
    sim_status_clear(&st);
    if (!ugroup_stage(g, &st)) {
        coll_engine_fail(g->ce, &st);
        return;
    }
    ugroup_next(g, end_s, end_s); /* release the hold */
}

/*
 * Starts on ce the outer sync of `fraction` of every parameter: one all-reduce per rank of
 * site 0's replica with dp coordinate 0, over the ranks holding the same parameters (equal
 * tp, cp and pp coordinates) in every dp replica of every site, site by site (hierarchical
 * by site; over sites unequal in size, the three stages of a ugroup). Every all-reduce's end
 * calls done(user, ...); *started counts those started. Every sync, alone or beside the
 * inner steps, any fragment, seeds its flow hashes alike (one communicator, as NCCL reuses
 * it): the same ECMP paths, so that alone and co-simulated differ only by contention.
 * Unequal sites' group states go on *groups (outer_free frees them); now_s: the engine's time.
 */
static sim_code start_outer(plan *p, coll_engine *ce, double now_s, double fraction,
                            coll_done_fn done, void *user, size_t *started, ugroup **groups,
                            sim_status *st)
{
    const plan_cross_dc *x = plan_cross_dc_of(p);
    /* the three stages over unequal replicas, or regions (reduced inside them first) */
    bool unequal = plan_sites_unequal(p) || plan_has_regions(p);
    size_t n_chips = (size_t)x->total_ranks, n_sites = (size_t)x->replicas;
    int32_t *chips = malloc(n_chips * sizeof *chips);
    int64_t *base = malloc(2 * n_sites * sizeof *base), *count = base + n_sites;
    if (!chips || !base) {
        free(chips);
        free(base);
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    int64_t L = INT64_MAX;
    for (int64_t s = 0; s < x->replicas; s++) {
        base[s] = plan_site_base(p, s);
        count[s] = plan_parallel(plan_site(p, s))->dp;
        L = count[s] < L ? count[s] : L;
    }
    sim_code rc = SIM_OK;
    for (int64_t r = 0; rc == SIM_OK && r < plan_ranks(p); r++) {
        if (plan_coord(p, r, PLAN_DP) != 0)
            continue;
        /* the ranks of every site's replica at r's tp, cp and pp coordinates */
        int64_t c[4] = {plan_coord(p, r, PLAN_TP), plan_coord(p, r, PLAN_CP), 0,
                        plan_coord(p, r, PLAN_PP)};
        size_t k = 0;
        for (int64_t s = 0; s < x->replicas; s++) {
            const plan *q = plan_site(p, s);
            int64_t rs = plan_rank_at(q, c);
            for (int64_t d = 0; d < count[s]; d++)
                chips[k++] = (int32_t)(base[s] + plan_group_member(q, rs, PLAN_DP, d));
        }
        double bytes = plan_rank_params(p, r) * x->payload_bytes * fraction;
        uint64_t id = sim_hash_mix((uint64_t)r ^ 0x6f75746572ull);
        (*started)++;
        if (!unequal) {
            coll_req rq = {.kind = COLL_ALLREDUCE, .algo = COLL_ALGO_AUTO, .chips = chips,
                           .n = k, .bytes = bytes, .id = id, .done = done, .user = user};
            rc = coll_start(ce, &rq, NULL, st);
            continue;
        }
        ugroup *g = malloc(sizeof *g + n_sites * sizeof *count + k * sizeof *chips);
        if (!g) {
            rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
            break;
        }
        *g = (ugroup){.next = *groups, .ce = ce, .count = g->mem,
                      .chips = (const int32_t *)(void *)(g->mem + n_sites), .sites = x->replicas,
                      .L = L, .S = bytes, .id = id, .done = done, .user = user,
                      .start_s = now_s};
        memcpy(g->mem, count, n_sites * sizeof *count);
        memcpy(g->mem + n_sites, chips, k * sizeof *chips);
        *groups = g;
        if (!ugroup_stage(g, st)) {
            rc = st->code ? st->code : SIM_ERR_INTERNAL;
            break;
        }
        ugroup_next(g, g->start_s, g->start_s); /* release the start hold */
    }
    free(chips);
    free(base);
    return rc;
}

static void outer_free(ugroup *g)
{
    while (g) {
        ugroup *n = g->next;
        free(g);
        g = n;
    }
}

typedef struct sync_ctx {
    size_t live;
    double end_s;
} sync_ctx;

static void on_group_done(void *user, double start_s, double end_s)
{
    sync_ctx *c = user;
    (void)start_s;
    c->live--;
    if (end_s > c->end_s)
        c->end_s = end_s;
}

sim_code mdc_outer_sync(plan *p, double fraction, double *sync_s, double *link_bytes,
                        sim_status *st)
{
    const net_graph *g = topo_graph(plan_topo(p));
    ev_engine *e = NULL;
    net_sim *ns = NULL;
    coll_engine *ce = NULL;
    sync_ctx ctx = {0, 0};
    ugroup *groups = NULL;
    sim_code rc = ev_engine_create(&e, st);
    if (rc == SIM_OK)
        rc = net_sim_create(e, g, 0, &ns, st);
    if (rc == SIM_OK)
        rc = coll_engine_create(ns, plan_topo(p), &ce, st);
    if (rc == SIM_OK) /* WAN loads that vary, from the sync's start */
        rc = topo_wan_apply_background(plan_topo(p), ns, st);
    if (rc == SIM_OK)
        rc = start_outer(p, ce, 0, fraction, on_group_done, &ctx, &ctx.live, &groups, st);
    if (rc == SIM_OK) {
        ev_run(e, INT64_MAX);
        if (net_sim_error(ns)) {
            *st = *net_sim_error(ns);
            rc = st->code;
        } else if (coll_engine_error(ce)) {
            *st = *coll_engine_error(ce);
            rc = st->code;
        } else if (ctx.live) {
            rc = sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0,
                                "%zu outer-sync collectives never finished", ctx.live);
        }
    }
    if (rc == SIM_OK) {
        *sync_s = ctx.end_s;
        for (size_t l = 0; link_bytes && l < net_graph_link_count(g); l++)
            link_bytes[l] = net_sim_link_bytes(ns, (net_link_id)l);
    }
    if (e)
        ev_clear(e);
    coll_engine_destroy(ce);
    net_sim_destroy(ns);
    ev_engine_destroy(e);
    outer_free(groups);
    return rc;
}

/* ---- streaming DiLoCo, co-simulated ---- */

/* One fragment's sync in the replay: started at the start of step `start`, due at the start
 * of step `due`, which waits for it. */
typedef struct frag {
    struct stream_side *s;
    int64_t start, due;
    size_t live; /* its all-reduces running */
    bool started;
    double start_s, end_s;
} frag;

typedef struct stream_side {
    plan *p;
    coll_engine *ce;
    frag *f;
    int64_t n;
    double fraction;
    exec_run_ctl *held; /* the run whose step waits for a fragment; NULL: none */
    ugroup *groups;     /* unequal sites' sync states (outer_free) */
    trace *tr;          /* the replay's trace (exec_opts.trace); NULL: none */
    int64_t held_step;
    int64_t end_before; /* > 0: end the run at a step before this one once every sync is
                           over (what follows runs alone); 0: never */
    int64_t ended_at;   /* the step the run ended at (early end), else -1 */
} stream_side;

static void on_frag_group_done(void *user, double start_s, double end_s);

/* A sync due at step is still running. */
static bool pending_due(const stream_side *s, int64_t step)
{
    for (int64_t i = 0; i < s->n; i++)
        if (s->f[i].due == step && s->f[i].started && s->f[i].live > 0)
            return true;
    return false;
}

/* Every fragment's sync has started and ended. */
static bool all_over(const stream_side *s)
{
    for (int64_t i = 0; i < s->n; i++)
        if (!s->f[i].started || s->f[i].live > 0)
            return false;
    return true;
}

/*
 * The start of step: first the syncs due now must have ended (the step waits for them), then
 * the fragments whose sync begins now start (after the due ones: fragments never overlap each
 * other, since max_delay <= H / F); a sync due where it starts (max_delay 0) holds the step at
 * once. HOLD: until on_frag_group_done releases it. END (with end_before): every sync is over
 * before the window's end, so the steps left run alone.
 */
static exec_side_go side_go(stream_side *s, exec_run_ctl *run, int64_t step)
{
    if (pending_due(s, step))
        goto hold;
    if (s->end_before > 0 && step < s->end_before && all_over(s)) {
        s->ended_at = step;
        return EXEC_SIDE_END;
    }
    for (int64_t i = 0; i < s->n; i++) {
        frag *f = &s->f[i];
        if (f->start != step || f->started)
            continue;
        f->started = true;
        f->start_s = f->end_s = exec_side_now(run);
        sim_status st;
        sim_status_clear(&st);
        if (start_outer(s->p, s->ce, exec_side_now(run), s->fraction, on_frag_group_done, f,
                        &f->live, &s->groups, &st) != SIM_OK) {
            exec_side_fail(run, &st);
            return EXEC_SIDE_GO;
        }
    }
    if (!pending_due(s, step))
        return EXEC_SIDE_GO;
hold:
    s->held = run;
    s->held_step = step;
    return EXEC_SIDE_HOLD;
}

static void on_frag_group_done(void *user, double start_s, double end_s)
{
    frag *f = user;
    stream_side *s = f->s;
    (void)start_s;
    if (end_s > f->end_s)
        f->end_s = end_s;
    if (--f->live == 0 && s->tr) { /* the fragment's sync on every traced rank of site 0 */
        char name[96];
        snprintf(name, sizeof name, "outer sync, fragment %lld of %lld",
                 (long long)(f - s->f) % plan_cross_dc_of(s->p)->fragments + 1,
                 (long long)plan_cross_dc_of(s->p)->fragments);
        for (int64_t r = 0; r < plan_ranks(s->p); r++)
            if (trace_wants(s->tr, r))
                trace_event(s->tr, name, "cross_dc", r, TRACE_OUTER, f->start_s,
                            f->end_s - f->start_s);
    }
    if (f->live > 0 || !s->held || pending_due(s, s->held_step))
        return;
    exec_run_ctl *run = s->held;
    s->held = NULL;
    /* held steps are due steps, which the early end never precedes: GO or HOLD again */
    if (side_go(s, run, s->held_step) != EXEC_SIDE_HOLD)
        exec_side_release(run);
}

static exec_side_go side_step_begin(void *user, exec_run_ctl *run, coll_engine *ce,
                                    int64_t step)
{
    stream_side *s = user;
    s->ce = ce;
    return side_go(s, run, step);
}

/*
 * Streaming DiLoCo's round, co-simulated: every site's replica replays its inner steps in one
 * engine on the whole topology while fragment syncs run beside them. After the warm-up, the
 * measured steps are either one fragment's window (shortcut: its max_delay steps and the
 * start of the step that waits for it, or fewer: once the sync is over, the window's other
 * steps run alone; the round is F windows and H - F x max_delay steps alone, m->inner_step_s
 * each) or the whole round (full: H steps with fragment f's sync started at step f x H / F,
 * and the start of the next round's first step).
 */
static sim_code stream_cosim(plan *p, const exec_opts *opts, int64_t F, int64_t tau,
                             mdc_result *m, sim_status *st)
{
    const plan_cross_dc *x = plan_cross_dc_of(p);
    int64_t H = x->inner_steps, per = H / F;
    bool full = x->replay == PLAN_REPLAY_FULL;
    int64_t W = plan_warmup_steps(p), first = W; /* the first step beside a sync */
    int64_t n = full ? F : 1, last = first + (full ? H : tau); /* the step after the round */
    stream_side side = {.p = p, .n = n, .fraction = 1.0 / (double)F, .ended_at = -1,
                        .end_before = full ? 0 : last};
    side.f = calloc((size_t)n, sizeof *side.f);
    if (!side.f)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (int64_t i = 0; i < n; i++)
        side.f[i] = (frag){.s = &side, .start = first + i * per, .due = first + i * per + tau};
    exec_side es = {&side, side_step_begin};
    exec_opts o = opts ? *opts : (exec_opts){0};
    o.replicas = x->replicas;
    o.warmup = W;
    o.steps = last - W + 1;
    o.side = &es;
    o.end_at_last_start = true;
    side.tr = o.trace; /* the co-simulated round is what the trace shows */
    exec_result r;
    sim_code rc = exec_run(p, &o, &r, st);
    if (rc == SIM_OK && r.stopped)
        rc = sim_status_set(st, SIM_ERR_LIMIT, plan_config_path(p), 0, 0,
                            "the co-simulated round stopped at a bound (--max-events or "
                            "--max-wall) before its end");
    m->syncs = rc == SIM_OK ? calloc((size_t)n, sizeof *m->syncs) : NULL;
    if (rc == SIM_OK && !m->syncs)
        rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    if (rc == SIM_OK) {
        const exec_step *row = r.step_rows;
        /* the shortcut's window may end early: its last steps then run alone */
        int64_t end = side.ended_at >= 0 ? side.ended_at : last;
        double t = m->inner_step_s, held = 0, sync = 0, beside = 0, t0 = row[first].start_s;
        int64_t n_beside = 0;
        for (int64_t k = first; k <= end; k++)
            held += row[k].held_s;
        m->n_syncs = n;
        for (int64_t i = 0; i < n; i++) {
            const frag *f = &side.f[i];
            mdc_sync *y = &m->syncs[i];
            *y = (mdc_sync){.fragment = i, .count = full ? 1 : F, .start_s = f->start_s - t0,
                            .end_s = f->end_s - t0, .alone_s = m->outer_sync_s};
            sync += f->end_s - f->start_s;
            /* the steps that start before the sync ends */
            for (int64_t k = f->start; k < f->due && k < end; k++)
                if (row[k].start_s + row[k].held_s < f->end_s) {
                    double d = row[k].end_s - row[k].start_s - row[k].held_s;
                    beside += d;
                    n_beside++;
                    y->inner_beside_s += d;
                    y->steps_beside++;
                }
            if (y->steps_beside)
                y->inner_beside_s /= (double)y->steps_beside;
            /* the step due waits for it (unless the window ended before: nothing waited) */
            y->exposed_s = f->due <= end ? row[f->due].held_s : 0;
            y->hidden_s = y->end_s - y->start_s - y->exposed_s;
        }
        double span = row[end].start_s + row[end].held_s - row[first].start_s +
                      (double)(last - end) * t;
        m->inner_beside_s = n_beside > 0 ? beside / (double)n_beside : t;
        m->outer_sync_cosim_s = sync / (double)n;
        m->exposed_s = full ? held : (double)F * held;
        m->round_s = full ? span : (double)F * span + (double)(H - F * tau) * t;
    }
    exec_result_free(&r);
    outer_free(side.groups);
    free(side.f);
    return rc;
}

/* Mean compute per rank per step of a replay (every rank of every replica it ran). */
static double mean_compute(const plan *p, const exec_result *r)
{
    double c = 0;
    int64_t n = plan_site_base(p, r->n_replicas > 1 ? r->n_replicas : 1);
    for (int64_t i = 0; i < n; i++)
        c += r->ranks[i].compute_s;
    return c / (double)n;
}

/* The chip model of replica s (its first chip's: a region's sites may differ, and the
 * executor times each rank on its own chip). */
static const hw_chip *site_chip(const plan *p, int64_t s)
{
    return topo_chip_hw(plan_topo(p), (int32_t)plan_site_base(p, s));
}

/* Peak bf16 FLOP/s of replica s's chips (fixed replaces every chip's model; fallback for a
 * chip without one). */
static double replica_peak(const plan *p, int64_t s, const hw_chip *fixed,
                           const hw_chip *fallback)
{
    double peak = 0;
    int64_t base = plan_site_base(p, s);
    for (int64_t i = 0; i < plan_ranks(plan_site(p, s)); i++) {
        const hw_chip *c = fixed ? fixed : topo_chip_hw(plan_topo(p), (int32_t)(base + i));
        peak += (c ? c : fallback)->peak_bf16_flops;
    }
    return peak;
}

/* Chip models that time every op alike. */
static bool same_chip(const hw_chip *a, const hw_chip *b)
{
    return a == b ||
           (a && b && strcmp(a->name, b->name) == 0 && a->peak_bf16_flops == b->peak_bf16_flops &&
            a->peak_fp8_flops == b->peak_fp8_flops && a->hbm_Bps == b->hbm_Bps &&
            a->eff_gemm == b->eff_gemm && a->eff_mem == b->eff_mem &&
            a->gemm_half_dim == b->gemm_half_dim && a->eff_attention == b->eff_attention &&
            a->eff_attention_dropout == b->eff_attention_dropout &&
            a->overlap_slowdown == b->overlap_slowdown);
}

/* Whether DiLoCo's sites differ: in size or batch, another chip model than site 0's (opts's
 * chip, when it replaces the topology's, makes them alike), or stragglers. */
static bool sites_differ(const plan *p, const exec_opts *opts)
{
    if ((opts && opts->slowdown) || plan_slowdown(p) || plan_sites_unequal(p))
        return true;
    if (opts && opts->chip)
        return false;
    const topo *t = plan_topo(p);
    const hw_chip *c0 = topo_chip_hw(t, 0);
    for (size_t s = 1; s < topo_site_count(t); s++)
        if (!same_chip(topo_chip_hw(t, (int32_t)topo_site_first_chip(t, s)), c0))
            return true;
    return false;
}

/* Pushes in (a, b] of a sorted array t[0..n). */
static int64_t count_in(const double *t, int64_t n, double a, double b)
{
    int64_t lo = 0, hi = n; /* first index with t > a */
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (t[mid] > a)
            hi = mid;
        else
            lo = mid + 1;
    }
    int64_t first = lo;
    lo = first, hi = n; /* first index with t > b */
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (t[mid] > b)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo - first;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * Asynchronous DiLoCo, sites at their own pace with bounded staleness (Liu et al. 2024,
 * "Asynchronous Local-SGD Training for Language Modeling", arXiv 2401.09135; the bound as
 * Ho et al. 2013's stale synchronous parallel): a round-level model over the parts replayed
 * alone. Site s's round k runs H inner steps of its replayed step times a lognormal factor
 * of median 1 and spread round_jitter (core/rng.h: GSL's MT19937, a stream of run.seed,
 * drawn per round and site), then pushes its outer gradient and pulls the parameters, taking the outer sync
 * alone and the optimizer step (c) beside its next round; a site starts round k once every
 * site has pushed round k - K - 1 (K = max_staleness), and pushes one at a time. K = 0
 * times like blocking DiLoCo (every round waits for every push), though its updates land
 * one by one. The model runs until the slowest site has pushed `rounds` rounds (time T)
 * and counts the rounds every site pushed by then.
 */
static sim_code async_rounds(const plan *p, const exec_result *r, const hw_chip *fixed,
                             const hw_chip *fallback, mdc_result *m, sim_status *st)
{
    const plan_cross_dc *x = plan_cross_dc_of(p);
    int64_t n = x->replicas, R = x->rounds, K = x->max_staleness, H = x->inner_steps;
    int64_t cap = 100 * R + K + 2, rows = 0;
    double c = m->outer_sync_s + m->outer_opt_s, T = 0;
    double *start = malloc((size_t)(cap * n) * sizeof *start);
    double *end = malloc((size_t)(cap * n) * sizeof *end);
    double *push = malloc((size_t)(cap * n) * sizeof *push);
    double *all = malloc((size_t)(cap * n) * sizeof *all);
    m->site_rounds = calloc((size_t)n, sizeof *m->site_rounds);
    m->syncs = calloc(1, sizeof *m->syncs);
    sim_rng *g = NULL;
    sim_code rc = start && end && push && all && m->site_rounds && m->syncs
                      ? SIM_OK
                      : sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    if (rc == SIM_OK) /* the rounds' own stream of the run seed */
        rc = sim_rng_create(plan_seed(p), 0x6173796e63ull, &g, st);
    for (int64_t k = 0; rc == SIM_OK; k++) {
        if (k == cap) {
            rc = sim_status_set(st, SIM_ERR_LIMIT, plan_config_path(p), 0, 0,
                                "the async model ran %lld rounds of the fastest site before "
                                "the slowest ended %lld: the sites' speeds differ too much",
                                (long long)cap, (long long)R);
            break;
        }
        bool past = k >= R;
        for (int64_t s = 0; s < n; s++) {
            double ready = k ? end[(k - 1) * n + s] : 0;
            for (int64_t q = 0; k - K - 1 >= 0 && q < n; q++)
                ready = fmax(ready, push[(k - K - 1) * n + q]);
            double jit = x->round_jitter > 0 ? sim_rng_lognormal(g, 0, x->round_jitter) : 1;
            start[k * n + s] = ready;
            end[k * n + s] = ready + (double)H * m->site_step_s[s] * jit;
            push[k * n + s] = fmax(end[k * n + s], k ? push[(k - 1) * n + s] : 0) + c;
            past = past && start[k * n + s] > T;
        }
        rows = k + 1;
        if (k == R - 1)
            for (int64_t s = 0; s < n; s++)
                T = fmax(T, push[k * n + s]);
        if (past) /* every site has started a round past T: nothing more ends by then */
            break;
    }
    if (rc == SIM_OK) {
        /* what each site finished by T, its waits, and the staleness of its pushes */
        double tokens = 0, flops = 0, busy = 0, ranks = 0, peak = 0, stale = 0;
        int64_t n_all = 0, n_push = 0, slow = 0;
        for (int64_t k = 0; k < rows; k++)
            for (int64_t s = 0; s < n; s++)
                all[n_all++] = push[k * n + s];
        qsort(all, (size_t)n_all, sizeof *all, cmp_double);
        for (int64_t s = 0; s < n; s++) {
            const plan *q = plan_site(p, s);
            int64_t done = 0;
            double wait = 0, site_compute = 0;
            for (int64_t k = 0; k < rows && push[k * n + s] <= T; k++) {
                done++;
                if (k)
                    wait += start[k * n + s] - end[(k - 1) * n + s];
            }
            /* pushes in site s's order are increasing: its own in (a, b] by bisection */
            double *own = malloc((size_t)rows * sizeof *own);
            if (!own) {
                rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
                break;
            }
            for (int64_t k = 0; k < rows; k++)
                own[k] = push[k * n + s];
            for (int64_t k = 0; k < done; k++) {
                if (push[k * n + s] > T)
                    break;
                double a = start[k * n + s], b = push[k * n + s];
                int64_t o = count_in(all, n_all, a, b) - count_in(own, rows, a, b);
                stale += (double)o;
                m->stale_max = o > m->stale_max ? o : m->stale_max;
                n_push++;
            }
            free(own);
            int64_t base = r->n_replicas > 1 ? plan_site_base(p, s) : 0;
            for (int64_t i = 0; i < plan_ranks(q); i++)
                site_compute += r->ranks[base + i].compute_s;
            m->site_rounds[s] = done;
            m->site_idle_s[s] = done > 1 ? wait / (double)(done - 1) : 0;
            tokens += (double)(done * H) * wl_tokens_per_step(plan_workload(q));
            flops += (double)(done * H) * wl_model_flops_per_step(plan_workload(q));
            busy += (double)(done * H) * site_compute;
            ranks += (double)plan_ranks(q);
            peak += replica_peak(p, s, fixed, fallback);
            if (push[(R - 1) * n + s] >= push[(R - 1) * n + slow])
                slow = s;
        }
        if (rc == SIM_OK) {
            m->stale_mean = n_push ? stale / (double)n_push : 0;
            m->staleness_steps = m->stale_max * H;
            m->round_s = T / (double)R;
            m->exposed_s = m->site_idle_s[slow];
            m->hidden_s = c > m->exposed_s ? c - m->exposed_s : 0;
            m->compute_util = busy / (T * ranks);
            m->mfu = flops / (T * peak);
            m->tokens_per_s = tokens / T;
            m->n_syncs = 1;
            double t0 = (double)H * m->site_step_s[slow];
            m->syncs[0] = (mdc_sync){.count = 1, .start_s = t0, .end_s = t0 + c,
                                     .alone_s = m->outer_sync_s, .exposed_s = m->exposed_s,
                                     .hidden_s = m->hidden_s,
                                     .steps_beside = (int64_t)ceil(c / m->site_step_s[slow]),
                                     .inner_beside_s = m->site_step_s[slow]};
        }
    }
    sim_rng_destroy(g);
    free(start);
    free(end);
    free(push);
    free(all);
    return rc;
}

/*
 * The syncs of a round composed from the parts alone: F syncs of m->outer_sync_s, the i-th
 * started after i H / F inner steps (and the exposed time of those before it), overlapping
 * the next tau steps (0: blocking, started after the round's H steps).
 */
static sim_code composed_syncs(mdc_result *m, int64_t F, int64_t H, int64_t tau)
{
    double t = m->inner_step_s, sync = m->outer_sync_s, window = (double)tau * t;
    double exposed = sync > window ? sync - window : 0;
    m->syncs = calloc((size_t)F, sizeof *m->syncs);
    if (!m->syncs)
        return SIM_ERR_NOMEM;
    m->n_syncs = F;
    for (int64_t i = 0; i < F; i++) {
        double start = (double)(tau ? i * (H / F) : H) * t + (double)i * exposed;
        int64_t beside = tau == 0 ? 0 : (int64_t)ceil(sync / t - 1e-12);
        beside = beside < tau ? beside : tau;
        m->syncs[i] = (mdc_sync){.fragment = i, .count = 1, .start_s = start,
                                 .end_s = start + sync, .alone_s = sync, .exposed_s = exposed,
                                 .hidden_s = sync - exposed, .steps_beside = beside,
                                 .inner_beside_s = beside ? t : 0};
    }
    return SIM_OK;
}

static sim_code run_scheme(plan *p, const exec_opts *opts, exec_result *r, mdc_result *m,
                           sim_status *st);

/* The scheme's figures; r->wall_s counts every replay of it (inner steps, syncs, round). */
sim_code mdc_run(plan *p, const exec_opts *opts, exec_result *r, mdc_result *m, sim_status *st)
{
    double t0 = sim_wall_s();
    memset(r, 0, sizeof *r);
    sim_code rc = run_scheme(p, opts, r, m, st);
    if (rc == SIM_OK) {
        r->wall_s = sim_wall_s() - t0;
    } else { /* nothing stays allocated on error */
        exec_result_free(r);
        mdc_result_free(m);
    }
    return rc;
}

static sim_code run_scheme(plan *p, const exec_opts *opts, exec_result *r, mdc_result *m,
                           sim_status *st)
{
    const plan_cross_dc *x = plan_cross_dc_of(p);
    memset(m, 0, sizeof *m);
    m->scheme = x->scheme;
    /* what overlaps the outer sync: streaming's fragments, or a whole round for a delayed or
     * eager diloco (one fragment, max_delay H); blocking diloco overlaps nothing */
    bool async = x->scheme == PLAN_XDC_DILOCO && x->outer_update == PLAN_OUTER_ASYNC;
    bool overlapped = x->scheme == PLAN_XDC_STREAMING ||
                      (x->scheme == PLAN_XDC_DILOCO && x->outer_update != PLAN_OUTER_BLOCKING &&
                       !async);
    int64_t F = x->scheme == PLAN_XDC_STREAMING ? x->fragments : 1;
    int64_t tau = x->scheme == PLAN_XDC_STREAMING ? x->max_delay : x->inner_steps;
    m->replay = overlapped ? x->replay : PLAN_REPLAY_COMPOSED;
    m->staleness_steps = overlapped ? tau : 0;
    m->n_links = net_graph_link_count(topo_graph(plan_topo(p)));
    m->wan_bytes = calloc(m->n_links ? m->n_links : 1, sizeof *m->wan_bytes);
    if (!m->wan_bytes)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    bool diloco = x->scheme == PLAN_XDC_DILOCO || x->scheme == PLAN_XDC_STREAMING;
    m->unlike = diloco && sites_differ(p, opts);
    exec_opts o = opts ? *opts : (exec_opts){0};
    /* every replica side by side (the step waits for the slowest) when the sites differ, or
     * when regions' inner steps cross WAN links (each region's own) */
    bool all = m->unlike || plan_has_regions(p);
    if (all)
        o.replicas = x->replicas;
    if (overlapped && m->replay != PLAN_REPLAY_COMPOSED)
        o.trace = NULL; /* the trace shows the co-simulated round, syncs beside the steps */
    sim_code rc = exec_run(p, &o, r, st);
    if (rc != SIM_OK || r->stopped)
        return rc;
    m->inner_step_s = m->inner_beside_s = r->step_time_s;
    if (diloco) {
        m->n_sites = x->replicas;
        m->site_step_s = calloc((size_t)x->replicas, sizeof *m->site_step_s);
        m->site_idle_s = calloc((size_t)x->replicas, sizeof *m->site_idle_s);
        if (!m->site_step_s || !m->site_idle_s)
            return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
        for (int64_t s = 0; s < x->replicas; s++) {
            m->site_step_s[s] = all ? r->replica_s[s] : r->step_time_s;
            m->site_idle_s[s] = (double)x->inner_steps * (r->step_time_s - m->site_step_s[s]);
        }
    }
    m->compute_s = mean_compute(p, r);
    const hw_chip *chip = opts && opts->chip ? opts->chip : topo_chip_hw(plan_topo(p), 0);
    if (x->scheme == PLAN_XDC_SYNC || x->scheme == PLAN_XDC_PIPELINE) {
        m->round_s = r->step_time_s;
        for (size_t l = 0; l < m->n_links; l++)
            m->wan_bytes[l] = r->link_bytes[l] / (double)plan_steps(p);
        m->compute_util = m->compute_s / m->round_s;
        m->mfu = r->mfu;
        m->tokens_per_s = r->tokens_per_s;
        return SIM_OK;
    }
    /* DiLoCo: the outer sync (or one fragment of it) alone on the whole topology. */
    rc = mdc_outer_sync(p, 1.0 / (double)F, &m->outer_sync_s, m->wan_bytes, st);
    if (rc != SIM_OK)
        return rc;
    m->outer_sync_cosim_s = m->outer_sync_s;
    for (size_t l = 0; l < m->n_links; l++)
        m->wan_bytes[l] *= (double)F;
    /* The outer optimizer (SGD with Nesterov momentum) over each rank's parameters. */
    /* every site steps its replica; the slowest chip's step gates the round */
    for (int64_t s = 0; s < x->replicas; s++) {
        const plan *q = plan_site(p, s);
        wl_workload w = *plan_workload(q);
        w.optimizer = WL_OPT_SGD;
        wl_op op;
        wl_optimizer_op(&w, plan_parallel(q), 0, &op);
        const hw_chip *c = opts && opts->chip ? opts->chip : site_chip(p, s);
        double t = exec_op_seconds(c ? c : chip, &op, false);
        m->outer_opt_s = t > m->outer_opt_s ? t : m->outer_opt_s;
    }
    double H = (double)x->inner_steps;
    if (async) {
        rc = async_rounds(p, r, opts ? opts->chip : NULL, chip, m, st);
        if (rc != SIM_OK)
            return rc;
    } else if (!overlapped) {
        /* blocking: nothing runs beside the sync, so the parts compose exactly */
        m->exposed_s = m->outer_sync_s;
        m->round_s = H * m->inner_step_s + m->exposed_s;
        rc = composed_syncs(m, 1, x->inner_steps, 0);
    } else if (m->replay == PLAN_REPLAY_COMPOSED) {
        double window = (double)tau * m->inner_step_s;
        double per = m->outer_sync_s > window ? m->outer_sync_s - window : 0;
        m->exposed_s = (double)F * per;
        m->round_s = H * m->inner_step_s + m->exposed_s;
        rc = composed_syncs(m, F, x->inner_steps, tau);
    } else {
        rc = stream_cosim(p, opts, F, tau, m, st);
        if (rc != SIM_OK)
            return rc;
    }
    if (rc == SIM_ERR_NOMEM)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    double wan = 0;
    for (size_t l = 0; l < m->n_links; l++)
        if (net_graph_link(topo_graph(plan_topo(p)), (net_link_id)l)->kind == NET_LINK_WAN)
            wan += m->wan_bytes[l];
    for (int64_t i = 0; i < m->n_syncs; i++) /* every fragment moves 1 / F of every group */
        m->syncs[i].wan_bytes = wan / (double)F;
    /* a round's bytes: the syncs' and H inner steps' (a region's data parallelism crosses its
     * WAN links; one replica replayed for alike sites moves nothing over a WAN link) */
    for (size_t l = 0; all && l < m->n_links; l++)
        m->wan_bytes[l] += H * r->link_bytes[l] / (double)r->steps;
    if (async) /* async_rounds measured what follows */
        return SIM_OK;
    m->hidden_s = (double)F * m->outer_sync_cosim_s - m->exposed_s;
    m->round_s += m->outer_opt_s;
    m->compute_util = H * m->compute_s / m->round_s;
    double peak = 0, flops = 0, tokens = 0;
    for (int64_t s = 0; s < x->replicas; s++) {
        const plan *q = plan_site(p, s);
        peak += replica_peak(p, s, opts ? opts->chip : NULL, chip);
        flops += wl_model_flops_per_step(plan_workload(q));
        tokens += wl_tokens_per_step(plan_workload(q));
    }
    m->mfu = H * flops / (m->round_s * peak);
    m->tokens_per_s = H * tokens / m->round_s;
    return SIM_OK;
}

void mdc_result_free(mdc_result *m)
{
    if (!m)
        return;
    free(m->wan_bytes);
    free(m->site_step_s);
    free(m->site_idle_s);
    free(m->syncs);
    free(m->site_rounds);
    memset(m, 0, sizeof *m);
}
