/*
 * cmd_flows.c: `clustersim flows TOPOLOGY.yaml FLOWS.csv`: replays point-to-point flows
 * under max-min sharing and prints each flow's finish time as CSV.
 *
 * Every flow is routed before the simulation starts, so an unreachable destination is
 * reported (at its CSV line) before anything is printed; output is written only after the
 * run completes, so a failure never leaves half a table on stdout.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/evq.h"
#include "core/hash.h"
#include "core/vec.h"
#include "net/flowfile.h"
#include "net/netsim.h"
#include "topo/topo.h"

static const char flows_usage[] =
    "usage: clustersim flows [--naive] [--routing ecmp|spray] TOPOLOGY.yaml FLOWS.csv\n"
    "\n"
    "Replays point-to-point flows on a topology and prints, as CSV on stdout,\n"
    "  id,src,dst,bytes,start_s,finish_s\n"
    "one row per flow in input order. FLOWS.csv has the header id,src,dst,bytes,start_s.\n"
    "A flow waits the sum of its path's link latencies, then shares bandwidth with the\n"
    "flows it meets under weighted max-min fairness until its bytes are sent. Paths are\n"
    "shortest in hops; equal-cost next hops are picked by a hash of the flow (ECMP), or\n"
    "the flow is spread over all of them (spraying). WAN window caps apply.\n"
    "\n"
    "  --naive            solve every change with the reference (full) solver\n"
    "  --routing MODE     ecmp or spray (default: the topology's 'routing', else ecmp)\n";

typedef struct flow_run {
    ev_node start;
    const net_flow_spec *spec;
    size_t use_off, n_uses;
    int64_t lat_ps;
    double cap_Bps;
    double finish_s;
    int done;
} flow_run;

typedef struct flows_ctx {
    net_sim *ns;
    SIM_VEC(net_usage) uses; /* every flow's usages, one after the other */
    sim_status st;
    int failed;
} flows_ctx;

static void on_flow_done(net_sim *ns, net_transfer *t, void *user)
{
    (void)ns;
    flow_run *r = user;
    r->finish_s = net_transfer_finish_s(t);
    r->done = 1;
}

typedef struct start_node {
    ev_node node; /* first member */
    flow_run *run;
    flows_ctx *ctx;
} start_node;

static void on_flow_start(ev_engine *e, ev_node *n)
{
    (void)e;
    start_node *sn = (start_node *)(void *)n;
    flow_run *r = sn->run;
    flows_ctx *c = sn->ctx;
    if (c->failed)
        return;
    net_transfer_spec spec = {
        .uses = c->uses.v + r->use_off,
        .n_uses = r->n_uses,
        .bytes = r->spec->bytes,
        .lat_ps = r->lat_ps,
        .rate_cap_Bps = r->cap_Bps,
        .done = on_flow_done,
        .user = r,
    };
    if (net_transfer_start(c->ns, &spec, NULL, &c->st) != SIM_OK) {
        c->failed = 1;
        ev_stop(net_sim_engine(c->ns));
    }
}

/* The options of `flows`. */
typedef struct flows_args {
    int naive, spray; /* spray: -1 the topology's routing, 0 ecmp, 1 spray */
    const char *files[2];
    int nfiles;
} flows_args;

/* What parse_args returns when the replay goes on (any other value is the exit status). */
#define FLOWS_GO_ON (-1)

/* Parses argv into *a. Returns FLOWS_GO_ON, or the exit status (0 after --help, else after
 * printing the error). */
static int parse_args(int argc, char **argv, flows_args *a)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(flows_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--naive")) {
            a->naive = 1;
        } else if (!strcmp(argv[i], "--routing") && i + 1 < argc &&
                   (!strcmp(argv[i + 1], "ecmp") || !strcmp(argv[i + 1], "spray"))) {
            a->spray = !strcmp(argv[++i], "spray");
        } else if (!strcmp(argv[i], "--routing")) {
            fprintf(stderr, "clustersim flows: --routing expects 'ecmp' or 'spray'\n%s",
                    flows_usage);
            return 2;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "clustersim flows: unknown option '%s'\n%s", argv[i], flows_usage);
            return 2;
        } else if (a->nfiles < 2) {
            a->files[a->nfiles++] = argv[i];
        } else {
            fprintf(stderr, "clustersim flows: unexpected argument '%s'\n%s", argv[i], flows_usage);
            return 2;
        }
    }
    if (a->nfiles != 2) {
        fprintf(stderr, "clustersim flows: expected TOPOLOGY.yaml and FLOWS.csv\n%s", flows_usage);
        return 2;
    }
    return FLOWS_GO_ON;
}

/* One replay of a flow file: what it loaded, its flows and the simulation. */
typedef struct flows_job {
    topo *tp;
    net_flowfile *ff;
    ev_engine *eng;
    net_sim *ns;
    flow_run *runs;     /* [n] */
    start_node *starts; /* [n] */
    size_t n;
    flows_ctx ctx;
} flows_job;

static void flows_job_free(flows_job *j)
{
    net_sim_destroy(j->ns);
    ev_engine_destroy(j->eng);
    sim_vec_free(&j->ctx.uses);
    free(j->runs);
    free(j->starts);
    net_flowfile_destroy(j->ff);
    topo_destroy(j->tp);
}

/* Loads the topology and the flows of a into j. */
static sim_code load(const flows_args *a, flows_job *j, sim_status *st)
{
    if (topo_load_file(a->files[0], &j->tp, st) != SIM_OK)
        return st->code;
    if (a->spray >= 0)
        topo_set_routing(j->tp, a->spray ? TOPO_ROUTE_SPRAY : TOPO_ROUTE_ECMP);
    if (net_flowfile_load(a->files[1], topo_graph(j->tp), &j->ff, st) != SIM_OK)
        return st->code;
    j->n = net_flowfile_count(j->ff);
    j->runs = calloc(j->n ? j->n : 1, sizeof *j->runs);
    j->starts = calloc(j->n ? j->n : 1, sizeof *j->starts);
    if (!j->runs || !j->starts)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for %zu flows",
                              j->n);
    return SIM_OK;
}

/* Routes every flow first, so errors surface before the run; the usages of all flows go into
 * one array, j->ctx.uses. flows_path names the flow file in errors. */
static sim_code route_all(flows_job *j, const char *flows_path, sim_status *st)
{
    size_t max_uses = topo_route_max_uses(j->tp);
    for (size_t i = 0; i < j->n; i++) {
        const net_flow_spec *f = net_flowfile_at(j->ff, i);
        j->runs[i].spec = f;
        if (sim_vec_reserve(&j->ctx.uses, j->ctx.uses.n + max_uses) != 0)
            return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for routes");
        uint64_t h = sim_hash_str(f->id, ((uint64_t)(uint32_t)f->src << 32) | (uint32_t)f->dst);
        topo_route_info info;
        if (topo_route(j->tp, f->src, f->dst, h, j->ctx.uses.v + j->ctx.uses.n, max_uses, &info,
                       st) != SIM_OK) {
            if (st->code == SIM_ERR_INPUT) {
                char msg[SIM_STATUS_MSG_MAX];
                snprintf(msg, sizeof msg, "%s", st->msg);
                sim_status_set(st, SIM_ERR_INPUT, flows_path, f->line, 0, "flow '%s': %s", f->id,
                               msg);
            }
            return st->code;
        }
        j->runs[i].use_off = j->ctx.uses.n;
        j->runs[i].n_uses = info.n_uses;
        j->runs[i].lat_ps = info.lat_ps;
        j->runs[i].cap_Bps = info.rate_cap_Bps;
        j->ctx.uses.n += info.n_uses;
    }
    return SIM_OK;
}

/* Starts every flow at its time and runs the simulation until all have finished. */
static sim_code replay(flows_job *j, int naive, sim_status *st)
{
    if (ev_engine_create(&j->eng, st) != SIM_OK ||
        ev_reserve(j->eng, 2 * j->n + 16, st) != SIM_OK ||
        net_sim_create(j->eng, topo_graph(j->tp), naive, &j->ns, st) != SIM_OK)
        return st->code;
    j->ctx.ns = j->ns;
    for (size_t i = 0; i < j->n; i++) {
        ev_node_init(&j->starts[i].node, on_flow_start);
        j->starts[i].run = &j->runs[i];
        j->starts[i].ctx = &j->ctx;
        ev_schedule(j->eng, &j->starts[i].node, j->runs[i].spec->start_ps, EV_CLASS_NORMAL);
    }
    ev_run(j->eng, INT64_MAX);
    if (j->ctx.failed) {
        *st = j->ctx.st;
        return st->code;
    }
    if (net_sim_error(j->ns)) {
        *st = *net_sim_error(j->ns);
        return st->code;
    }
    for (size_t i = 0; i < j->n; i++)
        if (!j->runs[i].done)
            return sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0, "flow '%s' never finished",
                                  j->runs[i].spec->id);
    return SIM_OK;
}

int cli_flows_main(int argc, char **argv)
{
    flows_args a = {.spray = -1};
    int rc = parse_args(argc, argv, &a);
    if (rc != FLOWS_GO_ON)
        return rc;
    sim_status st;
    sim_status_clear(&st);
    flows_job j;
    memset(&j, 0, sizeof j);
    rc = 0;
    if (load(&a, &j, &st) != SIM_OK || route_all(&j, a.files[1], &st) != SIM_OK ||
        replay(&j, a.naive, &st) != SIM_OK) {
        rc = cli_report(&st);
        goto done;
    }
    const net_graph *g = topo_graph(j.tp);
    printf("id,src,dst,bytes,start_s,finish_s\n");
    for (size_t i = 0; i < j.n; i++) {
        const net_flow_spec *f = j.runs[i].spec;
        printf("%s,%s,%s,%.17g,%.17g,%.15g\n", f->id, net_graph_node_name(g, f->src),
               net_graph_node_name(g, f->dst), f->bytes, f->start_s, j.runs[i].finish_s);
    }
done:
    flows_job_free(&j);
    return rc;
}
