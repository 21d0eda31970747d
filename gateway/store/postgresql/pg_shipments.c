/*
 * pg_shipments - the shipments area on PostgreSQL (see store_shipments.h)
 *
 * Plain statements over the shipments table, as on SQLite; every rule (which status may
 * follow which, when to poll, when the SLA is missed) is the caller's. A result is whole or
 * a failure: libpq hands over every row of a statement or an error, never part of a list.
 * Submissions keep the canonical JSON text as submitted; the contact and the "self"
 * receiver's name are read from it with jsonb operators.
 */
#include "gateway/store/postgresql/pg_area.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store/backend_shipments.h"

#define SHIP_SELECT                                                                                                  \
    "SELECT s.id, s.dossier_id, d.code, s.status, s.status_time, s.waybill, s.carrier, COALESCE(s.carrier_ref, ''),"  \
    " s.leg, s.transit_days, COALESCE(s.due_at, 0), COALESCE(s.first_attempt_at, 0), s.attempts,"                    \
    " COALESCE(s.last_attempt_at, 0), COALESCE(s.next_poll_at, 0), s.sla_breached, s.created_at"                     \
    " FROM shipments s JOIN dossiers d ON d.id = s.dossier_id"

static const char SQL_BY_ID[] = SHIP_SELECT " WHERE s.id = $1";
static const char SQL_BY_WAYBILL[] = SHIP_SELECT " WHERE s.waybill = $1 AND s.carrier = $2";
static const char SQL_BY_REF[] = SHIP_SELECT " WHERE s.carrier = $1 AND s.carrier_ref = $2 ORDER BY s.id LIMIT 1";
static const char SQL_POLL_DUE[] =
    SHIP_SELECT " WHERE s.next_poll_at IS NOT NULL AND s.next_poll_at <= $1"
    " AND s.status NOT IN ('created', 'delivered', 'returned', 'cancelled') AND COALESCE(s.carrier_ref, '') <> ''"
    " ORDER BY s.next_poll_at, s.id LIMIT $2";
static const char SQL_FAILED[] =
    SHIP_SELECT " WHERE s.status = 'delivery_failed' AND s.last_attempt_at IS NOT NULL"
    " ORDER BY s.last_attempt_at, s.id LIMIT $1";
static const char SQL_PAST_DUE[] =
    SHIP_SELECT " WHERE s.due_at IS NOT NULL AND s.sla_breached = 0 AND s.first_attempt_at IS NULL"
    " AND s.due_at <= $1 AND s.status NOT IN ('delivered', 'returned', 'cancelled') ORDER BY s.due_at, s.id LIMIT $2";
static const char SQL_SET_BOOKED[] = "UPDATE shipments SET carrier_ref = $2, fee = $3, updated_at = $4 WHERE id = $1";
static const char SQL_SET_STATUS[] =
    "UPDATE shipments SET status = $2, status_time = $3, updated_at = $4 WHERE id = $1";
/* J is the first of the handover scan and the carrier's acceptance: an earlier due date wins */
static const char SQL_SET_DUE[] =
    "UPDATE shipments SET due_at = $2::bigint WHERE id = $1 AND (due_at IS NULL OR due_at > $2::bigint)";
static const char SQL_ATTEMPT[] =
    "UPDATE shipments SET first_attempt_at = COALESCE(first_attempt_at, $2::bigint),"
    " attempts = attempts + $3::bigint,"
    " last_attempt_at = CASE WHEN $3::bigint > 0 THEN $2::bigint ELSE last_attempt_at END WHERE id = $1";
static const char SQL_INVITED[] =
    "UPDATE shipments SET attempts = attempts + 1, last_attempt_at = $2::bigint WHERE id = $1";
static const char SQL_NEXT_POLL[] = "UPDATE shipments SET next_poll_at = $2::bigint WHERE id = $1";
static const char SQL_BREACHED[] = "UPDATE shipments SET sla_breached = 1 WHERE id = $1";
/* a "self" receiver is the recipient named in the submission (the agency on the send leg) */
static const char SQL_DELIVERY[] =
    "UPDATE shipments SET delivered_at = COALESCE(delivered_at, $2::bigint),"
    " proof_relation = COALESCE(NULLIF($3::text, ''), proof_relation),"
    " proof_id_type = COALESCE(NULLIF($4::text, ''), proof_id_type),"
    " proof_id_last4 = COALESCE(NULLIF($5::text, ''), proof_id_last4),"
    " proof_name = COALESCE(NULLIF($6::text, ''), proof_name, CASE WHEN $3::text = 'self' THEN"
    "   (SELECT CASE WHEN s2.leg = 'send' THEN b.body::jsonb #>> '{agency,name}'"
    "    ELSE b.body::jsonb #>> '{recipient,name}' END"
    "    FROM shipments s2 JOIN submissions b ON b.id = s2.submission_id WHERE s2.id = $1) END),"
    " cod_collected = CASE WHEN $7::bigint > 0 THEN $7::bigint ELSE cod_collected END,"
    " cod_collected_at = CASE WHEN $7::bigint > 0 THEN $2::bigint ELSE cod_collected_at END WHERE id = $1";
static const char SQL_COLLECTED[] =
    "UPDATE shipments SET cod_collected = $2::bigint, cod_collected_at = $3::bigint WHERE id = $1";
static const char SQL_PROOF[] =
    "SELECT COALESCE(delivered_at, 0), COALESCE(proof_name, ''), COALESCE(proof_relation, ''),"
    " COALESCE(proof_id_type, ''), COALESCE(proof_id_last4, ''), COALESCE(cod_collected, 0)"
    " FROM shipments WHERE id = $1";
/* the citizen is the recipient on the return leg and the sender on the send leg */
static const char SQL_CONTACT[] =
    "SELECT x.j -> x.who ->> 'name', x.j -> x.who ->> 'phone', x.j -> x.who ->> 'email',"
    " x.j -> 'agency' ->> 'name', x.j -> 'agency' ->> 'address', x.j -> 'agency' ->> 'phone',"
    " x.j -> x.who ->> 'id_last4', x.j -> 'authorised_person' ->> 'name',"
    " x.j -> 'authorised_person' ->> 'relation', x.j -> 'authorised_person' ->> 'id_last4'"
    " FROM shipments s JOIN submissions b ON b.id = s.submission_id,"
    " LATERAL (SELECT b.body::jsonb AS j, CASE s.leg WHEN 'send' THEN 'sender' ELSE 'recipient' END AS who) x"
    " WHERE s.id = $1";
static const char SQL_TRACK_QUEUED[] =
    "SELECT COUNT(*) FROM jobs WHERE kind = 'track' AND carrier = $1 AND state IN ('ready', 'leased')";

/* copy - column col of row 0 into a fixed buffer (the schema's values fit; a longer one is cut) */
static void
copy(char *dst, size_t size, const PGresult *res, int row, int col)
{
    snprintf(dst, size, "%s", pg_text(res, row, col));
}

static void
read_ship(const PGresult *res, int row, store_shipment_t *s)
{
    memset(s, 0, sizeof *s);
    s->id = pg_int(res, row, 0);
    s->dossier_id = pg_int(res, row, 1);
    copy(s->dossier_code, sizeof s->dossier_code, res, row, 2);
    copy(s->status, sizeof s->status, res, row, 3);
    s->status_time = pg_int(res, row, 4);
    copy(s->waybill, sizeof s->waybill, res, row, 5);
    copy(s->carrier, sizeof s->carrier, res, row, 6);
    copy(s->carrier_ref, sizeof s->carrier_ref, res, row, 7);
    copy(s->leg, sizeof s->leg, res, row, 8);
    s->transit_days = (int)pg_int(res, row, 9);
    s->due_at = pg_int(res, row, 10);
    s->first_attempt_at = pg_int(res, row, 11);
    s->attempts = (int)pg_int(res, row, 12);
    s->last_attempt_at = pg_int(res, row, 13);
    s->next_poll_at = pg_int(res, row, 14);
    s->sla_breached = (int)pg_int(res, row, 15);
    s->created_at = pg_int(res, row, 16);
}

/* one_row - a lookup: STORE_OK with *out, STORE_NOT_FOUND, or a failure */
static store_rc_t
one_row(store_tx_t *tx, const char *what, const char *sql, const pg_params_t *p, store_shipment_t *out)
{
    PGresult *res;
    store_rc_t r = pg_query(tx, what, sql, p, &res);

    memset(out, 0, sizeof *out);
    if (r != STORE_OK)
        return r;
    r = PQntuples(res) > 0 ? STORE_OK : STORE_NOT_FOUND;
    if (r == STORE_OK)
        read_ship(res, 0, out);
    PQclear(res);
    return r;
}

static store_rc_t
pg_get(store_tx_t *tx, int64_t id, store_shipment_t *out)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, id);
    return one_row(tx, "reading a shipment", SQL_BY_ID, &p, out);
}

static store_rc_t
pg_find_waybill(store_tx_t *tx, const char *carrier, const char *waybill, store_shipment_t *out)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_text(&p, waybill);
    pg_param_text(&p, carrier);
    return one_row(tx, "looking up a waybill", SQL_BY_WAYBILL, &p, out);
}

static store_rc_t
pg_find_ref(store_tx_t *tx, const char *carrier, const char *carrier_ref, store_shipment_t *out)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_text(&p, carrier);
    pg_param_text(&p, carrier_ref);
    return one_row(tx, "looking up a carrier reference", SQL_BY_REF, &p, out);
}

static store_rc_t
pg_set_booked(store_tx_t *tx, int64_t id, const char *carrier_ref, int64_t fee, int64_t now)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, id);
    pg_param_text(&p, carrier_ref ? carrier_ref : "");
    pg_param_int(&p, fee);
    pg_param_int(&p, now);
    return pg_exec(tx, "recording the booking", SQL_SET_BOOKED, &p, NULL);
}

static store_rc_t
pg_set_status(store_tx_t *tx, int64_t id, const char *status, int64_t status_time, int64_t now)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, id);
    pg_param_text(&p, status);
    pg_param_int(&p, status_time);
    pg_param_int(&p, now);
    return pg_exec(tx, "changing a shipment's status", SQL_SET_STATUS, &p, NULL);
}

/* id_time - the many "UPDATE … SET x = $2 WHERE id = $1" of this area; at = 0 binds NULL
 * (with_time 0: the statement takes the id only) */
static store_rc_t
id_time(store_tx_t *tx, const char *sql, int64_t id, int with_time, int64_t at, const char *what)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, id);
    if (with_time && at)
        pg_param_int(&p, at);
    else if (with_time)
        pg_param_null(&p);
    return pg_exec(tx, what, sql, &p, NULL);
}

static store_rc_t
pg_set_due(store_tx_t *tx, int64_t id, int64_t due_at)
{
    return id_time(tx, SQL_SET_DUE, id, 1, due_at, "setting the due date");
}

static store_rc_t
pg_record_attempt(store_tx_t *tx, int64_t id, int64_t at, int failed)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, id);
    pg_param_int(&p, at);
    pg_param_int(&p, failed ? 1 : 0);
    return pg_exec(tx, "recording a delivery attempt", SQL_ATTEMPT, &p, NULL);
}

static store_rc_t
pg_record_invitation(store_tx_t *tx, int64_t id, int64_t at)
{
    return id_time(tx, SQL_INVITED, id, 1, at, "recording an invitation");
}

static store_rc_t
pg_set_next_poll(store_tx_t *tx, int64_t id, int64_t at)
{
    return id_time(tx, SQL_NEXT_POLL, id, 1, at, "planning the next tracking poll");
}

static store_rc_t
pg_mark_breached(store_tx_t *tx, int64_t id)
{
    return id_time(tx, SQL_BREACHED, id, 0, 0, "recording an SLA breach");
}

static store_rc_t
pg_record_delivery(store_tx_t *tx, int64_t id, const store_proof_t *proof)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, id);
    pg_param_int(&p, proof->delivered_at);
    pg_param_text(&p, proof->relation);
    pg_param_text(&p, proof->id_type);
    pg_param_text(&p, proof->id_last4);
    pg_param_text(&p, proof->name);
    pg_param_int(&p, proof->cod_collected);
    return pg_exec(tx, "recording the proof of delivery", SQL_DELIVERY, &p, NULL);
}

static store_rc_t
pg_record_collected(store_tx_t *tx, int64_t id, int64_t amount, int64_t at)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, id);
    pg_param_int(&p, amount);
    pg_param_int(&p, at);
    return pg_exec(tx, "recording money collected", SQL_COLLECTED, &p, NULL);
}

static store_rc_t
pg_get_proof(store_tx_t *tx, int64_t id, store_proof_t *out)
{
    PGresult *res;
    store_rc_t r;

    memset(out, 0, sizeof *out);
    r = pg_query_id(tx, "reading the proof of delivery", SQL_PROOF, id, &res);
    if (r != STORE_OK)
        return r;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return STORE_NOT_FOUND;
    }
    out->delivered_at = pg_int(res, 0, 0);
    copy(out->name, sizeof out->name, res, 0, 1);
    copy(out->relation, sizeof out->relation, res, 0, 2);
    copy(out->id_type, sizeof out->id_type, res, 0, 3);
    copy(out->id_last4, sizeof out->id_last4, res, 0, 4);
    out->cod_collected = pg_int(res, 0, 5);
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_contact(store_tx_t *tx, int64_t id, store_contact_t *out)
{
    PGresult *res;
    store_rc_t r;

    memset(out, 0, sizeof *out);
    r = pg_query_id(tx, "reading whom to tell", SQL_CONTACT, id, &res);
    if (r != STORE_OK)
        return r;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return STORE_NOT_FOUND;
    }
    copy(out->recipient_name, sizeof out->recipient_name, res, 0, 0);
    copy(out->recipient_phone, sizeof out->recipient_phone, res, 0, 1);
    copy(out->recipient_email, sizeof out->recipient_email, res, 0, 2);
    copy(out->desk_name, sizeof out->desk_name, res, 0, 3);
    copy(out->desk_address, sizeof out->desk_address, res, 0, 4);
    copy(out->desk_phone, sizeof out->desk_phone, res, 0, 5);
    copy(out->recipient_id_last4, sizeof out->recipient_id_last4, res, 0, 6);
    copy(out->authorised_name, sizeof out->authorised_name, res, 0, 7);
    copy(out->authorised_relation, sizeof out->authorised_relation, res, 0, 8);
    copy(out->authorised_id_last4, sizeof out->authorised_id_last4, res, 0, 9);
    PQclear(res);
    return STORE_OK;
}

/* many_rows - a list query: every row (at most max), or nothing and a failure */
static store_rc_t
many_rows(store_tx_t *tx, const char *what, const char *sql, const pg_params_t *p, int max,
          store_shipment_list_t *out)
{
    PGresult *res;
    store_rc_t r;
    int i, n;

    out->items = NULL;
    out->n = 0;
    if (max <= 0)
        return STORE_OK;
    r = pg_query(tx, what, sql, p, &res);
    if (r != STORE_OK)
        return r;
    n = PQntuples(res) < max ? PQntuples(res) : max;
    out->items = calloc((size_t)max, sizeof *out->items);
    if (!out->items) {
        PQclear(res);
        return pg_no_memory(tx, what);
    }
    for (i = 0; i < n; i++)
        read_ship(res, i, &out->items[i]);
    out->n = (size_t)n;
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_due_polls(store_tx_t *tx, int64_t now, int max, store_shipment_list_t *out)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, now);
    pg_param_int(&p, max);
    return many_rows(tx, "finding shipments due for a poll", SQL_POLL_DUE, &p, max, out);
}

static store_rc_t
pg_failed_deliveries(store_tx_t *tx, int max, store_shipment_list_t *out)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, max);
    return many_rows(tx, "finding failed deliveries", SQL_FAILED, &p, max, out);
}

static store_rc_t
pg_past_due(store_tx_t *tx, int64_t cutoff, int max, store_shipment_list_t *out)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, cutoff);
    pg_param_int(&p, max);
    return many_rows(tx, "finding shipments past their due date", SQL_PAST_DUE, &p, max, out);
}

static store_rc_t
pg_count_track_jobs(store_tx_t *tx, const char *carrier, int *n)
{
    PGresult *res;
    store_rc_t r;

    *n = 0;
    r = pg_query_text(tx, "counting tracking jobs", SQL_TRACK_QUEUED, carrier, &res);
    if (r != STORE_OK)
        return r;
    if (PQntuples(res) > 0)
        *n = (int)pg_int(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

const struct store_shipments_ops pg_shipments_ops = {
    .get = pg_get,
    .find_waybill = pg_find_waybill,
    .find_ref = pg_find_ref,
    .set_booked = pg_set_booked,
    .set_status = pg_set_status,
    .set_due = pg_set_due,
    .record_attempt = pg_record_attempt,
    .record_invitation = pg_record_invitation,
    .set_next_poll = pg_set_next_poll,
    .mark_breached = pg_mark_breached,
    .record_delivery = pg_record_delivery,
    .record_collected = pg_record_collected,
    .get_proof = pg_get_proof,
    .contact = pg_contact,
    .due_polls = pg_due_polls,
    .failed_deliveries = pg_failed_deliveries,
    .past_due = pg_past_due,
    .count_track_jobs = pg_count_track_jobs,
};
