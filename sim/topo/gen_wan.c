/*
 * gen_wan.c: the WAN of a multi-site topology, read in pass 1 of gen.c: links between the
 * gateways of two sites (bandwidth, latency or distance, window and streams, background
 * load), at most one per pair of sites, and the site-level routes over them, which must
 * join every site to every other.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"
#include "core/units.h"
#include "net/netsim.h"
#include "topo/gen_int.h"

#define US_PER_KM 5.0               /* light in fibre */

static const char *const wan_keys[] = {"ends",    "bandwidth", "latency",    "distance",
                                       "window",  "streams",   "background", "loss",
                                       "mss",     NULL};

/* A link that is down keeps this fraction of its capacity (the solver needs some): its
 * transfers wait, in effect, until it comes back. */
#define WAN_DOWN_FRACTION 1e-12

static sim_code load_wan_ends(topo_gen *G, ynode link, size_t ends[2], sim_status *st)
{
    topo *t = G->t;
    ynode v = ydoc_map_get(G->d, link, "ends");
    char found[96];
    if (!v)
        return ydoc_error(G->d, link, st, "missing key 'ends' in %s: expected two site names",
                          topo_gen_place(G, link));
    if (ydoc_node_kind(G->d, v) != YDOC_SEQ || ydoc_seq_len(G->d, v) != 2) {
        ydoc_describe(G->d, v, found, sizeof found);
        return ydoc_error(G->d, v, st, "key 'ends': expected a list of two site names, found %s",
                          found);
    }
    const char *names[65];
    size_t nn = t->n_sites < 64 ? t->n_sites : 64;
    for (size_t i = 0; i < nn; i++)
        names[i] = t->sites[i].name;
    names[nn] = NULL;
    for (size_t k = 0; k < 2; k++) {
        ynode item = ydoc_seq_at(G->d, v, k);
        const char *s = ydoc_scalar(G->d, item);
        size_t i = 0;
        while (s && i < t->n_sites && strcmp(t->sites[i].name, s))
            i++;
        if (!s || i == t->n_sites) {
            ydoc_describe(G->d, item, found, sizeof found);
            const char *hint = s ? ydoc_suggest(s, names) : NULL;
            char list[512];
            ydoc_join_words(names, list, sizeof list);
            if (hint)
                return ydoc_error(G->d, item, st,
                                  "key 'ends': unknown site %s (did you mean '%s'?); expected "
                                  "one of: %s", found, hint, list);
            return ydoc_error(G->d, item, st,
                              "key 'ends': unknown site %s; expected one of: %s", found, list);
        }
        ends[k] = i;
        if (k == 1 && ends[0] == ends[1])
            return ydoc_error(G->d, item, st, "key 'ends': a WAN link from site '%s' to itself",
                              s);
        if (t->sites[i].tiers == 0)
            return ydoc_error(G->d, item, st,
                              "key 'ends': site '%s' has no scale-out fabric to reach its "
                              "gateway; add a 'fabric' section to it", s);
    }
    return SIM_OK;
}

/* Appends the point (t, load) to w's schedule. */
static int push_point(topo_wan *w, int64_t t_ps, double load)
{
    return sim_vec_push(&w->bg, ((topo_bg_point){t_ps, load}));
}

/* A trace file: lines "time_s,load" after a header line, times increasing, loads from 0
 * to 1. Errors name the file and line. */
static sim_code load_trace(topo_gen *G, ynode at, const char *rel, topo_wan *w, sim_status *st)
{
    char path[4096];
    sim_path_join(ydoc_file(G->d), rel, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return ydoc_error(G->d, at, st, "key 'trace': cannot read '%s'", path);
    char line[512];
    int ln = 0;
    sim_code rc = SIM_OK;
    while (rc == SIM_OK && fgets(line, sizeof line, f)) {
        ln++;
        if (ln == 1 || line[0] == '#' || line[0] == '\n')
            continue; /* the header, comments, blank lines */
        double ts = 0, load = 0;
        char extra = 0;
        if (sscanf(line, "%lf,%lf %c", &ts, &load, &extra) != 2 || !(ts >= 0) ||
            !(load >= 0 && load <= 1))
            rc = sim_status_set(st, SIM_ERR_INPUT, path, ln, 1,
                                "expected 'time_s,load' with a time of 0 s or more and a load "
                                "from 0 to 1, found '%.*s'", (int)strcspn(line, "\r\n"), line);
        else if (w->bg.n && sim_s_to_ps(ts) <= w->bg.v[w->bg.n - 1].t_ps)
            rc = sim_status_set(st, SIM_ERR_INPUT, path, ln, 1,
                                "expected times in increasing order, found %g s after %g s", ts,
                                sim_ps_to_s(w->bg.v[w->bg.n - 1].t_ps));
        else if (push_point(w, sim_s_to_ps(ts), load) != 0)
            rc = topo_gen_nomem(G, st);
    }
    fclose(f);
    if (rc == SIM_OK && w->bg.n == 0)
        rc = ydoc_error(G->d, at, st, "key 'trace': '%s' holds no 'time_s,load' line", path);
    return rc;
}

/*
 * background: the fraction of the link other traffic takes. A number is steady (taken off
 * bw_Bps now, below 1); a list of [time, load] pairs, times increasing, or {trace: FILE.csv}
 * varies over the replay (from each time on its load; 1: the link is down, and what crosses
 * it waits).
 */
static sim_code load_background(topo_gen *G, ynode link, topo_wan *w, sim_status *st)
{
    ynode v = ydoc_map_get(G->d, link, "background");
    char found[96];
    if (!v)
        return SIM_OK;
    if (ydoc_node_kind(G->d, v) == YDOC_MAP) {
        static const char *const keys[] = {"trace", NULL};
        const char *rel = NULL;
        sim_code rc = ydoc_check_keys(G->d, v, "background", keys, st);
        if (rc == SIM_OK)
            rc = ydoc_get_str(G->d, v, "trace", 1, &rel, st);
        return rc == SIM_OK ? load_trace(G, ydoc_map_get(G->d, v, "trace"), rel, w, st) : rc;
    }
    if (ydoc_node_kind(G->d, v) == YDOC_SEQ) {
        for (size_t i = 0; i < ydoc_seq_len(G->d, v); i++) {
            ynode pt = ydoc_seq_at(G->d, v, i);
            int64_t t_ps = 0;
            double load = -1;
            char why[128];
            const char *ts = ydoc_seq_len(G->d, pt) == 2 ? ydoc_scalar(G->d, ydoc_seq_at(G->d, pt, 0)) : NULL;
            const char *ls = ydoc_seq_len(G->d, pt) == 2 ? ydoc_scalar(G->d, ydoc_seq_at(G->d, pt, 1)) : NULL;
            if (!ts || !ls || sim_units_parse_time(ts, &t_ps, why, sizeof why) != SIM_OK ||
                sim_units_parse_number(ls, &load, why, sizeof why) != SIM_OK ||
                !(load >= 0 && load <= 1)) {
                ydoc_describe(G->d, pt, found, sizeof found);
                return ydoc_error(G->d, pt, st,
                                  "key 'background': expected points [time, load] such as "
                                  "[30 s, 0.5] with a load from 0 to 1 (1: down), found %s",
                                  found);
            }
            if (w->bg.n && t_ps <= w->bg.v[w->bg.n - 1].t_ps)
                return ydoc_error(G->d, pt, st,
                                  "key 'background': expected times in increasing order, found "
                                  "'%s' after %g s", ts, sim_ps_to_s(w->bg.v[w->bg.n - 1].t_ps));
            if (push_point(w, t_ps, load) != 0)
                return topo_gen_nomem(G, st);
        }
        if (w->bg.n == 0)
            return ydoc_error(G->d, v, st, "key 'background': expected at least one point "
                              "[time, load], found an empty list");
        return SIM_OK;
    }
    double bg = 0;
    sim_code rc = ydoc_get_double(G->d, link, "background", 0, &bg, st);
    if (rc != SIM_OK)
        return rc;
    if (!(bg >= 0 && bg < 1)) {
        ydoc_describe(G->d, v, found, sizeof found);
        return ydoc_error(G->d, v, st,
                          "key 'background': expected the fraction of the link other traffic "
                          "uses, from 0 to below 1, a list of [time, load] points, or {trace: "
                          "FILE.csv}, found %s", found);
    }
    /* A steady background load takes its share of the link's capacity off the top (the
     * other traffic crosses the WAN link, not this site's gateway trunks). */
    w->bw_Bps *= 1 - bg;
    return SIM_OK;
}

/* loss and mss: the Mathis et al. cap of a TCP stream over a lossy path. */
static sim_code load_loss(topo_gen *G, ynode link, topo_wan *w, sim_status *st)
{
    w->mss_bytes = 1460;
    sim_code rc = ydoc_get_double(G->d, link, "loss", 0, &w->loss, st);
    if (rc == SIM_OK && !(w->loss >= 0 && w->loss < 1))
        return ydoc_error(G->d, ydoc_map_get(G->d, link, "loss"), st,
                          "key 'loss': expected a packet loss probability from 0 to below 1, "
                          "found %g", w->loss);
    if (rc == SIM_OK)
        rc = ydoc_get_bytes(G->d, link, "mss", 0, &w->mss_bytes, st);
    if (rc == SIM_OK && !(w->mss_bytes >= 64 && w->mss_bytes <= 65536))
        return ydoc_error(G->d, ydoc_map_get(G->d, link, "mss"), st,
                          "key 'mss': expected a segment size from 64 B to 64 KiB, found %g B",
                          w->mss_bytes);
    if (rc == SIM_OK && ydoc_map_get(G->d, link, "mss") && w->loss == 0)
        return ydoc_error(G->d, ydoc_map_get(G->d, link, "mss"), st,
                          "key 'mss': only with 'loss' (the Mathis cap), found no loss");
    return rc;
}

sim_code topo_wan_apply_background(const topo *t, net_sim *ns, sim_status *st)
{
    for (size_t i = 0; t->generated && i < t->n_wans; i++) {
        const topo_wan *w = &t->wans[i];
        for (size_t k = 0; k < w->bg.n; k++) {
            double left = 1 - w->bg.v[k].load;
            double cap = w->bw_Bps * (left > WAN_DOWN_FRACTION ? left : WAN_DOWN_FRACTION);
            for (int dir = 0; dir < 2; dir++) {
                sim_code rc = net_sim_schedule_capacity(ns, w->link + (net_link_id)dir,
                                                        w->bg.v[k].t_ps, cap, st);
                if (rc != SIM_OK)
                    return rc;
            }
        }
    }
    return SIM_OK;
}

bool topo_wan_varies(const topo *t)
{
    for (size_t i = 0; t->generated && i < t->n_wans; i++)
        if (t->wans[i].bg.n > 0)
            return true;
    return false;
}

sim_code topo_gen_load_wan(topo_gen *G, sim_status *st)
{
    topo *t = G->t;
    ynode list = ydoc_map_get(G->d, G->root, "wan");
    if (!list) {
        if (t->n_sites > 1)
            return ydoc_error(G->d, G->root, st,
                              "missing key 'wan' in the document: %zu sites need WAN links "
                              "such as {ends: [a, b], bandwidth: 10 Tb/s, latency: 20 ms}",
                              t->n_sites);
        return SIM_OK;
    }
    sim_code rc = ydoc_expect(G->d, list, YDOC_SEQ, "wan", st);
    if (rc != SIM_OK)
        return rc;
    size_t n = ydoc_seq_len(G->d, list);
    t->wans = calloc(n ? n : 1, sizeof *t->wans);
    if (!t->wans)
        return topo_gen_nomem(G, st);
    t->n_wans = n;
    for (size_t i = 0; i < n; i++) {
        ynode link = ydoc_seq_at(G->d, list, i);
        topo_wan *w = &t->wans[i];
        size_t ends[2];
        rc = ydoc_expect(G->d, link, YDOC_MAP, NULL, st);
        if (rc == SIM_OK)
            rc = ydoc_check_keys(G->d, link, topo_gen_place(G, link), wan_keys, st);
        if (rc == SIM_OK)
            rc = load_wan_ends(G, link, ends, st);
        if (rc == SIM_OK)
            rc = ydoc_get_bw(G->d, link, "bandwidth", 1, &w->bw_Bps, st);
        if (rc != SIM_OK)
            return rc;
        for (size_t j = 0; j < i; j++)
            if ((t->wans[j].a == ends[0] && t->wans[j].b == ends[1]) ||
                (t->wans[j].a == ends[1] && t->wans[j].b == ends[0]))
                return ydoc_error(G->d, ydoc_map_get(G->d, link, "ends"), st,
                                  "key 'ends': a second WAN link between '%s' and '%s' (give "
                                  "one link their summed bandwidth)",
                                  t->sites[ends[0]].name, t->sites[ends[1]].name);
        w->a = ends[0];
        w->b = ends[1];
        ynode lat = ydoc_map_get(G->d, link, "latency"), dist = ydoc_map_get(G->d, link,
                                                                             "distance");
        if (lat && dist)
            return ydoc_error(G->d, dist, st,
                              "key 'distance': give either 'latency' or 'distance' (at %g us "
                              "per km), not both", US_PER_KM);
        if (!lat && !dist)
            return ydoc_error(G->d, link, st,
                              "missing key 'latency' in %s: expected a time such as '20 ms', or "
                              "a 'distance' such as '3000 km'", topo_gen_place(G, link));
        if (lat) {
            rc = ydoc_get_time(G->d, link, "latency", 1, &w->lat_ps, st);
        } else {
            double m = 0;
            rc = ydoc_get_length(G->d, link, "distance", 1, &m, st);
            w->lat_ps = (int64_t)llround(m / 1000.0 * US_PER_KM * 1e6);
        }
        w->streams = 1;
        if (rc == SIM_OK)
            rc = ydoc_get_bytes(G->d, link, "window", 0, &w->window_bytes, st);
        if (rc == SIM_OK)
            rc = ydoc_get_int(G->d, link, "streams", 0, 1, 1 << 20, &w->streams, st);
        if (rc != SIM_OK)
            return rc;
        w->nominal_Bps = w->bw_Bps;
        rc = load_background(G, link, w, st);
        if (rc == SIM_OK)
            rc = load_loss(G, link, w, st);
        if (rc != SIM_OK)
            return rc;
        if (ydoc_map_get(G->d, link, "window") && w->window_bytes <= 0)
            return ydoc_error(G->d, ydoc_map_get(G->d, link, "window"), st,
                              "key 'window': expected a positive size such as '64 MiB', found "
                              "'%s'", ydoc_scalar(G->d, ydoc_map_get(G->d, link, "window")));
    }
    return SIM_OK;
}

/* Site-level routes over the WAN: fewest total latency, then fewest hops, then lowest
 * link index; Floyd-Warshall (sites are few). */
sim_code topo_gen_wan_routes(topo_gen *G, sim_status *st)
{
    topo *t = G->t;
    size_t n = t->n_sites;
    t->wan_next = malloc(n * n * sizeof *t->wan_next);
    double *lat = malloc(n * n * sizeof *lat);
    int *hops = malloc(n * n * sizeof *hops);
    if (!t->wan_next || !lat || !hops) {
        free(lat);
        free(hops);
        return topo_gen_nomem(G, st);
    }
    for (size_t i = 0; i < n * n; i++) {
        t->wan_next[i] = -1;
        lat[i] = INFINITY;
        hops[i] = 1 << 30;
    }
    for (size_t i = 0; i < n; i++) {
        lat[i * n + i] = 0;
        hops[i * n + i] = 0;
    }
    for (size_t k = 0; k < t->n_wans; k++) {
        const topo_wan *w = &t->wans[k];
        for (int dir = 0; dir < 2; dir++) {
            size_t a = dir ? w->b : w->a, b = dir ? w->a : w->b;
            lat[a * n + b] = (double)w->lat_ps;
            hops[a * n + b] = 1;
            t->wan_next[a * n + b] = (int32_t)(2 * k + (size_t)dir);
        }
    }
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double l = lat[i * n + k] + lat[k * n + j];
                if (i == j || i == k || isinf(l))
                    continue;
                int h = hops[i * n + k] + hops[k * n + j];
                if (l < lat[i * n + j] || (l == lat[i * n + j] && h < hops[i * n + j])) {
                    lat[i * n + j] = l;
                    hops[i * n + j] = h;
                    t->wan_next[i * n + j] = t->wan_next[i * n + k];
                }
            }
    free(lat);
    free(hops);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (i != j && t->wan_next[i * n + j] < 0)
                return ydoc_error(G->d, ydoc_map_get(G->d, G->root, "wan"), st,
                                  "key 'wan': site '%s' cannot reach site '%s' over the WAN "
                                  "links", t->sites[i].name, t->sites[j].name);
    return SIM_OK;
}
