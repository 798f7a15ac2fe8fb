/*
 * evq.c: the event queue as a 4-ary min-heap of instants, each a FIFO of nodes.
 *
 * Events of one (t_ps, klass) run in seq order, which is the order they were scheduled in:
 * so each distinct (t_ps, klass) is one bucket holding its nodes in a doubly linked FIFO,
 * and only buckets go through the heap. Replays are full of simultaneous events (the data-
 * parallel replicas of a rank run in lock step: two pops in three at 16k ranks find the
 * clock unchanged), so the heap is far smaller than the number of pending events and most
 * pops take a node off a list. The project's hash map (sim_hmap) from the instant's key
 * (t_ps << 1 | klass) to its bucket finds the bucket a new event joins; a specialised map
 * beside the buckets measured no faster (the commit that made this change has the figures).
 * Runs of schedules for one instant (a collective's members woken together, replicas in
 * lock step) skip the map: the bucket found last, or the root, is checked first. A map-free
 * queue (a new bucket whenever the instant changes, ordered by creation) measured no faster
 * either (commit 443195e). The order is exactly the total order (t_ps, klass, seq) of evq.h.
 *
 * Buckets live in one vector (indices, never pointers, so it may grow), recycled through a
 * free list; the heap holds each bucket's key (one 64-bit number, compared without
 * branches) beside its index, so sifts compare inside the heap array. The vectors and the map only grow (doubling): once a run has reached its peak
 * nothing is allocated.
 */
#include "core/evq.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/hmap.h"
#include "core/vec.h"

typedef struct bucket {
    int64_t t_ps;
    ev_node *head, *tail;
    uint32_t heap_idx; /* position + 1 in the heap */
    uint32_t next_free;
    ev_class klass;
} bucket;

typedef struct slot {
    uint64_t key; /* key_of(t_ps, klass): one comparison orders two buckets */
    uint32_t b;   /* bucket index */
} slot;

#define NONE UINT32_MAX
#define ARITY 4

struct ev_engine {
    SIM_VEC(slot) heap; /* heap.n: the buckets in use */
    SIM_VEC(bucket) bk; /* in use or on the free list */
    uint32_t free_bk;
    uint32_t last_bk;   /* the bucket bucket_get found last (NONE: none), if still in use */
    sim_hmap instants;  /* key_of(t_ps, klass) -> bucket index, one per bucket in use */
    size_t pending;
    int64_t now_ps;
    uint64_t next_seq;
    uint64_t count;
    bool stop;
};

/* ---- heap of buckets ---- */

static inline uint64_t key_of(int64_t t_ps, ev_class klass)
{
    return (uint64_t)t_ps << 1 | (uint64_t)klass;
}

static inline int slot_less(const slot *a, const slot *b)
{
    return a->key < b->key;
}

static inline void place(ev_engine *e, size_t i, slot s)
{
    e->heap.v[i] = s;
    e->bk.v[s.b].heap_idx = (uint32_t)(i + 1);
}

static void sift_up(ev_engine *e, size_t i)
{
    slot x = e->heap.v[i];
    while (i > 0) {
        size_t p = (i - 1) / ARITY;
        if (!slot_less(&x, &e->heap.v[p]))
            break;
        place(e, i, e->heap.v[p]);
        i = p;
    }
    place(e, i, x);
}

/* The smallest of the children [c, last) (keys distinct: no ties), without branches on
 * the comparisons, which no predictor guesses. */
static inline size_t min_child(const slot *h, size_t c, size_t last)
{
    size_t m = c;
    uint64_t k = h[c].key;
    for (size_t j = c + 1; j < last; j++) {
        bool less = h[j].key < k;
        m = less ? j : m;
        k = less ? h[j].key : k;
    }
    return m;
}

static void sift_down(ev_engine *e, size_t i)
{
    slot x = e->heap.v[i];
    for (;;) {
        size_t c = ARITY * i + 1;
        if (c >= e->heap.n)
            break;
        size_t last = c + ARITY < e->heap.n ? c + ARITY : e->heap.n;
        size_t m = min_child(e->heap.v, c, last);
        if (!slot_less(&e->heap.v[m], &x))
            break;
        place(e, i, e->heap.v[m]);
        i = m;
    }
    place(e, i, x);
}

static void heap_remove(ev_engine *e, size_t i)
{
    e->heap.n--;
    if (i == e->heap.n)
        return;
    e->heap.v[i] = e->heap.v[e->heap.n];
    if (i > 0 && slot_less(&e->heap.v[i], &e->heap.v[(i - 1) / ARITY]))
        sift_up(e, i);
    else
        sift_down(e, i);
}

/* ---- buckets ---- */

/* Room for want buckets in use (array, heap and map); 0 or -1 when out of memory. */
static int grow(ev_engine *e, size_t want)
{
    if (want > UINT32_MAX - 1)
        return -1;
    if (sim_vec_reserve(&e->bk, want) != 0 || sim_vec_reserve(&e->heap, want) != 0)
        return -1;
    return sim_hmap_reserve(&e->instants, want);
}

/* Runs of events scheduled for one instant (ranks in lock step, wakes at now) find their
 * bucket without the map: the last one found, or the earliest; NONE when it is neither. */
static uint32_t bucket_near(const ev_engine *e, int64_t t_ps, ev_class klass, uint64_t key)
{
    if (e->last_bk != NONE && e->bk.v[e->last_bk].heap_idx &&
        e->bk.v[e->last_bk].t_ps == t_ps && e->bk.v[e->last_bk].klass == klass)
        return e->last_bk;
    if (e->heap.n && e->heap.v[0].key == key)
        return e->heap.v[0].b;
    return NONE;
}

/* The bucket of (t_ps, klass) if there is one, else NONE. */
static uint32_t bucket_find(ev_engine *e, int64_t t_ps, ev_class klass)
{
    uint64_t key = key_of(t_ps, klass);
    uint32_t near = bucket_near(e, t_ps, klass, key);
    if (near != NONE)
        return near;
    uint64_t found = sim_hmap_get(&e->instants, key);
    if (found != SIM_HMAP_NONE) {
        e->last_bk = (uint32_t)found;
        return (uint32_t)found;
    }
    return NONE;
}

/* The bucket of (t_ps, klass), made (in the heap and the map) when there is none; NONE when
 * out of memory, with nothing changed. */
static uint32_t bucket_get(ev_engine *e, int64_t t_ps, ev_class klass)
{
    uint64_t key = key_of(t_ps, klass);
    uint32_t near = bucket_near(e, t_ps, klass, key);
    if (near != NONE)
        return near;
    /* buckets in use == heap.n, so with an empty free list bk.n == heap.n too */
    size_t want = e->heap.n + 1;
    if ((want > e->heap.cap || want > e->bk.cap || want > UINT32_MAX - 1) &&
        grow(e, want) != 0)
        return NONE;
    /* the map's look-up and, when the instant has no bucket, its insertion in one probe */
    uint32_t b = e->free_bk != NONE ? e->free_bk : (uint32_t)e->bk.n;
    int err;
    uint64_t found = sim_hmap_get_or_add(&e->instants, key, b, &err);
    if (err != 0)
        return NONE;
    if (found != SIM_HMAP_NONE) {
        e->last_bk = (uint32_t)found;
        return (uint32_t)found;
    }
    if (b == e->free_bk)
        e->free_bk = e->bk.v[b].next_free;
    else
        e->bk.n++;
    bucket *k = &e->bk.v[b];
    k->t_ps = t_ps;
    k->klass = klass;
    k->head = k->tail = NULL;
    e->heap.v[e->heap.n] = (slot){key, b};
    sift_up(e, e->heap.n++);
    e->last_bk = b;
    return b;
}

/* Drops the empty bucket b from the heap and the map. */
static void bucket_drop(ev_engine *e, uint32_t b)
{
    bucket *k = &e->bk.v[b];
    sim_hmap_del(&e->instants, key_of(k->t_ps, k->klass));
    heap_remove(e, k->heap_idx - 1);
    k->heap_idx = 0;
    k->next_free = e->free_bk;
    e->free_bk = b;
}

/*
 * Moves bucket b, holding only its node, to the instant (t_ps, klass), which has no bucket:
 * the same as dropping b and making a bucket for the new instant, but one sift instead of
 * two, and the bucket and its map slot reused. A rank's compute end moved earlier when the
 * communication beside its op ends (exec.c, speed_up) takes this path.
 */
static void bucket_move(ev_engine *e, uint32_t b, int64_t t_ps, ev_class klass)
{
    bucket *k = &e->bk.v[b];
    uint64_t old = key_of(k->t_ps, k->klass), key = key_of(t_ps, klass);
    sim_hmap_del(&e->instants, old);
    (void)sim_hmap_add(&e->instants, key, b); /* one entry out, one in: no growth */
    k->t_ps = t_ps;
    k->klass = klass;
    size_t i = k->heap_idx - 1;
    e->heap.v[i].key = key;
    if (key < old)
        sift_up(e, i);
    else
        sift_down(e, i);
    e->last_bk = b;
}

/* Takes n off its bucket's list (dropping the bucket when it empties). */
static void unlink_node(ev_engine *e, ev_node *n)
{
    uint32_t b = n->where - 1;
    bucket *k = &e->bk.v[b];
    if (n->prev)
        n->prev->next = n->next;
    else
        k->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        k->tail = n->prev;
    n->where = 0;
    e->pending--;
    if (!k->head)
        bucket_drop(e, b);
}

/* ---- interface ---- */

sim_code ev_engine_create(ev_engine **out, sim_status *st)
{
    ev_engine *e = calloc(1, sizeof *e);
    if (!e)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory creating the engine");
    e->free_bk = NONE;
    e->last_bk = NONE;
    *out = e;
    return SIM_OK;
}

void ev_clear(ev_engine *e)
{
    for (size_t i = 0; i < e->heap.n; i++) {
        bucket *k = &e->bk.v[e->heap.v[i].b];
        for (ev_node *n = k->head; n; n = n->next)
            n->where = 0;
        sim_hmap_del(&e->instants, key_of(k->t_ps, k->klass));
    }
    e->heap.n = 0;
    e->bk.n = 0;
    e->free_bk = NONE;
    e->last_bk = NONE;
    e->pending = 0;
}

void ev_engine_destroy(ev_engine *e)
{
    if (!e)
        return;
    ev_clear(e);
    sim_vec_free(&e->heap);
    sim_vec_free(&e->bk);
    sim_hmap_free(&e->instants);
    free(e);
}

int64_t ev_now(const ev_engine *e) { return e->now_ps; }
uint64_t ev_count(const ev_engine *e) { return e->count; }
size_t ev_pending(const ev_engine *e) { return e->pending; }

void ev_node_init(ev_node *n, ev_fn fn)
{
    n->t_ps = 0;
    n->seq = 0;
    n->prev = n->next = NULL;
    n->where = 0;
    n->klass = EV_CLASS_NORMAL;
    n->fn = fn;
}

sim_code ev_reserve(ev_engine *e, size_t n, sim_status *st)
{
    if (grow(e, n) != 0)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for %zu events", n);
    return SIM_OK;
}

sim_code ev_schedule(ev_engine *e, ev_node *n, int64_t t_ps, ev_class klass)
{
    assert(t_ps >= e->now_ps);
    assert(klass == EV_CLASS_NORMAL || klass == EV_CLASS_LATE);
    if (n->where) {
        if (n->t_ps == t_ps && n->klass == klass && !n->next) {
            n->seq = e->next_seq++; /* already last of its bucket: a fresh seq keeps it so */
            return SIM_OK;
        }
        if (!n->prev && !n->next && bucket_find(e, t_ps, klass) == NONE) {
            bucket_move(e, n->where - 1, t_ps, klass); /* alone in its bucket */
            n->t_ps = t_ps;
            n->klass = klass;
            n->seq = e->next_seq++;
            return SIM_OK;
        }
        unlink_node(e, n);
    }
    uint32_t b = bucket_get(e, t_ps, klass);
    if (b == NONE)
        return SIM_ERR_NOMEM;
    bucket *k = &e->bk.v[b];
    n->t_ps = t_ps;
    n->klass = klass;
    n->seq = e->next_seq++;
    n->next = NULL;
    n->prev = k->tail;
    if (k->tail)
        k->tail->next = n;
    else
        k->head = n;
    k->tail = n;
    n->where = b + 1;
    e->pending++;
    return SIM_OK;
}

void ev_cancel(ev_engine *e, ev_node *n)
{
    if (n->where)
        unlink_node(e, n);
}

uint64_t ev_run(ev_engine *e, int64_t until_ps)
{
    uint64_t ran = 0;
    e->stop = false;
    while (e->heap.n && !e->stop) {
        if ((int64_t)(e->heap.v[0].key >> 1) > until_ps)
            break;
        ev_node *top = e->bk.v[e->heap.v[0].b].head;
        unlink_node(e, top);
        if (e->heap.n) { /* the next event's owner is likely cold: start fetching it now,
                            the node and the four cache lines after it (an owner keeps its
                            hot state next to its node: the executor's ranks do) */
            uintptr_t next = (uintptr_t)e->bk.v[e->heap.v[0].b].head;
            __builtin_prefetch((const void *)next, 1);
            __builtin_prefetch((const void *)(next + 64), 1);
            __builtin_prefetch((const void *)(next + 128), 1);
            __builtin_prefetch((const void *)(next + 192), 1);
            __builtin_prefetch((const void *)(next + 256), 1);
        }
        e->now_ps = top->t_ps;
        e->count++;
        ran++;
        top->fn(e, top);
    }
    return ran;
}

void ev_stop(ev_engine *e) { e->stop = true; }
