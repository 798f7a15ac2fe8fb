/*
 * pool.h: fixed-size object pool with a free list, for objects created and destroyed in
 * the event loop (transfers, usage arrays). Memory comes in chunks that are kept until
 * sim_pool_destroy, so after warm-up a run allocates nothing. Objects are not zeroed.
 */
#ifndef SIM_POOL_H
#define SIM_POOL_H

#include <stddef.h>

typedef struct sim_pool sim_pool;

/* Pool of objects of obj_size bytes (rounded up to 16), chunk_objs per chunk. NULL: no mem. */
sim_pool *sim_pool_create(size_t obj_size, size_t chunk_objs);
void sim_pool_destroy(sim_pool *p); /* accepts NULL; frees every object */
void *sim_pool_get(sim_pool *p);    /* NULL when out of memory */
void sim_pool_put(sim_pool *p, void *obj); /* obj must come from p */
size_t sim_pool_live(const sim_pool *p);   /* objects handed out and not returned */
size_t sim_pool_bytes(const sim_pool *p);  /* bytes held in chunks */

#endif
