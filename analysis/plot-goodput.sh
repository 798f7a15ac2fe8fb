#!/bin/sh
# Plots the goodput tables of `clustersim goodput` runs whose status is 'ok' (the RUN_IDs
# given, else every one) as two figures:
#   OUTSTEM-interval: ETTR (mean over seeds, with its 95% confidence interval) against the
#     checkpoint interval (log axis, minutes, or hours when every interval is one or more),
#     one line per run that simulated more than one interval (--sweep-interval,
#     --save-intervals), with Daly's closed form for that run's MTBF, checkpoint cost and
#     recovery drawn as a dashed curve (the goodput table's daly_ettr at each interval lies
#     on it) and Daly's optimum interval marked by a dotted vertical line;
#   OUTSTEM-size: ETTR at each run's main interval (is_main: the config's, or Daly's with
#     save_interval auto) against the job's chips (log axis), one line per config (the
#     file name of run.config_path) and checkpoint mode (synchronous or async_save), with
#     Daly's closed form at the same intervals dashed; where runs of a line share a size,
#     the newest one.
# Writes OUTSTEM-interval.png and .svg only when some run has more than one interval (else
# says so on stderr), and OUTSTEM-size.png and .svg (pngcairo, else png) with gnuplot; reads
# the database only through the sqlite3 shell. Exit status 2, nothing written, on bad usage,
# when no run has goodput rows or when a RUN_ID has none.
# Usage: analysis/plot-goodput.sh DB OUTSTEM [RUN_ID...]
#   e.g. analysis/plot-goodput.sh results.db goodput     (goodput-interval, goodput-size)
set -eu
me=${0##*/}
usage() {
    echo "usage: $0 DB OUTSTEM [RUN_ID...]" >&2
    exit 2
}
. "$(dirname -- "$0")/plot-lib.sh"
[ $# -ge 2 ] || usage
db=$1 stem=$2
shift 2
if [ -z "$db" ] || [ -z "$stem" ]; then usage; fi
ids=""
for id in "$@"; do
    case $id in '' | *[!0-9]*) usage ;; esac
    ids="${ids:+$ids, }$id"
done
[ -f "$db" ] || die "no such database: $db"
[ -d "$(dirname -- "$stem")" ] || die "no such directory: $(dirname -- "$stem")"
plot_setup

runs="SELECT r.run_id FROM run AS r WHERE r.status = 'ok'
      AND EXISTS (SELECT 1 FROM goodput AS g WHERE g.run_id = r.run_id)"
if [ -n "$ids" ]; then
    for id in "$@"; do
        [ -n "$(query "$runs AND r.run_id = $id;")" ] ||
            die "run $id has no goodput rows in $db (or its status is not 'ok')"
    done
    runs="$runs AND r.run_id IN ($ids)"
fi
[ -n "$(query "$runs LIMIT 1;")" ] ||
    die "no run of 'clustersim goodput' with status 'ok' has goodput rows in $db"

# One figure into $tmp/NAME.png and .svg (moved to OUTSTEM-NAME.* once both figures exist).
render() {
    out=$tmp/$1
    gp_render > /dev/null
}
# commas(n): the integer n with thousands separators (98,304), for awk programs
awk_commas='
function commas(n,   s) {
    s = sprintf("%d", n)
    while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]([,]|$)/, ",&", s)
    return s
}'
# The colours of the lines, in turn.
colour() {
    k=$1
    set -- '#4878d0' '#d65f5f' '#6acc64' '#956cb4' '#ee854a' '#8c613c' '#dc7ec0' '#797979'
    shift $(((k - 1) % 8))
    echo "$1"
}

# --- ETTR against the checkpoint interval -------------------------------------------------
# run, interval_s, ETTR, its CI half-width, then the run's figures (the same on every row):
# workload, chips, async_save, seeds, MTBF, recovery, checkpoint block, Daly's interval;
# runs in order, intervals sorted
query "SELECT g.run_id, g.interval_s, g.ettr_mean, coalesce(g.ettr_ci95, 0),
       coalesce(r.workload, '?'), coalesce(g.chips, ''), g.async_save, g.seeds,
       coalesce(g.mtbf_s, ''), g.recovery_s, g.ckpt_block_s, coalesce(g.daly_interval_s, '')
FROM goodput AS g JOIN run AS r ON r.run_id = g.run_id
WHERE g.run_id IN ($runs)
  AND (SELECT count(*) FROM goodput AS h WHERE h.run_id = g.run_id) > 1
ORDER BY g.run_id, g.save_interval;" > "$tmp/intervals"
have_interval=0
if [ -s "$tmp/intervals" ]; then
    have_interval=1
    # minutes, or hours when every interval (and Daly's) is an hour or more
    unit=$(awk -F '\t' '{ if ($2 < 3600 || ($12 != "" && $12 < 3600)) m = 1 }
                        END { print m ? 60 : 3600 }' "$tmp/intervals")
    # r1.dat, r2.dat, ...: interval in the unit, ETTR, CI; runs: one line per run, its
    # label, MTBF, recovery, checkpoint block, Daly's interval and id, separated by \037 (not
    # a tab: read would merge the tabs around an empty field)
    uword=$([ "$unit" -eq 60 ] && echo min || echo h)
    awk -F '\t' -v dir="$tmp" -v unit="$unit" -v uword="$uword" "$awk_commas"'
    $1 != last {
        if (n) close(dir "/r" n ".dat")
        n++; last = $1
        label = "run " $1 ": " $5 ", " ($6 == "" ? "?" : commas($6)) " chips, " \
                (($7 + 0) ? "async_save" : "sync") ", " $8 " seeds"
        if ($12 != "") label = label sprintf("; Daly\047s interval %.3g %s", $12 / unit, uword)
        printf "%s\037%s\037%s\037%s\037%s\037%s\n", label, $9, $10, $11, $12, $1 \
            > (dir "/runs")
    }
    {
        print $2 / unit "\t" $3 "\t" $4 > (dir "/r" n ".dat")
        x = $2 / unit
        if (!(n in rlo) || x < rlo[n]) rlo[n] = x
        if (!(n in rhi) || x > rhi[n]) rhi[n] = x
        if ($12 != "") {
            d = $12 / unit
            if (d < rlo[n]) rlo[n] = d
            if (d > rhi[n]) rhi[n] = d
        }
    }
    END {
        for (i = 1; i <= n; i++) {
            print rlo[i] / 1.3, rhi[i] * 1.3 > (dir "/ranges")
            if (i == 1 || rlo[i] < lo) lo = rlo[i]
            if (i == 1 || rhi[i] > hi) hi = rhi[i]
        }
        print n, lo / 1.3, hi * 1.3 > (dir "/meta")
    }' "$tmp/intervals"
    read -r _ xlo xhi < "$tmp/meta"
    us=$(printf '\037')
    {
        gp_begin
        cat << 'EOF'
set datafile separator "\t"
set logscale x
set grid
set samples 400
set ylabel 'ETTR (work / wall time)'
set key below center vertical Left reverse
set title "ETTR against the checkpoint interval: Monte Carlo mean and 95% CI over seeds, \
Daly's closed form dashed"
EOF
        echo "set xlabel $(gq "checkpoint interval ($uword, log scale)")"
        echo "set xrange [$xlo:$xhi]"
        echo "set offsets 0, 0, graph 0.05, graph 0.05"
        # Daly (2006): wall = M e^(R/M) (e^((tau + delta)/M) - 1) per tau of work, so
        # ETTR(tau) = tau / (M e^(R/M) (e^((tau + delta)/M) - 1)); tau / (tau + delta) with
        # no stopping failure (as the goodput table's daly_ettr, less the last segment)
        i=1
        while IFS="$us" read -r label mtbf rec block daly run; do
            c=$(colour "$i")
            if [ -n "$mtbf" ]; then
                echo "daly$i(x) = (x * $unit) / ($mtbf * exp($rec / $mtbf) *" \
                    "(exp((x * $unit + $block) / $mtbf) - 1))"
            else
                echo "daly$i(x) = (x * $unit) / (x * $unit + $block)"
            fi
            if [ -n "$daly" ]; then
                echo "set arrow $i from $daly / $unit., graph 0 to $daly / $unit., graph 1" \
                    "nohead dt 3 lw 2 lc rgb '$c'"
            fi
            i=$((i + 1))
        done < "$tmp/runs"
        printf 'plot'
        i=1
        while IFS="$us" read -r label mtbf rec block daly run; do
            c=$(colour "$i")
            [ "$i" -gt 1 ] && printf ','
            printf " \\\\\n    %s using 1:2:3 with yerrorlines lw 2 pt 7 ps 1 lc rgb '%s'%s" \
                "$(gq "$tmp/r$i.dat")" "$c" " title $(gq "$label")"
            # over the run's own intervals (a sampling range of its own)
            printf ", \\\\\n    [%s] daly%s(x) with lines lw 1.5 dt 2 lc rgb '%s' notitle" \
                "$(sed -n "${i}p" "$tmp/ranges" | tr ' ' ':')" "$i" "$c"
            [ -z "$daly" ] || marks=1
            i=$((i + 1))
        done < "$tmp/runs"
        # the curves and marks in the legend once, in black
        printf ", \\\\\n    1/0 with lines lw 1.5 dt 2 lc rgb 'black' title %s" \
            "$(gq "Daly's closed form for the run (dashed, in its colour)")"
        if [ -n "${marks-}" ]; then
            printf ", \\\\\n    1/0 with lines lw 2 dt 3 lc rgb 'black' title %s" \
                "$(gq "Daly's optimum interval for the run (dotted, in its colour)")"
        fi
        echo
    } > "$tmp/plot.gp"
    render interval
fi

# --- ETTR against the job's chips -----------------------------------------------------------
# run, config path, async_save, chips, ETTR, CI, Daly's at the same interval; oldest first
query "SELECT g.run_id, coalesce(r.config_path, '?'), g.async_save, g.chips, g.ettr_mean,
       coalesce(g.ettr_ci95, 0), coalesce(g.daly_ettr, '')
FROM goodput AS g JOIN run AS r ON r.run_id = g.run_id
WHERE g.run_id IN ($runs) AND g.is_main = 1 AND g.chips IS NOT NULL
ORDER BY g.run_id;" > "$tmp/sizes"
[ -s "$tmp/sizes" ] || die "no goodput run with its job's chips in $db"
# s1.dat, s2.dat, ...: chips, ETTR, CI, Daly's ETTR, chips with thousands separators; one
# file per (config, mode) in order of first appearance, sorted by chips, the newest run at
# each size; titles: one label a line
awk -F '\t' -v dir="$tmp" "$awk_commas"'
{
    cfg = $2; sub(/.*\//, "", cfg); sub(/[.]ya?ml$/, "", cfg)
    key = cfg (($3 + 0) ? ", async_save" : ", sync checkpoints")
    if (!(key in gi)) { gi[key] = ++ng; gname[ng] = key }
    g = gi[key]
    if (!((g, $4) in row)) { nx[g]++; xs[g, nx[g]] = $4 + 0 }
    row[g, $4] = $4 "\t" $5 "\t" $6 "\t" $7 "\t" commas($4)
}
END {
    for (g = 1; g <= ng; g++) {
        for (i = 2; i <= nx[g]; i++) {            # insertion sort of the sizes
            t = xs[g, i]
            for (j = i - 1; j >= 1 && xs[g, j] > t; j--) xs[g, j + 1] = xs[g, j]
            xs[g, j + 1] = t
        }
        for (i = 1; i <= nx[g]; i++) print row[g, xs[g, i]] > (dir "/s" g ".dat")
        close(dir "/s" g ".dat")
        print gname[g] > (dir "/titles")
        if (lo == "" || xs[g, 1] < lo) lo = xs[g, 1]
        if (hi == "" || xs[g, nx[g]] > hi) hi = xs[g, nx[g]]
    }
    print ng, lo / 1.4, hi * 1.4 > (dir "/meta")
}' "$tmp/sizes"
read -r ngroups xlo xhi < "$tmp/meta"
{
    gp_begin
    cat << 'EOF'
set datafile separator "\t"
set logscale x 2
set grid
set ylabel 'ETTR (work / wall time)'
set xlabel "the job's chips (log scale)"
set key bottom left Left reverse
set title "ETTR against the job's size at each run's main checkpoint interval: mean and \
95% CI, Daly's closed form dashed"
set offsets 0, 0, graph 0.05, graph 0.05
EOF
    echo "set xrange [$xlo:$xhi]"
    printf 'plot'
    i=1
    while [ "$i" -le "$ngroups" ]; do
        c=$(colour "$i")
        t=$(sed -n "${i}p" "$tmp/titles")
        [ "$i" -gt 1 ] && printf ','
        printf " \\\\\n    %s using 1:2:3:xtic(5) with yerrorlines lw 2 pt 7 ps 1 lc rgb '%s'" \
            "$(gq "$tmp/s$i.dat")" "$c"
        printf ' title %s' "$(gq "$t")"
        if [ -n "$(awk -F '\t' '$4 != ""' "$tmp/s$i.dat")" ]; then # gnuplot warns of none
            printf ", \\\\\n    '' using 1:4 with lines lw 1.5 dt 2 lc rgb '%s' notitle" "$c"
            dalys=1
        fi
        i=$((i + 1))
    done
    if [ -n "${dalys-}" ]; then
        printf ", \\\\\n    1/0 with lines lw 1.5 dt 2 lc rgb 'black' title %s" \
            "$(gq "Daly's closed form at the same interval (dashed, in the line's colour)")"
    fi
    echo
} > "$tmp/plot.gp"
render size

if [ "$have_interval" -eq 1 ]; then
    mv "$tmp/interval.png" "$stem-interval.png"
    mv "$tmp/interval.svg" "$stem-interval.svg"
    echo "wrote $stem-interval.png and $stem-interval.svg"
else
    echo "$me: no run simulated more than one checkpoint interval: $stem-interval not drawn" >&2
fi
mv "$tmp/size.png" "$stem-size.png"
mv "$tmp/size.svg" "$stem-size.svg"
echo "wrote $stem-size.png and $stem-size.svg"
