#!/bin/sh
# Prints clustersim's busbw against every published nccl-tests figure of
# analysis/data/nccl-tests.csv: one line per row (name, published and simulated busbw in
# GB/s, error %), then exactly
#   median_abs_err_pct=X max_abs_err_pct=Y rows=N
# Each row runs `clustersim coll` with the row's collective, topology, overrides (KEY=VALUE
# separated by ';'), chips (the first CHIPS chips), algorithm and size. The CSV's columns:
# name, collective, topology, overrides, chips, algo, size_bytes, busbw_GBps, hardware,
# source (URL); fields hold no commas.
# Usage: analysis/coll-vs-nccl-tests.sh [BIN] [CSV]   (from the repository root)
set -eu
bin=${1:-build/clustersim}
csv=${2:-analysis/data/nccl-tests.csv}
tail -n +2 "$csv" | while IFS=, read -r name coll topo ov chips algo size pub rest; do
    set --
    if [ -n "$ov" ]; then
        old=$IFS
        IFS=';'
        for kv in $ov; do set -- "$@" --set "$kv"; done
        IFS=$old
    fi
    sim=$("$bin" coll -b "$size" -e "$size" -g "$chips" -a "$algo" "$@" "$coll" "$topo" |
        awk '!/^#/ { print $8 }')
    echo "$name $pub $sim"
done | awk '
{
    err = ($3 - $2) / $2 * 100
    printf "%-24s busbw published %7.1f simulated %7.1f GB/s error %+6.2f%%\n", $1, $2, $3, err
    e[NR] = err < 0 ? -err : err
}
END {
    n = NR
    for (i = 1; i <= n; i++)
        for (j = i; j > 1 && e[j] < e[j - 1]; j--) { t = e[j]; e[j] = e[j - 1]; e[j - 1] = t }
    med = n % 2 ? e[(n + 1) / 2] : (e[n / 2] + e[n / 2 + 1]) / 2
    printf "median_abs_err_pct=%.2f max_abs_err_pct=%.2f rows=%d\n", med, e[n], n
}'
