/*
 * evq.c: the event queue as a 4-ary min-heap of instants, each a FIFO of nodes.
 *
 * Events of one (t_ps, klass) run in seq order, which is the order they were scheduled in:
 * so each distinct (t_ps, klass) is one bucket holding its nodes in a doubly linked FIFO,
 * and only buckets go through the heap. Replays are full of simultaneous events (the data-
 * parallel replicas of a rank run in lock step: two pops in three at 16k ranks find the
 * clock unchanged), so the heap is far smaller than the number of pending events and most
 * pops take a node off a list. A hash map from (t_ps, klass) to its bucket finds the bucket
 * a new event joins. The order is exactly the total order (t_ps, klass, seq) of evq.h.
 *
 * Buckets live in one array (indices, never pointers, so it may grow), recycled through a
 * free list; the heap holds each bucket's key beside its index, so sifts compare inside the
 * heap array. Arrays only grow (doubling): once a run has reached its peak nothing is
 * allocated.
 */
#include "core/evq.h"

#include <assert.h>
#include <stdlib.h>

typedef struct bucket {
    int64_t t_ps;
    ev_node *head, *tail;
    uint32_t heap_idx; /* position + 1 in the heap */
    uint32_t next_free;
    uint8_t klass;
} bucket;

/* A hash map entry: the instant's key (t_ps << 1 | klass) beside its bucket (NONE: empty). */
typedef struct hentry {
    uint64_t key;
    uint32_t b;
} hentry;

typedef struct slot {
    int64_t t_ps;
    uint32_t klass;
    uint32_t b; /* bucket index */
} slot;

#define NONE UINT32_MAX
#define ARITY 4

struct ev_engine {
    slot *heap;
    size_t n; /* buckets in the heap */
    bucket *bk;
    uint32_t n_bk, cap_bk, free_bk;
    hentry *hash; /* linear probing, keys held inline */
    size_t hash_cap; /* a power of two, at least twice the buckets in use */
    size_t pending;
    int64_t now_ps;
    uint64_t next_seq;
    uint64_t count;
    int stop;
};

/* ---- heap of buckets ---- */

static inline int slot_less(const slot *a, const slot *b)
{
    return a->t_ps < b->t_ps || (a->t_ps == b->t_ps && a->klass < b->klass);
}

static inline void place(ev_engine *e, size_t i, slot s)
{
    e->heap[i] = s;
    e->bk[s.b].heap_idx = (uint32_t)(i + 1);
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

static void heap_remove(ev_engine *e, size_t i)
{
    e->n--;
    if (i == e->n)
        return;
    e->heap[i] = e->heap[e->n];
    if (i > 0 && slot_less(&e->heap[i], &e->heap[(i - 1) / ARITY]))
        sift_up(e, i);
    else
        sift_down(e, i);
}

/* ---- hash map (t_ps, klass) -> bucket ---- */

static inline uint64_t key_of(int64_t t_ps, int klass)
{
    return (uint64_t)t_ps << 1 | (uint64_t)klass;
}

static inline size_t hash_of(uint64_t key, size_t mask)
{
    uint64_t z = key + UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return (size_t)(z ^ (z >> 31)) & mask;
}

/* The slot of (t_ps, klass): its bucket's, or the empty one where it would go. */
static size_t hash_find(const ev_engine *e, uint64_t key)
{
    size_t mask = e->hash_cap - 1;
    size_t i = hash_of(key, mask);
    while (e->hash[i].b != NONE && e->hash[i].key != key)
        i = (i + 1) & mask;
    return i;
}

/* Deletes slot i, shifting later entries of its probe run back (no tombstones). */
static void hash_delete(ev_engine *e, size_t i)
{
    size_t mask = e->hash_cap - 1;
    size_t j = i;
    for (;;) {
        e->hash[i].b = NONE;
        for (;;) {
            j = (j + 1) & mask;
            if (e->hash[j].b == NONE)
                return;
            size_t home = hash_of(e->hash[j].key, mask);
            /* the entry at j may move back to i unless its home lies cyclically in (i, j] */
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        e->hash[i] = e->hash[j];
        i = j;
    }
}

static int hash_grow(ev_engine *e, size_t want_buckets)
{
    if (2 * want_buckets <= e->hash_cap)
        return 0;
    size_t cap = e->hash_cap ? e->hash_cap : 512;
    while (cap < 2 * want_buckets)
        cap *= 2;
    hentry *h = malloc(cap * sizeof *h);
    if (!h)
        return -1;
    for (size_t i = 0; i < cap; i++)
        h[i].b = NONE;
    hentry *old = e->hash;
    e->hash = h;
    e->hash_cap = cap;
    for (size_t i = 0; i < e->n; i++) {
        uint32_t b = e->heap[i].b;
        uint64_t key = key_of(e->bk[b].t_ps, e->bk[b].klass);
        e->hash[hash_find(e, key)] = (hentry){key, b};
    }
    free(old);
    return 0;
}

/* ---- buckets ---- */

/* Room for want buckets in use (array, heap and hash map); 0 or -1 when out of memory. */
static int grow(ev_engine *e, size_t want)
{
    if (want > UINT32_MAX - 1)
        return -1;
    if (want > e->cap_bk) {
        size_t cap = e->cap_bk ? e->cap_bk : 256;
        while (cap < want)
            cap *= 2;
        if (cap > UINT32_MAX - 1)
            cap = UINT32_MAX - 1;
        bucket *bk = realloc(e->bk, cap * sizeof *bk);
        if (!bk)
            return -1;
        e->bk = bk;
        slot *h = realloc(e->heap, cap * sizeof *h);
        if (!h)
            return -1;
        e->heap = h;
        e->cap_bk = (uint32_t)cap;
    }
    return hash_grow(e, want);
}

/* The bucket of (t_ps, klass), made (in the heap and the map) when there is none; NONE when
 * out of memory. */
static uint32_t bucket_get(ev_engine *e, int64_t t_ps, int klass)
{
    if (!e->hash_cap && grow(e, 1) != 0)
        return NONE;
    uint64_t key = key_of(t_ps, klass);
    size_t h = hash_find(e, key);
    if (e->hash[h].b != NONE)
        return e->hash[h].b;
    if (e->n + 1 > e->cap_bk || 2 * (e->n + 1) > e->hash_cap) {
        if (grow(e, e->n + 1) != 0)
            return NONE;
        h = hash_find(e, key);
    }
    uint32_t b;
    if (e->free_bk != NONE) {
        b = e->free_bk;
        e->free_bk = e->bk[b].next_free;
    } else {
        b = e->n_bk++;
    }
    bucket *k = &e->bk[b];
    k->t_ps = t_ps;
    k->klass = (uint8_t)klass;
    k->head = k->tail = NULL;
    e->hash[h] = (hentry){key, b};
    e->heap[e->n] = (slot){t_ps, (uint32_t)klass, b};
    sift_up(e, e->n++);
    return b;
}

/* Drops the empty bucket b from the heap and the map. */
static void bucket_drop(ev_engine *e, uint32_t b)
{
    bucket *k = &e->bk[b];
    hash_delete(e, hash_find(e, key_of(k->t_ps, k->klass)));
    heap_remove(e, k->heap_idx - 1);
    k->heap_idx = 0;
    k->next_free = e->free_bk;
    e->free_bk = b;
}

/* Takes n off its bucket's list (dropping the bucket when it empties). */
static void unlink_node(ev_engine *e, ev_node *n)
{
    uint32_t b = n->where - 1;
    bucket *k = &e->bk[b];
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
    *out = e;
    return SIM_OK;
}

void ev_clear(ev_engine *e)
{
    for (size_t i = 0; i < e->n; i++) {
        bucket *k = &e->bk[e->heap[i].b];
        for (ev_node *n = k->head; n; n = n->next)
            n->where = 0;
    }
    for (size_t i = 0; i < e->hash_cap; i++)
        e->hash[i].b = NONE;
    e->n = 0;
    e->n_bk = 0;
    e->free_bk = NONE;
    e->pending = 0;
}

void ev_engine_destroy(ev_engine *e)
{
    if (!e)
        return;
    ev_clear(e);
    free(e->heap);
    free(e->bk);
    free(e->hash);
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
    n->klass = 0;
    n->fn = fn;
}

sim_code ev_reserve(ev_engine *e, size_t n, sim_status *st)
{
    if (grow(e, n) != 0)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for %zu events", n);
    return SIM_OK;
}

sim_code ev_schedule(ev_engine *e, ev_node *n, int64_t t_ps, int klass)
{
    assert(t_ps >= e->now_ps);
    assert(klass == EV_CLASS_NORMAL || klass == EV_CLASS_LATE);
    if (n->where) {
        if (n->t_ps == t_ps && n->klass == klass && !n->next) {
            n->seq = e->next_seq++; /* already last of its bucket: a fresh seq keeps it so */
            return SIM_OK;
        }
        unlink_node(e, n);
    }
    uint32_t b = bucket_get(e, t_ps, klass);
    if (b == NONE)
        return SIM_ERR_NOMEM;
    bucket *k = &e->bk[b];
    n->t_ps = t_ps;
    n->klass = (uint8_t)klass;
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
    e->stop = 0;
    while (e->n && !e->stop) {
        if (e->heap[0].t_ps > until_ps)
            break;
        ev_node *top = e->bk[e->heap[0].b].head;
        unlink_node(e, top);
        if (e->n) /* the next event's owner is likely cold: start fetching it now */
            __builtin_prefetch(e->bk[e->heap[0].b].head, 1);
        e->now_ps = top->t_ps;
        e->count++;
        ran++;
        top->fn(e, top);
    }
    return ran;
}

void ev_stop(ev_engine *e) { e->stop = 1; }
