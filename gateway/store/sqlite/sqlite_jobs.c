/*
 * sqlite_jobs - the job table of the SQLite backend (store_jobs.h on jobs.c)
 *
 * Each operation runs the backend-internal jobs_* function on the
 * transaction's connection and turns its SQLite code into a store_rc_t with
 * a message (sqlite_fail). The reads that only the store's interface needs
 * (counts, listings, in-flight per carrier, the gauges of /healthz and
 * /metrics) live here with their SQL. Every read loop checks how it ended:
 * a step that fails mid-way is STORE_BUSY or STORE_ERROR, never a shorter
 * answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store/backend_jobs.h"
#include "gateway/store/sqlite/jobs.h"
#include "gateway/store/sqlite/sqlite_internal.h"

static const char SQL_COUNTS[] = "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state";
/* ?3: an agency code, or NULL for every agency; ?1: a state, or NULL for every state */
static const char SQL_LIST[] =
    "SELECT j.id, COALESCE(j.lease, 0), COALESCE(j.shipment_id, 0), j.next_attempt_at, j.kind, j.carrier, j.state,"
    " j.attempts, j.created_at, COALESCE(j.last_error, '') FROM jobs j"
    " WHERE (?1 IS NULL OR j.state = ?1) AND (?3 IS NULL OR EXISTS (SELECT 1 FROM shipments s"
    " JOIN dossiers d ON d.id = s.dossier_id WHERE s.id = j.shipment_id AND d.agency_code = ?3))"
    " ORDER BY j.id DESC LIMIT ?2";
static const char SQL_INFLIGHT[] = "SELECT carrier, COUNT(*) FROM jobs WHERE state = 'leased' GROUP BY carrier";
/* the scheduler marks each late shipment once (shipments.sla_breached), so the sum stays cheap */
static const char SQL_GAUGES[] =
    "SELECT (SELECT COUNT(*) FROM dossiers), (SELECT COUNT(*) FROM jobs WHERE state IN ('ready', 'leased')),"
    " (SELECT COUNT(*) FROM jobs WHERE state = 'dead'),"
    " (SELECT COUNT(*) FROM jobs WHERE kind = 'notify' AND state IN ('ready', 'leased')),"
    " (SELECT COUNT(*) FROM jobs WHERE kind = 'notify' AND state = 'dead'),"
    " (SELECT COALESCE(SUM(sla_breached), 0) FROM shipments),"
    " (SELECT COALESCE(SUM(MAX(last - next + 1, 0)), 0) FROM code_ranges)";

static store_rc_t
sq_enqueue(store_tx_t *tx, store_job_kind_t kind, int64_t shipment_id, const char *purpose, const char *carrier,
           const char *payload, int64_t run_at, int64_t now)
{
    int rc, r;

    if ((unsigned)kind >= STORE_JOB_KINDS)
        return store_tx_fail(tx, STORE_ERROR, "enqueue: job kind %d is not book, cancel, track or notify", (int)kind);
    r = jobs_enqueue(sqlite_tx_db(tx), store_job_kind_name(kind), shipment_id, purpose, carrier, payload, run_at, now,
                     &rc);
    if (r < 0)
        return sqlite_fail(tx, rc, "queueing a job");
    return r == 0 ? STORE_OK : STORE_EXISTS;
}

static store_rc_t
sq_requeue_leased(store_tx_t *tx, const char *worker, int64_t now, int *count)
{
    int n = 0, rc = jobs_requeue_rc(sqlite_tx_db(tx), worker, now, &n);

    if (rc != SQLITE_OK)
        return sqlite_fail(tx, rc, "putting leased jobs back to ready");
    if (count)
        *count = n;
    return STORE_OK;
}

static store_rc_t
sq_expire_leases(store_tx_t *tx, int64_t now, int *count)
{
    int n = 0, rc = jobs_expire_rc(sqlite_tx_db(tx), now, &n);

    if (rc != SQLITE_OK)
        return sqlite_fail(tx, rc, "expiring job leases");
    if (count)
        *count = n;
    return STORE_OK;
}

static store_rc_t
sq_lease_due(store_tx_t *tx, const char *carrier, const char *worker, int64_t now, int max, store_job_lease_t *out,
             int *n)
{
    int rc = jobs_lease_due_rc(sqlite_tx_db(tx), carrier, worker, now, max, out, n);

    return rc == SQLITE_OK ? STORE_OK : sqlite_fail(tx, rc, "leasing due jobs");
}

static store_rc_t
sq_get(store_tx_t *tx, int64_t id, store_job_t *out)
{
    int found = 0, rc = jobs_get_rc(sqlite_tx_db(tx), id, out, &found);

    if (rc != SQLITE_OK)
        return sqlite_fail(tx, rc, "reading a job");
    return found ? STORE_OK : store_tx_fail(tx, STORE_NOT_FOUND, "no job %lld", (long long)id);
}

static store_rc_t
sq_complete(store_tx_t *tx, int64_t id, int64_t now)
{
    int changed = 0, rc = jobs_complete_rc(sqlite_tx_db(tx), id, now, &changed);

    if (rc != SQLITE_OK)
        return sqlite_fail(tx, rc, "settling a job");
    return changed ? STORE_OK : store_tx_fail(tx, STORE_NOT_FOUND, "no job %lld", (long long)id);
}

static store_rc_t
sq_retry(store_tx_t *tx, int64_t id, int64_t delay_ms, const char *message, int max_attempts, int64_t now, int *dead)
{
    store_job_t job;
    store_rc_t r = sq_get(tx, id, &job);
    int is_dead, rc;

    if (r != STORE_OK)
        return r;
    is_dead = job.attempts >= max_attempts;
    rc = jobs_set_rc(sqlite_tx_db(tx), id, is_dead ? "dead" : "ready", is_dead ? now : now + delay_ms, message, now,
                     NULL);
    if (rc != SQLITE_OK)
        return sqlite_fail(tx, rc, "scheduling a job's next attempt");
    if (dead)
        *dead = is_dead;
    return STORE_OK;
}

static store_rc_t
sq_kill(store_tx_t *tx, int64_t id, const char *message, int64_t now)
{
    int changed = 0, rc = jobs_set_rc(sqlite_tx_db(tx), id, "dead", now, message, now, &changed);

    if (rc != SQLITE_OK)
        return sqlite_fail(tx, rc, "marking a job dead");
    return changed ? STORE_OK : store_tx_fail(tx, STORE_NOT_FOUND, "no job %lld", (long long)id);
}

static store_rc_t
sq_revive(store_tx_t *tx, int64_t id, int64_t now)
{
    int changed = 0, rc = jobs_revive_rc(sqlite_tx_db(tx), id, now, &changed);

    if (rc != SQLITE_OK)
        return sqlite_fail(tx, rc, "reviving a job");
    return changed ? STORE_OK : store_tx_fail(tx, STORE_NOT_FOUND, "no dead job %lld", (long long)id);
}

static store_rc_t
sq_pause(store_tx_t *tx, int64_t id, int64_t delay_ms, const char *message, int64_t now)
{
    int changed = 0, rc = jobs_pause_rc(sqlite_tx_db(tx), id, now + delay_ms, message, now, &changed);

    if (rc != SQLITE_OK)
        return sqlite_fail(tx, rc, "putting a paused carrier's job back");
    return changed ? STORE_OK : store_tx_fail(tx, STORE_NOT_FOUND, "no job %lld", (long long)id);
}

static store_rc_t
sq_revive_all(store_tx_t *tx, const char *kind, const char *carrier, int64_t since, int64_t now, int *count)
{
    int changed = 0, rc = jobs_revive_all_rc(sqlite_tx_db(tx), kind, carrier, since, now, &changed);

    if (rc != SQLITE_OK)
        return sqlite_fail(tx, rc, "reviving dead jobs");
    if (count)
        *count = changed;
    return STORE_OK;
}

static store_rc_t
sq_counts(store_tx_t *tx, store_job_counts_t *out)
{
    sqlite3_stmt *st = db_stmt(sqlite_tx_db(tx), SQL_COUNTS);
    store_job_counts_t counts;
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return sqlite_fail(tx, SQLITE_ERROR, "counting jobs");
    memset(&counts, 0, sizeof counts);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        store_job_kind_t k;
        store_job_state_t s;

        /* a kind or state this build does not know is not one of its jobs: not counted */
        if (store_job_kind_parse(db_col_text(st, 0), &k) == 0 && store_job_state_parse(db_col_text(st, 1), &s) == 0)
            counts.n[k][s] = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sqlite_fail(tx, rc, "counting jobs");
    *out = counts;
    return STORE_OK;
}

static store_rc_t
sq_list(store_tx_t *tx, const store_job_filter_t *filter, store_job_list_t *out)
{
    sqlite3_stmt *st = db_stmt(sqlite_tx_db(tx), SQL_LIST);
    store_job_list_t list = { NULL, 0 };
    int limit = filter->limit > 0 ? filter->limit : 1;
    int rc = SQLITE_DONE;

    out->items = NULL;
    out->n = 0;
    if (!st)
        return sqlite_fail(tx, SQLITE_ERROR, "listing jobs");
    list.items = calloc((size_t)limit, sizeof *list.items);
    if (!list.items)
        return store_tx_fail(tx, STORE_BUSY, "out of memory listing %d jobs; retry with a smaller limit", limit);
    db_bind_text(st, 1, filter->any_state ? NULL : store_job_state_name(filter->state));
    sqlite3_bind_int(st, 2, limit);
    db_bind_text(st, 3, filter->agency && *filter->agency ? filter->agency : NULL);
    while (list.n < (size_t)limit && (rc = db_step(st)) == SQLITE_ROW) {
        store_job_t *j = &list.items[list.n++];

        j->id = sqlite3_column_int64(st, 0);
        j->lease = sqlite3_column_int64(st, 1);
        j->shipment_id = sqlite3_column_int64(st, 2);
        j->next_attempt_at = sqlite3_column_int64(st, 3);
        snprintf(j->kind, sizeof j->kind, "%s", db_col_text(st, 4));
        snprintf(j->carrier, sizeof j->carrier, "%s", db_col_text(st, 5));
        snprintf(j->state, sizeof j->state, "%s", db_col_text(st, 6));
        j->attempts = sqlite3_column_int(st, 7);
        j->created_at = sqlite3_column_int64(st, 8);
        snprintf(j->last_error, sizeof j->last_error, "%s", db_col_text(st, 9));
    }
    sqlite3_reset(st);
    /* LIMIT: a full list ends on its last row; anything else must end on SQLITE_DONE */
    if (rc != SQLITE_DONE && !(rc == SQLITE_ROW && list.n == (size_t)limit)) {
        store_job_list_free(&list);
        return sqlite_fail(tx, rc, "listing jobs");
    }
    *out = list;
    return STORE_OK;
}

static store_rc_t
sq_book_payload(store_tx_t *tx, int64_t shipment_id, char **payload, int *of_dossier)
{
    int rc = jobs_book_payload_rc(sqlite_tx_db(tx), shipment_id, payload, of_dossier);

    if (rc != SQLITE_OK)
        return sqlite_fail(tx, rc, "reading a booking's payload");
    return *payload ? STORE_OK
                    : store_tx_fail(tx, STORE_NOT_FOUND, "shipment %lld has no book job", (long long)shipment_id);
}

static store_rc_t
sq_next_due(store_tx_t *tx, int64_t *at)
{
    int rc = jobs_next_due_rc(sqlite_tx_db(tx), at);

    return rc == SQLITE_OK ? STORE_OK : sqlite_fail(tx, rc, "finding the next due job");
}

static store_rc_t
sq_inflight(store_tx_t *tx, store_job_inflight_t *out, int max, int *n)
{
    sqlite3_stmt *st = db_stmt(sqlite_tx_db(tx), SQL_INFLIGHT);
    int got = 0, rc;

    *n = 0;
    if (!st)
        return sqlite_fail(tx, SQLITE_ERROR, "counting jobs in flight");
    while ((rc = db_step(st)) == SQLITE_ROW) {
        /* more carriers than room: the rest are not reported, the read still ends cleanly */
        if (got < max) {
            snprintf(out[got].carrier, sizeof out[got].carrier, "%s", db_col_text(st, 0));
            out[got].leased = sqlite3_column_int(st, 1);
            got++;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sqlite_fail(tx, rc, "counting jobs in flight");
    *n = got;
    return STORE_OK;
}

static store_rc_t
sq_gauges(store_tx_t *tx, store_gauges_t *out)
{
    sqlite3_stmt *st = db_stmt(sqlite_tx_db(tx), SQL_GAUGES);
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return sqlite_fail(tx, SQLITE_ERROR, "reading the gauges");
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        out->dossiers = sqlite3_column_int64(st, 0);
        out->jobs_pending = sqlite3_column_int64(st, 1);
        out->jobs_dead = sqlite3_column_int64(st, 2);
        out->notify_pending = sqlite3_column_int64(st, 3);
        out->notify_dead = sqlite3_column_int64(st, 4);
        out->sla_breaches = sqlite3_column_int64(st, 5);
        out->codes_left = sqlite3_column_int64(st, 6);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        return sqlite_fail(tx, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "reading the gauges");
    }
    return STORE_OK;
}

const struct store_jobs_ops sqlite_jobs_ops = {
    .enqueue = sq_enqueue,
    .requeue_leased = sq_requeue_leased,
    .expire_leases = sq_expire_leases,
    .lease_due = sq_lease_due,
    .get = sq_get,
    .complete = sq_complete,
    .retry = sq_retry,
    .kill = sq_kill,
    .revive = sq_revive,
    .pause = sq_pause,
    .revive_all = sq_revive_all,
    .counts = sq_counts,
    .list = sq_list,
    .book_payload = sq_book_payload,
    .next_due = sq_next_due,
    .inflight = sq_inflight,
    .gauges = sq_gauges,
};
