/*
 * backend_copy - what a store backend implements for store_copy.h (gateway/store/ only)
 *
 * Rows travel as column names and text values (NULL for SQL NULL), the way
 * each backend prints and parses its own columns; table and column names
 * come from the front's list and the source's rows, and a backend quotes
 * them as identifiers. Everything passed in is borrowed for the call.
 */
#ifndef BCCI_BACKEND_COPY_H
#define BCCI_BACKEND_COPY_H

#include "gateway/store/store_copy.h"

/* store_copy_row_fn - one row; anything but STORE_OK stops the read, which returns it */
typedef store_rc_t (*store_copy_row_fn)(void *cls, int ncols, const char *const *names, const char *const *values);

struct store_copy_ops {
    /* tables - the backend's data tables (not its schema bookkeeping) into names[0..*n) */
    store_rc_t (*tables)(store_tx_t *tx, char names[][STORE_COPY_NAME_MAX], int max, int *n);
    /* columns - the columns of table into names[0..*n) */
    store_rc_t (*columns)(store_tx_t *tx, const char *table, char names[][STORE_COPY_NAME_MAX], int max, int *n);
    /* read_rows - every row of table, in id order (the order they were written), to fn */
    store_rc_t (*read_rows)(store_tx_t *tx, const char *table, store_copy_row_fn fn, void *cls);
    /* write_row - insert one row as given (ids included); foreign keys may be checked at commit */
    store_rc_t (*write_row)(store_tx_t *tx, const char *table, int ncols, const char *const *names,
                            const char *const *values);
    store_rc_t (*count)(store_tx_t *tx, const char *table, long long *n);
    /* reset_sequences - after rows came with their ids: the next id of every table follows them */
    store_rc_t (*reset_sequences)(store_tx_t *tx);
};

#endif
