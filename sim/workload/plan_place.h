/*
 * plan_place.h: where the ranks of a plan (workload/plan.h) sit and which groups they form:
 * rank coordinates along the parallel dimensions, the members of each group, and the
 * groups that are not one dimension's (group slots, for collectives).
 *
 * Ranks: rank r runs on chip r. Its coordinates come from r by the placement order, the
 * first dimension varying fastest; with the default, TP groups are consecutive chips (one
 * NVSwitch domain), then CP, DP, and PP outermost. EP groups are ep consecutive DP indices
 * (experts are spread over data-parallel ranks, as Megatron-LM's expert parallelism does).
 *
 * Every function here is pure arithmetic on the plan's degrees and strides: nothing is
 * stored per rank, so a 98,304-rank plan costs nothing here.
 */
#ifndef SIM_WORKLOAD_PLAN_PLACE_H
#define SIM_WORKLOAD_PLAN_PLACE_H

#include <stdint.h>

typedef struct plan plan;

typedef enum plan_dim { PLAN_TP = 0, PLAN_CP, PLAN_DP, PLAN_PP, PLAN_EP, PLAN_DIM_COUNT } plan_dim;

/* Short name of a dimension: "tp", "cp", "dp", "pp", "ep". */
const char *plan_dim_name(plan_dim dim);

/* Parameters rank r holds (its stage's layers, embedding or head, its tp / ep share). */
double plan_rank_params(const plan *p, int64_t rank);

/* Coordinate of rank r along dim (ep: dp index mod ep). */
int64_t plan_coord(const plan *p, int64_t rank, plan_dim dim);
/* The rank at coordinates coord[PLAN_TP..PLAN_PP]. */
int64_t plan_rank_at(const plan *p, const int64_t coord[4]);
/* Size of dim's groups. */
int64_t plan_dim_size(const plan *p, plan_dim dim);
/* The i-th member of rank r's group along dim (i in [0, plan_dim_size)). */
int64_t plan_group_member(const plan *p, int64_t rank, plan_dim dim, int64_t i);
/* A number naming rank r's group along dim: equal for ranks of the same group. */
int64_t plan_group_id(const plan *p, int64_t rank, plan_dim dim);

/*
 * Groups that are not one dimension's, for collectives (plan_item.group); an item still
 * names the dimension its traffic and exposed time are reported under (plan_item.dim).
 */
typedef enum plan_group {
    PLAN_GROUP_DIM = 0,   /* the group of the item's dimension */
    PLAN_GROUP_DP_CP,     /* the dp x cp replicas of a model shard (cp fastest): gradient
                             reduction and ZeRO gathers, Megatron-LM's data-parallel group
                             with context parallelism */
    PLAN_GROUP_EXPERT_DP, /* the dp x cp / ep replicas of an expert shard: the ranks of the
                             same ep coordinate (dp index mod ep), over cp and dp / ep */
    PLAN_GROUP_EMBEDDING, /* the first and the last pipeline stage (2 ranks; 1 with pp 1):
                             the two copies of tied embeddings */
    PLAN_GROUP_FSDP_SHARD, /* hybrid FSDP: fsdp_shard consecutive members of the dp x cp
                              group (the ranks sharing one shard of the parameters'
                              gathers and gradient reduce-scatters); the dp x cp group
                              without hybrid sharding */
    PLAN_GROUP_FSDP_REPLICA, /* hybrid FSDP: the members of the dp x cp group holding the
                                same shard (index mod fsdp_shard), across which gradients
                                are all-reduced; one rank without hybrid sharding */
    PLAN_GROUP_COUNT
} plan_group;

/* Group slots: the dimensions' groups (slot = dim), then the other groups. */
#define PLAN_SLOT_COUNT (PLAN_DIM_COUNT + PLAN_GROUP_COUNT - 1)
/* The slot of a collective over group of dimension dim. */
int plan_slot(plan_dim dim, plan_group group);
/* As plan_dim_size, plan_group_member and plan_group_id, for a slot. */
int64_t plan_slot_size(const plan *p, int slot);
int64_t plan_slot_member(const plan *p, int64_t rank, int slot, int64_t i);
int64_t plan_slot_id(const plan *p, int64_t rank, int slot);

#endif
