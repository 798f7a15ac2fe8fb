/*
 * db_query.c: db_query_texts, one read-only query's first column as strings (see db.h for
 * the contract). The statement is checked before it runs (one statement, read-only, at least
 * one column), so a tool cannot write through a query; rows are copied out as they come.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"
#include "out/db.h"
#include "out/db_int.h"

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
    SIM_VEC(char *) v = {0};
    sim_code code = SIM_OK;
    *out = NULL;
    *n = 0;
    int rc = sqlite3_prepare_v2(d->conn, sql, -1, &q, &tail);
    if (rc == SQLITE_OK && tail && *tail)
        rc = sqlite3_prepare_v2(d->conn, tail, -1, &extra, NULL);
    if (rc != SQLITE_OK) {
        code = db__fail(d, rc, SIM_ERR_INPUT, st, "query failed in results database '%s'",
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
        if (sim_vec_push(&v, t) != 0) {
            free(t);
            rc = SQLITE_NOMEM;
            break;
        }
    }
    if (rc == SQLITE_NOMEM)
        code = sim_status_set(st, SIM_ERR_NOMEM, d->path, 0, 0,
                              "out of memory reading a query's rows from '%s'", d->path);
    else if (rc != SQLITE_DONE)
        code = db__fail(d, rc, SIM_ERR_INPUT, st, "query failed in results database '%s'",
                        d->path);
done:
    sqlite3_finalize(extra);
    sqlite3_finalize(q);
    if (code == SIM_OK) {
        *out = v.v; /* NULL when there was no row */
        *n = v.n;
    } else {
        texts_free(v.v, v.n);
    }
    return code;
}

void db_free_texts(char **v, size_t n)
{
    texts_free(v, n);
}
