#!/bin/sh
# Compute utilization of Llama 3 70B on two sites of 8,192 H100 (configs/multidc/two-sites-*)
# for each cross-datacenter scheme at WAN bandwidths from 100 Gb/s to 100 Tb/s (20 ms one
# way): sync, blocking DiLoCo at three H, DiLoCo with a delayed outer update, streaming
# DiLoCo co-simulated (the default) and composed from its parts alone. Replays every point (as many at once as there are cores) into one database, then
# prints the table from it. Usage: analysis/multidc-study.sh [BIN] [DB]   (from the
# repository root; DB defaults to a temporary file).
set -eu
bin=${1:-build/clustersim}
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db=${2:-$tmp/study.db}

point() { # bandwidth config [override]
    if [ $# -eq 3 ]; then
        "$bin" run --quiet --db "$db" --set "topology.wan.0.bandwidth=$1" --set "$3" \
            "configs/multidc/$2.yaml" > /dev/null
    else
        "$bin" run --quiet --db "$db" --set "topology.wan.0.bandwidth=$1" \
            "configs/multidc/$2.yaml" > /dev/null
    fi
}

n=0
for bw in "100 Gb/s" "1 Tb/s" "10 Tb/s" "100 Tb/s"; do
    for p in "two-sites-sync" "two-sites-diloco cross_dc.inner_steps=10" \
             "two-sites-diloco cross_dc.inner_steps=100" \
             "two-sites-diloco cross_dc.inner_steps=500" \
             "two-sites-diloco cross_dc.outer_update=delayed" "two-sites-streaming" \
             "two-sites-streaming cross_dc.replay=composed"; do
        # shellcheck disable=SC2086 # p is a config and an optional override, by design
        point "$bw" $p &
        n=$((n + 1))
        [ $((n % jobs)) -eq 0 ] && wait
    done
done
wait

printf '%-30s %8s %8s %8s %8s\n' "compute utilization" "100Gb/s" "1Tb/s" "10Tb/s" "100Tb/s"
sqlite3 -batch -separator ' ' "$db" "
SELECT printf('%-30s', CASE m.scheme WHEN 'sync' THEN 'sync'
                                     WHEN 'diloco' THEN 'diloco H=' || m.inner_steps ||
                                          iif(m.outer_update = 'blocking', '',
                                              ' ' || m.outer_update)
                                     ELSE 'streaming H=' || m.inner_steps || ' F=' ||
                                          m.fragments || iif(m.replay = 'composed',
                                                             ' composed', '') END),
       group_concat(printf('%7.1f%%', 100 * m.compute_util), ' ')
FROM (SELECT m.*, (SELECT capacity_Bps FROM link AS l
                   WHERE l.run_id = m.run_id AND l.kind = 'wan' LIMIT 1) AS wan_Bps
      FROM multidc AS m ORDER BY wan_Bps) AS m
GROUP BY m.scheme, m.inner_steps, m.outer_update, m.replay
ORDER BY CASE m.scheme WHEN 'sync' THEN 0 WHEN 'diloco' THEN 1 ELSE 2 END, m.inner_steps,
         m.outer_update, m.replay DESC;"
