#!/bin/sh
# The cluster design study: sweeps configs/studies/fabric-oversubscription.yaml (Llama 3
# 405B on 16,384 H100, the fabric's leaves at 1:1, 1.5:1, 2:1 and 3:1) if the database lacks
# points, then prints per design MFU, tokens/s, switches, optics, facility power, capital,
# tokens per joule and tokens per dollar, and plots tokens/s against capital, the Pareto
# front marked (OUTSTEM.png and .svg).
# Usage: analysis/design-study.sh [DB] [OUTSTEM] [BIN]   (from the repository root;
# defaults: results-fabric-oversubscription.db, design-study, build/clustersim).
set -eu
db=${1:-results-fabric-oversubscription.db}
out=${2:-design-study}
bin=${3:-build/clustersim}
"$bin" sweep --quiet --db "$db" configs/studies/fabric-oversubscription.yaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sqlite3 -batch -separator ' ' "$db" "
SELECT p.value, printf('%.4f', r.mfu * 100), printf('%.6g', r.tokens_per_s),
       w.leaves + w.spines + w.cores, w.optics, printf('%.4f', w.facility_W / 1e6),
       printf('%.4f', w.capital_usd / 1e6), printf('%.6g', w.tokens_per_J),
       printf('%.6g', 1 / w.usd_per_token)
FROM run AS r JOIN sweep_param AS p ON p.run_id = r.run_id
     AND p.key = 'topology.fabric.oversubscription'
JOIN power AS w ON w.run_id = r.run_id
WHERE r.status = 'ok' AND r.config_path LIKE '%fabric-oversubscription.yaml'
ORDER BY p.value + 0;" > "$tmp/data"
[ -s "$tmp/data" ] || { echo "design-study: no finished points in $db" >&2; exit 2; }
# the Pareto front over (capital, tokens/s): no cheaper design is as fast
sort -k7,7g "$tmp/data" | awk '{ if ($3 > best) { best = $3; print } }' > "$tmp/front"
printf '%-8s %7s %11s %9s %8s %11s %12s %10s %12s\n' leaf MFU tokens/s switches optics \
    "facility MW" "capital M\$" tokens/J "tokens/\$"
awk '{ printf "%-8s %6.2f%% %11.4g %9d %8d %11.2f %12.1f %10.4f %12.4g\n", $1 ":1", $2, $3, $4,
       $5, $6, $7, $8, $9 }' "$tmp/data"
for term in png svg; do
    if [ "$term" = png ]; then
        t='pngcairo size 800,500'
        gnuplot -e 'set terminal pngcairo' > /dev/null 2>&1 || t='png size 800,500'
    else
        t='svg size 800,500'
    fi
    gnuplot <<G
set terminal $t
set output '$out.$term'
set title 'Llama 3 405B on 16,384 H100: throughput against capital, by leaf oversubscription'
set xlabel 'capital of the job''s parts (million USD)'
set ylabel 'tokens per second'
set grid
set key bottom right
set offsets graph 0.05, graph 0.1, graph 0.1, graph 0.1
plot '$tmp/data' using 7:3 with points pt 7 ps 1.5 title 'design', \
     '' using 7:3:(sprintf('%s:1', stringcolumn(1))) with labels offset 0,1 notitle, \
     '$tmp/front' using 7:3 with lines lw 2 title 'Pareto front'
G
done
echo "wrote $out.png and $out.svg"
