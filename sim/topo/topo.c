/*
 * topo.c: the explicit topology form (name + graph of endpoints, switches and cables).
 *
 * Loading is a single pass over the YAML document in file order: top-level keys, then the
 * endpoints, then the switches (both become graph nodes, ids in that order), then the links,
 * each a full-duplex cable. Everything the user can get wrong is checked here, before the
 * graph sees it, so that each error names the key and points at the node that holds it; the
 * graph's own checks only guard invariants. A side table maps each node id to the YAML node
 * that defined it, for "first defined at line L" in duplicate-name messages.
 *
 * The topo owns its name and the finalized graph. The YAML document lives only while
 * loading. topo_load dispatches: a document with `graph:` is explicit, one with `chip`,
 * `chips` or `sites` is generated (gen.c and its gen_*.c). The public getters for both forms
 * live here.
 */
#include "topo/topo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"
#include "core/ydoc.h"
#include "topo/topo_int.h"

/* State of one load: the document, the topology being built, where each node was defined. */
typedef struct topo_loader {
    const ydoc *d;
    topo *t;
    SIM_VEC(ynode) defs; /* defs.v[i]: the YAML node that named node id i */
} topo_loader;

static const char *const top_keys[] = {"name",     "graph",   "chip", "routing",
                                       "failures", "storage", "power", "cost", NULL};
static const char *const graph_keys[] = {"endpoints", "switches", "links", NULL};
static const char *const link_keys[] = {"ends", "bandwidth", "latency", "kind", NULL};

/* The place of n for messages ("graph.links[2]"), in buf. */
static const char *place_of(const ydoc *d, ynode n, char *buf, size_t len)
{
    ydoc_place(d, n, buf, len);
    return buf;
}

/* Requires item (an entry of the list under key) to be a non-empty scalar: a node name. */
static sim_code expect_name(const ydoc *d, ynode item, const char *key, const char **out,
                            sim_status *st)
{
    const char *s = ydoc_scalar(d, item);
    if (!s || !s[0]) {
        char found[96];
        ydoc_describe(d, item, found, sizeof found);
        return ydoc_error(d, item, st, "key '%s': expected a node name, found %s", key, found);
    }
    *out = s;
    return SIM_OK;
}

/* Adds one graph node per entry of the list under key in graph. */
static sim_code load_nodes(topo_loader *L, ynode list, const char *key, net_node_kind kind,
                           sim_status *st)
{
    const ydoc *d = L->d;
    sim_code rc = ydoc_expect(d, list, YDOC_SEQ, key, st);
    size_t n = ydoc_seq_len(d, list);
    for (size_t i = 0; i < n && rc == SIM_OK; i++) {
        ynode item = ydoc_seq_at(d, list, i);
        const char *name = NULL;
        rc = expect_name(d, item, key, &name, st);
        if (rc != SIM_OK)
            break;
        net_node_id prev = net_graph_find(L->t->graph, name);
        if (prev >= 0) {
            rc = ydoc_error(d, item, st, "duplicate name '%s' (first defined at line %d)", name,
                            ydoc_line(d, L->defs.v[prev]));
            break;
        }
        if (sim_vec_reserve(&L->defs, L->defs.n + 1) != 0) {
            rc = sim_status_set(st, SIM_ERR_NOMEM, ydoc_file(d), 0, 0,
                                "out of memory loading a topology");
            break;
        }
        net_node_id id;
        rc = net_graph_add_node(L->t->graph, name, kind, &id, st);
        if (rc == SIM_OK)
            L->defs.v[L->defs.n++] = item;
    }
    return rc;
}

/* Resolves the two names of a link's ends into node ids. */
static sim_code load_ends(topo_loader *L, ynode link, net_node_id ends[2], sim_status *st)
{
    const ydoc *d = L->d;
    char buf[256];
    ynode v = ydoc_map_get(d, link, "ends");
    if (!v)
        return ydoc_error(d, link, st,
                          "missing key 'ends' in %s: expected a list of two node names",
                          place_of(d, link, buf, sizeof buf));
    if (ydoc_node_kind(d, v) != YDOC_SEQ) {
        ydoc_describe(d, v, buf, sizeof buf);
        return ydoc_error(d, v, st, "key 'ends': expected a list of two node names, found %s",
                          buf);
    }
    if (ydoc_seq_len(d, v) != 2)
        return ydoc_error(d, v, st,
                          "key 'ends': expected a list of two node names, found a list of %zu",
                          ydoc_seq_len(d, v));
    for (size_t i = 0; i < 2; i++) {
        ynode item = ydoc_seq_at(d, v, i);
        const char *name = NULL;
        sim_code rc = expect_name(d, item, "ends", &name, st);
        if (rc != SIM_OK)
            return rc;
        ends[i] = net_graph_find(L->t->graph, name);
        if (ends[i] < 0)
            return ydoc_error(d, item, st, "key 'ends': unknown node '%s'", name);
        if (i == 1 && ends[1] == ends[0])
            return ydoc_error(d, item, st, "key 'ends': a link from '%s' to itself", name);
    }
    return SIM_OK;
}

/* Reads the optional link kind; *kind keeps its default when the key is absent. */
static sim_code load_kind(const ydoc *d, ynode link, net_link_kind *kind, sim_status *st)
{
    const char *names[NET_LINK_KIND_COUNT + 1];
    for (int k = 0; k < NET_LINK_KIND_COUNT; k++)
        names[k] = net_link_kind_str((net_link_kind)k);
    names[NET_LINK_KIND_COUNT] = NULL;
    int k = (int)*kind;
    sim_code rc = ydoc_get_enum(d, link, "kind", 0, "link kind", names, &k, st);
    *kind = (net_link_kind)k;
    return rc;
}

/* One links entry: a full-duplex cable. */
static sim_code load_link(topo_loader *L, ynode link, sim_status *st)
{
    const ydoc *d = L->d;
    char place[256];
    net_node_id ends[2] = {-1, -1};
    double bw_Bps = 0;
    int64_t lat_ps = 0;
    net_link_kind kind = NET_LINK_GENERIC;
    sim_code rc = ydoc_check_keys(d, link, place_of(d, link, place, sizeof place), link_keys,
                                  st);
    if (rc == SIM_OK)
        rc = load_ends(L, link, ends, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bw(d, link, "bandwidth", 1, &bw_Bps, st);
    if (rc == SIM_OK)
        rc = ydoc_get_time(d, link, "latency", 1, &lat_ps, st);
    if (rc == SIM_OK)
        rc = load_kind(d, link, &kind, st);
    if (rc != SIM_OK)
        return rc;
    sim_status gst;
    sim_status_clear(&gst);
    rc = net_graph_add_cable(L->t->graph, ends[0], ends[1], bw_Bps, lat_ps, kind, NULL, &gst);
    if (rc == SIM_ERR_INPUT) /* the graph's range checks: point at the link */
        return ydoc_error(d, link, st, "%s", gst.msg);
    if (rc != SIM_OK)
        return sim_status_set(st, rc, ydoc_file(d), ydoc_line(d, link), ydoc_col(d, link), "%s",
                              gst.msg);
    return SIM_OK;
}

/* The graph mapping: nodes first, so that links can name any of them. */
static sim_code load_graph(topo_loader *L, ynode graph, sim_status *st)
{
    const ydoc *d = L->d;
    sim_code rc = ydoc_expect(d, graph, YDOC_MAP, "graph", st);
    if (rc == SIM_OK)
        rc = ydoc_check_keys(d, graph, "graph", graph_keys, st);
    if (rc != SIM_OK)
        return rc;
    ynode endpoints = ydoc_map_get(d, graph, "endpoints");
    if (!endpoints)
        return ydoc_error(d, graph, st,
                          "missing key 'endpoints' in graph: expected a list of endpoint names");
    rc = load_nodes(L, endpoints, "endpoints", NET_NODE_ENDPOINT, st);
    if (rc != SIM_OK)
        return rc;
    if (ydoc_seq_len(d, endpoints) == 0)
        return ydoc_error(d, endpoints, st,
                          "key 'endpoints': expected at least one endpoint name, found an "
                          "empty list");
    ynode switches = ydoc_map_get(d, graph, "switches");
    if (switches)
        rc = load_nodes(L, switches, "switches", NET_NODE_SWITCH, st);
    if (rc != SIM_OK)
        return rc;
    ynode links = ydoc_map_get(d, graph, "links");
    if (!links)
        return ydoc_error(d, graph, st,
                          "missing key 'links' in graph: expected a list of links such as "
                          "{ends: [a, b], bandwidth: 100 Gb/s, latency: 1 us}");
    rc = ydoc_expect(d, links, YDOC_SEQ, "links", st);
    size_t n = ydoc_seq_len(d, links);
    for (size_t i = 0; i < n && rc == SIM_OK; i++)
        rc = load_link(L, ydoc_seq_at(d, links, i), st);
    return rc;
}

/* The explicit form: name, graph, optional chip and routing. */
static sim_code load_explicit(topo_loader *L, const char *path, sim_status *st)
{
    const ydoc *d = L->d;
    ynode root = ydoc_root(d);
    int routing = TOPO_ROUTE_ECMP;
    static const char *const modes[] = {"ecmp", "spray", NULL};
    sim_code rc = ydoc_check_keys(d, root, "the document", top_keys, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, root, "routing", 0, "routing mode", modes, &routing, st);
    if (rc != SIM_OK)
        return rc;
    L->t->routing = (topo_routing)routing;
    ynode chip = ydoc_map_get(d, root, "chip");
    if (chip) {
        if (ydoc_node_kind(d, chip) != YDOC_MAP) {
            char found[96];
            ydoc_describe(d, chip, found, sizeof found);
            return ydoc_error(d, chip, st,
                              "key 'chip': expected an inline chip mapping in a graph "
                              "topology, found %s", found);
        }
        L->t->explicit_chip = malloc(sizeof *L->t->explicit_chip);
        if (!L->t->explicit_chip)
            return sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory");
        rc = hw_chip_from_node(d, chip, L->t->explicit_chip, st);
        if (rc != SIM_OK)
            return rc;
    }
    rc = load_graph(L, ydoc_map_get(d, root, "graph"), st);
    if (rc == SIM_OK)
        rc = net_graph_finalize(L->t->graph, st);
    if (rc != SIM_OK)
        return rc;
    topo *t = L->t;
    size_t nl = net_graph_link_count(t->graph);
    t->n_chips = net_graph_endpoint_count(t->graph);
    t->path_buf = malloc((nl ? nl : 1) * sizeof *t->path_buf);
    t->spray_frac = malloc((nl ? nl : 1) * sizeof *t->spray_frac);
    if (!t->path_buf || !t->spray_frac)
        return sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory");
    return net_router_create(t->graph, 0, &t->router, st);
}

sim_code topo_load(const char *path, const topo_load_opts *opts, topo **out, sim_status *st)
{
    ydoc *d = NULL;
    topo_loader L = {0};
    const char *name = NULL;
    *out = NULL;
    sim_code rc = ydoc_load_file(path, &d, st);
    if (rc == SIM_OK && opts && opts->n_overrides)
        rc = ydoc_apply(d, opts->overrides, opts->n_overrides, st);
    if (rc != SIM_OK)
        goto done;
    L.d = d;
    L.t = calloc(1, sizeof *L.t);
    if (!L.t) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory loading a topology");
        goto done;
    }
    rc = net_graph_create(&L.t->graph, st);
    if (rc != SIM_OK)
        goto done;
    ynode root = ydoc_root(d);
    rc = ydoc_expect(d, root, YDOC_MAP, NULL, st);
    if (rc == SIM_OK)
        rc = ydoc_get_str(d, root, "name", 1, &name, st);
    if (rc != SIM_OK)
        goto done;
    L.t->name = malloc(strlen(name) + 1);
    if (!L.t->name) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory loading a topology");
        goto done;
    }
    memcpy(L.t->name, name, strlen(name) + 1);
    if (ydoc_map_get(d, root, "graph")) {
        rc = load_explicit(&L, path, st);
    } else if (ydoc_map_get(d, root, "chips") || ydoc_map_get(d, root, "sites") ||
               ydoc_map_get(d, root, "chip")) {
        rc = topo_gen_load(L.t, d, path, opts, st);
        if (rc == SIM_OK)
            rc = net_graph_finalize(L.t->graph, st);
    } else {
        rc = ydoc_check_keys(d, root, "the document", top_keys, st);
        if (rc == SIM_OK)
            rc = ydoc_error(d, root, st,
                            "missing key 'graph' in the document: expected a mapping with "
                            "endpoints and links, or 'chip' and 'chips' for a generated "
                            "cluster");
    }
    if (rc == SIM_OK)
        rc = topo_fleet_load(L.t, d, st);
    if (rc == SIM_OK)
        rc = topo_facility_load(L.t, d, st);
done:
    if (rc == SIM_OK) {
        *out = L.t;
    } else {
        topo_destroy(L.t);
    }
    sim_vec_free(&L.defs);
    ydoc_destroy(d);
    return rc;
}

sim_code topo_load_file(const char *path, topo **out, sim_status *st)
{
    return topo_load(path, NULL, out, st);
}

void topo_destroy(topo *t)
{
    if (!t)
        return;
    free(t->name);
    net_router_destroy(t->router);
    free(t->explicit_chip);
    free(t->path_buf);
    free(t->spray_frac);
    topo_gen_free(t);
    net_graph_destroy(t->graph);
    free(t);
}

const char *topo_name(const topo *t) { return t->name; }
const net_graph *topo_graph(const topo *t) { return t->graph; }
int topo_is_generated(const topo *t) { return t->generated; }
size_t topo_chip_count(const topo *t) { return t->n_chips; }
size_t topo_site_count(const topo *t) { return t->generated ? t->n_sites : 1; }
topo_routing topo_get_routing(const topo *t) { return t->routing; }
void topo_set_routing(topo *t, topo_routing mode) { t->routing = mode; }

const char *topo_site_name(const topo *t, size_t site)
{
    return t->generated ? t->sites[site].name : t->name;
}

size_t topo_site_first_chip(const topo *t, size_t site)
{
    return t->generated ? t->sites[site].first_chip : 0;
}

size_t topo_site_chip_count(const topo *t, size_t site)
{
    return t->generated ? t->sites[site].chips : t->n_chips;
}

size_t topo_chip_site(const topo *t, int32_t chip)
{
    size_t s = 0;
    while (t->generated && s + 1 < t->n_sites && t->sites[s + 1].first_chip <= (size_t)chip)
        s++;
    return s;
}

int32_t topo_chip_node(const topo *t, int32_t chip)
{
    if (!t->generated)
        return chip;
    const topo_site *s = &t->sites[topo_chip_site(t, chip)];
    return (int32_t)(((size_t)chip - s->first_chip) / s->chips_per_node);
}

int32_t topo_chip_domain(const topo *t, int32_t chip)
{
    if (!t->generated)
        return -1;
    const topo_site *s = &t->sites[topo_chip_site(t, chip)];
    if (s->su_kind == TOPO_SU_NONE)
        return -1;
    return (int32_t)(s->first_domain + ((size_t)chip - s->first_chip) / s->domain_size);
}

int topo_chip_torus_coord(const topo *t, int32_t chip, int coords[3], int dims[3])
{
    if (!t->generated)
        return 0;
    const topo_site *s = &t->sites[topo_chip_site(t, chip)];
    if (s->su_kind != TOPO_SU_TORUS)
        return 0;
    size_t idx = ((size_t)chip - s->first_chip) % s->domain_size;
    for (int k = 0; k < s->nd; k++) {
        coords[k] = (int)(idx % (size_t)s->dims[k]);
        dims[k] = s->dims[k];
        idx /= (size_t)s->dims[k];
    }
    return s->nd;
}

int topo_chip_in_switch_reduction(const topo *t, int32_t chip)
{
    if (!t->generated)
        return 0;
    const topo_site *s = &t->sites[topo_chip_site(t, chip)];
    return s->su_kind == TOPO_SU_NVSWITCH && s->sharp;
}

const hw_chip *topo_chip_hw(const topo *t, int32_t chip)
{
    if (!t->generated)
        return t->explicit_chip;
    return &t->sites[topo_chip_site(t, chip)].chip;
}

int32_t topo_node_site(const topo *t, net_node_id n)
{
    if (!t->generated)
        return -1;
    for (size_t i = 0; i < t->n_sites; i++) {
        const topo_site *s = &t->sites[i];
        if (((size_t)n >= s->first_chip && (size_t)n < s->first_chip + s->chips) ||
            (n >= s->node_begin && n < s->node_end))
            return (int32_t)i;
    }
    return -1;
}

int32_t topo_link_site(const topo *t, net_link_id l)
{
    const net_link *k = net_graph_link(t->graph, l);
    if (k->kind == NET_LINK_WAN)
        return -1;
    return topo_node_site(t, k->src);
}

static void scale_chip(hw_chip *c, const topo_scale *s)
{
    c->peak_bf16_flops *= s->flops;
    c->peak_fp8_flops *= s->flops;
    c->hbm_Bps *= s->hbm_bw;
    c->scale_up_Bps *= s->scale_up_bw;
    c->nic_Bps *= s->scale_out_bw;
}

void topo_apply_scale(topo *t, const topo_scale *s)
{
    double bw[NET_LINK_KIND_COUNT];
    for (int k = 0; k < NET_LINK_KIND_COUNT; k++)
        bw[k] = s->scale_out_bw;
    bw[NET_LINK_NVLINK] = bw[NET_LINK_ICI] = s->scale_up_bw;
    bw[NET_LINK_WAN] = s->wan_bw;
    net_graph_scale_links(t->graph, bw, s->latency);
    if (t->explicit_chip)
        scale_chip(t->explicit_chip, s);
    for (size_t i = 0; t->generated && i < t->n_sites; i++) {
        topo_site *site = &t->sites[i];
        scale_chip(&site->chip, s);
        site->su_Bps *= s->scale_up_bw;
        site->nic_Bps *= s->scale_out_bw;
        site->pcie_Bps *= s->scale_out_bw;
        site->port_Bps *= s->scale_out_bw;
        site->ls_Bps *= s->scale_out_bw;
        site->sc_Bps *= s->scale_out_bw;
        site->gw_Bps *= s->scale_out_bw;
    }
    for (size_t k = 0; t->generated && k < t->n_wans; k++)
        t->wans[k].bw_Bps *= s->wan_bw;
}
