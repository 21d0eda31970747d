/*
 * store_legacy - the store's old SQLite-shaped calls, while their callers move
 * to the typed interface of store.h and store_<area>.h
 *
 * TRANSITIONAL: every declaration here hands out a SQLite connection; each
 * goes away when its last caller does (the dossiers area left it for
 * store_dossiers.h).
 * make check-layers lists who still includes this header.
 */
#ifndef BCCI_STORE_LEGACY_H
#define BCCI_STORE_LEGACY_H

#include "gateway/store/sqlite/db.h"
#include "gateway/store/store.h"

db_t *store_writer(store_t *self);
const char *store_path(const store_t *self);
/* readers: NULL when none could be opened */
db_t *store_reader_get(store_t *self);
void store_reader_put(store_t *self, db_t *reader);

#endif
