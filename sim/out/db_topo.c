/*
 * db_topo.c: topology rows for the results database. One prepared insert, reused for every
 * link: a 100,000-chip campus writes its half million links in about a second.
 */
#include "out/db_topo.h"

int db_link_tier(net_link_kind kind)
{
    switch (kind) {
    case NET_LINK_NIC: return 1;
    case NET_LINK_LEAF_SPINE: return 2;
    case NET_LINK_SPINE_CORE: return 3;
    case NET_LINK_GATEWAY: return 4;
    case NET_LINK_WAN: return 5;
    default: return 0;
    }
}

sim_code db_links_write(db *d, int64_t run_id, const topo *t, sim_status *st)
{
    static const char *const cols[] = {"run_id", "link_id", "src",  "dst",         "kind",
                                       "site",   "tier",    "capacity_Bps", "latency_s"};
    const net_graph *g = topo_graph(t);
    db_stmt *ins = NULL;
    sim_code rc = db_insert_prepare(d, "link", cols, sizeof cols / sizeof cols[0], &ins, st);
    size_t n = net_graph_link_count(g);
    for (size_t l = 0; l < n && rc == SIM_OK; l++) {
        const net_link *k = net_graph_link(g, (net_link_id)l);
        int32_t site = topo_link_site(t, (net_link_id)l);
        db_insert_bind_int(ins, 0, run_id);
        db_insert_bind_int(ins, 1, (int64_t)l);
        db_insert_bind_text(ins, 2, net_graph_node_name(g, k->src));
        db_insert_bind_text(ins, 3, net_graph_node_name(g, k->dst));
        db_insert_bind_text(ins, 4, net_link_kind_str(k->kind));
        db_insert_bind_text(ins, 5, site >= 0 ? topo_site_name(t, (size_t)site) : NULL);
        db_insert_bind_int(ins, 6, db_link_tier(k->kind));
        db_insert_bind_double(ins, 7, k->bw_Bps);
        db_insert_bind_double(ins, 8, (double)k->lat_ps * 1e-12);
        rc = db_insert_exec(ins, st);
    }
    db_insert_finish(ins);
    return rc;
}
