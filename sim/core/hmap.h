/*
 * hmap.h: the project's one hash map, from 64-bit keys to 64-bit values (in practice
 * indices into an owner's array). Open addressing with linear probing over a power-of-two
 * table of {key, value} entries, kept at most half full, so a probe rarely passes two
 * entries and stays in one or two cache lines. Deletion shifts the following entries back
 * (no tombstones), so a long-lived map with many insertions and deletions never degrades.
 *
 * A slot is free when its value is SIM_HMAP_NONE, so values must differ from it; keys are
 * any 64-bit number. The slot a key starts from is sim_hash_mix(key), so keys need not be
 * well distributed themselves.
 *
 * Keys that are not numbers (names) are stored by their hash with sim_hmap_add, which
 * keeps several entries under one key, and found with sim_hmap_find_if, which asks the
 * caller whether an entry's value is the one sought (two names may share a 64-bit hash).
 *
 * The struct embeds in its owner; zero-initialized it is an empty map. Entries are owned
 * by the map and freed by sim_hmap_free. Iterate with a loop over ent[0..cap) skipping
 * free slots; any insertion or deletion may move entries.
 */
#ifndef SIM_HMAP_H
#define SIM_HMAP_H

#include <stddef.h>
#include <stdint.h>

#define SIM_HMAP_NONE UINT64_MAX

typedef struct sim_hmap_ent {
    uint64_t key;
    uint64_t val; /* SIM_HMAP_NONE: a free slot */
} sim_hmap_ent;

typedef struct sim_hmap {
    sim_hmap_ent *ent; /* cap slots */
    size_t cap;        /* 0 or a power of two */
    size_t n;          /* occupied slots */
} sim_hmap;

/* Room for n entries without growing. 0, or -1 when out of memory (the map unchanged). */
int sim_hmap_reserve(sim_hmap *m, size_t n);

/* The value stored under key (the first found with sim_hmap_add), or SIM_HMAP_NONE. */
uint64_t sim_hmap_get(const sim_hmap *m, uint64_t key);

/* Stores val under key, replacing the value of an entry with that key. val must not be
 * SIM_HMAP_NONE. 0, or -1 when out of memory (the map unchanged). */
int sim_hmap_put(sim_hmap *m, uint64_t key, uint64_t val);

/* Adds an entry even if key is present already (several values under one key). val must
 * not be SIM_HMAP_NONE. 0, or -1 when out of memory (the map unchanged). */
int sim_hmap_add(sim_hmap *m, uint64_t key, uint64_t val);

/* The value stored under key, as sim_hmap_get; when there is none, adds val under key (one
 * probe for the look-up and the insertion) and returns SIM_HMAP_NONE. val must not be
 * SIM_HMAP_NONE. *err: 0, or -1 when out of memory (the map unchanged). */
uint64_t sim_hmap_get_or_add(sim_hmap *m, uint64_t key, uint64_t val, int *err);

/* The first value under key for which match(ctx, value) is nonzero, or SIM_HMAP_NONE. */
uint64_t sim_hmap_find_if(const sim_hmap *m, uint64_t key,
                          int (*match)(const void *ctx, uint64_t val), const void *ctx);

/* Removes one entry under key (the one sim_hmap_get finds). 1 when removed, 0 when absent. */
int sim_hmap_del(sim_hmap *m, uint64_t key);

/* Frees the table and leaves an empty map. */
void sim_hmap_free(sim_hmap *m);

#endif
