/*
 * sqlite_copy - the copy area on SQLite: rows out and in as text (see backend_copy.h)
 *
 * Table and column names are not known when this is compiled, so these
 * statements are prepared for each call rather than cached by db_stmt (whose
 * cache keys on static SQL); names are quoted as identifiers. A value given
 * as text goes back into its column's type through SQLite's column affinity,
 * so "42" is stored in an INTEGER column as 42.
 */
#include "gateway/store/backend_copy.h"
#include "gateway/store/sqlite/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static const char SQL_TABLES[] = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                                 " AND name <> 'schema_version' ORDER BY name";
static const char SQL_COLUMNS[] = "SELECT name FROM pragma_table_info(?1) ORDER BY cid";

/* ident - "name" with inner quotes doubled, appended to b; nonzero when out of memory */
static int
ident(buf_t *b, const char *name)
{
    const char *p;
    int bad = buf_append(b, "\"", 1);

    for (p = name; *p; p++)
        bad |= buf_append(b, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
    return bad | buf_append(b, "\"", 1);
}

/* prepare_dynamic - sqlite3_prepare_v2 of b's SQL (bad: building it ran out of memory) on the
 * transaction's connection; frees b */
static store_rc_t
prepare_dynamic(store_tx_t *tx, buf_t *b, int bad, const char *what, sqlite3_stmt **st)
{
    int rc;

    *st = NULL;
    if (bad || !b->data) {
        buf_free(b);
        return store_tx_fail(tx, STORE_BUSY, "out of memory while %s", what);
    }
    rc = sqlite3_prepare_v2(db_handle(sqlite_tx_db(tx)), b->data, -1, st, NULL);
    buf_free(b);
    return rc == SQLITE_OK ? STORE_OK : sqlite_fail(tx, rc, what);
}

/* names_of - the first column of every row of sql (bound to arg when not NULL) into names */
static store_rc_t
names_of(store_tx_t *tx, const char *sql, const char *arg, const char *what, char names[][STORE_COPY_NAME_MAX], int max,
         int *n)
{
    sqlite3_stmt *st = db_stmt(sqlite_tx_db(tx), sql);
    int rc;

    *n = 0;
    if (!st)
        return sqlite_fail(tx, SQLITE_ERROR, what);
    if (arg)
        db_bind_text(st, 1, arg);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (*n == max) {
            sqlite3_reset(st);
            return store_tx_fail(tx, STORE_ERROR, "more than %d names while %s", max, what);
        }
        snprintf(names[(*n)++], STORE_COPY_NAME_MAX, "%s", db_col_text(st, 0));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(tx, rc, what);
}

static store_rc_t
sq_tables(store_tx_t *tx, char names[][STORE_COPY_NAME_MAX], int max, int *n)
{
    return names_of(tx, SQL_TABLES, NULL, "listing the tables", names, max, n);
}

static store_rc_t
sq_columns(store_tx_t *tx, const char *table, char names[][STORE_COPY_NAME_MAX], int max, int *n)
{
    return names_of(tx, SQL_COLUMNS, table, "listing the columns of a table", names, max, n);
}

static store_rc_t
sq_read_rows(store_tx_t *tx, const char *table, store_copy_row_fn fn, void *cls)
{
    buf_t sql;
    sqlite3_stmt *st;
    const char **names = NULL, **values = NULL;
    store_rc_t r;
    int rc = SQLITE_DONE, ncols, i, bad;

    buf_init(&sql, 0);
    bad = buf_appendf(&sql, "SELECT * FROM ") | ident(&sql, table) | buf_appendf(&sql, " ORDER BY rowid");
    r = prepare_dynamic(tx, &sql, bad, "reading a table to copy", &st);
    if (r != STORE_OK)
        return r;
    ncols = sqlite3_column_count(st);
    names = calloc((size_t)ncols + 1, sizeof *names);
    values = calloc((size_t)ncols + 1, sizeof *values);
    if (!names || !values) {
        r = store_tx_fail(tx, STORE_BUSY, "out of memory while reading %s", table);
        goto out;
    }
    for (i = 0; i < ncols; i++)
        names[i] = sqlite3_column_name(st, i);
    while (r == STORE_OK && (rc = db_step(st)) == SQLITE_ROW) {
        for (i = 0; i < ncols; i++)
            values[i] = sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(st, i);
        r = fn(cls, ncols, names, values);
    }
    if (r == STORE_OK && rc != SQLITE_DONE)
        r = sqlite_fail(tx, rc, "reading a table to copy");
out:
    free(names);
    free(values);
    sqlite3_finalize(st);
    return r;
}

static store_rc_t
sq_write_row(store_tx_t *tx, const char *table, int ncols, const char *const *names, const char *const *values)
{
    buf_t sql;
    sqlite3_stmt *st;
    store_rc_t r;
    int rc, i, bad;

    /* a row may name a later row of its own table (a return leg its collection leg): foreign
     * keys are checked at the commit */
    rc = db_exec(sqlite_tx_db(tx), "PRAGMA defer_foreign_keys = ON");
    if (rc != SQLITE_OK)
        return sqlite_fail(tx, rc, "deferring the foreign keys");
    buf_init(&sql, 0);
    bad = buf_appendf(&sql, "INSERT INTO ") | ident(&sql, table) | buf_appendf(&sql, " (");
    for (i = 0; i < ncols; i++)
        bad |= buf_appendf(&sql, i ? ", " : "") | ident(&sql, names[i]);
    bad |= buf_appendf(&sql, ") VALUES (");
    for (i = 0; i < ncols; i++)
        bad |= buf_appendf(&sql, i ? ", ?" : "?");
    bad |= buf_appendf(&sql, ")");
    r = prepare_dynamic(tx, &sql, bad, "preparing a copied row", &st);
    if (r != STORE_OK)
        return r;
    for (i = 0; i < ncols; i++)
        db_bind_text(st, i + 1, values[i]);
    rc = db_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_tx_fail(tx, db_transient(rc) ? STORE_BUSY : STORE_ERROR, "cannot write a row into %s: %s", table,
                             db_errmsg(sqlite_tx_db(tx)));
    return STORE_OK;
}

static store_rc_t
sq_count(store_tx_t *tx, const char *table, long long *n)
{
    buf_t sql;
    sqlite3_stmt *st;
    store_rc_t r;
    int rc, bad;

    *n = 0;
    buf_init(&sql, 0);
    bad = buf_appendf(&sql, "SELECT COUNT(*) FROM ") | ident(&sql, table);
    r = prepare_dynamic(tx, &sql, bad, "counting a table", &st);
    if (r != STORE_OK)
        return r;
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? STORE_OK : sqlite_fail(tx, rc, "counting a table");
}

/* sq_reset_sequences - nothing to do: no table is AUTOINCREMENT, so each INTEGER PRIMARY KEY
 * already continues after the largest id copied */
static store_rc_t
sq_reset_sequences(store_tx_t *tx)
{
    (void)tx;
    return STORE_OK;
}

const struct store_copy_ops sqlite_copy_ops = {
    .tables = sq_tables,
    .columns = sq_columns,
    .read_rows = sq_read_rows,
    .write_row = sq_write_row,
    .count = sq_count,
    .reset_sequences = sq_reset_sequences,
};
