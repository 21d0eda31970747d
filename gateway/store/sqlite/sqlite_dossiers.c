/*
 * sqlite_dossiers - the SQLite implementation of store_dossiers.h
 *
 * Intake, the S10 code pool, and the reads behind the dossier, shipment,
 * timeline and tracking views. Every read loop checks how its last step
 * ended: a loop that stops on anything but SQLITE_DONE is a failed read, and
 * the partial record is freed, never returned (a busy or broken disk must
 * answer 503, not half a dossier with 200).
 *
 * The pool hands out serials from code_ranges.next, and only serials below
 * the high-water mark reserved outside the database (the pool, at the end of
 * this file): a restored backup cannot hand out again what was handed out
 * after it.
 */
#include "gateway/store/sqlite/sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "gateway/store/backend_dossiers.h"
#include "gateway/store/dossier_rules.h"
#include "gateway/store/sqlite/jobs.h"
#include "gateway/store/sqlite/timeline.h"

/* copy - column i into a fixed buffer (the schema's values fit; a longer one is cut) */
static void
copy(char *dst, size_t len, sqlite3_stmt *st, int i)
{
    snprintf(dst, len, "%s", db_col_text(st, i));
}

/* col_dup - column i as an owned string; NULL when out of memory */
static char *
col_dup(sqlite3_stmt *st, int i)
{
    return strdup(db_col_text(st, i));
}

static store_rc_t
no_memory(store_tx_t *tx, const char *what)
{
    return store_tx_fail(tx, STORE_BUSY, "out of memory while %s; retry later", what);
}

/* grow - make room for one more element in *items (of size each); 0 or -1 */
static int
grow(void *items, size_t *cap, size_t n, size_t each)
{
    void **p = items;
    void *bigger;
    size_t ncap;

    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 8;
    bigger = realloc(*p, ncap * each);
    if (!bigger)
        return -1;
    *p = bigger;
    *cap = ncap;
    return 0;
}

/* prepared - the statement for sql, or NULL with a failure recorded on tx (in *rc) */
static sqlite3_stmt *
prepared(store_tx_t *tx, const char *sql, const char *what, store_rc_t *rc)
{
    sqlite3_stmt *st = db_stmt(sqlite_tx_db(tx), sql);

    if (!st)
        *rc = sqlite_fail(tx, SQLITE_ERROR, what);
    return st;
}

/* --------------------------------------------------------------- the pool */

static const char SQL_NEXT_CODE[] =
    "SELECT id, prefix, next, country, last, first FROM code_ranges WHERE next <= last ORDER BY id LIMIT 1";
static const char SQL_TAKE_CODE[] = "UPDATE code_ranges SET next = ?2 + 1 WHERE id = ?1";

/* pool_take - the next S10 number, inside tx: never one handed out before, not even by a
 * database that was later replaced by an older backup. STORE_EMPTY when none is left. */
static store_rc_t
pool_take(store_tx_t *tx, char waybill[STORE_WAYBILL_MAX])
{
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st = prepared(tx, SQL_NEXT_CODE, "allocating a waybill", &r);
    char prefix[3], country[3];
    int64_t range_id, serial, last, first;
    int rc;

    if (!st)
        return r;
    for (;;) {
        rc = db_step(st);
        if (rc == SQLITE_DONE) {
            sqlite3_reset(st);
            return store_tx_fail(tx, STORE_EMPTY, "no S10 waybill numbers left");
        }
        if (rc != SQLITE_ROW) {
            sqlite3_reset(st);
            return sqlite_fail(tx, rc, "allocating a waybill");
        }
        range_id = sqlite3_column_int64(st, 0);
        copy(prefix, sizeof prefix, st, 1);
        serial = sqlite3_column_int64(st, 2);
        copy(country, sizeof country, st, 3);
        last = sqlite3_column_int64(st, 4);
        first = sqlite3_column_int64(st, 5);
        sqlite3_reset(st);
        /* numbers a forgotten future already used are skipped, and the block holding the
         * serial is reserved on disk before the serial is used */
        r = sqlite_pool_reserve(tx, prefix, country, first, last, &serial);
        if (r != STORE_OK && r != STORE_EMPTY)
            return r;
        st = db_stmt(sqlite_tx_db(tx), SQL_TAKE_CODE);
        if (!st)
            return sqlite_fail(tx, SQLITE_ERROR, "allocating a waybill");
        sqlite3_bind_int64(st, 1, range_id);
        sqlite3_bind_int64(st, 2, r == STORE_EMPTY ? last : serial);
        if ((rc = db_step(st)) != SQLITE_DONE)
            return sqlite_fail(tx, rc, "allocating a waybill");
        if (r == STORE_OK)
            break;
        /* this range was used up after the database's copy was taken: the next range */
        st = db_stmt(sqlite_tx_db(tx), SQL_NEXT_CODE);
        if (!st)
            return sqlite_fail(tx, SQLITE_ERROR, "allocating a waybill");
    }
    return dossier_waybill(tx, prefix, serial, country, waybill);
}

/* ---------------------------------------------------------------- intake */

/* the dossier and, when this service of it was submitted before, that submission's hash: one
 * look-up by code decides new dossier, another service of a known one, replay or conflict */
static const char SQL_FIND_DOSSIER[] =
    "SELECT d.id, s.body_hash FROM dossiers d LEFT JOIN submissions s ON s.dossier_id = d.id AND s.service = ?2"
    " WHERE d.code = ?1";
static const char SQL_INSERT_DOSSIER[] = "INSERT INTO dossiers (code, agency_code, created_at) VALUES (?1, ?2, ?3)";
static const char SQL_INSERT_SUBMISSION[] =
    "INSERT INTO submissions (dossier_id, service, body, body_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_INSERT_SHIPMENT[] =
    "INSERT INTO shipments (dossier_id, submission_id, leg, carrier, waybill, status, status_time, cod_amount,"
    " created_at, updated_at, linked_shipment_id, transit_days) VALUES (?1, ?2, ?3, ?4, ?5, 'created', 0, ?7, ?6,"
    " ?6, (SELECT id FROM shipments WHERE dossier_id = ?1 AND leg = 'send' AND ?3 = 'return' ORDER BY id LIMIT 1),"
    " ?8)";

static store_rc_t
sq_intake(store_tx_t *tx, const store_intake_t *in, int64_t now, store_intake_result_t *out)
{
    db_t *db = sqlite_tx_db(tx);
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st;
    char text[256];
    int64_t dossier_id, submission_id;
    int rc;
    timeline_event_t ev;

    memset(out, 0, sizeof *out);
    st = prepared(tx, SQL_FIND_DOSSIER, "looking up the dossier", &r);
    if (!st)
        return r;
    db_bind_text(st, 1, in->code);
    db_bind_text(st, 2, in->service);
    rc = db_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL) {
        int same = strcmp(db_col_text(st, 1), in->body_hash) == 0;

        sqlite3_reset(st);
        return same ? STORE_EXISTS
                    : store_tx_fail(tx, STORE_CONFLICT, "dossier %s was already submitted for service '%s'",
                                    in->code, in->service);
    }
    out->dossier_existed = rc == SQLITE_ROW;
    dossier_id = out->dossier_existed ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sqlite_fail(tx, rc, "looking up the dossier");

    /* a waybill from the pool, inside this transaction */
    r = pool_take(tx, out->waybill);
    if (r != STORE_OK)
        return r;

    if (!out->dossier_existed) {
        st = db_stmt(db, SQL_INSERT_DOSSIER);
        db_bind_text(st, 1, in->code);
        db_bind_text(st, 2, in->agency_code);
        sqlite3_bind_int64(st, 3, now);
        if ((rc = db_step(st)) != SQLITE_DONE)
            return sqlite_fail(tx, rc, "writing the dossier");
        dossier_id = sqlite3_last_insert_rowid(db_handle(db));
    }

    st = db_stmt(db, SQL_INSERT_SUBMISSION);
    sqlite3_bind_int64(st, 1, dossier_id);
    db_bind_text(st, 2, in->service);
    db_bind_text(st, 3, in->canonical_body);
    db_bind_text(st, 4, in->body_hash);
    sqlite3_bind_int64(st, 5, now);
    if ((rc = db_step(st)) != SQLITE_DONE)
        return sqlite_fail(tx, rc, "writing the submission");
    submission_id = sqlite3_last_insert_rowid(db_handle(db));

    snprintf(out->leg, sizeof out->leg, "%s", dossier_leg_of(in->service));
    st = db_stmt(db, SQL_INSERT_SHIPMENT);
    sqlite3_bind_int64(st, 1, dossier_id);
    sqlite3_bind_int64(st, 2, submission_id);
    db_bind_text(st, 3, out->leg);
    db_bind_text(st, 4, in->carrier);
    db_bind_text(st, 5, out->waybill);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, in->cod_amount);
    sqlite3_bind_int(st, 8, in->transit_days);
    if ((rc = db_step(st)) != SQLITE_DONE)
        return sqlite_fail(tx, rc, "writing the shipment");
    out->shipment_id = sqlite3_last_insert_rowid(db_handle(db));

    dossier_intake_text(in->service, out->waybill, text, sizeof text);
    memset(&ev, 0, sizeof ev);
    ev.dossier_id = dossier_id;
    ev.shipment_id = out->shipment_id;
    ev.event_time = now;
    ev.received_at = now;
    ev.source = "gateway";
    ev.status = "created";
    ev.text = text;
    /* a dossier created just now has no event yet: its chain starts here */
    if ((out->dossier_existed ? timeline_append(db, &ev, &rc) : timeline_append_first(db, &ev, &rc)) !=
        TIMELINE_APPENDED)
        return sqlite_fail(tx, rc == SQLITE_OK ? SQLITE_CONSTRAINT : rc, "writing the timeline");

    /* "" = built from the submission's body when the job runs (store_dossiers.h) */
    if (jobs_enqueue(db, "book", out->shipment_id, "", in->carrier, in->book_payload ? in->book_payload : "", now,
                     now, &rc) < 0)
        return sqlite_fail(tx, rc, "queueing the booking job");
    return STORE_OK;
}

/* ----------------------------------------------------------------- codes */

static const char SQL_OVERLAP[] =
    "SELECT prefix, country, first, last, next, imported_at FROM code_ranges"
    " WHERE prefix = ?1 AND country = ?2 AND first <= ?4 AND last >= ?3 LIMIT 1";
static const char SQL_INSERT_RANGE[] =
    "INSERT INTO code_ranges (prefix, country, first, last, next, imported_at) VALUES (?1, ?2, ?3, ?4, ?3, ?5)";
static const char SQL_CODES_STATUS[] =
    "SELECT prefix, country, first, last, next, imported_at FROM code_ranges ORDER BY id";

static void
range_row(sqlite3_stmt *st, store_code_range_t *out)
{
    copy(out->prefix, sizeof out->prefix, st, 0);
    copy(out->country, sizeof out->country, st, 1);
    out->first = sqlite3_column_int64(st, 2);
    out->last = sqlite3_column_int64(st, 3);
    out->next = sqlite3_column_int64(st, 4);
    out->imported_at = sqlite3_column_int64(st, 5);
}

static store_rc_t
sq_import_codes(store_tx_t *tx, const char *prefix, const char *country, long long from, long long count, int64_t now,
                store_code_range_t *overlap)
{
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st = prepared(tx, SQL_OVERLAP, "checking code ranges", &r);
    long long last = from + count - 1;
    int rc;

    if (overlap)
        memset(overlap, 0, sizeof *overlap);
    if (!st)
        return r;
    db_bind_text(st, 1, prefix);
    db_bind_text(st, 2, country);
    sqlite3_bind_int64(st, 3, from);
    sqlite3_bind_int64(st, 4, last);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        if (overlap)
            range_row(st, overlap);
        sqlite3_reset(st);
        return store_tx_fail(tx, STORE_CONFLICT, "range %s %lld..%lld overlaps an imported range", prefix, from,
                             last);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sqlite_fail(tx, rc, "checking code ranges");
    st = db_stmt(sqlite_tx_db(tx), SQL_INSERT_RANGE);
    db_bind_text(st, 1, prefix);
    db_bind_text(st, 2, country);
    sqlite3_bind_int64(st, 3, from);
    sqlite3_bind_int64(st, 4, last);
    sqlite3_bind_int64(st, 5, now);
    if ((rc = db_step(st)) != SQLITE_DONE)
        return sqlite_fail(tx, rc, "importing the range");
    return STORE_OK;
}

static store_rc_t
sq_codes_status(store_tx_t *tx, store_codes_t *out)
{
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st = prepared(tx, SQL_CODES_STATUS, "reading code ranges", &r);
    size_t cap = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return r;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        store_code_range_t *cr;

        if (grow(&out->ranges, &cap, out->nranges, sizeof *out->ranges) != 0) {
            sqlite3_reset(st);
            store_codes_free(out);
            return no_memory(tx, "reading code ranges");
        }
        cr = &out->ranges[out->nranges++];
        range_row(st, cr);
        out->left += dossier_range_left(cr);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store_codes_free(out);
        return sqlite_fail(tx, rc, "reading code ranges");
    }
    return STORE_OK;
}

static const char SQL_SHIP_WAYBILL[] = "SELECT waybill FROM shipments WHERE id = ?1";
static const char SQL_SET_WAYBILL[] = "UPDATE shipments SET waybill = ?2, updated_at = ?3 WHERE id = ?1";

static store_rc_t
sq_reassign_waybill(store_tx_t *tx, int64_t shipment_id, int64_t now, char waybill[STORE_WAYBILL_MAX])
{
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st = prepared(tx, SQL_SHIP_WAYBILL, "reading the shipment", &r);
    int rc;

    waybill[0] = '\0';
    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, shipment_id);
    rc = db_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no shipment %" PRId64, shipment_id);
    if (rc != SQLITE_ROW)
        return sqlite_fail(tx, rc, "reading the shipment");
    r = pool_take(tx, waybill);
    if (r != STORE_OK)
        return r;
    st = db_stmt(sqlite_tx_db(tx), SQL_SET_WAYBILL);
    sqlite3_bind_int64(st, 1, shipment_id);
    db_bind_text(st, 2, waybill);
    sqlite3_bind_int64(st, 3, now);
    if ((rc = db_step(st)) != SQLITE_DONE)
        return sqlite_fail(tx, rc, "giving the shipment a new waybill");
    return STORE_OK;
}

/* ----------------------------------------------------------------- views */

static const char SQL_DOSSIER[] = "SELECT id, agency_code, created_at FROM dossiers WHERE code = ?1";
static const char SQL_SUBMISSIONS[] = "SELECT service, body FROM submissions WHERE dossier_id = ?1 ORDER BY id";
static const char SQL_SHIPMENTS[] =
    "SELECT s.waybill, s.carrier, COALESCE(s.carrier_ref, ''), s.leg, s.status, s.status_time, s.cod_amount,"
    " COALESCE(s.fee, -1), s.created_at, s.updated_at, COALESCE(l.waybill, ''), s.id FROM shipments s"
    " LEFT JOIN shipments l ON l.id = s.linked_shipment_id WHERE s.dossier_id = ?1 ORDER BY s.id";

/* dossier_row - id, agency and creation time of dossier code; STORE_NOT_FOUND */
static store_rc_t
dossier_row(store_tx_t *tx, const char *code, store_dossier_view_t *out)
{
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st = prepared(tx, SQL_DOSSIER, "reading the dossier", &r);
    int rc;

    if (!st)
        return r;
    db_bind_text(st, 1, code);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        snprintf(out->code, sizeof out->code, "%s", code);
        copy(out->agency_code, sizeof out->agency_code, st, 1);
        out->created_at = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no dossier %.64s on this gateway", code);
    return rc == SQLITE_ROW ? STORE_OK : sqlite_fail(tx, rc, "reading the dossier");
}

static store_rc_t
read_submissions(store_tx_t *tx, store_dossier_view_t *out)
{
    sqlite3_stmt *st = db_stmt(sqlite_tx_db(tx), SQL_SUBMISSIONS);
    size_t cap = 0;
    int rc;

    if (!st)
        return sqlite_fail(tx, SQLITE_ERROR, "reading the submissions");
    sqlite3_bind_int64(st, 1, out->id);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        store_submission_t *s;

        if (grow(&out->submissions, &cap, out->nsubmissions, sizeof *out->submissions) != 0)
            break;
        s = &out->submissions[out->nsubmissions];
        copy(s->service, sizeof s->service, st, 0);
        s->body = col_dup(st, 1);
        if (!s->body)
            break;
        out->nsubmissions++;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return no_memory(tx, "reading the submissions");
    return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(tx, rc, "reading the submissions");
}

static store_rc_t
read_shipments(store_tx_t *tx, store_dossier_view_t *out)
{
    sqlite3_stmt *st = db_stmt(sqlite_tx_db(tx), SQL_SHIPMENTS);
    size_t cap = 0;
    int rc;

    if (!st)
        return sqlite_fail(tx, SQLITE_ERROR, "reading the shipments");
    sqlite3_bind_int64(st, 1, out->id);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        store_shipment_view_t *s;

        if (grow(&out->shipments, &cap, out->nshipments, sizeof *out->shipments) != 0)
            break;
        s = &out->shipments[out->nshipments];
        memset(s, 0, sizeof *s);
        s->carrier_ref = col_dup(st, 2);
        if (!s->carrier_ref)
            break;
        copy(s->waybill, sizeof s->waybill, st, 0);
        copy(s->carrier, sizeof s->carrier, st, 1);
        copy(s->leg, sizeof s->leg, st, 3);
        copy(s->status, sizeof s->status, st, 4);
        s->status_time = sqlite3_column_int64(st, 5);
        s->cod_amount = sqlite3_column_int64(st, 6);
        s->fee = sqlite3_column_int64(st, 7);
        s->created_at = sqlite3_column_int64(st, 8);
        s->updated_at = sqlite3_column_int64(st, 9);
        copy(s->linked_waybill, sizeof s->linked_waybill, st, 10);
        s->id = sqlite3_column_int64(st, 11);
        out->nshipments++;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return no_memory(tx, "reading the shipments");
    return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(tx, rc, "reading the shipments");
}

static store_rc_t
sq_view(store_tx_t *tx, const char *code, store_dossier_view_t *out)
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
    "SELECT d.code FROM shipments s JOIN dossiers d ON d.id = s.dossier_id WHERE s.waybill = ?1";

static store_rc_t
sq_code_of_waybill(store_tx_t *tx, const char *waybill, char code[STORE_CODE_MAX])
{
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st = prepared(tx, SQL_SHIPMENT_DOSSIER, "reading the shipment", &r);
    int rc;

    code[0] = '\0';
    if (!st)
        return r;
    db_bind_text(st, 1, waybill);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        copy(code, STORE_CODE_MAX, st, 0);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no shipment %.20s on this gateway", waybill);
    return rc == SQLITE_ROW ? STORE_OK : sqlite_fail(tx, rc, "reading the shipment");
}

static store_rc_t
sq_timeline(store_tx_t *tx, const char *code, store_timeline_t *out)
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
    " COALESCE(json_extract(sub.body, '$.recipient.name'), ''),"
    " COALESCE(json_extract(sub.body, '$.recipient.province_code'), ''),"
    " COALESCE(json_extract(sub.body, '$.recipient.commune_code'), ''),"
    " COALESCE(json_extract(sub.body, '$.agency.name'), ''), COALESCE(s.due_at, 0)"
    " FROM shipments s JOIN submissions sub ON sub.id = s.submission_id WHERE s.waybill = ?1";
static const char SQL_TRACK_EVENTS[] =
    "SELECT event_time, status FROM timeline WHERE dossier_id = ?1 AND shipment_id = ?2 AND status IS NOT NULL"
    " ORDER BY event_time DESC, seq DESC LIMIT ?3";

static store_rc_t
sq_tracking(store_tx_t *tx, const char *waybill, store_tracking_t *out)
{
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st = prepared(tx, SQL_TRACK_SHIP, "reading the shipment", &r);
    int64_t ship_id, dossier_id;
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return r;
    db_bind_text(st, 1, waybill);
    rc = db_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            return store_tx_fail(tx, STORE_NOT_FOUND, "no shipment %.20s on this gateway", waybill);
        return sqlite_fail(tx, rc, "reading the shipment");
    }
    ship_id = sqlite3_column_int64(st, 0);
    dossier_id = sqlite3_column_int64(st, 1);
    copy(out->status, sizeof out->status, st, 2);
    out->status_time = sqlite3_column_int64(st, 3);
    out->created_at = sqlite3_column_int64(st, 4);
    copy(out->leg, sizeof out->leg, st, 5);
    out->recipient_name = col_dup(st, 6);
    copy(out->province_code, sizeof out->province_code, st, 7);
    copy(out->commune_code, sizeof out->commune_code, st, 8);
    out->agency_name = col_dup(st, 9);
    out->due_at = sqlite3_column_int64(st, 10);
    sqlite3_reset(st);
    out->events = calloc(STORE_TRACK_MAX_EVENTS, sizeof *out->events);
    if (!out->recipient_name || !out->agency_name || !out->events) {
        store_tracking_free(out);
        return no_memory(tx, "reading the shipment");
    }

    st = db_stmt(sqlite_tx_db(tx), SQL_TRACK_EVENTS);
    if (!st) {
        store_tracking_free(out);
        return sqlite_fail(tx, SQLITE_ERROR, "reading the timeline");
    }
    sqlite3_bind_int64(st, 1, dossier_id);
    sqlite3_bind_int64(st, 2, ship_id);
    sqlite3_bind_int(st, 3, STORE_TRACK_MAX_EVENTS);
    while ((rc = db_step(st)) == SQLITE_ROW && out->nevents < STORE_TRACK_MAX_EVENTS) {
        store_track_event_t *e = &out->events[out->nevents++];

        e->time = sqlite3_column_int64(st, 0);
        copy(e->status, sizeof e->status, st, 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store_tracking_free(out);
        return sqlite_fail(tx, rc, "reading the timeline");
    }
    return STORE_OK;
}

/* ------------------------------------------------------------ clerk page */

#define CLERK_SELECT                                                                                              \
    "SELECT s.waybill, d.code, s.status, s.status_time, s.created_at, s.cod_amount, s.label_prints, s.carrier," \
    " COALESCE(json_extract(sub.body, '$.recipient.name'), ''),"                                               \
    " COALESCE(json_extract(sub.body, '$.recipient.province_code'), ''),"                                      \
    " COALESCE(json_extract(sub.body, '$.recipient.commune_code'), ''),"                                       \
    " COALESCE((SELECT t.text FROM timeline t WHERE t.dossier_id = s.dossier_id AND t.shipment_id = s.id"      \
    "   ORDER BY t.seq DESC LIMIT 1), ''), d.agency_code,"                                                     \
    " EXISTS (SELECT 1 FROM jobs bj WHERE bj.shipment_id = s.id AND bj.kind = 'book' AND bj.state = 'dead'),"    \
    " s.sla_breached"
#define CLERK_FROM \
    " FROM shipments s JOIN dossiers d ON d.id = s.dossier_id JOIN submissions sub ON sub.id = s.submission_id"
#define CLERK_COLUMNS CLERK_SELECT CLERK_FROM

/* ready: booked (or waiting for the carrier) and on no open handover manifest */
static const char SQL_CLERK_READY[] = CLERK_COLUMNS
    " WHERE (?3 = '' OR d.agency_code = ?3) AND s.status IN ('created', 'booked')"
    /* a booking the carrier never took is a problem to act on, not a parcel to hand over */
    " AND NOT EXISTS (SELECT 1 FROM jobs bj WHERE bj.shipment_id = s.id AND bj.kind = 'book' AND bj.state = 'dead')"
    " AND NOT EXISTS (SELECT 1 FROM manifest_items mi"
    "   JOIN manifests m ON m.id = mi.manifest_id WHERE mi.shipment_id = s.id AND m.state = 'open')"
    " ORDER BY s.created_at, s.id LIMIT ?1";

/* problems: failed deliveries, returns, exceptions, bookings that died, items past their due date
 * still on the way, deliveries whose proof does not match the dossier; returned ones for 30 days */
static const char SQL_CLERK_PROBLEMS[] = CLERK_COLUMNS
    " WHERE (?3 = '' OR d.agency_code = ?3) AND (s.status IN ('delivery_failed', 'returning', 'returned', 'exception')"
    "   OR (s.sla_breached = 1 AND s.status NOT IN ('delivered', 'cancelled'))"
    "   OR EXISTS (SELECT 1 FROM timeline pt WHERE pt.dossier_id = s.dossier_id AND pt.shipment_id = s.id"
    "     AND json_extract(pt.details, '$.kind') = 'proof_mismatch')"
    "   OR (s.status = 'created'"
    "       AND EXISTS (SELECT 1 FROM jobs bj WHERE bj.shipment_id = s.id AND bj.kind = 'book' AND bj.state = 'dead')))"
    "   AND (s.status <> 'returned' OR s.status_time >= ?2)"
    " ORDER BY s.status_time DESC, s.id DESC LIMIT ?1";

/* the search: the clerk columns (0..14) and what a search row adds (columns 15..21) */
#define SEARCH_SELECT                                                                                         \
    CLERK_SELECT ", s.leg, sub.service, COALESCE(json_extract(sub.body, '$.recipient.phone'), ''),"           \
                 " COALESCE(json_extract(sub.body, '$.agency.name'), ''),"                                    \
                 " COALESCE((SELECT json_extract(t.details, '$.reason') FROM timeline t"                      \
                 "   WHERE t.dossier_id = s.dossier_id AND t.shipment_id = s.id AND t.status = 'delivery_failed'" \
                 "   ORDER BY t.seq DESC LIMIT 1), ''), COALESCE(s.last_attempt_at, 0), s.attempts"
/* ?1 the token's agency, ?2 the agency asked for, ?3 status, ?4 service, ?5 carrier, ?6 from,
 * ?7 to, ?8 q as a LIKE pattern without wildcards, ?9 q's digits when it looks like a phone */
#define SEARCH_WHERE                                                                                          \
    " WHERE (?1 = '' OR d.agency_code = ?1) AND (?2 = '' OR d.agency_code = ?2)"                              \
    " AND (?3 = '' OR s.status = ?3) AND (?4 = '' OR sub.service = ?4) AND (?5 = '' OR s.carrier = ?5)"       \
    " AND (?6 = 0 OR s.created_at >= ?6) AND (?7 = 0 OR s.created_at < ?7)"                                   \
    " AND (?8 = '' OR upper(d.code) LIKE upper(?8) || '%' ESCAPE '\\'"                                        \
    "   OR upper(s.waybill) LIKE upper(?8) || '%' ESCAPE '\\'"                                                \
    "   OR COALESCE(json_extract(sub.body, '$.recipient.name'), '') LIKE '%' || ?8 || '%' ESCAPE '\\'"        \
    "   OR (?9 <> '' AND replace(replace(replace(replace(COALESCE(json_extract(sub.body, '$.recipient.phone'), ''),"\
    "       ' ', ''), '.', ''), '-', ''), '+84', '0') LIKE '%' || ?9 || '%'))"
#define SEARCH_PAGE(order) SEARCH_SELECT CLERK_FROM SEARCH_WHERE " ORDER BY " order " LIMIT ?10 OFFSET ?11"

/* one statement per sort order: the statement cache is keyed by the SQL's address */
static const char SQL_SEARCH_NEWEST[] = SEARCH_PAGE("s.created_at DESC, s.id DESC");
static const char SQL_SEARCH_OLDEST[] = SEARCH_PAGE("s.created_at, s.id");
static const char SQL_SEARCH_STATUS_TIME[] =
    SEARCH_PAGE("CASE WHEN s.status_time > 0 THEN s.status_time ELSE s.created_at END DESC, s.id DESC");
static const char SQL_SEARCH_WAYBILL[] = SEARCH_PAGE("s.waybill");
static const char SQL_SEARCH_DOSSIER[] = SEARCH_PAGE("d.code, s.id");
static const char SQL_SEARCH_AGENCY[] = SEARCH_PAGE("d.agency_code, s.created_at DESC, s.id DESC");
static const char SQL_SEARCH_COUNT[] = "SELECT COUNT(*)" CLERK_FROM SEARCH_WHERE;

/* read_clerk_rows - every row of st into out (columns of CLERK_SELECT, and of SEARCH_SELECT
 * when search); the last step's result code */
static int
read_clerk_rows(sqlite3_stmt *st, int search, store_clerk_list_t *out)
{
    const char *col[DOSSIER_SEARCH_COLS];
    int ncols = search ? DOSSIER_SEARCH_COLS : DOSSIER_CLERK_COLS;
    size_t cap = 0;
    int rc, c;

    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (grow(&out->rows, &cap, out->nrows, sizeof *out->rows) != 0)
            break;
        for (c = 0; c < ncols; c++)
            col[c] = db_col_text(st, c);
        if (dossier_clerk_row(&out->rows[out->nrows], col, search) != 0)
            break;
        out->nrows++;
    }
    sqlite3_reset(st);
    return rc;
}

static store_rc_t
sq_clerk_list(store_tx_t *tx, store_clerk_state_t state, const char *agency, int64_t returned_since, int max,
              store_clerk_list_t *out)
{
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st = prepared(tx, state == STORE_CLERK_PROBLEMS ? SQL_CLERK_PROBLEMS : SQL_CLERK_READY,
                                "reading the shipments", &r);
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return r;
    sqlite3_bind_int(st, 1, max);
    if (state == STORE_CLERK_PROBLEMS)
        sqlite3_bind_int64(st, 2, returned_since);
    db_bind_text(st, 3, agency ? agency : "");
    rc = read_clerk_rows(st, 0, out);
    if (rc != SQLITE_DONE) {
        store_clerk_list_free(out);
        return rc == SQLITE_ROW ? no_memory(tx, "reading the shipments") : sqlite_fail(tx, rc, "reading the shipments");
    }
    return STORE_OK;
}

static void
bind_search(sqlite3_stmt *st, const store_search_t *q, const char *like, const char *digits)
{
    db_bind_text(st, 1, q->scope_agency ? q->scope_agency : "");
    db_bind_text(st, 2, q->agency ? q->agency : "");
    db_bind_text(st, 3, q->status ? q->status : "");
    db_bind_text(st, 4, q->service ? q->service : "");
    db_bind_text(st, 5, q->carrier ? q->carrier : "");
    sqlite3_bind_int64(st, 6, q->from);
    sqlite3_bind_int64(st, 7, q->to);
    db_bind_text(st, 8, like);
    db_bind_text(st, 9, digits);
}

static store_rc_t
sq_search(store_tx_t *tx, const store_search_t *q, store_clerk_list_t *out, long long *total)
{
    static const char *const pages[STORE_SEARCH_SORTS] = { SQL_SEARCH_NEWEST,  SQL_SEARCH_OLDEST,
                                                           SQL_SEARCH_STATUS_TIME, SQL_SEARCH_WAYBILL,
                                                           SQL_SEARCH_DOSSIER, SQL_SEARCH_AGENCY };
    char like[256], digits[40];
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    *total = 0;
    if ((r = dossier_search_terms(tx, q, like, sizeof like, digits, sizeof digits)) != STORE_OK)
        return r;
    st = prepared(tx, SQL_SEARCH_COUNT, "counting the shipments", &r);
    if (!st)
        return r;
    bind_search(st, q, like, digits);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        *total = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return sqlite_fail(tx, rc, "counting the shipments");
    st = prepared(tx, pages[dossier_search_sort(q)], "searching the shipments", &r);
    if (!st)
        return r;
    bind_search(st, q, like, digits);
    sqlite3_bind_int(st, 10, q->limit);
    sqlite3_bind_int(st, 11, q->offset);
    rc = read_clerk_rows(st, 1, out);
    if (rc != SQLITE_DONE) {
        store_clerk_list_free(out);
        return rc == SQLITE_ROW ? no_memory(tx, "searching the shipments")
                                : sqlite_fail(tx, rc, "searching the shipments");
    }
    return STORE_OK;
}

/* ---------------------------------------------------------------- cancel */

static const char SQL_CANCEL_SHIP[] =
    "SELECT s.id, s.status, s.carrier, COALESCE(s.carrier_ref, ''), s.dossier_id,"
    " COALESCE((SELECT state FROM jobs WHERE shipment_id = s.id AND kind = 'book'), '')"
    " FROM shipments s WHERE s.waybill = ?1";
static const char SQL_OPEN_MANIFEST_OF[] =
    "SELECT m.id, m.public_id FROM manifest_items i JOIN manifests m ON m.id = i.manifest_id"
    " WHERE i.shipment_id = ?1 AND m.state = 'open'";
static const char SQL_LEAVE_MANIFEST[] = "DELETE FROM manifest_items WHERE manifest_id = ?1 AND shipment_id = ?2";
static const char SQL_BOOK_WITHDRAW[] =
    "UPDATE jobs SET state = 'done', last_error = 'cancelled before booking', updated_at = ?2"
    " WHERE shipment_id = ?1 AND kind = 'book' AND state IN ('ready', 'dead')";

static store_rc_t
sq_cancel_target(store_tx_t *tx, const char *waybill, store_cancel_target_t *out)
{
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st = prepared(tx, SQL_CANCEL_SHIP, "reading the shipment", &r);
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return r;
    db_bind_text(st, 1, waybill);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        out->shipment_id = sqlite3_column_int64(st, 0);
        copy(out->status, sizeof out->status, st, 1);
        copy(out->carrier, sizeof out->carrier, st, 2);
        out->has_carrier_ref = *db_col_text(st, 3) != '\0';
        out->dossier_id = sqlite3_column_int64(st, 4);
        copy(out->book_state, sizeof out->book_state, st, 5);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no shipment %.20s on this gateway", waybill);
    return rc == SQLITE_ROW ? STORE_OK : sqlite_fail(tx, rc, "reading the shipment");
}

static store_rc_t
sq_leave_manifest(store_tx_t *tx, const store_cancel_target_t *t, const char *source, int64_t now, int *left)
{
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st = prepared(tx, SQL_OPEN_MANIFEST_OF, "reading the handover manifests", &r);
    char text[160];
    int64_t manifest_id;
    int rc;

    *left = 0;
    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, t->shipment_id);
    rc = db_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(tx, rc, "reading the handover manifests");
    }
    manifest_id = sqlite3_column_int64(st, 0);
    dossier_left_manifest_text(db_col_text(st, 1), text, sizeof text);
    sqlite3_reset(st);
    st = db_stmt(sqlite_tx_db(tx), SQL_LEAVE_MANIFEST);
    sqlite3_bind_int64(st, 1, manifest_id);
    sqlite3_bind_int64(st, 2, t->shipment_id);
    if ((rc = db_step(st)) != SQLITE_DONE)
        return sqlite_fail(tx, rc, "taking the shipment off its handover manifest");
    r = dossier_note(tx, t, source, text, now);
    if (r == STORE_OK)
        *left = 1;
    return r;
}

static store_rc_t
sq_withdraw_booking(store_tx_t *tx, int64_t shipment_id, int64_t now)
{
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st = prepared(tx, SQL_BOOK_WITHDRAW, "withdrawing the booking", &r);
    int rc;

    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, shipment_id);
    sqlite3_bind_int64(st, 2, now);
    if ((rc = db_step(st)) != SQLITE_DONE)
        return sqlite_fail(tx, rc, "withdrawing the booking");
    return STORE_OK;
}

/* ---------------------------------------------------------- agency scope */

static const char SQL_AGENCY_OF_DOSSIER[] = "SELECT agency_code FROM dossiers WHERE code = ?1";
static const char SQL_AGENCY_OF_WAYBILL[] =
    "SELECT d.agency_code FROM shipments s JOIN dossiers d ON d.id = s.dossier_id WHERE s.waybill = ?1";
static const char SQL_AGENCY_OF_MANIFEST[] = "SELECT agency_code FROM manifests WHERE public_id = ?1";
static const char SQL_AGENCY_OF_JOB[] =
    "SELECT d.agency_code FROM jobs j JOIN shipments s ON s.id = j.shipment_id JOIN dossiers d ON d.id = s.dossier_id"
    " WHERE j.id = ?1";

static store_rc_t
sq_agency_of(store_tx_t *tx, store_owned_t kind, const char *key, char agency[STORE_CODE_MAX])
{
    static const char *const sql[] = { SQL_AGENCY_OF_DOSSIER, SQL_AGENCY_OF_WAYBILL, SQL_AGENCY_OF_MANIFEST,
                                       SQL_AGENCY_OF_JOB };
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st;
    int rc;

    agency[0] = '\0';
    if ((unsigned)kind >= sizeof sql / sizeof sql[0])
        return store_tx_fail(tx, STORE_ERROR, "unknown kind %d of owned thing", (int)kind);
    st = prepared(tx, sql[kind], "reading the owner", &r);
    if (!st)
        return r;
    if (kind == STORE_OWNED_JOB)
        sqlite3_bind_int64(st, 1, strtoll(key, NULL, 10));
    else
        db_bind_text(st, 1, key);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        copy(agency, STORE_CODE_MAX, st, 0);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no such thing: %.40s", key);
    return rc == SQLITE_ROW ? STORE_OK : sqlite_fail(tx, rc, "reading the owner");
}

/* ---------------------------------------------------------------- health */

static const char SQL_HEALTH[] =
    "SELECT (SELECT COUNT(*) FROM dossiers), (SELECT COUNT(*) FROM jobs WHERE state IN ('ready', 'leased')),"
    " (SELECT COUNT(*) FROM jobs WHERE state = 'dead'),"
    " (SELECT COALESCE(SUM(MAX(last - next + 1, 0)), 0) FROM code_ranges)";

static store_rc_t
sq_health_counts(store_tx_t *tx, store_health_counts_t *out)
{
    store_rc_t r = STORE_OK;
    sqlite3_stmt *st = prepared(tx, SQL_HEALTH, "counting", &r);
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return r;
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        out->dossiers = sqlite3_column_int64(st, 0);
        out->jobs_pending = sqlite3_column_int64(st, 1);
        out->jobs_dead = sqlite3_column_int64(st, 2);
        out->codes_left = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : sqlite_fail(tx, rc, "counting");
}

const struct store_dossiers_ops sqlite_dossiers_ops = {
    .intake = sq_intake,
    .import_codes = sq_import_codes,
    .codes_status = sq_codes_status,
    .reassign_waybill = sq_reassign_waybill,
    .view = sq_view,
    .code_of_waybill = sq_code_of_waybill,
    .timeline = sq_timeline,
    .tracking = sq_tracking,
    .clerk_list = sq_clerk_list,
    .search = sq_search,
    .cancel_target = sq_cancel_target,
    .leave_manifest = sq_leave_manifest,
    .withdraw_booking = sq_withdraw_booking,
    .request_cancel = dossier_request_cancel,
    .agency_of = sq_agency_of,
    .health_counts = sq_health_counts,
};

/* ------------------------------------------------- reservations on disk */

/*
 * A backup of the database is older than the numbers handed out after it. So the pool
 * reserves serials in blocks and records, beside the database, the highest serial reserved
 * of each code range, in STATE_DIR/s10-reserved: "PREFIX COUNTRY FIRST MARK" a line, written
 * to a temporary file, fsynced, renamed over the old one and the directory fsynced, all
 * BEFORE any serial of the block is used. On open the store moves each range's next past its
 * mark, so a restored (older) database never hands out a number again. A clean close lowers
 * the marks it reserved to what was really handed out, so a stop and start skips nothing; a
 * crash skips the unused rest of the block (see below) per range: the price of
 * one fsync per block instead of one per number. Blocks of 100 cost the writer two fsyncs and
 * a rename every 100 dossiers, ~5% of its time at full intake; so a block is 1% of its range,
 * at least 100 and at most 1,000 numbers: a crash skips at most 1% of a range of 10,000
 * numbers or more (a smaller range keeps blocks of 100, as before).
 */

#define POOL_BLOCK_MIN 100
#define POOL_BLOCK_MAX 1000
#define POOL_FILE "s10-reserved"

struct pool_mark {
    char prefix[3], country[3];
    int64_t first;       /* identifies the range */
    int64_t mark;        /* highest serial ever reserved of the range */
    int64_t usable_upto; /* serials up to this one were reserved by this process: use them */
};

struct sqlite_pool {
    char *dir;           /* the database's directory */
    char *path;          /* DIR/s10-reserved */
    struct pool_mark *marks;
    size_t nmarks, cap;
};

static struct pool_mark *
pool_find(struct sqlite_pool *p, const char *prefix, const char *country, int64_t first)
{
    size_t i;

    for (i = 0; i < p->nmarks; i++)
        if (p->marks[i].first == first && strcmp(p->marks[i].prefix, prefix) == 0 &&
            strcmp(p->marks[i].country, country) == 0)
            return &p->marks[i];
    return NULL;
}

static struct pool_mark *
pool_add(struct sqlite_pool *p, const char *prefix, const char *country, int64_t first, int64_t mark)
{
    struct pool_mark *m;

    if (grow(&p->marks, &p->cap, p->nmarks, sizeof *p->marks) != 0)
        return NULL;
    m = &p->marks[p->nmarks++];
    memset(m, 0, sizeof *m);
    snprintf(m->prefix, sizeof m->prefix, "%s", prefix);
    snprintf(m->country, sizeof m->country, "%s", country);
    m->first = first;
    m->mark = mark;
    m->usable_upto = -1;
    return m;
}

/* pool_save - write every mark durably (temp file, fsync, rename, fsync the directory);
 * 0, or -1 with errno */
static int
pool_save(const struct sqlite_pool *p)
{
    size_t len = strlen(p->path) + 5, i;
    char *tmp = malloc(len);
    FILE *fp = NULL;
    int fd = -1, ok = 0, saved;

    if (!tmp)
        return -1;
    snprintf(tmp, len, "%s.tmp", p->path);
    fp = fopen(tmp, "w");
    if (!fp)
        goto out;
    if (fprintf(fp, "# S10 serials reserved by bccid, per code range: prefix country first highest-reserved\n"
                    "# Keep this file with the database; a restored backup never reuses what it lists.\n") < 0)
        goto out;
    for (i = 0; i < p->nmarks; i++)
        if (fprintf(fp, "%s %s %" PRId64 " %" PRId64 "\n", p->marks[i].prefix, p->marks[i].country,
                    p->marks[i].first, p->marks[i].mark) < 0)
            goto out;
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0)
        goto out;
    saved = fclose(fp);
    fp = NULL;
    if (saved != 0 || rename(tmp, p->path) != 0)
        goto out;
    fd = open(p->dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) != 0)
        goto out;
    ok = 1;
out:
    saved = errno;
    if (fp)
        fclose(fp);
    if (fd >= 0)
        close(fd);
    if (!ok)
        unlink(tmp);
    free(tmp);
    errno = saved;
    return ok ? 0 : -1;
}

store_rc_t
sqlite_pool_reserve(store_tx_t *tx, const char *prefix, const char *country, int64_t first, int64_t last,
                    int64_t *serial)
{
    struct sqlite_pool *p = sqlite_tx_pool(tx);
    struct pool_mark *m = pool_find(p, prefix, country, first);
    int64_t old_mark, want, block;

    if (m && *serial <= m->usable_upto)
        return STORE_OK;
    if (m && *serial <= m->mark) {
        log_warn("code range %s %" PRId64 ": serials up to %" PRId64 " were reserved before (%s), skipping them",
                 prefix, first, m->mark, p->path);
        *serial = m->mark + 1;
    }
    if (*serial > last)
        return STORE_EMPTY;
    block = (last - first + 1) / 100;
    block = block < POOL_BLOCK_MIN ? POOL_BLOCK_MIN : block > POOL_BLOCK_MAX ? POOL_BLOCK_MAX : block;
    want = *serial + block - 1 < last ? *serial + block - 1 : last;
    if (!m) {
        m = pool_add(p, prefix, country, first, -1);
        if (!m)
            return no_memory(tx, "reserving S10 numbers");
    }
    old_mark = m->mark;
    m->mark = want;
    if (pool_save(p) != 0) {
        int e = errno;

        m->mark = old_mark;
        return store_tx_fail(tx, STORE_BUSY,
                             "cannot record the reserved S10 numbers in %s (%s); nothing was allocated, retry "
                             "once the disk is writable",
                             p->path, strerror(e));
    }
    m->usable_upto = want;
    return STORE_OK;
}

static const char SQL_HONOUR_MARK[] =
    "UPDATE code_ranges SET next = MIN(?4 + 1, last + 1) WHERE prefix = ?1 AND country = ?2 AND first = ?3"
    " AND next <= ?4";

struct sqlite_pool *
sqlite_pool_open(const char *db_path, db_t *writer, char *err, size_t errlen)
{
    struct sqlite_pool *p = calloc(1, sizeof *p);
    const char *slash = strrchr(db_path, '/');
    FILE *fp = NULL;
    char line[256];
    int lineno = 0, rc = SQLITE_OK;
    size_t i;

    if (!p)
        goto oom;
    p->dir = slash ? strndup(db_path, slash == db_path ? 1 : (size_t)(slash - db_path)) : strdup(".");
    if (!p->dir)
        goto oom;
    {
        size_t len = strlen(p->dir) + sizeof POOL_FILE + 1;

        p->path = malloc(len);
        if (!p->path)
            goto oom;
        snprintf(p->path, len, "%s/%s", p->dir, POOL_FILE);
    }
    fp = fopen(p->path, "r");
    if (!fp && errno != ENOENT) {
        snprintf(err, errlen, "cannot read %s: %s (it lists the S10 numbers already reserved; restore it or make it "
                 "readable)", p->path, strerror(errno));
        goto fail;
    }
    while (fp && fgets(line, sizeof line, fp)) {
        char prefix[3], country[3];
        long long first, mark;
        char extra;

        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%2s %2s %lld %lld %c", prefix, country, &first, &mark, &extra) != 4) {
            snprintf(err, errlen, "%s line %d is not 'PREFIX COUNTRY FIRST HIGHEST-RESERVED'; repair it (never lower "
                     "a number in it)", p->path, lineno);
            goto fail;
        }
        if (!pool_add(p, prefix, country, first, mark))
            goto oom;
    }
    if (fp)
        fclose(fp);
    fp = NULL;
    /* honour the marks: a database older than the file moves past what the file reserved */
    if (p->nmarks && (rc = db_exec(writer, "BEGIN IMMEDIATE")) != SQLITE_OK)
        goto sql_fail;
    for (i = 0; i < p->nmarks; i++) {
        sqlite3_stmt *st = db_stmt(writer, SQL_HONOUR_MARK);

        if (!st) {
            rc = SQLITE_ERROR;
            goto sql_fail;
        }
        db_bind_text(st, 1, p->marks[i].prefix);
        db_bind_text(st, 2, p->marks[i].country);
        sqlite3_bind_int64(st, 3, p->marks[i].first);
        sqlite3_bind_int64(st, 4, p->marks[i].mark);
        if ((rc = db_step(st)) != SQLITE_DONE) {
            db_exec(writer, "ROLLBACK");
            goto sql_fail;
        }
        if (sqlite3_changes(db_handle(writer)) > 0)
            log_info("code range %s %" PRId64 ": continuing after serial %" PRId64 ", the highest reserved in %s",
                     p->marks[i].prefix, p->marks[i].first, p->marks[i].mark, p->path);
    }
    if (p->nmarks && (rc = db_exec(writer, "COMMIT")) != SQLITE_OK) {
        db_exec(writer, "ROLLBACK");
        goto sql_fail;
    }
    return p;
sql_fail:
    snprintf(err, errlen, "cannot apply the S10 reservations of %s to the database: %s", p->path,
             sqlite3_errstr(rc));
    goto fail;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    if (fp)
        fclose(fp);
    sqlite_pool_close(&p);
    return NULL;
}

static const char SQL_RANGE_NEXT[] = "SELECT next FROM code_ranges WHERE prefix = ?1 AND country = ?2 AND first = ?3";

/* sqlite_pool_trim - on a clean close: the marks this process reserved come down to the
 * highest serial the database really handed out (its committed next - 1), so the next
 * start skips nothing. Marks it did not reserve (another process's, or ranges this
 * database does not know) stay; when anything cannot be read the file stays as it is,
 * which is safe. */
void
sqlite_pool_trim(struct sqlite_pool *p, db_t *writer)
{
    size_t i;
    int changed = 0;

    if (!p || !writer)
        return;
    for (i = 0; i < p->nmarks; i++) {
        struct pool_mark *m = &p->marks[i];
        sqlite3_stmt *st;
        int rc;

        if (m->usable_upto < 0)
            continue;
        st = db_stmt(writer, SQL_RANGE_NEXT);
        if (!st)
            return;
        db_bind_text(st, 1, m->prefix);
        db_bind_text(st, 2, m->country);
        sqlite3_bind_int64(st, 3, m->first);
        rc = db_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) - 1 < m->mark) {
            m->mark = sqlite3_column_int64(st, 0) - 1;
            changed = 1;
        }
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return;
    }
    if (changed && pool_save(p) != 0)
        log_warn("cannot lower the S10 reservations in %s (%s); the next start skips the unused numbers", p->path,
                 strerror(errno));
}

void
sqlite_pool_close(struct sqlite_pool **pp)
{
    struct sqlite_pool *p = *pp;

    if (!p)
        return;
    free(p->dir);
    free(p->path);
    free(p->marks);
    free(p);
    *pp = NULL;
}
