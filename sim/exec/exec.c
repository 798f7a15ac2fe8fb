/*
 * exec.c: the replay executor (see exec.h).
 *
 * State: one rank_st per rank (its program cursor, the item it is on, why it waits), a
 * table per group slot indexed by the group's first member (a rank, so that one load finds
 * it, without hashing) and a table of pipeline channels keyed by (sender, receiver), a
 * core/hmap.h map of 64-bit keys. A group's entry holds its collective group (coll/coll.h),
 * made on its first collective from a member list in a scratch buffer (later collectives
 * of the group allocate nothing and analyse nothing), and its open rendezvous: those some
 * but not all members have reached, each with its sequence number (a group's members meet
 * its collectives in one order; a member ahead may open the next before the last arrives
 * at the previous, so there may be several, a short list). A slot's table is allocated
 * when its first collective runs. Rendezvous come from a pool (a running collective holds
 * a pointer to its own, so they must never move), leave their group's list when the last
 * member arrives and go back to the pool when their collective ends; channels live in an
 * array (nothing holds their address across events).
 *
 * Allocation in the event loop: rendezvous and pipeline messages come from pools; the
 * arrays and tables that grow while events run are sized before the loop from what the
 * plan tells (size_up_front): the channels to two per rank (its previous and next pipeline
 * stage) and the collective records to rank 0's collectives per step times the steps. Each
 * keeps its growth as a fallback, so a bound that proved short costs a reallocation, never
 * a wrong result. What still allocates in the loop: a slot's group table and its arena of
 * member lists, once each, at the slot's first collective; a channel's FIFO of send instants
 * (doubling until it holds the most messages that channel had in flight; its bound,
 * micro-batches x virtual stages, is far above the usual few) and the collective engine's
 * scratch (coll.c).
 * Ranks never recurse into each other: whatever wakes a rank schedules its event at the
 * current instant, and the rank advances from its own event.
 * Invariant: a rank's event is scheduled iff it is computing or about to advance; a waiting
 * rank has none, and exactly one thing (its collective, its message, the end of its last
 * gradient reduction) will schedule it.
 */
#include "exec/exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coll/coll.h"
#include "core/clock.h"
#include "core/evq.h"
#include "core/hash.h"
#include "core/hmap.h"
#include "core/pool.h"
#include "core/vec.h"
#include "net/netsim.h"
#include "out/trace.h"

/* Why a rank is where it is: R_COMPUTE and R_READY have its event scheduled, the others
 * wait for what the file's invariant says. */
typedef enum rank_state {
    R_READY = 0, /* about to advance */
    R_COMPUTE,   /* running an op until its event */
    R_COLL,      /* in a synchronous collective */
    R_RECV,      /* waiting for a pipeline message */
    R_WAIT,      /* waiting for its gradient reductions */
    R_JOIN,      /* waiting for an overlapped collective after the op beside it */
    R_DONE       /* its program for this step is over */
} rank_state;

/* What an op's time reads of a chip model; ranks counts the ranks on it. */
typedef struct speed {
    const hw_chip *chip;
    double peak, peak_gemm, hbm, eff_gemm, eff_mem;
    int64_t ranks;
} speed;

/* Hot fields first, in the order of the cache lines an event reads (ev_run prefetches the
 * first five, the whole rank): the node and the state (line 0), what a compute item and a
 * collective's end read and write (line 1), the cursor (lines 2-3), what waits and
 * collectives' arrivals read (line 4). The step's accumulators, which waits and step ends
 * read, live apart (exec_run_ctl.acc). */
typedef struct rank_st {
    _Alignas(64) ev_node ev; /* first member; a rank is five whole cache lines (320 bytes) */
    int64_t op_end_ps;   /* when its op ends (R_COMPUTE) */
    rank_state state;
    bool have_item; /* waits on an item (a receive, the DP wait) that it runs again */
    bool join_pending, join_after; /* an overlapped collective waits for the next op's end */
    bool slowed;         /* its op started beside its own communication (overlap_slowdown) */
    struct exec_run_ctl *x;
    const plan *p;       /* its replica's plan (the sites' may differ: plan_site) */
    int64_t *op_memo;    /* [PLAN_OP_IDS]: its template ops' times on its chip (op_ps), 0 where
                            not yet known; shared by the ranks of one (plan, chip model) */
    double slow;         /* its ops take slow x their time (exec_opts.slowdown; else 1) */
    double ov;           /* its chip's overlap_slowdown */
    double compute_s;    /* this step's compute time (x->acc's compute_s: every op adds) */
    int32_t async_out;
    int32_t overlap_out; /* PLAN_ASYNC_NEXT_OP collectives not yet done */
    plan_cursor cur;
    plan_item_kind held_kind; /* have_item: the item's kind, and a receive's peer */
    int32_t held_peer;
    double block_s;
    const speed *sp;     /* its chip's model */
    int32_t id;          /* its chip (coll.h numbers chips in 32 bits) */
    int32_t rep;         /* its replica */
    int32_t loc, base;   /* its rank in the replica's plan; the replica's first chip */
    uint32_t seq[PLAN_SLOT_COUNT]; /* collectives met per group slot */
} rank_st;

typedef struct rdv {
    uint64_t key;
    struct rdv *next_open; /* in its group's open list (rank_grp) until everyone is here */
    uint32_t seq;          /* the group's collective it is (members count them: rank_st) */
    struct exec_run_ctl *x;
    const struct rank_grp *grp; /* its group's entry */
    const plan *p; /* the replica's plan */
    int64_t rep;   /* the replica */
    int64_t base;  /* the replica's first chip */
    plan_dim dim; /* reported under */
    int slot;     /* the group's (plan_slot) */
    coll_kind kind;
    plan_async async;
    int64_t gid, size, arrived, step;
    double bytes, start_s;
    coll_algo algo;
} rdv;

/* A group's entry in its slot's table: its collective group and its members (global
 * ranks, in the slot's arena), made on first use, and its open rendezvous. */
struct rank_grp {
    coll_group *g;
    const int32_t *members;
    rdv *open;
};
typedef struct rank_grp rank_grp;

typedef struct chan {
    uint64_t key;
    int64_t src, dst;
    int64_t delivered, consumed;
    double *t_send; /* FIFO of send instants of delivered, unconsumed messages */
    size_t head, len, cap;
} chan;

typedef struct exec_run_ctl ex;
struct exec_run_ctl {
    plan *p;
    ev_engine *eng;
    net_sim *ns;
    coll_engine *ce;
    rank_st *ranks;
    exec_rank_stats *acc; /* [n_ranks]: each rank's figures of this step but compute_s, kept
                             apart from the ranks: waits and collectives' ends add to them,
                             an op does not, and without them a rank is five cache lines */
    int64_t n_ranks, done_ranks, step, total_steps;
    int64_t replicas, warmup, steps; /* n_ranks: the ranks of every replica's plan */
    double step_start_s;
    const exec_side *side;
    bool held;     /* the side holds the step's start */
    bool end_here; /* the side ends the run at this step's start */
    sim_pool *rdvs; /* rendezvous: stable addresses, since running collectives point at them */
    rank_grp *grp[PLAN_SLOT_COUNT]; /* per slot, [n_ranks] by first member, or NULL */
    int32_t *grp_mem[PLAN_SLOT_COUNT]; /* per slot, [n_ranks]: its groups' member lists */
    size_t grp_mem_n[PLAN_SLOT_COUNT];  /* of which in use */
    sim_hmap cmap;              /* channels (index) */
    SIM_VEC(chan) chans;
    SIM_VEC(exec_coll_rec) colls; /* handed to res->colls when the run ends */
    exec_result *res;
    speed *sp;           /* [n_sp]: the distinct chip models of the ranks */
    size_t n_sp;
    struct op_memo {     /* [n_memo]: one memo of op times per (plan, chip model) of a rank */
        const plan *p;
        const speed *sp;
        int64_t *ps;
    } *memo;
    size_t n_memo;
    const hw_chip *chip; /* rank 0's */
    double *rep_end_s;   /* [replicas]: when the replica's last rank ended the step */
    sim_status err;
    bool failed, stopped;
    uint64_t advances;
    const exec_opts *opts;
    double wall0, last_progress;
    sim_pool *msgs; /* pipeline messages in flight */
    trace *tr;
};

static double now_s(const ex *x)
{
    return (double)ev_now(x->eng) * 1e-12;
}

static void fail(ex *x, sim_code code, const char *msg)
{
    if (x->failed)
        return;
    x->failed = 1;
    if (code != SIM_OK && msg)
        sim_status_set(&x->err, code, NULL, 0, 0, "%s", msg);
    ev_stop(x->eng);
}

/* ---- compute ---- */

/* Seconds one op takes on chip model x, launch overhead excluded. */
static double op_seconds(const speed *x, const wl_op *op)
{
    double t_flops;
    if (op->kind == WL_OP_GEMM || op->kind == WL_OP_ATTENTION) {
        double d = op->m;
        if (op->n > 0 && (d <= 0 || op->n < d))
            d = op->n;
        if (op->k > 0 && (d <= 0 || op->k < d))
            d = op->k;
        double peak = op->kind == WL_OP_GEMM ? x->peak_gemm : x->peak;
        double eff = op->kind == WL_OP_ATTENTION && op->fused && x->chip->eff_attention > 0
                         ? x->chip->eff_attention *
                               (op->dropout ? x->chip->eff_attention_dropout : 1.0)
                         : hw_chip_gemm_eff(x->chip, d);
        t_flops = op->flops / (peak * eff);
    } else {
        t_flops = op->flops / (x->peak * x->eff_gemm);
    }
    double t_mem = op->hbm_bytes / (x->hbm * x->eff_mem);
    return t_flops > t_mem ? t_flops : t_mem;
}

/* The op's duration in ps, or -1 when it is not finite or over EXEC_MAX_OP_S (an efficiency
 * or peak so low that the clock would overflow). */
static int64_t op_ps(const speed *x, const wl_op *op)
{
    double t = op_seconds(x, op);
    if (!(t <= EXEC_MAX_OP_S))
        return -1;
    return (int64_t)llround(t * 1e12) + EXEC_LAUNCH_PS;
}

/* The time of r's op it (op_ps), from r's memo when it is a template's op. */
static int64_t rank_op_ps(const rank_st *r, const plan_item *it)
{
    if (it->op_id <= 0 || it->op_id >= PLAN_OP_IDS)
        return op_ps(r->sp, &it->op);
    int64_t *m = &r->op_memo[it->op_id];
    if (*m == 0) /* op_ps is at least EXEC_LAUNCH_PS, or -1 */
        *m = op_ps(r->sp, &it->op);
    return *m;
}

static speed speed_of(const hw_chip *chip, bool fp8)
{
    speed x = {chip, chip->peak_bf16_flops, chip->peak_bf16_flops, chip->hbm_Bps, chip->eff_gemm,
               chip->eff_mem, 0};
    if (fp8 && chip->peak_fp8_flops > 0)
        x.peak_gemm = chip->peak_fp8_flops;
    return x;
}

double exec_op_seconds(const hw_chip *chip, const wl_op *op, bool fp8)
{
    speed x = speed_of(chip, fp8);
    int64_t ps = op_ps(&x, op);
    return ps >= 0 ? (double)ps * 1e-12 : op_seconds(&x, op) + (double)EXEC_LAUNCH_PS * 1e-12;
}

/* ---- waking ---- */

/* Schedules r to advance now. The caller sets r->state (a woken receiver keeps R_RECV so
 * that advance can split its wait). */
static void wake(ex *x, rank_st *r)
{
    if (ev_schedule(x->eng, &r->ev, ev_now(x->eng), EV_CLASS_NORMAL) != SIM_OK)
        fail(x, SIM_ERR_NOMEM, "out of memory scheduling a rank");
}

/* ---- collectives ---- */

static void record_coll(ex *x, const rdv *v, int dim, double end_s)
{
    if (v->base != 0 || plan_slot_id(x->p, 0, v->slot) != v->gid)
        return;
    /* reserved for the whole run by size_up_front: the push does not allocate */
    if (sim_vec_push(&x->colls, ((exec_coll_rec){v->step, v->kind, dim, v->algo, v->size,
                                                 v->bytes, v->start_s, end_s})) != 0)
        fail(x, SIM_ERR_NOMEM, "out of memory recording collectives");
}

/* One of r's asynchronous collectives is done (*out counts those left): when it was the last
 * and r waits for them in state `state`, the wait is exposed time of dim and r goes on past
 * the item it waited on (a WAIT item; a join has no item left: have_item is already 0). */
/*
 * The last communication beside r's slowed op has ended: the op's remaining work goes on at
 * full speed. An op beside communication runs at 1 / (1 + overlap_slowdown) of its speed
 * only while the communication lasts, so what is left of it shrinks by that factor, and its
 * compute time with it.
 */
static void speed_up(ex *x, rank_st *r)
{
    r->slowed = false;
    int64_t now = ev_now(x->eng), left = r->op_end_ps - now;
    if (left <= 0)
        return;
    int64_t fast = ev_round_ps((double)left / (1 + r->ov));
    r->compute_s -= (double)(left - fast) * 1e-12;
    r->op_end_ps = now + fast;
    if (ev_schedule(x->eng, &r->ev, r->op_end_ps, EV_CLASS_NORMAL) != SIM_OK)
        fail(x, SIM_ERR_NOMEM, "out of memory scheduling compute");
}

static void async_done(ex *x, rank_st *r, int32_t *out, rank_state state, int dim,
                       double end_s)
{
    --*out;
    if (r->slowed && r->state == R_COMPUTE && r->async_out == 0 && r->overlap_out == 0)
        speed_up(x, r);
    if (*out > 0 || r->state != state)
        return;
    x->acc[r->id].exposed_s[dim] += end_s - r->block_s;
    r->have_item = 0;
    r->state = R_READY;
    wake(x, r);
}

#define MEMBER_AHEAD 8 /* members fetched ahead of the one woken (on_coll_done) */

static void on_coll_done(void *user, double start_s, double end_s)
{
    rdv *v = user;
    ex *x = v->x;
    (void)start_s;
    record_coll(x, v, v->dim, end_s);
    char name[64];
    if (x->tr)
        snprintf(name, sizeof name, "%s %s", plan_dim_name(v->dim), coll_kind_name(v->kind));
    const int32_t *mem = v->grp->members;
    for (int64_t i = 0; i < v->size; i++) {
        if (i + MEMBER_AHEAD < v->size) { /* members are scattered over the ranks' array: a
                                             miss each, so fetch the two lines read here (the
                                             node and state; the outstanding counts) ahead */
            const char *ahead = (const char *)&x->ranks[mem[i + MEMBER_AHEAD]];
            __builtin_prefetch(ahead, 1);
            __builtin_prefetch(ahead + 64, 1);
        }
        rank_st *r = &x->ranks[mem[i]];
        if (x->tr && trace_wants(x->tr, r->id))
            trace_event(x->tr, name, coll_algo_name(v->algo), r->id,
                        v->async != PLAN_SYNC ? TRACE_ASYNC : TRACE_COMM, v->start_s, end_s - v->start_s);
        if (v->async == PLAN_ASYNC_NEXT_OP) {
            async_done(x, r, &r->overlap_out, R_JOIN, v->dim, end_s);
        } else if (v->async == PLAN_ASYNC_STEP) {
            async_done(x, r, &r->async_out, R_WAIT, PLAN_DP, end_s);
        } else {
            x->acc[r->id].idle_s += v->start_s - r->block_s;
            x->acc[r->id].exposed_s[v->dim] += end_s - v->start_s;
            r->state = R_READY;
            wake(x, r);
        }
    }
    sim_pool_put(x->rdvs, v);
}

/* The collective group of v's group (slot, first member gid in v's replica) and its member
 * list, made on first use into its entry e. A slot's groups are disjoint (every rank is in
 * one group of each slot, named by its first member), so their lists fill at most the
 * slot's arena of n_ranks. */
static coll_group *group_of(ex *x, rank_grp *e, int slot, int64_t gid, int64_t size,
                            const rdv *v)
{
    if (e->g)
        return e->g;
    if (!x->grp_mem[slot] &&
        !(x->grp_mem[slot] = malloc((size_t)x->n_ranks * sizeof *x->grp_mem[slot]))) {
        fail(x, SIM_ERR_NOMEM, "out of memory starting a collective");
        return NULL;
    }
    if (x->grp_mem_n[slot] + (size_t)size > (size_t)x->n_ranks) {
        fail(x, SIM_ERR_INTERNAL, "collective groups of one slot overlap");
        return NULL;
    }
    int32_t *m = x->grp_mem[slot] + x->grp_mem_n[slot];
    x->grp_mem_n[slot] += (size_t)size;
    /* Members are the group in coordinate order: ranks run on chips of the same number. */
    for (int64_t i = 0; i < size; i++)
        m[i] = (int32_t)(v->base + plan_slot_member(v->p, gid, slot, i));
    e->members = m;
    coll_group *g;
    sim_status st;
    if (coll_group_create(x->ce, m, (size_t)size, &g, &st) != SIM_OK) {
        x->err = st;
        fail(x, SIM_OK, NULL);
        return NULL;
    }
    e->g = g;
    return g;
}

/* The entry of the group (slot, first member first, a global rank), its slot's table
 * allocated on first use; NULL when out of memory. */
static rank_grp *grp_of(ex *x, int slot, int64_t first)
{
    if (!x->grp[slot] && !(x->grp[slot] = calloc((size_t)x->n_ranks, sizeof(rank_grp))))
        return NULL;
    return &x->grp[slot][first];
}

static void arrive(ex *x, rank_st *r, const plan_item *it)
{
    int dim = it->dim, slot = plan_slot(dim, it->group);
    int64_t gid = plan_slot_id(r->p, r->loc, slot);
    uint32_t seq = r->seq[slot]++;
    uint64_t rgid = (uint64_t)gid * (uint64_t)x->replicas + (uint64_t)r->rep;
    /* the collective's id (its flows' ECMP hash reads it) */
    uint64_t key = sim_hash_mix(((uint64_t)slot << 56) ^ (rgid << 24) ^ (uint64_t)seq) ^
                   (uint64_t)seq;
    rank_grp *e = grp_of(x, slot, r->base + gid);
    if (!e) {
        fail(x, SIM_ERR_NOMEM, "out of memory for collectives");
        return;
    }
    rdv **at = &e->open;
    while (*at && (*at)->seq != seq)
        at = &(*at)->next_open;
    rdv *v = *at;
    if (!v) {
        v = sim_pool_get(x->rdvs);
        if (!v) {
            fail(x, SIM_ERR_NOMEM, "out of memory for collectives");
            return;
        }
        memset(v, 0, sizeof *v);
        v->key = key;
        v->seq = seq;
        v->x = x;
        v->grp = e;
        v->p = r->p;
        v->rep = r->rep;
        v->base = r->base;
        v->dim = dim;
        v->slot = slot;
        v->kind = it->coll;
        v->async = it->async;
        v->gid = gid;
        v->size = plan_slot_size(r->p, slot);
        v->bytes = it->bytes;
        v->step = x->step;
        *at = v; /* last of the list */
    }
    if (++v->arrived < v->size)
        return;
    /* Everyone is here: it leaves the open list, and starts. */
    *at = v->next_open;
    coll_group *g = group_of(x, e, slot, gid, v->size, v);
    if (!g)
        return;
    v->start_s = now_s(x);
    coll_algo algo = v->kind == COLL_ALLTOALL && plan_alltoall_model(r->p) == PLAN_A2A_DIRECT
                         ? COLL_ALGO_DIRECT
                         : COLL_ALGO_AUTO;
    coll_req rq = {.kind = v->kind, .algo = algo, .group = g, .bytes = v->bytes, .id = key,
                   .done = on_coll_done, .user = v};
    sim_status st;
    if (coll_start(x->ce, &rq, &v->algo, &st) != SIM_OK && !x->failed) {
        x->err = st;
        fail(x, SIM_OK, NULL);
    }
}

/* ---- pipeline messages ---- */

static chan *chan_of(ex *x, int64_t src, int64_t dst)
{
    uint64_t key = (uint64_t)src * (uint64_t)x->n_ranks + (uint64_t)dst;
    uint64_t idx = sim_hmap_get(&x->cmap, key);
    if (idx != SIM_HMAP_NONE)
        return &x->chans.v[idx];
    /* room reserved by size_up_front: neither the array nor the table allocates */
    if (sim_vec_reserve(&x->chans, x->chans.n + 1) != 0 ||
        sim_hmap_put(&x->cmap, key, (uint64_t)x->chans.n) != 0)
        return NULL;
    chan *c = &x->chans.v[x->chans.n++];
    memset(c, 0, sizeof *c);
    c->key = key;
    c->src = src;
    c->dst = dst;
    return c;
}

typedef struct msg {
    ex *x;
    int64_t src, dst;
} msg;

static void on_msg_done(void *user, double start_s, double end_s)
{
    msg *m = user;
    ex *x = m->x;
    if (x->tr && trace_wants(x->tr, m->src))
        trace_event(x->tr, "pp send", "p2p", m->src, TRACE_SEND, start_s, end_s - start_s);
    chan *c = chan_of(x, m->src, m->dst);
    sim_pool_put(x->msgs, m);
    if (!c) {
        fail(x, SIM_ERR_NOMEM, "out of memory for a pipeline channel");
        return;
    }
    if (c->len == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        double *t = malloc(cap * sizeof *t);
        if (!t) {
            fail(x, SIM_ERR_NOMEM, "out of memory for a pipeline channel");
            return;
        }
        for (size_t i = 0; i < c->len; i++)
            t[i] = c->t_send[(c->head + i) % c->cap];
        free(c->t_send);
        c->t_send = t;
        c->head = 0;
        c->cap = cap;
    }
    c->t_send[(c->head + c->len++) % c->cap] = start_s;
    c->delivered++;
    rank_st *r = &x->ranks[c->dst];
    if (r->state == R_RECV && r->have_item && r->base + r->held_peer == c->src)
        wake(x, r);
}

/* ---- the rank loop ---- */

static void step_done(ex *x);

/* Stops the run cleanly when it passes a bound of opts (checked every 4,096 advances). */
static int over_bounds(ex *x)
{
    if (!x->opts || (++x->advances & 4095) != 0)
        return 0;
    if ((x->opts->max_events && ev_count(x->eng) >= x->opts->max_events) ||
        (x->opts->max_wall_s > 0 && sim_wall_s() - x->wall0 > x->opts->max_wall_s)) {
        x->stopped = 1;
        ev_stop(x->eng);
        return 1;
    }
    if (x->opts->progress && sim_wall_s() - x->last_progress > 0.5) {
        fprintf(stderr, "\rclustersim: step %lld/%lld, %.3f s simulated, %.1f s wall, %llu "
                "events", (long long)x->step + 1, (long long)x->total_steps, now_s(x),
                sim_wall_s() - x->wall0, (unsigned long long)ev_count(x->eng));
        x->last_progress = sim_wall_s();
    }
    return 0;
}

/* What an item leaves its rank doing: going on to its next item, or stopped until an event
 * (its compute's end, or a wake) advances it again, or the run failed. */
typedef enum item_next { ITEM_GO_ON = 0, ITEM_STOP } item_next;

/* A compute op: the rank computes until its own event, the op's time from now. */
static item_next item_compute(ex *x, rank_st *r, const plan_item *it)
{
    int64_t ps = rank_op_ps(r, it);
    if (ps >= 0 && r->slow != 1)
        ps = (int64_t)llround((double)ps * r->slow);
    if (ps < 0) {
        char why[200];
        snprintf(why, sizeof why, "op '%s' would take %.3g s, over the %.0f s an op "
                 "may take: the chip's efficiency or peak is too low",
                 it->op.name ? it->op.name : "op", op_seconds(r->sp, &it->op), EXEC_MAX_OP_S);
        fail(x, SIM_ERR_INPUT, why);
        return ITEM_STOP;
    }
    /* Communication of this rank running beside the op shares its SMs and HBM: the op runs
     * slower until the communication ends (speed_up). */
    double ov = r->ov;
    r->slowed = (r->async_out > 0 || r->overlap_out > 0) && ov > 0;
    if (r->slowed)
        ps = ev_round_ps((double)ps * (1 + ov));
    r->op_end_ps = ev_now(x->eng) + ps;
    r->compute_s += (double)ps * 1e-12;
    if (x->tr && trace_wants(x->tr, r->id))
        trace_event(x->tr, it->op.name ? it->op.name : "op",
                    it->op.recompute ? "recompute" : it->backward ? "backward" : "forward",
                    r->id, TRACE_COMPUTE, now_s(x), (double)ps * 1e-12);
    r->have_item = 0;
    r->state = R_COMPUTE;
    if (r->join_pending) {
        r->join_pending = 0;
        r->join_after = 1;
    }
    if (ev_schedule(x->eng, &r->ev, ev_now(x->eng) + ps, EV_CLASS_NORMAL) != SIM_OK)
        fail(x, SIM_ERR_NOMEM, "out of memory scheduling compute");
    return ITEM_STOP;
}

/* A collective: asynchronous ones (beside the next op, or until the DP wait) let the rank
 * go on; a synchronous one holds it until the collective ends. Groups of one are skipped. */
static item_next item_coll(ex *x, rank_st *r, const plan_item *it)
{
    r->have_item = 0;
    if (plan_slot_size(r->p, plan_slot(it->dim, it->group)) < 2)
        return ITEM_GO_ON;
    if (it->async == PLAN_ASYNC_NEXT_OP) {
        r->overlap_out++;
        r->join_pending = 1;
        arrive(x, r, it);
        return ITEM_GO_ON;
    }
    if (it->async == PLAN_ASYNC_STEP) {
        r->async_out++;
        arrive(x, r, it);
        return ITEM_GO_ON;
    }
    r->state = R_COLL;
    r->block_s = now_s(x);
    arrive(x, r, it);
    return ITEM_STOP;
}

/* A pipeline send: buffered, the rank goes on at once. */
static item_next item_send(ex *x, rank_st *r, const plan_item *it)
{
    msg *m = sim_pool_get(x->msgs);
    sim_status st;
    r->have_item = 0;
    if (!m) {
        fail(x, SIM_ERR_NOMEM, "out of memory for a message");
        return ITEM_STOP;
    }
    int64_t dst = r->base + it->peer;
    *m = (msg){x, r->id, dst};
    uint64_t id = sim_hash_mix((uint64_t)r->id << 32 ^ (uint64_t)dst) ^ (uint64_t)it->mb;
    if (coll_send(x->ce, (int32_t)r->id, (int32_t)dst, it->bytes, id, on_msg_done, m,
                  &st) != SIM_OK) {
        x->err = st;
        fail(x, SIM_OK, NULL);
        return ITEM_STOP;
    }
    return ITEM_GO_ON;
}

/* A pipeline receive: consumes a delivered message, or waits for one (on_msg_done wakes). */
static item_next item_recv(ex *x, rank_st *r, const plan_item *it)
{
    chan *c = chan_of(x, r->base + it->peer, r->id);
    if (!c) {
        fail(x, SIM_ERR_NOMEM, "out of memory for a pipeline channel");
        return ITEM_STOP;
    }
    if (c->delivered > c->consumed) {
        double t_send = c->t_send[c->head];
        c->head = (c->head + 1) % c->cap;
        c->len--;
        c->consumed++;
        if (r->state == R_RECV) { /* woken: split the wait */
            double t = now_s(x), b = r->block_s;
            double ts = t_send < b ? b : (t_send > t ? t : t_send);
            x->acc[r->id].bubble_s += ts - b;
            x->acc[r->id].exposed_s[PLAN_PP] += t - ts;
        }
        r->state = R_READY;
        r->have_item = 0;
        return ITEM_GO_ON;
    }
    if (r->state != R_RECV) {
        r->state = R_RECV;
        r->block_s = now_s(x);
    }
    return ITEM_STOP;
}

/* The wait for the asynchronous gradient reductions (async_done ends it). */
static item_next item_wait_dp(ex *x, rank_st *r)
{
    if (r->async_out == 0) {
        r->have_item = 0;
        return ITEM_GO_ON;
    }
    r->state = R_WAIT;
    r->block_s = now_s(x);
    return ITEM_STOP;
}

static item_next item_run(ex *x, rank_st *r, const plan_item *it)
{
    switch (it->kind) {
    case PLAN_ITEM_COMPUTE:
        return item_compute(x, r, it);
    case PLAN_ITEM_COLL:
        return item_coll(x, r, it);
    case PLAN_ITEM_SEND:
        return item_send(x, r, it);
    case PLAN_ITEM_RECV:
        return item_recv(x, r, it);
    case PLAN_ITEM_WAIT_DP:
        return item_wait_dp(x, r);
    default:
        fail(x, SIM_ERR_INTERNAL, "unknown program item");
        return ITEM_STOP;
    }
}

/* Runs r's program from where it stands until an item stops it or the program is over. */
static void advance(rank_st *r)
{
    ex *x = r->x;
    if (over_bounds(x))
        return;
    if (r->join_after) { /* the op beside an overlapped collective is done: join it */
        r->join_after = 0;
        if (r->overlap_out > 0) {
            r->state = R_JOIN;
            r->block_s = now_s(x);
            return;
        }
    }
    /* The item in hand (a template's, shared, or built in buf): only a held one outlives
     * this call (have_item). Template items are not stamped (plan_prog_next_ref): nothing
     * here reads a compute op's or a collective's mb, chunk or layer. */
    plan_item buf;
    const plan_item *it = &buf;
    if (r->have_item) {
        memset(&buf, 0, sizeof buf);
        buf.kind = r->held_kind;
        buf.peer = r->held_peer;
    }
    while (!x->failed) {
        if (!r->have_item) {
            if (!(it = plan_prog_next_ref(r->p, &r->cur, &buf))) {
                r->state = R_DONE;
                x->rep_end_s[r->rep] = now_s(x);
                if (++x->done_ranks == x->n_ranks)
                    step_done(x);
                return;
            }
            r->have_item = 1;
        }
        if (item_run(x, r, it) == ITEM_STOP) {
            if (r->have_item) { /* a receive or the DP wait: run again when woken */
                r->held_kind = it->kind;
                r->held_peer = (int32_t)it->peer;
            }
            return;
        }
    }
}

static void on_rank_event(ev_engine *e, ev_node *n)
{
    (void)e;
    advance((rank_st *)(void *)n);
}

/* Every rank starts the step's program now. */
static void start_ranks(ex *x)
{
    for (int64_t i = 0; i < x->n_ranks; i++) {
        rank_st *r = &x->ranks[i];
        plan_prog_begin(r->p, r->loc, &r->cur);
        r->have_item = 0;
        r->state = R_READY;
        r->join_pending = r->join_after = 0;
        memset(&x->acc[i], 0, sizeof x->acc[i]);
        r->compute_s = 0;
        wake(x, r);
    }
}

/* The step goes: its ranks start, or with end_at_last_start the last step ends here. */
static void go(ex *x)
{
    if (x->end_here) { /* the side ends the run at this step's start */
        x->total_steps = x->step + 1;
        x->res->n_step_rows = x->total_steps;
    } else if (!(x->opts && x->opts->end_at_last_start && x->step == x->total_steps - 1)) {
        start_ranks(x);
        return;
    }
    for (int64_t i = 0; i < x->n_ranks; i++) {
        memset(&x->acc[i], 0, sizeof x->acc[i]);
        x->ranks[i].compute_s = 0;
    }
    for (int64_t s = 0; s < x->replicas; s++)
        x->rep_end_s[s] = now_s(x);
    step_done(x);
}

static void begin_step(ex *x)
{
    x->done_ranks = 0;
    x->step_start_s = now_s(x);
    exec_side_go g = x->side ? x->side->step_begin(x->side->user, x, x->ce, x->step)
                             : EXEC_SIDE_GO;
    if (g == EXEC_SIDE_HOLD) {
        x->held = true; /* the side releases it */
        return;
    }
    x->end_here = g == EXEC_SIDE_END;
    go(x);
}

void exec_side_release(exec_run_ctl *x)
{
    if (!x->held || x->failed)
        return;
    x->held = false;
    x->res->step_rows[x->step].held_s = now_s(x) - x->step_start_s;
    go(x);
}

void exec_side_fail(exec_run_ctl *x, const sim_status *st)
{
    if (x->failed)
        return;
    x->err = *st;
    fail(x, SIM_OK, NULL);
}

double exec_side_now(const exec_run_ctl *x)
{
    return now_s(x);
}

static void step_done(ex *x)
{
    exec_result *res = x->res;
    exec_step *row = &res->step_rows[x->step];
    row->start_s = x->step_start_s;
    row->end_s = now_s(x);
    int measured = x->step >= x->warmup;
    for (int64_t i = 0; i < x->n_ranks; i++) {
        const exec_rank_stats *a = &x->acc[i];
        exec_rank_stats *tot = &res->ranks[i];
        for (int d = 0; d < PLAN_DIM_COUNT; d++) {
            row->exposed_s[d] += a->exposed_s[d] / (double)x->n_ranks;
            if (measured)
                tot->exposed_s[d] += a->exposed_s[d] / (double)x->steps;
        }
        row->bubble_s += a->bubble_s / (double)x->n_ranks;
        if (measured) {
            tot->compute_s += x->ranks[i].compute_s / (double)x->steps;
            tot->idle_s += a->idle_s / (double)x->steps;
            tot->bubble_s += a->bubble_s / (double)x->steps;
        }
    }
    for (int64_t s = 0; measured && s < x->replicas; s++)
        res->replica_s[s] += (x->rep_end_s[s] - row->start_s - row->held_s) / (double)x->steps;
    const net_graph *g = topo_graph(plan_topo(x->p));
    size_t nl = net_graph_link_count(g);
    if (x->step == x->warmup - 1) /* measurement starts: snapshot */
        for (size_t l = 0; l < nl; l++)
            res->link_bytes[l] = -net_sim_link_bytes(x->ns, (net_link_id)l);
    x->step++;
    if (x->step < x->total_steps)
        begin_step(x);
}

/* ---- run ---- */

/* Collectives of rank 0's program in one step (over groups of two or more, the others are
 * skipped): the ones record_coll keeps, since rank 0 is a member of every group it keeps. */
static size_t rank0_colls(const plan *p)
{
    plan_cursor c;
    plan_item it;
    size_t n = 0;
    plan_prog_begin(p, 0, &c);
    while (plan_prog_next(p, &c, &it))
        if (it.kind == PLAN_ITEM_COLL && plan_slot_size(p, plan_slot(it.dim, it.group)) >= 2)
            n++;
    return n;
}

/* Sizes before the loop what grows while events run (see the top of this file): the
 * channels and the collective records. Errors: SIM_ERR_NOMEM. */
static sim_code size_up_front(ex *x, sim_status *st)
{
    /* a rank receives from its previous and its next pipeline stage only */
    size_t chans = plan_dim_size(x->p, PLAN_PP) > 1 ? 2 * (size_t)x->n_ranks : 0;
    size_t colls = rank0_colls(x->p) * (size_t)x->total_steps;
    if (sim_vec_reserve_exact(&x->chans, chans) != 0 || sim_hmap_reserve(&x->cmap, chans) != 0 ||
        sim_vec_reserve_exact(&x->colls, colls) != 0)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for %lld ranks",
                              (long long)x->n_ranks);
    return SIM_OK;
}

/* Bytes per rank (its state, rendezvous and channel slots, its share of collectives in
 * flight) and per directed link (the network model's link state and user arrays). */
#define EST_RANK_BYTES 4096.0
#define EST_LINK_BYTES 512.0

/* The ranks of p's first `replicas` replicas (at least one). */
static int64_t replica_ranks(const plan *p, int64_t replicas)
{
    int64_t n = 0;
    for (int64_t s = 0; s < (replicas > 1 ? replicas : 1); s++)
        n += plan_ranks(plan_site(p, s));
    return n;
}

double exec_memory_estimate(const plan *p, int64_t replicas)
{
    const net_graph *g = topo_graph(plan_topo(p));
    double ranks = (double)replica_ranks(p, replicas);
    return ranks * EST_RANK_BYTES +
           (double)net_graph_link_count(g) * EST_LINK_BYTES +
           (double)net_graph_node_count(g) * 64.0;
}

/* SIM_ERR_LIMIT when the replay's estimate exceeds the limit (opts's, else the physical
 * memory), before anything is allocated. */
static sim_code check_memory(const plan *p, const exec_opts *opts, sim_status *st)
{
    double limit = opts && opts->mem_limit_bytes > 0 ? opts->mem_limit_bytes : 0;
    if (limit <= 0) {
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        limit = pages > 0 && psize > 0 ? (double)pages * (double)psize : 16e9;
    }
    int64_t replicas = opts && opts->replicas > 1 ? opts->replicas : 1;
    double need = exec_memory_estimate(p, replicas);
    if (need > limit)
        return sim_status_set(st, SIM_ERR_LIMIT, plan_config_path(p), 0, 0,
                              "the replay needs about %.1f GiB (%lld ranks, %zu links), more "
                              "than the %.1f GiB available", need / 1073741824.0,
                              (long long)replica_ranks(p, replicas),
                              net_graph_link_count(topo_graph(plan_topo(p))),
                              limit / 1073741824.0);
    return SIM_OK;
}

/* The chip models the op times read: opts's, else each rank's chip in the topology (sites
 * may differ), one entry per distinct model. SIM_ERR_INPUT: none. */
static sim_code use_chip(ex *x, sim_status *st)
{
    const plan *p = x->p;
    x->tr = x->opts ? x->opts->trace : NULL;
    x->sp = calloc(topo_site_count(plan_topo(p)) + 1, sizeof *x->sp);
    x->rep_end_s = calloc((size_t)x->replicas, sizeof *x->rep_end_s);
    if (!x->sp || !x->rep_end_s)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    bool fp8 = plan_workload(p)->dtype == WL_DTYPE_FP8;
    const hw_chip *fixed = x->opts ? x->opts->chip : NULL;
    /* chip models change at most at site boundaries: look up by site */
    for (size_t s = 0; s < topo_site_count(plan_topo(p)); s++) {
        size_t first = topo_site_first_chip(plan_topo(p), s);
        const hw_chip *chip = fixed ? fixed : topo_chip_hw(plan_topo(p), (int32_t)first);
        if (!chip)
            return sim_status_set(st, SIM_ERR_INPUT, plan_topology_path(p), 0, 0,
                                  "topology '%s' names no chip: the replay needs one (add "
                                  "'chip:')", topo_name(plan_topo(p)));
        size_t k = 0;
        while (k < x->n_sp && x->sp[k].chip != chip)
            k++;
        if (k == x->n_sp)
            x->sp[x->n_sp++] = speed_of(chip, fp8);
    }
    x->chip = x->sp[0].chip;
    return SIM_OK;
}

/* The model of chip i (use_chip has seen every site's). */
static speed *speed_of_chip(ex *x, int64_t i)
{
    const hw_chip *chip =
        x->opts && x->opts->chip ? x->opts->chip : topo_chip_hw(plan_topo(x->p), (int32_t)i);
    for (size_t k = 0; k < x->n_sp; k++)
        if (x->sp[k].chip == chip)
            return &x->sp[k];
    return &x->sp[0]; /* explicit graphs: chips without a site entry take the first model */
}

/* The event engine, the network, the collective engine and the pools. */
static sim_code open_engines(ex *x, sim_status *st)
{
    const plan *p = x->p;
    sim_code rc = ev_engine_create(&x->eng, st);
    if (rc == SIM_OK)
        rc = net_sim_create(x->eng, topo_graph(plan_topo(p)), x->opts ? x->opts->naive_solver : 0,
                            &x->ns, st);
    if (rc == SIM_OK)
        rc = coll_engine_create(x->ns, plan_topo(p), &x->ce, st);
    if (rc == SIM_OK) /* WAN loads that vary over the replay */
        rc = topo_wan_apply_background(plan_topo(p), x->ns, st);
    if (rc == SIM_OK && (!(x->msgs = sim_pool_create(sizeof(msg), 256)) ||
                         !(x->rdvs = sim_pool_create(sizeof(rdv), 1024))))
        rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    return rc;
}

/* The memo of op times of the ranks of plan p on chip model sp, made on first use; NULL
 * when out of memory. */
static int64_t *memo_of(ex *x, const plan *p, const speed *sp)
{
    for (size_t k = 0; k < x->n_memo; k++)
        if (x->memo[k].p == p && x->memo[k].sp == sp)
            return x->memo[k].ps;
    struct op_memo *m = realloc(x->memo, (x->n_memo + 1) * sizeof *m);
    if (!m)
        return NULL;
    x->memo = m;
    int64_t *ps = calloc(PLAN_OP_IDS, sizeof *ps);
    if (!ps)
        return NULL;
    x->memo[x->n_memo++] = (struct op_memo){p, sp, ps};
    return ps;
}

/* The ranks' state and the result's arrays; each rank's peak memory is its stage's. */
static sim_code open_ranks(ex *x, sim_status *st)
{
    plan *p = x->p;
    exec_result *res = x->res;
    size_t nl = net_graph_link_count(topo_graph(plan_topo(p)));
    x->ranks = aligned_alloc(64, (size_t)x->n_ranks * sizeof *x->ranks);
    if (x->ranks)
        memset(x->ranks, 0, (size_t)x->n_ranks * sizeof *x->ranks);
    x->acc = calloc((size_t)x->n_ranks, sizeof *x->acc);
    res->ranks = calloc((size_t)x->n_ranks, sizeof *res->ranks);
    res->step_rows = calloc((size_t)x->total_steps, sizeof *res->step_rows);
    res->link_bytes = calloc(nl ? nl : 1, sizeof *res->link_bytes);
    res->replica_s = calloc((size_t)x->replicas, sizeof *res->replica_s);
    res->n_replicas = x->replicas;
    if (!x->ranks || !x->acc || !res->ranks || !res->step_rows || !res->link_bytes ||
        !res->replica_s)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for %lld ranks",
                              (long long)x->n_ranks);
    res->n_step_rows = x->total_steps;
    res->steps = x->steps;
    sim_code rc = size_up_front(x, st);
    if (rc != SIM_OK)
        return rc;
    for (int64_t i = 0, rep = 0, base = 0; i < x->n_ranks; i++) {
        if (i - base == plan_ranks(plan_site(p, rep)))
            base = i, rep++;
        ev_node_init(&x->ranks[i].ev, on_rank_event);
        x->ranks[i].x = x;
        x->ranks[i].id = (int32_t)i;
        x->ranks[i].p = plan_site(p, rep);
        x->ranks[i].rep = (int32_t)rep;
        x->ranks[i].loc = (int32_t)(i - base);
        x->ranks[i].base = (int32_t)base;
        speed *sp = speed_of_chip(x, i);
        sp->ranks++;
        x->ranks[i].sp = sp;
        x->ranks[i].ov = sp->chip->overlap_slowdown;
        if (!(x->ranks[i].op_memo = memo_of(x, x->ranks[i].p, sp)))
            return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
        const double *slow = x->opts && x->opts->slowdown ? x->opts->slowdown : plan_slowdown(p);
        x->ranks[i].slow = slow ? slow[i] : 1.0;
        wl_memory m;
        sim_status ms;
        const plan *q = x->ranks[i].p;
        if (wl_memory_stage(plan_workload(q), plan_parallel(q),
                            plan_coord(q, x->ranks[i].loc, PLAN_PP), &m, &ms) == SIM_OK)
            res->ranks[i].peak_memory_bytes = m.total;
    }
    return SIM_OK;
}

/* How the loop ended. Errors first: a failure inside the loop stops it with ranks still
 * waiting, which must not read as a deadlock. */
static sim_code outcome(ex *x, sim_status *st)
{
    if (x->failed) {
        *st = x->err;
        return st->code ? st->code : SIM_ERR_INTERNAL;
    }
    if (net_sim_error(x->ns)) {
        *st = *net_sim_error(x->ns);
        return st->code;
    }
    if (coll_engine_error(x->ce)) {
        *st = *coll_engine_error(x->ce);
        return st->code;
    }
    if (!x->stopped && x->step < x->total_steps) {
        /* Nothing left to run but ranks still wait: a deadlock in the programs. */
        int64_t stuck = -1;
        for (int64_t i = 0; i < x->n_ranks && stuck < 0; i++)
            if (x->ranks[i].state != R_DONE)
                stuck = i;
        return sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0,
                              "deadlock in step %lld: rank %lld waits (state %d) with no event "
                              "pending", (long long)x->step, (long long)stuck,
                              stuck >= 0 ? (int)x->ranks[stuck].state : -1);
    }
    return SIM_OK;
}

/* The figures of a run that ended well: link bytes of the measured steps, step time,
 * throughput, MFU and HFU (none for a stopped run). */
static void figures(ex *x)
{
    const plan *p = x->p;
    exec_result *res = x->res;
    res->events = ev_count(x->eng);
    if (res->stopped)
        return;
    size_t nl = net_graph_link_count(topo_graph(plan_topo(p)));
    for (size_t l = 0; l < nl; l++)
        res->link_bytes[l] += net_sim_link_bytes(x->ns, (net_link_id)l);
    const exec_step *first = &res->step_rows[x->warmup];
    const exec_step *last = &res->step_rows[x->total_steps - 1];
    res->measured_s = last->end_s - first->start_s;
    res->step_time_s = res->measured_s / (double)x->steps;
    double peak = 0;
    for (size_t k = 0; k < x->n_sp; k++)
        peak += (double)x->sp[k].ranks * x->sp[k].peak;
    double tokens = 0, model = 0, hardware = 0; /* every replica's (the sites' may differ) */
    for (int64_t s = 0; s < x->replicas; s++) {
        const plan *q = plan_site(p, s);
        tokens += wl_tokens_per_step(plan_workload(q));
        model += wl_model_flops_per_step(plan_workload(q));
        hardware += wl_hardware_flops_per_step(plan_workload(q), plan_parallel(q));
    }
    res->tokens_per_s = tokens / res->step_time_s;
    res->mfu = model / (res->step_time_s * peak);
    res->hfu = hardware / (res->step_time_s * peak);
}

/* Frees everything the run holds but the result, which takes the collective records. */
static void close_run(ex *x)
{
    exec_result *res = x->res;
    if (x->eng) /* a stopped or failed run leaves events whose nodes are freed below */
        ev_clear(x->eng);
    res->wall_s = sim_wall_s() - x->wall0;
    if (x->opts && x->opts->progress && x->last_progress > x->wall0 + 0.5)
        fputc('\n', stderr);
    for (size_t i = 0; i < x->chans.n; i++)
        free(x->chans.v[i].t_send);
    sim_vec_free(&x->chans);
    sim_pool_destroy(x->rdvs);
    sim_hmap_free(&x->cmap);
    for (int s = 0; s < PLAN_SLOT_COUNT; s++) {
        free(x->grp[s]);
        free(x->grp_mem[s]);
    }
    res->colls = x->colls.v; /* the result owns the records from here */
    res->n_colls = x->colls.n;
    free(x->ranks);
    free(x->acc);
    for (size_t k = 0; k < x->n_memo; k++)
        free(x->memo[k].ps);
    free(x->memo);
    free(x->sp);
    free(x->rep_end_s);
    coll_engine_destroy(x->ce);
    sim_pool_destroy(x->msgs);
    net_sim_destroy(x->ns);
    ev_engine_destroy(x->eng);
}

sim_code exec_run(plan *p, const exec_opts *opts, exec_result *res, sim_status *st)
{
    ex x;
    memset(&x, 0, sizeof x);
    memset(res, 0, sizeof *res);
    x.p = p;
    x.res = res;
    x.opts = opts;
    sim_code rc = check_memory(p, opts, st);
    if (rc != SIM_OK)
        goto done;
    x.replicas = opts && opts->replicas > 1 ? opts->replicas : 1;
    x.n_ranks = replica_ranks(p, x.replicas);
    x.warmup = opts && opts->steps > 0 ? opts->warmup : plan_warmup_steps(p);
    x.steps = opts && opts->steps > 0 ? opts->steps : plan_steps(p);
    x.total_steps = x.warmup + x.steps;
    x.side = opts ? opts->side : NULL;
    x.wall0 = sim_wall_s();
    x.last_progress = x.wall0 + 0.5; /* a progress line only for runs over a second */
    rc = use_chip(&x, st);
    if (rc == SIM_OK)
        rc = open_engines(&x, st);
    if (rc == SIM_OK)
        rc = open_ranks(&x, st);
    if (rc != SIM_OK)
        goto done;
    begin_step(&x);
    ev_run(x.eng, INT64_MAX);
    res->stopped = x.stopped;
    rc = outcome(&x, st);
    if (rc == SIM_OK)
        figures(&x);
done:
    close_run(&x);
    if (rc != SIM_OK)
        exec_result_free(res); /* nothing stays allocated on error */
    return rc;
}

void exec_result_free(exec_result *r)
{
    if (!r)
        return;
    free(r->step_rows);
    free(r->ranks);
    free(r->link_bytes);
    free(r->replica_s);
    free(r->colls);
    memset(r, 0, sizeof *r);
}
