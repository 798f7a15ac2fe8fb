/*
 * rel_fleet.c: a job's failure classes from its plan (see rel_fleet.h for the rules).
 *
 * Counting walks the network graph upwards from the job's chips, marking each node it
 * reaches with its role (NIC, leaf, spine, core) in one byte per graph node: chip -> NIC
 * (itself, or a shared NIC over PCIe) -> leaf (NIC link) -> spine (leaf-spine link from a
 * leaf) -> core (spine-core link from a spine). Upward links are the only ones followed, so
 * each cable is counted once. Hosts below a switch are found the other way, downwards by
 * the tier's link kind, deduplicated with a per-host stamp.
 *
 * Replays scale whole link kinds (topo_scale_link_kind) and restore every capacity from a
 * copy taken once, so the plan's topology is bit for bit what it was; scenarios with the
 * same factors share one replay.
 */
#include "rel/rel_fleet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_NIC = 1, ROLE_LEAF = 2, ROLE_SPINE = 4, ROLE_CORE = 8 };

/* Fabric tier of a graph node, from the kinds of its out-links. */
typedef enum tier { TIER_NONE = 0, TIER_NIC, TIER_LEAF, TIER_SPINE, TIER_CORE } tier;

static sim_code nomem(sim_status *st)
{
    return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory counting a fleet");
}

int64_t rel_job_chips(const plan *p)
{
    const plan_cross_dc *x = plan_cross_dc_of(p);
    if ((x->scheme == PLAN_XDC_DILOCO || x->scheme == PLAN_XDC_STREAMING) &&
        x->total_ranks > 0)
        return x->total_ranks;
    return plan_ranks(p);
}

static tier node_tier(const net_graph *g, net_node_id n)
{
    if (net_graph_node_kind(g, n) != NET_NODE_SWITCH)
        return TIER_NONE;
    size_t cnt;
    const net_link_id *out = net_graph_out_links(g, n, &cnt);
    unsigned kinds = 0;
    for (size_t i = 0; i < cnt; i++)
        kinds |= 1u << net_graph_link(g, out[i])->kind;
    if (kinds & (1u << NET_LINK_PCIE))
        return TIER_NIC;
    if (kinds & (1u << NET_LINK_NIC))
        return TIER_LEAF;
    if (kinds & (1u << NET_LINK_LEAF_SPINE))
        return TIER_SPINE;
    if (kinds & (1u << NET_LINK_SPINE_CORE))
        return TIER_CORE;
    return TIER_NONE;
}

/* Scratch for collecting the hosts below switches: a stamp per host. */
typedef struct below {
    const topo *t;
    uint32_t *stamp; /* [hosts] */
    uint32_t epoch;
    int64_t *hosts;  /* found this epoch */
    size_t n, cap;
    int64_t max_host; /* hosts above it are not counted by count_below (-1: all) */
    int64_t counted;
} below;

static sim_code below_init(below *b, const topo *t, sim_status *st)
{
    memset(b, 0, sizeof *b);
    b->t = t;
    b->max_host = -1;
    size_t h = (size_t)topo_host_count(t);
    b->stamp = calloc(h ? h : 1, sizeof *b->stamp);
    return b->stamp ? SIM_OK : nomem(st);
}

static void below_free(below *b)
{
    free(b->stamp);
    free(b->hosts);
}

static sim_code below_add(below *b, int32_t chip, sim_status *st)
{
    int64_t h = topo_chip_host(b->t, chip);
    if (b->stamp[h] == b->epoch)
        return SIM_OK;
    b->stamp[h] = b->epoch;
    if (b->max_host < 0 || h <= b->max_host)
        b->counted++;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        int64_t *v = realloc(b->hosts, cap * sizeof *v);
        if (!v)
            return nomem(st);
        b->hosts = v;
        b->cap = cap;
    }
    b->hosts[b->n++] = h;
    return SIM_OK;
}

/* Adds the hosts below node n (of tier tr) to b's current epoch. */
static sim_code below_walk(below *b, net_node_id n, tier tr, sim_status *st)
{
    const net_graph *g = topo_graph(b->t);
    static const net_link_kind down[] = {[TIER_NIC] = NET_LINK_PCIE, [TIER_LEAF] = NET_LINK_NIC,
                                         [TIER_SPINE] = NET_LINK_LEAF_SPINE,
                                         [TIER_CORE] = NET_LINK_SPINE_CORE};
    if (tr == TIER_NONE)
        return SIM_OK;
    size_t cnt;
    const net_link_id *out = net_graph_out_links(g, n, &cnt);
    sim_code rc = SIM_OK;
    for (size_t i = 0; i < cnt && rc == SIM_OK; i++) {
        const net_link *k = net_graph_link(g, out[i]);
        if (k->kind != down[tr])
            continue;
        if (net_graph_node_kind(g, k->dst) == NET_NODE_ENDPOINT)
            rc = below_add(b, k->dst, st);
        else if (tr == TIER_LEAF && node_tier(g, k->dst) == TIER_NIC)
            rc = below_walk(b, k->dst, TIER_NIC, st);
        else if (tr == TIER_SPINE || tr == TIER_CORE)
            rc = below_walk(b, k->dst, tr == TIER_SPINE ? TIER_LEAF : TIER_SPINE, st);
    }
    return rc;
}

/* Starts a new epoch and collects the hosts below sw. */
static sim_code below_collect(below *b, net_node_id sw, sim_status *st)
{
    b->epoch++;
    b->n = 0;
    b->counted = 0;
    return below_walk(b, sw, node_tier(topo_graph(b->t), sw), st);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

sim_code rel_fleet_nodes_below(const topo *t, net_node_id sw, int64_t **hosts, size_t *n,
                               sim_status *st)
{
    below b;
    *hosts = NULL;
    *n = 0;
    sim_code rc = below_init(&b, t, st);
    if (rc == SIM_OK)
        rc = below_collect(&b, sw, st);
    if (rc == SIM_OK && b.n) {
        qsort(b.hosts, b.n, sizeof *b.hosts, cmp_i64);
        *hosts = b.hosts;
        *n = b.n;
        b.hosts = NULL;
    }
    below_free(&b);
    return rc;
}

/* Gives node dst role r (one bit of ROLE_*). */
static void mark(uint8_t *role, net_node_id dst, uint8_t r)
{
    role[dst] |= r;
}

static int64_t min_set(int64_t cur, int64_t v)
{
    return cur < 0 || v < cur ? v : cur;
}

/* The job's switches of one role: cables of their upward links of kind up, the fewest such
 * links and cables of one switch, and the most job hosts below one. */
static sim_code count_tier(const topo *t, const uint8_t *role, uint8_t r, net_link_kind up,
                           uint8_t up_role, uint8_t *role_w, below *b, int64_t *switches,
                           int64_t *cables, int64_t *fanout, int64_t *up_cables,
                           int64_t *hosts_max, sim_status *st)
{
    const net_graph *g = topo_graph(t);
    size_t nn = net_graph_node_count(g);
    int64_t fan = -1, upc = -1;
    for (size_t n = 0; n < nn; n++) {
        if (!(role[n] & r))
            continue;
        (*switches)++;
        size_t cnt;
        const net_link_id *out = net_graph_out_links(g, (net_node_id)n, &cnt);
        int64_t links = 0, c = 0;
        for (size_t i = 0; i < cnt; i++) {
            const net_link *k = net_graph_link(g, out[i]);
            if (k->kind != up)
                continue;
            links++;
            c += topo_link_cables(t, out[i]);
            mark(role_w, k->dst, up_role);
        }
        *cables += c;
        if (links) {
            fan = min_set(fan, links);
            upc = min_set(upc, c);
        }
        sim_code rc = below_collect(b, (net_node_id)n, st);
        if (rc != SIM_OK)
            return rc;
        if (b->counted > *hosts_max)
            *hosts_max = b->counted;
    }
    if (fanout)
        *fanout = fan < 0 ? 0 : fan;
    if (up_cables)
        *up_cables = upc < 0 ? 0 : upc;
    return SIM_OK;
}

sim_code rel_fleet_count(const topo *t, int64_t chips, rel_fleet_counts *out, sim_status *st)
{
    if (chips < 1 || chips > (int64_t)topo_chip_count(t))
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                              "a job of %lld chips on a topology of %zu chips",
                              (long long)chips, topo_chip_count(t));
    const net_graph *g = topo_graph(t);
    size_t nn = net_graph_node_count(g);
    rel_fleet_counts c;
    memset(&c, 0, sizeof c);
    c.chips = chips;
    c.hosts = topo_chip_host(t, (int32_t)(chips - 1)) + 1;
    uint8_t *role = calloc(nn ? nn : 1, 1);
    below b;
    sim_code rc = below_init(&b, t, st);
    if (rc == SIM_OK && !role)
        rc = nomem(st);
    b.max_host = c.hosts - 1;
    /* Chips to their NICs, NICs to their leaves. */
    for (int64_t i = 0; i < chips && rc == SIM_OK; i++) {
        size_t cnt;
        const net_link_id *ol = net_graph_out_links(g, (net_node_id)i, &cnt);
        for (size_t j = 0; j < cnt; j++) {
            const net_link *k = net_graph_link(g, ol[j]);
            if (k->kind == NET_LINK_NIC && !(role[i] & ROLE_NIC)) {
                role[i] |= ROLE_NIC;
                c.nics++;
                c.nic_cables += topo_link_cables(t, ol[j]);
                mark(role, k->dst, ROLE_LEAF);
            } else if (k->kind == NET_LINK_PCIE && !(role[k->dst] & ROLE_NIC)) {
                role[k->dst] |= ROLE_NIC;
                c.nics++;
                size_t cn;
                const net_link_id *nl = net_graph_out_links(g, k->dst, &cn);
                for (size_t m = 0; m < cn; m++)
                    if (net_graph_link(g, nl[m])->kind == NET_LINK_NIC) {
                        c.nic_cables += topo_link_cables(t, nl[m]);
                        mark(role, net_graph_link(g, nl[m])->dst, ROLE_LEAF);
                    }
            }
        }
    }
    if (rc == SIM_OK)
        rc = count_tier(t, role, ROLE_LEAF, NET_LINK_LEAF_SPINE, ROLE_SPINE, role, &b,
                        &c.leaves, &c.leaf_spine_cables, &c.spine_fanout, &c.leaf_up_cables,
                        &c.leaf_hosts, st);
    if (rc == SIM_OK)
        rc = count_tier(t, role, ROLE_SPINE, NET_LINK_SPINE_CORE, ROLE_CORE, role, &b,
                        &c.spines, &c.spine_core_cables, &c.core_fanout, &c.spine_up_cables,
                        &c.spine_hosts, st);
    int64_t unused = 0;
    if (rc == SIM_OK)
        rc = count_tier(t, role, ROLE_CORE, NET_LINK_KIND_COUNT, 0, role, &b, &c.cores,
                        &unused, NULL, NULL, &c.core_hosts, st);
    if (rc == SIM_OK)
        *out = c;
    free(role);
    below_free(&b);
    return rc;
}

/* ---- classes ---- */

static rel_law law_of(const hw_fail_law *h)
{
    rel_law l;
    memset(&l, 0, sizeof l);
    l.dist = h->dist == HW_FAIL_WEIBULL     ? REL_WEIBULL
             : h->dist == HW_FAIL_LOGNORMAL ? REL_LOGNORMAL
                                            : REL_EXPONENTIAL;
    l.mean_s = h->mean_s;
    l.shape = h->shape;
    return l;
}

static rel_class make_class(const char *name, int64_t count, const hw_fail_spec *spec,
                            rel_effect effect, int64_t nodes)
{
    rel_class c;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "%s", name);
    c.count = count;
    c.life = law_of(&spec->life);
    c.repair = law_of(&spec->repair);
    c.effect = effect;
    c.nodes = effect == REL_STOP ? nodes : 0;
    return c;
}

/* A degraded fabric: a capacity factor per link kind. */
typedef struct scenario {
    double f[NET_LINK_KIND_COUNT];
    double step_s; /* measured; < 0: not yet */
} scenario;

typedef struct replayer {
    plan *p;
    const exec_opts *eo;
    double *saved; /* every link's capacity as loaded */
    double base_s;
    scenario done[8];
    size_t n_done;
} replayer;

/* Step time of p on its topology with factors f (NULL: as it is). */
static sim_code replay_step(replayer *R, const double *f, double *step_s, sim_status *st)
{
    topo *t = plan_topo(R->p);
    for (int k = 0; f && k < NET_LINK_KIND_COUNT; k++)
        if (f[k] != 1.0)
            topo_scale_link_kind(t, (net_link_kind)k, f[k]);
    exec_opts none;
    memset(&none, 0, sizeof none);
    exec_result r;
    memset(&r, 0, sizeof r);
    sim_code rc = exec_run(R->p, R->eo ? R->eo : &none, &r, st);
    topo_links_restore(t, R->saved);
    if (rc == SIM_OK && r.stopped)
        rc = sim_status_set(st, SIM_ERR_LIMIT, NULL, 0, 0,
                            "a replay for the failure classes stopped at a bound of its "
                            "options (events or wall time)");
    if (rc == SIM_OK)
        *step_s = r.step_time_s;
    exec_result_free(&r);
    return rc;
}

/* Slowdown of the fabric degraded by f: t / t_base - 1 (0 when not faster or no replay). */
static sim_code slowdown_of(replayer *R, const double *f, double *out, sim_status *st)
{
    *out = 0.0;
    if (!R)
        return SIM_OK;
    double step_s = -1;
    for (size_t i = 0; i < R->n_done && step_s < 0; i++)
        if (memcmp(R->done[i].f, f, sizeof R->done[i].f) == 0)
            step_s = R->done[i].step_s;
    if (step_s < 0) {
        sim_code rc = replay_step(R, f, &step_s, st);
        if (rc != SIM_OK)
            return rc;
        if (R->n_done < sizeof R->done / sizeof R->done[0]) {
            memcpy(R->done[R->n_done].f, f, sizeof R->done[0].f);
            R->done[R->n_done++].step_s = step_s;
        }
    }
    double s = R->base_s > 0 ? step_s / R->base_s - 1.0 : 0.0;
    *out = s > 0 ? s : 0.0;
    return SIM_OK;
}

static void factors_one(double f[NET_LINK_KIND_COUNT])
{
    for (int k = 0; k < NET_LINK_KIND_COUNT; k++)
        f[k] = 1.0;
}

/* Appends c to the list (count > 0 only). */
typedef struct class_list {
    rel_class *v;
    size_t n, cap;
} class_list;

static sim_code push(class_list *L, const rel_class *c, sim_status *st)
{
    if (c->count <= 0)
        return SIM_OK;
    if (L->n == L->cap) {
        size_t cap = L->cap ? 2 * L->cap : 16;
        rel_class *v = realloc(L->v, cap * sizeof *v);
        if (!v)
            return nomem(st);
        L->v = v;
        L->cap = cap;
    }
    L->v[L->n++] = *c;
    return SIM_OK;
}

/* A degrading class of a tier: (1 - 1/n) of the kinds in f_kinds when n >= 2, else a stop
 * of stop_nodes. */
static sim_code tier_class(class_list *L, replayer *R, const char *name, int64_t count,
                           const hw_fail_spec *spec, int64_t n, const net_link_kind *kinds,
                           size_t n_kinds, int64_t stop_nodes, sim_status *st)
{
    if (count <= 0)
        return SIM_OK;
    if (n < 2) {
        rel_class c = make_class(name, count, spec, REL_STOP, stop_nodes);
        return push(L, &c, st);
    }
    double f[NET_LINK_KIND_COUNT];
    factors_one(f);
    for (size_t i = 0; i < n_kinds; i++)
        f[kinds[i]] = 1.0 - 1.0 / (double)n;
    rel_class c = make_class(name, count, spec, REL_DEGRADE, 0);
    sim_code rc = slowdown_of(R, f, &c.slowdown, st);
    return rc == SIM_OK ? push(L, &c, st) : rc;
}

/* WAN links of g, one per directed pair (a topology holds at most one between two sites). */
static int64_t wan_links(const net_graph *g)
{
    int64_t n = 0;
    for (size_t l = 0; l < net_graph_link_count(g); l++) {
        const net_link *a = net_graph_link(g, (net_link_id)l);
        n += a->kind == NET_LINK_WAN && a->src < a->dst;
    }
    return n;
}

/*
 * The wan class of a cross-datacenter job. Synchronous and pipeline schemes cross the WAN
 * every step: a link down stops the job until it is repaired (the sites it joins have no
 * other link between them). DiLoCo schemes train on inside each site: the next outer sync
 * waits for the repair (a stall, taken from the failure on: at most a round early).
 */
static sim_code wan_class(class_list *L, const plan *p, const topo *t, sim_status *st)
{
    int scheme = plan_cross_dc_of(p)->scheme;
    int64_t links = wan_links(topo_graph(t));
    if (scheme == PLAN_XDC_NONE || links == 0)
        return SIM_OK;
    bool diloco = scheme == PLAN_XDC_DILOCO || scheme == PLAN_XDC_STREAMING;
    rel_class c = make_class("wan", links, topo_failure(t, HW_FAIL_WAN),
                             diloco ? REL_STALL : REL_STOP, 0);
    c.wait_repair = !diloco;
    return push(L, &c, st);
}

/* gpu and hbm classes: one per chip type among the job's chips. */
static sim_code chip_classes(class_list *L, const topo *t, int64_t chips, sim_status *st)
{
    size_t ns = topo_site_count(t);
    for (int kind = 0; kind < HW_FAIL_CHIP_KINDS; kind++) {
        /* Types in order of first appearance; sites are contiguous runs of chips. */
        const hw_chip *types[64];
        int64_t counts[64];
        size_t nt = 0;
        for (size_t s = 0; s < ns; s++) {
            int64_t first = (int64_t)topo_site_first_chip(t, s);
            int64_t last = first + (int64_t)topo_site_chip_count(t, s);
            if (last > chips)
                last = chips;
            if (last <= first)
                continue;
            const hw_chip *hc = topo_chip_hw(t, (int32_t)first);
            size_t i = 0;
            while (i < nt && !(types[i] == hc || (types[i] && hc &&
                                                  strcmp(types[i]->name, hc->name) == 0)))
                i++;
            if (i == nt) {
                if (nt == sizeof types / sizeof types[0])
                    return sim_status_set(st, SIM_ERR_LIMIT, NULL, 0, 0,
                                          "more than %zu chip types in one job", nt);
                types[nt] = hc;
                counts[nt++] = 0;
            }
            counts[i] += last - first;
        }
        for (size_t i = 0; i < nt; i++) {
            hw_fail_spec spec;
            if (types[i])
                spec = types[i]->fail[kind];
            else
                hw_fail_default((hw_fail_kind)kind, &spec);
            char name[REL_NAME_MAX];
            if (nt == 1 || !types[i])
                snprintf(name, sizeof name, "%s", hw_fail_kind_name((hw_fail_kind)kind));
            else
                snprintf(name, sizeof name, "%s:%.20s", hw_fail_kind_name((hw_fail_kind)kind),
                         types[i]->name);
            rel_class c = make_class(name, counts[i], &spec, REL_STOP, 1);
            sim_code rc = push(L, &c, st);
            if (rc != SIM_OK)
                return rc;
        }
    }
    return SIM_OK;
}

sim_code rel_fleet_build(plan *p, const rel_fleet_opts *o, rel_class **out, size_t *n,
                         sim_status *st)
{
    topo *t = plan_topo(p);
    const bool dual = o && o->dual_homed;
    rel_fleet_counts c;
    class_list L = {0};
    replayer R;
    memset(&R, 0, sizeof R);
    replayer *Rp = NULL;
    *out = NULL;
    *n = 0;
    sim_code rc = rel_fleet_count(t, rel_job_chips(p), &c, st);
    if (rc == SIM_OK && o && o->replay) {
        size_t nl = net_graph_link_count(topo_graph(t));
        R.p = p;
        R.eo = o->exec;
        R.saved = malloc((nl ? nl : 1) * sizeof *R.saved);
        if (!R.saved)
            rc = nomem(st);
        for (size_t l = 0; rc == SIM_OK && l < nl; l++)
            R.saved[l] = net_graph_link(topo_graph(t), (net_link_id)l)->bw_Bps;
        if (rc == SIM_OK && o->base_step_s > 0)
            R.base_s = o->base_step_s;
        else if (rc == SIM_OK)
            rc = replay_step(&R, NULL, &R.base_s, st);
        Rp = &R;
    }
    if (rc == SIM_OK)
        rc = chip_classes(&L, t, c.chips, st);
    if (rc == SIM_OK) {
        rel_class k = make_class("host", c.hosts, topo_failure(t, HW_FAIL_HOST), REL_STOP, 1);
        rc = push(&L, &k, st);
    }
    if (rc == SIM_OK) {
        rel_class k = make_class("nic", c.nics, topo_failure(t, HW_FAIL_NIC), REL_STOP, 1);
        rc = push(&L, &k, st);
    }
    /* Dual-homed NICs: a leaf or a NIC cable down halves the NICs below it. */
    double half_nic[NET_LINK_KIND_COUNT];
    factors_one(half_nic);
    half_nic[NET_LINK_NIC] = 0.5;
    if (rc == SIM_OK) {
        rel_class k = make_class("nic-cable", c.nic_cables, topo_failure(t, HW_FAIL_CABLE),
                                 dual ? REL_DEGRADE : REL_STOP, 1);
        if (dual && k.count > 0)
            rc = slowdown_of(Rp, half_nic, &k.slowdown, st);
        if (rc == SIM_OK)
            rc = push(&L, &k, st);
    }
    if (rc == SIM_OK) {
        rel_class k = make_class("leaf", c.leaves, topo_failure(t, HW_FAIL_LEAF),
                                 dual ? REL_DEGRADE : REL_STOP, c.leaf_hosts);
        if (dual && k.count > 0)
            rc = slowdown_of(Rp, half_nic, &k.slowdown, st);
        if (rc == SIM_OK)
            rc = push(&L, &k, st);
    }
    static const net_link_kind ls_sc[] = {NET_LINK_LEAF_SPINE, NET_LINK_SPINE_CORE};
    static const net_link_kind sc[] = {NET_LINK_SPINE_CORE};
    if (rc == SIM_OK)
        rc = tier_class(&L, Rp, "spine", c.spines, topo_failure(t, HW_FAIL_SPINE),
                        c.spine_fanout, ls_sc, 2, c.spine_hosts, st);
    if (rc == SIM_OK)
        rc = tier_class(&L, Rp, "core", c.cores, topo_failure(t, HW_FAIL_CORE),
                        c.core_fanout >= 2 ? c.core_fanout : c.cores, sc, 1, c.core_hosts,
                        st);
    if (rc == SIM_OK)
        rc = tier_class(&L, Rp, "leaf-spine-cable", c.leaf_spine_cables,
                        topo_failure(t, HW_FAIL_CABLE), c.leaf_up_cables, ls_sc, 1,
                        c.leaf_hosts, st);
    if (rc == SIM_OK)
        rc = tier_class(&L, Rp, "spine-core-cable", c.spine_core_cables,
                        topo_failure(t, HW_FAIL_CABLE),
                        c.spine_up_cables >= 2 ? c.spine_up_cables : c.spine_fanout, sc, 1,
                        c.spine_hosts, st);
    if (rc == SIM_OK) {
        rel_class k = make_class("software", c.hosts, topo_failure(t, HW_FAIL_SOFTWARE),
                                 REL_STOP, 0);
        rc = push(&L, &k, st);
    }
    if (rc == SIM_OK)
        rc = wan_class(&L, p, t, st);
    free(R.saved);
    if (rc != SIM_OK) {
        free(L.v);
        return rc;
    }
    *out = L.v;
    *n = L.n;
    return SIM_OK;
}

const rel_class *rel_fleet_find(const rel_class *c, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0)
            return &c[i];
    return NULL;
}
