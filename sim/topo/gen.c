/*
 * gen.c: generated topologies: chips, nodes, scale-up domains, Clos fabrics, sites, WAN.
 *
 * Loading runs in three passes so that nothing is allocated for a file that is wrong or too
 * large: (1) read every site and WAN link from the document, resolving defaults and checking
 * each value where it was written; (2) derive each fabric's shape (leaves, pods, spines,
 * cores, trunk bandwidths) and check it against the switch radix; (3) count the nodes and
 * links, compare the estimated memory with the limit, and only then build the graph.
 *
 * Site keys (chip, chips, node, scale_up, fabric, gateway) may be written at the top level,
 * where they are the defaults of every site, or in a site entry, where they replace the
 * default section whole (sections are not merged key by key: what a site says is all of it).
 *
 * Fabric shape (tiers t = 1..3, NIC bandwidth b, port bandwidth P, radix k_t, down:up
 * oversubscription o_t):
 *   leaf:  d NICs down (nics_per_leaf, default the most that fit), uplink bandwidth d b / o_1
 *          split evenly over the S spines of its pod (S = spines_per_pod, default the
 *          number of uplink ports ceil(d b / (o_1 P))).
 *   spine: the L_p leaves of its pod down, uplink bandwidth L_p x trunk / o_2 split evenly
 *          over the C cores of its plane (plane j holds the cores every pod's spine j uses).
 *   core:  one trunk to spine j of every pod.
 * Parallel cables between two switches are one link of their summed bandwidth (so ECMP
 * among them is perfect); the radix check counts the ports they take. Rail-optimized fabrics
 * differ only in which leaf a NIC reaches: NIC r of a node goes to rail leaf r of its group
 * of d nodes, so each leaf holds one rail of d nodes.
 */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/path.h"
#include "core/units.h"
#include "core/ydoc.h"
#include "topo/topo_int.h"

#ifndef CLUSTERSIM_SOURCE_DIR
#define CLUSTERSIM_SOURCE_DIR "."
#endif

/* Estimated bytes per graph node and per directed link (graph arrays, name, hash slot,
 * adjacency, and the network model's per-link state at run time). */
#define EST_NODE_BYTES 96.0
#define EST_LINK_BYTES 160.0

/* Defaults, documented in README.md. */
#define DEF_RADIX 64
#define DEF_PCIE_Bps 64e9           /* PCIe 5.0 x16, per direction */
#define DEF_SU_LAT_PS 250000        /* 0.25 us per NVLink / ICI hop */
#define DEF_LINK_LAT_PS 100000      /* 0.1 us: about 20 m of fibre */
#define DEF_SWITCH_LAT_PS 500000    /* 0.5 us per switch traversal */
#define DEF_GW_LAT_PS 1000000       /* 1 us: border routers */
#define US_PER_KM 5.0               /* light in fibre */

static const char *const top_keys[] = {"name", "routing", "chip", "chips", "node", "scale_up",
                                       "fabric", "gateway", "sites", "wan", NULL};
static const char *const site_keys[] = {"name",     "chip",   "chips",   "node",
                                        "scale_up", "fabric", "gateway", NULL};
static const char *const node_keys[] = {"chips", "nics", "nic_bandwidth", "pcie_bandwidth",
                                        NULL};
static const char *const su_keys[] = {"kind", "size",   "bandwidth",      "latency",
                                      "dims", "wrap",   "link_bandwidth", "in_switch_reduction",
                                      NULL};
static const char *const fabric_keys[] = {
    "kind",   "tiers",           "radix",           "port_bandwidth", "nics_per_leaf",
    "pod",    "spines_per_pod",  "cores_per_plane", "oversubscription",
    "link_latency", "switch_latency", NULL};
static const char *const gw_keys[] = {"bandwidth", "latency", NULL};
static const char *const wan_keys[] = {"ends",   "bandwidth", "latency",    "distance",
                                       "window", "streams",   "background", NULL};
static const char *const tier_keys[] = {"leaf", "spine", "core", NULL};
static const char *const su_kinds[] = {"none", "nvswitch", "torus", NULL};
static const char *const fabric_kinds[] = {"fat-tree", "rail-optimized", NULL};

/* Where each site's values were written, for errors found after reading them. */
typedef struct site_src {
    ynode map;      /* the site entry (or the root for a single site) */
    ynode chips;    /* the `chips` value */
    ynode fabric;   /* the fabric section, 0 when none */
    ynode radix, pod, per_leaf, spines, cores; /* fabric values (0 when absent) */
    double gw_Bps;  /* from gateway.bandwidth, 0 = sum of the site's WAN links */
    int64_t gw_lat_ps;
} site_src;

typedef struct gen {
    topo *t;
    const ydoc *d;
    ynode root;
    const char *path;
    const topo_load_opts *opts;
    site_src *src;
    char place[256];
} gen;

/* ---- small helpers ---- */

/* Value of key for site: the site's own, else the top-level default, else 0. *holder gets
 * the mapping that holds it (the site when absent, so "missing key" points at the site). */
static ynode site_key(const gen *G, ynode site, const char *key, ynode *holder)
{
    ynode v = ydoc_map_get(G->d, site, key);
    *holder = site;
    if (!v && site != G->root) {
        v = ydoc_map_get(G->d, G->root, key);
        if (v)
            *holder = G->root;
    }
    return v;
}

static const char *place(gen *G, ynode n)
{
    ydoc_place(G->d, n, G->place, sizeof G->place);
    return G->place;
}


static size_t ceil_div_bw(double need_Bps, double port_Bps)
{
    /* Ports needed for a bandwidth; a relative slack absorbs rounding of ratios like 1/3. */
    return (size_t)ceil(need_Bps / port_Bps - 1e-9);
}

static sim_code nomem(gen *G, sim_status *st)
{
    return sim_status_set(st, SIM_ERR_NOMEM, G->path, 0, 0, "out of memory building a topology");
}

/* ---- chips ---- */

static int file_exists(const char *p)
{
    return access(p, R_OK) == 0;
}


/* Chip names (file stems) in dir, for did-you-mean; returns count, names malloc'ed. */
static size_t list_chips(const char *dir, char **names, size_t cap)
{
    DIR *dh = opendir(dir);
    size_t n = 0;
    if (!dh)
        return 0;
    struct dirent *e;
    while ((e = readdir(dh)) && n < cap) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".yaml")) {
            names[n] = malloc(len - 4);
            if (!names[n])
                break;
            memcpy(names[n], e->d_name, len - 5);
            names[n][len - 5] = 0;
            n++;
        }
    }
    closedir(dh);
    /* Sorted, so the suggestion does not depend on directory order. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *tmp = names[j];
            names[j] = names[j - 1];
            names[j - 1] = tmp;
        }
    return n;
}

/* The chip of a site: an inline mapping, a path to a chip file, or a bare name found in
 * the topology's chips/ folder or the shipped topologies/chips. */
static sim_code load_chip(gen *G, ynode site, hw_chip *chip, sim_status *st)
{
    ynode holder;
    ynode v = site_key(G, site, "chip", &holder);
    if (!v)
        return ydoc_error(G->d, site, st,
                          "missing key 'chip' in %s: expected a chip name such as 'h100-sxm', "
                          "a chip file or an inline chip mapping",
                          place(G, site));
    if (ydoc_node_kind(G->d, v) == YDOC_MAP)
        return hw_chip_from_node(G->d, v, chip, st);
    const char *s = ydoc_scalar(G->d, v);
    if (!s || !s[0]) {
        char found[96];
        ydoc_describe(G->d, v, found, sizeof found);
        return ydoc_error(G->d, v, st,
                          "key 'chip': expected a chip name, a chip file or a mapping, found %s",
                          found);
    }
    char dir[1024], file[2048];
    sim_path_dir(G->path, dir, sizeof dir);
    size_t len = strlen(s);
    int is_path = strchr(s, '/') || (len > 5 && !strcmp(s + len - 5, ".yaml"));
    if (is_path) {
        if (s[0] == '/')
            snprintf(file, sizeof file, "%s", s);
        else
            snprintf(file, sizeof file, "%s/%s", dir, s);
        if (!file_exists(file))
            return ydoc_error(G->d, v, st, "key 'chip': cannot read chip file '%s'", file);
        return hw_chip_load_file(file, chip, st);
    }
    const char *shipped = G->opts && G->opts->chips_dir
                              ? G->opts->chips_dir
                              : CLUSTERSIM_SOURCE_DIR "/topologies/chips";
    snprintf(file, sizeof file, "%s/chips/%s.yaml", dir, s);
    if (file_exists(file))
        return hw_chip_load_file(file, chip, st);
    snprintf(file, sizeof file, "%s/%s.yaml", shipped, s);
    if (file_exists(file))
        return hw_chip_load_file(file, chip, st);
    char *names[128];
    size_t n = list_chips(shipped, names, 127);
    names[n] = NULL;
    const char *hint = ydoc_suggest(s, (const char *const *)names);
    char list[1024];
    ydoc_join_words((const char *const *)names, list, sizeof list);
    sim_code rc;
    if (hint)
        rc = ydoc_error(G->d, v, st, "key 'chip': unknown chip '%s' (did you mean '%s'?); "
                        "expected one of: %s, or a path to a chip file", s, hint, list);
    else
        rc = ydoc_error(G->d, v, st, "key 'chip': unknown chip '%s'; expected one of: %s, or a "
                        "path to a chip file", s, list);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

/* ---- per-site sections ---- */

/* A section (mapping) of a site, or 0 when absent. */
static sim_code section(gen *G, ynode site, const char *key, const char *const *keys,
                        ynode *out, sim_status *st)
{
    ynode holder;
    *out = site_key(G, site, key, &holder);
    if (!*out)
        return SIM_OK;
    sim_code rc = ydoc_expect(G->d, *out, YDOC_MAP, key, st);
    if (rc == SIM_OK)
        rc = ydoc_check_keys(G->d, *out, place(G, *out), keys, st);
    return rc;
}

static sim_code load_node(gen *G, ynode site, topo_site *s, sim_status *st)
{
    ynode n;
    sim_code rc = section(G, site, "node", node_keys, &n, st);
    if (rc != SIM_OK)
        return rc;
    if (!n)
        return ydoc_error(G->d, site, st,
                          "missing key 'node' in %s: expected a mapping such as {chips: 8}",
                          place(G, site));
    int64_t cpn = 0, nics = 0;
    rc = ydoc_get_int(G->d, n, "chips", 1, 1, 4096, &cpn, st);
    nics = cpn;
    if (rc == SIM_OK)
        rc = ydoc_get_int(G->d, n, "nics", 0, 0, 4096, &nics, st);
    s->nic_Bps = s->chip.nic_Bps;
    s->pcie_Bps = DEF_PCIE_Bps;
    if (rc == SIM_OK)
        rc = ydoc_get_bw(G->d, n, "nic_bandwidth", 0, &s->nic_Bps, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bw(G->d, n, "pcie_bandwidth", 0, &s->pcie_Bps, st);
    if (rc != SIM_OK)
        return rc;
    if (nics > 0 && cpn % nics != 0)
        return ydoc_error(G->d, ydoc_map_get(G->d, n, "nics"), st,
                          "key 'nics': expected a divisor of the node's %lld chips (NICs are "
                          "shared evenly; give one NIC of the summed bandwidth per chip "
                          "instead of several), found %lld",
                          (long long)cpn, (long long)nics);
    s->chips_per_node = (size_t)cpn;
    s->nics_per_node = (size_t)nics;
    s->shared_nics = nics > 0 && nics < cpn;
    return SIM_OK;
}

static sim_code load_dims(gen *G, ynode su, topo_site *s, sim_status *st)
{
    ynode v = ydoc_map_get(G->d, su, "dims");
    char found[96];
    if (!v)
        return ydoc_error(G->d, su, st,
                          "missing key 'dims' in %s: expected the torus shape, such as "
                          "[16, 16, 16]", place(G, su));
    size_t n = ydoc_seq_len(G->d, v);
    if (ydoc_node_kind(G->d, v) != YDOC_SEQ || n < 1 || n > TOPO_TORUS_MAX_DIMS) {
        ydoc_describe(G->d, v, found, sizeof found);
        return ydoc_error(G->d, v, st,
                          "key 'dims': expected a list of 1 to 3 sizes, such as [16, 16, 16], "
                          "found %s", found);
    }
    s->nd = (int)n;
    for (size_t i = 0; i < n; i++) {
        ynode item = ydoc_seq_at(G->d, v, i);
        const char *txt = ydoc_scalar(G->d, item);
        char *end = NULL;
        long val = txt ? strtol(txt, &end, 10) : 0;
        if (!txt || !txt[0] || *end || val < 1 || val > 65536) {
            ydoc_describe(G->d, item, found, sizeof found);
            return ydoc_error(G->d, item, st,
                              "key 'dims': expected a size from 1 to 65536, found %s", found);
        }
        s->dims[i] = (int)val;
    }
    return SIM_OK;
}

static sim_code load_scale_up(gen *G, ynode site, topo_site *s, sim_status *st)
{
    ynode su;
    sim_code rc = section(G, site, "scale_up", su_keys, &su, st);
    if (rc != SIM_OK)
        return rc;
    s->su_kind = TOPO_SU_NONE;
    s->domain_size = 1;
    if (!su)
        return SIM_OK;
    int kind = TOPO_SU_NVSWITCH;
    rc = ydoc_get_enum(G->d, su, "kind", 1, "scale-up kind", su_kinds, &kind, st);
    if (rc != SIM_OK)
        return rc;
    s->su_kind = kind;
    s->su_lat_ps = DEF_SU_LAT_PS;
    rc = ydoc_get_time(G->d, su, "latency", 0, &s->su_lat_ps, st);
    if (rc != SIM_OK)
        return rc;
    static const char *const nvsw_only[] = {"size", "bandwidth", "in_switch_reduction", NULL};
    static const char *const torus_only[] = {"dims", "wrap", "link_bandwidth", NULL};
    const char *const *wrong = kind == TOPO_SU_NVSWITCH ? torus_only
                               : kind == TOPO_SU_TORUS  ? nvsw_only
                                                        : NULL;
    for (size_t i = 0; kind == TOPO_SU_NONE && su_keys[i]; i++)
        if (strcmp(su_keys[i], "kind") && ydoc_map_get(G->d, su, su_keys[i]))
            return ydoc_error(G->d, ydoc_map_get(G->d, su, su_keys[i]), st,
                              "key '%s': not used by scale-up kind 'none'", su_keys[i]);
    for (size_t i = 0; wrong && wrong[i]; i++)
        if (ydoc_map_get(G->d, su, wrong[i]))
            return ydoc_error(G->d, ydoc_map_get(G->d, su, wrong[i]), st,
                              "key '%s': not used by scale-up kind '%s'", wrong[i],
                              su_kinds[kind]);
    if (kind == TOPO_SU_NVSWITCH) {
        int64_t size = (int64_t)s->chips_per_node;
        s->su_Bps = s->chip.scale_up_Bps;
        rc = ydoc_get_int(G->d, su, "size", 0, 2, 1 << 20, &size, st);
        if (rc == SIM_OK)
            rc = ydoc_get_bw(G->d, su, "bandwidth", 0, &s->su_Bps, st);
        if (rc == SIM_OK)
            rc = ydoc_get_bool(G->d, su, "in_switch_reduction", 0, &s->sharp, st);
        if (rc != SIM_OK)
            return rc;
        if (size % (int64_t)s->chips_per_node != 0) {
            ynode at = ydoc_map_get(G->d, su, "size");
            return ydoc_error(G->d, at ? at : su, st,
                              "key 'size': an NVSwitch domain of %lld chips cannot hold whole "
                              "nodes of %zu chips",
                              (long long)size, s->chips_per_node);
        }
        s->domain_size = (size_t)size;
    } else if (kind == TOPO_SU_TORUS) {
        int wrap = 1;
        rc = load_dims(G, su, s, st);
        if (rc == SIM_OK)
            rc = ydoc_get_bool(G->d, su, "wrap", 0, &wrap, st);
        if (rc != SIM_OK)
            return rc;
        s->wrap = wrap;
        size_t size = 1;
        int links_per_chip = 0;
        for (int i = 0; i < s->nd; i++) {
            size *= (size_t)s->dims[i];
            links_per_chip += s->dims[i] > 1 ? 2 : 0;
        }
        s->su_Bps = s->chip.scale_up_Bps / (links_per_chip ? links_per_chip : 1);
        rc = ydoc_get_bw(G->d, su, "link_bandwidth", 0, &s->su_Bps, st);
        if (rc != SIM_OK)
            return rc;
        if (size % s->chips_per_node != 0) {
            char shape[64];
            snprintf(shape, sizeof shape, "%d", s->dims[0]);
            for (int i = 1; i < s->nd; i++)
                snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "x%d", s->dims[i]);
            return ydoc_error(G->d, ydoc_map_get(G->d, su, "dims"), st,
                              "key 'dims': a %s torus (%zu chips) cannot hold whole nodes of "
                              "%zu chips", shape, size, s->chips_per_node);
        }
        s->domain_size = size;
    }
    return SIM_OK;
}

/* radix: a number for every tier, or {leaf, spine, core}. */
static sim_code load_radix(gen *G, ynode fab, topo_site *s, sim_status *st)
{
    ynode v = ydoc_map_get(G->d, fab, "radix");
    for (int i = 0; i < TOPO_MAX_TIERS; i++)
        s->radix[i] = DEF_RADIX;
    if (!v)
        return SIM_OK;
    int64_t r = DEF_RADIX;
    if (ydoc_node_kind(G->d, v) != YDOC_MAP) {
        sim_code rc = ydoc_get_int(G->d, fab, "radix", 0, 2, 1 << 20, &r, st);
        for (int i = 0; i < TOPO_MAX_TIERS; i++)
            s->radix[i] = (int)r;
        return rc;
    }
    sim_code rc = ydoc_check_keys(G->d, v, "fabric.radix", tier_keys, st);
    for (int i = 0; i < TOPO_MAX_TIERS && rc == SIM_OK; i++) {
        r = DEF_RADIX;
        rc = ydoc_get_int(G->d, v, tier_keys[i], 0, 2, 1 << 20, &r, st);
        s->radix[i] = (int)r;
    }
    return rc;
}

/* oversubscription: a ratio for the leaf tier, or {leaf, spine}; each >= 1. */
static sim_code load_oversub(gen *G, ynode fab, topo_site *s, sim_status *st)
{
    static const char *const os_keys[] = {"leaf", "spine", NULL};
    ynode v = ydoc_map_get(G->d, fab, "oversubscription");
    for (int i = 0; i < TOPO_MAX_TIERS; i++)
        s->oversub[i] = 1;
    if (!v)
        return SIM_OK;
    ynode map = fab;
    const char *const *keys = (const char *const[]){"oversubscription", NULL};
    if (ydoc_node_kind(G->d, v) == YDOC_MAP) {
        sim_code rc = ydoc_check_keys(G->d, v, "fabric.oversubscription", os_keys, st);
        if (rc != SIM_OK)
            return rc;
        map = v;
        keys = os_keys;
    }
    for (int i = 0; keys[i]; i++) {
        ynode at = ydoc_map_get(G->d, map, keys[i]);
        if (!at)
            continue;
        double r = 1;
        sim_code rc = ydoc_get_double(G->d, map, keys[i], 0, &r, st);
        if (rc != SIM_OK)
            return rc;
        if (!(r >= 1) || r > 1e6) {
            char found[96];
            ydoc_describe(G->d, at, found, sizeof found);
            return ydoc_error(G->d, at, st,
                              "key '%s': expected a down:up bandwidth ratio from 1 to 1e6 "
                              "(1 is full bisection, 7 is 1:7), found %s", keys[i], found);
        }
        s->oversub[i] = r;
    }
    return SIM_OK;
}

static sim_code load_fabric(gen *G, ynode site, topo_site *s, site_src *src, sim_status *st)
{
    ynode fab;
    sim_code rc = section(G, site, "fabric", fabric_keys, &fab, st);
    src->fabric = fab;
    s->tiers = 0;
    if (rc != SIM_OK || !fab)
        return rc;
    int kind = TOPO_FAB_FAT_TREE;
    int64_t tiers = 2;
    rc = ydoc_get_enum(G->d, fab, "kind", 0, "fabric kind", fabric_kinds, &kind, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(G->d, fab, "tiers", 0, 1, 3, &tiers, st);
    if (rc == SIM_OK)
        rc = load_radix(G, fab, s, st);
    if (rc == SIM_OK)
        rc = load_oversub(G, fab, s, st);
    s->port_Bps = s->nic_Bps;
    s->link_lat_ps = DEF_LINK_LAT_PS;
    s->switch_lat_ps = DEF_SWITCH_LAT_PS;
    if (rc == SIM_OK)
        rc = ydoc_get_bw(G->d, fab, "port_bandwidth", 0, &s->port_Bps, st);
    if (rc == SIM_OK)
        rc = ydoc_get_time(G->d, fab, "link_latency", 0, &s->link_lat_ps, st);
    if (rc == SIM_OK)
        rc = ydoc_get_time(G->d, fab, "switch_latency", 0, &s->switch_lat_ps, st);
    int64_t per_leaf = 0, pod = 0, spines = 0, cores = 0;
    if (rc == SIM_OK)
        rc = ydoc_get_int(G->d, fab, "nics_per_leaf", 0, 1, 1 << 20, &per_leaf, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(G->d, fab, "pod", 0, 1, INT32_MAX, &pod, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(G->d, fab, "spines_per_pod", 0, 1, 1 << 20, &spines, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(G->d, fab, "cores_per_plane", 0, 1, 1 << 20, &cores, st);
    if (rc != SIM_OK)
        return rc;
    s->fabric_kind = kind;
    s->tiers = (int)tiers;
    s->per_leaf = (size_t)per_leaf;
    s->leaves_per_pod = (size_t)pod; /* NICs per pod for now; shape() turns it into leaves */
    s->spines_per_pod = (size_t)spines;
    s->cores_per_plane = (size_t)cores;
    src->radix = ydoc_map_get(G->d, fab, "radix");
    src->pod = ydoc_map_get(G->d, fab, "pod");
    src->per_leaf = ydoc_map_get(G->d, fab, "nics_per_leaf");
    src->spines = ydoc_map_get(G->d, fab, "spines_per_pod");
    src->cores = ydoc_map_get(G->d, fab, "cores_per_plane");
    if (s->nics_per_node == 0)
        return ydoc_error(G->d, fab, st,
                          "%s: a scale-out fabric needs NICs, but node.nics is 0", place(G, fab));
    static const char *const one_tier[] = {"spines_per_pod", "pod", "cores_per_plane", NULL};
    static const char *const two_tier[] = {"pod", "cores_per_plane", NULL};
    const char *const *unused = tiers == 1 ? one_tier : tiers == 2 ? two_tier : NULL;
    for (size_t i = 0; unused && unused[i]; i++)
        if (ydoc_map_get(G->d, fab, unused[i]))
            return ydoc_error(G->d, ydoc_map_get(G->d, fab, unused[i]), st,
                              "key '%s': not used by a fabric of %lld tier%s", unused[i],
                              (long long)tiers, tiers > 1 ? "s" : "");
    if (tiers < 3 && s->oversub[1] != 1)
        return ydoc_error(G->d, ydoc_map_get(G->d, fab, "oversubscription"), st,
                          "key 'spine': a fabric of %lld tier%s has no spine uplinks to "
                          "oversubscribe", (long long)tiers, tiers > 1 ? "s" : "");
    if (tiers == 1 && s->oversub[0] != 1)
        return ydoc_error(G->d, ydoc_map_get(G->d, fab, "oversubscription"), st,
                          "key 'oversubscription': a fabric of 1 tier has no uplinks to "
                          "oversubscribe");
    return SIM_OK;
}

/* The radix error, naming the tier and what would be needed. */
static sim_code radix_error(gen *G, const site_src *src, topo_site *s, int tier, size_t need,
                            const char *what, sim_status *st)
{
    char a[32], b[32];
    ynode at = src->radix ? src->radix : src->fabric;
    return ydoc_error(G->d, at, st,
                      "key 'radix': %s switches of radix %d are too small for this site: %s "
                      "needs %s ports (%s chips, %s NICs)",
                      topo_tier_str(tier), s->radix[tier], what, sim_units_fmt_count((double)need, a, 16),
                      sim_units_fmt_count((double)s->chips, b, sizeof b),
                      sim_units_fmt_count((double)s->nics, a + 16, sizeof a - 16));
}

/* Derives leaves, pods, spines, cores and trunk bandwidths; checks them against the radix.
 * Formulas in the file comment. */
static sim_code shape(gen *G, const site_src *src, topo_site *s, sim_status *st)
{
    const double b = s->nic_Bps, P = s->port_Bps;
    const size_t nics = s->nics;
    char n1[32], n2[32];
    if (s->tiers == 1) {
        s->per_leaf = s->per_leaf ? s->per_leaf : nics;
        if (s->per_leaf != nics)
            return ydoc_error(G->d, src->per_leaf, st,
                              "key 'nics_per_leaf': a fabric of 1 tier is one switch holding "
                              "all %s NICs, found %zu", sim_units_fmt_count((double)nics, n1, sizeof n1),
                              s->per_leaf);
        size_t ports = nics * ceil_div_bw(b, P);
        if (ports > (size_t)s->radix[0])
            return radix_error(G, src, s, 0, ports, "one switch for all NICs", st);
        s->leaves = 1;
        s->leaves_per_pod = 1;
        s->pods = 1;
        s->n_top = 1;
        return SIM_OK;
    }
    size_t nic_ports = ceil_div_bw(b, P);
    size_t d = s->per_leaf;
    size_t rails = s->fabric_kind == TOPO_FAB_RAIL ? s->nics_per_node : 1;
    if (!d) /* the most NICs that fit beside their uplinks and divide the site evenly */
        for (size_t c = (size_t)s->radix[0]; c >= 1 && !d; c--)
            if (c * nic_ports + ceil_div_bw((double)c * b / s->oversub[0], P) <=
                    (size_t)s->radix[0] &&
                nics % (c * rails) == 0)
                d = c;
    if (!d)
        d = 1;
    size_t up_ports = ceil_div_bw((double)d * b / s->oversub[0], P);
    /* Every trunk to a distinct spine takes at least one whole port. */
    size_t S0 = s->spines_per_pod ? s->spines_per_pod : up_ports;
    size_t leaf_up = S0 * ceil_div_bw((double)d * b / s->oversub[0] / (double)S0, P);
    if (s->tiers >= 2 && d * nic_ports + leaf_up > (size_t)s->radix[0]) {
        char what[96];
        snprintf(what, sizeof what, "%zu NICs with their uplinks to %zu spines", d, S0);
        return radix_error(G, src, s, 0, d * nic_ports + leaf_up, what, st);
    }
    if (nics % (d * rails) != 0) {
        ynode at = src->per_leaf ? src->per_leaf : src->fabric;
        if (s->fabric_kind == TOPO_FAB_RAIL)
            return ydoc_error(G->d, at, st,
                              "key 'nics_per_leaf': a rail-optimized leaf holds one rail of "
                              "%zu nodes, which does not divide the site's %s nodes", d,
                              sim_units_fmt_count((double)s->nodes, n1, sizeof n1));
        return ydoc_error(G->d, at, st,
                          "key 'nics_per_leaf': %zu NICs per leaf does not divide the site's %s "
                          "NICs", d, sim_units_fmt_count((double)nics, n1, sizeof n1));
    }
    s->per_leaf = d;
    s->leaves = nics / d;
    size_t S = s->spines_per_pod ? s->spines_per_pod : up_ports;
    s->spines_per_pod = S;
    s->ls_Bps = (double)d * b / s->oversub[0] / (double)S;
    size_t ptl = ceil_div_bw(s->ls_Bps, P);
    size_t leaf_unit = s->fabric_kind == TOPO_FAB_RAIL ? s->nics_per_node : 1;
    if (s->tiers == 2) {
        s->leaves_per_pod = s->leaves;
        s->pods = 1;
        s->n_top = S;
        if (s->leaves * ptl > (size_t)s->radix[1]) {
            char what[96];
            snprintf(what, sizeof what, "reaching its %s leaves in 2 tiers",
                     sim_units_fmt_count((double)s->leaves, n1, sizeof n1));
            return radix_error(G, src, s, 1, s->leaves * ptl, what, st);
        }
        return SIM_OK;
    }
    /* Three tiers: pods of L_p leaves. */
    size_t Lp = 0;
    if (s->leaves_per_pod) {
        size_t pod = s->leaves_per_pod;
        if (pod % (d * leaf_unit) != 0 || nics % pod != 0)
            return ydoc_error(G->d, src->pod, st,
                              "key 'pod': a pod of %s NICs must be a multiple of %zu (the NICs "
                              "of %s) and divide the site's %s NICs",
                              sim_units_fmt_count((double)pod, n1, sizeof n1), d * leaf_unit,
                              leaf_unit > 1 ? "one rail group" : "one leaf",
                              sim_units_fmt_count((double)nics, n2, sizeof n2));
        Lp = pod / d;
    } else {
        for (size_t c = (size_t)s->radix[1] / (ptl ? ptl : 1); c >= 1 && !Lp; c--)
            if (c * ptl + ceil_div_bw((double)c * s->ls_Bps / s->oversub[1], P) <=
                    (size_t)s->radix[1] &&
                s->leaves % c == 0 && c % leaf_unit == 0)
                Lp = c;
        if (!Lp)
            Lp = leaf_unit;
    }
    size_t up2 = ceil_div_bw((double)Lp * s->ls_Bps / s->oversub[1], P);
    if (Lp * ptl + up2 > (size_t)s->radix[1]) {
        char what[96];
        snprintf(what, sizeof what, "a pod of %zu leaves with its uplinks", Lp);
        return radix_error(G, src, s, 1, Lp * ptl + up2, what, st);
    }
    s->leaves_per_pod = Lp;
    s->pods = s->leaves / Lp;
    double spine_up = (double)Lp * s->ls_Bps / s->oversub[1];
    size_t C = s->cores_per_plane;
    if (!C) { /* the fewest cores that fit, preferring an even split of the uplinks */
        size_t lo = (s->pods * up2 + (size_t)s->radix[2] - 1) / (size_t)s->radix[2];
        for (size_t c = lo ? lo : 1; c <= up2 && !C; c++)
            if (up2 % c == 0 && s->pods * ceil_div_bw(spine_up / (double)c, P) <=
                                    (size_t)s->radix[2])
                C = c;
        for (size_t c = lo ? lo : 1; c <= up2 && !C; c++)
            if (s->pods * ceil_div_bw(spine_up / (double)c, P) <= (size_t)s->radix[2])
                C = c;
        if (!C)
            C = up2;
    }
    s->cores_per_plane = C;
    s->sc_Bps = spine_up / (double)C;
    size_t spine_ports = Lp * ptl + C * ceil_div_bw(s->sc_Bps, P);
    if (spine_ports > (size_t)s->radix[1]) {
        char what[96];
        snprintf(what, sizeof what, "a pod of %zu leaves with uplinks to %zu cores", Lp, C);
        return radix_error(G, src, s, 1, spine_ports, what, st);
    }
    size_t core_ports = s->pods * ceil_div_bw(s->sc_Bps, P);
    if (core_ports > (size_t)s->radix[2]) {
        char what[96];
        snprintf(what, sizeof what, "reaching %zu pods", s->pods);
        return radix_error(G, src, s, 2, core_ports, what, st);
    }
    s->n_top = S * C;
    return SIM_OK;
}

static sim_code load_site(gen *G, ynode site, topo_site *s, site_src *src, sim_status *st)
{
    sim_code rc = load_chip(G, site, &s->chip, st);
    ynode holder;
    int64_t chips = 0;
    if (rc != SIM_OK)
        return rc;
    src->map = site;
    src->chips = site_key(G, site, "chips", &holder);
    rc = ydoc_get_int(G->d, holder, "chips", 1, 1, INT32_MAX, &chips, st);
    if (rc == SIM_OK)
        rc = load_node(G, site, s, st);
    if (rc == SIM_OK)
        rc = load_scale_up(G, site, s, st);
    if (rc == SIM_OK)
        rc = load_fabric(G, site, s, src, st);
    if (rc != SIM_OK)
        return rc;
    s->chips = (size_t)chips;
    char n1[32], n2[32];
    size_t unit = s->domain_size > s->chips_per_node ? s->domain_size : s->chips_per_node;
    if (s->chips % unit != 0)
        return ydoc_error(G->d, src->chips, st,
                          "key 'chips': %s chips do not tile into %s of %s chips",
                          sim_units_fmt_count((double)s->chips, n1, sizeof n1),
                          s->su_kind == TOPO_SU_TORUS    ? "tori"
                          : s->su_kind == TOPO_SU_NVSWITCH ? "NVSwitch domains"
                                                           : "nodes",
                          sim_units_fmt_count((double)unit, n2, sizeof n2));
    s->nodes = s->chips / s->chips_per_node;
    s->domains = s->su_kind == TOPO_SU_NONE ? 0 : s->chips / s->domain_size;
    s->nics = s->nodes * s->nics_per_node;
    size_t islands = s->su_kind == TOPO_SU_NONE ? s->chips : s->domains;
    if (s->tiers == 0 && islands > 1)
        return ydoc_error(G->d, src->map, st,
                          "%s: %s chips in %s separate %s need a scale-out fabric to reach "
                          "each other; add a 'fabric' section",
                          place(G, src->map), sim_units_fmt_count((double)s->chips, n1, sizeof n1),
                          sim_units_fmt_count((double)islands, n2, sizeof n2),
                          s->su_kind == TOPO_SU_NONE ? "nodes" : "scale-up domains");
    src->gw_lat_ps = DEF_GW_LAT_PS;
    ynode gw;
    rc = section(G, site, "gateway", gw_keys, &gw, st);
    if (rc == SIM_OK && gw)
        rc = ydoc_get_bw(G->d, gw, "bandwidth", 0, &src->gw_Bps, st);
    if (rc == SIM_OK && gw)
        rc = ydoc_get_time(G->d, gw, "latency", 0, &src->gw_lat_ps, st);
    if (rc == SIM_OK && s->tiers)
        rc = shape(G, src, s, st);
    return rc;
}

/* ---- sites and WAN ---- */

static sim_code load_sites(gen *G, sim_status *st)
{
    topo *t = G->t;
    ynode list = ydoc_map_get(G->d, G->root, "sites");
    size_t n = 1;
    if (list) {
        sim_code rc = ydoc_expect(G->d, list, YDOC_SEQ, "sites", st);
        if (rc != SIM_OK)
            return rc;
        n = ydoc_seq_len(G->d, list);
        if (n == 0)
            return ydoc_error(G->d, list, st,
                              "key 'sites': expected at least one site, found an empty list");
    }
    t->sites = calloc(n, sizeof *t->sites);
    G->src = calloc(n, sizeof *G->src);
    if (!t->sites || !G->src)
        return nomem(G, st);
    t->n_sites = n;
    size_t first = 0, first_domain = 0;
    for (size_t i = 0; i < n; i++) {
        topo_site *s = &t->sites[i];
        ynode site = G->root;
        const char *name = "dc0";
        if (list) {
            site = ydoc_seq_at(G->d, list, i);
            sim_code rc = ydoc_expect(G->d, site, YDOC_MAP, NULL, st);
            if (rc == SIM_OK)
                rc = ydoc_check_keys(G->d, site, place(G, site), site_keys, st);
            if (rc == SIM_OK)
                rc = ydoc_get_str(G->d, site, "name", 1, &name, st);
            if (rc != SIM_OK)
                return rc;
            if (strlen(name) >= TOPO_SITE_NAME_MAX || strchr(name, '/'))
                return ydoc_error(G->d, ydoc_map_get(G->d, site, "name"), st,
                                  "key 'name': expected a site name of at most %d characters "
                                  "without '/', found '%s'", TOPO_SITE_NAME_MAX - 1, name);
            for (size_t j = 0; j < i; j++)
                if (!strcmp(t->sites[j].name, name))
                    return ydoc_error(G->d, ydoc_map_get(G->d, site, "name"), st,
                                      "key 'name': duplicate site '%s' (first defined at line "
                                      "%d)", name, ydoc_line(G->d, G->src[j].map));
        }
        snprintf(s->name, sizeof s->name, "%s", name);
        s->gw_node = -1;
        sim_code rc = load_site(G, site, s, &G->src[i], st);
        if (rc != SIM_OK)
            return rc;
        s->first_chip = first;
        s->first_domain = first_domain;
        first += s->chips;
        first_domain += s->domains;
        if (first > INT32_MAX)
            return sim_status_set(st, SIM_ERR_LIMIT, G->path, ydoc_line(G->d, G->src[i].chips),
                                  ydoc_col(G->d, G->src[i].chips),
                                  "key 'chips': more than %d chips in all", INT32_MAX);
    }
    t->n_chips = first;
    return SIM_OK;
}

static sim_code load_wan_ends(gen *G, ynode link, size_t ends[2], sim_status *st)
{
    topo *t = G->t;
    ynode v = ydoc_map_get(G->d, link, "ends");
    char found[96];
    if (!v)
        return ydoc_error(G->d, link, st, "missing key 'ends' in %s: expected two site names",
                          place(G, link));
    if (ydoc_node_kind(G->d, v) != YDOC_SEQ || ydoc_seq_len(G->d, v) != 2) {
        ydoc_describe(G->d, v, found, sizeof found);
        return ydoc_error(G->d, v, st, "key 'ends': expected a list of two site names, found %s",
                          found);
    }
    const char *names[65];
    size_t nn = t->n_sites < 64 ? t->n_sites : 64;
    for (size_t i = 0; i < nn; i++)
        names[i] = t->sites[i].name;
    names[nn] = NULL;
    for (size_t k = 0; k < 2; k++) {
        ynode item = ydoc_seq_at(G->d, v, k);
        const char *s = ydoc_scalar(G->d, item);
        size_t i = 0;
        while (s && i < t->n_sites && strcmp(t->sites[i].name, s))
            i++;
        if (!s || i == t->n_sites) {
            ydoc_describe(G->d, item, found, sizeof found);
            const char *hint = s ? ydoc_suggest(s, names) : NULL;
            char list[512];
            ydoc_join_words(names, list, sizeof list);
            if (hint)
                return ydoc_error(G->d, item, st,
                                  "key 'ends': unknown site %s (did you mean '%s'?); expected "
                                  "one of: %s", found, hint, list);
            return ydoc_error(G->d, item, st,
                              "key 'ends': unknown site %s; expected one of: %s", found, list);
        }
        ends[k] = i;
        if (k == 1 && ends[0] == ends[1])
            return ydoc_error(G->d, item, st, "key 'ends': a WAN link from site '%s' to itself",
                              s);
        if (t->sites[i].tiers == 0)
            return ydoc_error(G->d, item, st,
                              "key 'ends': site '%s' has no scale-out fabric to reach its "
                              "gateway; add a 'fabric' section to it", s);
    }
    return SIM_OK;
}

static sim_code load_wan(gen *G, sim_status *st)
{
    topo *t = G->t;
    ynode list = ydoc_map_get(G->d, G->root, "wan");
    if (!list) {
        if (t->n_sites > 1)
            return ydoc_error(G->d, G->root, st,
                              "missing key 'wan' in the document: %zu sites need WAN links "
                              "such as {ends: [a, b], bandwidth: 10 Tb/s, latency: 20 ms}",
                              t->n_sites);
        return SIM_OK;
    }
    sim_code rc = ydoc_expect(G->d, list, YDOC_SEQ, "wan", st);
    if (rc != SIM_OK)
        return rc;
    size_t n = ydoc_seq_len(G->d, list);
    t->wans = calloc(n ? n : 1, sizeof *t->wans);
    if (!t->wans)
        return nomem(G, st);
    t->n_wans = n;
    for (size_t i = 0; i < n; i++) {
        ynode link = ydoc_seq_at(G->d, list, i);
        topo_wan *w = &t->wans[i];
        size_t ends[2];
        rc = ydoc_expect(G->d, link, YDOC_MAP, NULL, st);
        if (rc == SIM_OK)
            rc = ydoc_check_keys(G->d, link, place(G, link), wan_keys, st);
        if (rc == SIM_OK)
            rc = load_wan_ends(G, link, ends, st);
        if (rc == SIM_OK)
            rc = ydoc_get_bw(G->d, link, "bandwidth", 1, &w->bw_Bps, st);
        if (rc != SIM_OK)
            return rc;
        for (size_t j = 0; j < i; j++)
            if ((t->wans[j].a == ends[0] && t->wans[j].b == ends[1]) ||
                (t->wans[j].a == ends[1] && t->wans[j].b == ends[0]))
                return ydoc_error(G->d, ydoc_map_get(G->d, link, "ends"), st,
                                  "key 'ends': a second WAN link between '%s' and '%s' (give "
                                  "one link their summed bandwidth)",
                                  t->sites[ends[0]].name, t->sites[ends[1]].name);
        w->a = ends[0];
        w->b = ends[1];
        ynode lat = ydoc_map_get(G->d, link, "latency"), dist = ydoc_map_get(G->d, link,
                                                                             "distance");
        if (lat && dist)
            return ydoc_error(G->d, dist, st,
                              "key 'distance': give either 'latency' or 'distance' (at %g us "
                              "per km), not both", US_PER_KM);
        if (!lat && !dist)
            return ydoc_error(G->d, link, st,
                              "missing key 'latency' in %s: expected a time such as '20 ms', or "
                              "a 'distance' such as '3000 km'", place(G, link));
        if (lat) {
            rc = ydoc_get_time(G->d, link, "latency", 1, &w->lat_ps, st);
        } else {
            double m = 0;
            rc = ydoc_get_length(G->d, link, "distance", 1, &m, st);
            w->lat_ps = (int64_t)llround(m / 1000.0 * US_PER_KM * 1e6);
        }
        w->streams = 1;
        if (rc == SIM_OK)
            rc = ydoc_get_bytes(G->d, link, "window", 0, &w->window_bytes, st);
        if (rc == SIM_OK)
            rc = ydoc_get_int(G->d, link, "streams", 0, 1, 1 << 20, &w->streams, st);
        if (rc != SIM_OK)
            return rc;
        double bg = 0;
        if (rc == SIM_OK)
            rc = ydoc_get_double(G->d, link, "background", 0, &bg, st);
        if (rc != SIM_OK)
            return rc;
        if (!(bg >= 0 && bg < 1)) {
            char found[96];
            ydoc_describe(G->d, ydoc_map_get(G->d, link, "background"), found, sizeof found);
            return ydoc_error(G->d, ydoc_map_get(G->d, link, "background"), st,
                              "key 'background': expected the fraction of the link other "
                              "traffic uses, from 0 to below 1, found %s", found);
        }
        /* A steady background load takes its share of the capacity off the top. */
        w->bw_Bps *= 1 - bg;
        if (ydoc_map_get(G->d, link, "window") && w->window_bytes <= 0)
            return ydoc_error(G->d, ydoc_map_get(G->d, link, "window"), st,
                              "key 'window': expected a positive size such as '64 MiB', found "
                              "'%s'", ydoc_scalar(G->d, ydoc_map_get(G->d, link, "window")));
    }
    return SIM_OK;
}

/* Site-level routes over the WAN: fewest total latency, then fewest hops, then lowest
 * link index; Floyd-Warshall (sites are few). */
static sim_code wan_routes(gen *G, sim_status *st)
{
    topo *t = G->t;
    size_t n = t->n_sites;
    t->wan_next = malloc(n * n * sizeof *t->wan_next);
    double *lat = malloc(n * n * sizeof *lat);
    int *hops = malloc(n * n * sizeof *hops);
    if (!t->wan_next || !lat || !hops) {
        free(lat);
        free(hops);
        return nomem(G, st);
    }
    for (size_t i = 0; i < n * n; i++) {
        t->wan_next[i] = -1;
        lat[i] = INFINITY;
        hops[i] = 1 << 30;
    }
    for (size_t i = 0; i < n; i++) {
        lat[i * n + i] = 0;
        hops[i * n + i] = 0;
    }
    for (size_t k = 0; k < t->n_wans; k++) {
        const topo_wan *w = &t->wans[k];
        for (int dir = 0; dir < 2; dir++) {
            size_t a = dir ? w->b : w->a, b = dir ? w->a : w->b;
            lat[a * n + b] = (double)w->lat_ps;
            hops[a * n + b] = 1;
            t->wan_next[a * n + b] = (int32_t)(2 * k + (size_t)dir);
        }
    }
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double l = lat[i * n + k] + lat[k * n + j];
                if (i == j || i == k || isinf(l))
                    continue;
                int h = hops[i * n + k] + hops[k * n + j];
                if (l < lat[i * n + j] || (l == lat[i * n + j] && h < hops[i * n + j])) {
                    lat[i * n + j] = l;
                    hops[i * n + j] = h;
                    t->wan_next[i * n + j] = t->wan_next[i * n + k];
                }
            }
    free(lat);
    free(hops);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (i != j && t->wan_next[i * n + j] < 0)
                return ydoc_error(G->d, ydoc_map_get(G->d, G->root, "wan"), st,
                                  "key 'wan': site '%s' cannot reach site '%s' over the WAN "
                                  "links", t->sites[i].name, t->sites[j].name);
    return SIM_OK;
}

/* ---- size estimate and build ---- */

typedef struct counts {
    double nodes, links;
} counts;

static counts count_site(const topo_site *s, int gateway)
{
    counts c = {(double)s->chips, 0};
    if (s->su_kind == TOPO_SU_NVSWITCH) {
        c.nodes += (double)s->domains;
        c.links += 2.0 * (double)s->chips;
    } else if (s->su_kind == TOPO_SU_TORUS) {
        for (int k = 0; k < s->nd; k++)
            if (s->dims[k] > 1)
                c.links += 2.0 * (double)s->chips *
                           (s->wrap ? 1.0 : (double)(s->dims[k] - 1) / s->dims[k]);
    }
    if (s->tiers) {
        if (s->shared_nics) {
            c.nodes += (double)s->nics;
            c.links += 2.0 * (double)s->chips;
        }
        c.links += 2.0 * (double)s->nics;
        c.nodes += (double)s->leaves;
        if (s->tiers >= 2) {
            c.nodes += (double)(s->pods * s->spines_per_pod);
            c.links += 2.0 * (double)s->leaves * (double)s->spines_per_pod;
        }
        if (s->tiers == 3) {
            c.nodes += (double)(s->spines_per_pod * s->cores_per_plane);
            c.links += 2.0 * (double)(s->pods * s->spines_per_pod) * (double)s->cores_per_plane;
        }
        if (gateway) {
            c.nodes += 1;
            c.links += 2.0 * (double)s->n_top;
        }
    }
    return c;
}

static sim_code check_size(gen *G, sim_status *st)
{
    topo *t = G->t;
    counts all = {0, 2.0 * (double)t->n_wans};
    size_t big = 0;
    double big_nodes = -1;
    for (size_t i = 0; i < t->n_sites; i++) {
        counts c = count_site(&t->sites[i], t->n_sites > 1);
        all.nodes += c.nodes;
        all.links += c.links;
        if (c.nodes > big_nodes) {
            big_nodes = c.nodes;
            big = i;
        }
    }
    double limit = G->opts && G->opts->mem_limit_bytes > 0 ? G->opts->mem_limit_bytes : 0;
    if (limit <= 0) {
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        limit = pages > 0 && psize > 0 ? (double)pages * (double)psize : 16e9;
    }
    double need = all.nodes * EST_NODE_BYTES + all.links * EST_LINK_BYTES;
    ynode at = G->src[big].chips;
    char a[32], b[32];
    if (all.nodes >= INT32_MAX || all.links >= INT32_MAX || need > limit)
        return sim_status_set(st, SIM_ERR_LIMIT, G->path, ydoc_line(G->d, at), ydoc_col(G->d, at),
                              "key 'chips': this topology needs about %.1f GiB for its graph "
                              "(%s nodes, %s links), more than the %.1f GiB available",
                              need / 1073741824.0, sim_units_fmt_count(all.nodes, a, sizeof a),
                              sim_units_fmt_count(all.links, b, sizeof b), limit / 1073741824.0);
    return SIM_OK;
}

static sim_code add_node(gen *G, net_node_kind kind, net_node_id *id, sim_status *st,
                         const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static sim_code add_node(gen *G, net_node_kind kind, net_node_id *id, sim_status *st,
                         const char *fmt, ...)
{
    char name[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return net_graph_add_node(G->t->graph, name, kind, id, st);
}

static sim_code cable(gen *G, net_node_id a, net_node_id b, double bw, int64_t lat,
                      net_link_kind kind, net_link_id *first, sim_status *st)
{
    net_link_id id;
    sim_code rc = net_graph_add_cable(G->t->graph, a, b, bw, lat, kind, &id, st);
    if (rc == SIM_OK && first && *first < 0)
        *first = id;
    return rc;
}

/* Leaf of NIC g of a site (formulas in the file comment). */
static size_t leaf_of_nic(const topo_site *s, size_t g)
{
    if (s->fabric_kind != TOPO_FAB_RAIL)
        return g / s->per_leaf;
    size_t node = g / s->nics_per_node, rail = g % s->nics_per_node;
    return node / s->per_leaf * s->nics_per_node + rail;
}

static sim_code build_site_nodes(gen *G, size_t si, sim_status *st)
{
    topo_site *s = &G->t->sites[si];
    sim_code rc = SIM_OK;
    net_node_id id;
    s->node_begin = (net_node_id)net_graph_node_count(G->t->graph);
    s->nvsw_node = s->nic_node = s->leaf_node = s->spine_node = s->core_node = -1;
    for (size_t k = 0; k < s->domains && s->su_kind == TOPO_SU_NVSWITCH && rc == SIM_OK; k++) {
        rc = add_node(G, NET_NODE_SWITCH, &id, st, "%s/nvs%zu", s->name, k);
        if (k == 0)
            s->nvsw_node = id;
    }
    for (size_t g = 0; s->tiers && s->shared_nics && g < s->nics && rc == SIM_OK; g++) {
        rc = add_node(G, NET_NODE_SWITCH, &id, st, "%s/n%zu/nic%zu", s->name,
                      g / s->nics_per_node, g % s->nics_per_node);
        if (g == 0)
            s->nic_node = id;
    }
    for (size_t l = 0; l < s->leaves && rc == SIM_OK; l++) {
        rc = add_node(G, NET_NODE_SWITCH, &id, st, "%s/leaf%zu", s->name, l);
        if (l == 0)
            s->leaf_node = id;
    }
    for (size_t k = 0; s->tiers >= 2 && k < s->pods * s->spines_per_pod && rc == SIM_OK; k++) {
        rc = add_node(G, NET_NODE_SWITCH, &id, st, "%s/pod%zu/spine%zu", s->name,
                      k / s->spines_per_pod, k % s->spines_per_pod);
        if (k == 0)
            s->spine_node = id;
    }
    for (size_t k = 0; s->tiers == 3 && k < s->spines_per_pod * s->cores_per_plane && rc == SIM_OK;
         k++) {
        rc = add_node(G, NET_NODE_SWITCH, &id, st, "%s/plane%zu/core%zu", s->name,
                      k / s->cores_per_plane, k % s->cores_per_plane);
        if (k == 0)
            s->core_node = id;
    }
    if (rc == SIM_OK && s->tiers && G->t->n_sites > 1)
        rc = add_node(G, NET_NODE_SWITCH, &s->gw_node, st, "%s/gw", s->name);
    s->node_end = (net_node_id)net_graph_node_count(G->t->graph);
    return rc;
}

static sim_code build_torus(gen *G, topo_site *s, sim_status *st)
{
    size_t nd = (size_t)s->nd;
    s->torus_cable = malloc(s->chips * nd * sizeof *s->torus_cable);
    if (!s->torus_cable)
        return nomem(G, st);
    sim_code rc = SIM_OK;
    for (size_t i = 0; i < s->chips && rc == SIM_OK; i++) {
        size_t base = i - i % s->domain_size, idx = i % s->domain_size, stride = 1;
        for (size_t k = 0; k < nd && rc == SIM_OK; k++) {
            size_t dk = (size_t)s->dims[k], x = idx / stride % dk;
            net_link_id *slot = &s->torus_cable[i * nd + k];
            *slot = -1;
            if (dk > 1 && (s->wrap || x + 1 < dk)) {
                size_t nx = (x + 1) % dk;
                size_t j = base + idx - x * stride + nx * stride;
                rc = cable(G, (net_node_id)(s->first_chip + i), (net_node_id)(s->first_chip + j),
                           s->su_Bps, s->su_lat_ps, NET_LINK_ICI, slot, st);
            }
            stride *= dk;
        }
    }
    return rc;
}

static sim_code build_site_links(gen *G, topo_site *s, double gw_Bps, int64_t gw_lat,
                                 sim_status *st)
{
    sim_code rc = SIM_OK;
    net_node_id chip0 = (net_node_id)s->first_chip;
    s->su_base = s->pcie_base = s->nic_base = s->ls_base = s->sc_base = s->gw_base = -1;
    if (s->su_kind == TOPO_SU_NVSWITCH)
        for (size_t i = 0; i < s->chips && rc == SIM_OK; i++)
            rc = cable(G, chip0 + (net_node_id)i,
                       s->nvsw_node + (net_node_id)(i / s->domain_size), s->su_Bps,
                       s->su_lat_ps, NET_LINK_NVLINK, &s->su_base, st);
    if (rc == SIM_OK && s->su_kind == TOPO_SU_TORUS)
        rc = build_torus(G, s, st);
    if (!s->tiers || rc != SIM_OK)
        return rc;
    /* Hop latencies: the cable plus, when it leaves a switch, the switch's traversal. */
    int64_t up = s->link_lat_ps, sw = s->link_lat_ps + s->switch_lat_ps;
    size_t share = s->chips_per_node / s->nics_per_node;
    for (size_t i = 0; s->shared_nics && i < s->chips && rc == SIM_OK; i++) {
        size_t node = i / s->chips_per_node, k = i % s->chips_per_node;
        rc = cable(G, chip0 + (net_node_id)i,
                   s->nic_node + (net_node_id)(node * s->nics_per_node + k / share), s->pcie_Bps,
                   0, NET_LINK_PCIE, &s->pcie_base, st);
    }
    for (size_t g = 0; g < s->nics && rc == SIM_OK; g++) {
        net_node_id from = s->shared_nics ? s->nic_node + (net_node_id)g : chip0 + (net_node_id)g;
        net_link_id id;
        rc = net_graph_add_link(G->t->graph, from,
                                s->leaf_node + (net_node_id)leaf_of_nic(s, g), s->nic_Bps, up,
                                NET_LINK_NIC, &id, st);
        if (rc == SIM_OK)
            rc = net_graph_add_link(G->t->graph, s->leaf_node + (net_node_id)leaf_of_nic(s, g),
                                    from, s->nic_Bps, sw, NET_LINK_NIC, NULL, st);
        if (g == 0)
            s->nic_base = id;
    }
    size_t S = s->spines_per_pod, C = s->cores_per_plane;
    for (size_t l = 0; s->tiers >= 2 && l < s->leaves && rc == SIM_OK; l++)
        for (size_t j = 0; j < S && rc == SIM_OK; j++)
            rc = cable(G, s->leaf_node + (net_node_id)l,
                       s->spine_node + (net_node_id)(l / s->leaves_per_pod * S + j), s->ls_Bps, sw,
                       NET_LINK_LEAF_SPINE, &s->ls_base, st);
    for (size_t k = 0; s->tiers == 3 && k < s->pods * S && rc == SIM_OK; k++)
        for (size_t c = 0; c < C && rc == SIM_OK; c++)
            rc = cable(G, s->spine_node + (net_node_id)k,
                       s->core_node + (net_node_id)(k % S * C + c), s->sc_Bps, sw,
                       NET_LINK_SPINE_CORE, &s->sc_base, st);
    if (s->gw_node >= 0) {
        net_node_id top = s->tiers == 3 ? s->core_node : s->tiers == 2 ? s->spine_node
                                                                      : s->leaf_node;
        s->gw_Bps = gw_Bps / (double)s->n_top;
        /* Up: the cable and the top switch's traversal; down: the cable and the gateway's. */
        for (size_t k = 0; k < s->n_top && rc == SIM_OK; k++) {
            net_link_id id;
            rc = net_graph_add_link(G->t->graph, top + (net_node_id)k, s->gw_node, s->gw_Bps,
                                    sw, NET_LINK_GATEWAY, &id, st);
            if (rc == SIM_OK)
                rc = net_graph_add_link(G->t->graph, s->gw_node, top + (net_node_id)k,
                                        s->gw_Bps, s->link_lat_ps + gw_lat, NET_LINK_GATEWAY,
                                        NULL, st);
            if (k == 0)
                s->gw_base = id;
        }
    }
    return rc;
}

static sim_code build(gen *G, sim_status *st)
{
    topo *t = G->t;
    sim_code rc = SIM_OK;
    /* Chips first, so that chip ids are node ids. */
    for (size_t si = 0; si < t->n_sites && rc == SIM_OK; si++) {
        const topo_site *s = &t->sites[si];
        for (size_t i = 0; i < s->chips && rc == SIM_OK; i++) {
            net_node_id id;
            rc = add_node(G, NET_NODE_ENDPOINT, &id, st, "%s/n%zu/c%zu", s->name,
                          i / s->chips_per_node, i % s->chips_per_node);
        }
    }
    for (size_t si = 0; si < t->n_sites && rc == SIM_OK; si++)
        rc = build_site_nodes(G, si, st);
    for (size_t si = 0; si < t->n_sites && rc == SIM_OK; si++) {
        topo_site *s = &t->sites[si];
        double gw = G->src[si].gw_Bps;
        if (gw <= 0) /* default: the site's WAN bandwidth */
            for (size_t k = 0; k < t->n_wans; k++)
                if (t->wans[k].a == si || t->wans[k].b == si)
                    gw += t->wans[k].bw_Bps;
        rc = build_site_links(G, s, gw > 0 ? gw : 1, G->src[si].gw_lat_ps, st);
    }
    /* A WAN link carries its own latency and the traversal of the gateway it leaves. */
    for (size_t k = 0; k < t->n_wans && rc == SIM_OK; k++) {
        topo_wan *w = &t->wans[k];
        net_node_id ga = t->sites[w->a].gw_node, gb = t->sites[w->b].gw_node;
        rc = net_graph_add_link(G->t->graph, ga, gb, w->bw_Bps, w->lat_ps + G->src[w->a].gw_lat_ps,
                                NET_LINK_WAN, &w->link, st);
        if (rc == SIM_OK)
            rc = net_graph_add_link(G->t->graph, gb, ga, w->bw_Bps,
                                    w->lat_ps + G->src[w->b].gw_lat_ps, NET_LINK_WAN, NULL, st);
    }
    return rc;
}

sim_code topo_gen_load(topo *t, const ydoc *d, const char *path, const topo_load_opts *opts,
                       sim_status *st)
{
    gen G = {.t = t, .d = d, .root = ydoc_root(d), .path = path, .opts = opts};
    int routing = TOPO_ROUTE_ECMP;
    static const char *const modes[] = {"ecmp", "spray", NULL};
    sim_code rc = ydoc_check_keys(d, G.root, "the document", top_keys, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, G.root, "routing", 0, "routing mode", modes, &routing, st);
    if (rc == SIM_OK)
        rc = load_sites(&G, st);
    if (rc == SIM_OK)
        rc = load_wan(&G, st);
    if (rc == SIM_OK && t->n_sites > 1)
        rc = wan_routes(&G, st);
    if (rc == SIM_OK)
        rc = check_size(&G, st);
    if (rc == SIM_OK)
        rc = build(&G, st);
    t->routing = (topo_routing)routing;
    t->generated = 1;
    free(G.src);
    return rc;
}

void topo_gen_free(topo *t)
{
    for (size_t i = 0; i < t->n_sites; i++)
        free(t->sites[i].torus_cable);
    free(t->sites);
    free(t->wans);
    free(t->wan_next);
}
