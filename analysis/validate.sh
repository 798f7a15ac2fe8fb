#!/bin/sh
# Replays every config of configs/validation/ and compares clustersim's prediction with the
# published measurement of its row in ../shared/validation/*.csv, in the metric the source
# reports: TFLOP/s per GPU counting recomputation (Narayanan et al. 2021, eq. 3) for the 2021
# table, MFU for Korthikanti et al. 2022 and the 2024 H100 table.
# Prints one line per row (name, metric, published, predicted, error %), then exactly
#   median_abs_err_pct=X max_abs_err_pct=Y rows=N
# Usage: analysis/validate.sh [BIN] [DATA_DIR]   (from the repository root; runs in parallel
# on all cores; the runs go to a temporary database that is removed afterwards).
set -eu
bin=${1:-build/clustersim}
data=${2:-../shared/validation}
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Published figures: name metric value
awk -F, 'NR > 1 { print "megatron2021-" $1, "tflops", $16 }' "$data/megatron-2021-a100.csv" > "$tmp/pub"
awk -F, 'NR > 1 { print "korthikanti2022-" $1, "mfu", $17 }' "$data/korthikanti-2022-a100.csv" >> "$tmp/pub"
awk -F, 'NR > 1 { print "megatron2024-" $1, "mfu", $14 }' "$data/megatron-2024-h100.csv" >> "$tmp/pub"

# Replay every row, one database each (in parallel).
cut -d' ' -f1 "$tmp/pub" | xargs -P "$jobs" -I{} sh -c \
    '"$1" run --quiet --db "$2/{}.db" configs/validation/{}.yaml > "$2/{}.out" 2>&1 || { echo "clustersim run failed for {}:" >&2; cat "$2/{}.out" >&2; exit 255; }' \
    sh "$bin" "$tmp"

while read -r name metric pub; do
    pred=$(sqlite3 -batch -noheader "$tmp/$name.db" \
        "SELECT CASE '$metric' WHEN 'tflops' THEN hardware_flops_per_step / step_time_s / chips / 1e12
                               ELSE mfu * 100 END FROM run ORDER BY run_id DESC LIMIT 1")
    echo "$name $metric $pub $pred"
done < "$tmp/pub" | awk '
{
    err = ($4 - $3) / $3 * 100
    printf "%-32s %-7s published %8.2f predicted %8.2f error %+7.2f%%\n", $1, $2, $3, $4, err
    e[NR] = err < 0 ? -err : err
}
END {
    n = NR
    for (i = 1; i <= n; i++)          # insertion sort of the absolute errors
        for (j = i; j > 1 && e[j - 1] > e[j]; j--) { t = e[j]; e[j] = e[j - 1]; e[j - 1] = t }
    med = n % 2 ? e[(n + 1) / 2] : (e[n / 2] + e[n / 2 + 1]) / 2
    printf "median_abs_err_pct=%.2f max_abs_err_pct=%.2f rows=%d\n", med, e[n], n
}'
