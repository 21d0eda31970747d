/*
 * api_core - health, the code pool, carrier webhooks, jobs and API tokens
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carriers/carrier.h"
#include "clock.h"
#include "gateway/http/auth.h"
#include "gateway/http/http_internal.h"
#include "gateway/http/http_json.h"
#include "gateway/http/webhook_auth.h"
#include "gateway/store/store_admin.h"
#include "gateway/store/store_dossiers.h"
#include "domain/s10.h"
#include "log.h"
#include "gateway/store/store_jobs.h"

/* h_healthz - 200 while the gateway can read and write its database: "ok", or "degraded" with
 * reasons (no_workers: nothing is booked or notified; dead_jobs: jobs gave up and wait for an
 * operator); 503 "failing" with the reason while the writer's transactions fail (another process
 * holds the lock, disk full, …) */
static enum MHD_Result
h_healthz(http_ctx_t *c)
{
    store_t *store = http_store(c);
    store_tx_t *tx = NULL;
    store_gauges_t g;
    engine_stats_t st;
    const char *why = NULL;
    store_rc_t rc, health;
    json_t *doc, *reasons, *paused;
    int failing, i;

    health = store_health(store, &why);
    failing = health != STORE_OK;
    rc = store_tx_begin(store, STORE_READ, &tx);
    if (rc == STORE_OK) {
        rc = store_jobs_gauges(tx, &g);
        if (rc != STORE_OK)
            why = why ? why : store_tx_message(tx);
    }
    doc = json_object();
    if (rc != STORE_OK) {
        failing = 1;
        if (!why)
            why = "the database cannot be read";
    } else {
        json_object_set_new(doc, "dossiers", json_integer(g.dossiers));
        json_object_set_new(doc, "jobs_pending", json_integer(g.jobs_pending));
        json_object_set_new(doc, "jobs_dead", json_integer(g.jobs_dead));
        json_object_set_new(doc, "codes_left", json_integer(g.codes_left));
    }
    engine_get_stats(http_engine(c), &st);
    /* degraded: answers and takes dossiers, but something an operator must fix holds work back;
     * a carrier that refuses the gateway's credentials sends nothing until an operator acts */
    reasons = json_array();
    paused = json_array();
    if (st.workers == 0)
        json_array_append_new(reasons, json_string("no_workers"));
    if (rc == STORE_OK && g.jobs_dead > 0)
        json_array_append_new(reasons, json_string("dead_jobs"));
    for (i = 0; i < st.ncarriers; i++)
        if (st.carriers[i].paused)
            json_array_append_new(paused, json_pack("{s:s, s:s}", "carrier", st.carriers[i].name, "reason",
                                                    st.carriers[i].reason));
    if (json_array_size(paused) > 0)
        json_array_append_new(reasons, json_string("carrier_paused"));
    json_object_set_new(doc, "status",
                        json_string(failing ? "failing" : json_array_size(reasons) ? "degraded" : "ok"));
    json_object_set_new(doc, "reasons", reasons);
    json_object_set_new(doc, "carriers_paused", paused);
    json_object_set_new(doc, "storage", json_string(failing ? "failing" : "ok"));
    if (failing)
        json_object_set_new(doc, "storage_reason", json_string(why));
    json_object_set_new(doc, "workers", json_integer(st.workers));
    json_object_set_new(doc, "breakers_open", json_integer(st.breaker_open));
    json_object_set_new(doc, "scheduler_leader", json_boolean(st.scheduler_leader));
    store_tx_abort(&tx);
    if (failing)
        http_add_header(c, "Retry-After", "2");
    return http_send_json(c, failing ? 503 : 200, doc);
}

/* ---------------------------------------------------------------- codes */

typedef struct {
    char prefix[3], country[3];
    long long from, count;
} codes_req_t;

static int
write_import_codes(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    codes_req_t *r = arg;
    long long last = r->from + r->count - 1;
    char first_code[S10_LEN + 1], last_code[S10_LEN + 1];
    store_code_range_t overlap;
    store_rc_t rc = store_dossiers_import_codes(tx, r->prefix, r->country, r->from, r->count, now, &overlap);

    if (rc == STORE_CONFLICT) {
        api_error_set(err, 409, "conflict", "from",
                      "range %s %lld..%lld overlaps the imported range %lld..%lld; S10 numbers are never reused, "
                      "import only ranges the carrier issued anew",
                      r->prefix, r->from, last, overlap.first, overlap.last);
        return -1;
    }
    if (rc != STORE_OK) {
        http_store_error(err, rc, store_tx_message(tx));
        return -1;
    }
    s10_format(r->prefix, (unsigned long)r->from, r->country, first_code, sizeof first_code);
    s10_format(r->prefix, (unsigned long)last, r->country, last_code, sizeof last_code);
    *out = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "prefix", r->prefix, "country", r->country, "from",
                     (json_int_t)r->from, "count", (json_int_t)r->count, "first", first_code, "last", last_code);
    log_info("code range imported: %lld numbers", r->count);
    return 201;
}

static void
free_json(void *p)
{
    json_decref(p);
}

static enum MHD_Result
h_import_codes(http_ctx_t *c)
{
    api_error_t e;
    json_t *root, *jf, *jn, *jc;
    const char *prefix, *country = "VN";
    codes_req_t *r;

    if (!http_require_json(c))
        return http_fail(c, 415, "unsupported_media_type", NULL, "send JSON with Content-Type: application/json");
    root = http_parse_only(c, (const char *const[]){ "prefix", "from", "count", "country", NULL }, &e);
    if (!root)
        return http_send_error(c, &e);
    http_keep(c, root, free_json);
    prefix = json_string_value(json_object_get(root, "prefix"));
    jf = json_object_get(root, "from");
    jn = json_object_get(root, "count");
    jc = json_object_get(root, "country");
    if (jc)
        country = json_string_value(jc);
    if (!prefix || strlen(prefix) != 2 || prefix[0] < 'A' || prefix[0] > 'Z' || prefix[1] < 'A' || prefix[1] > 'Z' ||
        strchr("JKSTW", prefix[0]))
        return http_fail(c, 422, "invalid_field", "prefix",
                         "prefix must be a two-letter S10 service indicator such as RR, EE or CP (not J, K, S, T, W)");
    if (!country || strlen(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' ||
        country[1] > 'Z')
        return http_fail(c, 422, "invalid_field", "country", "country must be a two-letter ISO code such as VN");
    if (!json_is_integer(jf) || json_integer_value(jf) < 0 || json_integer_value(jf) > 99999999)
        return http_fail(c, 422, "invalid_field", "from", "from must be an 8-digit serial between 0 and 99999999");
    if (!json_is_integer(jn) || json_integer_value(jn) < 1 ||
        json_integer_value(jf) + json_integer_value(jn) - 1 > 99999999)
        return http_fail(c, 422, "invalid_field", "count",
                         "count must be at least 1 and the range must end at or below serial 99999999");
    r = calloc(1, sizeof *r);
    if (!r)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    http_keep(c, r, free);
    memcpy(r->prefix, prefix, 3);
    memcpy(r->country, country, 3);
    r->from = json_integer_value(jf);
    r->count = json_integer_value(jn);
    return http_submit_call(c, write_import_codes, r, http_finish_default);
}

static enum MHD_Result
h_codes_status(http_ctx_t *c)
{
    store_tx_t *tx = NULL;
    store_codes_t codes;
    long long left_total;
    json_t *ranges;
    api_error_t e;
    store_rc_t rc = store_tx_begin(http_store(c), STORE_READ, &tx);
    size_t i;

    if (rc == STORE_OK)
        rc = store_dossiers_codes_status(tx, &codes);
    if (rc != STORE_OK) {
        http_store_error(&e, rc, tx ? store_tx_message(tx) : NULL);
        store_tx_abort(&tx);
        return http_send_error(c, &e);
    }
    store_tx_abort(&tx);
    ranges = json_array();
    for (i = 0; i < codes.nranges; i++) {
        const store_code_range_t *r = &codes.ranges[i];
        long long left = r->last - r->next + 1;

        json_array_append_new(ranges, json_pack("{s:s, s:s, s:I, s:I, s:I}", "prefix", r->prefix, "country",
                                                r->country, "first", (json_int_t)r->first, "last",
                                                (json_int_t)r->last, "left", (json_int_t)(left > 0 ? left : 0)));
    }
    left_total = codes.left;
    store_codes_free(&codes);
    return http_send_json(c, 200, json_pack("{s:I, s:o}", "left", (json_int_t)left_total, "ranges", ranges));
}

/* ------------------------------------------------------------- webhooks */

static void
free_events(void *p)
{
    carrier_event_list_free(p);
    free(p);
}

static enum MHD_Result
finish_events(http_ctx_t *c)
{
    engine_op_t *op = http_op(c);

    if (op->status >= 300)
        return http_send_error(c, &op->err);
    if (op->report.unknown_ship > 0)
        log_warn("carrier %s sent %d events for unknown shipments", op->carrier->name, op->report.unknown_ship);
    if (op->report.unknown_ship > 0 && op->report.applied == 0 && op->report.duplicates == 0)
        return http_fail(c, 404, "unknown_shipment", NULL,
                         "none of the %d events names a shipment of this gateway; nothing was recorded",
                         op->report.unknown_ship);
    return http_send_json(c, 200,
                          json_pack("{s:i, s:i, s:i, s:i, s:i}", "applied", op->report.applied, "duplicates",
                                    op->report.duplicates, "unknown_shipments", op->report.unknown_ship,
                                    "unknown_codes", op->report.unknown_code, "status_changes",
                                    op->report.status_changes));
}

static enum MHD_Result
h_carrier_events(http_ctx_t *c)
{
    const carrier_ops_t *ops = carrier_find(c->args[0]);
    carrier_event_list_t *events;
    size_t len, i;
    const char *body = http_body(c, &len);
    char perr[256] = "";
    engine_op_t *op;

    if (!ops)
        return http_fail(c, 404, "unknown_carrier", NULL, "no carrier '%.40s' here; known carriers: %s", c->args[0],
                         carrier_names());
    if (c->role == 0) {
        /* no bearer token: the carrier must have signed the body */
        webhook_verdict_t v = webhook_auth_verify(http_config(c)->webhooks, ops->name,
                                                  http_header(c, "X-BCCI-Signature"), body, len,
                                                  clock_now_ms() / 1000);
        if (v != WEBHOOK_OK) {
            log_warn("carrier %s webhook refused: %s", ops->name, webhook_verdict_message(v));
            return http_fail(c, 401, "unauthorized", NULL, "%s", webhook_verdict_message(v));
        }
    } else if (!(c->role & (ROLE_CARRIER | ROLE_ADMIN))) {
        return http_fail(c, 403, "forbidden", NULL, "only a carrier may post carrier events");
    } else {
        char ip[64];
        if (!webhook_auth_allowed(http_config(c)->webhooks, ops->name, http_client_ip(c, ip, sizeof ip))) {
            log_warn("carrier %s webhook from an address outside its allow-list", ops->name);
            return http_fail(c, 403, "forbidden", NULL, "this address may not post events for carrier %s",
                             ops->name);
        }
    }
    if (!http_require_json(c))
        return http_fail(c, 415, "unsupported_media_type", NULL, "send events as Content-Type: application/json");
    if (!json_depth_ok(body, len, DOSSIER_MAX_DEPTH))
        return http_fail(c, 400, "invalid_body", NULL, "JSON nested deeper than %d levels", DOSSIER_MAX_DEPTH);
    events = calloc(1, sizeof *events);
    if (!events)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    http_keep(c, events, free_events);
    if (ops->parse_webhook(body, len, events, perr, sizeof perr) != 0)
        return http_fail(c, 400, "invalid_body", NULL, "%s", perr);
    for (i = 0; i < events->n; i++) {
        enum MHD_Result ret;
        if (events->items[i].waybill[0] && http_check_waybill(c, events->items[i].waybill, "itemCode", &ret) != 0)
            return ret;
    }
    op = http_op(c);
    op->carrier = ops;
    op->events = events;
    return http_submit(c, ENGINE_OP_EVENTS, finish_events);
}

/* ----------------------------------------------------------------- jobs */

static json_t *
job_json(const store_job_t *j)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:i, s:I, s:s, s:I}", "id", (json_int_t)j->id, "kind", j->kind, "carrier",
                     j->carrier, "state", j->state, "attempts", j->attempts, "next_attempt_at",
                     (json_int_t)j->next_attempt_at, "last_error", j->last_error, "shipment_id",
                     (json_int_t)j->shipment_id);
}

/* counts_json - {"book": {"ready": n, …}, …}, only the kinds and states that have jobs */
static json_t *
counts_json(const store_job_counts_t *counts)
{
    json_t *doc = json_object();
    int k, s;

    for (k = 0; k < STORE_JOB_KINDS; k++) {
        json_t *states = NULL;

        for (s = 0; s < STORE_JOB_STATES; s++) {
            if (counts->n[k][s] == 0)
                continue;
            if (!states)
                states = json_object();
            json_object_set_new(states, store_job_state_name((store_job_state_t)s), json_integer(counts->n[k][s]));
        }
        if (states)
            json_object_set_new(doc, store_job_kind_name((store_job_kind_t)k), states);
    }
    return doc;
}

static enum MHD_Result
h_jobs(http_ctx_t *c)
{
    const char *state = http_query(c, "state");
    store_job_filter_t filter = { 1, STORE_JOB_READY, NULL, 500 };
    store_job_list_t list = { NULL, 0 };
    store_job_counts_t counts;
    store_tx_t *tx = NULL;
    api_error_t e;
    json_t *jobs;
    store_rc_t rc;
    size_t i;

    if (state && store_job_state_parse(state, &filter.state) != 0)
        return http_fail(c, 400, "invalid_query", "state", "state must be one of ready, leased, done, dead");
    filter.any_state = state == NULL;
    /* an agency-bound token lists its agency's jobs only; the counts stay global (numbers, no one's data) */
    filter.agency = c->agency;
    rc = store_tx_begin(http_store(c), STORE_READ, &tx);
    if (rc == STORE_OK)
        rc = store_jobs_list(tx, &filter, &list);
    if (rc == STORE_OK)
        rc = store_jobs_counts(tx, &counts);
    if (rc != STORE_OK) {
        http_store_error(&e, rc, tx ? store_tx_message(tx) : "the database cannot be read; retry later");
        store_tx_abort(&tx);
        store_job_list_free(&list);
        return http_send_error(c, &e);
    }
    store_tx_abort(&tx);
    jobs = json_array();
    for (i = 0; i < list.n; i++)
        json_array_append_new(jobs, job_json(&list.items[i]));
    store_job_list_free(&list);
    return http_send_json(c, 200, json_pack("{s:o, s:o}", "jobs", jobs, "counts", counts_json(&counts)));
}

static int
write_job_revive(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    int64_t id = *(int64_t *)arg;
    store_rc_t rc = store_jobs_revive(tx, id, now);

    if (rc == STORE_NOT_FOUND) {
        api_error_set(err, 404, "not_found", NULL, "no dead job %lld; bcci jobs dead lists them", (long long)id);
        return -1;
    }
    if (rc != STORE_OK) {
        http_store_error(err, rc, store_tx_message(tx));
        return -1;
    }
    *out = json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "ready");
    return 200;
}

static enum MHD_Result
h_job_retry(http_ctx_t *c)
{
    char *end;
    long long id = strtoll(c->args[0], &end, 10);
    int64_t *arg;

    if (*end || id <= 0)
        return http_fail(c, 400, "invalid_path", NULL, "the job id must be a positive number");
    arg = malloc(sizeof *arg);
    if (!arg)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    *arg = id;
    http_keep(c, arg, free);
    return http_submit_call(c, write_job_revive, arg, http_finish_default);
}

/* jobs_retry_req_t - POST /v1/jobs/retry: dead jobs to replay in bulk ("" = any) */
typedef struct {
    char kind[16], carrier[32];
    int64_t since;
} jobs_retry_req_t;

static int
write_jobs_revive_all(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    jobs_retry_req_t *r = arg;
    int n = 0;
    store_rc_t rc = store_jobs_revive_all(tx, r->kind, r->carrier, r->since, now, &n);

    if (rc != STORE_OK) {
        http_store_error(err, rc, store_tx_message(tx));
        return -1;
    }
    if (n > 0)
        log_info("%d dead jobs back to ready (kind %s, carrier %s)", n, r->kind[0] ? r->kind : "any",
                 r->carrier[0] ? r->carrier : "any");
    *out = json_pack("{s:i}", "revived", n);
    return 200;
}

static enum MHD_Result
h_jobs_retry_all(http_ctx_t *c)
{
    api_error_t e;
    json_t *root;
    const json_t *jk, *jc, *js;
    jobs_retry_req_t *r;
    store_job_kind_t kind;
    size_t len, i;
    const char *body = http_body(c, &len);

    /* no body, or {}: every dead job */
    for (i = 0; i < len && body[i] && strchr(" \t\r\n", body[i]); i++) {
    }
    root = i == len ? json_object() : http_parse_only(c, (const char *const[]){ "kind", "carrier", "since", NULL }, &e);
    if (!root)
        return http_send_error(c, &e);
    http_keep(c, root, free_json);
    r = calloc(1, sizeof *r);
    if (!r)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    http_keep(c, r, free);
    jk = json_object_get(root, "kind");
    jc = json_object_get(root, "carrier");
    js = json_object_get(root, "since");
    if (jk && !json_is_null(jk)) {
        if (!json_is_string(jk) || store_job_kind_parse(json_string_value(jk), &kind) != 0)
            return http_fail(c, 422, "invalid_field", "kind",
                             "kind must be book, cancel, track, notify, sms or email (or left out for every kind)");
        snprintf(r->kind, sizeof r->kind, "%s", json_string_value(jk));
    }
    if (jc && !json_is_null(jc)) {
        const char *name = json_string_value(jc);

        /* the jobs' channel: a carrier (vnpost, viettel) or case_system for notify jobs */
        if (!name || !*name || strlen(name) >= sizeof r->carrier ||
            strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name))
            return http_fail(c, 422, "invalid_field", "carrier",
                             "carrier must be a channel name such as vnpost, viettel or case_system (the carrier "
                             "column of bcci jobs list), or left out for every channel");
        snprintf(r->carrier, sizeof r->carrier, "%s", json_string_value(jc));
    }
    if (js && !json_is_null(js)) {
        if (!json_is_string(js) || clock_parse(json_string_value(js), &r->since) != 0)
            return http_fail(c, 422, "invalid_field", "since",
                             "since must be a time such as 2025-11-24T08:00:00+07:00 or 24/11/2025 08:00:00; only "
                             "jobs that died at or after it come back");
    }
    return http_submit_call(c, write_jobs_revive_all, r, http_finish_default);
}

/* --------------------------------------------------------------- tokens */

typedef struct {
    char name[72], role[24], agency[AUTH_AGENCY_LEN + 8];
} token_req_t;

static int
write_token_create(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    token_req_t *t = arg;
    char token[AUTH_TOKEN_LEN];

    if (auth_token_create(tx, t->name, t->role, t->agency, now, token, err) != 0)
        return -1;
    *out = json_pack("{s:s, s:s, s:s}", "name", t->name, "role", t->role, "token", token);
    explicit_bzero(token, sizeof token);
    if (*out && t->agency[0])
        json_object_set_new(*out, "agency_code", json_string(t->agency));
    if (!*out) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    return 201;
}

static int
write_token_revoke(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    token_req_t *t = arg;

    if (auth_token_revoke(tx, t->name, now, err) != 0)
        return -1;
    *out = json_pack("{s:s, s:b}", "name", t->name, "revoked", 1);
    if (!*out) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    return 200;
}

static enum MHD_Result
h_token_create(http_ctx_t *c)
{
    api_error_t e;
    json_t *root = http_parse_only(c, (const char *const[]){ "name", "role", "agency_code", NULL }, &e);
    token_req_t *t;

    if (!root)
        return http_send_error(c, &e);
    t = calloc(1, sizeof *t);
    if (!t) {
        json_decref(root);
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    }
    http_keep(c, t, free);
    snprintf(t->name, sizeof t->name, "%s",
             json_string_value(json_object_get(root, "name")) ? json_string_value(json_object_get(root, "name"))
                                                                : "");
    snprintf(t->role, sizeof t->role, "%s",
             json_string_value(json_object_get(root, "role")) ? json_string_value(json_object_get(root, "role"))
                                                                : "");
    {
        json_t *ag = json_object_get(root, "agency_code");
        if (ag && !json_is_null(ag) && !json_is_string(ag)) {
            json_decref(root);
            return http_fail(c, 422, "invalid_field", "agency_code",
                             "agency_code must be a string like 000.00.31.H23, or absent for every agency");
        }
        /* one byte too long for the buffer is enough for auth to refuse it as too long */
        snprintf(t->agency, sizeof t->agency, "%s", ag && json_is_string(ag) ? json_string_value(ag) : "");
    }
    json_decref(root);
    log_info("token requested for a %s client", t->role);
    return http_submit_call(c, write_token_create, t, http_finish_default);
}

static enum MHD_Result
h_token_revoke(http_ctx_t *c)
{
    token_req_t *t = calloc(1, sizeof *t);

    if (!t)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    http_keep(c, t, free);
    snprintf(t->name, sizeof t->name, "%s", c->args[0]);
    return http_submit_call(c, write_token_revoke, t, http_finish_default);
}

static enum MHD_Result
h_token_list(http_ctx_t *c)
{
    store_token_list_t list = { 0 };
    store_tx_t *tx = NULL;
    api_error_t e;
    json_t *tokens;
    store_rc_t rc;
    size_t i;

    rc = store_tx_begin(http_store(c), STORE_READ, &tx);
    if (rc == STORE_OK)
        rc = store_admin_token_list(tx, &list);
    if (rc != STORE_OK) {
        http_store_error(&e, rc, tx ? store_tx_message(tx) : "the database cannot be read; retry later");
        store_tx_abort(&tx);
        return http_send_error(c, &e);
    }
    store_tx_abort(&tx);
    tokens = json_array();
    for (i = 0; tokens && i < list.n; i++) {
        const store_token_t *t = &list.items[i];
        json_t *doc = json_pack("{s:s, s:s, s:I, s:b}", "name", t->name, "role", t->role, "created_at",
                                (json_int_t)t->created_at, "revoked", t->revoked_at != 0);

        if (doc && t->agency_code[0])
            json_object_set_new(doc, "agency_code", json_string(t->agency_code));
        if (!doc || json_array_append_new(tokens, doc) != 0) {
            json_decref(tokens);
            tokens = NULL;
        }
    }
    store_token_list_free(&list);
    if (!tokens)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    return http_send_json(c, 200, json_pack("{s:o}", "tokens", tokens));
}

static enum MHD_Result
h_routes(http_ctx_t *c)
{
    return http_send_json(c, 200, json_pack("{s:o}", "routes", http_api_routes()));
}

const http_route_t api_core_routes[] = {
    { "GET", "/healthz", h_healthz, ROLE_PUBLIC, "health", HTTP_SCOPE_NONE },
    { "POST", "/v1/codes", h_import_codes, ROLE_ADMIN, "import an S10 range", HTTP_SCOPE_NONE },
    { "GET", "/v1/codes", h_codes_status, ROLE_ADMIN | ROLE_CLERK, "numbers left in the code pool", HTTP_SCOPE_NONE },
    /* public at the routing level: a carrier proves itself with a signature (checked in the
     * handler) or a bearer token of role carrier */
    { "POST", "/v1/carriers/*/events", h_carrier_events, ROLE_CARRIER | ROLE_ADMIN | ROLE_PUBLIC,
      "carrier webhooks (signed, or bearer token)", HTTP_SCOPE_NONE },
    { "GET", "/v1/jobs", h_jobs, ROLE_ADMIN | ROLE_CLERK, "jobs by state", HTTP_SCOPE_NONE },
    { "POST", "/v1/jobs/retry", h_jobs_retry_all, ROLE_ADMIN, "replay dead jobs in bulk", HTTP_SCOPE_NONE },
    { "POST", "/v1/jobs/*/retry", h_job_retry, ROLE_ADMIN | ROLE_CLERK, "replay a dead job", HTTP_SCOPE_JOB },
    { "POST", "/v1/tokens", h_token_create, ROLE_ADMIN, "create an API token (shown once)", HTTP_SCOPE_NONE },
    { "GET", "/v1/tokens", h_token_list, ROLE_ADMIN, "list API tokens", HTTP_SCOPE_NONE },
    { "POST", "/v1/tokens/*/revoke", h_token_revoke, ROLE_ADMIN, "revoke an API token", HTTP_SCOPE_NONE },
    { "GET", "/v1/routes", h_routes, ROLE_ADMIN, "every route and the roles allowed", HTTP_SCOPE_NONE },
    { NULL, NULL, NULL, 0, NULL, HTTP_SCOPE_NONE },
};
