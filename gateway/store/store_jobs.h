/*
 * store_jobs - the durable job table (transactional outbox), behind the store
 *
 * A job is one carrier or case-system call still to make: book, cancel, track
 * or notify, for one shipment. Jobs are written in the same transaction as
 * the change that needs them, so nothing is lost and nothing is sent before
 * it is durable. A job is unique per (shipment, kind, purpose): enqueueing it
 * twice answers STORE_EXISTS and changes nothing.
 *
 * Life of a job: ready -> leased (to one worker, until lease expiry) -> done;
 * or back to ready with a delay (retry), or dead (too many attempts, or a
 * permanent failure), from where an operator may revive it. A lease that
 * expires, or a worker that goes away, puts its jobs back to ready; so does a
 * restart (restart is recovery).
 *
 * Ordering rules applied when leasing: a notify job waits until every earlier
 * notify job of the same dossier (either leg) is settled, so the case system
 * sees changes in timeline order; a cancel job waits until the shipment has a
 * carrier reference (its booking is done).
 *
 * Only bccid's engine changes jobs, inside its write transaction; reads
 * (list, counts, gauges) run in any transaction. Every call returns a
 * store_rc_t; STORE_BUSY means nothing was read or changed that the caller
 * can see as a result (a read never returns a partial answer).
 *
 * Ownership: records passed in are borrowed for the call. Results are
 * caller-owned: a store_job_lease_t owns its payload (store_job_lease_free),
 * a store_job_list_t owns its array (store_job_list_free), a payload from
 * store_jobs_book_payload is freed with free(). Every other record has
 * fixed-size fields and needs no freeing.
 */
#ifndef BCCI_STORE_JOBS_H
#define BCCI_STORE_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/store/store.h"

/* a lease lasts this long; a job whose worker neither answers nor renews goes back after it */
#define JOBS_LEASE_MS (60 * 1000)
/* notify jobs go to the case system, not to a carrier; every worker serves them */
#define JOBS_CASE_SYSTEM "case_system"

/* kinds: book, cancel, track, return (ask the carrier to bring the item back) go to a carrier;
 * notify (the case system), sms and email (the citizen) go to every worker */
typedef enum {
    STORE_JOB_BOOK, STORE_JOB_CANCEL, STORE_JOB_TRACK, STORE_JOB_NOTIFY, STORE_JOB_SMS, STORE_JOB_EMAIL,
    STORE_JOB_RETURN, STORE_JOB_KINDS
} store_job_kind_t;
typedef enum { STORE_JOB_READY, STORE_JOB_LEASED, STORE_JOB_DONE, STORE_JOB_DEAD, STORE_JOB_STATES } store_job_state_t;

/* store_job_kind_name / store_job_state_name - "book", …, "ready", …; "" when out of range */
const char *store_job_kind_name(store_job_kind_t kind);
const char *store_job_state_name(store_job_state_t state);
/* store_job_state_parse - 0 and *out for "ready", "leased", "done" or "dead"; -1 otherwise */
int store_job_state_parse(const char *name, store_job_state_t *out);
int store_job_kind_parse(const char *name, store_job_kind_t *out);

/* store_job_t - one row of the job table */
typedef struct {
    int64_t id;
    int64_t lease;           /* the current lease token, 0 when not leased */
    int64_t shipment_id;     /* 0 when the job has no shipment */
    int64_t next_attempt_at; /* ms since the epoch */
    int64_t created_at;
    char kind[16];           /* "book", "cancel", "track", "notify" */
    char carrier[32];        /* a carrier name, or JOBS_CASE_SYSTEM */
    char state[12];          /* "ready", "leased", "done", "dead" */
    int attempts;            /* attempts started so far */
    char last_error[256];    /* what the last failed attempt said, "" when none (cut to fit) */
} store_job_t;

/* store_job_lease_t - a job leased to a worker, with what the worker needs to run it */
typedef struct {
    int64_t id;
    int64_t lease;        /* the token the worker's RESULT must carry */
    int64_t shipment_id;
    char kind[16];
    char carrier[32];
    int attempt;          /* 1 for the first try */
    char waybill[16];     /* of the job's shipment, "" when none */
    char carrier_ref[64]; /* the carrier's order id once booked, "" before */
    char *payload;        /* JSON text; owned: store_job_lease_free */
    int payload_of_dossier; /* 1: payload is the canonical text of the job's dossier, which the
                             * job stored in place of a payload (store_dossiers.h); the worker
                             * builds the booking from it (dossier_book_payload) */
} store_job_lease_t;

/* store_job_lease_free - free the payload of l (the struct itself is the caller's); NULL-safe */
void store_job_lease_free(store_job_lease_t *l);

/* store_job_list_t - jobs of a listing, newest first; caller owns items (store_job_list_free) */
typedef struct {
    store_job_t *items;
    size_t n;
} store_job_list_t;
void store_job_list_free(store_job_list_t *list);

/* store_job_filter_t - what store_jobs_list returns */
typedef struct {
    int any_state;           /* 1: every state; 0: only state */
    store_job_state_t state;
    const char *agency;      /* only jobs of this agency's shipments; NULL or "" = every agency */
    int limit;               /* at most this many (> 0) */
} store_job_filter_t;

/* store_job_counts_t - jobs per kind and state */
typedef struct {
    int64_t n[STORE_JOB_KINDS][STORE_JOB_STATES];
} store_job_counts_t;

/* store_job_inflight_t - leased jobs of one carrier */
typedef struct {
    char carrier[32];
    int leased;
} store_job_inflight_t;

/* store_gauges_t - what /healthz and /metrics read on each call */
typedef struct {
    int64_t dossiers;       /* dossiers kept */
    int64_t jobs_pending;   /* ready or leased, every kind */
    int64_t jobs_dead;
    int64_t notify_pending; /* case-system notifications ready or leased */
    int64_t notify_dead;
    int64_t sla_breaches;   /* shipments that missed their working-day due date */
    int64_t codes_left;     /* S10 numbers left in the code pool */
} store_gauges_t;

/* store_jobs_enqueue - add a ready job due at run_at; payload is JSON text (copied).
 * STORE_OK added, STORE_EXISTS when (shipment_id, kind, purpose) is already there (nothing changed) */
store_rc_t store_jobs_enqueue(store_tx_t *tx, store_job_kind_t kind, int64_t shipment_id, const char *purpose,
                              const char *carrier, const char *payload, int64_t run_at, int64_t now);
/* store_jobs_requeue_leased - jobs leased to worker (NULL: to anyone) back to ready; *count (may be NULL) */
store_rc_t store_jobs_requeue_leased(store_tx_t *tx, const char *worker, int64_t now, int *count);
/* store_jobs_expire_leases - leases that expired before now back to ready; *count (may be NULL) */
store_rc_t store_jobs_expire_leases(store_tx_t *tx, int64_t now, int *count);
/* store_jobs_lease_due - lease to worker up to max due jobs of carrier, oldest first, for
 * JOBS_LEASE_MS. out has room for max; *n leases filled, each caller-owned (store_job_lease_free).
 * On failure *n is 0 and nothing is left allocated. */
store_rc_t store_jobs_lease_due(store_tx_t *tx, const char *carrier, const char *worker, int64_t now, int max,
                                store_job_lease_t *out, int *n);
/* store_jobs_get - the job; STORE_NOT_FOUND when there is none */
store_rc_t store_jobs_get(store_tx_t *tx, int64_t id, store_job_t *out);
/* store_jobs_complete - the job is done */
store_rc_t store_jobs_complete(store_tx_t *tx, int64_t id, int64_t now);
/* store_jobs_retry - back to ready after delay_ms with message as its last error; when its
 * attempts reached max_attempts it is dead instead (*dead = 1; dead may be NULL).
 * STORE_NOT_FOUND for an unknown job */
store_rc_t store_jobs_retry(store_tx_t *tx, int64_t id, int64_t delay_ms, const char *message, int max_attempts,
                            int64_t now, int *dead);
/* store_jobs_kill - dead at once (a permanent failure), with message */
store_rc_t store_jobs_kill(store_tx_t *tx, int64_t id, const char *message, int64_t now);
/* store_jobs_revive - a dead job back to ready now, attempts reset; STORE_NOT_FOUND when
 * there is no dead job id */
store_rc_t store_jobs_revive(store_tx_t *tx, int64_t id, int64_t now);
/* store_jobs_pause - the job's carrier refused the gateway's configuration: back to ready after
 * delay_ms with message as its last error, the attempt its lease counted given back (never dead);
 * STORE_NOT_FOUND for an unknown job */
store_rc_t store_jobs_pause(store_tx_t *tx, int64_t id, int64_t delay_ms, const char *message, int64_t now);
/* store_jobs_revive_all - every dead job of kind and carrier (NULL or "" = any) that died at or
 * after since (0 = ever) back to ready now, attempts reset; *count (may be NULL) how many */
store_rc_t store_jobs_revive_all(store_tx_t *tx, const char *kind, const char *carrier, int64_t since, int64_t now,
                                 int *count);
/* store_jobs_counts - every job counted by kind and state */
store_rc_t store_jobs_counts(store_tx_t *tx, store_job_counts_t *out);
/* store_jobs_list - jobs matching filter, newest first; *out is caller-owned (store_job_list_free),
 * empty on failure */
store_rc_t store_jobs_list(store_tx_t *tx, const store_job_filter_t *filter, store_job_list_t *out);
/* store_jobs_book_payload - a copy of the payload of shipment_id's book job, which cancel and
 * track jobs carry too; caller frees *payload. STORE_NOT_FOUND when there is no book job */
store_rc_t store_jobs_book_payload(store_tx_t *tx, int64_t shipment_id, char **payload);
/* store_jobs_next_due - the earliest next_attempt_at of a ready job; INT64_MAX when none */
store_rc_t store_jobs_next_due(store_tx_t *tx, int64_t *at);
/* store_jobs_inflight - leased jobs per carrier, at most max carriers into out; *n filled */
store_rc_t store_jobs_inflight(store_tx_t *tx, store_job_inflight_t *out, int max, int *n);
/* store_jobs_gauges - the counts /healthz and /metrics show */
store_rc_t store_jobs_gauges(store_tx_t *tx, store_gauges_t *out);

#endif
