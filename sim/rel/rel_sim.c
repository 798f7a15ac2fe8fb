/*
 * rel_sim.c: one training run under failures (see rel.h), and the closed forms.
 *
 * The run is a small discrete-event loop over one state: the phase (training, a blocking
 * checkpoint, waiting for the previous asynchronous checkpoint's write, down after a
 * failure), the work done w and the work of the last usable checkpoint w_ok (both in
 * seconds of steps at full speed), each class's next failure, the degradations in force
 * and, for an asynchronous checkpoint, its write in the background. Each pass moves time to
 * the earliest of: the phase's end, the next failure, a degradation's repair, the
 * background write's end. Training at a slowdown g turns dt of wall time into dt / g of
 * work; the rest (dt - dt / g) is charged to the degradations in force, in equal shares.
 *
 * Every wall second lands in exactly one bucket: training kept (work), training thrown
 * away (lost, by the class that threw it), checkpoints, drain waits, down time (by the
 * class whose failure the job is recovering from: a failure while down starts a recovery
 * of its own; a stall's pause, by the stalling class), and slow time (by class). A stall
 * that strikes during a checkpoint or a recovery pauses training when that phase ends. So
 * wall = work + ckpt + drain wait + sum(lost + down + slow), which the tests check.
 *
 * Random streams (core/rng.h), all from the seed: stream 0 draws the failure times (class
 * by class, in order), stream 1 the repair times. A class's failures: exponential, the
 * next one Exp(mean / count) after the last; Weibull of shape k and scale
 * lambda = mean / Gamma(1 + 1/k), the fleet's cumulative hazard count (t / lambda)^k grows
 * by Exp(1) between failures, so t = lambda (H / count)^(1/k).
 */
#include "rel/rel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

enum phase { P_TRAIN, P_BLOCK, P_WAIT_DRAIN, P_DOWN };

/* A degradation in force: until end_s, steps take (1 + slowdown) x as long. */
typedef struct degr {
    double end_s, slowdown;
    int32_t cls;
} degr;

/* Nodes out for repair (spares in use) until back_s. */
typedef struct outage {
    double back_s;
    int64_t nodes;
} outage;

typedef struct sim {
    const rel_job *j;
    const rel_class *c;
    size_t n;
    rel_run *out;
    sim_rng *fail_rng, *repair_rng;
    double *next_s; /* [n]: each class's next failure */
    double *hazard; /* [n]: Weibull classes' cumulative hazard so far */
    degr *deg;
    size_t n_deg, cap_deg;
    outage *outs;
    size_t n_out, cap_out;
    size_t cap_log;
    int keep_log;
} sim;

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need)
        c *= 2;
    void *p = realloc(*v, c * size);
    if (!p)
        return -1;
    *v = p;
    *cap = c;
    return 0;
}

/* Class i's next failure after its last (at last_s). */
static void draw_next(sim *s, size_t i, double last_s)
{
    const rel_class *c = &s->c[i];
    if (c->count <= 0 || !(c->life.mean_s < INFINITY)) {
        s->next_s[i] = INFINITY;
        return;
    }
    double n = (double)c->count;
    if (c->life.dist == REL_EXPONENTIAL) {
        s->next_s[i] = last_s + sim_rng_exponential(s->fail_rng, c->life.mean_s / n);
        return;
    }
    double k = c->life.shape, lambda = c->life.mean_s / sim_gamma(1 + 1 / k);
    s->hazard[i] += sim_rng_exponential(s->fail_rng, 1.0);
    s->next_s[i] = lambda * pow(s->hazard[i] / n, 1 / k);
}

/* A draw of law l (a repair time). */
static double draw_law(sim_rng *r, const rel_law *l)
{
    if (!(l->mean_s > 0))
        return 0;
    if (!(l->mean_s < INFINITY))
        return INFINITY;
    switch (l->dist) {
    case REL_WEIBULL:
        return sim_rng_weibull(r, l->mean_s / sim_gamma(1 + 1 / l->shape), l->shape);
    case REL_LOGNORMAL: /* mean exp(mu + sigma^2 / 2) */
        return sim_rng_lognormal(r, log(l->mean_s) - l->shape * l->shape / 2, l->shape);
    default:
        return sim_rng_exponential(r, l->mean_s);
    }
}

/*
 * When the job can restart with m nodes replaced after a failure at t: at once while the
 * spares last (the failed nodes go out for repair), else when enough come back; without
 * spares, when the failed nodes are repaired. -1 on out of memory.
 */
static double nodes_ready(sim *s, int64_t m, double repair_s, double t)
{
    const rel_job *j = s->j;
    if (m <= 0)
        return t;
    if (j->spare_nodes <= 0)
        return t + repair_s;
    /* drop the nodes already back; the rest are out */
    int64_t out = 0;
    size_t k = 0;
    for (size_t i = 0; i < s->n_out; i++)
        if (s->outs[i].back_s > t) {
            s->outs[k++] = s->outs[i];
            out += s->outs[i].nodes;
        }
    s->n_out = k;
    double ready = t;
    int64_t pool = j->spare_nodes - out;
    if (pool < m) { /* wait for the earliest returns (outages sorted by return below) */
        for (size_t i = 0; i < s->n_out && pool < m; i++) {
            pool += s->outs[i].nodes;
            ready = s->outs[i].back_s;
        }
        if (pool < m) /* more nodes than the spares: the failed ones themselves */
            ready = fmax(ready, t + repair_s);
    }
    if (grow((void **)&s->outs, &s->cap_out, s->n_out + 1, sizeof *s->outs) != 0)
        return -1;
    /* keep the outages sorted by return */
    size_t at = s->n_out;
    while (at > 0 && s->outs[at - 1].back_s > t + repair_s) {
        s->outs[at] = s->outs[at - 1];
        at--;
    }
    s->outs[at] = (outage){t + repair_s, m};
    s->n_out++;
    return ready;
}

static sim_code check(const rel_job *j, const rel_class *c, size_t n, sim_status *st)
{
    if (!(j->step_s > 0) || j->steps < 1 || j->ckpt_steps < 0)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                              "a run needs a step time above 0 and one step or more, found %g s "
                              "and %lld steps", j->step_s, (long long)j->steps);
    for (size_t i = 0; i < n; i++)
        if (c[i].life.dist == REL_LOGNORMAL ||
            (c[i].life.dist == REL_WEIBULL && !(c[i].life.shape > 0)))
            return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                                  "failures of '%s': expected an exponential or a Weibull "
                                  "lifetime (shape above 0); lognormal is for repair times",
                                  c[i].name);
    return SIM_OK;
}

sim_code rel_simulate(const rel_job *j, const rel_class *c, size_t n, uint64_t seed,
                      int keep_log, rel_run *out, sim_status *st)
{
    memset(out, 0, sizeof *out);
    sim_code rc = check(j, c, n, st);
    if (rc != SIM_OK)
        return rc;
    sim s = {.j = j, .c = c, .n = n, .out = out, .keep_log = keep_log};
    out->n_classes = n;
    out->failures = calloc(n ? n : 1, sizeof *out->failures);
    out->lost_s = calloc(n ? n : 1, sizeof *out->lost_s);
    out->down_s = calloc(n ? n : 1, sizeof *out->down_s);
    out->slow_s = calloc(n ? n : 1, sizeof *out->slow_s);
    s.next_s = calloc(n ? n : 1, sizeof *s.next_s);
    s.hazard = calloc(n ? n : 1, sizeof *s.hazard);
    if (!out->failures || !out->lost_s || !out->down_s || !out->slow_s || !s.next_s ||
        !s.hazard)
        rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    if (rc == SIM_OK)
        rc = sim_rng_create(seed, 0, &s.fail_rng, st);
    if (rc == SIM_OK)
        rc = sim_rng_create(seed, 1, &s.repair_rng, st);
    for (size_t i = 0; rc == SIM_OK && i < n; i++)
        draw_next(&s, i, 0);

    const double W = j->step_s * (double)j->steps;
    const double tau = j->ckpt_steps > 0 ? j->step_s * (double)j->ckpt_steps : INFINITY;
    double t = 0, w = 0, w_ok = 0, next_ck = tau;
    double unsaved = 0;        /* training wall time since w_ok */
    double drain_end = INFINITY, drain_w = 0, drain_unsaved = 0; /* the write in flight */
    double phase_end = INFINITY;
    int phase = P_TRAIN;
    int32_t down_cls = -1;
    double stall_until = 0; /* a stall in force until then (REL_STALL) */
    int32_t stall_cls = -1;
    /* a fleet that fails faster than it recovers never finishes: stop at 1,000 x the work */
    const double t_cap = 1000 * (W + (double)j->steps / (double)(j->ckpt_steps ? j->ckpt_steps
                                                                                : j->steps) *
                                          (j->ckpt_block_s + j->ckpt_drain_s));
    while (rc == SIM_OK && w < W) {
        if (t > t_cap) {
            rc = sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                                "training never finishes: after %.0f days it has kept %.2f%% of "
                                "its %.1f days of steps (the fleet fails every %.3g h on average "
                                "and a recovery takes longer; add spare nodes or cut repair "
                                "times)",
                                t / 86400, 100 * w / W, W / 86400,
                                rel_fleet_mtbf_s(c, n) / 3600);
            break;
        }
        double g = 1, t_deg = INFINITY;
        size_t i_deg = 0;
        for (size_t k = 0; k < s.n_deg; k++) {
            g *= 1 + s.deg[k].slowdown;
            if (s.deg[k].end_s < t_deg)
                t_deg = s.deg[k].end_s, i_deg = k;
        }
        double t_fail = INFINITY;
        size_t i_fail = 0;
        for (size_t k = 0; k < n; k++)
            if (s.next_s[k] < t_fail)
                t_fail = s.next_s[k], i_fail = k;
        double target = fmin(next_ck, W);
        double t_phase = phase == P_TRAIN ? t + (target - w) * g : phase_end;
        double ev = fmin(fmin(t_phase, t_fail), fmin(t_deg, drain_end));
        double dt = ev - t;
        /* the interval [t, ev) into its bucket */
        if (phase == P_TRAIN) {
            w = fmin(w + dt / g, target);
            unsaved += dt;
            double extra = dt - dt / g;
            for (size_t k = 0; k < s.n_deg; k++)
                out->slow_s[s.deg[k].cls] += extra / (double)s.n_deg;
        } else if (phase == P_BLOCK) {
            out->ckpt_s += dt;
        } else if (phase == P_WAIT_DRAIN) {
            out->drain_wait_s += dt;
        } else {
            out->down_s[down_cls] += dt;
        }
        t = ev;
        if (ev == drain_end) { /* the background write is done: the checkpoint is usable */
            w_ok = drain_w;
            unsaved -= drain_unsaved;
            drain_end = INFINITY;
            if (phase == P_WAIT_DRAIN) {
                phase = P_BLOCK;
                phase_end = t + j->ckpt_block_s;
            }
        } else if (ev == t_deg) {
            s.deg[i_deg] = s.deg[--s.n_deg];
        } else if (ev == t_fail) {
            const rel_class *k = &c[i_fail];
            double repair = draw_law(s.repair_rng, &k->repair);
            out->failures[i_fail]++;
            draw_next(&s, i_fail, t);
            if (k->effect == REL_STALL) { /* paused until repaired; nothing lost */
                out->stalls++;
                if (t + repair > stall_until)
                    stall_until = t + repair, stall_cls = (int32_t)i_fail;
                if (phase == P_TRAIN) {
                    phase = P_DOWN;
                    down_cls = stall_cls;
                    phase_end = stall_until;
                }
                continue;
            }
            if (k->effect == REL_DEGRADE) {
                if (grow((void **)&s.deg, &s.cap_deg, s.n_deg + 1, sizeof *s.deg) != 0) {
                    rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
                    break;
                }
                s.deg[s.n_deg++] = (degr){t + repair, k->slowdown, (int32_t)i_fail};
                out->degradations++;
                continue;
            }
            /* stop: back to the last usable checkpoint, down until restarted */
            double ready = nodes_ready(&s, k->nodes, repair, t);
            if (ready < 0) {
                rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
                break;
            }
            if (k->wait_repair)
                ready = fmax(ready, t + repair);
            double lost = unsaved;
            out->lost_s[i_fail] += lost;
            out->interruptions++;
            w = w_ok;
            unsaved = 0;
            drain_end = INFINITY;
            next_ck = w_ok + tau;
            phase = P_DOWN;
            down_cls = (int32_t)i_fail;
            phase_end = fmax(t + j->detect_s + j->restart_s, ready) + j->reload_s + j->warmup_s;
            if (keep_log) {
                if (grow((void **)&out->log, &s.cap_log, out->n_log + 1, sizeof *out->log) !=
                    0) {
                    rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
                    break;
                }
                out->log[out->n_log++] =
                    (rel_interruption){t, (int32_t)i_fail, k->nodes, lost, phase_end - t};
            }
        } else if (phase == P_TRAIN) { /* the checkpoint's work, or the end */
            w = target;
            if (w >= W)
                break;
            if (drain_end < INFINITY) {
                phase = P_WAIT_DRAIN;
                phase_end = INFINITY; /* until the write in flight ends */
            } else {
                phase = P_BLOCK;
                phase_end = t + j->ckpt_block_s;
            }
        } else if (phase == P_BLOCK) {
            out->checkpoints++;
            if (j->ckpt_drain_s > 0) {
                drain_end = t + j->ckpt_drain_s;
                drain_w = w;
                drain_unsaved = unsaved;
            } else {
                w_ok = w;
                unsaved = 0;
            }
            next_ck += tau;
            phase = P_TRAIN;
        } else { /* P_DOWN: up again */
            phase = P_TRAIN;
        }
        if (phase == P_TRAIN && stall_until > t) { /* a stall struck while not training */
            phase = P_DOWN;
            down_cls = stall_cls;
            phase_end = stall_until;
        }
    }
    out->wall_s = t;
    out->ettr = t > 0 ? W / t : 1;
    sim_rng_destroy(s.fail_rng);
    sim_rng_destroy(s.repair_rng);
    free(s.next_s);
    free(s.hazard);
    free(s.deg);
    free(s.outs);
    if (rc != SIM_OK)
        rel_run_free(out);
    return rc;
}

void rel_run_free(rel_run *r)
{
    if (!r)
        return;
    free(r->failures);
    free(r->lost_s);
    free(r->down_s);
    free(r->slow_s);
    free(r->log);
    memset(r, 0, sizeof *r);
}

double rel_fleet_mtbf_s(const rel_class *c, size_t n)
{
    double rate = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].effect == REL_STOP && c[i].count > 0 && c[i].life.mean_s > 0)
            rate += (double)c[i].count / c[i].life.mean_s;
    return rate > 0 ? 1 / rate : INFINITY;
}

double rel_young_interval_s(double mtbf_s, double ckpt_s)
{
    return sqrt(2 * ckpt_s * mtbf_s);
}

double rel_daly_interval_s(double mtbf_s, double ckpt_s)
{
    if (ckpt_s >= 2 * mtbf_s)
        return mtbf_s;
    double x = ckpt_s / (2 * mtbf_s);
    return sqrt(2 * ckpt_s * mtbf_s) * (1 + sqrt(x) / 3 + x / 9) - ckpt_s;
}

double rel_daly_wall_s(double work_s, double tau_s, double ckpt_s, double restart_s,
                       double mtbf_s)
{
    double M = mtbf_s;
    /* full segments of tau + ckpt, then the rest of the work without a checkpoint */
    double full = tau_s < work_s ? ceil(work_s / tau_s - 1e-9) - 1 : 0;
    double last = work_s - full * tau_s;
    double seg = full * expm1((tau_s + ckpt_s) / M) + expm1(last / M);
    return M * exp(restart_s / M) * seg;
}
