/*
 * coll.c: collectives as phases of transfers (see coll.h).
 *
 * A group holds what its membership alone decides: the member list, whether it lies in one
 * domain with in-switch reduction, its torus box and its hierarchy (each a "box": sizes and
 * every member's rank along each dimension; coll_group.c works them out, coll_int.h holds
 * the struct). Groups are computed once and kept by the engine
 * (callers that replay the same groups over and over pass them in coll_req.group); a request
 * without one gets a private group, freed when the collective ends.
 *
 * Each algorithm is one entry of a table (algos): the kinds it runs, whether a group's
 * members allow it, when auto prefers it, its number of phases and the function that starts
 * one; auto walks the table in order of preference, so adding an algorithm touches the
 * table (and coll.h's enum) only.
 *
 * An instance points at its group's members and box and holds its algorithm and phase
 * index. A phase's transfers are built when the phase starts (routes are taken then), so
 * nothing else is stored per collective; a message keeps its two chips inline. Instances
 * come from a pool and go back to it when done. Two scratch vectors (core/vec.h) are reused
 * by every phase: the ring buffer, sized for a group when the group is made, and the link
 * usages of one coupled transfer, which grow (doubling) when a phase needs more than any
 * before it. The usages are not sized up front: their bound, two routes per member of the
 * largest group times topo_route_max_uses (every link of a hand-written topology), is far
 * above what phases use. So a replay allocates only on a group's first use and when a
 * phase needs more usages than every one before it.
 *
 * Phases per (kind, algorithm), with D domains of g members (hierarchical) or n members:
 *   all-reduce     ring: [ring AR]; hierarchical: [RS in domains] [RS per rail]
 *                  [AG per rail] [AG in domains] (with sites: a third level in between)
 *   reduce-scatter ring: [ring RS]; hierarchical: [RS in domains] [RS per rail]
 *   all-gather     ring: [ring AG]; hierarchical: [AG per rail] [AG in domains]
 *   all-to-all     direct: [n (n-1) messages of S / n]
 * The per-rail phases run on S / g, since each domain member holds 1/g of the data after
 * the intra-domain reduce-scatter.
 */
#include "coll/coll.h"
#include "coll/coll_int.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/pool.h"
#include "core/vec.h"

typedef enum step_op { OP_AR = 0, OP_RS, OP_AG } step_op;

typedef struct coll_inst coll_inst;

/*
 * One algorithm: the kinds it runs, when auto picks it, its phases and how one starts. The
 * table of them (algos, below the phase functions) is the one place an algorithm is added,
 * besides its coll_algo value in coll.h. Table order is auto's order of preference; an
 * algorithm asked for that cannot run falls back to the first fallback entry that can
 * (what auto picks last: hierarchical or ring, direct, chain).
 */
typedef struct algo_info {
    coll_algo algo;
    const char *name;
    unsigned kinds;      /* kinds it runs when asked for (a set of K_ bits) */
    unsigned auto_kinds; /* kinds auto (and a fallback) may pick it for */
    bool fallback;       /* where a request that cannot run may end up */
    /* Whether g's members allow it (NULL: any group); sets *bx to the box its phases walk
     * when they do. */
    bool (*fits)(coll_engine *ce, coll_group *g, const box **bx);
    /* Auto's further condition (NULL: none): where NCCL's tuner prefers it, by size. */
    bool (*wins)(const coll_group *g, double bytes);
    int (*phases)(const coll_inst *in); /* its phases over in's members (NULL: one) */
    int (*start)(coll_inst *in);        /* starts phase in->phase: 0 on error (ce->last) */
} algo_info;

/* Sets of kinds, one bit per coll_kind (algo_info.kinds, auto_kinds). */
#define K_BIT(k) (1u << (k))
#define K_AR K_BIT(COLL_ALLREDUCE)
#define K_RING (K_AR | K_BIT(COLL_REDUCE_SCATTER) | K_BIT(COLL_ALLGATHER)) /* the ring family */
#define K_A2A K_BIT(COLL_ALLTOALL)
#define K_BCAST K_BIT(COLL_BROADCAST)

struct coll_inst {
    ev_node done_ev; /* first member: zero-phase collectives finish through an event */
    coll_engine *ce;
    coll_kind kind;
    const algo_info *how; /* its algorithm */
    const int32_t *chips; /* the group's, or pair for a message */
    coll_group *grp;      /* the group (NULL for messages): its ring memo */
    size_t per_domain;    /* the group's (rings run as channels), 0 for messages */
    int32_t pair[2];      /* a message's two chips */
    coll_group *own;      /* a private group, freed at the end */
    size_t n;       /* members */
    int nd;         /* torus, hierarchical: the box used (copied from the group) */
    int tdim[3];
    int tsize[3];
    const int *rank_of;
    double bytes;
    uint64_t id;
    int phase, n_phases;
    size_t outstanding;
    double start_s;
    coll_done_fn done;
    void *user;
    struct coll_inst *prev, *next; /* the engine's list of live instances */
};

struct coll_engine {
    net_sim *ns;
    topo *t;
    sim_pool *insts;
    SIM_VEC(net_usage) uses; /* scratch: one coupled transfer's usages (n unused) */
    size_t route_cap;
    net_usage *route;
    size_t live;
    coll_inst *head; /* live instances, so that destroy can free their member lists */
    SIM_VEC(int32_t) ring; /* scratch: the rings of one torus or hierarchy phase (n unused) */
    hw_coll_model dflt;     /* for chips without a chip model (explicit graphs) */
    coll_group *groups; /* kept until destroy */
    sim_status err;  /* the first failure (coll_engine_error) */
    sim_status last; /* scratch: the failure of the phase being started */
    int failed;
};

const char *coll_kind_name(coll_kind kind)
{
    static const char *const names[] = {"all-reduce", "reduce-scatter", "all-gather",
                                        "all-to-all", "broadcast"};
    return (int)kind >= 0 && kind < COLL_KIND_COUNT ? names[kind] : "?";
}

double coll_busbw_factor(coll_kind kind, size_t n)
{
    if (n < 2)
        return 0;
    double f = (double)(n - 1) / (double)n;
    return kind == COLL_ALLREDUCE ? 2 * f : kind == COLL_BROADCAST ? 1.0 : f;
}

sim_code coll_engine_create(net_sim *ns, topo *t, coll_engine **out, sim_status *st)
{
    coll_engine *ce = calloc(1, sizeof *ce);
    if (ce) {
        ce->ns = ns;
        ce->t = t;
        ce->insts = sim_pool_create(sizeof(coll_inst), 256);
        ce->route_cap = topo_route_max_uses(t);
        ce->route = malloc(ce->route_cap * sizeof *ce->route);
        hw_coll_model_default(&ce->dflt);
    }
    if (!ce || !ce->insts || !ce->route) {
        coll_engine_destroy(ce);
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for collectives");
    }
    *out = ce;
    return SIM_OK;
}

void coll_engine_destroy(coll_engine *ce)
{
    if (!ce)
        return;
    for (coll_inst *in = ce->head; in; in = in->next)
        coll__group_free(in->own);
    for (coll_group *g = ce->groups, *next; g; g = next) {
        next = g->next;
        coll__group_free(g);
    }
    sim_vec_free(&ce->ring);
    sim_pool_destroy(ce->insts);
    sim_vec_free(&ce->uses);
    free(ce->route);
    free(ce);
}

size_t coll_live(const coll_engine *ce)
{
    return ce->live;
}

const sim_status *coll_engine_error(const coll_engine *ce)
{
    return ce->failed ? &ce->err : NULL;
}

static double now_s(const coll_engine *ce)
{
    return (double)ev_now(net_sim_engine(ce->ns)) * 1e-12;
}

static void phase_start(coll_inst *in);

static void finish(coll_inst *in)
{
    coll_engine *ce = in->ce;
    double end = now_s(ce);
    coll_done_fn done = in->done;
    void *user = in->user;
    double start = in->start_s;
    coll__group_free(in->own);
    if (in->prev)
        in->prev->next = in->next;
    else
        ce->head = in->next;
    if (in->next)
        in->next->prev = in->prev;
    sim_pool_put(ce->insts, in);
    ce->live--;
    done(user, start, end);
}

static void on_transfer_done(net_sim *ns, net_transfer *t, void *user)
{
    (void)ns;
    (void)t;
    coll_inst *in = user;
    if (--in->outstanding > 0)
        return;
    if (++in->phase < in->n_phases)
        phase_start(in);
    else
        finish(in);
}

static void on_done_event(ev_engine *e, ev_node *n)
{
    (void)e;
    finish((coll_inst *)(void *)n);
}

/* Which of a chip's collective figures a link takes (hw_coll_model). */
typedef enum link_class {
    LC_SCALE_UP = 0, /* NVLink, ICI, and the links of chipless explicit graphs */
    LC_SCALE_OUT,    /* NIC, PCIe, fabric, gateway */
    LC_WAN           /* WAN: its window caps model it; line rate, scale-out step */
} link_class;

static link_class link_class_of(net_link_kind kind)
{
    switch (kind) {
    case NET_LINK_GENERIC:
    case NET_LINK_NVLINK:
    case NET_LINK_ICI:
        return LC_SCALE_UP;
    case NET_LINK_NIC:
    case NET_LINK_LEAF_SPINE:
    case NET_LINK_SPINE_CORE:
    case NET_LINK_GATEWAY:
    case NET_LINK_PCIE:
        return LC_SCALE_OUT;
    case NET_LINK_WAN:
    case NET_LINK_KIND_COUNT:
        break;
    }
    return LC_WAN;
}

/* The collective figures of chip c: its chip file's, or the defaults for chipless graphs. */
static const hw_coll_model *chip_model(const coll_engine *ce, int32_t c)
{
    const hw_chip *hw = topo_chip_hw(ce->t, c);
    return hw ? &hw->coll : &ce->dflt;
}

/* Protocol efficiency of a link of class lc for a transfer from a chip with model m: the
 * payload fraction of line rate NCCL reaches (nvls: an in-switch all-reduce's). */
static double link_eff(const hw_coll_model *m, link_class lc, bool nvls)
{
    switch (lc) {
    case LC_SCALE_UP:
        return nvls ? m->eff_nvls : m->eff_scale_up;
    case LC_SCALE_OUT:
        return m->eff_scale_out;
    case LC_WAN:
        break;
    }
    return 1.0;
}

/* Appends the route a -> b (flow hash h) to the scratch usages. 0 on error. */
static int add_route(coll_inst *in, int32_t a, int32_t b, uint64_t h, gather *g)
{
    coll_engine *ce = in->ce;
    topo_route_info info;
    if (topo_route(ce->t, a, b, h, ce->route, ce->route_cap, &info, &ce->last) != SIM_OK)
        return 0;
    size_t need = g->n_uses + info.n_uses;
    if (need > ce->uses.cap && sim_vec_reserve(&ce->uses, need) != 0) {
        sim_status_set(&ce->last, SIM_ERR_NOMEM, NULL, 0, 0,
                       "out of memory for the links of a collective");
        return 0;
    }
    /* A link carries payload at eff of its line rate (protocol headers, flags, flow
     * control): the transfer loads it with w / eff per byte of payload. */
    const net_graph *gr = topo_graph(ce->t);
    const hw_coll_model *m = chip_model(ce, a);
    bool nvls = in->how->algo == COLL_ALGO_NVLS, out = false;
    for (size_t i = 0; i < info.n_uses; i++) {
        net_usage u = ce->route[i];
        link_class lc = link_class_of(net_graph_link(gr, u.link)->kind);
        out |= lc != LC_SCALE_UP;
        u.w /= link_eff(m, lc, nvls);
        ce->uses.v[g->n_uses + i] = u;
    }
    g->n_uses += info.n_uses;
    g->hashed |= info.hashed;
    g->routes++;
    g->routes_out += out ? 1 : 0;
    if (info.lat_ps > g->max_lat)
        g->max_lat = info.lat_ps;
    if (info.rate_cap_Bps > 0 && (g->cap == 0 || info.rate_cap_Bps < g->cap))
        g->cap = info.rate_cap_Bps;
    return 1;
}

/* The latency of steps algorithm steps over the gathered routes, NCCL's model of it
 * (src/graph/tuning.cc: baseLat + intra steps x hwLat[NVLink] + inter steps x hwLat[NET]):
 * each step waits the slowest path, plus the chip's per-step cost, scale-out for the share
 * of steps whose edge crosses a scale-out link, scale-up for the others (an in-switch
 * all-reduce pays its own once instead); the first phase also pays the launch. */
static int64_t steps_latency(const coll_inst *in, const gather *g, int steps)
{
    const hw_coll_model *m = chip_model(in->ce, in->chips[0]);
    int64_t lat = (int64_t)steps * g->max_lat + (in->phase == 0 ? m->launch_ps : 0);
    if (in->how->algo == COLL_ALGO_NVLS)
        return lat + m->nvls_ps;
    size_t out = g->routes ? ((size_t)steps * g->routes_out + g->routes / 2) / g->routes : 0;
    return lat + (int64_t)out * m->step_out_ps + ((int64_t)steps - (int64_t)out) * m->step_up_ps;
}

/* Starts the gathered usages as one transfer of bytes per member, waiting the latency of
 * steps algorithm steps (steps_latency). 0 on error. */
static int launch_uses(coll_inst *in, const net_usage *uses, const gather *g, double bytes,
                       int steps)
{
    net_transfer_spec spec = {
        .uses = uses,
        .n_uses = g->n_uses,
        .bytes = bytes,
        .lat_ps = steps_latency(in, g, steps),
        .rate_cap_Bps = g->cap,
        .done = on_transfer_done,
        .user = in,
    };
    in->outstanding++;
    return net_transfer_start(in->ce->ns, &spec, NULL, &in->ce->last) == SIM_OK;
}

/* launch_uses over the gathered usages in the engine's scratch. */
static int launch(coll_inst *in, const gather *g, double bytes, int steps)
{
    return launch_uses(in, in->ce->uses.v, g, bytes, steps);
}

static uint64_t edge_hash(const coll_inst *in, uint64_t salt)
{
    return sim_hash_mix(in->id ^ sim_hash_mix(salt));
}

/* Appends the neighbour paths of the ring over chips[first + k * stride], k = 0..m-1. */
static int add_ring(coll_inst *in, size_t first, size_t stride, size_t m, uint64_t salt,
                    gather *g)
{
    for (size_t k = 0; k < m; k++)
        if (!add_route(in, in->chips[first + k * stride],
                       in->chips[first + (k + 1) % m * stride],
                       edge_hash(in, salt * 0x100000001b3ull + k), g))
            return 0;
    return 1;
}

/* One coupled transfer for the ring over all the members: every neighbour pair's route,
 * bytes per member, one step latency per step. From the group's memo when its routes do
 * not depend on the hash (coll_int.h, ring_memo): what a collective's id changes is then
 * nothing, so the memo is exactly what add_ring would gather. A memo that cannot be
 * allocated is not kept (tried again next time). */
static int start_whole_ring(coll_inst *in, double bytes, int steps)
{
    ring_memo *rm = in->grp ? &in->grp->ring[in->how->algo == COLL_ALGO_NVLS] : NULL;
    if (rm && rm->uses)
        return launch_uses(in, rm->uses, &rm->g, bytes, steps);
    gather g = {0};
    if (!add_ring(in, 0, 1, in->n, 0, &g))
        return 0;
    if (rm && !rm->g.hashed) {
        rm->g = g;
        if (!g.hashed && (rm->uses = malloc(g.n_uses * sizeof *rm->uses)) != NULL)
            memcpy(rm->uses, in->ce->uses.v, g.n_uses * sizeof *rm->uses);
    }
    return launch(in, &g, bytes, steps);
}

/* NCCL's rings over a group of D scale-up domains of g members each (coll_group.per_domain):
 * g channels, channel c entering every domain at its member c, walking the domain's
 * members from there, and leaving from the last one as NCCL's PXN does: over the scale-up
 * fabric to member c, then on member c's NIC (its rail) to member c of the next domain.
 * Every channel carries bytes per member (its 1/g of the data); the channels are alike and
 * move in lock step, so they are one coupled transfer. Each member's NIC carries one
 * channel each way, its scale-up link g. */
static int start_channels(coll_inst *in, size_t g, double bytes, int steps)
{
    size_t domains = in->n / g;
    gather gt = {0};
    for (size_t c = 0; c < g; c++)
        for (size_t k = 0; k < domains; k++) {
            const int32_t *d = in->chips + k * g, *next = in->chips + (k + 1) % domains * g;
            uint64_t salt = (uint64_t)c << 40 | (uint64_t)k << 8;
            for (size_t i = 0; i + 1 < g; i++)
                if (!add_route(in, d[(c + i) % g], d[(c + i + 1) % g],
                               edge_hash(in, salt | i), &gt))
                    return 0;
            if (!add_route(in, d[(c + g - 1) % g], d[c], edge_hash(in, salt | 0xfe), &gt) ||
                !add_route(in, d[c], next[c], edge_hash(in, salt | 0xff), &gt))
                return 0;
            gt.routes--; /* the PXN hop and the rail hop are one step's edge */
        }
    return launch(in, &gt, bytes, steps);
}

/* One message a -> b. */
static int start_msg(coll_inst *in, int32_t a, int32_t b, double bytes, uint64_t salt)
{
    gather g = {0};
    return add_route(in, a, b, edge_hash(in, salt), &g) && launch(in, &g, bytes, 1);
}

/* One coupled transfer over the edges of a binary tree in heap order over the members
 * (reversed when mirror): every edge both ways. */
static int start_tree(coll_inst *in, int mirror, double bytes, int steps)
{
    gather g = {0};
    size_t n = in->n;
    for (size_t child = 1; child < n; child++) {
        size_t parent = (child - 1) / 2;
        int32_t a = in->chips[mirror ? n - 1 - child : child];
        int32_t b = in->chips[mirror ? n - 1 - parent : parent];
        uint64_t salt = (uint64_t)mirror << 40 | child;
        if (!add_route(in, a, b, edge_hash(in, salt), &g) ||
            !add_route(in, b, a, edge_hash(in, salt | (uint64_t)1 << 32), &g))
            return 0;
    }
    return launch(in, &g, bytes, steps);
}

/* One lock-step exchange of recursive halving-doubling: member i and member i ^ dist swap
 * bytes; one coupled transfer over every pair's path. */
static int start_exchange(coll_inst *in, size_t dist, double bytes, uint64_t salt)
{
    gather g = {0};
    for (size_t i = 0; i < in->n; i++)
        if (!add_route(in, in->chips[i], in->chips[i ^ dist], edge_hash(in, salt << 32 | i),
                       &g))
            return 0;
    return launch(in, &g, bytes, 1);
}

static int log2_exact(size_t n)
{
    int k = 0;
    while ((size_t)1 << k < n)
        k++;
    return ((size_t)1 << k) == n ? k : -1;
}

/* Bytes per member and ring steps of one ring operation over m members on S bytes. */
static void ring_cost(int op, size_t m, double S, double *bytes, int *steps)
{
    double f = (double)(m - 1) / (double)m;
    *bytes = op == OP_AR ? 2 * f * S : f * S;
    *steps = (int)(op == OP_AR ? 2 * (m - 1) : m - 1);
}


/* Torus rings along box dimension j: members grouped by their other coordinates, each ring
 * ordered along dimension j; the dimension's rings move in lock step, so they form one
 * coupled transfer. One pass places every member at ring[key * m + pos] (key: the rank
 * of its other coordinates, pos: its rank along j; the box makes this a bijection onto
 * 0..n-1), then the rings are walked in key order. */
static int start_torus_rings(coll_inst *in, int j, double bytes, int steps)
{
    coll_engine *ce = in->ce;
    size_t m = (size_t)in->tsize[j], rings = in->n / m;
    int32_t *buf = ce->ring.v; /* room for n: reserved when the group was made */
    for (size_t i = 0; i < in->n; i++) {
        size_t key = 0;
        for (int q = in->nd - 1; q >= 0; q--)
            if (q != j)
                key = key * (size_t)in->tsize[q] + (size_t)in->rank_of[i * 3 + (size_t)q];
        buf[key * m + (size_t)in->rank_of[i * 3 + (size_t)j]] = in->chips[i];
    }
    gather g = {0};
    for (size_t r = 0; r < rings; r++) {
        const int32_t *ring = buf + r * m;
        for (size_t a = 0; a < m; a++)
            if (!add_route(in, ring[a], ring[(a + 1) % m],
                           edge_hash(in, (uint64_t)in->phase << 40 | r << 16 | a), &g))
                return 0;
    }
    return launch(in, &g, bytes, steps);
}

/* ---- one phase of each algorithm (algo_info.start): 0 on error, ce->last says why ---- */

/* direct: every member sends S / n to every other member at once. */
static int phase_direct(coll_inst *in)
{
    int ok = 1;
    double part = in->bytes / (double)in->n;
    for (size_t i = 0; ok && i < in->n; i++)
        for (size_t j = 0; ok && j < in->n; j++)
            if (i != j)
                ok = start_msg(in, in->chips[i], in->chips[j], part, i * in->n + j);
    return ok;
}

/* coupled: direct's messages as one transfer, every message at one rate. Weighted max-min
 * gives a transfer that crosses a link with k messages what k messages of their own would
 * get there, so where every message's bottleneck is alike (a member's NIC, shared by the
 * messages it sends) the collective ends when direct's last message does. It differs where
 * messages have different bottlenecks: direct's faster messages end early and free their
 * links; here they hold a share of them to the end. One transfer instead of n(n - 1):
 * what makes a mixture-of-experts step replay in its dense sibling's league. */
static int phase_coupled(coll_inst *in)
{
    gather g = {0};
    for (size_t i = 0; i < in->n; i++)
        for (size_t j = 0; j < in->n; j++)
            if (i != j && !add_route(in, in->chips[i], in->chips[j],
                                     edge_hash(in, i * in->n + j), &g))
                return 0;
    /* its one step is one edge, which ends with its slowest message: over scale-out if any
     * message crosses it */
    g.routes_out = g.routes_out > 0;
    g.routes = 1;
    return launch(in, &g, in->bytes / (double)in->n, 1);
}

/* p2p: the first member sends S to the second. */
static int phase_p2p(coll_inst *in)
{
    return start_msg(in, in->chips[0], in->chips[1], in->bytes, 0);
}

/* torus, hierarchical: one ring phase along one dimension of the box. */
static int phase_box(coll_inst *in)
{
    /* phases: RS along box dims 0..nd-1 (AR, RS), then AG along nd-1..0 (AR, AG); the
     * dims of a hierarchy are member in domain, domain in site, site */
    int k = in->phase, nd = in->nd, rs, j;
    if (in->kind == COLL_ALLGATHER) {
        rs = 0;
        j = nd - 1 - k;
    } else if (in->kind == COLL_REDUCE_SCATTER || k < nd) {
        rs = 1;
        j = k;
    } else {
        rs = 0;
        j = 2 * nd - 1 - k;
    }
    double S = in->bytes;
    for (int q = 0; q < j; q++)
        S /= (double)in->tsize[q];
    double bytes;
    int steps;
    ring_cost(rs ? OP_RS : OP_AG, (size_t)in->tsize[j], S, &bytes, &steps);
    return start_torus_rings(in, j, bytes, steps);
}

/* chain: S down the members in order, pipelined. */
static int phase_chain(coll_inst *in)
{
    int ok = 1;
    gather g = {0};
    for (size_t i = 0; ok && i + 1 < in->n; i++)
        ok = add_route(in, in->chips[i], in->chips[i + 1], edge_hash(in, i), &g);
    return ok && launch(in, &g, in->bytes, (int)(in->n - 1));
}

/* nvls: S up to the switch and down from it, two step latencies. */
static int phase_nvls(coll_inst *in)
{
    return start_whole_ring(in, in->bytes, 2);
}

/* tree: the two binary trees, S / 2 each, 2 x depth step latencies. */
static int phase_tree(coll_inst *in)
{
    int depth = 0;
    while (((size_t)2 << depth) <= in->n)
        depth++;
    return start_tree(in, 0, in->bytes / 2, 2 * depth) &&
           start_tree(in, 1, in->bytes / 2, 2 * depth);
}

/* rhd: one exchange of recursive halving or doubling. */
static int phase_rhd(coll_inst *in)
{
    /* phases: reduce-scatter halvings (distance n/2, n/4, ...; S/2, S/4, ...), then the
     * all-gather doublings in reverse */
    int lg = log2_exact(in->n), k = in->phase;
    int halving = in->kind == COLL_ALLGATHER ? 0 : in->kind == COLL_REDUCE_SCATTER ? 1
                                                                                 : k < lg;
    int j = halving ? k : (in->kind == COLL_ALLGATHER ? k : k - lg); /* 0.. lg-1 */
    int level = halving ? j : lg - 1 - j;                            /* 0: largest */
    return start_exchange(in, in->n >> (level + 1), in->bytes / (double)((size_t)2 << level),
                          (uint64_t)k);
}

/* ring: the whole operation as one ring over the members. */
static int phase_ring(coll_inst *in)
{
    double bytes;
    int steps;
    int op = in->kind == COLL_ALLREDUCE ? OP_AR : in->kind == COLL_REDUCE_SCATTER ? OP_RS
                                                                               : OP_AG;
    size_t g = in->per_domain;
    ring_cost(op, in->n, g ? in->bytes / (double)g : in->bytes, &bytes, &steps);
    return g ? start_channels(in, g, bytes, steps) : start_whole_ring(in, bytes, steps);
}

static void phase_start(coll_inst *in)
{
    coll_engine *ce = in->ce;
    in->outstanding = 1; /* held while starting, so an instant finish cannot end the phase */
    if (!in->how->start(in)) {
        /* Keep the hold: the instance never finishes (its callback never runs) and stays
         * live until the engine is destroyed; the run stops with the first error. */
        if (!ce->last.code)
            sim_status_set(&ce->last, SIM_ERR_INTERNAL, NULL, 0, 0,
                           "a collective failed to start a phase");
        coll_engine_fail(ce, &ce->last);
        return;
    }
    /* Release the hold: the phase ends when its last transfer does. */
    on_transfer_done(ce->ns, NULL, in);
}

void coll_engine_fail(coll_engine *ce, const sim_status *st)
{
    if (ce->failed)
        return;
    ce->failed = 1;
    ce->err = *st;
    ev_stop(net_sim_engine(ce->ns));
}

/* A group of chips[0..n) (copied), not yet on the engine's list. */
static sim_code group_new(coll_engine *ce, const int32_t *chips, size_t n, coll_group **out,
                          sim_status *st)
{
    coll_group *g = NULL;
    if (coll__group_make(ce->t, chips, n, &g) != 0 || sim_vec_reserve(&ce->ring, n) != 0) {
        coll__group_free(g);
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for a group");
    }
    *out = g;
    return SIM_OK;
}

sim_code coll_group_create(coll_engine *ce, const int32_t *chips, size_t n, coll_group **out,
                           sim_status *st)
{
    coll_group *g = NULL;
    sim_code rc = group_new(ce, chips, n, &g, st);
    if (rc != SIM_OK)
        return rc;
    g->next = ce->groups;
    ce->groups = g;
    *out = g;
    return SIM_OK;
}

/* The hierarchy of g, computed on first use (coll_group.c). */
static const box *group_levels(coll_engine *ce, coll_group *g)
{
    return coll__group_levels(ce->t, g);
}

/* ---- the algorithms: what each needs, when auto picks it, its phases ---- */

static bool fits_torus(coll_engine *ce, coll_group *g, const box **bx)
{
    (void)ce;
    if (g->torus.nd == 0)
        return false;
    *bx = &g->torus;
    return true;
}

/* The hierarchy, computed on first use: only when nothing before it in the table was
 * picked, as auto did. */
static bool fits_levels(coll_engine *ce, coll_group *g, const box **bx)
{
    const box *lv = group_levels(ce, g);
    if (lv->nd == 0)
        return false;
    *bx = lv;
    return true;
}

static bool fits_nvls(coll_engine *ce, coll_group *g, const box **bx)
{
    (void)ce;
    (void)bx;
    return g->one_domain && g->sharp;
}

static bool fits_rhd(coll_engine *ce, coll_group *g, const box **bx)
{
    (void)ce;
    (void)bx;
    return log2_exact(g->n) >= 1;
}

/* tree: an all-reduce over several domains, latency-bound. */
static bool wins_tree(const coll_group *g, double bytes)
{
    return !g->one_domain && g->n >= 4 && bytes <= COLL_SMALL_BYTES;
}

/* rhd: at least four members, latency-bound. */
static bool wins_rhd(const coll_group *g, double bytes)
{
    return g->n >= 4 && bytes <= COLL_SMALL_BYTES;
}

/* torus, hierarchical: one ring phase per box dimension each way (one way but all-reduce). */
static int phases_box(const coll_inst *in)
{
    return in->nd * (in->kind == COLL_ALLREDUCE ? 2 : 1);
}

/* rhd: log2 n exchanges each way. */
static int phases_rhd(const coll_inst *in)
{
    return log2_exact(in->n) * (in->kind == COLL_ALLREDUCE ? 2 : 1);
}

/* In auto's order of preference (see algo_info). Asked for, direct and chain run any kind
 * of the ring family too, each as its own pattern; p2p is what coll_send uses. */
static const algo_info algos[] = {
    {.algo = COLL_ALGO_TORUS, .name = "torus", .kinds = K_RING, .auto_kinds = K_RING,
     .fits = fits_torus, .phases = phases_box, .start = phase_box},
    {.algo = COLL_ALGO_NVLS, .name = "nvls", .kinds = K_AR, .auto_kinds = K_AR,
     .fits = fits_nvls, .start = phase_nvls},
    {.algo = COLL_ALGO_TREE, .name = "tree", .kinds = K_AR, .auto_kinds = K_AR,
     .wins = wins_tree, .start = phase_tree},
    {.algo = COLL_ALGO_RHD, .name = "rhd", .kinds = K_RING, .auto_kinds = K_RING & ~K_AR,
     .fits = fits_rhd, .wins = wins_rhd, .phases = phases_rhd, .start = phase_rhd},
    {.algo = COLL_ALGO_HIERARCHICAL, .name = "hierarchical", .kinds = K_RING,
     .auto_kinds = K_RING, .fallback = true, .fits = fits_levels,
     .phases = phases_box, .start = phase_box},
    {.algo = COLL_ALGO_RING, .name = "ring", .kinds = K_RING, .auto_kinds = K_RING,
     .fallback = true, .start = phase_ring},
    {.algo = COLL_ALGO_COUPLED, .name = "coupled", .kinds = K_A2A, .auto_kinds = K_A2A,
     .fallback = true, .start = phase_coupled},
    {.algo = COLL_ALGO_DIRECT, .name = "direct", .kinds = K_RING | K_A2A, .auto_kinds = K_A2A,
     .fallback = true, .start = phase_direct},
    {.algo = COLL_ALGO_CHAIN, .name = "chain", .kinds = K_RING | K_BCAST,
     .auto_kinds = K_BCAST, .fallback = true, .start = phase_chain},
    {.algo = COLL_ALGO_P2P, .name = "p2p", .kinds = K_RING, .start = phase_p2p},
};

#define N_ALGOS (sizeof algos / sizeof algos[0])
_Static_assert(N_ALGOS == COLL_ALGO_COUNT - 1, "one entry per coll_algo but auto");

static const algo_info *algo_find(coll_algo algo)
{
    for (size_t i = 0; i < N_ALGOS; i++)
        if (algos[i].algo == algo)
            return &algos[i];
    return NULL;
}

const char *coll_algo_name(coll_algo algo)
{
    const algo_info *a = algo_find(algo);
    return algo == COLL_ALGO_AUTO ? "auto" : a ? a->name : "?";
}

static int kind_in(unsigned kinds, coll_kind kind)
{
    return (int)kind >= 0 && kind < COLL_KIND_COUNT && ((kinds >> kind) & 1u);
}

/* What a group of fewer than two members reports: the last resort of its kind, the first
 * fallback that needs nothing of the members (ring, direct, chain). */
static const algo_info *plain_algo(coll_kind kind)
{
    for (size_t i = 0; i < N_ALGOS; i++)
        if (algos[i].fallback && !algos[i].fits && kind_in(algos[i].auto_kinds, kind))
            return &algos[i];
    return algo_find(COLL_ALGO_RING); /* a kind out of range */
}

/* The algorithm for kind over g (n >= 2) when want is asked for (AUTO: choose); sets *bx to
 * the box the phases walk (NULL for algorithms without one). Asked for, an algorithm runs
 * when it runs kind and fits g; otherwise, and for AUTO, the first entry of the table for
 * kind that fits g and (AUTO) wins, or (asked) is a fallback. */
static const algo_info *pick_algo(coll_engine *ce, coll_group *g, coll_kind kind,
                                  coll_algo want, double bytes, const box **bx)
{
    const algo_info *asked = want == COLL_ALGO_AUTO ? NULL : algo_find(want);
    *bx = NULL;
    if (asked && kind_in(asked->kinds, kind) && (!asked->fits || asked->fits(ce, g, bx)))
        return asked;
    for (size_t i = 0; i < N_ALGOS; i++) {
        const algo_info *a = &algos[i];
        if (!kind_in(a->auto_kinds, kind) || (want != COLL_ALGO_AUTO && !a->fallback))
            continue;
        *bx = NULL;
        if ((!a->fits || a->fits(ce, g, bx)) &&
            (want != COLL_ALGO_AUTO || !a->wins || a->wins(g, bytes)))
            return a;
    }
    return algo_find(COLL_ALGO_RING); /* a kind out of range: every kind has a fallback */
}

/* pick_algo, with auto's pick kept in the group: a replay's collectives over one group then
 * choose in O(1). Not kept when the hierarchy could not be computed for want of memory (it
 * is tried again next time, as group_levels says). */
static const algo_info *choose_algo(coll_engine *ce, coll_group *g, coll_kind kind,
                                    coll_algo want, double bytes, const box **bx)
{
    if (want != COLL_ALGO_AUTO || (int)kind < 0 || kind >= COLL_KIND_COUNT)
        return pick_algo(ce, g, kind, want, bytes, bx);
    int small = bytes <= COLL_SMALL_BYTES;
    const algo_info *a = g->auto_pick[kind][small];
    if (a) {
        *bx = g->auto_box[kind][small];
        return a;
    }
    a = pick_algo(ce, g, kind, want, bytes, bx);
    if (a->algo != COLL_ALGO_RING || g->levels_known || !kind_in(K_RING, kind)) {
        g->auto_pick[kind][small] = a;
        g->auto_box[kind][small] = *bx;
    }
    return a;
}

/* A failed engine starts nothing more: the run is being stopped. */
static sim_code refuse_if_failed(const coll_engine *ce, sim_status *st)
{
    if (!ce->failed)
        return SIM_OK;
    *st = ce->err;
    return st->code;
}

/* An instance from the pool with its common fields, on the live list. NULL: no memory. */
static coll_inst *inst_new(coll_engine *ce, coll_kind kind, const algo_info *how, size_t n,
                           double bytes, uint64_t id, coll_done_fn done, void *user)
{
    coll_inst *in = sim_pool_get(ce->insts);
    if (!in)
        return NULL;
    memset(in, 0, sizeof *in);
    in->ce = ce;
    in->kind = kind;
    in->how = how;
    in->n = n;
    in->bytes = bytes;
    in->id = id;
    in->done = done;
    in->user = user;
    in->start_s = now_s(ce);
    ce->live++;
    in->next = ce->head;
    if (ce->head)
        ce->head->prev = in;
    ce->head = in;
    return in;
}

/* Starts in's first phase, or with no phase finishes it at the current instant through an
 * event (never inside the call). */
static sim_code inst_go(coll_inst *in, sim_status *st)
{
    coll_engine *ce = in->ce;
    if (in->n_phases == 0) {
        ev_node_init(&in->done_ev, on_done_event);
        sim_code rc = ev_schedule(net_sim_engine(ce->ns), &in->done_ev,
                                  ev_now(net_sim_engine(ce->ns)), EV_CLASS_NORMAL);
        return rc == SIM_OK ? SIM_OK
                            : sim_status_set(st, rc, NULL, 0, 0, "out of memory for events");
    }
    phase_start(in);
    return refuse_if_failed(ce, st);
}

sim_code coll_start(coll_engine *ce, const coll_req *rq, coll_algo *algo_used, sim_status *st)
{
    if (refuse_if_failed(ce, st) != SIM_OK)
        return st->code;
    coll_group *g = rq->group, *own = NULL;
    size_t n = g ? g->n : rq->n;
    const algo_info *how;
    const box *bx = NULL;
    if (n < 2) { /* nothing to move: no algorithm applies, report the plain one */
        how = plain_algo(rq->kind);
    } else {
        if (!g) {
            sim_code rc = group_new(ce, rq->chips, rq->n, &own, st);
            if (rc != SIM_OK)
                return rc;
            g = own;
        }
        how = choose_algo(ce, g, rq->kind, rq->algo, rq->bytes, &bx);
    }
    coll_inst *in = inst_new(ce, rq->kind, how, n, rq->bytes, rq->id, rq->done, rq->user);
    if (!in) {
        coll__group_free(own);
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for a collective");
    }
    in->own = own;
    in->grp = g;
    in->chips = g ? g->chips : NULL;
    in->per_domain = g ? g->per_domain : 0;
    if (bx) {
        in->nd = bx->nd;
        memcpy(in->tdim, bx->tdim, sizeof in->tdim);
        memcpy(in->tsize, bx->tsize, sizeof in->tsize);
        in->rank_of = bx->rank_of;
    }
    if (algo_used)
        *algo_used = how->algo;
    in->n_phases = n < 2 || rq->bytes <= 0 ? 0 : how->phases ? how->phases(in) : 1;
    return inst_go(in, st);
}

sim_code coll_send(coll_engine *ce, int32_t src, int32_t dst, double bytes, uint64_t id,
                   coll_done_fn done, void *user, sim_status *st)
{
    if (refuse_if_failed(ce, st) != SIM_OK)
        return st->code;
    coll_inst *in = inst_new(ce, COLL_ALLGATHER, algo_find(COLL_ALGO_P2P), 2, bytes, id, done,
                             user);
    if (!in)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for a message");
    in->pair[0] = src;
    in->pair[1] = dst;
    in->chips = in->pair;
    in->n_phases = src == dst ? 0 : 1;
    return inst_go(in, st);
}
