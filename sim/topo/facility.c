/*
 * facility.c: the site around a topology's graph (issue 17): what hosts, NICs, fabric
 * switches and transceivers draw, the facility's overhead (PUE) and power cap (the `power`
 * section), and the prices of the parts and of electricity (the `cost` section). Both are
 * top-level sections of either topology form, read after the chips are known.
 *
 * Power defaults: an HGX/DGX H100 node on an NDR InfiniBand fabric, the cluster the shipped
 * 16k-GPU configs model. Each is cited, or said to be an assumption:
 *   host 2.6 kW   An 8-GPU H100 HGX node peaked at about 8.4 kW while training Llama 2 13B
 *                 with its GPUs near full utilization (Latif et al. 2024, "Empirical
 *                 Measurements of AI Training Power Demand on a GPU-Accelerated Node",
 *                 arXiv 2412.08602; IEEE Access 13, 2025), 18% below the 10.2 kW rating.
 *                 Less its eight GPUs at their 700 W limit and eight NICs at 25 W: 8.4 -
 *                 5.6 - 0.2 = 2.6 kW for CPUs, memory, NVSwitches, fans and power supply
 *                 losses. Derived, and an upper figure: the GPUs may have drawn less than
 *                 700 W at the node's peak.
 *   nic 25 W      One 400 Gb/s ConnectX-7 adapter: an assumption (PCIe NICs of this class
 *                 are budgeted at 20-30 W; the transceiver in its cage is counted apart).
 *   switch 750 W  One 64-port 400 Gb/s switch (QM9700, a 51.2 Tb/s ASIC) without its
 *                 transceivers: an assumption, inside the 700-900 W that switch estimators
 *                 give a 51.2 Tb/s chassis (pingdo.net, "Optical Power & Thermal
 *                 Simulator"); NVIDIA's datasheet figure was not at hand.
 *   optic 8.5 W   One 400G port's transceiver end: the QM97xx switches take "Class 8 (17W)"
 *                 twin-port OSFP transceivers, two 400G ports each (NVIDIA, QM97XX 1U NDR
 *                 InfiniBand Switch Systems User Manual, Interfaces), so 8.5 W a port at
 *                 most; a cable has an end at each side, and every fabric cable is counted
 *                 optical (SuperPOD leaves and spines sit in other racks than the nodes).
 *   pue 1.2       Google's fleet ran at 1.10 (Q2 2021, as CNBC reported it in 2022); Uptime
 *                 Institute's surveys put the industry average at 1.55-1.59 since 2020 (1.58
 *                 in 2023) but new large facilities at 1.3 or better (2024 survey). 1.2 sits
 *                 between a hyperscaler's and a new colocation site's.
 *   cap           none.
 * Clocks under a cap: the cap must hold the site at its peak, every chip of the topology
 * computing (its training draw) with every other part on; where the full clock does not fit
 * and every chip file has a clocks curve (hw/chip.h), the chips run at the highest clock
 * fraction that fits, found exactly on the piecewise-linear curves. A lower SM clock slows
 * what the SMs compute by the clock ratio: the chips' GEMM and attention efficiencies (the
 * fractions of the nominal peak that compute-bound ops reach, so MFU stays against the
 * nominal peak) are scaled by it. Memory-bound ops keep their time: HBM runs on its own
 * clock, which power capping and SM clock locking leave alone (nvidia-smi sets graphics and
 * memory clocks apart), an approximation that holds while the SMs can still keep HBM busy.
 * Cost defaults: none but the depreciation period, 5 years: Amazon depreciates servers over
 * 5 years (from 2025, down from 6), Oracle 5 (from 2023), Meta 5.5 (from 2025), Microsoft and
 * Google 6 (from 2022-2023), as their filings report (news of January-February 2025).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topo/topo_int.h"

#define DEF_HOST_W 2600.0
#define DEF_NIC_W 25.0
#define DEF_SWITCH_W 750.0
#define DEF_OPTIC_W 8.5
#define DEF_PUE 1.2
#define DEF_DEPRECIATION_S (5.0 * 365.0 * 86400.0)

#define PUE_MIN 1.0
#define PUE_MAX 3.0

static const char *const power_keys[] = {"host", "nic", "switch", "optic", "pue", "cap", NULL};
static const char *const cost_keys[] = {"chip",   "host",         "nic",         "switch",
                                        "optic",  "depreciation", "electricity", NULL};

/* The distinct chip types of t (names borrowed from t), at most cap; returns the count. */
static size_t chip_types(const topo *t, const char **names, size_t cap)
{
    size_t n = 0;
    if (!t->generated) {
        if (t->explicit_chip && cap)
            names[n++] = t->explicit_chip->name;
        return n;
    }
    for (size_t i = 0; i < t->n_sites; i++) {
        const char *c = t->sites[i].chip.name;
        size_t k = 0;
        while (k < n && strcmp(names[k], c) != 0)
            k++;
        if (k == n && n < cap)
            names[n++] = c;
    }
    return n;
}

static sim_code read_power(const ydoc *d, ynode root, topo_power *pw, sim_status *st)
{
    ynode sec = 0;
    sim_code rc = ydoc_get_section(d, root, "power", 0, power_keys, &sec, st);
    if (rc != SIM_OK || !sec)
        return rc;
    rc = ydoc_get_power(d, sec, "host", 0, &pw->host_W, st);
    if (rc == SIM_OK)
        rc = ydoc_get_power(d, sec, "nic", 0, &pw->nic_W, st);
    if (rc == SIM_OK)
        rc = ydoc_get_power(d, sec, "switch", 0, &pw->switch_W, st);
    if (rc == SIM_OK)
        rc = ydoc_get_power(d, sec, "optic", 0, &pw->optic_W, st);
    if (rc == SIM_OK)
        rc = ydoc_get_double(d, sec, "pue", 0, &pw->pue, st);
    if (rc == SIM_OK && !(pw->pue >= PUE_MIN && pw->pue <= PUE_MAX)) {
        char found[96];
        ynode v = ydoc_map_get(d, sec, "pue");
        ydoc_describe(d, v, found, sizeof found);
        rc = ydoc_error(d, v, st,
                        "key 'pue': expected a number from %g to %g (facility power over IT "
                        "power), found %s", PUE_MIN, PUE_MAX, found);
    }
    if (rc == SIM_OK && ydoc_map_get(d, sec, "cap")) {
        rc = ydoc_get_power(d, sec, "cap", 0, &pw->cap_W, st);
        if (rc == SIM_OK && !(pw->cap_W > 0)) {
            char found[96];
            ynode v = ydoc_map_get(d, sec, "cap");
            ydoc_describe(d, v, found, sizeof found);
            rc = ydoc_error(d, v, st, "key 'cap': expected a power > 0, found %s", found);
        }
    }
    return rc;
}

/* cost.chip written as a mapping of chip types to prices. */
static sim_code read_chip_prices(const topo *t, const ydoc *d, ynode map, topo_cost *c,
                                 sim_status *st)
{
    const char *types[TOPO_CHIP_PRICES_MAX + 1];
    size_t nt = chip_types(t, types, TOPO_CHIP_PRICES_MAX);
    types[nt] = NULL;
    char list[256];
    ydoc_join_words(types, list, sizeof list);
    size_t n = ydoc_map_len(d, map);
    for (size_t i = 0; i < n; i++) {
        ynode k = ydoc_map_key_at(d, map, i);
        const char *name = ydoc_scalar(d, k);
        size_t j = 0;
        while (j < nt && strcmp(types[j], name ? name : "") != 0)
            j++;
        if (j == nt) {
            const char *near = name ? ydoc_suggest(name, types) : NULL;
            char hint[96] = "";
            if (near)
                snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
            return ydoc_error(d, k, st,
                              "key '%s': no chip of that type in the topology%s; expected "
                              "one of: %s", name ? name : "?", hint, nt ? list : "(none)");
        }
        topo_chip_price *pr = &c->chip_prices[c->n_chip_prices];
        snprintf(pr->chip, sizeof pr->chip, "%s", name);
        sim_code rc = ydoc_get_money(d, map, name, 1, &pr->usd, st);
        if (rc != SIM_OK)
            return rc;
        c->n_chip_prices++;
    }
    for (size_t j = 0; j < nt; j++)
        if (!ydoc_map_get(d, map, types[j]))
            return ydoc_error(d, map, st,
                              "key 'chip': no price for chip type '%s'; expected a price for "
                              "each of: %s", types[j], list);
    return SIM_OK;
}

static sim_code read_cost(const topo *t, const ydoc *d, ynode root, topo_cost *c,
                          sim_status *st)
{
    ynode sec = 0;
    sim_code rc = ydoc_get_section(d, root, "cost", 0, cost_keys, &sec, st);
    if (rc != SIM_OK || !sec)
        return rc;
    c->present = true;
    ynode chip = ydoc_map_get(d, sec, "chip");
    if (chip && ydoc_node_kind(d, chip) == YDOC_MAP)
        rc = read_chip_prices(t, d, chip, c, st);
    else
        rc = ydoc_get_money(d, sec, "chip", 0, &c->chip_usd, st);
    if (rc == SIM_OK)
        rc = ydoc_get_money(d, sec, "host", 0, &c->host_usd, st);
    if (rc == SIM_OK)
        rc = ydoc_get_money(d, sec, "nic", 0, &c->nic_usd, st);
    if (rc == SIM_OK)
        rc = ydoc_get_money(d, sec, "switch", 0, &c->switch_usd, st);
    if (rc == SIM_OK)
        rc = ydoc_get_money(d, sec, "optic", 0, &c->optic_usd, st);
    if (rc == SIM_OK)
        rc = ydoc_get_duration(d, sec, "depreciation", 0, &c->depreciation_s, st);
    if (rc == SIM_OK)
        rc = ydoc_get_energy_price(d, sec, "electricity", 0, &c->energy_usd_per_J, st);
    return rc;
}

enum { PART_NIC = 1, PART_LEAF = 2, PART_SPINE = 4, PART_CORE = 8 };

/* Marks the upper ends of the upward links of kind from nodes of role `from` (every NIC
 * link from an endpoint when from is 0) with role `to`, counting the newly marked nodes in
 * *nodes and the links' cables in *cables; also counts the distinct lower ends in *lower
 * (NULL: not counted) under role lower_role. */
static void count_tier(const topo *t, uint8_t *role, net_link_kind kind, uint8_t from,
                       uint8_t to, int64_t *nodes, int64_t *cables, int64_t *lower,
                       uint8_t lower_role)
{
    const net_graph *g = t->graph;
    size_t nl = net_graph_link_count(g);
    for (size_t l = 0; l < nl; l++) {
        const net_link *k = net_graph_link(g, (net_link_id)l);
        if (k->kind != kind)
            continue;
        if (from ? !(role[k->src] & from)
                 : net_graph_node_kind(g, k->src) != NET_NODE_ENDPOINT)
            continue;
        if (lower && !(role[k->src] & lower_role)) {
            role[k->src] |= lower_role;
            (*lower)++;
        }
        *cables += topo_link_cables(t, (net_link_id)l);
        if (!(role[k->dst] & to)) {
            role[k->dst] |= to;
            (*nodes)++;
        }
    }
}

/* The IT draw of every part of t but its chips: hosts, NICs, fabric switches and two
 * transceivers per fabric cable, counted as rel_fleet_count counts a job of every chip
 * (gateways and WAN links aside). */
static sim_code others_W(const topo *t, const topo_power *pw, double *out, sim_status *st)
{
    size_t nn = net_graph_node_count(t->graph);
    uint8_t *role = calloc(nn ? nn : 1, 1);
    if (!role)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0,
                              "out of memory counting a site's parts for its power cap");
    int64_t nics = 0, leaves = 0, spines = 0, cores = 0, cables = 0;
    count_tier(t, role, NET_LINK_NIC, 0, PART_LEAF, &leaves, &cables, &nics, PART_NIC);
    count_tier(t, role, NET_LINK_LEAF_SPINE, PART_LEAF, PART_SPINE, &spines, &cables, NULL, 0);
    count_tier(t, role, NET_LINK_SPINE_CORE, PART_SPINE, PART_CORE, &cores, &cables, NULL, 0);
    free(role);
    *out = (double)topo_host_count(t) * pw->host_W + (double)nics * pw->nic_W +
           (double)(leaves + spines + cores) * pw->switch_W + 2.0 * (double)cables * pw->optic_W;
    return SIM_OK;
}

/* The chips' hw_chip values: every site's, or the explicit graph's (NULL when none). */
static size_t chip_models(topo *t, hw_chip **c, size_t *count, size_t cap)
{
    size_t n = 0;
    if (!t->generated) {
        if (t->explicit_chip && cap) {
            c[0] = t->explicit_chip;
            count[0] = t->n_chips;
            n = 1;
        }
        return n;
    }
    for (size_t i = 0; i < t->n_sites && n < cap; i++) {
        c[n] = &t->sites[i].chip;
        count[n++] = t->sites[i].chips;
    }
    return n;
}

#define CLOCK_SITES_MAX 64

/* The facility draw with every chip computing at clock f, the other parts drawing others. */
static double site_draw(hw_chip *const *c, const size_t *count, size_t n, double others,
                        double pue, double f)
{
    double W = others;
    for (size_t i = 0; i < n; i++)
        W += (double)count[i] * hw_power_train_at(&c[i]->power, f);
    return W * pue;
}

/* Sets pw's clock under its cap (file comment) and slows the chips to it. */
static sim_code apply_cap(topo *t, topo_power *pw, sim_status *st)
{
    pw->clock = 1;
    hw_chip *c[CLOCK_SITES_MAX];
    size_t count[CLOCK_SITES_MAX];
    size_t n = chip_models(t, c, count, CLOCK_SITES_MAX);
    if (!(pw->cap_W > 0) || n == 0)
        return SIM_OK;
    bool curves = true;
    double f_min = 0;
    for (size_t i = 0; i < n; i++) {
        if (!c[i]->power.present)
            return SIM_OK; /* no power figures: power.c says so */
        const hw_power *w = &c[i]->power;
        curves = curves && w->n_clocks > 0;
        if (w->n_clocks > 0 && w->clock[w->n_clocks - 1] > f_min)
            f_min = w->clock[w->n_clocks - 1];
    }
    double others = 0;
    sim_code rc = others_W(t, pw, &others, st);
    if (rc != SIM_OK)
        return rc;
    pw->site_train_full_W = site_draw(c, count, n, others, pw->pue, 1);
    pw->site_train_W = pw->site_train_full_W;
    if (pw->site_train_full_W <= pw->cap_W || !curves)
        return SIM_OK;
    /* Walk the curves' points down from the full clock: the draw is linear between two
     * consecutive points of their union. */
    double hi = 1, hi_W = pw->site_train_full_W, f = f_min;
    for (;;) {
        double lo = f_min;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < c[i]->power.n_clocks; j++) {
                double x = c[i]->power.clock[j];
                if (x < hi && x > lo)
                    lo = x;
            }
        double lo_W = site_draw(c, count, n, others, pw->pue, lo);
        if (lo_W <= pw->cap_W) {
            f = lo + (hi - lo) * (pw->cap_W - lo_W) / (hi_W - lo_W);
            break;
        }
        if (lo <= f_min) {
            pw->clock_floor = true;
            break;
        }
        hi = lo;
        hi_W = lo_W;
    }
    pw->clock = f;
    pw->site_train_W = site_draw(c, count, n, others, pw->pue, f);
    for (size_t i = 0; i < n; i++) {
        hw_chip *k = c[i];
        k->eff_gemm *= f;
        k->eff_attention *= f;
        k->power.train_W = hw_power_train_at(&k->power, f);
        if (k->power.comm_W > k->power.train_W)
            k->power.comm_W = k->power.train_W;
    }
    return SIM_OK;
}

sim_code topo_facility_load(topo *t, const struct ydoc *d, sim_status *st)
{
    topo_power pw = {DEF_HOST_W, DEF_NIC_W, DEF_SWITCH_W, DEF_OPTIC_W, DEF_PUE, 0.0,
                     1.0, false, 0.0, 0.0};
    topo_cost c;
    memset(&c, 0, sizeof c);
    c.depreciation_s = DEF_DEPRECIATION_S;
    ynode root = ydoc_root(d);
    sim_code rc = read_power(d, root, &pw, st);
    if (rc == SIM_OK)
        rc = read_cost(t, d, root, &c, st);
    if (rc == SIM_OK)
        rc = apply_cap(t, &pw, st);
    if (rc != SIM_OK)
        return rc;
    t->power = pw;
    t->cost = c;
    return SIM_OK;
}

const topo_power *topo_power_of(const topo *t)
{
    return &t->power;
}

const topo_cost *topo_cost_of(const topo *t)
{
    return &t->cost;
}

double topo_cost_chip_usd(const topo_cost *c, const char *chip_name)
{
    if (!c->n_chip_prices)
        return c->chip_usd;
    for (size_t i = 0; i < c->n_chip_prices; i++)
        if (chip_name && strcmp(c->chip_prices[i].chip, chip_name) == 0)
            return c->chip_prices[i].usd;
    return 0.0; /* unreachable for a loaded topology: every type is priced */
}
