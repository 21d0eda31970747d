/*
 * sqlite_internal - what the SQLite backend's files share (gateway/store/sqlite/ only)
 *
 * sqlite_tx_db hands a backend file the connection of a transaction (the
 * writer, or a pooled reader); it stays borrowed until the transaction ends.
 * sqlite_fail turns a SQLite result code into a store_rc_t with a message on
 * the transaction: busy, locked, full, I/O and read-only are STORE_BUSY.
 */
#ifndef BCCI_SQLITE_INTERNAL_H
#define BCCI_SQLITE_INTERNAL_H

#include "gateway/store/sqlite/db.h"
#include "gateway/store/store_backend.h"

db_t *sqlite_tx_db(store_tx_t *tx);
/* sqlite_fail - record "what" and SQLite's reason for rc on tx; STORE_BUSY or STORE_ERROR */
store_rc_t sqlite_fail(store_tx_t *tx, int rc, const char *what);

extern const struct store_jobs_ops sqlite_jobs_ops;

#endif
