/*
 * topo.h: loading a cluster description (YAML) into a network graph.
 *
 * For now the explicit form is supported:
 *   name: dumbbell
 *   graph:
 *     endpoints: [h0, h1]
 *     switches: [s0]
 *     links:
 *       - {ends: [h0, s0], bandwidth: 100 Gb/s, latency: 1 us}
 * Each links entry is a full-duplex cable (two directed links). Generated fabrics come
 * later and reuse ydoc's unit parsing and error reporting.
 */
#ifndef SIM_TOPO_H
#define SIM_TOPO_H

#include "core/status.h"
#include "net/graph.h"

typedef struct topo topo;

/*
 * Loads path. On success *out is owned by the caller (topo_destroy). Errors: SIM_ERR_INPUT for
 * a missing file; SIM_ERR_INPUT for anything wrong in it, located at file:line:col and
 * naming the key, the expected and the found value.
 */
sim_code topo_load_file(const char *path, topo **out, sim_status *st);
void topo_destroy(topo *t); /* accepts NULL */

const char *topo_name(const topo *t);           /* borrowed */
const net_graph *topo_graph(const topo *t);     /* borrowed, finalized */

#endif
