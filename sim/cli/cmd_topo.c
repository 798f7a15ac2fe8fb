/*
 * cmd_topo.c: `clustersim topo FILE`: validates a topology and says what it contains.
 *
 * The text form is for people; --json prints the same figures as one JSON object (SI units,
 * links directed) for scripts. Nothing is printed until the whole topology has loaded, so a
 * bad file gives only its error.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/cli.h"
#include "core/units.h"
#include "out/db_topo.h"
#include "out/trace.h"
#include "topo/topo.h"

static const char topo_usage[] =
    "usage: clustersim topo [--json] [--db FILE] TOPOLOGY.yaml\n"
    "\n"
    "Loads a topology (explicit graph or generated cluster), checks it, and prints what it\n"
    "contains: chips per site, switches per tier, links per kind, oversubscription and\n"
    "bisection bandwidth per tier, hop diameter, total HBM and peak FLOP/s.\n"
    "\n"
    "  --json      print one JSON object instead (keys: name, chips, switches, links,\n"
    "              switches_per_tier, links_per_kind, datacenters, wan, total_peak_bf16_flops,\n"
    "              total_hbm_bytes, bisection_Bps, diameter_hops, build_s, peak_rss_bytes)\n"
    "  --db FILE   also write the topology's links to the `link` table of database FILE\n"
    "              (one `run` row with command 'topo'; see analysis/SCHEMA.md)\n";

static const char *grouped(size_t v, char *buf, size_t n)
{
    return sim_units_fmt_count((double)v, buf, n);
}

static const char *flops_str(double f, char *buf, size_t n)
{
    static const char *const names[] = {"FLOP/s", "kFLOP/s", "MFLOP/s", "GFLOP/s",
                                        "TFLOP/s", "PFLOP/s", "EFLOP/s", "ZFLOP/s"};
    size_t k = 0;
    while (k + 1 < sizeof names / sizeof names[0] && f >= 1000) {
        f /= 1000;
        k++;
    }
    snprintf(buf, n, "%.4g %s", f, names[k]);
    return buf;
}

static const char *bw_str(double Bps, char *buf, size_t n)
{
    sim_units_fmt_bw(Bps, buf, n);
    return buf;
}

static const char *bytes_str(double b, char *buf, size_t n)
{
    sim_units_fmt_bytes(b, buf, n);
    return buf;
}

static void print_text(topo *t, const topo_summary *s, double build_s, long rss_kb)
{
    char a[64], b[64], c[64];
    printf("topology %s: %s chips in %zu site%s, %s switches, %s links (directed)\n",
           topo_name(t), grouped(s->chips, a, sizeof a), s->sites, s->sites == 1 ? "" : "s",
           grouped(s->switches, b, sizeof b), grouped(s->links, c, sizeof c));
    for (size_t i = 0; i < s->sites; i++) {
        topo_site_summary ss;
        topo_site_summarize(t, i, &ss);
        printf("site %s: %s x %s in %s nodes", ss.name, grouped(ss.chips, a, sizeof a),
               ss.chip[0] ? ss.chip : "chip", grouped(ss.nodes, b, sizeof b));
        if (ss.domains)
            printf(", %s scale-up domains of %zu (bisection %s each)",
                   grouped(ss.domains, a, sizeof a), ss.chips / ss.domains,
                   bw_str(ss.scale_up_bisection_Bps, b, sizeof b));
        printf("\n");
        if (ss.tiers) {
            printf("  fabric %s, %d tier%s, %s NICs of %s\n", ss.fabric, ss.tiers,
                   ss.tiers > 1 ? "s" : "", grouped(ss.nics, a, sizeof a),
                   bw_str(ss.nic_Bps, b, sizeof b));
            printf("  %-6s %s switch%s, %zu NICs each", topo_tier_name(0),
                   grouped(ss.switches[0], a, sizeof a), ss.switches[0] == 1 ? "" : "es",
                   ss.nics_per_leaf);
            if (ss.tiers > 1)
                printf(", %zu uplink trunk%s of %s (oversubscription %g:1)", ss.spines_per_pod,
                       ss.spines_per_pod == 1 ? "" : "s",
                       bw_str(ss.trunk_Bps[0], b, sizeof b), ss.oversub[0]);
            printf("\n");
        }
        if (ss.tiers > 1) {
            printf("  %-6s %s switches in %zu pod%s of %zu", topo_tier_name(1),
                   grouped(ss.switches[1], a, sizeof a), ss.pods, ss.pods == 1 ? "" : "s",
                   ss.spines_per_pod);
            if (ss.tiers > 2)
                printf(", %zu uplink trunk%s of %s (oversubscription %g:1)", ss.cores_per_plane,
                       ss.cores_per_plane == 1 ? "" : "s",
                       bw_str(ss.trunk_Bps[1], b, sizeof b), ss.oversub[1]);
            printf("\n");
        }
        if (ss.tiers > 2)
            printf("  %-6s %s switches in %zu planes of %zu, one trunk to each pod\n",
                   topo_tier_name(2), grouped(ss.switches[2], a, sizeof a), ss.spines_per_pod,
                   ss.cores_per_plane);
        if (ss.tiers)
            printf("  scale-out bisection %s\n", bw_str(ss.bisection_Bps, a, sizeof a));
        if (ss.trunk_Bps[2] > 0)
            printf("  gateway trunks of %s from each top-tier switch\n",
                   bw_str(ss.trunk_Bps[2], a, sizeof a));
        if (ss.peak_bf16_flops > 0)
            printf("  peak bf16 %s, HBM %s\n", flops_str(ss.peak_bf16_flops, a, sizeof a),
                   bytes_str(ss.hbm_bytes, b, sizeof b));
    }
    printf("links:");
    for (int k = 0; k < NET_LINK_KIND_COUNT; k++)
        if (s->links_per_kind[k])
            printf(" %s %s", net_link_kind_str((net_link_kind)k),
                   grouped(s->links_per_kind[k], a, sizeof a));
    printf("\n");
    if (s->nvswitches || s->nics || s->gateways)
        printf("other nodes: %zu NVSwitch domains, %zu shared NICs, %zu gateways\n",
               s->nvswitches, s->nics, s->gateways);
    const net_graph *g = topo_graph(t);
    for (size_t l = 0; l < net_graph_link_count(g); l += 2) {
        const net_link *k = net_graph_link(g, (net_link_id)l);
        if (k->kind != NET_LINK_WAN)
            continue;
        sim_units_fmt_time(k->lat_ps, c, sizeof c);
        printf("wan %s <-> %s: %s, %s\n", net_graph_node_name(g, k->src),
               net_graph_node_name(g, k->dst), bw_str(k->bw_Bps, a, sizeof a), c);
    }
    printf("total: peak bf16 %s, HBM %s, bisection %s, diameter %d hops\n",
           flops_str(s->total_peak_bf16_flops, a, sizeof a),
           bytes_str(s->total_hbm_bytes, b, sizeof b),
           s->bisection_Bps > 0 ? bw_str(s->bisection_Bps, c, sizeof c) : "n/a",
           s->diameter_hops);
    printf("built in %.3f s, peak memory %.1f MiB\n", build_s, (double)rss_kb / 1024.0);
}

static void print_json(topo *t, const topo_summary *s, double build_s, long rss_kb)
{
    printf("{\"name\": ");
    trace_json_str(stdout, topo_name(t));
    printf(", \"chips\": %zu, \"switches\": %zu, \"links\": %zu", s->chips, s->switches,
           s->links);
    size_t tiers[TOPO_MAX_TIERS] = {0};
    for (size_t i = 0; i < s->sites; i++) {
        topo_site_summary ss;
        topo_site_summarize(t, i, &ss);
        for (int k = 0; k < TOPO_MAX_TIERS; k++)
            tiers[k] += ss.switches[k];
    }
    printf(", \"switches_per_tier\": {\"nvswitch\": %zu", s->nvswitches);
    for (int k = 0; k < TOPO_MAX_TIERS; k++)
        printf(", \"%s\": %zu", topo_tier_name(k), tiers[k]);
    printf(", \"gateway\": %zu}", s->gateways);
    printf(", \"links_per_kind\": {");
    for (int k = 0; k < NET_LINK_KIND_COUNT; k++)
        printf("%s\"%s\": %zu", k ? ", " : "", net_link_kind_str((net_link_kind)k),
               s->links_per_kind[k]);
    printf("}, \"datacenters\": [");
    for (size_t i = 0; i < s->sites; i++) {
        topo_site_summary ss;
        topo_site_summarize(t, i, &ss);
        printf("%s{\"name\": ", i ? ", " : "");
        trace_json_str(stdout, ss.name);
        printf(", \"chip\": ");
        trace_json_str(stdout, ss.chip);
        printf(", \"chips\": %zu, \"nodes\": %zu, \"scale_up_domains\": %zu, \"tiers\": %d",
               ss.chips, ss.nodes, ss.domains, ss.tiers);
        printf(", \"scale_up\": \"%s\", \"fabric\": \"%s\", \"nics\": %zu", ss.scale_up,
               ss.fabric, ss.nics);
        printf(", \"switches\": [%zu, %zu, %zu]", ss.switches[0], ss.switches[1], ss.switches[2]);
        printf(", \"oversubscription\": [%.17g, %.17g, %.17g]", ss.oversub[0], ss.oversub[1],
               ss.oversub[2]);
        printf(", \"bisection_Bps\": %.17g, \"scale_up_bisection_Bps\": %.17g",
               ss.bisection_Bps, ss.scale_up_bisection_Bps);
        printf(", \"peak_bf16_flops\": %.17g, \"hbm_bytes\": %.17g}", ss.peak_bf16_flops,
               ss.hbm_bytes);
    }
    printf("], \"wan\": [");
    const net_graph *g = topo_graph(t);
    int first = 1;
    for (size_t l = 0; l < net_graph_link_count(g); l += 2) {
        const net_link *k = net_graph_link(g, (net_link_id)l);
        if (k->kind != NET_LINK_WAN)
            continue;
        printf("%s{\"ends\": [", first ? "" : ", ");
        trace_json_str(stdout, net_graph_node_name(g, k->src));
        printf(", ");
        trace_json_str(stdout, net_graph_node_name(g, k->dst));
        printf("], \"bandwidth_Bps\": %.17g, \"latency_s\": %.17g}", k->bw_Bps,
               (double)k->lat_ps * 1e-12);
        first = 0;
    }
    printf("], \"total_peak_bf16_flops\": %.17g, \"total_hbm_bytes\": %.17g",
           s->total_peak_bf16_flops, s->total_hbm_bytes);
    printf(", \"bisection_Bps\": %.17g, \"diameter_hops\": %d", s->bisection_Bps,
           s->diameter_hops);
    printf(", \"build_s\": %.6f, \"peak_rss_bytes\": %ld}\n", build_s, rss_kb * 1024L);
}

/* One `run` row (command 'topo') and the topology's links, in one transaction. */
static sim_code write_db(const topo *t, const char *file, const char *path, double build_s,
                         sim_status *st)
{
    db *d = NULL;
    db_run row;
    int64_t run_id = 0;
    db_run_init(&row);
    row.command = "topo";
    row.config_path = file;
    row.topology = topo_name(t);
    row.status = "ok";
    row.wall_s = build_s;
    row.chips = (int64_t)topo_chip_count(t);
    sim_code rc = db_open(path, &d, st);
    if (rc == SIM_OK)
        rc = db_begin(d, st);
    if (rc == SIM_OK)
        rc = db_run_insert(d, &row, &run_id, st);
    if (rc == SIM_OK)
        rc = db_links_write(d, run_id, t, st);
    if (rc == SIM_OK)
        rc = db_commit(d, st);
    else if (d) {
        sim_status ignored;
        db_rollback(d, &ignored);
    }
    db_close(d);
    return rc;
}

int cli_topo_main(int argc, char **argv)
{
    int json = 0;
    const char *file = NULL, *db_path = NULL;
    static const char *const valued[] = {"--db FILE", NULL};
    if (cli_check_values(argc, argv, "topo", valued, topo_usage) != 0)
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(topo_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--db")) {
            db_path = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "clustersim topo: unknown option '%s'\n%s", argv[i], topo_usage);
            return 2;
        } else if (!file) {
            file = argv[i];
        } else {
            fprintf(stderr, "clustersim topo: unexpected argument '%s'\n%s", argv[i], topo_usage);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "clustersim topo: expected TOPOLOGY.yaml\n%s", topo_usage);
        return 2;
    }
    sim_status st;
    sim_status_clear(&st);
    topo *t = NULL;
    double t0 = cli_now_s();
    if (topo_load(file, NULL, &t, &st) != SIM_OK)
        return cli_report(&st);
    double build_s = cli_now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    int rc = 0;
    if (db_path && write_db(t, file, db_path, build_s, &st) != SIM_OK) {
        rc = cli_report(&st);
    } else {
        topo_summary s;
        topo_summarize(t, &s);
        if (json)
            print_json(t, &s, build_s, ru.ru_maxrss);
        else
            print_text(t, &s, build_s, ru.ru_maxrss);
    }
    topo_destroy(t);
    return rc;
}
