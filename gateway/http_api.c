/*
 * http_api - routes and request handling (see http_api.h)
 *
 * Each request's body is collected into a bounded buffer; the handler runs
 * once the body is complete, on the call after the last chunk, which is also
 * what keeps libmicrohttpd connections alive. Responses are JSON; errors use
 * the shape of design §7.
 */
#include "gateway/http_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "carriers/carrier.h"
#include "clock.h"
#include "crypto.h"
#include "gateway/api_error.h"
#include "gateway/dossier.h"
#include "gateway/ident.h"
#include "labels/s10.h"
#include "log.h"
#include "queues/jobs.h"

struct http_api {
    struct MHD_Daemon *daemon;
    engine_t *engine;
    store_t *store;
    http_api_config_t cfg;
    int port;
};

typedef struct {
    buf_t body;
    int too_big;
    char rid[40];
} request_t;

typedef struct {
    struct http_api *api;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    char *segs[8];
    int nsegs;
    request_t *req;
} ctx_t;

/* ------------------------------------------------------------ responses */

static enum MHD_Result
send_text(ctx_t *c, int status, const char *content_type, char *body, size_t len, int retry_after)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", content_type);
    MHD_add_response_header(r, "X-Request-Id", c->req->rid);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    ret = MHD_queue_response(c->conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

/* send_json - takes ownership of doc */
static enum MHD_Result
send_json(ctx_t *c, int status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);

    json_decref(doc);
    if (!text)
        return MHD_NO;
    return send_text(c, status, "application/json; charset=utf-8", text, strlen(text), 0);
}

static enum MHD_Result
send_error(ctx_t *c, const api_error_t *e)
{
    char *text = api_error_json(e);

    if (e->status >= 500)
        log_warn("%s %s -> %d %s: %s", c->method, c->path, e->status, e->code, e->message);
    else
        log_info("%s %s -> %d %s%s%s", c->method, c->path, e->status, e->code, e->field[0] ? " field " : "",
                 e->field);
    if (!text)
        return MHD_NO;
    return send_text(c, e->status, "application/json; charset=utf-8", text, strlen(text), e->retry_after);
}

static enum MHD_Result
fail(ctx_t *c, int status, const char *code, const char *field, const char *fmt, const char *arg)
{
    api_error_t e;

    api_error_set(&e, status, code, field, fmt, arg);
    return send_error(c, &e);
}

/* ------------------------------------------------------------ helpers */

static int
require_json(ctx_t *c)
{
    const char *ct = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Content-Type");

    return ct && strncasecmp(ct, "application/json", 16) == 0 && (ct[16] == '\0' || ct[16] == ';');
}

static json_t *
parse_object(ctx_t *c, api_error_t *e)
{
    json_error_t jerr;
    json_t *root;

    if (!json_depth_ok(c->req->body.data ? c->req->body.data : "", c->req->body.len, DOSSIER_MAX_DEPTH)) {
        api_error_set(e, 400, "invalid_json", NULL, "JSON nested deeper than %d levels", DOSSIER_MAX_DEPTH);
        return NULL;
    }
    root = json_loadb(c->req->body.data ? c->req->body.data : "", c->req->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        api_error_set(e, 400, "invalid_json", NULL, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
                      jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        api_error_set(e, 400, "invalid_json", NULL, "the body must be a JSON object");
        return NULL;
    }
    return root;
}

/* ------------------------------------------------------------ handlers */

static enum MHD_Result
h_healthz(ctx_t *c)
{
    db_t *db = store_reader_get(c->api->store);
    engine_stats_t st;
    json_t *doc = NULL;

    if (!db || store_health(db, &doc) != 0) {
        store_reader_put(c->api->store, db);
        return fail(c, 503, "storage_unavailable", NULL, "%s", "the database cannot be read");
    }
    store_reader_put(c->api->store, db);
    engine_get_stats(c->api->engine, &st);
    json_object_set_new(doc, "status", json_string("ok"));
    json_object_set_new(doc, "workers", json_integer(st.workers));
    json_object_set_new(doc, "breakers_open", json_integer(st.breaker_open));
    return send_json(c, 200, doc);
}

static enum MHD_Result
h_submit_dossier(ctx_t *c)
{
    dossier_t *d = NULL;
    engine_op_t op;
    api_error_t e;
    int status;

    if (!require_json(c))
        return fail(c, 415, "unsupported_media_type", NULL, "%s", "send the dossier as Content-Type: application/json");
    if (dossier_from_json(c->req->body.data ? c->req->body.data : "", c->req->body.len, c->api->cfg.default_carrier,
                          &d, &e) != 0)
        return send_error(c, &e);
    log_set_request_id(d->code);
    memset(&op, 0, sizeof op);
    op.kind = ENGINE_OP_INTAKE;
    op.dossier = d;
    status = engine_submit(c->api->engine, &op);
    dossier_destroy(&d);
    if (status >= 300)
        return send_error(c, &op.err);
    if (status == 201)
        log_info("dossier accepted");
    return send_json(c, status, op.result);
}

static enum MHD_Result
h_get_dossier(ctx_t *c, int timeline)
{
    db_t *db = store_reader_get(c->api->store);
    json_t *doc = NULL;
    api_error_t e;
    int rc;

    if (!db)
        return fail(c, 503, "storage_unavailable", NULL, "%s", "the database cannot be read; retry later");
    rc = timeline ? store_timeline_json(db, c->segs[2], &doc, &e) : store_dossier_json(db, c->segs[2], &doc, &e);
    store_reader_put(c->api->store, db);
    if (rc != 0)
        return send_error(c, &e);
    return send_json(c, 200, doc);
}

/* check_waybill - 0 when valid, else answers 400 naming what is wrong */
static int
check_waybill(ctx_t *c, const char *waybill, const char *field, enum MHD_Result *ret)
{
    s10_status_t st = s10_validate(waybill, strlen(waybill));
    api_error_t e;

    if (st == S10_OK)
        return 0;
    api_error_set(&e, 400, "invalid_waybill", field, "%.20s is not a valid S10 item number: %s", waybill,
                  s10_status_message(st));
    *ret = send_error(c, &e);
    return -1;
}

static enum MHD_Result
h_get_shipment(ctx_t *c)
{
    enum MHD_Result ret;
    db_t *db;
    json_t *doc = NULL;
    api_error_t e;
    int rc;

    if (check_waybill(c, c->segs[2], NULL, &ret) != 0)
        return ret;
    db = store_reader_get(c->api->store);
    if (!db)
        return fail(c, 503, "storage_unavailable", NULL, "%s", "the database cannot be read; retry later");
    rc = store_shipment_json(db, c->segs[2], &doc, &e);
    store_reader_put(c->api->store, db);
    if (rc != 0)
        return send_error(c, &e);
    return send_json(c, 200, doc);
}

static enum MHD_Result
h_import_codes(ctx_t *c)
{
    api_error_t e;
    json_t *root, *jp, *jf, *jn, *jc;
    const char *prefix, *country = "VN";
    engine_op_t op;
    int status;

    if (!require_json(c))
        return fail(c, 415, "unsupported_media_type", NULL, "%s", "send JSON with Content-Type: application/json");
    root = parse_object(c, &e);
    if (!root)
        return send_error(c, &e);
    jp = json_object_get(root, "prefix");
    jf = json_object_get(root, "from");
    jn = json_object_get(root, "count");
    jc = json_object_get(root, "country");
    prefix = json_string_value(jp);
    if (jc)
        country = json_string_value(jc);
    if (!prefix || strlen(prefix) != 2 || prefix[0] < 'A' || prefix[0] > 'Z' || prefix[1] < 'A' || prefix[1] > 'Z' ||
        strchr("JKSTW", prefix[0])) {
        json_decref(root);
        return fail(c, 422, "invalid_field", "prefix", "%s",
                    "prefix must be a two-letter S10 service indicator such as RR, EE or CP (not J, K, S, T, W)");
    }
    if (!country || strlen(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' ||
        country[1] > 'Z') {
        json_decref(root);
        return fail(c, 422, "invalid_field", "country", "%s", "country must be a two-letter ISO code such as VN");
    }
    if (!json_is_integer(jf) || json_integer_value(jf) < 0 || json_integer_value(jf) > 99999999) {
        json_decref(root);
        return fail(c, 422, "invalid_field", "from", "%s", "from must be an 8-digit serial between 0 and 99999999");
    }
    if (!json_is_integer(jn) || json_integer_value(jn) < 1 ||
        json_integer_value(jf) + json_integer_value(jn) - 1 > 99999999) {
        json_decref(root);
        return fail(c, 422, "invalid_field", "count", "%s",
                    "count must be at least 1 and the range must end at or below serial 99999999");
    }
    memset(&op, 0, sizeof op);
    op.kind = ENGINE_OP_IMPORT_CODES;
    op.prefix = prefix;
    op.country = country;
    op.from = json_integer_value(jf);
    op.count = json_integer_value(jn);
    status = engine_submit(c->api->engine, &op);
    json_decref(root);
    if (status >= 300)
        return send_error(c, &op.err);
    log_info("code range imported: %lld numbers", op.count);
    return send_json(c, status, op.result);
}

static enum MHD_Result
h_codes_status(ctx_t *c)
{
    db_t *db = store_reader_get(c->api->store);
    json_t *doc = NULL;
    int rc;

    if (!db)
        return fail(c, 503, "storage_unavailable", NULL, "%s", "the database cannot be read; retry later");
    rc = store_codes_status(db, &doc);
    store_reader_put(c->api->store, db);
    if (rc != 0) {
        json_decref(doc);
        return fail(c, 503, "storage_unavailable", NULL, "%s", "the database cannot be read; retry later");
    }
    return send_json(c, 200, doc);
}

static enum MHD_Result
h_carrier_events(ctx_t *c)
{
    const carrier_ops_t *ops = carrier_find(c->segs[2]);
    carrier_event_list_t events = { NULL, 0, 0 };
    char perr[256];
    engine_op_t op;
    int status;

    if (!ops) {
        api_error_t e;
        api_error_set(&e, 404, "unknown_carrier", NULL, "no carrier '%.40s' here; known carriers: %s", c->segs[2],
                      carrier_names());
        return send_error(c, &e);
    }
    if (!require_json(c))
        return fail(c, 415, "unsupported_media_type", NULL, "%s", "send events as Content-Type: application/json");
    if (!json_depth_ok(c->req->body.data ? c->req->body.data : "", c->req->body.len, DOSSIER_MAX_DEPTH) ||
        ops->parse_webhook(c->req->body.data ? c->req->body.data : "", c->req->body.len, &events, perr,
                           sizeof perr) != 0) {
        carrier_event_list_free(&events);
        return fail(c, 400, "invalid_body", NULL, "%s", perr);
    }
    for (size_t i = 0; i < events.n; i++) {
        enum MHD_Result ret;
        if (events.items[i].waybill[0] && check_waybill(c, events.items[i].waybill, "itemCode", &ret) != 0) {
            carrier_event_list_free(&events);
            return ret;
        }
    }
    memset(&op, 0, sizeof op);
    op.kind = ENGINE_OP_EVENTS;
    op.carrier = ops;
    op.events = &events;
    status = engine_submit(c->api->engine, &op);
    carrier_event_list_free(&events);
    if (status >= 300)
        return send_error(c, &op.err);
    if (op.report.unknown_ship > 0)
        log_warn("carrier %s sent %d events for unknown shipments", ops->name, op.report.unknown_ship);
    if (op.report.unknown_ship > 0 && op.report.applied == 0 && op.report.duplicates == 0) {
        api_error_t e;
        api_error_set(&e, 404, "unknown_shipment", NULL,
                      "none of the %d events names a shipment of this gateway; nothing was recorded",
                      op.report.unknown_ship);
        return send_error(c, &e);
    }
    return send_json(c, 200,
                     json_pack("{s:i, s:i, s:i, s:i, s:i}", "applied", op.report.applied, "duplicates",
                               op.report.duplicates, "unknown_shipments", op.report.unknown_ship, "unknown_codes",
                               op.report.unknown_code, "status_changes", op.report.status_changes));
}

static enum MHD_Result
h_jobs(ctx_t *c)
{
    const char *state = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "state");
    db_t *db;
    json_t *doc = NULL, *counts = NULL;
    int rc;

    if (state && strcmp(state, "ready") && strcmp(state, "leased") && strcmp(state, "done") && strcmp(state, "dead"))
        return fail(c, 400, "invalid_query", "state", "%s", "state must be one of ready, leased, done, dead");
    db = store_reader_get(c->api->store);
    if (!db)
        return fail(c, 503, "storage_unavailable", NULL, "%s", "the database cannot be read; retry later");
    rc = jobs_list(db, state, 500, &doc);
    if (rc == 0)
        rc = jobs_counts(db, &counts);
    store_reader_put(c->api->store, db);
    if (rc != 0) {
        json_decref(doc);
        json_decref(counts);
        return fail(c, 503, "storage_unavailable", NULL, "%s", "the database cannot be read; retry later");
    }
    return send_json(c, 200, json_pack("{s:o, s:o}", "jobs", doc, "counts", counts));
}

static enum MHD_Result
h_job_retry(ctx_t *c)
{
    engine_op_t op;
    char *end;
    long long id = strtoll(c->segs[2], &end, 10);

    if (*end || id <= 0)
        return fail(c, 400, "invalid_path", NULL, "%s", "the job id must be a positive number");
    memset(&op, 0, sizeof op);
    op.kind = ENGINE_OP_JOB_REVIVE;
    op.job_id = id;
    if (engine_submit(c->api->engine, &op) >= 300)
        return send_error(c, &op.err);
    return send_json(c, 200, op.result);
}

/* ------------------------------------------------------------ routing */

static int
split_path(char *path, char **segs, int max)
{
    int n = 0;
    char *p = path;

    while (*p == '/')
        p++;
    while (*p && n < max) {
        segs[n++] = p;
        p = strchr(p, '/');
        if (!p)
            break;
        *p++ = '\0';
    }
    if (p && *p)
        return -1; /* too many segments */
    return n;
}

static int
seg_is(ctx_t *c, int i, const char *s)
{
    return i < c->nsegs && strcmp(c->segs[i], s) == 0;
}

static enum MHD_Result
route(ctx_t *c)
{
    int get = strcmp(c->method, "GET") == 0, post = strcmp(c->method, "POST") == 0;
    int known_path = 0;

    if (c->nsegs == 1 && seg_is(c, 0, "healthz")) {
        known_path = 1;
        if (get)
            return h_healthz(c);
    } else if (c->nsegs >= 2 && seg_is(c, 0, "v1")) {
        if (c->nsegs == 2 && seg_is(c, 1, "dossiers")) {
            known_path = 1;
            if (post)
                return h_submit_dossier(c);
        } else if (c->nsegs == 3 && seg_is(c, 1, "dossiers")) {
            known_path = 1;
            if (get)
                return h_get_dossier(c, 0);
        } else if (c->nsegs == 4 && seg_is(c, 1, "dossiers") && seg_is(c, 3, "timeline")) {
            known_path = 1;
            if (get)
                return h_get_dossier(c, 1);
        } else if (c->nsegs == 3 && seg_is(c, 1, "shipments")) {
            known_path = 1;
            if (get)
                return h_get_shipment(c);
        } else if (c->nsegs == 2 && seg_is(c, 1, "codes")) {
            known_path = 1;
            if (post)
                return h_import_codes(c);
            if (get)
                return h_codes_status(c);
        } else if (c->nsegs == 4 && seg_is(c, 1, "carriers") && seg_is(c, 3, "events")) {
            known_path = 1;
            if (post)
                return h_carrier_events(c);
        } else if (c->nsegs == 2 && seg_is(c, 1, "jobs")) {
            known_path = 1;
            if (get)
                return h_jobs(c);
        } else if (c->nsegs == 4 && seg_is(c, 1, "jobs") && seg_is(c, 3, "retry")) {
            known_path = 1;
            if (post)
                return h_job_retry(c);
        }
    }
    if (known_path)
        return fail(c, 405, "method_not_allowed", NULL, "%s is not allowed on this route", c->method);
    return fail(c, 404, "not_found", NULL, "no route %s; see docs/openapi.yaml for the API", c->path);
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
               const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct http_api *api = cls;
    request_t *req = *con_cls;
    ctx_t c;
    char path[512];
    enum MHD_Result ret;

    (void)version;
    if (!req) {
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        uint8_t rnd[9];

        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        buf_init(&req->body, api->cfg.max_body);
        if (rid && strlen(rid) < sizeof req->rid && ident_safe_rid(rid)) {
            snprintf(req->rid, sizeof req->rid, "%s", rid);
        } else {
            random_bytes(rnd, sizeof rnd);
            base64url_encode(rnd, sizeof rnd, req->rid);
        }
        *con_cls = req;
        if (cl && strtoull(cl, NULL, 10) > api->cfg.max_body)
            req->too_big = 1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!req->too_big && buf_append(&req->body, upload_data, *upload_data_size) != BUF_OK)
            req->too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    memset(&c, 0, sizeof c);
    c.api = api;
    c.conn = conn;
    c.method = method;
    c.path = url;
    c.req = req;
    log_set_request_id(req->rid);
    if (req->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "%zu", api->cfg.max_body);
        ret = fail(&c, 413, "body_too_large", NULL, "the body exceeds %s bytes; split the request", msg);
        log_set_request_id(NULL);
        return ret;
    }
    snprintf(path, sizeof path, "%s", url);
    c.nsegs = split_path(path, c.segs, 8);
    if (c.nsegs < 0)
        ret = fail(&c, 404, "not_found", NULL, "no route %s", url);
    else
        ret = route(&c);
    log_set_request_id(NULL);
    return ret;
}

static void
request_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    request_t *req = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (!req)
        return;
    buf_free(&req->body);
    free(req);
    *con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("http: %s", msg);
}

http_api_t *
http_api_start(engine_t *engine, store_t *store, const http_api_config_t *cfg, char *err, size_t errlen)
{
    http_api_t *self = calloc(1, sizeof *self);
    struct sockaddr_in addr;
    char host[64];
    const char *colon = strrchr(cfg->listen, ':');
    const union MHD_DaemonInfo *info;
    int port;

    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->engine = engine;
    self->store = store;
    self->cfg = *cfg;
    if (!colon || colon == cfg->listen || (size_t)(colon - cfg->listen) >= sizeof host) {
        snprintf(err, errlen, "http_listen must be HOST:PORT, e.g. 127.0.0.1:8080 (got '%s')", cfg->listen);
        free(self);
        return NULL;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - cfg->listen), cfg->listen);
    port = (int)strtol(colon + 1, NULL, 10);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "http_listen host '%s' is not an IPv4 address", host);
        free(self);
        return NULL;
    }
    self->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
        NULL, access_handler, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
        request_completed, self, MHD_OPTION_CONNECTION_LIMIT, cfg->connection_limit ? cfg->connection_limit : 1024,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!self->daemon) {
        snprintf(err, errlen, "cannot listen on %s (port taken or address not local?)", cfg->listen);
        free(self);
        return NULL;
    }
    info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : port;
    return self;
}

int
http_api_port(const http_api_t *self)
{
    return self->port;
}

void
http_api_stop(http_api_t **selfp)
{
    http_api_t *self = *selfp;

    if (!self)
        return;
    MHD_stop_daemon(self->daemon);
    free(self);
    *selfp = NULL;
}
