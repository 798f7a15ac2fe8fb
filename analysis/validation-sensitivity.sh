#!/bin/sh
# validation-sensitivity.sh: how much the Megatron-LM 2024 H100 rows move with the settings
# their source leaves unstated.
#
#   sh analysis/validation-sensitivity.sh [BIN] [DATA_DIR]     (from the repository root)
#
# The Megatron-LM README's H100 weak-scaling table (shared/validation/megatron-2024-h100.csv)
# gives each row's model, tp, pp, dp and global batch, and says that "DP, TP and PP
# communication" was "overlapped with compute". It does not give the micro-batch size, the
# pipeline schedule or its virtual stages; analysis/make-validation-configs.sh assumes
# micro-batch 1 and non-interleaved 1F1B. This script replays every row of the table under
# each alternative, one setting changed at a time, and prints the MFU each gives beside the
# published one (PaLM convention, as the source counts it), with the error of each:
#   shipped      the validation config as shipped
#   mbs2, mbs4   workload.training.micro_batch 2 or 4 (where it divides the replica's batch)
#   interleaved  schedule interleaved with the most virtual stages (at most 8) that divide
#                the stage's layers into chunks of two or more (pp > 1 rows only; Megatron-LM
#                overlaps pipeline communication only in its interleaved schedule)
#   no_slowdown  the H100's efficiency.overlap_slowdown at 0 instead of 0.189 (the compute
#                slowdown beside overlapped communication, Lee et al. 2025's average)
# "-" marks a variant that does not apply to the row, "does not fit" one whose peak memory
# exceeds HBM (run refuses it, exit 3). Nothing here is fitted: it shows which
# rows the unstated settings can explain and which they cannot. Runs in a temporary
# directory, removed afterwards; the config, topology and workload files are copied there so
# that the chip file can be changed without touching the checkout.
set -eu
bin=$(cd "$(dirname "${1:-build/clustersim}")" && pwd)/$(basename "${1:-build/clustersim}")
data=${2:-../shared/validation}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r configs topologies workloads "$tmp/"
mkdir "$tmp/slow0"
cp -r configs topologies workloads "$tmp/slow0/"
sed -i 's/^\(  overlap_slowdown:\) 0\.189/\1 0.0/' "$tmp/slow0/topologies/chips/h100-sxm.yaml"
grep -q '^  overlap_slowdown: 0.0 ' "$tmp/slow0/topologies/chips/h100-sxm.yaml" || {
    echo "validation-sensitivity.sh: topologies/chips/h100-sxm.yaml has no overlap_slowdown 0.189 to change" >&2
    exit 1
}

# One replay's MFU in percent (PaLM convention), or "-".
mfu() { # dir config [--set K=V]...
    d=$1 c=$2
    shift 2
    rc=0
    out=$(cd "$d" && "$bin" run --no-db --quiet "$@" "$c" 2>&1) || rc=$?
    if [ "$rc" -eq 3 ]; then echo nofit; return; fi   # peak memory over HBM: run refuses it
    if [ "$rc" -ne 0 ]; then
        echo "validation-sensitivity.sh: clustersim run failed for $c $*:" >&2
        echo "$out" >&2
        exit 1
    fi
    echo "$out" | sed -n 's/.*MFU \([0-9.]*\)%.*/\1/p' | head -n 1
}

printf '%-10s %9s %14s %14s %14s %14s %14s\n' row published shipped mbs2 mbs4 interleaved no_slowdown
awk -F, 'NR > 1 { print $1, $5, $9, $10, $12, $14 }' "$data/megatron-2024-h100.csv" |
while read -r name layers pp dp batch pub; do
    c=configs/validation/megatron2024-$name.yaml
    per_replica=$((batch / dp))
    ship=$(mfu "$tmp" "$c")
    m2=-; m4=-; il=-
    [ $((per_replica % 2)) -eq 0 ] && m2=$(mfu "$tmp" "$c" --set workload.training.micro_batch=2)
    [ $((per_replica % 4)) -eq 0 ] && m4=$(mfu "$tmp" "$c" --set workload.training.micro_batch=4)
    if [ "$pp" -gt 1 ]; then
        per_stage=$((layers / pp)) v=0
        for k in 8 6 4 3 2; do
            if [ "$v" -eq 0 ] && [ $((per_stage % k)) -eq 0 ] && [ $((per_stage / k)) -ge 2 ]; then v=$k; fi
        done
        [ "$v" -gt 0 ] && il="$(mfu "$tmp" "$c" --set parallelism.schedule=interleaved \
            --set parallelism.virtual_stages=$v)/v$v"
    fi
    ns=$(mfu "$tmp/slow0" "$c")
    echo "$name $pub $ship $m2 $m4 $il $ns"
done | awk '
function cell(v,   x, tag) {
    if (v == "-" || v == "nofit") return sprintf("%14s", v == "-" ? "-" : "does not fit")
    tag = ""
    if (index(v, "/")) { tag = substr(v, index(v, "/") + 1); v = substr(v, 1, index(v, "/") - 1) }
    x = (v - pub) / pub * 100
    return sprintf("%5.1f %+6.1f%%%s", v, x, tag == "" ? "" : " " tag)
}
{
    pub = $2
    printf "%-10s %9.1f %14s %14s %14s %14s %14s\n", $1, $2, cell($3), cell($4), cell($5), cell($6), cell($7)
}'
