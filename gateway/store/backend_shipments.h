/*
 * backend_shipments - what a store backend implements for store_shipments.h
 * (internal to gateway/store/): one slot per public function, same signature.
 */
#ifndef BCCI_BACKEND_SHIPMENTS_H
#define BCCI_BACKEND_SHIPMENTS_H

#include "gateway/store/store_shipments.h"

struct store_shipments_ops {
    store_rc_t (*get)(store_tx_t *tx, int64_t id, store_shipment_t *out);
    store_rc_t (*find_waybill)(store_tx_t *tx, const char *carrier, const char *waybill, store_shipment_t *out);
    store_rc_t (*find_ref)(store_tx_t *tx, const char *carrier, const char *carrier_ref, store_shipment_t *out);
    store_rc_t (*set_booked)(store_tx_t *tx, int64_t id, const char *carrier_ref, int64_t fee, int64_t now);
    store_rc_t (*set_status)(store_tx_t *tx, int64_t id, const char *status, int64_t status_time, int64_t now);
    store_rc_t (*set_due)(store_tx_t *tx, int64_t id, int64_t due_at);
    store_rc_t (*record_attempt)(store_tx_t *tx, int64_t id, int64_t at, int failed);
    store_rc_t (*record_invitation)(store_tx_t *tx, int64_t id, int64_t at);
    store_rc_t (*set_next_poll)(store_tx_t *tx, int64_t id, int64_t at);
    store_rc_t (*mark_breached)(store_tx_t *tx, int64_t id);
    store_rc_t (*record_delivery)(store_tx_t *tx, int64_t id, const store_proof_t *proof);
    store_rc_t (*record_collected)(store_tx_t *tx, int64_t id, int64_t amount, int64_t at);
    store_rc_t (*get_proof)(store_tx_t *tx, int64_t id, store_proof_t *out);
    store_rc_t (*contact)(store_tx_t *tx, int64_t id, store_contact_t *out);
    store_rc_t (*due_polls)(store_tx_t *tx, int64_t now, int max, store_shipment_list_t *out);
    store_rc_t (*failed_deliveries)(store_tx_t *tx, int max, store_shipment_list_t *out);
    store_rc_t (*past_due)(store_tx_t *tx, int64_t cutoff, int max, store_shipment_list_t *out);
    store_rc_t (*count_track_jobs)(store_tx_t *tx, const char *carrier, int *n);
};

#endif
