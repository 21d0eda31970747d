/*
 * store_labels - the front of the labels area: each call goes to the store's backend
 * (see store_labels.h for the contract)
 */
#include "gateway/store/store_labels.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/store/backend_labels.h"
#include "gateway/store/store_backend.h"

static void
items_free(store_label_item_t *items, size_t n)
{
    size_t i;

    for (i = 0; items && i < n; i++)
        free(items[i].body);
    free(items);
}

void
store_label_list_free(store_label_list_t *list)
{
    if (!list)
        return;
    items_free(list->items, list->n);
    memset(list, 0, sizeof *list);
}

void
store_manifest_free(store_manifest_t *m)
{
    if (!m)
        return;
    items_free(m->items, m->n);
    memset(m, 0, sizeof *m);
}

store_rc_t
store_labels_print(store_tx_t *tx, const store_label_print_t *req, int64_t now, store_label_list_t *out,
                   store_labels_refusal_t *why)
{
    return tx->store->be->labels->print(tx, req, now, out, why);
}

store_rc_t
store_labels_manifest_create(store_tx_t *tx, const store_manifest_new_t *req, int64_t now, store_manifest_t *out,
                             store_labels_refusal_t *why)
{
    return tx->store->be->labels->manifest_create(tx, req, now, out, why);
}

store_rc_t
store_labels_manifest_get(store_tx_t *tx, const char *public_id, store_manifest_t *out)
{
    return tx->store->be->labels->manifest_get(tx, public_id, out);
}

store_rc_t
store_labels_scan_manifest(store_tx_t *tx, const char *public_id, int64_t now, store_scan_result_t *out)
{
    return tx->store->be->labels->scan_manifest(tx, public_id, now, out);
}

store_rc_t
store_labels_scan_waybill(store_tx_t *tx, const char *waybill, int64_t now, store_scan_result_t *out,
                          store_labels_refusal_t *why)
{
    return tx->store->be->labels->scan_waybill(tx, waybill, now, out, why);
}

void
store_receipt_free(store_receipt_t *r)
{
    if (!r)
        return;
    items_free(r->items, r->n);
    free(r->shipment_ids);
    memset(r, 0, sizeof *r);
}

store_rc_t
store_labels_receipt_create(store_tx_t *tx, const store_receipt_new_t *req, int64_t now, store_receipt_t *out,
                            store_labels_refusal_t *why)
{
    return tx->store->be->labels->receipt_create(tx, req, now, out, why);
}

store_rc_t
store_labels_receipt_get(store_tx_t *tx, const char *public_id, store_receipt_t *out)
{
    return tx->store->be->labels->receipt_get(tx, public_id, out);
}

store_rc_t
store_labels_receipt_of(store_tx_t *tx, int64_t shipment_id, char id[STORE_LABELS_ID_MAX], int64_t *received_at)
{
    return tx->store->be->labels->receipt_of(tx, shipment_id, id, received_at);
}
