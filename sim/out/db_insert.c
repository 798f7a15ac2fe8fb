/*
 * db_insert.c: db_stmt, a prepared INSERT into any table of the results database (see db.h
 * for the contract).
 *
 * A db_stmt is one prepared INSERT. Its table and columns are checked against sqlite_master
 * and pragma_table_info before preparing, so the caller gets the name it got wrong and the
 * names it could have used instead of SQLite's bare "no such column". Bind calls cannot
 * report errors (they sit in the per-row hot path); the first failure is kept in the
 * statement and returned by the next db_insert_exec, which always resets the statement and
 * clears its bindings, so a failed row never leaks values into the next. Every open
 * statement is counted in its db (open_stmts), so db_close can assert none is left.
 */
#include <assert.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "out/db.h"
#include "out/db_int.h"

struct db_stmt {
    db *d;
    sqlite3_stmt *stmt;
    size_t n;       /* columns of the insert */
    int bind_rc;    /* first failed bind since the last exec; SQLITE_OK if none */
    size_t bind_col; /* its column */
    char table[];   /* table name, for messages */
};

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
        db__sbuf_add(list, i ? ", " : "");
        db__sbuf_add(list, name);
        i++;
    }
    if (rc != SQLITE_DONE)
        code = db__fail(d, rc, SIM_ERR_INTERNAL, st, "cannot read the schema of '%s'", d->path);
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
                            table, d->path, db__sbuf_str(&list));
    if (rc == SIM_OK && n == 0)
        rc = sim_status_set(st, SIM_ERR_INPUT, d->path, 0, 0,
                            "an insert into table '%s' names no column", table);
    for (size_t i = 0; rc == SIM_OK && i < n; i++) {
        list.text.n = 0;
        rc = names_find(d, "SELECT name FROM pragma_table_info(?1) ORDER BY cid", table,
                        columns[i], &list, &hit, st);
        if (rc == SIM_OK && hit < 0)
            rc = sim_status_set(st, SIM_ERR_INPUT, d->path, 0, 0,
                                "unknown column '%s' in table '%s' of results database '%s'; "
                                "expected one of: %s",
                                columns[i], table, d->path, db__sbuf_str(&list));
        for (size_t j = 0; rc == SIM_OK && j < i; j++)
            if (sqlite3_stricmp(columns[i], columns[j]) == 0)
                rc = sim_status_set(st, SIM_ERR_INPUT, d->path, 0, 0,
                                    "column '%s' is named twice in an insert into table '%s'",
                                    columns[i], table);
    }
    sim_vec_free(&list.text);
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
    db__sbuf_add(&sql, "INSERT INTO ");
    db__sbuf_add_ident(&sql, table);
    for (size_t i = 0; i < n; i++) {
        db__sbuf_add(&sql, i ? ", " : " (");
        db__sbuf_add_ident(&sql, columns[i]);
    }
    for (size_t i = 0; i < n; i++)
        db__sbuf_add(&sql, i ? ", ?" : ") VALUES (?");
    db__sbuf_add(&sql, ")");
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
    int src = sqlite3_prepare_v2(d->conn, sql.text.v, -1, &s->stmt, NULL);
    if (src != SQLITE_OK) {
        rc = db__fail(d, src, SIM_ERR_INTERNAL, st, "cannot prepare an insert into table '%s'",
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
    sim_vec_free(&sql.text);
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

void db_insert_bind_figure(db_stmt *s, size_t col, double v)
{
    db_insert_bind_double(s, col, isfinite(v) ? v : NAN);
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
        rc = sim_status_set(st, db__code_of(s->bind_rc, SIM_ERR_INTERNAL), d->path, 0, 0,
                            "cannot insert into table '%s': binding column index %zu failed: "
                            "%s",
                            s->table, s->bind_col, sqlite3_errstr(s->bind_rc));
    if (rc == SIM_OK) {
        int src = sqlite3_step(s->stmt);
        if (src != SQLITE_DONE)
            rc = db__fail(d, src, SIM_ERR_INTERNAL, st, "cannot insert into table '%s'",
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
