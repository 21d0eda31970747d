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

#include "clock.h"
#include "domain/dossier.h"
#include "domain/status.h"
#include "gateway/http/http_internal.h"
#include "gateway/rules/sink.h"
#include "gateway/store/store_dossiers.h"
#include "gateway/rules/intake.h"
#include "gateway/http/http_json.h"
#include "log.h"

/* ----------------------------------------------------------------- views */

static void
iso(int64_t ms, char out[40])
{
    clock_iso8601(ms, out, 40);
}

static json_t *
shipment_json(const store_shipment_view_t *s)
{
    const status_info_t *info = status_lookup(s->status);
    char t1[40], t2[40], t3[40];
    json_t *o;

    /* status_time is 0 until the carrier reports; show when the shipment was created */
    iso(s->status_time ? s->status_time : s->created_at, t1);
    iso(s->created_at, t2);
    iso(s->updated_at, t3);
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "waybill", s->waybill, "carrier", s->carrier,
                  "leg", s->leg, "status", s->status, "status_text", info ? status_text_vi(s->status, s->leg) : "", "upu",
                  info ? info->upu : "", "status_time", t1, "cod_amount", (json_int_t)s->cod_amount, "created_at", t2,
                  "updated_at", t3);
    if (!o)
        return NULL;
    if (s->carrier_ref && *s->carrier_ref)
        json_object_set_new(o, "carrier_ref", json_string(s->carrier_ref));
    if (s->fee >= 0)
        json_object_set_new(o, "fee", json_integer(s->fee));
    if (*s->linked_waybill)
        json_object_set_new(o, "linked_waybill", json_string(s->linked_waybill));
    return o;
}

/* dossier_json - the one view of a dossier (GET /v1/dossiers/{code}, an intake replay); caller owns */
static json_t *
dossier_json(const store_dossier_view_t *v)
{
    json_t *root, *subs = json_object(), *ships = json_array();
    char created[40];
    size_t i;

    iso(v->created_at, created);
    for (i = 0; i < v->nsubmissions; i++) {
        json_t *body = json_loads(v->submissions[i].body, 0, NULL);

        json_object_set_new(subs, v->submissions[i].service, body ? body : json_null());
    }
    for (i = 0; i < v->nshipments; i++)
        json_array_append_new(ships, shipment_json(&v->shipments[i]));
    root = json_pack("{s:s, s:s, s:s, s:o, s:s, s:o}", "dossier_code", v->code, "agency_code", v->agency_code,
                     "created_at", created, "submissions", subs, "status", v->status, "shipments", ships);
    return root;
}

/* event_dvc - the DVC code of a timeline event (sink_dvc) on the leg of its shipment in v;
 * the officer's receipt of a send leg is its "received" (DVC 2); NULL when none applies */
static const char *
event_dvc(const store_dossier_view_t *v, const store_event_t *ev, const json_t *details)
{
    const char *prefix;
    size_t i;

    if (!*ev->status || !*ev->waybill)
        return NULL;
    for (i = 0; i < v->nshipments; i++)
        if (strcmp(v->shipments[i].waybill, ev->waybill) == 0)
            return sink_dvc(v->shipments[i].leg,
                            json_is_true(json_object_get(details, "legal_submission")) ? "received" : ev->status,
                            &prefix);
    return NULL;
}

static json_t *
timeline_json(const char *code, const store_timeline_t *t, const store_dossier_view_t *v)
{
    json_t *events = json_array(), *root;
    size_t i;

    for (i = 0; i < t->nevents; i++) {
        const store_event_t *ev = &t->events[i];
        json_t *details = json_loads(ev->details, 0, NULL);
        char t1[40], t2[40];
        json_t *e;

        iso(ev->event_time, t1);
        iso(ev->received_at, t2);
        e = json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s}", "seq", (json_int_t)ev->seq, "time", t1, "time_ms",
                      (json_int_t)ev->event_time, "received_at", t2, "source", ev->source, "text", ev->text, "hash",
                      ev->hash);
        if (!e) {
            json_decref(details);
            continue;
        }
        if (*ev->status)
            json_object_set_new(e, "status", json_string(ev->status));
        if (*ev->upu)
            json_object_set_new(e, "upu", json_string(ev->upu));
        if (*ev->raw_code)
            json_object_set_new(e, "raw_code", json_string(ev->raw_code));
        if (*ev->waybill)
            json_object_set_new(e, "waybill", json_string(ev->waybill));
        if (event_dvc(v, ev, details))
            json_object_set_new(e, "dvc", json_string(event_dvc(v, ev, details)));
        json_object_set_new(e, "details", details ? details : json_object());
        json_array_append_new(events, e);
    }
    root = json_pack("{s:s, s:o, s:b}", "dossier_code", code, "events", events, "chain_valid", t->chain_valid);
    if (root && !t->chain_valid)
        json_object_set_new(root, "chain_error", json_string(t->chain_error));
    return root;
}

/* store_failed - err from a store result and the transaction's message */
static void
store_failed(api_error_t *err, store_rc_t rc, store_tx_t *tx)
{
    http_store_error(err, rc, store_tx_message(tx));
}

/* ---------------------------------------------------------------- intake */

/* intake_op_t - what an intake operation carries, parked on its request: the dossier, and what
 * the engine made of it. The 201 body is built from made on the HTTP thread (finish_submit),
 * not on the single writer every request waits for. */
typedef struct {
    dossier_t *d; /* owned */
    store_intake_result_t made;
} intake_op_t;

static void
free_intake_op(void *p)
{
    intake_op_t *op = p;

    dossier_destroy(&op->d);
    free(op);
}

/* created_json - the 201 body of a dossier just written */
static json_t *
created_json(const intake_op_t *in)
{
    const dossier_t *d = in->d;

    return json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:I}]}", "dossier_code", d->code, "service", d->service,
                     "status", "created", "shipments", "waybill", in->made.waybill, "carrier", d->carrier, "leg",
                     in->made.leg, "status", "created", "cod_amount", (json_int_t)d->cod_amount);
}

static enum MHD_Result
finish_submit(http_ctx_t *c)
{
    engine_op_t *op = http_op(c);

    if (op->status == 201) {
        log_debug("dossier accepted");
        op->result = created_json(op->write_arg);
        if (!op->result)
            return http_fail(c, 503, "unavailable", NULL,
                             "the dossier was recorded but its answer could not be built (out of memory); "
                             "post it again: the same body answers 200 with the dossier");
    }
    return http_finish_linked(c);
}

/* write_intake - the engine's intake write (design §3): 201 created, 200 replay with the stored
 * dossier, 409 a different body, 503 no waybill number left or the database busy */
static int
write_intake(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    intake_op_t *op = arg;
    const dossier_t *d = op->d;
    store_intake_t in = {
        .code = d->code,
        .service = d->service,
        .carrier = d->carrier,
        .agency_code = d->agency_code,
        .canonical_body = d->canonical_text,
        .body_hash = d->body_hash,
        .cod_amount = d->cod_amount,
        .transit_days = d->transit_days,
    };
    store_intake_result_t *made = &op->made;
    store_dossier_view_t view;
    store_rc_t rc;

    rc = store_dossiers_intake(tx, &in, now, made);
    /* a return leg waits for the collection leg's receipt at the agency (intake.h); only a
     * dossier that was there before can have one, so a new dossier is not looked up again.
     * A refusal fails the operation, and its savepoint takes the intake back. */
    if (rc == STORE_OK && made->dossier_existed && strcmp(d->service, "return") == 0) {
        rc = intake_return_leg_ready(tx, d->code, err);
        if (rc == STORE_CONFLICT)
            return -1;
        if (rc != STORE_OK) {
            store_failed(err, rc, tx);
            return -1;
        }
    }

    switch (rc) {
    case STORE_OK:
        *out = NULL; /* the body is built from *made by finish_submit */
        return 201;
    case STORE_EXISTS:
        rc = store_dossiers_view(tx, d->code, &view);
        if (rc != STORE_OK)
            break;
        *out = dossier_json(&view);
        store_dossier_view_free(&view);
        return 200;
    case STORE_CONFLICT:
        api_error_set(err, 409, "conflict", "dossier_code",
                      "dossier %s was already submitted for service '%s' with different content; "
                      "a correction needs a new dossier code or a cancel first",
                      d->code, d->service);
        return -1;
    case STORE_EMPTY:
        api_error_set(err, 503, "code_pool_empty", NULL,
                      "no S10 waybill numbers left; an administrator must import a range issued by the carrier: "
                      "POST /v1/codes {\"prefix\": \"RR\", \"from\": 10000000, \"count\": 100000} "
                      "(or: bcci codes import)");
        err->retry_after = 60;
        return -1;
    default:
        break;
    }
    store_failed(err, rc, tx);
    return -1;
}

/* submit_dossier - the checks every dossier passes before the engine writes it (carrier,
 * agency of the token), then the intake write; d is parked on c */
static enum MHD_Result
submit_dossier(http_ctx_t *c, dossier_t *d)
{
    intake_op_t *in = calloc(1, sizeof *in);
    api_error_t e;

    if (!in) {
        dossier_destroy(&d);
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry later");
    }
    in->d = d;
    http_keep(c, in, free_intake_op);
    if (intake_check_deliverable(d, carrier_find(d->carrier), &e) != 0)
        return http_send_error(c, &e);
    if (c->agency && *c->agency && strcmp(d->agency_code, c->agency) != 0)
        return http_fail(c, 403, "forbidden", "agency.code",
                         "this token submits dossiers of agency %s only; the dossier names agency %.40s", c->agency,
                         d->agency_code);
    http_set_request_id(c, d->code);
    http_op(c)->dossier = d;
    http_op(c)->write_fn = write_intake;
    http_op(c)->write_arg = in;
    return http_submit(c, ENGINE_OP_INTAKE, finish_submit);
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
    return submit_dossier(c, d);
}

/* both_submission - the stored 'both' submission of dossier code (caller frees *out), or an
 * error answer in e: 404 unknown dossier, 409 not_both when it was submitted otherwise */
static int
both_submission(http_ctx_t *c, const char *code, char **out, api_error_t *e)
{
    store_tx_t *tx = NULL;
    store_dossier_view_t v;
    store_rc_t rc = store_tx_begin(http_store(c), STORE_READ, &tx);
    size_t i;
    int found = 0;

    *out = NULL;
    memset(&v, 0, sizeof v);
    if (rc == STORE_OK)
        rc = store_dossiers_view(tx, code, &v);
    if (rc != STORE_OK) {
        http_store_error(e, rc, rc == STORE_NOT_FOUND ? "no dossier with this code"
                                : tx ? store_tx_message(tx) : "the database cannot be read; retry later");
        store_tx_abort(&tx);
        return -1;
    }
    store_tx_abort(&tx);
    for (i = 0; i < v.nsubmissions && !found; i++)
        if (strcmp(v.submissions[i].service, "both") == 0) {
            found = 1;
            *out = strdup(v.submissions[i].body);
            if (!*out)
                api_error_set(e, 503, "unavailable", NULL, "out of memory; retry");
        }
    if (!found)
        api_error_set(e, 409, "not_both", NULL,
                      "dossier %s was not submitted for service 'both'; a 'return' dossier is booked with its "
                      "submission, a 'send' one gets its return leg by POST /v1/dossiers with service 'return'",
                      code);
    store_dossier_view_free(&v);
    return *out ? 0 : -1;
}

/* h_result - POST /v1/dossiers/{code}/result: the case system says the result of a 'both'
 * dossier is ready; its return leg is created and booked now, from the 'both' submission and
 * this result, once the collection leg was received at the agency (409 send_leg_not_received
 * before, see intake.h) */
static enum MHD_Result
h_result(http_ctx_t *c)
{
    dossier_t *d = NULL;
    char *both = NULL;
    api_error_t e;
    size_t len;
    const char *body = http_body(c, &len);
    int rc;

    if (!http_require_json(c))
        return http_fail(c, 415, "unsupported_media_type", NULL,
                         "send the result as Content-Type: application/json");
    if (both_submission(c, c->args[0], &both, &e) != 0)
        return http_send_error(c, &e);
    rc = dossier_result_of_both(both, body, len, &d, &e);
    free(both);
    if (rc != 0)
        return http_send_error(c, &e);
    return submit_dossier(c, d);
}

/* read_view - answer 200 with what fn renders from a read transaction, or the store's error;
 * a read that fails half-way is an error, never a partial 200 */
static enum MHD_Result
read_view(http_ctx_t *c, store_rc_t (*fn)(store_tx_t *tx, const char *key, json_t **out), const char *key)
{
    store_tx_t *tx = NULL;
    json_t *doc = NULL;
    api_error_t e;
    store_rc_t rc = store_tx_begin(http_store(c), STORE_READ, &tx);

    if (rc == STORE_OK)
        rc = fn(tx, key, &doc);
    if (rc != STORE_OK) {
        http_store_error(&e, rc, tx ? store_tx_message(tx) : "the database cannot be read; retry later");
        store_tx_abort(&tx);
        return http_send_error(c, &e);
    }
    store_tx_abort(&tx);
    if (!doc)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    http_link_shipments(c, doc); /* the case system texts the citizen the tracking link */
    return http_send_json(c, 200, doc);
}

static store_rc_t
view_dossier(store_tx_t *tx, const char *code, json_t **out)
{
    store_dossier_view_t v;
    store_rc_t rc = store_dossiers_view(tx, code, &v);

    if (rc == STORE_OK) {
        *out = dossier_json(&v);
        store_dossier_view_free(&v);
    }
    return rc;
}

static store_rc_t
view_timeline(store_tx_t *tx, const char *code, json_t **out)
{
    store_timeline_t t;
    store_dossier_view_t v;
    store_rc_t rc = store_dossiers_timeline(tx, code, &t);

    if (rc != STORE_OK)
        return rc;
    /* the legs of its shipments, for the DVC code of each event */
    rc = store_dossiers_view(tx, code, &v);
    if (rc == STORE_OK) {
        *out = timeline_json(code, &t, &v);
        store_dossier_view_free(&v);
    }
    store_timeline_free(&t);
    return rc;
}

/* view_shipment - one shipment of its dossier's view, with the dossier code */
static store_rc_t
view_shipment(store_tx_t *tx, const char *waybill, json_t **out)
{
    char code[STORE_CODE_MAX];
    store_dossier_view_t v;
    store_rc_t rc = store_dossiers_code_of_waybill(tx, waybill, code);
    size_t i;

    if (rc == STORE_OK)
        rc = store_dossiers_view(tx, code, &v);
    if (rc != STORE_OK)
        return rc;
    for (i = 0; i < v.nshipments && !*out; i++)
        if (strcmp(v.shipments[i].waybill, waybill) == 0) {
            *out = shipment_json(&v.shipments[i]);
            if (*out)
                json_object_set_new(*out, "dossier_code", json_string(code));
        }
    store_dossier_view_free(&v);
    return *out ? STORE_OK : STORE_NOT_FOUND; /* it left its dossier between the two reads */
}

static enum MHD_Result
h_get_dossier(http_ctx_t *c)
{
    return read_view(c, view_dossier, c->args[0]);
}

static enum MHD_Result
h_get_timeline(http_ctx_t *c)
{
    return read_view(c, view_timeline, c->args[0]);
}

static enum MHD_Result
h_get_shipment(http_ctx_t *c)
{
    enum MHD_Result ret;

    if (http_check_waybill(c, c->args[0], NULL, &ret) != 0)
        return ret;
    return read_view(c, view_shipment, c->args[0]);
}

/* ---------------------------------------------------------------- cancel */

typedef struct {
    char waybill[16];
    char source[16];
    char reason[600];           /* the clerk's reason, for the timeline; "" = none given */
    const sink_policy_t *policy;
} cancel_req_t;

/* write_cancel - cancel before pick-up (design §7). Not yet booked: withdraw the booking job
 * and cancel at once. Booked: a cancel job asks the carrier (202). Picked up: 409. */
static int
write_cancel(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    cancel_req_t *r = arg;
    store_cancel_target_t t;
    store_rc_t rc;
    int left;

    rc = store_dossiers_cancel_target(tx, r->waybill, &t);
    if (rc != STORE_OK) {
        store_failed(err, rc, tx);
        return -1;
    }
    if (strcmp(t.status, "cancelled") == 0) {
        *out = json_pack("{s:s, s:s}", "waybill", r->waybill, "status", "cancelled");
        return 200;
    }
    if (strcmp(t.status, "created") != 0 && strcmp(t.status, "booked") != 0 &&
        strcmp(t.status, "pickup_pending") != 0 && strcmp(t.status, "exception") != 0) {
        api_error_set(err, 409, "already_picked_up", NULL,
                      "shipment %s is %s: the postal service already has it, so it can no longer be cancelled",
                      r->waybill, t.status);
        return -1;
    }
    /* on a handover list the post office has not taken yet: the item leaves the list, so the
     * biên bản printed afterwards no longer names it */
    rc = store_dossiers_leave_manifest(tx, &t, r->source, now, &left);
    if (rc == STORE_OK && r->reason[0]) {
        char text[700];

        snprintf(text, sizeof text, "Lý do hủy: %s", r->reason);
        rc = http_timeline_note(tx, t.dossier_id, t.shipment_id, r->source, text,
                                json_pack("{s:s, s:s}", "kind", "cancel_reason", "reason", r->reason), now);
    }
    if (rc != STORE_OK)
        goto store_fail;
    if (!t.has_carrier_ref && strcmp(t.book_state, "leased") != 0) {
        /* nothing reached the carrier yet: withdraw the booking and cancel here */
        rc = store_dossiers_withdraw_booking(tx, t.shipment_id, now);
        if (rc != STORE_OK)
            goto store_fail;
        rc = sink_set_status(tx, t.shipment_id, "cancelled", NULL, now, r->source,
                             "Đã hủy yêu cầu gửi trước khi chuyển sang bưu điện", NULL, r->policy, now);
        if (rc == STORE_BUSY || rc == STORE_ERROR)
            goto store_fail;
        *out = json_pack("{s:s, s:s}", "waybill", r->waybill, "status", "cancelled");
        return 200;
    }
    /* booked, or its booking is in flight: the carrier must cancel (the job waits for the
     * carrier's order id when the booking has not answered yet) */
    rc = store_dossiers_request_cancel(tx, &t, r->source, now);
    if (rc != STORE_OK)
        goto store_fail;
    *out = json_pack("{s:s, s:s}", "waybill", r->waybill, "status", "cancel_requested");
    return 202;
store_fail:
    store_failed(err, rc, tx);
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
    {
        size_t len;
        const char *body = http_body(c, &len);
        json_t *root = len ? json_loadb(body, len, 0, NULL) : NULL;
        const json_t *jr = json_object_get(root, "reason");

        if (jr && !json_is_null(jr) && (!json_is_string(jr) || json_string_length(jr) >= sizeof r->reason)) {
            json_decref(root);
            return http_fail(c, 422, "invalid_field", "reason", "reason must be a text of at most %zu bytes",
                             sizeof r->reason - 1);
        }
        if (json_is_string(jr))
            snprintf(r->reason, sizeof r->reason, "%s", json_string_value(jr));
        json_decref(root);
    }
    snprintf(r->waybill, sizeof r->waybill, "%s", c->args[0]);
    snprintf(r->source, sizeof r->source, "%s", c->role == ROLE_CLERK ? "clerk" : "case_system");
    r->policy = engine_policy(http_engine(c));
    return http_submit_call(c, write_cancel, r, http_finish_linked);
}

const http_route_t api_dossier_routes[] = {
    { "POST", "/v1/shipments/*/cancel", h_cancel, ROLES_STAFF, "cancel before pick-up", HTTP_SCOPE_WAYBILL },
    { "POST", "/v1/dossiers", h_submit, ROLE_CASE_SYSTEM | ROLE_ADMIN, "submit a dossier", HTTP_SCOPE_NONE },
    { "GET", "/v1/dossiers/*", h_get_dossier, ROLES_STAFF, "dossier, shipments, current status", HTTP_SCOPE_DOSSIER },
    { "GET", "/v1/dossiers/*/timeline", h_get_timeline, ROLES_STAFF, "the case timeline", HTTP_SCOPE_DOSSIER },
    { "POST", "/v1/dossiers/*/result", h_result, ROLE_CASE_SYSTEM | ROLE_ADMIN,
      "a 'both' dossier's result is ready: book its return leg", HTTP_SCOPE_DOSSIER },
    { "GET", "/v1/shipments/*", h_get_shipment, ROLES_STAFF | ROLE_POST_OFFICE, "one shipment by waybill", HTTP_SCOPE_WAYBILL },
    { NULL, NULL, NULL, 0, NULL, HTTP_SCOPE_NONE },
};
