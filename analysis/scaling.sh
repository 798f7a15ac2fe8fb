#!/bin/sh
# The scaling table of the scale issue: one step of Llama 3 405B (TP 8, PP 16 with 7 + 14 x 8
# + 7 layers, 16 micro-batches per pipeline, full recomputation) from 1,024 to 98,304 H100,
# replayed whole, single-threaded. Prints GPUs, wall time, peak memory, events, events/s.
# 1k-16k run on topologies/h100-superpod-16k.yaml (the first N chips), 98k on h100-100k.yaml
# (configs/bench/h100-100k.yaml). Then the mixture-of-experts row (issue 18): the GPT-4-class
# MoE on 16,384 H100 with expert parallelism over nodes (configs/bench/gpt4-moe-16k.yaml,
# 1.03x the dense 16k step's model FLOPs): far slower than the dense rows (its first 20M of
# an estimated 357M events, 22.3M at 1,024 GPUs times 16, took 5.7x the dense step's time
# per event on the shared machine), so SCALING_MOE=0 leaves it out.
# Usage: analysis/scaling.sh [BIN]   (from the repository root; about 6 minutes on 2 cores
# without the MoE row).
set -eu
bin=${1:-build/clustersim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%8s %10s %12s %14s %12s\n' GPUs "wall s" "peak RSS MB" events "events/s"
point() { # gpus config [overrides...]
    n=$1
    cfg=$2
    shift 2
    /usr/bin/time -f '%e %M' -o "$tmp/time" "$bin" run --no-db --quiet "$@" "$cfg" \
        > "$tmp/out"
    ev=$(sed -n 's/^simulated in .* wall, \([0-9]*\) events$/\1/p' "$tmp/out")
    read -r wall rss < "$tmp/time"
    awk -v n="$n" -v w="$wall" -v r="$rss" -v e="$ev" \
        'BEGIN { printf "%8d %10.2f %12.0f %14d %12.0f\n", n, w, r / 1024, e, e / w }'
}
for n in 1024 2048 4096 8192 16384; do
    dp=$((n / 128))
    point "$n" configs/bench/llama3-405b-16k.yaml --set "parallelism.chips=$n" \
        --set "parallelism.dp=$dp" --set "parallelism.global_batch=$((dp * 16))"
done
point 98304 configs/bench/h100-100k.yaml
[ "${SCALING_MOE:-1}" = 0 ] && exit 0
echo "# mixture of experts: gpt4-moe-1.8t, TP 4, EP 16, PP 16, DP 256" \
    "(configs/bench/gpt4-moe-16k.yaml)"
point 16384 configs/bench/gpt4-moe-16k.yaml
