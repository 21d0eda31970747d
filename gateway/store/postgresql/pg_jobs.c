/*
 * pg_jobs - the job table of the PostgreSQL backend (store_jobs.h)
 *
 * Several bccid instances share the table. Each instance's dispatcher leases due jobs
 * with one UPDATE over a SELECT … FOR UPDATE SKIP LOCKED: two dispatchers never take the
 * same row, and neither waits for the other's rows. A lease names its instance
 * (jobs.lease_instance) and expires (lease_expires_at): an instance that starts puts back
 * only its own leases (those of a live neighbour are in flight), and expire_leases puts
 * back anyone's expired lease, so the jobs of an instance that died go back to ready.
 *
 * libpq hands over a whole result or a failure, so a read is never a shorter answer.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "gateway/store/backend_jobs.h"
#include "gateway/store/postgresql/pg_area.h"

#define CLEAR_LEASE "lease = NULL, leased_to = NULL, lease_expires_at = NULL, lease_instance = NULL"

static const char SQL_ENQUEUE[] =
    "INSERT INTO jobs (kind, shipment_id, purpose, carrier, state, attempts, next_attempt_at, payload, created_at,"
    " updated_at) VALUES ($1::text, $2::bigint, $3::text, $4::text, 'ready', 0, $5::bigint, $6::text, $7::bigint,"
    " $7::bigint) ON CONFLICT (shipment_id, kind, purpose) DO NOTHING";
static const char SQL_REQUEUE_WORKER[] =
    "UPDATE jobs SET state = 'ready', " CLEAR_LEASE ", updated_at = $3::bigint"
    " WHERE state = 'leased' AND lease_instance = $1::text AND leased_to = $2::text";
static const char SQL_REQUEUE_ALL[] =
    "UPDATE jobs SET state = 'ready', " CLEAR_LEASE ", updated_at = $2::bigint"
    " WHERE state = 'leased' AND lease_instance = $1::text";
static const char SQL_EXPIRE[] =
    "UPDATE jobs SET state = 'ready', " CLEAR_LEASE ", updated_at = $1::bigint"
    " WHERE state = 'leased' AND lease_expires_at < $1::bigint";
/* a book job queued at intake stores no payload: the submission's body stands in for it
 * (store_dossiers.h); BOOKING_TEXT(j) is job row j's payload or that body, BOOKING_OF_DOSSIER(j)
 * 1 for the body, both with j's shipment s joined to SUBMISSION_OF_SHIPMENT */
#define BOOKING_TEXT(j) "CASE WHEN " j ".payload = '' THEN COALESCE(sub.body, '') ELSE " j ".payload END"
#define BOOKING_OF_DOSSIER(j) "CASE WHEN " j ".payload = '' THEN 1 ELSE 0 END"
#define SUBMISSION_OF_SHIPMENT " LEFT JOIN submissions sub ON sub.id = s.submission_id"
/* $1 carrier, $2 now, $3 max, $4 lease token base, $5 worker, $6 instance, $7 expiry.
 * The same ordering rules as SQLite's: notifications of a dossier leave in queue order across
 * both legs, a cancel waits for its booking's carrier reference. */
static const char SQL_LEASE_DUE[] =
    "WITH due AS (SELECT j.id, j.next_attempt_at FROM jobs j LEFT JOIN shipments s ON s.id = j.shipment_id"
    "   WHERE j.state = 'ready' AND j.carrier = $1::text AND j.next_attempt_at <= $2::bigint"
    "   AND (j.kind != 'notify' OR NOT EXISTS (SELECT 1 FROM shipments ps JOIN jobs p ON p.shipment_id = ps.id"
    "        WHERE ps.dossier_id = s.dossier_id AND p.kind = 'notify' AND p.id < j.id"
    "        AND p.state IN ('ready', 'leased')))"
    "   AND (j.kind != 'cancel' OR COALESCE(s.carrier_ref, '') != '')"
    "   ORDER BY j.next_attempt_at, j.id LIMIT $3::bigint FOR UPDATE OF j SKIP LOCKED),"
    " num AS (SELECT id, row_number() OVER (ORDER BY next_attempt_at, id) AS rn FROM due),"
    " up AS (UPDATE jobs SET state = 'leased', lease = $4::bigint + num.rn, leased_to = $5::text,"
    "   lease_instance = $6::text, lease_expires_at = $7::bigint, attempts = jobs.attempts + 1,"
    "   updated_at = $2::bigint FROM num WHERE jobs.id = num.id"
    "   RETURNING jobs.id, jobs.kind, jobs.shipment_id, jobs.attempts, jobs.payload, jobs.lease, jobs.next_attempt_at)"
    " SELECT up.id, up.kind, COALESCE(up.shipment_id, 0), up.attempts, " BOOKING_TEXT("up") ", up.lease,"
    " COALESCE(s.waybill, ''), COALESCE(s.carrier_ref, ''), " BOOKING_OF_DOSSIER("up")
    " FROM up LEFT JOIN shipments s ON s.id = up.shipment_id" SUBMISSION_OF_SHIPMENT
    " ORDER BY up.next_attempt_at, up.id";
#define JOB_COLUMNS                                                                                                \
    "j.id, COALESCE(j.lease, 0), COALESCE(j.shipment_id, 0), j.next_attempt_at, j.kind, j.carrier, j.state,"      \
    " j.attempts, j.created_at, COALESCE(j.last_error, '')"
static const char SQL_GET[] = "SELECT " JOB_COLUMNS " FROM jobs j WHERE j.id = $1::bigint";
static const char SQL_DONE[] =
    "UPDATE jobs SET state = 'done', " CLEAR_LEASE ", last_error = NULL, updated_at = $2::bigint"
    " WHERE id = $1::bigint";
/* a retry past the last attempt is dead at once; RETURNING says which it became */
static const char SQL_RETRY[] =
    "UPDATE jobs SET state = CASE WHEN attempts >= $3::bigint THEN 'dead' ELSE 'ready' END,"
    " next_attempt_at = CASE WHEN attempts >= $3::bigint THEN $4::bigint ELSE $4::bigint + $2::bigint END,"
    " " CLEAR_LEASE ", last_error = $5::text, updated_at = $4::bigint WHERE id = $1::bigint RETURNING state";
static const char SQL_KILL[] =
    "UPDATE jobs SET state = 'dead', " CLEAR_LEASE ", next_attempt_at = $3::bigint, last_error = $2::text,"
    " updated_at = $3::bigint WHERE id = $1::bigint";
static const char SQL_REVIVE[] =
    "UPDATE jobs SET state = 'ready', attempts = 0, next_attempt_at = $2::bigint, updated_at = $2::bigint"
    " WHERE id = $1::bigint AND state = 'dead'";
/* a paused carrier's job: back to ready, the lease's attempt given back (the job was not at fault) */
static const char SQL_PAUSE[] =
    "UPDATE jobs SET state = 'ready', " CLEAR_LEASE ", next_attempt_at = $2::bigint,"
    " attempts = GREATEST(attempts - 1, 0), last_error = $3::text, updated_at = $4::bigint WHERE id = $1::bigint";
static const char SQL_REVIVE_ALL[] =
    "UPDATE jobs SET state = 'ready', attempts = 0, next_attempt_at = $1::bigint, updated_at = $1::bigint"
    " WHERE state = 'dead' AND ($2::text = '' OR kind = $2::text) AND ($3::text = '' OR carrier = $3::text)"
    " AND updated_at >= $4::bigint";
static const char SQL_COUNTS[] = "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state";
/* $1: a state, or NULL for every state; $3: an agency code, or NULL for every agency */
static const char SQL_LIST[] =
    "SELECT " JOB_COLUMNS " FROM jobs j WHERE ($1::text IS NULL OR j.state = $1::text)"
    " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM shipments s JOIN dossiers d ON d.id = s.dossier_id"
    " WHERE s.id = j.shipment_id AND d.agency_code = $3::text)) ORDER BY j.id DESC LIMIT $2::bigint";
static const char SQL_BOOK_PAYLOAD[] =
    "SELECT " BOOKING_TEXT("j") ", " BOOKING_OF_DOSSIER("j") " FROM jobs j LEFT JOIN shipments s ON s.id = j.shipment_id"
    SUBMISSION_OF_SHIPMENT " WHERE j.shipment_id = $1::bigint AND j.kind = 'book' ORDER BY j.id LIMIT 1";
static const char SQL_NEXT_DUE[] = "SELECT MIN(next_attempt_at) FROM jobs WHERE state = 'ready'";
static const char SQL_INFLIGHT[] = "SELECT carrier, COUNT(*) FROM jobs WHERE state = 'leased' GROUP BY carrier";
/* the scheduler marks each late shipment once (shipments.sla_breached), so the sum stays cheap */
static const char SQL_GAUGES[] =
    "SELECT (SELECT COUNT(*) FROM dossiers), (SELECT COUNT(*) FROM jobs WHERE state IN ('ready', 'leased')),"
    " (SELECT COUNT(*) FROM jobs WHERE state = 'dead'),"
    " (SELECT COUNT(*) FROM jobs WHERE kind = 'notify' AND state IN ('ready', 'leased')),"
    " (SELECT COUNT(*) FROM jobs WHERE kind = 'notify' AND state = 'dead'),"
    " (SELECT COALESCE(SUM(sla_breached), 0) FROM shipments),"
    " (SELECT COALESCE(SUM(GREATEST(last - next + 1, 0)), 0) FROM code_ranges)";

/* lease_base - lease tokens only need to differ between leases of one job: a lease of a
 * batch of n takes base + 1 .. base + n, and the next batch starts past them; seeding from the
 * clock keeps them distinct across restarts too (as SQLite's next_lease does) */
static int64_t
lease_base(int n)
{
    static _Atomic int64_t counter;
    int64_t zero = 0;

    atomic_compare_exchange_strong(&counter, &zero, clock_now_ms() * 1000);
    return atomic_fetch_add(&counter, (int64_t)n);
}

static void
copy_job(const PGresult *res, int row, store_job_t *j)
{
    memset(j, 0, sizeof *j);
    j->id = pg_int(res, row, 0);
    j->lease = pg_int(res, row, 1);
    j->shipment_id = pg_int(res, row, 2);
    j->next_attempt_at = pg_int(res, row, 3);
    snprintf(j->kind, sizeof j->kind, "%s", pg_text(res, row, 4));
    snprintf(j->carrier, sizeof j->carrier, "%s", pg_text(res, row, 5));
    snprintf(j->state, sizeof j->state, "%s", pg_text(res, row, 6));
    j->attempts = (int)pg_int(res, row, 7);
    j->created_at = pg_int(res, row, 8);
    snprintf(j->last_error, sizeof j->last_error, "%s", pg_text(res, row, 9));
}

static store_rc_t
no_job(store_tx_t *tx, int64_t id)
{
    return store_tx_fail(tx, STORE_NOT_FOUND, "no job %" PRId64, id);
}

static store_rc_t
pg_enqueue(store_tx_t *tx, store_job_kind_t kind, int64_t shipment_id, const char *purpose, const char *carrier,
           const char *payload, int64_t run_at, int64_t now)
{
    pg_params_t p;
    int changed = 0;
    store_rc_t r;

    if ((unsigned)kind >= STORE_JOB_KINDS)
        return store_tx_fail(tx, STORE_ERROR, "enqueue: job kind %d is not book, cancel, track or notify", (int)kind);
    pg_params_init(&p);
    pg_param_text(&p, store_job_kind_name(kind));
    if (shipment_id)
        pg_param_int(&p, shipment_id);
    else
        pg_param_null(&p);
    pg_param_text(&p, purpose ? purpose : "");
    pg_param_text(&p, carrier);
    pg_param_int(&p, run_at);
    pg_param_text(&p, payload);
    pg_param_int(&p, now);
    if ((r = pg_exec(tx, "queueing a job", SQL_ENQUEUE, &p, &changed)) != STORE_OK)
        return r;
    return changed ? STORE_OK : STORE_EXISTS;
}

/* pg_requeue_leased - only this instance's leases: another instance's are in flight */
static store_rc_t
pg_requeue_leased(store_tx_t *tx, const char *worker, int64_t now, int *count)
{
    pg_params_t p;
    int n = 0;
    store_rc_t r;

    pg_params_init(&p);
    pg_param_text(&p, pg_tx_instance(tx));
    if (worker)
        pg_param_text(&p, worker);
    pg_param_int(&p, now);
    r = pg_exec(tx, "putting leased jobs back to ready", worker ? SQL_REQUEUE_WORKER : SQL_REQUEUE_ALL, &p, &n);
    if (r == STORE_OK && count)
        *count = n;
    return r;
}

static store_rc_t
pg_expire_leases(store_tx_t *tx, int64_t now, int *count)
{
    pg_params_t p;
    int n = 0;
    store_rc_t r;

    pg_params_init(&p);
    pg_param_int(&p, now);
    r = pg_exec(tx, "expiring job leases", SQL_EXPIRE, &p, &n);
    if (r == STORE_OK && count)
        *count = n;
    return r;
}

static store_rc_t
pg_lease_due(store_tx_t *tx, const char *carrier, const char *worker, int64_t now, int max, store_job_lease_t *out,
             int *n)
{
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int rows, i;

    *n = 0;
    if (max <= 0)
        return STORE_OK;
    pg_params_init(&p);
    pg_param_text(&p, carrier);
    pg_param_int(&p, now);
    pg_param_int(&p, max);
    pg_param_int(&p, lease_base(max));
    pg_param_text(&p, worker);
    pg_param_text(&p, pg_tx_instance(tx));
    pg_param_int(&p, now + JOBS_LEASE_MS);
    if ((r = pg_query(tx, "leasing due jobs", SQL_LEASE_DUE, &p, &res)) != STORE_OK)
        return r;
    rows = PQntuples(res);
    if (rows > max) {
        PQclear(res);
        return store_tx_fail(tx, STORE_ERROR, "leasing due jobs: %d rows for at most %d", rows, max);
    }
    for (i = 0; i < rows; i++) {
        store_job_lease_t *l = &out[i];

        memset(l, 0, sizeof *l);
        l->id = pg_int(res, i, 0);
        snprintf(l->kind, sizeof l->kind, "%s", pg_text(res, i, 1));
        l->shipment_id = pg_int(res, i, 2);
        l->attempt = (int)pg_int(res, i, 3); /* counted by the lease itself */
        snprintf(l->carrier, sizeof l->carrier, "%s", carrier);
        l->lease = pg_int(res, i, 5);
        snprintf(l->waybill, sizeof l->waybill, "%s", pg_text(res, i, 6));
        snprintf(l->carrier_ref, sizeof l->carrier_ref, "%s", pg_text(res, i, 7));
        l->payload_of_dossier = pg_int(res, i, 8) != 0;
        l->payload = pg_strdup_col(res, i, 4);
        if (!l->payload) {
            int k;

            for (k = 0; k < i; k++)
                store_job_lease_free(&out[k]);
            PQclear(res);
            return pg_no_memory(tx, "leasing jobs");
        }
    }
    PQclear(res);
    *n = rows;
    return STORE_OK;
}

static store_rc_t
pg_get(store_tx_t *tx, int64_t id, store_job_t *out)
{
    PGresult *res;
    store_rc_t r;

    if ((r = pg_query_id(tx, "reading a job", SQL_GET, id, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) == 1)
        copy_job(res, 0, out);
    else
        r = no_job(tx, id);
    PQclear(res);
    return r;
}

/* update_one - run sql on job id; STORE_NOT_FOUND (with missing) when no row changed */
static store_rc_t
update_one(store_tx_t *tx, const char *what, const char *sql, pg_params_t *p, int64_t id, const char *missing)
{
    int changed = 0;
    store_rc_t r = pg_exec(tx, what, sql, p, &changed);

    if (r != STORE_OK)
        return r;
    return changed ? STORE_OK : store_tx_fail(tx, STORE_NOT_FOUND, "%s %" PRId64, missing, id);
}

static store_rc_t
pg_complete(store_tx_t *tx, int64_t id, int64_t now)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, id);
    pg_param_int(&p, now);
    return update_one(tx, "settling a job", SQL_DONE, &p, id, "no job");
}

static store_rc_t
pg_retry(store_tx_t *tx, int64_t id, int64_t delay_ms, const char *message, int max_attempts, int64_t now,
         int *dead)
{
    PGresult *res;
    pg_params_t p;
    store_rc_t r;

    pg_params_init(&p);
    pg_param_int(&p, id);
    pg_param_int(&p, delay_ms);
    pg_param_int(&p, max_attempts);
    pg_param_int(&p, now);
    pg_param_text(&p, message);
    if ((r = pg_query(tx, "scheduling a job's next attempt", SQL_RETRY, &p, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) != 1)
        r = no_job(tx, id);
    else if (dead)
        *dead = strcmp(pg_text(res, 0, 0), "dead") == 0;
    PQclear(res);
    return r;
}

static store_rc_t
pg_kill(store_tx_t *tx, int64_t id, const char *message, int64_t now)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, id);
    pg_param_text(&p, message);
    pg_param_int(&p, now);
    return update_one(tx, "marking a job dead", SQL_KILL, &p, id, "no job");
}

static store_rc_t
pg_revive(store_tx_t *tx, int64_t id, int64_t now)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, id);
    pg_param_int(&p, now);
    return update_one(tx, "reviving a job", SQL_REVIVE, &p, id, "no dead job");
}

static store_rc_t
pg_pause(store_tx_t *tx, int64_t id, int64_t delay_ms, const char *message, int64_t now)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, id);
    pg_param_int(&p, now + delay_ms);
    pg_param_text(&p, message);
    pg_param_int(&p, now);
    return update_one(tx, "putting a paused carrier's job back", SQL_PAUSE, &p, id, "no job");
}

static store_rc_t
pg_revive_all(store_tx_t *tx, const char *kind, const char *carrier, int64_t since, int64_t now, int *count)
{
    pg_params_t p;
    int changed = 0;
    store_rc_t r;

    pg_params_init(&p);
    pg_param_int(&p, now);
    pg_param_text(&p, kind ? kind : "");
    pg_param_text(&p, carrier ? carrier : "");
    pg_param_int(&p, since);
    r = pg_exec(tx, "reviving dead jobs", SQL_REVIVE_ALL, &p, &changed);
    if (r == STORE_OK && count)
        *count = changed;
    return r;
}

static store_rc_t
pg_counts(store_tx_t *tx, store_job_counts_t *out)
{
    PGresult *res;
    store_rc_t r;
    int i;

    memset(out, 0, sizeof *out);
    if ((r = pg_query(tx, "counting jobs", SQL_COUNTS, NULL, &res)) != STORE_OK)
        return r;
    for (i = 0; i < PQntuples(res); i++) {
        store_job_kind_t k;
        store_job_state_t s;

        /* a kind or state this build does not know is not one of its jobs: not counted */
        if (store_job_kind_parse(pg_text(res, i, 0), &k) == 0 && store_job_state_parse(pg_text(res, i, 1), &s) == 0)
            out->n[k][s] = pg_int(res, i, 2);
    }
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_list(store_tx_t *tx, const store_job_filter_t *filter, store_job_list_t *out)
{
    int limit = filter->limit > 0 ? filter->limit : 1;
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int rows, i;

    out->items = NULL;
    out->n = 0;
    pg_params_init(&p);
    pg_param_text(&p, filter->any_state ? NULL : store_job_state_name(filter->state));
    pg_param_int(&p, limit);
    pg_param_text(&p, filter->agency && *filter->agency ? filter->agency : NULL);
    if ((r = pg_query(tx, "listing jobs", SQL_LIST, &p, &res)) != STORE_OK)
        return r;
    rows = PQntuples(res);
    out->items = calloc((size_t)(rows ? rows : 1), sizeof *out->items);
    if (!out->items) {
        PQclear(res);
        return store_tx_fail(tx, STORE_BUSY, "out of memory listing %d jobs; retry with a smaller limit", limit);
    }
    for (i = 0; i < rows && i < limit; i++)
        copy_job(res, i, &out->items[out->n++]);
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_book_payload(store_tx_t *tx, int64_t shipment_id, char **payload, int *of_dossier)
{
    PGresult *res;
    store_rc_t r;

    *payload = NULL;
    *of_dossier = 0;
    if ((r = pg_query_id(tx, "reading a booking's payload", SQL_BOOK_PAYLOAD, shipment_id, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) == 0)
        r = store_tx_fail(tx, STORE_NOT_FOUND, "shipment %" PRId64 " has no book job", shipment_id);
    else if (!(*payload = pg_strdup_col(res, 0, 0)))
        r = pg_no_memory(tx, "reading a booking's payload");
    else
        *of_dossier = pg_int(res, 0, 1) != 0;
    PQclear(res);
    return r;
}

static store_rc_t
pg_next_due(store_tx_t *tx, int64_t *at)
{
    PGresult *res;
    store_rc_t r;

    *at = INT64_MAX;
    if ((r = pg_query(tx, "finding the next due job", SQL_NEXT_DUE, NULL, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) != 1)
        r = store_tx_fail(tx, STORE_ERROR, "finding the next due job: no row from MIN()");
    else if (!pg_isnull(res, 0, 0))
        *at = pg_int(res, 0, 0);
    PQclear(res);
    return r;
}

static store_rc_t
pg_inflight(store_tx_t *tx, store_job_inflight_t *out, int max, int *n)
{
    PGresult *res;
    store_rc_t r;
    int i, got = 0;

    *n = 0;
    if ((r = pg_query(tx, "counting jobs in flight", SQL_INFLIGHT, NULL, &res)) != STORE_OK)
        return r;
    /* more carriers than room: the rest are not reported */
    for (i = 0; i < PQntuples(res) && got < max; i++, got++) {
        snprintf(out[got].carrier, sizeof out[got].carrier, "%s", pg_text(res, i, 0));
        out[got].leased = (int)pg_int(res, i, 1);
    }
    PQclear(res);
    *n = got;
    return STORE_OK;
}

static store_rc_t
pg_gauges(store_tx_t *tx, store_gauges_t *out)
{
    PGresult *res;
    store_rc_t r;

    memset(out, 0, sizeof *out);
    if ((r = pg_query(tx, "reading the gauges", SQL_GAUGES, NULL, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) != 1) {
        int rows = PQntuples(res);

        PQclear(res);
        return store_tx_fail(tx, STORE_ERROR, "reading the gauges: %d rows", rows);
    }
    out->dossiers = pg_int(res, 0, 0);
    out->jobs_pending = pg_int(res, 0, 1);
    out->jobs_dead = pg_int(res, 0, 2);
    out->notify_pending = pg_int(res, 0, 3);
    out->notify_dead = pg_int(res, 0, 4);
    out->sla_breaches = pg_int(res, 0, 5);
    out->codes_left = pg_int(res, 0, 6);
    PQclear(res);
    return STORE_OK;
}

const struct store_jobs_ops pg_jobs_ops = {
    .enqueue = pg_enqueue,
    .requeue_leased = pg_requeue_leased,
    .expire_leases = pg_expire_leases,
    .lease_due = pg_lease_due,
    .get = pg_get,
    .complete = pg_complete,
    .retry = pg_retry,
    .kill = pg_kill,
    .revive = pg_revive,
    .pause = pg_pause,
    .revive_all = pg_revive_all,
    .counts = pg_counts,
    .list = pg_list,
    .book_payload = pg_book_payload,
    .next_due = pg_next_due,
    .inflight = pg_inflight,
    .gauges = pg_gauges,
};
