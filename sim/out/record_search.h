/*
 * record_search.h: a parallelism search (search/search.h) as rows of the results database:
 * the search table (one row per search: counts and the estimate's error) and the
 * search_candidate table (every candidate: rejected with its reason, estimated, replayed).
 */
#ifndef SIM_OUT_RECORD_SEARCH_H
#define SIM_OUT_RECORD_SEARCH_H

#include <stdint.h>

#include "core/status.h"
#include "out/db.h"
#include "search/search.h"

/* What the search found over its replays. */
typedef struct search_figures {
    int64_t replayed;
    double spearman;      /* estimate against replay, every replayed candidate */
    double spearman_top;  /* the same, the best estimates only */
    double median_err, max_err; /* |estimated step / replayed step - 1| */
    const search_cand *best;    /* the best replay; NULL: none */
} search_figures;

typedef struct search_record {
    const search_result *r;
    const search_figures *f;
} search_record;

/* Writes the rows (ctx: a search_record, borrowed) under run run_id, inside the caller's
 * transaction: the shape of db_record_src.extra. Errors: those of db_insert_*. */
sim_code db_record_search(db *d, int64_t run_id, const void *ctx, sim_status *st);

#endif
