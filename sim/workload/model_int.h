/*
 * model_int.h: what the files of the workload model share privately: model.c (parameters,
 * parallelism, FLOPs, memory) and model_ops.c (the op lists) both read a workload and a
 * parallelism as the figures the papers name (wl_dims), computed in one place so that the
 * two cannot read them differently.
 */
#ifndef SIM_WORKLOAD_MODEL_INT_H
#define SIM_WORKLOAD_MODEL_INT_H

#include <stdbool.h>

#include "workload/model.h"

/* The workload's and the parallelism's figures as doubles, named as in the papers. */
typedef struct wl_dims {
    double L, h, a, kvw, hd, f, V, s, b;  /* layers, hidden, heads, kv width, head dim, ffn,
                                             vocab, sequence, micro-batch */
    double E, k, fe, cf;                  /* experts, per token, expert ffn, capacity */
    double t, c, ep, sl, T, Tn;           /* tp, cp, ep, sequence / cp, tokens of a micro-
                                             batch on a rank, the same / tp with SP */
    double ab, wb;                        /* activation and GEMM operand bytes */
    bool sp, gated;
    bool flash;                           /* fused (flash) attention: no score matrix */
    bool drop;                            /* dropout > 0: masks are kept */
} wl_dims;

/* The figures of w under p into *x; p may be NULL (no parallelism: every degree 1). */
void wl_dims_of(const wl_workload *w, const wl_parallel *p, wl_dims *x);

#endif
