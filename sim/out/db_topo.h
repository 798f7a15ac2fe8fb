/*
 * db_topo.h: a topology's links as rows of the `link` table (analysis/SCHEMA.md).
 *
 * Kept apart from db.c so that the recorder core knows nothing of topologies; this file
 * knows the topology only through its public header.
 */
#ifndef SIM_OUT_DB_TOPO_H
#define SIM_OUT_DB_TOPO_H

#include "out/db.h"
#include "topo/topo.h"

/*
 * Inserts one `link` row per directed link of t (borrowed) under run_id, inside the caller's
 * transaction. tier: 0 for links at the chips (nvlink, ici, pcie), 1 nic, 2 leaf-spine,
 * 3 spine-core, 4 gateway, 5 wan, 0 for generic links of explicit graphs. Errors: those of
 * db_insert_prepare / db_insert_exec.
 */
sim_code db_links_write(db *d, int64_t run_id, const topo *t, sim_status *st);

/* The tier number of a link kind, as stored in link.tier. */
int db_link_tier(net_link_kind kind);

#endif
