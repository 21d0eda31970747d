/*
 * pg_dossiers - the dossiers area on PostgreSQL (see store_dossiers.h)
 *
 * Intake, the S10 code pool, and the reads behind the dossier, timeline, tracking and clerk
 * views and the clerk page's search, as SQL; what is not SQL (the leg of a service, the texts
 * the store writes, what a range has left, the timeline view over the timeline area, the cancel
 * job, a clerk row made of its columns, the search's escaped text, phone digits and order) is
 * dossier_rules.c, shared with the SQLite backend. libpq hands over a statement's rows whole
 * or fails: a read never yields part of a dossier; a record half-filled when memory runs out
 * is freed.
 *
 * Several bccid instances share one database, and this file is where they would collide:
 *
 * Intake. The same dossier sent to two instances at once: INSERT … ON CONFLICT DO NOTHING on
 * dossiers.code, then on submissions (dossier_id, service), waits on the unique index for the
 * other instance's uncommitted row and then sees it (the writer runs READ COMMITTED), so the
 * second answers what a replay answers: STORE_EXISTS for the same body (the caller reads the
 * view: same waybill), STORE_CONFLICT for another. The dossier row is locked for the rest of
 * the intake, so intakes of one dossier (its send and return legs) run one after the other.
 *
 * S10 numbers. Each instance takes blocks of PG_S10_BLOCK serials from code_ranges, each in a
 * transaction of its own on another connection (pg_own_query), committed before the block's
 * first serial is used, and records each block in code_blocks under its instance id;
 * code_ranges.next keeps meaning "the first serial nobody reserved" (the gauges count what is
 * left from it). The instance hands the serials of its block out from memory (struct pg_s10,
 * under a mutex): an intake that rolls back skips its serial, the rest of the block of an
 * instance that dies is skipped, and a clean close gives the unused tail back when nobody
 * reserved after it. No serial is handed out twice. What is "left" (codes status, health counts)
 * is what no instance reserved yet, so it may read up to a block per live instance low. Within
 * a transaction that imported a range not yet committed (an import and intakes in one batch),
 * the other connection cannot see the range: then one serial is taken inside the caller's
 * transaction, as the SQLite backend does. The statements are few (a new dossier and its
 * submission in one, the block's use recorded by the statement that stores the waybill): each
 * is a round trip to the server.
 */
#include "gateway/store/postgresql/pg_area.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "gateway/store/backend_dossiers.h"
#include "gateway/store/dossier_rules.h"
#include "gateway/store/postgresql/pg_schema.h"
#include "gateway/store/store_jobs.h"
#include "gateway/store/store_timeline.h"

/* serials per block: what a crashed instance may skip per range, against one commit per block */
#define PG_S10_BLOCK 100

/* copy - column col into a fixed buffer (the schema's values fit; a longer one is cut) */
static void
copy(char *dst, size_t len, const PGresult *res, int row, int col)
{
    snprintf(dst, len, "%s", pg_text(res, row, col));
}

/* first_row - r and *res of a query whose answer is its first row: STORE_OK with *res (caller
 * clears), STORE_NOT_FOUND when it has none (nothing to clear, nothing recorded on tx), or r */
static store_rc_t
first_row(store_rc_t r, PGresult **res)
{
    if (r != STORE_OK)
        return r;
    if (PQntuples(*res) == 0) {
        PQclear(*res);
        *res = NULL;
        return STORE_NOT_FOUND;
    }
    return STORE_OK;
}

/* --------------------------------------------------------------- the pool */

struct pg_s10 {
    pthread_mutex_t lock;
    int held;                  /* a block is in memory */
    int64_t block_id, range_id;
    char prefix[3], country[3];
    int64_t first, last;       /* the block's serials */
    int64_t next;              /* the next one to hand out; > last when used up */
};

struct pg_s10 *
pg_s10_new(void)
{
    struct pg_s10 *p = calloc(1, sizeof *p);

    if (p)
        pthread_mutex_init(&p->lock, NULL);
    return p;
}

/* the lowest range with serials left gives the next block; r is locked so two instances
 * reserving at once take one block after the other */
static const char SQL_RESERVE[] =
    "WITH r AS (SELECT id, next FROM code_ranges WHERE next <= last ORDER BY id LIMIT 1 FOR NO KEY UPDATE),"
    " u AS (UPDATE code_ranges c SET next = LEAST(r.next + $2::bigint, c.last + 1) FROM r WHERE c.id = r.id"
    "   RETURNING c.id, c.prefix, c.country, r.next AS first, c.next - 1 AS last),"
    " b AS (INSERT INTO code_blocks (range_id, instance, first, last, next, reserved_at)"
    "   SELECT id, $1::text, first, last, first, $3::bigint FROM u RETURNING id)"
    " SELECT u.id, u.prefix, u.country, u.first, u.last, b.id FROM u CROSS JOIN b";
/* one serial inside the caller's transaction (a range only it can see yet) */
static const char SQL_TAKE_ONE[] =
    "WITH r AS (SELECT id FROM code_ranges WHERE next <= last ORDER BY id LIMIT 1 FOR NO KEY UPDATE)"
    " UPDATE code_ranges c SET next = c.next + 1 FROM r WHERE c.id = r.id RETURNING c.prefix, c.country, c.next - 1";
/* USE_BLOCK - the statement that stores a waybill also records how far its block was used
 * (code_blocks.next: as far as committed statements tell); a and b are its last two parameters,
 * bound by param_block */
#define USE_BLOCK(a, b) "WITH b AS (UPDATE code_blocks SET next = $" #b " WHERE id = $" #a " AND next < $" #b ") "

/* taken_t - a waybill handed out, and the block it came from (block_id 0: none) */
typedef struct {
    char waybill[STORE_WAYBILL_MAX];
    int64_t block_id, block_next;
} taken_t;

static void
param_block(pg_params_t *p, const taken_t *t)
{
    if (t->block_id)
        pg_param_int(p, t->block_id);
    else
        pg_param_null(p);
    pg_param_int(p, t->block_next);
}

/* reserve - a new block into p (locked), durable before it returns; STORE_EMPTY when no range
 * the other connection sees has serials left */
static store_rc_t
reserve(store_tx_t *tx, struct pg_s10 *p, int64_t now)
{
    PGresult *res = NULL;
    pg_params_t prm;
    store_rc_t r = STORE_EMPTY;
    int attempt;

    pg_params_init(&prm);
    pg_param_text(&prm, pg_tx_instance(tx));
    pg_param_int(&prm, PG_S10_BLOCK);
    pg_param_int(&prm, now);
    /* LIMIT with FOR UPDATE may come back empty when the range it first saw was used up by
     * the instance it waited for: look once more before saying the pool is empty */
    for (attempt = 0; attempt < 2 && r == STORE_EMPTY; attempt++) {
        r = pg_own_query(tx, "reserving S10 numbers", SQL_RESERVE, &prm, &res);
        if (r != STORE_OK)
            return r;
        if (PQntuples(res) == 0)
            r = STORE_EMPTY;
        else {
            p->range_id = pg_int(res, 0, 0);
            copy(p->prefix, sizeof p->prefix, res, 0, 1);
            copy(p->country, sizeof p->country, res, 0, 2);
            p->first = pg_int(res, 0, 3);
            p->last = pg_int(res, 0, 4);
            p->block_id = pg_int(res, 0, 5);
            p->next = p->first;
            p->held = 1;
        }
        PQclear(res);
        res = NULL;
    }
    return r;
}

/* take_one - one serial inside tx; STORE_EMPTY when none is left at all */
static store_rc_t
take_one(store_tx_t *tx, char waybill[STORE_WAYBILL_MAX])
{
    PGresult *res;
    store_rc_t r = first_row(pg_query(tx, "allocating a waybill", SQL_TAKE_ONE, NULL, &res), &res);
    char prefix[3], country[3];
    int64_t serial;

    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_EMPTY, "no S10 waybill numbers left");
    if (r != STORE_OK)
        return r;
    copy(prefix, sizeof prefix, res, 0, 0);
    copy(country, sizeof country, res, 0, 1);
    serial = pg_int(res, 0, 2);
    PQclear(res);
    return dossier_waybill(tx, prefix, serial, country, waybill);
}

/* pool_take - the next S10 number for tx: never one handed out before, by any instance */
static store_rc_t
pool_take(store_tx_t *tx, int64_t now, taken_t *out)
{
    struct pg_s10 *p = pg_tx_s10(tx);
    char prefix[3], country[3];
    int64_t serial;
    store_rc_t r = STORE_OK;

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&p->lock);
    if (!p->held || p->next > p->last)
        r = reserve(tx, p, now);
    if (r != STORE_OK) {
        pthread_mutex_unlock(&p->lock);
        return r == STORE_EMPTY ? take_one(tx, out->waybill) : r;
    }
    serial = p->next++;
    out->block_id = p->block_id;
    out->block_next = serial + 1;
    memcpy(prefix, p->prefix, sizeof prefix);
    memcpy(country, p->country, sizeof country);
    pthread_mutex_unlock(&p->lock);
    return dossier_waybill(tx, prefix, serial, country, out->waybill);
}

static const char SQL_GIVE_BACK[] = "UPDATE code_ranges SET next = $2 WHERE id = $1 AND next = $3::bigint + 1";
static const char SQL_BLOCK_DROP[] = "DELETE FROM code_blocks WHERE id = $1";
static const char SQL_BLOCK_SHRINK[] = "UPDATE code_blocks SET last = $2::bigint - 1, next = $2 WHERE id = $1";

/* give_back - the unused tail of p's block back to its range, when the range's next is still
 * right after the block (nobody reserved since); otherwise the tail stays skipped */
static void
give_back(store_t *store, struct pg_s10 *p)
{
    store_tx_t *tx = NULL;
    pg_params_t prm;
    store_rc_t r;
    int changed = 0;

    if (store_tx_begin(store, STORE_WRITE, &tx) != STORE_OK) {
        log_warn("cannot give back S10 serials %" PRId64 "..%" PRId64 " of range %s: they stay unused",
                 p->next, p->last, p->prefix);
        return;
    }
    pg_params_init(&prm);
    pg_param_int(&prm, p->range_id);
    pg_param_int(&prm, p->next);
    pg_param_int(&prm, p->last);
    r = pg_exec(tx, "giving back unused S10 numbers", SQL_GIVE_BACK, &prm, &changed);
    if (r == STORE_OK && changed) {
        pg_params_init(&prm);
        pg_param_int(&prm, p->block_id);
        if (p->next == p->first)
            r = pg_exec(tx, "giving back unused S10 numbers", SQL_BLOCK_DROP, &prm, NULL);
        else {
            pg_param_int(&prm, p->next);
            r = pg_exec(tx, "giving back unused S10 numbers", SQL_BLOCK_SHRINK, &prm, NULL);
        }
    }
    if (r == STORE_OK)
        r = store_tx_commit(&tx);
    if (r != STORE_OK)
        log_warn("cannot give back S10 serials %" PRId64 "..%" PRId64 " of range %s (%s): they stay unused",
                 p->next, p->last, p->prefix, tx ? store_tx_message(tx) : "commit failed");
    store_tx_abort(&tx);
}

void
pg_s10_close(store_t *store, struct pg_s10 **pp)
{
    struct pg_s10 *p = *pp;

    if (!p)
        return;
    if (p->held && p->next <= p->last && store && store->be)
        give_back(store, p);
    pthread_mutex_destroy(&p->lock);
    free(p);
    *pp = NULL;
}

/* ---------------------------------------------------------------- intake */

/* a new dossier and its submission in one statement; no row when the dossier was there (or was
 * inserted meanwhile by another instance, whose commit the insert waited for) */
static const char SQL_INSERT_NEW[] =
    "WITH d AS (INSERT INTO dossiers (code, agency_code, created_at) VALUES ($1, $2, $5::bigint)"
    "   ON CONFLICT (code) DO NOTHING RETURNING id)"
    " INSERT INTO submissions (dossier_id, service, body, body_hash, created_at)"
    " SELECT id, $3::text, $4::text, $6::text, $5::bigint FROM d RETURNING dossier_id, id";
static const char SQL_LOCK_DOSSIER[] = "SELECT id FROM dossiers WHERE code = $1 FOR NO KEY UPDATE";
static const char SQL_INSERT_SUBMISSION[] =
    "INSERT INTO submissions (dossier_id, service, body, body_hash, created_at) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (dossier_id, service) DO NOTHING RETURNING id";
static const char SQL_SUBMISSION_HASH[] = "SELECT body_hash FROM submissions WHERE dossier_id = $1 AND service = $2";
static const char SQL_INSERT_SHIPMENT[] = USE_BLOCK(9, 10)
    "INSERT INTO shipments (dossier_id, submission_id, leg, carrier, waybill, status, status_time, cod_amount,"
    " created_at, updated_at, linked_shipment_id, transit_days) VALUES ($1, $2, $3, $4, $5, 'created', 0, $7, $6,"
    " $6, (SELECT id FROM shipments WHERE dossier_id = $1 AND leg = 'send' AND $3::text = 'return' ORDER BY id"
    " LIMIT 1), $8) RETURNING id";

/* replay - STORE_EXISTS when the recorded body_hash (column 0 of res, which is cleared) is
 * in's, else STORE_CONFLICT */
static store_rc_t
replay(store_tx_t *tx, PGresult *res, const store_intake_t *in)
{
    int same = strcmp(pg_text(res, 0, 0), in->body_hash) == 0;

    PQclear(res);
    return same ? STORE_EXISTS
                : store_tx_fail(tx, STORE_CONFLICT, "dossier %s was already submitted for service '%s'", in->code,
                                in->service);
}

/* submission_for - the submission of in to a dossier that was there before, which is locked
 * (intakes of one dossier one after the other): STORE_EXISTS / STORE_CONFLICT when this
 * service was submitted before, by this instance or by another whose commit was waited for */
static store_rc_t
submission_for(store_tx_t *tx, const store_intake_t *in, int64_t now, int64_t *dossier_id, int64_t *submission_id)
{
    PGresult *res;
    pg_params_t p;
    store_rc_t r;

    r = first_row(pg_query_text(tx, "looking up the dossier", SQL_LOCK_DOSSIER, in->code, &res), &res);
    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_BUSY, "dossier %s was removed while it was submitted again; retry", in->code);
    if (r != STORE_OK)
        return r;
    *dossier_id = pg_int(res, 0, 0);
    PQclear(res);
    pg_params_init(&p);
    pg_param_int(&p, *dossier_id);
    pg_param_text(&p, in->service);
    pg_param_text(&p, in->canonical_body);
    pg_param_text(&p, in->body_hash);
    pg_param_int(&p, now);
    r = first_row(pg_query(tx, "writing the submission", SQL_INSERT_SUBMISSION, &p, &res), &res);
    if (r == STORE_NOT_FOUND) {
        pg_params_init(&p);
        pg_param_int(&p, *dossier_id);
        pg_param_text(&p, in->service);
        r = first_row(pg_query(tx, "looking up the dossier", SQL_SUBMISSION_HASH, &p, &res), &res);
        if (r == STORE_OK)
            return replay(tx, res, in);
        return r == STORE_NOT_FOUND ? store_tx_fail(tx, STORE_BUSY, "dossier %s changed meanwhile; retry", in->code)
                                    : r;
    }
    if (r != STORE_OK)
        return r;
    *submission_id = pg_int(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_intake(store_tx_t *tx, const store_intake_t *in, int64_t now, store_intake_result_t *out)
{
    store_timeline_event_t ev;
    int64_t dossier_id = 0, submission_id = 0;
    char text[256];
    PGresult *res;
    pg_params_t p;
    taken_t got;
    store_rc_t r;

    memset(out, 0, sizeof *out);
    /* the usual case, a new dossier, in one statement; then a replay, or another service */
    pg_params_init(&p);
    pg_param_text(&p, in->code);
    pg_param_text(&p, in->agency_code);
    pg_param_text(&p, in->service);
    pg_param_text(&p, in->canonical_body);
    pg_param_int(&p, now);
    pg_param_text(&p, in->body_hash);
    r = first_row(pg_query(tx, "writing the dossier", SQL_INSERT_NEW, &p, &res), &res);
    if (r == STORE_OK) {
        dossier_id = pg_int(res, 0, 0);
        submission_id = pg_int(res, 0, 1);
        PQclear(res);
    } else if (r == STORE_NOT_FOUND) {
        out->dossier_existed = 1;
        r = submission_for(tx, in, now, &dossier_id, &submission_id);
    }
    if (r != STORE_OK)
        return r;

    /* a waybill from the pool, once the submission is known to be new */
    r = pool_take(tx, now, &got);
    if (r != STORE_OK)
        return r;
    memcpy(out->waybill, got.waybill, sizeof out->waybill);
    snprintf(out->leg, sizeof out->leg, "%s", dossier_leg_of(in->service));
    pg_params_init(&p);
    pg_param_int(&p, dossier_id);
    pg_param_int(&p, submission_id);
    pg_param_text(&p, out->leg);
    pg_param_text(&p, in->carrier);
    pg_param_text(&p, out->waybill);
    pg_param_int(&p, now);
    pg_param_int(&p, in->cod_amount);
    pg_param_int(&p, in->transit_days);
    param_block(&p, &got);
    r = first_row(pg_query(tx, "writing the shipment", SQL_INSERT_SHIPMENT, &p, &res), &res);
    if (r == STORE_NOT_FOUND)
        r = store_tx_fail(tx, STORE_ERROR, "writing the shipment returned no id");
    if (r != STORE_OK)
        return r;
    out->shipment_id = pg_int(res, 0, 0);
    PQclear(res);

    dossier_intake_text(in->service, out->waybill, text, sizeof text);
    memset(&ev, 0, sizeof ev);
    ev.dossier_id = dossier_id;
    ev.shipment_id = out->shipment_id;
    ev.event_time = now;
    ev.received_at = now;
    ev.source = "gateway";
    ev.status = "created";
    ev.text = text;
    r = store_timeline_append(tx, &ev);
    if (r != STORE_OK)
        return r == STORE_EXISTS ? store_tx_fail(tx, STORE_ERROR, "the intake's timeline event was a duplicate") : r;
    /* "" = built from the submission's body when the job runs (store_dossiers.h) */
    r = store_jobs_enqueue(tx, STORE_JOB_BOOK, out->shipment_id, "", in->carrier, in->book_payload ? in->book_payload : "",
                           now, now);
    return r == STORE_EXISTS ? STORE_OK : r;
}

/* ----------------------------------------------------------------- codes */

/* imports are serialised across instances, so two overlapping ranges cannot both pass the check */
static const char SQL_IMPORT_LOCK[] = "SELECT pg_advisory_xact_lock($1::integer, hashtext('code_ranges'))";
static const char SQL_OVERLAP[] =
    "SELECT prefix, country, first, last, next, imported_at FROM code_ranges"
    " WHERE prefix = $1 AND country = $2 AND first <= $4 AND last >= $3 ORDER BY id LIMIT 1";
static const char SQL_INSERT_RANGE[] =
    "INSERT INTO code_ranges (prefix, country, first, last, next, imported_at) VALUES ($1, $2, $3, $4, $3, $5)";
static const char SQL_CODES_STATUS[] =
    "SELECT prefix, country, first, last, next, imported_at FROM code_ranges ORDER BY id";

static void
range_row(const PGresult *res, int row, store_code_range_t *out)
{
    copy(out->prefix, sizeof out->prefix, res, row, 0);
    copy(out->country, sizeof out->country, res, row, 1);
    out->first = pg_int(res, row, 2);
    out->last = pg_int(res, row, 3);
    out->next = pg_int(res, row, 4);
    out->imported_at = pg_int(res, row, 5);
}

static store_rc_t
pg_import_codes(store_tx_t *tx, const char *prefix, const char *country, long long from, long long count, int64_t now,
                store_code_range_t *overlap)
{
    long long last = from + count - 1;
    PGresult *res;
    pg_params_t p;
    store_rc_t r;

    if (overlap)
        memset(overlap, 0, sizeof *overlap);
    pg_params_init(&p);
    pg_param_int(&p, PG_LOCK_CLASS);
    r = pg_exec(tx, "checking code ranges", SQL_IMPORT_LOCK, &p, NULL);
    if (r != STORE_OK)
        return r;
    pg_params_init(&p);
    pg_param_text(&p, prefix);
    pg_param_text(&p, country);
    pg_param_int(&p, from);
    pg_param_int(&p, last);
    r = first_row(pg_query(tx, "checking code ranges", SQL_OVERLAP, &p, &res), &res);
    if (r == STORE_OK) {
        if (overlap)
            range_row(res, 0, overlap);
        PQclear(res);
        return store_tx_fail(tx, STORE_CONFLICT, "range %s %lld..%lld overlaps an imported range", prefix, from,
                             last);
    }
    if (r != STORE_NOT_FOUND)
        return r;
    pg_param_int(&p, now); /* $5 after the overlap check's four */
    return pg_exec(tx, "importing the range", SQL_INSERT_RANGE, &p, NULL);
}

static store_rc_t
pg_codes_status(store_tx_t *tx, store_codes_t *out)
{
    PGresult *res;
    store_rc_t r;
    int i, n;

    memset(out, 0, sizeof *out);
    r = pg_query(tx, "reading code ranges", SQL_CODES_STATUS, NULL, &res);
    if (r != STORE_OK)
        return r;
    n = PQntuples(res);
    out->ranges = calloc(n ? (size_t)n : 1, sizeof *out->ranges);
    if (!out->ranges) {
        PQclear(res);
        return pg_no_memory(tx, "reading code ranges");
    }
    for (i = 0; i < n; i++) {
        range_row(res, i, &out->ranges[i]);
        out->left += dossier_range_left(&out->ranges[i]);
    }
    out->nranges = (size_t)n;
    PQclear(res);
    return STORE_OK;
}

static const char SQL_SHIP_WAYBILL[] = "SELECT waybill FROM shipments WHERE id = $1 FOR NO KEY UPDATE";
static const char SQL_SET_WAYBILL[] =
    USE_BLOCK(4, 5) "UPDATE shipments SET waybill = $2, updated_at = $3 WHERE id = $1";

static store_rc_t
pg_reassign_waybill(store_tx_t *tx, int64_t shipment_id, int64_t now, char waybill[STORE_WAYBILL_MAX])
{
    PGresult *res;
    pg_params_t p;
    taken_t got;
    store_rc_t r;

    waybill[0] = '\0';
    r = first_row(pg_query_id(tx, "reading the shipment", SQL_SHIP_WAYBILL, shipment_id, &res), &res);
    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no shipment %" PRId64, shipment_id);
    if (r != STORE_OK)
        return r;
    PQclear(res);
    r = pool_take(tx, now, &got);
    if (r != STORE_OK)
        return r;
    pg_params_init(&p);
    pg_param_int(&p, shipment_id);
    pg_param_text(&p, got.waybill);
    pg_param_int(&p, now);
    param_block(&p, &got);
    r = pg_exec(tx, "giving the shipment a new waybill", SQL_SET_WAYBILL, &p, NULL);
    if (r == STORE_OK)
        memcpy(waybill, got.waybill, STORE_WAYBILL_MAX);
    return r;
}

/* ----------------------------------------------------------------- views */

static const char SQL_DOSSIER[] = "SELECT id, agency_code, created_at FROM dossiers WHERE code = $1";
static const char SQL_SUBMISSIONS[] = "SELECT service, body FROM submissions WHERE dossier_id = $1 ORDER BY id";
static const char SQL_SHIPMENTS[] =
    "SELECT s.waybill, s.carrier, COALESCE(s.carrier_ref, ''), s.leg, s.status, s.status_time, s.cod_amount,"
    " COALESCE(s.fee, -1), s.created_at, s.updated_at, COALESCE(l.waybill, ''), s.id FROM shipments s"
    " LEFT JOIN shipments l ON l.id = s.linked_shipment_id WHERE s.dossier_id = $1 ORDER BY s.id";

/* dossier_row - id, agency and creation time of dossier code; STORE_NOT_FOUND */
static store_rc_t
dossier_row(store_tx_t *tx, const char *code, store_dossier_view_t *out)
{
    PGresult *res;
    store_rc_t r;

    r = first_row(pg_query_text(tx, "reading the dossier", SQL_DOSSIER, code, &res), &res);
    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no dossier %.64s on this gateway", code);
    if (r != STORE_OK)
        return r;
    out->id = pg_int(res, 0, 0);
    snprintf(out->code, sizeof out->code, "%s", code);
    copy(out->agency_code, sizeof out->agency_code, res, 0, 1);
    out->created_at = pg_int(res, 0, 2);
    PQclear(res);
    return STORE_OK;
}

/* rows_of - the rows of sql for dossier id; *n = how many */
static store_rc_t
rows_of(store_tx_t *tx, const char *what, const char *sql, int64_t id, PGresult **res, int *n)
{
    store_rc_t r = pg_query_id(tx, what, sql, id, res);

    *n = r == STORE_OK ? PQntuples(*res) : 0;
    return r;
}

static store_rc_t
read_submissions(store_tx_t *tx, store_dossier_view_t *out)
{
    PGresult *res;
    store_rc_t r;
    int i, n;

    r = rows_of(tx, "reading the submissions", SQL_SUBMISSIONS, out->id, &res, &n);
    if (r != STORE_OK)
        return r;
    out->submissions = calloc(n ? (size_t)n : 1, sizeof *out->submissions);
    for (i = 0; out->submissions && i < n; i++) {
        store_submission_t *s = &out->submissions[i];

        copy(s->service, sizeof s->service, res, i, 0);
        s->body = pg_strdup_col(res, i, 1);
        if (!s->body)
            break;
        out->nsubmissions++;
    }
    PQclear(res);
    return out->submissions && (int)out->nsubmissions == n ? STORE_OK : pg_no_memory(tx, "reading the submissions");
}

static store_rc_t
read_shipments(store_tx_t *tx, store_dossier_view_t *out)
{
    PGresult *res;
    store_rc_t r;
    int i, n;

    r = rows_of(tx, "reading the shipments", SQL_SHIPMENTS, out->id, &res, &n);
    if (r != STORE_OK)
        return r;
    out->shipments = calloc(n ? (size_t)n : 1, sizeof *out->shipments);
    for (i = 0; out->shipments && i < n; i++) {
        store_shipment_view_t *s = &out->shipments[i];

        s->carrier_ref = pg_strdup_col(res, i, 2);
        if (!s->carrier_ref)
            break;
        copy(s->waybill, sizeof s->waybill, res, i, 0);
        copy(s->carrier, sizeof s->carrier, res, i, 1);
        copy(s->leg, sizeof s->leg, res, i, 3);
        copy(s->status, sizeof s->status, res, i, 4);
        s->status_time = pg_int(res, i, 5);
        s->cod_amount = pg_int(res, i, 6);
        s->fee = pg_int(res, i, 7);
        s->created_at = pg_int(res, i, 8);
        s->updated_at = pg_int(res, i, 9);
        copy(s->linked_waybill, sizeof s->linked_waybill, res, i, 10);
        s->id = pg_int(res, i, 11);
        out->nshipments++;
    }
    PQclear(res);
    return out->shipments && (int)out->nshipments == n ? STORE_OK : pg_no_memory(tx, "reading the shipments");
}

static store_rc_t
pg_view(store_tx_t *tx, const char *code, store_dossier_view_t *out)
{
    store_rc_t r;

    memset(out, 0, sizeof *out);
    r = dossier_row(tx, code, out);
    if (r == STORE_OK)
        r = read_submissions(tx, out);
    if (r == STORE_OK)
        r = read_shipments(tx, out);
    if (r != STORE_OK) {
        store_dossier_view_free(out);
        return r;
    }
    dossier_view_set_status(out);
    return STORE_OK;
}

static const char SQL_SHIPMENT_DOSSIER[] =
    "SELECT d.code FROM shipments s JOIN dossiers d ON d.id = s.dossier_id WHERE s.waybill = $1";

static store_rc_t
pg_code_of_waybill(store_tx_t *tx, const char *waybill, char code[STORE_CODE_MAX])
{
    PGresult *res;
    store_rc_t r;

    code[0] = '\0';
    r = first_row(pg_query_text(tx, "reading the shipment", SQL_SHIPMENT_DOSSIER, waybill, &res), &res);
    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no shipment %.20s on this gateway", waybill);
    if (r != STORE_OK)
        return r;
    copy(code, STORE_CODE_MAX, res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_timeline(store_tx_t *tx, const char *code, store_timeline_t *out)
{
    store_dossier_view_t d;
    store_rc_t r;

    memset(out, 0, sizeof *out);
    memset(&d, 0, sizeof d);
    r = dossier_row(tx, code, &d);
    return r == STORE_OK ? dossier_timeline_of(tx, d.id, out) : r;
}

/* ---------------------------------------------------------- tracking page */

static const char SQL_TRACK_SHIP[] =
    "SELECT s.id, s.dossier_id, s.status, s.status_time, s.created_at, s.leg,"
    " COALESCE(x.j -> 'recipient' ->> 'name', ''), COALESCE(x.j -> 'recipient' ->> 'province_code', ''),"
    " COALESCE(x.j -> 'recipient' ->> 'commune_code', ''), COALESCE(x.j -> 'agency' ->> 'name', ''),"
    " COALESCE(s.due_at, 0)"
    " FROM shipments s JOIN submissions sub ON sub.id = s.submission_id,"
    " LATERAL (SELECT sub.body::jsonb AS j) x WHERE s.waybill = $1";
static const char SQL_TRACK_EVENTS[] =
    "SELECT event_time, status FROM timeline WHERE dossier_id = $1 AND shipment_id = $2 AND status IS NOT NULL"
    " ORDER BY event_time DESC, seq DESC LIMIT $3";

static store_rc_t
pg_tracking(store_tx_t *tx, const char *waybill, store_tracking_t *out)
{
    int64_t ship_id, dossier_id;
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int i, n;

    memset(out, 0, sizeof *out);
    r = first_row(pg_query_text(tx, "reading the shipment", SQL_TRACK_SHIP, waybill, &res), &res);
    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no shipment %.20s on this gateway", waybill);
    if (r != STORE_OK)
        return r;
    ship_id = pg_int(res, 0, 0);
    dossier_id = pg_int(res, 0, 1);
    copy(out->status, sizeof out->status, res, 0, 2);
    out->status_time = pg_int(res, 0, 3);
    out->created_at = pg_int(res, 0, 4);
    copy(out->leg, sizeof out->leg, res, 0, 5);
    out->recipient_name = pg_strdup_col(res, 0, 6);
    copy(out->province_code, sizeof out->province_code, res, 0, 7);
    copy(out->commune_code, sizeof out->commune_code, res, 0, 8);
    out->agency_name = pg_strdup_col(res, 0, 9);
    out->due_at = pg_int(res, 0, 10);
    PQclear(res);
    out->events = calloc(STORE_TRACK_MAX_EVENTS, sizeof *out->events);
    if (!out->recipient_name || !out->agency_name || !out->events) {
        store_tracking_free(out);
        return pg_no_memory(tx, "reading the shipment");
    }

    pg_params_init(&p);
    pg_param_int(&p, dossier_id);
    pg_param_int(&p, ship_id);
    pg_param_int(&p, STORE_TRACK_MAX_EVENTS);
    r = pg_query(tx, "reading the timeline", SQL_TRACK_EVENTS, &p, &res);
    if (r != STORE_OK) {
        store_tracking_free(out);
        return r;
    }
    n = PQntuples(res) < STORE_TRACK_MAX_EVENTS ? PQntuples(res) : STORE_TRACK_MAX_EVENTS;
    for (i = 0; i < n; i++) {
        out->events[i].time = pg_int(res, i, 0);
        copy(out->events[i].status, sizeof out->events[i].status, res, i, 1);
    }
    out->nevents = (size_t)n;
    PQclear(res);
    return STORE_OK;
}

/* ------------------------------------------------------------ clerk page */

#define CLERK_SELECT                                                                                              \
    "SELECT s.waybill, d.code, s.status, s.status_time, s.created_at, s.cod_amount, s.label_prints, s.carrier," \
    " COALESCE(x.j -> 'recipient' ->> 'name', ''), COALESCE(x.j -> 'recipient' ->> 'province_code', ''),"      \
    " COALESCE(x.j -> 'recipient' ->> 'commune_code', ''),"                                                    \
    " COALESCE((SELECT t.text FROM timeline t WHERE t.dossier_id = s.dossier_id AND t.shipment_id = s.id"      \
    "   ORDER BY t.seq DESC LIMIT 1), ''), d.agency_code,"                                                     \
    " CASE WHEN EXISTS (SELECT 1 FROM jobs bj WHERE bj.shipment_id = s.id AND bj.kind = 'book'"                \
    "   AND bj.state = 'dead') THEN 1 ELSE 0 END, s.sla_breached"
#define CLERK_FROM                                                                                                \
    " FROM shipments s JOIN dossiers d ON d.id = s.dossier_id JOIN submissions sub ON sub.id = s.submission_id," \
    " LATERAL (SELECT sub.body::jsonb AS j) x"
#define CLERK_COLUMNS CLERK_SELECT CLERK_FROM

/* ready: booked (or waiting for the carrier) and on no open handover manifest */
static const char SQL_CLERK_READY[] = CLERK_COLUMNS
    " WHERE ($2::text = '' OR d.agency_code = $2) AND s.status IN ('created', 'booked')"
    /* a booking the carrier never took is a problem to act on, not a parcel to hand over */
    " AND NOT EXISTS (SELECT 1 FROM jobs bj WHERE bj.shipment_id = s.id AND bj.kind = 'book' AND bj.state = 'dead')"
    " AND NOT EXISTS (SELECT 1 FROM manifest_items mi"
    "   JOIN manifests m ON m.id = mi.manifest_id WHERE mi.shipment_id = s.id AND m.state = 'open')"
    " ORDER BY s.created_at, s.id LIMIT $1";

/* problems: failed deliveries, returns, exceptions, bookings that died, items past their due date
 * still on the way, deliveries whose proof does not match the dossier; returned ones since $3 */
static const char SQL_CLERK_PROBLEMS[] = CLERK_COLUMNS
    " WHERE ($2::text = '' OR d.agency_code = $2) AND (s.status IN ('delivery_failed', 'returning', 'returned',"
    "   'exception')"
    "   OR (s.sla_breached = 1 AND s.status NOT IN ('delivered', 'cancelled'))"
    "   OR EXISTS (SELECT 1 FROM timeline pt WHERE pt.dossier_id = s.dossier_id AND pt.shipment_id = s.id"
    "     AND pt.details::jsonb ->> 'kind' = 'proof_mismatch')"
    "   OR (s.status = 'created'"
    "       AND EXISTS (SELECT 1 FROM jobs bj WHERE bj.shipment_id = s.id AND bj.kind = 'book' AND bj.state = 'dead')))"
    "   AND (s.status <> 'returned' OR s.status_time >= $3)"
    " ORDER BY s.status_time DESC, s.id DESC LIMIT $1";

/* the search: the clerk columns and what a search row adds (dossier_rules.h's DOSSIER_COL_*) */
#define SEARCH_SELECT                                                                                             \
    CLERK_SELECT ", s.leg, sub.service, COALESCE(x.j -> 'recipient' ->> 'phone', ''),"                          \
                 " COALESCE(x.j -> 'agency' ->> 'name', ''),"                                                   \
                 " COALESCE((SELECT t.details::jsonb ->> 'reason' FROM timeline t"                              \
                 "   WHERE t.dossier_id = s.dossier_id AND t.shipment_id = s.id AND t.status = 'delivery_failed'" \
                 "   ORDER BY t.seq DESC LIMIT 1), ''), COALESCE(s.last_attempt_at, 0), s.attempts"
/* $1 the token's agency, $2 the agency asked for, $3 status, $4 service, $5 carrier, $6 from,
 * $7 to, $8 q as a LIKE pattern without wildcards, $9 q's digits when it looks like a phone.
 * COLLATE "C": ILIKE folds ASCII letters only, as SQLite's LIKE does, whatever the database's
 * locale, so both backends find the same rows */
#define SEARCH_WHERE                                                                                              \
    " WHERE ($1::text = '' OR d.agency_code = $1) AND ($2::text = '' OR d.agency_code = $2)"                    \
    " AND ($3::text = '' OR s.status = $3) AND ($4::text = '' OR sub.service = $4)"                             \
    " AND ($5::text = '' OR s.carrier = $5)"                                                                     \
    " AND ($6::bigint = 0 OR s.created_at >= $6) AND ($7::bigint = 0 OR s.created_at < $7)"                     \
    " AND ($8::text = '' OR d.code COLLATE \"C\" ILIKE $8 || '%' ESCAPE '\\'"                                    \
    "   OR s.waybill COLLATE \"C\" ILIKE $8 || '%' ESCAPE '\\'"                                                 \
    "   OR COALESCE(x.j -> 'recipient' ->> 'name', '') COLLATE \"C\" ILIKE '%' || $8 || '%' ESCAPE '\\'"       \
    "   OR ($9::text <> '' AND replace(replace(replace(replace(COALESCE(x.j -> 'recipient' ->> 'phone', ''),"   \
    "       ' ', ''), '.', ''), '-', ''), '+84', '0') LIKE '%' || $9 || '%'))"
#define SEARCH_PAGE(order) SEARCH_SELECT CLERK_FROM SEARCH_WHERE " ORDER BY " order " LIMIT $10 OFFSET $11"

/* one statement per sort order: the statement cache is keyed by the SQL's address. COLLATE "C"
 * again: codes sort byte by byte, as on SQLite, not by the locale's rules */
static const char SQL_SEARCH_NEWEST[] = SEARCH_PAGE("s.created_at DESC, s.id DESC");
static const char SQL_SEARCH_OLDEST[] = SEARCH_PAGE("s.created_at, s.id");
static const char SQL_SEARCH_STATUS_TIME[] =
    SEARCH_PAGE("CASE WHEN s.status_time > 0 THEN s.status_time ELSE s.created_at END DESC, s.id DESC");
static const char SQL_SEARCH_WAYBILL[] = SEARCH_PAGE("s.waybill COLLATE \"C\"");
static const char SQL_SEARCH_DOSSIER[] = SEARCH_PAGE("d.code COLLATE \"C\", s.id");
static const char SQL_SEARCH_AGENCY[] = SEARCH_PAGE("d.agency_code COLLATE \"C\", s.created_at DESC, s.id DESC");
static const char SQL_SEARCH_COUNT[] = "SELECT COUNT(*)" CLERK_FROM SEARCH_WHERE;

/* read_clerk_rows - the rows of res into out (columns of CLERK_SELECT, and of SEARCH_SELECT
 * when search); 0, or -1 when out of memory (out empty) */
static int
read_clerk_rows(const PGresult *res, int search, store_clerk_list_t *out)
{
    const char *col[DOSSIER_SEARCH_COLS];
    int ncols = search ? DOSSIER_SEARCH_COLS : DOSSIER_CLERK_COLS;
    int i, c, n = PQntuples(res);

    out->rows = calloc(n ? (size_t)n : 1, sizeof *out->rows);
    for (i = 0; out->rows && i < n; i++) {
        for (c = 0; c < ncols; c++)
            col[c] = pg_text(res, i, c);
        if (dossier_clerk_row(&out->rows[i], col, search) != 0)
            break;
        out->nrows++;
    }
    if (!out->rows || (int)out->nrows != n) {
        store_clerk_list_free(out);
        return -1;
    }
    return 0;
}

static store_rc_t
pg_clerk_list(store_tx_t *tx, store_clerk_state_t state, const char *agency, int64_t returned_since, int max,
              store_clerk_list_t *out)
{
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int failed;

    memset(out, 0, sizeof *out);
    pg_params_init(&p);
    pg_param_int(&p, max);
    pg_param_text(&p, agency ? agency : "");
    if (state == STORE_CLERK_PROBLEMS)
        pg_param_int(&p, returned_since);
    r = pg_query(tx, "reading the shipments", state == STORE_CLERK_PROBLEMS ? SQL_CLERK_PROBLEMS : SQL_CLERK_READY,
                 &p, &res);
    if (r != STORE_OK)
        return r;
    failed = read_clerk_rows(res, 0, out);
    PQclear(res);
    return failed ? pg_no_memory(tx, "reading the shipments") : STORE_OK;
}

static store_rc_t
pg_search(store_tx_t *tx, const store_search_t *q, store_clerk_list_t *out, long long *total)
{
    static const char *const pages[STORE_SEARCH_SORTS] = { SQL_SEARCH_NEWEST,  SQL_SEARCH_OLDEST,
                                                           SQL_SEARCH_STATUS_TIME, SQL_SEARCH_WAYBILL,
                                                           SQL_SEARCH_DOSSIER, SQL_SEARCH_AGENCY };
    char like[256], digits[40];
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int failed;

    memset(out, 0, sizeof *out);
    *total = 0;
    if ((r = dossier_search_terms(tx, q, like, sizeof like, digits, sizeof digits)) != STORE_OK)
        return r;
    pg_params_init(&p);
    pg_param_text(&p, q->scope_agency ? q->scope_agency : "");
    pg_param_text(&p, q->agency ? q->agency : "");
    pg_param_text(&p, q->status ? q->status : "");
    pg_param_text(&p, q->service ? q->service : "");
    pg_param_text(&p, q->carrier ? q->carrier : "");
    pg_param_int(&p, q->from);
    pg_param_int(&p, q->to);
    pg_param_text(&p, like);
    pg_param_text(&p, digits);
    r = first_row(pg_query(tx, "counting the shipments", SQL_SEARCH_COUNT, &p, &res), &res);
    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_ERROR, "counting the shipments returned no row");
    if (r != STORE_OK)
        return r;
    *total = pg_int(res, 0, 0);
    PQclear(res);
    pg_param_int(&p, q->limit);
    pg_param_int(&p, q->offset);
    if ((r = pg_query(tx, "searching the shipments", pages[dossier_search_sort(q)], &p, &res)) != STORE_OK) {
        *total = 0;
        return r;
    }
    failed = read_clerk_rows(res, 1, out);
    PQclear(res);
    if (failed) {
        *total = 0;
        return pg_no_memory(tx, "searching the shipments");
    }
    return STORE_OK;
}

/* ---------------------------------------------------------------- cancel */

/* in a write transaction the shipment and its booking job are locked: another instance
 * cancelling the same waybill waits and then sees the outcome, and no dispatcher leases the
 * booking meanwhile (it skips locked jobs), so the booking state the cancel rule decides on
 * stays true until commit. A read (the citizen's page asks what a cancel would see) takes
 * no lock: PostgreSQL refuses FOR … UPDATE in a READ ONLY transaction. */
#define CANCEL_SHIP                                                                                               \
    "SELECT s.id, s.status, s.carrier, COALESCE(s.carrier_ref, ''), s.dossier_id FROM shipments s"              \
    " WHERE s.waybill = $1"
#define CANCEL_BOOK "SELECT state FROM jobs WHERE shipment_id = $1 AND kind = 'book' ORDER BY id LIMIT 1"
static const char SQL_CANCEL_SHIP[] = CANCEL_SHIP " FOR NO KEY UPDATE";
static const char SQL_CANCEL_BOOK[] = CANCEL_BOOK " FOR NO KEY UPDATE";
static const char SQL_CANCEL_SHIP_READ[] = CANCEL_SHIP;
static const char SQL_CANCEL_BOOK_READ[] = CANCEL_BOOK;
static const char SQL_OPEN_MANIFEST_OF[] =
    "SELECT m.id, m.public_id FROM manifest_items i JOIN manifests m ON m.id = i.manifest_id"
    " WHERE i.shipment_id = $1 AND m.state = 'open' ORDER BY m.id LIMIT 1 FOR NO KEY UPDATE OF m";
static const char SQL_LEAVE_MANIFEST[] = "DELETE FROM manifest_items WHERE manifest_id = $1 AND shipment_id = $2";
static const char SQL_BOOK_WITHDRAW[] =
    "UPDATE jobs SET state = 'done', last_error = 'cancelled before booking', updated_at = $2"
    " WHERE shipment_id = $1 AND kind = 'book' AND state IN ('ready', 'dead')";

static store_rc_t
pg_cancel_target(store_tx_t *tx, const char *waybill, store_cancel_target_t *out)
{
    int writing = tx->mode == STORE_WRITE;
    const char *ship_sql = writing ? SQL_CANCEL_SHIP : SQL_CANCEL_SHIP_READ;
    const char *book_sql = writing ? SQL_CANCEL_BOOK : SQL_CANCEL_BOOK_READ;
    PGresult *res;
    store_rc_t r;

    memset(out, 0, sizeof *out);
    r = first_row(pg_query_text(tx, "reading the shipment", ship_sql, waybill, &res), &res);
    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no shipment %.20s on this gateway", waybill);
    if (r != STORE_OK)
        return r;
    out->shipment_id = pg_int(res, 0, 0);
    copy(out->status, sizeof out->status, res, 0, 1);
    copy(out->carrier, sizeof out->carrier, res, 0, 2);
    out->has_carrier_ref = *pg_text(res, 0, 3) != '\0';
    out->dossier_id = pg_int(res, 0, 4);
    PQclear(res);
    r = first_row(pg_query_id(tx, "reading the booking", book_sql, out->shipment_id, &res), &res);
    if (r == STORE_NOT_FOUND)
        return STORE_OK; /* no booking job: book_state "" */
    if (r != STORE_OK)
        return r;
    copy(out->book_state, sizeof out->book_state, res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_leave_manifest(store_tx_t *tx, const store_cancel_target_t *t, const char *source, int64_t now, int *left)
{
    char text[160];
    int64_t manifest_id;
    PGresult *res;
    pg_params_t p;
    store_rc_t r;

    *left = 0;
    r = first_row(pg_query_id(tx, "reading the handover manifests", SQL_OPEN_MANIFEST_OF, t->shipment_id, &res), &res);
    if (r == STORE_NOT_FOUND)
        return STORE_OK;
    if (r != STORE_OK)
        return r;
    manifest_id = pg_int(res, 0, 0);
    dossier_left_manifest_text(pg_text(res, 0, 1), text, sizeof text);
    PQclear(res);
    pg_params_init(&p);
    pg_param_int(&p, manifest_id);
    pg_param_int(&p, t->shipment_id);
    r = pg_exec(tx, "taking the shipment off its handover manifest", SQL_LEAVE_MANIFEST, &p, NULL);
    if (r == STORE_OK)
        r = dossier_note(tx, t, source, text, now);
    if (r == STORE_OK)
        *left = 1;
    return r;
}

static store_rc_t
pg_withdraw_booking(store_tx_t *tx, int64_t shipment_id, int64_t now)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, shipment_id);
    pg_param_int(&p, now);
    return pg_exec(tx, "withdrawing the booking", SQL_BOOK_WITHDRAW, &p, NULL);
}

/* ---------------------------------------------------------- agency scope */

static const char SQL_AGENCY_OF_DOSSIER[] = "SELECT agency_code FROM dossiers WHERE code = $1";
static const char SQL_AGENCY_OF_WAYBILL[] =
    "SELECT d.agency_code FROM shipments s JOIN dossiers d ON d.id = s.dossier_id WHERE s.waybill = $1";
static const char SQL_AGENCY_OF_MANIFEST[] = "SELECT agency_code FROM manifests WHERE public_id = $1";
static const char SQL_AGENCY_OF_JOB[] =
    "SELECT d.agency_code FROM jobs j JOIN shipments s ON s.id = j.shipment_id JOIN dossiers d ON d.id = s.dossier_id"
    " WHERE j.id = $1";

static store_rc_t
pg_agency_of(store_tx_t *tx, store_owned_t kind, const char *key, char agency[STORE_CODE_MAX])
{
    static const char *const sql[] = { SQL_AGENCY_OF_DOSSIER, SQL_AGENCY_OF_WAYBILL, SQL_AGENCY_OF_MANIFEST,
                                       SQL_AGENCY_OF_JOB };
    PGresult *res;
    store_rc_t r;

    agency[0] = '\0';
    if ((unsigned)kind >= sizeof sql / sizeof sql[0])
        return store_tx_fail(tx, STORE_ERROR, "unknown kind %d of owned thing", (int)kind);
    r = first_row(kind == STORE_OWNED_JOB ? pg_query_id(tx, "reading the owner", sql[kind], strtoll(key, NULL, 10), &res)
                                          : pg_query_text(tx, "reading the owner", sql[kind], key, &res),
                  &res);
    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no such thing: %.40s", key);
    if (r != STORE_OK)
        return r;
    copy(agency, STORE_CODE_MAX, res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

/* ---------------------------------------------------------------- health */

static const char SQL_HEALTH[] =
    "SELECT (SELECT COUNT(*) FROM dossiers), (SELECT COUNT(*) FROM jobs WHERE state IN ('ready', 'leased')),"
    " (SELECT COUNT(*) FROM jobs WHERE state = 'dead'),"
    " (SELECT COALESCE(SUM(GREATEST(last - next + 1, 0)), 0) FROM code_ranges)";

static store_rc_t
pg_health_counts(store_tx_t *tx, store_health_counts_t *out)
{
    PGresult *res;
    store_rc_t r;

    memset(out, 0, sizeof *out);
    r = first_row(pg_query(tx, "counting", SQL_HEALTH, NULL, &res), &res);
    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_ERROR, "counting returned no row");
    if (r != STORE_OK)
        return r;
    out->dossiers = pg_int(res, 0, 0);
    out->jobs_pending = pg_int(res, 0, 1);
    out->jobs_dead = pg_int(res, 0, 2);
    out->codes_left = pg_int(res, 0, 3);
    PQclear(res);
    return STORE_OK;
}

const struct store_dossiers_ops pg_dossiers_ops = {
    .intake = pg_intake,
    .import_codes = pg_import_codes,
    .codes_status = pg_codes_status,
    .reassign_waybill = pg_reassign_waybill,
    .view = pg_view,
    .code_of_waybill = pg_code_of_waybill,
    .timeline = pg_timeline,
    .tracking = pg_tracking,
    .clerk_list = pg_clerk_list,
    .search = pg_search,
    .cancel_target = pg_cancel_target,
    .leave_manifest = pg_leave_manifest,
    .withdraw_booking = pg_withdraw_booking,
    .request_cancel = dossier_request_cancel,
    .agency_of = pg_agency_of,
    .health_counts = pg_health_counts,
};
