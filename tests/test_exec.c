/*
 * test_exec.c: the replay executor.
 *
 * - One rank alone: the step is exactly the sum of its compute ops, each max(FLOPs / (peak x
 *   eff), bytes / (HBM x eff_mem)) + launch, recomputed here from the chip's figures.
 * - Accounting: every rank's compute + exposed + bubble + waiting fits in the step, and the
 *   last rank to finish fills it exactly (a rank is always in exactly one state).
 * - A pure data-parallel pair: the step is the compute plus the one gradient reduction left
 *   after the last layer (the earlier ones hide behind backward compute), within bounds.
 * - Collective records: rank 0's collectives, every step, each once.
 * - Determinism: the same config gives identical figures, link bytes and collectives.
 * - Bounds: --max-events stops the run cleanly.
 * Configs: tests/fixtures/good/cfg-tiny.yaml (4 layers, hidden 256, on two-nodes) with
 * overrides, and configs/quickstart.yaml.
 */
#include <check.h>
#define CLUSTERSIM_TEST_PLANS
#include "helpers.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/exec.h"
#include "out/trace.h"
#include "workload/plan.h"

#define TINY "tests/fixtures/good/cfg-tiny.yaml"


static void run(plan *p, exec_result *r)
{
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(exec_run(p, NULL, r, &st) == SIM_OK, "%s", st.msg);
}

/* The op time of exec.h, from the chip's figures. */
static double op_s(const hw_chip *c, const wl_op *op)
{
    double eff = c->eff_gemm;
    if (op->kind == WL_OP_GEMM || op->kind == WL_OP_ATTENTION) {
        double d = fmin(op->m, fmin(op->n, op->k));
        eff = c->eff_gemm / (1 + c->gemm_half_dim / d);
        if (op->kind == WL_OP_ATTENTION && op->fused && c->eff_attention > 0)
            eff = c->eff_attention * (op->dropout ? c->eff_attention_dropout : 1.0);
    }
    double t = fmax(op->flops / (c->peak_bf16_flops * eff), op->hbm_bytes / (c->hbm_Bps * c->eff_mem));
    return round(t * 1e12) * 1e-12 + EXEC_LAUNCH_PS * 1e-12;
}

START_TEST(one_rank_is_its_compute)
{
    static const char *const sets[] = {"parallelism.chips=1", "parallelism.tp=1",
                                       "parallelism.pp=1", "parallelism.dp=1", NULL};
    plan *p = th_load(TINY, sets);
    const hw_chip *chip = topo_chip_hw(plan_topo(p), 0);
    plan_cursor c;
    plan_item it;
    double want = 0;
    size_t ops = 0;
    plan_prog_begin(p, 0, &c);
    while (plan_prog_next(p, &c, &it))
        if (it.kind == PLAN_ITEM_COMPUTE) {
            want += op_s(chip, &it.op);
            ops++;
        }
    ck_assert_uint_gt(ops, 100);
    exec_result r;
    run(p, &r);
    ck_assert_double_eq_tol(r.step_time_s, want, 1e-12);
    ck_assert_double_eq_tol(r.ranks[0].compute_s, want, 1e-12);
    for (int d = 0; d < PLAN_DIM_COUNT; d++)
        ck_assert_double_eq(r.ranks[0].exposed_s[d], 0);
    /* MFU = model FLOPs / (step x peak) */
    ck_assert_double_eq_tol(r.mfu, wl_model_flops_per_step(plan_workload(p)) /
                                       (want * chip->peak_bf16_flops), 1e-12);
    exec_result_free(&r);
    plan_destroy(p);
}
END_TEST

static void check_accounting(plan *p)
{
    exec_result r;
    run(p, &r);
    double most = 0;
    for (int64_t i = 0; i < plan_ranks(p); i++) {
        const exec_rank_stats *a = &r.ranks[i];
        double sum = a->compute_s + a->idle_s + a->bubble_s;
        for (int d = 0; d < PLAN_DIM_COUNT; d++) {
            ck_assert(a->exposed_s[d] >= 0);
            sum += a->exposed_s[d];
        }
        ck_assert_msg(sum <= r.step_time_s * (1 + 1e-9), "rank %lld: %.17g > step %.17g",
                      (long long)i, sum, r.step_time_s);
        most = fmax(most, sum);
    }
    ck_assert_double_eq_tol(most, r.step_time_s, 1e-9 * r.step_time_s);
    exec_result_free(&r);
}

START_TEST(accounting_fills_the_step)
{
    static const char *const variants[][5] = {
        {NULL},
        {"parallelism.sequence_parallel=true", "parallelism.recompute=full", NULL},
        {"parallelism.zero=1", "parallelism.schedule=gpipe", NULL},
        {"parallelism.pp=1", "parallelism.dp=8", "parallelism.zero=3", NULL},
    };
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        plan *p = th_load(TINY, variants[v]);
        check_accounting(p);
        plan_destroy(p);
    }
    plan *q = th_load("configs/quickstart.yaml", NULL);
    check_accounting(q);
    plan_destroy(q);
}
END_TEST

/* Two ranks of data parallelism in one node: the step is at least the compute and at most
 * the compute plus every gradient reduction in full; the exposed dp time is what is left of
 * the last bucket's reduction after the rank's last backward op. */
START_TEST(data_parallel_pair)
{
    static const char *const sets[] = {"parallelism.chips=2", "parallelism.tp=1",
                                       "parallelism.pp=1", "parallelism.dp=2", NULL};
    plan *p = th_load(TINY, sets);
    exec_result r;
    run(p, &r);
    const exec_rank_stats *a = &r.ranks[0];
    ck_assert(a->exposed_s[PLAN_DP] > 0);
    ck_assert_double_eq_tol(r.step_time_s, a->compute_s + a->exposed_s[PLAN_DP], 1e-12);
    double reduce_all = 0;
    for (size_t i = 0; i < r.n_colls; i++) {
        ck_assert_int_eq(r.colls[i].dim, PLAN_DP);
        reduce_all += r.colls[i].end_s - r.colls[i].start_s;
    }
    ck_assert(r.n_colls > 0);
    ck_assert(a->exposed_s[PLAN_DP] <= reduce_all);
    /* the reductions before the last overlap the backward pass: what is exposed is at most
     * the last one */
    const exec_coll_rec *last = &r.colls[r.n_colls - 1];
    ck_assert(a->exposed_s[PLAN_DP] <= last->end_s - last->start_s + 1e-12);
    exec_result_free(&r);
    plan_destroy(p);
}
END_TEST

/* The same pair without overlap_grad_reduce (Megatron-LM's default): the whole gradient
 * buffer, 4 layers x 786,944 + 2 x 256,000 (embedding, output) + 256 (final norm) =
 * 3,660,032 fp32 gradients = 14,640,128 bytes, is all-reduced in one collective after the
 * backward pass, synchronously: none of it overlaps compute, so the exposed dp time is that
 * collective's replayed time, and the step is the compute plus it. */
START_TEST(data_parallel_pair_without_overlap)
{
    static const char *const sets[] = {"parallelism.chips=2", "parallelism.tp=1",
                                       "parallelism.pp=1", "parallelism.dp=2",
                                       "parallelism.overlap_grad_reduce=false", NULL};
    plan *p = th_load(TINY, sets);
    exec_result r;
    run(p, &r);
    const exec_rank_stats *a = &r.ranks[0];
    ck_assert_uint_eq(r.n_colls, 1);
    const exec_coll_rec *c = &r.colls[0];
    ck_assert_int_eq(c->dim, PLAN_DP);
    ck_assert_int_eq(c->kind, COLL_ALLREDUCE);
    ck_assert_double_eq(c->bytes, 14640128.0);
    ck_assert_double_eq_tol(a->exposed_s[PLAN_DP], c->end_s - c->start_s, 1e-12);
    ck_assert_double_eq_tol(r.step_time_s, a->compute_s + (c->end_s - c->start_s), 1e-12);
    /* it starts after the last backward op: all the step's compute but the optimizer step,
     * which follows it, is before it */
    wl_op opt;
    wl_optimizer_op(plan_workload(p), plan_parallel(p), 0, &opt);
    double t_opt = exec_op_seconds(topo_chip_hw(plan_topo(p), 0), &opt, false);
    ck_assert(t_opt > 0);
    ck_assert_double_eq_tol(c->start_s, a->compute_s - t_opt, 1e-12);
    ck_assert_double_eq_tol(r.step_time_s, c->end_s + t_opt, 1e-12);
    exec_result_free(&r);
    plan_destroy(p);
}
END_TEST

/* The collective records are the collectives of rank 0's groups, every step, each once:
 * per step as many as rank 0's program has over groups of two or more, carrying as many
 * bytes per dimension. Variants: tp x pp x dp with warm-up steps, an interleaved pipeline of
 * four stages (its last stage sends to the first), ZeRO-3 without a pipeline. */
START_TEST(collective_records_are_rank0s)
{
    static const char *const variants[][9] = {
        {"run.warmup=2", "run.steps=2", NULL},
        {"parallelism.chips=8", "parallelism.tp=1", "parallelism.pp=4", "parallelism.dp=2",
         "parallelism.schedule=interleaved", "parallelism.virtual_stages=2",
         "workload.model.layers=8", NULL},
        {"parallelism.pp=1", "parallelism.dp=8", "parallelism.zero=3", NULL},
    };
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        plan *p = th_load(TINY, variants[v]);
        if (v == 1) {
            ck_assert_int_eq(plan_parallel(p)->pp, 4);
            ck_assert_int_eq(plan_parallel(p)->vp, 2);
        }
        size_t per_step = 0;
        double bytes[PLAN_DIM_COUNT] = {0};
        plan_cursor c;
        plan_item it;
        plan_prog_begin(p, 0, &c);
        while (plan_prog_next(p, &c, &it))
            if (it.kind == PLAN_ITEM_COLL && plan_slot_size(p, plan_slot(it.dim, it.group)) > 1) {
                per_step++;
                bytes[it.dim] += it.bytes;
            }
        ck_assert_uint_gt(per_step, 0);
        exec_result r;
        run(p, &r);
        int64_t steps = plan_warmup_steps(p) + plan_steps(p);
        ck_assert_uint_eq(r.n_colls, per_step * (size_t)steps);
        for (int64_t k = 0; k < steps; k++) {
            size_t n = 0;
            double got[PLAN_DIM_COUNT] = {0};
            for (size_t i = 0; i < r.n_colls; i++)
                if (r.colls[i].step == k) {
                    n++;
                    got[r.colls[i].dim] += r.colls[i].bytes;
                    ck_assert(r.colls[i].group_size > 1);
                }
            ck_assert_uint_eq(n, per_step);
            for (int d = 0; d < PLAN_DIM_COUNT; d++)
                ck_assert_double_eq_tol(got[d], bytes[d], 1e-9 * (bytes[d] + 1));
        }
        exec_result_free(&r);
        plan_destroy(p);
    }
}
END_TEST

/* A 1F1B pipeline of equal stages: 4 stages of 2 layers (hidden 4096, sequence 2048), 8
 * micro-batches, a vocabulary of one token (the embedding and head are four tiny ops), TP 1:
 * the step is (m + p - 1)(t_f + t_b), t_f and t_b one stage's forward and backward of one
 * micro-batch, plus the optimizer step at the end and what is not a layer: the head and
 * embedding ops and the pipeline messages (16 MiB over NVLink, about 40 us each against
 * t_f + t_b of about 8 ms: the comparison allows 2%). */
START_TEST(one_f_one_b_of_equal_stages)
{
    static const char *const sets[] = {"parallelism.chips=4", "parallelism.tp=1",
                                       "parallelism.pp=4", "parallelism.dp=1",
                                       "parallelism.sequence_parallel=false",
                                       "workload.model.vocab=1", "workload.model.layers=8",
                                       "workload.model.hidden=4096",
                                       "workload.training.sequence=2048",
                                       "parallelism.global_batch=8", NULL};
    plan *p = th_load(TINY, sets);
    ck_assert_int_eq(plan_microbatches(p), 8);
    const hw_chip *chip = topo_chip_hw(plan_topo(p), 0);
    double tf = 0, tb = 0, opt = 0;
    plan_cursor c;
    plan_item it;
    plan_prog_begin(p, 1, &c); /* a middle stage: layers only */
    while (plan_prog_next(p, &c, &it))
        if (it.kind == PLAN_ITEM_COMPUTE && it.mb == 0)
            *(it.backward ? &tb : &tf) += op_s(chip, &it.op);
        else if (it.kind == PLAN_ITEM_COMPUTE && it.op.kind == WL_OP_OPTIMIZER)
            opt = op_s(chip, &it.op); /* Adam over 2 layers: about 4 ms, after the last pass */
    exec_result r;
    run(p, &r);
    double want = (8 + 4 - 1) * (tf + tb) + opt;
    ck_assert_msg(fabs(r.step_time_s - want) < 0.02 * want, "step %.9g, (m + p - 1)(tf + tb) "
                  "= %.9g", r.step_time_s, want);
    ck_assert(r.step_time_s >= want);
    /* the bubble: each stage idles (p - 1)(t_f + t_b); stage 0, which finishes last, spends
     * it all waiting for gradients to come back (bubble, plus the messages in flight, each
     * paying the chip's NCCL launch and step latency: 4% allowed) */
    double wait0 = r.ranks[0].bubble_s + r.ranks[0].exposed_s[PLAN_PP];
    ck_assert_msg(fabs(wait0 - 3 * (tf + tb)) < 0.04 * 3 * (tf + tb),
                  "stage 0 waits %.9g, (p - 1)(tf + tb) = %.9g", wait0, 3 * (tf + tb));
    exec_result_free(&r);
    plan_destroy(p);
}
END_TEST

/* A chip whose compute slows beside its own communication: the DP pair's ops that overlap a
 * gradient reduction run at 1 / 1.5 of their speed while it lasts; the others do not
 * change. */
START_TEST(overlap_slowdown)
{
    static const char *const sets[] = {"parallelism.chips=2", "parallelism.tp=1",
                                       "parallelism.pp=1", "parallelism.dp=2",
                                       "workload.model.layers=16",
                                       "workload.model.hidden=1024",
                                       /* 16-bit gradients: the reductions stay shorter than
                                        * the backward pass they overlap, so the slowed
                                        * compute is on the critical path */
                                       "workload.training.grad_dtype=bf16", NULL};
    plan *p = th_load(TINY, sets);
    exec_result a, b;
    run(p, &a);
    hw_chip slow = *topo_chip_hw(plan_topo(p), 0);
    slow.overlap_slowdown = 0.5;
    exec_opts opts = {.chip = &slow};
    sim_status st;
    ck_assert_int_eq(exec_run(p, &opts, &b, &st), SIM_OK);
    double extra = b.ranks[0].compute_s - a.ranks[0].compute_s;
    ck_assert_msg(extra > 0, "no op overlapped a reduction");
    /* at most every op after the first reduction is slowed, by half */
    ck_assert(extra <= 0.5 * a.ranks[0].compute_s);
    ck_assert(b.step_time_s > a.step_time_s);
    /* Only while communication lasts: an op overlapped for a wall time W loses W s / (1 + s)
     * of work, so the extra compute never exceeds the time the reductions were in flight,
     * however large the slowdown (slowing whole ops would add 10x their length here). */
    exec_result c;
    slow.overlap_slowdown = 10;
    ck_assert_int_eq(exec_run(p, &opts, &c, &st), SIM_OK);
    double comm = 0;
    for (size_t i = 0; i < c.n_colls; i++)
        if (c.colls[i].step == c.colls[c.n_colls - 1].step)
            comm += c.colls[i].end_s - c.colls[i].start_s;
    double extra10 = c.ranks[0].compute_s - a.ranks[0].compute_s;
    ck_assert_msg(extra10 > extra, "s = 10 adds %g, s = 0.5 %g", extra10, extra);
    ck_assert_msg(extra10 <= comm * (1 + 1e-9), "extra %g > communication %g", extra10, comm);
    exec_result_free(&c);
    exec_result_free(&a);
    exec_result_free(&b);
    plan_destroy(p);
}
END_TEST

/* The attention op's time, forward or backward, on rank 0 of p. */
static double attention_s(plan *p, int backward)
{
    const hw_chip *chip = topo_chip_hw(plan_topo(p), 0);
    plan_cursor c;
    plan_item it;
    plan_prog_begin(p, 0, &c);
    while (plan_prog_next(p, &c, &it))
        if (it.kind == PLAN_ITEM_COMPUTE && it.op.kind == WL_OP_ATTENTION &&
            it.backward == backward && !it.op.recompute)
            return op_s(chip, &it.op);
    ck_abort_msg("no attention op");
    return 0;
}

/*
 * run.alltoall reaches the replay: the tiny MoE (cfg-moe: ep 2, all-to-alls after every
 * dispatch and combine) runs its EP all-to-alls coupled by default and direct when asked,
 * the same collectives at the same sizes, and the step agrees to 0.1% (coll.h says when
 * the two differ: cross traffic that moves an all-to-all's bottleneck).
 */
START_TEST(alltoall_model_reaches_the_replay)
{
    static const char *const direct[] = {"run.alltoall=direct", NULL};
    plan *pc = th_load("tests/fixtures/good/cfg-moe.yaml", NULL),
         *pd = th_load("tests/fixtures/good/cfg-moe.yaml", direct);
    ck_assert_int_eq(plan_alltoall_model(pc), PLAN_A2A_COUPLED);
    ck_assert_int_eq(plan_alltoall_model(pd), PLAN_A2A_DIRECT);
    exec_result c, d;
    run(pc, &c);
    run(pd, &d);
    ck_assert_uint_eq(c.n_colls, d.n_colls);
    size_t a2a = 0;
    for (size_t i = 0; i < c.n_colls; i++) {
        ck_assert_int_eq(c.colls[i].kind, d.colls[i].kind);
        ck_assert_double_eq(c.colls[i].bytes, d.colls[i].bytes);
        if (c.colls[i].kind != COLL_ALLTOALL)
            continue;
        a2a++;
        ck_assert_int_eq(c.colls[i].algo, COLL_ALGO_COUPLED);
        ck_assert_int_eq(d.colls[i].algo, COLL_ALGO_DIRECT);
    }
    ck_assert_uint_gt(a2a, 0);
    ck_assert_double_eq_tol(c.step_time_s, d.step_time_s, 1e-3 * d.step_time_s);
    exec_result_free(&c);
    exec_result_free(&d);
    plan_destroy(pc);
    plan_destroy(pd);
}
END_TEST

/*
 * Context parallelism on a pair, by hand. All-gather CP (Llama 3): every K/V gather and
 * gradient reduce-scatter holds the compute stream, so the exposed CP time is the sum of
 * their durations. Ring attention (p2p): the collectives of an attention op start with it
 * and are joined after it, so each op exposes max(0, its collectives' last end - its start -
 * the op's time): forward one gather beside attention, backward a gather and a
 * reduce-scatter beside the attention backward. The op runs beside the ring the whole time,
 * so it takes 1 + overlap_slowdown times its own time.
 */
START_TEST(ring_attention_hides_kv_behind_attention)
{
    static const char *const ag[] = {"parallelism.chips=2", "parallelism.tp=1",
                                     "parallelism.pp=1",    "parallelism.dp=1",
                                     "parallelism.cp=2",    "parallelism.cp_comm_type=all_gather",
                                     NULL};
    static const char *const ring[] = {"parallelism.chips=2", "parallelism.tp=1",
                                       "parallelism.pp=1",    "parallelism.dp=1",
                                       "parallelism.cp=2",    NULL};
    plan *pa = th_load(TINY, ag), *pr = th_load(TINY, ring);
    exec_result a, r;
    run(pa, &a);
    run(pr, &r);
    double sum = 0;
    for (size_t i = 0; i < a.n_colls; i++)
        if (a.colls[i].dim == PLAN_CP && a.colls[i].step == a.colls[a.n_colls - 1].step)
            sum += a.colls[i].end_s - a.colls[i].start_s;
    ck_assert(sum > 0);
    ck_assert_double_eq_tol(a.ranks[0].exposed_s[PLAN_CP], sum, 1e-9 * sum);
    /* ring: group rank 0's CP collectives of the measured step by their start */
    double af = attention_s(pr, 0), ab = attention_s(pr, 1), want = 0;
    int64_t last = r.colls[r.n_colls - 1].step;
    size_t groups = 0;
    for (size_t i = 0; i < r.n_colls; i++) {
        const exec_coll_rec *c = &r.colls[i];
        if (c->dim != PLAN_CP || c->step != last ||
            (i > 0 && r.colls[i - 1].dim == PLAN_CP && r.colls[i - 1].step == last &&
             r.colls[i - 1].start_s == c->start_s))
            continue; /* the first of its group only */
        double end = c->end_s;
        int backward = 0;
        for (size_t j = i + 1; j < r.n_colls && r.colls[j].start_s == c->start_s; j++)
            if (r.colls[j].dim == PLAN_CP) {
                end = fmax(end, r.colls[j].end_s);
                backward = 1; /* a gather and a reduce-scatter: the backward pass */
            }
        /* the op runs beside the ring, slowed by overlap_slowdown (the ring outlasts it) */
        double slow = 1 + topo_chip_hw(plan_topo(pr), 0)->overlap_slowdown;
        want += fmax(0, end - c->start_s - (backward ? ab : af) * slow);
        groups++;
    }
    ck_assert_uint_eq(groups, 2 * 4 * (size_t)plan_microbatches(pr)); /* 4 layers, 2 passes */
    ck_assert_double_eq_tol(r.ranks[0].exposed_s[PLAN_CP], want, 1e-9 * want + 1e-9);
    ck_assert(r.ranks[0].exposed_s[PLAN_CP] < a.ranks[0].exposed_s[PLAN_CP]);
    ck_assert(r.step_time_s < a.step_time_s);
    exec_result_free(&a);
    exec_result_free(&r);
    plan_destroy(pa);
    plan_destroy(pr);
}
END_TEST

/* An efficiency so low that an op would outlast EXEC_MAX_OP_S is an input error naming the
 * op, never a clock that overflows into the past (calibrate's fit once proposed one). */
START_TEST(an_endless_op_is_refused)
{
    plan *p = th_load(TINY, NULL);
    hw_chip stuck = *topo_chip_hw(plan_topo(p), 0);
    stuck.eff_gemm = 1e-15;
    exec_opts opts = {.chip = &stuck};
    exec_result r;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(exec_run(p, &opts, &r, &st), SIM_ERR_INPUT);
    ck_assert_msg(strstr(st.msg, "would take") &&
                      strstr(st.msg, "over the 86400 s an op may take: the chip's efficiency "
                                     "or peak is too low"),
                  "%s", st.msg);
    ck_assert_ptr_null(r.ranks);
    exec_result_free(&r);
    plan_destroy(p);
}
END_TEST

/* A replay that would not fit is refused before anything is allocated, with the estimate. */
START_TEST(too_large_is_refused)
{
    plan *p = th_load("configs/quickstart.yaml", NULL);
    double need = exec_memory_estimate(p, 1);
    /* 64 ranks x 4 KiB + 384 links x 512 B + 88 nodes x 64 B */
    ck_assert_double_eq(need, 64 * 4096.0 + 384 * 512.0 + 88 * 64.0);
    exec_opts opts = {.mem_limit_bytes = need / 2};
    exec_result r;
    sim_status st;
    ck_assert_int_eq(exec_run(p, &opts, &r, &st), SIM_ERR_LIMIT);
    char msg[512];
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_str_eq(msg, "configs/quickstart.yaml: error: the replay needs about 0.0 GiB (64 "
                          "ranks, 384 links), more than the 0.0 GiB available");
    opts.mem_limit_bytes = need;
    ck_assert_int_eq(exec_run(p, &opts, &r, &st), SIM_OK);
    exec_result_free(&r);
    plan_destroy(p);
}
END_TEST

/* A collective whose later phase cannot be routed stops the replay with the route's own
 * error: not reported as a deadlock, the collective not finished as if done. */
START_TEST(a_failing_phase_is_reported)
{
    plan *p = th_load("tests/fixtures/good/cfg-islands.yaml", NULL);
    exec_result r;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(exec_run(p, NULL, &r, &st), SIM_ERR_INPUT);
    ck_assert_str_eq(st.msg, "no path from 'h0' to 'h1'");
    /* nothing stays allocated on error (the ASan build would report a leak) */
    ck_assert_ptr_null(r.ranks);
    ck_assert_ptr_null(r.step_rows);
    ck_assert_ptr_null(r.link_bytes);
    ck_assert_ptr_null(r.colls);
    exec_result_free(&r);
    plan_destroy(p);
}
END_TEST

/* The incremental solver (component re-solves, lazy progress) gives the reference solver's
 * replay: same step, same per-rank figures, same link bytes, to rounding. */
START_TEST(incremental_equals_reference_solver)
{
    static const char *const sets[] = {"parallelism.global_batch=8", NULL};
    plan *p = th_load("tests/fixtures/good/cfg-tiny.yaml", sets);
    exec_result a, b;
    exec_opts naive = {.naive_solver = 1};
    sim_status st;
    ck_assert_int_eq(exec_run(p, NULL, &a, &st), SIM_OK);
    ck_assert_int_eq(exec_run(p, &naive, &b, &st), SIM_OK);
    ck_assert_double_eq_tol(a.step_time_s, b.step_time_s, 1e-9 * a.step_time_s);
    for (int64_t i = 0; i < plan_ranks(p); i++)
        for (int d = 0; d < PLAN_DIM_COUNT; d++)
            ck_assert_double_eq_tol(a.ranks[i].exposed_s[d], b.ranks[i].exposed_s[d],
                                    1e-9 * a.step_time_s);
    size_t nl = net_graph_link_count(topo_graph(plan_topo(p)));
    for (size_t l = 0; l < nl; l++)
        ck_assert_double_eq_tol(a.link_bytes[l], b.link_bytes[l], 1e-6 * (a.link_bytes[l] + 1));
    ck_assert_uint_eq(a.n_colls, b.n_colls);
    exec_result_free(&a);
    exec_result_free(&b);
    plan_destroy(p);
}
END_TEST

START_TEST(reruns_are_identical)
{
    plan *p = th_load("configs/quickstart.yaml", NULL);
    exec_result a, b;
    run(p, &a);
    run(p, &b);
    ck_assert_double_eq(a.step_time_s, b.step_time_s);
    ck_assert_uint_eq(a.events, b.events);
    ck_assert_uint_eq(a.n_colls, b.n_colls);
    size_t nl = net_graph_link_count(topo_graph(plan_topo(p)));
    ck_assert_int_eq(memcmp(a.link_bytes, b.link_bytes, nl * sizeof *a.link_bytes), 0);
    for (size_t i = 0; i < a.n_colls; i++) {
        ck_assert_double_eq(a.colls[i].start_s, b.colls[i].start_s);
        ck_assert_double_eq(a.colls[i].end_s, b.colls[i].end_s);
    }
    for (int64_t i = 0; i < plan_ranks(p); i++)
        ck_assert_int_eq(memcmp(&a.ranks[i], &b.ranks[i], sizeof a.ranks[i]), 0);
    exec_result_free(&a);
    exec_result_free(&b);
    plan_destroy(p);
}
END_TEST

START_TEST(bounded_runs_stop)
{
    plan *p = th_load("configs/quickstart.yaml", NULL);
    exec_opts opts = {.max_events = 10000};
    exec_result r;
    sim_status st;
    ck_assert_int_eq(exec_run(p, &opts, &r, &st), SIM_OK);
    ck_assert_int_eq(r.stopped, 1);
    ck_assert(r.events < 20000);
    exec_result_free(&r);
    plan_destroy(p);
}
END_TEST

/* Fused (flash) attention runs at the chip's efficiency.attention of peak: on the H100,
 * attention x 989.4e12 x 0.01 s FLOPs take 10 ms plus the launch; with dropout on the scores
 * 10 ms / attention_dropout (0.91: 10.989 ms); the same op unfused is a GEMM of the head
 * dimension: gemm / (1 + gemm_half_dim / 128), dropout or not. */
START_TEST(fused_attention_efficiency)
{
    hw_chip h;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(hw_chip_load_file("topologies/chips/h100-sxm.yaml", &h, &st), SIM_OK);
    ck_assert(h.eff_attention > 0);
    wl_op op = {.kind = WL_OP_ATTENTION, .name = "attention",
                .flops = h.eff_attention * 989.4e12 * 0.01,
                .m = 8192, .n = 8192, .k = 128, .fused = 1};
    ck_assert_double_eq_tol(exec_op_seconds(&h, &op, 0), 0.01 + EXEC_LAUNCH_PS * 1e-12, 1e-12);
    ck_assert_double_eq(h.eff_attention_dropout, 0.91);
    op.dropout = 1;
    ck_assert_double_eq_tol(exec_op_seconds(&h, &op, 0), 0.01 / 0.91 + EXEC_LAUNCH_PS * 1e-12,
                            1e-12);
    op.fused = 0;
    double eff = h.eff_gemm / (1 + h.gemm_half_dim / 128);
    ck_assert_double_eq_tol(exec_op_seconds(&h, &op, 0),
                            op.flops / (989.4e12 * eff) + EXEC_LAUNCH_PS * 1e-12, 1e-12);
    op.dropout = 0;
    /* a chip without the key times fused attention as a GEMM too */
    h.eff_attention = 0;
    op.fused = 1;
    ck_assert_double_eq_tol(exec_op_seconds(&h, &op, 0),
                            op.flops / (989.4e12 * eff) + EXEC_LAUNCH_PS * 1e-12, 1e-12);
}
END_TEST

/* A trace goes to PATH.part and becomes PATH only when kept: a discarded one (a failed run)
 * leaves an earlier PATH as it was and no PATH.part. */
/* One tensor-parallel group of 4 (a collective after every few ops): one chip 1.5x slower
 * gates every collective, so the step takes exactly what it takes with all four slowed, and
 * the others wait for it (idle time) instead of computing longer. The draw: fraction 0.5 of
 * the 16 chips, 8 of them, factor 1.5, the same chips for the same seed. */
START_TEST(a_straggler_gates_its_group)
{
    const char *base[] = {"parallelism.pp=1", "parallelism.dp=1", "parallelism.tp=4",
                          "parallelism.chips=4", NULL, NULL, NULL};
    exec_result a, one, all;
    plan *p = th_load(TINY, base);
    run(p, &a);
    plan_destroy(p);
    base[4] = "stragglers.slow.dc0/n0/c2=1.5";
    p = th_load(TINY, base);
    ck_assert_double_eq(plan_slowdown(p)[2], 1.5);
    ck_assert_double_eq(plan_slowdown(p)[1], 1);
    run(p, &one);
    plan_destroy(p);
    base[4] = "stragglers.fraction=1";
    base[5] = "stragglers.slowdown=1.5";
    p = th_load(TINY, base);
    run(p, &all);
    plan_destroy(p);
    ck_assert(one.step_time_s > a.step_time_s * 1.01);
    ck_assert_double_eq_tol(one.step_time_s, all.step_time_s, 1e-12 * all.step_time_s);
    ck_assert_double_eq_tol(one.ranks[2].compute_s, all.ranks[2].compute_s, 1e-12);
    ck_assert(one.ranks[0].idle_s > 0 && all.ranks[0].idle_s < one.ranks[0].idle_s);
    exec_result_free(&a);
    exec_result_free(&one);
    exec_result_free(&all);
    const char *draw[] = {"stragglers.fraction=0.5", "stragglers.slowdown=1.5", NULL};
    plan *d1 = th_load(TINY, draw), *d2 = th_load(TINY, draw);
    int slowed = 0;
    for (int c = 0; c < 16; c++) {
        ck_assert_double_eq(plan_slowdown(d1)[c], plan_slowdown(d2)[c]);
        ck_assert(plan_slowdown(d1)[c] == 1 || plan_slowdown(d1)[c] == 1.5);
        slowed += plan_slowdown(d1)[c] > 1;
    }
    ck_assert_int_eq(slowed, 8);
    plan_destroy(d1);
    plan_destroy(d2);
}
END_TEST

START_TEST(traces_are_renamed_or_discarded)
{
    char path[] = "/tmp/clustersim-trace-XXXXXX", part[64], buf[64];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "earlier", 7), 7);
    close(fd);
    snprintf(part, sizeof part, "%s.part", path);
    sim_status st;
    sim_status_clear(&st);
    trace *t = NULL;
    ck_assert_int_eq(trace_open(path, "all", 2, &t, &st), SIM_OK);
    trace_event(t, "gemm", "compute", 1, TRACE_COMPUTE, 0, 1e-6);
    ck_assert_int_eq(access(part, F_OK), 0);
    ck_assert_int_eq(trace_close(t, 0, &st), SIM_OK);
    ck_assert_int_ne(access(part, F_OK), 0);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    ck_assert_str_eq(buf, "earlier");
    /* kept: PATH is the trace */
    ck_assert_int_eq(trace_open(path, "all", 2, &t, &st), SIM_OK);
    trace_event(t, "gemm", "compute", 1, TRACE_COMPUTE, 0, 1e-6);
    ck_assert_int_eq(trace_close(t, 1, &st), SIM_OK);
    ck_assert_int_ne(access(part, F_OK), 0);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *want = "[\n{\"name\":\"gemm\",\"cat\":\"compute\",\"ph\":\"X\",\"pid\":1,";
    ck_assert_msg(strncmp(buf, want, strlen(want)) == 0, "got: %s", buf);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("exec");
    TCase *tc = tcase_create("exec");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, one_rank_is_its_compute);
    tcase_add_test(tc, accounting_fills_the_step);
    tcase_add_test(tc, data_parallel_pair);
    tcase_add_test(tc, data_parallel_pair_without_overlap);
    tcase_add_test(tc, collective_records_are_rank0s);
    tcase_add_test(tc, one_f_one_b_of_equal_stages);
    tcase_add_test(tc, overlap_slowdown);
    tcase_add_test(tc, ring_attention_hides_kv_behind_attention);
    tcase_add_test(tc, alltoall_model_reaches_the_replay);
    tcase_add_test(tc, an_endless_op_is_refused);
    tcase_add_test(tc, too_large_is_refused);
    tcase_add_test(tc, a_failing_phase_is_reported);
    tcase_add_test(tc, incremental_equals_reference_solver);
    tcase_add_test(tc, reruns_are_identical);
    tcase_add_test(tc, bounded_runs_stop);
    tcase_add_test(tc, traces_are_renamed_or_discarded);
    tcase_add_test(tc, fused_attention_efficiency);
    tcase_add_test(tc, a_straggler_gates_its_group);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
