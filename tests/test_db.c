/*
 * test_db.c: the results database recorder (out/db.h).
 *
 * Every test works on a fresh directory made by mkdtemp under /tmp and removes it at the
 * end (a fixture sweeps up after tests that fail). What the recorder wrote is read back
 * over a second, plain SQLite connection (db_helpers.h; this test, unlike the rest of
 * clustersim, may include <sqlite3.h>), so a check never trusts the code under test to
 * read its own writes.
 *
 * Checked: opening creates every table, index and view of sim/out/schema.sql with
 * schema_version 8, in WAL mode, with foreign keys enforced; a rolled-back transaction leaves
 * no row; 1,000 link rows and a full run row read back exactly (doubles bit for bit, NULL for
 * absent values, a seed above 2^63 via its int64 bits); reopening keeps rows; a database of
 * schema version 999, another program's database, a text file and an unreachable path are
 * refused with their exact messages; unknown tables and columns and rows that break the
 * schema give their exact messages and leave the statement usable; a second writer waiting
 * for BEGIN IMMEDIATE fails on its busy timeout and succeeds once the first commits; a
 * process killed by SIGKILL in the middle of a transaction whose pages already reached the
 * WAL leaves an intact database without any of its rows; the views compute the expected
 * aggregates on a tiny hand-made pair of runs.
 *
 * The recorder of replays (out/record.h), on replays of small fixtures: a replay with a
 * warm-up step and a sweep point gives the expected count of rows in every table, its
 * figures bit for bit, steps and collectives numbered from 0 after the warm-up, each
 * dimension's exposed time under its own column and each rank's coordinates; a DiLoCo replay
 * gives the round figures, the multidc row and a row per WAN direction; a stopped replay, a
 * failed one and rows of a run that does not exist.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/exec.h"
#include "exec/multidc.h"
#include "out/db.h"
#include "out/record.h"
#include "topo/topo.h"
#include "workload/plan.h"

#define TH_SUITE "test_db"
#include "db_helpers.h"

/* Inserts a minimal run (command 'run', seed 7) and returns its id. */
static int64_t insert_run(db *d, const char *topology)
{
    db_run r;
    db_run_init(&r);
    r.command = "run";
    r.topology = topology;
    r.seed = 7;
    int64_t id = -1;
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_run_insert(d, &r, &id, &st), st);
    ck_assert_int_gt(id, 0);
    return id;
}

static const char *const schema_objects[][2] = {
    {"table", "meta"},       {"table", "run"},          {"table", "step"},
    {"table", "rank"},       {"table", "link"},         {"table", "link_stats"},
    {"table", "collective"}, {"table", "sweep_param"},  {"table", "wan"},
    {"table", "multidc"},
    {"table", "multidc_site"},
    {"table", "multidc_sync"},
    {"table", "goodput"},    {"table", "goodput_seed"}, {"table", "goodput_cause"},
    {"table", "goodput_interruption"}, {"table", "power"},
    {"table", "search"},     {"table", "search_candidate"},
    {"index", "collective_step"}, {"index", "sweep_param_key"},
    {"view", "v_mfu"},       {"view", "v_bottleneck_links"}, {"view", "v_exposed_comm"},
    {"view", "v_wan"},       {"view", "v_multidc_sync_wan"}, {"view", "v_multidc_wan_needed"},
};

#define N_OBJECTS (sizeof schema_objects / sizeof schema_objects[0])

START_TEST(test_open_creates_schema)
{
    scratch t;
    scratch_make(&t);
    db *d = open_ok(t.path);
    sqlite3 *c = raw_open(t.path);
    char sql[256], buf[64];
    for (size_t i = 0; i < N_OBJECTS; i++) {
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM sqlite_master WHERE type = '%s' AND name = '%s'",
                 schema_objects[i][0], schema_objects[i][1]);
        ck_assert_msg(raw_int(c, sql) == 1, "%s %s missing", schema_objects[i][0],
                      schema_objects[i][1]);
    }
    /* Nothing beyond the schema (SQLite's own autoindexes aside). */
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM sqlite_master "
                                "WHERE name NOT LIKE 'sqlite_autoindex_%'"),
                     (int64_t)N_OBJECTS);
    ck_assert_str_eq(raw_text(c, "SELECT value FROM meta WHERE key = 'schema_version'", buf,
                              sizeof buf),
                     "8");
    ck_assert_int_eq(DB_SCHEMA_VERSION, 8);
    /* Tables are STRICT: a text in an INTEGER column is refused. */
    ck_assert_int_ne(sqlite3_exec(c, "INSERT INTO run (created_utc, tool_version, command, "
                                     "seed) VALUES ('x', 'x', 'run', 'seven')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(c);
    db_close(d);
    db_close(NULL);
    db_insert_finish(NULL);
    scratch_remove(&t);
}
END_TEST

START_TEST(test_wal_and_foreign_keys)
{
    scratch t;
    scratch_make(&t);
    db *d = open_ok(t.path);
    sqlite3 *c = raw_open(t.path);
    char buf[64];
    /* journal_mode is stored in the file, so a second connection sees it. */
    ck_assert_str_eq(raw_text(c, "PRAGMA journal_mode", buf, sizeof buf), "wal");
    sqlite3_close(c);
    /* foreign_keys is per connection: only the handle's own inserts show it is on. */
    static const char *const cols[] = {"run_id", "step", "time_s"};
    db_stmt *s = NULL;
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_insert_prepare(d, "step", cols, 3, &s, &st), st);
    db_insert_bind_int(s, 0, 42);
    db_insert_bind_int(s, 1, 0);
    db_insert_bind_double(s, 2, 1.0);
    ck_assert_int_eq(db_insert_exec(s, &st), SIM_ERR_INTERNAL);
    ck_assert_str_eq(st.msg, "cannot insert into table 'step': FOREIGN KEY constraint failed");
    ck_assert_str_eq(st.file, t.path);
    ck_assert_int_eq(db_last_busy(d), 0);
    db_insert_finish(s);
    db_close(d);
    scratch_remove(&t);
}
END_TEST

START_TEST(test_rollback_leaves_nothing)
{
    scratch t;
    scratch_make(&t);
    db *d = open_ok(t.path);
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_begin(d, &st), st);
    int64_t id = insert_run(d, "rolled-back");
    static const char *const cols[] = {"run_id", "step", "time_s"};
    db_stmt *s = NULL;
    CK_OK(db_insert_prepare(d, "step", cols, 3, &s, &st), st);
    for (int i = 0; i < 10; i++) {
        db_insert_bind_int(s, 0, id);
        db_insert_bind_int(s, 1, i);
        db_insert_bind_double(s, 2, 0.5);
        CK_OK(db_insert_exec(s, &st), st);
    }
    db_insert_finish(s);
    /* A second begin inside the open transaction is a caller bug, reported as such. */
    ck_assert_int_eq(db_begin(d, &st), SIM_ERR_INTERNAL);
    char want[512];
    snprintf(want, sizeof want, "cannot begin a transaction in '%s': one is already open",
             t.path);
    ck_assert_str_eq(st.msg, want);
    CK_OK(db_rollback(d, &st), st);
    /* Without a transaction, rollback is a no-op and commit an error. */
    CK_OK(db_rollback(d, &st), st);
    ck_assert_int_eq(db_commit(d, &st), SIM_ERR_INTERNAL);
    snprintf(want, sizeof want, "cannot commit in '%s': no transaction is open", t.path);
    ck_assert_str_eq(st.msg, want);
    sqlite3 *c = raw_open(t.path);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM run"), 0);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM step"), 0);
    sqlite3_close(c);
    db_close(d);
    scratch_remove(&t);
}
END_TEST

static const char *const link_kinds[] = {"nvlink", "nic",  "leaf-spine", "spine-core", "ici",
                                         "wan",    "gateway", "pcie",   "generic"};

#define N_LINKS 1000

/* The values of link row i, chosen so that no double is a short decimal. */
static double link_capacity(int i)
{
    return (i + 1) * 1.1e9 / 7.0;
}

static double link_latency(int i)
{
    return (i + 1) * 1e-6 / 3.0;
}

START_TEST(test_roundtrip)
{
    scratch t;
    scratch_make(&t);
    db *d = open_ok(t.path);
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_begin(d, &st), st);
    db_run r;
    db_run_init(&r);
    r.created_utc = "2024-05-06T07:08:09.010Z";
    r.command = "run";
    r.config_path = "configs/x.yaml";
    r.config_yaml = "topology: x\nworkload: y\n";
    r.topology = "x";
    r.workload = "y";
    r.seed = UINT64_MAX;
    int64_t id = 0;
    CK_OK(db_run_insert(d, &r, &id, &st), st);
    static const char *const cols[] = {"run_id", "link_id", "src",          "dst",      "kind",
                                       "site",   "tier",    "capacity_Bps", "latency_s"};
    db_stmt *s = NULL;
    CK_OK(db_insert_prepare(d, "link", cols, 9, &s, &st), st);
    char src[32], dst[32], site[32];
    for (int i = 0; i < N_LINKS; i++) {
        const char *kind = link_kinds[i % 9];
        snprintf(src, sizeof src, "n%d", i);
        snprintf(dst, sizeof dst, "m%d", i);
        snprintf(site, sizeof site, "dc%d", i % 4);
        db_insert_bind_int(s, 0, id);
        db_insert_bind_int(s, 1, i);
        db_insert_bind_text(s, 2, src);
        db_insert_bind_text(s, 3, dst);
        db_insert_bind_text(s, 4, kind);
        db_insert_bind_text(s, 5, strcmp(kind, "wan") == 0 ? NULL : site);
        if (i % 5)
            db_insert_bind_int(s, 6, i % 3);
        db_insert_bind_double(s, 7, link_capacity(i));
        db_insert_bind_double(s, 8, link_latency(i));
        CK_OK(db_insert_exec(s, &st), st);
    }
    db_insert_finish(s);
    /* The results come later, as after a replay. */
    r.status = "ok";
    r.wall_s = 12.25;
    r.peak_rss_bytes = 123456789;
    r.steps = 10;
    r.step_time_s = 1.0 / 3.0;
    r.tokens_per_s = 4e6 / 3.0;
    r.mfu = 0.41;
    r.hfu = 0.52;
    r.model_flops_per_step = 1.7e18;
    r.hardware_flops_per_step = 2.1e18;
    r.chips = 1024;
    r.peak_memory_bytes = 7.5e10;
    CK_OK(db_run_update_results(d, id, &r, &st), st);
    CK_OK(db_commit(d, &st), st);
    db_close(d);

    sqlite3 *c = raw_open(t.path);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM link"), N_LINKS);
    sqlite3_stmt *q = raw_prepare(c, "SELECT run_id, link_id, src, dst, kind, site, tier, "
                                     "capacity_Bps, latency_s, typeof(capacity_Bps) "
                                     "FROM link ORDER BY link_id");
    for (int i = 0; i < N_LINKS; i++) {
        const char *kind = link_kinds[i % 9];
        ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
        snprintf(src, sizeof src, "n%d", i);
        snprintf(dst, sizeof dst, "m%d", i);
        snprintf(site, sizeof site, "dc%d", i % 4);
        ck_assert_int_eq(sqlite3_column_int64(q, 0), id);
        ck_assert_int_eq(sqlite3_column_int64(q, 1), i);
        ck_assert_str_eq((const char *)sqlite3_column_text(q, 2), src);
        ck_assert_str_eq((const char *)sqlite3_column_text(q, 3), dst);
        ck_assert_str_eq((const char *)sqlite3_column_text(q, 4), kind);
        if (strcmp(kind, "wan") == 0)
            ck_assert_int_eq(sqlite3_column_type(q, 5), SQLITE_NULL);
        else
            ck_assert_str_eq((const char *)sqlite3_column_text(q, 5), site);
        if (i % 5)
            ck_assert_int_eq(sqlite3_column_int64(q, 6), i % 3);
        else
            ck_assert_int_eq(sqlite3_column_type(q, 6), SQLITE_NULL);
        ck_assert_msg(sqlite3_column_double(q, 7) == link_capacity(i), "capacity of link %d",
                      i);
        ck_assert_msg(sqlite3_column_double(q, 8) == link_latency(i), "latency of link %d", i);
        ck_assert_str_eq((const char *)sqlite3_column_text(q, 9), "real");
    }
    ck_assert_int_eq(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);

    q = raw_prepare(c, "SELECT created_utc, tool_version, command, config_path, config_yaml, "
                       "topology, workload, seed, status, status_reason, wall_s, "
                       "peak_rss_bytes, steps, step_time_s, tokens_per_s, mfu, hfu, "
                       "model_flops_per_step, hardware_flops_per_step, chips, "
                       "peak_memory_bytes FROM run");
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "2024-05-06T07:08:09.010Z");
    ck_assert_str_eq((const char *)sqlite3_column_text(q, 1), CLUSTERSIM_VERSION);
    ck_assert_str_eq((const char *)sqlite3_column_text(q, 2), "run");
    ck_assert_str_eq((const char *)sqlite3_column_text(q, 3), "configs/x.yaml");
    ck_assert_str_eq((const char *)sqlite3_column_text(q, 4), "topology: x\nworkload: y\n");
    ck_assert_str_eq((const char *)sqlite3_column_text(q, 5), "x");
    ck_assert_str_eq((const char *)sqlite3_column_text(q, 6), "y");
    ck_assert_int_eq(sqlite3_column_int64(q, 7), -1); /* UINT64_MAX's bits */
    ck_assert_str_eq((const char *)sqlite3_column_text(q, 8), "ok");
    ck_assert_int_eq(sqlite3_column_type(q, 9), SQLITE_NULL);
    ck_assert(sqlite3_column_double(q, 10) == 12.25);
    ck_assert_int_eq(sqlite3_column_int64(q, 11), 123456789);
    ck_assert_int_eq(sqlite3_column_int64(q, 12), 10);
    ck_assert(sqlite3_column_double(q, 13) == 1.0 / 3.0);
    ck_assert(sqlite3_column_double(q, 14) == 4e6 / 3.0);
    ck_assert(sqlite3_column_double(q, 15) == 0.41);
    ck_assert(sqlite3_column_double(q, 16) == 0.52);
    ck_assert(sqlite3_column_double(q, 17) == 1.7e18);
    ck_assert(sqlite3_column_double(q, 18) == 2.1e18);
    ck_assert_int_eq(sqlite3_column_int64(q, 19), 1024);
    ck_assert(sqlite3_column_double(q, 20) == 7.5e10);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);
    sqlite3_close(c);
    scratch_remove(&t);
}
END_TEST

START_TEST(test_run_defaults_and_update_errors)
{
    scratch t;
    scratch_make(&t);
    db *d = open_ok(t.path);
    sim_status st;
    sim_status_clear(&st);
    int64_t id = insert_run(d, "x");
    sqlite3 *c = raw_open(t.path);
    char buf[128];
    /* created_utc defaults to now, in the documented shape. */
    ck_assert_int_eq(raw_int(c, "SELECT created_utc GLOB "
                                "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:"
                                "[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z' FROM run"),
                     1);
    /* db_run_init's NaN and -1 become NULL. */
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM run WHERE status IS NULL AND wall_s IS "
                                "NULL AND peak_rss_bytes IS NULL AND steps IS NULL AND mfu IS "
                                "NULL AND chips IS NULL AND peak_memory_bytes IS NULL"),
                     1);
    ck_assert_str_eq(raw_text(c, "SELECT seed FROM run", buf, sizeof buf), "7");
    sqlite3_close(c);

    db_run r;
    db_run_init(&r);
    r.status = "done";
    ck_assert_int_eq(db_run_update_results(d, id, &r, &st), SIM_ERR_INTERNAL);
    char want[512];
    snprintf(want, sizeof want, "cannot update run %d in '%s': CHECK constraint failed: ",
             (int)id, t.path);
    ck_assert_msg(strncmp(st.msg, want, strlen(want)) == 0, "%s", st.msg);
    r.status = "failed";
    ck_assert_int_eq(db_run_update_results(d, id + 1, &r, &st), SIM_ERR_INTERNAL);
    snprintf(want, sizeof want, "cannot update run %d in '%s': no such run", (int)id + 1,
             t.path);
    ck_assert_str_eq(st.msg, want);
    /* command is required. */
    db_run_init(&r);
    ck_assert_int_eq(db_run_insert(d, &r, NULL, &st), SIM_ERR_INTERNAL);
    snprintf(want, sizeof want,
             "cannot insert a run into '%s': NOT NULL constraint failed: run.command", t.path);
    ck_assert_str_eq(st.msg, want);
    db_close(d);
    scratch_remove(&t);
}
END_TEST

START_TEST(test_reopen_keeps_rows)
{
    scratch t;
    scratch_make(&t);
    db *d = open_ok(t.path);
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_begin(d, &st), st);
    int64_t first = insert_run(d, "first");
    CK_OK(db_commit(d, &st), st);
    db_close(d);
    d = open_ok(t.path);
    int64_t second = insert_run(d, "second");
    ck_assert_int_gt(second, first);
    db_close(d);
    sqlite3 *c = raw_open(t.path);
    char buf[64];
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM run"), 2);
    ck_assert_str_eq(raw_text(c, "SELECT group_concat(topology, ',') FROM "
                                 "(SELECT topology FROM run ORDER BY run_id)",
                              buf, sizeof buf),
                     "first,second");
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM meta"), 1);
    sqlite3_close(c);
    scratch_remove(&t);
}
END_TEST

START_TEST(test_refuses_other_versions)
{
    scratch t;
    scratch_make(&t);
    db_close(open_ok(t.path));
    sqlite3 *c = raw_open(t.path);
    raw_exec(c, "UPDATE meta SET value = '999' WHERE key = 'schema_version'");
    sqlite3_close(c);
    db *d = (db *)&t; /* must be reset to NULL */
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(db_open(t.path, &d, &st), SIM_ERR_INPUT);
    ck_assert_ptr_null(d);
    char want[512];
    snprintf(want, sizeof want,
             "results database '%s' has schema version 999; this clustersim (%s) reads schema "
             "version 8 only",
             t.path, CLUSTERSIM_VERSION);
    ck_assert_str_eq(st.msg, want);
    ck_assert_str_eq(st.file, t.path);
    /* Refused before anything was written. */
    c = raw_open(t.path);
    char buf[64];
    ck_assert_str_eq(raw_text(c, "SELECT value FROM meta WHERE key = 'schema_version'", buf,
                              sizeof buf),
                     "999");
    raw_exec(c, "DELETE FROM meta");
    sqlite3_close(c);
    ck_assert_int_eq(db_open(t.path, &d, &st), SIM_ERR_INPUT);
    snprintf(want, sizeof want,
             "'%s' is not a clustersim results database: its meta table has no "
             "schema_version",
             t.path);
    ck_assert_str_eq(st.msg, want);
    scratch_remove(&t);
}
END_TEST

START_TEST(test_refuses_foreign_files)
{
    scratch t;
    scratch_make(&t);
    char want[1024];
    db *d = NULL;
    sim_status st;
    sim_status_clear(&st);
    /* Another program's database is left alone. */
    sqlite3 *c = NULL;
    ck_assert_int_eq(sqlite3_open(t.path, &c), SQLITE_OK);
    raw_exec(c, "CREATE TABLE customers (id INTEGER PRIMARY KEY)");
    sqlite3_close(c);
    ck_assert_int_eq(db_open(t.path, &d, &st), SIM_ERR_INPUT);
    ck_assert_ptr_null(d);
    snprintf(want, sizeof want,
             "'%s' is not a clustersim results database: it holds tables but no meta table",
             t.path);
    ck_assert_str_eq(st.msg, want);
    c = raw_open(t.path);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM sqlite_master"), 1);
    sqlite3_close(c);
    /* A text file. */
    char text[256];
    snprintf(text, sizeof text, "%s/notes.txt", t.dir);
    FILE *f = fopen(text, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 20; i++)
        fputs("this is a text file, not an SQLite database\n", f);
    fclose(f);
    ck_assert_int_eq(db_open(text, &d, &st), SIM_ERR_IO);
    ck_assert_ptr_null(d);
    snprintf(want, sizeof want, "cannot open results database '%s': file is not a database",
             text);
    ck_assert_str_eq(st.msg, want);
    ck_assert_str_eq(st.file, text);
    /* A directory that does not exist. */
    char missing[256];
    snprintf(missing, sizeof missing, "%s/no/such/dir/results.db", t.dir);
    ck_assert_int_eq(db_open(missing, &d, &st), SIM_ERR_IO);
    ck_assert_ptr_null(d);
    snprintf(want, sizeof want,
             "cannot open results database '%s': unable to open database file (No such file or "
             "directory)",
             missing);
    ck_assert_str_eq(st.msg, want);
    scratch_remove(&t);
}
END_TEST

START_TEST(test_insert_names_checked)
{
    scratch t;
    scratch_make(&t);
    db *d = open_ok(t.path);
    sim_status st;
    sim_status_clear(&st);
    char want[1024];
    db_stmt *s = (db_stmt *)&t; /* must be reset to NULL */
    static const char *const good[] = {"run_id", "link_id", "bytes"};
    ck_assert_int_eq(db_insert_prepare(d, "lnk_stats", good, 3, &s, &st), SIM_ERR_INPUT);
    ck_assert_ptr_null(s);
    snprintf(want, sizeof want,
             "unknown table 'lnk_stats' in results database '%s'; expected one of: collective, "
             "goodput, goodput_cause, goodput_interruption, goodput_seed, link, link_stats, "
             "meta, multidc, multidc_site, multidc_sync, power, rank, run, search, "
             "search_candidate, step, sweep_param, wan",
             t.path);
    ck_assert_str_eq(st.msg, want);
    ck_assert_str_eq(st.file, t.path);
    /* A view is not a table. */
    ck_assert_int_eq(db_insert_prepare(d, "v_mfu", good, 3, &s, &st), SIM_ERR_INPUT);
    static const char *const bad[] = {"run_id", "link_id", "bytez"};
    ck_assert_int_eq(db_insert_prepare(d, "link_stats", bad, 3, &s, &st), SIM_ERR_INPUT);
    ck_assert_ptr_null(s);
    snprintf(want, sizeof want,
             "unknown column 'bytez' in table 'link_stats' of results database '%s'; expected "
             "one of: run_id, link_id, bytes, busy_s, mean_util, peak_util",
             t.path);
    ck_assert_str_eq(st.msg, want);
    static const char *const twice[] = {"run_id", "link_id", "LINK_ID"};
    ck_assert_int_eq(db_insert_prepare(d, "link_stats", twice, 3, &s, &st), SIM_ERR_INPUT);
    ck_assert_str_eq(st.msg, "column 'LINK_ID' is named twice in an insert into table "
                             "'link_stats'");
    ck_assert_int_eq(db_insert_prepare(d, "link_stats", good, 0, &s, &st), SIM_ERR_INPUT);
    ck_assert_str_eq(st.msg, "an insert into table 'link_stats' names no column");
    /* Names are matched as SQLite does, ignoring case. */
    static const char *const upper[] = {"RUN_ID", "Key", "value"};
    CK_OK(db_insert_prepare(d, "Sweep_Param", upper, 3, &s, &st), st);
    db_insert_finish(s);
    db_close(d);
    scratch_remove(&t);
}
END_TEST

START_TEST(test_insert_row_errors)
{
    scratch t;
    scratch_make(&t);
    db *d = open_ok(t.path);
    sim_status st;
    sim_status_clear(&st);
    int64_t id = insert_run(d, "x");
    static const char *const cols[] = {"run_id", "link_id", "src", "dst", "kind", "site",
                                       "capacity_Bps"};
    db_stmt *s = NULL;
    CK_OK(db_insert_prepare(d, "link", cols, 7, &s, &st), st);
    db_insert_bind_int(s, 0, id);
    db_insert_bind_int(s, 1, 0);
    db_insert_bind_text(s, 2, "a");
    db_insert_bind_text(s, 3, "b");
    db_insert_bind_text(s, 4, "nic");
    db_insert_bind_text(s, 5, "dc0");
    db_insert_bind_double(s, 6, 5e10);
    CK_OK(db_insert_exec(s, &st), st);
    /* The same key again. */
    db_insert_bind_int(s, 0, id);
    db_insert_bind_int(s, 1, 0);
    db_insert_bind_text(s, 2, "a");
    db_insert_bind_text(s, 3, "b");
    db_insert_bind_text(s, 4, "nic");
    db_insert_bind_double(s, 6, 5e10);
    ck_assert_int_eq(db_insert_exec(s, &st), SIM_ERR_INTERNAL);
    ck_assert_str_eq(st.msg, "cannot insert into table 'link': UNIQUE constraint failed: "
                             "link.run_id, link.link_id");
    /* A kind outside its list; a wan link with a site. */
    db_insert_bind_int(s, 0, id);
    db_insert_bind_int(s, 1, 1);
    db_insert_bind_text(s, 2, "a");
    db_insert_bind_text(s, 3, "b");
    db_insert_bind_text(s, 4, "infiniband");
    db_insert_bind_double(s, 6, 5e10);
    ck_assert_int_eq(db_insert_exec(s, &st), SIM_ERR_INTERNAL);
    const char *check = "cannot insert into table 'link': CHECK constraint failed: ";
    ck_assert_msg(strncmp(st.msg, check, strlen(check)) == 0, "%s", st.msg);
    db_insert_bind_int(s, 0, id);
    db_insert_bind_int(s, 1, 1);
    db_insert_bind_text(s, 2, "a");
    db_insert_bind_text(s, 3, "b");
    db_insert_bind_text(s, 4, "wan");
    db_insert_bind_text(s, 5, "dc0");
    db_insert_bind_double(s, 6, 5e10);
    ck_assert_int_eq(db_insert_exec(s, &st), SIM_ERR_INTERNAL);
    ck_assert_str_eq(st.msg, "cannot insert into table 'link': CHECK constraint failed: "
                             "kind <> 'wan' OR site IS NULL");
    /* A column index past the insert's columns surfaces at exec. */
    db_insert_bind_int(s, 0, id);
    db_insert_bind_int(s, 7, 1);
    ck_assert_int_eq(db_insert_exec(s, &st), SIM_ERR_INTERNAL);
    ck_assert_str_eq(st.msg, "cannot insert into table 'link': column index 7 is out of range "
                             "(the insert names 7 columns)");
    /* Failed rows left no bindings behind: the site bound above is gone (NULL). */
    db_insert_bind_int(s, 0, id);
    db_insert_bind_int(s, 1, 2);
    db_insert_bind_text(s, 2, "a");
    db_insert_bind_text(s, 3, "b");
    db_insert_bind_text(s, 4, "wan");
    db_insert_bind_double(s, 6, 5e10);
    CK_OK(db_insert_exec(s, &st), st);
    db_insert_finish(s);
    /* db_exec reports SQL errors as input errors. */
    ck_assert_int_eq(db_exec(d, "SELEC 1", &st), SIM_ERR_INPUT);
    char want[512];
    snprintf(want, sizeof want,
             "SQL failed in results database '%s': near \"SELEC\": syntax error", t.path);
    ck_assert_str_eq(st.msg, want);
    db_close(d);
    sqlite3 *c = raw_open(t.path);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM link"), 2);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM link WHERE link_id = 2 AND site IS NULL"),
                     1);
    sqlite3_close(c);
    scratch_remove(&t);
}
END_TEST

START_TEST(test_second_writer_waits_then_fails)
{
    scratch t;
    scratch_make(&t);
    db *a = open_ok(t.path);
    db *b = open_ok(t.path);
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_begin(a, &st), st);
    insert_run(a, "a");
    /* a holds the write lock through b's whole wait, so b's outcome does not depend on time. */
    db_set_busy_timeout_ms(b, 50);
    ck_assert_int_eq(db_begin(b, &st), SIM_ERR_IO);
    ck_assert_int_eq(db_last_busy(b), 1);
    char want[512];
    snprintf(want, sizeof want,
             "cannot begin a transaction in '%s': database is locked (another connection kept "
             "the write lock for longer than the busy timeout of 50 ms)",
             t.path);
    ck_assert_str_eq(st.msg, want);
    ck_assert_str_eq(st.file, t.path);
    /* b never got a transaction: its rollback is a no-op, its writes autocommit only later. */
    CK_OK(db_rollback(b, &st), st);
    CK_OK(db_commit(a, &st), st);
    CK_OK(db_begin(b, &st), st);
    insert_run(b, "b");
    CK_OK(db_commit(b, &st), st);
    ck_assert_int_eq(db_last_busy(a), 0);
    db_close(a);
    db_close(b);
    sqlite3 *c = raw_open(t.path);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM run"), 2);
    sqlite3_close(c);
    scratch_remove(&t);
}
END_TEST

#define KILL_ROWS 5000

/*
 * Child of test_killed_writer: opens its own connection, shrinks the page cache so the
 * transaction's pages spill into the WAL before any commit, inserts a run and KILL_ROWS links,
 * reports on fd and waits to be killed. Never returns; exits 3 on any failure.
 */
static void killed_writer(const char *path, int fd)
{
    db *d = NULL;
    sim_status st;
    db_stmt *s = NULL;
    static const char *const cols[] = {"run_id", "link_id", "src", "dst", "kind",
                                       "capacity_Bps"};
    if (db_open(path, &d, &st) != SIM_OK || db_exec(d, "PRAGMA cache_size = 8", &st) != SIM_OK ||
        db_begin(d, &st) != SIM_OK)
        _exit(3);
    db_run r;
    db_run_init(&r);
    r.command = "run";
    int64_t id = 0;
    if (db_run_insert(d, &r, &id, &st) != SIM_OK ||
        db_insert_prepare(d, "link", cols, 6, &s, &st) != SIM_OK)
        _exit(3);
    for (int i = 0; i < KILL_ROWS; i++) {
        db_insert_bind_int(s, 0, id);
        db_insert_bind_int(s, 1, i);
        db_insert_bind_text(s, 2, "some-rather-long-source-node-name");
        db_insert_bind_text(s, 3, "some-rather-long-destination-node-name");
        db_insert_bind_text(s, 4, "nvlink");
        db_insert_bind_double(s, 5, 4.5e11);
        if (db_insert_exec(s, &st) != SIM_OK)
            _exit(3);
    }
    if (write(fd, "x", 1) != 1)
        _exit(3);
    for (;;)
        pause();
}

START_TEST(test_killed_writer_leaves_nothing)
{
    scratch t;
    scratch_make(&t);
    db *d = open_ok(t.path);
    int64_t kept = insert_run(d, "kept");
    db_close(d);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        killed_writer(t.path, fds[1]);
    }
    close(fds[1]);
    char byte = 0;
    ssize_t got = read(fds[0], &byte, 1);
    close(fds[0]);
    kill(pid, SIGKILL);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(got == 1, "the writer failed before its inserts were done");
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* The uncommitted pages did reach the WAL file, so the test covers more than memory. */
    char wal[512];
    snprintf(wal, sizeof wal, "%s-wal", t.path);
    struct stat sb;
    ck_assert_int_eq(stat(wal, &sb), 0);
    ck_assert_int_gt(sb.st_size, 32 * 1024);

    sqlite3 *c = raw_open(t.path);
    char buf[64];
    ck_assert_str_eq(raw_text(c, "PRAGMA integrity_check", buf, sizeof buf), "ok");
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM run"), 1);
    ck_assert_int_eq(raw_int(c, "SELECT run_id FROM run"), kept);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM link"), 0);
    sqlite3_close(c);
    /* The dead writer's lock is gone: a new writer gets in at once. */
    d = open_ok(t.path);
    db_set_busy_timeout_ms(d, 0);
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_begin(d, &st), st);
    CK_OK(db_commit(d, &st), st);
    db_close(d);
    scratch_remove(&t);
}
END_TEST

/* Inserts a step row of run id. */
static void add_step(db_stmt *s, int64_t id, int step, double time_s, double tp_s, double dp_s)
{
    sim_status st;
    sim_status_clear(&st);
    db_insert_bind_int(s, 0, id);
    db_insert_bind_int(s, 1, step);
    db_insert_bind_double(s, 2, time_s);
    db_insert_bind_double(s, 3, tp_s);
    db_insert_bind_double(s, 4, dp_s);
    CK_OK(db_insert_exec(s, &st), st);
}

/* Inserts a link and its stats for run id. */
static void add_link(db_stmt *l, db_stmt *ls, int64_t id, int link, const char *kind,
                     double cap_Bps, double mean_util)
{
    sim_status st;
    sim_status_clear(&st);
    db_insert_bind_int(l, 0, id);
    db_insert_bind_int(l, 1, link);
    db_insert_bind_text(l, 2, "a");
    db_insert_bind_text(l, 3, "b");
    db_insert_bind_text(l, 4, kind);
    db_insert_bind_double(l, 5, cap_Bps);
    db_insert_bind_double(l, 6, 0.002);
    CK_OK(db_insert_exec(l, &st), st);
    db_insert_bind_int(ls, 0, id);
    db_insert_bind_int(ls, 1, link);
    db_insert_bind_double(ls, 2, mean_util * 1e9);
    db_insert_bind_double(ls, 3, mean_util);
    db_insert_bind_double(ls, 4, 1.0);
    CK_OK(db_insert_exec(ls, &st), st);
}

START_TEST(test_views)
{
    scratch t;
    scratch_make(&t);
    db *d = open_ok(t.path);
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_begin(d, &st), st);
    db_run r;
    db_run_init(&r);
    r.command = "run";
    r.topology = "tiny";
    r.workload = "toy";
    r.chips = 8;
    r.step_time_s = 2.0;
    r.tokens_per_s = 1000.0;
    r.mfu = 0.375;
    r.hfu = 0.5;
    int64_t one = 0, two = 0;
    CK_OK(db_run_insert(d, &r, &one, &st), st);
    r.topology = "other";
    CK_OK(db_run_insert(d, &r, &two, &st), st);

    static const char *const step_cols[] = {"run_id", "step", "time_s", "exposed_tp_s",
                                            "exposed_dp_s"};
    db_stmt *s = NULL;
    CK_OK(db_insert_prepare(d, "step", step_cols, 5, &s, &st), st);
    add_step(s, one, 0, 1.0, 0.25, 0.5);
    add_step(s, one, 1, 3.0, 0.75, 1.5);
    add_step(s, two, 0, 10.0, 5.0, 0.0); /* must not leak into run one's averages */
    db_insert_finish(s);

    static const char *const link_cols[] = {"run_id", "link_id", "src",      "dst",
                                            "kind",   "capacity_Bps", "latency_s"};
    static const char *const stat_cols[] = {"run_id", "link_id", "bytes", "mean_util",
                                            "peak_util"};
    db_stmt *l = NULL, *ls = NULL;
    CK_OK(db_insert_prepare(d, "link", link_cols, 7, &l, &st), st);
    CK_OK(db_insert_prepare(d, "link_stats", stat_cols, 5, &ls, &st), st);
    add_link(l, ls, one, 0, "nic", 5e10, 0.2);
    add_link(l, ls, one, 1, "wan", 1.25e9, 0.9);
    add_link(l, ls, one, 2, "leaf-spine", 1e11, 0.5);
    add_link(l, ls, two, 0, "nic", 5e10, 0.95);
    db_insert_finish(l);
    db_insert_finish(ls);

    static const char *const wan_cols[] = {"run_id", "link_id", "src_site", "dst_site",
                                           "bytes", "mean_util"};
    CK_OK(db_insert_prepare(d, "wan", wan_cols, 6, &s, &st), st);
    db_insert_bind_int(s, 0, one);
    db_insert_bind_int(s, 1, 1);
    db_insert_bind_text(s, 2, "east");
    db_insert_bind_text(s, 3, "west");
    db_insert_bind_double(s, 4, 9e8);
    db_insert_bind_double(s, 5, 0.9);
    CK_OK(db_insert_exec(s, &st), st);
    db_insert_finish(s);
    CK_OK(db_commit(d, &st), st);
    db_close(d);

    sqlite3 *c = raw_open(t.path);
    char buf[512];
    /* v_exposed_comm: (0.25 + 0.75) / 2 = 0.5 s, 1.0 / 4.0 = 0.25 of step time. */
    ck_assert_str_eq(raw_text(c,
                              "SELECT printf('%d %g %g %g %g %g %g %s', steps, step_time_s, "
                              "exposed_tp_s, exposed_dp_s, exposed_tp_frac, exposed_dp_frac, "
                              "exposed_pp_s IS NULL, quote(bubble_frac)) "
                              "FROM v_exposed_comm WHERE run_id = 1",
                              buf, sizeof buf),
                     "2 2 0.5 1 0.25 0.5 1 NULL");
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM v_exposed_comm"), 2);
    /* v_bottleneck_links: busiest first within each run, with kind and capacity. */
    ck_assert_str_eq(raw_rows(c,
                              "SELECT printf('%d %d %d %s %g %g', run_id, util_rank, link_id, "
                              "kind, capacity_Bps, mean_util) FROM v_bottleneck_links",
                              buf, sizeof buf),
                     "1 1 1 wan 1.25e+09 0.9;1 2 2 leaf-spine 1e+11 0.5;1 3 0 nic 5e+10 0.2;"
                     "2 1 0 nic 5e+10 0.95");
    /* v_mfu: one row per run. */
    ck_assert_str_eq(raw_rows(c,
                              "SELECT printf('%d %s %s %d %g %g %g %g', run_id, topology, "
                              "workload, chips, step_time_s, tokens_per_s, mfu, hfu) "
                              "FROM v_mfu ORDER BY run_id",
                              buf, sizeof buf),
                     "1 tiny toy 8 2 1000 0.375 0.5;2 other toy 8 2 1000 0.375 0.5");
    /* v_wan: the wan row with its link's capacity and the link's peak. */
    ck_assert_str_eq(raw_text(c,
                              "SELECT printf('%d %d %s %s %g %g %g %g %g', run_id, link_id, "
                              "src_site, dst_site, capacity_Bps, latency_s, bytes, mean_util, "
                              "peak_util) FROM v_wan",
                              buf, sizeof buf),
                     "1 1 east west 1.25e+09 0.002 9e+08 0.9 1");
    /* Deleting a run deletes everything about it. */
    raw_exec(c, "PRAGMA foreign_keys = ON; DELETE FROM run WHERE run_id = 1");
    ck_assert_int_eq(raw_int(c, "SELECT (SELECT count(*) FROM step) + (SELECT count(*) FROM "
                                "link) + (SELECT count(*) FROM link_stats) + (SELECT count(*) "
                                "FROM wan)"),
                     3);
    sqlite3_close(c);
    scratch_remove(&t);
}
END_TEST

/* ---- out/record.h: a replay as rows ---- */

#define TINY "tests/fixtures/good/cfg-tiny.yaml"
#define DILOCO "tests/fixtures/good/mdc-diloco.yaml"

/* Loads config with the overrides and replays it (mdc_run for a cross-datacenter plan). */
static plan *replay_ok(const char *config, const ydoc_override *ov, size_t n_ov,
                       const exec_opts *opts, exec_result *r, mdc_result *m)
{
    plan *p = NULL;
    sim_status st;
    sim_status_clear(&st);
    memset(r, 0, sizeof *r);
    memset(m, 0, sizeof *m);
    CK_OK(plan_load(config, ov, n_ov, &p, &st), st);
    if (plan_cross_dc_of(p)->scheme != PLAN_XDC_NONE)
        CK_OK(mdc_run(p, opts, r, m, &st), st);
    else
        CK_OK(exec_run(p, opts, r, &st), st);
    return p;
}

/* "SELECT <what> FROM <rest>" with run_id = id, into buf. */
static const char *sqlf(char *buf, size_t n, const char *fmt, int64_t id, long long k)
{
    snprintf(buf, n, fmt, (long long)id, k);
    return buf;
}

/*
 * Two measured steps after one warm-up step of the tiny config, recorded through
 * db_record_run as a sweep point: one run row with the replay's figures, a step row per
 * measured step numbered from 0 (the warm-up left out) with the exposed time of each
 * dimension under its own column, a rank row per rank with its coordinates, every link, a
 * link_stats row per link that carried bytes, the measured collectives numbered from 0, the
 * sweep_param rows, and no multidc row.
 */
START_TEST(test_record_replay)
{
    scratch t;
    scratch_make(&t);
    ydoc_override ov[] = {{"run.warmup", "1", "test warmup"}, {"run.steps", "2", "test steps"}};
    exec_opts opts = {0};
    exec_result r;
    mdc_result m;
    plan *p = replay_ok(TINY, ov, 2, &opts, &r, &m);
    db *d = open_ok(t.path);
    sim_status st;
    sim_status_clear(&st);
    int64_t id = 0;
    db_record_src src = {"sweep", plan_config_path(p), ov, 2, "tiny|run.warmup=1|run.steps=2",
                         NULL, NULL, 0};
    CK_OK(db_record_run(d, p, &r, NULL, &src, &id, &st), st);
    ck_assert_int_gt(id, 0);
    db_close(d);

    sqlite3 *c = raw_open(t.path);
    char q[512], buf[512];
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM run"), 1);
    ck_assert_str_eq(raw_text(c, sqlf(q, sizeof q, "SELECT status || ' ' || command || ' ' || "
                                      "topology || ' ' || steps || ' ' || chips FROM run "
                                      "WHERE run_id = %lld", id, 0), buf, sizeof buf),
                     "ok sweep two-nodes 2 16");
    ck_assert_int_eq(raw_int(c, "SELECT config_yaml LIKE '%name: tiny%# test warmup\n# test "
                                "steps' FROM run"), 1);
    ck_assert(raw_double(c, "SELECT mfu FROM run") == r.mfu);
    ck_assert(raw_double(c, "SELECT step_time_s FROM run") == r.step_time_s);
    /* the causal convention, by hand for cfg-tiny: per token 6 N with N = 4 layers x 786,432
     * matmul weights + 256,000 output = 3,401,728, plus the scores 12 L h s = 1,572,864 in
     * full (PaLM) or 786,432 causal: 21,196,800 / 21,983,232 of mfu */
    ck_assert_double_eq_tol(raw_double(c, "SELECT mfu_causal FROM run"),
                            r.mfu * 21196800.0 / 21983232.0, 1e-15);
    ck_assert_double_eq_tol(raw_double(c, "SELECT mfu_causal FROM v_mfu"),
                            r.mfu * 21196800.0 / 21983232.0, 1e-15);

    /* steps: the two measured ones, from 0, the warm-up row left out */
    ck_assert_int_eq(r.n_step_rows, 3);
    ck_assert_str_eq(raw_rows(c, "SELECT step FROM step ORDER BY step", buf, sizeof buf),
                     "0;1");
    double peak = topo_chip_hw(plan_topo(p), 0)->peak_bf16_flops * 16;
    static const char *const dims[] = {"tp", "pp", "dp", "cp", "ep"};
    static const int dim_of[] = {PLAN_TP, PLAN_PP, PLAN_DP, PLAN_CP, PLAN_EP};
    for (int k = 0; k < 2; k++) {
        const exec_step *row = &r.step_rows[k + 1];
        double t_s = row->end_s - row->start_s;
        ck_assert(raw_double(c, sqlf(q, sizeof q, "SELECT start_s FROM step WHERE run_id = %lld "
                                     "AND step = %lld", id, k)) == row->start_s);
        ck_assert(raw_double(c, sqlf(q, sizeof q, "SELECT time_s FROM step WHERE run_id = %lld "
                                     "AND step = %lld", id, k)) == t_s);
        double mfu = raw_double(c, sqlf(q, sizeof q, "SELECT mfu FROM step WHERE run_id = "
                                         "%lld AND step = %lld", id, k));
        ck_assert_double_eq_tol(mfu, wl_model_flops_per_step(plan_workload(p)) / (t_s * peak), 1e-15);
        ck_assert(mfu > 0 && mfu < 1);
        for (int dd = 0; dd < 5; dd++) {
            char col[160];
            snprintf(col, sizeof col, "SELECT exposed_%s_s FROM step WHERE run_id = %%lld AND "
                     "step = %%lld", dims[dd]);
            ck_assert_msg(raw_double(c, sqlf(q, sizeof q, col, id, k)) ==
                              row->exposed_s[dim_of[dd]],
                          "step %d exposed_%s_s", k, dims[dd]);
        }
    }
    /* tp, pp and dp expose different times here, so a swapped column would show */
    ck_assert(r.step_rows[1].exposed_s[PLAN_TP] != r.step_rows[1].exposed_s[PLAN_DP]);

    /* ranks: one each, with the plan's coordinates */
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM rank"), 16);
    for (int64_t i = 0; i < 16; i++) {
        snprintf(q, sizeof q, "SELECT tp_idx || ',' || pp_idx || ',' || dp_idx || ',' || "
                 "cp_idx || ',' || ep_idx FROM rank WHERE rank = %lld", (long long)i);
        char want[64];
        snprintf(want, sizeof want, "%lld,%lld,%lld,%lld,%lld",
                 (long long)plan_coord(p, i, PLAN_TP), (long long)plan_coord(p, i, PLAN_PP),
                 (long long)plan_coord(p, i, PLAN_DP), (long long)plan_coord(p, i, PLAN_CP),
                 (long long)plan_coord(p, i, PLAN_EP));
        ck_assert_str_eq(raw_text(c, q, buf, sizeof buf), want);
        snprintf(q, sizeof q, "SELECT compute_s FROM rank WHERE rank = %lld", (long long)i);
        ck_assert(raw_double(c, q) == r.ranks[i].compute_s);
    }

    /* links, and stats of those that carried bytes */
    const net_graph *g = topo_graph(plan_topo(p));
    size_t busy = 0;
    for (size_t l = 0; l < net_graph_link_count(g); l++)
        busy += r.link_bytes[l] > 0;
    ck_assert_uint_gt(busy, 0);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM link"), (int64_t)net_graph_link_count(g));
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM link_stats"), (int64_t)busy);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM link_stats WHERE mean_util IS NULL OR "
                                "busy_s IS NOT NULL"), 0);

    /* collectives of the measured steps, numbered from 0 */
    int64_t measured = 0;
    for (size_t i = 0; i < r.n_colls; i++)
        measured += r.colls[i].step >= 1;
    ck_assert_int_gt(measured, 0);
    ck_assert_int_lt(measured, (int64_t)r.n_colls);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM collective"), measured);
    ck_assert_int_eq(raw_int(c, "SELECT max(coll_id) - min(coll_id) + 1 FROM collective"),
                     measured);
    ck_assert_str_eq(raw_rows(c, "SELECT DISTINCT step FROM collective ORDER BY step", buf,
                              sizeof buf), "0;1");

    /* the sweep point, and nothing cross-datacenter */
    ck_assert_str_eq(raw_rows(c, "SELECT key || '=' || value FROM sweep_param ORDER BY key",
                              buf, sizeof buf),
                     "_point=tiny|run.warmup=1|run.steps=2;run.steps=2;run.warmup=1");
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM multidc"), 0);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM wan"), 0);
    sqlite3_close(c);
    exec_result_free(&r);
    plan_destroy(p);
    scratch_remove(&t);
}
END_TEST

/*
 * A DiLoCo replay: the run row's figures are over whole rounds (the mdc result's), and it has
 * the multidc row and a wan row per directed WAN link with that link's bytes.
 */
START_TEST(test_record_multidc)
{
    scratch t;
    scratch_make(&t);
    exec_opts opts = {0};
    exec_result r;
    mdc_result m;
    plan *p = replay_ok(DILOCO, NULL, 0, &opts, &r, &m);
    db *d = open_ok(t.path);
    sim_status st;
    sim_status_clear(&st);
    int64_t id = 0;
    db_record_src src = {"run", plan_config_path(p), NULL, 0, NULL, NULL, NULL, 0};
    CK_OK(db_record_run(d, p, &r, &m, &src, &id, &st), st);
    db_close(d);

    sqlite3 *c = raw_open(t.path);
    char buf[512];
    ck_assert(raw_double(c, "SELECT mfu FROM run") == m.mfu);
    ck_assert(raw_double(c, "SELECT step_time_s FROM run") == m.round_s / 10);
    ck_assert_int_eq(raw_int(c, "SELECT chips FROM run"), plan_cross_dc_of(p)->total_ranks);
    ck_assert_str_eq(raw_text(c, "SELECT scheme || ' ' || sites || ' ' || inner_steps || ' ' || "
                                 "payload || ' ' || (fragments IS NULL) || (max_delay IS NULL) "
                                 "FROM multidc", buf, sizeof buf),
                     "diloco 2 10 bf16 11");
    ck_assert(raw_double(c, "SELECT round_s FROM multidc") == m.round_s);
    const net_graph *g = topo_graph(plan_topo(p));
    int64_t wans = 0;
    double wan_bytes = 0;
    for (size_t l = 0; l < m.n_links; l++)
        if (net_graph_link(g, (net_link_id)l)->kind == NET_LINK_WAN) {
            char q[128];
            snprintf(q, sizeof q, "SELECT bytes FROM wan WHERE link_id = %zu", l);
            ck_assert(raw_double(c, q) == m.wan_bytes[l]);
            wan_bytes += m.wan_bytes[l];
            wans++;
        }
    ck_assert_int_eq(wans, 2);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM wan"), wans);
    ck_assert(wan_bytes > 0);
    ck_assert(raw_double(c, "SELECT wan_bytes FROM multidc") == wan_bytes);
    ck_assert_str_eq(raw_rows(c, "SELECT src_site || '>' || dst_site FROM wan ORDER BY link_id",
                              buf, sizeof buf), "a>b;b>a");
    sqlite3_close(c);
    mdc_result_free(&m);
    exec_result_free(&r);
    plan_destroy(p);
    scratch_remove(&t);
}
END_TEST

/*
 * A replay stopped at a bound is a run row with status 'stopped' and no figures; a failure
 * is a run row with status 'failed', its reason and the point's parameters; rows of a run
 * that does not exist are refused; a database that cannot be opened is an i/o error.
 */
START_TEST(test_record_stopped_failed_refused)
{
    scratch t;
    scratch_make(&t);
    exec_opts opts = {.max_events = 10000}; /* bounds are checked every 4,096 advances */
    exec_result r;
    mdc_result m;
    plan *p = replay_ok("configs/quickstart.yaml", NULL, 0, &opts, &r, &m);
    ck_assert(r.stopped);
    db *d = open_ok(t.path);
    sim_status st;
    sim_status_clear(&st);
    int64_t id = 0;
    db_record_src src = {"run", plan_config_path(p), NULL, 0, NULL, NULL, NULL, 0};
    CK_OK(db_record_run(d, p, &r, NULL, &src, &id, &st), st);
    exec_result_free(&r);

    /* rows under a run id with no run row break the foreign key, and are rolled back */
    opts.max_events = 0;
    plan_destroy(p);
    p = replay_ok(TINY, NULL, 0, &opts, &r, &m);
    CK_OK(db_begin(d, &st), st);
    ck_assert_int_eq(db_record_replay(d, id + 100, p, &r, NULL, &st), SIM_ERR_INTERNAL);
    ck_assert_ptr_nonnull(strstr(st.msg, "table 'step'"));
    CK_OK(db_rollback(d, &st), st);
    db_close(d);

    ydoc_override ov[] = {{"parallelism.tp", "3", "sweep parallelism.tp=3"}};
    db_record_src fsrc = {"sweep", TINY, ov, 1, "tiny|parallelism.tp=3", NULL, NULL, 0};
    int64_t fid = 0;
    CK_OK(db_record_failure(t.path, &fsrc, "does not fit", &fid, &st), st);
    ck_assert_int_eq(fid, id + 1);

    sqlite3 *c = raw_open(t.path);
    char buf[512];
    ck_assert_str_eq(raw_rows(c, "SELECT status || ',' || steps || ',' || (mfu IS NULL) || ',' "
                                 "|| status_reason FROM run WHERE status = 'stopped'", buf,
                              sizeof buf),
                     "stopped,0,1,a bound (--max-events or --max-wall) was reached");
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM step"), 0);
    ck_assert_int_eq(raw_int(c, "SELECT count(*) FROM rank"), 0);
    ck_assert_str_eq(raw_rows(c, "SELECT command || ',' || status || ',' || status_reason || ','"
                                 " || (steps IS NULL) FROM run WHERE status = 'failed'", buf,
                              sizeof buf),
                     "sweep,failed,does not fit,1");
    ck_assert_int_eq(raw_int(c, "SELECT config_yaml LIKE '%name: tiny%\n# sweep "
                                "parallelism.tp=3' FROM run WHERE status = 'failed'"), 1);
    ck_assert_str_eq(raw_rows(c, "SELECT key || '=' || value FROM sweep_param ORDER BY key",
                              buf, sizeof buf),
                     "_point=tiny|parallelism.tp=3;parallelism.tp=3");
    sqlite3_close(c);

    char bad[256];
    scratch_path(&t, "no/such/dir/r.db", bad, sizeof bad);
    ck_assert_int_eq(db_record_failure(bad, &fsrc, "x", NULL, &st), SIM_ERR_IO);
    exec_result_free(&r);
    plan_destroy(p);
    scratch_remove(&t);
}
END_TEST

static Suite *db_suite(void)
{
    Suite *s = suite_create("db");
    TCase *to = tcase_create("open");
    tcase_add_unchecked_fixture(to, root_make, root_remove);
    tcase_add_test(to, test_open_creates_schema);
    tcase_add_test(to, test_wal_and_foreign_keys);
    tcase_add_test(to, test_reopen_keeps_rows);
    tcase_add_test(to, test_refuses_other_versions);
    tcase_add_test(to, test_refuses_foreign_files);
    suite_add_tcase(s, to);
    TCase *tw = tcase_create("write");
    tcase_add_test(tw, test_rollback_leaves_nothing);
    tcase_add_test(tw, test_roundtrip);
    tcase_add_test(tw, test_run_defaults_and_update_errors);
    tcase_add_test(tw, test_insert_names_checked);
    tcase_add_test(tw, test_insert_row_errors);
    tcase_add_unchecked_fixture(tw, root_make, root_remove);
    suite_add_tcase(s, tw);
    TCase *tc = tcase_create("concurrency");
    tcase_add_test(tc, test_second_writer_waits_then_fails);
    tcase_add_test(tc, test_killed_writer_leaves_nothing);
    tcase_add_unchecked_fixture(tc, root_make, root_remove);
    suite_add_tcase(s, tc);
    TCase *tv = tcase_create("views");
    tcase_add_test(tv, test_views);
    tcase_add_unchecked_fixture(tv, root_make, root_remove);
    suite_add_tcase(s, tv);
    TCase *tr = tcase_create("record");
    tcase_add_test(tr, test_record_replay);
    tcase_add_test(tr, test_record_multidc);
    tcase_add_test(tr, test_record_stopped_failed_refused);
    tcase_add_unchecked_fixture(tr, root_make, root_remove);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(db_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
