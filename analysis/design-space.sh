#!/bin/sh
# The cluster design space (issue 17): sweeps configs/studies/design-space.yaml (Llama 3 70B
# on 2,304 H100: rail-optimized or fat-tree fabric, 200, 400 or 800 Gb/s NICs, NVLink domains
# of 8 or 72) and design-space-sites.yaml (the same job on 2 or 4 sites joined by WAN) into
# one database, skipping points it already holds; then prints per design MFU, tokens/s,
# switches, optics, facility power, capital, tokens per joule and tokens per dollar, marks
# the Pareto front over (capital, tokens/s), and plots tokens/s against capital
# (OUTSTEM.png and .svg). Then runs configs/studies/power-cap.yaml (the rail-optimized 400G
# NVL8 design) under site power caps of 3.2 to 2.1 MW and prints the clock each leaves the
# GPUs, MFU, tokens/s, facility power, tokens/J and tokens/$ (skipped with NOCAP=1).
# Usage: analysis/design-space.sh [DB] [OUTSTEM] [BIN]   (from the repository root;
# defaults: results-design-space.db, design-space, build/clustersim).
set -eu
db=${1:-results-design-space.db}
out=${2:-design-space}
bin=${3:-build/clustersim}
for s in design-space design-space-sites; do
    "$bin" sweep --quiet --db "$db" "configs/studies/$s.yaml"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One line per design: label fields (fabric, NIC, domain, sites), then the figures.
sqlite3 -batch -separator ' ' "$db" "
WITH p AS (
  SELECT run_id,
         max(CASE WHEN key = 'topology.fabric.kind' THEN value END) AS kind,
         max(CASE WHEN key = 'topology.node.nic_bandwidth' THEN value END) AS nic,
         max(CASE WHEN key = 'topology.scale_up.size' THEN value END) AS nvl,
         max(CASE WHEN key = 'topology' THEN value END) AS topo
  FROM sweep_param GROUP BY run_id)
SELECT CASE WHEN p.kind = 'fat-tree' THEN 'fat-tree' ELSE 'rail' END,
       CAST(coalesce(p.nic, '400') AS INTEGER),
       coalesce(p.nvl, 8),
       CASE WHEN p.topo LIKE '%4x576%' THEN 4 WHEN p.topo LIKE '%2x1152%' THEN 2 ELSE 1 END,
       printf('%.4f', r.mfu * 100), printf('%.6g', r.tokens_per_s),
       w.leaves + w.spines + w.cores, w.optics, printf('%.4f', w.facility_W / 1e6),
       printf('%.4f', w.capital_usd / 1e6), printf('%.6g', w.tokens_per_J),
       printf('%.6g', 1 / w.usd_per_token)
FROM run AS r JOIN p ON p.run_id = r.run_id JOIN power AS w ON w.run_id = r.run_id
WHERE r.status = 'ok' AND (r.config_path LIKE '%studies/design-space.yaml'
                           OR r.config_path LIKE '%studies/design-space-sites.yaml')
ORDER BY 4, 1 DESC, 3, 2;" > "$tmp/data"
[ -s "$tmp/data" ] || { echo "design-space: no finished points in $db" >&2; exit 2; }
# the Pareto front over (capital, tokens/s): no cheaper or equally priced design is as fast
sort -k10,10g -k6,6gr "$tmp/data" | awk '{ if ($6 > best) { best = $6; print } }' > "$tmp/front"
printf '%-26s %7s %11s %9s %7s %9s %11s %9s %11s %s\n' design MFU tokens/s switches optics \
    "fac. MW" "capital M\$" tokens/J "tokens/\$" front
awk 'NR == FNR { f[$0] = 1; next }
     { d = sprintf("%s %dG NVL%d", $1, $2, $3)
       if ($4 > 1) d = d sprintf(", %d sites", $4)
       printf "%-26s %6.2f%% %11.4g %9d %7d %9.3f %11.2f %9.4f %11.4g %s\n", d, $5, $6, $7, $8,
              $9, $10, $11, $12, ($0 in f) ? "*" : "" }' "$tmp/front" "$tmp/data"
# point sets for the plot: one per fabric and domain size, one for the multi-site designs
awk '$4 == 1 && $1 == "rail" && $3 == 8' "$tmp/data" > "$tmp/r8"
awk '$4 == 1 && $1 == "rail" && $3 == 72' "$tmp/data" > "$tmp/r72"
awk '$4 == 1 && $1 == "fat-tree" && $3 == 8' "$tmp/data" > "$tmp/f8"
awk '$4 == 1 && $1 == "fat-tree" && $3 == 72' "$tmp/data" > "$tmp/f72"
awk '$4 > 1' "$tmp/data" > "$tmp/sites"
for term in png svg; do
    if [ "$term" = png ]; then
        t='pngcairo size 900,560'
        gnuplot -e 'set terminal pngcairo' > /dev/null 2>&1 || t='png size 900,560'
    else
        t='svg size 900,560'
    fi
    gnuplot <<G
set terminal $t
set output '$out.$term'
set title 'Llama 3 70B on 2,304 H100: throughput against capital, by cluster design'
set xlabel 'capital of the job''s parts (million USD)'
set ylabel 'million tokens per second'
set grid
set key bottom right
set offsets graph 0.08, graph 0.12, graph 0.1, graph 0.1
plot '$tmp/r8' using 10:(\$6/1e6) with points pt 7 ps 1.4 title 'rail-optimized, NVL8', \
     '$tmp/r72' using 10:(\$6/1e6) with points pt 5 ps 1.4 title 'rail-optimized, NVL72', \
     '$tmp/f8' using 10:(\$6/1e6) with points pt 6 ps 1.4 title 'fat tree, NVL8', \
     '$tmp/f72' using 10:(\$6/1e6) with points pt 4 ps 1.4 title 'fat tree, NVL72', \
     '$tmp/sites' using 10:(\$6/1e6) with points pt 9 ps 1.6 title 'rail, 400G, NVL8 in 2 or 4 sites', \
     '$tmp/data' using 10:(\$6/1e6):(\$4 > 1 ? sprintf('%d sites', \$4) : sprintf('%dG', \$2)) \
         with labels left offset 1,0 font ',8' notitle, \
     '$tmp/front' using 10:(\$6/1e6) with lines lw 2 lc rgb 'black' title 'Pareto front'
G
done
echo "wrote $out.png and $out.svg"
[ "${NOCAP:-0}" = 1 ] && exit 0
echo
printf '%-9s %7s %7s %11s %9s %9s %11s\n' cap clock MFU tokens/s "fac. MW" tokens/J "tokens/\$"
for cap in 3.2 2.9 2.6 2.3 2.1; do
    "$bin" run --no-db --set "topology.power.cap=$cap MW" configs/studies/power-cap.yaml \
        > "$tmp/cap.txt" 2>&1 || { cat "$tmp/cap.txt" >&2; exit 2; }
    awk -v cap="$cap" '
        /^step time/ { tps = $5; sub(/,/, "", tps); mfu = $8 }
        /^  facility/ { mw = $2; if ($3 == "kW") mw /= 1000 }
        /tokens per J$/ { tpj = $(NF - 3) }
        /per million tokens$/ { usd = $(NF - 3); sub(/^\$/, "", usd) }
        /clocks at/ { clk = $0; sub(/.*clocks at /, "", clk); sub(/ .*/, "", clk) }
        /floor|lowest clock/ { clk = clk " (floor)" }
        END { if (clk == "") clk = "100%"
              printf "%-9s %7s %7s %11s %9.3f %9s %11.4g\n", cap " MW", clk, mfu, tps, mw, tpj,
                     1e6 / usd }' "$tmp/cap.txt"
done
