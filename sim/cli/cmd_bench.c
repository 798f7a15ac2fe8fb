/*
 * cmd_bench.c: `clustersim bench`: figures for the engine and the network model.
 *
 * Cases (all deterministic for a seed):
 *   tree      1,024 endpoints under a 3-tier tree (64 leaves of 16, 8 aggregation switches,
 *             1 core) oversubscribed 4:1 at each tier, so nearly every flow shares links
 *             with most others. A closed loop keeps --concurrency transfers in flight until
 *             --transfers have been started and finished; sizes are log-normal around 1 MB,
 *             endpoints uniform.
 *   alltoall  128 endpoints on one switch; 16,384 flows start at once (every ordered pair,
 *             plus a second flow to the next endpoint), sizes uniform in [8, 24] MiB so
 *             they finish one by one: one sharing component of 16,384 transfers re-solved
 *             at each of 16,384 departures.
 *   pairs     issue 18's flow set: every ordered pair of --endpoints endpoints (default 128:
 *             16,256 flows) on one switch with 400 Gb/s links, all starting at 0, sizes
 *             uniform in [--size-min, --size-max] (default 50 MB to 150 MB).
 * Prints one line per case with wall time, events, events per second and solver time.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/evq.h"
#include "core/hash.h"
#include "core/rng.h"
#include "core/units.h"
#include "net/netsim.h"
#include "net/route.h"

static const char bench_usage[] =
    "usage: clustersim bench [OPTIONS] [CASE...]\n"
    "\n"
    "CASE is tree, alltoall or pairs (default: tree and alltoall).\n"
    "  --transfers N     transfers in the tree case (default 1000000)\n"
    "  --concurrency K   transfers in flight in the tree case (default 128)\n"
    "  --endpoints N     endpoints in the pairs case (default 128)\n"
    "  --size-min SIZE   smallest flow in the pairs case (default 50MB)\n"
    "  --size-max SIZE   largest flow in the pairs case (default 150MB)\n"
    "  --seed S          random seed (default 1)\n"
    "  --naive           use the reference full solver (slow: for comparison)\n";

typedef struct bench_opts {
    long transfers, concurrency, endpoints;
    double size_min, size_max;
    unsigned long seed;
    int naive;
} bench_opts;

typedef struct bench_run {
    net_graph *g;
    net_router *router;
    ev_engine *e;
    net_sim *ns;
    sim_rng *rng;
    net_node_id *endpoints;
    size_t n_endpoints;
    long to_start, started;
    double mean_log, sigma_log;
    net_link_id path[64];
    net_usage uses[64];
    sim_status st;
    int failed;
} bench_run;

static sim_code add_switches(net_graph *g, const char *prefix, int n, net_node_id *first,
                             sim_status *st)
{
    char name[64];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s%d", prefix, i);
        net_node_id id;
        sim_code rc = net_graph_add_node(g, name, NET_NODE_SWITCH, &id, st);
        if (rc != SIM_OK)
            return rc;
        if (i == 0)
            *first = id;
    }
    return SIM_OK;
}

/* 1,024 hosts, 64 leaves, 8 aggregation switches, 1 core; 4:1 at each tier. */
static sim_code build_tree(bench_run *b, sim_status *st)
{
    enum { HOSTS = 1024, PER_LEAF = 16, LEAVES = 64, AGGS = 8 };
    const double host_bw = 100e9 / 8, leaf_up = 400e9 / 8, agg_up = 800e9 / 8;
    net_node_id leaf0 = 0, agg0 = 0, core = 0;
    char name[64];
    sim_code rc = net_graph_create(&b->g, st);
    b->endpoints = malloc(HOSTS * sizeof *b->endpoints);
    if (rc != SIM_OK || !b->endpoints)
        return rc != SIM_OK ? rc : sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (int i = 0; i < HOSTS; i++) {
        snprintf(name, sizeof name, "h%d", i);
        if ((rc = net_graph_add_node(b->g, name, NET_NODE_ENDPOINT, &b->endpoints[i], st)))
            return rc;
    }
    b->n_endpoints = HOSTS;
    if ((rc = add_switches(b->g, "leaf", LEAVES, &leaf0, st)) ||
        (rc = add_switches(b->g, "agg", AGGS, &agg0, st)) ||
        (rc = add_switches(b->g, "core", 1, &core, st)))
        return rc;
    for (int i = 0; i < HOSTS && rc == SIM_OK; i++)
        rc = net_graph_add_cable(b->g, b->endpoints[i], leaf0 + i / PER_LEAF, host_bw, 1000000,
                                 NET_LINK_NIC, NULL, st);
    for (int i = 0; i < LEAVES && rc == SIM_OK; i++)
        rc = net_graph_add_cable(b->g, leaf0 + i, agg0 + i / (LEAVES / AGGS), leaf_up, 500000,
                                 NET_LINK_LEAF_SPINE, NULL, st);
    for (int i = 0; i < AGGS && rc == SIM_OK; i++)
        rc = net_graph_add_cable(b->g, agg0 + i, core, agg_up, 500000, NET_LINK_SPINE_CORE,
                                 NULL, st);
    return rc == SIM_OK ? net_graph_finalize(b->g, st) : rc;
}

static sim_code build_star(bench_run *b, size_t hosts, sim_status *st)
{
    char name[64];
    net_node_id sw;
    sim_code rc = net_graph_create(&b->g, st);
    b->endpoints = malloc(hosts * sizeof *b->endpoints);
    if (rc != SIM_OK || !b->endpoints)
        return rc != SIM_OK ? rc : sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < hosts && rc == SIM_OK; i++) {
        snprintf(name, sizeof name, "h%zu", i);
        rc = net_graph_add_node(b->g, name, NET_NODE_ENDPOINT, &b->endpoints[i], st);
    }
    b->n_endpoints = hosts;
    if (rc == SIM_OK)
        rc = net_graph_add_node(b->g, "switch", NET_NODE_SWITCH, &sw, st);
    for (size_t i = 0; i < hosts && rc == SIM_OK; i++)
        rc = net_graph_add_cable(b->g, b->endpoints[i], sw, 400e9 / 8, 1000000, NET_LINK_NIC,
                                 NULL, st);
    return rc == SIM_OK ? net_graph_finalize(b->g, st) : rc;
}

static void bench_free(bench_run *b)
{
    net_sim_destroy(b->ns);
    ev_engine_destroy(b->e);
    net_router_destroy(b->router);
    sim_rng_destroy(b->rng);
    net_graph_destroy(b->g);
    free(b->endpoints);
}

static sim_code start_flow(bench_run *b, net_node_id src, net_node_id dst, double bytes,
                           net_done_fn done)
{
    size_t len = 0;
    uint64_t h = sim_hash_mix((uint64_t)b->started * 0x9e3779b97f4a7c15ull);
    sim_code rc = net_route_path(b->router, src, dst, h, b->path, 64, &len, &b->st);
    if (rc != SIM_OK)
        return rc;
    for (size_t i = 0; i < len; i++)
        b->uses[i] = (net_usage){.link = b->path[i], .w = 1.0};
    net_transfer_spec spec = {.uses = b->uses, .n_uses = len, .bytes = bytes,
                              .lat_ps = net_path_latency_ps(b->g, b->path, len),
                              .done = done, .user = b};
    b->started++;
    return net_transfer_start(b->ns, &spec, NULL, &b->st);
}

static void tree_next(net_sim *ns, net_transfer *t, void *user);

static void tree_start_random(bench_run *b)
{
    size_t s = (size_t)sim_rng_below(b->rng, b->n_endpoints);
    size_t d = (size_t)sim_rng_below(b->rng, b->n_endpoints - 1);
    if (d >= s)
        d++;
    double bytes = sim_rng_lognormal(b->rng, b->mean_log, b->sigma_log);
    if (start_flow(b, b->endpoints[s], b->endpoints[d], bytes, tree_next) != SIM_OK) {
        b->failed = 1;
        ev_stop(b->e);
    }
}

static void tree_next(net_sim *ns, net_transfer *t, void *user)
{
    (void)ns;
    (void)t;
    bench_run *b = user;
    if (b->started < b->to_start)
        tree_start_random(b);
}

static void print_line(const char *name, bench_run *b, double wall)
{
    const net_sim_stats *ns = net_sim_get_stats(b->ns);
    const net_mm_stats *mm = net_sim_solver_stats(b->ns);
    uint64_t ev = ev_count(b->e);
    printf("%-9s transfers=%llu sim_time_s=%.6f wall_s=%.3f events=%llu events_per_s=%.0f "
           "solves=%llu solver_wall_s=%.3f mean_component_transfers=%.1f rate_changes=%llu "
           "resumes=%llu mean_refilled=%.1f\n",
           name, (unsigned long long)ns->finished, (double)ev_now(b->e) * 1e-12, wall,
           (unsigned long long)ev, wall > 0 ? (double)ev / wall : 0.0,
           (unsigned long long)mm->solves, ns->solve_wall_s,
           mm->components ? (double)mm->vars_solved / (double)mm->components : 0.0,
           (unsigned long long)mm->rate_changes, (unsigned long long)mm->resumes,
           mm->resumes ? (double)mm->vars_refilled / (double)mm->resumes : 0.0);
    fflush(stdout);
}

/* Runs the flows started (rc: how starting them went) and prints the case's line. */
static sim_code run_started(bench_run *b, const char *name, double t0, sim_code rc,
                            sim_status *st)
{
    if (rc != SIM_OK) {
        *st = b->st;
        return rc;
    }
    ev_run(b->e, INT64_MAX);
    if (net_sim_error(b->ns)) {
        *st = *net_sim_error(b->ns);
        return st->code;
    }
    print_line(name, b, cli_now_s() - t0);
    return SIM_OK;
}


static sim_code setup(bench_run *b, const bench_opts *o, sim_status *st)
{
    sim_code rc;
    if ((rc = net_router_create(b->g, 0, &b->router, st)) ||
        (rc = ev_engine_create(&b->e, st)) ||
        (rc = net_sim_create(b->e, b->g, o->naive, &b->ns, st)) ||
        (rc = sim_rng_create(o->seed, 0, &b->rng, st)))
        return rc;
    net_sim_set_timing(b->ns, 1);
    return SIM_OK;
}

static sim_code bench_tree(const bench_opts *o, sim_status *st)
{
    bench_run b;
    memset(&b, 0, sizeof b);
    sim_code rc = build_tree(&b, st);
    if (rc == SIM_OK)
        rc = setup(&b, o, st);
    if (rc == SIM_OK) {
        b.to_start = o->transfers;
        b.mean_log = log(1e6) - 0.5;
        b.sigma_log = 1.0;
        double t0 = cli_now_s();
        long k = o->concurrency < o->transfers ? o->concurrency : o->transfers;
        for (long i = 0; i < k && !b.failed; i++)
            tree_start_random(&b);
        ev_run(b.e, INT64_MAX);
        double wall = cli_now_s() - t0;
        if (b.failed || net_sim_error(b.ns)) {
            *st = b.failed ? b.st : *net_sim_error(b.ns);
            rc = st->code;
        } else {
            print_line("tree", &b, wall);
        }
    }
    bench_free(&b);
    return rc;
}

/* b set up on a star of hosts endpoints, its event queue sized for an all-to-all among
 * them. */
static sim_code star_setup(bench_run *b, size_t hosts, const bench_opts *o, sim_status *st)
{
    memset(b, 0, sizeof *b);
    sim_code rc = build_star(b, hosts, st);
    if (rc == SIM_OK)
        rc = setup(b, o, st);
    if (rc == SIM_OK)
        rc = ev_reserve(b->e, 4 * hosts * hosts, st);
    return rc;
}

static sim_code bench_alltoall(const bench_opts *o, sim_status *st)
{
    enum { HOSTS = 128 };
    bench_run b;
    sim_code rc = star_setup(&b, HOSTS, o, st);
    if (rc == SIM_OK) {
        double t0 = cli_now_s();
        const double mib = 1048576.0;
        for (size_t s = 0; s < HOSTS && rc == SIM_OK; s++)
            for (size_t k = 1; k <= HOSTS && rc == SIM_OK; k++) {
                size_t d = (s + (k == HOSTS ? 1 : k)) % HOSTS; /* k == HOSTS: 2nd to next */
                double bytes = (8 + 16 * sim_rng_uniform(b.rng)) * mib;
                rc = start_flow(&b, b.endpoints[s], b.endpoints[d], bytes, NULL);
            }
        rc = run_started(&b, "alltoall", t0, rc, st);
    }
    bench_free(&b);
    return rc;
}

/* Issue 18: every ordered pair of o->endpoints endpoints, sizes uniform in
 * [size_min, size_max], all at time 0: one component of n (n - 1) transfers. */
static sim_code bench_pairs(const bench_opts *o, sim_status *st)
{
    size_t hosts = (size_t)o->endpoints;
    bench_run b;
    sim_code rc = star_setup(&b, hosts, o, st);
    if (rc == SIM_OK) {
        double t0 = cli_now_s();
        for (size_t s = 0; s < hosts && rc == SIM_OK; s++)
            for (size_t d = 0; d < hosts && rc == SIM_OK; d++) {
                if (d == s)
                    continue;
                double bytes = o->size_min + (o->size_max - o->size_min) * sim_rng_uniform(b.rng);
                rc = start_flow(&b, b.endpoints[s], b.endpoints[d], bytes, NULL);
            }
        rc = run_started(&b, "pairs", t0, rc, st);
    }
    bench_free(&b);
    return rc;
}

int cli_bench_main(int argc, char **argv)
{
    bench_opts o = {.transfers = 1000000, .concurrency = 128, .endpoints = 128,
                    .size_min = 50e6, .size_max = 150e6, .seed = 1, .naive = 0};
    int do_tree = 0, do_a2a = 0, do_pairs = 0;
    static const char *const valued[] = {"--transfers N", "--concurrency N", "--seed N",
                                         "--endpoints N", "--size-min SIZE", "--size-max SIZE",
                                         NULL};
    if (cli_check_values(argc, argv, "bench", valued, bench_usage) != 0)
        return 2;
    for (int i = 1; i < argc; i++) {
        long long v;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(bench_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--naive")) {
            o.naive = 1;
        } else if (!strcmp(a, "--size-min") || !strcmp(a, "--size-max")) {
            double bytes;
            char why[160];
            if (sim_units_parse_bytes(argv[i + 1], &bytes, why, sizeof why) != SIM_OK)
                return cli_bad_value("bench", a, "a size with a unit (such as '50MB')",
                                     argv[i + 1]);
            if (!strcmp(a, "--size-min"))
                o.size_min = bytes;
            else
                o.size_max = bytes;
            i++;
        } else if (!strcmp(a, "--endpoints")) {
            if (cli_parse_int(argv[i + 1], 2, 4096, &v) != 0)
                return cli_bad_value("bench", a, "an integer from 2 to 4096", argv[i + 1]);
            o.endpoints = (long)v;
            i++;
        } else if (!strcmp(a, "--transfers") || !strcmp(a, "--concurrency") ||
                   !strcmp(a, "--seed")) {
            int seed = !strcmp(a, "--seed");
            if (cli_parse_int(argv[i + 1], seed ? 0 : 1, LONG_MAX, &v) != 0)
                return cli_bad_value("bench", a, seed ? "a non-negative integer"
                                                      : "a positive integer", argv[i + 1]);
            if (!strcmp(a, "--transfers"))
                o.transfers = (long)v;
            else if (!strcmp(a, "--concurrency"))
                o.concurrency = (long)v;
            else
                o.seed = (unsigned long)v;
            i++;
        } else if (!strcmp(a, "tree")) {
            do_tree = 1;
        } else if (!strcmp(a, "alltoall")) {
            do_a2a = 1;
        } else if (!strcmp(a, "pairs")) {
            do_pairs = 1;
        } else {
            fprintf(stderr, "clustersim bench: unknown argument '%s'\n%s", a, bench_usage);
            return 2;
        }
    }
    if (!do_tree && !do_a2a && !do_pairs)
        do_tree = do_a2a = 1;
    if (o.size_max < o.size_min) {
        fprintf(stderr, "clustersim bench: --size-max (%.17g B) is below --size-min (%.17g B)\n",
                o.size_max, o.size_min);
        return 2;
    }
    sim_status st;
    sim_status_clear(&st);
    if (do_tree && bench_tree(&o, &st) != SIM_OK)
        return cli_report(&st);
    if (do_a2a && bench_alltoall(&o, &st) != SIM_OK)
        return cli_report(&st);
    if (do_pairs && bench_pairs(&o, &st) != SIM_OK)
        return cli_report(&st);
    return 0;
}
