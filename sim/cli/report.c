/*
 * report.c: how the CLI tells the user about a failed status.
 */
#include "cli/cli.h"

int cli_report(const sim_status *st)
{
    char buf[SIM_STATUS_MSG_MAX + SIM_STATUS_FILE_MAX + 64];
    sim_status_format(st, buf, sizeof buf);
    fprintf(stderr, "clustersim: %s\n", buf);
    return sim_code_exit(st->code);
}
