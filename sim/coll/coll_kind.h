/*
 * coll_kind.h: the kinds of collective, alone, so that the rank programs
 * (workload/plan_prog.h) name the collective the executor starts (coll/coll.h) without
 * depending on the collective engine or the network model.
 */
#ifndef SIM_COLL_KIND_H
#define SIM_COLL_KIND_H

typedef enum coll_kind {
    COLL_ALLREDUCE = 0,
    COLL_REDUCE_SCATTER,
    COLL_ALLGATHER,
    COLL_ALLTOALL,
    COLL_BROADCAST, /* from the first member to the others */
    COLL_KIND_COUNT
} coll_kind;

/* "all-reduce", "reduce-scatter", "all-gather", "all-to-all", "broadcast"; "?" for a value
 * outside the enum (defined in coll.c). */
const char *coll_kind_name(coll_kind kind);

#endif
