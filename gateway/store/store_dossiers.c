/*
 * store_dossiers - the front of the dossiers area (see store_dossiers.h)
 *
 * Each data operation dispatches to the backend of the transaction's store;
 * the records' free functions live here because they are the same for every
 * backend.
 */
#include "gateway/store/store_dossiers.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/store/backend_dossiers.h"
#include "gateway/store/store_backend.h"

#define OPS(tx) ((tx)->store->be->dossiers)

store_rc_t
store_dossiers_intake(store_tx_t *tx, const store_intake_t *in, int64_t now, store_intake_result_t *out)
{
    return OPS(tx)->intake(tx, in, now, out);
}

store_rc_t
store_dossiers_import_codes(store_tx_t *tx, const char *prefix, const char *country, long long from, long long count,
                            int64_t now, store_code_range_t *overlap)
{
    return OPS(tx)->import_codes(tx, prefix, country, from, count, now, overlap);
}

store_rc_t
store_dossiers_codes_status(store_tx_t *tx, store_codes_t *out)
{
    return OPS(tx)->codes_status(tx, out);
}

store_rc_t
store_dossiers_reassign_waybill(store_tx_t *tx, int64_t shipment_id, int64_t now, char waybill[STORE_WAYBILL_MAX])
{
    return OPS(tx)->reassign_waybill(tx, shipment_id, now, waybill);
}

store_rc_t
store_dossiers_view(store_tx_t *tx, const char *code, store_dossier_view_t *out)
{
    return OPS(tx)->view(tx, code, out);
}

store_rc_t
store_dossiers_code_of_waybill(store_tx_t *tx, const char *waybill, char code[STORE_CODE_MAX])
{
    return OPS(tx)->code_of_waybill(tx, waybill, code);
}

store_rc_t
store_dossiers_timeline(store_tx_t *tx, const char *code, store_timeline_t *out)
{
    return OPS(tx)->timeline(tx, code, out);
}

store_rc_t
store_dossiers_tracking(store_tx_t *tx, const char *waybill, store_tracking_t *out)
{
    return OPS(tx)->tracking(tx, waybill, out);
}

store_rc_t
store_dossiers_clerk_list(store_tx_t *tx, store_clerk_state_t state, const char *agency, int64_t returned_since,
                          int max, store_clerk_list_t *out)
{
    return OPS(tx)->clerk_list(tx, state, agency, returned_since, max, out);
}

store_rc_t
store_dossiers_search(store_tx_t *tx, const store_search_t *q, store_clerk_list_t *out, long long *total)
{
    return OPS(tx)->search(tx, q, out, total);
}

store_rc_t
store_dossiers_cancel_target(store_tx_t *tx, const char *waybill, store_cancel_target_t *out)
{
    return OPS(tx)->cancel_target(tx, waybill, out);
}

store_rc_t
store_dossiers_leave_manifest(store_tx_t *tx, const store_cancel_target_t *t, const char *source, int64_t now,
                              int *left)
{
    return OPS(tx)->leave_manifest(tx, t, source, now, left);
}

store_rc_t
store_dossiers_withdraw_booking(store_tx_t *tx, int64_t shipment_id, int64_t now)
{
    return OPS(tx)->withdraw_booking(tx, shipment_id, now);
}

store_rc_t
store_dossiers_request_cancel(store_tx_t *tx, const store_cancel_target_t *t, const char *source, int64_t now)
{
    return OPS(tx)->request_cancel(tx, t, source, now);
}

store_rc_t
store_dossiers_agency_of(store_tx_t *tx, store_owned_t kind, const char *key, char agency[STORE_CODE_MAX])
{
    return OPS(tx)->agency_of(tx, kind, key, agency);
}

store_rc_t
store_dossiers_health_counts(store_tx_t *tx, store_health_counts_t *out)
{
    return OPS(tx)->health_counts(tx, out);
}

void
store_codes_free(store_codes_t *self)
{
    free(self->ranges);
    memset(self, 0, sizeof *self);
}

void
store_dossier_view_free(store_dossier_view_t *self)
{
    size_t i;

    for (i = 0; i < self->nsubmissions; i++)
        free(self->submissions[i].body);
    for (i = 0; i < self->nshipments; i++)
        free(self->shipments[i].carrier_ref);
    free(self->submissions);
    free(self->shipments);
    memset(self, 0, sizeof *self);
}

void
store_timeline_free(store_timeline_t *self)
{
    size_t i;

    for (i = 0; i < self->nevents; i++) {
        free(self->events[i].raw_code);
        free(self->events[i].text);
        free(self->events[i].details);
    }
    free(self->events);
    memset(self, 0, sizeof *self);
}

void
store_tracking_free(store_tracking_t *self)
{
    free(self->recipient_name);
    free(self->agency_name);
    free(self->events);
    memset(self, 0, sizeof *self);
}

void
store_clerk_list_free(store_clerk_list_t *self)
{
    size_t i;

    for (i = 0; i < self->nrows; i++) {
        free(self->rows[i].recipient_name);
        free(self->rows[i].last_event);
        free(self->rows[i].recipient_phone);
        free(self->rows[i].agency_name);
        free(self->rows[i].fail_reason);
    }
    free(self->rows);
    memset(self, 0, sizeof *self);
}
