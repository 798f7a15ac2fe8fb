/*
 * common.c: what the subcommands share: reporting a failed status, --set overrides, the
 * checks of option values and numbers, JSON strings, and the monotonic clock.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/vec.h"

int cli_report(const sim_status *st)
{
    char buf[SIM_STATUS_MSG_MAX + SIM_STATUS_FILE_MAX + 64];
    sim_status_format(st, buf, sizeof buf);
    fprintf(stderr, "clustersim: %s\n", buf);
    return sim_code_exit(st->code);
}

/* Parses repeated --set KEY=VALUE into ov (caller frees ov and the strings with
 * cli_overrides_free). Returns 0, or 2 after printing a usage error. */
int cli_overrides_add(const char *arg, ydoc_override **ov, size_t *n, const char *cmd)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        fprintf(stderr, "clustersim %s: --set expects KEY=VALUE, found '%s'\n", cmd, arg);
        return 2;
    }
    /* The caller keeps the array as a pointer and a count, so its capacity is taken to be
     * the count (the block holds at least that many): each call grows it. */
    SIM_VEC(ydoc_override) v = {*ov, *n, *n};
    char *key = malloc((size_t)(eq - arg) + 1), *origin = malloc(strlen(arg) + 8);
    if (!key || !origin || sim_vec_reserve(&v, v.n + 1) != 0) {
        free(key);
        free(origin);
        fprintf(stderr, "clustersim %s: out of memory\n", cmd);
        return 1;
    }
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = 0;
    snprintf(origin, strlen(arg) + 8, "--set %s", arg);
    v.v[v.n++] = (ydoc_override){key, eq + 1, origin};
    *ov = v.v;
    *n = v.n;
    return 0;
}

void cli_overrides_free(ydoc_override *ov, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)(uintptr_t)ov[i].path);
        free((char *)(uintptr_t)ov[i].origin);
    }
    free(ov);
}

int cli_check_values(int argc, char **argv, const char *cmd, const char *const *opts,
                     const char *usage)
{
    for (int i = 1; i < argc; i++) {
        for (const char *const *o = opts; *o; o++) {
            const char *sp = strchr(*o, ' ');
            size_t len = sp ? (size_t)(sp - *o) : strlen(*o);
            if (strncmp(argv[i], *o, len) != 0 || argv[i][len] != '\0')
                continue;
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "clustersim %s: option '%s' expects %s, found %s\n%s", cmd,
                        argv[i], sp ? sp + 1 : "a value",
                        i + 1 >= argc ? "nothing" : "an empty string", usage);
                return 2;
            }
            i++; /* the value, which may start with '-' */
            break;
        }
    }
    return 0;
}

int cli_parse_int(const char *s, long long lo, long long hi, long long *out)
{
    if (!(*s >= '0' && *s <= '9')) /* no sign, no space, not empty */
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE || v < (unsigned long long)lo || v > (unsigned long long)hi)
        return -1;
    *out = (long long)v;
    return 0;
}

int cli_parse_int_list(const char *s, long long lo, long long hi, size_t max, int64_t *out,
                       size_t *n)
{
    char buf[32];
    *n = 0;
    for (const char *p = s;; p++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        long long v;
        if (*n == max || len == 0 || len >= sizeof buf)
            return -1;
        memcpy(buf, p, len);
        buf[len] = 0;
        if (cli_parse_int(buf, lo, hi, &v) != 0)
            return -1;
        out[(*n)++] = v;
        if (!comma)
            return 0;
        p = comma;
    }
}

int cli_bad_value(const char *cmd, const char *opt, const char *expected, const char *found)
{
    fprintf(stderr, "clustersim %s: option '%s': expected %s, found '%s'\n", cmd, opt,
            expected, found);
    return 2;
}

double cli_now_s(void)
{
    return sim_wall_s();
}

int cli_operand(const char *cmd, const char *usage, const char *a, const char **file)
{
    if (a[0] == '-' && a[1]) {
        fprintf(stderr, "clustersim %s: unknown option '%s'\n%s", cmd, a, usage);
        return 2;
    }
    if (*file) {
        fprintf(stderr, "clustersim %s: unexpected argument '%s'\n%s", cmd, a, usage);
        return 2;
    }
    *file = a;
    return 0;
}

int cli_config_given(const char *cmd, const char *usage, const char *file, int no_db,
                     const char *db_path)
{
    if (!file) {
        fprintf(stderr, "clustersim %s: expected CONFIG.yaml\n%s", cmd, usage);
        return 2;
    }
    if (no_db && db_path) {
        fprintf(stderr, "clustersim %s: --db and --no-db together\n%s", cmd, usage);
        return 2;
    }
    return 0;
}
