/*
 * vec.h: the project's one growable array. A vector of T is a plain struct declared with
 * SIM_VEC(T): { T *v; size_t n; size_t cap; }, zero-initialized to an empty vector, so it
 * embeds in any owner and needs no create call. Elements live in v[0..n); cap elements are
 * allocated. Growth doubles the capacity (at least 8 elements), so pushing n elements costs
 * O(n) copies in all. A failed growth leaves the vector exactly as it was, so the caller can
 * report out-of-memory and still free what it holds.
 *
 *   typedef SIM_VEC(net_link) link_vec;       // a named type, to pass it to functions
 *   link_vec links = {0};
 *   if (sim_vec_push(&links, l) != 0) goto oom;
 *   net_link *slot = sim_vec_add(&links);      // one more element, uninitialized
 *   sim_vec_free(&links);
 *
 * The macros evaluate their vector argument more than once: pass a plain lvalue (&x,
 * &s->field), never an expression with side effects. They rely on every object pointer
 * having the representation of void *, as on every platform the project builds on.
 * Owner: the struct that embeds the vector; the elements are its, freed by sim_vec_free.
 */
#ifndef SIM_VEC_H
#define SIM_VEC_H

#include <stddef.h>
#include <stdlib.h>

#define SIM_VEC(T)  \
    struct {        \
        T *v;       \
        size_t n;   \
        size_t cap; \
    }

/*
 * Makes room for need elements of elem_size bytes in the block whose pointer is stored at
 * data_field (the vector's v) and whose capacity is *cap. Returns 0, or -1 when memory
 * runs out or the size overflows; then nothing changed. Use the macros below.
 */
int sim_vec_reserve_(void *data_field, size_t *cap, size_t need, size_t elem_size);

/* As sim_vec_reserve_, but a growth allocates exactly need elements, not a power of two:
 * for sizes known up front, where doubling would waste up to half the block. */
int sim_vec_reserve_exact_(void *data_field, size_t *cap, size_t need, size_t elem_size);

/* Room for at least need elements: 0, or -1 (out of memory, the vector unchanged). */
#define sim_vec_reserve(a, need) \
    sim_vec_reserve_(&(a)->v, &(a)->cap, (need), sizeof *(a)->v)

/* Room for exactly need elements when it must grow (a known final size): 0, or -1. */
#define sim_vec_reserve_exact(a, need) \
    sim_vec_reserve_exact_(&(a)->v, &(a)->cap, (need), sizeof *(a)->v)

/* Appends x: 0, or -1 (out of memory, the vector unchanged). */
#define sim_vec_push(a, x) \
    (sim_vec_reserve((a), (a)->n + 1) != 0 ? -1 : ((a)->v[(a)->n++] = (x), 0))

/* Appends one uninitialized element and returns its address; NULL when out of memory. */
#define sim_vec_add(a) \
    (sim_vec_reserve((a), (a)->n + 1) != 0 ? NULL : &(a)->v[(a)->n++])

/* The last element (the vector must not be empty). */
#define sim_vec_last(a) ((a)->v[(a)->n - 1])

/* Frees the elements' block and leaves an empty vector. */
#define sim_vec_free(a) (free((a)->v), (a)->v = NULL, (a)->n = 0, (a)->cap = 0)

#endif
