#!/bin/sh
# Fits the model's one parameter, eta, on every published measurement of ../shared/validation
# (23 rows, A100 and H100 together): every chip's efficiency.gemm is eta x its
# efficiency.matmul_max, the best GEMM a microbenchmark reaches on that chip (cited in its
# chip file). Everything else the replay uses is physical and fixed beforehand, each value
# with its source in topologies/chips/ and the topologies: attention kernels' efficiency,
# HBM efficiency, NCCL's protocol efficiency and latencies.
#
# It replays every row at each eta of GRID (default 0.6 to 1.0; `clustersim calibrate
# --curves`, one process per row, in parallel), fits on the curves (`clustersim calibrate
# --cross-validate`) and prints the fit, then each chip's efficiency.gemm to copy into
# topologies/chips/ with this command. analysis/validate.sh then checks the shipped values by
# exact replays and reports the cross-validated (out-of-sample) error.
# Usage: analysis/calibrate.sh [BIN] [DATA_DIR]   (from the repository root)
set -eu
bin=${1:-build/clustersim}
data=${2:-../shared/validation}
grid=${GRID:-0.6,0.7,0.8,0.9,1.0}
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
    awk -F, 'NR > 1 { print "megatron2021-" $1, "tflops", $16, "megatron2021" }' "$data/megatron-2021-a100.csv"
    awk -F, 'NR > 1 { print "korthikanti2022-" $1, "mfu", $17, "korthikanti2022" }' "$data/korthikanti-2022-a100.csv"
    awk -F, 'NR > 1 { print "megatron2024-" $1, "mfu", $14, "megatron2024" }' "$data/megatron-2024-h100.csv"
} | while read -r name metric pub source; do
    echo "configs/validation/$name.yaml $metric $pub $source" > "$tmp/$name"
    echo "$name"
done > "$tmp/names"
xargs -P "$jobs" -I{} sh -c \
    '"$1" calibrate --curves "$3" "$2/{}" > "$2/{}.curve" 2> "$2/{}.err" || { echo "clustersim calibrate --curves failed for {}:" >&2; cat "$2/{}.err" >&2; exit 255; }' \
    sh "$bin" "$tmp" "$grid" < "$tmp/names"
while read -r name; do cat "$tmp/$name.curve"; done < "$tmp/names" > "$tmp/curves"
"$bin" calibrate --cross-validate "$tmp/curves"
