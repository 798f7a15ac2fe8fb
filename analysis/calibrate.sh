#!/bin/sh
# Fits each chip type's efficiency parameters (efficiency.gemm, efficiency.gemm_half_dim, and
# for the H100, whose rows ran flash attention, efficiency.attention) to the published
# measurements of ../shared/validation, once per chip type, never per row:
#   a100-sxm-80gb: the 2021 table (Narayanan et al.) without its three largest rows (whose
#                  replays are the slowest: they stay out of the fit and check it) and the
#                  four Korthikanti et al. 2022 rows;
#   h100-sxm:      the 2024 H100 table without its largest row (also kept out to check).
# Prints clustersim calibrate's report per chip; copy the values into topologies/chips/ with
# this command. Takes about 15 minutes on 2 cores (the two fits run side by side).
# Usage: analysis/calibrate.sh [BIN] [DATA_DIR]   (from the repository root)
set -eu
bin=${1:-build/clustersim}
data=${2:-../shared/validation}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -F, 'NR > 1 && $1 != "gpt-1008b" && $1 != "gpt-529.6b" && $1 != "gpt-310.1b" {
    print "configs/validation/megatron2021-" $1 ".yaml tflops", $16 }' \
    "$data/megatron-2021-a100.csv" > "$tmp/a100"
awk -F, 'NR > 1 { print "configs/validation/korthikanti2022-" $1 ".yaml mfu", $17 }' \
    "$data/korthikanti-2022-a100.csv" >> "$tmp/a100"
awk -F, 'NR > 1 && $1 != "gpt-462b" { print "configs/validation/megatron2024-" $1 ".yaml mfu", $14 }' \
    "$data/megatron-2024-h100.csv" > "$tmp/h100"
"$bin" calibrate "$tmp/a100" > "$tmp/a100.out" &
a=$!
"$bin" calibrate --attention "$tmp/h100" > "$tmp/h100.out" &
h=$!
wait $a
wait $h
cat "$tmp/a100.out" "$tmp/h100.out"
