/*
 * backend_labels - what a store backend implements for store_labels.h (gateway/store/ only)
 *
 * One slot per public function of store_labels.h, with the same signature and contract.
 */
#ifndef BCCI_BACKEND_LABELS_H
#define BCCI_BACKEND_LABELS_H

#include "gateway/store/store_labels.h"

struct store_labels_ops {
    store_rc_t (*print)(store_tx_t *tx, const store_label_print_t *req, int64_t now, store_label_list_t *out,
                        store_labels_refusal_t *why);
    store_rc_t (*manifest_create)(store_tx_t *tx, const store_manifest_new_t *req, int64_t now, store_manifest_t *out,
                                  store_labels_refusal_t *why);
    store_rc_t (*manifest_get)(store_tx_t *tx, const char *public_id, store_manifest_t *out);
    store_rc_t (*scan_manifest)(store_tx_t *tx, const char *public_id, int64_t now, store_scan_result_t *out);
    store_rc_t (*scan_waybill)(store_tx_t *tx, const char *waybill, int64_t now, store_scan_result_t *out,
                               store_labels_refusal_t *why);
    store_rc_t (*receipt_create)(store_tx_t *tx, const store_receipt_new_t *req, int64_t now, store_receipt_t *out,
                                 store_labels_refusal_t *why);
    store_rc_t (*receipt_get)(store_tx_t *tx, const char *public_id, store_receipt_t *out);
    store_rc_t (*receipt_of)(store_tx_t *tx, int64_t shipment_id, char id[STORE_LABELS_ID_MAX], int64_t *received_at);
};

#endif
