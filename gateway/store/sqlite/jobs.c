/*
 * jobs - the durable job table (see jobs.h)
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
static const char SQL_DUE[] =
    "SELECT j.id, j.kind, COALESCE(j.shipment_id, 0), j.attempts, j.payload, COALESCE(s.waybill, ''),"
    " COALESCE(s.carrier_ref, '') FROM jobs j LEFT JOIN shipments s ON s.id = j.shipment_id"
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
    " created_at FROM jobs WHERE id = ?1";
static const char SQL_DONE[] =
    "UPDATE jobs SET state = 'done', lease = NULL, leased_to = NULL, lease_expires_at = NULL, last_error = NULL,"
    " updated_at = ?2 WHERE id = ?1";
static const char SQL_RETRY[] =
    "UPDATE jobs SET state = ?2, lease = NULL, leased_to = NULL, lease_expires_at = NULL, next_attempt_at = ?3,"
    " last_error = ?4, updated_at = ?5 WHERE id = ?1";
static const char SQL_REVIVE[] =
    "UPDATE jobs SET state = 'ready', attempts = 0, next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1"
    " AND state = 'dead'";
static const char SQL_COUNTS[] = "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state";
/* ?3: an agency code, or NULL for every agency */
#define SQL_LIST_COLUMNS                                                                                          \
    "SELECT j.id, j.kind, j.carrier, j.state, j.attempts, j.next_attempt_at, COALESCE(j.last_error, ''),"      \
    " COALESCE(j.shipment_id, 0) FROM jobs j WHERE (?3 IS NULL OR EXISTS (SELECT 1 FROM shipments s"           \
    " JOIN dossiers d ON d.id = s.dossier_id WHERE s.id = j.shipment_id AND d.agency_code = ?3))"
static const char SQL_LIST_STATE[] = SQL_LIST_COLUMNS " AND j.state = ?1 ORDER BY j.id DESC LIMIT ?2";
static const char SQL_LIST_ALL[] = SQL_LIST_COLUMNS " ORDER BY j.id DESC LIMIT ?2";
static const char SQL_BOOK_PAYLOAD[] = "SELECT payload FROM jobs WHERE shipment_id = ?1 AND kind = 'book'";
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

int
jobs_enqueue(db_t *db, const char *kind, int64_t shipment_id, const char *purpose, const char *carrier,
             const char *payload, int64_t run_at, int64_t now, int *rc)
{
    sqlite3_stmt *st = db_stmt(db, SQL_ENQUEUE);

    if (!st) {
        *rc = SQLITE_ERROR;
        return -1;
    }
    db_bind_text(st, 1, kind);
    if (shipment_id)
        sqlite3_bind_int64(st, 2, shipment_id);
    db_bind_text(st, 3, purpose ? purpose : "");
    db_bind_text(st, 4, carrier);
    sqlite3_bind_int64(st, 5, run_at);
    db_bind_text(st, 6, payload);
    sqlite3_bind_int64(st, 7, now);
    *rc = db_step(st);
    if (*rc != SQLITE_DONE)
        return -1;
    *rc = SQLITE_OK;
    return sqlite3_changes(db_handle(db)) ? 0 : 1;
}

static int
run_update(db_t *db, sqlite3_stmt *st)
{
    if (!st || db_step(st) != SQLITE_DONE)
        return -1;
    return sqlite3_changes(db_handle(db));
}

int
jobs_requeue_leased(db_t *db, const char *worker, int64_t now)
{
    sqlite3_stmt *st;

    if (worker) {
        st = db_stmt(db, SQL_REQUEUE_WORKER);
        if (!st)
            return -1;
        db_bind_text(st, 1, worker);
        sqlite3_bind_int64(st, 2, now);
    } else {
        st = db_stmt(db, SQL_REQUEUE_ALL);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, now);
    }
    return run_update(db, st);
}

int
jobs_expire_leases(db_t *db, int64_t now)
{
    sqlite3_stmt *st = db_stmt(db, SQL_EXPIRE);

    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    return run_update(db, st);
}

int
jobs_lease_due(db_t *db, const char *carrier, int64_t now, int max, const char *worker, job_lease_t *out)
{
    sqlite3_stmt *st = db_stmt(db, SQL_DUE);
    int n = 0, rc, i;

    if (!st || max <= 0)
        return st ? 0 : -1;
    db_bind_text(st, 1, carrier);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int(st, 3, max);
    while (n < max && (rc = db_step(st)) == SQLITE_ROW) {
        job_lease_t *l = &out[n];

        memset(l, 0, sizeof *l);
        l->id = sqlite3_column_int64(st, 0);
        snprintf(l->kind, sizeof l->kind, "%s", db_col_text(st, 1));
        l->shipment_id = sqlite3_column_int64(st, 2);
        l->attempt = sqlite3_column_int(st, 3) + 1;
        snprintf(l->carrier, sizeof l->carrier, "%s", carrier);
        l->payload = strdup(db_col_text(st, 4));
        snprintf(l->waybill, sizeof l->waybill, "%s", db_col_text(st, 5));
        snprintf(l->carrier_ref, sizeof l->carrier_ref, "%s", db_col_text(st, 6));
        l->lease = next_lease();
        n++;
    }
    sqlite3_reset(st);
    for (i = 0; i < n; i++) {
        st = db_stmt(db, SQL_LEASE);
        if (!st)
            goto fail;
        sqlite3_bind_int64(st, 1, out[i].id);
        sqlite3_bind_int64(st, 2, out[i].lease);
        db_bind_text(st, 3, worker);
        sqlite3_bind_int64(st, 4, now + JOBS_LEASE_MS);
        sqlite3_bind_int64(st, 5, now);
        if (db_step(st) != SQLITE_DONE)
            goto fail;
    }
    return n;
fail:
    for (i = 0; i < n; i++)
        jobs_lease_free(&out[i]);
    return -1;
}

void
jobs_lease_free(job_lease_t *l)
{
    free(l->payload);
    l->payload = NULL;
}

int
jobs_get(db_t *db, int64_t id, job_row_t *out)
{
    sqlite3_stmt *st = db_stmt(db, SQL_GET);
    int rc;

    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    rc = db_step(st);
    if (rc == SQLITE_DONE)
        return 1;
    if (rc != SQLITE_ROW)
        return -1;
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
    sqlite3_reset(st);
    return 0;
}

int
jobs_complete(db_t *db, int64_t id, int64_t now)
{
    sqlite3_stmt *st = db_stmt(db, SQL_DONE);

    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    return run_update(db, st) < 0 ? -1 : 0;
}

static int
set_retry(db_t *db, int64_t id, const char *state, int64_t at, const char *message, int64_t now)
{
    sqlite3_stmt *st = db_stmt(db, SQL_RETRY);

    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    db_bind_text(st, 2, state);
    sqlite3_bind_int64(st, 3, at);
    db_bind_text(st, 4, message);
    sqlite3_bind_int64(st, 5, now);
    return run_update(db, st) < 0 ? -1 : 0;
}

int
jobs_retry(db_t *db, int64_t id, int64_t delay_ms, const char *message, int max_attempts, int64_t now)
{
    job_row_t row;
    int rc = jobs_get(db, id, &row);

    if (rc != 0)
        return -1;
    if (row.attempts >= max_attempts)
        return set_retry(db, id, "dead", now, message, now) == 0 ? 1 : -1;
    return set_retry(db, id, "ready", now + delay_ms, message, now);
}

int
jobs_kill(db_t *db, int64_t id, const char *message, int64_t now)
{
    return set_retry(db, id, "dead", now, message, now);
}

int
jobs_revive(db_t *db, int64_t id, int64_t now)
{
    sqlite3_stmt *st = db_stmt(db, SQL_REVIVE);
    int n;

    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    n = run_update(db, st);
    return n < 0 ? -1 : (n == 0 ? 1 : 0);
}

int
jobs_counts(db_t *db, json_t **out)
{
    sqlite3_stmt *st = db_stmt(db, SQL_COUNTS);
    int rc;

    *out = json_object();
    if (!st)
        return -1;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        const char *kind = db_col_text(st, 0);
        json_t *k = json_object_get(*out, kind);

        if (!k) {
            k = json_object();
            json_object_set_new(*out, kind, k);
        }
        json_object_set_new(k, db_col_text(st, 1), json_integer(sqlite3_column_int64(st, 2)));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int
jobs_list(db_t *db, const char *state, const char *agency, int limit, json_t **out)
{
    sqlite3_stmt *st = db_stmt(db, state ? SQL_LIST_STATE : SQL_LIST_ALL);
    int rc;

    *out = json_array();
    if (!st)
        return -1;
    if (state)
        db_bind_text(st, 1, state);
    sqlite3_bind_int(st, 2, limit);
    if (agency && *agency)
        db_bind_text(st, 3, agency);
    else
        sqlite3_bind_null(st, 3);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        json_array_append_new(
            *out, json_pack("{s:I, s:s, s:s, s:s, s:i, s:I, s:s, s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0),
                            "kind", db_col_text(st, 1), "carrier", db_col_text(st, 2), "state", db_col_text(st, 3),
                            "attempts", sqlite3_column_int(st, 4), "next_attempt_at",
                            (json_int_t)sqlite3_column_int64(st, 5), "last_error", db_col_text(st, 6),
                            "shipment_id", (json_int_t)sqlite3_column_int64(st, 7)));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int64_t
jobs_next_due(db_t *db)
{
    sqlite3_stmt *st = db_stmt(db, SQL_NEXT_DUE);
    int64_t v = INT64_MAX;

    if (st && db_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    if (st)
        sqlite3_reset(st);
    return v;
}

char *
jobs_book_payload(db_t *db, int64_t shipment_id)
{
    sqlite3_stmt *st = db_stmt(db, SQL_BOOK_PAYLOAD);
    char *payload = NULL;

    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, shipment_id);
    if (db_step(st) == SQLITE_ROW)
        payload = strdup(db_col_text(st, 0));
    sqlite3_reset(st);
    return payload;
}
