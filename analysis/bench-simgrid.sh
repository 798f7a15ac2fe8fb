#!/bin/sh
# bench-simgrid.sh: `clustersim flows` side by side with SimGrid on the same flows.
#
#   sh analysis/bench-simgrid.sh [alltoall] [tree]      (default: both)
#
# Needs Debian's SimGrid (`apt-get install libsimgrid-dev`, 3.32 on bookworm), a C compiler,
# pkg-config and /usr/bin/time (package `time`); installs nothing. It builds
# analysis/simgrid/flows_sg.c (SimGrid's C API) and analysis/simgrid/bench_gen.c, writes each
# case's topology (clustersim YAML and SimGrid XML) and flows CSV, runs SimGrid and
# clustersim on them one after the other, checks that every finish time agrees, and prints a
# table. The cases:
#   alltoall  128 endpoints on one switch, 400 Gb/s full-duplex links, every ordered pair one
#             flow (16,256 flows), sizes uniform in 50-150 MB, all starting at 0: one sharing
#             component re-solved at each departure.
#   tree      the tree of `clustersim bench tree` (1,024 endpoints, 64 leaves, 8 aggregation
#             switches, one core, 4:1 at each tier); $TREE_FLOWS flows (default 300,000)
#             between random endpoints, Poisson arrivals at 800,000 per second (about 140 in
#             flight, as `bench tree` keeps 128), log-normal sizes of mean 1 MB.
# SimGrid runs LMM with network/model:CM02, network/crosstraffic:0, network/TCP-gamma:0,
# network/latency-factor:0, maxmin/precision:1e-12 and surf/precision:1e-12 (at its default,
# 1e-9 s, SimGrid completes every action due within a nanosecond of the current event at that
# event, which moved finish times by up to 0.7 ns on the all-to-all, 2.9e-9 relative, and 1 ns
# on the tree); links have latency 0 in both (set in flows_sg.c; --cfg= options given to it
# win).
#
# Timing: /usr/bin/time around each whole process, both programs alike (wall = elapsed,
# CPU = user + system; parsing, routing and printing included). SimGrid's own timer around
# simgrid_run() alone is the "SG run()" column. Under load the CPU times are the steadier
# figures.
# Agreement: for each flow, d = |a - b| between the two finish times and d / max(a, b); a flow
# agrees when d <= $TOL x max(a, b) (default 1e-9) or d <= $ABS (default 1e-12 s: clustersim
# puts events on a picosecond grid, so the few flows that end within the first millisecond
# differ by up to a fraction of a picosecond, which can be over 1e-9 of their finish time).
# The table gives the largest relative and absolute differences and the number of flows over
# $TOL relative; the script exits 1 if any flow disagrees.
#
# Environment: CLUSTERSIM (default build/clustersim), WORK (inputs and outputs, default
# build/bench-simgrid), TREE_FLOWS, TOL, ABS, CC (default cc).
set -eu
cd "$(dirname "$0")/.."

bin=${CLUSTERSIM:-build/clustersim}
work=${WORK:-build/bench-simgrid}
tree_flows=${TREE_FLOWS:-300000}
tree_rate=800000
tol=${TOL:-1e-9}
abs=${ABS:-1e-12}
cc=${CC:-cc}

cases=
for a in "$@"; do
    case $a in
    alltoall|tree) cases="$cases $a" ;;
    *) echo "usage: sh analysis/bench-simgrid.sh [alltoall] [tree]" >&2; exit 2 ;;
    esac
done
[ -n "$cases" ] || cases="alltoall tree"

if ! pkg-config --exists simgrid; then
    echo "bench-simgrid.sh: SimGrid not found by pkg-config; apt-get install libsimgrid-dev" >&2
    exit 2
fi
[ -x /usr/bin/time ] || { echo "bench-simgrid.sh: /usr/bin/time missing; apt-get install time" >&2; exit 2; }
[ -x "$bin" ] || { echo "bench-simgrid.sh: $bin missing; build clustersim first" >&2; exit 2; }

mkdir -p "$work"
# shellcheck disable=SC2046
"$cc" -O2 -std=c11 -o "$work/bench_gen" analysis/simgrid/bench_gen.c -lm
# shellcheck disable=SC2046
"$cc" -O2 -std=c11 $(pkg-config --cflags simgrid) -o "$work/flows_sg" analysis/simgrid/flows_sg.c \
    $(pkg-config --libs simgrid) -lm

echo "# $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
echo "# SimGrid $(pkg-config --modversion simgrid), clustersim $bin"
echo "# load before: $(uptime | sed 's/.*load average/load average/')"

# Runs one program under /usr/bin/time: time_run TIMEFILE OUT ERR CMD... (exit on failure).
time_run() {
    tf=$1 out=$2 err=$3
    shift 3
    if ! /usr/bin/time -f "%e %U %S" -o "$tf" "$@" > "$out" 2> "$err"; then
        echo "bench-simgrid.sh: failed: $*" >&2
        cat "$err" >&2
        exit 1
    fi
}

rows=
fail=0
for c in $cases; do
    p=$work/$c
    if [ "$c" = alltoall ]; then
        "$work/bench_gen" alltoall "$p"
    else
        "$work/bench_gen" tree "$tree_flows" "$tree_rate" "$p"
    fi
    nflows=$(($(wc -l < "$p.csv") - 1))
    time_run "$p.sg.time" "$p.sg.csv" "$p.sg.log" "$work/flows_sg" "$p.xml" "$p.csv"
    time_run "$p.cs.time" "$p.cs.csv" "$p.cs.log" "$bin" flows "$p.yaml" "$p.csv"
    # clustersim: id,src,dst,bytes,start_s,finish_s; SimGrid: id,finish_s; both in input order.
    agree=$(paste -d, "$p.cs.csv" "$p.sg.csv" | awk -F, -v tol="$tol" -v abs="$abs" '
        NR == 1 { next }
        $1 != $7 { print "id mismatch at line " NR ": " $1 " vs " $7; bad = 1; exit }
        { a = $6 + 0; b = $8 + 0; d = a > b ? a - b : b - a; m = a > b ? a : b
          r = m > 0 ? d / m : d
          if (r > rmax) { rmax = r; at = $1 }
          if (d > dmax) dmax = d
          if (r > tol) over++
          if (r > tol && d > abs) { disagree++; if (first == "") first = $1 }
          n++ }
        END { if (!bad)
              printf "%d %.2g %.2g %d %d %s\n", n, rmax, dmax, over, disagree, (first == "" ? "-" : first) }')
    set -- $agree
    if [ "$1" != "$nflows" ] || [ "$5" != 0 ]; then
        echo "bench-simgrid.sh: $c: finish times disagree (flows compared, max relative" \
             "difference, max absolute difference, flows over $tol relative, flows over both" \
             "$tol relative and $abs s, the first of them): $agree" >&2
        fail=1
    fi
    sg_run=$(sed -n 's/^# sim_wall_s=\([0-9.]*\).*/\1/p' "$p.sg.log")
    read -r sgw sgu sgs < "$p.sg.time"
    read -r csw csu css < "$p.cs.time"
    rows="$rows$(awk -v c="$c" -v n="$nflows" -v sgw="$sgw" -v sgc="$(echo "$sgu $sgs" | awk '{print $1 + $2}')" \
        -v csw="$csw" -v csc="$(echo "$csu $css" | awk '{print $1 + $2}')" -v run="$sg_run" \
        -v r="$2" -v d="$3" -v o="$4" 'BEGIN {
        printf "%-9s %8d %9.2f %9.2f %10.2f %6.1f %9.2f %9.2f %6.1f %9s %9s %6d\n", c, n, sgw, run,
               csw, (csw > 0 ? sgw / csw : 0), sgc, csc, (csc > 0 ? sgc / csc : 0), r, d, o }')
"
done

echo "# load after: $(uptime | sed 's/.*load average/load average/')"
echo "# wall and CPU s: /usr/bin/time around each whole process; SimGrid run(): its own timer"
echo "# around simgrid_run(); ratio: SimGrid / clustersim; max rel, max abs s: largest differences"
echo "# of the finish times; >$tol: flows over $tol relative (each within $abs s)"
printf "%-9s %8s %9s %9s %10s %6s %9s %9s %6s %9s %9s %6s\n" case flows "SG wall" "SG run()" \
    "cs wall" ratio "SG CPU" "cs CPU" ratio "max rel" "max abs s" ">$tol"
printf "%s" "$rows"
exit $fail
