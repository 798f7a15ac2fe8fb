/*
 * maxmin.c: incremental and naive weighted max-min solvers.
 *
 * Constraint records hold a contiguous array of their users (swap-removed; each element
 * remembers its position there) and the scratch of a solve: remaining capacity rem, unfixed
 * weight sumw and unfixed count nunf. A user is a slot: the enabled variables sit in a dense
 * array of slots (their bound and first two usages copied), and their marks in a second
 * one, so that a fill never touches the caller's memory. Visit stamps (epoch) make "not yet
 * seen in this solve" an O(1) test without clearing anything.
 *
 * Incremental solve of one component, in O(E log L) for E elements over L links:
 *   1. collect the component by breadth-first search from a modified link;
 *   2. every link gets rem = capacity, sumw = sum of its users' weights, key = rem / sumw;
 *   3. repeatedly take the smaller of the lowest key and the lowest unfixed bound; fix the
 *      variables of that link (or that variable) at level max(key, previous level),
 *      subtracting w * rate from each link they cross.
 * Fixing a variable at level r <= s never lowers the share s of a link it crosses:
 * (rem - w r) / (sumw - w) >= rem / sumw exactly when r <= s. So levels are monotone, ties
 * resolve in one pass without an epsilon, and keys only rise: the heap is lazy. A link's
 * key is refreshed only when it reaches the top (a stale key is a lower bound), which makes
 * fixing a variable O(1) and the whole fill O(E + L log L) in the common case.
 *
 * Resuming a fill. In a dense component (an all-to-all) every departure changes the
 * rates of a large part of it, so re-solving only "what changed" does not help; but the
 * fill before the departed variable's level is unchanged. Removing variable v (fixed at
 * level r in step k: one link reaching the top, or one bound) only raises the shares of
 * v's links, which were not at the top before step k; every other link has the same
 * share at every point before step k. So steps 1..k-1 happen again exactly as before. A
 * fill of a component of RZ_MIN_VARS variables or more therefore writes a log: its
 * variables in the order it fixed them, each with its rate and its step's first position.
 * When the only changes since are departures from that component, the solve resumes at
 * the earliest departed step P: the variables logged after P (the suffix) are unfixed
 * again and give back to their links what they took (the departed gave theirs back when
 * disabled), every link they cross goes back into the heap, and the fill runs from the
 * level of entry P - 1 over the suffix only. Its cost is the suffix's, about 48% of the
 * component on issue 18's all-to-all. rem then comes from additions onto the previous
 * fill's rem rather than from the capacity, which lets rounding wander; a whole fill
 * every RZ_MAX_RESUMES resumes bounds that (on a 48-endpoint all-to-all, `clustersim flows`
 * finish times differ from the naive solver's by 1.6e-14 relative at most). A resume
 * reports the suffix and, from the prefix, only the variable of smallest caller key (the
 * log's min, the prefix minimum): the prefix's rates did not change, and the caller only
 * needs the component's earliest finisher.
 * Since a departure may split the component, the logged set is re-solved as a whole,
 * component by component, when its log is given up after resumes (log_drop).
 *
 * Several components are logged at once (RZ_LOGS, the least recently used gives way), so
 * that the many mid-sized components of concurrent all-to-alls each resume: a solve first
 * resumes every log whose component saw departures only, then solves the other modified
 * links whole. An arrival on a logged link or a capacity change voids that log only. A
 * resume whose log holds no bounded variable and none of more than RZ_INLINE usages fills
 * on its own (resume_fill): per-link lists of the suffix only, built in the pass that gives
 * back the suffix's loads from the log's member records, which copy each variable's usages,
 * so it touches neither the slots nor the variables fixed before. The log's order is
 * entries of 16 bytes (member, step, rate) over member records that stay put, so a resume
 * rewrites 16 bytes per re-filled variable; in a log of unit weights (an all-to-all of
 * point-to-point flows) a link's sumw equals its nunf exactly, so the resume keeps nunf
 * only and reads no weight.
 */
#include "net/maxmin.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"

#define RATE_REL_TOL 1e-12
#define NAIVE_TIE_TOL 1e-12

/* The array p resized to n elements, or, when out of memory, left as it was and `fail` run
 * (a goto or a return). */
#define RESIZE(p, n, fail)                                                                   \
    do {                                                                                     \
        void *q_ = realloc((p), (n) * sizeof *(p));                                          \
        if (!q_)                                                                             \
            fail;                                                                            \
        (p) = q_;                                                                            \
    } while (0)

typedef struct mm_user {
    uint32_t slot; /* the variable's slot (its index in the enabled list) */
    uint32_t k;    /* index of this usage in var->elems */
} mm_user;

/* One enabled variable as the incremental solver sees it: a copy of what a solve reads
 * (bound, first two usages) beside its scratch, so that a fill walks one dense array of
 * cache lines instead of the caller's transfers and their element arrays. Variables with
 * more than two usages read the rest from var->elems. */
#define SLOT_INLINE 2
typedef struct mm_slot {
    net_mm_var *var;
    double next_rate;
    double bound; /* 0 = none */
    uint32_t n_elems;
    uint32_t comp_pos; /* scratch: position in the component being solved */
    int32_t c[SLOT_INLINE];
    union {
        double w[SLOT_INLINE];  /* n_elems <= SLOT_INLINE */
        net_mm_elem *el;        /* otherwise: var->elems */
    };
    uint32_t bound_epoch; /* scratch: bound_at is valid when this is the solve's epoch */
    uint32_t bound_at;    /* scratch: index of the variable's entry in bounded */
    uint32_t rz_id;       /* id of the fill log it is in (see rz_log); its member: fix_pos */
    uint32_t rz_at;       /* that log's place in logs */
} mm_slot;

#define RZ_MIN_VARS 128   /* smaller components are re-filled whole */
#define RZ_MAX_RESUMES 32 /* a whole re-fill after this many resumes bounds rounding drift */
#define RZ_LOGS 32        /* logs kept at once: the least recently used gives way */
#define RZ_DEAD UINT32_MAX
/* A log's variables are its members, numbered in the order of its whole fill and kept
 * until the log goes: a member's record copies what a resume and a report read of its
 * variable (the variable, and its usages when it has at most RZ_INLINE of them: a path
 * through a two-tier fabric), so that they stream through the log instead of visiting the
 * slots (and the caller's usage arrays), a cache miss each. An entry is one position of the
 * fill order: 16 bytes (its member, step and rate), so that a resume, which rewrites the
 * order of its suffix, moves little memory; the members stay where they are. */
#define RZ_INLINE 4
typedef struct rz_ent {
    uint32_t m; /* its member; RZ_DEAD once disabled */
    uint32_t step;
    double rate;
} rz_ent;

/* A member: its usages' links c (up to the first c[k] < 0; c[0] < 0 when it has more than
 * RZ_INLINE of them: then read its slot), its variable, its entry, and the resume that
 * fixed it last (done): what a resume's fill reads and writes of it in one half cache line.
 * The weights sit apart (rz_wts), so that a log of unit weights never reads them. */
typedef struct rz_mem {
    int32_t c[RZ_INLINE];
    net_mm_var *var;
    uint32_t pos;  /* its entry in ent */
    uint32_t done; /* == the resume's stamp once that resume fixed it */
} rz_mem;
typedef struct rz_wts {
    double w[RZ_INLINE];
} rz_wts;
/* Whether member record r has a usage k: with kw = 0, up to the first c[k] < 0; a constant
 * kw > 0 (every member has kw usages) lets the compiler unroll a resume's loops. */
#define RZ_USAGE_MORE(r, k, kw) ((kw) ? (k) < (kw) : (k) < RZ_INLINE && (r).c[k] >= 0)

/* The fill log of one large component (see "Resuming a fill" in the file comment): its
 * variables in the order the fill fixed them, each with its rate and the position of the
 * first variable fixed in the same step (one link reaching the top, or one bound), and the
 * component's links. A slot or link belongs to the log at logs[rz_at] while its rz_id is
 * that log's id (ids are never reused, so a log dropped or replaced lets go of everything
 * at once). Its arrays grow when a larger component is logged in its place (the only
 * allocation of a solve; when it fails, that fill is not logged). */
typedef struct rz_log {
    rz_ent *ent;
    net_mm_var **min; /* min[i]: smallest key in ent[0..i] (the first on ties) */
    size_t n, cap;
    /* per member (n_mem of them, capacity cap): its record (64-byte aligned), weights and
     * slot */
    rz_mem *mem;
    rz_wts *mw;
    uint32_t *mslot;
    size_t n_mem;
    int32_t *links;
    size_t nc, links_cap;
    uint32_t id;      /* 0: unused */
    uint32_t resumes; /* resumes since its whole fill */
    uint32_t n_special; /* its variables with a bound or more than RZ_INLINE usages */
    uint32_t n_live;    /* its members still enabled, and those of them of two usages */
    uint32_t n_pair;
    uint32_t from;    /* smallest step of a variable disabled since the last solve */
    uint64_t seen;    /* epoch of the last solve that looked at it */
    uint64_t used;    /* for the choice of the log that gives way: its last fill or resume */
    bool resume;      /* the solve under way resumes it */
    bool other;       /* since the last solve, a change a resume cannot take (an arrival on
                       * one of its links, a capacity change) */
    bool unit;        /* every weight of its members is 1: a resume's fill need not read
                       * them (w * r = r exactly) */
} rz_log;

/* A slot's mark, in a dense array of its own (the fill tests it once per usage, so it
 * should stay in cache): 2 epoch when the variable is in the component being solved and
 * unfixed, 2 epoch + 1 once fixed, anything else when not seen in this solve. */
#define MARK_SEEN(ep) ((uint32_t)(2 * (ep)))
#define MARK_FIXED(ep) ((uint32_t)(2 * (ep) + 1))

/* Distance of the software prefetches in loops that visit slots or variables in an order
 * unrelated to their addresses (fill order): far enough to hide a miss to L3. */
#define PREFETCH_AHEAD 8

static inline int32_t slot_cnst(const mm_slot *sl, uint32_t k)
{
    return sl->n_elems <= SLOT_INLINE ? sl->c[k] : sl->el[k].cnst;
}

static inline double slot_w(const mm_slot *sl, uint32_t k)
{
    return sl->n_elems <= SLOT_INLINE ? sl->w[k] : sl->el[k].w;
}

/* A link's users: contiguous, scanned sequentially. The first lives in the link's own
 * record (inl) until a second comes: then all move to the heap, 4 first (most links carry a
 * few users), doubling, and stay there. */
typedef struct mm_users {
    mm_user *v; /* NULL, the record's inl, or owned */
    uint32_t n, cap;
} mm_users;

/* One cache line per link, the array allocated on a line boundary (net_mm_create): an
 * arrival or a departure touches each of its links' records, a miss each at scale, two when
 * they straddled two lines (a large calloc starts 16 bytes into a page), and one more for
 * the users of a link that has them elsewhere. */
typedef struct mm_cnst {
    _Alignas(64) double cap;
    double rem, sumw;
    mm_users users;
    uint32_t epoch;
    uint32_t rz_id; /* the fill log whose component holds this link (see rz_log) */
    uint32_t nunf;
    bool modified;
    uint8_t rz_at;
    mm_user inl; /* the first user while the link has had one at most */
} mm_cnst;
_Static_assert(sizeof(mm_cnst) == 64, "a link's record is one cache line");

typedef struct mm_hent {
    double key;
    int32_t id;
} mm_hent;

typedef struct bound_ent {
    double bound;
    uint32_t order;
    uint32_t slot;
} bound_ent;

struct net_mm_system {
    size_t n_cnst;
    mm_cnst *c;   /* on a cache-line boundary inside c_mem */
    void *c_mem;
    int32_t *mod;
    size_t n_mod;
    SIM_VEC(net_mm_var *) active;
    /* slots stay put while their variable is enabled (freed ones are reused), so that a
     * departure never has to renumber another variable's usages; capacity active.cap */
    mm_slot *slots;
    uint32_t *mark;
    uint32_t *free_slots;
    size_t n_free, n_slots; /* freed slots; slots ever used */
    size_t n_capped; /* enabled variables with a bound */
    /* scratch sized to n_cnst, or reserved as far as active (so a solve never allocates):
     * comp_v and bounded hold the variables and bounds of the component being solved */
    int32_t *comp_c;
    SIM_VEC(net_mm_var *) comp_v;
    uint32_t *comp_s; /* slots of comp_v, capacity active.cap */
    mm_hent *heap;
    size_t n_heap;
    SIM_VEC(bound_ent) bounded;
    uint64_t epoch;
    /* the fill logs, and the one being written or resumed */
    rz_log logs[RZ_LOGS];
    rz_log *cur;
    uint32_t rz_next_id;
    uint32_t *fix_pos; /* fix_pos[slot]: the slot's member in its log */
    /* a resume's own fill (resume_fill): per link [loc_beg, loc_end) in loc_users, its
     * suffix members in log order */
    uint32_t *loc_users; /* capacity RZ_INLINE active.cap */
    uint32_t *loc_beg, *loc_end;
    bool logging;        /* the fill under way writes the log cur */
    bool rz_fresh;       /* ... from its start (its members are made as they are fixed) */
    bool naive;
    net_mm_stats stats;
};

sim_code net_mm_create(size_t n_cnst, const double *cap_Bps, int naive, net_mm_system **out,
                       sim_status *st)
{
    net_mm_system *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    s->n_cnst = n_cnst;
    s->naive = naive;
    size_t n = n_cnst ? n_cnst : 1;
    /* calloc, whose fresh pages the kernel zeroes as they are first touched, one record
     * more, and the array started at its first line boundary */
    s->c_mem = calloc(n + 1, sizeof *s->c);
    if (s->c_mem)
        s->c = (mm_cnst *)(void *)((char *)s->c_mem +
                                   (-(uintptr_t)s->c_mem & (_Alignof(mm_cnst) - 1)));
    s->mod = malloc(n * sizeof *s->mod);
    s->comp_c = malloc(n * sizeof *s->comp_c);
    s->heap = malloc(n * sizeof *s->heap);
    s->loc_beg = malloc(n * sizeof *s->loc_beg);
    s->loc_end = malloc(n * sizeof *s->loc_end);
    if (!s->c || !s->mod || !s->comp_c || !s->heap || !s->loc_beg || !s->loc_end)
        goto nomem;
    for (size_t i = 0; i < n_cnst; i++) {
        assert(cap_Bps[i] > 0);
        s->c[i].cap = cap_Bps[i];
    }
    *out = s;
    return SIM_OK;
nomem:
    net_mm_destroy(s);
    return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0,
                          "out of memory for a sharing system of %zu links", n_cnst);
}

void net_mm_destroy(net_mm_system *s)
{
    if (!s)
        return;
    if (s->c)
        for (size_t i = 0; i < s->n_cnst; i++)
            if (s->c[i].users.v != &s->c[i].inl)
                free(s->c[i].users.v);
    free(s->c_mem);
    free(s->mod);
    free(s->comp_c);
    for (int i = 0; i < RZ_LOGS; i++) {
        free(s->logs[i].ent);
        free(s->logs[i].min);
        free(s->logs[i].links);
        free(s->logs[i].mem);
        free(s->logs[i].mw);
        free(s->logs[i].mslot);
    }
    free(s->fix_pos);
    free(s->loc_users);
    free(s->loc_beg);
    free(s->loc_end);
    free(s->heap);
    sim_vec_free(&s->active);
    free(s->slots);
    free(s->free_slots);
    free(s->mark);
    free(s->comp_s);
    sim_vec_free(&s->comp_v);
    sim_vec_free(&s->bounded);
    free(s);
}

static void mark_modified(net_mm_system *s, int32_t c)
{
    if (!s->c[c].modified) {
        s->c[c].modified = true;
        s->mod[s->n_mod++] = c;
    }
}

/* The log link c belongs to, or NULL. */
static rz_log *log_of_link(net_mm_system *s, int32_t c)
{
    rz_log *lg = &s->logs[s->c[c].rz_at];
    return lg->id && lg->id == s->c[c].rz_id ? lg : NULL;
}

/* Forgets a log. After resumes its variables may form several components, all reported
 * as one so far (the caller then queues only the earliest finisher of them all), so its
 * links are re-solved, each component reported on its own. */
static void log_drop(net_mm_system *s, rz_log *lg)
{
    if (lg->resumes > 0)
        for (size_t i = 0; i < lg->nc; i++)
            mark_modified(s, lg->links[i]);
    lg->id = 0;
}

sim_code net_mm_reserve(net_mm_system *s, size_t n, sim_status *st)
{
    if (n <= s->active.cap && n <= s->comp_v.cap && n <= s->bounded.cap && s->slots)
        return SIM_OK;
    size_t old = s->active.cap;
    if (sim_vec_reserve(&s->active, n) != 0 || sim_vec_reserve(&s->comp_v, n) != 0 ||
        sim_vec_reserve(&s->bounded, n) != 0)
        goto nomem;
    if (s->active.cap != old || !s->slots) {
        size_t cap = s->active.cap ? s->active.cap : 1;
#define GROW(field) RESIZE(s->field, cap, goto nomem)
        GROW(slots);
        GROW(comp_s);
        GROW(mark);
        GROW(fix_pos);
        cap *= RZ_INLINE;
        GROW(loc_users);
        GROW(free_slots);
#undef GROW
    }
    return SIM_OK;
nomem:
    return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0,
                          "out of memory for %zu concurrent transfers", n);
}

/* Appends u to c's users (mm_users); -1 when out of memory, with nothing changed. */
static int users_push(mm_cnst *c, mm_user u)
{
    mm_users *us = &c->users;
    if (us->n == us->cap) {
        if (!us->cap) {
            us->v = &c->inl;
            us->cap = 1;
        } else {
            uint32_t cap = us->cap < 4 ? 4 : 2 * us->cap;
            bool inl = us->v == &c->inl;
            mm_user *v = realloc(inl ? NULL : us->v, cap * sizeof *v);
            if (!v)
                return -1;
            if (inl)
                memcpy(v, us->v, us->n * sizeof *v);
            us->v = v;
            us->cap = cap;
        }
    }
    us->v[us->n++] = u;
    return 0;
}

sim_code net_mm_var_enable(net_mm_system *s, net_mm_var *var, sim_status *st)
{
    assert(!var->enabled && var->n_elems > 0);
    sim_code rc = net_mm_reserve(s, s->active.n + 1, st);
    if (rc != SIM_OK)
        return rc;
    var->active_idx = (uint32_t)s->active.n;
    s->active.v[s->active.n++] = var;
    uint32_t idx = s->n_free ? s->free_slots[--s->n_free] : (uint32_t)s->n_slots++;
    var->slot = idx;
    var->enabled = true;
    var->rate = 0;
    mm_slot *sl = &s->slots[idx];
    memset(sl, 0, sizeof *sl);
    sl->var = var;
    sl->bound = var->bound > 0 ? var->bound : 0;
    s->mark[idx] = 0;
    sl->n_elems = var->n_elems;
    if (var->n_elems > SLOT_INLINE)
        sl->el = var->elems;
    for (uint32_t i = 0; i < var->n_elems && var->n_elems <= SLOT_INLINE; i++) {
        sl->c[i] = var->elems[i].cnst;
        sl->w[i] = var->elems[i].w;
    }
    if (sl->bound > 0)
        s->n_capped++;
    for (uint32_t i = 0; i < var->n_elems; i++) {
        net_mm_elem *e = &var->elems[i];
        assert(e->cnst >= 0 && (size_t)e->cnst < s->n_cnst && e->w > 0);
        rz_log *lg = log_of_link(s, e->cnst);
        if (lg)
            lg->other = true; /* an arrival: that log cannot be resumed */
        mm_cnst *c = &s->c[e->cnst];
        e->var = var;
        e->pos = (uint32_t)c->users.n;
        if (users_push(c, (mm_user){idx, i}) != 0) {
            /* undo the usages added so far, leave var disabled */
            for (uint32_t j = 0; j < i; j++)
                s->c[var->elems[j].cnst].users.n--;
            s->active.n--;
            s->free_slots[s->n_free++] = idx;
            if (sl->bound > 0)
                s->n_capped--;
            var->enabled = false;
            return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0,
                                  "out of memory for the users of a link");
        }
        mark_modified(s, e->cnst);
    }
    return SIM_OK;
}

void net_mm_var_disable(net_mm_system *s, net_mm_var *var)
{
    if (!var->enabled)
        return;
    for (uint32_t i = 0; i < var->n_elems; i++) {
        net_mm_elem *e = &var->elems[i];
        mm_cnst *c = &s->c[e->cnst];
        mm_user last = c->users.v[--c->users.n];
        if (e->pos != c->users.n) {
            c->users.v[e->pos] = last;
            /* a wide variable's slot points at its elements: one miss fewer */
            const mm_slot *ls = &s->slots[last.slot];
            net_mm_elem *lel = ls->n_elems > SLOT_INLINE ? ls->el : ls->var->elems;
            lel[last.k].pos = e->pos;
        }
        /* A link left without users and outside every log is a component of no variable:
         * its solve would report nothing and set only scratch that the next solve to reach
         * the link sets again, so it is not re-solved (a collective's ring inside one
         * NVLink domain, alone on its links, left 16 such components per departure). The
         * naive solver solves only when something is marked: every departure counts. */
        if (c->users.n || s->naive || log_of_link(s, e->cnst))
            mark_modified(s, e->cnst);
    }
    uint32_t ai = var->active_idx, li = (uint32_t)--s->active.n;
    uint32_t idx = var->slot;
    mm_slot *sl = &s->slots[idx];
    s->free_slots[s->n_free++] = idx;
    if (sl->bound > 0)
        s->n_capped--;
    rz_log *lg = &s->logs[sl->rz_at];
    if (lg->id && lg->id == sl->rz_id) {
        /* a departure from a logged component: a resume re-fills from its step on, and
         * its links get back the load it had, so that their rem stays that of the fill */
        rz_ent *le = &lg->ent[lg->mem[s->fix_pos[idx]].pos];
        if (le->step < lg->from)
            lg->from = le->step;
        if (sl->bound > 0 || sl->n_elems > RZ_INLINE)
            lg->n_special--;
        lg->n_live--;
        if (sl->n_elems == 2)
            lg->n_pair--;
        for (uint32_t i = 0; i < sl->n_elems; i++)
            s->c[slot_cnst(sl, i)].rem += slot_w(sl, i) * le->rate;
        le->m = RZ_DEAD;
    }
    if (ai != li) {
        net_mm_var *last = s->active.v[li];
        s->active.v[ai] = last;
        last->active_idx = ai;
    }
    var->enabled = false;
}

void net_mm_cnst_set_capacity(net_mm_system *s, int32_t cnst, double cap_Bps)
{
    assert(cap_Bps > 0);
    s->c[cnst].cap = cap_Bps;
    rz_log *lg = log_of_link(s, cnst);
    if (lg)
        lg->other = true;
    mark_modified(s, cnst);
}

double net_mm_cnst_capacity(const net_mm_system *s, int32_t cnst) { return s->c[cnst].cap; }
double net_mm_cnst_load(const net_mm_system *s, int32_t cnst)
{
    double load = 0;
    const mm_cnst *c = &s->c[cnst];
    for (size_t i = 0; i < c->users.n; i++) {
        const net_mm_var *v = s->slots[c->users.v[i].slot].var;
        load += v->elems[c->users.v[i].k].w * v->rate;
    }
    return load;
}
size_t net_mm_cnst_users(const net_mm_system *s, int32_t cnst) { return s->c[cnst].users.n; }
int net_mm_dirty(const net_mm_system *s) { return s->n_mod != 0; }
const net_mm_stats *net_mm_get_stats(const net_mm_system *s) { return &s->stats; }

/* ---- binary min-heap of (share, link) entries ----
 * The heap is lazy (see the file comment): entries are only pushed in a batch, then the
 * top is popped or has its key raised, so entries carry their key inline and no link needs
 * to know its position. Ties break by link id: deterministic, and since every pop takes
 * the least (key, id), the order of pops does not depend on the heap's shape. Binary: a
 * refreshed top mostly moves a level or two, where a 4-ary heap compares four children at
 * each (cachegrind on the all-to-all: 45M instructions fewer of 2.3G). */

static inline int hent_less(const mm_hent *a, const mm_hent *b)
{
    return (a->key < b->key) | ((a->key == b->key) & (a->id < b->id));
}

static void heap_down(net_mm_system *s, size_t i)
{
    mm_hent x = s->heap[i];
    mm_hent *h = s->heap;
    size_t n = s->n_heap;
    for (;;) {
        size_t ch = 2 * i + 1;
        if (ch >= n)
            break;
        if (ch + 1 < n)
            ch += (size_t)hent_less(&h[ch + 1], &h[ch]);
        if (!hent_less(&h[ch], &x))
            break;
        h[i] = h[ch];
        i = ch;
    }
    h[i] = x;
}

static void heap_pop(net_mm_system *s)
{
    s->heap[0] = s->heap[--s->n_heap];
    if (s->n_heap)
        heap_down(s, 0);
}

static inline double share_of(const mm_cnst *c)
{
    double rem = c->rem > 0 ? c->rem : 0;
    double sumw = c->sumw > 1e-300 ? c->sumw : 1e-300;
    return rem / sumw;
}

/* Refreshes the heap's top until its key is exact (a stale key is a lower bound), dropping
 * links with no unfixed user: then the top is the true minimum share, returned (INFINITY
 * for an empty heap). unit: shares from nunf (a resume_fill of unit weights). */
static inline double heap_settle(net_mm_system *s, bool unit)
{
    while (s->n_heap) {
        const mm_cnst *top = &s->c[s->heap[0].id];
        if (top->nunf == 0) {
            heap_pop(s);
            continue;
        }
        /* unit: every unfixed user has weight 1, sumw is nunf (kept in nunf alone) */
        double sh = unit ? (top->rem > 0 ? top->rem : 0) / top->nunf : share_of(top);
        if (sh <= s->heap[0].key)
            return s->heap[0].key;
        s->heap[0].key = sh;
        heap_down(s, 0);
    }
    return INFINITY;
}

/* ---- incremental solver ---- */

/* Fixes v at rate r. Links keep their heap keys: a key only ever rises when a variable is
 * fixed at the current level (see the file comment), so a stale key is a lower bound and
 * the main loop refreshes it when it reaches the top. */
static void fix_var(net_mm_system *s, uint32_t si, double r, uint32_t step)
{
    mm_slot *v = &s->slots[si];
    s->mark[si] = MARK_FIXED(s->epoch);
    v->next_rate = r;
    if (s->logging) {
        rz_log *lg = s->cur;
        uint32_t m;
        if (s->rz_fresh) {
            /* a whole fill: a new member */
            m = (uint32_t)lg->n_mem++;
            v->rz_id = lg->id;
            v->rz_at = (uint32_t)(lg - s->logs);
            s->fix_pos[si] = m;
            lg->mslot[m] = si;
            if (v->bound > 0 || v->n_elems > RZ_INLINE)
                lg->n_special++;
            lg->n_live++;
            if (v->n_elems == 2)
                lg->n_pair++;
            rz_mem *mc = &lg->mem[m];
            rz_wts *mw = &lg->mw[m];
            mc->var = v->var;
            mc->done = 0;
            for (uint32_t i = 0; i < RZ_INLINE; i++) {
                mc->c[i] = -1;
                mw->w[i] = 0;
            }
            for (uint32_t i = 0; i < v->n_elems && v->n_elems <= RZ_INLINE; i++) {
                mc->c[i] = slot_cnst(v, i);
                mw->w[i] = slot_w(v, i);
            }
            for (uint32_t i = 0; i < v->n_elems; i++)
                if (slot_w(v, i) != 1)
                    lg->unit = false;
        } else {
            m = s->fix_pos[si];
        }
        lg->mem[m].pos = (uint32_t)lg->n;
        lg->ent[lg->n++] = (rz_ent){.m = m, .step = step, .rate = r};
    }
    for (uint32_t i = 0; i < v->n_elems; i++) {
        double w = slot_w(v, i);
        mm_cnst *c = &s->c[slot_cnst(v, i)];
        c->rem -= w * r;
        c->sumw -= w;
        c->nunf--;
    }
}

static int bound_cmp(const void *a, const void *b)
{
    const bound_ent *x = a, *y = b;
    if (x->bound != y->bound)
        return x->bound < y->bound ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

/* Where report_changes finds the new rates. */
typedef enum rate_src {
    RATES_FROM_SLOTS, /* the slot of vars[i] is comp_s[i] */
    RATES_FROM_VARS,  /* var->next_rate (the naive solver) */
    RATES_FROM_LOG    /* vars[i] is log entry log_from + i for i < n_logged; any other is a
                       * variable whose rate did not change */
} rate_src;

/* Books the new rates of vars and reports them. In pieces of REPORT_PIECE, each handed to
 * cb right after its rates are written, while the caller's records are still in cache. */
#define REPORT_PIECE 256
/* vars[0..n_logged) are the entries of log cur from log_from on: its min is brought up to
 * date for them once the callback has set their keys. */
static void report_changes(net_mm_system *s, net_mm_var **vars, rate_src src, size_t nv,
                           net_mm_component_fn cb, void *ctx, size_t log_from, size_t n_logged)
{
    size_t i = 0;
    do {
        size_t end = nv - i > REPORT_PIECE ? i + REPORT_PIECE : nv;
        for (size_t j = i; j < end; j++) {
            net_mm_var *v = vars[j];
            if (j + PREFETCH_AHEAD < end) {
                __builtin_prefetch(vars[j + PREFETCH_AHEAD], 1);
                if (src == RATES_FROM_SLOTS)
                    __builtin_prefetch(&s->slots[s->comp_s[j + PREFETCH_AHEAD]].next_rate);
            }
            double old = v->rate, r;
            switch (src) {
            case RATES_FROM_SLOTS:
                r = s->slots[s->comp_s[j]].next_rate;
                break;
            case RATES_FROM_VARS:
                r = v->next_rate;
                break;
            case RATES_FROM_LOG:
                r = j < n_logged ? s->cur->ent[log_from + j].rate : old;
                break;
            }
            double scale = old > r ? old : r;
            v->prev_rate = old;
            if (fabs(r - old) > RATE_REL_TOL * scale) {
                v->rate = r;
                s->stats.rate_changes++;
            }
        }
        cb(ctx, vars + i, end - i, end == nv);
        if (i < n_logged) {
            /* the running minimum in registers: rz_min[pos - 1] and its key */
            size_t pos = log_from + i;
            net_mm_var **mins = s->cur->min;
            net_mm_var *m = pos > 0 ? mins[pos - 1] : vars[i];
            int64_t mk = m->key;
            for (size_t j = i; j < end && j < n_logged; j++, pos++) {
                if (vars[j]->key < mk) {
                    m = vars[j];
                    mk = m->key;
                }
                mins[pos] = m;
            }
        }
        i = end;
    } while (i < nv);
}

static void fill(net_mm_system *s, double level, size_t nb);
static void resume_fill(net_mm_system *s, double level, size_t from, size_t nc);
static size_t resume_local_give_back(net_mm_system *s, size_t *nc);

/* Link id joins the component being solved (comp_c) on its first visit of epoch ep, with
 * no users counted yet; true on that first visit, when the caller sets what else it needs. */
static inline bool link_join(net_mm_system *s, int32_t id, uint32_t ep, size_t *nc)
{
    mm_cnst *c = &s->c[id];
    if (c->epoch == ep)
        return false;
    c->epoch = ep;
    c->sumw = 0;
    c->nunf = 0;
    s->comp_c[(*nc)++] = id;
    return true;
}

/* Readies a fill of the component's nc links (comp_c): the heap holds each link with at
 * least min_unf unfixed users, keyed by its share; the nb bounded variables are sorted. */
static void prepare_fill(net_mm_system *s, size_t nc, uint32_t min_unf, size_t nb)
{
    s->n_heap = 0;
    for (size_t i = 0; i < nc; i++) {
        int32_t id = s->comp_c[i];
        if (s->c[id].nunf >= min_unf)
            s->heap[s->n_heap++] = (mm_hent){share_of(&s->c[id]), id};
    }
    for (size_t i = s->n_heap / 2; i-- > 0;)
        heap_down(s, i);
    s->bounded.n = nb;
    if (nb > 1)
        qsort(s->bounded.v, nb, sizeof *s->bounded.v, bound_cmp);
}


/* Makes cur a new log for the fill of the component of nv variables over the nc links in
 * comp_c: an unused log, or the one used longest ago. false when its arrays cannot grow
 * (the fill is then not logged). */
static bool log_new(net_mm_system *s, size_t nv, size_t nc)
{
    rz_log *lg = &s->logs[0];
    for (int i = 0; i < RZ_LOGS && lg->id; i++)
        if (!s->logs[i].id || s->logs[i].used < lg->used)
            lg = &s->logs[i];
    if (lg->id)
        log_drop(s, lg);
    if (nv > lg->cap) {
/* when out of memory the fill is not logged */
#define LOG_GROW(field) RESIZE(lg->field, nv, return false)
        lg->cap = 0; /* until every array has grown */
        LOG_GROW(ent);
        LOG_GROW(min);
        LOG_GROW(mw);
        LOG_GROW(mslot);
#undef LOG_GROW
        /* a member's record in one cache line: 64-byte aligned (nothing to keep) */
        free(lg->mem);
        lg->mem = aligned_alloc(64, (nv * sizeof *lg->mem + 63) / 64 * 64);
        if (!lg->mem)
            return false;
        lg->cap = nv;
    }
    if (nc > lg->links_cap) {
        int32_t *l = realloc(lg->links, nc * sizeof *l);
        if (!l)
            return false;
        lg->links = l;
        lg->links_cap = nc;
    }
    if (++s->rz_next_id == 0)
        s->rz_next_id = 1;
    lg->id = s->rz_next_id;
    lg->n = 0;
    lg->n_mem = 0;
    lg->unit = true;
    lg->nc = nc;
    lg->resumes = 0;
    lg->n_special = 0;
    lg->n_live = lg->n_pair = 0;
    lg->from = RZ_DEAD;
    lg->other = false;
    lg->resume = false;
    lg->used = s->epoch;
    memcpy(lg->links, s->comp_c, nc * sizeof *lg->links);
    uint8_t at = (uint8_t)(lg - s->logs);
    for (size_t i = 0; i < nc; i++) {
        s->c[s->comp_c[i]].rz_id = lg->id;
        s->c[s->comp_c[i]].rz_at = at;
    }
    s->cur = lg;
    return true;
}

static void solve_component(net_mm_system *s, int32_t seed, net_mm_component_fn cb, void *ctx)
{
    uint32_t ep = (uint32_t)s->epoch;
    size_t nc = 0, nv = 0, nb = 0;
    /* breadth-first over links and their users; each link is initialised when first
     * touched and each variable adds its weights when discovered: one pass */
    mm_cnst *c0 = &s->c[seed];
    c0->epoch = ep;
    c0->rem = c0->cap;
    c0->sumw = 0;
    c0->nunf = 0;
    s->comp_c[nc++] = seed;
    for (size_t i = 0; i < nc; i++) {
        const mm_cnst *ci = &s->c[s->comp_c[i]];
        for (size_t u = 0; u < ci->users.n; u++) {
            uint32_t si = ci->users.v[u].slot;
            if (s->mark[si] == MARK_SEEN(ep))
                continue;
            s->mark[si] = MARK_SEEN(ep);
            mm_slot *v = &s->slots[si];
            v->comp_pos = (uint32_t)nv;
            s->comp_s[nv] = si;
            s->comp_v.v[nv++] = v->var;
            s->stats.elems_solved += v->n_elems;
            for (uint32_t k = 0; k < v->n_elems; k++) {
                int32_t id = slot_cnst(v, k);
                mm_cnst *c = &s->c[id];
                if (link_join(s, id, ep, &nc)) {
                    c->rem = c->cap;
                    rz_log *lg = log_of_link(s, id);
                    if (lg) /* a logged component grown into this one: its log is void */
                        log_drop(s, lg);
                }
                c->sumw += slot_w(v, k);
                c->nunf++;
            }
        }
    }
    s->comp_v.n = nv;
    s->stats.components++;
    s->stats.vars_solved += nv;
    if (nv == 0)
        return;
    /* A link with a single user acts exactly like a rate cap on that user (it saturates
     * when, and only when, that user reaches cap / w): it joins the sorted bounds instead
     * of the heap, which keeps the heap to the links that are really shared. */
    if (s->n_capped) {
        for (size_t i = 0; i < nv; i++) {
            const mm_slot *v = &s->slots[s->comp_s[i]];
            double b = v->bound > 0 ? v->bound : INFINITY;
            for (uint32_t k = 0; k < v->n_elems; k++) {
                const mm_cnst *c = &s->c[slot_cnst(v, k)];
                double w = slot_w(v, k);
                if (c->nunf == 1 && c->cap / w < b)
                    b = c->cap / w;
            }
            if (b < INFINITY) {
                s->bounded.v[nb] = (bound_ent){b, v->comp_pos, s->comp_s[i]};
                nb++;
            }
        }
    } else {
        /* no variable has a bound of its own: only the single-user links make bounds, and
         * a link's single user is the one in its user array. The same entries (a
         * variable's smallest cap / w, ordered by component position) as the scan above. */
        for (size_t i = 0; i < nc; i++) {
            const mm_cnst *c = &s->c[s->comp_c[i]];
            if (c->nunf != 1)
                continue;
            const mm_user *u = &c->users.v[0];
            mm_slot *v = &s->slots[u->slot];
            double b = c->cap / slot_w(v, u->k);
            if (v->bound_epoch != (uint32_t)ep) {
                v->bound_epoch = (uint32_t)ep;
                v->bound_at = (uint32_t)nb;
                s->bounded.v[nb++] = (bound_ent){b, v->comp_pos, u->slot};
            } else if (b < s->bounded.v[v->bound_at].bound) {
                s->bounded.v[v->bound_at].bound = b;
            }
        }
    }
    prepare_fill(s, nc, 2, nb);
    if (nv >= RZ_MIN_VARS)
        s->logging = s->rz_fresh = log_new(s, nv, nc); /* so that a departure can resume
                                                          * this fill */
    fill(s, 0, nb);
    if (!s->logging) {
        report_changes(s, s->comp_v.v, RATES_FROM_SLOTS, nv, cb, ctx, 0, 0);
        return;
    }
    s->logging = s->rz_fresh = false;
    /* reported in log order (the members' order), so that the log's min follows */
    for (size_t i = 0; i < nv; i++)
        s->comp_v.v[i] = s->cur->mem[i].var;
    report_changes(s, s->comp_v.v, RATES_FROM_LOG, nv, cb, ctx, 0, nv);
}

/* Resumes the logged fill at the step of the earliest variable disabled since (see the
 * file comment): the variables fixed before keep their rates, the links the others cross
 * get back what the others took, and the fill runs on from there over the others only. */
static void resume(net_mm_system *s, net_mm_component_fn cb, void *ctx)
{
    uint32_t ep = (uint32_t)s->epoch;
    rz_log *lg = s->cur;
    size_t from = lg->from, nsuf = 0, nc = 0, nb = 0;
    double level = from ? lg->ent[from - 1].rate : 0;
    /* no bound, every variable's usages in its member record: the suffix is filled on its
     * own (resume_fill), without the marks */
    bool local = lg->n_special == 0;
    if (local)
        nsuf = resume_local_give_back(s, &nc);
    for (size_t i = from; i < lg->n && !local; i++) {
        const rz_ent *e = &lg->ent[i];
        uint32_t m = e->m;
        if (m == RZ_DEAD)
            continue;
        const rz_mem *mc = &lg->mem[m];
        s->mark[lg->mslot[m]] = MARK_SEEN(ep);
        nsuf++;
        const mm_slot *v = &s->slots[lg->mslot[m]];
        uint32_t ne = v->n_elems;
        s->stats.elems_solved += ne;
        for (uint32_t k = 0; k < ne; k++) {
            int32_t id = mc->c[0] < 0 ? slot_cnst(v, k) : mc->c[k];
            mm_cnst *c = &s->c[id];
            link_join(s, id, ep, &nc);
            double w = mc->c[0] < 0 ? slot_w(v, k) : lg->mw[m].w[k];
            c->rem += w * e->rate;
            c->sumw += w;
            c->nunf++;
        }
        if (v->bound > 0)
            s->bounded.v[nb++] = (bound_ent){v->bound, (uint32_t)i, lg->mslot[m]};
    }
    /* every link with an unfixed user goes to the heap, a single user's too (its share
     * is then cap / w, the bound the whole fill gives it) */
    prepare_fill(s, nc, 1, nb);
    lg->n = from;
    if (local) {
        resume_fill(s, level, from, nc);
        s->stats.resumes_local++;
    } else {
        s->logging = true;
        fill(s, level, nb);
        s->logging = false;
    }
    assert(lg->n == from + nsuf);
    lg->resumes++;
    lg->from = RZ_DEAD;
    lg->used = s->epoch;
    s->stats.resumes++;
    s->stats.components++;
    s->stats.vars_solved += lg->n;
    s->stats.vars_refilled += nsuf;
    /* reported: the re-filled variables in log order, then the smallest key among the
     * others (the caller keeps only a component's earliest finisher in the queue, and that
     * may be one whose rate did not change) */
    size_t nv = nsuf;
    if (!local)
        for (size_t i = 0; i < nsuf; i++)
            s->comp_v.v[i] = lg->mem[lg->ent[from + i].m].var;
    if (from > 0)
        s->comp_v.v[nv++] = lg->min[from - 1];
    s->comp_v.n = nv;
    report_changes(s, s->comp_v.v, RATES_FROM_LOG, nv, cb, ctx, from, nsuf);
}

/* Progressive filling from level over the heap and the sorted bounds (nb of them) built
 * by the caller; the variables to fix are those marked MARK_SEEN. */
static void fill(net_mm_system *s, double level, size_t nb)
{
    uint32_t ep = (uint32_t)s->epoch;
    size_t bi = 0;
    for (;;) {
        double share = heap_settle(s, false);
        while (bi < nb && s->mark[s->bounded.v[bi].slot] != MARK_SEEN(ep))
            bi++;
        if (bi < nb && s->bounded.v[bi].bound <= share) {
            double r = s->bounded.v[bi].bound;
            if (r > level)
                level = r;
            fix_var(s, s->bounded.v[bi].slot, r, s->logging ? (uint32_t)s->cur->n : 0);
            bi++;
            continue;
        }
        if (!s->n_heap)
            break;
        int32_t top = s->heap[0].id;
        heap_pop(s);
        if (share > level)
            level = share;
        const mm_cnst *ct = &s->c[top];
        uint32_t step = s->logging ? (uint32_t)s->cur->n : 0;
        const mm_user *us = ct->users.v;
        size_t nu = ct->users.n;
        /* every unfixed user is fixed now: the scan stops at the last */
        for (size_t u = 0; u < nu && ct->nunf; u++) {
            if (u + PREFETCH_AHEAD < nu && s->mark[us[u + PREFETCH_AHEAD].slot] == MARK_SEEN(ep))
                __builtin_prefetch(&s->slots[us[u + PREFETCH_AHEAD].slot], 1);
            uint32_t si = us[u].slot;
            if (s->mark[si] == MARK_SEEN(ep))
                fix_var(s, si, level, step);
        }
    }
}

/* The first pass of a resume whose log has no bound and every usage in its member records
 * (resume_fill follows): the suffix's members (from entry from on) give back to their links
 * what they took, in log order, and are listed per link in loc_users, [loc_beg, loc_end),
 * in log order. A link's list has room for all its users (all members of this log, of at
 * most RZ_INLINE usages each), so one pass does it. The links touched are listed in comp_c
 * (*nc of them); returns the number of members in the suffix. In a log of unit weights a
 * link's sumw is its nunf, exactly (sums of ones): it is set once here, and resume_fill
 * keeps nunf only. */
static inline __attribute__((always_inline)) size_t
give_back_run(net_mm_system *s, size_t *nc_out, const uint32_t kw, const bool unit)
{
    uint32_t ep = (uint32_t)s->epoch;
    rz_log *lg = s->cur;
    const rz_mem *mc = lg->mem;
    const rz_wts *mw = lg->mw;
    const rz_ent *ent = lg->ent;
    size_t nsuf = 0, nc = 0, ne = 0;
    uint32_t off = 0;
    for (size_t i = lg->from; i < lg->n; i++) {
        uint32_t m = ent[i].m;
        if (m == RZ_DEAD)
            continue;
        double rate = ent[i].rate;
        nsuf++;
        for (uint32_t k = 0; RZ_USAGE_MORE(mc[m], k, kw); k++) {
            int32_t id = mc[m].c[k];
            mm_cnst *c = &s->c[id];
            if (link_join(s, id, ep, &nc)) {
                s->loc_beg[id] = s->loc_end[id] = off;
                off += (uint32_t)c->users.n;
            }
            s->loc_users[s->loc_end[id]++] = m;
            if (unit) {
                c->rem += rate;
            } else {
                double w = mw[m].w[k];
                c->rem += w * rate;
                c->sumw += w;
            }
            c->nunf++;
            ne++;
        }
    }
    assert(off <= RZ_INLINE * s->active.cap);
    if (unit)
        for (size_t i = 0; i < nc; i++)
            s->c[s->comp_c[i]].sumw = s->c[s->comp_c[i]].nunf;
    s->stats.elems_solved += ne;
    *nc_out = nc;
    return nsuf;
}

/* Every live member of lg crosses two links at weight 1 (an all-to-all through one switch):
 * a resume's passes run unrolled for two usages without reading weights. */
static inline bool rz_pairs(const rz_log *lg)
{
    return lg->unit && lg->n_pair == lg->n_live;
}

static size_t resume_local_give_back(net_mm_system *s, size_t *nc_out)
{
    if (rz_pairs(s->cur))
        return give_back_run(s, nc_out, 2, true);
    return give_back_run(s, nc_out, 0, s->cur->unit);
}

/* The fill of a resume prepared by resume_local_give_back (nc links in comp_c): the same
 * progressive filling as fill, over the lists of the suffix's users of each link, so that
 * it neither scans the users fixed before nor visits the slots (a step fixes its variables
 * in log order, not in the link's user order, which only changes the rounding of the
 * links' rem). It logs them from entry from on and lists their variables in comp_v in the
 * same order. */
static inline __attribute__((always_inline)) void
resume_fill_run(net_mm_system *s, double level, size_t from, size_t nc, const uint32_t kw,
                const bool unit)
{
    rz_log *lg = s->cur;
    rz_mem *mc = lg->mem;
    const rz_wts *mw = lg->mw;
    /* a member is fixed in this resume once its done is stamp (resumes counts up from 0
     * through the log's life, and its members start with done = 0) */
    uint32_t stamp = lg->resumes + 1;
    rz_ent *ent = lg->ent;
    net_mm_var **rep = s->comp_v.v; /* reported in log order */
    size_t n = lg->n;
    for (;;) {
        double share = heap_settle(s, unit);
        if (!s->n_heap)
            break;
        int32_t top = s->heap[0].id;
        heap_pop(s);
        if (share > level)
            level = share;
        /* the top link's scratch in registers (a variable's usages are distinct links,
         * so the other link of each is another record): the same operations in the same
         * order as through memory */
        mm_cnst *ct = &s->c[top];
        double rem = ct->rem, sumw = ct->sumw;
        uint32_t nunf = ct->nunf;
        uint32_t step = (uint32_t)n;
        for (uint32_t p = s->loc_beg[top]; p < s->loc_end[top] && nunf; p++) {
            uint32_t m = s->loc_users[p];
            if (mc[m].done == stamp)
                continue;
            mc[m].done = stamp;
            ent[n] = (rz_ent){.m = m, .step = step, .rate = level};
            rep[n - from] = mc[m].var;
            mc[m].pos = (uint32_t)n++;
            if (unit) {
                /* w = 1: the products are exact, sumw follows nunf (see give_back). A loop
                 * of its own: unit is decided per log at run time on the kw = 0 path, and
                 * one loop testing it per usage cost 1.9% more instructions on `bench
                 * pairs` */
                for (uint32_t k = 0; RZ_USAGE_MORE(mc[m], k, kw); k++) {
                    int32_t id = mc[m].c[k];
                    if (id == top) {
                        rem -= level;
                        nunf--;
                        continue;
                    }
                    mm_cnst *c = &s->c[id];
                    c->rem -= level;
                    c->nunf--;
                }
                continue;
            }
            for (uint32_t k = 0; RZ_USAGE_MORE(mc[m], k, kw); k++) {
                double w = mw[m].w[k];
                int32_t id = mc[m].c[k];
                if (id == top) {
                    rem -= w * level;
                    sumw -= w;
                    nunf--;
                    continue;
                }
                mm_cnst *c = &s->c[id];
                c->rem -= w * level;
                c->sumw -= w;
                c->nunf--;
            }
        }
        ct->rem = rem;
        ct->sumw = sumw;
        ct->nunf = nunf;
    }
    if (unit)
        for (size_t i = 0; i < nc; i++)
            s->c[s->comp_c[i]].sumw = s->c[s->comp_c[i]].nunf;
    lg->n = n;
}

static void resume_fill(net_mm_system *s, double level, size_t from, size_t nc)
{
    if (rz_pairs(s->cur)) {
        s->stats.resumes_pair++;
        resume_fill_run(s, level, from, nc, 2, true);
    } else {
        resume_fill_run(s, level, from, nc, 0, s->cur->unit);
    }
}

/* ---- naive reference solver: rounds of full scans ---- */

static void solve_naive(net_mm_system *s, net_mm_component_fn cb, void *ctx)
{
    size_t nv = s->active.n;
    net_mm_var **vs = s->active.v;
    for (size_t i = 0; i < nv; i++)
        vs[i]->fixed = 0;
    size_t left = nv;
    while (left > 0) {
        /* recompute every link's remaining capacity and unfixed weight from scratch */
        for (size_t i = 0; i < nv; i++)
            for (uint32_t k = 0; k < vs[i]->n_elems; k++) {
                mm_cnst *c = &s->c[vs[i]->elems[k].cnst];
                c->rem = c->cap;
                c->sumw = 0;
            }
        for (size_t i = 0; i < nv; i++)
            for (uint32_t k = 0; k < vs[i]->n_elems; k++) {
                mm_cnst *c = &s->c[vs[i]->elems[k].cnst];
                if (vs[i]->fixed)
                    c->rem -= vs[i]->elems[k].w * vs[i]->next_rate;
                else
                    c->sumw += vs[i]->elems[k].w;
            }
        double m = INFINITY;
        for (size_t i = 0; i < nv; i++) {
            if (vs[i]->fixed)
                continue;
            if (vs[i]->bound > 0 && vs[i]->bound < m)
                m = vs[i]->bound;
            for (uint32_t k = 0; k < vs[i]->n_elems; k++) {
                double sh = share_of(&s->c[vs[i]->elems[k].cnst]);
                if (sh < m)
                    m = sh;
            }
        }
        double lim = m * (1 + NAIVE_TIE_TOL);
        for (size_t i = 0; i < nv; i++) {
            net_mm_var *v = vs[i];
            if (v->fixed)
                continue;
            int at = v->bound > 0 && v->bound <= lim;
            for (uint32_t k = 0; k < v->n_elems && !at; k++)
                at = share_of(&s->c[v->elems[k].cnst]) <= lim;
            if (at) {
                v->next_rate = m;
                v->fixed = 2; /* fixed this round: still counted as unfixed above */
                left--;
            }
        }
        for (size_t i = 0; i < nv; i++)
            if (vs[i]->fixed == 2)
                vs[i]->fixed = 1;
    }
    report_changes(s, vs, RATES_FROM_VARS, nv, cb, ctx, 0, 0);
}

void net_mm_solve(net_mm_system *s, net_mm_component_fn cb, void *ctx)
{
    if (!s->n_mod)
        return;
    s->stats.solves++;
    if (s->naive) {
        solve_naive(s, cb, ctx);
    } else {
        if (++s->epoch >= UINT32_MAX / 2) {
            /* marks are 2 epoch (+ 1) in 32 bits: start over before they wrap */
            memset(s->mark, 0, s->n_slots * sizeof *s->mark);
            for (size_t i = 0; i < s->n_slots; i++)
                s->slots[i].bound_epoch = 0;
            for (size_t i = 0; i < s->n_cnst; i++)
                s->c[i].epoch = 0;
            for (int i = 0; i < RZ_LOGS; i++)
                s->logs[i].seen = s->logs[i].used = 0;
            s->epoch = 1;
        }
        /* the logs of the modified links: resumed when only departures changed them,
         * dropped otherwise (then their links are re-solved whole) */
        rz_log *res[RZ_LOGS];
        size_t n_res = 0;
        for (size_t i = 0; i < s->n_mod; i++) {
            rz_log *lg = log_of_link(s, s->mod[i]);
            if (!lg || lg->seen == s->epoch)
                continue;
            lg->seen = s->epoch;
            if (!lg->other && lg->from != RZ_DEAD && lg->resumes < RZ_MAX_RESUMES) {
                lg->resume = true;
                res[n_res++] = lg;
            } else {
                log_drop(s, lg);
            }
        }
        for (size_t k = 0; k < n_res; k++) {
            s->cur = res[k];
            resume(s, cb, ctx);
        }
        /* the others component by component (n_mod may grow: a log given up on the way
         * adds its links) */
        for (size_t i = 0; i < s->n_mod; i++) {
            int32_t c = s->mod[i];
            if (s->c[c].epoch == s->epoch)
                continue;
            rz_log *lg = log_of_link(s, c);
            if (!lg || !lg->resume)
                solve_component(s, c, cb, ctx);
        }
        for (size_t k = 0; k < n_res; k++)
            res[k]->resume = false;
    }
    for (size_t i = 0; i < s->n_mod; i++)
        s->c[s->mod[i]].modified = false;
    s->n_mod = 0;
}
