/*
 * backend_dossiers - what a store backend implements for dossiers (store_dossiers.h)
 *
 * One slot per public function of store_dossiers.h, with the same signature;
 * the front (store_dossiers.c) dispatches. Only gateway/store/ includes this.
 */
#ifndef BCCI_BACKEND_DOSSIERS_H
#define BCCI_BACKEND_DOSSIERS_H

#include "gateway/store/store_dossiers.h"

struct store_dossiers_ops {
    store_rc_t (*intake)(store_tx_t *tx, const store_intake_t *in, int64_t now, store_intake_result_t *out);
    store_rc_t (*import_codes)(store_tx_t *tx, const char *prefix, const char *country, long long from,
                               long long count, int64_t now, store_code_range_t *overlap);
    store_rc_t (*codes_status)(store_tx_t *tx, store_codes_t *out);
    store_rc_t (*reassign_waybill)(store_tx_t *tx, int64_t shipment_id, int64_t now,
                                   char waybill[STORE_WAYBILL_MAX]);
    store_rc_t (*view)(store_tx_t *tx, const char *code, store_dossier_view_t *out);
    store_rc_t (*code_of_waybill)(store_tx_t *tx, const char *waybill, char code[STORE_CODE_MAX]);
    store_rc_t (*timeline)(store_tx_t *tx, const char *code, store_timeline_t *out);
    store_rc_t (*tracking)(store_tx_t *tx, const char *waybill, store_tracking_t *out);
    store_rc_t (*clerk_list)(store_tx_t *tx, store_clerk_state_t state, const char *agency, int64_t returned_since,
                             int max, store_clerk_list_t *out);
    store_rc_t (*search)(store_tx_t *tx, const store_search_t *q, store_clerk_list_t *out, long long *total);
    store_rc_t (*cancel_target)(store_tx_t *tx, const char *waybill, store_cancel_target_t *out);
    store_rc_t (*leave_manifest)(store_tx_t *tx, const store_cancel_target_t *t, const char *source, int64_t now,
                                 int *left);
    store_rc_t (*withdraw_booking)(store_tx_t *tx, int64_t shipment_id, int64_t now);
    store_rc_t (*request_cancel)(store_tx_t *tx, const store_cancel_target_t *t, const char *source, int64_t now);
    store_rc_t (*agency_of)(store_tx_t *tx, store_owned_t kind, const char *key, char agency[STORE_CODE_MAX]);
    store_rc_t (*health_counts)(store_tx_t *tx, store_health_counts_t *out);
};

#endif
