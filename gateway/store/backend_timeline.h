/*
 * backend_timeline - what a store backend implements for store_timeline.h
 * (internal to gateway/store/): one slot per public function, same signature.
 */
#ifndef BCCI_BACKEND_TIMELINE_H
#define BCCI_BACKEND_TIMELINE_H

#include "gateway/store/store_timeline.h"

struct store_timeline_ops {
    store_rc_t (*set_chain_key)(store_t *store, const void *key, size_t len);
    store_rc_t (*append)(store_tx_t *tx, const store_timeline_event_t *ev);
    store_rc_t (*list)(store_tx_t *tx, int64_t dossier_id, store_timeline_list_t *out);
    store_rc_t (*head)(store_tx_t *tx, int64_t dossier_id, int64_t *count, char hash[STORE_HASH_HEX_LEN]);
    store_rc_t (*verify)(store_tx_t *tx, int64_t dossier_id, char *why, size_t whylen);
    store_rc_t (*seal_all)(store_tx_t *tx, int *sealed);
};

#endif
