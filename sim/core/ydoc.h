/*
 * ydoc.h: a loaded YAML document whose nodes remember where they were written.
 *
 * The only module that includes <yaml.h>. Loading parses the whole file with libyaml's
 * document API, refuses duplicate keys in any mapping, and keeps the file name, so every
 * later error can name file, line and column. Nodes are small integer handles (0 = none).
 * Typed getters parse scalars with units (core/units.h) and report, on failure, one
 * SIM_ERR_INPUT status of the form
 *   "key 'bandwidth': expected a bandwidth with a unit (such as '100 Gb/s'), found '100'"
 * located at the offending node (or at the mapping for a missing key).
 */
#ifndef SIM_YDOC_H
#define SIM_YDOC_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct ydoc ydoc;
typedef int ynode; /* 0 = no node */

typedef enum ydoc_kind { YDOC_NONE = 0, YDOC_SCALAR, YDOC_SEQ, YDOC_MAP } ydoc_kind;

/*
 * Loads path. On success *out is owned by the caller (ydoc_destroy). Errors: SIM_ERR_INPUT
 * (cannot open: the message names the file and the reason), SIM_ERR_INPUT (syntax error at
 * its mark, empty document, duplicate key at the second occurrence, aliases deeper than the
 * limit).
 */
sim_code ydoc_load_file(const char *path, ydoc **out, sim_status *st);
/* Same from a buffer; name is used in messages as the file name. */
sim_code ydoc_load_string(const char *name, const char *text, size_t len, ydoc **out,
                          sim_status *st);
void ydoc_destroy(ydoc *d); /* accepts NULL */

const char *ydoc_file(const ydoc *d); /* borrowed, lives as long as d */
ynode ydoc_root(const ydoc *d);
ydoc_kind ydoc_node_kind(const ydoc *d, ynode n);
int ydoc_line(const ydoc *d, ynode n); /* 1-based */
int ydoc_col(const ydoc *d, ynode n);  /* 1-based */
/* Human name of a node's kind for messages: "a mapping", "a list", "'text'". */
void ydoc_describe(const ydoc *d, ynode n, char *buf, size_t len);

/*
 * Where node n sits, for messages: a path of keys and 0-based list indices from the root
 * ("graph.links[2]"), or "the document" for the root. A mapping key sits where its mapping
 * does. A node reached through several aliases is named by its first path.
 */
void ydoc_place(const ydoc *d, ynode n, char *buf, size_t len);

/* Scalar text (borrowed) or NULL when n is not a scalar. */
const char *ydoc_scalar(const ydoc *d, ynode n);
/* Sequence length (0 when not a sequence) and i-th item (0-based). */
size_t ydoc_seq_len(const ydoc *d, ynode n);
ynode ydoc_seq_at(const ydoc *d, ynode n, size_t i);
/* Mapping size, i-th key node and value node (0-based, in file order). */
size_t ydoc_map_len(const ydoc *d, ynode n);
ynode ydoc_map_key_at(const ydoc *d, ynode n, size_t i);
ynode ydoc_map_value_at(const ydoc *d, ynode n, size_t i);
/* Value of key in mapping n, 0 when absent or n is not a mapping. */
ynode ydoc_map_get(const ydoc *d, ynode n, const char *key);

/* Sets st to SIM_ERR_INPUT located at node n, message printf-formatted; returns the code. */
sim_code ydoc_error(const ydoc *d, ynode n, sim_status *st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/*
 * Refuses any key of mapping n not in the NULL-terminated list allowed, with a did-you-mean
 * suggestion when one allowed key is close ("unknown key 'bandwdith' in link (did you mean
 * 'bandwidth'?); expected one of: ends, bandwidth, latency"). what names the mapping.
 * Also fails when n is not a mapping.
 */
sim_code ydoc_check_keys(const ydoc *d, ynode n, const char *what, const char *const *allowed,
                         sim_status *st);

/*
 * The choice (borrowed from choices, NULL-terminated) closest to word by edit distance,
 * when that distance is at most 2 or a third of the choice's length; NULL when none is.
 * Ties go to the earlier choice. For did-you-mean hints beyond mapping keys.
 */
const char *ydoc_suggest(const char *word, const char *const *choices);

/* Requires n to be of a kind; message: "key 'k': expected a list, found 'x'". key may be NULL
 * (then the message names the node by its place instead, e.g.
 * "graph.links[0]: expected a mapping, found 'h0'"). */
sim_code ydoc_expect(const ydoc *d, ynode n, ydoc_kind kind, const char *key, sim_status *st);

/*
 * Typed getters on mapping map and key. required != 0: a missing key is an error located at
 * the mapping, which is named by its place (ydoc_place): "missing key 'latency' in
 * graph.links[0]: expected a time such as '1 us'". When the key is absent and not required,
 * *out is left unchanged and SIM_OK returned, so callers set defaults first (ydoc_map_get
 * tells whether the key was there). A map that is not a mapping is an error at map.
 * ydoc_get_str refuses an empty value.
 */
sim_code ydoc_get_str(const ydoc *d, ynode map, const char *key, int required,
                      const char **out, sim_status *st);
sim_code ydoc_get_bw(const ydoc *d, ynode map, const char *key, int required, double *out_Bps,
                     sim_status *st);
sim_code ydoc_get_time(const ydoc *d, ynode map, const char *key, int required,
                       int64_t *out_ps, sim_status *st);
sim_code ydoc_get_bytes(const ydoc *d, ynode map, const char *key, int required,
                        double *out_bytes, sim_status *st);
/* A duration in seconds (core/units.h: sim_units_parse_duration), for spans beyond the 106
 * days of ydoc_get_time. */
sim_code ydoc_get_duration(const ydoc *d, ynode map, const char *key, int required,
                           double *out_s, sim_status *st);
sim_code ydoc_get_flops(const ydoc *d, ynode map, const char *key, int required,
                        double *out_flops, sim_status *st);
sim_code ydoc_get_length(const ydoc *d, ynode map, const char *key, int required,
                         double *out_m, sim_status *st);
/* Power in watts, a price in US dollars, an energy price in US dollars per joule
 * (core/units.h). */
sim_code ydoc_get_power(const ydoc *d, ynode map, const char *key, int required,
                        double *out_W, sim_status *st);
sim_code ydoc_get_money(const ydoc *d, ynode map, const char *key, int required,
                        double *out_usd, sim_status *st);
sim_code ydoc_get_energy_price(const ydoc *d, ynode map, const char *key, int required,
                               double *out_usd_per_J, sim_status *st);
sim_code ydoc_get_double(const ydoc *d, ynode map, const char *key, int required, double *out,
                         sim_status *st);
/* Integer in [lo, hi]; "2.5" or "1e3" are refused: expected an integer. */
sim_code ydoc_get_int(const ydoc *d, ynode map, const char *key, int required, int64_t lo,
                      int64_t hi, int64_t *out, sim_status *st);
/* Writes words (NULL-terminated) joined by ", " into buf (truncated to fit), for messages. */
void ydoc_join_words(const char *const *words, char *buf, size_t len);

/*
 * One of a fixed list of words: names is NULL-terminated, *out gets the index of the match.
 * what names the kind of word in the message: "key 'kind': unknown link kind 'nvlnk' (did
 * you mean 'nvlink'?); expected one of: generic, nvlink, ...".
 */
sim_code ydoc_get_enum(const ydoc *d, ynode map, const char *key, int required,
                       const char *what, const char *const *names, int *out, sim_status *st);
/*
 * Sets the value at a dotted key path ("fabric.oversubscription") to value, as a command-line
 * override: the new scalar replaces what the file had there, or is added, with any missing
 * mappings on the way; a 0-based index enters a list ("wan.0.bandwidth"). A value written
 * "[a, b]" becomes a list of scalars. origin (copied),
 * such as "--set parallelism.tp=4", stands for the file in messages about the new nodes,
 * which have no line. Errors: SIM_ERR_INPUT when a key on the way holds something other
 * than a mapping or the path is empty; SIM_ERR_NOMEM.
 */
sim_code ydoc_set(ydoc *d, const char *path, const char *value, const char *origin,
                  sim_status *st);

/* One override: path and value as for ydoc_set, origin for messages. All borrowed. */
typedef struct ydoc_override {
    const char *path, *value, *origin;
} ydoc_override;

/* ydoc_set for each of ov[0..n), in order; stops at the first error. */
sim_code ydoc_apply(ydoc *d, const ydoc_override *ov, size_t n, sim_status *st);

/*
 * A section: the mapping under key in map, whose keys must be among allowed (NULL-terminated;
 * did-you-mean on a stranger). *out = 0 when the key is absent and not required. Errors:
 * "missing key 'k' in PLACE: expected a mapping with keys a, b", a non-mapping value, an
 * unknown key.
 */
sim_code ydoc_get_section(const ydoc *d, ynode map, const char *key, int required,
                          const char *const *allowed, ynode *out, sim_status *st);

/* true/false/yes/no/on/off */
sim_code ydoc_get_bool(const ydoc *d, ynode map, const char *key, int required, int *out,
                       sim_status *st);

#endif
