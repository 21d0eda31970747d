/*
 * api_dossiers - dossiers, shipments and timelines (design §7)
 *
 * POST /v1/dossiers validates on the HTTP thread (dossier.c) and hands the
 * write to the engine; the answer waits for the commit. Reads go straight
 * to a pooled read connection.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/status.h"
#include "domain/dossier.h"
#include "gateway/rules/intake.h"
#include "gateway/rules/sink.h"
#include "gateway/store/sqlite/timeline.h"
#include "gateway/store/sqlite/jobs.h"
#include "gateway/http/http_internal.h"
#include "gateway/http/http_json.h"
#include "log.h"

static void
free_dossier(void *p)
{
    dossier_t *d = p;

    dossier_destroy(&d);
}

static enum MHD_Result
finish_submit(http_ctx_t *c)
{
    engine_op_t *op = http_op(c);

    if (op->status == 201)
        log_debug("dossier accepted");
    return http_finish_default(c);
}

static enum MHD_Result
h_submit(http_ctx_t *c)
{
    dossier_t *d = NULL;
    api_error_t e;
    size_t len;
    const char *body = http_body(c, &len);

    if (!http_require_json(c))
        return http_fail(c, 415, "unsupported_media_type", NULL, "send the dossier as Content-Type: application/json");
    if (dossier_from_json(body, len, http_config(c)->default_carrier, &d, &e) != 0)
        return http_send_error(c, &e);
    http_keep(c, d, free_dossier);
    if (intake_check_deliverable(d, carrier_find(d->carrier), &e) != 0)
        return http_send_error(c, &e);
    if (c->agency && *c->agency && strcmp(d->agency_code, c->agency) != 0)
        return http_fail(c, 403, "forbidden", "agency.code",
                         "this token submits dossiers of agency %s only; the dossier names agency %.40s", c->agency,
                         d->agency_code);
    http_set_request_id(c, d->code);
    http_op(c)->dossier = d;
    return http_submit(c, ENGINE_OP_INTAKE, finish_submit);
}

static enum MHD_Result
read_doc(http_ctx_t *c, int (*fn)(db_t *, const char *, json_t **, api_error_t *), const char *key)
{
    db_t *db = http_reader(c);
    json_t *doc = NULL;
    api_error_t e;
    int rc;

    if (!db)
        return http_fail(c, 503, "storage_unavailable", NULL, "the database cannot be read; retry later");
    rc = fn(db, key, &doc, &e);
    http_reader_put(c, db);
    if (rc != 0)
        return http_send_error(c, &e);
    return http_send_json(c, 200, doc);
}

static enum MHD_Result
h_get_dossier(http_ctx_t *c)
{
    return read_doc(c, store_dossier_json, c->args[0]);
}

static enum MHD_Result
h_get_timeline(http_ctx_t *c)
{
    return read_doc(c, store_timeline_json, c->args[0]);
}

static enum MHD_Result
h_get_shipment(http_ctx_t *c)
{
    enum MHD_Result ret;

    if (http_check_waybill(c, c->args[0], NULL, &ret) != 0)
        return ret;
    return read_doc(c, store_shipment_json, c->args[0]);
}

/* ---------------------------------------------------------------- cancel */

typedef struct {
    char waybill[16];
    char source[16];
    const sink_policy_t *policy;
} cancel_req_t;

static const char SQL_CANCEL_SHIP[] =
    "SELECT s.id, s.status, s.carrier, COALESCE(s.carrier_ref, ''), s.dossier_id,"
    " (SELECT state FROM jobs WHERE shipment_id = s.id AND kind = 'book') FROM shipments s WHERE s.waybill = ?1";
static const char SQL_BOOK_WITHDRAW[] =
    "UPDATE jobs SET state = 'done', last_error = 'cancelled before booking', updated_at = ?2"
    " WHERE shipment_id = ?1 AND kind = 'book' AND state IN ('ready', 'dead')";

/* write_cancel - cancel before pick-up (design §7). Not yet booked: withdraw the booking job
 * and cancel at once. Booked: a cancel job asks the carrier (202). Picked up: 409. */
static int
write_cancel(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    store_t *store = store_tx_store(tx);
    cancel_req_t *r = arg;
    db_t *db = store_writer(store);
    sqlite3_stmt *st = db_stmt(db, SQL_CANCEL_SHIP);
    char status[24], carrier[32], ref[64], book_state[12];
    int64_t id, dossier_id;
    int rc;
    timeline_event_t ev;

    db_bind_text(st, 1, r->waybill);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        api_error_set(err, rc == SQLITE_DONE ? 404 : 503, rc == SQLITE_DONE ? "not_found" : "storage_unavailable",
                      NULL, "no shipment %s on this gateway", r->waybill);
        return -1;
    }
    id = sqlite3_column_int64(st, 0);
    snprintf(status, sizeof status, "%s", db_col_text(st, 1));
    snprintf(carrier, sizeof carrier, "%s", db_col_text(st, 2));
    snprintf(ref, sizeof ref, "%s", db_col_text(st, 3));
    dossier_id = sqlite3_column_int64(st, 4);
    snprintf(book_state, sizeof book_state, "%s", db_col_text(st, 5));
    sqlite3_reset(st);

    if (strcmp(status, "cancelled") == 0) {
        *out = json_pack("{s:s, s:s}", "waybill", r->waybill, "status", "cancelled");
        return 200;
    }
    if (strcmp(status, "created") != 0 && strcmp(status, "booked") != 0 && strcmp(status, "pickup_pending") != 0 &&
        strcmp(status, "exception") != 0) {
        api_error_set(err, 409, "already_picked_up", NULL,
                      "shipment %s is %s: the postal service already has it, so it can no longer be cancelled",
                      r->waybill, status);
        return -1;
    }
    /* on a handover list the post office has not taken yet: the item leaves the list, so the
     * biên bản printed afterwards no longer names it */
    st = db_stmt(db, "SELECT m.id, m.public_id FROM manifest_items i JOIN manifests m ON m.id = i.manifest_id"
                     " WHERE i.shipment_id = ?1 AND m.state = 'open'");
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t manifest_id = sqlite3_column_int64(st, 0);
        char note[160];

        snprintf(note, sizeof note, "Đã rút bưu gửi khỏi biên bản giao nhận %s do yêu cầu hủy", db_col_text(st, 1));
        sqlite3_reset(st);
        st = db_stmt(db, "DELETE FROM manifest_items WHERE manifest_id = ?1 AND shipment_id = ?2");
        sqlite3_bind_int64(st, 1, manifest_id);
        sqlite3_bind_int64(st, 2, id);
        if ((rc = sqlite3_step(st)) != SQLITE_DONE)
            goto sql_fail;
        memset(&ev, 0, sizeof ev);
        ev.dossier_id = dossier_id;
        ev.shipment_id = id;
        ev.event_time = now;
        ev.received_at = now;
        ev.source = r->source;
        ev.text = note;
        if (timeline_append(db, &ev, &rc) == TIMELINE_ERROR)
            goto sql_fail;
    } else {
        sqlite3_reset(st);
    }
    if (!ref[0] && strcmp(book_state, "leased") != 0) {
        /* nothing reached the carrier yet: withdraw the booking and cancel here */
        st = db_stmt(db, SQL_BOOK_WITHDRAW);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
        if ((rc = sqlite3_step(st)) != SQLITE_DONE)
            goto sql_fail;
        if (sink_set_status(db, id, "cancelled", NULL, now, r->source,
                            "Đã hủy yêu cầu gửi trước khi chuyển sang bưu điện", NULL, r->policy, now, &rc) < 0)
            goto sql_fail;
        *out = json_pack("{s:s, s:s}", "waybill", r->waybill, "status", "cancelled");
        return 200;
    }
    /* booked, or its booking is in flight: the carrier must cancel (the job waits for the
     * carrier's order id when the booking has not answered yet) */
    /* the carrier adapter reads the same shipment payload as for booking (carrier.h) */
    {
        char *payload = jobs_book_payload(db, id);
        int queued;

        if (!payload)
            goto sql_fail;
        queued = jobs_enqueue(db, "cancel", id, "", carrier, payload, now, now, &rc);
        free(payload);
        if (queued < 0)
            goto sql_fail;
    }
    memset(&ev, 0, sizeof ev);
    ev.dossier_id = dossier_id;
    ev.shipment_id = id;
    ev.event_time = now;
    ev.received_at = now;
    ev.source = r->source;
    ev.text = "Đã gửi yêu cầu hủy bưu gửi sang bưu điện";
    ev.dedup_key = NULL;
    if (timeline_append(db, &ev, &rc) == TIMELINE_ERROR)
        goto sql_fail;
    *out = json_pack("{s:s, s:s}", "waybill", r->waybill, "status", "cancel_requested");
    return 202;
sql_fail:
    api_error_set(err, 503, "storage_unavailable", NULL, "the database cannot record the cancel now; retry later");
    err->retry_after = 2;
    return -1;
}

static enum MHD_Result
h_cancel(http_ctx_t *c)
{
    enum MHD_Result ret;
    api_error_t e;
    cancel_req_t *r;

    if (http_check_waybill(c, c->args[0], NULL, &ret) != 0)
        return ret;
    if (http_body_only(c, (const char *const[]){ "reason", NULL }, &e) != 0)
        return http_send_error(c, &e);
    r = calloc(1, sizeof *r);
    if (!r)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    http_keep(c, r, free);
    snprintf(r->waybill, sizeof r->waybill, "%s", c->args[0]);
    snprintf(r->source, sizeof r->source, "%s", c->role == ROLE_CLERK ? "clerk" : "case_system");
    r->policy = engine_policy(http_engine(c));
    return http_submit_call(c, write_cancel, r, http_finish_default);
}

const http_route_t api_dossier_routes[] = {
    { "POST", "/v1/shipments/*/cancel", h_cancel, ROLES_STAFF, "cancel before pick-up", HTTP_SCOPE_WAYBILL },
    { "POST", "/v1/dossiers", h_submit, ROLE_CASE_SYSTEM | ROLE_ADMIN, "submit a dossier", HTTP_SCOPE_NONE },
    { "GET", "/v1/dossiers/*", h_get_dossier, ROLES_STAFF, "dossier, shipments, current status", HTTP_SCOPE_DOSSIER },
    { "GET", "/v1/dossiers/*/timeline", h_get_timeline, ROLES_STAFF, "the case timeline", HTTP_SCOPE_DOSSIER },
    { "GET", "/v1/shipments/*", h_get_shipment, ROLES_STAFF | ROLE_POST_OFFICE, "one shipment by waybill", HTTP_SCOPE_WAYBILL },
    { NULL, NULL, NULL, 0, NULL, HTTP_SCOPE_NONE },
};
