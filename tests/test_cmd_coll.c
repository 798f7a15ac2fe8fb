/*
 * test_cmd_coll.c: `clustersim coll` as a user runs it (the binary from CLUSTERSIM_BIN, set
 * by ctest): every published nccl-tests figure of analysis/data/nccl-tests.csv (a DGX H100
 * node's 1 GiB all-reduce with NVLS and with rings, 8 H200, two DGX H100 and eight DGX A100
 * over InfiniBand) is matched within 5% (the replay is deterministic, so this is a real
 * assertion); busbw is algbw times nccl-tests' factor; bad options exit 2 with their message.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *bin(void)
{
    const char *b = getenv("CLUSTERSIM_BIN");
    return b ? b : "build/clustersim";
}

/* Runs "BIN coll ARGS" with stderr into stdout; output into out (cap bytes), returns the
 * exit status. */
static int run(const char *args, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s coll %s 2>&1", bin(), args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first data row's column col (1-based) as a number. */
static double column(const char *out, int col)
{
    const char *line = out;
    while (line && *line == '#')
        line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL;
    ck_assert_ptr_nonnull(line);
    char buf[64];
    const char *p = line;
    for (int c = 1; c <= col; c++) {
        while (*p == ' ')
            p++;
        size_t k = 0;
        while (*p && *p != ' ' && *p != '\n' && k + 1 < sizeof buf)
            buf[k++] = *p++;
        buf[k] = '\0';
    }
    return atof(buf);
}

START_TEST(published_figures_within_5_percent)
{
    FILE *f = fopen("analysis/data/nccl-tests.csv", "r");
    ck_assert_ptr_nonnull(f);
    char line[1024], out[8192];
    int rows = 0, multi_node = 0, dgx_1gib = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        char *field[8], *p = line;
        int k = 0;
        /* the first eight fields; empty ones (no overrides) kept */
        for (; k < 8; k++) {
            field[k] = p;
            char *comma = strchr(p, ',');
            ck_assert_ptr_nonnull(comma);
            *comma = '\0';
            p = comma + 1;
        }
        char sets[512] = "";
        for (char *kv = strtok(field[3], ";"); kv; kv = strtok(NULL, ";")) {
            strcat(sets, " --set ");
            strcat(sets, kv);
        }
        char args[1024];
        snprintf(args, sizeof args, "-b %s -e %s -g %s -a %s%s %s %s", field[6], field[6],
                 field[4], field[5], sets, field[1], field[2]);
        ck_assert_int_eq(run(args, out, sizeof out), 0);
        double sim = column(out, 8), pub = atof(field[7]);
        ck_assert_msg(fabs(sim - pub) <= 0.05 * pub, "%s: simulated %.1f GB/s, published %.1f",
                      field[0], sim, pub);
        rows++;
        multi_node += atoi(field[4]) > 8;
        dgx_1gib += !strncmp(field[0], "dgx-h100", 8) && atoi(field[4]) == 8 &&
                    !strcmp(field[6], "1073741824");
    }
    fclose(f);
    ck_assert_int_ge(rows, 4);
    ck_assert_int_ge(multi_node, 1);
    ck_assert_int_ge(dgx_1gib, 1);
}
END_TEST

/* all_gather over 8 chips at 1 GiB: busbw = algbw x 7/8; time = size / algbw; count is
 * size / 4 for float; the sizes run from -b to -e by -f. */
START_TEST(columns_follow_nccl_tests)
{
    char out[8192];
    ck_assert_int_eq(run("-b 1G -e 1G -g 8 all_gather topologies/two-nodes.yaml", out,
                         sizeof out), 0);
    double size = column(out, 1), count = column(out, 2), time_us = column(out, 6);
    double algbw = column(out, 7), busbw = column(out, 8);
    ck_assert_double_eq(size, 1073741824.0);
    ck_assert_double_eq(count, 268435456.0);
    ck_assert_double_eq_tol(algbw, size / time_us / 1e3, 0.01);
    ck_assert_double_eq_tol(busbw, algbw * 7 / 8, 0.01);
    ck_assert_ptr_nonnull(strstr(out, "    none      -1"));
    ck_assert_int_eq(run("-b 1M -e 8M -f 2 -d half broadcast topologies/two-nodes.yaml", out,
                         sizeof out), 0);
    int rows = 0;
    for (const char *l = out; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        rows += *l && *l != '#';
    ck_assert_int_eq(rows, 4); /* 1, 2, 4, 8 MiB */
    ck_assert_double_eq(column(out, 2), 524288.0);
    ck_assert_double_eq_tol(column(out, 8), column(out, 7), 0.001); /* factor 1 */
    ck_assert_int_eq(run("-b 64M -e 64M sendrecv topologies/two-nodes.yaml", out, sizeof out),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "p2p"));
}
END_TEST

START_TEST(bad_options_exit_2)
{
    static const struct {
        const char *args, *msg;
    } cases[] = {
        {"all_redux topologies/two-nodes.yaml", "unknown collective 'all_redux'; expected one "
                                                "of: all_reduce, all_gather"},
        {"-f 1 all_reduce topologies/two-nodes.yaml",
         "option '-f': expected an integer from 2 to 1024, found '1'"},
        {"-b 8X all_reduce topologies/two-nodes.yaml",
         "option '-b': expected a size in bytes such as 8, 128M or 1G, found '8X'"},
        {"-b 1G -e 1M all_reduce topologies/two-nodes.yaml",
         "option '-e': expected a size >= -b's 1073741824, found 1048576"},
        {"-g 17 all_reduce topologies/two-nodes.yaml",
         "option '-g': expected a group of chips inside topologies/two-nodes.yaml's 16 chips, "
         "found 17 chips from chip 0 with stride 1"},
        {"-a nvlsx all_reduce topologies/two-nodes.yaml", "option '-a': expected auto, ring"},
        {"-d fp4 all_reduce topologies/two-nodes.yaml", "option '-d': expected float, half"},
        {"-g all_reduce topologies/two-nodes.yaml", "option '-g': expected an integer"},
        {"--bogus all_reduce topologies/two-nodes.yaml", "unknown option '--bogus'"},
        {"all_reduce", "expected COLLECTIVE and TOPOLOGY.yaml"},
        {"all_reduce tests/fixtures/bad/topo-missing-unit.yaml",
         "key 'bandwidth': expected a bandwidth with a unit"},
        {"--set scale_up.in_switch_reduction=maybe all_reduce topologies/two-nodes.yaml",
         "in_switch_reduction"},
    };
    char out[8192];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(run(cases[i].args, out, sizeof out), 2);
        ck_assert_msg(strstr(out, cases[i].msg) != NULL, "%s: got %s", cases[i].args, out);
        ck_assert_msg(strstr(out, "size") == NULL || strstr(out, "usage") != NULL ||
                          strstr(out, "(B)") == NULL,
                      "%s: half a table", cases[i].args);
    }
    ck_assert_int_eq(run("--help", out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: clustersim coll"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cmd_coll");
    TCase *tc = tcase_create("coll");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, published_figures_within_5_percent);
    tcase_add_test(tc, columns_follow_nccl_tests);
    tcase_add_test(tc, bad_options_exit_2);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
