/*
 * bench_gen.c: writes the inputs of analysis/bench-simgrid.sh for one case: the same network
 * as a clustersim explicit-graph topology (PREFIX.yaml) and as a SimGrid platform
 * (PREFIX.xml), and the flows (PREFIX.csv, clustersim's flows CSV).
 *
 *   bench_gen alltoall PREFIX
 *       128 endpoints, each with a 400 Gb/s full-duplex cable to one switch; every ordered
 *       pair of distinct endpoints is one flow (16,256 flows), all starting at 0, sizes
 *       uniform in [50, 150] MB (integral bytes).
 *   bench_gen tree FLOWS RATE PREFIX
 *       the tree of `clustersim bench tree`: 1,024 endpoints, 64 leaves of 16, 8
 *       aggregation switches, one core, 100 Gb/s host cables, 400 Gb/s leaf uplinks, 800 Gb/s
 *       aggregation uplinks (4:1 at each tier). FLOWS flows between uniform random distinct
 *       endpoints arrive as a Poisson process of RATE flows per second; sizes are log-normal
 *       with mean 1 MB (sigma 1, as in `bench tree`), integral bytes >= 1. Start times are
 *       whole picoseconds, so both simulators start every flow at the same instant.
 *
 * Every cable has latency 0: SimGrid runs with network/latency-factor 0, and clustersim then
 * gives the same times. Each cable is two directed links in both files (SimGrid: one link per
 * direction, routed with DijkstraCache over hosts and routers; clustersim: one `links` entry,
 * which is full duplex). The random numbers come from SplitMix64 with fixed seeds, so the
 * files are the same on every machine (the log-normal sizes up to libm's last bit).
 * Exit status: 0, or 2 on bad arguments or an unwritable file.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cable {
    int a, b;        /* node indices */
    const char *bw;  /* bandwidth in Gb/s, as text */
} cable;

typedef struct net {
    int n_hosts, n_switches;
    char (*names)[16]; /* hosts first, then switches */
    cable *cables;
    int n_cables;
} net;

static uint64_t rng_state;

static uint64_t splitmix64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double uniform01(void)
{
    return (double)(splitmix64() >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n). */
static uint64_t below(uint64_t n)
{
    return (uint64_t)(uniform01() * (double)n);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "bench_gen: out of memory\n");
        exit(2);
    }
    return p;
}

static FILE *open_out(const char *prefix, const char *ext)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.%s", prefix, ext);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_gen: cannot write '%s': %s\n", path, strerror(errno));
        exit(2);
    }
    return f;
}

static void close_out(FILE *f)
{
    if (ferror(f) || fclose(f) != 0) {
        fprintf(stderr, "bench_gen: write error\n");
        exit(2);
    }
}

static void net_init(net *n, int hosts, int switches, int cables)
{
    n->n_hosts = hosts;
    n->n_switches = switches;
    n->names = xcalloc((size_t)(hosts + switches), sizeof *n->names);
    n->cables = xcalloc((size_t)cables, sizeof *n->cables);
    n->n_cables = 0;
    for (int i = 0; i < hosts; i++)
        snprintf(n->names[i], sizeof n->names[i], "h%d", i);
}

static void add_cable(net *n, int a, int b, const char *bw)
{
    n->cables[n->n_cables++] = (cable){a, b, bw};
}

static void write_yaml(const net *n, const char *name, const char *prefix)
{
    FILE *f = open_out(prefix, "yaml");
    fprintf(f, "# Written by analysis/simgrid/bench_gen.c (analysis/bench-simgrid.sh); latency 0 as\n"
               "# SimGrid runs with network/latency-factor 0.\n"
               "name: %s\ngraph:\n  endpoints: [",
            name);
    for (int i = 0; i < n->n_hosts; i++)
        fprintf(f, "%s%s", i ? ", " : "", n->names[i]);
    fprintf(f, "]\n  switches: [");
    for (int i = 0; i < n->n_switches; i++)
        fprintf(f, "%s%s", i ? ", " : "", n->names[n->n_hosts + i]);
    fprintf(f, "]\n  links:\n");
    for (int i = 0; i < n->n_cables; i++)
        fprintf(f, "    - {ends: [%s, %s], bandwidth: %s Gb/s, latency: 0 s}\n",
                n->names[n->cables[i].a], n->names[n->cables[i].b], n->cables[i].bw);
    close_out(f);
}

static void write_xml(const net *n, const char *prefix)
{
    FILE *f = open_out(prefix, "xml");
    fprintf(f, "<?xml version='1.0'?>\n"
               "<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
               "<!-- Written by analysis/simgrid/bench_gen.c (analysis/bench-simgrid.sh). -->\n"
               "<platform version=\"4.1\">\n<zone id=\"net\" routing=\"DijkstraCache\">\n");
    for (int i = 0; i < n->n_hosts; i++)
        fprintf(f, "  <host id=\"%s\" speed=\"1Gf\"/>\n", n->names[i]);
    for (int i = 0; i < n->n_switches; i++)
        fprintf(f, "  <router id=\"%s\"/>\n", n->names[n->n_hosts + i]);
    for (int i = 0; i < n->n_cables; i++) {
        const cable *c = &n->cables[i];
        fprintf(f, "  <link id=\"%s-%s\" bandwidth=\"%sGbps\" latency=\"0s\"/>\n",
                n->names[c->a], n->names[c->b], c->bw);
        fprintf(f, "  <link id=\"%s-%s\" bandwidth=\"%sGbps\" latency=\"0s\"/>\n",
                n->names[c->b], n->names[c->a], c->bw);
    }
    for (int i = 0; i < n->n_cables; i++) {
        const char *a = n->names[n->cables[i].a], *b = n->names[n->cables[i].b];
        fprintf(f, "  <route src=\"%s\" dst=\"%s\" symmetrical=\"NO\"><link_ctn id=\"%s-%s\"/></route>\n",
                a, b, a, b);
        fprintf(f, "  <route src=\"%s\" dst=\"%s\" symmetrical=\"NO\"><link_ctn id=\"%s-%s\"/></route>\n",
                b, a, b, a);
    }
    fprintf(f, "</zone>\n</platform>\n");
    close_out(f);
}

static void alltoall(const char *prefix)
{
    enum { HOSTS = 128 };
    net n;
    net_init(&n, HOSTS, 1, HOSTS);
    snprintf(n.names[HOSTS], sizeof n.names[HOSTS], "sw");
    for (int i = 0; i < HOSTS; i++)
        add_cable(&n, i, HOSTS, "400");
    write_yaml(&n, "bench-simgrid-alltoall", prefix);
    write_xml(&n, prefix);
    rng_state = 18;
    FILE *f = open_out(prefix, "csv");
    fprintf(f, "id,src,dst,bytes,start_s\n");
    for (int s = 0; s < HOSTS; s++)
        for (int d = 0; d < HOSTS; d++)
            if (d != s)
                fprintf(f, "f%d-%d,h%d,h%d,%llu,0\n", s, d, s, d,
                        (unsigned long long)(50000000 + below(100000001)));
    close_out(f);
}

static void tree(long flows, double rate, const char *prefix)
{
    enum { HOSTS = 1024, PER_LEAF = 16, LEAVES = 64, AGGS = 8 };
    net n;
    net_init(&n, HOSTS, LEAVES + AGGS + 1, HOSTS + LEAVES + AGGS);
    for (int i = 0; i < LEAVES; i++)
        snprintf(n.names[HOSTS + i], sizeof n.names[0], "leaf%d", i);
    for (int i = 0; i < AGGS; i++)
        snprintf(n.names[HOSTS + LEAVES + i], sizeof n.names[0], "agg%d", i);
    snprintf(n.names[HOSTS + LEAVES + AGGS], sizeof n.names[0], "core");
    for (int i = 0; i < HOSTS; i++)
        add_cable(&n, i, HOSTS + i / PER_LEAF, "100");
    for (int i = 0; i < LEAVES; i++)
        add_cable(&n, HOSTS + i, HOSTS + LEAVES + i / (LEAVES / AGGS), "400");
    for (int i = 0; i < AGGS; i++)
        add_cable(&n, HOSTS + LEAVES + i, HOSTS + LEAVES + AGGS, "800");
    write_yaml(&n, "bench-simgrid-tree", prefix);
    write_xml(&n, prefix);
    rng_state = 1018;
    const double mean_log = log(1e6) - 0.5, sigma_log = 1.0;
    FILE *f = open_out(prefix, "csv");
    fprintf(f, "id,src,dst,bytes,start_s\n");
    double t = 0;
    for (long i = 0; i < flows; i++) {
        int s = (int)below(HOSTS), d = (int)below(HOSTS - 1);
        if (d >= s)
            d++;
        double u1 = 1.0 - uniform01(), u2 = uniform01();
        double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
        double bytes = floor(exp(mean_log + sigma_log * z) + 0.5);
        long long ps = (long long)floor(t * 1e12 + 0.5);
        fprintf(f, "t%ld,h%d,h%d,%.0f,%lld.%012lld\n", i, s, d, bytes < 1 ? 1 : bytes,
                ps / 1000000000000ll, ps % 1000000000000ll);
        t += -log(1.0 - uniform01()) / rate;
    }
    close_out(f);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "alltoall")) {
        alltoall(argv[2]);
        return 0;
    }
    if (argc == 5 && !strcmp(argv[1], "tree")) {
        char *end1, *end2;
        long flows = strtol(argv[2], &end1, 10);
        double rate = strtod(argv[3], &end2);
        if (*end1 || *end2 || flows < 1 || !(rate > 0)) {
            fprintf(stderr, "bench_gen: tree expects FLOWS >= 1 and RATE > 0\n");
            return 2;
        }
        tree(flows, rate, argv[4]);
        return 0;
    }
    fprintf(stderr, "usage: bench_gen alltoall PREFIX\n"
                    "       bench_gen tree FLOWS RATE_PER_S PREFIX\n");
    return 2;
}
