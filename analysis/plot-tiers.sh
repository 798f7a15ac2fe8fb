#!/bin/sh
# Plots link utilization per link kind of one run as grouped bars: the mean over the kind's
# links of their mean utilization, and the highest mean utilization of any of them (the
# mean_util and max_util of link-tiers.sql), in %; links without a link_stats row count as
# 0. Kinds are ordered by tier, from the chips outward. RUN_ID defaults to the newest run
# whose command is 'run'. Writes OUTSTEM.png (pngcairo, else png) and OUTSTEM.svg with
# gnuplot; reads the database only through the sqlite3 shell. Exit status 2, nothing
# written, on bad usage or when the run has no links.
# Usage: analysis/plot-tiers.sh DB OUTSTEM [RUN_ID]
#   e.g. analysis/plot-tiers.sh results.db tiers
set -eu
me=${0##*/}
usage() {
    echo "usage: $0 DB OUTSTEM [RUN_ID]" >&2
    exit 2
}
. "$(dirname -- "$0")/plot-lib.sh"
[ $# -eq 2 ] || [ $# -eq 3 ] || usage
db=$1 out=$2
if [ -z "$db" ] || [ -z "$out" ]; then usage; fi
if [ $# -eq 3 ]; then
    case $3 in '' | *[!0-9]*) usage ;; esac
fi
[ -f "$db" ] || die "no such database: $db"
[ -d "$(dirname -- "$out")" ] || die "no such directory: $(dirname -- "$out")"
plot_setup

if [ $# -eq 3 ]; then
    run=$3
else
    run=$(query "SELECT max(run_id) FROM run WHERE command = 'run';")
    [ -n "$run" ] || die "no run with command 'run' in $db"
fi
query "SELECT l.kind, 100 * avg(coalesce(s.mean_util, 0)), 100 * max(coalesce(s.mean_util, 0))
FROM link AS l
LEFT JOIN link_stats AS s ON s.run_id = l.run_id AND s.link_id = l.link_id
WHERE l.run_id = $run
GROUP BY l.kind
ORDER BY min(l.tier), l.kind;" > "$tmp/rows"
[ -s "$tmp/rows" ] || die "run $run has no links in $db"
mv "$tmp/rows" "$tmp/data"
what=$(query "SELECT coalesce(workload, '?') || ' on ' || coalesce(topology, '?')
FROM run WHERE run_id = $run;")

{
    gp_begin
    cat << 'EOF'
set datafile separator "\t"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border rgb 'black'
set ylabel 'link utilization (%)'
set xlabel 'link kind'
set yrange [0:*]
set grid ytics
set key inside right top Left reverse
EOF
    echo "set title $(gq "Link utilization per kind, run $run ($what)")"
    echo "plot $(gq "$tmp/data") using 2:xtic(1) title 'mean over the links of the kind' lc rgb '#4878d0', \\"
    echo "     '' using 3 title 'max (its busiest link)' lc rgb '#d65f5f'"
} > "$tmp/plot.gp"
gp_render
