/*
 * troute.c: routes between chips, as link usages for the network model.
 *
 * Generated topologies route by structure, never by search:
 *  - same scale-up domain: chip -> NVSwitch -> chip, or dimension-order routing on the torus
 *    (dimensions in order, each the shorter way round; a tie goes the + way);
 *  - same site: chip -> [PCIe -> NIC] -> leaf, up to the lowest tier that reaches the
 *    destination (the leaf itself, a spine of the pod, or a core of the spine's plane), then
 *    down the unique path to the destination's leaf and chip;
 *  - other sites: up to the site's gateway through any top-tier switch, over the WAN route
 *    between the sites (wan_next), and down from the far gateway through any top-tier
 *    switch that reaches the destination.
 * ECMP picks each up-going choice by hashing the flow with the switch's node id (the same
 * hash as net/route.c); spraying takes every choice with an equal share, so the weights on
 * the links of any tier crossing sum to 1. Down-going hops are unique once the top switch is
 * chosen. Scale-up routes are the same in both modes.
 *
 * Latency and hop counts are those of the ECMP path (in spraying mode, of the first
 * branch): every equal-cost path of a generated fabric has the same hops and latencies.
 */
#include <math.h>
#include <string.h>

#include "core/hash.h"
#include "topo/topo_int.h"

typedef struct emitter {
    const net_graph *g;
    net_usage *u;
    size_t n, cap;
    int64_t lat_ps;
    int hops;
    bool hashed; /* an ECMP choice among several was made (topo_route_info.hashed) */
} emitter;

/* Adds a usage; on_path says whether the link is on the path whose latency is reported. */
static void emit(emitter *E, net_link_id l, double w, int on_path)
{
    if (E->n < E->cap) {
        E->u[E->n].link = l;
        E->u[E->n].w = w;
    }
    E->n++;
    if (on_path) {
        E->lat_ps += net_graph_link(E->g, l)->lat_ps;
        E->hops++;
    }
}

static size_t pick(emitter *E, uint64_t h, net_node_id node, size_t n)
{
    if (n <= 1)
        return 0;
    E->hashed = true;
    return (size_t)(sim_hash_mix(h ^ ((uint64_t)(uint32_t)node * 0x9e3779b97f4a7c15ull)) % n);
}

/* Link ids of the blocks described in topo_int.h. */
static net_link_id ls_link(const topo_site *s, size_t leaf, size_t j)
{
    return s->ls_base + (net_link_id)(2 * (leaf * s->spines_per_pod + j));
}
static net_link_id sc_link(const topo_site *s, size_t spine, size_t c)
{
    return s->sc_base + (net_link_id)(2 * (spine * s->cores_per_plane + c));
}
static net_link_id gw_link(const topo_site *s, size_t k)
{
    return s->gw_base + (net_link_id)(2 * k);
}

static size_t nic_of_chip(const topo_site *s, size_t i)
{
    if (!s->shared_nics)
        return i;
    size_t share = s->chips_per_node / s->nics_per_node;
    return i / s->chips_per_node * s->nics_per_node + i % s->chips_per_node / share;
}

/* Only routes through the fabric ask, so the site has one and its table (gen_build.c). */
static size_t leaf_of_chip(const topo_site *s, size_t i)
{
    return s->chip_leaf[i];
}

static void access_up(emitter *E, const topo_site *s, size_t i)
{
    if (s->shared_nics)
        emit(E, s->pcie_base + (net_link_id)(2 * i), 1, 1);
    emit(E, s->nic_base + (net_link_id)(2 * nic_of_chip(s, i)), 1, 1);
}

static void access_down(emitter *E, const topo_site *s, size_t i)
{
    emit(E, s->nic_base + (net_link_id)(2 * nic_of_chip(s, i)) + 1, 1, 1);
    if (s->shared_nics)
        emit(E, s->pcie_base + (net_link_id)(2 * i) + 1, 1, 1);
}

/* Inside one scale-up domain; ia, ib site-local. */
static void scale_up(emitter *E, const topo_site *s, size_t ia, size_t ib)
{
    if (s->su_kind == TOPO_SU_NVSWITCH) {
        emit(E, s->su_base + (net_link_id)(2 * ia), 1, 1);
        emit(E, s->su_base + (net_link_id)(2 * ib) + 1, 1, 1);
        return;
    }
    size_t nd = (size_t)s->nd, base = ia - ia % s->domain_size;
    size_t cur = ia % s->domain_size, goal = ib % s->domain_size, stride = 1;
    for (size_t k = 0; k < nd; k++) {
        size_t dk = (size_t)s->dims[k];
        size_t x = cur / stride % dk, y = goal / stride % dk;
        size_t fwd = (y + dk - x) % dk;
        int plus = s->wrap ? fwd <= dk - fwd : y > x;
        size_t steps = plus ? fwd : (s->wrap ? dk - fwd : x - y);
        for (size_t t = 0; t < steps; t++) {
            x = cur / stride % dk;
            if (plus) {
                emit(E, s->torus_cable[(base + cur) * nd + k], 1, 1);
                cur = cur - x * stride + (x + 1) % dk * stride;
            } else {
                size_t prev = cur - x * stride + (x + dk - 1) % dk * stride;
                emit(E, s->torus_cable[(base + prev) * nd + k] + 1, 1, 1);
                cur = prev;
            }
        }
        stride *= dk;
    }
}

/* Leaf la to leaf lb of one site, through the fabric. */
static void across_fabric(emitter *E, const topo_site *s, size_t la, size_t lb, uint64_t h,
                          int spray)
{
    if (la == lb)
        return;
    size_t S = s->spines_per_pod, C = s->cores_per_plane;
    size_t pa = la / s->leaves_per_pod, pb = lb / s->leaves_per_pod;
    size_t j0 = spray ? 0 : pick(E, h, s->leaf_node + (net_node_id)la, S);
    size_t nj = spray ? S : 1;
    for (size_t jj = 0; jj < nj; jj++) {
        size_t j = j0 + jj;
        double wj = 1.0 / (double)nj;
        emit(E, ls_link(s, la, j), wj, jj == 0);
        if (pa != pb) {
            size_t sa = pa * S + j, sb = pb * S + j;
            size_t c0 = spray ? 0 : pick(E, h, s->spine_node + (net_node_id)sa, C);
            size_t nc = spray ? C : 1;
            for (size_t cc = 0; cc < nc; cc++) {
                int on = jj == 0 && cc == 0;
                emit(E, sc_link(s, sa, c0 + cc), wj / (double)nc, on);
                emit(E, sc_link(s, sb, c0 + cc) + 1, wj / (double)nc, on);
            }
        }
        emit(E, ls_link(s, lb, j) + 1, wj, jj == 0);
    }
}

/* Leaf la up to the site's gateway. */
static void up_to_gateway(emitter *E, const topo_site *s, size_t la, uint64_t h, int spray)
{
    if (s->tiers == 1) {
        emit(E, gw_link(s, 0), 1, 1);
        return;
    }
    size_t S = s->spines_per_pod, C = s->cores_per_plane;
    size_t pa = la / s->leaves_per_pod;
    size_t j0 = spray ? 0 : pick(E, h, s->leaf_node + (net_node_id)la, S);
    size_t nj = spray ? S : 1;
    for (size_t jj = 0; jj < nj; jj++) {
        size_t j = j0 + jj;
        double wj = 1.0 / (double)nj;
        emit(E, ls_link(s, la, j), wj, jj == 0);
        if (s->tiers == 2) {
            emit(E, gw_link(s, j), wj, jj == 0);
            continue;
        }
        size_t sa = pa * S + j;
        size_t c0 = spray ? 0 : pick(E, h, s->spine_node + (net_node_id)sa, C);
        size_t nc = spray ? C : 1;
        for (size_t cc = 0; cc < nc; cc++) {
            int on = jj == 0 && cc == 0;
            emit(E, sc_link(s, sa, c0 + cc), wj / (double)nc, on);
            emit(E, gw_link(s, j * C + c0 + cc), wj / (double)nc, on);
        }
    }
}

/* The site's gateway down to leaf lb. */
static void down_from_gateway(emitter *E, const topo_site *s, size_t lb, uint64_t h, int spray)
{
    size_t S = s->spines_per_pod, C = s->cores_per_plane;
    size_t k0 = spray ? 0 : pick(E, h, s->gw_node, s->n_top);
    size_t nk = spray ? s->n_top : 1;
    for (size_t kk = 0; kk < nk; kk++) {
        size_t k = k0 + kk;
        double w = 1.0 / (double)nk;
        int on = kk == 0;
        emit(E, gw_link(s, k) + 1, w, on);
        if (s->tiers == 1)
            continue;
        size_t j = s->tiers == 3 ? k / C : k;
        if (s->tiers == 3)
            emit(E, sc_link(s, lb / s->leaves_per_pod * S + j, k % C) + 1, w, on);
        /* In spraying mode the C cores of plane j all come down to the same spine: its link
         * to the leaf is listed once, with their summed share. */
        if (!spray || s->tiers != 3)
            emit(E, ls_link(s, lb, j) + 1, w, on);
        else if (k % C == 0)
            emit(E, ls_link(s, lb, j) + 1, w * (double)C, on);
    }
}

static size_t site_of_chip(const topo *t, size_t chip)
{
    size_t lo = 0, hi = t->n_sites;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (t->sites[mid].first_chip <= chip)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static sim_code route_generated(topo *t, int32_t src, int32_t dst, uint64_t h, emitter *E,
                                double *cap_Bps)
{
    int spray = t->routing == TOPO_ROUTE_SPRAY;
    size_t sa = site_of_chip(t, (size_t)src), sb = site_of_chip(t, (size_t)dst);
    const topo_site *A = &t->sites[sa], *B = &t->sites[sb];
    size_t ia = (size_t)src - A->first_chip, ib = (size_t)dst - B->first_chip;
    *cap_Bps = 0;
    if (sa == sb) {
        if (A->su_kind != TOPO_SU_NONE && ia / A->domain_size == ib / A->domain_size) {
            scale_up(E, A, ia, ib);
            return SIM_OK;
        }
        access_up(E, A, ia);
        across_fabric(E, A, leaf_of_chip(A, ia), leaf_of_chip(A, ib), h, spray);
        access_down(E, B, ib);
        return SIM_OK;
    }
    access_up(E, A, ia);
    up_to_gateway(E, A, leaf_of_chip(A, ia), h, spray);
    size_t n = t->n_sites, cur = sa;
    double min_cap = INFINITY;
    while (cur != sb) {
        int32_t code = t->wan_next[cur * n + sb];
        const topo_wan *w = &t->wans[code / 2];
        emit(E, w->link + (code & 1), 1, 1);
        cur = (code & 1) ? w->a : w->b;
    }
    down_from_gateway(E, B, leaf_of_chip(B, ib), h, spray);
    access_down(E, B, ib);
    /* Window caps need the round trip of the whole path: apply them once it is known. */
    double rtt_s = 2.0 * (double)E->lat_ps * 1e-12;
    cur = sa;
    while (cur != sb) {
        int32_t code = t->wan_next[cur * n + sb];
        const topo_wan *w = &t->wans[code / 2];
        /* per stream: the window over the RTT, and with a loss rate the Mathis et al. (1997)
         * bound MSS / RTT x C / sqrt(p), C = sqrt(3/2) */
        double per = INFINITY;
        if (w->window_bytes > 0 && rtt_s > 0)
            per = w->window_bytes / rtt_s;
        if (w->loss > 0 && rtt_s > 0) {
            double m = w->mss_bytes / rtt_s * sqrt(1.5) / sqrt(w->loss);
            per = m < per ? m : per;
        }
        if ((double)w->streams * per < min_cap)
            min_cap = (double)w->streams * per;
        cur = (code & 1) ? w->a : w->b;
    }
    *cap_Bps = isinf(min_cap) ? 0 : min_cap;
    return SIM_OK;
}

sim_code topo_route(topo *t, int32_t src, int32_t dst, uint64_t h, net_usage *uses, size_t cap,
                    topo_route_info *info, sim_status *st)
{
    emitter E = {.g = t->graph, .u = uses, .cap = cap};
    memset(info, 0, sizeof *info);
    if (src == dst)
        return SIM_OK;
    double rate_cap = 0;
    sim_code rc = SIM_OK;
    if (t->generated) {
        rc = route_generated(t, src, dst, h, &E, &rate_cap);
    } else if (t->routing == TOPO_ROUTE_SPRAY) {
        size_t n = 0, cap_links = net_graph_link_count(t->graph);
        rc = net_route_spray(t->router, src, dst, t->path_buf, t->spray_frac, cap_links, &n, st);
        for (size_t i = 0; rc == SIM_OK && i < n; i++)
            emit(&E, t->path_buf[i], t->spray_frac[i], 0);
        /* The latency and hops of the ECMP path, which every sprayed path matches in hops. */
        size_t len = 0;
        if (rc == SIM_OK)
            rc = net_route_path(t->router, src, dst, h, t->path_buf, cap_links, &len, st);
        if (rc == SIM_OK) {
            E.lat_ps = net_path_latency_ps(t->graph, t->path_buf, len);
            E.hops = (int)len;
        }
    } else {
        size_t len = 0;
        rc = net_route_path(t->router, src, dst, h, t->path_buf, net_graph_link_count(t->graph),
                            &len, st);
        for (size_t i = 0; rc == SIM_OK && i < len; i++)
            emit(&E, t->path_buf[i], 1, 1);
    }
    if (rc != SIM_OK)
        return rc;
    info->n_uses = E.n < cap ? E.n : cap;
    info->lat_ps = E.lat_ps;
    info->rate_cap_Bps = rate_cap;
    info->hops = E.hops;
    info->hashed = E.hashed || !t->generated;
    if (E.n > cap)
        return sim_status_set(st, SIM_ERR_LIMIT, NULL, 0, 0,
                              "a route of %zu links exceeds the buffer of %zu", E.n, cap);
    return SIM_OK;
}

size_t topo_route_max_uses(const topo *t)
{
    if (!t->generated)
        return net_graph_link_count(t->graph);
    size_t worst = 0;
    for (size_t i = 0; i < t->n_sites; i++) {
        const topo_site *s = &t->sites[i];
        size_t u = 4 + s->spines_per_pod * (2 + 2 * (s->cores_per_plane ? s->cores_per_plane : 1));
        size_t su = 2;
        for (int k = 0; k < s->nd; k++)
            su += (size_t)s->dims[k];
        if (su > u)
            u = su;
        if (u > worst)
            worst = u;
    }
    return 2 * worst + t->n_sites + 8;
}
