/*
 * sweep.h: the grid of a sweep: the points of a config's `sweep:` section, each point's
 * overrides and name, the shards, and which points a results database already holds.
 *
 * The config's `sweep:` section maps dotted keys to lists of values:
 *   sweep:
 *     mode: product                 # product (the default) or zip
 *     parallelism.tp: [2, 4, 8]
 *     scale.scale_out_bw: [0.5, 1, 2]
 * `product` gives every combination (the last key varying fastest), `zip` the i-th values
 * of every list together (lists of equal length). A value that is a list is passed as one
 * ("[tp, dp, cp, pp]"). A point is the config with the sweep-wide overrides, then the
 * point's values, as overrides.
 *
 * A point is named by its config (the path as given), the sweep-wide overrides and its
 * values: "config|key=value|...", the sweep-wide overrides first. The name is what a run of
 * the point records as sweep_param '_point', so a sweep that finds the name in its database
 * knows the point is done (resume). Shard i of n (1 <= i <= n) holds the points whose index
 * is i - 1 modulo n: n shards partition the grid exactly.
 *
 * Running the points (worker processes, progress) is the CLI's (cli/cmd_sweep.c).
 */
#ifndef SIM_STUDY_SWEEP_H
#define SIM_STUDY_SWEEP_H

#include <stddef.h>

#include "core/status.h"
#include "core/ydoc.h"

/* A grid's size at most: each point is a replay of seconds to minutes; a million of them
 * is years of machine time, and listing more would take the parser itself minutes. */
#define STUDY_SWEEP_MAX_POINTS 1000000

typedef struct study_grid study_grid;

/*
 * Reads the sweep section of the config at path config, after applying the sweep-wide
 * overrides base[0..n_base) to it, and sets *out to the grid, owned by the caller until
 * study_grid_destroy. config and base (with their strings) are borrowed for the grid's
 * lifetime: they name its points. On failure *out is NULL.
 * Errors: those of ydoc_load_file and ydoc_apply; SIM_ERR_INPUT (at the YAML node) for a
 * missing or malformed sweep section: not a mapping, an unknown mode, a key that is not a
 * scalar, a value that is not a non-empty list of values or lists of values, zip lists of
 * unequal length, no swept key, more than STUDY_SWEEP_MAX_POINTS points; SIM_ERR_NOMEM.
 */
sim_code study_grid_load(const char *config, const ydoc_override *base, size_t n_base,
                         study_grid **out, sim_status *st);

/* Frees g; accepts NULL. */
void study_grid_destroy(study_grid *g);

/* The number of points of g (at least 1). */
size_t study_grid_points(const study_grid *g);

/* The config's output.db resolved against the config's directory; "" when it has none. */
const char *study_grid_db(const study_grid *g);

/*
 * Point p (< study_grid_points) of g: sets *ov to its n_ov overrides, the sweep-wide ones
 * then one per swept key (origin "sweep KEY=VALUE"), and returns its name. Both live in g
 * and stay valid until the next call on g or study_grid_destroy.
 */
const char *study_grid_point(study_grid *g, size_t p, const ydoc_override **ov, size_t *n_ov);

/* Whether point p is in shard shard_i of shard_n (1 <= shard_i <= shard_n). */
int study_grid_in_shard(size_t p, size_t shard_i, size_t shard_n);

/*
 * The points of shard shard_i of shard_n still to run: todo (study_grid_points(g) entries,
 * the caller's) gets 1 for each point of the shard whose name no run of the results
 * database at db_path has as its sweep_param '_point', 0 for the others; *pending gets the
 * number of 1s and *skipped the number of the shard's points already there. The database
 * is opened (created when absent) and closed again.
 * Errors: those of db_open and db_query_texts.
 */
sim_code study_grid_pending(study_grid *g, const char *db_path, size_t shard_i, size_t shard_n,
                            unsigned char *todo, size_t *pending, size_t *skipped,
                            sim_status *st);

#endif
