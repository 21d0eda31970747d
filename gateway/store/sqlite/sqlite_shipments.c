/*
 * sqlite_shipments - the shipments area on SQLite (see store_shipments.h)
 *
 * Plain statements over the shipments table; every rule (which status may follow which,
 * when to poll, when the SLA is missed) is the caller's. Every read loop checks that it
 * reached SQLITE_DONE: a list cut short by an error is an error, never a short answer.
 */
#include "gateway/store/sqlite/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store/backend_shipments.h"

#define SHIP_SELECT                                                                                                  \
    "SELECT s.id, s.dossier_id, d.code, s.status, s.status_time, s.waybill, s.carrier, COALESCE(s.carrier_ref, ''),"  \
    " s.leg, s.transit_days, COALESCE(s.due_at, 0), COALESCE(s.first_attempt_at, 0), s.attempts,"                    \
    " COALESCE(s.last_attempt_at, 0), COALESCE(s.next_poll_at, 0), s.sla_breached, s.created_at"                     \
    " FROM shipments s JOIN dossiers d ON d.id = s.dossier_id"

static const char SQL_BY_ID[] = SHIP_SELECT " WHERE s.id = ?1";
static const char SQL_BY_WAYBILL[] = SHIP_SELECT " WHERE s.waybill = ?1 AND s.carrier = ?2";
static const char SQL_BY_REF[] = SHIP_SELECT " WHERE s.carrier = ?1 AND s.carrier_ref = ?2";
static const char SQL_POLL_DUE[] =
    SHIP_SELECT " WHERE s.next_poll_at IS NOT NULL AND s.next_poll_at <= ?1"
    " AND s.status NOT IN ('created', 'delivered', 'returned', 'cancelled') AND COALESCE(s.carrier_ref, '') != ''"
    " ORDER BY s.next_poll_at LIMIT ?2";
static const char SQL_FAILED[] =
    SHIP_SELECT " WHERE s.status = 'delivery_failed' AND s.last_attempt_at IS NOT NULL"
    " ORDER BY s.last_attempt_at LIMIT ?1";
static const char SQL_PAST_DUE[] =
    SHIP_SELECT " WHERE s.due_at IS NOT NULL AND s.sla_breached = 0 AND s.first_attempt_at IS NULL"
    " AND s.due_at <= ?1 AND s.status NOT IN ('delivered', 'returned', 'cancelled') ORDER BY s.due_at LIMIT ?2";
static const char SQL_SET_BOOKED[] = "UPDATE shipments SET carrier_ref = ?2, fee = ?3, updated_at = ?4 WHERE id = ?1";
static const char SQL_SET_STATUS[] =
    "UPDATE shipments SET status = ?2, status_time = ?3, updated_at = ?4 WHERE id = ?1";
static const char SQL_SET_DUE[] =
    "UPDATE shipments SET due_at = ?2 WHERE id = ?1 AND (due_at IS NULL OR due_at > ?2)";
static const char SQL_ATTEMPT[] =
    "UPDATE shipments SET first_attempt_at = COALESCE(first_attempt_at, ?2),"
    " attempts = attempts + ?3, last_attempt_at = CASE WHEN ?3 > 0 THEN ?2 ELSE last_attempt_at END WHERE id = ?1";
static const char SQL_INVITED[] = "UPDATE shipments SET attempts = attempts + 1, last_attempt_at = ?2 WHERE id = ?1";
static const char SQL_NEXT_POLL[] = "UPDATE shipments SET next_poll_at = ?2 WHERE id = ?1";
static const char SQL_BREACHED[] = "UPDATE shipments SET sla_breached = 1 WHERE id = ?1";
/* a "self" receiver is the recipient named in the submission (the agency on the send leg) */
static const char SQL_DELIVERY[] =
    "UPDATE shipments SET delivered_at = COALESCE(delivered_at, ?2),"
    " proof_relation = COALESCE(NULLIF(?3, ''), proof_relation),"
    " proof_id_type = COALESCE(NULLIF(?4, ''), proof_id_type),"
    " proof_id_last4 = COALESCE(NULLIF(?5, ''), proof_id_last4),"
    " proof_name = COALESCE(NULLIF(?6, ''), proof_name, CASE WHEN ?3 = 'self' THEN"
    "   (SELECT json_extract(b.body, CASE WHEN s2.leg = 'send' THEN '$.agency.name' ELSE '$.recipient.name' END)"
    "    FROM shipments s2 JOIN submissions b ON b.id = s2.submission_id WHERE s2.id = ?1) END),"
    " cod_collected = CASE WHEN ?7 > 0 THEN ?7 ELSE cod_collected END,"
    " cod_collected_at = CASE WHEN ?7 > 0 THEN ?2 ELSE cod_collected_at END WHERE id = ?1";
static const char SQL_COLLECTED[] = "UPDATE shipments SET cod_collected = ?2, cod_collected_at = ?3 WHERE id = ?1";
static const char SQL_PROOF[] =
    "SELECT COALESCE(delivered_at, 0), COALESCE(proof_name, ''), COALESCE(proof_relation, ''),"
    " COALESCE(proof_id_type, ''), COALESCE(proof_id_last4, ''), COALESCE(cod_collected, 0)"
    " FROM shipments WHERE id = ?1";
static const char SQL_TRACK_QUEUED[] =
    "SELECT COUNT(*) FROM jobs WHERE kind = 'track' AND carrier = ?1 AND state IN ('ready', 'leased')";

static void
copy_col(char *dst, size_t size, sqlite3_stmt *st, int col)
{
    snprintf(dst, size, "%s", db_col_text(st, col));
}

static void
read_ship(sqlite3_stmt *st, store_shipment_t *s)
{
    memset(s, 0, sizeof *s);
    s->id = sqlite3_column_int64(st, 0);
    s->dossier_id = sqlite3_column_int64(st, 1);
    copy_col(s->dossier_code, sizeof s->dossier_code, st, 2);
    copy_col(s->status, sizeof s->status, st, 3);
    s->status_time = sqlite3_column_int64(st, 4);
    copy_col(s->waybill, sizeof s->waybill, st, 5);
    copy_col(s->carrier, sizeof s->carrier, st, 6);
    copy_col(s->carrier_ref, sizeof s->carrier_ref, st, 7);
    copy_col(s->leg, sizeof s->leg, st, 8);
    s->transit_days = sqlite3_column_int(st, 9);
    s->due_at = sqlite3_column_int64(st, 10);
    s->first_attempt_at = sqlite3_column_int64(st, 11);
    s->attempts = sqlite3_column_int(st, 12);
    s->last_attempt_at = sqlite3_column_int64(st, 13);
    s->next_poll_at = sqlite3_column_int64(st, 14);
    s->sla_breached = sqlite3_column_int(st, 15);
    s->created_at = sqlite3_column_int64(st, 16);
}

static sqlite3_stmt *
prepare(store_tx_t *tx, const char *sql, store_rc_t *rc, const char *what)
{
    sqlite3_stmt *st = db_stmt(sqlite_tx_db(tx), sql);

    *rc = st ? STORE_OK : sqlite_fail(tx, SQLITE_ERROR, what);
    return st;
}

/* one_row - step a lookup: STORE_OK with *out, STORE_NOT_FOUND, or a failure */
static store_rc_t
one_row(store_tx_t *tx, sqlite3_stmt *st, store_shipment_t *out, const char *what)
{
    int rc = db_step(st);

    if (rc == SQLITE_ROW) {
        read_ship(st, out);
        sqlite3_reset(st);
        return STORE_OK;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_NOT_FOUND : sqlite_fail(tx, rc, what);
}

static store_rc_t
sq_get(store_tx_t *tx, int64_t id, store_shipment_t *out)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_BY_ID, &r, "reading a shipment");

    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, id);
    return one_row(tx, st, out, "reading a shipment");
}

static store_rc_t
sq_find_waybill(store_tx_t *tx, const char *carrier, const char *waybill, store_shipment_t *out)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_BY_WAYBILL, &r, "looking up a waybill");

    if (!st)
        return r;
    db_bind_text(st, 1, waybill);
    db_bind_text(st, 2, carrier);
    return one_row(tx, st, out, "looking up a waybill");
}

static store_rc_t
sq_find_ref(store_tx_t *tx, const char *carrier, const char *carrier_ref, store_shipment_t *out)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_BY_REF, &r, "looking up a carrier reference");

    if (!st)
        return r;
    db_bind_text(st, 1, carrier);
    db_bind_text(st, 2, carrier_ref);
    return one_row(tx, st, out, "looking up a carrier reference");
}

/* run - step a statement without results to its end */
static store_rc_t
run(store_tx_t *tx, sqlite3_stmt *st, const char *what)
{
    int rc = db_step(st);

    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(tx, rc, what);
}

static store_rc_t
sq_set_booked(store_tx_t *tx, int64_t id, const char *carrier_ref, int64_t fee, int64_t now)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_SET_BOOKED, &r, "recording the booking");

    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, id);
    db_bind_text(st, 2, carrier_ref ? carrier_ref : "");
    sqlite3_bind_int64(st, 3, fee);
    sqlite3_bind_int64(st, 4, now);
    return run(tx, st, "recording the booking");
}

static store_rc_t
sq_set_status(store_tx_t *tx, int64_t id, const char *status, int64_t status_time, int64_t now)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_SET_STATUS, &r, "changing a shipment's status");

    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, id);
    db_bind_text(st, 2, status);
    sqlite3_bind_int64(st, 3, status_time);
    sqlite3_bind_int64(st, 4, now);
    return run(tx, st, "changing a shipment's status");
}

/* id_time - the many "UPDATE … SET x = ?2 WHERE id = ?1" of this area; at = 0 binds NULL */
static store_rc_t
id_time(store_tx_t *tx, const char *sql, int64_t id, int64_t at, const char *what)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, sql, &r, what);

    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, id);
    if (at)
        sqlite3_bind_int64(st, 2, at);
    return run(tx, st, what);
}

static store_rc_t
sq_set_due(store_tx_t *tx, int64_t id, int64_t due_at)
{
    return id_time(tx, SQL_SET_DUE, id, due_at, "setting the due date");
}

static store_rc_t
sq_record_attempt(store_tx_t *tx, int64_t id, int64_t at, int failed)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_ATTEMPT, &r, "recording a delivery attempt");

    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, at);
    sqlite3_bind_int(st, 3, failed ? 1 : 0);
    return run(tx, st, "recording a delivery attempt");
}

static store_rc_t
sq_record_invitation(store_tx_t *tx, int64_t id, int64_t at)
{
    return id_time(tx, SQL_INVITED, id, at, "recording an invitation");
}

static store_rc_t
sq_set_next_poll(store_tx_t *tx, int64_t id, int64_t at)
{
    return id_time(tx, SQL_NEXT_POLL, id, at, "planning the next tracking poll");
}

static store_rc_t
sq_mark_breached(store_tx_t *tx, int64_t id)
{
    return id_time(tx, SQL_BREACHED, id, 0, "recording an SLA breach");
}

static store_rc_t
sq_record_delivery(store_tx_t *tx, int64_t id, const store_proof_t *p)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_DELIVERY, &r, "recording the proof of delivery");

    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, p->delivered_at);
    db_bind_text(st, 3, p->relation);
    db_bind_text(st, 4, p->id_type);
    db_bind_text(st, 5, p->id_last4);
    db_bind_text(st, 6, p->name);
    sqlite3_bind_int64(st, 7, p->cod_collected);
    return run(tx, st, "recording the proof of delivery");
}

static store_rc_t
sq_record_collected(store_tx_t *tx, int64_t id, int64_t amount, int64_t at)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_COLLECTED, &r, "recording money collected");

    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, amount);
    sqlite3_bind_int64(st, 3, at);
    return run(tx, st, "recording money collected");
}

static store_rc_t
sq_get_proof(store_tx_t *tx, int64_t id, store_proof_t *out)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_PROOF, &r, "reading the proof of delivery");
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        out->delivered_at = sqlite3_column_int64(st, 0);
        copy_col(out->name, sizeof out->name, st, 1);
        copy_col(out->relation, sizeof out->relation, st, 2);
        copy_col(out->id_type, sizeof out->id_type, st, 3);
        copy_col(out->id_last4, sizeof out->id_last4, st, 4);
        out->cod_collected = sqlite3_column_int64(st, 5);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return STORE_OK;
    return rc == SQLITE_DONE ? STORE_NOT_FOUND : sqlite_fail(tx, rc, "reading the proof of delivery");
}

/* the citizen is the recipient on the return leg and the sender on the send leg */
static const char SQL_CONTACT[] =
    "SELECT CASE s.leg WHEN 'send' THEN json_extract(b.body, '$.sender.name') ELSE json_extract(b.body, '$.recipient.name') END,"
    " CASE s.leg WHEN 'send' THEN json_extract(b.body, '$.sender.phone') ELSE json_extract(b.body, '$.recipient.phone') END,"
    " CASE s.leg WHEN 'send' THEN json_extract(b.body, '$.sender.email') ELSE json_extract(b.body, '$.recipient.email') END,"
    " json_extract(b.body, '$.agency.name'), json_extract(b.body, '$.agency.address'),"
    " json_extract(b.body, '$.agency.phone'),"
    " CASE s.leg WHEN 'send' THEN json_extract(b.body, '$.sender.id_last4')"
    "   ELSE json_extract(b.body, '$.recipient.id_last4') END,"
    " json_extract(b.body, '$.authorised_person.name'), json_extract(b.body, '$.authorised_person.relation'),"
    " json_extract(b.body, '$.authorised_person.id_last4')"
    " FROM shipments s JOIN submissions b ON b.id = s.submission_id WHERE s.id = ?1";

static store_rc_t
sq_contact(store_tx_t *tx, int64_t id, store_contact_t *out)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_CONTACT, &r, "reading whom to tell");
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        copy_col(out->recipient_name, sizeof out->recipient_name, st, 0);
        copy_col(out->recipient_phone, sizeof out->recipient_phone, st, 1);
        copy_col(out->recipient_email, sizeof out->recipient_email, st, 2);
        copy_col(out->desk_name, sizeof out->desk_name, st, 3);
        copy_col(out->desk_address, sizeof out->desk_address, st, 4);
        copy_col(out->desk_phone, sizeof out->desk_phone, st, 5);
        copy_col(out->recipient_id_last4, sizeof out->recipient_id_last4, st, 6);
        copy_col(out->authorised_name, sizeof out->authorised_name, st, 7);
        copy_col(out->authorised_relation, sizeof out->authorised_relation, st, 8);
        copy_col(out->authorised_id_last4, sizeof out->authorised_id_last4, st, 9);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return STORE_OK;
    return rc == SQLITE_DONE ? STORE_NOT_FOUND : sqlite_fail(tx, rc, "reading whom to tell");
}

/* many_rows - a list query whose parameters are bound: every row, or nothing and a failure */
static store_rc_t
many_rows(store_tx_t *tx, sqlite3_stmt *st, int max, store_shipment_list_t *out, const char *what)
{
    int rc;

    out->items = NULL;
    out->n = 0;
    if (max <= 0) {
        sqlite3_reset(st);
        return STORE_OK;
    }
    out->items = calloc((size_t)max, sizeof *out->items);
    if (!out->items) {
        sqlite3_reset(st);
        return sqlite_fail(tx, SQLITE_NOMEM, what);
    }
    while ((int)out->n < max && (rc = db_step(st)) == SQLITE_ROW)
        read_ship(st, &out->items[out->n++]);
    if ((int)out->n == max)
        rc = SQLITE_DONE; /* LIMIT max: the statement cannot hold more */
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store_shipment_list_free(out);
        return sqlite_fail(tx, rc, what);
    }
    return STORE_OK;
}

static store_rc_t
sq_due_polls(store_tx_t *tx, int64_t now, int max, store_shipment_list_t *out)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_POLL_DUE, &r, "finding shipments due for a poll");

    out->items = NULL;
    out->n = 0;
    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, max);
    return many_rows(tx, st, max, out, "finding shipments due for a poll");
}

static store_rc_t
sq_failed_deliveries(store_tx_t *tx, int max, store_shipment_list_t *out)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_FAILED, &r, "finding failed deliveries");

    out->items = NULL;
    out->n = 0;
    if (!st)
        return r;
    sqlite3_bind_int(st, 1, max);
    return many_rows(tx, st, max, out, "finding failed deliveries");
}

static store_rc_t
sq_past_due(store_tx_t *tx, int64_t cutoff, int max, store_shipment_list_t *out)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_PAST_DUE, &r, "finding shipments past their due date");

    out->items = NULL;
    out->n = 0;
    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_int(st, 2, max);
    return many_rows(tx, st, max, out, "finding shipments past their due date");
}

static store_rc_t
sq_count_track_jobs(store_tx_t *tx, const char *carrier, int *n)
{
    store_rc_t r;
    sqlite3_stmt *st = prepare(tx, SQL_TRACK_QUEUED, &r, "counting tracking jobs");
    int rc;

    *n = 0;
    if (!st)
        return r;
    db_bind_text(st, 1, carrier);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : sqlite_fail(tx, rc, "counting tracking jobs");
}

const struct store_shipments_ops sqlite_shipments_ops = {
    .get = sq_get,
    .find_waybill = sq_find_waybill,
    .find_ref = sq_find_ref,
    .set_booked = sq_set_booked,
    .set_status = sq_set_status,
    .set_due = sq_set_due,
    .record_attempt = sq_record_attempt,
    .record_invitation = sq_record_invitation,
    .set_next_poll = sq_set_next_poll,
    .mark_breached = sq_mark_breached,
    .record_delivery = sq_record_delivery,
    .record_collected = sq_record_collected,
    .get_proof = sq_get_proof,
    .contact = sq_contact,
    .due_polls = sq_due_polls,
    .failed_deliveries = sq_failed_deliveries,
    .past_due = sq_past_due,
    .count_track_jobs = sq_count_track_jobs,
};
