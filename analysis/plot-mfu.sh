#!/bin/sh
# Plots MFU (run.mfu, in %) against the value of a swept key (sweep_param KEY) for the runs
# whose status is 'ok', one line per value of a second swept key GROUP_KEY when given, else
# one line; several runs at the same point are averaged. Values that are all numbers go on a
# numeric axis, sorted; otherwise each distinct value is one category, in the order the runs
# were written. Writes OUTSTEM.png (pngcairo, else png) and OUTSTEM.svg with gnuplot; reads
# the database only through the sqlite3 shell. Exit status 2, nothing written, on bad usage
# or when no run matches.
# Usage: analysis/plot-mfu.sh DB KEY OUTSTEM [GROUP_KEY]
#   e.g. analysis/plot-mfu.sh results.db parallelism.tp mfu-tp parallelism.dp
set -eu
me=${0##*/}
usage() {
    echo "usage: $0 DB KEY OUTSTEM [GROUP_KEY]" >&2
    exit 2
}
. "$(dirname -- "$0")/plot-lib.sh"
[ $# -eq 3 ] || [ $# -eq 4 ] || usage
db=$1 key=$2 out=$3 group=${4-}
if [ -z "$db" ] || [ -z "$key" ] || [ -z "$out" ]; then usage; fi
[ $# -eq 3 ] || [ -n "$group" ] || usage
[ -f "$db" ] || die "no such database: $db"
[ -d "$(dirname -- "$out")" ] || die "no such directory: $(dirname -- "$out")"
plot_setup

if [ -n "$group" ]; then
    gcol="g.value"
    gjoin="JOIN sweep_param AS g ON g.run_id = r.run_id AND g.key = '$(sq "$group")'"
else
    gcol="''"
    gjoin=""
fi
# group value, KEY value, mean MFU in %, in the order the runs were written
query "SELECT $gcol, x.value, 100 * avg(r.mfu)
FROM run AS r
JOIN sweep_param AS x ON x.run_id = r.run_id AND x.key = '$(sq "$key")'
$gjoin
WHERE r.status = 'ok' AND r.mfu IS NOT NULL
GROUP BY 1, 2
ORDER BY min(r.run_id);" > "$tmp/rows"
if [ ! -s "$tmp/rows" ]; then
    if [ -n "$group" ]; then
        die "no run with status 'ok' has both sweep parameters '$key' and '$group' in $db"
    fi
    die "no run with status 'ok' has the sweep parameter '$key' in $db"
fi

# One file per group (g1.dat, g2.dat, ...: x, MFU, label of x), sorted by group then x;
# titles: one group value a line; meta: groups, distinct x values, whether x is numeric,
# longest x value.
awk -v dir="$tmp" '
BEGIN { FS = "\t"; num = "^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$"
        gnum = 1; xnum = 1; wx = 0 }
{
    n++; g[n] = $1; x[n] = $2; m[n] = $3
    if ($1 !~ num) gnum = 0
    if ($2 !~ num) xnum = 0
    if (!($1 in gi)) gi[$1] = ++ng
    if (!($2 in xi)) { xi[$2] = ++nx; if (length($2) > wx) wx = length($2) }
}
END {
    for (i = 1; i <= n; i++) {
        gk[i] = gnum ? g[i] + 0 : gi[g[i]]
        xk[i] = xnum ? x[i] + 0 : xi[x[i]]
        o[i] = i
    }
    for (i = 2; i <= n; i++) {          # insertion sort by group, then x
        t = o[i]
        for (j = i - 1; j >= 1 && (gk[o[j]] > gk[t] || (gk[o[j]] == gk[t] && xk[o[j]] > xk[t])); j--)
            o[j + 1] = o[j]
        o[j + 1] = t
    }
    f = 0
    for (i = 1; i <= n; i++) {
        r = o[i]
        if (i == 1 || gk[r] != gk[o[i - 1]]) {
            if (f) close(dir "/g" f ".dat")
            f++
            print g[r] > (dir "/titles")
        }
        label = x[r]
        gsub(/"/, "\047\047", label)   # gnuplot would read a double quote as a string delimiter
        print (xnum ? x[r] : xi[x[r]]) "\t" m[r] "\t" label > (dir "/g" f ".dat")
    }
    print f, nx, xnum, wx > (dir "/meta")
}' "$tmp/rows"
read -r ngroups nx xnum wx < "$tmp/meta"

if [ -n "$group" ]; then
    title="MFU against $key, one line per value of $group"
else
    title="MFU against $key"
fi
# label the swept values themselves unless there are too many of them
if [ "$xnum" -eq 0 ] || [ "$nx" -le 12 ]; then using="1:2:xtic(3)"; else using="1:2"; fi
# slanted when they would not fit side by side (about 90 characters across)
rotate=$((nx * (wx + 2) > 90))
{
    gp_begin
    cat << 'EOF'
set datafile separator "\t"
set ylabel 'MFU (%)'
set grid
set offsets graph 0.05, graph 0.05, graph 0.1, graph 0.1
EOF
    echo "set title $(gq "$title")"
    echo "set xlabel $(gq "$key")"
    if [ "$rotate" -eq 1 ] && [ "$using" = "1:2:xtic(3)" ]; then
        echo "set xtics rotate by 45 right"
    fi
    if [ "$xnum" -eq 0 ]; then
        echo "set xrange [0.5:$nx + 0.5]"
        echo "set offsets 0, 0, graph 0.1, graph 0.1"
    fi
    if [ -n "$group" ]; then
        echo "set key outside right top Left reverse title $(gq "$group")"
    else
        echo "unset key"
    fi
    printf 'plot'
    i=1
    while [ "$i" -le "$ngroups" ]; do
        [ "$i" -gt 1 ] && printf ','
        printf ' \\\n    %s using %s with linespoints lw 2 pt 7 ps 1.2' \
            "$(gq "$tmp/g$i.dat")" "$using"
        if [ -n "$group" ]; then
            printf ' title %s' "$(gq "$(sed -n "${i}p" "$tmp/titles")")"
        fi
        i=$((i + 1))
    done
    echo
} > "$tmp/plot.gp"
gp_render
