/*
 * arena.h: bump allocator for load-time data (names, topology arrays, plans).
 *
 * Memory comes in chunks; everything allocated from an arena is freed at once by
 * sim_arena_destroy. Allocations are 16-byte aligned and zeroed. Not for the event loop:
 * use sim_pool there.
 */
#ifndef SIM_ARENA_H
#define SIM_ARENA_H

#include <stddef.h>

typedef struct sim_arena sim_arena;

/* Creates an empty arena; NULL when out of memory. Owned by the caller until destroy. */
sim_arena *sim_arena_create(void);
/* Frees every chunk; accepts NULL. */
void sim_arena_destroy(sim_arena *a);
/* n zeroed bytes, 16-byte aligned; NULL when out of memory. Owned by the arena. */
void *sim_arena_alloc(sim_arena *a, size_t n);
/* Copy of s (NUL-terminated) in the arena; NULL when out of memory. */
char *sim_arena_strdup(sim_arena *a, const char *s);
/* Bytes handed out so far (for memory reports). */
size_t sim_arena_used(const sim_arena *a);

#endif
