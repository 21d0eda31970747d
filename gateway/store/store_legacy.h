/*
 * store_legacy - the store's old SQLite-shaped calls, while their callers move
 * to the typed interface of store.h and store_<area>.h
 *
 * TRANSITIONAL: every declaration here names a SQLite connection or returns
 * HTTP status codes and JSON; each goes away when its last caller does.
 * make check-layers lists who still includes this header.
 */
#ifndef BCCI_STORE_LEGACY_H
#define BCCI_STORE_LEGACY_H

#include <stdint.h>

#include "gateway/store/sqlite/db.h"
#include "gateway/store/store.h"

typedef struct {
    const char *public_base_url; /* borrowed: the QR/tracking URL base */
    const uint8_t *secret;       /* borrowed: server secret for tracking tokens */
    size_t secretlen;
} store_links_t;

db_t *store_writer(store_t *self);
const char *store_path(const store_t *self);
/* readers: NULL when none could be opened */
db_t *store_reader_get(store_t *self);
void store_reader_put(store_t *self, db_t *reader);

#endif
