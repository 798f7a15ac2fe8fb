/*
 * rel_ckpt.h: how large a training job's checkpoint is and how long it takes to save
 * (issue 16): the checkpoint part of the goodput model's restart cost.
 *
 * A checkpoint holds what training needs to resume exactly: for every parameter its 16-bit
 * weight (2 bytes), the fp32 master weight (4) and the optimizer's fp32 state (Adam's two
 * moments, 8; SGD's momentum, 4), so 14 bytes per parameter with Adam and 10 with SGD: the
 * 16 bytes of mixed-precision Adam that model.h counts in HBM, less the gradients, which a
 * checkpoint does not keep (Rajbhandari et al. 2020, ZeRO, section 3.1). Parameters are
 * wl_params_count's total: one copy of the model (a data-parallel replica's), whatever the
 * sharding; DiLoCo's replicas would each hold their own and are not counted apart.
 *
 * Saving: the checkpoint is spread evenly over the job's hosts, each writing its share in
 * parallel (Megatron-LM's fully parallel save spreads the writes over the data-parallel
 * ranks; FSDP's sharded state dicts do the same), to the topology's storage tier
 * (topo_storage_of): the whole write takes bytes / min(aggregate, hosts x per_node). An
 * asynchronous snapshot first copies each host's share from device to host memory at
 * host_copy: that is the only part the training step waits for.
 */
#ifndef SIM_REL_REL_CKPT_H
#define SIM_REL_REL_CKPT_H

#include "workload/plan.h"

/* Bytes per parameter a checkpoint holds (file comment). */
#define REL_CKPT_ADAM_BYTES 14.0
#define REL_CKPT_SGD_BYTES 10.0

/* The plan's checkpoint in bytes: parameters x bytes per parameter of its optimizer. */
double rel_checkpoint_bytes(const plan *p);
/* Hosts the plan's job spans (rel_job_chips' chips), over which the checkpoint is spread. */
int64_t rel_checkpoint_hosts(const plan *p);
/* Seconds to write the checkpoint to storage: bytes / min(aggregate, hosts x per_node). */
double rel_checkpoint_write_s(const plan *p);
/* Seconds of an asynchronous snapshot: (bytes / hosts) / host_copy. */
double rel_checkpoint_snapshot_s(const plan *p);

#endif
