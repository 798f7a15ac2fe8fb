/*
 * helpers.h: what several Check suites share: running the clustersim executable and
 * loading a config with --set-style overrides. Static functions in a header: each suite is
 * one executable, and includes this once.
 */
#ifndef CLUSTERSIM_TEST_HELPERS_H
#define CLUSTERSIM_TEST_HELPERS_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef CLUSTERSIM_TEST_PLANS
#include "workload/plan.h"

/* Loads path with overrides given as "key.path=value" strings (NULL-terminated; at most
 * 16), failing the test on any error. Owned by the caller (plan_destroy). */
static plan *th_load(const char *path, const char *const *sets)
{
    ydoc_override ov[16];
    char keys[16][96];
    size_t n = 0;
    for (; sets && sets[n] && n < 16; n++) {
        const char *eq = strchr(sets[n], '=');
        ck_assert_ptr_nonnull(eq);
        snprintf(keys[n], sizeof keys[n], "%.*s", (int)(eq - sets[n]), sets[n]);
        ov[n] = (ydoc_override){keys[n], eq + 1, sets[n]};
    }
    plan *p = NULL;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(plan_load(path, ov, n, &p, &st) == SIM_OK, "%s: %s", path, st.msg);
    return p;
}
#endif

#ifdef CLUSTERSIM_TEST_CLI
static const char *th_bin(void)
{
    const char *b = getenv("CLUSTERSIM_BIN");
    return b ? b : "build/clustersim";
}

/* Runs `clustersim args`, captures stdout (and stderr into err when not NULL), returns the
 * exit status. Output buffers are malloc'ed, owned by the caller. */
static int th_run(const char *args, char **out, char **err)
{
    char errpath[] = "/tmp/clustersim-test-err-XXXXXX";
    int fd = mkstemp(errpath);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s 2>%s", th_bin(), args, errpath);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 1024) {
            char *nb = realloc(buf, cap *= 2);
            ck_assert_ptr_nonnull(nb);
            buf = nb;
        }
    }
    buf[len] = '\0';
    int status = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    if (err) {
        FILE *f = fopen(errpath, "r");
        ck_assert_ptr_nonnull(f);
        char *e = calloc(1, 65536);
        size_t m = fread(e, 1, 65535, f);
        e[m] = '\0';
        fclose(f);
        *err = e;
    }
    unlink(errpath);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
#endif

#endif
