#!/bin/sh
# golden.sh: record what clustersim prints and writes for a fixed set of inputs, or check
# that it still prints and writes exactly that. Refactors that promise "no change in
# behaviour" run it before they start (record) and after every step (check).
#
#   sh analysis/golden.sh record DIR [CLUSTERSIM]   write the figures into DIR
#   sh analysis/golden.sh check DIR [CLUSTERSIM]    compare against DIR; exit 1 on a difference
#
# CLUSTERSIM defaults to build/clustersim. What is compared, per case:
#   - the summary on stdout and the messages on stderr (the wall-clock and "built in" lines
#     dropped: they carry wall time and peak memory), and the exit status;
#   - every table of the database, all columns but the wall-clock ones (run.created_utc,
#     run.wall_s, run.peak_rss_bytes), rows sorted by every column, as a SHA-256 per table
#     plus the row count.
# The cases: the quick start, the 405B-16k benchmark, every configs/multidc config, one
# validation config per source table, the tp-dp-split sweep (one worker, so run ids follow
# the points), flows on configs/flows, plan and topo summaries, and every bad fixture's
# message and exit status. A full check takes about 4.5 minutes on 2 cores (three-sites-
# pipeline is most of it); GOLDEN_QUICK=1, about a minute.
set -eu
cd "$(dirname "$0")/.."

mode=${1:-}
dir=${2:-}
bin=${3:-build/clustersim}
case $mode in
record|check) ;;
*) echo "usage: sh analysis/golden.sh record|check DIR [CLUSTERSIM]" >&2; exit 2 ;;
esac
[ -n "$dir" ] || { echo "golden.sh: DIR missing" >&2; exit 2; }
[ -x "$bin" ] || { echo "golden.sh: $bin is not an executable (build first)" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "golden.sh: sqlite3 not found" >&2; exit 2; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT INT TERM

# dump_db DB: one line per table: name, row count, SHA-256 of its sorted rows.
dump_db() {
    for t in $(sqlite3 "$1" "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"); do
        cols=$(sqlite3 "$1" "SELECT group_concat(name, ',') FROM pragma_table_info('$t')
                              WHERE NOT ('$t' = 'run' AND name IN
                                         ('created_utc', 'wall_s', 'peak_rss_bytes'))")
        n=$(sqlite3 "$1" "SELECT count(*) FROM pragma_table_info('$t')
                          WHERE NOT ('$t' = 'run' AND name IN
                                     ('created_utc', 'wall_s', 'peak_rss_bytes'))")
        order=$(seq -s, 1 "$n")
        rows=$(sqlite3 "$1" "SELECT count(*) FROM $t")
        sum=$(sqlite3 -separator '|' "$1" "SELECT $cols FROM $t ORDER BY $order" | sha256sum |
              cut -c1-16)
        echo "table $t rows=$rows sha=$sum"
    done
}

# case_run NAME CMD...: runs CMD, keeps stdout, stderr and the exit status.
case_run() {
    name=$1; shift
    rc=0
    "$@" >"$out/$name.stdout" 2>"$out/$name.stderr" || rc=$?
    {
        echo "exit $rc"
        grep -v -e 'wall' -e 'built in' "$out/$name.stdout" | sed -e "s|$out|OUT|g" -e "s|$PWD/||g" || true
        echo "-- stderr"
        grep -v -e 'wall' -e 'built in' "$out/$name.stderr" | sed -e "s|$out|OUT|g" -e "s|$PWD/||g" || true
    } >"$out/$name.txt"
    rm -f "$out/$name.stdout" "$out/$name.stderr"
}

# case_db NAME CONFIG [ARGS...]: a run into a fresh database, then the database's tables.
case_db() {
    name=$1; cfg=$2; shift 2
    case_run "$name" "$bin" run --quiet --db "$out/$name.db" "$@" "$cfg"
    [ -f "$out/$name.db" ] && dump_db "$out/$name.db" >>"$out/$name.txt"
    rm -f "$out/$name.db"
}

# The slow cases (a minute or more on 2 cores) are left out when GOLDEN_QUICK=1, for
# checks between small steps (about 20 s); a full check takes about 4.5 minutes.
quick=${GOLDEN_QUICK:-0}
case_db quickstart configs/quickstart.yaml
for f in configs/multidc/*.yaml; do
    b=$(basename "$f" .yaml)
    [ "$quick" = 1 ] && { [ "$b" = three-sites-pipeline ] || [ "$b" = two-sites-sync ]; } &&
        continue
    case_db "multidc-$b" "$f"
done
[ "$quick" = 1 ] || case_db bench-405b-16k configs/bench/llama3-405b-16k.yaml
case_db val-megatron2021 configs/validation/megatron2021-gpt-1.7b.yaml
case_db val-megatron2024 configs/validation/megatron2024-gpt-1.7b.yaml
case_db val-korthikanti2022 configs/validation/korthikanti2022-gpt-22b.yaml

case_run sweep-tp-dp "$bin" sweep --quiet --jobs 1 --db "$out/sweep.db" configs/studies/tp-dp-split.yaml
dump_db "$out/sweep.db" >>"$out/sweep-tp-dp.txt"
rm -f "$out/sweep.db"

for f in configs/flows/*.csv; do
    case_run "flows-$(basename "$f" .csv)" "$bin" flows topologies/dumbbell.yaml "$f"
    case_run "flows-spray-$(basename "$f" .csv)" "$bin" flows --routing spray topologies/dumbbell.yaml "$f"
done
for f in topologies/*.yaml; do
    case_run "topo-$(basename "$f" .yaml)" "$bin" topo "$f"
done
case_run plan-quickstart "$bin" plan configs/quickstart.yaml
case_run plan-405b "$bin" plan configs/bench/llama3-405b-16k.yaml

# Bad inputs: the message and the exit status of every fixture, through the command that
# reads its kind.
for f in tests/fixtures/bad/*; do
    b=$(basename "$f")
    case $b in
    flows-*) case_run "bad-$b" "$bin" flows topologies/dumbbell.yaml "$f" ;;
    topo-*|chip-*|gen-*) case_run "bad-$b" "$bin" topo "$f" ;;
    sweep-*) case_run "bad-$b" "$bin" sweep --list "$f" ;;
    wl-*)
        printf 'name: wl\ntopology: %s/topologies/h100-64.yaml\nworkload: %s/%s\nparallelism: {tp: 4, pp: 2, dp: 8, global_batch: 64}\n' \
            "$PWD" "$PWD" "$f" >"$out/wl.yaml"
        case_run "bad-$b" "$bin" plan "$out/wl.yaml" ;;
    *) case_run "bad-$b" "$bin" run --no-db --quiet "$f" ;;
    esac
done

rm -f "$out/wl.yaml"
if [ "$mode" = record ]; then
    mkdir -p "$dir"
    rm -f "$dir"/*.txt
    cp "$out"/*.txt "$dir"/
    echo "golden: recorded $(ls "$out"/*.txt | wc -l) cases in $dir"
    exit 0
fi
fail=0
for f in "$out"/*.txt; do
    b=$(basename "$f")
    if [ ! -f "$dir/$b" ]; then
        echo "golden: $b: not in $dir"; fail=1
    elif ! cmp -s "$f" "$dir/$b"; then
        echo "golden: $b differs:"; diff "$dir/$b" "$f" | head -20; fail=1
    fi
done
if [ "$quick" != 1 ]; then
    for f in "$dir"/*.txt; do
        [ -f "$out/$(basename "$f")" ] || { echo "golden: $(basename "$f"): case missing"; fail=1; }
    done
fi
[ $fail -eq 0 ] && echo "golden: $(ls "$out"/*.txt | wc -l) cases identical to $dir"
exit $fail
