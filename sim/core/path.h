/*
 * path.h: file paths relative to the file that names them (a config naming its topology, a
 * topology naming its chip).
 */
#ifndef SIM_PATH_H
#define SIM_PATH_H

#include <stddef.h>

/* The directory part of path ("." when it has none) into buf. */
void sim_path_dir(const char *path, char *buf, size_t n);
/* rel resolved against the directory of the file base, into out; an absolute rel is kept.
 * Returns 1, or 0 when the result does not fit (out then holds rel, visibly unresolved). */
int sim_path_join(const char *base, const char *rel, char *out, size_t n);

#endif
