/*
 * gen_scale_up.c: a site's scale-up domain, read in pass 1 of gen.c: none, NVSwitch (a
 * switch per domain of whole nodes, optionally reducing in the switch) or an ICI torus of
 * 1 to 3 dimensions, with or without wrap-around. A domain holds whole nodes; the chips'
 * scale-up bandwidth is the default, split over a torus chip's links.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topo/gen_int.h"

/* Defaults, documented in README.md. */
#define DEF_SU_LAT_PS 250000        /* 0.25 us per NVLink / ICI hop */

static const char *const su_keys[] = {"kind", "size",   "bandwidth",      "latency",
                                      "dims", "wrap",   "link_bandwidth", "in_switch_reduction",
                                      NULL};
static const char *const su_kinds[] = {"none", "nvswitch", "torus", NULL};

static sim_code load_dims(topo_gen *G, ynode su, topo_site *s, sim_status *st)
{
    ynode v = ydoc_map_get(G->d, su, "dims");
    char found[96];
    if (!v)
        return ydoc_error(G->d, su, st,
                          "missing key 'dims' in %s: expected the torus shape, such as "
                          "[16, 16, 16]", topo_gen_place(G, su));
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

sim_code topo_gen_load_scale_up(topo_gen *G, ynode site, topo_site *s, sim_status *st)
{
    ynode su;
    sim_code rc = topo_gen_section(G, site, "scale_up", su_keys, &su, st);
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
    s->su_kind = (topo_su_kind)kind;
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
        int sharp = 0;
        s->su_Bps = s->chip.scale_up_Bps;
        rc = ydoc_get_int(G->d, su, "size", 0, 2, 1 << 20, &size, st);
        if (rc == SIM_OK)
            rc = ydoc_get_bw(G->d, su, "bandwidth", 0, &s->su_Bps, st);
        if (rc == SIM_OK)
            rc = ydoc_get_bool(G->d, su, "in_switch_reduction", 0, &sharp, st);
        if (rc != SIM_OK)
            return rc;
        s->sharp = sharp;
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
