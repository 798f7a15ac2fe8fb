/*
 * db.h: the results database recorder (SQLite), the only module that sees <sqlite3.h>
 * (db.c, db_insert.c, db_query.c, db_merge.c, sharing the private db_int.h).
 *
 * One database file holds many runs; sim/out/schema.sql is its schema and
 * analysis/SCHEMA.md documents it. A db handle is one connection: opening creates the
 * schema when absent and refuses a file written for another schema version. The file is in
 * WAL mode, so readers (analysis scripts) never block the writer, and writers from several
 * processes (a sweep) queue on the busy timeout.
 *
 * Writes belong in transactions (db_begin ... db_commit): a process that dies before its
 * commit leaves no row of that transaction behind. db_begin takes the write lock at once
 * (BEGIN IMMEDIATE), so two writers never deadlock upgrading read locks; the second waits up
 * to the busy timeout and then fails.
 *
 * Other modules write rows through db_run_insert / db_run_update_results for the run table
 * and through a db_stmt, a prepared INSERT into any table of the schema, for the rest.
 *
 * Errors: every fallible call returns a sim_code and fills st, whose file is the database
 * path. SIM_ERR_IO: the file cannot be opened, read or written, is not an SQLite database,
 * or its write lock stayed busy past the timeout (then db_last_busy is 1). SIM_ERR_INPUT: a
 * database of another schema version or another program, an unknown table or column, bad
 * SQL given to db_exec. SIM_ERR_INTERNAL: a row that breaks a constraint of the schema (a
 * duplicate key, a missing parent row, a kind outside its list), misuse. SIM_ERR_NOMEM.
 *
 * A handle is used by one thread at a time and never carried across fork().
 */
#ifndef SIM_OUT_DB_H
#define SIM_OUT_DB_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* The schema version this build reads and writes; equal to meta.schema_version. */
#define DB_SCHEMA_VERSION 8

/* Busy timeout db_open sets: how long a writer waits for another's transaction. */
#define DB_BUSY_TIMEOUT_MS 30000

typedef struct db db;
typedef struct db_stmt db_stmt;

/*
 * The columns of one run row. Strings are borrowed for the duration of the call (SQLite
 * copies them). A NULL string, a NaN double or a negative integer (for the counts
 * peak_rss_bytes, steps, chips) is stored as SQL NULL; db_run_init sets every field so.
 */
typedef struct db_run {
    const char *created_utc;  /* NULL: now, as 'YYYY-MM-DDTHH:MM:SS.SSSZ' */
    const char *tool_version; /* NULL: this build's CLUSTERSIM_VERSION */
    const char *command;      /* required: 'run', 'topo', 'sweep', ... */
    const char *config_path;
    const char *config_yaml; /* the full resolved configuration */
    const char *topology;
    const char *workload;
    uint64_t seed; /* stored as the int64 with the same bits */
    const char *status; /* NULL (not finished), 'ok', 'failed' or 'stopped' */
    const char *status_reason;
    double wall_s;
    int64_t peak_rss_bytes;
    /* Results of the step replay. */
    int64_t steps;
    double step_time_s;
    double tokens_per_s;
    double mfu;
    double hfu;
    double model_flops_per_step;
    double hardware_flops_per_step;
    int64_t chips;
    double peak_memory_bytes;
    double mfu_causal; /* mfu under the causal convention (mfu: PaLM's, full scores) */
} db_run;

/* Sets every string of *row to NULL, every double to NaN, every count to -1, seed to 0. */
void db_run_init(db_run *row);

/*
 * Opens the database at path (copied), creating the file and the schema when absent, and
 * sets *out to a handle owned by the caller until db_close. Sets journal_mode=WAL,
 * synchronous=NORMAL, foreign_keys=ON and a busy timeout of DB_BUSY_TIMEOUT_MS; creates the
 * schema in one transaction. On failure *out is NULL and nothing is left open.
 * Errors: SIM_ERR_IO when the file cannot be opened or is not an SQLite database (the
 * message names the path and gives SQLite's reason), or when another writer holds the lock
 * past the timeout; SIM_ERR_INPUT for a database whose meta.schema_version is not
 * DB_SCHEMA_VERSION (the message names the file and both versions) or an SQLite database
 * of another program (tables but no meta); SIM_ERR_NOMEM.
 */
sim_code db_open(const char *path, db **out, sim_status *st);

/*
 * Closes d and frees it; accepts NULL. An open transaction is rolled back. Every db_stmt of
 * d must have been finished before.
 */
void db_close(db *d);

/* Sets how long a writer waits for the lock (ms; <= 0: fail at once). For tests, tools. */
void db_set_busy_timeout_ms(db *d, int ms);

/*
 * 1 when the most recent failure SQLite reported on d was the database staying locked past
 * the busy timeout (another connection's transaction), else 0.
 */
int db_last_busy(const db *d);

/*
 * Starts a write transaction (BEGIN IMMEDIATE), waiting up to the busy timeout for another
 * connection's to end. Errors: SIM_ERR_IO (busy: db_last_busy(d) is 1; or an i/o error),
 * SIM_ERR_INTERNAL when a transaction is already open.
 */
sim_code db_begin(db *d, sim_status *st);

/* Commits the open transaction. Errors: SIM_ERR_IO, SIM_ERR_INTERNAL (none open). */
sim_code db_commit(db *d, sim_status *st);

/*
 * Rolls the open transaction back; without one it does nothing and returns SIM_OK, so it is
 * safe on every cleanup path. Errors: SIM_ERR_IO.
 */
sim_code db_rollback(db *d, sim_status *st);

/*
 * Inserts *row (borrowed) into run and sets *run_id (may be NULL) to the new run's id.
 * Errors: SIM_ERR_INTERNAL when a value breaks the schema (command NULL, an unknown
 * status), SIM_ERR_IO, SIM_ERR_NOMEM.
 */
sim_code db_run_insert(db *d, const db_run *row, int64_t *run_id, sim_status *st);

/*
 * Overwrites the outcome and result columns of run run_id (status, status_reason, wall_s,
 * peak_rss_bytes, steps, step_time_s, tokens_per_s, mfu, hfu, model_flops_per_step,
 * hardware_flops_per_step, chips, peak_memory_bytes) with those of *row (borrowed; NULL /
 * NaN / negative store NULL). The identity columns (created_utc ... seed) are left as
 * inserted. Errors: SIM_ERR_INTERNAL when no run has that id or a value breaks the schema,
 * SIM_ERR_IO, SIM_ERR_NOMEM.
 */
sim_code db_run_update_results(db *d, int64_t run_id, const db_run *row, sim_status *st);

/*
 * Prepares an INSERT of the n columns named in columns (borrowed; n >= 1, no repeats) into
 * table, and sets *out to it, owned by the caller until db_insert_finish (before db_close).
 * Errors: SIM_ERR_INPUT naming an unknown table (with the list of tables) or an unknown or
 * repeated column (with the list of the table's columns); SIM_ERR_NOMEM; SIM_ERR_IO.
 */
sim_code db_insert_prepare(db *d, const char *table, const char *const *columns, size_t n,
                           db_stmt **out, sim_status *st);

/*
 * Bind a value to column col (0-based index into the columns given to db_insert_prepare) of
 * the next row. Columns left unbound are NULL. A NaN double binds NULL. Text is copied. A
 * failure (col out of range, no memory) is kept and reported by the next db_insert_exec.
 */
void db_insert_bind_int(db_stmt *s, size_t col, int64_t v);
void db_insert_bind_double(db_stmt *s, size_t col, double v);
/* A figure that may be undefined: NULL for NaN and for an infinity (an MTBF of never). */
void db_insert_bind_figure(db_stmt *s, size_t col, double v);
void db_insert_bind_text(db_stmt *s, size_t col, const char *v); /* NULL binds NULL */
void db_insert_bind_null(db_stmt *s, size_t col);

/*
 * Inserts the bound row, then clears every binding for the next row (also on failure).
 * Errors: SIM_ERR_INTERNAL for a row that breaks the schema (duplicate key, missing parent
 * row, wrong type, value outside its list) or a failed bind, with SQLite's reason naming
 * the table; SIM_ERR_IO; SIM_ERR_NOMEM.
 */
sim_code db_insert_exec(db_stmt *s, sim_status *st);

/* Frees s; accepts NULL. */
void db_insert_finish(db_stmt *s);

/*
 * Runs sql (borrowed; one or more statements, rows discarded). For tests and tools.
 * Errors: SIM_ERR_INPUT for SQL that SQLite refuses, SIM_ERR_INTERNAL for a broken
 * constraint, SIM_ERR_IO, SIM_ERR_NOMEM.
 */
sim_code db_exec(db *d, const char *sql, sim_status *st);

/*
 * Runs sql (borrowed), one read-only statement that yields at least one column (a SELECT, a
 * read-only PRAGMA), and sets *out to the first column of every row, in the order SQLite
 * yields them, converted to text: *out is a malloc'ed array of *n malloc'ed strings, owned by
 * the caller until db_free_texts; a NULL value is a NULL entry; no row gives *out NULL and
 * *n 0. On failure *out is NULL, *n is 0 and nothing is left allocated.
 * Errors: SIM_ERR_INPUT for SQL that SQLite refuses (with its reason), more than one
 * statement, a statement that is not read-only (INSERT, BEGIN, ATTACH, ...) or yields no
 * column; SIM_ERR_IO (a read failed, or the lock stayed busy: db_last_busy is 1);
 * SIM_ERR_NOMEM.
 */
sim_code db_query_texts(db *d, const char *sql, char ***out, size_t *n, sim_status *st);

/* Frees the n strings of v and v itself, as db_query_texts returned them; accepts NULL. */
void db_free_texts(char **v, size_t n);

/*
 * Copies every run of the results database at src_path (borrowed; attached read-only, so
 * it is never written and never created) into d, each under a new run_id above d's largest,
 * with its rows in every table of the source that has a run_id column (found in the
 * schema, so a table added later is merged too; d must have each such table). A source run
 * is skipped when d already holds the same point: when the run has a sweep_param row with
 * key '_point', a run of d with an equal '_point' value; otherwise a run of d with equal
 * created_utc, config_path, seed and config_yaml (NULL equal to NULL). Source runs are
 * compared with d as it was before the call, not with each other. Sets *merged and
 * *skipped (either may be NULL) to the runs copied and skipped; 0 on failure.
 * Everything happens in one transaction (BEGIN IMMEDIATE): on failure d is unchanged. No
 * transaction may be open on d; none is, and nothing is attached, afterwards.
 * Errors, with st's file the source path unless said otherwise: SIM_ERR_INPUT when src_path
 * cannot be opened or is not an SQLite database, is another program's database, has a
 * schema version other than d's (the message names the file and both versions), has a
 * table with a run_id column that d lacks, or holds rows d's schema refuses (a foreign key
 * to no row); SIM_ERR_IO for an i/o error, or when another writer held d's lock past the
 * busy timeout (st's file is d's path, db_last_busy is 1); SIM_ERR_INTERNAL when a
 * transaction is open on d; SIM_ERR_NOMEM.
 */
sim_code db_merge_from(db *d, const char *src_path, size_t *merged, size_t *skipped,
                       sim_status *st);

#endif
