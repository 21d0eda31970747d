/*
 * jobs - the durable job table on SQLite (internal to the SQLite backend)
 *
 * The SQL of the job table and the functions that run it on one connection.
 * sqlite_jobs.c turns them into the store's interface (store_jobs.h, which
 * says what a job is and who owns what); other files of the backend (intake)
 * and, while they move to the store's interface, the sink and the scheduler
 * call the db_t forms below.
 *
 * Each *_rc function returns the SQLite result code of the first failing
 * step (SQLITE_OK when every step succeeded, read loops included: a read that
 * stops before SQLITE_DONE is a failure, never a shorter answer) and fills its
 * outputs only on SQLITE_OK. Nothing here commits: the caller's transaction
 * does.
 */
#ifndef BCCI_JOBS_H
#define BCCI_JOBS_H

#include <stdint.h>

#include "gateway/store/sqlite/db.h"
#include "gateway/store/store_jobs.h"

/* the names the sink and the scheduler use for the public records */
typedef store_job_lease_t job_lease_t;
typedef store_job_t job_row_t;

/* jobs_enqueue - 0 enqueued, 1 already present, -1 SQLite error (*rc) */
int jobs_enqueue(db_t *db, const char *kind, int64_t shipment_id, const char *purpose, const char *carrier,
                 const char *payload, int64_t run_at, int64_t now, int *rc);
/* jobs_get - 0 found, 1 not found, -1 error */
int jobs_get(db_t *db, int64_t id, job_row_t *out);
/* jobs_complete / jobs_kill - 0, -1 error */
int jobs_complete(db_t *db, int64_t id, int64_t now);
int jobs_kill(db_t *db, int64_t id, const char *message, int64_t now);
/* jobs_retry - schedule another attempt after delay_ms; when attempts reach max_attempts
 * the job is dead instead. 0 scheduled, 1 dead, -1 error */
int jobs_retry(db_t *db, int64_t id, int64_t delay_ms, const char *message, int max_attempts, int64_t now);

/* the same operations with the SQLite result code, for sqlite_jobs.c */
int jobs_requeue_rc(db_t *db, const char *worker, int64_t now, int *count);
int jobs_expire_rc(db_t *db, int64_t now, int *count);
/* jobs_lease_due_rc - *n leases in out (caller-owned payloads); on failure none */
int jobs_lease_due_rc(db_t *db, const char *carrier, const char *worker, int64_t now, int max, job_lease_t *out,
                      int *n);
/* jobs_get_rc - *found 1 and *out, or *found 0 */
int jobs_get_rc(db_t *db, int64_t id, job_row_t *out, int *found);
/* jobs_set_rc - state, next attempt and last error of job id (lease cleared); *changed rows */
int jobs_set_rc(db_t *db, int64_t id, const char *state, int64_t next_attempt_at, const char *message, int64_t now,
                int *changed);
int jobs_complete_rc(db_t *db, int64_t id, int64_t now, int *changed);
/* jobs_revive_rc - *changed 0 when id is not a dead job */
int jobs_revive_rc(db_t *db, int64_t id, int64_t now, int *changed);
/* jobs_pause_rc - job id back to ready at next_attempt_at with its lease's attempt given back */
int jobs_pause_rc(db_t *db, int64_t id, int64_t next_attempt_at, const char *message, int64_t now, int *changed);
/* jobs_revive_all_rc - dead jobs of kind and carrier (NULL or "" = any) dead since `since` back to
 * ready now, attempts reset; *changed how many */
int jobs_revive_all_rc(db_t *db, const char *kind, const char *carrier, int64_t since, int64_t now, int *changed);
/* jobs_book_payload_rc - *payload caller-owned, NULL when there is no book job; *of_dossier
 * as in backend_jobs.h */
int jobs_book_payload_rc(db_t *db, int64_t shipment_id, char **payload, int *of_dossier);
/* jobs_next_due_rc - *at INT64_MAX when no job is ready */
int jobs_next_due_rc(db_t *db, int64_t *at);

#endif
