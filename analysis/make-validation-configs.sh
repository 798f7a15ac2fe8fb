#!/bin/sh
# Writes configs/validation/*.yaml, one config per row of ../shared/validation/*.csv (or of
# the CSV folder given as $1), and one per held-out row of
# analysis/data/megatron2024-strong-scaling.csv. Run from the repository root. The configs
# are committed; this script says how they were made and remakes them when the data changes.
set -eu
data=${1:-../shared/validation}
out=configs/validation
mkdir -p "$out"

# Narayanan et al. 2021, Table 1 (A100, Selene): full recomputation, no sequence
# parallelism, no distributed optimizer; interleaved when layers per virtual stage is given.
# Gradient reduction, from the paper's launch script (Megatron-LM
# examples/sc21/run_table_1.sh, commit de7dc40): the rows without a pipeline (1.7B to 18.4B)
# ran DDP=torch, PyTorch DistributedDataParallel, whose bucketed all-reduces run during the
# backward pass (overlap_grad_reduce: true); the pipelined rows (39.1B on) ran DDP=local,
# which Megatron-LM then required with pp > 1 and which all-reduces every gradient after the
# last micro-batch's backward pass (megatron/training.py train_step at that commit:
# "All-reduce if needed ... model_module.allreduce_gradients()" after forward_backward_func):
# overlap_grad_reduce: false.
awk -F, -v out="$out" 'NR > 1 {
    f = out "/megatron2021-" $1 ".yaml"
    vs = 1; sched = "1f1b"
    if ($14 != "") { vs = $5 / $9 / $14; sched = "interleaved" }
    print "# Narayanan et al. 2021 (arXiv 2104.04473), Table 1, row " $1 ": published " $16 " TFLOP/s" > f
    print "# per GPU counting the recomputation (eq. 3; metric hfu). Made by" > f
    print "# analysis/make-validation-configs.sh from shared/validation/megatron-2021-a100.csv." > f
    print "name: megatron2021-" $1 > f
    print "topology: ../../topologies/selene-a100.yaml" > f
    print "workload: ../../workloads/megatron2021-" $1 ".yaml" > f
    print "parallelism:" > f
    print "  tp: " $8 > f
    print "  pp: " $9 > f
    print "  dp: " $10 > f
    print "  chips: " $11 > f
    print "  schedule: " sched > f
    if (vs > 1) print "  virtual_stages: " vs > f
    print "  zero: 0" > f
    print "  sequence_parallel: false" > f
    print "  recompute: full" > f
    if ($9 == 1) {
        print "  overlap_grad_reduce: true    # DDP=torch in examples/sc21/run_table_1.sh:" > f
        print "                               # PyTorch DDP, buckets reduced during backward" > f
    } else {
        print "  overlap_grad_reduce: false   # DDP=local in examples/sc21/run_table_1.sh:" > f
        print "                               # reduced after the backward pass" > f
        print "                               # (megatron/training.py train_step, 2021)" > f
    }
    print "run: {steps: 1, warmup: 1, seed: 1}" > f
    close(f)
}' "$data/megatron-2021-a100.csv"

# Korthikanti et al. 2022 (A100): sequence parallelism and selective recomputation. Every
# row has dp 1, so there is no gradient reduction to overlap; the paper is silent, and the
# configs say Megatron-LM's default (overlap_grad_reduce: false), which changes nothing here.
awk -F, -v out="$out" 'NR > 1 {
    f = out "/korthikanti2022-" $1 ".yaml"
    vs = $13 == "" ? 1 : $13
    sched = vs > 1 ? "interleaved" : "1f1b"
    print "# Korthikanti et al. 2022 (arXiv 2205.05198), row " $1 ": published MFU " $17 "%, HFU " $18 "%," > f
    print "# iteration " $16 " s. Made by analysis/make-validation-configs.sh from" > f
    print "# shared/validation/korthikanti-2022-a100.csv." > f
    print "name: korthikanti2022-" $1 > f
    print "topology: ../../topologies/selene-a100.yaml" > f
    print "workload: ../../workloads/korthikanti2022-" $1 ".yaml" > f
    print "parallelism:" > f
    print "  tp: " $7 > f
    print "  pp: " $8 > f
    print "  dp: " $9 > f
    print "  chips: " $10 > f
    print "  schedule: " sched > f
    if (vs > 1) print "  virtual_stages: " vs > f
    print "  zero: 0" > f
    print "  sequence_parallel: " $15 > f
    print "  recompute: " $14 > f
    print "  overlap_grad_reduce: false   # assumed (dp 1: nothing to reduce)" > f
    print "run: {steps: 1, warmup: 1, seed: 1}" > f
    close(f)
}' "$data/korthikanti-2022-a100.csv"

# Megatron-LM README, H100 weak scaling (2024): MFU. Not in the table, assumed: micro-batch 1,
# sequence parallelism with TP, the distributed optimizer (ZeRO-1), selective recomputation,
# non-interleaved 1F1B; an NDR rail-optimized fabric (8x 400 Gb/s per node). Stated by the
# source (the data's README: "DP, TP and PP communication overlapped with compute"): TP
# communication overlapped with its GEMMs where TP > 1, the gradient reduce-scatters with
# the backward pass and the parameter all-gather with the next forward
# (tp_comm_overlap, overlap_grad_reduce, overlap_param_gather).
awk -F, -v out="$out" 'NR > 1 {
    f = out "/megatron2024-" $1 ".yaml"
    print "# Megatron-LM README (2024), H100 weak scaling, row " $1 ": published MFU " $14 "% (" $13 > f
    print "# TFLOP/s per GPU). Made by analysis/make-validation-configs.sh from" > f
    print "# shared/validation/megatron-2024-h100.csv; see the script for the assumptions." > f
    print "name: megatron2024-" $1 > f
    print "topology: ../../topologies/h100-superpod-16k.yaml" > f
    print "workload: ../../workloads/megatron2024-" $1 ".yaml" > f
    print "parallelism:" > f
    print "  tp: " $8 > f
    print "  pp: " $9 > f
    print "  dp: " $10 > f
    print "  chips: " $11 > f
    print "  schedule: 1f1b" > f
    print "  zero: 1" > f
    print "  sequence_parallel: " ($8 > 1 ? "true" : "false") > f
    print "  recompute: selective" > f
    if ($8 > 1) print "  tp_comm_overlap: true" > f
    print "  overlap_grad_reduce: true    # the source: \"DP, TP and PP communication overlapped\"" > f
    print "  overlap_param_gather: true" > f
    print "run: {steps: 1, warmup: 1, seed: 1}" > f
    close(f)
}' "$data/megatron-2024-h100.csv"

# Held-out rows (analysis/data/megatron2024-strong-scaling.csv): the 2024 source's strong
# scaling of its 177B row, the same config as that row but for dp and chips. Never fitted.
grep -v '^#' analysis/data/megatron2024-strong-scaling.csv | awk -F, -v out="$out" '{
    f = out "/megatron2024strong-" $1 ".yaml"
    print "# Megatron-LM README (2024), H100 strong scaling of the 177B row to " $2 " GPUs:" > f
    print "# published MFU " $4 "%. Held out: never fitted (analysis/validate.sh prints it apart)." > f
    print "# Made by analysis/make-validation-configs.sh from" > f
    print "# analysis/data/megatron2024-strong-scaling.csv; the assumptions are the 177B row'"'"'s." > f
    print "name: megatron2024strong-" $1 > f
    print "topology: ../../topologies/h100-superpod-16k.yaml" > f
    print "workload: ../../workloads/megatron2024-gpt-177b.yaml" > f
    print "parallelism:" > f
    print "  tp: 8" > f
    print "  pp: 6" > f
    print "  dp: " $3 > f
    print "  chips: " $2 > f
    print "  schedule: 1f1b" > f
    print "  zero: 1" > f
    print "  sequence_parallel: true" > f
    print "  recompute: selective" > f
    print "  tp_comm_overlap: true" > f
    print "  overlap_grad_reduce: true    # the source: \"DP, TP and PP communication overlapped\"" > f
    print "  overlap_param_gather: true" > f
    print "run: {steps: 1, warmup: 1, seed: 1}" > f
    close(f)
}'
