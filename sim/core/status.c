/*
 * status.c: error codes, their texts and the formatting of a located message.
 */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *sim_code_str(sim_code code)
{
    switch (code) {
    case SIM_OK: return "ok";
    case SIM_ERR_INPUT: return "input error";
    case SIM_ERR_IO: return "i/o error";
    case SIM_ERR_NOMEM: return "out of memory";
    case SIM_ERR_LIMIT: return "limit exceeded";
    case SIM_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

void sim_status_clear(sim_status *st)
{
    if (!st)
        return;
    memset(st, 0, sizeof *st);
}

sim_code sim_status_set(sim_status *st, sim_code code, const char *file, int line, int col,
                        const char *fmt, ...)
{
    if (!st)
        return code;
    st->code = code;
    st->line = line;
    st->col = col;
    snprintf(st->file, sizeof st->file, "%s", file ? file : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->msg, sizeof st->msg, fmt, ap);
    va_end(ap);
    return code;
}

void sim_status_format(const sim_status *st, char *buf, size_t n)
{
    if (!n)
        return;
    buf[0] = '\0';
    if (!st)
        return;
    char where[SIM_STATUS_FILE_MAX + 32] = "";
    if (st->file[0] && st->line > 0 && st->col > 0)
        snprintf(where, sizeof where, "%s:%d:%d: ", st->file, st->line, st->col);
    else if (st->file[0] && st->line > 0)
        snprintf(where, sizeof where, "%s:%d: ", st->file, st->line);
    else if (st->file[0])
        snprintf(where, sizeof where, "%s: ", st->file);
    snprintf(buf, n, "%serror: %s", where, st->msg);
}

int sim_code_exit(sim_code code)
{
    if (code == SIM_OK)
        return 0;
    return code == SIM_ERR_INPUT || code == SIM_ERR_LIMIT ? 2 : 1;
}
