/*
 * search.h: the parallelism search of `clustersim search` (issue 17): every valid way to
 * run a config's model on its chips, pruned by memory and a fast estimate, the best
 * replayed.
 *
 * The space, for the config's chips N (tp x pp x dp x cp), its model and its topology:
 *   tp               powers of two up to the chips of one scale-up domain (node)
 *   cp               1, and powers of two while the sequence per rank stays >= 4,096 tokens
 *   pp               divisors of N / (tp cp) up to the layers
 *   dp               N / (tp pp cp)
 *   ep               MoE: powers of two dividing the experts and dp x cp; dense: 1
 *   virtual stages   1, 2, 3, 4, 6, 8 (pp > 1; > 1 with the interleaved schedule, else
 *                    1F1B); pp 1 runs no pipeline
 *   stage layout     even, or when pp x vp does not divide the layers the first and last
 *                    stages lighter by what the others carry extra (Megatron-LM's
 *                    decoder-first/last-pipeline-num-layers: 7 + 14 x 8 + 7 for Llama 3
 *                    405B's 126 layers over 16 stages)
 *   schedule         pp 1: none (1f1b); pp > 1 and vp 1: 1f1b and gpipe; vp > 1: interleaved
 *   micro-batch      1, 2, 4 sequences
 *   sharding         Megatron-LM's optimizer: zero 0 (its default), zero 1 (its distributed
 *                    optimizer); zero 2 (gradients sharded too) without a pipeline, as
 *                    DeepSpeed allows it (ZeRO-2 and -3 do not compose with its pipeline
 *                    engine); or PyTorch FSDP, with its strategies' names: full_shard,
 *                    shard_grad_op, and with a shard group of the replicas on one node
 *                    (fsdp_shard_size, when that is more than one and fewer than all)
 *                    hybrid_shard and _hybrid_shard_zero2; FSDP composes with a pipeline
 *                    (torchtitan runs FSDP2 under PP). dp x cp 1: zero 0 only
 *   recompute        none, selective, full
 * Every other key (sequence parallelism, the overlap switches, placement) is the config's.
 * Each candidate is the config with these as overrides (parallelism.*), so a candidate is
 * exactly what `clustersim run --set ...` would run. A candidate is rejected, with the
 * reason, when its memory per rank exceeds the chip's HBM (checked first, from the model
 * alone) or when plan_load refuses it (its message: heads not divisible, batch not
 * divisible, ...); the others get an estimate (search/estimate.h).
 */
#ifndef SIM_SEARCH_SEARCH_H
#define SIM_SEARCH_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/ydoc.h"
#include "search/estimate.h"

typedef enum search_state {
    SEARCH_REJECTED = 0, /* invalid or does not fit: reason says why */
    SEARCH_ESTIMATED,    /* estimated only */
    SEARCH_REPLAYED,     /* estimated and replayed */
    SEARCH_FAILED        /* chosen for a replay that failed (reason) */
} search_state;

#define SEARCH_REASON_MAX 256
#define SEARCH_OV_MAX 16

typedef struct search_cand {
    int64_t tp, pp, dp, cp, ep, vp, micro_batch, first_layers, last_layers;
    int zero;            /* Megatron-LM's ZeRO stage (0 with FSDP) */
    int fsdp;            /* wl_fsdp: WL_FSDP_NONE for Megatron-LM's optimizer */
    int64_t fsdp_shard;  /* hybrid strategies: replicas per shard group; else 0 */
    int schedule;        /* wl_schedule */
    int recompute;       /* wl_recompute */
    search_state state;
    char reason[SEARCH_REASON_MAX];
    search_estimate est;
    bool top, sample;    /* chosen for a replay: among the best, or as a calibration sample */
    bool dominated;      /* GPipe whose 1F1B sibling has the same estimate or better in less
                            memory: never chosen for a replay (reason names the sibling) */
    double replay_step_s, replay_mfu, replay_tokens_per_s, replay_wall_s;
} search_cand;

typedef struct search_result {
    search_cand *c;
    size_t n;
    size_t n_valid;      /* estimated */
    int64_t chips;
    double enumerate_wall_s;
} search_result;

/*
 * Enumerates the space of config (with the overrides ov[0..n_ov), borrowed) into *out
 * (caller-owned: search_result_free), every candidate rejected or estimated, in a fixed
 * order. Errors: those of plan_load on the config itself; SIM_ERR_NOMEM.
 */
sim_code search_enumerate(const char *config, const ydoc_override *ov, size_t n_ov,
                          search_result *out, sim_status *st);
void search_result_free(search_result *r);

/* A candidate's overrides (parallelism.*) into ov[0..*n) and their text into buf (the
 * overrides point into it). */
typedef struct search_ovbuf {
    char key[SEARCH_OV_MAX][48], val[SEARCH_OV_MAX][32], origin[SEARCH_OV_MAX][96];
} search_ovbuf;
void search_overrides(const search_cand *c, search_ovbuf *buf, ydoc_override *ov, size_t *n);

/* The fsdp key's value of a candidate's fsdp (wl_fsdp): "false", or the strategy in
 * PyTorch's name, lower case as configs write it ("hybrid_shard"). */
void search_fsdp_value(int fsdp, char *buf, size_t len);
/* "gpipe", "1f1b" or "interleaved". */
const char *search_schedule_name(int schedule);

/* "tp 8 pp 16 dp 128 cp 1 ep 1 vp 1 (7+..+7) 1f1b mb 1 zero 1 full recompute" */
void search_describe(const search_cand *c, char *buf, size_t len);

/*
 * Marks the candidates to replay: the `top` best estimates (ties: the enumeration order)
 * and those within `margin` (a fraction) of the best estimated step, at most max_top in
 * all; and `sample` others spread evenly over the rest of the estimated ranking (a
 * calibration of the estimate over its whole range). Returns how many were marked.
 */
size_t search_select(search_result *r, size_t top, double margin, size_t max_top,
                     size_t sample);

/* Spearman's rank correlation of x and y (n >= 2; ties get their mean rank); NAN for n < 2
 * or a constant series. */
double search_spearman(const double *x, const double *y, size_t n);

#endif
