/*
 * evq.c: binary min-heap of intrusive nodes.
 *
 * heap[i] holds a node whose heap_idx == i + 1. The heap array only grows (doubling), so
 * once a run has reached its peak of pending events nothing is allocated. Sift operations
 * move pointers and fix heap_idx as they go.
 */
#include "core/evq.h"

#include <assert.h>
#include <stdlib.h>

struct ev_engine {
    ev_node **heap;
    size_t n, cap;
    int64_t now_ps;
    uint64_t next_seq;
    uint64_t count;
    int stop;
};

static inline int node_less(const ev_node *a, const ev_node *b)
{
    if (a->t_ps != b->t_ps)
        return a->t_ps < b->t_ps;
    if (a->klass != b->klass)
        return a->klass < b->klass;
    return a->seq < b->seq;
}

static void sift_up(ev_engine *e, size_t i)
{
    ev_node *x = e->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!node_less(x, e->heap[p]))
            break;
        e->heap[i] = e->heap[p];
        e->heap[i]->heap_idx = (uint32_t)(i + 1);
        i = p;
    }
    e->heap[i] = x;
    x->heap_idx = (uint32_t)(i + 1);
}

static void sift_down(ev_engine *e, size_t i)
{
    ev_node *x = e->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= e->n)
            break;
        if (c + 1 < e->n && node_less(e->heap[c + 1], e->heap[c]))
            c++;
        if (!node_less(e->heap[c], x))
            break;
        e->heap[i] = e->heap[c];
        e->heap[i]->heap_idx = (uint32_t)(i + 1);
        i = c;
    }
    e->heap[i] = x;
    x->heap_idx = (uint32_t)(i + 1);
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
        e->heap[i]->heap_idx = 0;
    free(e->heap);
    free(e);
}

void ev_clear(ev_engine *e)
{
    for (size_t i = 0; i < e->n; i++)
        e->heap[i]->heap_idx = 0;
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
    ev_node **h = realloc(e->heap, cap * sizeof *h);
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
    n->t_ps = t_ps;
    n->klass = (uint8_t)klass;
    n->seq = e->next_seq++;
    if (n->heap_idx) {
        size_t i = n->heap_idx - 1;
        sift_up(e, i);
        sift_down(e, n->heap_idx - 1);
        return SIM_OK;
    }
    if (e->n == e->cap && heap_grow(e, e->n + 1) != 0)
        return SIM_ERR_NOMEM;
    e->heap[e->n] = n;
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
    e->heap[i]->heap_idx = (uint32_t)(i + 1);
    sift_up(e, i);
    sift_down(e, e->heap[i]->heap_idx - 1);
}

uint64_t ev_run(ev_engine *e, int64_t until_ps)
{
    uint64_t ran = 0;
    e->stop = 0;
    while (e->n && !e->stop) {
        ev_node *top = e->heap[0];
        if (top->t_ps > until_ps)
            break;
        ev_cancel(e, top);
        e->now_ps = top->t_ps;
        e->count++;
        ran++;
        top->fn(e, top);
    }
    return ran;
}

void ev_stop(ev_engine *e) { e->stop = 1; }
