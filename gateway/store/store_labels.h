/*
 * store_labels - label prints, handover manifests (biên bản giao nhận),
 * acceptance scans and the agency's receipts of send-leg items (design §7, §9)
 *
 * Rules kept here, inside the caller's write transaction:
 *   - every print adds 1 to the shipment's print count and appends a
 *     label_printed event (source "clerk") to the timeline;
 *   - a cancelled shipment gets no label; a final one (delivered, returned,
 *     cancelled) goes on no manifest;
 *   - a shipment is on at most one OPEN manifest; one manifest, one agency;
 *   - an acceptance (UPU EMA, source "post_office") always goes on the
 *     timeline once per shipment (deduplicated), and moves the shipment's
 *     status to "accepted" only where status_may_move (domain/status.h),
 *     the one status machine rule, allows it.
 *
 * Refusals: STORE_NOT_FOUND (no such shipment or manifest, or one of another
 * agency than the one asked for: the two look the same) and STORE_CONFLICT
 * (a rule refuses) fill a store_labels_refusal_t when one is given, so the
 * caller can say which waybill and why; store_tx_message(tx) has the text.
 * Anything but STORE_OK leaves the outputs empty; the caller rolls back.
 *
 * Ownership: requests and their strings are borrowed for the call. Lists and
 * manifests returned are caller-owned and freed with store_label_list_free /
 * store_manifest_free (both accept a zeroed or already freed record).
 */
#ifndef BCCI_STORE_LABELS_H
#define BCCI_STORE_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/store/store.h"

#define STORE_LABELS_WAYBILL_MAX 16
#define STORE_LABELS_CODE_MAX 64    /* dossier codes, manifest codes, agency codes */
#define STORE_LABELS_ID_MAX 32      /* manifest public ids: "BB-20251124-ABCDEFGH" */

typedef enum {
    STORE_LABELS_OK = 0,
    STORE_LABELS_UNKNOWN,          /* no such shipment (for this agency): 404 */
    STORE_LABELS_UNKNOWN_ON_MANIFEST, /* a listed waybill is unknown to the gateway: manifest 409 */
    STORE_LABELS_CANCELLED,        /* the shipment is cancelled */
    STORE_LABELS_FINAL,            /* delivered, returned or cancelled: no handover */
    STORE_LABELS_ON_OPEN_MANIFEST, /* already on an open manifest (other = its id) */
    STORE_LABELS_MIXED_AGENCIES,   /* other = the agency of the first items */
    STORE_LABELS_NOTHING_READY,    /* ready/all_ready found nothing */
    STORE_LABELS_TOO_MANY,         /* all_ready found more than max */
    STORE_LABELS_DUPLICATE,        /* a waybill listed twice */
    STORE_LABELS_ID_TAKEN,         /* the new manifest's public id exists: pick another, retry */
    STORE_LABELS_NOT_SEND_LEG,     /* receipts: not a send-leg shipment (status = its leg) */
    STORE_LABELS_NOT_ARRIVED,      /* receipts: not yet out for delivery to the agency */
    STORE_LABELS_ALREADY_RECEIVED, /* receipts: received on another receipt (other = its id) */
} store_labels_reason_t;

typedef struct {
    store_labels_reason_t reason;
    char waybill[STORE_LABELS_WAYBILL_MAX]; /* the waybill refused, "" when none */
    char status[32];                        /* its status (CANCELLED, FINAL) */
    char other[STORE_LABELS_CODE_MAX];      /* see the reasons */
} store_labels_refusal_t;

/* one shipment as a label or a manifest row shows it */
typedef struct {
    char waybill[STORE_LABELS_WAYBILL_MAX];
    char dossier_code[STORE_LABELS_CODE_MAX];
    char agency_code[STORE_LABELS_CODE_MAX];
    char carrier[32];
    char status[32];
    char leg[8];          /* "return" (agency to citizen) or "send" (citizen to agency) */
    int64_t accepted_at;  /* when the postal service took it (its first "accepted" event); 0 before */
    long long cod_amount; /* đồng */
    long long prints;     /* labels printed so far, this one included */
    char *body;           /* owned: the submission as stored (JSON text) */
} store_label_item_t;

typedef struct {
    store_label_item_t *items; /* owned */
    size_t n;
} store_label_list_t;
void store_label_list_free(store_label_list_t *list);

typedef struct {
    const char *const *waybills; /* S10 numbers, already validated; NULL with ready */
    size_t n;
    int ready;                   /* every created/booked shipment on no manifest */
    const char *agency_code;     /* only this agency's shipments (NULL = all) */
    const char *format;          /* for the event: pdf, png, svg, zpl */
    size_t max;                  /* most labels in one print */
} store_label_print_t;

/* store_labels_print - record one print per shipment; *out = the shipments in request order */
store_rc_t store_labels_print(store_tx_t *tx, const store_label_print_t *req, int64_t now, store_label_list_t *out,
                              store_labels_refusal_t *why);

typedef struct {
    const char *const *waybills; /* NULL with all_ready */
    size_t n;
    int all_ready;               /* every created/booked shipment of agency_code on no manifest */
    const char *agency_code;     /* required with all_ready; with waybills, when set, another
                                  * agency's shipment is unknown */
    const char *public_id;       /* "BB-yyyymmdd-XXXXXXXX" */
    const char *code;            /* the signed QR content */
    const char *created_by;      /* the token's name */
    size_t max;                  /* most items */
} store_manifest_new_t;

typedef struct {
    char id[STORE_LABELS_ID_MAX];
    char code[STORE_LABELS_CODE_MAX + 32];
    char state[16];                       /* open, accepted */
    char agency_code[STORE_LABELS_CODE_MAX];
    int64_t created_at;                   /* UTC ms */
    store_label_item_t *items;            /* owned, in manifest order */
    size_t n;
} store_manifest_t;
void store_manifest_free(store_manifest_t *m);

/* store_labels_manifest_create - a new open manifest; *out = it with its items */
store_rc_t store_labels_manifest_create(store_tx_t *tx, const store_manifest_new_t *req, int64_t now,
                                        store_manifest_t *out, store_labels_refusal_t *why);
/* store_labels_manifest_get - manifest public_id with its items (n may be 0: every item
 * was cancelled and left it); STORE_NOT_FOUND when unknown */
store_rc_t store_labels_manifest_get(store_tx_t *tx, const char *public_id, store_manifest_t *out);

typedef struct {
    int accepted;    /* acceptances recorded now (0: all were recorded before) */
    size_t items;    /* manifest scans: items on the manifest */
    char status[32]; /* waybill scans: the shipment's status afterwards */
} store_scan_result_t;

/* store_labels_scan_manifest - accept every item of manifest public_id and close it
 * (state accepted); STORE_NOT_FOUND when unknown */
store_rc_t store_labels_scan_manifest(store_tx_t *tx, const char *public_id, int64_t now, store_scan_result_t *out);
/* store_labels_scan_waybill - accept one shipment; STORE_NOT_FOUND when unknown,
 * STORE_CONFLICT (STORE_LABELS_CANCELLED) when cancelled */
store_rc_t store_labels_scan_waybill(store_tx_t *tx, const char *waybill, int64_t now, store_scan_result_t *out,
                                     store_labels_refusal_t *why);

/* --- receipts at the agency (send leg, QĐ 45 Điều 7.4) ---
 * The receiving officer accepts arrived send-leg items at the desk; that moment is the legal
 * submission time. Rules kept here: every item is a send-leg shipment of the agency (when
 * given), not cancelled, out_for_delivery or delivered, and on no receipt yet. When every
 * listed item is already on one receipt, that receipt is returned (existing = 1): asking
 * twice is harmless. The status change and the notification are the caller's (the sink). */
typedef struct {
    const char *const *waybills; /* validated, distinct */
    size_t n;
    const char *agency_code;     /* NULL = every agency; else another agency's item is unknown */
    const char *public_id;       /* "TN-yyyymmdd-XXXXXXXX" */
    const char *officer;         /* the receiving officer's name */
    const char *created_by;      /* the token's name */
} store_receipt_new_t;

typedef struct {
    char id[STORE_LABELS_ID_MAX];
    char agency_code[STORE_LABELS_CODE_MAX];
    char officer[256];
    int64_t created_at;       /* UTC ms: the legal submission time */
    int existing;             /* 1: the items were received before, nothing was written */
    store_label_item_t *items; /* owned, in receipt order */
    int64_t *shipment_ids;    /* owned, parallel to items */
    size_t n;
} store_receipt_t;
void store_receipt_free(store_receipt_t *r);

/* store_labels_receipt_create - a new receipt (or the existing one, see above) */
store_rc_t store_labels_receipt_create(store_tx_t *tx, const store_receipt_new_t *req, int64_t now,
                                       store_receipt_t *out, store_labels_refusal_t *why);
/* store_labels_receipt_get - receipt public_id with its items; STORE_NOT_FOUND when unknown */
store_rc_t store_labels_receipt_get(store_tx_t *tx, const char *public_id, store_receipt_t *out);
/* store_labels_receipt_of - the receipt shipment_id was received on: its public id in id and
 * its time (the legal submission time) in *received_at; STORE_NOT_FOUND when it is on none */
store_rc_t store_labels_receipt_of(store_tx_t *tx, int64_t shipment_id, char id[STORE_LABELS_ID_MAX],
                                   int64_t *received_at);

#endif
