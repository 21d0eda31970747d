/*
 * sqlite_access - the SQLite backend's connections, by hand
 *
 * For the backend's own files and for unit tests that seed or inspect the
 * database file directly (tests may look beneath the interface; nothing
 * above the store may: make check-layers). store_writer is the engine's
 * writer connection (one thread at a time); readers are borrowed between
 * store_reader_get and store_reader_put.
 */
#ifndef BCCI_SQLITE_ACCESS_H
#define BCCI_SQLITE_ACCESS_H

#include "gateway/store/sqlite/db.h"
#include "gateway/store/store.h"

db_t *store_writer(store_t *self);
const char *store_path(const store_t *self);
/* readers: NULL when none could be opened */
db_t *store_reader_get(store_t *self);
void store_reader_put(store_t *self, db_t *reader);

#endif
