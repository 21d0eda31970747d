/*
 * labels_store - the database side of labels, handover manifests and scans
 *
 * The write functions (labels_store_print, labels_store_manifest_create,
 * labels_store_scan_*) run on the engine thread inside its open
 * transaction, as engine_write_fn bodies: they return the HTTP status with
 * *out set, or -1 with err set, and on -1 the engine rolls back whatever
 * they wrote. labels_store_manifest_json is a read on any connection.
 *
 * Rules kept here:
 *   - every print adds 1 to shipments.label_prints and appends a
 *     label_printed event (source "clerk") to the timeline;
 *   - a cancelled (or otherwise final) shipment gets no label and no manifest;
 *   - a shipment is on at most one OPEN manifest;
 *   - accepting (UPU EMA) moves the status to "accepted" only from a status
 *     before it (created, booked, pickup_pending): a final status never
 *     moves backwards, nor does one the carrier already advanced;
 *     acceptance events are deduplicated per shipment.
 *
 * Ownership: requests and their strings are borrowed for the call; *out
 * belongs to the caller.
 */
#ifndef BCCI_LABELS_STORE_H
#define BCCI_LABELS_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/store/sqlite/db.h"
#include "api_error.h"

#define LABELS_MANIFEST_PREFIX "BCCI-MF:"
#define LABELS_MANIFEST_ID_LEN 20 /* "BB-20251124-ABCDEFGH" */
#define LABELS_MANIFEST_MAC_LEN 16
#define LABELS_MANIFEST_CODE_MAX 64

typedef struct {
    const char *const *waybills; /* S10 numbers, already validated; NULL with ready */
    size_t n;
    int ready;                   /* every created/booked shipment not on a manifest */
    const char *agency_code;     /* only this agency's shipments (NULL = all): with ready, the ones
                                  * listed; with waybills, another agency's is refused as unknown (404) */
    const char *format;          /* for the event: pdf, png, svg, zpl */
    size_t max;                  /* most labels in one print */
} labels_print_req_t;

/* labels_store_print - record one print per shipment and return 200 with
 * *out = {"labels": [{"waybill", "dossier_code", "carrier", "cod_amount",
 * "print", "body": <submission>}]} in request order. 404 for an unknown
 * waybill, 409 for a cancelled one, 422 when ready finds nothing. */
int labels_store_print(db_t *db, const labels_print_req_t *req, int64_t now, json_t **out, api_error_t *err);

typedef struct {
    const char *const *waybills; /* NULL with all_ready */
    size_t n;
    int all_ready;               /* every created/booked shipment of agency_code not on a manifest */
    const char *agency_code;     /* required with all_ready; with waybills, when set, another agency's
                                  * shipment is refused as unknown (404) */
    const char *public_id;       /* "BB-yyyymmdd-XXXXXXXX" */
    const char *code;            /* the signed QR content */
    const char *created_by;      /* the token's name */
    size_t max;                  /* most items */
} labels_manifest_req_t;

/* labels_store_manifest_create - 201 with *out = {"id", "code", "items", "waybills"}.
 * 409 naming an unknown, final or already-manifested waybill, or one of
 * another agency; 422 when there is nothing to hand over. */
int labels_store_manifest_create(db_t *db, const labels_manifest_req_t *req, int64_t now, json_t **out,
                                 api_error_t *err);

/* labels_store_scan_manifest - accept every item of manifest public_id:
 * 200 with *out = {"manifest", "accepted", "items", "state"}; 404 when unknown */
int labels_store_scan_manifest(db_t *db, const char *public_id, int64_t now, json_t **out, api_error_t *err);

/* labels_store_scan_waybill - accept one shipment: 200 with *out =
 * {"waybill", "accepted", "status"}; 404 when unknown, 409 when cancelled */
int labels_store_scan_waybill(db_t *db, const char *waybill, int64_t now, json_t **out, api_error_t *err);

/* labels_store_manifest_json - manifest public_id with its items:
 * {"id", "code", "state", "agency_code", "created_at" (ms), "items": [{"waybill",
 * "dossier_code", "cod_amount", "carrier", "body"}]}. 0, or -1 with err (404, 503). */
int labels_store_manifest_json(db_t *db, const char *public_id, json_t **out, api_error_t *err);

#endif
