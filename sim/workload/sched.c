/*
 * sched.c: pipeline schedules as pure functions of the pass index (see sched.h).
 *
 * Every schedule here is a warm-up of forwards, a steady phase alternating one forward and
 * one backward, and a cool-down of backwards; schedules differ only in the warm-up length
 * and in how a virtual micro-batch index maps to (micro-batch, chunk). Pass i of stage s:
 *   i < W:              forward k = i
 *   W <= i < W + 2R:    forward k = W + (i - W) / 2 when (i - W) is even, else backward
 *                       k = (i - W) / 2
 *   after:              backward k = R + (i - W - 2R)
 * with N = m v forwards in all and R = N - W.
 */
#include "workload/sched.h"

void sched_init(sched *sc, wl_schedule kind, int64_t p, int64_t m, int64_t v, int64_t s)
{
    sched_init_group(sc, kind, p, m, v, s, p);
}

void sched_init_group(sched *sc, wl_schedule kind, int64_t p, int64_t m, int64_t v, int64_t s,
                      int64_t group)
{
    sc->kind = kind;
    sc->p = p;
    sc->m = m;
    sc->v = kind == WL_SCHED_INTERLEAVED ? v : 1;
    sc->s = s;
    sc->group = group > 0 ? group : p;
    int64_t n = m * sc->v, w;
    if (kind == WL_SCHED_GPIPE)
        w = n;
    else if (kind == WL_SCHED_1F1B)
        w = p - s - 1;
    else
        w = (p - s - 1) * 2 + (sc->v - 1) * sc->group;
    sc->warmup = w < n ? w : n;
}

int64_t sched_len(const sched *sc)
{
    return 2 * sc->m * sc->v;
}

/* Virtual micro-batch k to (micro-batch, chunk): entry k of Megatron-LM's schedule table,
 * groups of N micro-batches each run chunk by chunk, the last group taking the rest. */
static sched_pass virt(const sched *sc, int64_t k, bool backward)
{
    sched_pass ps = {.backward = backward};
    if (sc->v == 1) {
        ps.mb = k;
        ps.chunk = 0;
        return ps;
    }
    int64_t v = sc->v, g = sc->group, full = (sc->m - 1) / g; /* groups before the last */
    int64_t chunk;
    if (k < full * g * v) {
        int64_t r = k % (g * v);
        chunk = r / g;
        ps.mb = k / (g * v) * g + r % g;
    } else {
        int64_t last = sc->m - full * g, r = k - full * g * v;
        chunk = r / last;
        ps.mb = full * g + r % last;
    }
    ps.chunk = backward ? v - 1 - chunk : chunk;
    return ps;
}

sched_pass sched_at(const sched *sc, int64_t i)
{
    int64_t n = sc->m * sc->v, w = sc->warmup, r = n - w;
    if (i < w)
        return virt(sc, i, false);
    if (i < w + 2 * r) {
        int64_t j = (i - w) / 2;
        return (i - w) % 2 == 0 ? virt(sc, w + j, false) : virt(sc, j, true);
    }
    return virt(sc, r + (i - w - 2 * r), true);
}

int64_t sched_peak_inflight(const sched *sc)
{
    int64_t n = sc->m * sc->v;
    return sc->warmup < n ? sc->warmup + 1 : n;
}
