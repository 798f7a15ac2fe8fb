/*
 * trace.c: trace-event JSON writer (see trace.h). Events stream to PATH.part as they come
 * and a kept close renames it to PATH, so a failed or killed run never leaves a truncated
 * trace under the name asked for; the rank selection is a bitmap. Metadata events naming processes and threads are written
 * at close, for every selected rank that had an event.
 */
#include "out/trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct trace {
    FILE *f;
    unsigned char *want, *seen; /* [n_ranks] */
    int64_t n_ranks;
    int first;
    char path[512], part[520]; /* written as part, renamed to path by a kept close */
};

static const char *const thread_names[] = {"compute", "collectives (blocking)",
                                           "gradient reductions (async)", "pipeline sends",
                                           "cross-datacenter outer sync"};

static sim_code parse_ranks(trace *t, const char *spec, sim_status *st)
{
    if (!spec || !strcmp(spec, "all")) {
        memset(t->want, 1, (size_t)t->n_ranks);
        return SIM_OK;
    }
    const char *p = spec;
    while (*p) {
        char *end;
        long long a = strtoll(p, &end, 10), b = a;
        if (end == p)
            goto bad;
        p = end;
        if (*p == '-') {
            b = strtoll(p + 1, &end, 10);
            if (end == p + 1)
                goto bad;
            p = end;
        }
        if (a < 0 || b < a || b >= t->n_ranks)
            return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                                  "--trace-ranks: expected ranks from 0 to %lld, found '%s'",
                                  (long long)t->n_ranks - 1, spec);
        for (long long r = a; r <= b; r++)
            t->want[r] = 1;
        if (*p == ',')
            p++;
        else if (*p)
            goto bad;
    }
    return SIM_OK;
bad:
    return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                          "--trace-ranks: expected 'all' or ranks and ranges such as "
                          "'0-7,64', found '%s'", spec);
}

sim_code trace_open(const char *path, const char *ranks, int64_t n_ranks, trace **out,
                    sim_status *st)
{
    trace *t = calloc(1, sizeof *t);
    if (!t || !(t->want = calloc((size_t)n_ranks + 1, 1)) ||
        !(t->seen = calloc((size_t)n_ranks + 1, 1))) {
        if (t)
            free(t->want);
        free(t);
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for a trace");
    }
    t->n_ranks = n_ranks;
    t->first = 1;
    sim_code rc = SIM_OK;
    if (strlen(path) >= sizeof t->path)
        rc = sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0, "trace path too long: '%s'", path);
    snprintf(t->path, sizeof t->path, "%s", path);
    snprintf(t->part, sizeof t->part, "%s.part", t->path);
    if (rc == SIM_OK)
        rc = parse_ranks(t, ranks, st);
    if (rc == SIM_OK && !(t->f = fopen(t->part, "w")))
        rc = sim_status_set(st, SIM_ERR_IO, path, 0, 0, "cannot write '%s': %s", t->part,
                            strerror(errno));
    if (rc != SIM_OK) {
        free(t->want);
        free(t->seen);
        free(t);
        return rc;
    }
    fputs("[\n", t->f);
    *out = t;
    return SIM_OK;
}

int trace_wants(const trace *t, int64_t rank)
{
    return t && rank >= 0 && rank < t->n_ranks && t->want[rank];
}

void trace_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void trace_event(trace *t, const char *name, const char *cat, int64_t rank, int tid,
                 double start_s, double dur_s)
{
    if (!trace_wants(t, rank))
        return;
    t->seen[rank] = 1;
    fputs(t->first ? "" : ",\n", t->f);
    t->first = 0;
    fputs("{\"name\":", t->f);
    trace_json_str(t->f, name);
    fputs(",\"cat\":", t->f);
    trace_json_str(t->f, cat);
    fprintf(t->f, ",\"ph\":\"X\",\"pid\":%lld,\"tid\":%d,\"ts\":%.6f,\"dur\":%.6f}",
            (long long)rank, tid, start_s * 1e6, dur_s * 1e6);
}

sim_code trace_close(trace *t, int keep, sim_status *st)
{
    if (!t)
        return SIM_OK;
    if (!keep) {
        fclose(t->f);
        remove(t->part);
        free(t->want);
        free(t->seen);
        free(t);
        return SIM_OK;
    }
    for (int64_t r = 0; r < t->n_ranks; r++) {
        if (!t->seen[r])
            continue;
        fprintf(t->f, "%s{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%lld,\"args\":"
                      "{\"name\":\"rank %lld\"}}",
                t->first ? "" : ",\n", (long long)r, (long long)r);
        t->first = 0;
        for (int k = 0; k < TRACE_THREADS; k++)
            fprintf(t->f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%lld,\"tid\":%d,"
                          "\"args\":{\"name\":\"%s\"}}",
                    (long long)r, k, thread_names[k]);
    }
    fputs("\n]\n", t->f);
    int bad = ferror(t->f);
    bad |= fclose(t->f) != 0;
    sim_code rc = SIM_OK;
    if (bad) {
        rc = sim_status_set(st, SIM_ERR_IO, t->path, 0, 0, "cannot write '%s'", t->part);
        remove(t->part);
    } else if (rename(t->part, t->path) != 0) {
        rc = sim_status_set(st, SIM_ERR_IO, t->path, 0, 0, "cannot rename '%s' to '%s': %s",
                            t->part, t->path, strerror(errno));
        remove(t->part);
    }
    free(t->want);
    free(t->seen);
    free(t);
    return rc;
}
