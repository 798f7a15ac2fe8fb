/*
 * pool.c: chunks of equal slots; a returned slot is pushed on an intrusive free list
 * (its first bytes hold the next pointer).
 */
#include "core/pool.h"

#include <stdlib.h>

typedef struct pool_chunk {
    struct pool_chunk *next;
    _Alignas(16) unsigned char data[];
} pool_chunk;

struct sim_pool {
    size_t obj_size, chunk_objs;
    pool_chunk *chunks;
    void *free_list;
    size_t live, bytes;
};

sim_pool *sim_pool_create(size_t obj_size, size_t chunk_objs)
{
    sim_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (obj_size < sizeof(void *))
        obj_size = sizeof(void *);
    p->obj_size = (obj_size + 15) & ~(size_t)15;
    p->chunk_objs = chunk_objs ? chunk_objs : 64;
    return p;
}

void sim_pool_destroy(sim_pool *p)
{
    if (!p)
        return;
    pool_chunk *c = p->chunks;
    while (c) {
        pool_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(p);
}

void *sim_pool_get(sim_pool *p)
{
    if (!p->free_list) {
        pool_chunk *c = malloc(sizeof(pool_chunk) + p->obj_size * p->chunk_objs);
        if (!c)
            return NULL;
        c->next = p->chunks;
        p->chunks = c;
        p->bytes += sizeof(pool_chunk) + p->obj_size * p->chunk_objs;
        for (size_t i = p->chunk_objs; i-- > 0;) {
            void *slot = c->data + i * p->obj_size;
            *(void **)slot = p->free_list;
            p->free_list = slot;
        }
    }
    void *obj = p->free_list;
    p->free_list = *(void **)obj;
    p->live++;
    return obj;
}

void sim_pool_put(sim_pool *p, void *obj)
{
    if (!obj)
        return;
    *(void **)obj = p->free_list;
    p->free_list = obj;
    p->live--;
}

size_t sim_pool_live(const sim_pool *p) { return p->live; }
size_t sim_pool_bytes(const sim_pool *p) { return p->bytes; }
