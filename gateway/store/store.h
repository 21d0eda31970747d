/*
 * store - the gateway's SQLite database: schema, migrations, readers, writes
 *
 * One file in WAL mode. bccid has exactly one writer: the engine thread owns
 * store_writer() and is the only caller of the store_* functions that change
 * data, always inside a transaction it opened (group commit). HTTP threads
 * read through pooled read-only connections (store_reader_get/put), which
 * WAL lets run beside the writer.
 *
 * Durability: synchronous=FULL, so a COMMIT returns after the WAL is fsynced;
 * the engine answers 201 only after that.
 *
 * Ownership: store_open returns a store the caller owns (store_close). JSON
 * results (json_t **) belong to the caller. Readers are borrowed between get
 * and put.
 */
#ifndef BCCI_STORE_H
#define BCCI_STORE_H

#include <jansson.h>
#include <stdint.h>

#include "gateway/store/sqlite/db.h"
#include "api_error.h"
#include "domain/dossier.h"

#define STORE_SCHEMA_VERSION 1

typedef struct store store_t;

typedef struct {
    const char *public_base_url; /* borrowed: the QR/tracking URL base */
    const uint8_t *secret;       /* borrowed: server secret for tracking tokens */
    size_t secretlen;
} store_links_t;

store_t *store_open(const char *path, char *err, size_t errlen);
void store_close(store_t **self);
db_t *store_writer(store_t *self);
const char *store_path(const store_t *self);

/* transactions on the writer */
int store_begin(store_t *self);
int store_commit(store_t *self);
void store_rollback(store_t *self);

/* readers: NULL when none could be opened */
db_t *store_reader_get(store_t *self);
void store_reader_put(store_t *self, db_t *reader);

/* --- writes (writer thread, inside a transaction) --- */

/* store_intake - write dossier, shipment, waybill, first event, book job. Returns the
 * HTTP status (201 created, 200 replay) and *out (the dossier JSON), or -1 with err. */
int store_intake(store_t *self, const dossier_t *d, int64_t now, json_t **out, api_error_t *err);
/* store_import_codes - add an S10 range; refuses overlaps. 201 and *out, or -1 with err */
int store_import_codes(store_t *self, const char *prefix, const char *country, long long from, long long count,
                       int64_t now, json_t **out, api_error_t *err);

/* --- reads (any connection) --- */

/* store_dossier_json - the dossier, its shipments and current status; 0, 404 via err */
int store_dossier_json(db_t *db, const char *code, json_t **out, api_error_t *err);
/* store_shipment_json - one shipment by waybill, with its dossier code; 404 via err */
int store_shipment_json(db_t *db, const char *waybill, json_t **out, api_error_t *err);
int store_timeline_json(db_t *db, const char *code, json_t **out, api_error_t *err);
/* store_codes_status - numbers left per range */
int store_codes_status(db_t *db, json_t **out);
/* store_health - counts for /healthz */
int store_health(db_t *db, json_t **out);

#endif
