/*
 * cmd_coll.c: `clustersim coll COLLECTIVE TOPOLOGY.yaml`: nccl-tests for the simulator. One
 * collective over a group of chips of a topology, for sizes from -b to -e by a factor -f,
 * printed in the columns of nccl-tests' all_reduce_perf (out-of-place only: the simulator
 * has no in-place variant) with the algorithm used as a last column.
 *
 * Each size runs alone on an idle network (a fresh engine, network and collective engine
 * over the one topology), as nccl-tests times each size apart; the time is the simulated
 * time from start to end. algbw = size / time and busbw = algbw x nccl-tests' factor
 * (PERFORMANCE.md: 2(n-1)/n all-reduce, (n-1)/n all-gather, reduce-scatter and all-to-all,
 * 1 broadcast and send/recv). Sizes follow nccl-tests: the whole buffer (for all-gather and
 * all-to-all the total over ranks), a multiple of the type's size (rounded down, as
 * nccl-tests does). send/recv is every member sending size to the next one at once.
 * Every row is computed before anything is printed, so an error leaves no half table.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coll/coll.h"
#include "core/evq.h"
#include "net/netsim.h"
#include "topo/topo.h"

static const char coll_usage[] =
    "usage: clustersim coll [-b SIZE] [-e SIZE] [-f FACTOR] [-g CHIPS] [--first CHIP]\n"
    "                       [--stride N] [-a ALGO] [-d TYPE] [--set KEY=VALUE]...\n"
    "                       COLLECTIVE TOPOLOGY.yaml\n"
    "\n"
    "nccl-tests for the simulator: times one collective over a group of chips of a\n"
    "topology, each size alone on an idle network, and prints nccl-tests' columns\n"
    "(size, count, type, redop, root, time in us, algbw and busbw in GB/s; out-of-place\n"
    "only) and the algorithm used. COLLECTIVE: all_reduce, all_gather, reduce_scatter,\n"
    "alltoall, broadcast, sendrecv.\n"
    "\n"
    "  -b SIZE        smallest size in bytes, suffix K, M or G (x 1024; default 8M)\n"
    "  -e SIZE        largest size (default 1G)\n"
    "  -f FACTOR      multiply the size by FACTOR >= 2 from one row to the next (default 2)\n"
    "  -g CHIPS       chips in the group (default: every chip from --first)\n"
    "  --first CHIP   first chip of the group (default 0)\n"
    "  --stride N     the group is chips FIRST, FIRST + N, ... (default 1)\n"
    "  -a ALGO        as NCCL_ALGO: auto (default), ring, tree, nvls, hierarchical, rhd,\n"
    "                 torus, direct, chain\n"
    "  -d TYPE        float (default), half, bfloat16, double, int8, int32\n"
    "  --set K=V      override a topology key (--set scale_up.in_switch_reduction=true)\n";

typedef enum coll_op {
    OP_ALL_REDUCE = 0,
    OP_ALL_GATHER,
    OP_REDUCE_SCATTER,
    OP_ALLTOALL,
    OP_BROADCAST,
    OP_SENDRECV,
    OP_COUNT
} coll_op;

static const char *const op_names[OP_COUNT] = {"all_reduce", "all_gather", "reduce_scatter",
                                               "alltoall",   "broadcast",  "sendrecv"};

/* nccl-tests' type names and sizes. */
static const struct {
    const char *name;
    size_t size;
} types[] = {{"float", 4}, {"half", 2}, {"bfloat16", 2}, {"double", 8}, {"int8", 1},
             {"int32", 4}};

typedef struct coll_args {
    coll_op op;
    double min_bytes, max_bytes;
    long long factor, chips, first, stride;
    coll_algo algo;
    size_t type;
    const char *topology;
    ydoc_override *ov;
    size_t n_ov;
} coll_args;

#define COLL_GO_ON (-1)

/* The collective kind of op (sendrecv: messages, none). */
static coll_kind op_kind(coll_op op)
{
    switch (op) {
    case OP_ALL_REDUCE:
        return COLL_ALLREDUCE;
    case OP_ALL_GATHER:
        return COLL_ALLGATHER;
    case OP_REDUCE_SCATTER:
        return COLL_REDUCE_SCATTER;
    case OP_ALLTOALL:
        return COLL_ALLTOALL;
    case OP_BROADCAST:
    case OP_SENDRECV:
    case OP_COUNT:
        break;
    }
    return COLL_BROADCAST;
}

/* nccl-tests' busbw factor of op over n ranks (PERFORMANCE.md). */
static double op_busbw_factor(coll_op op, size_t n)
{
    return op == OP_SENDRECV ? 1.0 : coll_busbw_factor(op_kind(op), n);
}

/* Parses a nccl-tests size: digits with an optional K, M or G (powers of 1024). -1: not one. */
static double parse_size(const char *s)
{
    size_t len = strlen(s);
    double mult = 1;
    char digits[32];
    if (len == 0 || len >= sizeof digits)
        return -1;
    memcpy(digits, s, len + 1);
    char last = digits[len - 1];
    if (last == 'K' || last == 'k' || last == 'M' || last == 'm' || last == 'G' || last == 'g') {
        mult = last == 'K' || last == 'k' ? 1024.0 : last == 'M' || last == 'm' ? 1048576.0
                                                                                : 1073741824.0;
        digits[--len] = '\0';
    }
    long long v;
    if (cli_parse_int(digits, 0, (long long)1 << 50, &v) != 0)
        return -1;
    return (double)v * mult;
}

static int find_word(const char *s, const char *const *words, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, words[i]))
            return i;
    return -1;
}

/* Parses the value of option opt (argv[i + 1], present: cli_check_values) into *a. */
static int parse_option(const char *opt, const char *v, coll_args *a)
{
    long long x;
    if (!strcmp(opt, "-b") || !strcmp(opt, "-e")) {
        double s = parse_size(v);
        if (s < 0)
            return cli_bad_value("coll", opt, "a size in bytes such as 8, 128M or 1G", v);
        *(!strcmp(opt, "-b") ? &a->min_bytes : &a->max_bytes) = s;
    } else if (!strcmp(opt, "-f")) {
        if (cli_parse_int(v, 2, 1024, &x) != 0)
            return cli_bad_value("coll", opt, "an integer from 2 to 1024", v);
        a->factor = x;
    } else if (!strcmp(opt, "-g") || !strcmp(opt, "--stride")) {
        if (cli_parse_int(v, 1, 100000000, &x) != 0)
            return cli_bad_value("coll", opt, "an integer from 1 to 100000000", v);
        *(!strcmp(opt, "-g") ? &a->chips : &a->stride) = x;
    } else if (!strcmp(opt, "--first")) {
        if (cli_parse_int(v, 0, 100000000, &x) != 0)
            return cli_bad_value("coll", opt, "a chip id from 0 to 100000000", v);
        a->first = x;
    } else if (!strcmp(opt, "-a")) {
        int k = -1;
        for (int i = 0; i < COLL_ALGO_COUNT && k < 0; i++)
            if (i != COLL_ALGO_P2P && !strcmp(v, coll_algo_name((coll_algo)i)))
                k = i;
        if (k < 0)
            return cli_bad_value("coll", opt,
                                 "auto, ring, tree, nvls, hierarchical, rhd, torus, coupled, direct or "
                                 "chain", v);
        a->algo = (coll_algo)k;
    } else if (!strcmp(opt, "-d")) {
        int k = -1;
        for (size_t i = 0; i < sizeof types / sizeof types[0] && k < 0; i++)
            if (!strcmp(v, types[i].name))
                k = (int)i;
        if (k < 0)
            return cli_bad_value("coll", opt, "float, half, bfloat16, double, int8 or int32",
                                 v);
        a->type = (size_t)k;
    } else {
        return cli_overrides_add(v, &a->ov, &a->n_ov, "coll");
    }
    return 0;
}

static int parse_args(int argc, char **argv, coll_args *a)
{
    static const char *const value_opts[] = {"-b SIZE", "-e SIZE", "-f FACTOR", "-g CHIPS",
                                             "--first CHIP", "--stride N", "-a ALGO",
                                             "-d TYPE", "--set KEY=VALUE", NULL};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(coll_usage, stdout);
            return 0;
        }
    int rc = cli_check_values(argc, argv, "coll", value_opts, coll_usage);
    if (rc != 0)
        return rc;
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        int takes = 0;
        for (const char *const *o = value_opts; *o && !takes; o++)
            takes = !strncmp(*o, opt, strlen(opt)) && (*o)[strlen(opt)] == ' ';
        if (takes) {
            rc = parse_option(opt, argv[++i], a);
            if (rc != 0)
                return rc;
        } else if (opt[0] == '-' && opt[1]) {
            fprintf(stderr, "clustersim coll: unknown option '%s'\n%s", opt, coll_usage);
            return 2;
        } else if (npos < 2) {
            pos[npos++] = opt;
        } else {
            fprintf(stderr, "clustersim coll: unexpected argument '%s'\n%s", opt, coll_usage);
            return 2;
        }
    }
    if (npos != 2) {
        fprintf(stderr, "clustersim coll: expected COLLECTIVE and TOPOLOGY.yaml\n%s",
                coll_usage);
        return 2;
    }
    int k = find_word(pos[0], op_names, OP_COUNT);
    if (k < 0) {
        fprintf(stderr,
                "clustersim coll: unknown collective '%s'; expected one of: all_reduce, "
                "all_gather, reduce_scatter, alltoall, broadcast, sendrecv\n",
                pos[0]);
        return 2;
    }
    a->op = (coll_op)k;
    a->topology = pos[1];
    if (a->max_bytes < a->min_bytes) {
        fprintf(stderr, "clustersim coll: option '-e': expected a size >= -b's %.0f, found "
                        "%.0f\n", a->min_bytes, a->max_bytes);
        return 2;
    }
    return COLL_GO_ON;
}

/* One size's run: how many of its collectives or messages are still going, and when the
 * last ended. */
typedef struct size_run {
    size_t pending;
    double start_s, end_s;
    coll_algo algo;
} size_run;

static void on_done(void *user, double start_s, double end_s)
{
    size_run *r = user; /* every part starts at the same instant */
    r->pending--;
    r->start_s = start_s;
    if (end_s > r->end_s)
        r->end_s = end_s;
}

/* Runs op over chips[0..n) on bytes alone on a fresh network over t, into *r. */
static sim_code run_size(topo *t, const coll_args *a, const int32_t *chips, size_t n,
                         double bytes, size_run *r, sim_status *st)
{
    ev_engine *e = NULL;
    net_sim *ns = NULL;
    coll_engine *ce = NULL;
    sim_code rc = ev_engine_create(&e, st);
    if (rc == SIM_OK)
        rc = net_sim_create(e, topo_graph(t), 0, &ns, st);
    if (rc == SIM_OK)
        rc = coll_engine_create(ns, t, &ce, st);
    memset(r, 0, sizeof *r);
    if (rc == SIM_OK && a->op == OP_SENDRECV) {
        r->algo = COLL_ALGO_P2P;
        for (size_t i = 0; rc == SIM_OK && i < n && n > 1; i++) {
            r->pending++;
            rc = coll_send(ce, chips[i], chips[(i + 1) % n], bytes, i, on_done, r, st);
        }
    } else if (rc == SIM_OK) {
        coll_req rq = {.kind = op_kind(a->op), .algo = a->algo, .chips = chips, .n = n,
                       .bytes = bytes, .id = 1, .done = on_done, .user = r};
        r->pending = 1;
        rc = coll_start(ce, &rq, &r->algo, st);
    }
    if (rc == SIM_OK) {
        ev_run(e, INT64_MAX);
        const sim_status *err = coll_engine_error(ce);
        if (!err)
            err = net_sim_error(ns);
        if (err) {
            *st = *err;
            rc = err->code;
        } else if (r->pending != 0 && n > 1) {
            rc = sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0,
                                "a collective of %.0f bytes never finished", bytes);
        }
    }
    coll_engine_destroy(ce);
    net_sim_destroy(ns);
    ev_engine_destroy(e);
    return rc;
}

/* The group: chips first, first + stride, ... (a->chips of them, default every one that
 * fits). Returns 0, or 2 after the error. */
static int make_group(const topo *t, const coll_args *a, int32_t **out, size_t *n)
{
    long long total = (long long)topo_chip_count(t);
    long long fits = a->first < total ? (total - 1 - a->first) / a->stride + 1 : 0;
    long long want = a->chips ? a->chips : fits;
    if (a->first >= total || want > fits) {
        fprintf(stderr,
                "clustersim coll: option '-g': expected a group of chips inside %s's %lld "
                "chips, found %lld chips from chip %lld with stride %lld\n",
                a->topology, total, want, a->first, a->stride);
        return 2;
    }
    int32_t *c = malloc((size_t)want * sizeof *c);
    if (!c) {
        fprintf(stderr, "clustersim coll: out of memory for the group\n");
        return 1;
    }
    for (long long i = 0; i < want; i++)
        c[i] = (int32_t)(a->first + i * a->stride);
    *out = c;
    *n = (size_t)want;
    return 0;
}

/* One row's figures, kept until every size has run. */
typedef struct row {
    double bytes, time_s;
    coll_algo algo;
} row;

static void print_rows(const coll_args *a, const topo *t, size_t n, const row *rows,
                       size_t n_rows)
{
    int reduce = a->op == OP_ALL_REDUCE || a->op == OP_REDUCE_SCATTER;
    size_t tsize = types[a->type].size;
    printf("# clustersim coll: %s over %zu chips of %s (chips %lld, %lld, ... by %lld), "
           "algorithm %s\n#\n", op_names[a->op], n, topo_name(t), a->first,
           a->first + a->stride, a->stride, coll_algo_name(a->algo));
    printf("#%75s\n", "out-of-place");
    printf("#%11s %13s %9s %7s %7s %8s %7s %7s  %s\n", "size", "count", "type", "redop", "root",
           "time", "algbw", "busbw", "algo");
    printf("#%11s %13s %9s %7s %7s %8s %7s %7s\n", "(B)", "(elements)", "", "", "", "(us)",
           "(GB/s)", "(GB/s)");
    double sum = 0;
    for (size_t i = 0; i < n_rows; i++) {
        const row *r = &rows[i];
        double algbw = r->time_s > 0 ? r->bytes / r->time_s / 1e9 : 0;
        double busbw = algbw * op_busbw_factor(a->op, n);
        sum += busbw;
        printf("%12.0f %13.0f %9s %7s %7d %8.1f %7.2f %7.2f  %s\n", r->bytes,
               r->bytes / (double)tsize, types[a->type].name, reduce ? "sum" : "none",
               a->op == OP_BROADCAST ? 0 : -1, r->time_s * 1e6, algbw, busbw,
               coll_algo_name(r->algo));
    }
    printf("# Avg bus bandwidth    : %g\n#\n", n_rows ? sum / (double)n_rows : 0);
}

int cli_coll_main(int argc, char **argv)
{
    coll_args a = {.min_bytes = 8388608, .max_bytes = 1073741824, .factor = 2, .stride = 1,
                   .algo = COLL_ALGO_AUTO};
    int rc = parse_args(argc, argv, &a);
    topo *t = NULL;
    int32_t *chips = NULL;
    row *rows = NULL;
    size_t n = 0, n_rows = 0;
    sim_status st;
    if (rc != COLL_GO_ON)
        goto done;
    topo_load_opts o = {.overrides = a.ov, .n_overrides = a.n_ov};
    if (topo_load(a.topology, &o, &t, &st) != SIM_OK) {
        rc = cli_report(&st);
        goto done;
    }
    rc = make_group(t, &a, &chips, &n);
    if (rc != 0)
        goto done;
    size_t tsize = types[a.type].size, cap = 64;
    rows = malloc(cap * sizeof *rows);
    if (!rows) {
        fprintf(stderr, "clustersim coll: out of memory\n");
        rc = 1;
        goto done;
    }
    for (double s = a.min_bytes; s <= a.max_bytes && n_rows < cap; s *= (double)a.factor) {
        double bytes = (double)((unsigned long long)(s / (double)tsize)) * (double)tsize;
        size_run r;
        if (run_size(t, &a, chips, n, bytes, &r, &st) != SIM_OK) {
            rc = cli_report(&st);
            goto done;
        }
        rows[n_rows++] = (row){bytes, r.end_s - r.start_s, r.algo};
        if (s == 0)
            break;
    }
    print_rows(&a, t, n, rows, n_rows);
    rc = 0;
done:
    free(rows);
    free(chips);
    topo_destroy(t);
    cli_overrides_free(a.ov, a.n_ov);
    return rc;
}
