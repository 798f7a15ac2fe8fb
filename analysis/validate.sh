#!/bin/sh
# Replays every config of configs/validation/ and compares clustersim's prediction with the
# published measurement of its row in ../shared/validation/*.csv, in the metric the source
# reports: TFLOP/s per GPU counting recomputation (Narayanan et al. 2021, eq. 3) for the 2021
# table, MFU for Korthikanti et al. 2022 and the 2024 H100 table.
#
# The model has one fitted parameter, eta (every chip's efficiency.gemm = eta x its cited
# efficiency.matmul_max), fitted on all rows by analysis/calibrate.sh. So every row is
# in-sample for the shipped chip files, and the honest figure is cross-validated: each row is
# predicted by a fit that never saw it (leave one row out) or never saw its whole source
# table (leave one source out, the headline).
#
# Prints, in this order:
#   one line per row at the shipped chip files (name, metric, published, predicted, error %)
#   median_abs_err_pct=X max_abs_err_pct=Y rows=N             in-sample, exact replays
#   the cross-validation's table (each row's in-sample, leave-row-out, leave-source-out)
#   loro_median_abs_err_pct=X loro_max_abs_err_pct=Y rows=N   leave one row out
#   oos_median_abs_err_pct=X oos_max_abs_err_pct=Y rows=N     leave one source out
#   one line per held-out row (analysis/data/megatron2024-strong-scaling.csv: rows no fit
#   ever saw, at the shipped chip files), then
#   holdout_median_abs_err_pct=X holdout_max_abs_err_pct=Y rows=N
# The cross-validation replays every row at each eta of GRID (`clustersim calibrate
# --curves`) and refits on the curves (`clustersim calibrate --cross-validate`); it also says
# how far the curves' in-sample prediction lies from the exact replay at the shipped values
# (which also compares calibrate's one step without warm-up with run's steps after warm-up).
# Usage: analysis/validate.sh [--no-cv] [BIN] [DATA_DIR]   (from the repository root; runs in
# parallel on all cores; everything goes to a temporary directory removed afterwards).
set -eu
cv=1
if [ "${1:-}" = "--no-cv" ]; then cv=0; shift; fi
bin=${1:-build/clustersim}
data=${2:-../shared/validation}
grid=${GRID:-0.6,0.7,0.8,0.9,1.0}
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Published figures: name metric value source
awk -F, 'NR > 1 { print "megatron2021-" $1, "tflops", $16, "megatron2021" }' "$data/megatron-2021-a100.csv" > "$tmp/pub"
awk -F, 'NR > 1 { print "korthikanti2022-" $1, "mfu", $17, "korthikanti2022" }' "$data/korthikanti-2022-a100.csv" >> "$tmp/pub"
awk -F, 'NR > 1 { print "megatron2024-" $1, "mfu", $14, "megatron2024" }' "$data/megatron-2024-h100.csv" >> "$tmp/pub"

# Replay every row, one database each (in parallel).
cut -d' ' -f1 "$tmp/pub" | xargs -P "$jobs" -I{} sh -c \
    '"$1" run --quiet --db "$2/{}.db" configs/validation/{}.yaml > "$2/{}.out" 2>&1 || { echo "clustersim run failed for {}:" >&2; cat "$2/{}.out" >&2; exit 255; }' \
    sh "$bin" "$tmp"

while read -r name metric pub source; do
    pred=$(sqlite3 -batch -noheader "$tmp/$name.db" \
        "SELECT CASE '$metric' WHEN 'tflops' THEN hardware_flops_per_step / step_time_s / chips / 1e12
                               ELSE mfu * 100 END FROM run ORDER BY run_id DESC LIMIT 1")
    echo "$name $metric $pub $pred"
done < "$tmp/pub" | tee "$tmp/exact" | awk '
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
if [ "$cv" = 1 ]; then
# Cross-validation: every row's curve over the grid (one process per row, in parallel),
# then the fits.
mkdir "$tmp/rows"
while read -r name metric pub source; do
    echo "configs/validation/$name.yaml $metric $pub $source" > "$tmp/rows/$name"
done < "$tmp/pub"
cut -d' ' -f1 "$tmp/pub" | xargs -P "$jobs" -I{} sh -c \
    '"$1" calibrate --curves "$3" "$2/rows/{}" > "$2/rows/{}.curve" 2> "$2/rows/{}.err" || { echo "clustersim calibrate --curves failed for {}:" >&2; cat "$2/rows/{}.err" >&2; exit 255; }' \
    sh "$bin" "$tmp" "$grid"
cut -d' ' -f1 "$tmp/pub" | while read -r name; do cat "$tmp/rows/$name.curve"; done > "$tmp/curves"
"$bin" calibrate --cross-validate "$tmp/curves" > "$tmp/cv"
grep -v '^in_sample_' "$tmp/cv"

# How far the curves' in-sample prediction (one step, no warm-up, interpolated) lies from
# the exact replay of the shipped chip files (run's steps after its warm-up).
awk '
FNR == NR { exact[$1] = $4; next }
/ published .* in-sample / {
    name = $1; sub(/^configs\/validation\//, "", name); sub(/\.yaml$/, "", name)
    if (name in exact) { d = ($6 - exact[name]) / exact[name] * 100; if (d < 0) d = -d; if (d > m) m = d; n++ }
}
END { printf "check: curves at the fitted eta vs exact replays at the shipped values: max |diff| %.2f%% over %d rows\n", m, n }
' "$tmp/exact" "$tmp/cv"
fi

# Held-out rows: replayed at the shipped chip files, never part of any fit.
grep -v '^#' analysis/data/megatron2024-strong-scaling.csv |
    awk -F, '{ print "megatron2024strong-" $1, "mfu", $4, "megatron2024strong" }' > "$tmp/held"
cut -d' ' -f1 "$tmp/held" | xargs -P "$jobs" -I{} sh -c \
    '"$1" run --quiet --db "$2/{}.db" configs/validation/{}.yaml > "$2/{}.out" 2>&1 || { echo "clustersim run failed for {}:" >&2; cat "$2/{}.out" >&2; exit 255; }' \
    sh "$bin" "$tmp"
while read -r name metric pub source; do
    pred=$(sqlite3 -batch -noheader "$tmp/$name.db" "SELECT mfu * 100 FROM run ORDER BY run_id DESC LIMIT 1")
    echo "$name $metric $pub $pred"
done < "$tmp/held" | awk '
{
    err = ($4 - $3) / $3 * 100
    printf "%-35s %-7s published %8.2f predicted %8.2f error %+7.2f%% (held out)\n", $1, $2, $3, $4, err
    e[NR] = err < 0 ? -err : err
}
END {
    n = NR
    for (i = 1; i <= n; i++)
        for (j = i; j > 1 && e[j - 1] > e[j]; j--) { t = e[j]; e[j] = e[j - 1]; e[j - 1] = t }
    med = n % 2 ? e[(n + 1) / 2] : (e[n / 2] + e[n / 2 + 1]) / 2
    printf "holdout_median_abs_err_pct=%.2f holdout_max_abs_err_pct=%.2f rows=%d\n", med, e[n], n
}'
