/*
 * store_copy - the front of bcci store copy: the table list, the copy loop and its checks
 * (see store_copy.h); the backends only read, write and count rows (backend_copy.h)
 */
#include "gateway/store/store_copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store/backend_copy.h"
#include "gateway/store/store_backend.h"
#include "gateway/store/store_timeline.h"

/* Every data table, parents before children so foreign keys hold row by row. A table a
 * backend has and this list lacks stops the copy: a new table must be added here (and to the
 * other backends) before its rows can be lost by a copy. */
static const char *const copy_tables[] = {
    "dossiers", "submissions", "shipments", "code_ranges",    "timeline", "jobs",
    "metrics",  "tokens",      "manifests", "manifest_items", "receipts", "receipt_items",
    "remittances", "remittance_lines",
};
#define NTABLES (int)(sizeof copy_tables / sizeof copy_tables[0])

/* One backend's own bookkeeping, known here and never copied (the target must hold none):
 * code_blocks are the S10 blocks the PostgreSQL instances reserved from code_ranges, whose
 * `next` is already past every block, so dropping them skips numbers and never reuses one. */
static const char *const skipped_tables[] = { "code_blocks" };
/* Columns one backend has and another may lack, dropped when the target has no such column:
 * jobs.lease_instance names the PostgreSQL instance holding a lease, and a copy is made with
 * bccid stopped, whose next start hands every leased job back to ready. */
static const struct {
    const char *table, *column;
} droppable_columns[] = { { "jobs", "lease_instance" } };

typedef struct {
    store_tx_t *to;
    const char *table;
    long long rows;
    int write_failed; /* the target refused a row (its message is on the target's tx) */
    /* the target's columns, and which of the source's to keep (worked out at the first row) */
    char to_cols[STORE_COPY_MAX_COLUMNS][STORE_COPY_NAME_MAX];
    int nto_cols;
    int keep[STORE_COPY_MAX_COLUMNS];
    int mapped;
    int64_t *ids; /* collect_ids: the dossiers' ids */
    size_t nids, cap;
} copy_state_t;

static int
droppable(const char *table, const char *column)
{
    size_t i;

    for (i = 0; i < sizeof droppable_columns / sizeof droppable_columns[0]; i++)
        if (strcmp(droppable_columns[i].table, table) == 0 && strcmp(droppable_columns[i].column, column) == 0)
            return 1;
    return 0;
}

/* map_columns - keep[i]: whether the target has source column i; a column it lacks stops the
 * copy unless it is droppable */
static store_rc_t
map_columns(copy_state_t *st, int ncols, const char *const *names)
{
    int i, k;

    if (ncols > STORE_COPY_MAX_COLUMNS)
        return store_tx_fail(st->to, STORE_ERROR, "table %s has %d columns; a copy takes at most %d", st->table, ncols,
                             STORE_COPY_MAX_COLUMNS);
    for (i = 0; i < ncols; i++) {
        for (k = 0; k < st->nto_cols && strcmp(st->to_cols[k], names[i]) != 0; k++)
            ;
        st->keep[i] = k < st->nto_cols;
        if (!st->keep[i] && !droppable(st->table, names[i]))
            return store_tx_fail(st->to, STORE_ERROR, "the target's table %s has no column %s", st->table, names[i]);
    }
    st->mapped = 1;
    return STORE_OK;
}

static store_rc_t
copy_row(void *cls, int ncols, const char *const *names, const char *const *values)
{
    copy_state_t *st = cls;
    const char *kept_names[STORE_COPY_MAX_COLUMNS], *kept_values[STORE_COPY_MAX_COLUMNS];
    int i, n = 0;
    store_rc_t rc = st->mapped ? STORE_OK : map_columns(st, ncols, names);

    for (i = 0; rc == STORE_OK && i < ncols; i++)
        if (st->keep[i]) {
            kept_names[n] = names[i];
            kept_values[n++] = values[i];
        }
    if (rc == STORE_OK)
        rc = st->to->store->be->copy->write_row(st->to, st->table, n, kept_names, kept_values);
    if (rc != STORE_OK) {
        st->write_failed = 1;
        return rc;
    }
    st->rows++;
    return STORE_OK;
}

static store_rc_t
collect_id(void *cls, int ncols, const char *const *names, const char *const *values)
{
    copy_state_t *st = cls;
    int i;

    for (i = 0; i < ncols; i++)
        if (strcmp(names[i], "id") == 0 && values[i])
            break;
    if (i == ncols)
        return STORE_ERROR;
    if (st->nids == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 256;
        int64_t *ids = realloc(st->ids, cap * sizeof *ids);

        if (!ids)
            return STORE_BUSY;
        st->ids = ids;
        st->cap = cap;
    }
    st->ids[st->nids++] = strtoll(values[i], NULL, 10);
    return STORE_OK;
}

static int
listed(const char *name)
{
    size_t i;

    for (i = 0; i < (size_t)NTABLES; i++)
        if (strcmp(copy_tables[i], name) == 0)
            return 1;
    for (i = 0; i < sizeof skipped_tables / sizeof skipped_tables[0]; i++)
        if (strcmp(skipped_tables[i], name) == 0)
            return 1;
    return 0;
}

/* known_tables - the store's tables into names[0..*n): every one is known here, and every
 * table to copy is there */
static store_rc_t
known_tables(store_tx_t *tx, char names[][STORE_COPY_NAME_MAX], int *n, char *err, size_t errlen)
{
    int i, k;
    store_rc_t rc = tx->store->be->copy->tables(tx, names, STORE_COPY_MAX_TABLES, n);

    if (rc != STORE_OK) {
        snprintf(err, errlen, "cannot list the tables of %s: %s", store_uri(tx->store), store_tx_message(tx));
        return rc;
    }
    for (i = 0; i < *n; i++)
        if (!listed(names[i])) {
            snprintf(err, errlen,
                     "%s has a table '%s' that store copy does not know; nothing was copied (use the bcci "
                     "built with that store's bccid)",
                     store_uri(tx->store), names[i]);
            return STORE_ERROR;
        }
    for (k = 0; k < NTABLES; k++) {
        for (i = 0; i < *n && strcmp(names[i], copy_tables[k]) != 0; i++)
            ;
        if (i == *n) {
            snprintf(err, errlen, "%s has no table '%s'; nothing was copied", store_uri(tx->store), copy_tables[k]);
            return STORE_ERROR;
        }
    }
    return STORE_OK;
}

static store_rc_t
count(store_tx_t *tx, const char *table, long long *n, char *err, size_t errlen)
{
    store_rc_t rc = tx->store->be->copy->count(tx, table, n);

    if (rc != STORE_OK)
        snprintf(err, errlen, "cannot count the rows of %s in %s: %s", table, store_uri(tx->store),
                 store_tx_message(tx));
    return rc;
}

/* target_empty - STORE_CONFLICT naming the first of the target's tables that holds rows (the
 * tables to copy first, in their order, then its own bookkeeping) */
static store_rc_t
target_empty(store_tx_t *to, char names[][STORE_COPY_NAME_MAX], int ntables, char *err, size_t errlen)
{
    long long n = 0;
    int k;
    store_rc_t rc;

    for (k = 0; k < NTABLES + ntables; k++) {
        const char *table = k < NTABLES ? copy_tables[k] : names[k - NTABLES];

        if ((rc = count(to, table, &n, err, errlen)) != STORE_OK)
            return rc;
        if (n > 0) {
            snprintf(err, errlen,
                     "the target %s is not empty: table %s has %lld row(s); store copy fills only an empty store "
                     "(a new SQLite file or a new database), nothing was copied",
                     store_uri(to->store), table, n);
            return STORE_CONFLICT;
        }
    }
    return STORE_OK;
}

static store_rc_t
copy_tables_rows(store_tx_t *from, store_tx_t *to, store_copy_report_t *report, char *err, size_t errlen)
{
    int k;

    for (k = 0; k < NTABLES; k++) {
        copy_state_t st = { .to = to, .table = copy_tables[k] };
        store_rc_t rc =
            to->store->be->copy->columns(to, copy_tables[k], st.to_cols, STORE_COPY_MAX_COLUMNS, &st.nto_cols);

        if (rc != STORE_OK) {
            snprintf(err, errlen, "cannot list the columns of %s in %s: %s", copy_tables[k], store_uri(to->store),
                     store_tx_message(to));
            return rc;
        }
        rc = from->store->be->copy->read_rows(from, copy_tables[k], copy_row, &st);
        if (rc != STORE_OK) {
            snprintf(err, errlen, "copying table %s stopped after %lld row(s): %s; nothing was copied", copy_tables[k],
                     st.rows, st.write_failed ? store_tx_message(to) : store_tx_message(from));
            return rc;
        }
        snprintf(report->tables[k].name, sizeof report->tables[k].name, "%s", copy_tables[k]);
        report->tables[k].rows = st.rows;
        report->ntables = k + 1;
    }
    return STORE_OK;
}

/* verify_counts - each table counts the same on both sides, and what was copied */
static store_rc_t
verify_counts(store_tx_t *from, store_tx_t *to, const store_copy_report_t *report, char *err, size_t errlen)
{
    int k;

    for (k = 0; k < NTABLES; k++) {
        long long a = 0, b = 0;
        store_rc_t rc;

        if ((rc = count(from, copy_tables[k], &a, err, errlen)) != STORE_OK ||
            (rc = count(to, copy_tables[k], &b, err, errlen)) != STORE_OK)
            return rc;
        if (a != b || b != report->tables[k].rows) {
            snprintf(err, errlen,
                     "table %s: %lld row(s) in the source, %lld in the target, %lld copied; nothing was "
                     "committed",
                     copy_tables[k], a, b, report->tables[k].rows);
            return STORE_CONFLICT;
        }
    }
    return STORE_OK;
}

/* verify_chains - every dossier's timeline in the target against its sealed head */
static store_rc_t
verify_chains(store_tx_t *to, store_copy_report_t *report, char *err, size_t errlen)
{
    copy_state_t st = { .to = to };
    store_rc_t rc = to->store->be->copy->read_rows(to, "dossiers", collect_id, &st);
    size_t i;

    if (rc != STORE_OK)
        snprintf(err, errlen, "cannot read back the copied dossiers: %s", store_tx_message(to));
    for (i = 0; rc == STORE_OK && i < st.nids; i++) {
        char why[256] = "";

        rc = store_timeline_verify(to, st.ids[i], why, sizeof why);
        if (rc == STORE_CONFLICT)
            snprintf(err, errlen,
                     "the timeline of dossier id %lld does not verify after copying: %s (is the server secret the "
                     "source's?); nothing was committed",
                     (long long)st.ids[i], why);
        else if (rc != STORE_OK)
            snprintf(err, errlen, "cannot verify the timeline of dossier id %lld: %s", (long long)st.ids[i],
                     store_tx_message(to));
        else
            report->chains++;
    }
    free(st.ids);
    return rc;
}

store_rc_t
store_copy(store_t *from, store_t *to, store_copy_report_t *report, char *err, size_t errlen)
{
    char from_tables[STORE_COPY_MAX_TABLES][STORE_COPY_NAME_MAX], to_tables[STORE_COPY_MAX_TABLES][STORE_COPY_NAME_MAX];
    int nfrom = 0, nto = 0;
    store_tx_t *rd = NULL, *wr = NULL;
    store_rc_t rc;

    memset(report, 0, sizeof *report);
    if (!from->be->copy || !to->be->copy) {
        snprintf(err, errlen, "the %s backend cannot take part in a store copy",
                 from->be->copy ? to->be->scheme : from->be->scheme);
        return STORE_ERROR;
    }
    if (strcmp(store_uri(from), store_uri(to)) == 0) {
        snprintf(err, errlen, "the source and the target are the same store (%s)", store_uri(from));
        return STORE_CONFLICT;
    }
    rc = store_tx_begin(from, STORE_READ, &rd);
    if (rc != STORE_OK) {
        snprintf(err, errlen, "cannot read %s: %s", store_uri(from), store_rc_name(rc));
        return rc;
    }
    rc = store_tx_begin(to, STORE_WRITE, &wr);
    if (rc != STORE_OK) {
        snprintf(err, errlen, "cannot write to %s: %s", store_uri(to), store_rc_name(rc));
        store_tx_abort(&rd);
        return rc;
    }
    wr->tokens_changed = 1; /* the tokens table is among the copied ones */
    if ((rc = known_tables(rd, from_tables, &nfrom, err, errlen)) == STORE_OK &&
        (rc = known_tables(wr, to_tables, &nto, err, errlen)) == STORE_OK &&
        (rc = target_empty(wr, to_tables, nto, err, errlen)) == STORE_OK &&
        (rc = copy_tables_rows(rd, wr, report, err, errlen)) == STORE_OK) {
        rc = to->be->copy->reset_sequences(wr);
        if (rc != STORE_OK)
            snprintf(err, errlen, "cannot move the target's id sequences past the copied rows: %s",
                     store_tx_message(wr));
    }
    if (rc == STORE_OK && (rc = verify_counts(rd, wr, report, err, errlen)) == STORE_OK)
        rc = verify_chains(wr, report, err, errlen);
    store_tx_abort(&rd);
    if (rc != STORE_OK) {
        store_tx_abort(&wr);
        return rc;
    }
    rc = store_tx_commit(&wr);
    if (rc != STORE_OK)
        snprintf(err, errlen, "the copy into %s did not commit (%s); the target is left empty", store_uri(to),
                 store_rc_name(rc));
    return rc;
}
