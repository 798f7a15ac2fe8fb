/*
 * test_plots.c: the plot scripts of analysis/ (plot-mfu.sh, plot-breakdown.sh,
 * plot-tiers.sh, plot-goodput.sh) on small databases made by the executable: three
 * quick-start runs with (tp, dp) = (2, 16), (4, 8), (8, 4) and pp 2, and the sweep_param
 * rows a sweep would have written for them; and four quick-start goodput runs of 20 seeds
 * (an interval sweep on 64 chips, 16 and 32 chips, async_save on 64). Each script writes a
 * PNG (checked by its signature) and an SVG (checked for its titles and labels); a key, run
 * or database without rows, and wrong arguments, exit 2 and write nothing. Needs sqlite3
 * and gnuplot on the PATH; the binary's path comes from CLUSTERSIM_BIN (set by ctest); runs
 * from the repository root.
 */
#include <check.h>
#define CLUSTERSIM_TEST_CLI
#include "helpers.h"
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64]; /* the temporary directory of the current test case */
static char db[128];  /* the database in it */
static char gdb[128]; /* the goodput database in it */

static const struct {
    int tp, dp;
} points[] = {{2, 16}, {4, 8}, {8, 4}};
#define NPOINTS (sizeof points / sizeof points[0])

/* Makes the directory; db names a file in it. */
static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/clustersim-plots-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/r.db", dir);
    snprintf(gdb, sizeof gdb, "%s/g.db", dir);
}

/* The goodput runs, in order (run ids 1 to 4): the quick start's 64 chips with an interval
 * sweep, 16 and 32 chips (dp 2 and 4 at tp 4, pp 2), 64 chips with async_save. */
static const char *const goodput_runs[] = {
    "--sweep-interval",
    "--set parallelism.dp=2 --set parallelism.chips=16",
    "--set parallelism.dp=4 --set parallelism.chips=32",
    "--set reliability.async_save=true",
};
#define NGOODPUT (sizeof goodput_runs / sizeof goodput_runs[0])

/* Makes the directory and the databases: one run per point, then its sweep_param rows; the
 * goodput runs. Once for all the tests that plot (an unchecked fixture): they only read
 * them. */
static void make_db(void)
{
    ck_assert_msg(system("command -v gnuplot > /dev/null && command -v sqlite3 > /dev/null")
                      == 0,
                  "the plot scripts need gnuplot and sqlite3 (Debian: gnuplot-nox, sqlite3)");
    make_dir();
    char args[512];
    for (size_t i = 0; i < NPOINTS; i++) {
        snprintf(args, sizeof args,
                 "run --quiet --db %s --set parallelism.tp=%d --set parallelism.dp=%d "
                 "configs/quickstart.yaml",
                 db, points[i].tp, points[i].dp);
        ck_assert_int_eq(th_run(args, NULL, NULL), 0);
    }
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *ids, *ins;
    ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT run_id FROM run WHERE status = 'ok' "
                                           "ORDER BY run_id", -1, &ids, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(h, "INSERT INTO sweep_param (run_id, key, value) "
                                           "VALUES (?, ?, ?)", -1, &ins, NULL), SQLITE_OK);
    size_t n = 0;
    for (; sqlite3_step(ids) == SQLITE_ROW; n++) {
        ck_assert_uint_lt(n, NPOINTS);
        const char *keys[2] = {"parallelism.tp", "parallelism.dp"};
        int vals[2] = {points[n].tp, points[n].dp};
        for (int k = 0; k < 2; k++) {
            char v[16];
            snprintf(v, sizeof v, "%d", vals[k]);
            sqlite3_bind_int64(ins, 1, sqlite3_column_int64(ids, 0));
            sqlite3_bind_text(ins, 2, keys[k], -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 3, v, -1, SQLITE_TRANSIENT);
            ck_assert_int_eq(sqlite3_step(ins), SQLITE_DONE);
            sqlite3_reset(ins);
        }
    }
    ck_assert_uint_eq(n, NPOINTS);
    sqlite3_finalize(ids);
    sqlite3_finalize(ins);
    sqlite3_close(h);
    for (size_t i = 0; i < NGOODPUT; i++) {
        snprintf(args, sizeof args, "goodput --db %s --seeds 20 %s configs/quickstart.yaml",
                 gdb, goodput_runs[i]);
        ck_assert_int_eq(th_run(args, NULL, NULL), 0);
    }
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Runs `sh analysis/SCRIPT ARGS` (ARGS may name @ for the database, ^ for the goodput
 * database and % for the directory), stdout discarded; returns its exit status, stderr in
 * *err (malloc'ed) when err is not NULL. */
static int script(const char *name, const char *args, char **err)
{
    char expanded[1024] = "", cmd[2048], errpath[128];
    size_t len = 0;
    for (const char *a = args; *a && len < sizeof expanded - 128; a++) {
        const char *s = *a == '@' ? db : *a == '^' ? gdb : *a == '%' ? dir : NULL;
        if (s)
            len += (size_t)snprintf(expanded + len, sizeof expanded - len, "%s", s);
        else
            expanded[len++] = *a;
        expanded[len] = '\0';
    }
    snprintf(errpath, sizeof errpath, "%s/stderr", dir);
    snprintf(cmd, sizeof cmd, "sh analysis/%s %s > /dev/null 2> %s", name, expanded, errpath);
    int status = system(cmd);
    if (err) {
        FILE *f = fopen(errpath, "r");
        ck_assert_ptr_nonnull(f);
        char *e = calloc(1, 8192);
        ck_assert_ptr_nonnull(e);
        size_t m = fread(e, 1, 8191, f);
        e[m] = '\0';
        fclose(f);
        *err = e;
    }
    unlink(errpath);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The whole of dir/name, NUL-terminated (malloc'ed), or NULL when it does not exist. */
static char *slurp(const char *name, size_t *size)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0, n;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 4096) {
            char *nb = realloc(buf, cap *= 2);
            ck_assert_ptr_nonnull(nb);
            buf = nb;
        }
    }
    buf[len] = '\0';
    fclose(f);
    if (size)
        *size = len;
    return buf;
}

static int exists(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* stem.png is a PNG and stem.svg an SVG holding every string of want (NULL-terminated). */
static void check_plot(const char *stem, const char *const *want)
{
    char name[128];
    size_t size = 0;
    snprintf(name, sizeof name, "%s.png", stem);
    char *png = slurp(name, &size);
    ck_assert_msg(png != NULL, "%s was not written", name);
    ck_assert_msg(size > 1000 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0,
                  "%s is not a PNG (%zu bytes)", name, size);
    free(png);
    snprintf(name, sizeof name, "%s.svg", stem);
    char *svg = slurp(name, NULL);
    ck_assert_msg(svg != NULL, "%s was not written", name);
    ck_assert_msg(strstr(svg, "<svg") != NULL, "%s is not an SVG", name);
    for (; want && *want; want++)
        ck_assert_msg(strstr(svg, *want) != NULL, "%s lacks '%s'", name, *want);
    free(svg);
}

START_TEST(mfu_against_a_swept_key)
{
    ck_assert_int_eq(script("plot-mfu.sh", "@ parallelism.tp %/mfu", NULL), 0);
    check_plot("mfu", (const char *const[]){"MFU against parallelism.tp", "MFU (%)", NULL});
    /* one line per dp value: the legend names the group key */
    ck_assert_int_eq(script("plot-mfu.sh", "@ parallelism.tp %/mfu-dp parallelism.dp", NULL),
                     0);
    check_plot("mfu-dp", (const char *const[]){"one line per value of parallelism.dp",
                                               "parallelism.tp", NULL});
}
END_TEST

START_TEST(step_time_breakdown)
{
    static const char *const parts[] = {"compute", "exposed tp", "exposed pp", "exposed dp",
                                        "exposed cp", "exposed ep", "bubble", NULL};
    ck_assert_int_eq(script("plot-breakdown.sh", "@ %/bd", NULL), 0);
    check_plot("bd", parts);
    ck_assert_int_eq(script("plot-breakdown.sh", "@ %/bd-tp parallelism.tp", NULL), 0);
    check_plot("bd-tp", parts);
    check_plot("bd-tp", (const char *const[]){"Step time breakdown by parallelism.tp", NULL});
}
END_TEST

START_TEST(link_utilization_per_kind)
{
    /* the newest run by default: (8, 4) is run 3; quick start's fabric has these kinds */
    ck_assert_int_eq(script("plot-tiers.sh", "@ %/tiers", NULL), 0);
    check_plot("tiers", (const char *const[]){"run 3 (", "nvlink", "nic", "leaf-spine", NULL});
    ck_assert_int_eq(script("plot-tiers.sh", "@ %/tiers-1 1", NULL), 0);
    check_plot("tiers-1", (const char *const[]){"run 1 (", "nvlink", NULL});
}
END_TEST

START_TEST(goodput_against_interval_and_size)
{
    /* every run; the sweep (run 1) is the only one with more than one interval */
    ck_assert_int_eq(script("plot-goodput.sh", "^ %/gp", NULL), 0);
    check_plot("gp-interval",
               (const char *const[]){"ETTR against the checkpoint interval",
                                     "checkpoint interval (min, log scale)",
                                     "run 1: llama3-8b, 64 chips, sync, 20 seeds; Daly's "
                                     "interval ",
                                     "Daly's closed form for the run",
                                     "Daly's optimum interval for the run", NULL});
    char *svg = slurp("gp-interval.svg", NULL);
    ck_assert(!strstr(svg, "run 2:") && !strstr(svg, "run 4:"));
    free(svg);
    check_plot("gp-size", (const char *const[]){"ETTR against the job's size",
                                                "the job's chips (log scale)",
                                                "quickstart, sync checkpoints",
                                                "Daly's closed form at the same interval",
                                                "quickstart, async_save", NULL});
    /* the sizes along the axis, sorted */
    svg = slurp("gp-size.svg", NULL);
    const char *a = strstr(svg, "<text>16<"), *b = strstr(svg, "<text>32<"),
               *c = strstr(svg, "<text>64<");
    ck_assert_msg(a && b && c && a < b && b < c, "the chips are not 16, 32, 64 in order");
    free(svg);
}
END_TEST

START_TEST(goodput_of_chosen_runs)
{
    /* runs 2 and 3: one interval each, so no interval figure (said on stderr) */
    char *err;
    ck_assert_int_eq(script("plot-goodput.sh", "^ %/sel 2 3", &err), 0);
    ck_assert_msg(strstr(err, "not drawn") != NULL, "got: %s", err);
    free(err);
    ck_assert(!exists("sel-interval.png") && !exists("sel-interval.svg"));
    check_plot("sel-size", (const char *const[]){"quickstart, sync checkpoints", "<text>16<",
                                                 "<text>32<", NULL});
    char *svg = slurp("sel-size.svg", NULL);
    ck_assert(!strstr(svg, "async_save") && !strstr(svg, "<text>64<"));
    free(svg);
    /* runs 1 and 4: both figures, 64 chips synchronous and asynchronous */
    ck_assert_int_eq(script("plot-goodput.sh", "^ %/sel14 1 4", NULL), 0);
    check_plot("sel14-interval", (const char *const[]){"run 1: llama3-8b", NULL});
    check_plot("sel14-size", (const char *const[]){"quickstart, sync checkpoints",
                                                   "quickstart, async_save", "<text>64<",
                                                   NULL});
}
END_TEST

/* No goodput rows (a database of `clustersim run` runs; a run id without them, alone or
 * beside one with them; no database): status 2, a message, and none of the four files. */
static const char *const goodput_empty_cases[] = {
    "@ %/none-gp",
    "^ %/none-gp 7",
    "^ %/none-gp 1 7",
    "%/no-such.db %/none-gp",
};

START_TEST(no_goodput_rows_exit_2_and_write_nothing)
{
    char *err;
    ck_assert_int_eq(script("plot-goodput.sh", goodput_empty_cases[_i], &err), 2);
    ck_assert_msg(strstr(err, "plot-goodput.sh: ") != NULL && strlen(err) > 30, "got: %s",
                  err);
    free(err);
    ck_assert(!exists("none-gp-interval.png") && !exists("none-gp-interval.svg"));
    ck_assert(!exists("none-gp-size.png") && !exists("none-gp-size.svg"));
    ck_assert(!exists("no-such.db"));
}
END_TEST

/* No matching rows: status 2, a message, and neither file. */
static const struct {
    const char *script, *args, *stem;
} empty_cases[] = {
    {"plot-mfu.sh", "@ parallelism.pp %/none-mfu", "none-mfu"},
    {"plot-mfu.sh", "@ parallelism.tp %/none-group parallelism.cp", "none-group"},
    {"plot-breakdown.sh", "@ %/none-bd parallelism.pp", "none-bd"},
    {"plot-tiers.sh", "@ %/none-tiers 42", "none-tiers"},
    {"plot-mfu.sh", "%/no-such.db parallelism.tp %/none-db", "none-db"},
};

START_TEST(no_rows_exit_2_and_write_nothing)
{
    char *err, png[64], svg[64];
    ck_assert_int_eq(script(empty_cases[_i].script, empty_cases[_i].args, &err), 2);
    ck_assert_msg(strstr(err, empty_cases[_i].script) != NULL && strlen(err) > 20, "got: %s",
                  err);
    free(err);
    snprintf(png, sizeof png, "%s.png", empty_cases[_i].stem);
    snprintf(svg, sizeof svg, "%s.svg", empty_cases[_i].stem);
    ck_assert(!exists(png) && !exists(svg));
    ck_assert(!exists("no-such.db")); /* not created by reading it */
}
END_TEST

/* Wrong arguments: status 2 and the usage line. */
static const struct {
    const char *script, *args;
} usage_cases[] = {
    {"plot-mfu.sh", ""},
    {"plot-mfu.sh", "@ parallelism.tp"},
    {"plot-mfu.sh", "@ parallelism.tp %/u parallelism.dp extra"},
    {"plot-mfu.sh", "@ '' %/u"},
    {"plot-breakdown.sh", "@"},
    {"plot-breakdown.sh", "@ %/u parallelism.tp extra"},
    {"plot-tiers.sh", "@"},
    {"plot-tiers.sh", "@ %/u one"},
    {"plot-tiers.sh", "@ %/u 1 2"},
    {"plot-goodput.sh", "^"},
    {"plot-goodput.sh", "^ %/u one"},
    {"plot-goodput.sh", "^ %/u 1 2x"},
    {"plot-goodput.sh", "'' %/u"},
};

START_TEST(wrong_arguments_exit_2)
{
    char *err;
    ck_assert_int_eq(script(usage_cases[_i].script, usage_cases[_i].args, &err), 2);
    char want[64];
    snprintf(want, sizeof want, "usage: analysis/%s ", usage_cases[_i].script);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got: %s", err);
    free(err);
    ck_assert(!exists("u.png") && !exists("u.svg"));
    ck_assert(!exists("u-size.png") && !exists("u-interval.png"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plots");
    TCase *tc = tcase_create("plots");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, make_db, remove_dir);
    tcase_add_test(tc, mfu_against_a_swept_key);
    tcase_add_test(tc, step_time_breakdown);
    tcase_add_test(tc, link_utilization_per_kind);
    tcase_add_test(tc, goodput_against_interval_and_size);
    tcase_add_test(tc, goodput_of_chosen_runs);
    tcase_add_loop_test(tc, no_goodput_rows_exit_2_and_write_nothing, 0,
                        (int)(sizeof goodput_empty_cases / sizeof goodput_empty_cases[0]));
    tcase_add_loop_test(tc, no_rows_exit_2_and_write_nothing, 0,
                        (int)(sizeof empty_cases / sizeof empty_cases[0]));
    suite_add_tcase(s, tc);
    TCase *tu = tcase_create("usage");
    tcase_set_timeout(tu, 60);
    tcase_add_checked_fixture(tu, make_dir, remove_dir);
    tcase_add_loop_test(tu, wrong_arguments_exit_2, 0,
                        (int)(sizeof usage_cases / sizeof usage_cases[0]));
    suite_add_tcase(s, tu);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
