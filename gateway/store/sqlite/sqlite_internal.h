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

/* the data areas of this backend (sqlite_<area>.c) */
extern const struct store_admin_ops sqlite_admin_ops;
extern const struct store_labels_ops sqlite_labels_ops;
extern const struct store_shipments_ops sqlite_shipments_ops;
extern const struct store_timeline_ops sqlite_timeline_ops;
extern const struct store_dossiers_ops sqlite_dossiers_ops;
extern const struct store_jobs_ops sqlite_jobs_ops;
extern const struct store_copy_ops sqlite_copy_ops;

/* sqlite_pool_reserve - the serial to hand out from the code range (prefix, country, first..last)
 * whose database says *serial is next: *serial moves past every number a restored-away
 * database may have handed out, and the block holding it is reserved on disk (STATE_DIR/
 * s10-reserved) before it is used. STORE_EMPTY: the range is used up. */
/* the pool's reservations on disk (sqlite_dossiers.c): sqlite_pool_open reads them beside
 * db_path and moves the database's ranges past them; NULL with err on failure */
struct sqlite_pool;
struct sqlite_pool *sqlite_pool_open(const char *db_path, db_t *writer, char *err, size_t errlen);
/* sqlite_pool_trim - on a clean close, before the writer closes: lower this process's marks
 * to what the database really handed out */
void sqlite_pool_trim(struct sqlite_pool *self, db_t *writer);
void sqlite_pool_close(struct sqlite_pool **self);
struct sqlite_pool *sqlite_tx_pool(store_tx_t *tx);
store_rc_t sqlite_pool_reserve(store_tx_t *tx, const char *prefix, const char *country, int64_t first, int64_t last,
                               int64_t *serial);

#endif
