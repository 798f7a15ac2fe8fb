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
    net_usage *uses; /* every flow's usages, one after the other */
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
        .uses = c->uses + r->use_off,
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

int cli_flows_main(int argc, char **argv)
{
    int naive = 0, spray = -1;
    const char *files[2];
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(flows_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--naive")) {
            naive = 1;
        } else if (!strcmp(argv[i], "--routing") && i + 1 < argc &&
                   (!strcmp(argv[i + 1], "ecmp") || !strcmp(argv[i + 1], "spray"))) {
            spray = !strcmp(argv[++i], "spray");
        } else if (!strcmp(argv[i], "--routing")) {
            fprintf(stderr, "clustersim flows: --routing expects 'ecmp' or 'spray'\n%s",
                    flows_usage);
            return 2;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "clustersim flows: unknown option '%s'\n%s", argv[i], flows_usage);
            return 2;
        } else if (nfiles < 2) {
            files[nfiles++] = argv[i];
        } else {
            fprintf(stderr, "clustersim flows: unexpected argument '%s'\n%s", argv[i], flows_usage);
            return 2;
        }
    }
    if (nfiles != 2) {
        fprintf(stderr, "clustersim flows: expected TOPOLOGY.yaml and FLOWS.csv\n%s", flows_usage);
        return 2;
    }

    sim_status st;
    sim_status_clear(&st);
    topo *tp = NULL;
    net_flowfile *ff = NULL;
    ev_engine *eng = NULL;
    net_sim *ns = NULL;
    flow_run *runs = NULL;
    start_node *starts = NULL;
    flows_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    int rc = 0;

    if (topo_load_file(files[0], &tp, &st) != SIM_OK)
        goto fail;
    const net_graph *g = topo_graph(tp);
    if (spray >= 0)
        topo_set_routing(tp, spray ? TOPO_ROUTE_SPRAY : TOPO_ROUTE_ECMP);
    if (net_flowfile_load(files[1], g, &ff, &st) != SIM_OK)
        goto fail;
    size_t n = net_flowfile_count(ff);
    size_t max_uses = topo_route_max_uses(tp);
    runs = calloc(n ? n : 1, sizeof *runs);
    starts = calloc(n ? n : 1, sizeof *starts);
    if (!runs || !starts) {
        sim_status_set(&st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for %zu flows", n);
        goto fail;
    }
    /* route everything first: errors surface before the run, usages in one array */
    size_t uses_cap = 0, uses_len = 0;
    for (size_t i = 0; i < n; i++) {
        const net_flow_spec *f = net_flowfile_at(ff, i);
        runs[i].spec = f;
        if (uses_cap - uses_len < max_uses) {
            size_t cap = uses_cap ? uses_cap * 2 : 4096;
            while (cap - uses_len < max_uses)
                cap *= 2;
            net_usage *p = realloc(ctx.uses, cap * sizeof *p);
            if (!p) {
                sim_status_set(&st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for routes");
                goto fail;
            }
            ctx.uses = p;
            uses_cap = cap;
        }
        uint64_t h = sim_hash_str(f->id, ((uint64_t)(uint32_t)f->src << 32) | (uint32_t)f->dst);
        topo_route_info info;
        if (topo_route(tp, f->src, f->dst, h, ctx.uses + uses_len, max_uses, &info, &st) !=
            SIM_OK) {
            if (st.code == SIM_ERR_INPUT) {
                char msg[SIM_STATUS_MSG_MAX];
                snprintf(msg, sizeof msg, "%s", st.msg);
                sim_status_set(&st, SIM_ERR_INPUT, files[1], f->line, 0, "flow '%s': %s", f->id,
                               msg);
            }
            goto fail;
        }
        runs[i].use_off = uses_len;
        runs[i].n_uses = info.n_uses;
        runs[i].lat_ps = info.lat_ps;
        runs[i].cap_Bps = info.rate_cap_Bps;
        uses_len += info.n_uses;
    }

    if (ev_engine_create(&eng, &st) != SIM_OK || ev_reserve(eng, 2 * n + 16, &st) != SIM_OK ||
        net_sim_create(eng, g, naive, &ns, &st) != SIM_OK)
        goto fail;
    ctx.ns = ns;
    for (size_t i = 0; i < n; i++) {
        ev_node_init(&starts[i].node, on_flow_start);
        starts[i].run = &runs[i];
        starts[i].ctx = &ctx;
        ev_schedule(eng, &starts[i].node, runs[i].spec->start_ps, EV_CLASS_NORMAL);
    }
    ev_run(eng, INT64_MAX);
    if (ctx.failed) {
        st = ctx.st;
        goto fail;
    }
    if (net_sim_error(ns)) {
        st = *net_sim_error(ns);
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        if (!runs[i].done) {
            sim_status_set(&st, SIM_ERR_INTERNAL, NULL, 0, 0, "flow '%s' never finished",
                           runs[i].spec->id);
            goto fail;
        }

    printf("id,src,dst,bytes,start_s,finish_s\n");
    for (size_t i = 0; i < n; i++) {
        const net_flow_spec *f = runs[i].spec;
        printf("%s,%s,%s,%.17g,%.17g,%.15g\n", f->id, net_graph_node_name(g, f->src),
               net_graph_node_name(g, f->dst), f->bytes, f->start_s, runs[i].finish_s);
    }
    goto done;
fail:
    rc = cli_report(&st);
done:
    net_sim_destroy(ns);
    ev_engine_destroy(eng);
    free(ctx.uses);
    free(runs);
    free(starts);
    net_flowfile_destroy(ff);
    topo_destroy(tp);
    return rc;
}
