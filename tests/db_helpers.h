/*
 * db_helpers.h: what the database suites (test_db, test_merge) share: scratch directories
 * under one per-process root, CK_OK, opening through the db API, and reading back over a
 * second, plain SQLite connection, so that a check never trusts the code under test to read
 * its own writes. Define TH_SUITE (the suite's name, for the root's name and messages)
 * before including it. Static inline functions in a header: each suite is one executable
 * and includes this once; those it does not use cost nothing.
 */
#ifndef CLUSTERSIM_TEST_DB_HELPERS_H
#define CLUSTERSIM_TEST_DB_HELPERS_H

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

#include "out/db.h"

#ifndef TH_SUITE
#error "define TH_SUITE before including db_helpers.h"
#endif

/*
 * Root of this process's scratch directories, made by the unchecked fixture in the runner
 * process before the tests fork, and removed with whatever is left in it (the directories of
 * failed tests, which end without cleaning up) after them. The only mutable static here.
 */
static char scratch_root[64];

/* A scratch directory of one test and the database path inside it. */
typedef struct scratch {
    char dir[128];
    char path[192];
} scratch;

static inline void scratch_make(scratch *s)
{
    snprintf(s->dir, sizeof s->dir, "%s/t.XXXXXX", scratch_root);
    ck_assert_ptr_nonnull(mkdtemp(s->dir));
    snprintf(s->path, sizeof s->path, "%s/results.db", s->dir);
}

/* path = dir/name. */
static inline char *scratch_path(const scratch *s, const char *name, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", s->dir, name);
    return path;
}

/* Removes dir and everything below it; returns 0 on success. */
static inline int remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int rc = 0;
    struct dirent *e;
    char p[512];
    struct stat sb;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int w = snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (w < 0 || (size_t)w >= sizeof p || lstat(p, &sb) != 0)
            rc = -1;
        else if (S_ISDIR(sb.st_mode) ? remove_tree(p) != 0 : unlink(p) != 0)
            rc = -1;
    }
    closedir(d);
    return rmdir(dir) != 0 ? -1 : rc;
}

/* Removes the test's directory: the database, its -wal and -shm, any other file. */
static inline void scratch_remove(const scratch *s)
{
    ck_assert_int_eq(remove_tree(s->dir), 0);
}

static inline void root_make(void)
{
    snprintf(scratch_root, sizeof scratch_root, "/tmp/" TH_SUITE ".XXXXXX");
    if (!mkdtemp(scratch_root)) {
        perror(TH_SUITE ": mkdtemp");
        exit(EXIT_FAILURE);
    }
}

static inline void root_remove(void)
{
    if (remove_tree(scratch_root) != 0)
        fprintf(stderr, TH_SUITE ": cannot remove %s\n", scratch_root);
}

/* Fails the test with the formatted status unless rc is SIM_OK. */
#define CK_OK(rc, st)                                                                          \
    do {                                                                                       \
        sim_code rc_ = (rc);                                                                   \
        char msg_[2048];                                                                       \
        sim_status_format(&(st), msg_, sizeof msg_);                                           \
        ck_assert_msg(rc_ == SIM_OK, "%s: %s", #rc, msg_);                                     \
    } while (0)

static inline db *open_ok(const char *path)
{
    db *d = NULL;
    sim_status st;
    sim_status_clear(&st);
    CK_OK(db_open(path, &d, &st), st);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* A plain SQLite connection for reading back. */
static inline sqlite3 *raw_open(const char *path)
{
    sqlite3 *c = NULL;
    int rc = sqlite3_open_v2(path, &c, SQLITE_OPEN_READWRITE, NULL);
    ck_assert_msg(rc == SQLITE_OK, "raw open %s: %s", path, sqlite3_errstr(rc));
    return c;
}

static inline sqlite3_stmt *raw_prepare(sqlite3 *c, const char *sql)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(c, sql, -1, &q, NULL);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(c));
    return q;
}

/* The single integer sql yields. */
static inline int64_t raw_int(sqlite3 *c, const char *sql)
{
    sqlite3_stmt *q = raw_prepare(c, sql);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* The single double sql yields (0 for NULL: test for NULL with raw_int on "IS NULL"). */
static inline double raw_double(sqlite3 *c, const char *sql)
{
    sqlite3_stmt *q = raw_prepare(c, sql);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    double v = sqlite3_column_double(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* The single text sql yields, copied into buf ("(null)" for NULL). */
static inline const char *raw_text(sqlite3 *c, const char *sql, char *buf, size_t n)
{
    sqlite3_stmt *q = raw_prepare(c, sql);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(q, 0);
    snprintf(buf, n, "%s", t ? (const char *)t : "(null)");
    sqlite3_finalize(q);
    return buf;
}

/* Column 0 of every row sql yields, in the order it yields them, joined by ';' into buf. */
static inline const char *raw_rows(sqlite3 *c, const char *sql, char *buf, size_t n)
{
    sqlite3_stmt *q = raw_prepare(c, sql);
    size_t len = 0;
    buf[0] = '\0';
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(q, 0);
        int w = snprintf(buf + len, n - len, "%s%s", len ? ";" : "",
                         t ? (const char *)t : "(null)");
        ck_assert(w >= 0 && (size_t)w < n - len);
        len += (size_t)w;
    }
    ck_assert_int_eq(rc, SQLITE_DONE);
    sqlite3_finalize(q);
    return buf;
}

static inline void raw_exec(sqlite3 *c, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(c, sql, NULL, NULL, &err);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, err ? err : "?");
}

#endif
