#!/bin/sh
# The goodput study: ETTR of Llama 3 405B training against the job's size, 1,024 to 98,304
# H100, with synchronous and asynchronous checkpoints (Megatron-LM's --async-save), and
# against the checkpoint interval at 16,384 (--sweep-interval, both modes). Runs `clustersim
# goodput` on configs/bench/h100-100k.yaml (its topology, model and TP 8 x PP 16) with DP 8,
# 16, ..., 512, 768, then prints a table and draws the figures with analysis/plot-goodput.sh
# (OUTSTEM-size, OUTSTEM-interval; PNG and SVG).
#
# A fixed-step stand-in, so that nothing is replayed: every size takes the step that
# `clustersim run --no-db configs/bench/llama3-405b-16k.yaml` replays for the same model
# and per-replica work on 16,384 H100 (12.0931 s: 16 micro-batches of one 8,192-token
# sequence per pipeline), with the batch scaled with DP (global_batch = 16 x DP: weak
# scaling) and the tokens too (Llama 3's 15.6T at DP 128, so every size trains the same
# 929,833 steps, 130 days of steps). Degraded fabrics are counted but cost nothing
# (reliability.degraded_replays=false: each would take a replay). 256 hot spare nodes at
# every size: the default, the topology's free hosts, is none at 98,304 chips, where every
# restart would wait a day for a repair (ETTR about 0.11 instead of 0.65). Each point is
# 200 seeds. About 70 s on 2 cores, one run at a time.
# Usage: analysis/goodput-study.sh [DB] [OUTSTEM]   (from the repository root; defaults:
# results-goodput.db, goodput; the binary is $CLUSTERSIM_BIN, else build/clustersim). The
# database is appended to; the table and the figures take only this invocation's runs.
set -eu
db=${1:-results-goodput.db}
out=${2:-goodput}
bin=${CLUSTERSIM_BIN:-build/clustersim}
config=configs/bench/h100-100k.yaml
step=12.0931s
seeds=200
tokens_per_replica=121875000000 # 15.6e12 / 128
if [ ! -x "$bin" ]; then
    echo "goodput-study: no executable $bin (build it, or set CLUSTERSIM_BIN)" >&2
    exit 2
fi
start=$(date +%s)
ids=""

point() { # dp, then options and overrides of `clustersim goodput`
    dp=$1
    shift
    line=$("$bin" goodput --db "$db" --seeds "$seeds" \
        --set "parallelism.chips=$((128 * dp))" --set "parallelism.dp=$dp" \
        --set "parallelism.global_batch=$((16 * dp))" \
        --set "reliability.step_time=$step" --set reliability.degraded_replays=false \
        --set "reliability.tokens=$((tokens_per_replica * dp))" \
        --set reliability.spare_nodes=256 "$@" "$config" | grep '^wrote run ') || {
        echo "goodput-study: clustersim goodput failed at dp $dp" >&2
        exit 1
    }
    id=${line#wrote run }
    ids="$ids ${id%% *}"
}

for dp in 8 16 32 64 128 256 512 768; do
    point "$dp"
    point "$dp" --set reliability.async_save=true
done
point 128 --sweep-interval
point 128 --sweep-interval --set reliability.async_save=true
sweeps=$(echo "$ids" | awk '{ print $(NF - 1), $NF }')

list=$(echo "$ids" | sed 's/^ //; s/ /,/g')
printf '%8s  %-17s %7s %9s %8s  %-17s %7s %9s\n' chips "ETTR sync (95%)" Daly "interval" \
    "fail/day" "ETTR async (95%)" Daly "interval"
sqlite3 -batch -separator ' ' "$db" "
SELECT printf('%8d  %.4f +- %.4f   %.4f %7.1f s %8.2f  %.4f +- %.4f   %.4f %7.1f s',
              s.chips, s.ettr_mean, s.ettr_ci95, s.daly_ettr, s.interval_s,
              s.interruptions_per_day, a.ettr_mean, a.ettr_ci95, a.daly_ettr, a.interval_s)
FROM goodput AS s JOIN goodput AS a ON a.chips = s.chips
WHERE s.run_id IN ($list) AND a.run_id IN ($list)
  AND s.run_id NOT IN (${sweeps% *}, ${sweeps#* }) AND a.run_id NOT IN (${sweeps% *}, ${sweeps#* })
  AND s.is_main = 1 AND a.is_main = 1 AND s.async_save = 0 AND a.async_save = 1
ORDER BY s.chips;"
for sweep in $sweeps; do
    echo
    sqlite3 -batch "$db" "SELECT 'checkpoint interval at 16,384 chips, ' ||
        iif(async_save, 'async_save', 'synchronous') || ' (run $sweep):'
        FROM goodput WHERE run_id = $sweep AND is_main = 1;"
    sqlite3 -batch "$db" "
    SELECT printf('  %6d steps %8.2f min  ETTR %.4f +- %.4f  Daly %.4f  %s', save_interval,
                  interval_s / 60, ettr_mean, ettr_ci95, daly_ettr, source)
    FROM goodput WHERE run_id = $sweep ORDER BY save_interval;"
done
# shellcheck disable=SC2086 # the run ids, one argument each
sh "$(dirname -- "$0")/plot-goodput.sh" "$db" "$out" $ids
echo "goodput-study: wall $(($(date +%s) - start)) s"
