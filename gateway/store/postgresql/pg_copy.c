/*
 * pg_copy - the copy area on PostgreSQL: rows out and in as text (see backend_copy.h)
 *
 * pg_query prepares a statement once per connection and keys it on the SQL
 * string's address, so the statements here, whose table and column names are
 * known only at run time, are built once per table into static buffers that
 * keep their address (and their text) for the life of the process: one copy
 * runs in one process (bcci store copy), single-threaded. A table whose
 * columns would change the text of its built statement is refused rather
 * than run against a stale prepared one.
 *
 * Rows are read through a cursor, a batch at a time, so a large table never
 * sits whole in memory. Values travel as PostgreSQL's text forms, except
 * booleans, which travel as 1 and 0 (what the SQLite backend's columns hold;
 * PostgreSQL reads 1 and 0 back as booleans). Ids are written as given
 * (OVERRIDING SYSTEM VALUE, for identity columns), and reset_sequences moves
 * every serial or identity sequence past the largest id copied.
 */
#include "gateway/store/backend_copy.h"
#include "gateway/store/postgresql/pg_internal.h"

#include <stdio.h>
#include <string.h>

#define PG_COPY_FETCH 500
#define PG_BOOLOID 16 /* pg_type.oid of boolean */

static const char SQL_TABLES[] =
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    " AND table_type = 'BASE TABLE' AND table_name <> 'schema_version' ORDER BY table_name";
static const char SQL_FETCH[] = "FETCH 500 FROM bcci_copy";
static const char SQL_CLOSE[] = "CLOSE bcci_copy";
static const char SQL_DEFER[] = "SET CONSTRAINTS ALL DEFERRED";
/* every sequence owned by a column of this schema, set past the largest value of its column;
 * query_to_xml runs the per-table max() without building SQL outside the server */
static const char SQL_RESET_SEQUENCES[] =
    "SELECT setval(s.seq, COALESCE((xpath('/row/m/text()', query_to_xml(format('SELECT max(%I) AS m FROM %I.%I',"
    " s.col, s.sch, s.tbl), false, true, '')))[1]::text::bigint, 0) + 1, false)"
    " FROM (SELECT c.table_schema AS sch, c.table_name AS tbl, c.column_name AS col,"
    " pg_get_serial_sequence(format('%I.%I', c.table_schema, c.table_name), c.column_name) AS seq"
    " FROM information_schema.columns c WHERE c.table_schema = current_schema()) s WHERE s.seq IS NOT NULL";

/* the statements of one table, built on first use; their addresses key pg_query's cache */
typedef struct {
    char table[STORE_COPY_NAME_MAX];
    char declare[256];
    char count[256];
    char insert[4096];
} table_sql_t;

static table_sql_t tables_sql[STORE_COPY_MAX_TABLES];
static int ntables_sql;

/* quoted - table or column name as an identifier into out; -1 when it does not fit */
static int
quoted(store_tx_t *tx, const char *name, char *out, size_t outlen)
{
    char *q = PQescapeIdentifier(pg_tx_conn(tx), name, strlen(name));
    int n;

    if (!q)
        return -1;
    n = snprintf(out, outlen, "%s", q);
    PQfreemem(q);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static table_sql_t *
table_sql(store_tx_t *tx, const char *table)
{
    char q[2 * STORE_COPY_NAME_MAX + 3];
    table_sql_t *t;
    int i;

    for (i = 0; i < ntables_sql; i++)
        if (strcmp(tables_sql[i].table, table) == 0)
            return &tables_sql[i];
    if (ntables_sql == STORE_COPY_MAX_TABLES || strlen(table) >= STORE_COPY_NAME_MAX ||
        quoted(tx, table, q, sizeof q) != 0) {
        store_tx_fail(tx, STORE_ERROR, "cannot name the table %.64s in a statement", table);
        return NULL;
    }
    t = &tables_sql[ntables_sql++];
    snprintf(t->table, sizeof t->table, "%s", table);
    snprintf(t->declare, sizeof t->declare, "DECLARE bcci_copy NO SCROLL CURSOR FOR SELECT * FROM %s ORDER BY 1", q);
    snprintf(t->count, sizeof t->count, "SELECT count(*) FROM %s", q);
    return t;
}

static store_rc_t
pg_copy_tables(store_tx_t *tx, char names[][STORE_COPY_NAME_MAX], int max, int *n)
{
    PGresult *res = NULL;
    store_rc_t rc = pg_query(tx, "listing the tables", SQL_TABLES, NULL, &res);
    int i;

    *n = 0;
    if (rc != STORE_OK)
        return rc;
    if (PQntuples(res) > max) {
        PQclear(res);
        return store_tx_fail(tx, STORE_ERROR, "more than %d tables", max);
    }
    for (i = 0; i < PQntuples(res); i++)
        snprintf(names[(*n)++], STORE_COPY_NAME_MAX, "%s", pg_text(res, i, 0));
    PQclear(res);
    return STORE_OK;
}

/* rows_out - one fetched batch (at most PG_MAX_PARAMS columns) to fn; *got how many rows */
static store_rc_t
rows_out(const PGresult *res, store_copy_row_fn fn, void *cls, int *got)
{
    const char *names[PG_MAX_PARAMS], *values[PG_MAX_PARAMS];
    int ncols = PQnfields(res), row, i;
    store_rc_t rc = STORE_OK;

    *got = PQntuples(res);
    for (i = 0; i < ncols; i++)
        names[i] = PQfname(res, i);
    for (row = 0; rc == STORE_OK && row < *got; row++) {
        for (i = 0; i < ncols; i++) {
            const char *v = pg_isnull(res, row, i) ? NULL : pg_text(res, row, i);

            if (v && PQftype(res, i) == PG_BOOLOID)
                v = strcmp(v, "t") == 0 ? "1" : "0";
            values[i] = v;
        }
        rc = fn(cls, ncols, names, values);
    }
    return rc;
}

static store_rc_t
pg_copy_read_rows(store_tx_t *tx, const char *table, store_copy_row_fn fn, void *cls)
{
    table_sql_t *t = table_sql(tx, table);
    store_rc_t rc, closed;
    int got = PG_COPY_FETCH;

    if (!t)
        return STORE_ERROR;
    rc = pg_exec(tx, "opening a table to copy", t->declare, NULL, NULL);
    if (rc != STORE_OK)
        return rc;
    while (rc == STORE_OK && got == PG_COPY_FETCH) {
        PGresult *res = NULL;

        rc = pg_query(tx, "reading a table to copy", SQL_FETCH, NULL, &res);
        if (rc == STORE_OK && PQnfields(res) > PG_MAX_PARAMS)
            rc = store_tx_fail(tx, STORE_ERROR, "table %s has %d columns; a copied row takes at most %d", table,
                               PQnfields(res), PG_MAX_PARAMS);
        else if (rc == STORE_OK)
            rc = rows_out(res, fn, cls, &got);
        PQclear(res);
    }
    closed = pg_exec(tx, "closing a table to copy", SQL_CLOSE, NULL, NULL);
    return rc != STORE_OK ? rc : closed;
}

/* insert_sql - INSERT INTO t (c1, …) OVERRIDING SYSTEM VALUE VALUES ($1, …) into out */
static int
insert_sql(store_tx_t *tx, const char *table, int ncols, const char *const *names, char *out, size_t outlen)
{
    char q[2 * STORE_COPY_NAME_MAX + 3];
    size_t len;
    int i, n;

    if (quoted(tx, table, q, sizeof q) != 0)
        return -1;
    n = snprintf(out, outlen, "INSERT INTO %s (", q);
    for (i = 0; n >= 0 && (size_t)n < outlen && i < ncols; i++) {
        if (strlen(names[i]) >= STORE_COPY_NAME_MAX || quoted(tx, names[i], q, sizeof q) != 0)
            return -1;
        len = (size_t)n;
        n += snprintf(out + len, outlen - len, "%s%s", i ? ", " : "", q);
    }
    for (i = 0; n >= 0 && (size_t)n < outlen && i <= ncols; i++) {
        len = (size_t)n;
        if (i == ncols)
            n += snprintf(out + len, outlen - len, ")");
        else
            n += snprintf(out + len, outlen - len, "%s$%d", i ? ", " : ") OVERRIDING SYSTEM VALUE VALUES (", i + 1);
    }
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static store_rc_t
pg_copy_write_row(store_tx_t *tx, const char *table, int ncols, const char *const *names, const char *const *values)
{
    table_sql_t *t = table_sql(tx, table);
    char sql[sizeof t->insert];
    pg_params_t p;
    store_rc_t rc;
    int i;

    if (!t)
        return STORE_ERROR;
    if (ncols > PG_MAX_PARAMS)
        return store_tx_fail(tx, STORE_ERROR, "table %s has %d columns; a copied row takes at most %d", table, ncols,
                             PG_MAX_PARAMS);
    if (insert_sql(tx, table, ncols, names, sql, sizeof sql) != 0)
        return store_tx_fail(tx, STORE_ERROR, "cannot build the insert of a row of %s", table);
    if (!t->insert[0]) {
        /* the first row of this table: its foreign keys (where deferrable) wait for the commit,
         * as a row may name a later row of its own table */
        rc = pg_exec(tx, "deferring the foreign keys", SQL_DEFER, NULL, NULL);
        if (rc != STORE_OK)
            return rc;
        snprintf(t->insert, sizeof t->insert, "%s", sql);
    } else if (strcmp(t->insert, sql) != 0) {
        return store_tx_fail(tx, STORE_ERROR, "the rows of %s do not all have the same columns", table);
    }
    pg_params_init(&p);
    for (i = 0; i < ncols; i++)
        pg_param_text(&p, values[i]);
    return pg_exec(tx, "writing a copied row", t->insert, &p, NULL);
}

static store_rc_t
pg_copy_count(store_tx_t *tx, const char *table, long long *n)
{
    table_sql_t *t = table_sql(tx, table);
    PGresult *res = NULL;
    store_rc_t rc;

    *n = 0;
    if (!t)
        return STORE_ERROR;
    rc = pg_query(tx, "counting a table", t->count, NULL, &res);
    if (rc != STORE_OK)
        return rc;
    *n = pg_int(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_copy_reset_sequences(store_tx_t *tx)
{
    PGresult *res = NULL;
    store_rc_t rc = pg_query(tx, "moving the id sequences past the copied rows", SQL_RESET_SEQUENCES, NULL, &res);

    if (rc == STORE_OK)
        PQclear(res);
    return rc;
}

/* wired into the PostgreSQL backend's table of areas when that backend lands (pg_store.c) */
const struct store_copy_ops pg_copy_ops = {
    .tables = pg_copy_tables,
    .read_rows = pg_copy_read_rows,
    .write_row = pg_copy_write_row,
    .count = pg_copy_count,
    .reset_sequences = pg_copy_reset_sequences,
};
