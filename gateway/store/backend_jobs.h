/*
 * backend_jobs - what a store backend implements for the job table (see store_jobs.h)
 *
 * One slot per public function of store_jobs.h, with the same signature; the
 * front (store_jobs.c) dispatches to tx->store->be->jobs. Only files under
 * gateway/store/ include this header.
 */
#ifndef BCCI_BACKEND_JOBS_H
#define BCCI_BACKEND_JOBS_H

#include "gateway/store/store_jobs.h"

struct store_jobs_ops {
    store_rc_t (*enqueue)(store_tx_t *tx, store_job_kind_t kind, int64_t shipment_id, const char *purpose,
                          const char *carrier, const char *payload, int64_t run_at, int64_t now);
    store_rc_t (*requeue_leased)(store_tx_t *tx, const char *worker, int64_t now, int *count);
    store_rc_t (*expire_leases)(store_tx_t *tx, int64_t now, int *count);
    store_rc_t (*lease_due)(store_tx_t *tx, const char *carrier, const char *worker, int64_t now, int max,
                            store_job_lease_t *out, int *n);
    store_rc_t (*get)(store_tx_t *tx, int64_t id, store_job_t *out);
    store_rc_t (*complete)(store_tx_t *tx, int64_t id, int64_t now);
    store_rc_t (*retry)(store_tx_t *tx, int64_t id, int64_t delay_ms, const char *message, int max_attempts,
                        int64_t now, int *dead);
    store_rc_t (*kill)(store_tx_t *tx, int64_t id, const char *message, int64_t now);
    store_rc_t (*revive)(store_tx_t *tx, int64_t id, int64_t now);
    store_rc_t (*pause)(store_tx_t *tx, int64_t id, int64_t delay_ms, const char *message, int64_t now);
    store_rc_t (*revive_all)(store_tx_t *tx, const char *kind, const char *carrier, int64_t since, int64_t now,
                             int *count);
    store_rc_t (*counts)(store_tx_t *tx, store_job_counts_t *out);
    store_rc_t (*list)(store_tx_t *tx, const store_job_filter_t *filter, store_job_list_t *out);
    /* *of_dossier 1: the book job stored no payload (store_dossiers.h) and *payload is the
     * canonical text of the shipment's submission, which store_jobs.c builds it from */
    store_rc_t (*book_payload)(store_tx_t *tx, int64_t shipment_id, char **payload, int *of_dossier);
    store_rc_t (*next_due)(store_tx_t *tx, int64_t *at);
    store_rc_t (*inflight)(store_tx_t *tx, store_job_inflight_t *out, int max, int *n);
    store_rc_t (*gauges)(store_tx_t *tx, store_gauges_t *out);
};

#endif
