/*
 * store_jobs - the front of the job table: names, and one dispatch per operation (see store_jobs.h)
 */
#include "gateway/store/store_jobs.h"

#include <stdlib.h>
#include <string.h>

#include "domain/dossier.h"
#include "gateway/store/backend_jobs.h"
#include "gateway/store/store_backend.h"

static const char *const kind_names[STORE_JOB_KINDS] = { "book", "cancel", "track", "notify", "sms", "email",
                                                          "return" };
static const char *const state_names[STORE_JOB_STATES] = { "ready", "leased", "done", "dead" };

const char *
store_job_kind_name(store_job_kind_t kind)
{
    return (unsigned)kind < STORE_JOB_KINDS ? kind_names[kind] : "";
}

const char *
store_job_state_name(store_job_state_t state)
{
    return (unsigned)state < STORE_JOB_STATES ? state_names[state] : "";
}

int
store_job_state_parse(const char *name, store_job_state_t *out)
{
    int i;

    for (i = 0; name && i < STORE_JOB_STATES; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (store_job_state_t)i;
            return 0;
        }
    }
    return -1;
}

int
store_job_kind_parse(const char *name, store_job_kind_t *out)
{
    int i;

    for (i = 0; name && i < STORE_JOB_KINDS; i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (store_job_kind_t)i;
            return 0;
        }
    }
    return -1;
}

void
store_job_lease_free(store_job_lease_t *l)
{
    if (!l)
        return;
    free(l->payload);
    l->payload = NULL;
}

void
store_job_list_free(store_job_list_t *list)
{
    if (!list)
        return;
    free(list->items);
    list->items = NULL;
    list->n = 0;
}

store_rc_t
store_jobs_enqueue(store_tx_t *tx, store_job_kind_t kind, int64_t shipment_id, const char *purpose,
                   const char *carrier, const char *payload, int64_t run_at, int64_t now)
{
    return tx->store->be->jobs->enqueue(tx, kind, shipment_id, purpose, carrier, payload, run_at, now);
}

store_rc_t
store_jobs_requeue_leased(store_tx_t *tx, const char *worker, int64_t now, int *count)
{
    return tx->store->be->jobs->requeue_leased(tx, worker, now, count);
}

store_rc_t
store_jobs_expire_leases(store_tx_t *tx, int64_t now, int *count)
{
    return tx->store->be->jobs->expire_leases(tx, now, count);
}

store_rc_t
store_jobs_lease_due(store_tx_t *tx, const char *carrier, const char *worker, int64_t now, int max,
                     store_job_lease_t *out, int *n)
{
    return tx->store->be->jobs->lease_due(tx, carrier, worker, now, max, out, n);
}

store_rc_t
store_jobs_get(store_tx_t *tx, int64_t id, store_job_t *out)
{
    return tx->store->be->jobs->get(tx, id, out);
}

store_rc_t
store_jobs_complete(store_tx_t *tx, int64_t id, int64_t now)
{
    return tx->store->be->jobs->complete(tx, id, now);
}

store_rc_t
store_jobs_retry(store_tx_t *tx, int64_t id, int64_t delay_ms, const char *message, int max_attempts, int64_t now,
                 int *dead)
{
    return tx->store->be->jobs->retry(tx, id, delay_ms, message, max_attempts, now, dead);
}

store_rc_t
store_jobs_kill(store_tx_t *tx, int64_t id, const char *message, int64_t now)
{
    return tx->store->be->jobs->kill(tx, id, message, now);
}

store_rc_t
store_jobs_revive(store_tx_t *tx, int64_t id, int64_t now)
{
    return tx->store->be->jobs->revive(tx, id, now);
}

store_rc_t
store_jobs_pause(store_tx_t *tx, int64_t id, int64_t delay_ms, const char *message, int64_t now)
{
    return tx->store->be->jobs->pause(tx, id, delay_ms, message, now);
}

store_rc_t
store_jobs_revive_all(store_tx_t *tx, const char *kind, const char *carrier, int64_t since, int64_t now, int *count)
{
    return tx->store->be->jobs->revive_all(tx, kind, carrier, since, now, count);
}

store_rc_t
store_jobs_counts(store_tx_t *tx, store_job_counts_t *out)
{
    return tx->store->be->jobs->counts(tx, out);
}

store_rc_t
store_jobs_list(store_tx_t *tx, const store_job_filter_t *filter, store_job_list_t *out)
{
    return tx->store->be->jobs->list(tx, filter, out);
}

store_rc_t
store_jobs_book_payload(store_tx_t *tx, int64_t shipment_id, char **payload)
{
    int of_dossier = 0;
    char *dossier;
    store_rc_t r = tx->store->be->jobs->book_payload(tx, shipment_id, payload, &of_dossier);

    if (r != STORE_OK || !of_dossier)
        return r;
    dossier = *payload;
    *payload = dossier_book_payload_text(dossier);
    free(dossier);
    return *payload ? STORE_OK
                    : store_tx_fail(tx, STORE_ERROR,
                                    "the booking of shipment %lld cannot be built from its stored submission (out "
                                    "of memory, or the submission is damaged); retry, and if it fails again run "
                                    "'bcci timeline verify' on its dossier and restore the last good backup",
                                    (long long)shipment_id);
}

store_rc_t
store_jobs_next_due(store_tx_t *tx, int64_t *at)
{
    return tx->store->be->jobs->next_due(tx, at);
}

store_rc_t
store_jobs_inflight(store_tx_t *tx, store_job_inflight_t *out, int max, int *n)
{
    return tx->store->be->jobs->inflight(tx, out, max, n);
}

store_rc_t
store_jobs_gauges(store_tx_t *tx, store_gauges_t *out)
{
    return tx->store->be->jobs->gauges(tx, out);
}
