/*
 * db_merge.c: db_merge_from, the runs of one results database copied into another (see
 * db.h for the contract, and the design note below for the steps).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/db.h"
#include "out/db_int.h"

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
 * database '<src>': <reason>", st's file src; a busy lock is d's and reported by db__fail.
 * Problems of the source are input errors; i/o errors keep their code, except while
 * opening (attaching) the source, where they mean the path names no readable database (a
 * directory, say); memory keeps its code.
 */
static sim_code merge_fail(db *d, int rc, const char *src, int opening, sim_status *st)
{
    int prim = rc & 0xff;
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return db__fail(d, rc, SIM_ERR_IO, st, "cannot merge results database '%s' into '%s'",
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
    db__sbuf_add_uri(&uri, src);
    db__sbuf_add(&uri, "?mode=ro");
    if (uri.oom) {
        code = sim_status_set(st, SIM_ERR_NOMEM, src, 0, 0,
                              "out of memory merging results database '%s'", src);
        goto done;
    }
    int rc = sqlite3_prepare_v2(d->conn, "ATTACH DATABASE ?1 AS " MERGE_SRC, -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(q, 1, uri.text.v, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc == SQLITE_DONE)
        *attached = 1;
    else
        code = merge_fail(d, rc, src, 1, st);
done:
    sqlite3_finalize(q);
    sim_vec_free(&uri.text);
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
        db__sbuf_add(&cols, i ? ", " : "");
        db__sbuf_add_ident(&cols, name);
        db__sbuf_add(&sel, i ? ", " : "");
        if (sqlite3_stricmp(name, "run_id") == 0) {
            db__sbuf_add(&sel, "m.new_id");
        } else {
            db__sbuf_add(&sel, "s.");
            db__sbuf_add_ident(&sel, name);
        }
    }
    if (rc != SQLITE_DONE) {
        code = merge_fail(d, rc, src, 0, st);
        goto done;
    }
    if (cols.text.n == 0 && !cols.oom) {
        code = sim_status_set(st, SIM_ERR_INPUT, src, 0, 0,
                              "cannot merge results database '%s': its table '%s' has a "
                              "run_id column but '%s' has no such table",
                              src, table, d->path);
        goto done;
    }
    db__sbuf_add(&sql, "INSERT INTO main.");
    db__sbuf_add_ident(&sql, table);
    db__sbuf_add(&sql, " (");
    db__sbuf_add(&sql, db__sbuf_str(&cols));
    db__sbuf_add(&sql, ") SELECT ");
    db__sbuf_add(&sql, db__sbuf_str(&sel));
    db__sbuf_add(&sql, " FROM " MERGE_SRC ".");
    db__sbuf_add_ident(&sql, table);
    db__sbuf_add(&sql, " AS s JOIN temp.merge_map AS m ON m.src_id = s.run_id");
    if (cols.oom || sel.oom || sql.oom) {
        code = sim_status_set(st, SIM_ERR_NOMEM, src, 0, 0,
                              "out of memory merging results database '%s'", src);
        goto done;
    }
    code = merge_exec(d, sql.text.v, src, st);
done:
    sqlite3_finalize(q);
    sim_vec_free(&cols.text);
    sim_vec_free(&sel.text);
    sim_vec_free(&sql.text);
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
        rc = db__exec_sql(d, "PRAGMA defer_foreign_keys = ON", SIM_ERR_INTERNAL,
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
