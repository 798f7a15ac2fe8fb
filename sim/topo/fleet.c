/*
 * fleet.c: what a goodput model (rel/rel_fleet.h) needs of a topology beyond its graph:
 * the failure laws of its component kinds and the storage tier its checkpoints go to (both
 * from top-level sections, for both forms), hosts as global indices, the physical cables a
 * trunk link stands for, and what-if scaling of one link kind with an exact restore.
 *
 * Storage defaults. aggregate 2 TB/s: Llama 3's checkpoints went to Tectonic, Meta's
 * distributed file system, which "supports a sustainable throughput of 2 TB/s and a peak
 * throughput of 7 TB/s" (Dubey et al. 2024, arXiv 2407.21783, section 3.3.1, Storage); the
 * sustained figure is what a checkpoint of every node at once gets. per_node 25 GB/s (one
 * 200 Gb/s front-end link per host) and host_copy 50 GB/s (device to host memory over
 * PCIe 5.0 x16, about 50 of its 64 GB/s per direction, taken for the whole node: the copies
 * of its GPUs share the host's memory and root complexes) are assumptions, not measurements.
 */
#include <math.h>
#include <stdlib.h>

#include "topo/topo_int.h"

#define DEF_STORAGE_AGGREGATE_Bps 2e12
#define DEF_STORAGE_PER_NODE_Bps 25e9
#define DEF_STORAGE_HOST_COPY_Bps 50e9

static const char *const storage_keys[] = {"aggregate", "per_node", "host_copy", NULL};

sim_code topo_fleet_load(topo *t, const struct ydoc *d, sim_status *st)
{
    hw_fail_spec fail[HW_FAIL_KIND_COUNT];
    for (int k = 0; k < HW_FAIL_KIND_COUNT; k++)
        hw_fail_default((hw_fail_kind)k, &fail[k]);
    topo_storage sto = {DEF_STORAGE_AGGREGATE_Bps, DEF_STORAGE_PER_NODE_Bps,
                        DEF_STORAGE_HOST_COPY_Bps};
    ynode root = ydoc_root(d), sec = 0;
    sim_code rc = hw_fail_read(d, root, HW_FAIL_HOST, HW_FAIL_WAN, fail, st);
    if (rc == SIM_OK)
        rc = ydoc_get_section(d, root, "storage", 0, storage_keys, &sec, st);
    if (rc == SIM_OK && sec)
        rc = ydoc_get_bw(d, sec, "aggregate", 0, &sto.aggregate_Bps, st);
    if (rc == SIM_OK && sec)
        rc = ydoc_get_bw(d, sec, "per_node", 0, &sto.per_node_Bps, st);
    if (rc == SIM_OK && sec)
        rc = ydoc_get_bw(d, sec, "host_copy", 0, &sto.host_copy_Bps, st);
    if (rc != SIM_OK)
        return rc;
    for (int k = 0; k < HW_FAIL_KIND_COUNT; k++)
        t->fail[k] = fail[k];
    t->storage = sto;
    return SIM_OK;
}

const hw_fail_spec *topo_failure(const topo *t, hw_fail_kind kind)
{
    return &t->fail[kind];
}

const topo_storage *topo_storage_of(const topo *t)
{
    return &t->storage;
}

int64_t topo_host_count(const topo *t)
{
    if (!t->generated)
        return (int64_t)t->n_chips;
    int64_t n = 0;
    for (size_t i = 0; i < t->n_sites; i++)
        n += (int64_t)t->sites[i].nodes;
    return n;
}

int64_t topo_chip_host(const topo *t, int32_t chip)
{
    if (!t->generated)
        return chip;
    int64_t before = 0;
    size_t s = 0;
    while (s + 1 < t->n_sites && t->sites[s + 1].first_chip <= (size_t)chip)
        before += (int64_t)t->sites[s++].nodes;
    const topo_site *site = &t->sites[s];
    return before + (int64_t)(((size_t)chip - site->first_chip) / site->chips_per_node);
}

int64_t topo_link_cables(const topo *t, net_link_id l)
{
    const net_link *k = net_graph_link(t->graph, l);
    if (!t->generated ||
        (k->kind != NET_LINK_NIC && k->kind != NET_LINK_LEAF_SPINE &&
         k->kind != NET_LINK_SPINE_CORE))
        return 1;
    int32_t site = topo_node_site(t, k->src);
    if (site < 0)
        return 1;
    double P = t->sites[site].port_Bps;
    /* The radix check's rounding: a relative slack absorbs ratios such as 1/3. */
    double n = P > 0 ? ceil(k->bw_Bps / P - 1e-9) : 1.0;
    return n >= 1.0 ? (int64_t)n : 1;
}

void topo_scale_link_kind(topo *t, net_link_kind kind, double f)
{
    double bw[NET_LINK_KIND_COUNT];
    for (int k = 0; k < NET_LINK_KIND_COUNT; k++)
        bw[k] = 1.0;
    bw[kind] = f;
    net_graph_scale_links(t->graph, bw, 1.0);
}

void topo_links_restore(topo *t, const double *bw_Bps)
{
    size_t n = net_graph_link_count(t->graph);
    for (size_t l = 0; l < n; l++)
        net_graph_set_link_bw(t->graph, (net_link_id)l, bw_Bps[l]);
}
