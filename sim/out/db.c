/*
 * db.c: the results database recorder on SQLite (see db.h for the contract).
 *
 * Opening runs, in order: sqlite3_open_v2 (read-write, create; the path passed as a URI
 * filename that names exactly the file the plain path names, see db__sbuf_add_uri), the busy
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
 * The recorder spans files that share db_int.h: this one (the connection, the schema, the
 * transactions, run rows, and the helpers every file uses: growable SQL text, SQLite
 * failures as sim_status), db_insert.c (db_stmt), db_query.c (db_query_texts) and
 * db_merge.c (db_merge_from).
 *
 * Every SQLite failure becomes a sim_status through db__fail (merge_fail while merging, to
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

#include "out/db_int.h"
#include "schema_sql.h"

#ifndef CLUSTERSIM_VERSION
#define CLUSTERSIM_VERSION "unknown"
#endif

void db__sbuf_add_n(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (sim_vec_reserve(&b->text, b->text.n + n + 1) != 0) {
        b->oom = 1;
        return;
    }
    memcpy(b->text.v + b->text.n, s, n);
    b->text.n += n;
    b->text.v[b->text.n] = '\0';
}

void db__sbuf_add(sbuf *b, const char *s)
{
    db__sbuf_add_n(b, s, strlen(s));
}

/* Appends name as a quoted SQL identifier ("a""b" for a"b). */
void db__sbuf_add_ident(sbuf *b, const char *name)
{
    db__sbuf_add(b, "\"");
    for (const char *c = name; *c; c++) {
        if (*c == '"')
            db__sbuf_add(b, "\"");
        db__sbuf_add_n(b, c, 1);
    }
    db__sbuf_add(b, "\"");
}

/*
 * Appends path as an SQLite URI filename: "file:" (or "file://" before an absolute path, so
 * that "//x" is never read as a host) and the path with every byte other than letters,
 * digits and "-._~/:" percent-encoded, so that no '?', '#' or '%' in a name is ever read as
 * URI syntax. The connection opens with SQLITE_OPEN_URI only so that an ATTACH can ask for
 * mode=ro (db_merge_from); every path goes through here so that it still names the same
 * file it named before.
 */
void db__sbuf_add_uri(sbuf *b, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    db__sbuf_add(b, path[0] == '/' ? "file://" : "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~/:", *c)) {
            db__sbuf_add_n(b, (const char *)c, 1);
        } else {
            char e[3] = {'%', hex[*c >> 4], hex[*c & 15]};
            db__sbuf_add_n(b, e, 3);
        }
    }
}

/* The text of b, "" when empty or out of memory. */
const char *db__sbuf_str(const sbuf *b)
{
    return b->text.v && !b->oom ? b->text.v : "";
}

/* The sim_code for SQLite result rc; sql_code is what a plain SQLITE_ERROR means here. */
sim_code db__code_of(int rc, sim_code sql_code)
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

/*
 * Fills st for the SQLite failure rc on d: "<what>: <SQLite's message>", where what is
 * printf-formatted, and records whether it was a lock timeout.
 */
sim_code db__fail(db *d, int rc, sim_code sql_code, sim_status *st, const char *fmt, ...)
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
    return sim_status_set(st, db__code_of(rc, sql_code), d->path, 0, 0, "%s: %s", what, why);
}

/* Runs sql; failures are reported as "<what>: <reason>" with what = "%s" of ctx and path. */
sim_code db__exec_sql(db *d, const char *sql, sim_code sql_code, const char *ctx,
                      sim_status *st)
{
    int rc = sqlite3_exec(d->conn, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db__fail(d, rc, sql_code, st, "%s '%s'", ctx, d->path);
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
        code = db__fail(d, rc, SIM_ERR_IO, st, "%s '%s'", ctx, d->path);
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
        rc = db__exec_sql(d, (const char *)db_schema_sql, SIM_ERR_INTERNAL,
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
    row->mfu_causal = NAN;
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
    db__sbuf_add_uri(&uri, path);
    if (uri.oom) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0,
                            "out of memory opening results database '%s'", path);
        goto done;
    }
    int src = sqlite3_open_v2(uri.text.v, &d->conn,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL);
    if (!d->conn) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0,
                            "out of memory opening results database '%s'", path);
        goto done;
    }
    if (src != SQLITE_OK) {
        int err = sqlite3_system_errno(d->conn);
        if (err)
            rc = sim_status_set(st, db__code_of(src, SIM_ERR_IO), path, 0, 0,
                                "cannot open results database '%s': %s (%s)", path,
                                sqlite3_errmsg(d->conn), strerror(err));
        else
            rc = db__fail(d, src, SIM_ERR_IO, st, "cannot open results database '%s'", path);
        goto done;
    }
    sqlite3_busy_timeout(d->conn, d->busy_ms);
    rc = db__exec_sql(d, "PRAGMA foreign_keys = ON", SIM_ERR_IO, "cannot open results database",
                      st);
    if (rc == SIM_OK)
        rc = wal_enable(d, st);
    if (rc == SIM_OK)
        rc = db__exec_sql(d, "PRAGMA synchronous = NORMAL", SIM_ERR_IO,
                          "cannot open results database", st);
    if (rc == SIM_OK)
        rc = schema_create(d, st);
done:
    sim_vec_free(&uri.text);
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
    return db__exec_sql(d, "BEGIN IMMEDIATE", SIM_ERR_INTERNAL, "cannot begin a transaction in",
                        st);
}

sim_code db_commit(db *d, sim_status *st)
{
    if (sqlite3_get_autocommit(d->conn))
        return sim_status_set(st, SIM_ERR_INTERNAL, d->path, 0, 0,
                              "cannot commit in '%s': no transaction is open", d->path);
    return db__exec_sql(d, "COMMIT", SIM_ERR_INTERNAL, "cannot commit in", st);
}

sim_code db_rollback(db *d, sim_status *st)
{
    if (sqlite3_get_autocommit(d->conn))
        return SIM_OK;
    return db__exec_sql(d, "ROLLBACK", SIM_ERR_INTERNAL, "cannot roll back in", st);
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

/* Binds the outcome and result columns of row to parameters first .. first + 13. */
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
    bind_real(q, first + 13, row->mfu_causal, rc);
}

sim_code db_run_insert(db *d, const db_run *row, int64_t *run_id, sim_status *st)
{
    static const char sql[] =
        "INSERT INTO run (created_utc, tool_version, command, config_path, config_yaml, "
        "topology, workload, seed, status, status_reason, wall_s, peak_rss_bytes, steps, "
        "step_time_s, tokens_per_s, mfu, hfu, model_flops_per_step, hardware_flops_per_step, "
        "chips, peak_memory_bytes, mfu_causal) VALUES (coalesce(?1, "
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
        "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)";
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
        code = db__fail(d, rc, SIM_ERR_INTERNAL, st, "cannot insert a run into '%s'", d->path);
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
        "peak_memory_bytes = ?13, mfu_causal = ?14 WHERE run_id = ?15";
    sqlite3_stmt *q = NULL;
    sim_code code = SIM_OK;
    int rc = sqlite3_prepare_v2(d->conn, sql, -1, &q, NULL);
    bind_results(q, 1, row, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 15, run_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc != SQLITE_DONE)
        code = db__fail(d, rc, SIM_ERR_INTERNAL, st, "cannot update run %" PRId64 " in '%s'",
                        run_id, d->path);
    else if (sqlite3_changes(d->conn) == 0)
        code = sim_status_set(st, SIM_ERR_INTERNAL, d->path, 0, 0,
                              "cannot update run %" PRId64 " in '%s': no such run", run_id,
                              d->path);
    sqlite3_finalize(q);
    return code;
}

sim_code db_exec(db *d, const char *sql, sim_status *st)
{
    return db__exec_sql(d, sql, SIM_ERR_INPUT, "SQL failed in results database", st);
}
