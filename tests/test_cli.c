/*
 * test_cli.c: the clustersim executable as a user runs it: `flows` output against
 * hand-computed max-min finish times, the incremental solver against --naive on a larger
 * generated case, byte-identical output on reruns, exit statuses and messages for bad
 * input and usage. The binary's path comes from CLUSTERSIM_BIN (set by ctest).
 */
#include <check.h>
#include <signal.h>
#include <time.h>
#define CLUSTERSIM_TEST_CLI
#include "helpers.h"
#include <sqlite3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Value after "\"key\": " in a one-line JSON object, as a double. */
static double json_num(const char *json, const char *key)
{
    char k[96];
    snprintf(k, sizeof k, "\"%s\": ", key);
    const char *p = strstr(json, k);
    ck_assert_msg(p != NULL, "no key %s in %s", key, json);
    return strtod(p + strlen(k), NULL);
}



/* finish_s of the row whose id is id */
static double finish_of(const char *csv, const char *id)
{
    char key[64];
    snprintf(key, sizeof key, "\n%s,", id);
    const char *row = strstr(csv, key);
    ck_assert_msg(row != NULL, "no row %s", id);
    const char *end = strchr(row + 1, '\n');
    const char *comma = end - 1;
    while (*comma != ',')
        comma--;
    return strtod(comma + 1, NULL);
}

START_TEST(flows_dumbbell_matches_hand_computation)
{
    char *out;
    ck_assert_int_eq(th_run("flows tests/fixtures/good/dumbbell.yaml "
                         "tests/fixtures/good/dumbbell-flows.csv", &out, NULL), 0);
    ck_assert(strncmp(out, "id,src,dst,bytes,start_s,finish_s\n", 34) == 0);
    /* latency h->s0->s1->h = 1 + 0.5 + 1 us; the 12.5 GB/s core link is the bottleneck.
     * f1 alone until f2 joins at 1.0025 ms (12.5e6 B sent); both at 6.25 GB/s until f2's
     * 0.5 GB are through (0.08 s); f1's last 0.4875 GB alone: 0.039 s. */
    ck_assert_double_eq_tol(finish_of(out, "f2"), 0.001 + 2.5e-6 + 0.08, 1e-12);
    ck_assert_double_eq_tol(finish_of(out, "f1"), 2.5e-6 + 0.001 + 0.08 + 0.039, 1e-12);
    /* f3 runs the other direction alone: 1 MiB at 12.5 GB/s after 2.5 us */
    ck_assert_double_eq_tol(finish_of(out, "f3"), 1.5e-6 + 2.5e-6 + 1048576 / 12.5e9, 1e-15);
    /* rows in input order */
    ck_assert(strstr(out, "\nf1,") < strstr(out, "\nf2,"));
    ck_assert(strstr(out, "\nf2,") < strstr(out, "\nf3,"));
    free(out);
}
END_TEST

START_TEST(flow_to_itself_finishes_when_it_starts)
{
    char *out;
    ck_assert_int_eq(th_run("flows tests/fixtures/good/dumbbell.yaml "
                         "tests/fixtures/good/flows-self.csv", &out, NULL), 0);
    ck_assert_str_eq(out, "id,src,dst,bytes,start_s,finish_s\nf1,h2,h2,1,0,0\n");
    free(out);
}
END_TEST

/* Writes a flows CSV of n random flows among the endpoints a0 a1 b0 b1 of tree.yaml. */
static void write_random_flows(const char *path, int n, unsigned seed)
{
    static const char *hosts[] = {"a0", "a1", "b0", "b1"};
    FILE *f = fopen(path, "w");
    fprintf(f, "id,src,dst,bytes,start_s\n");
    unsigned x = seed;
    for (int i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        int s = (int)((x >> 16) % 4);
        x = x * 1103515245u + 12345u;
        int d = (int)((x >> 16) % 3);
        if (d >= s)
            d++;
        x = x * 1103515245u + 12345u;
        double bytes = 1e3 + (double)((x >> 8) % 100000000u);
        x = x * 1103515245u + 12345u;
        double start = (double)((x >> 8) % 1000000u) * 1e-8;
        fprintf(f, "f%d,%s,%s,%.17g,%.17g\n", i, hosts[s], hosts[d], bytes, start);
    }
    fclose(f);
}

START_TEST(incremental_equals_naive_and_reruns_are_identical)
{
    char path[] = "/tmp/clustersim-test-flows-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    write_random_flows(path, 400, 7);
    char args[512];
    char *a, *b, *c;
    snprintf(args, sizeof args, "flows tests/fixtures/good/tree.yaml %s", path);
    ck_assert_int_eq(th_run(args, &a, NULL), 0);
    ck_assert_int_eq(th_run(args, &b, NULL), 0);
    ck_assert_str_eq(a, b); /* deterministic, byte for byte */
    snprintf(args, sizeof args, "flows --naive tests/fixtures/good/tree.yaml %s", path);
    ck_assert_int_eq(th_run(args, &c, NULL), 0);
    int rows = 0;
    for (int i = 0; i < 400; i++) {
        char id[16];
        snprintf(id, sizeof id, "f%d", i);
        double x = finish_of(a, id), y = finish_of(c, id);
        ck_assert_msg(fabs(x - y) <= 1e-9 * y, "%s: %.17g vs %.17g", id, x, y);
        rows++;
    }
    ck_assert_int_eq(rows, 400);
    free(a);
    free(b);
    free(c);
    unlink(path);
}
END_TEST

typedef struct bad_case {
    const char *args;
    int status;
    const char *err; /* exact stderr */
} bad_case;

static const bad_case bad_cases[] = {
    {"flows tests/fixtures/good/dumbbell.yaml tests/fixtures/bad/flows-unknown-endpoint.csv", 2,
     "clustersim: tests/fixtures/bad/flows-unknown-endpoint.csv:4:7: error: field 'dst': "
     "unknown endpoint 'h9'\n"},
    {"flows tests/fixtures/bad/topo-missing-unit.yaml tests/fixtures/good/dumbbell-flows.csv", 2,
     "clustersim: tests/fixtures/bad/topo-missing-unit.yaml:7:35: error: key 'bandwidth': "
     "expected a bandwidth with a unit (such as '100 Gb/s'), found '100'\n"},
    {"flows no-such.yaml tests/fixtures/good/dumbbell-flows.csv", 2,
     "clustersim: no-such.yaml: error: cannot open 'no-such.yaml': No such file or directory\n"},
    {"flows tests/fixtures/good/disconnected.yaml tests/fixtures/good/disconnected-flows.csv", 2,
     "clustersim: tests/fixtures/good/disconnected-flows.csv:3: error: flow 'f2': no path from "
     "'h0' to 'h2'\n"},
    {"flows tests/fixtures/good/dumbbell.yaml", 2, NULL},
    {"flows --bogus a b", 2, NULL},
    {"frobnicate", 2, "clustersim: unknown command 'frobnicate'\n\n"},
    {"bench --transfers x", 2,
     "clustersim bench: option '--transfers': expected a positive integer, found 'x'\n"},
    {"bench --seed -3", 2,
     "clustersim bench: option '--seed': expected a non-negative integer, found '-3'\n"},
    /* an option without its value, or with an empty one, names what it expects */
    {"run configs/quickstart.yaml --db", 2,
     "clustersim run: option '--db' expects FILE, found nothing\n"},
    {"run --db '' configs/quickstart.yaml", 2,
     "clustersim run: option '--db' expects FILE, found an empty string\n"},
    {"sweep --set", 2, "clustersim sweep: option '--set' expects KEY=VALUE, found nothing\n"},
    {"topo --db '' topologies/dumbbell.yaml", 2,
     "clustersim topo: option '--db' expects FILE, found an empty string\n"},
    {"plan --set", 2, "clustersim plan: option '--set' expects KEY=VALUE, found nothing\n"},
    /* numbers: no sign, no overflow */
    {"run --no-db --max-events -1 configs/quickstart.yaml", 2,
     "clustersim run: option '--max-events': expected a positive integer, found '-1'\n"},
    {"run --no-db --max-events 99999999999999999999999 configs/quickstart.yaml", 2,
     "clustersim run: option '--max-events': expected a positive integer, found "
     "'99999999999999999999999'\n"},
    {"run --no-db --max-wall inf configs/quickstart.yaml", 2,
     "clustersim run: option '--max-wall': expected a positive number of seconds, found "
     "'inf'\n"},
    {"sweep --jobs 0 tests/fixtures/good/sweep-tiny.yaml", 2,
     "clustersim sweep: option '--jobs': expected a number of processes from 1 to 4096, "
     "found '0'\n"},
    {"calibrate --iterations abc analysis/targets.csv", 2,
     "clustersim calibrate: option '--iterations': expected a number of iterations from 1 to "
     "1000, found 'abc'\n"},
    /* --trace-ranks without a trace is an error, not ignored */
    {"run --no-db --trace-ranks 0 configs/quickstart.yaml", 2,
     "clustersim run: --trace-ranks needs a trace (--trace FILE or the config's "
     "output.trace)\n"},
    /* a directory where a file is expected is bad input */
    {"run --no-db configs", 2,
     "clustersim: configs: error: cannot open 'configs': expected a file, found a directory\n"},
    {"flows topologies/dumbbell.yaml configs", 2,
     "clustersim: configs: error: cannot open 'configs': expected a file, found a directory\n"},
    /* goodput's options */
    {"goodput --no-db --seeds 0 configs/quickstart.yaml", 2,
     "clustersim goodput: option '--seeds': expected a number of runs from 1 to 100000, "
     "found '0'\n"},
    {"goodput --no-db --save-intervals 5,,6 configs/quickstart.yaml", 2,
     "clustersim goodput: option '--save-intervals': expected steps from 1 separated by "
     "commas (at most 32), found '5,,6'\n"},
    {"goodput --no-db --db x.db configs/quickstart.yaml", 2,
     "clustersim goodput: --db and --no-db together\n"},
    {"goodput --no-db --set reliability.tokens=many configs/quickstart.yaml", 2,
     "clustersim: --set reliability.tokens=many: error: key 'tokens': expected a count of "
     "tokens such as '15.6T' or '2e12' (K, M, B, T: 10^3 to 10^12), found 'many'\n"},
    {"goodput --no-db", 2, "clustersim goodput: expected CONFIG.yaml\n"},
    /* a database that cannot be opened is found before the replay: nothing printed */
    {"goodput --db /nonexistent/x.db configs/quickstart.yaml", 1,
     "clustersim: /nonexistent/x.db: error: cannot open results database '/nonexistent/x.db'"},
    {"run --db /nonexistent/x.db configs/quickstart.yaml", 1,
     "clustersim: /nonexistent/x.db: error: cannot open results database '/nonexistent/x.db'"},
};

START_TEST(bad_input_gets_its_message_and_status_2)
{
    const bad_case *bc = &bad_cases[_i];
    char *out, *err;
    ck_assert_int_eq(th_run(bc->args, &out, &err), bc->status);
    ck_assert_str_eq(out, ""); /* nothing half-written on stdout */
    if (bc->err)
        ck_assert_msg(strncmp(err, bc->err, strlen(bc->err)) == 0, "got: %s", err);
    else
        ck_assert(strstr(err, "usage: clustersim") != NULL);
    free(out);
    free(err);
}
END_TEST

START_TEST(help_and_version)
{
    char *out;
    ck_assert_int_eq(th_run("--version", &out, NULL), 0);
    ck_assert(strncmp(out, "clustersim ", 11) == 0);
    free(out);
    ck_assert_int_eq(th_run("--help", &out, NULL), 0);
    ck_assert(strstr(out, "flows") && strstr(out, "bench"));
    free(out);
    ck_assert_int_eq(th_run("flows --help", &out, NULL), 0);
    ck_assert(strstr(out, "usage: clustersim flows"));
    free(out);
    ck_assert_int_eq(th_run("bench --help", &out, NULL), 0);
    ck_assert(strstr(out, "usage: clustersim bench"));
    free(out);
}
END_TEST


/* h100-64: 8 DGX nodes (NVSwitch), rail-optimized 2 tiers, radix 64, 8 NICs per leaf:
 * leaves = 64 / 8 = 8, each with 8 x 400 Gb/s down and 8 uplinks (one per spine) = 8 spines.
 * Directed links: nvlink 2 x 64, nic 2 x 64, leaf-spine 2 x 8 x 8 = 128 each: 384. */
START_TEST(topo_summarizes_a_small_cluster)
{
    char *out;
    ck_assert_int_eq(th_run("topo --json topologies/h100-64.yaml", &out, NULL), 0);
    ck_assert_double_eq(json_num(out, "chips"), 64);
    ck_assert_double_eq(json_num(out, "links"), 384);
    ck_assert_double_eq(json_num(out, "switches"), 8 + 8 + 8); /* NVSwitch, leaf, spine */
    ck_assert_double_eq(json_num(out, "leaf"), 8);
    ck_assert_double_eq(json_num(out, "spine"), 8);
    ck_assert_double_eq(json_num(out, "nvlink"), 128);
    ck_assert_double_eq(json_num(out, "leaf-spine"), 128);
    ck_assert_double_eq(json_num(out, "total_peak_bf16_flops"), 64 * 989.4e12);
    ck_assert_double_eq(json_num(out, "total_hbm_bytes"), 64 * 80e9);
    /* full bisection: 32 NICs x 50 GB/s */
    ck_assert_double_eq(json_num(out, "bisection_Bps"), 32 * 50e9);
    ck_assert_double_eq(json_num(out, "diameter_hops"), 4);
    ck_assert_ptr_nonnull(strstr(out, "\"datacenters\": [{\"name\": \"dc0\""));
    free(out);
    ck_assert_int_eq(th_run("topo topologies/h100-64.yaml", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "topology h100-64: 64 chips in 1 site, 24 switches, "
                                      "384 links (directed)\n"));
    ck_assert_ptr_nonnull(strstr(out, "  leaf   8 switches, 8 NICs each, 8 uplink trunks of "
                                      "400 Gb/s (oversubscription 1:1)\n"));
    free(out);
}
END_TEST

/* --db writes one run row (command 'topo') and one link row per directed link, in one
 * transaction; a second call adds a second run. */
START_TEST(topo_writes_the_link_table)
{
    char dir[] = "/tmp/clustersim-topo-db-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], args[512];
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(args, sizeof args, "topo --db %s topologies/three-dc.yaml", path);
    ck_assert_int_eq(th_run(args, NULL, NULL), 0);
    snprintf(args, sizeof args, "topo --db %s topologies/h100-64.yaml", path);
    ck_assert_int_eq(th_run(args, NULL, NULL), 0);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    static const char *const q[] = {
        "SELECT count(*) FROM run WHERE command = 'topo'",
        "SELECT count(*) FROM link WHERE run_id = 1",
        "SELECT count(*) FROM link WHERE run_id = 2",
        "SELECT count(*) FROM link WHERE run_id = 1 AND kind = 'wan' AND site IS NULL",
        "SELECT count(*) FROM link WHERE run_id = 1 AND kind = 'gateway' AND site = 'west'",
        "SELECT count(*) FROM link WHERE run_id = 1 AND kind = 'wan' AND abs(latency_s - "
        "0.025001) < 1e-12 AND capacity_Bps = 2.5e12",
    };
    /* three-dc: per site nvlink 2 x 8192, nic 2 x 8192, leaf-spine 2 x 256 x 32, spine-core
     * 2 x 256 x 4, gateway 2 x 128 (32 planes x 4 cores): 51,456; three sites plus 3 WAN
     * cables: 154,374. west has 128 gateway cables = 256 links. east-west: 5000 km at
     * 5 us/km = 25 ms, plus 1 us for the gateway it leaves; 20 Tb/s = 2.5e12 B/s, both
     * directions. */
    const double want[] = {2, 154374, 384, 6, 256, 2};
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        sqlite3_stmt *s;
        ck_assert_int_eq(sqlite3_prepare_v2(db, q[i], -1, &s, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
        ck_assert_msg(sqlite3_column_double(s, 0) == want[i], "%s: %g, want %g", q[i],
                      sqlite3_column_double(s, 0), want[i]);
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Flows between chips of a generated cluster, by chip name. Latencies: same rail leaf: NIC
 * up 0.1 us, leaf down 0.1 + 0.5 us = 0.7 us; other rail: + leaf-spine and spine-leaf, 0.6 us
 * each = 1.9 us; NVLink 2 x 0.25 us. a and b end on one 400 Gb/s (50 GB/s) NIC: a alone from
 * 0.7 to 1.9 us (60 kB), then both at 25 GB/s until a is done at 1.9e-6 + (50e9 - 6e4) /
 * 25e9 = 2 - 0.5e-6 s; b then has 60 kB left alone: 2 + 0.7e-6 s. c: 450 GB at 450 GB/s. */
START_TEST(flows_on_a_generated_cluster)
{
    char path[] = "/tmp/clustersim-flows-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char csv[] = "id,src,dst,bytes,start_s\n"
                       "a,dc0/n0/c0,dc0/n1/c0,50e9,0\n"
                       "b,dc0/n0/c1,dc0/n1/c0,50e9,0\n"
                       "c,dc0/n0/c2,dc0/n0/c3,450e9,0\n";
    ck_assert_int_eq(write(fd, csv, sizeof csv - 1), (ssize_t)(sizeof csv - 1));
    close(fd);
    char args[256], *out;
    snprintf(args, sizeof args, "flows topologies/h100-64.yaml %s", path);
    ck_assert_int_eq(th_run(args, &out, NULL), 0);
    ck_assert_double_eq_tol(finish_of(out, "a"), 2 - 0.5e-6, 1e-12);
    ck_assert_double_eq_tol(finish_of(out, "b"), 2 + 0.7e-6, 1e-12);
    ck_assert_double_eq_tol(finish_of(out, "c"), 1 + 0.5e-6, 1e-12);
    free(out);
    unlink(path);
}
END_TEST

/* run --trace writes trace-event JSON for the selected ranks only; a bad selection is a
 * usage error with its message. */
START_TEST(run_writes_a_trace)
{
    char path[] = "/tmp/clustersim-trace-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char args[512], *out, *err;
    snprintf(args, sizeof args,
             "run --no-db --quiet --trace %s --trace-ranks 1,3 configs/quickstart.yaml", path);
    ck_assert_int_eq(th_run(args, &out, NULL), 0);
    free(out);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    ck_assert(n > 1000 && buf[0] == '[' && !strcmp(buf + n - 3, "\n]\n"));
    ck_assert_ptr_nonnull(strstr(buf, "\"pid\":1,\"tid\":0"));
    ck_assert_ptr_nonnull(strstr(buf, "\"pid\":3,\"tid\":1"));
    ck_assert_ptr_null(strstr(buf, "\"pid\":0,"));
    ck_assert_ptr_null(strstr(buf, "\"pid\":2,"));
    ck_assert_ptr_nonnull(strstr(buf, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":3,"
                                      "\"args\":{\"name\":\"rank 3\"}}"));
    snprintf(args, sizeof args, "run --no-db --trace %s --trace-ranks 60-70 "
             "configs/quickstart.yaml", path);
    ck_assert_int_eq(th_run(args, NULL, &err), 2);
    ck_assert_str_eq(err, "clustersim: error: --trace-ranks: expected ranks from 0 to 63, "
                          "found '60-70'\n");
    free(err);
    /* the failed run left the first trace as it was, and no PATH.part */
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(buf, 1, sizeof buf - 1, f), n);
    fclose(f);
    char part[64];
    snprintf(part, sizeof part, "%s.part", path);
    ck_assert_int_ne(access(part, F_OK), 0);
    unlink(path);
}
END_TEST

/* plan --json escapes the names it prints (a config's name is any YAML string) */
START_TEST(plan_json_escapes_names)
{
    char *out;
    ck_assert_int_eq(th_run("plan --json --set 'name=a\"b\\c' configs/quickstart.yaml", &out,
                            NULL), 0);
    const char *want = "{\"name\": \"a\\\"b\\\\c\", \"ranks\": 64, ";
    ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "got: %.60s", out);
    free(out);
}
END_TEST

/* Count of a query's first column, as a double. */
static double q1(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    double v = sqlite3_column_double(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* goodput prints its summary and writes its run, with the replay's rows and its own;
 * the same seeds give the same figures. */
START_TEST(goodput_writes_the_database)
{
    char dir[] = "/tmp/clustersim-goodput-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char a[256], args[600];
    snprintf(a, sizeof a, "%s/a.db", dir);
    snprintf(args, sizeof args,
             "goodput --db %s --seeds 30 --sweep-interval configs/quickstart.yaml", a);
    char *out = NULL;
    ck_assert_int_eq(th_run(args, &out, NULL), 0);
    ck_assert(strstr(out, "  ETTR          ") != NULL);
    ck_assert(strstr(out, "simulated optimum ") != NULL);
    ck_assert(strstr(out, "wrote run 1 to ") != NULL);
    ck_assert_int_eq(th_run(args, NULL, NULL), 0);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(a, &db), SQLITE_OK);
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM run WHERE command = 'goodput' AND "
                               "status = 'ok' AND mfu > 0"), 2);
    /* run.wall_s is the invocation's: the replay, the degraded replays, the Monte Carlo */
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM run WHERE wall_s > 0"), 2);
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM step WHERE run_id = 1"), 1);
    ck_assert(q1(db, "SELECT count(*) FROM goodput WHERE run_id = 1") >= 5);
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM goodput AS x JOIN goodput AS y "
                               "USING (save_interval) WHERE x.run_id = 1 AND y.run_id = 2 "
                               "AND x.ettr_mean = y.ettr_mean AND x.wall_s_ci95 = "
                               "y.wall_s_ci95"),
                        q1(db, "SELECT count(*) FROM goodput WHERE run_id = 1"));
    sqlite3_close(db);
    free(out);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* run writes its rows and the views answer; two runs of the same config and seed write the
 * same rows (wall-clock columns aside). */
START_TEST(run_writes_the_database)
{
    char dir[] = "/tmp/clustersim-run-db-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char a[256], b[256], args[600];
    snprintf(a, sizeof a, "%s/a.db", dir);
    snprintf(b, sizeof b, "%s/b.db", dir);
    snprintf(args, sizeof args, "run --quiet --db %s configs/quickstart.yaml", a);
    ck_assert_int_eq(th_run(args, NULL, NULL), 0);
    snprintf(args, sizeof args, "run --quiet --db %s configs/quickstart.yaml", b);
    ck_assert_int_eq(th_run(args, NULL, NULL), 0);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(a, &db), SQLITE_OK);
    /* quick start: 64 ranks on h100-64 (384 directed links), one measured step */
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM run WHERE status = 'ok'"), 1);
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM step"), 1);
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM rank"), 64);
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM link"), 384);
    ck_assert(q1(db, "SELECT count(*) FROM link_stats") > 0);
    ck_assert(q1(db, "SELECT count(*) FROM collective") > 0);
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM v_mfu"), 1);
    ck_assert(q1(db, "SELECT mfu FROM v_mfu") > 0.2 && q1(db, "SELECT mfu FROM v_mfu") < 0.8);
    ck_assert_double_eq(q1(db, "SELECT abs(time_s - (SELECT step_time_s FROM run)) < 1e-12 "
                               "FROM step"), 1);
    ck_assert(q1(db, "SELECT exposed_tp_frac FROM v_exposed_comm") > 0);
    ck_assert_double_eq(q1(db, "SELECT util_rank FROM v_bottleneck_links LIMIT 1"), 1);
    ck_assert_double_eq(q1(db, "SELECT integrity_check = 'ok' FROM pragma_integrity_check"), 1);
    /* same rows in b */
    snprintf(args, sizeof args, "ATTACH '%s' AS b", b);
    ck_assert_int_eq(sqlite3_exec(db, args, NULL, NULL, NULL), SQLITE_OK);
    static const char *const same[] = {
        "SELECT count(*) FROM (SELECT * FROM main.step EXCEPT SELECT * FROM b.step)",
        "SELECT count(*) FROM (SELECT * FROM main.rank EXCEPT SELECT * FROM b.rank)",
        "SELECT count(*) FROM (SELECT * FROM main.link_stats EXCEPT SELECT * FROM b.link_stats)",
        "SELECT count(*) FROM (SELECT * FROM main.collective EXCEPT SELECT * FROM b.collective)",
        "SELECT count(*) FROM (SELECT step_time_s, mfu, hfu, tokens_per_s, seed, config_yaml "
        "FROM main.run EXCEPT SELECT step_time_s, mfu, hfu, tokens_per_s, seed, config_yaml "
        "FROM b.run)",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        ck_assert_msg(q1(db, same[i]) == 0, "%s", same[i]);
    sqlite3_close(db);
    snprintf(args, sizeof args, "rm -rf %s", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

/* calibrate fits efficiency.gemm to measurements it can reach exactly: MFU figures made by
 * the simulator itself at efficiency 0.5 come back as 0.5 (to the fit's tolerance); a bad
 * targets line is an input error with its line. */
START_TEST(calibrate_recovers_a_known_efficiency)
{
    char dir[] = "/tmp/clustersim-cal-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char chip[300], topo[300], cfg[2][300], targets[300], args[700], *out, *err;
    snprintf(chip, sizeof chip, "%s/half.yaml", dir);
    FILE *f = fopen("topologies/chips/h100-sxm.yaml", "r");
    FILE *g = fopen(chip, "w");
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strstr(line, "gemm:") && !strstr(line, "gemm_half_dim:"))
            fputs(line, g);
    fputs("  gemm: 0.5\n", g); /* efficiency: is the last section of the chip file */
    fclose(f);
    fclose(g);
    snprintf(topo, sizeof topo, "%s/topo.yaml", dir);
    g = fopen(topo, "w");
    fputs("name: t\nchip: half.yaml\nchips: 16\nnode: {chips: 8}\nscale_up: {kind: nvswitch}\n"
          "fabric: {kind: fat-tree, tiers: 1, radix: 64}\n", g);
    fclose(g);
    const char *par[2] = {"tp: 2, pp: 1, dp: 8", "tp: 8, pp: 2, dp: 1"};
    char cwd[256]; /* not $PWD: ctest changes the directory, not the variable */
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    for (int i = 0; i < 2; i++) {
        snprintf(cfg[i], sizeof cfg[i], "%s/c%d.yaml", dir, i);
        g = fopen(cfg[i], "w");
        fprintf(g, "name: c%d\ntopology: topo.yaml\nworkload: %s/workloads/llama3-8b.yaml\n"
                   "parallelism: {%s, global_batch: 16}\n", i, cwd, par[i]);
        fclose(g);
    }
    /* the MFU each config reaches at gemm 0.5 (tp 2 without ZeRO or recomputation holds
     * more than the 80 GB of HBM: calibrate replays it all the same, so run must too) */
    double mfu[2];
    for (int i = 0; i < 2; i++) {
        snprintf(args, sizeof args, "run --no-db --quiet --allow-oversubscribed-memory %s",
                 cfg[i]);
        ck_assert_int_eq(th_run(args, &out, NULL), 0);
        char *m = strstr(out, "MFU ");
        ck_assert_ptr_nonnull(m);
        mfu[i] = strtod(m + 4, NULL);
        free(out);
    }
    snprintf(targets, sizeof targets, "%s/targets", dir);
    g = fopen(targets, "w");
    fprintf(g, "# config metric value\n%s mfu %.1f\n%s mfu %.1f\n", cfg[0], mfu[0], cfg[1],
            mfu[1]);
    fclose(g);
    snprintf(args, sizeof args, "calibrate --start 0.7 %s", targets);
    ck_assert_int_eq(th_run(args, &out, &err), 0);
    char *e = strstr(out, "  gemm: ");
    ck_assert_ptr_nonnull(e);
    double fitted = strtod(e + 8, NULL);
    ck_assert_msg(fabs(fitted - 0.5) < 0.01, "fitted gemm %g, want 0.5:\n%s", fitted, out);
    free(out);
    free(err);
    g = fopen(targets, "w");
    fprintf(g, "%s mfu\n", cfg[0]);
    fclose(g);
    snprintf(args, sizeof args, "calibrate %s", targets);
    ck_assert_int_eq(th_run(args, NULL, &err), 2);
    char want[600];
    snprintf(want, sizeof want, "clustersim: %s:1: error: expected 'CONFIG METRIC VALUE [SOURCE]' "
             "with metric mfu, hfu or tflops and a positive value\n", targets);
    ck_assert_str_eq(err, want);
    free(err);
    snprintf(args, sizeof args, "rm -rf %s", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

/* A cross-datacenter run prints its figures and writes a multidc row and one wan row per
 * directed WAN link. */
START_TEST(run_across_datacenters)
{
    char dir[] = "/tmp/clustersim-mdc-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], args[600], *out;
    snprintf(path, sizeof path, "%s/m.db", dir);
    snprintf(args, sizeof args, "run --quiet --db %s configs/multidc/intercontinental-small.yaml",
             path);
    ck_assert_int_eq(th_run(args, &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "cross-datacenter: diloco over 3 sites, H = 100 inner "
                                      "steps, int8 payload; outer gradients 0 inner steps "
                                      "stale\n"));
    ck_assert_ptr_nonnull(strstr(out, "  wan us/gw <-> eu/gw (4 Gb/s each way): "));
    free(out);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM multidc WHERE scheme = 'diloco' AND "
                               "sites = 3 AND inner_steps = 100 AND payload = 'int8'"), 1);
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM wan"), 6);
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM v_wan WHERE capacity_Bps > 0"), 6);
    /* the round: H inner steps plus what the sync does not hide */
    ck_assert_double_eq(q1(db, "SELECT abs(round_s - (100 * inner_step_s + exposed_s + "
                               "outer_opt_s)) < 1e-9 FROM multidc"), 1);
    ck_assert_double_eq(q1(db, "SELECT chips FROM run"), 120);
    sqlite3_close(db);
    snprintf(args, sizeof args, "rm -rf %s", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

/* A run killed at any moment leaves a valid database without partial rows: runs write in one
 * transaction at the end, so a kill during the replay leaves nothing and a kill during the
 * write leaves nothing of that run. Kills land at a spread of instants over the quick start
 * (about 50 ms); every surviving run has all its rows. */
START_TEST(killed_runs_leave_no_partial_rows)
{
    char dir[] = "/tmp/clustersim-kill-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], cmd[700];
    snprintf(path, sizeof path, "%s/k.db", dir);
    for (int k = 0; k < 12; k++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            if (!freopen("/dev/null", "w", stdout))
                _exit(126);
            execl(th_bin(), th_bin(), "run", "--quiet", "--db", path, "configs/quickstart.yaml",
                  (char *)NULL);
            _exit(127);
        }
        struct timespec ts = {0, (long)k * 8000000L}; /* 0 to 88 ms */
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
    }
    /* one run that completes, so the database exists whatever the kills hit */
    snprintf(cmd, sizeof cmd, "run --quiet --db %s configs/quickstart.yaml", path);
    ck_assert_int_eq(th_run(cmd, NULL, NULL), 0);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_double_eq(q1(db, "SELECT integrity_check = 'ok' FROM pragma_integrity_check"), 1);
    double runs = q1(db, "SELECT count(*) FROM run");
    ck_assert(runs >= 1);
    /* every run has its step, its 64 ranks and its 384 links */
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM step"), runs);
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM rank"), 64 * runs);
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM link"), 384 * runs);
    ck_assert_double_eq(q1(db, "SELECT count(*) FROM run WHERE status = 'ok'"), runs);
    sqlite3_close(db);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(bench_runs_small_cases)
{
    char *out;
    ck_assert_int_eq(th_run("bench --transfers 2000 --concurrency 32 tree", &out, NULL), 0);
    ck_assert(strstr(out, "tree      transfers=2000 ") != NULL);
    ck_assert(strstr(out, "events_per_s=") != NULL);
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("flows");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, flows_dumbbell_matches_hand_computation);
    tcase_add_test(tc, flow_to_itself_finishes_when_it_starts);
    tcase_add_test(tc, incremental_equals_naive_and_reruns_are_identical);
    tcase_add_loop_test(tc, bad_input_gets_its_message_and_status_2, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, help_and_version);
    tcase_add_test(tc, bench_runs_small_cases);
    tcase_add_test(tc, topo_summarizes_a_small_cluster);
    tcase_add_test(tc, topo_writes_the_link_table);
    tcase_add_test(tc, flows_on_a_generated_cluster);
    tcase_add_test(tc, run_writes_a_trace);
    tcase_add_test(tc, plan_json_escapes_names);
    tcase_add_test(tc, run_writes_the_database);
    tcase_add_test(tc, goodput_writes_the_database);
    tcase_add_test(tc, calibrate_recovers_a_known_efficiency);
    tcase_add_test(tc, run_across_datacenters);
    tcase_add_test(tc, killed_runs_leave_no_partial_rows);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
