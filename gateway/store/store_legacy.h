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

#include <jansson.h>
#include <stdint.h>

#include "api_error.h"
#include "domain/dossier.h"
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

/* store_intake - write dossier, shipment, waybill, first event, book job. Returns the
 * HTTP status (201 created, 200 replay) and *out (the dossier JSON), or -1 with err. */
int store_intake(store_t *self, const dossier_t *d, int64_t now, json_t **out, api_error_t *err);
/* store_import_codes - add an S10 range; refuses overlaps. 201 and *out, or -1 with err */
int store_import_codes(store_t *self, const char *prefix, const char *country, long long from, long long count,
                       int64_t now, json_t **out, api_error_t *err);
int store_dossier_json(db_t *db, const char *code, json_t **out, api_error_t *err);
int store_shipment_json(db_t *db, const char *waybill, json_t **out, api_error_t *err);
int store_timeline_json(db_t *db, const char *code, json_t **out, api_error_t *err);
int store_codes_status(db_t *db, json_t **out);
/* store_health_json - counts for /healthz */
int store_health_json(db_t *db, json_t **out);

#endif
