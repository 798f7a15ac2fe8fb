# plot-lib.sh: what the plot-*.sh scripts share, sourced once they set `me`: die, quoting
# for SQL and gnuplot, the read-only query of $db, and plot_setup (the tool checks and a
# scratch directory $tmp removed on exit), called once the arguments are checked, and the
# two ends of every plot: gp_begin (the PNG terminal, 900x560, pngcairo where gnuplot has it)
# and gp_render (runs $tmp/plot.gp, replots it as SVG, moves both to $out.png, $out.svg).
die() {
    echo "$me: $*" >&2
    exit 2
}
plot_setup() {
    command -v sqlite3 > /dev/null || { echo "$me: sqlite3 not found" >&2; exit 1; }
    command -v gnuplot > /dev/null || { echo "$me: gnuplot not found" >&2; exit 1; }
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    trap 'exit 1' HUP INT TERM
}

# sq S: S as the body of an SQL string literal; gq S: S as a gnuplot string literal
sq() { printf '%s' "$1" | sed "s/'/''/g"; }
gq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }
query() {
    sqlite3 -init /dev/null -readonly -batch -bail -noheader -tabs "$db" "$1" ||
        die "cannot read $db (sqlite3 failed; is it a clustersim database?)"
}

# gp_begin: the first lines of $tmp/plot.gp
gp_begin() {
    cat << 'EOF'
if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
    set terminal pngcairo size 900,560 noenhanced font 'sans,10'
} else {
    set terminal png size 900,560 noenhanced
}
EOF
    echo "set output $(gq "$tmp/out.png")"
}
# gp_render: draws $tmp/plot.gp as PNG then SVG; the outputs appear only once both exist
gp_render() {
    {
        echo "set terminal svg size 900,560 noenhanced font 'sans,10' background rgb 'white'"
        echo "set output $(gq "$tmp/out.svg")"
        echo "replot"
        echo "set output"
    } >> "$tmp/plot.gp"
    gnuplot "$tmp/plot.gp"
    mv "$tmp/out.png" "$out.png"
    mv "$tmp/out.svg" "$out.svg"
    echo "wrote $out.png and $out.svg"
}
