/*
 * store_shipments - the front of the shipments area: one-line dispatch to the backend
 * (see store_shipments.h)
 */
#include "gateway/store/store_shipments.h"

#include <stdlib.h>

#include "gateway/store/backend_shipments.h"
#include "gateway/store/store_backend.h"

void
store_shipment_list_free(store_shipment_list_t *list)
{
    free(list->items);
    list->items = NULL;
    list->n = 0;
}

store_rc_t
store_shipments_get(store_tx_t *tx, int64_t id, store_shipment_t *out)
{
    return tx->store->be->shipments->get(tx, id, out);
}

store_rc_t
store_shipments_find_waybill(store_tx_t *tx, const char *carrier, const char *waybill, store_shipment_t *out)
{
    return tx->store->be->shipments->find_waybill(tx, carrier, waybill, out);
}

store_rc_t
store_shipments_find_ref(store_tx_t *tx, const char *carrier, const char *carrier_ref, store_shipment_t *out)
{
    return tx->store->be->shipments->find_ref(tx, carrier, carrier_ref, out);
}

store_rc_t
store_shipments_set_booked(store_tx_t *tx, int64_t id, const char *carrier_ref, int64_t fee, int64_t now)
{
    return tx->store->be->shipments->set_booked(tx, id, carrier_ref, fee, now);
}

store_rc_t
store_shipments_set_status(store_tx_t *tx, int64_t id, const char *status, int64_t status_time, int64_t now)
{
    return tx->store->be->shipments->set_status(tx, id, status, status_time, now);
}

store_rc_t
store_shipments_set_due(store_tx_t *tx, int64_t id, int64_t due_at)
{
    return tx->store->be->shipments->set_due(tx, id, due_at);
}

store_rc_t
store_shipments_record_attempt(store_tx_t *tx, int64_t id, int64_t at, int failed)
{
    return tx->store->be->shipments->record_attempt(tx, id, at, failed);
}

store_rc_t
store_shipments_record_invitation(store_tx_t *tx, int64_t id, int64_t at)
{
    return tx->store->be->shipments->record_invitation(tx, id, at);
}

store_rc_t
store_shipments_set_next_poll(store_tx_t *tx, int64_t id, int64_t at)
{
    return tx->store->be->shipments->set_next_poll(tx, id, at);
}

store_rc_t
store_shipments_mark_breached(store_tx_t *tx, int64_t id)
{
    return tx->store->be->shipments->mark_breached(tx, id);
}

store_rc_t
store_shipments_record_collected(store_tx_t *tx, int64_t id, int64_t amount, int64_t at)
{
    return tx->store->be->shipments->record_collected(tx, id, amount, at);
}

store_rc_t
store_shipments_record_delivery(store_tx_t *tx, int64_t id, const store_proof_t *proof)
{
    return tx->store->be->shipments->record_delivery(tx, id, proof);
}

store_rc_t
store_shipments_get_proof(store_tx_t *tx, int64_t id, store_proof_t *out)
{
    return tx->store->be->shipments->get_proof(tx, id, out);
}

store_rc_t
store_shipments_contact(store_tx_t *tx, int64_t id, store_contact_t *out)
{
    return tx->store->be->shipments->contact(tx, id, out);
}

store_rc_t
store_shipments_due_polls(store_tx_t *tx, int64_t now, int max, store_shipment_list_t *out)
{
    return tx->store->be->shipments->due_polls(tx, now, max, out);
}

store_rc_t
store_shipments_failed_deliveries(store_tx_t *tx, int max, store_shipment_list_t *out)
{
    return tx->store->be->shipments->failed_deliveries(tx, max, out);
}

store_rc_t
store_shipments_past_due(store_tx_t *tx, int64_t cutoff, int max, store_shipment_list_t *out)
{
    return tx->store->be->shipments->past_due(tx, cutoff, max, out);
}

store_rc_t
store_shipments_count_track_jobs(store_tx_t *tx, const char *carrier, int *n)
{
    return tx->store->be->shipments->count_track_jobs(tx, carrier, n);
}
