/*
 * labels_rules - the rules of label prints, handover manifests, acceptance scans and
 * receipts, for every backend (internal to gateway/store/; the contract is store_labels.h)
 *
 * A backend gives a labels_rows_t: the reads and writes of its tables, one row or one
 * list at a time, with no rule in them. Everything store_labels.h promises (what may be
 * printed, what goes on a manifest, when an acceptance moves a status, when a receipt is
 * new or the one made before, and the refusals with their words) is decided here, once;
 * the backend's store_labels_ops call labels_<operation> with its rows. Timeline events go
 * through store_timeline_append, so the backend's chain keeps them.
 *
 * Row functions return STORE_OK, a failure already recorded on tx (STORE_BUSY,
 * STORE_ERROR), or where said STORE_NOT_FOUND / STORE_EXISTS without a message: the rules
 * word the refusal. Ownership as in store_labels.h: what a row function fills is the
 * caller's (item bodies, list arrays), and is left empty on failure.
 */
#ifndef BCCI_LABELS_RULES_H
#define BCCI_LABELS_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/store/store_labels.h"

/* a shipment as the rules need it: its ids and status time beside what callers see */
typedef struct {
    int64_t id, dossier_id, status_time;
    store_label_item_t item; /* item.body owned */
} labels_ship_t;

/* waybills read from the database; v is owned (free) */
typedef struct {
    char (*v)[STORE_LABELS_WAYBILL_MAX];
    size_t n;
} labels_waybills_t;

typedef struct {
    /* ship - the shipment of waybill, whatever its agency; STORE_NOT_FOUND when none */
    store_rc_t (*ship)(store_tx_t *tx, const char *waybill, labels_ship_t *row);
    /* ready - created/booked shipments on no manifest, of agency_code (NULL: any), oldest first, at most max */
    store_rc_t (*ready)(store_tx_t *tx, const char *agency_code, size_t max, labels_waybills_t *out);
    /* count_print - one more print of the shipment */
    store_rc_t (*count_print)(store_tx_t *tx, int64_t shipment_id);
    /* open_manifest_of - the public id of an open manifest the shipment is on, "" when none */
    store_rc_t (*open_manifest_of)(store_tx_t *tx, int64_t shipment_id, char *public_id, size_t len);
    /* insert_manifest - a new open manifest, *id its row; STORE_EXISTS when public_id is taken */
    store_rc_t (*insert_manifest)(store_tx_t *tx, const char *public_id, const char *agency_code, const char *code,
                                  const char *created_by, int64_t now, int64_t *id);
    /* insert_manifest_item - STORE_EXISTS when the shipment is on that manifest already */
    store_rc_t (*insert_manifest_item)(store_tx_t *tx, int64_t manifest_id, int64_t shipment_id, int64_t position);
    /* manifest - the head of manifest public_id into out (id, code, state, agency, created_at), its row
     * in *id; STORE_NOT_FOUND when unknown */
    store_rc_t (*manifest)(store_tx_t *tx, const char *public_id, int64_t *id, store_manifest_t *out);
    /* manifest_items - its items, in order, into out->items and out->n (empty before) */
    store_rc_t (*manifest_items)(store_tx_t *tx, int64_t id, store_manifest_t *out);
    /* manifest_accept - an open manifest becomes accepted */
    store_rc_t (*manifest_accept)(store_tx_t *tx, int64_t id, int64_t now);
    /* set_status - the shipment's status and status time */
    store_rc_t (*set_status)(store_tx_t *tx, int64_t shipment_id, const char *status, int64_t now);
    /* receipt_of - the public id of the receipt the shipment is on, "" when none */
    store_rc_t (*receipt_of)(store_tx_t *tx, int64_t shipment_id, char *public_id, size_t len);
    /* insert_receipt - a new receipt, *id its row; STORE_EXISTS when public_id is taken */
    store_rc_t (*insert_receipt)(store_tx_t *tx, const char *public_id, const char *agency_code, const char *officer,
                                 const char *created_by, int64_t now, int64_t *id);
    store_rc_t (*insert_receipt_item)(store_tx_t *tx, int64_t receipt_id, int64_t shipment_id, int64_t position);
    /* receipt - the head of receipt public_id into out, its row in *id; STORE_NOT_FOUND when unknown */
    store_rc_t (*receipt)(store_tx_t *tx, const char *public_id, int64_t *id, store_receipt_t *out);
    /* receipt_items - its items and their shipment ids, in order, into out (empty before) */
    store_rc_t (*receipt_items)(store_tx_t *tx, int64_t id, store_receipt_t *out);
    /* manifest_list - store_labels_manifest_list: a plain read, no rule of its own */
    store_rc_t (*manifest_list)(store_tx_t *tx, const char *agency, int limit, int offset,
                                store_manifest_list_t *out, long long *total);
} labels_rows_t;

/* the columns of a manifest_list row, in the order every backend selects them: public id,
 * state, agency code, created_by, created_at, accepted_at (0 while open), items on it */
#define LABELS_MANIFEST_LIST_COLS 7
/* labels_manifest_row - *m from the text of those columns ("" for SQL NULL) */
void labels_manifest_row(store_manifest_row_t *m, const char *const col[LABELS_MANIFEST_LIST_COLS]);

/* the operations of store_labels.h on a backend's rows */
store_rc_t labels_print(store_tx_t *tx, const labels_rows_t *rows, const store_label_print_t *req, int64_t now,
                        store_label_list_t *out, store_labels_refusal_t *why);
store_rc_t labels_manifest_create(store_tx_t *tx, const labels_rows_t *rows, const store_manifest_new_t *req,
                                  int64_t now, store_manifest_t *out, store_labels_refusal_t *why);
store_rc_t labels_manifest_get(store_tx_t *tx, const labels_rows_t *rows, const char *public_id,
                               store_manifest_t *out);
store_rc_t labels_scan_manifest(store_tx_t *tx, const labels_rows_t *rows, const char *public_id, int64_t now,
                                store_scan_result_t *out);
store_rc_t labels_scan_waybill(store_tx_t *tx, const labels_rows_t *rows, const char *waybill, int64_t now,
                               store_scan_result_t *out, store_labels_refusal_t *why);
store_rc_t labels_receipt_create(store_tx_t *tx, const labels_rows_t *rows, const store_receipt_new_t *req,
                                 int64_t now, store_receipt_t *out, store_labels_refusal_t *why);
store_rc_t labels_receipt_get(store_tx_t *tx, const labels_rows_t *rows, const char *public_id,
                              store_receipt_t *out);
store_rc_t labels_receipt_of(store_tx_t *tx, const labels_rows_t *rows, int64_t shipment_id,
                             char id[STORE_LABELS_ID_MAX], int64_t *received_at);

/* LABELS_OPS - define const struct store_labels_ops NAME (backend_labels.h must be included)
 * whose every operation runs the rules above on ROWS, a const labels_rows_t of the backend */
#define LABELS_OPS(NAME, ROWS)                                                                                     \
    static store_rc_t NAME##_print(store_tx_t *tx, const store_label_print_t *req, int64_t now,                    \
                                   store_label_list_t *out, store_labels_refusal_t *why)                           \
    {                                                                                                              \
        return labels_print(tx, &(ROWS), req, now, out, why);                                                      \
    }                                                                                                              \
    static store_rc_t NAME##_manifest_create(store_tx_t *tx, const store_manifest_new_t *req, int64_t now,         \
                                             store_manifest_t *out, store_labels_refusal_t *why)                   \
    {                                                                                                              \
        return labels_manifest_create(tx, &(ROWS), req, now, out, why);                                            \
    }                                                                                                              \
    static store_rc_t NAME##_manifest_get(store_tx_t *tx, const char *public_id, store_manifest_t *out)            \
    {                                                                                                              \
        return labels_manifest_get(tx, &(ROWS), public_id, out);                                                   \
    }                                                                                                              \
    static store_rc_t NAME##_scan_manifest(store_tx_t *tx, const char *public_id, int64_t now,                     \
                                           store_scan_result_t *out)                                               \
    {                                                                                                              \
        return labels_scan_manifest(tx, &(ROWS), public_id, now, out);                                             \
    }                                                                                                              \
    static store_rc_t NAME##_scan_waybill(store_tx_t *tx, const char *waybill, int64_t now, store_scan_result_t *out, \
                                          store_labels_refusal_t *why)                                             \
    {                                                                                                              \
        return labels_scan_waybill(tx, &(ROWS), waybill, now, out, why);                                           \
    }                                                                                                              \
    static store_rc_t NAME##_receipt_create(store_tx_t *tx, const store_receipt_new_t *req, int64_t now,           \
                                            store_receipt_t *out, store_labels_refusal_t *why)                     \
    {                                                                                                              \
        return labels_receipt_create(tx, &(ROWS), req, now, out, why);                                             \
    }                                                                                                              \
    static store_rc_t NAME##_receipt_get(store_tx_t *tx, const char *public_id, store_receipt_t *out)              \
    {                                                                                                              \
        return labels_receipt_get(tx, &(ROWS), public_id, out);                                                    \
    }                                                                                                              \
    static store_rc_t NAME##_manifest_list(store_tx_t *tx, const char *agency, int limit, int offset,              \
                                           store_manifest_list_t *out, long long *total)                           \
    {                                                                                                              \
        return (ROWS).manifest_list(tx, agency, limit, offset, out, total);                                        \
    }                                                                                                              \
    static store_rc_t NAME##_receipt_of(store_tx_t *tx, int64_t shipment_id, char id[STORE_LABELS_ID_MAX],        \
                                        int64_t *received_at)                                                      \
    {                                                                                                              \
        return labels_receipt_of(tx, &(ROWS), shipment_id, id, received_at);                                       \
    }                                                                                                              \
    const struct store_labels_ops NAME = {                                                                         \
        .print = NAME##_print,                                                                                     \
        .manifest_list = NAME##_manifest_list,                                                                     \
        .receipt_of = NAME##_receipt_of,                                                                           \
        .manifest_create = NAME##_manifest_create,                                                                 \
        .manifest_get = NAME##_manifest_get,                                                                       \
        .scan_manifest = NAME##_scan_manifest,                                                                     \
        .scan_waybill = NAME##_scan_waybill,                                                                       \
        .receipt_create = NAME##_receipt_create,                                                                   \
        .receipt_get = NAME##_receipt_get,                                                                         \
    }

#endif
