#!/bin/sh
# The network-growth study: sweeps configs/studies/network-growth.yaml (Llama 3 405B on
# 16,128 chips of each generation, A100 to H100 to B200 to a hypothetical next one) if the
# database lacks points, then prints MFU, step time and where the step goes per generation,
# and plots MFU and the exposed communication per generation (OUTSTEM.png and .svg).
# Usage: analysis/network-growth.sh [DB] [OUTSTEM] [BIN]   (from the repository root;
# defaults: results-network-growth.db, network-growth, build/clustersim). About 6 minutes on
# 2 cores for the four replays.
set -eu
db=${1:-results-network-growth.db}
out=${2:-network-growth}
bin=${3:-build/clustersim}
"$bin" sweep --quiet --db "$db" configs/studies/network-growth.yaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sqlite3 -batch -separator ' ' "$db" "
SELECT p.value, printf('%.4f', r.mfu * 100), printf('%.4f', r.step_time_s),
       printf('%.4f', 100 * (e.exposed_tp_frac + e.exposed_pp_frac + e.exposed_dp_frac +
                             e.exposed_cp_frac + e.exposed_ep_frac)),
       printf('%.4f', 100 * e.bubble_frac)
FROM run AS r JOIN sweep_param AS p ON p.run_id = r.run_id AND p.key = 'topology.chip'
JOIN v_exposed_comm AS e ON e.run_id = r.run_id
WHERE r.status = 'ok' AND r.config_path LIKE '%network-growth.yaml'
ORDER BY r.model_flops_per_step / r.step_time_s / r.mfu;" > "$tmp/data"
[ -s "$tmp/data" ] || { echo "network-growth: no finished points in $db" >&2; exit 2; }
printf '%-16s %8s %12s %16s %10s\n' generation "MFU" "step time" "exposed comm" bubble
awk '{ printf "%-16s %7.1f%% %10.2f s %15.1f%% %9.1f%%\n", $1, $2, $3, $4, $5 }' "$tmp/data"
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
set title 'Llama 3 405B on 16,128 chips: MFU and exposed communication by generation'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'percent of the step'
set yrange [0:*]
set key top left
set grid ytics
plot '$tmp/data' using 2:xtic(1) title 'MFU', '' using 4 title 'exposed communication', \
     '' using 5 title 'pipeline bubble'
G
done
echo "wrote $out.png and $out.svg"
