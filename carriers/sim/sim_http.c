/*
 * sim_http - the simulator's HTTP front on libmicrohttpd
 *
 * Carrier API, VNPost dialect (design §6), subject to injected faults:
 *   POST /customer-partner/GetAccessToken   {username, password, customerCode} → {token}
 *   POST /customer-partner/CreateOrder      (header token) → {originalId, status, totalFee}
 *   POST /customer-partner/orderCancel      {OriginalId}
 *   POST /customer-partner/orderReturn      {OriginalId, reason} → {originalId, status: 17}
 *   GET  /customer-partner/orderTracking?originalId=…
 * Carrier API, Viettel Post dialect (sim_viettel.c), header `Token`, subject to faults:
 *   POST /v2/order/createOrder, POST /v2/order/UpdateOrder, GET /v2/order/tracking?ORDER_NUMBER=…
 * A dialect switched off with --dialect answers 404 on its paths.
 * Control and inspection, never faulted:
 *   GET /healthz, GET /_sim/stats[?sale_order=CODE], POST /_sim/faults (body "http500=0.5"),
 *   POST /_sim/expire_tokens, GET /_sim/last_request (method, path, X-Request-Id,
 *   Content-Type, token present, JSON body of the last carrier API request: test use only)
 *
 * One thread per connection, keep-alive; the handler answers on its second
 * call, after the body has been read. Bodies are bounded to 1 MiB (413).
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "carriers/sim/sim.h"
#include "log.h"

#define SIM_MAX_BODY (1024 * 1024)
#define SIM_TIMEOUT_SLEEP_MS 8000
#define SIM_SLOW_SLEEP_MS 2000

typedef struct {
    buf_t body;
    int too_big;
} sim_req_t;

static void
sleep_ms_unless_stopping(const sim_t *s, int ms)
{
    while (ms > 0 && !s->stopping) {
        struct timespec ts = { 0, 50 * 1000000L };

        nanosleep(&ts, NULL);
        ms -= 50;
    }
}

static enum MHD_Result
answer(struct MHD_Connection *conn, int status, const char *body, size_t len, const char *ctype,
       const char *retry_after)
{
    struct MHD_Response *r;
    enum MHD_Result rc;

    r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    rc = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

/* answer_json - send j (consumed) */
static enum MHD_Result
answer_json(struct MHD_Connection *conn, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    enum MHD_Result rc;

    json_decref(j);
    if (!text)
        return answer(conn, 500, "{\"errorCode\":\"INTERNAL\"}", 24, "application/json", NULL);
    rc = answer(conn, status, text, strlen(text), "application/json", NULL);
    free(text);
    return rc;
}

static enum MHD_Result
answer_error(struct MHD_Connection *conn, int status, const char *code, const char *msg)
{
    return answer_json(conn, status, json_pack("{s:s, s:s}", "errorCode", code, "message", msg));
}

static void
count_other(sim_t *s)
{
    sim_count_request(s, "other");
}

static enum MHD_Result
handle_control(sim_t *s, struct MHD_Connection *conn, const char *method, const char *url, sim_req_t *r)
{
    if (strcmp(url, "/healthz") == 0 && strcmp(method, "GET") == 0)
        return answer(conn, 200, "{\"status\":\"ok\"}", 15, "application/json", NULL);
    if (strcmp(url, "/_sim/stats") == 0 && strcmp(method, "GET") == 0) {
        const char *sale = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "sale_order");

        return answer_json(conn, 200, sim_stats(s, sale));
    }
    if (strcmp(url, "/_sim/last_request") == 0 && strcmp(method, "GET") == 0)
        return answer_json(conn, 200, sim_last_request(s));
    if (strcmp(url, "/_sim/faults") == 0 && strcmp(method, "POST") == 0) {
        sim_faults_t f;
        char err[200];

        if (sim_faults_parse(r->body.data ? r->body.data : "", &f, err, sizeof err) != 0)
            return answer_error(conn, 400, "INVALID", err);
        sim_set_faults(s, &f);
        log_info("faults changed: timeout=%.2f http500=%.2f http429=%.2f malformed=%.2f slow=%.2f "
                 "dup_webhook=%.2f reorder_webhook=%.2f",
                 f.timeout, f.http500, f.http429, f.malformed, f.slow, f.dup_webhook, f.reorder_webhook);
        return answer(conn, 200, "{\"ok\":true}", 11, "application/json", NULL);
    }
    if (strcmp(url, "/_sim/expire_tokens") == 0 && strcmp(method, "POST") == 0) {
        sim_expire_tokens(s);
        return answer(conn, 200, "{\"ok\":true}", 11, "application/json", NULL);
    }
    return answer_error(conn, 404, "NOT_FOUND", "no such endpoint");
}

static enum MHD_Result
handle_api(sim_t *s, struct MHD_Connection *conn, const char *method, const char *url, sim_req_t *r)
{
    const char *ep = url + strlen("/customer-partner/");
    json_t *req = NULL, *out = NULL;
    json_error_t jerr;
    sim_fault_t fault;
    int status;
    int is_post = strcmp(method, "POST") == 0;

    if (!(s->dialects & SIM_DIALECT_VNPOST) ||
        !((is_post && (strcmp(ep, "GetAccessToken") == 0 || strcmp(ep, "CreateOrder") == 0 ||
                       strcmp(ep, "orderCancel") == 0 || strcmp(ep, "orderReturn") == 0)) ||
          (strcmp(method, "GET") == 0 && strcmp(ep, "orderTracking") == 0))) {
        count_other(s);
        return answer_error(conn, 404, "NOT_FOUND", "no such endpoint or method");
    }
    sim_count_request(s, ep);
    sim_record_request(s, method, url, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id"),
                       MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"),
                       MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "token") != NULL, r->body.data,
                       r->body.len);
    fault = sim_roll_fault(s);
    switch (fault) {
    case SIM_FAULT_HTTP500:
        return answer_error(conn, 500, "INTERNAL", "injected fault: internal server error");
    case SIM_FAULT_HTTP429:
        return answer(conn, 429, "{\"errorCode\":\"TOO_MANY_REQUESTS\"}", 33, "application/json", "1");
    case SIM_FAULT_TIMEOUT:
        sleep_ms_unless_stopping(s, SIM_TIMEOUT_SLEEP_MS);
        break;
    case SIM_FAULT_SLOW:
        sleep_ms_unless_stopping(s, SIM_SLOW_SLEEP_MS);
        break;
    default:
        break;
    }
    if (is_post) {
        req = json_loadb(r->body.data ? r->body.data : "", r->body.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!req || !json_is_object(req)) {
            json_decref(req);
            return answer_error(conn, 400, "INVALID", "body must be a JSON object");
        }
    }
    if (strcmp(ep, "GetAccessToken") == 0) {
        status = sim_get_token(s, req, &out);
    } else if (!sim_token_valid(s, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "token"))) {
        json_decref(req);
        return answer_error(conn, 401, "UNAUTHORIZED", "missing or expired token: call GetAccessToken");
    } else if (strcmp(ep, "CreateOrder") == 0) {
        status = sim_create_order(s, req, &out);
    } else if (strcmp(ep, "orderCancel") == 0) {
        status = sim_cancel_order(s, req, &out);
    } else if (strcmp(ep, "orderReturn") == 0) {
        status = sim_return_order(s, req, &out);
    } else {
        status =
            sim_track_order(s, MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "originalId"), &out);
    }
    json_decref(req);
    if (fault == SIM_FAULT_MALFORMED) {
        /* the request took effect; only the answer is garbage */
        json_decref(out);
        return answer(conn, 200, "<html><body>Gateway Time-out", 28, "application/json", NULL);
    }
    return answer_json(conn, status, out);
}

/* inject - roll a fault for a carrier API call; 1 when the answer was already sent (*rc) */
static int
inject(sim_t *s, struct MHD_Connection *conn, sim_fault_t fault, enum MHD_Result *rc)
{
    switch (fault) {
    case SIM_FAULT_HTTP500:
        *rc = answer_error(conn, 500, "INTERNAL", "injected fault: internal server error");
        return 1;
    case SIM_FAULT_HTTP429:
        *rc = answer(conn, 429, "{\"errorCode\":\"TOO_MANY_REQUESTS\"}", 33, "application/json", "1");
        return 1;
    case SIM_FAULT_TIMEOUT:
        sleep_ms_unless_stopping(s, SIM_TIMEOUT_SLEEP_MS);
        break;
    case SIM_FAULT_SLOW:
        sleep_ms_unless_stopping(s, SIM_SLOW_SLEEP_MS);
        break;
    default:
        break;
    }
    return 0;
}

static enum MHD_Result
handle_viettel(sim_t *s, struct MHD_Connection *conn, const char *method, const char *url, sim_req_t *r)
{
    const char *ep = url + strlen("/v2/order/");
    json_t *req = NULL, *out = NULL;
    json_error_t jerr;
    sim_fault_t fault;
    enum MHD_Result rc;
    char name[40];
    int status;
    int is_post = strcmp(method, "POST") == 0;

    if (!(s->dialects & SIM_DIALECT_VIETTEL) ||
        !((is_post && (strcmp(ep, "createOrder") == 0 || strcmp(ep, "UpdateOrder") == 0)) ||
          (strcmp(method, "GET") == 0 && strcmp(ep, "tracking") == 0))) {
        count_other(s);
        return answer_error(conn, 404, "NOT_FOUND", "no such endpoint or method");
    }
    snprintf(name, sizeof name, "viettel.%s", ep);
    sim_count_request(s, name);
    sim_record_request(s, method, url, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id"),
                       MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"),
                       MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Token") != NULL, r->body.data,
                       r->body.len);
    fault = sim_roll_fault(s);
    if (inject(s, conn, fault, &rc))
        return rc;
    if (!sim_vt_token_valid(s, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Token")))
        return answer_json(conn, 200,
                           json_pack("{s:i, s:b, s:s, s:n}", "status", 401, "error", 1, "message",
                                     "Token không hợp lệ (missing or wrong Token header)", "data"));
    if (is_post) {
        req = json_loadb(r->body.data ? r->body.data : "", r->body.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!req || !json_is_object(req)) {
            json_decref(req);
            return answer_json(conn, 200,
                               json_pack("{s:i, s:b, s:s, s:n}", "status", 400, "error", 1, "message",
                                         "body must be a JSON object", "data"));
        }
    }
    if (strcmp(ep, "createOrder") == 0)
        status = sim_vt_create_order(s, req, &out);
    else if (strcmp(ep, "UpdateOrder") == 0)
        status = sim_vt_update_order(s, req, &out);
    else
        status = sim_vt_track_order(s, MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "ORDER_NUMBER"),
                                    &out);
    json_decref(req);
    if (fault == SIM_FAULT_MALFORMED) {
        /* the request took effect; only the answer is garbage */
        json_decref(out);
        return answer(conn, 200, "<html><body>Gateway Time-out", 28, "application/json", NULL);
    }
    return answer_json(conn, status, out);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
           const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    sim_t *s = cls;
    sim_req_t *r = *con_cls;

    (void)version;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        buf_init(&r->body, SIM_MAX_BODY);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!r->too_big && buf_append(&r->body, upload_data, *upload_data_size) != BUF_OK)
            r->too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->too_big)
        return answer_error(conn, 413, "TOO_LARGE", "request body larger than 1 MiB");
    if (strncmp(url, "/customer-partner/", 18) == 0)
        return handle_api(s, conn, method, url, r);
    if (strncmp(url, "/v2/order/", 10) == 0)
        return handle_viettel(s, conn, method, url, r);
    if (strncmp(url, "/_sim/", 6) != 0 && strcmp(url, "/healthz") != 0)
        count_other(s);
    return handle_control(s, conn, method, url, r);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    sim_req_t *r = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (r) {
        buf_free(&r->body);
        free(r);
        *con_cls = NULL;
    }
}

struct MHD_Daemon *
sim_http_start(sim_t *s, const char *host, unsigned port, unsigned *bound_port, char *err, size_t errlen)
{
    struct sockaddr_in addr;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "listen: '%s' is not an IPv4 address (e.g. 127.0.0.1:9090)", host);
        return NULL;
    }
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
                         (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                         (const struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                         MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "cannot listen on %s:%u (port taken or no permission)", host, port);
        return NULL;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    return d;
}
