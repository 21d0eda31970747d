/*
 * jobs - the durable job table (transactional outbox) on SQLite
 *
 * Only bccid's engine thread changes job state, always inside its open
 * transaction, so a function that returns success has changed nothing that
 * is visible until the engine commits. A job is unique per (shipment, kind,
 * purpose): enqueueing it twice is a no-op. Leased jobs whose lease expired
 * go back to ready; on start, every leased job goes back to ready (restart
 * is recovery). Payloads are JSON text owned by the job row; job_lease_t
 * owns its payload copy (jobs_lease_free).
 *
 * Ordering rules enforced at lease time: a notify job waits until every
 * earlier notify job of the same dossier (either leg) is settled (the case
 * system sees changes in timeline order); a cancel job waits until the shipment has a
 * carrier reference (its booking is done).
 */
#ifndef BCCI_JOBS_H
#define BCCI_JOBS_H

#include <jansson.h>
#include <stdint.h>

#include "gateway/store/sqlite/db.h"

#define JOBS_LEASE_MS (60 * 1000)
/* notify jobs go to the case system, not to a carrier; every worker serves them */
#define JOBS_CASE_SYSTEM "case_system"

typedef struct {
    int64_t id;
    int64_t lease;
    int64_t shipment_id;
    char kind[16];
    char carrier[32];
    int attempt;          /* 1 for the first try */
    char waybill[16];     /* of the job's shipment, "" when none */
    char carrier_ref[64]; /* the carrier's order id once booked, "" before */
    char *payload;        /* owned */
} job_lease_t;

typedef struct {
    int64_t id, lease, shipment_id, next_attempt_at, created_at;
    char kind[16], carrier[32], state[12];
    int attempts;
} job_row_t;

/* jobs_enqueue - 0 enqueued, 1 already present, -1 SQLite error (*rc) */
int jobs_enqueue(db_t *db, const char *kind, int64_t shipment_id, const char *purpose, const char *carrier,
                 const char *payload, int64_t run_at, int64_t now, int *rc);
/* jobs_requeue_leased - leased jobs of worker (NULL: of everyone) back to ready; count or -1 */
int jobs_requeue_leased(db_t *db, const char *worker, int64_t now);
/* jobs_expire_leases - leases past their expiry back to ready; count or -1 */
int jobs_expire_leases(db_t *db, int64_t now);
/* jobs_lease_due - lease up to max due jobs of carrier, oldest first; count or -1 */
int jobs_lease_due(db_t *db, const char *carrier, int64_t now, int max, const char *worker, job_lease_t *out);
void jobs_lease_free(job_lease_t *l);
/* jobs_get - 0 found, 1 not found, -1 error */
int jobs_get(db_t *db, int64_t id, job_row_t *out);
int jobs_complete(db_t *db, int64_t id, int64_t now);
/* jobs_retry - schedule another attempt after delay_ms; when attempts reach max_attempts
 * the job is dead instead. 0 scheduled, 1 dead, -1 error */
int jobs_retry(db_t *db, int64_t id, int64_t delay_ms, const char *message, int max_attempts, int64_t now);
int jobs_kill(db_t *db, int64_t id, const char *message, int64_t now);
/* jobs_revive - a dead job back to ready with its attempts reset; 0, 1 not dead/unknown, -1 */
int jobs_revive(db_t *db, int64_t id, int64_t now);
/* jobs_counts - {"book": {"ready": n, …}, …}; caller owns */
int jobs_counts(db_t *db, json_t **out);
/* jobs_list - jobs in state (NULL = all) of the shipments of agency (NULL or "" =
 * every agency), newest first, at most limit; caller owns */
int jobs_list(db_t *db, const char *state, const char *agency, int limit, json_t **out);
/* jobs_book_payload - a copy of the shipment payload of shipment_id's booking job, which
 * cancel and track jobs carry too (caller frees); NULL when there is none */
char *jobs_book_payload(db_t *db, int64_t shipment_id);
/* jobs_next_due - the earliest next_attempt_at of a ready job, or INT64_MAX */
int64_t jobs_next_due(db_t *db);

#endif
