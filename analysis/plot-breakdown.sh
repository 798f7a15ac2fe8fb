#!/bin/sh
# Plots where the step time goes, one stacked bar per run whose status is 'ok' and that has
# step rows (the per-run means of v_exposed_comm): compute (the step time less everything
# else, never below 0), exposed tp, pp, dp, cp and ep communication and the pipeline
# bubble, in seconds per step. With KEY, only the runs that have the sweep parameter KEY,
# labelled by its value (sorted when all values are numbers, else in run order; "VALUE
# (run N)" when runs share a value); without, every such run, labelled by run id. Writes
# OUTSTEM.png (pngcairo, else png) and OUTSTEM.svg with gnuplot; reads the database only
# through the sqlite3 shell. Exit status 2, nothing written, on bad usage or when no run
# matches.
# Usage: analysis/plot-breakdown.sh DB OUTSTEM [KEY]
#   e.g. analysis/plot-breakdown.sh results.db breakdown-tp parallelism.tp
set -eu
me=${0##*/}
usage() {
    echo "usage: $0 DB OUTSTEM [KEY]" >&2
    exit 2
}
. "$(dirname -- "$0")/plot-lib.sh"
[ $# -eq 2 ] || [ $# -eq 3 ] || usage
db=$1 out=$2 key=${3-}
if [ -z "$db" ] || [ -z "$out" ]; then usage; fi
[ $# -eq 2 ] || [ -n "$key" ] || usage
[ -f "$db" ] || die "no such database: $db"
[ -d "$(dirname -- "$out")" ] || die "no such directory: $(dirname -- "$out")"
plot_setup

from="FROM v_exposed_comm AS e JOIN run AS r ON r.run_id = e.run_id"
if [ -n "$key" ]; then
    from="$from JOIN sweep_param AS p ON p.run_id = e.run_id AND p.key = '$(sq "$key")'"
    # sorted by value when every value is a number, else in run order
    query "SELECT p.value $from WHERE r.status = 'ok';" > "$tmp/values"
    numeric=$(awk '$0 !~ /^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$/ { bad = 1 }
                   END { print (NR > 0 && !bad) }' "$tmp/values")
    label="CASE WHEN count(*) OVER (PARTITION BY p.value) > 1
                THEN p.value || ' (run ' || e.run_id || ')' ELSE p.value END"
    if [ "$numeric" -eq 1 ]; then
        order="CAST(p.value AS REAL), e.run_id"
    else
        order="e.run_id"
    fi
    xlabel=$key
    title="Step time breakdown by $key"
else
    label="e.run_id"
    order="e.run_id"
    xlabel="run"
    title="Step time breakdown per run"
fi
printf 'run\tcompute\texposed tp\texposed pp\texposed dp\texposed cp\texposed ep\tbubble\n' \
    > "$tmp/data"
query "SELECT $label,
       max(e.step_time_s - coalesce(e.exposed_tp_s, 0) - coalesce(e.exposed_pp_s, 0)
           - coalesce(e.exposed_dp_s, 0) - coalesce(e.exposed_cp_s, 0)
           - coalesce(e.exposed_ep_s, 0) - coalesce(e.bubble_s, 0), 0),
       coalesce(e.exposed_tp_s, 0), coalesce(e.exposed_pp_s, 0), coalesce(e.exposed_dp_s, 0),
       coalesce(e.exposed_cp_s, 0), coalesce(e.exposed_ep_s, 0), coalesce(e.bubble_s, 0)
$from
WHERE r.status = 'ok' AND e.step_time_s IS NOT NULL
ORDER BY $order;" > "$tmp/rows"
if [ ! -s "$tmp/rows" ]; then
    if [ -n "$key" ]; then
        die "no run with status 'ok' and step rows has the sweep parameter '$key' in $db"
    fi
    die "no run with status 'ok' has step rows in $db"
fi
# gnuplot would read a double quote in a label as a string delimiter
sed 's/"/'"''"'/g' "$tmp/rows" >> "$tmp/data"
# labels slanted when they would not fit side by side (about 90 characters across)
rotate=$(awk -F '\t' 'length($1) > w { w = length($1) } END { print (NR * (w + 2) > 90) }' "$tmp/rows")

{
    gp_begin
    cat << 'EOF'
set datafile separator "\t"
set style data histograms
set style histogram rowstacked
set style fill solid 0.9 border rgb 'black'
set boxwidth 0.7 relative
set ylabel 'time per step (s)'
set yrange [0:*]
set grid ytics
set key outside right top Left reverse
colors = '#4878d0 #ee854a #6acc64 #d65f5f #956cb4 #8c613c #bbbbbb'
EOF
    echo "set title $(gq "$title")"
    echo "set xlabel $(gq "$xlabel")"
    [ "$rotate" -eq 1 ] && echo "set xtics rotate by 45 right"
    echo "plot for [i=2:8] $(gq "$tmp/data") using i:xtic(1) title columnheader(i) lc rgb word(colors, i - 1)"
} > "$tmp/plot.gp"
gp_render
