/*
 * db.c: the results database recorder on SQLite (see db.h for the contract).
 *
 * Opening runs, in order: sqlite3_open_v2 (read-write, create; the path passed as a URI
 * filename that names exactly the file the plain path names, see sbuf_add_uri), the busy
 * timeout (set first, so every later step waits for other writers instead of failing),
 * foreign_keys=ON (a per-connection setting, never stored in the file), journal_mode=WAL
 * (stored in the file; the reply must say 'wal' unless the database lives in memory),
 * synchronous=NORMAL (with WAL, a commit is atomic and the database consistent after a
 * crash; only the last commits before a power loss may be lost), then the schema step in
 * one BEGIN IMMEDIATE transaction:
 *   1. read meta.schema_version, if there is a meta table; refuse a version other than
 *      DB_SCHEMA_VERSION before touching anything, and refuse a non-empty database without
 *      meta (another program's file);
 *   2. run the embedded schema.sql (idempotent by construction);
 *   3. read the version again: it must now be DB_SCHEMA_VERSION, which catches schema.sql
 *      and db.h disagreeing on the first open of any build.
 * Any failure closes the connection, so a caller never holds a half-opened handle.
 *
 * Transactions are SQL text (BEGIN IMMEDIATE / COMMIT / ROLLBACK); SQLite's autocommit flag
 * tells whether one is open, so nothing here tracks it separately.
 *
 * A db_stmt is one prepared INSERT. Its table and columns are checked against sqlite_master
 * and pragma_table_info before preparing, so the caller gets the name it got wrong and the
 * names it could have used instead of SQLite's bare "no such column". Bind calls cannot
 * report errors (they sit in the per-row hot path); the first failure is kept in the
 * statement and returned by the next db_insert_exec, which always resets the statement and
 * clears its bindings, so a failed row never leaks values into the next.
 *
 * db_query_texts and db_merge_from are described where they are defined, at the end.
 *
 * Every SQLite failure becomes a sim_status through db_fail (merge_fail while merging, to
 * name the source file), which reads sqlite3_errmsg right after the failing call (before any
 * reset can change it) and records whether it was a lock timeout for db_last_busy.
 */
#include "out/db.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_sql.h"

#ifndef CLUSTERSIM_VERSION
#define CLUSTERSIM_VERSION "unknown"
#endif

#define DB_STR2(x) #x
#define DB_STR(x) DB_STR2(x)
#define DB_SCHEMA_VERSION_TEXT DB_STR(DB_SCHEMA_VERSION)

/* Longest meta.schema_version quoted in a message. */
#define DB_VERSION_TEXT_MAX 64

struct db {
    sqlite3 *conn;
    char *path;       /* as given to db_open; the file of every status */
    int busy_ms;      /* current busy timeout, quoted in busy messages */
    int last_busy;    /* the last failure was SQLITE_BUSY / SQLITE_LOCKED */
    size_t open_stmts; /* db_stmts not yet finished */
};

struct db_stmt {
    db *d;
    sqlite3_stmt *stmt;
    size_t n;       /* columns of the insert */
    int bind_rc;    /* first failed bind since the last exec; SQLITE_OK if none */
    size_t bind_col; /* its column */
    char table[];   /* table name, for messages */
};

/* Growable text for generated SQL and name lists; oom is sticky. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sbuf_add_n(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sbuf_add(sbuf *b, const char *s)
{
    sbuf_add_n(b, s, strlen(s));
}

/* Appends name as a quoted SQL identifier ("a""b" for a"b). */
static void sbuf_add_ident(sbuf *b, const char *name)
{
    sbuf_add(b, "\"");
    for (const char *c = name; *c; c++) {
        if (*c == '"')
            sbuf_add(b, "\"");
        sbuf_add_n(b, c, 1);
    }
    sbuf_add(b, "\"");
}

/*
 * Appends path as an SQLite URI filename: "file:" (or "file://" before an absolute path, so
 * that "//x" is never read as a host) and the path with every byte other than letters,
 * digits and "-._~/:" percent-encoded, so that no '?', '#' or '%' in a name is ever read as
 * URI syntax. The connection opens with SQLITE_OPEN_URI only so that an ATTACH can ask for
 * mode=ro (db_merge_from); every path goes through here so that it still names the same
 * file it named before.
 */
static void sbuf_add_uri(sbuf *b, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    sbuf_add(b, path[0] == '/' ? "file://" : "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~/:", *c)) {
            sbuf_add_n(b, (const char *)c, 1);
        } else {
            char e[3] = {'%', hex[*c >> 4], hex[*c & 15]};
            sbuf_add_n(b, e, 3);
        }
    }
}

/* The text of b, "" when empty or out of memory. */
static const char *sbuf_str(const sbuf *b)
{
    return b->p && !b->oom ? b->p : "";
}

/* The sim_code for SQLite result rc; sql_code is what a plain SQLITE_ERROR means here. */
static sim_code code_of(int rc, sim_code sql_code)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM: return SIM_ERR_NOMEM;
    case SQLITE_TOOBIG: return SIM_ERR_LIMIT;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_MISUSE: return SIM_ERR_INTERNAL;
    case SQLITE_ERROR: return sql_code;
    default: return SIM_ERR_IO;
    }
}

static sim_code db_fail(db *d, int rc, sim_code sql_code, sim_status *st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/*
 * Fills st for the SQLite failure rc on d: "<what>: <SQLite's message>", where what is
 * printf-formatted, and records whether it was a lock timeout.
 */
static sim_code db_fail(db *d, int rc, sim_code sql_code, sim_status *st, const char *fmt, ...)
{
    char what[SIM_STATUS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int prim = rc & 0xff;
    d->last_busy = prim == SQLITE_BUSY || prim == SQLITE_LOCKED;
    const char *why = sqlite3_errmsg(d->conn);
    if (d->last_busy)
        return sim_status_set(st, SIM_ERR_IO, d->path, 0, 0,
                              "%s: %s (another connection kept the write lock for longer than "
                              "the busy timeout of %d ms)",
                              what, why, d->busy_ms);
    return sim_status_set(st, code_of(rc, sql_code), d->path, 0, 0, "%s: %s", what, why);
}

/* Runs sql; failures are reported as "<what>: <reason>" with what = "%s" of ctx and path. */
static sim_code exec_sql(db *d, const char *sql, sim_code sql_code, const char *ctx,
                         sim_status *st)
{
    int rc = sqlite3_exec(d->conn, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(d, rc, sql_code, st, "%s '%s'", ctx, d->path);
    return SIM_OK;
}

/*
 * Runs the one-row query sql and copies column 0 of its first row, as text, into buf
 * (truncated to cap - 1 bytes); *found is 0 when there is no row or the value is NULL.
 * A failure reads "<ctx> '<path>': <reason>".
 */
static sim_code query_text(db *d, const char *sql, const char *ctx, char *buf, size_t cap,
                           int *found, sim_status *st)
{
    sqlite3_stmt *q = NULL;
    *found = 0;
    buf[0] = '\0';
    sim_code code = SIM_OK;
    int rc = sqlite3_prepare_v2(d->conn, sql, -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(q, 0);
        if (t) {
            size_t n = strlen((const char *)t);
            if (n >= cap)
                n = cap - 1;
            memcpy(buf, t, n);
            buf[n] = '\0';
            *found = 1;
        } else if (sqlite3_errcode(d->conn) == SQLITE_NOMEM) {
            rc = SQLITE_NOMEM;
        }
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        code = db_fail(d, rc, SIM_ERR_IO, st, "%s '%s'", ctx, d->path);
    sqlite3_finalize(q);
    return code;
}

/* Reads meta.schema_version into buf; *state: 0 no meta table, 1 meta without it, 2 read. */
static sim_code version_read(db *d, char *buf, size_t cap, int *state, sim_status *st)
{
    char n[32];
    int found = 0;
    *state = 0;
    buf[0] = '\0';
    sim_code rc = query_text(d,
                             "SELECT count(*) FROM sqlite_master "
                             "WHERE type = 'table' AND name = 'meta'",
                             "cannot read results database", n, sizeof n, &found, st);
    if (rc == SIM_OK && strcmp(n, "0") != 0) {
        *state = 1;
        rc = query_text(d, "SELECT value FROM meta WHERE key = 'schema_version'",
                        "cannot read results database", buf, cap, &found, st);
        if (rc == SIM_OK && found)
            *state = 2;
    }
    return rc;
}

/* Steps 1-3 of the open sequence (see the top of this file), in one transaction. */
static sim_code schema_create(db *d, sim_status *st)
{
    char have[DB_VERSION_TEXT_MAX];
    char n[32];
    int state = 0, found = 0;
    sim_code rc = db_begin(d, st);
    if (rc != SIM_OK)
        return rc;
    rc = version_read(d, have, sizeof have, &state, st);
    if (rc == SIM_OK && state == 2 && strcmp(have, DB_SCHEMA_VERSION_TEXT) != 0)
        rc = sim_status_set(st, SIM_ERR_INPUT, d->path, 0, 0,
                            "results database '%s' has schema version %s; this clustersim (%s) "
                            "reads schema version %d only",
                            d->path, have, CLUSTERSIM_VERSION, DB_SCHEMA_VERSION);
    if (rc == SIM_OK && state == 1)
        rc = sim_status_set(st, SIM_ERR_INPUT, d->path, 0, 0,
                            "'%s' is not a clustersim results database: its meta table has no "
                            "schema_version",
                            d->path);
    if (rc == SIM_OK && state == 0) {
        rc = query_text(d, "SELECT count(*) FROM sqlite_master", "cannot read results database",
                        n, sizeof n, &found, st);
        if (rc == SIM_OK && strcmp(n, "0") != 0)
            rc = sim_status_set(st, SIM_ERR_INPUT, d->path, 0, 0,
                                "'%s' is not a clustersim results database: it holds tables "
                                "but no meta table",
                                d->path);
    }
    if (rc == SIM_OK)
        rc = exec_sql(d, (const char *)db_schema_sql, SIM_ERR_INTERNAL,
                      "cannot create the schema in results database", st);
    if (rc == SIM_OK)
        rc = version_read(d, have, sizeof have, &state, st);
    if (rc == SIM_OK && (state != 2 || strcmp(have, DB_SCHEMA_VERSION_TEXT) != 0))
        rc = sim_status_set(st, SIM_ERR_INTERNAL, d->path, 0, 0,
                            "sim/out/schema.sql sets schema_version '%s' but db.h says %d",
                            have, DB_SCHEMA_VERSION);
    if (rc == SIM_OK)
        rc = db_commit(d, st);
    if (rc != SIM_OK)
        db_rollback(d, NULL);
    return rc;
}

/* Turns on WAL; only a database without a file (in memory, temporary) may refuse. */
static sim_code wal_enable(db *d, sim_status *st)
{
    char mode[32];
    int found = 0;
    sim_code rc = query_text(d, "PRAGMA journal_mode = WAL", "cannot open results database",
                             mode, sizeof mode, &found, st);
    const char *file = sqlite3_db_filename(d->conn, "main");
    if (rc == SIM_OK && strcmp(mode, "wal") != 0 && file && file[0])
        rc = sim_status_set(st, SIM_ERR_IO, d->path, 0, 0,
                            "cannot open results database '%s': SQLite cannot use WAL mode "
                            "there (journal mode stays '%s')",
                            d->path, mode);
    return rc;
}

void db_run_init(db_run *row)
{
    memset(row, 0, sizeof *row);
    row->wall_s = NAN;
    row->peak_rss_bytes = -1;
    row->steps = -1;
    row->step_time_s = NAN;
    row->tokens_per_s = NAN;
    row->mfu = NAN;
    row->hfu = NAN;
    row->model_flops_per_step = NAN;
    row->hardware_flops_per_step = NAN;
    row->chips = -1;
    row->peak_memory_bytes = NAN;
}

sim_code db_open(const char *path, db **out, sim_status *st)
{
    sim_code rc = SIM_OK;
    sbuf uri = {0};
    *out = NULL;
    size_t len = strlen(path);
    db *d = calloc(1, sizeof *d);
    if (d)
        d->path = malloc(len + 1);
    if (!d || !d->path) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0,
                            "out of memory opening results database '%s'", path);
        goto done;
    }
    memcpy(d->path, path, len + 1);
    d->busy_ms = DB_BUSY_TIMEOUT_MS;
    sbuf_add_uri(&uri, path);
    if (uri.oom) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0,
                            "out of memory opening results database '%s'", path);
        goto done;
    }
    int src = sqlite3_open_v2(uri.p, &d->conn,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL);
    if (!d->conn) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0,
                            "out of memory opening results database '%s'", path);
        goto done;
    }
    if (src != SQLITE_OK) {
        int err = sqlite3_system_errno(d->conn);
        if (err)
            rc = sim_status_set(st, code_of(src, SIM_ERR_IO), path, 0, 0,
                                "cannot open results database '%s': %s (%s)", path,
                                sqlite3_errmsg(d->conn), strerror(err));
        else
            rc = db_fail(d, src, SIM_ERR_IO, st, "cannot open results database '%s'", path);
        goto done;
    }
    sqlite3_busy_timeout(d->conn, d->busy_ms);
    rc = exec_sql(d, "PRAGMA foreign_keys = ON", SIM_ERR_IO, "cannot open results database",
                  st);
    if (rc == SIM_OK)
        rc = wal_enable(d, st);
    if (rc == SIM_OK)
        rc = exec_sql(d, "PRAGMA synchronous = NORMAL", SIM_ERR_IO,
                      "cannot open results database", st);
    if (rc == SIM_OK)
        rc = schema_create(d, st);
done:
    free(uri.p);
    if (rc == SIM_OK)
        *out = d;
    else
        db_close(d);
    return rc;
}

void db_close(db *d)
{
    if (!d)
        return;
    assert(d->open_stmts == 0);
    sqlite3_close_v2(d->conn);
    free(d->path);
    free(d);
}

void db_set_busy_timeout_ms(db *d, int ms)
{
    d->busy_ms = ms > 0 ? ms : 0;
    sqlite3_busy_timeout(d->conn, d->busy_ms);
}

int db_last_busy(const db *d)
{
    return d->last_busy;
}

sim_code db_begin(db *d, sim_status *st)
{
    if (!sqlite3_get_autocommit(d->conn))
        return sim_status_set(st, SIM_ERR_INTERNAL, d->path, 0, 0,
                              "cannot begin a transaction in '%s': one is already open",
                              d->path);
    return exec_sql(d, "BEGIN IMMEDIATE", SIM_ERR_INTERNAL, "cannot begin a transaction in",
                    st);
}

sim_code db_commit(db *d, sim_status *st)
{
    if (sqlite3_get_autocommit(d->conn))
        return sim_status_set(st, SIM_ERR_INTERNAL, d->path, 0, 0,
                              "cannot commit in '%s': no transaction is open", d->path);
    return exec_sql(d, "COMMIT", SIM_ERR_INTERNAL, "cannot commit in", st);
}

sim_code db_rollback(db *d, sim_status *st)
{
    if (sqlite3_get_autocommit(d->conn))
        return SIM_OK;
    return exec_sql(d, "ROLLBACK", SIM_ERR_INTERNAL, "cannot roll back in", st);
}

/* Binders that keep the first failure in *rc and store NULL for absent values. */
static void bind_text(sqlite3_stmt *q, int i, const char *v, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = v ? sqlite3_bind_text(q, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(q, i);
}

static void bind_real(sqlite3_stmt *q, int i, double v, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = isnan(v) ? sqlite3_bind_null(q, i) : sqlite3_bind_double(q, i, v);
}

static void bind_count(sqlite3_stmt *q, int i, int64_t v, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = v < 0 ? sqlite3_bind_null(q, i) : sqlite3_bind_int64(q, i, v);
}

/* Binds the outcome and result columns of row to parameters first .. first + 12. */
static void bind_results(sqlite3_stmt *q, int first, const db_run *row, int *rc)
{
    bind_text(q, first, row->status, rc);
    bind_text(q, first + 1, row->status_reason, rc);
    bind_real(q, first + 2, row->wall_s, rc);
    bind_count(q, first + 3, row->peak_rss_bytes, rc);
    bind_count(q, first + 4, row->steps, rc);
    bind_real(q, first + 5, row->step_time_s, rc);
    bind_real(q, first + 6, row->tokens_per_s, rc);
    bind_real(q, first + 7, row->mfu, rc);
    bind_real(q, first + 8, row->hfu, rc);
    bind_real(q, first + 9, row->model_flops_per_step, rc);
    bind_real(q, first + 10, row->hardware_flops_per_step, rc);
    bind_count(q, first + 11, row->chips, rc);
    bind_real(q, first + 12, row->peak_memory_bytes, rc);
}

sim_code db_run_insert(db *d, const db_run *row, int64_t *run_id, sim_status *st)
{
    static const char sql[] =
        "INSERT INTO run (created_utc, tool_version, command, config_path, config_yaml, "
        "topology, workload, seed, status, status_reason, wall_s, peak_rss_bytes, steps, "
        "step_time_s, tokens_per_s, mfu, hfu, model_flops_per_step, hardware_flops_per_step, "
        "chips, peak_memory_bytes) VALUES (coalesce(?1, strftime('%Y-%m-%dT%H:%M:%fZ', "
        "'now')), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
        "?19, ?20, ?21)";
    sqlite3_stmt *q = NULL;
    sim_code code = SIM_OK;
    int64_t seed;
    memcpy(&seed, &row->seed, sizeof seed);
    int rc = sqlite3_prepare_v2(d->conn, sql, -1, &q, NULL);
    bind_text(q, 1, row->created_utc, &rc);
    bind_text(q, 2, row->tool_version ? row->tool_version : CLUSTERSIM_VERSION, &rc);
    bind_text(q, 3, row->command, &rc);
    bind_text(q, 4, row->config_path, &rc);
    bind_text(q, 5, row->config_yaml, &rc);
    bind_text(q, 6, row->topology, &rc);
    bind_text(q, 7, row->workload, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 8, seed);
    bind_results(q, 9, row, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc != SQLITE_DONE)
        code = db_fail(d, rc, SIM_ERR_INTERNAL, st, "cannot insert a run into '%s'", d->path);
    else if (run_id)
        *run_id = sqlite3_last_insert_rowid(d->conn);
    sqlite3_finalize(q);
    return code;
}

sim_code db_run_update_results(db *d, int64_t run_id, const db_run *row, sim_status *st)
{
    static const char sql[] =
        "UPDATE run SET status = ?1, status_reason = ?2, wall_s = ?3, peak_rss_bytes = ?4, "
        "steps = ?5, step_time_s = ?6, tokens_per_s = ?7, mfu = ?8, hfu = ?9, "
        "model_flops_per_step = ?10, hardware_flops_per_step = ?11, chips = ?12, "
        "peak_memory_bytes = ?13 WHERE run_id = ?14";
    sqlite3_stmt *q = NULL;
    sim_code code = SIM_OK;
    int rc = sqlite3_prepare_v2(d->conn, sql, -1, &q, NULL);
    bind_results(q, 1, row, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 14, run_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc != SQLITE_DONE)
        code = db_fail(d, rc, SIM_ERR_INTERNAL, st, "cannot update run %" PRId64 " in '%s'",
                       run_id, d->path);
    else if (sqlite3_changes(d->conn) == 0)
        code = sim_status_set(st, SIM_ERR_INTERNAL, d->path, 0, 0,
                              "cannot update run %" PRId64 " in '%s': no such run", run_id,
                              d->path);
    sqlite3_finalize(q);
    return code;
}

/*
 * Runs the name query sql (one text column, ?1 bound to arg when arg is not NULL), appends
 * the names to list as "a, b, c" and sets *hit to the index of the one equal to want
 * (ignoring case, as SQLite does), or -1.
 */
static sim_code names_find(db *d, const char *sql, const char *arg, const char *want,
                           sbuf *list, long *hit, sim_status *st)
{
    sqlite3_stmt *q = NULL;
    sim_code code = SIM_OK;
    long i = 0;
    *hit = -1;
    int rc = sqlite3_prepare_v2(d->conn, sql, -1, &q, NULL);
    if (rc == SQLITE_OK && arg)
        rc = sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(q);
        if (rc != SQLITE_ROW)
            break;
        const char *name = (const char *)sqlite3_column_text(q, 0);
        if (!name)
            continue;
        if (*hit < 0 && sqlite3_stricmp(name, want) == 0)
            *hit = i;
        sbuf_add(list, i ? ", " : "");
        sbuf_add(list, name);
        i++;
    }
    if (rc != SQLITE_DONE)
        code = db_fail(d, rc, SIM_ERR_INTERNAL, st, "cannot read the schema of '%s'", d->path);
    else if (list->oom)
        code = sim_status_set(st, SIM_ERR_NOMEM, d->path, 0, 0, "out of memory");
    sqlite3_finalize(q);
    return code;
}

/* Checks table and each column against the schema; errors name what was wrong. */
static sim_code insert_check(db *d, const char *table, const char *const *columns, size_t n,
                             sim_status *st)
{
    sbuf list = {0};
    long hit = -1;
    sim_code rc = names_find(d,
                             "SELECT name FROM sqlite_master WHERE type = 'table' AND "
                             "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                             NULL, table, &list, &hit, st);
    if (rc == SIM_OK && hit < 0)
        rc = sim_status_set(st, SIM_ERR_INPUT, d->path, 0, 0,
                            "unknown table '%s' in results database '%s'; expected one of: %s",
                            table, d->path, sbuf_str(&list));
    if (rc == SIM_OK && n == 0)
        rc = sim_status_set(st, SIM_ERR_INPUT, d->path, 0, 0,
                            "an insert into table '%s' names no column", table);
    for (size_t i = 0; rc == SIM_OK && i < n; i++) {
        list.len = 0;
        rc = names_find(d, "SELECT name FROM pragma_table_info(?1) ORDER BY cid", table,
                        columns[i], &list, &hit, st);
        if (rc == SIM_OK && hit < 0)
            rc = sim_status_set(st, SIM_ERR_INPUT, d->path, 0, 0,
                                "unknown column '%s' in table '%s' of results database '%s'; "
                                "expected one of: %s",
                                columns[i], table, d->path, sbuf_str(&list));
        for (size_t j = 0; rc == SIM_OK && j < i; j++)
            if (sqlite3_stricmp(columns[i], columns[j]) == 0)
                rc = sim_status_set(st, SIM_ERR_INPUT, d->path, 0, 0,
                                    "column '%s' is named twice in an insert into table '%s'",
                                    columns[i], table);
    }
    free(list.p);
    return rc;
}

sim_code db_insert_prepare(db *d, const char *table, const char *const *columns, size_t n,
                           db_stmt **out, sim_status *st)
{
    sbuf sql = {0};
    *out = NULL;
    size_t tlen = strlen(table);
    db_stmt *s = NULL;
    sim_code rc = insert_check(d, table, columns, n, st);
    if (rc != SIM_OK)
        goto done;
    sbuf_add(&sql, "INSERT INTO ");
    sbuf_add_ident(&sql, table);
    for (size_t i = 0; i < n; i++) {
        sbuf_add(&sql, i ? ", " : " (");
        sbuf_add_ident(&sql, columns[i]);
    }
    for (size_t i = 0; i < n; i++)
        sbuf_add(&sql, i ? ", ?" : ") VALUES (?");
    sbuf_add(&sql, ")");
    s = calloc(1, sizeof *s + tlen + 1);
    if (!s || sql.oom) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, d->path, 0, 0,
                            "out of memory preparing an insert into table '%s'", table);
        goto done;
    }
    memcpy(s->table, table, tlen + 1);
    s->d = d;
    s->n = n;
    s->bind_rc = SQLITE_OK;
    int src = sqlite3_prepare_v2(d->conn, sql.p, -1, &s->stmt, NULL);
    if (src != SQLITE_OK) {
        rc = db_fail(d, src, SIM_ERR_INTERNAL, st, "cannot prepare an insert into table '%s'",
                     table);
        goto done;
    }
    d->open_stmts++;
    *out = s;
    s = NULL;
done:
    if (s) {
        sqlite3_finalize(s->stmt);
        free(s);
    }
    free(sql.p);
    return rc;
}

/* Keeps the first bind failure of the row. Returns whether col may be bound. */
static int bind_ok(db_stmt *s, size_t col)
{
    if (s->bind_rc != SQLITE_OK)
        return 0;
    if (col >= s->n) {
        s->bind_rc = SQLITE_RANGE;
        s->bind_col = col;
        return 0;
    }
    return 1;
}

static void bind_done(db_stmt *s, size_t col, int rc)
{
    if (rc != SQLITE_OK && s->bind_rc == SQLITE_OK) {
        s->bind_rc = rc;
        s->bind_col = col;
    }
}

void db_insert_bind_int(db_stmt *s, size_t col, int64_t v)
{
    if (bind_ok(s, col))
        bind_done(s, col, sqlite3_bind_int64(s->stmt, (int)col + 1, v));
}

void db_insert_bind_double(db_stmt *s, size_t col, double v)
{
    if (bind_ok(s, col))
        bind_done(s, col,
                  isnan(v) ? sqlite3_bind_null(s->stmt, (int)col + 1)
                           : sqlite3_bind_double(s->stmt, (int)col + 1, v));
}

void db_insert_bind_text(db_stmt *s, size_t col, const char *v)
{
    if (bind_ok(s, col))
        bind_done(s, col,
                  v ? sqlite3_bind_text(s->stmt, (int)col + 1, v, -1, SQLITE_TRANSIENT)
                    : sqlite3_bind_null(s->stmt, (int)col + 1));
}

void db_insert_bind_null(db_stmt *s, size_t col)
{
    if (bind_ok(s, col))
        bind_done(s, col, sqlite3_bind_null(s->stmt, (int)col + 1));
}

sim_code db_insert_exec(db_stmt *s, sim_status *st)
{
    sim_code rc = SIM_OK;
    db *d = s->d;
    if (s->bind_rc == SQLITE_RANGE)
        rc = sim_status_set(st, SIM_ERR_INTERNAL, d->path, 0, 0,
                            "cannot insert into table '%s': column index %zu is out of range "
                            "(the insert names %zu columns)",
                            s->table, s->bind_col, s->n);
    else if (s->bind_rc != SQLITE_OK)
        rc = sim_status_set(st, code_of(s->bind_rc, SIM_ERR_INTERNAL), d->path, 0, 0,
                            "cannot insert into table '%s': binding column index %zu failed: "
                            "%s",
                            s->table, s->bind_col, sqlite3_errstr(s->bind_rc));
    if (rc == SIM_OK) {
        int src = sqlite3_step(s->stmt);
        if (src != SQLITE_DONE)
            rc = db_fail(d, src, SIM_ERR_INTERNAL, st, "cannot insert into table '%s'",
                         s->table);
    }
    sqlite3_reset(s->stmt);
    sqlite3_clear_bindings(s->stmt);
    s->bind_rc = SQLITE_OK;
    return rc;
}

void db_insert_finish(db_stmt *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->stmt);
    assert(s->d->open_stmts > 0);
    s->d->open_stmts--;
    free(s);
}

sim_code db_exec(db *d, const char *sql, sim_status *st)
{
    return exec_sql(d, sql, SIM_ERR_INPUT, "SQL failed in results database", st);
}

/*
 * Frees the first n strings of v and v; the cleanup of db_query_texts and db_free_texts.
 */
static void texts_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

sim_code db_query_texts(db *d, const char *sql, char ***out, size_t *n, sim_status *st)
{
    sqlite3_stmt *q = NULL, *extra = NULL;
    const char *tail = NULL;
    char **v = NULL;
    size_t len = 0, cap = 0;
    sim_code code = SIM_OK;
    *out = NULL;
    *n = 0;
    int rc = sqlite3_prepare_v2(d->conn, sql, -1, &q, &tail);
    if (rc == SQLITE_OK && tail && *tail)
        rc = sqlite3_prepare_v2(d->conn, tail, -1, &extra, NULL);
    if (rc != SQLITE_OK) {
        code = db_fail(d, rc, SIM_ERR_INPUT, st, "query failed in results database '%s'",
                       d->path);
        goto done;
    }
    if (!q || extra || !sqlite3_stmt_readonly(q) || sqlite3_column_count(q) < 1) {
        code = sim_status_set(st, SIM_ERR_INPUT, d->path, 0, 0,
                              "query refused in results database '%s': expected one read-only "
                              "statement that yields rows, got '%s'",
                              d->path, sql);
        goto done;
    }
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        char *t = NULL;
        if (sqlite3_column_type(q, 0) != SQLITE_NULL) {
            const unsigned char *c = sqlite3_column_text(q, 0);
            size_t bytes = (size_t)sqlite3_column_bytes(q, 0);
            t = c ? malloc(bytes + 1) : NULL;
            if (!t) {
                rc = SQLITE_NOMEM;
                break;
            }
            memcpy(t, c, bytes);
            t[bytes] = '\0';
        }
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            char **nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                free(t);
                rc = SQLITE_NOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[len++] = t;
    }
    if (rc == SQLITE_NOMEM)
        code = sim_status_set(st, SIM_ERR_NOMEM, d->path, 0, 0,
                              "out of memory reading a query's rows from '%s'", d->path);
    else if (rc != SQLITE_DONE)
        code = db_fail(d, rc, SIM_ERR_INPUT, st, "query failed in results database '%s'",
                       d->path);
done:
    sqlite3_finalize(extra);
    sqlite3_finalize(q);
    if (code == SIM_OK) {
        *out = v;
        *n = len;
    } else {
        texts_free(v, len);
    }
    return code;
}

void db_free_texts(char **v, size_t n)
{
    texts_free(v, n);
}

/*
 * Merging (db_merge_from). The source is attached read-only as MERGE_SRC and checked (an
 * SQLite file, a meta table, d's schema version) before anything is written. Then, in one
 * BEGIN IMMEDIATE transaction, with foreign keys deferred to the commit so that tables may
 * be copied in any order:
 *   1. temp.merge_map gets one row (src_id, new_id) per source run that is not skipped,
 *      new_id = src_id + offset with offset = max(d's run_id, 0) - min(source run_id) + 1,
 *      so new ids are above every id of d and keep the source's order;
 *   2. for every table of the source with a run_id column (run first), d's table of that
 *      name receives, by INSERT ... SELECT over named columns, the source rows of the mapped
 *      runs with run_id replaced by new_id; naming the columns (from d's schema) keeps a
 *      copy correct even if column order ever differed. A source table d lacks is refused
 *      rather than dropped; a table of d the source lacks has nothing to copy;
 *   3. the counts are read, merge_map is dropped, and the transaction commits; the deferred
 *      foreign keys are checked here, so a copied row whose parent is missing (a wan row of
 *      no link) fails the merge. (A source row of no run at all is never copied: only rows
 *      joined to merge_map are.)
 * The source is detached on every path (after the rollback, as SQLite refuses to detach
 * inside a transaction); a caller's open transaction is refused before anything, and left
 * open. Rows are copied in SQL, never through C, whatever the source's size.
 */
#define MERGE_SRC "merge_src"

/*
 * Fills st for a failure rc of SQLite while merging src into d: "cannot merge results
 * database '<src>': <reason>", st's file src; a busy lock is d's and reported by db_fail.
 * Problems of the source are input errors; i/o errors keep their code, except while
 * opening (attaching) the source, where they mean the path names no readable database (a
 * directory, say); memory keeps its code.
 */
static sim_code merge_fail(db *d, int rc, const char *src, int opening, sim_status *st)
{
    int prim = rc & 0xff;
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return db_fail(d, rc, SIM_ERR_IO, st, "cannot merge results database '%s' into '%s'",
                       src, d->path);
    sim_code code = SIM_ERR_INPUT;
    if (prim == SQLITE_NOMEM)
        code = SIM_ERR_NOMEM;
    else if ((prim == SQLITE_IOERR || prim == SQLITE_FULL) && !opening)
        code = SIM_ERR_IO;
    d->last_busy = 0;
    if (prim == SQLITE_CANTOPEN || prim == SQLITE_IOERR) {
        int err = sqlite3_system_errno(d->conn);
        return sim_status_set(st, code, src, 0, 0,
                              "cannot merge results database '%s': unable to open database "
                              "file%s%s%s",
                              src, err ? " (" : "", err ? strerror(err) : "", err ? ")" : "");
    }
    return sim_status_set(st, code, src, 0, 0, "cannot merge results database '%s': %s", src,
                          sqlite3_errmsg(d->conn));
}

/* Runs sql, which reads or writes the source; failures through merge_fail. */
static sim_code merge_exec(db *d, const char *sql, const char *src, sim_status *st)
{
    int rc = sqlite3_exec(d->conn, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? SIM_OK : merge_fail(d, rc, src, 0, st);
}

/*
 * Runs the one-row query sql and copies column 0 of its first row as text into buf
 * (truncated to cap - 1 bytes); *found is 0 when there is no row or the value is NULL.
 * Failures through merge_fail.
 */
static sim_code merge_text(db *d, const char *sql, const char *src, char *buf, size_t cap,
                           int *found, sim_status *st)
{
    sqlite3_stmt *q = NULL;
    sim_code code = SIM_OK;
    *found = 0;
    buf[0] = '\0';
    int rc = sqlite3_prepare_v2(d->conn, sql, -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(q, 0);
        if (t) {
            snprintf(buf, cap, "%s", (const char *)t);
            *found = 1;
        } else if (sqlite3_errcode(d->conn) == SQLITE_NOMEM) {
            rc = SQLITE_NOMEM;
        }
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        code = merge_fail(d, rc, src, 0, st);
    sqlite3_finalize(q);
    return code;
}

/* The count query sql yields, into *v. */
static sim_code merge_count(db *d, const char *sql, const char *src, size_t *v,
                            sim_status *st)
{
    char buf[32];
    int found = 0;
    sim_code rc = merge_text(d, sql, src, buf, sizeof buf, &found, st);
    *v = rc == SIM_OK && found ? (size_t)strtoull(buf, NULL, 10) : 0;
    return rc;
}

/* Attaches src read-only as MERGE_SRC; *attached is set once it is. */
static sim_code merge_attach(db *d, const char *src, int *attached, sim_status *st)
{
    sbuf uri = {0};
    sqlite3_stmt *q = NULL;
    sim_code code = SIM_OK;
    sbuf_add_uri(&uri, src);
    sbuf_add(&uri, "?mode=ro");
    if (uri.oom) {
        code = sim_status_set(st, SIM_ERR_NOMEM, src, 0, 0,
                              "out of memory merging results database '%s'", src);
        goto done;
    }
    int rc = sqlite3_prepare_v2(d->conn, "ATTACH DATABASE ?1 AS " MERGE_SRC, -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(q, 1, uri.p, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc == SQLITE_DONE)
        *attached = 1;
    else
        code = merge_fail(d, rc, src, 1, st);
done:
    sqlite3_finalize(q);
    free(uri.p);
    return code;
}

/* Refuses a source that is not a clustersim results database of d's schema version. */
static sim_code merge_check_source(db *d, const char *src, sim_status *st)
{
    char have[DB_VERSION_TEXT_MAX];
    int found = 0;
    size_t metas = 0;
    sim_code rc = merge_count(d,
                              "SELECT count(*) FROM " MERGE_SRC ".sqlite_master "
                              "WHERE type = 'table' AND name = 'meta'",
                              src, &metas, st);
    if (rc == SIM_OK && metas == 0)
        rc = sim_status_set(st, SIM_ERR_INPUT, src, 0, 0,
                            "cannot merge results database '%s': it is not a clustersim "
                            "results database (it has no meta table)",
                            src);
    if (rc == SIM_OK)
        rc = merge_text(d,
                        "SELECT value FROM " MERGE_SRC ".meta WHERE key = 'schema_version'",
                        src, have, sizeof have, &found, st);
    if (rc == SIM_OK && !found)
        rc = sim_status_set(st, SIM_ERR_INPUT, src, 0, 0,
                            "cannot merge results database '%s': it is not a clustersim "
                            "results database (its meta table has no schema_version)",
                            src);
    if (rc == SIM_OK && strcmp(have, DB_SCHEMA_VERSION_TEXT) != 0)
        rc = sim_status_set(st, SIM_ERR_INPUT, src, 0, 0,
                            "cannot merge results database '%s': it has schema version %s but "
                            "'%s' has schema version %d",
                            src, have, d->path, DB_SCHEMA_VERSION);
    return rc;
}

/*
 * Copies the rows of the mapped runs of the source's table (step 2 above) into d's table of
 * that name, column by column as d's schema lists them; d must have the table.
 */
static sim_code merge_table(db *d, const char *table, const char *src, sim_status *st)
{
    sqlite3_stmt *q = NULL;
    sbuf cols = {0}, sel = {0}, sql = {0};
    sim_code code = SIM_OK;
    int rc = sqlite3_prepare_v2(d->conn,
                                "SELECT name FROM pragma_table_info(?1, 'main') ORDER BY cid",
                                -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
    for (int i = 0; rc == SQLITE_OK || rc == SQLITE_ROW; i++) {
        rc = sqlite3_step(q);
        if (rc != SQLITE_ROW)
            break;
        const char *name = (const char *)sqlite3_column_text(q, 0);
        if (!name) {
            rc = SQLITE_NOMEM;
            break;
        }
        sbuf_add(&cols, i ? ", " : "");
        sbuf_add_ident(&cols, name);
        sbuf_add(&sel, i ? ", " : "");
        if (sqlite3_stricmp(name, "run_id") == 0) {
            sbuf_add(&sel, "m.new_id");
        } else {
            sbuf_add(&sel, "s.");
            sbuf_add_ident(&sel, name);
        }
    }
    if (rc != SQLITE_DONE) {
        code = merge_fail(d, rc, src, 0, st);
        goto done;
    }
    if (cols.len == 0 && !cols.oom) {
        code = sim_status_set(st, SIM_ERR_INPUT, src, 0, 0,
                              "cannot merge results database '%s': its table '%s' has a "
                              "run_id column but '%s' has no such table",
                              src, table, d->path);
        goto done;
    }
    sbuf_add(&sql, "INSERT INTO main.");
    sbuf_add_ident(&sql, table);
    sbuf_add(&sql, " (");
    sbuf_add(&sql, sbuf_str(&cols));
    sbuf_add(&sql, ") SELECT ");
    sbuf_add(&sql, sbuf_str(&sel));
    sbuf_add(&sql, " FROM " MERGE_SRC ".");
    sbuf_add_ident(&sql, table);
    sbuf_add(&sql, " AS s JOIN temp.merge_map AS m ON m.src_id = s.run_id");
    if (cols.oom || sel.oom || sql.oom) {
        code = sim_status_set(st, SIM_ERR_NOMEM, src, 0, 0,
                              "out of memory merging results database '%s'", src);
        goto done;
    }
    code = merge_exec(d, sql.p, src, st);
done:
    sqlite3_finalize(q);
    free(cols.p);
    free(sel.p);
    free(sql.p);
    return code;
}

/* Step 1 above: the source runs to copy and their new ids. */
static const char merge_map_sql[] =
    "CREATE TEMP TABLE merge_map (src_id INTEGER PRIMARY KEY, new_id INTEGER NOT NULL);"
    "INSERT INTO temp.merge_map (src_id, new_id) "
    "SELECT s.run_id, s.run_id + (SELECT coalesce(max(run_id), 0) FROM main.run) "
    "                 - (SELECT min(run_id) FROM " MERGE_SRC ".run) + 1 "
    "FROM " MERGE_SRC ".run AS s "
    "WHERE NOT CASE "
    "  WHEN EXISTS (SELECT 1 FROM " MERGE_SRC ".sweep_param AS p "
    "               WHERE p.run_id = s.run_id AND p.key = '_point') "
    "  THEN EXISTS (SELECT 1 FROM " MERGE_SRC ".sweep_param AS p "
    "               JOIN main.sweep_param AS o ON o.key = '_point' AND o.value IS p.value "
    "               WHERE p.run_id = s.run_id AND p.key = '_point') "
    "  ELSE EXISTS (SELECT 1 FROM main.run AS o "
    "               WHERE o.created_utc = s.created_utc AND o.seed = s.seed "
    "                 AND o.config_path IS s.config_path AND o.config_yaml IS s.config_yaml) "
    "END "
    "ORDER BY s.run_id";

/*
 * The source's tables with a run_id column, run first, then in the order they were created
 * (parents before children, although deferred foreign keys would allow any order).
 */
static const char merge_tables_sql[] =
    "SELECT m.name FROM " MERGE_SRC ".sqlite_master AS m "
    "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
    "  AND EXISTS (SELECT 1 FROM pragma_table_info(m.name, '" MERGE_SRC "') AS c "
    "              WHERE c.name = 'run_id' COLLATE NOCASE) "
    "ORDER BY m.name <> 'run', m.rowid";

sim_code db_merge_from(db *d, const char *src_path, size_t *merged, size_t *skipped,
                       sim_status *st)
{
    char **tables = NULL;
    size_t n_tables = 0, n_src = 0, n_new = 0;
    int attached = 0, began = 0;
    sim_code rc = SIM_OK;
    if (merged)
        *merged = 0;
    if (skipped)
        *skipped = 0;
    if (!sqlite3_get_autocommit(d->conn)) {
        rc = sim_status_set(st, SIM_ERR_INTERNAL, d->path, 0, 0,
                            "cannot merge into '%s': a transaction is already open", d->path);
        goto done;
    }
    rc = merge_attach(d, src_path, &attached, st);
    if (rc == SIM_OK)
        rc = merge_check_source(d, src_path, st);
    if (rc == SIM_OK)
        rc = db_begin(d, st);
    began = rc == SIM_OK;
    if (rc == SIM_OK)
        rc = exec_sql(d, "PRAGMA defer_foreign_keys = ON", SIM_ERR_INTERNAL,
                      "cannot merge into", st);
    if (rc == SIM_OK)
        rc = merge_exec(d, merge_map_sql, src_path, st);
    if (rc == SIM_OK)
        rc = db_query_texts(d, merge_tables_sql, &tables, &n_tables, st);
    for (size_t i = 0; rc == SIM_OK && i < n_tables; i++)
        rc = merge_table(d, tables[i], src_path, st);
    if (rc == SIM_OK)
        rc = merge_count(d, "SELECT count(*) FROM " MERGE_SRC ".run", src_path, &n_src, st);
    if (rc == SIM_OK)
        rc = merge_count(d, "SELECT count(*) FROM temp.merge_map", src_path, &n_new, st);
    if (rc == SIM_OK)
        rc = merge_exec(d, "DROP TABLE temp.merge_map", src_path, st);
    if (rc == SIM_OK)
        rc = merge_exec(d, "COMMIT", src_path, st);
done:
    if (rc != SIM_OK && began)
        db_rollback(d, NULL);
    if (attached) {
        sim_status detach_st;
        sim_code drc = merge_exec(d, "DETACH DATABASE " MERGE_SRC, src_path, &detach_st);
        if (rc == SIM_OK && drc != SIM_OK) {
            rc = drc;
            if (st)
                *st = detach_st;
        }
    }
    if (rc == SIM_OK) {
        if (merged)
            *merged = n_new;
        if (skipped)
            *skipped = n_src - n_new;
    }
    db_free_texts(tables, n_tables);
    return rc;
}
