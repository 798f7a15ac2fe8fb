#!/bin/sh
# The fuzz campaign: builds one libFuzzer binary per input parser (topology, workload and
# config YAML, flows CSV, a config's sweep section) with AddressSanitizer and
# UndefinedBehaviorSanitizer, seeds each with the shipped files, and runs it for SECONDS
# (default 600) with leak detection on.
# Crashes, leaks and hangs (over 10 s per input) stop a target and leave the input under
# tests/fuzz/work/; keep each finding as a regression fixture in tests/fixtures/bad/.
# Usage: tests/fuzz/run.sh [SECONDS] [TARGETS...]   (from the repository root; needs clang;
# targets: topo workload config flows sweep, default all; two run at a time).
set -eu
secs=${1:-600}
shift 2>/dev/null || true
targets=${*:-topo workload config flows sweep}
work=tests/fuzz/work
mkdir -p "$work"
libs="$(pkg-config --cflags --libs yaml-0.1 sqlite3 gsl) -lm"
srcs=$(ls sim/core/*.c sim/net/*.c sim/topo/*.c sim/hw/*.c sim/workload/*.c)
# the sweep target goes through the CLI, which needs the rest of the library
all_srcs=$(ls sim/*/*.c | grep -v 'sim/cli/main.c')
# db.c includes the schema as bytes, as CMake generates it
mkdir -p "$work/generated"
{
    printf 'static const unsigned char db_schema_sql[] = {'
    od -An -v -tx1 sim/out/schema.sql | awk '{ for (i = 1; i <= NF; i++) printf "0x%s,", $i }'
    printf '0x00};\n'
} > "$work/generated/schema_sql.h"
build() { # name number
    clang -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -D_POSIX_C_SOURCE=200809L -DCLUSTERSIM_VERSION='"fuzz"' \
        -DCLUSTERSIM_SOURCE_DIR="\"$PWD\"" -DFUZZ_TARGET="$2" -Isim -I"$work/generated" \
        tests/fuzz/fuzz_yaml.c $(if [ "$1" = sweep ]; then echo "$all_srcs"; else echo "$srcs"; fi) \
        $libs -o "$work/fuzz_$1"
}
seed() { # name: a corpus of shipped files
    mkdir -p "$work/corpus_$1"
    case $1 in
    topo) cp topologies/*.yaml tests/fixtures/good/gen-*.yaml tests/fixtures/bad/topo-*.yaml \
              tests/fixtures/bad/gen-*.yaml "$work/corpus_$1/" ;;
    workload) cp workloads/*.yaml tests/fixtures/bad/wl-*.yaml "$work/corpus_$1/" ;;
    config) for f in configs/quickstart.yaml tests/fixtures/good/cfg-*.yaml \
                     tests/fixtures/bad/cfg-*.yaml; do
                # rebase the relative paths on tests/fuzz/work/
                sed -e 's|\.\./topologies/|../../../topologies/|; s|\.\./workloads/|../../../workloads/|' \
                    -e 's|\.\./\.\./\.\./topologies/|../../../topologies/|' \
                    -e 's|cfg-tiny-wl.yaml|../../fixtures/good/cfg-tiny-wl.yaml|' \
                    "$f" > "$work/corpus_$1/$(basename "$f")"
            done ;;
    sweep) cp tests/fixtures/good/sweep-*.yaml tests/fixtures/bad/sweep-*.yaml \
              configs/studies/*.yaml "$work/corpus_$1/" ;;
    flows) for f in configs/flows/*.csv tests/fixtures/good/*.csv tests/fixtures/bad/flows-*.csv; do
               cp "$f" "$work/corpus_$1/$(printf '%s' "$f" | tr / _)" # names repeat across folders
           done ;;
    esac
}
n=0
for t in $targets; do
    case $t in topo) k=1 ;; workload) k=2 ;; config) k=3 ;; flows) k=4 ;; sweep) k=5 ;;
    *) echo "unknown target '$t'" >&2; exit 2 ;; esac
    build "$t" "$k"
    seed "$t"
    # from the repository root: the targets write their inputs under $work and read
    # topologies/dumbbell.yaml
    quiet=""
    [ "$t" = sweep ] && quiet=-close_fd_mask=3 # the CLI's listing and messages
    (ASAN_OPTIONS=detect_leaks=1 "$work/fuzz_$t" -max_total_time="$secs" $quiet \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/$t-" \
        "$work/corpus_$t" > "$work/log_$t.txt" 2>&1; echo "$t exit $?" >> "$work/log_$t.txt") &
    n=$((n + 1))
    [ $((n % 2)) -eq 0 ] && wait
done
wait
for t in $targets; do
    printf '%s: ' "$t"
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|exit [0-9]+$' \
        "$work/log_$t.txt" | tr '\n' ' '
    echo
done
