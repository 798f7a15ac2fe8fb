/*
 * coll_int.h: private to sim/coll: the collective group (its members and the boxes its
 * algorithms walk), shared by coll.c (the algorithms and phases) and coll_group.c (the
 * analysis of a membership). Names with a double underscore are module-internal.
 */
#ifndef SIM_COLL_INT_H
#define SIM_COLL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coll/coll.h"
#include "topo/topo.h"

/* Members seen as a box: its dimensions with more than one member. */
typedef struct box {
    int nd;       /* 0: the members are no such box */
    int tdim[3];  /* the torus dimension (or level) of each of them */
    int tsize[3]; /* members along each of them */
    int *rank_of; /* [n * 3] each member's rank along each box dimension */
} box;

/* Usages gathered for one coupled transfer, with the slowest path's latency, the tightest
 * window cap met on the way, and how many of its routes (algorithm steps' edges) cross a
 * scale-out link, which sets the per-step latency (launch). */
typedef struct gather {
    size_t n_uses;
    int64_t max_lat;
    double cap;
    size_t routes, routes_out;
    bool hashed; /* a route depends on the flow hash (topo_route_info.hashed) */
} gather;

/* What a ring over all of a group's members gathers (coll.c, start_whole_ring), kept when
 * none of its routes depends on the flow hash (a ring inside one scale-up domain): then
 * every collective of the group gathers exactly this, and later ones copy it instead of
 * routing again. The usages are those add_route writes (weights divided by the links'
 * protocol efficiency), in its order. */
typedef struct ring_memo {
    net_usage *uses; /* [g.n_uses], owned; NULL until kept */
    gather g;        /* g.hashed: a route of the ring depends on the hash, never kept */
} ring_memo;

struct coll_group {
    int32_t *chips; /* [n] */
    size_t n;
    bool one_domain, sharp; /* all in one scale-up domain; it reduces in the switch */
    /* Members per scale-up domain when they come in runs of one domain each, of equal
     * length >= 2, over two domains or more in increasing domain order (the rings then run
     * as NCCL's channels, one per member of a domain); 0 otherwise. */
    size_t per_domain;
    box torus;             /* the members fill a box of one torus */
    box levels;            /* [member in domain][domain in site][site] (hierarchical) */
    bool levels_known;      /* levels has been computed */
    /* auto's pick per kind, for sizes over COLL_SMALL_BYTES or not, and the box it walks:
     * they depend on nothing else, so each is made once (NULL until then) */
    const struct algo_info *auto_pick[COLL_KIND_COUNT][2];
    const box *auto_box[COLL_KIND_COUNT][2];
    ring_memo ring[2]; /* the whole ring as ring and nvls gather it (their efficiencies
                          differ) */
    struct coll_group *next; /* the engine's groups */
};

/* A group of chips[0..n) (copied) with its torus box; the hierarchy is left for
 * coll__group_levels. *out owned by the caller (coll__group_free). 0, or -1: no memory. */
int coll__group_make(const topo *t, const int32_t *chips, size_t n, coll_group **out);

/* g's hierarchy (levels), computed on first use; again next time when memory ran out, so
 * the collective then runs as a ring, as it would have. */
const box *coll__group_levels(const topo *t, coll_group *g);

/* Frees g and its boxes; accepts NULL. */
void coll__group_free(coll_group *g);

#endif
