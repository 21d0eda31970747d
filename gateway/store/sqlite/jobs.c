/*
 * jobs - the durable job table on SQLite (see jobs.h)
 */
#include "gateway/store/sqlite/jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

static const char SQL_ENQUEUE[] =
    "INSERT INTO jobs (kind, shipment_id, purpose, carrier, state, attempts, next_attempt_at, payload, created_at,"
    " updated_at) VALUES (?1, ?2, ?3, ?4, 'ready', 0, ?5, ?6, ?7, ?7)"
    " ON CONFLICT (shipment_id, kind, purpose) DO NOTHING";
static const char SQL_REQUEUE_WORKER[] =
    "UPDATE jobs SET state = 'ready', lease = NULL, leased_to = NULL, lease_expires_at = NULL, updated_at = ?2"
    " WHERE state = 'leased' AND leased_to = ?1";
static const char SQL_REQUEUE_ALL[] =
    "UPDATE jobs SET state = 'ready', lease = NULL, leased_to = NULL, lease_expires_at = NULL, updated_at = ?1"
    " WHERE state = 'leased'";
static const char SQL_EXPIRE[] =
    "UPDATE jobs SET state = 'ready', lease = NULL, leased_to = NULL, lease_expires_at = NULL, updated_at = ?1"
    " WHERE state = 'leased' AND lease_expires_at < ?1";
/* a book job queued at intake stores no payload: the submission's body stands in for it
 * (store_dossiers.h); BOOKING_TEXT is the job's payload or that body, BOOKING_OF_DOSSIER says
 * which, both over a job row j joined to its shipment s and SUBMISSION_OF_SHIPMENT */
#define BOOKING_TEXT "CASE WHEN j.payload = '' THEN COALESCE(sub.body, '') ELSE j.payload END"
#define BOOKING_OF_DOSSIER "j.payload = ''"
#define SUBMISSION_OF_SHIPMENT " LEFT JOIN submissions sub ON sub.id = s.submission_id"
static const char SQL_DUE[] =
    "SELECT j.id, j.kind, COALESCE(j.shipment_id, 0), j.attempts, " BOOKING_TEXT ", COALESCE(s.waybill, ''),"
    " COALESCE(s.carrier_ref, ''), " BOOKING_OF_DOSSIER " FROM jobs j LEFT JOIN shipments s ON s.id = j.shipment_id"
    SUBMISSION_OF_SHIPMENT
    " WHERE j.state = 'ready' AND j.carrier = ?1 AND j.next_attempt_at <= ?2"
    /* notifications leave in the order they were queued per dossier, across both legs of a "both" dossier */
    " AND (j.kind != 'notify' OR NOT EXISTS (SELECT 1 FROM shipments ps JOIN jobs p ON p.shipment_id = ps.id"
    "      WHERE ps.dossier_id = s.dossier_id AND p.kind = 'notify' AND p.id < j.id"
    "      AND p.state IN ('ready', 'leased')))"
    " AND (j.kind != 'cancel' OR COALESCE(s.carrier_ref, '') != '')"
    " ORDER BY j.next_attempt_at, j.id LIMIT ?3";
static const char SQL_LEASE[] =
    "UPDATE jobs SET state = 'leased', lease = ?2, leased_to = ?3, lease_expires_at = ?4, attempts = attempts + 1,"
    " updated_at = ?5 WHERE id = ?1";
static const char SQL_GET[] =
    "SELECT id, COALESCE(lease, 0), COALESCE(shipment_id, 0), next_attempt_at, kind, carrier, state, attempts,"
    " created_at, COALESCE(last_error, '') FROM jobs WHERE id = ?1";
static const char SQL_DONE[] =
    "UPDATE jobs SET state = 'done', lease = NULL, leased_to = NULL, lease_expires_at = NULL, last_error = NULL,"
    " updated_at = ?2 WHERE id = ?1";
static const char SQL_SET[] =
    "UPDATE jobs SET state = ?2, lease = NULL, leased_to = NULL, lease_expires_at = NULL, next_attempt_at = ?3,"
    " last_error = ?4, updated_at = ?5 WHERE id = ?1";
static const char SQL_REVIVE[] =
    "UPDATE jobs SET state = 'ready', attempts = 0, next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1"
    " AND state = 'dead'";
/* a paused carrier's job: back to ready, the lease's attempt given back (the job was not at fault) */
static const char SQL_PAUSE[] =
    "UPDATE jobs SET state = 'ready', lease = NULL, leased_to = NULL, lease_expires_at = NULL, next_attempt_at = ?2,"
    " attempts = MAX(attempts - 1, 0), last_error = ?3, updated_at = ?4 WHERE id = ?1";
/* every dead job of a kind and carrier ('' = any) that died at or after ?4 */
static const char SQL_REVIVE_ALL[] =
    "UPDATE jobs SET state = 'ready', attempts = 0, next_attempt_at = ?1, updated_at = ?1 WHERE state = 'dead'"
    " AND (?2 = '' OR kind = ?2) AND (?3 = '' OR carrier = ?3) AND updated_at >= ?4";
static const char SQL_BOOK_PAYLOAD[] =
    "SELECT " BOOKING_TEXT ", " BOOKING_OF_DOSSIER " FROM jobs j LEFT JOIN shipments s ON s.id = j.shipment_id"
    SUBMISSION_OF_SHIPMENT " WHERE j.shipment_id = ?1 AND j.kind = 'book'";
static const char SQL_NEXT_DUE[] = "SELECT MIN(next_attempt_at) FROM jobs WHERE state = 'ready'";

/* next_lease - lease tokens only need to differ between leases of one job; seeding
 * from the clock keeps them distinct across restarts too */
static int64_t
next_lease(void)
{
    static int64_t counter;

    if (counter == 0)
        counter = clock_now_ms() * 1000;
    return ++counter;
}

/* run_update - step an UPDATE/INSERT to its end; the SQLite code, rows changed in *changed */
static int
run_update(db_t *db, sqlite3_stmt *st, int *changed)
{
    int rc;

    if (!st)
        return SQLITE_ERROR;
    rc = db_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_ROW ? SQLITE_ERROR : rc;
    if (changed)
        *changed = sqlite3_changes(db_handle(db));
    return SQLITE_OK;
}

int
jobs_enqueue(db_t *db, const char *kind, int64_t shipment_id, const char *purpose, const char *carrier,
             const char *payload, int64_t run_at, int64_t now, int *rc)
{
    sqlite3_stmt *st = db_stmt(db, SQL_ENQUEUE);
    int changed = 0;

    if (st) {
        db_bind_text(st, 1, kind);
        if (shipment_id)
            sqlite3_bind_int64(st, 2, shipment_id);
        db_bind_text(st, 3, purpose ? purpose : "");
        db_bind_text(st, 4, carrier);
        sqlite3_bind_int64(st, 5, run_at);
        db_bind_text(st, 6, payload);
        sqlite3_bind_int64(st, 7, now);
    }
    *rc = run_update(db, st, &changed);
    if (*rc != SQLITE_OK)
        return -1;
    return changed ? 0 : 1;
}

int
jobs_requeue_rc(db_t *db, const char *worker, int64_t now, int *count)
{
    sqlite3_stmt *st = db_stmt(db, worker ? SQL_REQUEUE_WORKER : SQL_REQUEUE_ALL);

    if (st && worker) {
        db_bind_text(st, 1, worker);
        sqlite3_bind_int64(st, 2, now);
    } else if (st) {
        sqlite3_bind_int64(st, 1, now);
    }
    return run_update(db, st, count);
}

int
jobs_expire_rc(db_t *db, int64_t now, int *count)
{
    sqlite3_stmt *st = db_stmt(db, SQL_EXPIRE);

    if (st)
        sqlite3_bind_int64(st, 1, now);
    return run_update(db, st, count);
}

int
jobs_lease_due_rc(db_t *db, const char *carrier, const char *worker, int64_t now, int max, job_lease_t *out, int *n)
{
    sqlite3_stmt *st;
    int got = 0, rc = SQLITE_OK, i;

    *n = 0;
    if (max <= 0)
        return SQLITE_OK;
    st = db_stmt(db, SQL_DUE);
    if (!st)
        return SQLITE_ERROR;
    db_bind_text(st, 1, carrier);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int(st, 3, max);
    /* LIMIT max: after max rows the statement is done, so every exit but SQLITE_DONE or a full
     * buffer is a failure */
    while (got < max && (rc = db_step(st)) == SQLITE_ROW) {
        job_lease_t *l = &out[got];

        memset(l, 0, sizeof *l);
        l->id = sqlite3_column_int64(st, 0);
        snprintf(l->kind, sizeof l->kind, "%s", db_col_text(st, 1));
        l->shipment_id = sqlite3_column_int64(st, 2);
        l->attempt = sqlite3_column_int(st, 3) + 1;
        snprintf(l->carrier, sizeof l->carrier, "%s", carrier);
        l->payload = strdup(db_col_text(st, 4));
        snprintf(l->waybill, sizeof l->waybill, "%s", db_col_text(st, 5));
        snprintf(l->carrier_ref, sizeof l->carrier_ref, "%s", db_col_text(st, 6));
        l->payload_of_dossier = sqlite3_column_int(st, 7);
        l->lease = next_lease();
        got++;
        if (!l->payload) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && !(rc == SQLITE_ROW && got == max))
        goto fail;
    rc = SQLITE_OK;
    for (i = 0; i < got && rc == SQLITE_OK; i++) {
        st = db_stmt(db, SQL_LEASE);
        if (st) {
            sqlite3_bind_int64(st, 1, out[i].id);
            sqlite3_bind_int64(st, 2, out[i].lease);
            db_bind_text(st, 3, worker);
            sqlite3_bind_int64(st, 4, now + JOBS_LEASE_MS);
            sqlite3_bind_int64(st, 5, now);
        }
        rc = run_update(db, st, NULL);
    }
    if (rc != SQLITE_OK)
        goto fail;
    *n = got;
    return SQLITE_OK;
fail:
    for (i = 0; i < got; i++)
        store_job_lease_free(&out[i]);
    return rc == SQLITE_OK ? SQLITE_ERROR : rc;
}

int
jobs_get_rc(db_t *db, int64_t id, job_row_t *out, int *found)
{
    sqlite3_stmt *st = db_stmt(db, SQL_GET);
    int rc;

    *found = 0;
    if (!st)
        return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->id = sqlite3_column_int64(st, 0);
        out->lease = sqlite3_column_int64(st, 1);
        out->shipment_id = sqlite3_column_int64(st, 2);
        out->next_attempt_at = sqlite3_column_int64(st, 3);
        snprintf(out->kind, sizeof out->kind, "%s", db_col_text(st, 4));
        snprintf(out->carrier, sizeof out->carrier, "%s", db_col_text(st, 5));
        snprintf(out->state, sizeof out->state, "%s", db_col_text(st, 6));
        out->attempts = sqlite3_column_int(st, 7);
        out->created_at = sqlite3_column_int64(st, 8);
        snprintf(out->last_error, sizeof out->last_error, "%s", db_col_text(st, 9));
        *found = 1;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
jobs_set_rc(db_t *db, int64_t id, const char *state, int64_t next_attempt_at, const char *message, int64_t now,
            int *changed)
{
    sqlite3_stmt *st = db_stmt(db, SQL_SET);

    if (st) {
        sqlite3_bind_int64(st, 1, id);
        db_bind_text(st, 2, state);
        sqlite3_bind_int64(st, 3, next_attempt_at);
        db_bind_text(st, 4, message);
        sqlite3_bind_int64(st, 5, now);
    }
    return run_update(db, st, changed);
}

int
jobs_complete_rc(db_t *db, int64_t id, int64_t now, int *changed)
{
    sqlite3_stmt *st = db_stmt(db, SQL_DONE);

    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
    }
    return run_update(db, st, changed);
}

int
jobs_revive_rc(db_t *db, int64_t id, int64_t now, int *changed)
{
    sqlite3_stmt *st = db_stmt(db, SQL_REVIVE);

    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
    }
    return run_update(db, st, changed);
}

int
jobs_pause_rc(db_t *db, int64_t id, int64_t next_attempt_at, const char *message, int64_t now, int *changed)
{
    sqlite3_stmt *st = db_stmt(db, SQL_PAUSE);

    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, next_attempt_at);
        db_bind_text(st, 3, message);
        sqlite3_bind_int64(st, 4, now);
    }
    return run_update(db, st, changed);
}

int
jobs_revive_all_rc(db_t *db, const char *kind, const char *carrier, int64_t since, int64_t now, int *changed)
{
    sqlite3_stmt *st = db_stmt(db, SQL_REVIVE_ALL);

    if (st) {
        sqlite3_bind_int64(st, 1, now);
        db_bind_text(st, 2, kind ? kind : "");
        db_bind_text(st, 3, carrier ? carrier : "");
        sqlite3_bind_int64(st, 4, since);
    }
    return run_update(db, st, changed);
}

int
jobs_book_payload_rc(db_t *db, int64_t shipment_id, char **payload, int *of_dossier)
{
    sqlite3_stmt *st = db_stmt(db, SQL_BOOK_PAYLOAD);
    int rc;

    *payload = NULL;
    *of_dossier = 0;
    if (!st)
        return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, shipment_id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        *payload = strdup(db_col_text(st, 0));
        *of_dossier = sqlite3_column_int(st, 1);
        rc = *payload ? SQLITE_DONE : SQLITE_NOMEM;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
jobs_next_due_rc(db_t *db, int64_t *at)
{
    sqlite3_stmt *st = db_stmt(db, SQL_NEXT_DUE);
    int rc;

    *at = INT64_MAX;
    if (!st)
        return SQLITE_ERROR;
    rc = db_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *at = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? SQLITE_OK : (rc == SQLITE_DONE ? SQLITE_ERROR : rc);
}

/* ------------------------------------------------ the db_t forms of the sink and scheduler */

int
jobs_get(db_t *db, int64_t id, job_row_t *out)
{
    int found = 0;

    if (jobs_get_rc(db, id, out, &found) != SQLITE_OK)
        return -1;
    return found ? 0 : 1;
}

int
jobs_complete(db_t *db, int64_t id, int64_t now)
{
    return jobs_complete_rc(db, id, now, NULL) == SQLITE_OK ? 0 : -1;
}

int
jobs_retry(db_t *db, int64_t id, int64_t delay_ms, const char *message, int max_attempts, int64_t now)
{
    job_row_t row;

    if (jobs_get(db, id, &row) != 0)
        return -1;
    if (row.attempts >= max_attempts)
        return jobs_set_rc(db, id, "dead", now, message, now, NULL) == SQLITE_OK ? 1 : -1;
    return jobs_set_rc(db, id, "ready", now + delay_ms, message, now, NULL) == SQLITE_OK ? 0 : -1;
}

int
jobs_kill(db_t *db, int64_t id, const char *message, int64_t now)
{
    return jobs_set_rc(db, id, "dead", now, message, now, NULL) == SQLITE_OK ? 0 : -1;
}


