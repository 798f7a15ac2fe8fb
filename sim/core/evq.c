/*
 * evq.c: the event queue as a 4-ary min-heap of instants, each a FIFO of nodes.
 *
 * Events of one (t_ps, klass) run in seq order, which is the order they were scheduled in:
 * so each distinct (t_ps, klass) is a bucket holding its nodes in a doubly linked FIFO, and
 * only buckets go through the heap. Replays are full of simultaneous events (the data-
 * parallel replicas of a rank run in lock step: two pops in three at 16k ranks find the
 * clock unchanged), so the heap is far smaller than the number of pending events and most
 * pops take a node off a list. Runs of schedules for one instant (a collective's members
 * woken together, replicas in lock step) find their bucket as the one found last.
 *
 * Finding an instant's bucket: a lossy table, not a map. A direct-mapped table of bucket
 * indices, where the slot of an instant's key (t_ps << 1 | klass) names the last bucket
 * given that key, answers every look-up in one probe; a new bucket costs one store, an
 * emptied one nothing (a hash map's insertion and deletion were 10% of the 16k replay, and
 * clearing a slot when its bucket emptied was one more cache miss per bucket). A slot
 * outlives its bucket, so a bucket it names counts only while it is in use and holds the
 * key (`holds`); then it is the instant's newest: a bucket that gets a key, made or moved,
 * is written to the key's slot, so a newer bucket of the instant would have overwritten it.
 * The table holds at most 2^RECENT_MAX_BITS slots, a few kilobytes that stay in the cache:
 * a look-up that misses the one found last is mostly a new instant, and a large table was
 * a cache miss on each (at 16k ranks a table of 1,024 slots forgets 0.2% more instants
 * than one of 16,384). What it forgets costs a second bucket for the
 * instant, which is exact: buckets of one instant are ordered in the heap by when they were
 * made (`made`), and a bucket takes nodes only while it is its instant's newest (every node
 * appended goes to the bucket the look-up finds, the one found last or the table's, both of
 * which are the newest: a new bucket replaces its instant's entry and becomes the one found
 * last), so every node of an older bucket was scheduled before every node of a newer one and
 * popping the buckets oldest first is (t_ps, klass, seq) order. The heap key (t_ps, klass)
 * is one 64-bit number compared without branches; `made` settles ties, which are rare.
 *
 * Buckets live in one vector (indices, never pointers, so it may grow), recycled through a
 * free list; the heap holds each bucket's key beside its index, so sifts compare inside the
 * heap array. The vectors and the table only grow (doubling; the table restarts empty, which
 * only forgets, up to its bound): once a run has reached its peak nothing is allocated.
 */
#include "core/evq.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/vec.h"

typedef struct bucket {
    uint64_t key; /* key_of(t_ps, klass) */
    ev_node *head, *tail;
    uint64_t made;     /* creation order: ties between buckets of one instant go to the older */
    uint32_t heap_idx; /* position + 1 in the heap; 0: free */
    uint32_t next_free;
} bucket;

typedef struct slot {
    uint64_t key; /* key_of(t_ps, klass): one comparison orders two buckets' instants */
    uint32_t b;   /* bucket index */
} slot;

#define NONE UINT32_MAX
#define ARITY 4
#define RECENT_MIN_BITS 4
#define RECENT_MAX_BITS 10 /* the table's bound (see the top of the file) */

struct ev_engine {
    SIM_VEC(slot) heap; /* heap.n: the buckets in use */
    SIM_VEC(bucket) bk; /* in use or on the free list */
    uint32_t free_bk;
    uint32_t last_bk;   /* the bucket bucket_find found last (NONE: none), if still in use */
    uint32_t *recent;   /* [1 << recent_bits]: the newest bucket of an instant, or NONE */
    unsigned recent_bits;
    uint64_t next_made;
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

/* Two buckets of one instant: the older first (see the header comment). */
static bool older(const ev_engine *e, uint32_t a, uint32_t b)
{
    return e->bk.v[a].made < e->bk.v[b].made;
}

static inline bool slot_less(const ev_engine *e, const slot *a, const slot *b)
{
    if (__builtin_expect(a->key == b->key, 0))
        return older(e, a->b, b->b);
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
        if (!slot_less(e, &x, &e->heap.v[p]))
            break;
        place(e, i, e->heap.v[p]);
        i = p;
    }
    place(e, i, x);
}

/* The smallest of the children [c, last), without branches on the key comparisons, which
 * no predictor guesses; equal keys (rare) take a branch to compare the buckets' ages. */
static inline size_t min_child(const ev_engine *e, size_t c, size_t last)
{
    const slot *h = e->heap.v;
    size_t m = c;
    uint64_t k = h[c].key;
    for (size_t j = c + 1; j < last; j++) {
        bool less = h[j].key < k;
        if (__builtin_expect(h[j].key == k, 0))
            less = older(e, h[j].b, h[m].b);
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
        size_t m = min_child(e, c, last);
        if (!slot_less(e, &e->heap.v[m], &x))
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
    if (i > 0 && slot_less(e, &e->heap.v[i], &e->heap.v[(i - 1) / ARITY]))
        sift_up(e, i);
    else
        sift_down(e, i);
}

/* ---- the table of newest buckets ---- */

/* key's slot: Fibonacci hashing, whose top bits mix the instant's bits well enough. */
static inline uint32_t *recent_at(const ev_engine *e, uint64_t key)
{
    return &e->recent[(key * 0x9e3779b97f4a7c15ull) >> (64 - e->recent_bits)];
}

static void recent_forget_all(ev_engine *e)
{
    for (size_t i = 0; e->recent && i < (size_t)1 << e->recent_bits; i++)
        e->recent[i] = NONE;
}

/* b is in use and holds key: the one test a remembered bucket must pass. */
static inline bool holds(const ev_engine *e, uint32_t b, uint64_t key)
{
    return b != NONE && e->bk.v[b].heap_idx && e->bk.v[b].key == key;
}

/* ---- buckets ---- */

/* Room for want buckets in use (array, heap and table); 0 or -1 when out of memory. A
 * table that grows starts empty: it only forgets. */
static int grow(ev_engine *e, size_t want)
{
    if (want > UINT32_MAX - 1)
        return -1;
    if (sim_vec_reserve(&e->bk, want) != 0 || sim_vec_reserve(&e->heap, want) != 0)
        return -1;
    unsigned bits = e->recent ? e->recent_bits : RECENT_MIN_BITS;
    while (bits < RECENT_MAX_BITS && ((size_t)1 << bits) < 4 * want)
        bits++;
    if (e->recent && bits == e->recent_bits)
        return 0;
    uint32_t *r = malloc(((size_t)1 << bits) * sizeof *r);
    if (!r)
        return -1;
    free(e->recent);
    e->recent = r;
    e->recent_bits = bits;
    recent_forget_all(e);
    return 0;
}

/* The newest bucket of the instant key if the queue knows one (the one found last, or the
 * table's), else NONE: there may be none, or an older one forgotten. */
static uint32_t bucket_find(ev_engine *e, uint64_t key)
{
    if (holds(e, e->last_bk, key))
        return e->last_bk;
    if (!e->recent)
        return NONE;
    uint32_t b = *recent_at(e, key);
    if (!holds(e, b, key))
        return NONE;
    e->last_bk = b;
    return b;
}

/* The newest bucket of the instant key, made (in the heap and the table) when the queue knows
 * none; NONE when out of memory, with nothing changed. */
static uint32_t bucket_get(ev_engine *e, uint64_t key)
{
    uint32_t found = bucket_find(e, key);
    if (found != NONE)
        return found;
    /* buckets in use == heap.n, so with an empty free list bk.n == heap.n too */
    size_t want = e->heap.n + 1;
    if ((want > e->heap.cap || want > e->bk.cap || !e->recent) && grow(e, want) != 0)
        return NONE;
    uint32_t b = e->free_bk != NONE ? e->free_bk : (uint32_t)e->bk.n;
    if (b == e->free_bk)
        e->free_bk = e->bk.v[b].next_free;
    else
        e->bk.n++;
    bucket *k = &e->bk.v[b];
    k->key = key;
    k->head = k->tail = NULL;
    k->made = e->next_made++;
    *recent_at(e, key) = b;
    e->heap.v[e->heap.n] = (slot){key, b};
    sift_up(e, e->heap.n++);
    e->last_bk = b;
    return b;
}

/* Drops the empty bucket b from the heap (its slot in the table may name it still). */
static void bucket_drop(ev_engine *e, uint32_t b)
{
    bucket *k = &e->bk.v[b];
    heap_remove(e, k->heap_idx - 1);
    k->heap_idx = 0;
    k->next_free = e->free_bk;
    e->free_bk = b;
}

/*
 * Moves bucket b, holding only its node, to the instant (t_ps, klass), of which the queue
 * knows no bucket: the same as dropping b and making a bucket for the new instant (b becomes
 * its newest), but one sift instead of two, and the bucket reused. A rank's compute end
 * moved earlier when the communication beside its op ends (exec.c, speed_up) takes this path.
 */
static void bucket_move(ev_engine *e, uint32_t b, uint64_t key)
{
    bucket *k = &e->bk.v[b];
    uint64_t old = k->key;
    *recent_at(e, key) = b;
    k->key = key;
    k->made = e->next_made++;
    size_t i = k->heap_idx - 1;
    e->heap.v[i].key = key;
    if (key < old)
        sift_up(e, i);
    else /* later, or the same instant made newer */
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
    }
    recent_forget_all(e);
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
    free(e->recent);
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
    uint64_t key = key_of(t_ps, klass);
    if (n->where) {
        /* last of its bucket, and that bucket has its instant already or holds n alone: one
         * look-up settles both short cuts (the bucket found holds the key, so finding n's
         * own means n is at that instant already) */
        if (!n->next && ((n->t_ps == t_ps && n->klass == klass) || !n->prev)) {
            uint32_t found = bucket_find(e, key);
            if (found == n->where - 1) {
                n->seq = e->next_seq++; /* already last of its instant's newest bucket: a
                                           fresh seq keeps it so */
                return SIM_OK;
            }
            if (!n->prev && found == NONE) {
                bucket_move(e, n->where - 1, key); /* alone in its bucket */
                n->t_ps = t_ps;
                n->klass = klass;
                n->seq = e->next_seq++;
                return SIM_OK;
            }
        }
        unlink_node(e, n);
    }
    uint32_t b = bucket_get(e, key);
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
