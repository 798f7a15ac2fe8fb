/*
 * clock.c: the wall clock (see clock.h).
 */
#include "core/clock.h"

#include <time.h>

double sim_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
