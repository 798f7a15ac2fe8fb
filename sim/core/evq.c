/*
 * evq.c: 4-ary min-heap of intrusive nodes, keys held in the heap.
 *
 * heap[i] holds a node whose heap_idx == i + 1, with a copy of its key: the time and one
 * 64-bit word, klass in the top bit above seq (seq stays below 2^63). Comparisons read only
 * the heap array, never the nodes, which lie all over memory: at 16k ranks the pointer heap
 * spent nearly half the run in cache misses of its sift-down. Four children per node halve
 * the depth, and the four keys share a cache line or two. The order is the same total order
 * (t_ps, klass, seq), so events run in exactly the same sequence as with any other heap.
 * The heap array only grows (doubling), so once a run has reached its peak of pending events
 * nothing is allocated.
 */
#include "core/evq.h"

#include <assert.h>
#include <stdlib.h>

typedef struct slot {
    int64_t t_ps;
    uint64_t key; /* klass << 63 | seq */
    ev_node *n;
} slot;

struct ev_engine {
    slot *heap;
    size_t n, cap;
    int64_t now_ps;
    uint64_t next_seq;
    uint64_t count;
    int stop;
};

#define ARITY 4

static inline int slot_less(const slot *a, const slot *b)
{
    return a->t_ps < b->t_ps || (a->t_ps == b->t_ps && a->key < b->key);
}

static inline void place(ev_engine *e, size_t i, slot s)
{
    e->heap[i] = s;
    s.n->heap_idx = (uint32_t)(i + 1);
}

static void sift_up(ev_engine *e, size_t i)
{
    slot x = e->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / ARITY;
        if (!slot_less(&x, &e->heap[p]))
            break;
        place(e, i, e->heap[p]);
        i = p;
    }
    place(e, i, x);
}

static void sift_down(ev_engine *e, size_t i)
{
    slot x = e->heap[i];
    for (;;) {
        size_t c = ARITY * i + 1;
        if (c >= e->n)
            break;
        size_t last = c + ARITY < e->n ? c + ARITY : e->n;
        size_t m = c;
        for (size_t j = c + 1; j < last; j++)
            if (slot_less(&e->heap[j], &e->heap[m]))
                m = j;
        if (!slot_less(&e->heap[m], &x))
            break;
        place(e, i, e->heap[m]);
        i = m;
    }
    place(e, i, x);
}

/* Restores the heap around i after its key changed either way. */
static void sift(ev_engine *e, size_t i)
{
    if (i > 0 && slot_less(&e->heap[i], &e->heap[(i - 1) / ARITY]))
        sift_up(e, i);
    else
        sift_down(e, i);
}

sim_code ev_engine_create(ev_engine **out, sim_status *st)
{
    ev_engine *e = calloc(1, sizeof *e);
    if (!e)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory creating the engine");
    *out = e;
    return SIM_OK;
}

void ev_engine_destroy(ev_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        e->heap[i].n->heap_idx = 0;
    free(e->heap);
    free(e);
}

void ev_clear(ev_engine *e)
{
    for (size_t i = 0; i < e->n; i++)
        e->heap[i].n->heap_idx = 0;
    e->n = 0;
}

int64_t ev_now(const ev_engine *e) { return e->now_ps; }
uint64_t ev_count(const ev_engine *e) { return e->count; }
size_t ev_pending(const ev_engine *e) { return e->n; }

void ev_node_init(ev_node *n, ev_fn fn)
{
    n->t_ps = 0;
    n->seq = 0;
    n->heap_idx = 0;
    n->klass = 0;
    n->fn = fn;
}

static int heap_grow(ev_engine *e, size_t want)
{
    if (want <= e->cap)
        return 0;
    size_t cap = e->cap ? e->cap : 256;
    while (cap < want)
        cap *= 2;
    if (cap > UINT32_MAX - 1)
        return -1;
    slot *h = realloc(e->heap, cap * sizeof *h);
    if (!h)
        return -1;
    e->heap = h;
    e->cap = cap;
    return 0;
}

sim_code ev_reserve(ev_engine *e, size_t n, sim_status *st)
{
    if (heap_grow(e, n) != 0)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for %zu events", n);
    return SIM_OK;
}

sim_code ev_schedule(ev_engine *e, ev_node *n, int64_t t_ps, int klass)
{
    assert(t_ps >= e->now_ps);
    assert(e->next_seq < (UINT64_C(1) << 63));
    n->t_ps = t_ps;
    n->klass = (uint8_t)klass;
    n->seq = e->next_seq++;
    slot s = {t_ps, (uint64_t)(klass != 0) << 63 | n->seq, n};
    if (n->heap_idx) {
        size_t i = n->heap_idx - 1;
        e->heap[i] = s;
        sift(e, i);
        return SIM_OK;
    }
    if (e->n == e->cap && heap_grow(e, e->n + 1) != 0)
        return SIM_ERR_NOMEM;
    e->heap[e->n] = s;
    sift_up(e, e->n++);
    return SIM_OK;
}

void ev_cancel(ev_engine *e, ev_node *n)
{
    if (!n->heap_idx)
        return;
    size_t i = n->heap_idx - 1;
    n->heap_idx = 0;
    e->n--;
    if (i == e->n)
        return;
    e->heap[i] = e->heap[e->n];
    sift(e, i);
}

uint64_t ev_run(ev_engine *e, int64_t until_ps)
{
    uint64_t ran = 0;
    e->stop = 0;
    while (e->n && !e->stop) {
        if (e->heap[0].t_ps > until_ps)
            break;
        ev_node *top = e->heap[0].n;
        ev_cancel(e, top);
        if (e->n) /* the next event's owner is likely cold: start fetching it now */
            __builtin_prefetch(e->heap[0].n, 1);
        e->now_ps = top->t_ps;
        e->count++;
        ran++;
        top->fn(e, top);
    }
    return ran;
}

void ev_stop(ev_engine *e) { e->stop = 1; }
