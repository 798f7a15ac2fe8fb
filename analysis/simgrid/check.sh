#!/bin/sh
# check.sh: the small, fast form of analysis/bench-simgrid.sh, run by ctest (test
# `simgrid_flows`). Builds flows_sg.c and bench_gen.c into a temporary directory and checks
# that SimGrid and `clustersim flows` give the same finish times, to 1e-9 relative, on:
#   - four flows on the all-to-all star whose finish times are known by hand (they are also
#     checked against those: 0.03, 0.021, 0.01 and 0.500000002 s);
#   - the all-to-all among 6 of the star's endpoints (30 flows of 50-150 MB at once);
#   - the first 50 flows of the tree case.
#
#   sh analysis/simgrid/check.sh [CLUSTERSIM [CC]]
#
# Exit status: 0 when all agree, 1 when one does not, 77 (skipped) without SimGrid
# (`apt-get install libsimgrid-dev`), 2 when something cannot be built or run.
set -eu
cd "$(dirname "$0")/../.."
bin=${1:-build/clustersim}
cc=${2:-cc}

if ! pkg-config --exists simgrid 2>/dev/null; then
    if [ "${CLUSTERSIM_NO_SKIP:-0}" = 1 ]; then   # .ci/run installed it: not finding it fails
        echo "check.sh: SimGrid not found by pkg-config, and CLUSTERSIM_NO_SKIP=1: failed" >&2
        exit 1
    fi
    echo "check.sh: SimGrid not found by pkg-config (apt-get install libsimgrid-dev): skipped"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046
"$cc" -O1 -std=c11 -o "$tmp/bench_gen" analysis/simgrid/bench_gen.c -lm || exit 2
# shellcheck disable=SC2046
"$cc" -O1 -std=c11 $(pkg-config --cflags simgrid) -o "$tmp/flows_sg" analysis/simgrid/flows_sg.c \
    $(pkg-config --libs simgrid) -lm || exit 2
"$tmp/bench_gen" alltoall "$tmp/star" || exit 2
"$tmp/bench_gen" tree 50 800000 "$tmp/tree" || exit 2

cat > "$tmp/four.csv" <<'EOF'
id,src,dst,bytes,start_s
a,h0,h1,1000000000,0
b,h0,h2,500000000,0.001
c,h3,h1,200000000,0.002
d,h2,h1,100,0.5
EOF
cat > "$tmp/four.expect" <<'EOF'
a,0.03
b,0.021
c,0.01
d,0.500000002
EOF
awk -F, 'NR == 1 || (substr($2, 2) + 0 < 6 && substr($3, 2) + 0 < 6)' "$tmp/star.csv" \
    > "$tmp/six.csv"

status=0
# compare NAME A.csv B.csv ID_COLUMN_A FINISH_COLUMN_A: B is id,finish_s.
compare() {
    if ! paste -d, "$2" "$3" | awk -F, -v name="$1" -v ic="$4" -v fc="$5" '
        NR == 1 && name != "four/expected" { next }
        { n++; bc = fc + 1
          if ($ic != $(bc)) { printf "%s: line %d: id %s against %s\n", name, NR, $ic, $(bc); bad = 1; exit }
          a = $fc + 0; b = $(bc + 1) + 0; d = a > b ? a - b : b - a; m = a > b ? a : b
          r = m > 0 ? d / m : d
          if (r > rmax) { rmax = r; at = $ic } }
        END { if (bad) exit 1
              if (n == 0) { printf "%s: no flows\n", name; exit 1 }
              printf "%s: %d flows, largest relative difference %.3g (%s)\n", name, n, rmax, (at == "" ? "-" : at)
              if (rmax > 1e-9) exit 1 }'; then
        status=1
    fi
}
for c in star:four star:six tree:tree; do
    plat=${c%%:*} flows=${c#*:}
    "$tmp/flows_sg" "$tmp/$plat.xml" "$tmp/$flows.csv" > "$tmp/$flows.sg" 2> "$tmp/$flows.sg.log" ||
        { cat "$tmp/$flows.sg.log"; exit 2; }
    "$bin" flows "$tmp/$plat.yaml" "$tmp/$flows.csv" > "$tmp/$flows.cs" || exit 2
    compare "$flows" "$tmp/$flows.cs" "$tmp/$flows.sg" 1 6
done
# The hand-computed times against SimGrid's (clustersim's are then within 1e-9 of them too).
tail -n +2 "$tmp/four.sg" > "$tmp/four.sg.rows"
compare four/expected "$tmp/four.expect" "$tmp/four.sg.rows" 1 2
exit $status
