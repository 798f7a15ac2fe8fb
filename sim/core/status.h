/*
 * status.h: the one error type of clustersim.
 *
 * Every fallible function returns a sim_code and, when it fails, fills a caller-owned
 * sim_status with the code, a message and where the problem is (file, 1-based line and
 * column of the user's input; 0 when unknown). Only the CLI turns a status into an exit:
 * input errors and refused limits exit 2, everything else 1. The message is complete on its
 * own: it names the key, what was expected and what was found.
 */
#ifndef SIM_STATUS_H
#define SIM_STATUS_H

#include <stddef.h>

typedef enum sim_code {
    SIM_OK = 0,
    SIM_ERR_INPUT,    /* the user's input is wrong: exit status 2 */
    SIM_ERR_IO,       /* a file cannot be read or written */
    SIM_ERR_NOMEM,    /* an allocation failed */
    SIM_ERR_LIMIT,    /* a request exceeds what can be simulated (memory estimate): exit 2 */
    SIM_ERR_INTERNAL  /* a bug: an invariant did not hold */
} sim_code;

#define SIM_STATUS_FILE_MAX 512
#define SIM_STATUS_MSG_MAX 1024

typedef struct sim_status {
    sim_code code;
    int line;   /* 1-based, 0 = unknown */
    int col;    /* 1-based, 0 = unknown */
    char file[SIM_STATUS_FILE_MAX];
    char msg[SIM_STATUS_MSG_MAX];
} sim_status;

/* Text of a code ("input error", ...). Never NULL. */
const char *sim_code_str(sim_code code);

/* Resets st (may be NULL) to SIM_OK with empty fields. */
void sim_status_clear(sim_status *st);

/*
 * Fills st (may be NULL, then only the code is returned) and returns code. file may be
 * NULL; line/col 0 mean unknown. The message is printf-formatted and truncated to fit.
 */
sim_code sim_status_set(sim_status *st, sim_code code, const char *file, int line, int col,
                        const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* Formats "file:line:col: error: msg" (parts that are unknown are left out) into buf. */
void sim_status_format(const sim_status *st, char *buf, size_t n);

/* Exit status the CLI uses for a code: 0 ok, 2 input, 1 otherwise. */
int sim_code_exit(sim_code code);

#endif
