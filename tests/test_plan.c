/*
 * test_plan.c: pipeline schedules (workload/sched.h) and parallel plans (workload/plan.h).
 *
 * Schedules: exact pass orders written out by hand from Narayanan et al. 2021 (figure 4) and
 * Megatron-LM's forward_backward_pipelining_with_interleaving, then invariants over many
 * (p, m, v, s): every (micro-batch, chunk) once forward and once backward, backward after
 * forward, the warm-up length, the peak of held activations, and that the stages together
 * never deadlock on their data dependencies.
 * Plans: rank coordinates and groups under two placements, the items of rank programs
 * against the ops of model.h and the collective layout of plan_prog.h's file comment (TP
 * with and without sequence parallelism, recomputation, CP, EP, ZeRO-3), pipeline sends
 * against receives over a whole job, whole programs pass by pass as counted by hand (1F1B
 * and interleaved), data-parallel gradient reductions and the step's tail, step totals of
 * the quick start, every bad config with its complete message, and the CLI.
 *
 * Tests marked Regression assert the value the spec or the published definition calls for where
 * the implementation disagrees; they fail until sim/ is fixed (see each comment).
 * Tests run from the repository root; the CLI binary comes from CLUSTERSIM_BIN.
 */
#include <check.h>
#define CLUSTERSIM_TEST_CLI
#include "helpers.h"
#include <glob.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/exec.h"
#include "workload/plan.h"

#define TINY "tests/fixtures/good/cfg-tiny.yaml"
#define MOE "tests/fixtures/good/cfg-moe.yaml"
#define QUICKSTART "configs/quickstart.yaml"

/* |got - want| <= tol * |want|, with both values in the message. */
#define CK_REL(got, want, tol)                                                                \
    do {                                                                                      \
        double g_ = (got), w_ = (want);                                                       \
        ck_assert_msg(fabs(g_ - w_) <= (tol) * fabs(w_), "%s = %.17g, want %.17g (rel %.3g)", \
                      #got, g_, w_, fabs(g_ - w_) / fabs(w_));                                \
    } while (0)

/* ==== schedules ========================================================================= */

typedef struct pass {
    int b;
    int64_t mb, chunk;
} pass;

#define F(mb, c) {0, mb, c}
#define B(mb, c) {1, mb, c}

static void check_sched(int kind, int64_t p, int64_t m, int64_t v, int64_t s, const pass *want,
                        size_t n)
{
    sched sc;
    sched_init(&sc, kind, p, m, v, s);
    ck_assert_int_eq(sched_len(&sc), (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        sched_pass got = sched_at(&sc, (int64_t)i);
        ck_assert_msg(got.backward == want[i].b && got.mb == want[i].mb &&
                          got.chunk == want[i].chunk,
                      "kind %d p %lld m %lld v %lld s %lld: pass %zu is %c(%lld, %lld), want "
                      "%c(%lld, %lld)",
                      kind, (long long)p, (long long)m, (long long)v, (long long)s, i,
                      got.backward ? 'B' : 'F', (long long)got.mb, (long long)got.chunk,
                      want[i].b ? 'B' : 'F', (long long)want[i].mb, (long long)want[i].chunk);
    }
}

/*
 * 1F1B, p = 4, m = 8 (Narayanan et al. 2021, figure 4 top, 0-based): stage s warms up with
 * p - s - 1 forwards, then alternates one forward and one backward (forward first) until the
 * 8 forwards are issued, then cools down with the remaining backwards. Device 1 of the
 * figure reads 1 2 3 4 1 5 2 6 3 7 4 8 5 6 7 8, device 4 reads 1 1 2 2 ... 8 8.
 */
START_TEST(test_1f1b_p4_m8)
{
    static const pass s0[] = {F(0, 0), F(1, 0), F(2, 0), F(3, 0), B(0, 0), F(4, 0),
                              B(1, 0), F(5, 0), B(2, 0), F(6, 0), B(3, 0), F(7, 0),
                              B(4, 0), B(5, 0), B(6, 0), B(7, 0)};
    static const pass s1[] = {F(0, 0), F(1, 0), F(2, 0), B(0, 0), F(3, 0), B(1, 0),
                              F(4, 0), B(2, 0), F(5, 0), B(3, 0), F(6, 0), B(4, 0),
                              F(7, 0), B(5, 0), B(6, 0), B(7, 0)};
    static const pass s2[] = {F(0, 0), F(1, 0), B(0, 0), F(2, 0), B(1, 0), F(3, 0),
                              B(2, 0), F(4, 0), B(3, 0), F(5, 0), B(4, 0), F(6, 0),
                              B(5, 0), F(7, 0), B(6, 0), B(7, 0)};
    static const pass s3[] = {F(0, 0), B(0, 0), F(1, 0), B(1, 0), F(2, 0), B(2, 0),
                              F(3, 0), B(3, 0), F(4, 0), B(4, 0), F(5, 0), B(5, 0),
                              F(6, 0), B(6, 0), F(7, 0), B(7, 0)};
    check_sched(WL_SCHED_1F1B, 4, 8, 1, 0, s0, 16);
    check_sched(WL_SCHED_1F1B, 4, 8, 1, 1, s1, 16);
    check_sched(WL_SCHED_1F1B, 4, 8, 1, 2, s2, 16);
    check_sched(WL_SCHED_1F1B, 4, 8, 1, 3, s3, 16);
    /* v is ignored outside the interleaved schedule */
    check_sched(WL_SCHED_1F1B, 4, 8, 3, 0, s0, 16);
    /* fewer micro-batches than the warm-up: all forwards, then all backwards */
    static const pass short_s0[] = {F(0, 0), F(1, 0), B(0, 0), B(1, 0)};
    check_sched(WL_SCHED_1F1B, 4, 2, 1, 0, short_s0, 4);
}
END_TEST

/* GPipe, p = 2, m = 3: all forwards, then all backwards in micro-batch order, on every
 * stage. */
START_TEST(test_gpipe_p2_m3)
{
    static const pass all[] = {F(0, 0), F(1, 0), F(2, 0), B(0, 0), B(1, 0), B(2, 0)};
    check_sched(WL_SCHED_GPIPE, 2, 3, 1, 0, all, 6);
    check_sched(WL_SCHED_GPIPE, 2, 3, 1, 1, all, 6);
}
END_TEST

/*
 * Interleaved, from Megatron-LM's forward_backward_pipelining_with_interleaving: N = m v
 * virtual micro-batches; warm-up W = (p - s - 1) 2 + (v - 1) p capped at N (all N when
 * m == p); then forward k = W + j followed by backward k = j for j < N - W; then the
 * remaining backwards. Virtual micro-batch k: chunk (k / p) mod v forward, v - 1 - that
 * backward; micro-batch (k / (p v)) p + k mod p.
 *
 * p = 2, m = 4, v = 2: k = 0..7 forward -> (0,0) (1,0) (0,1) (1,1) (2,0) (3,0) (2,1) (3,1);
 * backward -> (0,1) (1,1) (0,0) (1,0) (2,1) (3,1) (2,0) (3,0).
 *   s = 0: W = 2 + 2 = 4: F k0..3, (F4 B0) (F5 B1) (F6 B2) (F7 B3), B4..7.
 *   s = 1: W = 0 + 2 = 2: F k0..1, (F2 B0) ... (F7 B5), B6 B7.
 */
START_TEST(test_interleaved_p2_m4_v2)
{
    static const pass s0[] = {F(0, 0), F(1, 0), F(0, 1), F(1, 1), F(2, 0), B(0, 1),
                              F(3, 0), B(1, 1), F(2, 1), B(0, 0), F(3, 1), B(1, 0),
                              B(2, 1), B(3, 1), B(2, 0), B(3, 0)};
    static const pass s1[] = {F(0, 0), F(1, 0), F(0, 1), B(0, 1), F(1, 1), B(1, 1),
                              F(2, 0), B(0, 0), F(3, 0), B(1, 0), F(2, 1), B(2, 1),
                              F(3, 1), B(3, 1), B(2, 0), B(3, 0)};
    check_sched(WL_SCHED_INTERLEAVED, 2, 4, 2, 0, s0, 16);
    check_sched(WL_SCHED_INTERLEAVED, 2, 4, 2, 1, s1, 16);
}
END_TEST

/*
 * p = 4, m = 8, v = 2, stage 0: W = 3 * 2 + 1 * 4 = 10 of N = 16.
 * Forward k: chunk (k / 4) mod 2, mb (k / 8) 4 + k mod 4:
 *   0-3 -> mb 0-3 chunk 0; 4-7 -> mb 0-3 chunk 1; 8-11 -> mb 4-7 chunk 0; 12-15 -> 4-7, 1.
 * Backward k: the same micro-batches with the chunk reversed.
 * Steady: (F10 B0) (F11 B1) (F12 B2) (F13 B3) (F14 B4) (F15 B5); cool-down B6..B15.
 */
START_TEST(test_interleaved_p4_m8_v2)
{
    static const pass s0[] = {
        F(0, 0), F(1, 0), F(2, 0), F(3, 0), F(0, 1), F(1, 1), F(2, 1), F(3, 1),
        F(4, 0), F(5, 0),                                              /* warm-up */
        F(6, 0), B(0, 1), F(7, 0), B(1, 1), F(4, 1), B(2, 1), F(5, 1), B(3, 1),
        F(6, 1), B(0, 0), F(7, 1), B(1, 0),                            /* steady */
        B(2, 0), B(3, 0), B(4, 1), B(5, 1), B(6, 1), B(7, 1), B(4, 0), B(5, 0),
        B(6, 0), B(7, 0)};                                             /* cool-down */
    check_sched(WL_SCHED_INTERLEAVED, 4, 8, 2, 0, s0, 32);
}
END_TEST

/* m == p: Megatron-LM used to make every forward a warm-up pass on every stage
 * (all_warmup_microbatches); since its commit 4295be1 (Nov 2024, the tunable schedule) the
 * warm-up is (p - s - 1) 2 + (v - 1) N capped at m v there too, and sched.c follows it. */
START_TEST(test_interleaved_m_equals_p)
{
    /* p = 2, v = 2: stage 0 W = 4 of 4 (all), stage 1 W = 2 */
    static const pass s0[] = {F(0, 0), F(1, 0), F(0, 1), F(1, 1),
                              B(0, 1), B(1, 1), B(0, 0), B(1, 0)};
    static const pass s1[] = {F(0, 0), F(1, 0), F(0, 1), B(0, 1),
                              F(1, 1), B(1, 1), B(0, 0), B(1, 0)};
    check_sched(WL_SCHED_INTERLEAVED, 2, 2, 2, 0, s0, 8);
    check_sched(WL_SCHED_INTERLEAVED, 2, 2, 2, 1, s1, 8);
    /* p = 4, v = 2, last stage: W = 0 + 4 = 4 of 8 */
    static const pass p4[] = {F(0, 0), F(1, 0), F(2, 0), F(3, 0), F(0, 1), B(0, 1),
                              F(1, 1), B(1, 1), F(2, 1), B(2, 1), F(3, 1), B(3, 1),
                              B(0, 0), B(1, 0), B(2, 0), B(3, 0)};
    check_sched(WL_SCHED_INTERLEAVED, 4, 4, 2, 3, p4, 16);
    sched sc;
    sched_init(&sc, WL_SCHED_INTERLEAVED, 4, 4, 2, 3);
    ck_assert_int_eq(sc.warmup, 4);
}
END_TEST

/* Warm-up forwards before the first backward, from the definitions in sched.h. */
static int64_t want_warmup(int kind, int64_t p, int64_t m, int64_t v, int64_t s, int64_t g)
{
    int64_t n = m * v, w;
    if (kind == WL_SCHED_GPIPE)
        w = n;
    else if (kind == WL_SCHED_1F1B)
        w = p - s - 1;
    else
        w = (p - s - 1) * 2 + (v - 1) * g;
    return w < n ? w : n;
}

/* Runs the p stages' schedules against each other: forward (mb, g) needs forward
 * (mb, g - 1), backward (mb, g) needs forward (mb, g) and backward (mb, g + 1), g = chunk p
 * + s. Each stage takes its passes in order; returns 1 when every pass can run. */
static int runs_without_deadlock(int kind, int64_t p, int64_t m, int64_t v, int64_t grp)
{
    int64_t G = p * v, n = 2 * m * v;
    char *fdone = calloc((size_t)(m * G), 1), *bdone = calloc((size_t)(m * G), 1);
    int64_t *next = calloc((size_t)p, sizeof *next);
    sched *sc = calloc((size_t)p, sizeof *sc);
    ck_assert(fdone && bdone && next && sc);
    for (int64_t s = 0; s < p; s++)
        sched_init_group(&sc[s], kind, p, m, v, s, grp);
    int64_t left = n * p;
    int progress = 1;
    while (left > 0 && progress) {
        progress = 0;
        for (int64_t s = 0; s < p; s++) {
            while (next[s] < n) {
                sched_pass ps = sched_at(&sc[s], next[s]);
                int64_t g = ps.chunk * p + s, at = ps.mb * G + g;
                int ready = ps.backward ? fdone[at] && (g == G - 1 || bdone[at + 1])
                                        : g == 0 || fdone[at - 1];
                if (!ready)
                    break;
                (ps.backward ? bdone : fdone)[at] = 1;
                next[s]++;
                left--;
                progress = 1;
            }
        }
    }
    free(fdone);
    free(bdone);
    free(next);
    free(sc);
    return left == 0;
}

/*
 * Invariants over many (kind, p, m, v, s): sched_len = 2 m v; every (mb, chunk) exactly
 * once forward and once backward, its backward after its forward; the warm-up (Megatron's
 * num_warmup_microbatches, W above; the steady phase opens with a forward); the peak of
 * held forwards (sched_peak_inflight) equals the running maximum of forwards minus
 * backwards, min(p - s, m) for 1F1B; and all stages together run to the end.
 */
START_TEST(test_sched_invariants)
{
    static const int kinds[] = {WL_SCHED_GPIPE, WL_SCHED_1F1B, WL_SCHED_INTERLEAVED};
    int cases = 0;
    for (size_t ki = 0; ki < 3; ki++)
        for (int64_t p = 1; p <= 6; p++)
            for (int64_t m = 1; m <= 13; m++)
                for (int64_t v = 1; v <= 4; v++)
                for (int64_t g = p; g <= (kinds[ki] == WL_SCHED_INTERLEAVED ? m : p); g++) {
                    int kind = kinds[ki];
                    if (kind != WL_SCHED_INTERLEAVED && v > 1)
                        continue;
                    /* Megatron-LM's groups: p <= N <= m, m mod N 0 or at least p */
                    if (kind == WL_SCHED_INTERLEAVED && (v < 2 || (m % g && m % g < p)))
                        continue;
                    for (int64_t s = 0; s < p; s++) {
                        sched sc;
                        sched_init_group(&sc, kind, p, m, v, s, g);
                        int64_t n = sched_len(&sc);
                        ck_assert_int_eq(n, 2 * m * v);
                        int *fpos = malloc((size_t)(m * v) * sizeof *fpos);
                        int *bpos = malloc((size_t)(m * v) * sizeof *bpos);
                        ck_assert(fpos && bpos);
                        for (int64_t i = 0; i < m * v; i++)
                            fpos[i] = bpos[i] = -1;
                        int64_t held = 0, peak = 0, first_b = -1;
                        for (int64_t i = 0; i < n; i++) {
                            sched_pass ps = sched_at(&sc, i);
                            ck_assert(ps.mb >= 0 && ps.mb < m && ps.chunk >= 0 &&
                                      ps.chunk < v);
                            int *pos = ps.backward ? bpos : fpos;
                            int64_t at = ps.mb * v + ps.chunk;
                            ck_assert_msg(pos[at] < 0, "kind %d p %lld m %lld v %lld s %lld: "
                                          "%c(%lld, %lld) twice", kind, (long long)p,
                                          (long long)m, (long long)v, (long long)s,
                                          ps.backward ? 'B' : 'F', (long long)ps.mb,
                                          (long long)ps.chunk);
                            pos[at] = (int)i;
                            if (ps.backward) {
                                ck_assert_msg(fpos[at] >= 0, "backward before forward");
                                held--;
                                if (first_b < 0)
                                    first_b = i;
                            } else {
                                held++;
                                peak = held > peak ? held : peak;
                            }
                        }
                        for (int64_t i = 0; i < m * v; i++)
                            ck_assert(fpos[i] >= 0 && bpos[i] > fpos[i]);
                        /* the steady phase opens with a forward: the first backward
                         * follows W + 1 forwards unless the warm-up took them all */
                        int64_t w = want_warmup(kind, p, m, v, s, g);
                        ck_assert_int_eq(sc.warmup, w);
                        ck_assert_int_eq(first_b, w < m * v ? w + 1 : m * v);
                        ck_assert_int_eq(sched_peak_inflight(&sc), peak);
                        if (kind == WL_SCHED_1F1B)
                            ck_assert_int_eq(sched_peak_inflight(&sc), p - s < m ? p - s : m);
                        if (kind == WL_SCHED_GPIPE)
                            ck_assert_int_eq(sched_peak_inflight(&sc), m);
                        free(fpos);
                        free(bpos);
                        cases++;
                    }
                    ck_assert_msg(runs_without_deadlock(kind, p, m, v, g),
                                  "kind %d p %lld m %lld v %lld N %lld deadlocks", kind,
                                  (long long)p, (long long)m, (long long)v, (long long)g);
                }
    ck_assert_int_gt(cases, 500);
}
END_TEST

/* The memory model's in-flight micro-batches (model.h, wl_inflight_microbatches, in units
 * of the stage's layers) times v equal the schedule's peak of held chunk forwards.
 * groups 0: the default micro-batch group (pp); 1: the interleaved schedule's other
 * groups. */
static void check_inflight(int groups)
{
    static const int kinds[] = {WL_SCHED_GPIPE, WL_SCHED_1F1B, WL_SCHED_INTERLEAVED};
    int cases = 0;
    for (size_t ki = 0; ki < 3; ki++)
        for (int64_t p = 1; p <= 6; p++)
            for (int64_t m = 1; m <= 13; m++)
                for (int64_t v = 1; v <= 4; v++)
                for (int64_t g = p; g <= (kinds[ki] == WL_SCHED_INTERLEAVED ? m : p); g++) {
                    int kind = kinds[ki];
                    if ((kind != WL_SCHED_INTERLEAVED && v > 1) ||
                        (kind == WL_SCHED_INTERLEAVED && (v < 2 || (m % g && m % g < p))))
                        continue;
                    if ((g != p) != groups)
                        continue;
                    wl_parallel par;
                    wl_parallel_default(&par);
                    par.pp = p;
                    par.vp = v;
                    par.mb_group = g;
                    par.schedule = (wl_schedule)kind;
                    for (int64_t s = 0; s < p; s++) {
                        sched sc;
                        sched_init_group(&sc, kind, p, m, v, s, g);
                        double got = wl_inflight_microbatches(&par, m, s) * (double)v;
                        ck_assert_msg(got == (double)sched_peak_inflight(&sc),
                                      "kind %d p %lld m %lld v %lld s %lld N %lld: memory model "
                                      "holds %g chunk activations, the schedule peaks at %lld",
                                      kind, (long long)p, (long long)m, (long long)v,
                                      (long long)s, (long long)g, got,
                                      (long long)sched_peak_inflight(&sc));
                        cases++;
                    }
                }
    ck_assert_int_gt(cases, groups ? 100 : 300);
}

START_TEST(test_inflight_matches_schedule)
{
    check_inflight(0);
}
END_TEST

/* The same with micro-batch groups other than pp (Llama-3-style interleaving). */
START_TEST(test_inflight_groups)
{
    check_inflight(1);
}
END_TEST

/* Narayanan et al. 2021 section 2.2: bubble (p - 1) / m, over v with interleaving. */
START_TEST(test_bubble)
{
    ck_assert_double_eq(wl_bubble_fraction(4, 8, 1), 3.0 / 8.0);
    ck_assert_double_eq(wl_bubble_fraction(4, 8, 2), 3.0 / 16.0);
    ck_assert_double_eq(wl_bubble_fraction(8, 64, 1), 7.0 / 64.0);
    ck_assert_double_eq(wl_bubble_fraction(2, 8, 1), 0.125); /* the quick start */
    ck_assert_double_eq(wl_bubble_fraction(16, 32, 4), 15.0 / 128.0);
    ck_assert_double_eq(wl_bubble_fraction(1, 8, 1), 0.0);
}
END_TEST

/* ==== plans: helpers ==================================================================== */

static plan *load(const char *path, const ydoc_override *ov, size_t n)
{
    plan *p = NULL;
    sim_status st;
    sim_status_clear(&st);
    sim_code rc = plan_load(path, ov, n, &p, &st);
    char msg[2048];
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_msg(rc == SIM_OK, "%s", msg);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* Loads TINY with overrides given as "path=value" strings (NULL-terminated). */
static plan *load_tiny(const char *const *sets)
{
    ydoc_override ov[16];
    char keys[16][128];
    size_t n = 0;
    for (; sets && sets[n]; n++) {
        const char *eq = strchr(sets[n], '=');
        ck_assert(eq && n < 16);
        snprintf(keys[n], sizeof keys[n], "%.*s", (int)(eq - sets[n]), sets[n]);
        ov[n].path = keys[n];
        ov[n].value = eq + 1;
        ov[n].origin = sets[n];
    }
    return load(TINY, ov, n);
}

typedef struct prog {
    plan_item *it;
    size_t n, cap;
} prog;

static void prog_collect(const plan *p, int64_t rank, prog *out)
{
    plan_cursor c;
    plan_item it;
    out->n = 0;
    out->cap = 1024;
    out->it = malloc(out->cap * sizeof *out->it);
    ck_assert_ptr_nonnull(out->it);
    plan_prog_begin(p, rank, &c);
    while (plan_prog_next(p, &c, &it)) {
        if (out->n == out->cap) {
            out->cap *= 2;
            out->it = realloc(out->it, out->cap * sizeof *out->it);
            ck_assert_ptr_nonnull(out->it);
        }
        out->it[out->n++] = it;
        ck_assert_msg(out->n < 50000000, "runaway program");
    }
}

static void prog_free(prog *pr)
{
    free(pr->it);
    pr->it = NULL;
}

static const char *coll_abbrev(coll_kind coll)
{
    static const char *const a[] = {"AR", "RS", "AG", "A2A", "BC"};
    return (size_t)coll < sizeof a / sizeof a[0] ? a[coll] : "?";
}

/*
 * The items of (layer, mb, backward) in order, as "name name* AR:tp ...": compute ops by
 * name (recomputed ones starred), collectives as kind:dimension; DP gradient reductions
 * (stamped with the layer after which they are issued) left out.
 */
static void layer_sig(const prog *pr, int64_t layer, int64_t mb, int backward, char *buf,
                      size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    for (size_t i = 0; i < pr->n; i++) {
        const plan_item *it = &pr->it[i];
        if (it->layer != layer || it->mb != mb || it->backward != backward ||
            (it->kind == PLAN_ITEM_COLL && it->dim == PLAN_DP && it->async))
            continue; /* gradient buckets are tested on their own */
        char one[64];
        if (it->kind == PLAN_ITEM_COMPUTE)
            snprintf(one, sizeof one, "%s%s", it->op.name, it->op.recompute ? "*" : "");
        else if (it->kind == PLAN_ITEM_COLL)
            snprintf(one, sizeof one, "%s:%s%s", coll_abbrev(it->coll), plan_dim_name(it->dim),
                     it->async ? "~" : ""); /* ~: runs beside the next op */
        else
            snprintf(one, sizeof one, "kind%d", it->kind);
        int k = snprintf(buf + len, n - len, "%s%s", len ? " " : "", one);
        ck_assert(k > 0 && (size_t)k < n - len);
        len += (size_t)k;
    }
}

/* ==== placement and groups ============================================================== */

/*
 * tp 2, pp 2, dp 4 on 16 chips. Default placement [tp, cp, dp, pp], tp fastest: strides
 * tp 1, cp 2, dp 2 (cp = 1), pp 8, so tp = r mod 2, dp = (r / 2) mod 4, pp = r / 8.
 * Placement [dp, tp, cp, pp]: strides dp 1, tp 4, cp 8, pp 8: dp = r mod 4,
 * tp = (r / 4) mod 2, pp = r / 8.
 */
static const int def_tp[16] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
static const int def_dp[16] = {0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1, 2, 2, 3, 3};
static const int alt_tp[16] = {0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1};
static const int alt_dp[16] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
static const int all_pp[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};

/* Ranks r and q share their group along dim iff every other coordinate agrees. */
static void check_group_ids(const plan *p)
{
    static const int dims[4] = {PLAN_TP, PLAN_CP, PLAN_DP, PLAN_PP};
    for (int64_t r = 0; r < plan_ranks(p); r++)
        for (int64_t q = 0; q < plan_ranks(p); q++)
            for (int d = 0; d < 4; d++) {
                int same = 1;
                for (int e = 0; e < 4; e++)
                    if (e != d && plan_coord(p, r, dims[e]) != plan_coord(p, q, dims[e]))
                        same = 0;
                ck_assert_int_eq(plan_group_id(p, r, dims[d]) == plan_group_id(p, q, dims[d]),
                                 same);
            }
}

START_TEST(test_placement_default)
{
    plan *p = load(TINY, NULL, 0);
    ck_assert_int_eq(plan_ranks(p), 16);
    ck_assert_int_eq(plan_parallel(p)->tp, 2);
    ck_assert_int_eq(plan_parallel(p)->pp, 2);
    ck_assert_int_eq(plan_parallel(p)->dp, 4);
    ck_assert_int_eq(plan_parallel(p)->cp, 1);
    ck_assert_int_eq(plan_microbatches(p), 4); /* 16 / (1 x 4) */
    ck_assert_str_eq(plan_name(p), "tiny");
    ck_assert_int_eq(plan_steps(p), 1);
    ck_assert_int_eq(plan_warmup_steps(p), 0);
    ck_assert_int_eq((long long)plan_seed(p), 7);
    ck_assert_str_eq(plan_topology_path(p), "topologies/two-nodes.yaml");
    ck_assert_str_eq(plan_workload_path(p), "tests/fixtures/good/cfg-tiny-wl.yaml");
    ck_assert_str_eq(plan_db_path(p), "");
    ck_assert_str_eq(plan_trace_path(p), "");
    ck_assert_str_eq(plan_config_path(p), TINY);
    ck_assert_int_eq(plan_cross_dc_of(p)->scheme, PLAN_XDC_NONE);
    ck_assert_int_eq(plan_workload(p)->layers, 4);
    plan_set_steps(p, 2, 3);
    ck_assert_int_eq(plan_warmup_steps(p), 2);
    ck_assert_int_eq(plan_steps(p), 3);
    static const int want[4] = {PLAN_TP, PLAN_CP, PLAN_DP, PLAN_PP};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(plan_placement(p, i), want[i]);
    for (int64_t r = 0; r < 16; r++) {
        ck_assert_int_eq(plan_coord(p, r, PLAN_TP), def_tp[r]);
        ck_assert_int_eq(plan_coord(p, r, PLAN_DP), def_dp[r]);
        ck_assert_int_eq(plan_coord(p, r, PLAN_PP), all_pp[r]);
        ck_assert_int_eq(plan_coord(p, r, PLAN_CP), 0);
        ck_assert_int_eq(plan_coord(p, r, PLAN_EP), 0);
    }
    ck_assert_int_eq(plan_dim_size(p, PLAN_TP), 2);
    ck_assert_int_eq(plan_dim_size(p, PLAN_DP), 4);
    ck_assert_int_eq(plan_dim_size(p, PLAN_PP), 2);
    /* rank 5 = (tp 1, dp 2, pp 0): TP {4, 5}, DP {1, 3, 5, 7}, PP {5, 13} */
    ck_assert_int_eq(plan_group_member(p, 5, PLAN_TP, 0), 4);
    ck_assert_int_eq(plan_group_member(p, 5, PLAN_TP, 1), 5);
    static const int64_t dp5[4] = {1, 3, 5, 7};
    for (int64_t i = 0; i < 4; i++)
        ck_assert_int_eq(plan_group_member(p, 5, PLAN_DP, i), dp5[i]);
    ck_assert_int_eq(plan_group_member(p, 5, PLAN_PP, 0), 5);
    ck_assert_int_eq(plan_group_member(p, 5, PLAN_PP, 1), 13);
    /* rank 14 = (tp 0, dp 3, pp 1): DP {8, 10, 12, 14}, PP {6, 14} */
    static const int64_t dp14[4] = {8, 10, 12, 14};
    for (int64_t i = 0; i < 4; i++)
        ck_assert_int_eq(plan_group_member(p, 14, PLAN_DP, i), dp14[i]);
    ck_assert_int_eq(plan_group_member(p, 14, PLAN_PP, 0), 6);
    /* every member of a group has that coordinate i and is in the same group */
    for (int64_t r = 0; r < 16; r++)
        for (int d = 0; d < PLAN_EP; d++)
            for (int64_t i = 0; i < plan_dim_size(p, d); i++) {
                int64_t q = plan_group_member(p, r, d, i);
                ck_assert(q >= 0 && q < 16);
                ck_assert_int_eq(plan_coord(p, q, d), i);
                ck_assert_int_eq(plan_group_id(p, q, d), plan_group_id(p, r, d));
            }
    check_group_ids(p);
    /* TP groups are consecutive chips of one NVSwitch domain (a DGX node of 8); DP peers
     * 2 apart share it too inside a pipeline stage, PP peers (8 apart) do not. */
    for (int64_t r = 0; r < 16; r++) {
        int32_t dom = topo_chip_domain(plan_topo(p), (int32_t)r);
        ck_assert_int_ge(dom, 0);
        for (int64_t i = 0; i < 2; i++) {
            int64_t q = plan_group_member(p, r, PLAN_TP, i);
            ck_assert_int_eq(q, r - def_tp[r] + i);
            ck_assert_int_eq(topo_chip_domain(plan_topo(p), (int32_t)q), dom);
        }
        ck_assert_int_ne(topo_chip_domain(plan_topo(p), (int32_t)plan_group_member(p, r, PLAN_PP,
                                                                      1 - all_pp[r])), dom);
    }
    plan_destroy(p);
}
END_TEST

START_TEST(test_placement_override)
{
    const ydoc_override ov[] = {
        {"parallelism.placement", "[dp, tp, cp, pp]", "--set parallelism.placement=..."}};
    plan *p = load(TINY, ov, 1);
    static const int want[4] = {PLAN_DP, PLAN_TP, PLAN_CP, PLAN_PP};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(plan_placement(p, i), want[i]);
    for (int64_t r = 0; r < 16; r++) {
        ck_assert_int_eq(plan_coord(p, r, PLAN_TP), alt_tp[r]);
        ck_assert_int_eq(plan_coord(p, r, PLAN_DP), alt_dp[r]);
        ck_assert_int_eq(plan_coord(p, r, PLAN_PP), all_pp[r]);
        ck_assert_int_eq(plan_coord(p, r, PLAN_CP), 0);
    }
    /* rank 5 = (dp 1, tp 1, pp 0): TP {1, 5}, DP {4, 5, 6, 7}, PP {5, 13} */
    ck_assert_int_eq(plan_group_member(p, 5, PLAN_TP, 0), 1);
    ck_assert_int_eq(plan_group_member(p, 5, PLAN_TP, 1), 5);
    for (int64_t i = 0; i < 4; i++)
        ck_assert_int_eq(plan_group_member(p, 5, PLAN_DP, i), 4 + i);
    ck_assert_int_eq(plan_group_member(p, 5, PLAN_PP, 1), 13);
    /* rank 13 = (dp 1, tp 1, pp 1): TP {9, 13} */
    ck_assert_int_eq(plan_group_member(p, 13, PLAN_TP, 0), 9);
    ck_assert_int_eq(plan_group_member(p, 11, PLAN_TP, 1), 15);
    check_group_ids(p);
    plan_destroy(p);
}
END_TEST

/* tp 8 on DGX nodes (8 heads for it): a TP group is a whole node (one domain), DP peers
 * 8 apart are not. */
START_TEST(test_placement_tp8_domains)
{
    static const char *const sets[] = {"workload.model.heads=8", "parallelism.tp=8",
                                       "parallelism.pp=1",
                                       "parallelism.dp=2", NULL};
    plan *p = load_tiny(sets);
    for (int64_t r = 0; r < 16; r++) {
        for (int64_t i = 0; i < 8; i++) {
            int64_t q = plan_group_member(p, r, PLAN_TP, i);
            ck_assert_int_eq(q, r / 8 * 8 + i);
            ck_assert_int_eq(topo_chip_domain(plan_topo(p), (int32_t)q),
                             topo_chip_domain(plan_topo(p), (int32_t)r));
        }
        const topo *t = plan_topo(p);
        ck_assert_int_ne(topo_chip_domain(t, (int32_t)plan_group_member(p, r, PLAN_DP, 0)),
                         topo_chip_domain(t, (int32_t)plan_group_member(p, r, PLAN_DP, 1)));
    }
    plan_destroy(p);
}
END_TEST

/* EP groups: ep consecutive DP indices. cfg-moe: tp 2, pp 2, dp 4, ep 2: ep coordinate
 * dp mod 2; rank 3 (dp 1) with rank 1 (dp 0); rank 5 (dp 2) with rank 7 (dp 3). */
START_TEST(test_ep_groups)
{
    plan *p = load(MOE, NULL, 0);
    ck_assert_int_eq(plan_dim_size(p, PLAN_EP), 2);
    ck_assert_int_eq(plan_coord(p, 3, PLAN_EP), 1);
    ck_assert_int_eq(plan_group_member(p, 3, PLAN_EP, 0), 1);
    ck_assert_int_eq(plan_group_member(p, 3, PLAN_EP, 1), 3);
    ck_assert_int_eq(plan_coord(p, 5, PLAN_EP), 0);
    ck_assert_int_eq(plan_group_member(p, 5, PLAN_EP, 0), 5);
    ck_assert_int_eq(plan_group_member(p, 5, PLAN_EP, 1), 7);
    ck_assert_int_eq(plan_group_id(p, 1, PLAN_EP), plan_group_id(p, 3, PLAN_EP));
    ck_assert_int_ne(plan_group_id(p, 3, PLAN_EP), plan_group_id(p, 5, PLAN_EP));
    for (int64_t r = 0; r < 16; r++)
        ck_assert_int_eq(plan_coord(p, r, PLAN_EP), plan_coord(p, r, PLAN_DP) % 2);
    plan_destroy(p);
}
END_TEST

/* ==== programs ========================================================================== */

/* Compute items a rank must run, from model.h: per micro-batch and chunk, the ops of each
 * of the chunk's layers both ways, the embedding on virtual stage 0, the head on the last;
 * one optimizer op. */
static size_t want_compute(const plan *p, int64_t stage)
{
    const wl_workload *w = plan_workload(p);
    const wl_parallel *par = plan_parallel(p);
    int64_t L = w->layers / (par->pp * par->vp), last = par->pp * par->vp - 1;
    size_t per_mb = 0;
    for (int64_t c = 0; c < par->vp; c++) {
        int64_t g = c * par->pp + stage;
        for (int64_t l = g * L; l < (g + 1) * L; l++)
            per_mb += wl_layer_ops_at(w, par, l, 0, NULL, 0) +
                      wl_layer_ops_at(w, par, l, 1, NULL, 0);
        if (g == 0)
            per_mb += wl_embedding_ops(w, par, 0, NULL, 0) + wl_embedding_ops(w, par, 1, NULL, 0);
        if (g == last)
            per_mb += wl_head_ops(w, par, 0, NULL, 0) + wl_head_ops(w, par, 1, NULL, 0);
    }
    return per_mb * (size_t)plan_microbatches(p) + 1;
}

static size_t count_kind(const prog *pr, plan_item_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < pr->n; i++)
        n += pr->it[i].kind == kind;
    return n;
}

/*
 * cfg-tiny, 2 layers per stage, m = 4. A dense layer has 10 ops each way (attn_norm, qkv,
 * attention, attn_proj, attn_residual, mlp_norm, mlp_up, mlp_act, mlp_down, mlp_residual);
 * the embedding 1 each way (no learned positions), the head 3 (final_norm, logits, loss).
 * Stage 0: 4 x (1 + 2 x 10 + 2 x 10 + 1) + 1 optimizer = 169.
 * Stage 1: 4 x (2 x 10 + 3 + 3 + 2 x 10) + 1 = 185.
 * Full recomputation adds the 10 forward ops to each backward layer: + 4 x 2 x 10 = 80.
 * Selective adds the attention only: + 4 x 2 = 8.
 * The ops of each layer pass are those of wl_layer_ops_at, in its order, with its FLOPs.
 */
START_TEST(test_compute_items)
{
    static const char *const none[] = {NULL};
    static const char *const full[] = {"parallelism.recompute=full", NULL};
    static const char *const sel[] = {"parallelism.recompute=selective",
                                      "parallelism.sequence_parallel=true", NULL};
    static const char *const il[] = {"parallelism.virtual_stages=2",
                                     "parallelism.schedule=interleaved", NULL};
    static const char *const gp[] = {"parallelism.schedule=gpipe", "parallelism.zero=1", NULL};
    const char *const *variants[] = {none, full, sel, il, gp};
    static const size_t hand[5][2] = {{169, 185}, {249, 265}, {177, 193}, {169, 185},
                                      {169, 185}};
    for (size_t v = 0; v < 5; v++) {
        plan *p = load_tiny(variants[v]);
        for (int64_t stage = 0; stage < 2; stage++) {
            prog pr;
            int64_t rank = plan_group_member(p, 0, PLAN_PP, stage);
            prog_collect(p, rank, &pr);
            size_t got = count_kind(&pr, PLAN_ITEM_COMPUTE);
            ck_assert_uint_eq(got, want_compute(p, stage));
            ck_assert_uint_eq(got, hand[v][stage]);
            /* op by op against the model */
            for (size_t i = 0; i < pr.n;) {
                const plan_item *it = &pr.it[i];
                if (it->kind != PLAN_ITEM_COMPUTE || it->layer < 0) {
                    i++;
                    continue;
                }
                wl_op ops[WL_OPS_MAX];
                size_t n = wl_layer_ops_at(plan_workload(p), plan_parallel(p), it->layer,
                                           it->backward, ops, WL_OPS_MAX);
                int64_t layer = it->layer, mb = it->mb;
                int b = it->backward;
                size_t k = 0;
                for (; i < pr.n && pr.it[i].layer == layer && pr.it[i].mb == mb &&
                       pr.it[i].backward == b;
                     i++) {
                    if (pr.it[i].kind != PLAN_ITEM_COMPUTE)
                        continue;
                    ck_assert_uint_lt(k, n);
                    ck_assert_str_eq(pr.it[i].op.name, ops[k].name);
                    ck_assert_double_eq(pr.it[i].op.flops, ops[k].flops);
                    ck_assert_int_eq(pr.it[i].op.recompute, ops[k].recompute);
                    k++;
                }
                ck_assert_uint_eq(k, n);
            }
            prog_free(&pr);
        }
        plan_destroy(p);
    }
}
END_TEST

/* One pass of a program as counted by hand: direction, micro-batch, chunk, its items, and
 * where its DP gradient reduction sits (counted from the pass's last item; -1: none). */
typedef struct pass_shape {
    int b;
    int64_t mb, chunk;
    size_t n;
    int dp_at;
} pass_shape;

/* Items of a program by kind: compute, TP collectives, DP collectives, sends, receives, waits. */
enum { SH_COMPUTE, SH_TP, SH_DP, SH_SEND, SH_RECV, SH_WAIT, SH_KINDS };

/*
 * Checks rank's program pass by pass (a pass: the longest run of items of one direction,
 * micro-batch and chunk) against want[0..n_pass), then the tail (the wait, the optimizer)
 * and the count of each kind of item.
 */
static void check_shape(const plan *p, int64_t rank, const pass_shape *want, size_t n_pass,
                        const size_t kinds[SH_KINDS])
{
    prog pr;
    size_t got[SH_KINDS] = {0}, i = 0, k = 0;
    prog_collect(p, rank, &pr);
    while (i < pr.n && pr.it[i].mb >= 0) {
        const plan_item *a = &pr.it[i];
        size_t j = i, dp = 0, dp_at = 0;
        for (; j < pr.n && pr.it[j].mb == a->mb && pr.it[j].chunk == a->chunk &&
               pr.it[j].backward == a->backward;
             j++)
            if (pr.it[j].kind == PLAN_ITEM_COLL && pr.it[j].dim == PLAN_DP) {
                dp++;
                dp_at = j;
            }
        ck_assert_uint_lt(k, n_pass);
        ck_assert_msg(a->backward == want[k].b && a->mb == want[k].mb &&
                          a->chunk == want[k].chunk && j - i == want[k].n,
                      "rank %lld pass %zu: %s mb %lld chunk %lld, %zu items; want %s %lld %lld, "
                      "%zu", (long long)rank, k, a->backward ? "B" : "F", (long long)a->mb,
                      (long long)a->chunk, j - i, want[k].b ? "B" : "F",
                      (long long)want[k].mb, (long long)want[k].chunk, want[k].n);
        ck_assert_uint_eq(dp, want[k].dp_at >= 0 ? 1 : 0);
        if (dp)
            ck_assert_uint_eq(j - 1 - dp_at, (size_t)want[k].dp_at);
        k++;
        i = j;
    }
    ck_assert_uint_eq(k, n_pass);
    ck_assert_uint_eq(pr.n - i, 2);
    ck_assert_int_eq(pr.it[i].kind, PLAN_ITEM_WAIT_DP);
    ck_assert_int_eq(pr.it[i + 1].kind, PLAN_ITEM_COMPUTE);
    ck_assert_int_eq(pr.it[i + 1].op.kind, WL_OP_OPTIMIZER);
    for (i = 0; i < pr.n; i++) {
        const plan_item *it = &pr.it[i];
        switch (it->kind) {
        case PLAN_ITEM_COMPUTE: got[SH_COMPUTE]++; break;
        case PLAN_ITEM_COLL: got[it->dim == PLAN_TP ? SH_TP : SH_DP]++; break;
        case PLAN_ITEM_SEND: got[SH_SEND]++; break;
        case PLAN_ITEM_RECV: got[SH_RECV]++; break;
        case PLAN_ITEM_WAIT_DP: got[SH_WAIT]++; break;
        default: ck_abort_msg("item kind %d", (int)it->kind);
        }
        ck_assert(it->kind != PLAN_ITEM_COLL || it->dim == PLAN_TP || it->dim == PLAN_DP);
    }
    for (int d = 0; d < SH_KINDS; d++)
        ck_assert_msg(got[d] == kinds[d], "rank %lld: %zu items of kind %d, want %zu",
                      (long long)rank, got[d], d, kinds[d]);
    prog_free(&pr);
}

/*
 * Whole programs, counted by hand. cfg-tiny: tp 2, pp 2, dp 4, m = 4, 2 layers per stage,
 * no SP, ZeRO or recomputation. A layer has 10 ops and 2 TP all-reduces each way (after
 * attn_proj and mlp_down forward, after qkv and mlp_up backward): 12 items. Embedding:
 * forward the lookup and its TP all-reduce (2), backward the lookup (1). Head: forward
 * final_norm, logits, loss (3); backward loss, logits, the logits' TP all-reduce,
 * final_norm (4). The DP gradients of a stage (2 layers, 3.1 MB, plus its embedding or
 * head) fill less than one 25 MiB bucket: one all-reduce in the last backward pass, after
 * the embedding on stage 0, after the last layer (before the send) on stage 1.
 * 1F1B (warm-up p - s - 1 forwards):
 *   stage 0 (rank 0): F0 F1 B0 F2 B1 F3 B2 B3; forward = embedding 2 + 24 + send = 27,
 *     backward = recv + 24 + embedding 1 = 26 (B3: + the reduction); tail wait, optimizer:
 *     4 x 27 + 4 x 26 + 1 + 2 = 215 = compute 4 x 21 + 4 x 21 + 1 = 169, TP 4 x 5 + 4 x 4 = 36,
 *     DP 1, send 4, recv 4, wait 1.
 *   stage 1 (rank 8): F0 B0 F1 B1 F2 B2 F3 B3; forward = recv + 24 + head 3 = 28, backward =
 *     head 4 + 24 + send = 29 (B3: + the reduction): 231 = compute 4 x 23 + 4 x 23 + 1 = 185,
 *     TP 4 x 4 + 4 x 5 = 36, DP 1, send 4, recv 4, wait 1.
 * Interleaved (v = 2, one layer per chunk; stage 0 holds virtual stages 0 and 2, stage 1
 * holds 1 and 3; pass orders of test_interleaved_p2_m4_v2), the reduction in each chunk's
 * last backward pass:
 *   stage 0: F on g 0 = 2 + 12 + send = 15, on g 2 = recv + 12 + send = 14; B on g 0 =
 *     recv + 12 + 1 = 14, on g 2 = recv + 12 + send = 14: 4 x 57 + 2 + 2 = 232 = compute
 *     4 x (11 + 10 + 11 + 10) + 1 = 169, TP 4 x (3 + 2 + 2 + 2) = 36, DP 2, send 12,
 *     recv 12, wait 1.
 *   stage 1: F on g 1 = recv + 12 + send = 14, on g 3 = recv + 12 + 3 = 16; B on g 1 = 14,
 *     on g 3 = 4 + 12 + send = 17: 4 x 61 + 2 + 2 = 248 = compute 4 x (10 + 13 + 10 + 13)
 *     + 1 = 185, TP 4 x (2 + 2 + 2 + 3) = 36, DP 2, send 12, recv 12, wait 1.
 */
START_TEST(test_program_shape)
{
    static const pass_shape f1b_s0[] = {
        {0, 0, 0, 27, -1}, {0, 1, 0, 27, -1}, {1, 0, 0, 26, -1}, {0, 2, 0, 27, -1},
        {1, 1, 0, 26, -1}, {0, 3, 0, 27, -1}, {1, 2, 0, 26, -1}, {1, 3, 0, 27, 0}};
    static const pass_shape f1b_s1[] = {
        {0, 0, 0, 28, -1}, {1, 0, 0, 29, -1}, {0, 1, 0, 28, -1}, {1, 1, 0, 29, -1},
        {0, 2, 0, 28, -1}, {1, 2, 0, 29, -1}, {0, 3, 0, 28, -1}, {1, 3, 0, 30, 1}};
    static const pass_shape il_s0[] = {
        {0, 0, 0, 15, -1}, {0, 1, 0, 15, -1}, {0, 0, 1, 14, -1}, {0, 1, 1, 14, -1},
        {0, 2, 0, 15, -1}, {1, 0, 1, 14, -1}, {0, 3, 0, 15, -1}, {1, 1, 1, 14, -1},
        {0, 2, 1, 14, -1}, {1, 0, 0, 14, -1}, {0, 3, 1, 14, -1}, {1, 1, 0, 14, -1},
        {1, 2, 1, 14, -1}, {1, 3, 1, 15, 1},  {1, 2, 0, 14, -1}, {1, 3, 0, 15, 0}};
    static const pass_shape il_s1[] = {
        {0, 0, 0, 14, -1}, {0, 1, 0, 14, -1}, {0, 0, 1, 16, -1}, {1, 0, 1, 17, -1},
        {0, 1, 1, 16, -1}, {1, 1, 1, 17, -1}, {0, 2, 0, 14, -1}, {1, 0, 0, 14, -1},
        {0, 3, 0, 14, -1}, {1, 1, 0, 14, -1}, {0, 2, 1, 16, -1}, {1, 2, 1, 17, -1},
        {0, 3, 1, 16, -1}, {1, 3, 1, 18, 1},  {1, 2, 0, 14, -1}, {1, 3, 0, 15, 1}};
    static const size_t f1b_k[2][SH_KINDS] = {{169, 36, 1, 4, 4, 1}, {185, 36, 1, 4, 4, 1}};
    static const size_t il_k[2][SH_KINDS] = {{169, 36, 2, 12, 12, 1}, {185, 36, 2, 12, 12, 1}};
    static const char *const il[] = {"parallelism.virtual_stages=2",
                                     "parallelism.schedule=interleaved", NULL};
    plan *p = load_tiny(NULL);
    check_shape(p, 0, f1b_s0, 8, f1b_k[0]);
    check_shape(p, 8, f1b_s1, 8, f1b_k[1]);
    plan_destroy(p);
    p = load_tiny(il);
    check_shape(p, 0, il_s0, 16, il_k[0]);
    check_shape(p, 8, il_s1, 16, il_k[1]);
    plan_destroy(p);
}
END_TEST

typedef struct sig_case {
    const char *sets[4];
    const char *fwd, *bwd;
} sig_case;

/*
 * The items of layer 0, micro-batch 0 on rank 0, per plan_prog.h's file comment (Megatron-LM:
 * Shoeybi et al. 2019 f/g operators; Korthikanti et al. 2022 for SP). act = b s h 2 =
 * 1 x 128 x 256 x 2 = 65,536 bytes per TP collective.
 */
static const sig_case sig_cases[] = {
    /* tp 2, no SP: forward all-reduce after attn_proj and mlp_down; backward after qkv
     * and mlp_up: 2 + 2 */
    {{NULL},
     "attn_norm qkv attention attn_proj AR:tp attn_residual mlp_norm mlp_up mlp_act mlp_down "
     "AR:tp mlp_residual",
     "mlp_residual mlp_down mlp_act mlp_up AR:tp mlp_norm attn_residual attn_proj attention "
     "qkv AR:tp attn_norm"},
    /* SP: all-gather before qkv and mlp_up, reduce-scatter after attn_proj and mlp_down;
     * backward the conjugates, and the inputs of qkv and mlp_up gathered again for their
     * weight gradients (Megatron-LM keeps only the sequence shard): 4 AG + 2 RS backward */
    {{"parallelism.sequence_parallel=true", NULL},
     "attn_norm AG:tp qkv attention attn_proj RS:tp attn_residual mlp_norm AG:tp mlp_up "
     "mlp_act mlp_down RS:tp mlp_residual",
     "mlp_residual AG:tp mlp_down mlp_act AG:tp mlp_up RS:tp mlp_norm attn_residual AG:tp "
     "attn_proj attention AG:tp qkv RS:tp attn_norm"},
    /* full recomputation: the recomputed forward brings its 2 all-reduces again: 4 */
    {{"parallelism.recompute=full", NULL},
     "attn_norm qkv attention attn_proj AR:tp attn_residual mlp_norm mlp_up mlp_act mlp_down "
     "AR:tp mlp_residual",
     "attn_norm* qkv* attention* attn_proj* AR:tp attn_residual* mlp_norm* mlp_up* mlp_act* "
     "mlp_down* AR:tp mlp_residual* "
     "mlp_residual mlp_down mlp_act mlp_up AR:tp mlp_norm attn_residual attn_proj attention "
     "qkv AR:tp attn_norm"},
    /* full recomputation with SP: 6 AG + 4 RS backward */
    {{"parallelism.recompute=full", "parallelism.sequence_parallel=true", NULL},
     "attn_norm AG:tp qkv attention attn_proj RS:tp attn_residual mlp_norm AG:tp mlp_up "
     "mlp_act mlp_down RS:tp mlp_residual",
     "attn_norm* AG:tp qkv* attention* attn_proj* RS:tp attn_residual* mlp_norm* AG:tp mlp_up* "
     "mlp_act* mlp_down* RS:tp mlp_residual* "
     "mlp_residual AG:tp mlp_down mlp_act AG:tp mlp_up RS:tp mlp_norm attn_residual AG:tp "
     "attn_proj attention AG:tp qkv RS:tp attn_norm"},
    /* selective: the attention core is recomputed, no TP collective comes with it */
    {{"parallelism.recompute=selective", NULL},
     "attn_norm qkv attention attn_proj AR:tp attn_residual mlp_norm mlp_up mlp_act mlp_down "
     "AR:tp mlp_residual",
     "attention* mlp_residual mlp_down mlp_act mlp_up AR:tp mlp_norm attn_residual attn_proj "
     "attention qkv AR:tp attn_norm"},
    /* tp 1: no collectives at all */
    {{"parallelism.tp=1", "parallelism.dp=8", NULL},
     "attn_norm qkv attention attn_proj attn_residual mlp_norm mlp_up mlp_act mlp_down "
     "mlp_residual",
     "mlp_residual mlp_down mlp_act mlp_up mlp_norm attn_residual attn_proj attention qkv "
     "attn_norm"},
    /* ZeRO-3: the layer's parameters all-gathered over dp before it, each pass */
    {{"parallelism.zero=3", NULL},
     "AG:dp attn_norm qkv attention attn_proj AR:tp attn_residual mlp_norm mlp_up mlp_act "
     "mlp_down AR:tp mlp_residual",
     "AG:dp mlp_residual mlp_down mlp_act mlp_up AR:tp mlp_norm attn_residual attn_proj "
     "attention qkv AR:tp attn_norm"},
    /* cp 2, ring attention (cp_comm_type p2p, the default): K and V travel the ring beside
     * the attention op (~: joined after it); backward they circulate again and their
     * gradients travel back the same way, both beside the attention backward */
    {{"parallelism.cp=2", "parallelism.dp=2", NULL},
     "attn_norm qkv AG:cp~ attention attn_proj AR:tp attn_residual mlp_norm mlp_up mlp_act "
     "mlp_down AR:tp mlp_residual",
     "mlp_residual mlp_down mlp_act mlp_up AR:tp mlp_norm attn_residual attn_proj AG:cp~ "
     "RS:cp~ attention qkv AR:tp attn_norm"},
    /* cp 2, all-gather CP (Llama 3): K and V all-gathered before attention, their gradients
     * reduce-scattered after it, both holding the compute stream */
    {{"parallelism.cp=2", "parallelism.dp=2", "parallelism.cp_comm_type=all_gather", NULL},
     "attn_norm qkv AG:cp attention attn_proj AR:tp attn_residual mlp_norm mlp_up mlp_act "
     "mlp_down AR:tp mlp_residual",
     "mlp_residual mlp_down mlp_act mlp_up AR:tp mlp_norm attn_residual attn_proj AG:cp "
     "attention RS:cp qkv AR:tp attn_norm"},
};

START_TEST(test_layer_collectives)
{
    const sig_case *c = &sig_cases[_i];
    plan *p = load_tiny(c->sets);
    prog pr;
    prog_collect(p, 0, &pr);
    char got[4096];
    layer_sig(&pr, 0, 0, 0, got, sizeof got);
    ck_assert_str_eq(got, c->fwd);
    layer_sig(&pr, 0, 0, 1, got, sizeof got);
    ck_assert_str_eq(got, c->bwd);
    /* every layer and micro-batch of the rank has the same layout; TP buffers are one
     * micro-batch's activations on this rank's part of the sequence, b s h 2 / cp =
     * 65,536 / cp bytes; a CP all-gather holds K and V of the whole sequence on this rank's
     * heads: 2 x 128 x 256 / 2 x 2 = 65,536 bytes */
    char again[4096];
    for (int64_t mb = 0; mb < plan_microbatches(p); mb++)
        for (int64_t layer = 0; layer < 2; layer++)
            for (int b = 0; b < 2; b++) {
                layer_sig(&pr, layer, mb, b, again, sizeof again);
                ck_assert_str_eq(again, b ? c->bwd : c->fwd);
            }
    for (size_t i = 0; i < pr.n; i++)
        if (pr.it[i].kind == PLAN_ITEM_COLL && pr.it[i].layer >= 0 && !pr.it[i].async &&
            (pr.it[i].dim == PLAN_TP || pr.it[i].dim == PLAN_CP)) {
            ck_assert_double_eq(pr.it[i].bytes, pr.it[i].dim == PLAN_CP
                                                    ? 65536.0
                                                    : 65536.0 / (double)plan_parallel(p)->cp);
            ck_assert_int_eq(pr.it[i].async, 0);
        }
    prog_free(&pr);
    plan_destroy(p);
}
END_TEST

/*
 * EP on cfg-moe (layers 1 and 3 are MoE, every 2): all-to-all over ep after moe_dispatch
 * and before moe_combine forward; backward the mirror image, after moe_combine's backward
 * and before moe_dispatch's (gradients travel back to the tokens' ranks); a dense layer has
 * none. a2a = b s k cf h 2 =
 * 128 x 2 x 1 x 256 x 2 = 131,072 bytes. Without SP the MoE layer's TP all-reduce follows
 * moe_combine forward and router backward.
 */
START_TEST(test_moe_collectives)
{
    plan *p = load(MOE, NULL, 0);
    prog pr;
    prog_collect(p, 0, &pr);
    char got[4096];
    layer_sig(&pr, 1, 0, 0, got, sizeof got);
    ck_assert_str_eq(got, "attn_norm qkv attention attn_proj AR:tp attn_residual mlp_norm "
                          "router moe_dispatch A2A:ep expert_up expert_act expert_down A2A:ep "
                          "moe_combine AR:tp mlp_residual");
    layer_sig(&pr, 1, 0, 1, got, sizeof got);
    ck_assert_str_eq(got, "mlp_residual moe_combine A2A:ep expert_down expert_act expert_up "
                          "A2A:ep moe_dispatch router AR:tp mlp_norm attn_residual attn_proj "
                          "attention qkv AR:tp attn_norm");
    layer_sig(&pr, 0, 0, 0, got, sizeof got);
    ck_assert_ptr_null(strstr(got, "A2A"));
    size_t a2a = 0;
    for (size_t i = 0; i < pr.n; i++)
        if (pr.it[i].kind == PLAN_ITEM_COLL && pr.it[i].coll == COLL_ALLTOALL) {
            ck_assert_int_eq(pr.it[i].dim, PLAN_EP);
            ck_assert_double_eq(pr.it[i].bytes, 131072.0);
            a2a++;
        }
    ck_assert_uint_eq(a2a, 4 * 4); /* one MoE layer on stage 0, 4 micro-batches, 2 + 2 */
    prog_free(&pr);
    plan_destroy(p);
    /* With SP each tp rank dispatches its own 1/tp of the tokens: 131,072 / 2 bytes; the
     * router's input is gathered again backward for its weight gradient */
    ydoc_override sp = {"parallelism.sequence_parallel", "true", "test"};
    p = load(MOE, &sp, 1);
    ck_assert_int_eq(plan_parallel(p)->tp, 2);
    prog_collect(p, 0, &pr);
    a2a = 0;
    for (size_t i = 0; i < pr.n; i++)
        if (pr.it[i].kind == PLAN_ITEM_COLL && pr.it[i].coll == COLL_ALLTOALL) {
            ck_assert_double_eq(pr.it[i].bytes, 131072.0 / 2);
            a2a++;
        }
    ck_assert_uint_eq(a2a, 4 * 4);
    layer_sig(&pr, 1, 0, 1, got, sizeof got);
    ck_assert_ptr_nonnull(strstr(got, "moe_dispatch AG:tp router RS:tp"));
    prog_free(&pr);
    plan_destroy(p);
}
END_TEST

/* A send or receive as the pipeline edge it crosses: (from rank, to rank, mb, edge
 * between virtual stages edge and edge + 1, backward, bytes). */
typedef struct edge {
    int64_t from, to, mb, edge;
    int backward;
    double bytes;
} edge;

static int edge_cmp(const void *a, const void *b)
{
    const edge *x = a, *y = b;
    const int64_t kx[5] = {x->from, x->to, x->mb, x->edge, x->backward};
    const int64_t ky[5] = {y->from, y->to, y->mb, y->edge, y->backward};
    for (int i = 0; i < 5; i++)
        if (kx[i] != ky[i])
            return kx[i] < ky[i] ? -1 : 1;
    return x->bytes < y->bytes ? -1 : x->bytes > y->bytes;
}

/*
 * Every SEND from rank a to rank b has exactly one matching RECV on rank b, over every
 * rank of the job: same micro-batch, same pipeline edge (virtual stages g, g + 1 with
 * g = chunk p + stage), same direction and bytes. Forward sends go to virtual stage g + 1,
 * backward sends to g - 1; the peer is the PP-group member of that stage. Sends per job:
 * m x (pp v - 1) edges x 2 directions x (tp dp) pipelines.
 */
static void check_pipeline(const char *const *sets, double act_bytes)
{
    plan *p = load_tiny(sets);
    int64_t pp = plan_parallel(p)->pp, G = pp * plan_parallel(p)->vp, m = plan_microbatches(p);
    size_t cap = 1 << 16, ns = 0, nr = 0;
    edge *snd = malloc(cap * sizeof *snd), *rcv = malloc(cap * sizeof *rcv);
    ck_assert(snd && rcv);
    for (int64_t r = 0; r < plan_ranks(p); r++) {
        prog pr;
        prog_collect(p, r, &pr);
        int64_t s = plan_coord(p, r, PLAN_PP);
        for (size_t i = 0; i < pr.n; i++) {
            const plan_item *it = &pr.it[i];
            if (it->kind != PLAN_ITEM_SEND && it->kind != PLAN_ITEM_RECV)
                continue;
            int64_t g = it->chunk * pp + s;
            int send = it->kind == PLAN_ITEM_SEND;
            /* the edge crossed, and the virtual stage on the other side */
            int64_t e = send ? (it->backward ? g - 1 : g) : (it->backward ? g : g - 1);
            int64_t other = e == g ? g + 1 : g - 1;
            ck_assert(other >= 0 && other < G);
            ck_assert_int_eq(it->peer, plan_group_member(p, r, PLAN_PP, other % pp));
            ck_assert_double_eq(it->bytes, act_bytes);
            edge x = {send ? r : it->peer, send ? it->peer : r, it->mb, e, it->backward,
                      it->bytes};
            ck_assert(ns < cap && nr < cap);
            if (send)
                snd[ns++] = x;
            else
                rcv[nr++] = x;
        }
        prog_free(&pr);
    }
    size_t want = (size_t)(m * (G - 1) * 2 * plan_parallel(p)->tp * plan_parallel(p)->dp);
    ck_assert_uint_eq(ns, want);
    ck_assert_uint_eq(nr, want);
    qsort(snd, ns, sizeof *snd, edge_cmp);
    qsort(rcv, nr, sizeof *rcv, edge_cmp);
    for (size_t i = 0; i < ns; i++) {
        ck_assert_msg(edge_cmp(&snd[i], &rcv[i]) == 0,
                      "send %lld->%lld mb %lld edge %lld bwd %d has no matching receive",
                      (long long)snd[i].from, (long long)snd[i].to, (long long)snd[i].mb,
                      (long long)snd[i].edge, snd[i].backward);
        if (i > 0)
            ck_assert(edge_cmp(&snd[i - 1], &snd[i]) != 0); /* no duplicate */
    }
    free(snd);
    free(rcv);
    plan_destroy(p);
}

START_TEST(test_pipeline_send_recv)
{
    /* 1F1B, tp 2 pp 2 dp 4, m 4: 4 x 1 x 2 x 8 = 64 sends; b s h 2 = 65,536 bytes */
    check_pipeline(NULL, 65536.0);
    /* interleaved, v 2: 4 virtual stages of one layer: 4 x 3 x 2 x 8 = 192 sends */
    static const char *const il[] = {"parallelism.virtual_stages=2",
                                     "parallelism.schedule=interleaved", NULL};
    check_pipeline(il, 65536.0);
    /* GPipe, pp 4, SP: the payload is sequence-sharded, 65,536 / 2 */
    static const char *const gp[] = {"parallelism.schedule=gpipe", "parallelism.pp=4",
                                     "parallelism.dp=2", "parallelism.sequence_parallel=true",
                                     NULL};
    check_pipeline(gp, 32768.0);
    /* interleaved again with placement [pp, tp, cp, dp]: pipeline peers are adjacent chips */
    static const char *const il4[] = {"parallelism.virtual_stages=2", "parallelism.pp=2",
                                      "parallelism.schedule=interleaved",
                                      "parallelism.placement=[pp, tp, cp, dp]", NULL};
    check_pipeline(il4, 65536.0);
}
END_TEST

/* plan_prog_next_ref gives plan_prog_next's items (template items unstamped, -1), in
 * template storage for the layers', embedding's and head's and in buf for the others. */
START_TEST(test_next_ref_matches_next)
{
    static const char *const sets[] = {"parallelism.virtual_stages=2",
                                       "parallelism.schedule=interleaved", "parallelism.zero=1",
                                       "parallelism.sequence_parallel=true", NULL};
    plan *p = load_tiny(sets);
    for (int64_t r = 0; r < plan_ranks(p); r += 3) {
        plan_cursor a, b;
        plan_item x, buf;
        plan_prog_begin(p, r, &a);
        plan_prog_begin(p, r, &b);
        size_t n = 0, refs = 0;
        for (;;) {
            int ka = plan_prog_next(p, &a, &x);
            const plan_item *y = plan_prog_next_ref(p, &b, &buf);
            ck_assert_int_eq(ka, y != NULL);
            if (!ka)
                break;
            n++;
            ck_assert_int_eq(x.kind, y->kind);
            ck_assert_int_eq(x.op_id, y->op_id);
            ck_assert_int_eq(x.coll, y->coll);
            ck_assert_int_eq(x.dim, y->dim);
            ck_assert_int_eq(x.group, y->group);
            ck_assert_double_eq(x.bytes, y->bytes);
            ck_assert_int_eq(x.async, y->async);
            ck_assert_int_eq(x.peer, y->peer);
            ck_assert_int_eq(x.backward, y->backward);
            if (x.kind == PLAN_ITEM_COMPUTE) {
                ck_assert_str_eq(x.op.name, y->op.name);
                ck_assert_double_eq(x.op.flops, y->op.flops);
            }
            if (y == &buf) { /* built and stamped */
                ck_assert_int_eq(x.mb, y->mb);
                ck_assert_int_eq(x.chunk, y->chunk);
                ck_assert_int_eq(x.layer, y->layer);
            } else { /* a template's: shared, not stamped */
                refs++;
                ck_assert_int_eq(y->mb, -1);
                ck_assert_int_eq(y->layer, -1);
                ck_assert_int_ge(x.mb, 0);
            }
            /* only a template's compute ops carry an op id */
            if (x.kind == PLAN_ITEM_COMPUTE && y != &buf)
                ck_assert_int_gt(x.op_id, 0);
            else
                ck_assert_int_eq(x.op_id, 0);
            ck_assert_int_lt(x.op_id, PLAN_OP_IDS);
        }
        ck_assert_uint_gt(refs, 100);
        ck_assert_uint_gt(n, refs);
    }
    plan_destroy(p);
}
END_TEST

/* Two cursors over one rank, advanced in turn, give the same items. */
START_TEST(test_determinism)
{
    static const char *const sets[] = {"parallelism.virtual_stages=2",
                                       "parallelism.schedule=interleaved", "parallelism.zero=1",
                                       "parallelism.sequence_parallel=true", NULL};
    plan *p = load_tiny(sets);
    plan *q = load_tiny(sets);
    for (int64_t r = 0; r < plan_ranks(p); r += 5) {
        plan_cursor a, b, c;
        plan_item x, y, z;
        plan_prog_begin(p, r, &a);
        plan_prog_begin(p, r, &b);
        plan_prog_begin(q, r, &c); /* a second plan from the same file */
        size_t n = 0;
        for (;;) {
            int ka = plan_prog_next(p, &a, &x), kb = plan_prog_next(p, &b, &y),
                kc = plan_prog_next(q, &c, &z);
            ck_assert_int_eq(ka, kb);
            ck_assert_int_eq(ka, kc);
            if (!ka)
                break;
            n++;
            const plan_item *o[2] = {&y, &z};
            for (int k = 0; k < 2; k++) {
                ck_assert_int_eq(x.kind, o[k]->kind);
                ck_assert_int_eq(x.coll, o[k]->coll);
                ck_assert_int_eq(x.dim, o[k]->dim);
                ck_assert_double_eq(x.bytes, o[k]->bytes);
                ck_assert_int_eq(x.async, o[k]->async);
                ck_assert_int_eq(x.peer, o[k]->peer);
                ck_assert_int_eq(x.backward, o[k]->backward);
                ck_assert_int_eq(x.mb, o[k]->mb);
                ck_assert_int_eq(x.chunk, o[k]->chunk);
                ck_assert_int_eq(x.layer, o[k]->layer);
                if (x.kind == PLAN_ITEM_COMPUTE) {
                    ck_assert_str_eq(x.op.name, o[k]->op.name);
                    ck_assert_double_eq(x.op.flops, o[k]->op.flops);
                    ck_assert_double_eq(x.op.hbm_bytes, o[k]->op.hbm_bytes);
                }
            }
        }
        ck_assert_uint_gt(n, 100);
        /* a finished program stays finished */
        ck_assert_int_eq(plan_prog_next(p, &a, &x), 0);
    }
    plan_destroy(p);
    plan_destroy(q);
}
END_TEST

/* ==== data parallelism ================================================================== */

static int is_grad(const plan_item *it)
{
    return it->kind == PLAN_ITEM_COLL && it->dim == PLAN_DP && it->async;
}

/*
 * Gradient reductions of cfg-tiny (dp 4, m 4) on both stages, ZeRO 0 to 3: over dp,
 * asynchronous, all-reduce with ZeRO 0 and reduce-scatter from ZeRO 1 on; ZeRO 0/1 reduce
 * only in the last backward pass of the chunk (mb = 3), ZeRO 2/3 (sharded gradients, no
 * full buffer to accumulate into) after every micro-batch's backward (mb 0..3); one
 * reduction per pass here (a layer's
 * gradients, 786,944 bytes, are far below a 25 MiB bucket), issued at the end of that
 * pass (after the last layer, or after the embedding on stage 0). The program ends with
 * WAIT_DP and the optimizer op, then for ZeRO-1/2 the parameter all-gather over dp
 * (synchronous). ZeRO-3: one parameter all-gather per layer and pass: 2 layers x 8 passes.
 */
START_TEST(test_dp_structure)
{
    for (int zero = 0; zero <= 3; zero++) {
        char set[32];
        snprintf(set, sizeof set, "parallelism.zero=%d", zero);
        const char *const sets[] = {set, NULL};
        plan *p = load_tiny(sets);
        for (int64_t stage = 0; stage < 2; stage++) {
            prog pr;
            int64_t rank = plan_group_member(p, 3, PLAN_PP, stage);
            prog_collect(p, rank, &pr);
            size_t grads = 0, gathers = 0, last_compute = 0;
            for (size_t i = 0; i < pr.n; i++) {
                const plan_item *it = &pr.it[i];
                if (it->kind == PLAN_ITEM_COMPUTE && it->op.kind != WL_OP_OPTIMIZER)
                    last_compute = i;
                if (it->kind == PLAN_ITEM_COLL && it->dim == PLAN_DP && !it->async &&
                    it->layer >= 0) {
                    ck_assert_int_eq(zero, 3);
                    ck_assert_int_eq(it->coll, COLL_ALLGATHER);
                    gathers++;
                }
                if (!is_grad(it))
                    continue;
                ck_assert_int_eq(it->coll, zero ? COLL_REDUCE_SCATTER : COLL_ALLREDUCE);
                ck_assert_int_eq(it->backward, 1);
                ck_assert_int_eq(it->mb, zero >= 2 ? (int64_t)grads : 3);
                ck_assert_int_eq(it->chunk, 0);
                ck_assert_double_gt(it->bytes, 0);
                grads++;
            }
            ck_assert_uint_eq(grads, zero >= 2 ? 4 : 1);
            ck_assert_uint_eq(gathers, zero == 3 ? 16 : 0);
            /* the last reduction comes after the chunk's last compute op */
            size_t g = pr.n - 1;
            while (!is_grad(&pr.it[g]))
                g--;
            ck_assert_uint_gt(g, last_compute);
            /* the tail */
            size_t tail = zero == 1 || zero == 2 ? 3 : 2;
            ck_assert_uint_ge(pr.n, tail);
            const plan_item *t = &pr.it[pr.n - tail];
            ck_assert_int_eq(t[0].kind, PLAN_ITEM_WAIT_DP);
            ck_assert_int_eq(t[1].kind, PLAN_ITEM_COMPUTE);
            ck_assert_int_eq(t[1].op.kind, WL_OP_OPTIMIZER);
            wl_op opt;
            wl_optimizer_op(plan_workload(p), plan_parallel(p), stage, &opt);
            ck_assert_double_eq(t[1].op.flops, opt.flops);
            ck_assert_double_eq(t[1].op.hbm_bytes, opt.hbm_bytes);
            if (tail == 3) {
                ck_assert_int_eq(t[2].kind, PLAN_ITEM_COLL);
                ck_assert_int_eq(t[2].coll, COLL_ALLGATHER);
                ck_assert_int_eq(t[2].dim, PLAN_DP);
                ck_assert_int_eq(t[2].async, 0);
            }
            ck_assert_uint_eq(count_kind(&pr, PLAN_ITEM_WAIT_DP), 1);
            prog_free(&pr);
        }
        plan_destroy(p);
    }
}
END_TEST

/*
 * Buckets: with hidden 1024 and 16 layers and bf16 gradients (grad_dtype: bf16) a layer's
 * gradient on a rank is about 12.6 MB (12 h^2 / tp x 2 bytes), so a 25 MiB bucket (26,214,400 bytes) fills after 3 layers
 * (2 layers: 25.2 MB, 3: 37.8 MB). Stage 0 (layers 0-7, walked backward 7..0) flushes after
 * layer 5, after layer 2, and the rest (layers 1, 0 and the embedding) after the embedding.
 * Interleaved with v 2 (chunks of 4 layers): every chunk's last backward pass flushes on
 * its own, chunk 1 (layers 8-11) after layer 9 and at its end, chunk 0 (layers 0-3) after
 * layer 1 and after the embedding.
 */
START_TEST(test_dp_buckets)
{
    static const char *const sets[] = {"workload.model.hidden=1024",
                                       "workload.model.layers=16",
                                       "workload.training.grad_dtype=bf16", NULL};
    plan *p = load_tiny(sets);
    prog pr;
    prog_collect(p, 0, &pr);
    int64_t layers[8];
    size_t n = 0;
    double sum = 0;
    for (size_t i = 0; i < pr.n; i++)
        if (is_grad(&pr.it[i])) {
            ck_assert_uint_lt(n, 8);
            if (n < 2)
                ck_assert_double_ge(pr.it[i].bytes, WL_DP_BUCKET_BYTES);
            sum += pr.it[i].bytes;
            layers[n++] = pr.it[i].layer;
        }
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(layers[0], 5);
    ck_assert_int_eq(layers[1], 2);
    ck_assert_int_eq(layers[2], -1);
    ck_assert_double_gt(sum, 8 * 12.5e6);
    prog_free(&pr);
    plan_destroy(p);

    static const char *const il[] = {"workload.model.hidden=1024", "workload.model.layers=16",
                                     "workload.training.grad_dtype=bf16",
                                     "parallelism.virtual_stages=2",
                                     "parallelism.schedule=interleaved", NULL};
    p = load_tiny(il);
    prog_collect(p, 0, &pr);
    int64_t chunks[8];
    n = 0;
    for (size_t i = 0; i < pr.n; i++)
        if (is_grad(&pr.it[i])) {
            ck_assert_uint_lt(n, 8);
            ck_assert_int_eq(pr.it[i].mb, plan_microbatches(p) - 1);
            chunks[n] = pr.it[i].chunk;
            layers[n++] = pr.it[i].layer;
        }
    ck_assert_uint_eq(n, 4);
    /* chunk 1 of stage 0 is virtual stage 2: layers 8-11, backward 11, 10, 9 | 8 */
    ck_assert_int_eq(chunks[0], 1);
    ck_assert_int_eq(layers[0], 9);
    ck_assert_int_eq(chunks[1], 1);
    ck_assert_int_eq(layers[1], 8);
    ck_assert_int_eq(chunks[2], 0);
    ck_assert_int_eq(layers[2], 1);
    ck_assert_int_eq(chunks[3], 0);
    ck_assert_int_eq(layers[3], -1);
    prog_free(&pr);
    plan_destroy(p);
}
END_TEST

static double grad_sum(const prog *pr)
{
    double s = 0;
    for (size_t i = 0; i < pr->n; i++)
        if (is_grad(&pr->it[i]))
            s += pr->it[i].bytes;
    return s;
}

/* A rank's gradient reductions, asynchronous or not: dp collectives of the backward pass
 * other than parameter gathers. */
static int is_reduction(const plan_item *it)
{
    return it->kind == PLAN_ITEM_COLL && it->dim == PLAN_DP && it->backward &&
           it->coll != COLL_ALLGATHER;
}

/*
 * overlap_grad_reduce off (Megatron-LM's default), cfg-tiny interleaved with v 2: ZeRO 0/1
 * reduce nothing during the backward passes; after the wait, each chunk's gradients in one
 * synchronous collective, chunk 0 then chunk 1, before the optimizer step, carrying the
 * same bytes as the overlapped buckets. ZeRO-2 keeps its per-micro-batch buckets, each
 * synchronous. Cross-checked against the same plan with the overlap on.
 */
START_TEST(test_dp_without_overlap)
{
    for (int zero = 0; zero <= 2; zero++) {
        char z[32];
        snprintf(z, sizeof z, "parallelism.zero=%d", zero);
        const char *const on[] = {z, "parallelism.virtual_stages=2",
                                  "parallelism.schedule=interleaved", NULL};
        const char *const off[] = {z, "parallelism.virtual_stages=2",
                                   "parallelism.schedule=interleaved",
                                   "parallelism.overlap_grad_reduce=false", NULL};
        plan *p = load_tiny(off), *q = load_tiny(on);
        for (int64_t stage = 0; stage < 2; stage++) {
            prog pr, qr;
            prog_collect(p, plan_group_member(p, 3, PLAN_PP, stage), &pr);
            prog_collect(q, plan_group_member(q, 3, PLAN_PP, stage), &qr);
            size_t n = 0, nq = 0, wait = 0;
            double bytes = 0;
            int64_t chunk = 0;
            for (size_t i = 0; i < pr.n; i++) {
                const plan_item *it = &pr.it[i];
                if (it->kind == PLAN_ITEM_WAIT_DP)
                    wait = i;
                if (!is_reduction(it))
                    continue;
                ck_assert_int_eq(it->async, PLAN_SYNC);
                ck_assert_int_eq(it->coll, zero ? COLL_REDUCE_SCATTER : COLL_ALLREDUCE);
                if (zero < 2) { /* in the tail, one per chunk in order */
                    ck_assert_uint_gt(i, wait);
                    ck_assert_uint_eq(i, wait + 1 + n);
                    ck_assert_int_eq(it->chunk, chunk++);
                    ck_assert(wait > 0);
                }
                bytes += it->bytes;
                n++;
            }
            for (size_t i = 0; i < qr.n; i++)
                nq += (size_t)is_grad(&qr.it[i]);
            ck_assert_uint_eq(n, zero < 2 ? 2 : nq);
            ck_assert_double_eq_tol(bytes, grad_sum(&qr), 1e-6 * bytes);
            if (zero < 2) {
                const plan_item *o = &pr.it[wait + 3];
                ck_assert_int_eq(o->kind, PLAN_ITEM_COMPUTE);
                ck_assert_int_eq(o->op.kind, WL_OP_OPTIMIZER);
            }
            prog_free(&pr);
            prog_free(&qr);
        }
        plan_destroy(p);
        plan_destroy(q);
    }
}
END_TEST

/*
 * The defaults: cfg-moe says nothing about the overlap, so its gradients (zero 0) wait for the
 * tail, the dense buffer over dp (4) and then the expert buffer over the expert dp (4 / ep 2
 * = 2); with fsdp: true the default is the overlap, as PyTorch FSDP runs, and turning it off
 * makes the buckets synchronous.
 */
START_TEST(test_dp_overlap_defaults)
{
    plan *p = load(MOE, NULL, 0);
    prog pr;
    prog_collect(p, 0, &pr);
    size_t n = 0, async = 0;
    for (size_t i = 0; i < pr.n; i++) {
        const plan_item *it = &pr.it[i];
        async += (size_t)is_grad(it);
        if (!is_reduction(it))
            continue;
        ck_assert_int_eq(it->group, n == 0 ? PLAN_GROUP_DP_CP : PLAN_GROUP_EXPERT_DP);
        ck_assert_int_eq(plan_slot_size(p, plan_slot(PLAN_DP, it->group)), n == 0 ? 4 : 2);
        ck_assert_int_eq(pr.it[i - 1 - n].kind, PLAN_ITEM_WAIT_DP);
        n++;
    }
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(async, 0);
    prog_free(&pr);
    plan_destroy(p);
    for (int off = 0; off <= 1; off++) {
        ydoc_override ov[2] = {{"parallelism.fsdp", "true", "test"},
                               {"parallelism.overlap_grad_reduce", "false", "test"}};
        p = load(MOE, ov, (size_t)(1 + off));
        prog_collect(p, 0, &pr);
        size_t sync = 0;
        async = 0;
        for (size_t i = 0; i < pr.n; i++) {
            async += (size_t)is_grad(&pr.it[i]);
            sync += (size_t)(is_reduction(&pr.it[i]) && !pr.it[i].async);
        }
        ck_assert_uint_gt(off ? sync : async, 0);
        ck_assert_uint_eq(off ? async : sync, 0);
        prog_free(&pr);
        plan_destroy(p);
    }
}
END_TEST

/*
 * What the plan reduces, from wl_params_count (hand figures for cfg-tiny, tp 2): a layer is
 * dense_layer = 786,944 parameters, of which 512 norm weights are replicated on every tp
 * rank and 786,432 split: 393,216 + 512 = 393,728 x 2 bytes = 787,456 bytes per layer; the
 * embedding V h / tp x 2 = 256,000 bytes on stage 0; the head, output / tp and the replicated
 * final norm, (128,000 + 256) x 2 = 256,512 bytes on stage 1. Stage 0: 2 x 787,456 + 256,000
 * = 1,830,912; stage 1: 2 x 787,456 + 256,512 = 1,831,424. Gradients are fp32 (grad_dtype's
 * default with bf16, Megatron-LM's accumulate_allreduce_grads_in_fp32), twice those bytes:
 * 3,661,824 and 3,662,848.
 * It pins down the bucket plumbing (every layer counted once, the edges on the right stage).
 */
START_TEST(test_dp_bytes_layer_share)
{
    plan *p = load(TINY, NULL, 0);
    wl_params pc;
    wl_params_count(plan_workload(p), &pc);
    ck_assert_double_eq(pc.dense_layer, 786944.0);
    ck_assert_double_eq(pc.embedding, 256000.0);
    ck_assert_double_eq(pc.output, 256000.0);
    ck_assert_double_eq(pc.final_norm, 256.0);
    prog pr;
    prog_collect(p, 0, &pr);
    ck_assert_double_eq(grad_sum(&pr), 2 * ((pc.dense_layer - 512) / 2 + 512) * 4 +
                                           pc.embedding / 2 * 4);
    ck_assert_double_eq(grad_sum(&pr), 2 * 1830912.0);
    prog_free(&pr);
    prog_collect(p, 8, &pr);
    ck_assert_double_eq(grad_sum(&pr), 2 * ((pc.dense_layer - 512) / 2 + 512) * 4 +
                                           (pc.output / 2 + pc.final_norm) * 4);
    ck_assert_double_eq(grad_sum(&pr), 2 * 1831424.0);
    prog_free(&pr);
    plan_destroy(p);
    /* grad_dtype bf16: 2 bytes per gradient, the figures above */
    static const char *const bf16[] = {"workload.training.grad_dtype=bf16", NULL};
    p = load_tiny(bf16);
    prog_collect(p, 0, &pr);
    ck_assert_double_eq(grad_sum(&pr), 1830912.0);
    prog_free(&pr);
    plan_destroy(p);
}
END_TEST

/*
 * Regression (found by this suite, now fixed): the gradient a rank reduces over dp is every parameter it holds (Megatron-LM's DDP
 * buckets all local parameters, replicated ones included), 2 bytes each: the memory model's
 * gradient figure with ZeRO 0 (model.h: "split over tp (norms, row-parallel biases, router
 * and positions replicated)"). plan_tmpl.c divides the whole layer, norms included, by tp
 * (build_layer: shard = layer_params / tp; head_grad_bytes: final norm / tp; emb_grad_bytes:
 * learned positions / tp). cfg-tiny, tp 2: per layer 786,432 split / 2 + 512 norm weights =
 * 393,728 parameters = 787,456 bytes (plan_tmpl.c: 786,944). Stage 0: 2 x 787,456 + 256,000 =
 * 1,830,912 (plan_tmpl.c 1,829,888); stage 1: 2 x 787,456 + 512 + 256,000 = 1,831,424 (plan_tmpl.c
 * 1,830,144). The same holds for the ZeRO-1 parameter all-gather (the same buffer as the
 * reduce-scatter, Megatron's distributed optimizer), which plan_tmpl.c sizes as total params /
 * (pp tp) x 2 = 3,660,032 / 4 x 2 = 1,830,016 on every stage, and for ZeRO-3's per-layer
 * all-gather (787,456 bytes per layer).
 */
START_TEST(test_dp_bytes_rank_gradients)
{
    for (int zero = 0; zero <= 3; zero++) {
        char set[32];
        snprintf(set, sizeof set, "parallelism.zero=%d", zero);
        const char *const sets[] = {set, NULL};
        plan *p = load_tiny(sets);
        wl_parallel unsharded = *plan_parallel(p);
        unsharded.zero = 0;
        unsharded.fsdp = 0;
        for (int64_t stage = 0; stage < 2; stage++) {
            wl_memory mem;
            sim_status st;
            ck_assert_int_eq(wl_memory_stage(plan_workload(p), &unsharded, stage, &mem, &st),
                             SIM_OK);
            /* fp32 gradients: 4 bytes each (test_dp_bytes_layer_share) */
            ck_assert_double_eq(mem.grads, stage == 0 ? 3661824.0 : 3662848.0);
            prog pr;
            prog_collect(p, plan_group_member(p, 0, PLAN_PP, stage), &pr);
            /* ZeRO-2/3 reduce-scatter each of the m = 4 micro-batches' gradients: 4 x the
             * single reduction of ZeRO 0/1 */
            double got = grad_sum(&pr), want_grads = (zero >= 2 ? 4 : 1) * mem.grads;
            ck_assert_msg(got == want_grads, "zero %d stage %lld: reduced %.17g bytes of "
                          "gradients, want %.17g", zero, (long long)stage, got, want_grads);
            for (size_t i = 0; i < pr.n; i++) {
                const plan_item *it = &pr.it[i];
                if (it->kind != PLAN_ITEM_COLL || it->dim != PLAN_DP || it->coll !=
                    COLL_ALLGATHER)
                    continue;
                double want = it->layer >= 0 ? 787456.0 : mem.weights;
                ck_assert_msg(it->bytes == want, "zero %d stage %lld: all-gather of %.17g "
                              "bytes at layer %lld, want %.17g", zero, (long long)stage,
                              it->bytes, (long long)it->layer, want);
            }
            prog_free(&pr);
        }
        plan_destroy(p);
    }
}
END_TEST

/*
 * plan.h: ZeRO-3 parameter gathers are synchronous (no prefetch is modelled): one per layer
 * per pass, each holding the compute stream.
 */
START_TEST(test_zero3_prefetch_async)
{
    static const char *const sets[] = {"parallelism.fsdp=true", NULL};
    plan *p = load_tiny(sets);
    prog pr;
    prog_collect(p, 0, &pr);
    size_t n = 0;
    for (size_t i = 0; i < pr.n; i++)
        if (pr.it[i].kind == PLAN_ITEM_COLL && pr.it[i].coll == COLL_ALLGATHER &&
            pr.it[i].dim == PLAN_DP && pr.it[i].layer >= 0) {
            ck_assert_msg(pr.it[i].async == 0, "ZeRO-3 all-gather is asynchronous");
            n++;
        }
    ck_assert_uint_eq(n, 16);
    prog_free(&pr);
    plan_destroy(p);
}
END_TEST

/*
 * Regression (found by this suite, now fixed): with context parallelism the CP ranks of a DP replica hold the same weights and see
 * different tokens, so their gradients must be reduced too: model.h says ZeRO runs "over
 * the dp * cp replicas (the data-parallel group with context parallelism, as Megatron's
 * distributed optimizer)", and wl_optimizer_op shards the optimizer over dp x cp. The plan
 * only reduced over PLAN_DP and only when dp > 1, so with cp 2, dp 1 the program has no
 * gradient reduction at all (and a ZeRO-1 optimizer op updating half of the parameters).
 */
START_TEST(test_cp_gradients_reduced)
{
    static const char *const sets[] = {"parallelism.chips=8", "parallelism.cp=2",
                                       "parallelism.dp=1", "parallelism.zero=1", NULL};
    plan *p = load_tiny(sets);
    ck_assert_int_eq(plan_ranks(p), 8);
    prog pr;
    prog_collect(p, 0, &pr);
    size_t reductions = 0;
    for (size_t i = 0; i < pr.n; i++)
        if (pr.it[i].kind == PLAN_ITEM_COLL && pr.it[i].async && pr.it[i].backward)
            reductions++;
    ck_assert_msg(reductions > 0, "cp 2, dp 1: no gradient reduction over the cp replicas");
    prog_free(&pr);
    plan_destroy(p);
}
END_TEST

/*
 * Regression (found by this suite, now fixed): the embedding and the output layer are vocab-parallel over tp (model.h,
 * wl_embedding_ops: "a full-size partial output (reduced over tp afterwards)"), so
 * Megatron-LM reduces the embedding output over tp (VocabParallelEmbedding:
 * reduce_from_tensor_model_parallel_region, or reduce_scatter_to_sequence_parallel_region
 * with SP) and, with SP, all-gathers the final norm's sequence-sharded output before the
 * logits GEMM (ColumnParallelLinear with sequence_parallel), reduce-scattering its gradient
 * backward; without SP the logits input gradient is all-reduced backward (the g operator).
 * model_ops.c itself runs the embedding on b s tokens and attn_norm on b s / tp with SP, and
 * final_norm on b s / tp but logits on b s, which needs those collectives. The plan emitted
 * no TP collective on the first or last stage outside the layers.
 */
START_TEST(test_embedding_head_tp_collectives)
{
    for (int sp = 0; sp < 2; sp++) {
        const char *const sets[] = {sp ? "parallelism.sequence_parallel=true"
                                       : "parallelism.sequence_parallel=false", NULL};
        plan *p = load_tiny(sets);
        prog first, last;
        prog_collect(p, 0, &first);
        prog_collect(p, 8, &last);
        size_t emb_fwd = 0, head_fwd = 0, head_bwd = 0, emb_bwd_ag = 0, head_bwd_ag = 0;
        for (size_t i = 0; i < first.n; i++) {
            const plan_item *it = &first.it[i];
            /* backward with SP: the embedding output gradient gathered (the conjugate of the
             * forward reduce-scatter) right before the embedding's backward op */
            if (it->mb == 0 && it->layer < 0 && it->kind == PLAN_ITEM_COLL &&
                it->dim == PLAN_TP && it->backward && it->coll == COLL_ALLGATHER) {
                ck_assert(i + 1 < first.n);
                ck_assert_str_eq(first.it[i + 1].op.name, "embedding");
                ck_assert_double_eq(it->bytes, 65536.0);
                emb_bwd_ag++;
            }
            if (it->mb == 0 && it->layer < 0 && it->kind == PLAN_ITEM_COLL &&
                it->dim == PLAN_TP && !it->backward &&
                it->coll == (sp ? COLL_REDUCE_SCATTER : COLL_ALLREDUCE))
                emb_fwd++;
        }
        for (size_t i = 0; i < last.n; i++) {
            const plan_item *it = &last.it[i];
            if (it->mb != 0 || it->layer >= 0 || it->kind != PLAN_ITEM_COLL ||
                it->dim != PLAN_TP)
                continue;
            if (!it->backward && sp && it->coll == COLL_ALLGATHER)
                head_fwd++;
            if (it->backward && it->coll == (sp ? COLL_REDUCE_SCATTER : COLL_ALLREDUCE))
                head_bwd++;
            /* backward with SP: the logits input gathered again for the weight gradient */
            if (it->backward && it->coll == COLL_ALLGATHER) {
                ck_assert_str_eq(last.it[i + 1].op.name, "logits");
                head_bwd_ag++;
            }
        }
        ck_assert_msg(emb_bwd_ag == (size_t)sp, "sp %d: %zu TP all-gathers before the "
                      "embedding's backward", sp, emb_bwd_ag);
        ck_assert_msg(head_bwd_ag == (size_t)sp, "sp %d: %zu TP all-gathers before the "
                      "logits' backward", sp, head_bwd_ag);
        ck_assert_msg(emb_fwd == 1, "sp %d: %zu TP reductions after the embedding, want 1", sp,
                      emb_fwd);
        ck_assert_msg(head_fwd == (size_t)sp, "sp %d: %zu TP all-gathers before the logits",
                      sp, head_fwd);
        ck_assert_msg(head_bwd == 1, "sp %d: %zu TP reductions of the logits input gradient",
                      sp, head_bwd);
        prog_free(&first);
        prog_free(&last);
        plan_destroy(p);
    }
}
END_TEST

/* Collectives of pr over group (plan_group) with coll; their bytes summed into *bytes. */
static size_t count_group(const prog *pr, plan_group group, coll_kind coll, double *bytes)
{
    size_t n = 0;
    *bytes = 0;
    for (size_t i = 0; i < pr->n; i++)
        if (pr->it[i].kind == PLAN_ITEM_COLL && pr->it[i].group == group &&
            pr->it[i].coll == coll) {
            *bytes += pr->it[i].bytes;
            n++;
        }
    return n;
}

/* The plan replays to its end (every rendezvous completes). */
static void replays(plan *p)
{
    exec_result r;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(exec_run(p, NULL, &r, &st) == SIM_OK, "%s", st.msg);
    ck_assert_double_gt(r.step_time_s, 0);
    exec_result_free(&r);
}

/*
 * Context parallelism with ZeRO-1 (cfg-tiny, tp 2, pp 2, cp 2, dp 2): Megatron-LM reduces
 * gradients in one reduce-scatter and gathers parameters in one all-gather over the dp x cp
 * replicas (its data-parallel group with context parallelism), not an all-reduce over cp
 * then a reduce-scatter over dp. Strides tp 1, cp 2, dp 4, pp 8: rank 0's group is ranks
 * 0, 2, 4, 6 (cp fastest). Rank 0 reduces its 3,661,824 gradient bytes (test_dp_bytes_
 * layer_share: the shard does not depend on cp) in one bucket, and gathers its stage's
 * 1,830,912 parameter bytes (bf16) once.
 */
START_TEST(test_dp_cp_one_group)
{
    static const char *const sets[] = {"parallelism.cp=2", "parallelism.dp=2",
                                       "parallelism.zero=1", NULL};
    plan *p = load_tiny(sets);
    int slot = plan_slot(PLAN_DP, PLAN_GROUP_DP_CP);
    ck_assert_int_eq(plan_slot_size(p, slot), 4);
    static const int64_t want[4] = {0, 2, 4, 6};
    for (int64_t i = 0; i < 4; i++) {
        ck_assert_int_eq(plan_slot_member(p, 0, slot, i), want[i]);
        ck_assert_int_eq(plan_slot_id(p, want[i], slot), 0);
    }
    prog pr;
    prog_collect(p, 0, &pr);
    double rs, ag;
    ck_assert_uint_eq(count_group(&pr, PLAN_GROUP_DP_CP, COLL_REDUCE_SCATTER, &rs), 1);
    ck_assert_double_eq(rs, 3661824.0);
    ck_assert_uint_eq(count_group(&pr, PLAN_GROUP_DP_CP, COLL_ALLGATHER, &ag), 1);
    ck_assert_double_eq(ag, 1830912.0);
    /* nothing over cp outside the layers' K/V traffic */
    for (size_t i = 0; i < pr.n; i++)
        if (pr.it[i].kind == PLAN_ITEM_COLL && pr.it[i].dim == PLAN_CP)
            ck_assert_int_ge(pr.it[i].layer, 0);
    prog_free(&pr);
    replays(p);
    plan_destroy(p);
}
END_TEST

/*
 * Expert parameters are reduced over the ranks that hold the same experts (cfg-moe: tp 2,
 * pp 2, dp 4, ep 2: ep coordinate = dp index mod 2, so rank 0's expert data-parallel group
 * is dp indices 0 and 2, ranks 0 and 4). Stage 0 holds layers 0 (dense) and 1 (MoE): its
 * experts are 4 / ep = 2 plain MLPs of 2 h ffn = 524,288 weights / tp 2 each, 524,288
 * parameters, 2,097,152 fp32 gradient bytes over the expert group; the rest, layer 0
 * (393,728), layer 1's attention, norms and router (131,072 + 512 + 1,024 = 132,608) and
 * the embedding shard (128,000), 654,336 parameters = 2,617,344 bytes over dp x cp.
 */
START_TEST(test_expert_dp_group)
{
    plan *p = load(MOE, NULL, 0);
    int slot = plan_slot(PLAN_DP, PLAN_GROUP_EXPERT_DP);
    ck_assert_int_eq(plan_slot_size(p, slot), 2);
    ck_assert_int_eq(plan_slot_member(p, 0, slot, 0), 0);
    ck_assert_int_eq(plan_slot_member(p, 0, slot, 1), 4);
    ck_assert_int_eq(plan_slot_member(p, 2, slot, 0), 2);
    ck_assert_int_eq(plan_slot_member(p, 2, slot, 1), 6);
    prog pr;
    prog_collect(p, 0, &pr);
    double ex, dense;
    ck_assert_uint_eq(count_group(&pr, PLAN_GROUP_EXPERT_DP, COLL_ALLREDUCE, &ex), 1);
    ck_assert_double_eq(ex, 2097152.0);
    ck_assert_uint_ge(count_group(&pr, PLAN_GROUP_DP_CP, COLL_ALLREDUCE, &dense), 1);
    ck_assert_double_eq(dense, 2617344.0);
    prog_free(&pr);
    replays(p);
    /* ZeRO-1: the parameters gathered back the same way, bf16 */
    plan_destroy(p);
    ydoc_override z = {"parallelism.zero", "1", "test"};
    p = load(MOE, &z, 1);
    prog_collect(p, 0, &pr);
    ck_assert_uint_eq(count_group(&pr, PLAN_GROUP_EXPERT_DP, COLL_ALLGATHER, &ex), 1);
    ck_assert_double_eq(ex, 524288.0 * 2);
    ck_assert_uint_eq(count_group(&pr, PLAN_GROUP_DP_CP, COLL_ALLGATHER, &dense), 1);
    ck_assert_double_eq(dense, 654336.0 * 2);
    prog_free(&pr);
    replays(p);
    plan_destroy(p);
}
END_TEST

/*
 * Tied embeddings over two stages (cfg-tiny, tied): the first stage's embedding and the last
 * stage's copy sum their gradients once per step, an all-reduce over those two ranks of
 * V h / tp = 1000 x 256 / 2 = 128,000 fp32 gradients = 512,000 bytes, after the gradient
 * wait and before the optimizer; untied or with pp 1 there is none.
 */
START_TEST(test_tied_embedding_sync)
{
    static const char *const sets[] = {"workload.model.tied_embeddings=true", NULL};
    plan *p = load_tiny(sets);
    int slot = plan_slot(PLAN_PP, PLAN_GROUP_EMBEDDING);
    ck_assert_int_eq(plan_slot_size(p, slot), 2);
    ck_assert_int_eq(plan_slot_member(p, 3, slot, 0), 3);
    ck_assert_int_eq(plan_slot_member(p, 3, slot, 1), 11);
    ck_assert_int_eq(plan_slot_id(p, 11, slot), 3);
    for (int64_t rank = 0; rank < 16; rank += 8) {
        prog pr;
        prog_collect(p, rank, &pr);
        double bytes;
        ck_assert_uint_eq(count_group(&pr, PLAN_GROUP_EMBEDDING, COLL_ALLREDUCE, &bytes), 1);
        ck_assert_double_eq(bytes, 512000.0);
        /* the tail: WAIT_DP, the embedding all-reduce over pp, the optimizer */
        ck_assert_int_eq(pr.it[pr.n - 3].kind, PLAN_ITEM_WAIT_DP);
        ck_assert_int_eq(pr.it[pr.n - 2].group, PLAN_GROUP_EMBEDDING);
        ck_assert_int_eq(pr.it[pr.n - 2].dim, PLAN_PP);
        ck_assert_int_eq(pr.it[pr.n - 1].op.kind, WL_OP_OPTIMIZER);
        prog_free(&pr);
    }
    plan_totals t;
    sim_status st;
    ck_assert_int_eq(plan_totals_compute(p, &t, &st), SIM_OK);
    /* pp bytes of the last stage: its sends (4 micro-batches of b s h 2 = 65,536) and the
     * embedding all-reduce */
    ck_assert_double_eq(t.bytes_per_dim[PLAN_PP], 4 * 65536.0 + 512000.0);
    replays(p);
    plan_destroy(p);
    static const char *const pp1[] = {"workload.model.tied_embeddings=true", "parallelism.pp=1",
                                      "parallelism.dp=8", NULL};
    p = load_tiny(pp1);
    prog pr;
    prog_collect(p, 0, &pr);
    double bytes;
    ck_assert_uint_eq(count_group(&pr, PLAN_GROUP_EMBEDDING, COLL_ALLREDUCE, &bytes), 0);
    prog_free(&pr);
    plan_destroy(p);
}
END_TEST

/* ==== step totals ======================================================================= */

/*
 * configs/quickstart.yaml: Llama 3 8B (32 layers, hidden 4096, sequence 8192, micro-batch
 * 1), tp 4, pp 2, dp 8, global batch 64, SP, selective recomputation, ZeRO 1.
 * m = 64 / (1 x 8) = 8 micro-batches; 32 / 2 = 16 layers per stage; per layer and
 * micro-batch 2 AG + 2 RS forward and 4 AG + 2 RS backward (the inputs of qkv and mlp_up
 * gathered again for their weight gradients; the recomputed attention core carries none),
 * each of b s h 2 = 8192 x 4096 x 2 = 67,108,864 bytes:
 *   layers' TP bytes = 16 x 8 x 10 x 67,108,864 = 85,899,345,920 (5 x 2^34).
 * bytes_per_dim[TP] is that plus whatever TP traffic the walked rank has outside its
 * layers (see test_embedding_head_tp_collectives). PP: the last stage sends each
 * micro-batch's input gradient back, sequence-sharded: 8 x 67,108,864 / 4 = 134,217,728.
 * Bubble (2 - 1) / 8. It fits in 80 GB.
 */
START_TEST(test_totals_quickstart)
{
    plan *p = load(QUICKSTART, NULL, 0);
    ck_assert_int_eq(plan_microbatches(p), 8);
    ck_assert_int_eq(plan_parallel(p)->tp, 4);
    ck_assert_int_eq(plan_parallel(p)->pp, 2);
    ck_assert_int_eq(plan_parallel(p)->dp, 8);
    ck_assert_int_eq(plan_workload(p)->micro_batch, 1);
    ck_assert_int_eq(plan_workload(p)->global_batch, 64);
    plan_totals t;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(plan_totals_compute(p, &t, &st), SIM_OK);
    double act = 1.0 * 8192 * 4096 * 2;
    double layers_tp = 16.0 * 8 * 10 * act;
    ck_assert_double_eq(layers_tp, 85899345920.0);
    /* the last stage's first rank, as plan_totals_compute walks it */
    int64_t rank = plan_group_member(p, 0, PLAN_PP, 1);
    ck_assert_int_eq(rank, 32);
    prog pr;
    prog_collect(p, rank, &pr);
    double in_layers = 0, outside = 0, pp_sent = 0;
    for (size_t i = 0; i < pr.n; i++) {
        const plan_item *it = &pr.it[i];
        if (it->kind == PLAN_ITEM_COLL && it->dim == PLAN_TP)
            *(it->layer >= 0 ? &in_layers : &outside) += it->bytes;
        if (it->kind == PLAN_ITEM_SEND)
            pp_sent += it->bytes;
    }
    ck_assert_double_eq(in_layers, layers_tp);
    ck_assert_double_eq(t.bytes_per_dim[PLAN_TP], layers_tp + outside);
    ck_assert_double_eq(t.bytes_per_dim[PLAN_PP], 8 * act / 4);
    ck_assert_double_eq(pp_sent, 8 * act / 4);
    ck_assert_double_eq(t.bytes_per_dim[PLAN_CP], 0);
    ck_assert_double_eq(t.bytes_per_dim[PLAN_EP], 0);
    ck_assert_double_gt(t.bytes_per_dim[PLAN_DP], 0);
    ck_assert_int_eq(t.fits, 1);
    ck_assert_double_eq(t.hbm_bytes, 80e9);
    ck_assert_double_le(t.memory.total, t.hbm_bytes);
    ck_assert_double_gt(t.memory.total, 0);
    ck_assert_double_eq(t.bubble_fraction, 0.125);
    ck_assert_double_eq(t.tokens, 64.0 * 8192);
    ck_assert_double_eq(t.params, 8030261248.0); /* the workload file's figure */
    ck_assert_double_eq(t.model_flops, wl_model_flops_per_step(plan_workload(p)));
    ck_assert_double_eq(t.hardware_flops,
                        wl_hardware_flops_per_step(plan_workload(p), plan_parallel(p)));
    /* Flash attention, causal: the attention core executes 2 s h per token and layer
     * forward, 5 s h backward and 2 s h recomputed (selective): 9 s h against the model
     * FLOPs' 12 s h, so hardware = model - 3 L s h per token. */
    CK_REL(t.hardware_flops, t.model_flops - 64.0 * 8192 * 3 * 32 * 4096 * 8192, 1e-12);
    prog_free(&pr);
    plan_destroy(p);
}
END_TEST

/* plan.h: items_per_rank is the program length of the last stage's first rank (rank 32 of
 * the quick start: the head's 3 + 3 ops and a backward send per micro-batch). */
START_TEST(test_totals_items_rank0)
{
    plan *p = load(QUICKSTART, NULL, 0);
    plan_totals t;
    sim_status st;
    ck_assert_int_eq(plan_totals_compute(p, &t, &st), SIM_OK);
    prog pr;
    prog_collect(p, plan_group_member(p, 0, PLAN_PP, plan_parallel(p)->pp - 1), &pr);
    ck_assert_msg(t.items_per_rank == (double)pr.n, "items_per_rank %.0f, the rank runs %zu",
                  t.items_per_rank, pr.n);
    prog_free(&pr);
    plan_destroy(p);
}
END_TEST

/* ==== bad configs ======================================================================= */

typedef struct bad_cfg {
    const char *file;    /* under tests/fixtures/bad/, or a full path */
    const char *set;     /* one override "path=value", or NULL */
    const char *msg;     /* the complete formatted status */
} bad_cfg;

#define BAD "tests/fixtures/bad/"

static const bad_cfg bad_cfgs[] = {
    {BAD "cfg-product.yaml", NULL,
     BAD "cfg-product.yaml:8:7: error: dp x tp x pp x cp = 2 x 2 x 2 x 1 = 8, but the job uses "
         "16 chips"},
    {BAD "cfg-chips.yaml", NULL,
     BAD "cfg-chips.yaml:7:10: error: key 'chips': the job uses 32 chips but topology "
         "'two-nodes' has 16"},
    {BAD "cfg-heads-tp.yaml", NULL,
     BAD "cfg-heads-tp.yaml:6:7: error: key 'tp': 8 does not divide the model's 4 heads and 4 "
         "kv heads"},
    {BAD "cfg-layers-pp.yaml", NULL,
     BAD "cfg-layers-pp.yaml:7:7: error: pp x virtual_stages = 8 x 1 does not divide the "
         "model's 4 layers"},
    {BAD "cfg-layers-vp.yaml", NULL,
     BAD "cfg-layers-vp.yaml:7:19: error: pp x virtual_stages = 2 x 4 does not divide the "
         "model's 4 layers"},
    {BAD "cfg-batch.yaml", NULL,
     BAD "cfg-batch.yaml:8:17: error: the global batch of 12 sequences does not split into "
         "micro-batches of 1 on 8 data-parallel ranks"},
    /* no global_batch key in parallelism: located at the parallelism mapping */
    {BAD "cfg-micro-batch.yaml", NULL,
     BAD "cfg-micro-batch.yaml:6:3: error: the global batch of 16 sequences does not split "
         "into micro-batches of 3 on 1 data-parallel ranks"},
    {BAD "cfg-ep-dense.yaml", NULL,
     BAD "cfg-ep-dense.yaml:8:7: error: key 'ep': expert parallelism needs an MoE model; "
         "'tiny' is dense"},
    {BAD "cfg-ep-experts.yaml", NULL,
     BAD "cfg-ep-experts.yaml:8:7: error: key 'ep': 3 does not divide the model's 8 experts"},
    {BAD "cfg-ep-dp.yaml", NULL,
     BAD "cfg-ep-dp.yaml:9:7: error: key 'ep': 4 does not divide dp = 2 (experts are spread "
         "over data-parallel ranks)"},
    {BAD "cfg-schedule.yaml", NULL,
     BAD "cfg-schedule.yaml:7:13: error: key 'schedule': unknown schedule '1f1c' (did you mean "
         "'1f1b'?); expected one of: gpipe, 1f1b, interleaved"},
    {BAD "cfg-unknown-key.yaml", NULL,
     BAD "cfg-unknown-key.yaml:7:3: error: unknown key 'virtual_stage' in parallelism (did you "
         "mean 'virtual_stages'?); expected one of: tp, pp, dp, cp, ep, chips, virtual_stages, "
         "schedule, zero, fsdp, sequence_parallel, recompute, placement, micro_batch, "
         "global_batch, tp_comm_overlap, overlap_param_gather, first_stage_layers, "
         "last_stage_layers, decoder_first_pipeline_num_layers, "
         "decoder_last_pipeline_num_layers, pipeline_model_parallel_layout, "
         "microbatch_group_size_per_virtual_pipeline_stage, reshard_after_forward, "
         "fsdp_shard_size, overlap_grad_reduce, cp_comm_type"},
    {BAD "cfg-grad-overlap-bool.yaml", NULL,
     BAD "cfg-grad-overlap-bool.yaml:7:24: error: key 'overlap_grad_reduce': expected true or "
         "false, found 'later'"},
    {BAD "cfg-param-gather-grad.yaml", NULL,
     BAD "cfg-param-gather-grad.yaml:8:25: error: key 'overlap_param_gather': overlapping the "
         "parameter gather needs overlap_grad_reduce: true (as Megatron-LM's "
         "--overlap-param-gather needs --overlap-grad-reduce), found overlap_grad_reduce: "
         "false"},
    {BAD "cfg-top-key.yaml", NULL,
     BAD "cfg-top-key.yaml:6:1: error: unknown key 'runs' in the document (did you mean "
         "'run'?); expected one of: name, topology, workload, parallelism, run, output, "
         "cross_dc, scale, sweep, stragglers, reliability"},
    {BAD "cfg-vp-1f1b.yaml", NULL,
     BAD "cfg-vp-1f1b.yaml:7:19: error: key 'virtual_stages': 2 virtual stages need schedule "
         "'interleaved'"},
    {BAD "cfg-interleaved-vp1.yaml", NULL,
     BAD "cfg-interleaved-vp1.yaml:7:13: error: key 'schedule': 'interleaved' needs "
         "virtual_stages of 2 or more"},
    {BAD "cfg-interleaved-m.yaml", NULL,
     BAD "cfg-interleaved-m.yaml:10:13: error: key 'schedule': the interleaved schedule runs "
         "groups of pp = 2 to m = 1 micro-batches per chunk, found a group of 2"},
    {BAD "cfg-placement-dup.yaml", NULL,
     BAD "cfg-placement-dup.yaml:7:23: error: key 'placement': expected each of tp, cp, dp and "
         "pp once, found 'dp' twice"},
    {BAD "cfg-placement-unknown.yaml", NULL,
     BAD "cfg-placement-unknown.yaml:7:27: error: key 'placement': expected each of tp, cp, dp "
         "and pp once, found 'ep'"},
    {BAD "cfg-placement-short.yaml", NULL,
     BAD "cfg-placement-short.yaml:7:14: error: key 'placement': expected a list of tp, cp, dp "
         "and pp in some order (innermost first), found a list"},
    {BAD "cfg-topology-missing.yaml", NULL,
     BAD "cfg-topology-missing.yaml:3:11: error: key 'topology': cannot read "
         "'topologies/nope.yaml'"},
    {BAD "cfg-workload-missing.yaml", NULL,
     BAD "cfg-workload-missing.yaml:2:1: error: missing key 'workload' in the document: "
         "expected a string"},
    {BAD "cfg-workload-file.yaml", NULL,
     BAD "cfg-workload-file.yaml:4:11: error: key 'workload': cannot read "
         "'tests/fixtures/bad/nope.yaml'"},
    {BAD "cfg-parallelism-missing.yaml", NULL,
     BAD "cfg-parallelism-missing.yaml:2:1: error: missing key 'parallelism' in the document: "
         "expected a mapping such as {tp: 8, pp: 1}"},
    {BAD "cfg-zero.yaml", NULL,
     BAD "cfg-zero.yaml:7:9: error: key 'zero': expected an integer in [0, 3], found '4'"},
    {BAD "cfg-cp-sequence.yaml", NULL,
     BAD "cfg-cp-sequence.yaml:7:7: error: key 'cp': 3 does not divide the sequence of 128"},
    {BAD "cfg-tp-text.yaml", NULL,
     BAD "cfg-tp-text.yaml:6:7: error: key 'tp': expected an integer, found 'two'"},
    /* the model's backstop check, located at the parallelism mapping; inline workload */
    {BAD "cfg-sp-sequence.yaml", NULL,
     BAD "cfg-sp-sequence.yaml:9:3: error: tp = 4: expected a divisor of sequence / cp = 130 "
         "with sequence parallelism"},
    /* overrides: the origin stands for the file, with no line */
    {TINY, "parallelism.tp.x=1",
     "--set parallelism.tp.x=1: error: cannot set 'parallelism.tp.x': the value before 'x' "
     "is '2', not a mapping"},
    {TINY, "parallelism.tp=abc",
     "--set parallelism.tp=abc: error: key 'tp': expected an integer, found 'abc'"},
    {BAD "cfg-alltoall.yaml", NULL,
     BAD "cfg-alltoall.yaml:7:27: error: key 'alltoall': unknown all-to-all model 'couple' (did "
         "you mean 'coupled'?); expected one of: coupled, direct"},
    {TINY, "run.alltoall=each",
     "--set run.alltoall=each: error: key 'alltoall': unknown all-to-all model 'each'; expected "
     "one of: coupled, direct"},
    {TINY, "parallelism.recompute=ful",
     "--set parallelism.recompute=ful: error: key 'recompute': unknown recompute mode 'ful' "
     "(did you mean 'full'?); expected one of: none, selective, full"},
    /* reaches the topology file's loader */
    {TINY, "topology.fabric.oversubscription=0.5",
     "--set topology.fabric.oversubscription=0.5: error: key 'oversubscription': expected a "
     "down:up bandwidth ratio from 1 to 1e6 (1 is full bisection, 7 is 1:7), found '0.5'"},
    /* reaches the workload file's loader */
    {TINY, "workload.model.heads=3",
     "--set workload.model.heads=3: error: key 'heads': expected a divisor of hidden = 256, "
     "found '3'"},
    /* issue 15: stragglers */
    {TINY, "stragglers.slow.dc0/n9=2",
     "--set stragglers.slow.dc0/n9=2: error: key 'dc0/n9': expected a site, node or chip of "
     "topology 'two-nodes' (SITE, SITE/nN or SITE/nN/cK, such as 'dc0/n0/c0'), found none so "
     "named"},
    {TINY, "stragglers.slow.dc0=0.5",
     "--set stragglers.slow.dc0=0.5: error: key 'dc0': expected a factor from 1 to 1000 (1: as "
     "fast as the rest), found 0.5"},
    {TINY, "stragglers.fraction=2",
     "--set stragglers.fraction=2: error: key 'fraction': expected a fraction of the chips from "
     "0 to 1, found 2"},
    {TINY, "stragglers.slow=3",
     "--set stragglers.slow=3: error: key 'slow': expected a mapping, found '3'"},
    /* issue 15: streaming DiLoCo's window and replay */
    {"tests/fixtures/good/mdc-streaming.yaml", "cross_dc.max_delay=3",
     "--set cross_dc.max_delay=3: error: key 'max_delay': expected at most H / F = 2 inner "
     "steps (a fragment's sync ends before the next fragment's begins), found 3"},
    {"tests/fixtures/good/mdc-streaming.yaml", "cross_dc.replay=ful",
     "--set cross_dc.replay=ful: error: key 'replay': unknown round replay 'ful' (did you mean "
     "'full'?); expected one of: shortcut, full, composed"},
    {"tests/fixtures/good/mdc-diloco.yaml", "cross_dc.replay=full",
     "--set cross_dc.replay=full: error: key 'replay': not used by a blocking diloco (its sync "
     "overlaps nothing; outer_update: delayed or eager overlaps it)"},
    {"tests/fixtures/good/mdc-sync.yaml", "cross_dc.replay=full",
     "--set cross_dc.replay=full: error: key 'replay': not used by scheme 'sync'"},
    {"tests/fixtures/good/mdc-streaming.yaml", "cross_dc.outer_update=eager",
     "--set cross_dc.outer_update=eager: error: key 'outer_update': not used by scheme "
     "'streaming-diloco' (only diloco's outer gradients can be applied a round late)"},
    /* issue 15: sites unequal in size or batch */
    {BAD "mdc-sync-unequal.yaml", NULL,
     BAD "mdc-sync-unequal.yaml:5:20: error: key 'scheme': the sites of topology "
     "'mdc-2sites-unequal' differ in size (24 and 8 chips); 'sync' needs equal sites (the "
     "diloco schemes take unequal ones)"},
    {BAD "mdc-site-batch-sum.yaml", NULL,
     BAD "mdc-site-batch-sum.yaml:8:15: error: key 'site_batch': expected the sites' batches "
     "to sum to the global batch of 48 sequences, found 52"},
    {BAD "mdc-site-batch-split.yaml", NULL,
     BAD "mdc-site-batch-split.yaml:8:15: error: key 'site_batch': site 'a' trains 42 "
     "sequences per step, which do not split into micro-batches of 1 on its 12 data-parallel "
     "ranks"},
    {"tests/fixtures/good/mdc-diloco-unequal.yaml", "cross_dc.site_batch.c=8",
     "--set cross_dc.site_batch.c=8: error: key 'c': expected a site of topology "
     "'mdc-2sites-unequal' (a, b), found 'c'"},
    {"tests/fixtures/good/mdc-diloco-unequal.yaml", "cross_dc.site_batch.a=32",
     "--set cross_dc.site_batch.a=32: error: key 'site_batch': expected every site's batch, "
     "found none for site 'b'"},
    {"tests/fixtures/good/mdc-diloco-unequal.yaml", "cross_dc.site_batch=64",
     "--set cross_dc.site_batch=64: error: key 'site_batch': expected a mapping, found '64'"},
    {BAD "mdc-site-chips.yaml", NULL,
     BAD "mdc-site-chips.yaml:5:20: error: key 'scheme': site 'a' has 24 chips, not a multiple "
     "of tp x cp x pp = 16 (each site trains a whole replica)"},
    /* issue 15: async DiLoCo */
    {"tests/fixtures/good/mdc-diloco.yaml", "cross_dc.max_staleness=2",
     "--set cross_dc.max_staleness=2: error: key 'max_staleness': only with outer_update: "
     "async (sites at their own pace)"},
    {"tests/fixtures/good/mdc-diloco.yaml", "cross_dc.round_jitter=3",
     "--set cross_dc.round_jitter=3: error: key 'round_jitter': expected the lognormal spread "
     "of a site's round from 0 to 2, found 3"},
    {"tests/fixtures/good/mdc-diloco.yaml", "cross_dc.rounds=0",
     "--set cross_dc.rounds=0: error: key 'rounds': expected an integer in [1, 100000], found "
     "'0'"},
    {BAD "mdc-async-replay.yaml", NULL,
     BAD "mdc-async-replay.yaml:5:74: error: key 'replay': not used by an async diloco (a "
     "round-level model over the parts replayed alone)"},
    /* issue 15: regions */
    {"tests/fixtures/good/mdc-regions.yaml", "cross_dc.regions.us=[b, a]",
     "--set cross_dc.regions.us=[b, a]: error: key 'us': expected site 'a' (a region's sites "
     "consecutive, the regions in the order of the topology's sites), found 'b'"},
    {"tests/fixtures/good/mdc-regions.yaml", "cross_dc.regions.eu=[c, d, e]",
     "--set cross_dc.regions.eu=[c, d, e]: error: key 'eu': expected no more sites (a region's "
     "sites consecutive, the regions in the order of the topology's sites), found 'e'"},
    {"tests/fixtures/good/mdc-regions.yaml", "cross_dc.regions.eu=[c]",
     "tests/fixtures/good/mdc-regions.yaml:11:12: error: key 'regions': site 'd' is in no "
     "region (every site is in one)"},
    {"tests/fixtures/good/mdc-regions.yaml", "cross_dc.regions.eu=[]",
     "--set cross_dc.regions.eu=[]: error: key 'eu': expected the region's sites, found none"},
    {"tests/fixtures/good/mdc-regions.yaml", "cross_dc.regions.us=x",
     "--set cross_dc.regions.us=x: error: key 'us': expected a list, found 'x'"},
    {"tests/fixtures/good/mdc-sync.yaml", "cross_dc.regions.x=[a]",
     "--set cross_dc.regions.x=[a]: error: key 'regions': not used by scheme 'sync' (regions "
     "train DiLoCo replicas)"},
    {"tests/fixtures/good/mdc-diloco.yaml", "cross_dc.regions.x=[a, b]",
     "--set cross_dc.regions.x=[a, b]: error: key 'regions': expected two regions or more "
     "(DiLoCo runs across them), found 1"},
    /* item 3 of issue 14: every refusal of the layout string, the groups and FSDP */
    {BAD "cfg-layout-loss.yaml", NULL,
     BAD "cfg-layout-loss.yaml:9:35: error: key 'pipeline_model_parallel_layout': expected the loss L last, in the last stage"},
    {BAD "cfg-mb-group.yaml", NULL,
     BAD "cfg-mb-group.yaml:11:53: error: key 'microbatch_group_size_per_virtual_pipeline_stage': the interleaved schedule needs the 4 micro-batches to leave a last group of 0 or pp = 2 at least, found 1 (groups of 3)"},
    {BAD "cfg-fsdp-name.yaml", NULL,
     BAD "cfg-fsdp-name.yaml:9:9: error: key 'fsdp': expected true, false or a sharding strategy (full_shard, shard_grad_op, hybrid_shard, _hybrid_shard_zero2, no_shard), found 'zero3'"},
    {BAD "cfg-reshard-no-fsdp.yaml", NULL,
     BAD "cfg-reshard-no-fsdp.yaml:9:26: error: key 'reshard_after_forward': only with FSDP sharding the parameters (fsdp: true, full_shard or hybrid_shard)"},
    {BAD "cfg-fsdp-shard-size.yaml", NULL,
     BAD "cfg-fsdp-shard-size.yaml:10:20: error: key 'fsdp_shard_size': expected a divisor of dp x cp = 4 (the replicas split into shard groups), found 3"},
    {BAD "cfg-first-layers-twice.yaml", NULL,
     BAD "cfg-first-layers-twice.yaml:9:23: error: key 'first_stage_layers': the same as 'decoder_first_pipeline_num_layers'; give one of them"},
    {TINY, "parallelism.pipeline_model_parallel_layout=Ett|ttL|t",
     "--set parallelism.pipeline_model_parallel_layout=Ett|ttL|t: error: key 'pipeline_model_parallel_layout': expected a number of stages divisible by pp = 2, found 3"},
    {TINY, "parallelism.pipeline_model_parallel_layout=Ett|ttx",
     "--set parallelism.pipeline_model_parallel_layout=Ett|ttx: error: key 'pipeline_model_parallel_layout': expected layer characters E (embedding), t (transformer layer) and L (loss), found 'x'"},
    {TINY, "parallelism.pipeline_model_parallel_layout=Ett|tmL",
     "--set parallelism.pipeline_model_parallel_layout=Ett|tmL: error: key 'pipeline_model_parallel_layout': expected no 'm' (multi-token prediction layers are not modelled)"},
    {TINY, "parallelism.pipeline_model_parallel_layout=EEt|ttL",
     "--set parallelism.pipeline_model_parallel_layout=EEt|ttL: error: key 'pipeline_model_parallel_layout': expected exactly one E and one L, found 2 and 1"},
    {TINY, "parallelism.pipeline_model_parallel_layout=tEt|ttL",
     "--set parallelism.pipeline_model_parallel_layout=tEt|ttL: error: key 'pipeline_model_parallel_layout': expected the embedding E first, in the first stage"},
    {TINY, "parallelism.pipeline_model_parallel_layout=|Ett|ttL|",
     "--set parallelism.pipeline_model_parallel_layout=|Ett|ttL|: error: key 'pipeline_model_parallel_layout': expected the embedding E first, in the first stage"},
    {TINY, "parallelism.pipeline_model_parallel_layout=Ett|tL",
     "--set parallelism.pipeline_model_parallel_layout=Ett|tL: error: key 'pipeline_model_parallel_layout': expected 4 transformer layers (t), as the model has, found 3"},
    {TINY, "parallelism.pipeline_model_parallel_layout=(tt",
     "--set parallelism.pipeline_model_parallel_layout=(tt: error: key 'pipeline_model_parallel_layout': expected layer characters E (embedding), t (transformer layer) and L (loss), found '('"},
    {TINY, "parallelism.pipeline_model_parallel_layout=Et*99999999|L",
     "--set parallelism.pipeline_model_parallel_layout=Et*99999999|L: error: key 'pipeline_model_parallel_layout': expected a layout of at most 1048576 layers and separators once unrolled"},
    /* an override that makes the config itself wrong: located in the file */
    {TINY, "parallelism.pp=4",
     "tests/fixtures/good/cfg-tiny.yaml:11:7: error: dp x tp x pp x cp = 4 x 2 x 4 x 1 = 32, "
     "but the job uses 16 chips"},
};

#define N_BAD (sizeof bad_cfgs / sizeof bad_cfgs[0])

START_TEST(test_bad_config)
{
    const bad_cfg *c = &bad_cfgs[_i];
    ydoc_override ov[1];
    char key[128], origin[160];
    size_t n = 0;
    if (c->set) {
        const char *eq = strchr(c->set, '=');
        ck_assert_ptr_nonnull(eq);
        snprintf(key, sizeof key, "%.*s", (int)(eq - c->set), c->set);
        snprintf(origin, sizeof origin, "--set %s", c->set);
        ov[0].path = key;
        ov[0].value = eq + 1;
        ov[0].origin = origin;
        n = 1;
    }
    static max_align_t dummy; /* a plan is opaque: any address will do */
    plan *p = (plan *)(void *)&dummy; /* plan_load must reset it on failure */
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(plan_load(c->file, ov, n, &p, &st), SIM_ERR_INPUT);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(st.code, SIM_ERR_INPUT);
    char got[2048];
    sim_status_format(&st, got, sizeof got);
    ck_assert_str_eq(got, c->msg);
}
END_TEST

/* No status: the code alone comes back. Overrides apply in order, later ones winning, and
 * can repair a bad file. */
START_TEST(test_null_status_and_override_order)
{
    plan *p = NULL;
    ck_assert_int_eq(plan_load(BAD "cfg-product.yaml", NULL, 0, &p, NULL), SIM_ERR_INPUT);
    ck_assert_ptr_null(p);
    /* an override fixes the bad file: dp 2 -> 4 */
    const ydoc_override ov[] = {{"parallelism.dp", "4", "--set parallelism.dp=4"}};
    p = load(BAD "cfg-product.yaml", ov, 1);
    ck_assert_int_eq(plan_parallel(p)->dp, 4);
    plan_destroy(p);
    /* later overrides win */
    const ydoc_override two[] = {{"parallelism.tp", "8", "--set parallelism.tp=8"},
                                 {"parallelism.tp", "4", "--set parallelism.tp=4"},
                                 {"parallelism.dp", "2", "--set parallelism.dp=2"}};
    p = load(TINY, two, 3);
    ck_assert_int_eq(plan_parallel(p)->tp, 4);
    ck_assert_int_eq(plan_microbatches(p), 8);
    plan_destroy(p);
}
END_TEST

/* Uneven pipelines: Llama 3 8B's 32 layers over 4 stages as 7, 9, 9, 7 (the first and last
 * stages lighter, as Llama 3 405B's 7 + 14 x 8 + 7 over 16); each stage's program runs its
 * own layers once per micro-batch and pass; the sum covers every layer once. */
START_TEST(test_uneven_stages)
{
    ydoc_override ov[5] = {
        {"parallelism.pp", "4", "--set"},       {"parallelism.dp", "4", "--set"},
        {"parallelism.first_stage_layers", "7", "--set"},
        {"parallelism.last_stage_layers", "7", "--set"},
        {"parallelism.global_batch", "16", "--set"}};
    plan *p = load("configs/quickstart.yaml", ov, 5);
    static const int64_t want_first[4] = {0, 7, 16, 25}, want_count[4] = {7, 9, 9, 7};
    int64_t total = 0;
    for (int64_t g = 0; g < 4; g++) {
        int64_t first, count;
        wl_chunk_layers(plan_workload(p), plan_parallel(p), g, &first, &count);
        ck_assert_int_eq(first, want_first[g]);
        ck_assert_int_eq(count, want_count[g]);
        total += count;
        /* the stage's program: its layers, forward and backward, every micro-batch */
        plan_cursor c;
        plan_item it;
        int64_t seen_lo = INT64_MAX, seen_hi = -1, n = 0;
        plan_prog_begin(p, plan_group_member(p, 0, PLAN_PP, g), &c);
        while (plan_prog_next(p, &c, &it))
            if (it.kind == PLAN_ITEM_COMPUTE && it.layer >= 0 && !strcmp(it.op.name, "qkv") &&
                !it.op.recompute) {
                seen_lo = it.layer < seen_lo ? it.layer : seen_lo;
                seen_hi = it.layer > seen_hi ? it.layer : seen_hi;
                n++;
            }
        ck_assert_int_eq(seen_lo, want_first[g]);
        ck_assert_int_eq(seen_hi, want_first[g] + want_count[g] - 1);
        ck_assert_int_eq(n, want_count[g] * plan_microbatches(p) * 2);
    }
    ck_assert_int_eq(total, 32);
    plan_destroy(p);
    /* an unequal middle is refused */
    ov[2].value = "6";
    plan *q = NULL;
    sim_status st;
    ck_assert_int_eq(plan_load("configs/quickstart.yaml", ov, 5, &q, &st), SIM_ERR_INPUT);
    char msg[512];
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_str_eq(msg, "--set: error: key 'first_stage_layers': 6 + 7 layers on the first and "
                          "last stages leave 19 for the other 2 stages: not an equal share");
}
END_TEST

/* ==== CLI =============================================================================== */



/* Value after "\"key\": " in a one-line JSON object, as a double. */
static double json_num(const char *json, const char *key)
{
    char k[96];
    snprintf(k, sizeof k, "\"%s\": ", key);
    const char *p = strstr(json, k);
    ck_assert_msg(p != NULL, "no key %s in %s", key, json);
    return strtod(p + strlen(k), NULL);
}

START_TEST(test_cli_plan_json)
{
    char *out, *err;
    ck_assert_int_eq(th_run("plan --json " QUICKSTART, &out, &err), 0);
    ck_assert_str_eq(err, "");
    static const char *const keys[] = {"params", "model_flops_per_step",
                                       "hardware_flops_per_step", "memory_bytes_per_rank",
                                       "hbm_bytes", "fits", "bubble_fraction"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char k[64];
        snprintf(k, sizeof k, "\"%s\": ", keys[i]);
        ck_assert_msg(strstr(out, k) != NULL, "no key %s in %s", keys[i], out);
    }
    ck_assert_ptr_nonnull(strstr(out, "\"fits\": true"));
    ck_assert_double_eq(json_num(out, "params"), 8030261248.0);
    ck_assert_double_eq(json_num(out, "hbm_bytes"), 80e9);
    ck_assert_double_eq(json_num(out, "bubble_fraction"), 0.125);
    ck_assert_double_eq(json_num(out, "microbatches"), 8);
    ck_assert_double_eq(json_num(out, "ranks"), 64);
    /* the same figures as the library's */
    plan *p = load(QUICKSTART, NULL, 0);
    plan_totals t;
    sim_status st;
    ck_assert_int_eq(plan_totals_compute(p, &t, &st), SIM_OK);
    ck_assert_double_eq(json_num(out, "model_flops_per_step"), t.model_flops);
    ck_assert_double_eq(json_num(out, "total"), t.memory.total);
    ck_assert_double_eq(json_num(out, "tp"), t.bytes_per_dim[PLAN_TP]);
    plan_destroy(p);
    /* --set parallelism.tp=2 (with dp 16 to keep 64 chips): m = 64 / 16 = 4, twice the
     * weights per rank, half the TP bytes (4 micro-batches instead of 8) */
    char *out2;
    ck_assert_int_eq(th_run("plan --json --set parallelism.tp=2 --set parallelism.dp=16 "
                         QUICKSTART, &out2, NULL), 0);
    ck_assert_str_ne(out, out2);
    ck_assert_double_eq(json_num(out2, "microbatches"), 4);
    /* the split weights double, the replicated norms do not */
    ck_assert_double_lt(json_num(out2, "weights"), 2 * json_num(out, "weights"));
    ck_assert_double_gt(json_num(out2, "weights"), 1.99 * json_num(out, "weights"));
    ck_assert_double_eq(json_num(out2, "tp"), json_num(out, "tp") / 2);
    /* text output runs too */
    char *text;
    ck_assert_int_eq(th_run("plan " QUICKSTART, &text, NULL), 0);
    ck_assert_ptr_nonnull(strstr(text, "plan quickstart: llama3-8b on h100-64"));
    free(text);
    free(out);
    free(out2);
    free(err);
}
END_TEST

/* run refuses what plan calls a misfit, with plan's exit status 3, before anything is
 * replayed or written; --allow-oversubscribed-memory replays it, and the summary's first line
 * warns with the peak (405.9e9 / 8 x 16 bytes of weights and Adam state alone: over 800 GB). */
START_TEST(test_cli_run_refuses_misfit)
{
    char *out, *err;
    char db[] = "/tmp/clustersim-test-nofit-XXXXXX";
    int fd = mkstemp(db);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(db);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "run --quiet --db %s tests/fixtures/good/cfg-405b-nofit.yaml", db);
    ck_assert_int_eq(th_run(cmd, &out, &err), 3);
    ck_assert_str_eq(out, "");
    ck_assert_ptr_nonnull(strstr(err, "cfg-405b-nofit.yaml: does not fit: 1024.37 GiB per rank "
                                      "(stage 0) of 74.51 GiB HBM"));
    ck_assert_int_ne(access(db, F_OK), 0); /* no database: nothing half-written */
    free(out);
    free(err);
    ck_assert_int_eq(th_run("run --quiet --no-db --allow-oversubscribed-memory "
                            "tests/fixtures/good/cfg-405b-nofit.yaml", &out, NULL), 0);
    ck_assert_msg(!strncmp(out, "WARNING: peak memory per rank 1.09991 TB exceeds the chip's "
                                "80 GB HBM", 64), "first line: %.200s", out);
    ck_assert_ptr_nonnull(strstr(out, "\nrun nofit: "));
    free(out);
    /* a job that fits has no warning */
    ck_assert_int_eq(th_run("run --quiet --no-db --allow-oversubscribed-memory "
                            "--set parallelism.chips=2 --set parallelism.tp=1 --set "
                            "parallelism.pp=1 --set parallelism.dp=2 " TINY, &out, NULL), 0);
    ck_assert(!strncmp(out, "run tiny: ", 10));
    free(out);
}
END_TEST

START_TEST(test_cli_plan_exit_statuses)
{
    char *out, *err;
    /* Llama 3 405B, tp 8, dp 8, no ZeRO: ~812 GB per rank against 80 GB -> exit 3, with the
     * breakdown printed all the same */
    ck_assert_int_eq(th_run("plan --json tests/fixtures/good/cfg-405b-nofit.yaml", &out, NULL), 3);
    ck_assert_ptr_nonnull(strstr(out, "\"fits\": false"));
    ck_assert_double_gt(json_num(out, "total"), 800e9);
    free(out);
    /* tp 2 alone leaves dp 8: 8 x 2 x 2 = 32 of 64 chips, reported at the config's dp */
    ck_assert_int_eq(th_run("plan --set parallelism.tp=2 " QUICKSTART, &out, &err), 2);
    ck_assert_str_eq(out, "");
    ck_assert_ptr_nonnull(strstr(err, "configs/quickstart.yaml:9:7: error: dp x tp x pp x cp = "
                                      "8 x 2 x 2 x 1 = 32, but the job uses 64 chips"));
    free(out);
    free(err);
    /* an override's bad value is reported against the override */
    ck_assert_int_eq(th_run("plan --set parallelism.tp=abc " QUICKSTART, &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--set parallelism.tp=abc: error: key 'tp': expected an "
                                      "integer, found 'abc'"));
    free(out);
    free(err);
    ck_assert_int_eq(th_run("plan", NULL, NULL), 2);
    ck_assert_int_eq(th_run("plan --set novalue " QUICKSTART, NULL, NULL), 2);
}
END_TEST

/* ==== suite ============================================================================= */

/* ==== item 3 of issue 14: uneven interleaving, layouts, micro-batch groups, FSDP ======== */

/*
 * Megatron-LM's own example (model_parallel_config.py, microbatch_group_size_per_vp_stage):
 * PP 2, VP 2, N 3, M 5: schedule table mb 0 1 2 0 1 2 3 4 3 4, chunk 0 0 0 1 1 1 0 0 1 1.
 *   s = 0: W = 2 (2 - 0 - 1) + (2 - 1) 3 = 5: F k0..4, (F5 B0) .. (F9 B4), B5..9
 *   s = 1: W = 0 + 3 = 3: F k0..2, (F3 B0) .. (F9 B6), B7..9
 * backward k: the table's micro-batch, chunk 1 - the table's.
 */
START_TEST(test_interleaved_groups_of_3)
{
    static const pass s0[] = {F(0, 0), F(1, 0), F(2, 0), F(0, 1), F(1, 1),
                              F(2, 1), B(0, 1), F(3, 0), B(1, 1), F(4, 0), B(2, 1),
                              F(3, 1), B(0, 0), F(4, 1), B(1, 0),
                              B(2, 0), B(3, 1), B(4, 1), B(3, 0), B(4, 0)};
    static const pass s1[] = {F(0, 0), F(1, 0), F(2, 0),
                              F(0, 1), B(0, 1), F(1, 1), B(1, 1), F(2, 1), B(2, 1),
                              F(3, 0), B(0, 0), F(4, 0), B(1, 0), F(3, 1), B(2, 0),
                              F(4, 1), B(3, 1), B(4, 1), B(3, 0), B(4, 0)};
    sched sc;
    for (int64_t s = 0; s < 2; s++) {
        const pass *want = s ? s1 : s0;
        sched_init_group(&sc, WL_SCHED_INTERLEAVED, 2, 5, 2, s, 3);
        ck_assert_int_eq(sc.warmup, s ? 3 : 5);
        ck_assert_int_eq(sched_len(&sc), 20);
        for (int64_t i = 0; i < 20; i++) {
            sched_pass got = sched_at(&sc, i);
            ck_assert_msg(got.backward == want[i].b && got.mb == want[i].mb &&
                              got.chunk == want[i].chunk,
                          "s %lld pass %lld: %c(%lld, %lld)", (long long)s, (long long)i,
                          got.backward ? 'B' : 'F', (long long)got.mb, (long long)got.chunk);
        }
    }
    /* Megatron-LM's docstring, N = 2, M = 4: forwards of rank 0 run micro-batches
     * 0 1 0 1 2 3 2 3 */
    static const int64_t mbs[] = {0, 1, 0, 1, 2, 3, 2, 3};
    sched_init_group(&sc, WL_SCHED_INTERLEAVED, 2, 4, 2, 0, 2);
    for (int64_t i = 0, k = 0; i < sched_len(&sc); i++) {
        sched_pass ps = sched_at(&sc, i);
        if (!ps.backward)
            ck_assert_int_eq(ps.mb, mbs[k++]);
    }
}
END_TEST

/*
 * Runs the p stages' schedules in time: a forward of virtual stage g takes its layers'
 * count of time units, a backward twice that, pipeline messages are free; a pass starts
 * when its stage is free and its predecessor (forward g - 1, backward g + 1) has ended.
 * Returns the makespan and each stage's busy time.
 */
static int64_t timed_schedule(int64_t p, int64_t m, int64_t v, int64_t grp,
                              const int32_t *layers, int64_t *busy)
{
    int64_t G = p * v, n = 2 * m * v;
    int64_t *fend = calloc((size_t)(m * G), sizeof *fend);
    int64_t *bend = calloc((size_t)(m * G), sizeof *bend);
    int64_t *next = calloc((size_t)p, sizeof *next), *free_at = calloc((size_t)p, sizeof *free_at);
    sched *sc = calloc((size_t)p, sizeof *sc);
    ck_assert(fend && bend && next && free_at && sc);
    for (int64_t s = 0; s < p; s++) {
        sched_init_group(&sc[s], WL_SCHED_INTERLEAVED, p, m, v, s, grp);
        busy[s] = 0;
    }
    for (int64_t i = 0; i < m * G; i++)
        fend[i] = bend[i] = -1;
    int64_t left = n * p, span = 0;
    while (left > 0) {
        int progress = 0;
        for (int64_t s = 0; s < p; s++) {
            while (next[s] < n) {
                sched_pass ps = sched_at(&sc[s], next[s]);
                int64_t g = ps.chunk * p + s, at = ps.mb * G + g, ready;
                if (ps.backward)
                    ready = g == G - 1 ? fend[at] : bend[at + 1];
                else
                    ready = g == 0 ? 0 : fend[at - 1];
                if (ready < 0)
                    break;
                int64_t t0 = ready > free_at[s] ? ready : free_at[s];
                int64_t d = layers[g] * (ps.backward ? 2 : 1);
                (ps.backward ? bend : fend)[at] = free_at[s] = t0 + d;
                busy[s] += d;
                span = free_at[s] > span ? free_at[s] : span;
                next[s]++;
                left--;
                progress = 1;
            }
        }
        ck_assert_msg(progress, "deadlock");
    }
    free(fend);
    free(bend);
    free(next);
    free(free_at);
    free(sc);
    return span;
}

/*
 * The uneven interleaved schedule by hand: pp 2, vp 2, m 4 (groups of 2), 6 layers laid
 * out "Et|tt|tt|tL": the first and the last stage one layer short in their outer chunks
 * (virtual stages of 1, 2, 2, 1 layers; stage 0 holds chunks of 1 and 2, stage 1 of 2
 * and 1). Orders (g = chunk 2 + stage):
 *   stage 0: F(0,0) F(1,0) F(0,1) F(1,1) F(2,0) B(0,1) F(3,0) B(1,1) F(2,1) B(0,0) F(3,1)
 *            B(1,0) B(2,1) B(3,1) B(2,0) B(3,0)
 *   stage 1: F(0,0) F(1,0) F(0,1) B(0,1) F(1,1) B(1,1) F(2,0) B(0,0) F(3,0) B(1,0) F(2,1)
 *            B(2,1) F(3,1) B(3,1) B(2,0) B(3,0)
 * In time units (a layer's forward 1, backward 2), by hand:
 *   stage 0: F 0-1, 1-2, 3-5, 5-7, 7-8; B 8-12; F 12-13; B 13-17; F 17-19; B 19-21;
 *            F 21-23; B 23-25, 26-30, 30-34, 34-36, 38-40
 *   stage 1: F 1-3, 3-5, 5-6; B 6-8; F 8-9; B 9-11; F 11-13; B 13-17; F 17-19; B 19-23;
 *            F 23-24; B 24-26; F 26-27; B 27-29, 30-34, 34-38
 * Each stage computes 4 x (1 + 2 + 2 + 4) = 36 units of a 40-unit step: a bubble of 4 on
 * each (stage 0 idles 2-3, 25-26, 36-38; stage 1 0-1, 29-30, 38-40), 4 / 36 = 0.111 of
 * the ideal against the even formula's (p - 1) / (m v) = 0.125. The plan lays the layers
 * out so, and its programs run each chunk's own layers.
 */
START_TEST(test_uneven_interleaved_by_hand)
{
    static const pass s0[] = {F(0, 0), F(1, 0), F(0, 1), F(1, 1), F(2, 0), B(0, 1),
                              F(3, 0), B(1, 1), F(2, 1), B(0, 0), F(3, 1), B(1, 0),
                              B(2, 1), B(3, 1), B(2, 0), B(3, 0)};
    static const pass s1[] = {F(0, 0), F(1, 0), F(0, 1), B(0, 1), F(1, 1), B(1, 1),
                              F(2, 0), B(0, 0), F(3, 0), B(1, 0), F(2, 1), B(2, 1),
                              F(3, 1), B(3, 1), B(2, 0), B(3, 0)};
    check_sched(WL_SCHED_INTERLEAVED, 2, 4, 2, 0, s0, 16);
    check_sched(WL_SCHED_INTERLEAVED, 2, 4, 2, 1, s1, 16);
    static const int32_t layers[4] = {1, 2, 2, 1};
    int64_t busy[2];
    ck_assert_int_eq(timed_schedule(2, 4, 2, 2, layers, busy), 40);
    ck_assert_int_eq(busy[0], 36);
    ck_assert_int_eq(busy[1], 36);
    /* the plan: 6 layers, the layout above (--set on the tiny config) */
    static const char *const sets[] = {"workload.model.layers=6",
                                       "parallelism.pipeline_model_parallel_layout=Et|tt|tt|tL",
                                       NULL};
    plan *p = load_tiny(sets);
    const wl_parallel *par = plan_parallel(p);
    ck_assert_int_eq(par->vp, 2);
    ck_assert_int_eq(par->schedule, WL_SCHED_INTERLEAVED);
    ck_assert_int_eq(plan_microbatches(p), 4);
    static const int64_t want_first[4] = {0, 1, 3, 5};
    for (int64_t g = 0; g < 4; g++) {
        int64_t first, count;
        wl_chunk_layers(plan_workload(p), par, g, &first, &count);
        ck_assert_int_eq(first, want_first[g]);
        ck_assert_int_eq(count, layers[g]);
    }
    /* rank 0 (stage 0) runs layer 0 in chunk 0 and layers 3, 4 in chunk 1 */
    prog pr;
    prog_collect(p, 0, &pr);
    int64_t fwd_layers[2] = {0, 0}; /* per chunk: forward layer visits */
    for (size_t i = 0; i < pr.n; i++)
        if (pr.it[i].kind == PLAN_ITEM_COMPUTE && !pr.it[i].backward &&
            pr.it[i].op.role == WL_ROLE_ATTN_NORM) {
            int64_t c = pr.it[i].chunk, l = pr.it[i].layer;
            ck_assert(c == 0 ? l == 0 : l == 3 || l == 4);
            fwd_layers[c]++;
        }
    ck_assert_int_eq(fwd_layers[0], 4);     /* 4 micro-batches x 1 layer */
    ck_assert_int_eq(fwd_layers[1], 4 * 2); /* 4 micro-batches x 2 layers */
    prog_free(&pr);
    /* the memory model holds the peak of the schedule's chunk activations */
    wl_memory mem;
    sim_status st;
    ck_assert_int_eq(wl_memory_stage(plan_workload(p), par, 0, &mem, &st), SIM_OK);
    double one = wl_activation_bytes_per_layer(plan_workload(p), par, 0);
    /* stage 0 holds F(0,0) F(1,0) F(0,1) F(1,1) F(2,0) at its peak: 1 + 1 + 2 + 2 + 1 */
    CK_REL(mem.activations, 7 * one, 1e-12);
    plan_destroy(p);
}
END_TEST

/*
 * Megatron-LM's first/last stage counts with virtual stages: 10 layers, pp 3, vp 2, first
 * 2 and last 2: the middle stage takes 6 (3 per chunk), the outer stages 1 per chunk;
 * g = chunk 3 + stage: 1 [0], 3 [1-3], 1 [4], 1 [5], 3 [6-8], 1 [9]
 * (get_transformer_layer_offset: chunk x 5 + 1 + (stage - 1) x 3 for the middle stage).
 */
START_TEST(test_first_last_with_virtual_stages)
{
    wl_workload w;
    memset(&w, 0, sizeof w);
    w.layers = 10;
    wl_parallel par;
    wl_parallel_default(&par);
    par.pp = 3;
    par.vp = 2;
    par.schedule = WL_SCHED_INTERLEAVED;
    par.first_stage_layers = 2;
    par.last_stage_layers = 2;
    static const int64_t first[6] = {0, 1, 4, 5, 6, 9}, count[6] = {1, 3, 1, 1, 3, 1};
    for (int64_t g = 0; g < 6; g++) {
        int64_t f, c;
        wl_chunk_layers(&w, &par, g, &f, &c);
        ck_assert_int_eq(f, first[g]);
        ck_assert_int_eq(c, count[g]);
    }
    char why[256];
    wl_uneven_problem(&w, &par, why, sizeof why);
    ck_assert_str_eq(why, "");
    /* only the last given: the other two stages share 8, 4 each, 2 per chunk */
    par.first_stage_layers = 0;
    static const int64_t f2[6] = {0, 2, 4, 5, 7, 9}, c2[6] = {2, 2, 1, 2, 2, 1};
    for (int64_t g = 0; g < 6; g++) {
        int64_t f, c;
        wl_chunk_layers(&w, &par, g, &f, &c);
        ck_assert_int_eq(f, f2[g]);
        ck_assert_int_eq(c, c2[g]);
    }
    /* 3 on the first stage does not split into 2 chunks */
    par.first_stage_layers = 3;
    par.last_stage_layers = 1;
    wl_uneven_problem(&w, &par, why, sizeof why);
    ck_assert_str_eq(why, "stages of 3, 6 and 1 layers (first, others, last) do not split "
                          "into 2 virtual stages each");
    /* the config keys under Megatron-LM's names, with virtual stages */
    static const char *const sets[] = {"parallelism.decoder_first_pipeline_num_layers=2",
                                       "parallelism.decoder_last_pipeline_num_layers=2",
                                       "parallelism.virtual_stages=2",
                                       "parallelism.schedule=interleaved", NULL};
    plan *p = load_tiny(sets);
    ck_assert_int_eq(plan_parallel(p)->first_stage_layers, 2);
    ck_assert_int_eq(plan_parallel(p)->last_stage_layers, 2);
    plan_destroy(p);
}
END_TEST

/* Layout strings that parse: counts per virtual stage, in Megatron-LM's order. */
START_TEST(test_layout_parser_good)
{
    static const struct {
        const char *s;
        int64_t pp, layers, n;
        int32_t counts[8];
    } cases[] = {
        {"Et|tt|tt|tL", 2, 6, 4, {1, 2, 2, 1}},
        {"Ettt|(tttt|)*2tttL", 2, 14, 4, {3, 4, 4, 3}},   /* Llama 3 405B's shape, small */
        {"E,t*3|(t*4|)*2,t*3,L", 2, 14, 4, {3, 4, 4, 3}}, /* commas and x*n */
        {"E|t*4|t*4|L", 2, 8, 4, {0, 4, 4, 0}},           /* embedding and loss alone */
        {"Ett|ttL", 2, 4, 2, {2, 2}},                     /* no virtual stages */
        {"Et||tL", 1, 2, 3, {1, 0, 1}},                   /* an empty stage */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wl_parallel par;
        wl_parallel_default(&par);
        char why[256];
        ck_assert_msg(wl_layout_parse(cases[i].s, cases[i].pp, cases[i].layers, &par, why,
                                      sizeof why), "%s: %s", cases[i].s, why);
        ck_assert_int_eq(par.layout_n, cases[i].n);
        for (int64_t g = 0; g < cases[i].n; g++)
            ck_assert_int_eq(par.layout[g], cases[i].counts[g]);
    }
}
END_TEST

/* Collectives of rank 0 (stage 0: 2 layers, 4 micro-batches) by kind and group slot. */
typedef struct coll_count {
    int gathers_fwd, gathers_bwd, rs, ar, ar_replica, tail_gathers;
    double rs_bytes, ar_replica_bytes;
    int gather_slot;
} coll_count;

static coll_count count_dp_colls(const plan *p)
{
    coll_count k;
    memset(&k, 0, sizeof k);
    prog pr;
    prog_collect(p, 0, &pr);
    for (size_t i = 0; i < pr.n; i++) {
        const plan_item *it = &pr.it[i];
        if (it->kind != PLAN_ITEM_COLL || it->dim != PLAN_DP ||
            plan_slot_size(p, plan_slot(it->dim, it->group)) < 2)
            continue;
        if (it->coll == COLL_ALLGATHER && it->layer >= 0) {
            *(it->backward ? &k.gathers_bwd : &k.gathers_fwd) += 1;
            k.gather_slot = plan_slot(it->dim, it->group);
        } else if (it->coll == COLL_ALLGATHER) {
            k.tail_gathers++;
        } else if (it->coll == COLL_REDUCE_SCATTER) {
            k.rs++;
            k.rs_bytes += it->bytes;
        } else if (it->coll == COLL_ALLREDUCE && it->group == PLAN_GROUP_FSDP_REPLICA) {
            k.ar_replica++;
            k.ar_replica_bytes += it->bytes;
        } else if (it->coll == COLL_ALLREDUCE) {
            k.ar++;
        }
    }
    prog_free(&pr);
    return k;
}

/*
 * PyTorch FSDP's strategies on the tiny config (tp 2, pp 2, dp 4, 4 micro-batches; rank 0
 * holds 2 layers of 786,944 / 2 + 512 ... parameters each): what each issues and holds.
 *   full_shard (fsdp: true): a gather per layer before every forward and again before
 *     every backward (2 x 4 x 2 = 16), gradients reduce-scattered after every backward
 *     over the 4 replicas; weights, gradients and optimizer / 4.
 *   shard_grad_op (or reshard_after_forward: false): the forward gathers only (8); weights
 *     held unsharded from forward to backward: 2 P (1 + 1/4) bytes, no gather buffers.
 *   hybrid_shard, shard groups of 2: the gathers and reduce-scatters over 2 ranks (the
 *     FSDP shard slot), each reduce-scatter followed by an all-reduce of its half across
 *     the 2 groups; model states / 2.
 *   no_shard: DDP, one all-reduce of the buckets at the last micro-batch, nothing sharded.
 */
START_TEST(test_fsdp_strategies)
{
    static const char *const full[] = {"parallelism.fsdp=true", NULL};
    static const char *const sgo[] = {"parallelism.fsdp=shard_grad_op", NULL};
    static const char *const raf[] = {"parallelism.fsdp=full_shard",
                                      "parallelism.reshard_after_forward=false", NULL};
    static const char *const hsdp[] = {"parallelism.fsdp=HYBRID_SHARD",
                                       "parallelism.fsdp_shard_size=2", NULL};
    static const char *const hz2[] = {"parallelism.fsdp=_hybrid_shard_zero2",
                                      "parallelism.fsdp_shard_size=2", NULL};
    static const char *const none[] = {"parallelism.fsdp=no_shard", NULL};
    plan *p = load_tiny(full);
    const wl_workload *w = plan_workload(p);
    double P = 0; /* parameters rank 0 holds */
    for (int64_t l = 0; l < 2; l++)
        P += wl_layer_params_per_rank(w, plan_parallel(p), l);
    P += wl_edge_params_per_rank(w, plan_parallel(p), 0, 0);
    ck_assert_int_eq(wl_fsdp_of(plan_parallel(p)), WL_FSDP_FULL_SHARD);
    coll_count k = count_dp_colls(p);
    ck_assert_int_eq(k.gathers_fwd, 8);
    ck_assert_int_eq(k.gathers_bwd, 8);
    ck_assert_int_eq(k.gather_slot, plan_slot(PLAN_DP, PLAN_GROUP_DP_CP));
    ck_assert_int_gt(k.rs, 0);
    ck_assert_int_eq(k.ar + k.ar_replica + k.tail_gathers, 0);
    /* each micro-batch's gradients reduced: 4 x the rank's gradient bytes */
    CK_REL(k.rs_bytes, 4.0 * P * wl_grad_bytes(w), 1e-12);
    wl_memory m_full, m;
    sim_status st;
    ck_assert_int_eq(wl_memory_stage(w, plan_parallel(p), 0, &m_full, &st), SIM_OK);
    CK_REL(m_full.weights, 2.0 * P / 4.0, 1e-12);
    CK_REL(m_full.grads, 4.0 * P / 4.0, 1e-12);
    CK_REL(m_full.optimizer, 12.0 * P / 4.0, 1e-12);
    plan_destroy(p);

    for (int variant = 0; variant < 2; variant++) {
        p = load_tiny(variant ? raf : sgo);
        w = plan_workload(p); /* the workload lives in the plan */
        ck_assert_int_eq(wl_fsdp_of(plan_parallel(p)), WL_FSDP_SHARD_GRAD_OP);
        k = count_dp_colls(p);
        ck_assert_int_eq(k.gathers_fwd, 8);
        ck_assert_int_eq(k.gathers_bwd, 0);
        CK_REL(k.rs_bytes, 4.0 * P * wl_grad_bytes(w), 1e-12);
        ck_assert_int_eq(wl_memory_stage(w, plan_parallel(p), 0, &m, &st), SIM_OK);
        CK_REL(m.weights, 2.0 * P / 4.0 + 2.0 * P, 1e-12);
        CK_REL(m.grads, m_full.grads, 1e-12);
        ck_assert(m.comm_buffers < m_full.comm_buffers); /* no gather buffers */
        plan_destroy(p);
    }

    for (int variant = 0; variant < 2; variant++) {
        p = load_tiny(variant ? hz2 : hsdp);
        w = plan_workload(p); /* the workload lives in the plan */
        const wl_parallel *par = plan_parallel(p);
        ck_assert_int_eq(wl_fsdp_of(par), variant ? WL_FSDP_HYBRID_SHARD_ZERO2
                                                  : WL_FSDP_HYBRID_SHARD);
        ck_assert_int_eq(wl_shard_size(par), 2);
        int shard = plan_slot(PLAN_DP, PLAN_GROUP_FSDP_SHARD);
        int rep = plan_slot(PLAN_DP, PLAN_GROUP_FSDP_REPLICA);
        ck_assert_int_eq(plan_slot_size(p, shard), 2);
        ck_assert_int_eq(plan_slot_size(p, rep), 2);
        /* rank 0 (tp 0, dp 0) shards with dp 1 (rank 2) and is replicated by dp 2 (rank 4) */
        ck_assert_int_eq(plan_slot_member(p, 0, shard, 1), 2);
        ck_assert_int_eq(plan_slot_member(p, 0, rep, 1), 4);
        ck_assert_int_eq(plan_slot_member(p, 6, shard, 0), 4);
        ck_assert_int_eq(plan_slot_member(p, 6, rep, 0), 2);
        k = count_dp_colls(p);
        ck_assert_int_eq(k.gathers_fwd, 8);
        ck_assert_int_eq(k.gathers_bwd, variant ? 0 : 8);
        ck_assert_int_eq(k.gather_slot, shard);
        ck_assert_int_eq(k.ar_replica, k.rs);
        CK_REL(k.ar_replica_bytes, k.rs_bytes / 2.0, 1e-12);
        ck_assert_int_eq(wl_memory_stage(w, par, 0, &m, &st), SIM_OK);
        CK_REL(m.weights, 2.0 * P / 2.0 + (variant ? 2.0 * P : 0.0), 1e-12);
        CK_REL(m.optimizer, 12.0 * P / 2.0, 1e-12);
        plan_destroy(p);
    }

    p = load_tiny(none);

    w = plan_workload(p); /* the workload lives in the plan */
    ck_assert_int_eq(wl_fsdp_of(plan_parallel(p)), WL_FSDP_NO_SHARD);
    k = count_dp_colls(p);
    ck_assert_int_eq(k.gathers_fwd + k.gathers_bwd + k.rs + k.ar_replica + k.tail_gathers, 0);
    ck_assert_int_gt(k.ar, 0);
    ck_assert_int_eq(wl_memory_stage(w, plan_parallel(p), 0, &m, &st), SIM_OK);
    CK_REL(m.weights, 2.0 * P, 1e-12);
    CK_REL(m.optimizer, 12.0 * P, 1e-12);
    plan_destroy(p);
}
END_TEST

/* Every config shipped under configs/ loads: a config the planner refuses is a defect,
 * whatever the commit that changed the rules. */
START_TEST(test_shipped_configs_load)
{
    glob_t g;
    ck_assert_int_eq(glob("configs/*.yaml", 0, NULL, &g), 0);
    ck_assert_int_eq(glob("configs/*/*.yaml", GLOB_APPEND, NULL, &g), 0);
    ck_assert(g.gl_pathc >= 40);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        plan *p = NULL;
        sim_status st;
        sim_status_clear(&st);
        ck_assert_msg(plan_load(g.gl_pathv[i], NULL, 0, &p, &st) == SIM_OK, "%s: %s",
                      g.gl_pathv[i], st.msg);
        plan_destroy(p);
    }
    globfree(&g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan");
    TCase *ts = tcase_create("sched");
    tcase_add_test(ts, test_1f1b_p4_m8);
    tcase_add_test(ts, test_gpipe_p2_m3);
    tcase_add_test(ts, test_interleaved_p2_m4_v2);
    tcase_add_test(ts, test_interleaved_p4_m8_v2);
    tcase_add_test(ts, test_interleaved_m_equals_p);
    tcase_add_test(ts, test_sched_invariants);
    tcase_add_test(ts, test_inflight_matches_schedule);
    tcase_add_test(ts, test_inflight_groups);
    tcase_add_test(ts, test_bubble);
    tcase_add_test(ts, test_interleaved_groups_of_3);
    tcase_add_test(ts, test_uneven_interleaved_by_hand);
    tcase_add_test(ts, test_first_last_with_virtual_stages);
    tcase_add_test(ts, test_layout_parser_good);
    suite_add_tcase(s, ts);
    TCase *tp = tcase_create("placement");
    tcase_add_test(tp, test_placement_default);
    tcase_add_test(tp, test_placement_override);
    tcase_add_test(tp, test_placement_tp8_domains);
    tcase_add_test(tp, test_ep_groups);
    tcase_add_test(tp, test_uneven_stages);
    suite_add_tcase(s, tp);
    TCase *tr = tcase_create("programs");
    tcase_set_timeout(tr, 120);
    tcase_add_test(tr, test_compute_items);
    tcase_add_test(tr, test_program_shape);
    tcase_add_loop_test(tr, test_layer_collectives, 0,
                        (int)(sizeof sig_cases / sizeof sig_cases[0]));
    tcase_add_test(tr, test_moe_collectives);
    tcase_add_test(tr, test_pipeline_send_recv);
    tcase_add_test(tr, test_determinism);
    tcase_add_test(tr, test_next_ref_matches_next);
    tcase_add_test(tr, test_dp_structure);
    tcase_add_test(tr, test_dp_without_overlap);
    tcase_add_test(tr, test_dp_overlap_defaults);
    tcase_add_test(tr, test_dp_buckets);
    tcase_add_test(tr, test_dp_cp_one_group);
    tcase_add_test(tr, test_expert_dp_group);
    tcase_add_test(tr, test_tied_embedding_sync);
    tcase_add_test(tr, test_dp_bytes_layer_share);
    tcase_add_test(tr, test_dp_bytes_rank_gradients);
    tcase_add_test(tr, test_zero3_prefetch_async);
    tcase_add_test(tr, test_fsdp_strategies);
    tcase_add_test(tr, test_cp_gradients_reduced);
    tcase_add_test(tr, test_embedding_head_tp_collectives);
    suite_add_tcase(s, tr);
    TCase *tt = tcase_create("totals");
    tcase_set_timeout(tt, 120);
    tcase_add_test(tt, test_totals_quickstart);
    tcase_add_test(tt, test_totals_items_rank0);
    suite_add_tcase(s, tt);
    TCase *tb = tcase_create("bad");
    tcase_add_loop_test(tb, test_bad_config, 0, (int)N_BAD);
    tcase_add_test(tb, test_null_status_and_override_order);
    suite_add_tcase(s, tb);
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cli_plan_json);
    tcase_add_test(tc, test_cli_plan_exit_statuses);
    tcase_add_test(tc, test_cli_run_refuses_misfit);
    tcase_add_test(tc, test_shipped_configs_load);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
