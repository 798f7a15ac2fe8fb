/*
 * gen_int.h: what the files that build generated topologies share; only sim/topo/gen*.c
 * include it. gen.c drives the three passes and reads chips, nodes and sites;
 * gen_scale_up.c, gen_fabric.c and gen_wan.c read their sections (and gen_fabric.c derives
 * each fabric's shape); gen_build.c estimates the size and builds the graph. A topo_gen
 * lives on gen.c's stack for one load; the site_src array is freed at its end, everything
 * else goes into the topology (topo_int.h).
 */
#ifndef SIM_TOPO_GEN_INT_H
#define SIM_TOPO_GEN_INT_H

#include "core/ydoc.h"
#include "topo/topo_int.h"

/* Where each site's values were written, for errors found after reading them. */
typedef struct topo_site_src {
    ynode map;      /* the site entry (or the root for a single site) */
    ynode chips;    /* the `chips` value */
    ynode fabric;   /* the fabric section, 0 when none */
    ynode radix, pod, per_leaf, spines, cores; /* fabric values (0 when absent) */
    double gw_Bps;  /* from gateway.bandwidth, 0 = sum of the site's WAN links */
    int64_t gw_lat_ps;
} topo_site_src;

typedef struct topo_gen {
    topo *t;
    const ydoc *d;
    ynode root;
    const char *path;
    const topo_load_opts *opts;
    topo_site_src *src;
    char place[256];
} topo_gen;

/* ---- gen.c ---- */

/* Value of key for site: the site's own, else the top-level default, else 0. *holder gets
 * the mapping that holds it (the site when absent, so "missing key" points at the site). */
ynode topo_gen_site_key(const topo_gen *G, ynode site, const char *key, ynode *holder);
/* Where n sits in the document ("sites[1].fabric"), in G's buffer: valid until the next call. */
const char *topo_gen_place(topo_gen *G, ynode n);
/* SIM_ERR_NOMEM for the topology's file. */
sim_code topo_gen_nomem(topo_gen *G, sim_status *st);
/* A section (mapping) of a site, its keys among keys, into *out; 0 when absent. */
sim_code topo_gen_section(topo_gen *G, ynode site, const char *key, const char *const *keys,
                          ynode *out, sim_status *st);

/* ---- gen_scale_up.c ---- */

/* The scale_up section of a site into s (kind, domain size, bandwidth, latency, torus). */
sim_code topo_gen_load_scale_up(topo_gen *G, ynode site, topo_site *s, sim_status *st);

/* ---- gen_fabric.c ---- */

/* The fabric section of a site into s, where its values were written into src (pass 1). */
sim_code topo_gen_load_fabric(topo_gen *G, ynode site, topo_site *s, topo_site_src *src,
                              sim_status *st);
/* Derives leaves, pods, spines, cores and trunk bandwidths; checks them against the radix
 * (pass 2). */
sim_code topo_gen_shape(topo_gen *G, const topo_site_src *src, topo_site *s, sim_status *st);

/* ---- gen_wan.c ---- */

/* The wan list into t->wans (needed when there are several sites). */
sim_code topo_gen_load_wan(topo_gen *G, sim_status *st);
/* Site-level routes over the WAN into t->wan_next; an error when a site is unreachable. */
sim_code topo_gen_wan_routes(topo_gen *G, sim_status *st);

/* ---- gen_build.c ---- */

/* Pass 3: SIM_ERR_LIMIT when the graph's estimated memory passes the limit. */
sim_code topo_gen_check_size(topo_gen *G, sim_status *st);
/* Builds the graph: chips first (chip ids are node ids), then each site's switches and
 * links in the fixed blocks topo_int.h describes, then the WAN links. */
sim_code topo_gen_build(topo_gen *G, sim_status *st);

#endif
