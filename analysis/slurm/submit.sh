#!/bin/bash
# Submits a sweep to Slurm: a job array of N tasks (analysis/slurm/sweep.sbatch, task i
# sweeps the i-th of N slices of CONFIG's grid into OUTDIR/shard-i.db) and a merge job
# (analysis/slurm/merge.sbatch) that runs once every task has succeeded
# (--dependency=afterok) and writes OUTDIR/merged.db and the plots; it is cancelled if a
# task fails (--kill-on-invalid-dep). Submitting again with the same CONFIG, OUTDIR and N
# resumes: each task skips the points its database already holds.
#
# Usage: analysis/slurm/submit.sh CONFIG OUTDIR [N] [-- SBATCH_OPTION...]
#   N: array tasks (default 4, at most the grid's points). SBATCH_OPTIONs go to both sbatch
#   calls and override the scripts' #SBATCH defaults (4 CPUs per task, 1 hour), e.g.
#   -- --partition=cpu --account=proj --cpus-per-task=16 --time=4:00:00
# Run it from the directory the jobs should work in (CONFIG is named relative to it, and a
# point's name holds the config path as given); that directory, OUTDIR and the executable
# must be on a filesystem the nodes share. The executable: $CLUSTERSIM, else build/clustersim
# of this repository, else clustersim on the PATH. Prints the two job ids.
set -euo pipefail
me=${0##*/}
usage() {
    echo "usage: $0 CONFIG OUTDIR [N] [-- SBATCH_OPTION...]" >&2
    exit 2
}
[ $# -ge 2 ] && [ -n "$1" ] && [ -n "$2" ] || usage
config=$1 outdir=$2
shift 2
n=
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    [[ $1 =~ ^[1-9][0-9]{0,5}$ ]] || { echo "$me: N: expected 1 to 999999 tasks, found '$1'" >&2; exit 2; }
    n=$1
    shift
fi
if [ $# -gt 0 ]; then
    [ "$1" = "--" ] || usage
    shift
fi
here=$(cd "$(dirname -- "$0")" && pwd)
if [ -n "${CLUSTERSIM:-}" ]; then
    bin=$CLUSTERSIM
elif [ -x "$here/../../build/clustersim" ]; then
    bin="$here/../../build/clustersim"
else
    bin=$(command -v clustersim) || { echo "$me: no clustersim: set CLUSTERSIM" >&2; exit 2; }
fi
bin=$(cd "$(dirname -- "$bin")" && pwd)/${bin##*/}
command -v sbatch > /dev/null || { echo "$me: sbatch not found (is Slurm installed?)" >&2; exit 2; }

# The grid's points: a bad config is refused here, before anything is queued
points=$("$bin" sweep --list "$config" | wc -l) ||
    { echo "$me: $bin sweep --list $config failed" >&2; exit 2; }
[ "$points" -gt 0 ] || { echo "$me: $config has no sweep points" >&2; exit 2; }
n=${n:-4}
if [ "$n" -gt "$points" ]; then
    echo "$me: $config has $points points: $points array tasks, not $n"
    n=$points
fi
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
env="ALL,CLUSTERSIM=$bin,CLUSTERSIM_ANALYSIS=$(cd "$here/.." && pwd)"

sweep_id=$(sbatch --parsable --array="1-$n" --export="$env" \
    --output="$outdir/sweep-%A_%a.out" "$@" "$here/sweep.sbatch" "$config" "$outdir")
sweep_id=${sweep_id%%;*}
merge_id=$(sbatch --parsable --dependency="afterok:$sweep_id" --kill-on-invalid-dep=yes \
    --export="$env" --output="$outdir/merge-%j.out" "$@" "$here/merge.sbatch" "$outdir" "$n")
merge_id=${merge_id%%;*}
echo "sweep: job array $sweep_id, tasks 1-$n of $points points, into $outdir/shard-*.db"
echo "merge: job $merge_id after it, into $outdir/merged.db, mfu.png and breakdown.png"
