/*
 * plan_place.c: rank coordinates, groups and group slots of a plan (see plan_place.h).
 *
 * A rank's coordinate along a dimension is (rank / stride) mod size, with the strides set
 * by the placement at load time (plan_config.c); a group member differs from the rank in
 * one coordinate only, so it is the rank moved by whole strides. EP is not a placement
 * dimension: its coordinate is the dp index mod ep, and it shares dp's stride.
 */
#include "workload/plan_int.h"

static const char *const dim_names[] = {"tp", "cp", "dp", "pp", "ep", NULL};

const char *plan_dim_name(plan_dim dim)
{
    return (int)dim >= 0 && dim < PLAN_DIM_COUNT ? dim_names[dim] : "?";
}

double plan_rank_params(const plan *p, int64_t rank)
{
    return p->stage_param_bytes[plan_coord(p, rank, PLAN_PP)] / 2.0;
}

int64_t plan_dim_size(const plan *p, plan_dim dim)
{
    switch (dim) {
    case PLAN_TP: return p->par.tp;
    case PLAN_CP: return p->par.cp;
    case PLAN_DP: return p->par.dp;
    case PLAN_PP: return p->par.pp;
    case PLAN_EP: return p->par.ep;
    default: return 1;
    }
}

int64_t plan_coord(const plan *p, int64_t rank, plan_dim dim)
{
    if (dim == PLAN_EP)
        return plan_coord(p, rank, PLAN_DP) % p->par.ep;
    int64_t stride = p->stride[dim], size = plan_dim_size(p, dim);
    /* the same quotient and remainder in 32 bits when everything fits, several times
     * faster than 64-bit division: the replay asks for a group at every collective's
     * arrival */
    if ((uint64_t)rank <= UINT32_MAX && (uint64_t)stride - 1 < UINT32_MAX &&
        (uint64_t)size - 1 < UINT32_MAX)
        return (int64_t)((uint32_t)rank / (uint32_t)stride % (uint32_t)size);
    return rank / stride % size;
}

int64_t plan_rank_at(const plan *p, const int64_t coord[4])
{
    int64_t r = 0;
    for (int d = PLAN_TP; d <= PLAN_PP; d++)
        r += coord[d] * p->stride[d];
    return r;
}

int64_t plan_group_member(const plan *p, int64_t rank, plan_dim dim, int64_t i)
{
    return rank + (i - plan_coord(p, rank, dim)) * p->stride[dim];
}

int64_t plan_group_id(const plan *p, int64_t rank, plan_dim dim)
{
    return plan_group_member(p, rank, dim, 0);
}

int plan_slot(plan_dim dim, plan_group group)
{
    return group == PLAN_GROUP_DIM ? (int)dim : PLAN_DIM_COUNT + (int)group - 1;
}

int64_t plan_slot_size(const plan *p, int slot)
{
    if (slot < PLAN_DIM_COUNT)
        return plan_dim_size(p, (plan_dim)slot);
    switch (slot - PLAN_DIM_COUNT + 1) {
    case PLAN_GROUP_DP_CP: return p->par.dp * p->par.cp;
    case PLAN_GROUP_EXPERT_DP: return p->par.dp / p->par.ep * p->par.cp;
    case PLAN_GROUP_EMBEDDING: return p->par.pp > 1 ? 2 : 1;
    case PLAN_GROUP_FSDP_SHARD: return wl_shard_size(&p->par);
    case PLAN_GROUP_FSDP_REPLICA: return p->par.dp * p->par.cp / wl_shard_size(&p->par);
    default: return 1;
    }
}

int64_t plan_slot_member(const plan *p, int64_t rank, int slot, int64_t i)
{
    if (slot < PLAN_DIM_COUNT)
        return plan_group_member(p, rank, (plan_dim)slot, i);
    int64_t cp = p->par.cp, ep = p->par.ep;
    /* rank moved to cp index ci and dp index di, its other coordinates kept */
    int64_t ci = i % cp, j = i / cp, di;
    switch (slot - PLAN_DIM_COUNT + 1) {
    case PLAN_GROUP_DP_CP:
        di = j;
        break;
    case PLAN_GROUP_EXPERT_DP:
        di = plan_coord(p, rank, PLAN_DP) % ep + j * ep;
        break;
    case PLAN_GROUP_EMBEDDING:
        return plan_group_member(p, rank, PLAN_PP, i == 0 ? 0 : p->par.pp - 1);
    case PLAN_GROUP_FSDP_SHARD:
    case PLAN_GROUP_FSDP_REPLICA: {
        /* index in the dp x cp group (cp fastest), then its shard group's first member or
         * its place inside the shard group */
        int64_t s = wl_shard_size(&p->par);
        int64_t at = plan_coord(p, rank, PLAN_CP) + cp * plan_coord(p, rank, PLAN_DP);
        int64_t k = slot - PLAN_DIM_COUNT + 1 == PLAN_GROUP_FSDP_SHARD ? at / s * s + i
                                                                       : at % s + i * s;
        ci = k % cp;
        di = k / cp;
        break;
    }
    default:
        return rank;
    }
    return rank + (ci - plan_coord(p, rank, PLAN_CP)) * p->stride[PLAN_CP] +
           (di - plan_coord(p, rank, PLAN_DP)) * p->stride[PLAN_DP];
}

int64_t plan_slot_id(const plan *p, int64_t rank, int slot)
{
    return plan_slot_member(p, rank, slot, 0);
}

plan_group plan_shard_group(const plan *p)
{
    return wl_shard_size(&p->par) < p->par.dp * p->par.cp ? PLAN_GROUP_FSDP_SHARD
                                                           : PLAN_GROUP_DP_CP;
}
