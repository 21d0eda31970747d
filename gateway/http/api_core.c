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
#include "log.h"
#include "gateway/store/sqlite/jobs.h"

static enum MHD_Result
h_healthz(http_ctx_t *c)
{
    db_t *db = http_reader(c);
    engine_stats_t st;
    json_t *doc = NULL;

    if (!db || store_health_json(db, &doc) != 0) {
        http_reader_put(c, db);
        return http_fail(c, 503, "storage_unavailable", NULL, "the database cannot be read");
    }
    http_reader_put(c, db);
    engine_get_stats(http_engine(c), &st);
    json_object_set_new(doc, "status", json_string("ok"));
    json_object_set_new(doc, "workers", json_integer(st.workers));
    json_object_set_new(doc, "breakers_open", json_integer(st.breaker_open));
    return http_send_json(c, 200, doc);
}

/* ---------------------------------------------------------------- codes */

typedef struct {
    char prefix[3], country[3];
    long long from, count;
} codes_req_t;

static int
write_import_codes(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    store_t *store = store_tx_store(tx);
    codes_req_t *r = arg;
    int status = store_import_codes(store, r->prefix, r->country, r->from, r->count, now, out, err);

    if (status == 201)
        log_info("code range imported: %lld numbers", r->count);
    return status;
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
    return http_send_read(c, store_codes_status, NULL);
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

static enum MHD_Result
h_jobs(http_ctx_t *c)
{
    const char *state = http_query(c, "state");
    db_t *db;
    json_t *doc = NULL, *counts = NULL;
    int rc;

    if (state && strcmp(state, "ready") && strcmp(state, "leased") && strcmp(state, "done") && strcmp(state, "dead"))
        return http_fail(c, 400, "invalid_query", "state", "state must be one of ready, leased, done, dead");
    db = http_reader(c);
    if (!db)
        return http_fail(c, 503, "storage_unavailable", NULL, "the database cannot be read; retry later");
    /* an agency-bound token lists its agency's jobs only; the counts stay global (numbers, no one's data) */
    rc = jobs_list(db, state, c->agency, 500, &doc);
    if (rc == 0)
        rc = jobs_counts(db, &counts);
    http_reader_put(c, db);
    if (rc != 0) {
        json_decref(doc);
        json_decref(counts);
        return http_fail(c, 503, "storage_unavailable", NULL, "the database cannot be read; retry later");
    }
    return http_send_json(c, 200, json_pack("{s:o, s:o}", "jobs", doc, "counts", counts));
}

static int
write_job_revive(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    store_t *store = store_tx_store(tx);
    int64_t id = *(int64_t *)arg;
    int rc = jobs_revive(store_writer(store), id, now);

    if (rc == 1) {
        api_error_set(err, 404, "not_found", NULL, "no dead job %lld; bcci jobs dead lists them", (long long)id);
        return -1;
    }
    if (rc < 0) {
        api_error_set(err, 503, "storage_unavailable", NULL, "the database is busy; retry later");
        err->retry_after = 2;
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

/* --------------------------------------------------------------- tokens */

typedef struct {
    char name[72], role[24], agency[AUTH_AGENCY_LEN + 8];
} token_req_t;

static int
write_token_create(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    store_t *store = store_tx_store(tx);
    token_req_t *t = arg;
    char token[AUTH_TOKEN_LEN];

    return auth_token_create(store_writer(store), t->name, t->role, t->agency, now, token, out, err);
}

static int
write_token_revoke(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    store_t *store = store_tx_store(tx);
    token_req_t *t = arg;

    return auth_token_revoke(store_writer(store), t->name, now, out, err);
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
    return http_send_read(c, auth_token_list, "tokens");
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
    { "POST", "/v1/jobs/*/retry", h_job_retry, ROLE_ADMIN | ROLE_CLERK, "replay a dead job", HTTP_SCOPE_JOB },
    { "POST", "/v1/tokens", h_token_create, ROLE_ADMIN, "create an API token (shown once)", HTTP_SCOPE_NONE },
    { "GET", "/v1/tokens", h_token_list, ROLE_ADMIN, "list API tokens", HTTP_SCOPE_NONE },
    { "POST", "/v1/tokens/*/revoke", h_token_revoke, ROLE_ADMIN, "revoke an API token", HTTP_SCOPE_NONE },
    { "GET", "/v1/routes", h_routes, ROLE_ADMIN, "every route and the roles allowed", HTTP_SCOPE_NONE },
    { NULL, NULL, NULL, 0, NULL, HTTP_SCOPE_NONE },
};
