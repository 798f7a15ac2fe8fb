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
 * The `failures` and `storage` sections are top-level only (topo_fleet_load in fleet.c, for
 * both topology forms), and so are `power` and `cost` (topo_facility_load in facility.c).
 *
 * Each concern has its file, sharing gen_int.h: this one drives the passes and reads chips,
 * nodes and sites; gen_scale_up.c reads scale-up domains, gen_fabric.c Clos fabrics and
 * their shape, gen_wan.c the WAN between sites and its routes; gen_build.c estimates the
 * size and builds the graph.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/path.h"
#include "core/units.h"
#include "topo/gen_int.h"

#ifndef CLUSTERSIM_SOURCE_DIR
#define CLUSTERSIM_SOURCE_DIR "."
#endif

/* Defaults, documented in README.md. */
#define DEF_PCIE_Bps 64e9           /* PCIe 5.0 x16, per direction */
#define DEF_GW_LAT_PS 1000000       /* 1 us: border routers */

static const char *const top_keys[] = {"name",    "routing", "chip",  "chips",    "node",
                                       "scale_up", "fabric", "gateway", "sites", "wan",
                                       "failures", "storage", "power", "cost", NULL};
static const char *const site_keys[] = {"name",     "chip",   "chips",   "node",
                                        "scale_up", "fabric", "gateway", NULL};
static const char *const node_keys[] = {"chips", "nics", "nic_bandwidth", "pcie_bandwidth",
                                        NULL};
static const char *const gw_keys[] = {"bandwidth", "latency", NULL};

/* ---- small helpers ---- */

ynode topo_gen_site_key(const topo_gen *G, ynode site, const char *key, ynode *holder)
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

const char *topo_gen_place(topo_gen *G, ynode n)
{
    ydoc_place(G->d, n, G->place, sizeof G->place);
    return G->place;
}

sim_code topo_gen_nomem(topo_gen *G, sim_status *st)
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
static sim_code load_chip(topo_gen *G, ynode site, hw_chip *chip, sim_status *st)
{
    ynode holder;
    ynode v = topo_gen_site_key(G, site, "chip", &holder);
    if (!v)
        return ydoc_error(G->d, site, st,
                          "missing key 'chip' in %s: expected a chip name such as 'h100-sxm', "
                          "a chip file or an inline chip mapping",
                          topo_gen_place(G, site));
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

sim_code topo_gen_section(topo_gen *G, ynode site, const char *key, const char *const *keys,
                        ynode *out, sim_status *st)
{
    ynode holder;
    *out = topo_gen_site_key(G, site, key, &holder);
    if (!*out)
        return SIM_OK;
    sim_code rc = ydoc_expect(G->d, *out, YDOC_MAP, key, st);
    if (rc == SIM_OK)
        rc = ydoc_check_keys(G->d, *out, topo_gen_place(G, *out), keys, st);
    return rc;
}

static sim_code load_node(topo_gen *G, ynode site, topo_site *s, sim_status *st)
{
    ynode n;
    sim_code rc = topo_gen_section(G, site, "node", node_keys, &n, st);
    if (rc != SIM_OK)
        return rc;
    if (!n)
        return ydoc_error(G->d, site, st,
                          "missing key 'node' in %s: expected a mapping such as {chips: 8}",
                          topo_gen_place(G, site));
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

static sim_code load_site(topo_gen *G, ynode site, topo_site *s, topo_site_src *src, sim_status *st)
{
    sim_code rc = load_chip(G, site, &s->chip, st);
    ynode holder;
    int64_t chips = 0;
    if (rc != SIM_OK)
        return rc;
    src->map = site;
    src->chips = topo_gen_site_key(G, site, "chips", &holder);
    rc = ydoc_get_int(G->d, holder, "chips", 1, 1, INT32_MAX, &chips, st);
    if (rc == SIM_OK)
        rc = load_node(G, site, s, st);
    if (rc == SIM_OK)
        rc = topo_gen_load_scale_up(G, site, s, st);
    if (rc == SIM_OK)
        rc = topo_gen_load_fabric(G, site, s, src, st);
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
                          topo_gen_place(G, src->map),
                          sim_units_fmt_count((double)s->chips, n1, sizeof n1),
                          sim_units_fmt_count((double)islands, n2, sizeof n2),
                          s->su_kind == TOPO_SU_NONE ? "nodes" : "scale-up domains");
    src->gw_lat_ps = DEF_GW_LAT_PS;
    ynode gw;
    rc = topo_gen_section(G, site, "gateway", gw_keys, &gw, st);
    if (rc == SIM_OK && gw)
        rc = ydoc_get_bw(G->d, gw, "bandwidth", 0, &src->gw_Bps, st);
    if (rc == SIM_OK && gw)
        rc = ydoc_get_time(G->d, gw, "latency", 0, &src->gw_lat_ps, st);
    if (rc == SIM_OK && s->tiers)
        rc = topo_gen_shape(G, src, s, st);
    return rc;
}

/* ---- sites and WAN ---- */

static sim_code load_sites(topo_gen *G, sim_status *st)
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
        return topo_gen_nomem(G, st);
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
                rc = ydoc_check_keys(G->d, site, topo_gen_place(G, site), site_keys, st);
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

sim_code topo_gen_load(topo *t, const ydoc *d, const char *path, const topo_load_opts *opts,
                       sim_status *st)
{
    topo_gen G = {.t = t, .d = d, .root = ydoc_root(d), .path = path, .opts = opts};
    int routing = TOPO_ROUTE_ECMP;
    static const char *const modes[] = {"ecmp", "spray", NULL};
    sim_code rc = ydoc_check_keys(d, G.root, "the document", top_keys, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, G.root, "routing", 0, "routing mode", modes, &routing, st);
    if (rc == SIM_OK)
        rc = load_sites(&G, st);
    if (rc == SIM_OK)
        rc = topo_gen_load_wan(&G, st);
    if (rc == SIM_OK && t->n_sites > 1)
        rc = topo_gen_wan_routes(&G, st);
    if (rc == SIM_OK)
        rc = topo_gen_check_size(&G, st);
    if (rc == SIM_OK)
        rc = topo_gen_build(&G, st);
    t->routing = (topo_routing)routing;
    t->generated = true;
    free(G.src);
    return rc;
}

void topo_gen_free(topo *t)
{
    for (size_t i = 0; i < t->n_sites; i++) {
        free(t->sites[i].torus_cable);
        free(t->sites[i].chip_leaf);
    }
    free(t->sites);
    for (size_t i = 0; t->wans && i < t->n_wans; i++)
        sim_vec_free(&t->wans[i].bg);
    free(t->wans);
    free(t->wan_next);
}
