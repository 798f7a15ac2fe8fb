/*
 * db_int.h: what the files of the results database recorder share (db.c, db_insert.c,
 * db_query.c, db_merge.c); private to sim/out/db*.c, never included elsewhere. Only these
 * files see <sqlite3.h>.
 *
 * Internal functions carry the db__ prefix. Each reads sqlite3_errmsg right after the
 * failing call, so a caller must not call SQLite in between.
 */
#ifndef SIM_OUT_DB_INT_H
#define SIM_OUT_DB_INT_H

#include <sqlite3.h>
#include <stddef.h>

#include "core/status.h"
#include "core/vec.h"
#include "out/db.h"

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

/* Growable text for generated SQL and name lists; oom is sticky. text.v is NUL-terminated
 * once anything was added (NULL before); free it with sim_vec_free(&b.text). */
typedef struct sbuf {
    SIM_VEC(char) text;
    int oom;
} sbuf;

/* Appends the n bytes of s (s, a C string; name, as a quoted SQL identifier, "a""b" for a"b;
 * path, as an SQLite URI filename naming the same file, see db.c). */
void db__sbuf_add_n(sbuf *b, const char *s, size_t n);
void db__sbuf_add(sbuf *b, const char *s);
void db__sbuf_add_ident(sbuf *b, const char *name);
void db__sbuf_add_uri(sbuf *b, const char *path);

/* The text of b, "" when empty or out of memory. */
const char *db__sbuf_str(const sbuf *b);

/* The sim_code for SQLite result rc; sql_code is what a plain SQLITE_ERROR means here. */
sim_code db__code_of(int rc, sim_code sql_code);

/*
 * Fills st for the SQLite failure rc on d: "<what>: <SQLite's message>", where what is
 * printf-formatted, and records whether it was a lock timeout (db_last_busy). Returns st's
 * code.
 */
sim_code db__fail(db *d, int rc, sim_code sql_code, sim_status *st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Runs sql; failures are reported as "<what>: <reason>" with what = "%s" of ctx and path. */
sim_code db__exec_sql(db *d, const char *sql, sim_code sql_code, const char *ctx,
                      sim_status *st);

#endif
