/*
 * arena.c: a list of chunks, each bumped from the front. A request larger than a quarter
 * of the default chunk gets a chunk of its own so big arrays waste nothing.
 */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (1u << 20)
#define ARENA_ALIGN 16u

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} arena_chunk;

struct sim_arena {
    arena_chunk *head;
    size_t used_total;
};

sim_arena *sim_arena_create(void)
{
    return calloc(1, sizeof(sim_arena));
}

void sim_arena_destroy(sim_arena *a)
{
    if (!a)
        return;
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

void *sim_arena_alloc(sim_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
        arena_chunk *nc = malloc(sizeof(arena_chunk) + size);
        if (!nc)
            return NULL;
        nc->size = size;
        nc->used = 0;
        if (size == ARENA_CHUNK || !c) {
            nc->next = c;
            a->head = nc;
        } else {
            /* a private chunk for a big block: keep bumping the current one */
            nc->next = c->next;
            c->next = nc;
        }
        c = nc;
    }
    void *p = c->data + c->used;
    c->used += n;
    a->used_total += n;
    memset(p, 0, n);
    return p;
}

char *sim_arena_strdup(sim_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = sim_arena_alloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

size_t sim_arena_used(const sim_arena *a)
{
    return a ? a->used_total : 0;
}
