/*
 * test_merge.c: merging results databases (db_merge_from, db_query_texts in out/db.h, and
 * the `clustersim merge` command through cli_merge_main).
 *
 * Every test works on a fresh directory made by mkdtemp under /tmp and removes it at the
 * end (an unchecked fixture sweeps up after tests that fail). Input databases are built
 * through the db API with runs that carry a row in every table that references run; each
 * run has a unique topology name, its tag, so that what was merged can be read back over a
 * second, plain SQLite connection (this test may include <sqlite3.h>) and matched to its
 * source without trusting run ids.
 *
 * Checked: two shards merged into a database that already holds a run give every run once,
 * under new ids above the old ones in source order (a source whose ids start at 2 included),
 * with every child row of every table joined to the right run (compared with the sources,
 * table by table, multidc_sync included, and the views of the schema reading the merged
 * rows) and foreign keys intact; merging an input again, or the output into
 * itself, adds nothing and counts every run as skipped; runs with an equal '_point' are
 * skipped although every other column differs, and runs without one are skipped exactly
 * when created_utc, config_path (NULL equal to NULL), seed and config_yaml are equal; a
 * table added to the schema later is merged when it has a run_id column and ignored when it
 * has none, and one the output lacks is refused; file names holding '?', '#' and '%' name
 * exactly those files; a text file, a missing file (not created), a directory, another
 * program's database, a database of schema version 999 or without one, and one whose rows
 * break a foreign key are refused with their exact messages and leave the output unchanged
 * and nothing attached; a merge inside an open transaction is refused; db_query_texts
 * returns text, numbers as text and NULL entries, and refuses bad SQL, writes and several
 * statements with exact messages; the command prints one line per input, goes on after a
 * bad input and returns the first failure's status, creates its output, and returns 2 for
 * bad arguments (1 when OUT cannot be created).
 */
#include <check.h>
#include <dirent.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "cli/cli.h"
#include "out/db.h"

#define TH_SUITE "test_merge"
#include "db_helpers.h"

/*
 * One query per table that references run: each row as text, prefixed by its run's tag
 * (topology), with %s the schema ("main.", "a.", ...). Together they are the whole content
 * of a database apart from run ids.
 */
static const char *const content_sql[] = {
    "SELECT r.topology || '|' || r.created_utc || '|' || quote(r.config_path) || '|' || "
    "quote(r.config_yaml) || '|' || r.seed || '|' || r.status || '|' || r.mfu FROM %srun r",
    "SELECT r.topology || '|' || t.step || '|' || t.time_s || '|' || t.tokens "
    "FROM %sstep t JOIN %srun r USING (run_id)",
    "SELECT r.topology || '|' || t.rank || '|' || t.chip || '|' || t.compute_s "
    "FROM %srank t JOIN %srun r USING (run_id)",
    "SELECT r.topology || '|' || t.link_id || '|' || t.kind || '|' || quote(t.site) || '|' || "
    "t.capacity_Bps FROM %slink t JOIN %srun r USING (run_id)",
    "SELECT r.topology || '|' || t.link_id || '|' || t.bytes || '|' || t.mean_util "
    "FROM %slink_stats t JOIN %srun r USING (run_id)",
    "SELECT r.topology || '|' || t.coll_id || '|' || t.kind || '|' || t.bytes "
    "FROM %scollective t JOIN %srun r USING (run_id)",
    "SELECT r.topology || '|' || t.key || '|' || quote(t.value) "
    "FROM %ssweep_param t JOIN %srun r USING (run_id)",
    "SELECT r.topology || '|' || t.link_id || '|' || t.src_site || '|' || t.bytes "
    "FROM %swan t JOIN %srun r USING (run_id)",
    "SELECT r.topology || '|' || t.scheme || '|' || t.sites || '|' || t.mfu "
    "FROM %smultidc t JOIN %srun r USING (run_id)",
    "SELECT r.topology || '|' || t.fragment || '|' || t.count || '|' || t.exposed_s "
    "FROM %smultidc_sync t JOIN %srun r USING (run_id)",
    "SELECT r.topology || '|' || t.chips || '|' || t.facility_W || '|' || t.J_per_token "
    "FROM %spower t JOIN %srun r USING (run_id)",
};

static const char *const content_tables[] = {"run",        "step",       "rank",
                                             "link",       "link_stats", "collective",
                                             "sweep_param", "wan",       "multidc",
                                             "multidc_sync", "power"};

#define N_CONTENT (sizeof content_sql / sizeof content_sql[0])

/* The rows of table i (content_sql) in the schemas listed, sorted, into buf. */
static const char *content_of(sqlite3 *c, size_t i, const char *const *schemas, size_t n,
                              char *buf, size_t cap)
{
    char sql[4096] = "SELECT * FROM (";
    size_t len = strlen(sql);
    for (size_t k = 0; k < n; k++) {
        if (k)
            len += (size_t)snprintf(sql + len, sizeof sql - len, " UNION ALL ");
        len += (size_t)snprintf(sql + len, sizeof sql - len, content_sql[i], schemas[k],
                                schemas[k]);
    }
    snprintf(sql + len, sizeof sql - len, ") ORDER BY 1");
    return raw_rows(c, sql, buf, cap);
}

#define BIG 65536

/* Everything the database at path holds, as one text (to show it unchanged). */
static char *digest(const char *path)
{
    sqlite3 *c = raw_open(path);
    char *all = calloc(1, BIG * N_CONTENT);
    char *buf = malloc(BIG);
    ck_assert_ptr_nonnull(all);
    ck_assert_ptr_nonnull(buf);
    static const char *const main_only[] = {"main."};
    for (size_t i = 0; i < N_CONTENT; i++) {
        strcat(all, content_of(c, i, main_only, 1, buf, BIG));
        strcat(all, "\n");
    }
    /* Run ids and the meta table too. */
    strcat(all, raw_rows(c, "SELECT run_id || '=' || topology FROM run ORDER BY run_id", buf,
                         BIG));
    strcat(all, raw_rows(c, "SELECT key || '=' || value FROM meta ORDER BY key", buf, BIG));
    free(buf);
    sqlite3_close(c);
    return all;
}

/* --- building input databases through the db API ------------------------------------- */

/* One run of an input database: its identity columns and a number k its values derive from. */
typedef struct run_spec {
    const char *tag;         /* topology: unique over a test, to find the run again */
    const char *point;       /* sweep_param '_point', NULL: none */
    const char *created_utc;
    const char *config_path; /* may be NULL */
    const char *config_yaml; /* may be NULL */
    uint64_t seed;
    int k;
} run_spec;

static db_stmt *prep(db *d, const char *table, const char *const *cols, size_t n)
{
    db_stmt *s = NULL;
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_insert_prepare(d, table, cols, n, &s, &st), st);
    return s;
}

static void exec_ok(db_stmt *s)
{
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_insert_exec(s, &st), st);
}

/*
 * Writes one run with 3 step, 2 rank, 2 link (one 'wan'), 2 link_stats, 1 collective, 1 or 2
 * sweep_param, 1 wan, 1 multidc, 2 multidc_sync and 1 power rows.
 */
static void add_run(db *d, const run_spec *r)
{
    sim_status st;
    sim_status_clear(&st);
    db_run row;
    db_run_init(&row);
    row.created_utc = r->created_utc;
    row.command = "sweep";
    row.config_path = r->config_path;
    row.config_yaml = r->config_yaml;
    row.topology = r->tag;
    row.workload = "toy";
    row.seed = r->seed;
    row.status = "ok";
    row.mfu = r->k / 100.0;
    int64_t id = 0;
    CK_OK(db_run_insert(d, &row, &id, &st), st);
    double k = r->k;

    static const char *const step_cols[] = {"run_id", "step", "time_s", "tokens"};
    db_stmt *s = prep(d, "step", step_cols, 4);
    for (int i = 0; i < 3; i++) {
        db_insert_bind_int(s, 0, id);
        db_insert_bind_int(s, 1, i);
        db_insert_bind_double(s, 2, k + i / 4.0);
        db_insert_bind_int(s, 3, 1000 * r->k + i);
        exec_ok(s);
    }
    db_insert_finish(s);

    static const char *const rank_cols[] = {"run_id", "rank", "chip", "compute_s"};
    s = prep(d, "rank", rank_cols, 4);
    for (int i = 0; i < 2; i++) {
        db_insert_bind_int(s, 0, id);
        db_insert_bind_int(s, 1, i);
        db_insert_bind_text(s, 2, "h100-sxm");
        db_insert_bind_double(s, 3, k * 10 + i);
        exec_ok(s);
    }
    db_insert_finish(s);

    static const char *const link_cols[] = {"run_id", "link_id", "src", "dst",
                                            "kind",   "site",    "capacity_Bps"};
    s = prep(d, "link", link_cols, 7);
    for (int i = 0; i < 2; i++) {
        db_insert_bind_int(s, 0, id);
        db_insert_bind_int(s, 1, i);
        db_insert_bind_text(s, 2, i ? "east" : "gpu0");
        db_insert_bind_text(s, 3, i ? "west" : "leaf0");
        db_insert_bind_text(s, 4, i ? "wan" : "nic");
        db_insert_bind_text(s, 5, i ? NULL : "east");
        db_insert_bind_double(s, 6, k * (i ? 1e8 : 1e9));
        exec_ok(s);
    }
    db_insert_finish(s);

    static const char *const stats_cols[] = {"run_id", "link_id", "bytes", "mean_util"};
    s = prep(d, "link_stats", stats_cols, 4);
    for (int i = 0; i < 2; i++) {
        db_insert_bind_int(s, 0, id);
        db_insert_bind_int(s, 1, i);
        db_insert_bind_double(s, 2, k * 100 + i);
        db_insert_bind_double(s, 3, 0.5 + i / 8.0);
        exec_ok(s);
    }
    db_insert_finish(s);

    static const char *const coll_cols[] = {"run_id", "coll_id", "kind", "bytes"};
    s = prep(d, "collective", coll_cols, 4);
    db_insert_bind_int(s, 0, id);
    db_insert_bind_int(s, 1, 0);
    db_insert_bind_text(s, 2, "all-reduce");
    db_insert_bind_double(s, 3, k * 4096);
    exec_ok(s);
    db_insert_finish(s);

    static const char *const sp_cols[] = {"run_id", "key", "value"};
    s = prep(d, "sweep_param", sp_cols, 3);
    db_insert_bind_int(s, 0, id);
    db_insert_bind_text(s, 1, "parallel.tp");
    db_insert_bind_text(s, 2, r->tag);
    exec_ok(s);
    if (r->point) {
        db_insert_bind_int(s, 0, id);
        db_insert_bind_text(s, 1, "_point");
        db_insert_bind_text(s, 2, r->point);
        exec_ok(s);
    }
    db_insert_finish(s);

    static const char *const wan_cols[] = {"run_id", "link_id", "src_site", "dst_site",
                                           "bytes"};
    s = prep(d, "wan", wan_cols, 5);
    db_insert_bind_int(s, 0, id);
    db_insert_bind_int(s, 1, 1);
    db_insert_bind_text(s, 2, "east");
    db_insert_bind_text(s, 3, "west");
    db_insert_bind_double(s, 4, k * 1e6);
    exec_ok(s);
    db_insert_finish(s);

    static const char *const mdc_cols[] = {"run_id", "scheme", "sites", "mfu"};
    s = prep(d, "multidc", mdc_cols, 4);
    db_insert_bind_int(s, 0, id);
    db_insert_bind_text(s, 1, "sync");
    db_insert_bind_int(s, 2, 2);
    db_insert_bind_double(s, 3, k / 200.0);
    exec_ok(s);
    db_insert_finish(s);

    static const char *const sync_cols[] = {"run_id", "fragment", "count", "exposed_s"};
    s = prep(d, "multidc_sync", sync_cols, 4);
    for (int i = 0; i < 2; i++) {
        db_insert_bind_int(s, 0, id);
        db_insert_bind_int(s, 1, i);
        db_insert_bind_int(s, 2, 1);
        db_insert_bind_double(s, 3, k + i / 8.0);
        exec_ok(s);
    }
    db_insert_finish(s);

    static const char *const power_cols[] = {"run_id", "chips", "hosts", "it_W", "pue",
                                             "facility_W", "step_time_s", "energy_per_step_J",
                                             "J_per_token"};
    s = prep(d, "power", power_cols, 9);
    db_insert_bind_int(s, 0, id);
    db_insert_bind_int(s, 1, 16);
    db_insert_bind_int(s, 2, 2);
    db_insert_bind_double(s, 3, k * 1e4);
    db_insert_bind_double(s, 4, 1.25);
    db_insert_bind_double(s, 5, k * 1.25e4);
    db_insert_bind_double(s, 6, k);
    db_insert_bind_double(s, 7, k * k * 1.25e4);
    db_insert_bind_double(s, 8, k / 8.0);
    exec_ok(s);
    db_insert_finish(s);
}

/*
 * Creates the database path with the n runs of specs in one transaction. With first_id > 1,
 * the runs get ids from first_id on (placeholder runs are inserted first and deleted).
 */
static void make_db(const char *path, const run_spec *specs, size_t n, int first_id)
{
    db *d = open_ok(path);
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_begin(d, &st), st);
    for (int i = 1; i < first_id; i++) {
        run_spec hole = {"placeholder", NULL, "2000-01-01T00:00:00.000Z", NULL, NULL, 0, 0};
        add_run(d, &hole);
    }
    for (size_t i = 0; i < n; i++)
        add_run(d, &specs[i]);
    CK_OK(db_exec(d, "DELETE FROM run WHERE topology = 'placeholder'", &st), st);
    CK_OK(db_commit(d, &st), st);
    db_close(d);
}

static const run_spec shard_a[] = {
    {"a0", "sweep.yaml#0", "2024-01-01T00:00:00.000Z", "sweep.yaml", "tp: 1\n", 1, 11},
    {"a1", "sweep.yaml#1", "2024-01-01T00:00:01.000Z", "sweep.yaml", "tp: 2\n", 1, 12},
    {"ax", NULL, "2024-01-01T00:00:02.000Z", NULL, "plain: 1\n", 5, 13},
};

static const run_spec shard_b[] = {
    {"b0", "sweep.yaml#2", "2024-01-02T00:00:00.000Z", "sweep.yaml", "tp: 4\n", 1, 21},
    {"b1", "sweep.yaml#3", "2024-01-02T00:00:01.000Z", "sweep.yaml", "tp: 8\n", 1, 22},
    {"bx", NULL, "2024-01-02T00:00:02.000Z", "b.yaml", NULL, 6, 23},
};

static const run_spec pre_run[] = {
    {"pre", "other.yaml#0", "2023-12-31T00:00:00.000Z", "other.yaml", "tp: 1\n", 9, 1},
};

static void merge_ok(db *d, const char *src, size_t want_merged, size_t want_skipped)
{
    sim_status st;
    sim_status_clear(&st);
    size_t merged = 99, skipped = 99;
    CK_OK(db_merge_from(d, src, &merged, &skipped, &st), st);
    ck_assert_uint_eq(merged, want_merged);
    ck_assert_uint_eq(skipped, want_skipped);
}

/* The schemas a database connection has attached, and its temporary tables. */
static void assert_nothing_attached(db *d)
{
    char **v = NULL;
    size_t n = 0;
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_query_texts(d, "SELECT name FROM pragma_database_list WHERE name <> 'temp' "
                            "UNION ALL SELECT name FROM temp.sqlite_master",
                         &v, &n, &st),
          st);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(v[0], "main");
    db_free_texts(v, n);
}

START_TEST(test_merge_two_shards)
{
    scratch t;
    scratch_make(&t);
    char out[256], a[256], b[256], pre[256];
    scratch_path(&t, "out.db", out, sizeof out);
    scratch_path(&t, "a.db", a, sizeof a);
    scratch_path(&t, "b.db", b, sizeof b);
    scratch_path(&t, "pre.db", pre, sizeof pre);
    make_db(out, pre_run, 1, 1);
    make_db(pre, pre_run, 1, 1);
    make_db(a, shard_a, 3, 1);
    make_db(b, shard_b, 3, 2); /* ids 2, 3, 4 */

    db *d = open_ok(out);
    merge_ok(d, a, 3, 0);
    merge_ok(d, b, 3, 0);
    assert_nothing_attached(d);
    db_close(d);

    sqlite3 *c = raw_open(out);
    char sql[1024];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS a; ATTACH '%s' AS b; ATTACH '%s' AS pre", a, b,
             pre);
    raw_exec(c, sql);
    char *got = malloc(BIG), *want = malloc(BIG);
    ck_assert_ptr_nonnull(got);
    ck_assert_ptr_nonnull(want);
    /* New ids above OUT's, in source order: a's 1..3 after 1, b's 2..4 after 4. */
    ck_assert_str_eq(raw_rows(c, "SELECT run_id || '=' || topology FROM main.run "
                                 "ORDER BY run_id",
                              got, BIG),
                     "1=pre;2=a0;3=a1;4=ax;5=b0;6=b1;7=bx");
    /* Every table: OUT holds exactly the rows of pre, a and b, each with its own run. */
    static const char *const out_schema[] = {"main."};
    static const char *const in_schemas[] = {"pre.", "a.", "b."};
    for (size_t i = 0; i < N_CONTENT; i++) {
        content_of(c, i, out_schema, 1, got, BIG);
        content_of(c, i, in_schemas, 3, want, BIG);
        ck_assert_msg(strcmp(got, want) == 0, "table %s:\n got %s\nwant %s", content_tables[i],
                      got, want);
        ck_assert_msg(want[0] != '\0', "table %s is empty", content_tables[i]);
    }
    /* Counts per table: 7 runs with 3 steps, 2 links, ... each. */
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM main.step"), 21);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM main.link"), 14);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM main.link_stats"), 14);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM main.sweep_param"), 7 + 5);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM main.multidc"), 7);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM main.power"), 7);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM main.multidc_sync"), 14);
    /* the views came with the schema, not from the inputs, and read the merged rows */
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM main.v_multidc_sync_wan"), 14);
    ck_assert_str_eq(raw_rows(c, "SELECT run_id || ':' || fragment || ':' || bytes "
                                 "FROM main.v_multidc_sync_wan WHERE run_id = 5",
                              got, BIG),
                     "5:0:21000000.0;5:1:21000000.0");
    /* A few values at their new ids. */
    ck_assert_str_eq(raw_rows(c, "SELECT run_id || ':' || step || ':' || time_s FROM main.step "
                                 "WHERE run_id = 6 ORDER BY step",
                              got, BIG),
                     "6:0:22.0;6:1:22.25;6:2:22.5");
    ck_assert_str_eq(raw_rows(c, "SELECT value FROM main.sweep_param WHERE run_id = 3 "
                                 "ORDER BY key",
                              got, BIG),
                     "sweep.yaml#1;a1");
    ck_assert_str_eq(raw_rows(c, "SELECT link_id || ':' || kind || ':' || quote(site) || ':' "
                                 "|| capacity_Bps FROM main.link WHERE run_id = 7 "
                                 "ORDER BY link_id",
                              got, BIG),
                     "0:nic:'east':23000000000.0;1:wan:NULL:2300000000.0");
    ck_assert_str_eq(raw_rows(c, "SELECT run_id || ':' || bytes FROM main.link_stats "
                                 "WHERE link_id = 1 ORDER BY run_id",
                              got, BIG),
                     "1:101.0;2:1101.0;3:1201.0;4:1301.0;5:2101.0;6:2201.0;7:2301.0");
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    /* The inputs are as they were. */
    ck_assert_str_eq(raw_rows(c, "SELECT run_id || '=' || topology FROM b.run ORDER BY run_id",
                              got, BIG),
                     "2=b0;3=b1;4=bx");
    free(got);
    free(want);
    sqlite3_close(c);
    scratch_remove(&t);
}
END_TEST

START_TEST(test_merge_again_adds_nothing)
{
    scratch t;
    scratch_make(&t);
    char out[256], a[256];
    scratch_path(&t, "out.db", out, sizeof out);
    scratch_path(&t, "a.db", a, sizeof a);
    make_db(a, shard_a, 3, 1);
    db *d = open_ok(out);
    merge_ok(d, a, 3, 0);
    db_close(d);
    char *before = digest(out);
    d = open_ok(out);
    merge_ok(d, a, 0, 3);
    /* OUT into itself: everything is already there. */
    merge_ok(d, out, 0, 3);
    assert_nothing_attached(d);
    db_close(d);
    char *after = digest(out);
    ck_assert_str_eq(after, before);
    free(before);
    free(after);
    scratch_remove(&t);
}
END_TEST

START_TEST(test_merge_dedupe_rules)
{
    scratch t;
    scratch_make(&t);
    char out[256], a[256], c_path[256];
    scratch_path(&t, "out.db", out, sizeof out);
    scratch_path(&t, "a.db", a, sizeof a);
    scratch_path(&t, "c.db", c_path, sizeof c_path);
    make_db(a, shard_a, 3, 1);
    static const run_spec shard_c[] = {
        /* a0's point, every other column different: skipped. */
        {"c-same-point", "sweep.yaml#0", "2025-06-01T00:00:00.000Z", "elsewhere.yaml",
         "tp: 99\n", 77, 31},
        /* A new point with a0's identity columns: merged (the point decides). */
        {"c-new-point", "sweep.yaml#9", "2024-01-01T00:00:00.000Z", "sweep.yaml", "tp: 1\n", 1,
         32},
        /* ax's identity (config_path NULL both), another topology: skipped. */
        {"c-same-identity", NULL, "2024-01-01T00:00:02.000Z", NULL, "plain: 1\n", 5, 33},
        /* ax's identity but another seed: merged. */
        {"c-other-seed", NULL, "2024-01-01T00:00:02.000Z", NULL, "plain: 1\n", 6, 34},
        /* ax's identity but a config_path where ax has NULL: merged. */
        {"c-path", NULL, "2024-01-01T00:00:02.000Z", "x.yaml", "plain: 1\n", 5, 35},
        /* a1's identity but no point, a1 has one: compared by identity, skipped. */
        {"c-a1-no-point", NULL, "2024-01-01T00:00:01.000Z", "sweep.yaml", "tp: 2\n", 1, 36},
    };
    make_db(c_path, shard_c, 6, 1);
    db *d = open_ok(out);
    merge_ok(d, a, 3, 0);
    merge_ok(d, c_path, 3, 3);
    db_close(d);
    sqlite3 *c = raw_open(out);
    char buf[1024];
    ck_assert_str_eq(raw_rows(c, "SELECT run_id || '=' || topology FROM run ORDER BY run_id",
                              buf, sizeof buf),
                     "1=a0;2=a1;3=ax;5=c-new-point;7=c-other-seed;8=c-path");
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM step"), 6 * 3);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM step WHERE run_id = 8 AND time_s = 35"),
                     1);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM sweep_param WHERE value LIKE 'c-same%'"),
                     0);
    sqlite3_close(c);
    scratch_remove(&t);
}
END_TEST

static void merge_refused(db *d, const char *out, const char *src, sim_code code,
                          const char *want);

static const run_spec shard_c_one[] = {
    {"c0", "sweep.yaml#7", "2024-01-03T00:00:00.000Z", "sweep.yaml", "tp: 16\n", 1, 51},
};

START_TEST(test_merge_finds_tables_and_odd_names)
{
    scratch t;
    scratch_make(&t);
    /* Names that are URI syntax must still name the files they name. */
    char out[256], a[256], b[256], buf[1024];
    scratch_path(&t, "out %3F?x=1#.db", out, sizeof out);
    scratch_path(&t, "a?mode=memory.db", a, sizeof a);
    scratch_path(&t, "b#frag%20.db", b, sizeof b);
    make_db(a, shard_a, 3, 1);
    make_db(b, shard_b, 3, 1);
    ck_assert_int_eq(access(a, F_OK), 0);
    ck_assert_int_eq(access(b, F_OK), 0);
    /* A table added later, with a run_id column, in OUT and in b; one without, in b only. */
    sim_status st;
    sim_status_clear(&st);
    static const char extra_sql[] =
        "CREATE TABLE extra (run_id INTEGER NOT NULL REFERENCES run (run_id), "
        "note TEXT, PRIMARY KEY (run_id, note)) STRICT";
    db *d = open_ok(b);
    CK_OK(db_exec(d, extra_sql, &st), st);
    CK_OK(db_exec(d, "INSERT INTO extra SELECT run_id, 'x-' || topology FROM run; "
                     "CREATE TABLE unrelated (v TEXT); INSERT INTO unrelated VALUES ('u')",
                  &st),
          st);
    db_close(d);
    d = open_ok(out);
    CK_OK(db_exec(d, extra_sql, &st), st);
    merge_ok(d, a, 3, 0);
    merge_ok(d, b, 3, 0);
    db_close(d);
    sqlite3 *c = raw_open(out);
    ck_assert_str_eq(raw_rows(c, "SELECT run_id || ':' || note FROM extra ORDER BY run_id", buf,
                              sizeof buf),
                     "4:x-b0;5:x-b1;6:x-bx");
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM sqlite_master WHERE name = 'unrelated'"),
                     0);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM run"), 6);
    sqlite3_close(c);
    /* Only these files (and OUT's WAL files) exist: nothing was created under another name. */
    DIR *dir = opendir(t.dir);
    ck_assert_ptr_nonnull(dir);
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        ck_assert_msg(e->d_name[0] == '.' || strncmp(e->d_name, "out %3F?x=1#.db", 15) == 0 ||
                          strncmp(e->d_name, "a?mode=memory.db", 16) == 0 ||
                          strncmp(e->d_name, "b#frag%20.db", 12) == 0,
                      "unexpected file %s", e->d_name);
    closedir(dir);
    /* A source table with a run_id column that OUT lacks is refused, not dropped. */
    char lonely[256], want[1024];
    scratch_path(&t, "lonely.db", lonely, sizeof lonely);
    make_db(lonely, shard_c_one, 1, 1);
    d = open_ok(lonely);
    CK_OK(db_exec(d, "CREATE TABLE lonely (run_id INTEGER, v TEXT); "
                     "INSERT INTO lonely VALUES (1, 'v')",
                  &st),
          st);
    db_close(d);
    d = open_ok(out);
    snprintf(want, sizeof want,
             "cannot merge results database '%s': its table 'lonely' has a run_id column but "
             "'%s' has no such table",
             lonely, out);
    merge_refused(d, out, lonely, SIM_ERR_INPUT, want);
    db_close(d);
    scratch_remove(&t);
}
END_TEST

/* Expects db_merge_from(d, src) to fail with code and message want, changing nothing. */
static void merge_refused(db *d, const char *out, const char *src, sim_code code,
                          const char *want)
{
    char *before = digest(out);
    sim_status st;
    sim_status_clear(&st);
    size_t merged = 99, skipped = 99;
    ck_assert_int_eq(db_merge_from(d, src, &merged, &skipped, &st), code);
    ck_assert_str_eq(st.msg, want);
    ck_assert_str_eq(st.file, src);
    ck_assert_uint_eq(merged, 0);
    ck_assert_uint_eq(skipped, 0);
    assert_nothing_attached(d);
    char *after = digest(out);
    ck_assert_str_eq(after, before);
    free(before);
    free(after);
}

START_TEST(test_merge_refusals)
{
    scratch t;
    scratch_make(&t);
    char out[256], a[256], p[256], want[1024];
    scratch_path(&t, "out.db", out, sizeof out);
    scratch_path(&t, "a.db", a, sizeof a);
    make_db(a, shard_a, 3, 1);
    db *d = open_ok(out);
    merge_ok(d, a, 3, 0);

    /* A text file. */
    scratch_path(&t, "notes.txt", p, sizeof p);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 20; i++)
        fputs("this is a text file, not an SQLite database\n", f);
    fclose(f);
    snprintf(want, sizeof want, "cannot merge results database '%s': file is not a database",
             p);
    merge_refused(d, out, p, SIM_ERR_INPUT, want);

    /* A file that does not exist, and is not created. */
    scratch_path(&t, "missing.db", p, sizeof p);
    snprintf(want, sizeof want,
             "cannot merge results database '%s': unable to open database file (No such file "
             "or directory)",
             p);
    merge_refused(d, out, p, SIM_ERR_INPUT, want);
    ck_assert_int_ne(access(p, F_OK), 0);

    /* A directory. */
    snprintf(want, sizeof want,
             "cannot merge results database '%s': unable to open database file (Is a "
             "directory)",
             t.dir);
    merge_refused(d, out, t.dir, SIM_ERR_INPUT, want);

    /* Another program's database. */
    scratch_path(&t, "other.db", p, sizeof p);
    sqlite3 *c = NULL;
    ck_assert_int_eq(sqlite3_open(p, &c), SQLITE_OK);
    raw_exec(c, "CREATE TABLE customers (id INTEGER PRIMARY KEY)");
    sqlite3_close(c);
    snprintf(want, sizeof want,
             "cannot merge results database '%s': it is not a clustersim results database (it "
             "has no meta table)",
             p);
    merge_refused(d, out, p, SIM_ERR_INPUT, want);

    /* Schema version 999, holding runs that would otherwise merge. */
    static const run_spec future[] = {
        {"future", "future.yaml#0", "2030-01-01T00:00:00.000Z", NULL, NULL, 1, 41},
    };
    scratch_path(&t, "v999.db", p, sizeof p);
    make_db(p, future, 1, 1);
    c = raw_open(p);
    raw_exec(c, "UPDATE meta SET value = '999' WHERE key = 'schema_version'");
    sqlite3_close(c);
    snprintf(want, sizeof want,
             "cannot merge results database '%s': it has schema version 999 but '%s' has "
             "schema version 8",
             p, out);
    merge_refused(d, out, p, SIM_ERR_INPUT, want);
    c = raw_open(p);
    ck_assert_int_eq(raw_int(c, "SELECT value FROM meta WHERE key = 'schema_version'"), 999);
    sqlite3_close(c);

    /* No schema_version in meta. */
    c = raw_open(p);
    raw_exec(c, "DELETE FROM meta");
    sqlite3_close(c);
    snprintf(want, sizeof want,
             "cannot merge results database '%s': it is not a clustersim results database "
             "(its meta table has no schema_version)",
             p);
    merge_refused(d, out, p, SIM_ERR_INPUT, want);

    /* Rows that break a foreign key (a wan row of no link), written with the checks off:
     * found at the commit, after every row was copied, and rolled back. */
    static const run_spec broken[] = {
        {"broken", "broken.yaml#0", "2030-01-01T00:00:00.000Z", NULL, NULL, 1, 42},
    };
    scratch_path(&t, "broken.db", p, sizeof p);
    make_db(p, broken, 1, 1);
    c = raw_open(p);
    raw_exec(c, "PRAGMA foreign_keys = OFF; INSERT INTO wan (run_id, link_id) VALUES (1, 7)");
    sqlite3_close(c);
    snprintf(want, sizeof want,
             "cannot merge results database '%s': FOREIGN KEY constraint failed", p);
    merge_refused(d, out, p, SIM_ERR_INPUT, want);

    /* Inside a caller's transaction: a misuse. */
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_begin(d, &st), st);
    ck_assert_int_eq(db_merge_from(d, a, NULL, NULL, &st), SIM_ERR_INTERNAL);
    snprintf(want, sizeof want, "cannot merge into '%s': a transaction is already open", out);
    ck_assert_str_eq(st.msg, want);
    /* The caller's transaction is left open (so it can still commit). */
    CK_OK(db_commit(d, &st), st);

    /* Still usable afterwards. */
    merge_ok(d, a, 0, 3);
    db_close(d);
    scratch_remove(&t);
}
END_TEST

START_TEST(test_query_texts)
{
    scratch t;
    scratch_make(&t);
    char path[256], want[1024];
    scratch_path(&t, "q.db", path, sizeof path);
    make_db(path, shard_a, 3, 1);
    db *d = open_ok(path);
    sim_status st;
    sim_status_clear(&st);
    char **v = NULL;
    size_t n = 99;
    CK_OK(db_query_texts(d, "SELECT config_path FROM run ORDER BY run_id", &v, &n, &st), st);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(v[0], "sweep.yaml");
    ck_assert_str_eq(v[1], "sweep.yaml");
    ck_assert_ptr_null(v[2]);
    db_free_texts(v, n);
    /* Numbers come back as text; a trailing ';' and comment are one statement. */
    CK_OK(db_query_texts(d, "SELECT step * 2 + 0.5 FROM step WHERE run_id = 1 ORDER BY step; "
                            "-- done",
                         &v, &n, &st),
          st);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(v[0], "0.5");
    ck_assert_str_eq(v[2], "4.5");
    db_free_texts(v, n);
    CK_OK(db_query_texts(d, "SELECT value FROM sweep_param WHERE key = '_point' ORDER BY 1", &v,
                         &n, &st),
          st);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(v[0], "sweep.yaml#0");
    ck_assert_str_eq(v[1], "sweep.yaml#1");
    db_free_texts(v, n);
    /* No row. */
    v = (char **)&t;
    CK_OK(db_query_texts(d, "SELECT 1 FROM run WHERE 0", &v, &n, &st), st);
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(n, 0);
    db_free_texts(NULL, 0);
    /* Refusals. */
    v = (char **)&t;
    n = 5;
    ck_assert_int_eq(db_query_texts(d, "SELECT nope FROM nowhere", &v, &n, &st), SIM_ERR_INPUT);
    snprintf(want, sizeof want, "query failed in results database '%s': no such table: nowhere",
             path);
    ck_assert_str_eq(st.msg, want);
    ck_assert_str_eq(st.file, path);
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(n, 0);
    static const char *const refused[] = {
        "DELETE FROM run",
        "SELECT 1; SELECT 2",
        "BEGIN",
        "",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ck_assert_int_eq(db_query_texts(d, refused[i], &v, &n, &st), SIM_ERR_INPUT);
        snprintf(want, sizeof want,
                 "query refused in results database '%s': expected one read-only statement "
                 "that yields rows, got '%s'",
                 path, refused[i]);
        ck_assert_str_eq(st.msg, want);
        ck_assert_ptr_null(v);
    }
    db_close(d);
    sqlite3 *c = raw_open(path);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM run"), 3);
    sqlite3_close(c);
    scratch_remove(&t);
}
END_TEST

/* Runs cli_merge_main(argv) with stdout and stderr captured into out and err (cap each). */
static int run_cli(char **argv, char *out, char *err, size_t cap)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    char op[] = "/tmp/test_merge_out.XXXXXX", ep[] = "/tmp/test_merge_err.XXXXXX";
    int of = mkstemp(op), ef = mkstemp(ep);
    ck_assert_int_ge(of, 0);
    ck_assert_int_ge(ef, 0);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    ck_assert(dup2(of, 1) >= 0 && dup2(ef, 2) >= 0);
    int rc = cli_merge_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    ck_assert(dup2(so, 1) >= 0 && dup2(se, 2) >= 0);
    close(so);
    close(se);
    ssize_t n = pread(of, out, cap - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    n = pread(ef, err, cap - 1, 0);
    err[n > 0 ? n : 0] = '\0';
    close(of);
    close(ef);
    unlink(op);
    unlink(ep);
    return rc;
}

START_TEST(test_cli_merge)
{
    scratch t;
    scratch_make(&t);
    char out[256], a[256], b[256], missing[256], want[2048];
    scratch_path(&t, "new/out.db", out, sizeof out);
    scratch_path(&t, "a.db", a, sizeof a);
    scratch_path(&t, "b.db", b, sizeof b);
    scratch_path(&t, "missing.db", missing, sizeof missing);
    make_db(a, shard_a, 3, 1);
    make_db(b, shard_b, 3, 1);
    char *o = malloc(BIG), *e = malloc(BIG);
    ck_assert_ptr_nonnull(o);
    ck_assert_ptr_nonnull(e);

    /* Bad arguments: 2 and the usage on stderr. */
    char cmd[] = "merge", help[] = "--help", bogus[] = "--bogus";
    char *none[] = {cmd, NULL};
    char *only_out[] = {cmd, out, NULL};
    char *unknown[] = {cmd, bogus, out, a, NULL};
    char *unknown_late[] = {cmd, out, a, bogus, NULL};
    ck_assert_int_eq(run_cli(none, o, e, BIG), 2);
    ck_assert_str_eq(o, "");
    ck_assert_ptr_nonnull(strstr(e, "clustersim merge: expected OUT.db and at least one IN.db\n"
                                    "usage: clustersim merge OUT.db IN.db...\n"));
    ck_assert_int_eq(run_cli(only_out, o, e, BIG), 2);
    ck_assert_int_eq(run_cli(unknown, o, e, BIG), 2);
    ck_assert_ptr_nonnull(strstr(e, "clustersim merge: unknown option '--bogus'\n"));
    ck_assert_int_eq(run_cli(unknown_late, o, e, BIG), 2);
    char *helped[] = {cmd, help, NULL};
    ck_assert_int_eq(run_cli(helped, o, e, BIG), 0);
    ck_assert_ptr_nonnull(strstr(o, "usage: clustersim merge OUT.db IN.db..."));
    ck_assert_str_eq(e, "");
    /* Nothing was created by the refused calls (OUT's directory does not exist yet). */
    ck_assert_int_ne(access(out, F_OK), 0);

    /* OUT in a missing directory cannot be created: its error, exit 1. */
    char *no_dir[] = {cmd, out, a, NULL};
    ck_assert_int_eq(run_cli(no_dir, o, e, BIG), 1);
    snprintf(want, sizeof want,
             "clustersim: %s: error: cannot open results database '%s': unable to open "
             "database file (No such file or directory)\n",
             out, out);
    ck_assert_str_eq(e, want);

    /* A bad input in the middle: reported, the others merged, exit 2. */
    char dir[256];
    scratch_path(&t, "new", dir, sizeof dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    char *mixed[] = {cmd, out, a, missing, b, a, NULL};
    ck_assert_int_eq(run_cli(mixed, o, e, BIG), 2);
    snprintf(want, sizeof want,
             "merged 3 runs from %s (0 already present)\n"
             "merged 3 runs from %s (0 already present)\n"
             "merged 0 runs from %s (3 already present)\n",
             a, b, a);
    ck_assert_str_eq(o, want);
    snprintf(want, sizeof want,
             "clustersim: %s: error: cannot merge results database '%s': unable to open "
             "database file (No such file or directory)\n",
             missing, missing);
    ck_assert_str_eq(e, want);
    sqlite3 *c = raw_open(out);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM run"), 6);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM step"), 18);
    sqlite3_close(c);

    /* All present: exit 0. */
    char *again[] = {cmd, out, b, NULL};
    ck_assert_int_eq(run_cli(again, o, e, BIG), 0);
    snprintf(want, sizeof want, "merged 0 runs from %s (3 already present)\n", b);
    ck_assert_str_eq(o, want);
    ck_assert_str_eq(e, "");
    free(o);
    free(e);
    scratch_remove(&t);
}
END_TEST

static Suite *merge_suite(void)
{
    Suite *s = suite_create("merge");
    TCase *tm = tcase_create("merge");
    tcase_add_unchecked_fixture(tm, root_make, root_remove);
    tcase_add_test(tm, test_merge_two_shards);
    tcase_add_test(tm, test_merge_again_adds_nothing);
    tcase_add_test(tm, test_merge_dedupe_rules);
    tcase_add_test(tm, test_merge_finds_tables_and_odd_names);
    tcase_add_test(tm, test_merge_refusals);
    tcase_add_test(tm, test_query_texts);
    tcase_add_test(tm, test_cli_merge);
    suite_add_tcase(s, tm);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(merge_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
