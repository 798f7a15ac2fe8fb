/*
 * flows_sg.c: `clustersim flows` in SimGrid, for analysis/bench-simgrid.sh.
 *
 *   flows_sg PLATFORM.xml FLOWS.csv [SIMGRID OPTIONS...]
 *
 * Reads a flows CSV in clustersim's format (header id,src,dst,bytes,start_s; src and dst are
 * host names of the platform; bytes must be whole), runs every flow as one SimGrid
 * communication from src to dst that starts at start_s, and prints `id,finish_s` per flow in
 * input order on stdout, then `# sim_wall_s=S` on stderr: the wall time of simgrid_run()
 * alone (not reading the CSV, loading the platform or printing).
 *
 * The model is SimGrid's LMM max-min solver with the CM02 network model reduced to the pure
 * fluid model clustersim implements: network/model:CM02, network/crosstraffic:0,
 * network/TCP-gamma:0, network/latency-factor:0 (bandwidth factor and weight-S are 1 and 0 in
 * CM02), maxmin/precision:1e-12, and surf/precision:1e-12: at its default, 1e-9 s, SimGrid
 * completes every action due within a nanosecond of the current event at that event, which
 * moves finish times by up to 1 ns. These go before the command line's options, so a --cfg=
 * given there wins.
 *
 * Each host runs two actors: a sender that sleeps until each of its flows' start and posts a
 * detached put on the flow's own mailbox, and a receiver that posts a get on the mailbox of
 * every flow to it at time 0 and records the clock as each completes (so a flow starts when
 * its put is posted, and finishes when its bytes are through).
 * Exit status: 0; 2 on bad input (message with file:line:col).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <simgrid/actor.h>
#include <simgrid/comm.h>
#include <simgrid/engine.h>
#include <simgrid/host.h>
#include <simgrid/mailbox.h>

typedef struct flow {
    char *id;
    sg_host_t src, dst;
    long bytes;
    double start_s, finish_s;
    sg_mailbox_t mbox;
    int done;
} flow;

/* The flows one host sends (in start order) and receives. */
typedef struct host_flows {
    size_t *out, n_out;
    size_t *in, n_in;
} host_flows;

static flow *flows;
static size_t n_flows;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "flows_sg: out of memory\n");
        exit(2);
    }
    return p;
}

static void bad(const char *path, int line, int col, const char *what, const char *text)
{
    fprintf(stderr, "%s:%d:%d: %s%s%s%s\n", path, line, col, what, text ? " '" : "",
            text ? text : "", text ? "'" : "");
    exit(2);
}

/* Splits line at commas in place, trimming blanks; returns the field count (at most 6 kept). */
static int split(char *line, char *field[6], int col[6])
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        char *end = comma ? comma : p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        char *stop = end;
        while (stop > p && (stop[-1] == ' ' || stop[-1] == '\t'))
            stop--;
        *stop = '\0';
        if (n < 6) {
            field[n] = p;
            col[n] = (int)(p - line) + 1;
        }
        n++;
        if (!comma)
            return n;
        p = comma + 1;
    }
}

static void read_flows(const char *path)
{
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "flows_sg: cannot open '%s': %s\n", path, strerror(errno));
        exit(2);
    }
    char *line = NULL;
    size_t cap = 0, max = 0;
    ssize_t got;
    int lineno = 0;
    while ((got = getline(&line, &cap, in)) >= 0) {
        size_t len = (size_t)got;
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *text = line;
        if (lineno == 1 && !strncmp(text, "\xEF\xBB\xBF", 3))
            text += 3;
        char *f[6];
        int col[6];
        if (lineno == 1) {
            int n = split(text, f, col);
            if (n != 5 || strcmp(f[0], "id") || strcmp(f[1], "src") || strcmp(f[2], "dst") ||
                strcmp(f[3], "bytes") || strcmp(f[4], "start_s"))
                bad(path, 1, 1, "expected header 'id,src,dst,bytes,start_s'", NULL);
            continue;
        }
        if (strspn(text, " \t") == strlen(text))
            continue;
        if (split(text, f, col) != 5)
            bad(path, lineno, 1, "expected 5 fields", NULL);
        if (n_flows == max) {
            max = max ? 2 * max : 1024;
            flow *grown = realloc(flows, max * sizeof *flows);
            if (!grown) {
                fprintf(stderr, "flows_sg: out of memory\n");
                exit(2);
            }
            flows = grown;
        }
        flow *fl = &flows[n_flows];
        memset(fl, 0, sizeof *fl);
        fl->id = xmalloc(strlen(f[0]) + 1);
        strcpy(fl->id, f[0]);
        if (!(fl->src = sg_host_by_name(f[1])))
            bad(path, lineno, col[1], "field 'src': unknown host", f[1]);
        if (!(fl->dst = sg_host_by_name(f[2])))
            bad(path, lineno, col[2], "field 'dst': unknown host", f[2]);
        char *end;
        errno = 0;
        double bytes = strtod(f[3], &end);
        if (*end || errno || !(bytes >= 0) || bytes != floor(bytes) || bytes > 9.0e18)
            bad(path, lineno, col[3], "field 'bytes': expected a whole number >= 0, found", f[3]);
        fl->bytes = (long)bytes;
        fl->start_s = strtod(f[4], &end);
        if (*end || errno || !(fl->start_s >= 0) || !isfinite(fl->start_s))
            bad(path, lineno, col[4], "field 'start_s': expected a number >= 0, found", f[4]);
        char name[32];
        snprintf(name, sizeof name, "flow%zu", n_flows);
        fl->mbox = sg_mailbox_by_name(name);
        n_flows++;
    }
    free(line);
    fclose(in);
    if (lineno == 0)
        bad(path, 1, 1, "empty file: expected header 'id,src,dst,bytes,start_s'", NULL);
}

static int by_start(const void *a, const void *b)
{
    const flow *fa = &flows[*(const size_t *)a], *fb = &flows[*(const size_t *)b];
    if (fa->start_s != fb->start_s)
        return fa->start_s < fb->start_s ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static void sender(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const host_flows *hf = sg_actor_self_get_data();
    for (size_t i = 0; i < hf->n_out; i++) {
        flow *f = &flows[hf->out[i]];
        if (f->start_s > simgrid_get_clock())
            sg_actor_sleep_until(f->start_s);
        sg_comm_detach(sg_mailbox_put_init(f->mbox, f, f->bytes), NULL); /* starts it */
    }
}

static void receiver(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const host_flows *hf = sg_actor_self_get_data();
    size_t n = hf->n_in;
    sg_comm_t *comms = xmalloc(n * sizeof *comms);
    size_t *which = xmalloc(n * sizeof *which);
    void **payload = xmalloc(n * sizeof *payload);
    for (size_t i = 0; i < n; i++) {
        which[i] = hf->in[i];
        comms[i] = sg_mailbox_get_async(flows[which[i]].mbox, &payload[i]);
    }
    while (n > 0) {
        ssize_t k = sg_comm_wait_any(comms, n);
        if (k < 0) {
            fprintf(stderr, "flows_sg: sg_comm_wait_any failed\n");
            exit(1);
        }
        flows[which[k]].finish_s = simgrid_get_clock();
        flows[which[k]].done = 1;
        n--;
        comms[k] = comms[n];
        which[k] = which[n];
    }
    free(comms);
    free(which);
    free(payload);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    static const char *const defaults[] = {
        "--cfg=network/model:CM02",       "--cfg=network/crosstraffic:0",
        "--cfg=network/TCP-gamma:0",      "--cfg=network/latency-factor:0",
        "--cfg=maxmin/precision:1e-12",   "--cfg=surf/precision:1e-12",
        "--log=xbt_cfg.thres:warning",
    };
    enum { N_DEFAULTS = sizeof defaults / sizeof defaults[0] };
    if (argc < 3 || argv[1][0] == '-' || argv[2][0] == '-') {
        fprintf(stderr, "usage: flows_sg PLATFORM.xml FLOWS.csv [--cfg=KEY:VALUE...]\n");
        return 2;
    }
    /* argv[0], the defaults, then the caller's SimGrid options (later ones win). */
    int sg_argc = 1 + N_DEFAULTS + (argc - 3);
    char **sg_argv = xmalloc((size_t)(sg_argc + 1) * sizeof *sg_argv);
    sg_argv[0] = argv[0];
    for (int i = 0; i < N_DEFAULTS; i++)
        sg_argv[1 + i] = (char *)defaults[i];
    for (int i = 3; i < argc; i++)
        sg_argv[1 + N_DEFAULTS + i - 3] = argv[i];
    sg_argv[sg_argc] = NULL;
    simgrid_init(&sg_argc, sg_argv);
    if (sg_argc != 1) {
        fprintf(stderr, "flows_sg: unexpected argument '%s'\n", sg_argv[1]);
        return 2;
    }
    simgrid_load_platform(argv[1]);
    read_flows(argv[2]);

    size_t n_hosts = sg_host_count();
    sg_host_t *hosts = sg_host_list();
    host_flows *hf = xmalloc(n_hosts * sizeof *hf);
    for (size_t h = 0; h < n_hosts; h++) {
        hf[h] = (host_flows){0};
        sg_host_set_data(hosts[h], &hf[h]);
    }
    for (size_t i = 0; i < n_flows; i++) {
        ((host_flows *)sg_host_get_data(flows[i].src))->n_out++;
        ((host_flows *)sg_host_get_data(flows[i].dst))->n_in++;
    }
    for (size_t h = 0; h < n_hosts; h++) {
        hf[h].out = xmalloc(hf[h].n_out * sizeof *hf[h].out);
        hf[h].in = xmalloc(hf[h].n_in * sizeof *hf[h].in);
        hf[h].n_out = hf[h].n_in = 0;
    }
    for (size_t i = 0; i < n_flows; i++) {
        host_flows *s = sg_host_get_data(flows[i].src), *d = sg_host_get_data(flows[i].dst);
        s->out[s->n_out++] = i;
        d->in[d->n_in++] = i;
    }
    for (size_t h = 0; h < n_hosts; h++) {
        qsort(hf[h].out, hf[h].n_out, sizeof *hf[h].out, by_start);
        char name[64];
        if (hf[h].n_out) {
            snprintf(name, sizeof name, "send-%s", sg_host_get_name(hosts[h]));
            sg_actor_t a = sg_actor_init(name, hosts[h]);
            sg_actor_set_data(a, &hf[h]);
            sg_actor_start(a, sender, 0, NULL);
        }
        if (hf[h].n_in) {
            snprintf(name, sizeof name, "recv-%s", sg_host_get_name(hosts[h]));
            sg_actor_t a = sg_actor_init(name, hosts[h]);
            sg_actor_set_data(a, &hf[h]);
            sg_actor_start(a, receiver, 0, NULL);
        }
    }

    double t0 = now_s();
    simgrid_run();
    double wall = now_s() - t0;

    printf("id,finish_s\n");
    for (size_t i = 0; i < n_flows; i++) {
        if (!flows[i].done) {
            fprintf(stderr, "flows_sg: flow '%s' never finished\n", flows[i].id);
            return 1;
        }
        printf("%s,%.17g\n", flows[i].id, flows[i].finish_s);
    }
    fprintf(stderr, "# sim_wall_s=%.3f flows=%zu\n", wall, n_flows);
    for (size_t h = 0; h < n_hosts; h++) {
        free(hf[h].out);
        free(hf[h].in);
    }
    free(hf);
    free(hosts);
    for (size_t i = 0; i < n_flows; i++)
        free(flows[i].id);
    free(flows);
    free(sg_argv);
    return 0;
}
