/*
 * clock.h: the wall clock, for the figures that time the simulator itself (a replay's
 * wall_s, progress lines, the parts of a goodput or search run), never for simulated time.
 */
#ifndef SIM_CORE_CLOCK_H
#define SIM_CORE_CLOCK_H

/* Seconds on the monotonic clock (CLOCK_MONOTONIC): only differences mean anything. */
double sim_wall_s(void);

#endif
