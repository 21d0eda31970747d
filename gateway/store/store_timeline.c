/*
 * store_timeline - the front of the timeline area (see store_timeline.h): what an event
 * must be before any backend keeps it forever, then one-line dispatch to the backend; the
 * chain itself is timeline_chain.c
 */
#include "gateway/store/store_timeline.h"

#include <jansson.h>
#include <stdlib.h>

#include "gateway/store/backend_timeline.h"
#include "gateway/store/store_backend.h"

void
store_timeline_list_free(store_timeline_list_t *list)
{
    size_t i;

    for (i = 0; i < list->n; i++) {
        store_timeline_row_t *r = &list->items[i];

        free(r->source);
        free(r->status);
        free(r->upu);
        free(r->raw_code);
        free(r->text);
        free(r->details);
        free(r->hash);
        free(r->waybill);
    }
    free(list->items);
    list->items = NULL;
    list->n = 0;
}

store_rc_t
store_set_chain_key(store_t *store, const void *key, size_t len)
{
    return store->be->timeline->set_chain_key(store, key, len);
}

/* details_ok - the chain keeps what it is given forever: only a JSON object goes in */
static int
details_ok(const char *details)
{
    json_t *d;
    int ok;

    if (!details)
        return 1;
    d = json_loads(details, JSON_REJECT_DUPLICATES, NULL);
    ok = json_is_object(d);
    json_decref(d);
    return ok;
}

store_rc_t
store_timeline_append(store_tx_t *tx, const store_timeline_event_t *ev)
{
    store_timeline_event_t e = *ev;

    if (!details_ok(ev->details))
        return store_tx_fail(tx, STORE_ERROR, "timeline event details must be a JSON object (got %.40s…)",
                             ev->details);
    /* an empty UPU code is none: stored as NULL by every backend */
    if (e.upu && !*e.upu)
        e.upu = NULL;
    return tx->store->be->timeline->append(tx, &e);
}

store_rc_t
store_timeline_list(store_tx_t *tx, int64_t dossier_id, store_timeline_list_t *out)
{
    return tx->store->be->timeline->list(tx, dossier_id, out);
}

store_rc_t
store_timeline_head(store_tx_t *tx, int64_t dossier_id, int64_t *count, char hash[STORE_HASH_HEX_LEN])
{
    return tx->store->be->timeline->head(tx, dossier_id, count, hash);
}

store_rc_t
store_timeline_verify(store_tx_t *tx, int64_t dossier_id, char *why, size_t whylen)
{
    return tx->store->be->timeline->verify(tx, dossier_id, why, whylen);
}

store_rc_t
store_timeline_seal_all(store_tx_t *tx, int *sealed)
{
    return tx->store->be->timeline->seal_all(tx, sealed);
}
