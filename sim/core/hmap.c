/*
 * hmap.c: the hash map of hmap.h. Invariants: cap is 0 or a power of two; n * 2 <= cap;
 * every occupied entry is reachable from its home slot sim_hash_mix(key) & (cap - 1) by a
 * run of occupied slots (linear probing), which deletion preserves by shifting entries back.
 */
#include "core/hmap.h"

#include <stdlib.h>

#include "core/hash.h"

static size_t home(const sim_hmap *m, uint64_t key)
{
    return (size_t)sim_hash_mix(key) & (m->cap - 1);
}

/* Places an entry into a table known to have room, without looking for its key. */
static void place(sim_hmap *m, uint64_t key, uint64_t val)
{
    size_t mask = m->cap - 1, i = home(m, key);
    while (m->ent[i].val != SIM_HMAP_NONE)
        i = (i + 1) & mask;
    m->ent[i].key = key;
    m->ent[i].val = val;
    m->n++;
}

static int resize(sim_hmap *m, size_t cap)
{
    sim_hmap nm = {malloc(cap * sizeof *nm.ent), cap, 0};
    if (!nm.ent)
        return -1;
    for (size_t i = 0; i < cap; i++)
        nm.ent[i].val = SIM_HMAP_NONE;
    for (size_t i = 0; i < m->cap; i++)
        if (m->ent[i].val != SIM_HMAP_NONE)
            place(&nm, m->ent[i].key, m->ent[i].val);
    free(m->ent);
    *m = nm;
    return 0;
}

int sim_hmap_reserve(sim_hmap *m, size_t n)
{
    size_t cap = m->cap ? m->cap : 16;
    while (n > cap / 2) {
        if (cap > SIZE_MAX / 2 / sizeof *m->ent)
            return -1;
        cap *= 2;
    }
    return cap == m->cap ? 0 : resize(m, cap);
}

/* The slot holding key, or the free slot ending its probe run; cap must be nonzero. */
static size_t probe(const sim_hmap *m, uint64_t key)
{
    size_t mask = m->cap - 1, i = home(m, key);
    while (m->ent[i].val != SIM_HMAP_NONE && m->ent[i].key != key)
        i = (i + 1) & mask;
    return i;
}

uint64_t sim_hmap_get(const sim_hmap *m, uint64_t key)
{
    return m->cap ? m->ent[probe(m, key)].val : SIM_HMAP_NONE;
}

int sim_hmap_put(sim_hmap *m, uint64_t key, uint64_t val)
{
    if (m->cap) {
        size_t i = probe(m, key);
        if (m->ent[i].val != SIM_HMAP_NONE) {
            m->ent[i].val = val;
            return 0;
        }
    }
    return sim_hmap_add(m, key, val);
}

int sim_hmap_add(sim_hmap *m, uint64_t key, uint64_t val)
{
    /* room already there (n + 1 <= cap / 2), the common case, costs no call */
    if ((m->n + 1) * 2 > m->cap && sim_hmap_reserve(m, m->n + 1) != 0)
        return -1;
    place(m, key, val);
    return 0;
}

uint64_t sim_hmap_get_or_add(sim_hmap *m, uint64_t key, uint64_t val, int *err)
{
    *err = 0;
    /* room first (it may grow the table by one entry's worth even when key is there) */
    if ((m->n + 1) * 2 > m->cap && sim_hmap_reserve(m, m->n + 1) != 0) {
        *err = -1;
        return SIM_HMAP_NONE;
    }
    size_t i = probe(m, key); /* key's slot, or the free slot place() would fill */
    if (m->ent[i].val != SIM_HMAP_NONE)
        return m->ent[i].val;
    m->ent[i].key = key;
    m->ent[i].val = val;
    m->n++;
    return SIM_HMAP_NONE;
}

uint64_t sim_hmap_find_if(const sim_hmap *m, uint64_t key,
                          int (*match)(const void *ctx, uint64_t val), const void *ctx)
{
    if (!m->cap)
        return SIM_HMAP_NONE;
    size_t mask = m->cap - 1;
    for (size_t i = home(m, key); m->ent[i].val != SIM_HMAP_NONE; i = (i + 1) & mask)
        if (m->ent[i].key == key && match(ctx, m->ent[i].val))
            return m->ent[i].val;
    return SIM_HMAP_NONE;
}

int sim_hmap_del(sim_hmap *m, uint64_t key)
{
    if (!m->cap)
        return 0;
    size_t mask = m->cap - 1, i = probe(m, key);
    if (m->ent[i].val == SIM_HMAP_NONE)
        return 0;
    m->ent[i].val = SIM_HMAP_NONE;
    m->n--;
    /* Shift back every later entry of the run whose home is not cyclically in (i, j]: with
     * slot i free, its probe from home would otherwise stop at i before reaching it. */
    for (size_t j = (i + 1) & mask; m->ent[j].val != SIM_HMAP_NONE; j = (j + 1) & mask) {
        size_t h = home(m, m->ent[j].key);
        int reachable = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (!reachable) {
            m->ent[i] = m->ent[j];
            m->ent[j].val = SIM_HMAP_NONE;
            i = j;
        }
    }
    return 1;
}

void sim_hmap_free(sim_hmap *m)
{
    free(m->ent);
    m->ent = NULL;
    m->cap = m->n = 0;
}
