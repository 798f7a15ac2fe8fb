/*
 * trace.h: Chrome / Perfetto trace-event JSON (the "JSON Array Format" with complete "X"
 * events), for looking at a replay in ui.perfetto.dev or chrome://tracing. Ranks are
 * processes, streams are threads (0 compute, 1 collectives the compute stream waits for,
 * 2 asynchronous gradient reductions, 3 pipeline sends, 4 DiLoCo's outer syncs beside the
 * inner steps). Times are written in microseconds.
 */
#ifndef SIM_OUT_TRACE_H
#define SIM_OUT_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "core/status.h"

typedef struct trace trace;

enum {
    TRACE_COMPUTE = 0,
    TRACE_COMM = 1,
    TRACE_ASYNC = 2,
    TRACE_SEND = 3,
    TRACE_OUTER = 4, /* cross-datacenter outer syncs (DiLoCo's, co-simulated) */
    TRACE_THREADS
};

/*
 * Opens path for writing: events go to path.part, renamed to path when the trace is closed
 * and kept (an existing path stays as it was until then); ranks selects which ranks are written: "all", or a
 * list of ranks and ranges such as "0-7,64" (NULL: "all"). n_ranks bounds the selection.
 * Errors: SIM_ERR_IO (cannot open), SIM_ERR_INPUT (a bad selection, with what was expected).
 */
sim_code trace_open(const char *path, const char *ranks, int64_t n_ranks, trace **out,
                    sim_status *st);
/* Whether rank is written. */
int trace_wants(const trace *t, int64_t rank);
/* One complete event (name and cat are copied into the file, escaped). */
void trace_event(trace *t, const char *name, const char *cat, int64_t rank, int tid,
                 double start_s, double dur_s);
/* keep: writes the thread names, closes the array and renames path.part to path; else
 * removes path.part (a failed run). Then frees; accepts NULL. Errors: SIM_ERR_IO. */
sim_code trace_close(trace *t, int keep, sim_status *st);
/* Writes s as a JSON string literal, escaping what JSON requires (the CLI's --json outputs
 * use it too). */
void trace_json_str(FILE *f, const char *s);

#endif
