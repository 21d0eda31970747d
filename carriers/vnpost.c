/*
 * vnpost - the VNPost (MyVNPost customer-partner) adapter, design §6
 *
 * Wire facts that stay in this file: the token endpoint and the `token:`
 * header (a 401 refreshes the token once), CreateOrder / orderCancel /
 * orderReturn / orderTracking bodies, the answer "already exists" (HTTP 409 with
 * errorCode ORDER_EXISTS, the original originalId and its saleOrderCode: an
 * idempotent success only when that saleOrderCode is this dossier's),
 * the webhook list format and the status-code table.
 *
 * Exports exactly one symbol: carrier_vnpost. The context (struct vnpost) is
 * allocated by carrier.c; one context serves one thread at a time.
 *
 * Config keys (read at init; undeclared keys count as unset):
 *   carrier.vnpost.url            base URL, e.g. https://my.vnpost.vn/MYVNP_API
 *   carrier.vnpost.username       (demo)
 *   carrier.vnpost.password_file  file holding the password; empty = "demo"
 *   carrier.vnpost.customer_code  (BCCI)
 *   carrier.timeout_ms, carrier.allow_insecure, carrier.ca_bundle (carrier_http)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carriers/carrier.h"
#include "carriers/carrier_http.h"
#include "carriers/carrier_util.h"
#include "clock.h"
#include "log.h"

#define VNPOST_MAX_WEBHOOK_EVENTS 1000
#define VNPOST_ECONOMY_SERVICE "CTN001" /* chuyển phát thường */
#define VNPOST_EXPRESS_SERVICE "ETN011" /* chuyển phát nhanh */
#define VNPOST_INSTRUCTION_MAX 501      /* deliveryInstruction: 500 bytes, like contentNote */

struct vnpost {
    carrier_http_t *http;
    char base[512];
    char username[128];
    char password[256];
    char customer_code[64];
    char token[1024]; /* cached access token, "" = none */
};

/* ---- status table -------------------------------------------------------- */

/*
 * Every VNPost code. Choices that are not obvious:
 *  5  pick-up failed    → pickup_pending: the item is still with the sender and
 *                         the postman comes again; nothing is lost yet.
 *  8  retrieve failed   → exception: the post could not get the item back.
 *  13 forwarded         → in_transit (re-routed to another office).
 *  16 waiting for transfer to complete → in_transit: still moving, no return yet.
 *  17 return approved, 18 return transfer started, 20 partly returned → returning.
 *  19 return completed  → returned (back at the agency's one-stop desk).
 *  21 COD paid          → delivered: it follows delivery and carries the amount.
 *  22 delivery cancelled → exception: a clerk must look (not a pre-pick-up cancel).
 * 101..111 are the UPU events EMA..EMK in order.
 */
static const carrier_code_t vnpost_codes[] = {
    { 0, "created", "" },
    { 1, "booked", "" },
    { 2, "pickup_pending", "" },
    { 3, "pickup_pending", "" },
    { 4, "pickup_pending", "" },
    { 5, "pickup_pending", "" },
    { 6, "accepted", "EMA" },
    { 7, "accepted", "EMA" },
    { 8, "exception", "" },
    { 9, "cancelled", "" },
    { 10, "in_transit", "EDD" },
    { 11, "at_delivery_office", "EMG" },
    { 12, "out_for_delivery", "EDG" },
    { 13, "in_transit", "EDD" },
    { 14, "delivered", "EMI" },
    { 15, "delivery_failed", "EMH" },
    { 16, "in_transit", "EDD" },
    { 17, "returning", "" },
    { 18, "returning", "" },
    { 19, "returned", "" },
    { 20, "returning", "" },
    { 21, "delivered", "EMI" },
    { 22, "exception", "" },
    { 101, "accepted", "EMA" },
    { 102, "in_transit", "EMB" },
    { 103, "in_transit", "EMC" },
    { 104, "in_transit", "EMD" },
    { 105, "in_transit", "EME" },
    { 106, "in_transit", "EMF" },
    { 107, "at_delivery_office", "EMG" },
    { 108, "delivery_failed", "EMH" },
    { 109, "delivered", "EMI" },
    { 110, "in_transit", "EMJ" },
    { 111, "in_transit", "EMK" },
};

static int
vnpost_map_status(const char *raw, carrier_mapping_t *out)
{
    return carrier_code_map(vnpost_codes, sizeof vnpost_codes / sizeof vnpost_codes[0], raw, out);
}

/* ---- init / cleanup ------------------------------------------------------ */

static int
vnpost_init(void *ctx, const config_t *cfg, char *err, size_t errlen)
{
    struct vnpost *self = ctx;
    carrier_http_opts_t opts;
    const char *pwfile = carrier_cfg_str(cfg, "carrier.vnpost.password_file", NULL);

    carrier_http_opts_from_config(cfg, &opts);
    if (carrier_base_url(cfg, "carrier.vnpost.url", "VNPost", opts.allow_insecure, self->base, sizeof self->base,
                         err, errlen) != 0 ||
        carrier_copy_checked(self->username, sizeof self->username,
                             carrier_cfg_str(cfg, "carrier.vnpost.username", "demo"), "carrier.vnpost.username", err,
                             errlen) != 0 ||
        carrier_copy_checked(self->customer_code, sizeof self->customer_code,
                             carrier_cfg_str(cfg, "carrier.vnpost.customer_code", "BCCI"),
                             "carrier.vnpost.customer_code", err, errlen) != 0)
        return -1;
    if (pwfile) {
        if (carrier_secret_read("carrier.vnpost.password_file", pwfile, self->password, sizeof self->password, NULL,
                                err, errlen) != 0)
            return -1;
    } else {
        snprintf(self->password, sizeof self->password, "demo");
    }
    self->http = carrier_http_new(&opts, err, errlen);
    return self->http ? 0 : -1;
}

static void
vnpost_cleanup(void *ctx)
{
    struct vnpost *self = ctx;

    if (!self)
        return;
    carrier_http_destroy(&self->http);
    /* the password and token do not outlive the context in memory */
    memset(self->password, 0, sizeof self->password);
    memset(self->token, 0, sizeof self->token);
}

/* ---- transport with the token dance -------------------------------------- */

static carrier_status_t
fetch_token(struct vnpost *self, const char *request_id, carrier_result_t *out)
{
    carrier_http_response_t resp;
    json_t *body;
    const char *tok;
    carrier_status_t st;

    self->token[0] = '\0';
    body = json_pack("{s:s, s:s, s:s}", "username", self->username, "password", self->password, "customerCode",
                     self->customer_code);
    if (!body) {
        snprintf(out->message, sizeof out->message, "GetAccessToken: out of memory");
        return CARRIER_RETRY;
    }
    st = carrier_http_call(self->http, "POST", self->base, "/customer-partner/GetAccessToken", NULL, NULL, body,
                           request_id, "GetAccessToken", &resp, out);
    json_decref(body);
    if (st != CARRIER_OK)
        return st;
    if (resp.status == 401 || resp.status == 403) {
        snprintf(out->message, sizeof out->message,
                 "GetAccessToken: VNPost refused the credentials (HTTP %ld): check carrier.vnpost.username, "
                 "password_file and customer_code",
                 resp.status);
        st = CARRIER_CONFIG;
        goto out;
    }
    st = carrier_http_result(&resp, "GetAccessToken", out);
    if (st != CARRIER_OK)
        goto out;
    tok = json_string_value(json_object_get(resp.json, "token"));
    if (!tok || !*tok || strlen(tok) >= sizeof self->token) {
        snprintf(out->message, sizeof out->message,
                 "GetAccessToken: HTTP %ld without a usable token (body is not the expected JSON)", resp.status);
        st = CARRIER_RETRY;
        goto out;
    }
    memcpy(self->token, tok, strlen(tok) + 1);
out:
    carrier_http_response_free(&resp);
    return st;
}

/*
 * vnpost_call - one API call with a valid token. CARRIER_OK means resp holds
 * an HTTP answer (any status but 401) for the caller to interpret; any other
 * value is final and out says why (resp is then already freed).
 */
static carrier_status_t
vnpost_call(struct vnpost *self, const char *method, const char *path, const json_t *body, const char *request_id,
            const char *what, carrier_http_response_t *resp, carrier_result_t *out)
{
    carrier_status_t st;
    int attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        if (!self->token[0]) {
            st = fetch_token(self, request_id, out);
            if (st != CARRIER_OK) {
                memset(resp, 0, sizeof *resp);
                return st;
            }
        }
        st = carrier_http_call(self->http, method, self->base, path, "token", self->token, body, request_id, what,
                               resp, out);
        if (st != CARRIER_OK)
            return st;
        if (resp->status != 401)
            return CARRIER_OK;
        /* the token expired or was revoked: fetch a new one, once */
        carrier_http_response_free(resp);
        self->token[0] = '\0';
    }
    out->http_status = 401;
    snprintf(out->message, sizeof out->message,
             "%s: VNPost refused a freshly issued token (HTTP 401 twice): check carrier.vnpost.username, "
             "password_file and customer_code",
             what);
    memset(resp, 0, sizeof *resp);
    return CARRIER_CONFIG;
}

/* ---- helpers --------------------------------------------------------------- */

/*
 * parse_event - one VNPost event object. with_ids: originalId and itemCode are
 * required (webhook); otherwise (tracking) they are taken from the caller.
 */
static int
parse_event(const json_t *o, size_t idx, int with_ids, carrier_event_t *e, char *err, size_t errlen)
{
    char tmp[32];
    const char *s;
    const json_t *v;

    if (!json_is_object(o)) {
        snprintf(err, errlen, "event %zu: not a JSON object", idx);
        return -1;
    }
    if (with_ids) {
        if (carrier_event_id(o, "originalId", idx, e->carrier_ref, sizeof e->carrier_ref, err, errlen) != 0)
            return -1;
        s = json_string_value(json_object_get(o, "itemCode"));
        if (!s || !*s || strlen(s) >= sizeof e->waybill) {
            snprintf(err, errlen, "event %zu: itemCode missing, empty or longer than %zu", idx,
                     sizeof e->waybill - 1);
            return -1;
        }
        memcpy(e->waybill, s, strlen(s) + 1);
    }
    if (carrier_event_code(o, "status", idx, e, err, errlen) != 0 ||
        carrier_event_time(o, "statusDate", idx, e, err, errlen) != 0)
        return -1;
    v = json_object_get(o, "statusName");
    if (with_ids && !json_is_string(v)) {
        snprintf(err, errlen, "event %zu: statusName missing or not a string", idx);
        return -1;
    }
    if (json_is_string(v))
        carrier_copy_utf8(e->raw_name, sizeof e->raw_name, json_string_value(v));
    if (carrier_event_opt_text(o, "reason", idx, &s, err, errlen) != 0)
        return -1;
    if (s)
        carrier_copy_utf8(e->reason, sizeof e->reason, s);
    v = json_object_get(o, "eventId");
    if (v && !json_is_null(v)) {
        s = carrier_json_scalar_text(v, tmp, sizeof tmp);
        if (!s || strlen(s) >= sizeof e->event_id) {
            snprintf(err, errlen, "event %zu: eventId must be a string of at most %zu bytes", idx,
                     sizeof e->event_id - 1);
            return -1;
        }
        memcpy(e->event_id, s, strlen(s) + 1);
    }
    v = json_object_get(o, "amount");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            snprintf(err, errlen, "event %zu: amount must be a non-negative integer (VND)", idx);
            return -1;
        }
        e->amount = json_integer_value(v);
    }
    /* proof of delivery (optional): only the last four digits of the ID are kept */
    v = json_object_get(o, "receiverName");
    if (json_is_string(v))
        carrier_copy_utf8(e->receiver_name, sizeof e->receiver_name, json_string_value(v));
    v = json_object_get(o, "receiverRelation");
    if (json_is_string(v))
        carrier_copy_utf8(e->receiver_relation, sizeof e->receiver_relation, json_string_value(v));
    v = json_object_get(o, "receiverIdType");
    if (json_is_string(v))
        carrier_copy_utf8(e->receiver_id_type, sizeof e->receiver_id_type, json_string_value(v));
    /* Only a tail of exactly four digits is kept. Anything else (too short, letters, quotes)
     * drops the ID alone, never the delivery: the event still proves the handover, and the
     * sink notes on the timeline that no usable digits came. */
    v = json_object_get(o, "receiverIdNumber");
    if (json_is_string(v)) {
        const char *id = json_string_value(v);
        size_t n = strlen(id), k;
        int digits = n >= 4 && n <= 20;

        for (k = 0; digits && k < 4; k++)
            digits = id[n - 4 + k] >= '0' && id[n - 4 + k] <= '9';
        if (digits) {
            memcpy(e->receiver_id_last4, id + n - 4, 4);
            e->receiver_id_last4[4] = '\0';
        } else {
            e->receiver_id_last4[0] = '\0';
        }
    }
    return 0;
}

/* ---- operations -------------------------------------------------------------- */

static int
check_shipment(const carrier_shipment_t *s, char *err, size_t errlen)
{
    if (carrier_check_shipment(s, err, errlen) ||
        carrier_need_text("receiver.province_code", s->receiver.province_code, err, errlen) ||
        carrier_need_text("receiver.commune_code", s->receiver.commune_code, err, errlen))
        return -1;
    return 0;
}

static json_t *
build_order(const struct vnpost *self, const carrier_shipment_t *s)
{
    json_t *info = NULL, *addons = NULL, *root = NULL;
    char amount[32], instruction[VNPOST_INSTRUCTION_MAX];
    (void)self;

    addons = json_array();
    if (!addons)
        goto fail;
    if (s->cod_amount > 0) {
        snprintf(amount, sizeof amount, "%lld", s->cod_amount);
        if (json_array_append_new(addons, json_pack("{s:s, s:s}", "code", "GTG021", "propValue", amount)) != 0)
            goto fail;
    }
    /* pick-up at the sender's address, in the window the citizen chose when there is one */
    if (s->pickup && json_array_append_new(addons, s->pickup_window && *s->pickup_window
                                                       ? json_pack("{s:s, s:s}", "code", "GTG026", "propValue",
                                                                   s->pickup_window)
                                                       : json_pack("{s:s}", "code", "GTG026")) != 0)
        goto fail;
#define S(x) ((x) ? (x) : "")
    info = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:i, s:s}",
                     "senderName", S(s->sender.name), "senderPhone", S(s->sender.phone), "senderAddress",
                     S(s->sender.address), "senderProvinceCode", S(s->sender.province_code), "senderCommuneCode",
                     S(s->sender.commune_code), "receiverName", S(s->receiver.name), "receiverPhone",
                     S(s->receiver.phone), "receiverAddress", S(s->receiver.address), "receiverProvinceCode",
                     S(s->receiver.province_code), "receiverCommuneCode", S(s->receiver.commune_code),
                     "serviceCode",
                     s->service_code ? s->service_code : s->express ? VNPOST_EXPRESS_SERVICE : VNPOST_ECONOMY_SERVICE, "addonService",
                     addons, "saleOrderCode", s->dossier_code, "contentNote", S(s->content_note), "weight",
                     s->weight_g, "itemCode", s->waybill);
#undef S
    addons = NULL; /* "o" stole it, even on failure */
    if (!info)
        goto fail;
    /* the fee the postman collects from the citizen at pick-up (send leg), apart from COD */
    if (s->pickup_fee > 0 && json_object_set_new(info, "pickupFee", json_integer(s->pickup_fee)) != 0) {
        json_decref(info);
        goto fail;
    }
    /* the authorised person, the documents to take back and the note, for the postman */
    if (*carrier_instruction(s, instruction, sizeof instruction) &&
        json_object_set_new(info, "deliveryInstruction", json_string(instruction)) != 0) {
        json_decref(info);
        goto fail;
    }
    root = json_pack("{s:i, s:s, s:o}", "orderCreationStatus", 1, "type", "GUI", "informationOrder", info);
    return root;
fail:
    json_decref(addons);
    return NULL;
}

/* order_exists - VNPost already holds an order with our itemCode. That is the idempotent
 * success of a retried booking only when the order is this dossier's (its saleOrderCode);
 * an order of another dossier means the S10 number was issued twice (a database restored
 * from a backup re-issued it): a permanent failure that starts "waybill_taken", so the
 * gateway gives the shipment a new number instead of riding on someone else's order. */
static carrier_status_t
order_exists(const char *sale_code, const char *id, const carrier_shipment_t *s, carrier_result_t *out)
{
    if (!sale_code || !*sale_code) {
        snprintf(out->message, sizeof out->message,
                 "waybill_taken: CreateOrder: VNPost already holds an order with itemCode %.20s but did not say "
                 "for which saleOrderCode; not taken as this dossier's booking",
                 s->waybill);
        log_error("ALERT: VNPost holds waybill %s for an unnamed dossier, not %s", s->waybill, s->dossier_code);
        return CARRIER_FAIL;
    }
    if (strcmp(sale_code, s->dossier_code) != 0) {
        snprintf(out->message, sizeof out->message,
                 "waybill_taken: CreateOrder: VNPost already holds waybill %.20s for dossier %.40s, not %.40s; "
                 "the number was issued twice (restored database?) and the shipment needs a new one",
                 s->waybill, sale_code, s->dossier_code);
        log_error("ALERT: waybill %s issued twice: VNPost holds it for dossier %s, the gateway gave it to %s",
                  s->waybill, sale_code, s->dossier_code);
        return CARRIER_FAIL;
    }
    if (carrier_take_ref(id, out) != 0) {
        snprintf(out->message, sizeof out->message,
                 "CreateOrder: VNPost says the order exists but gives no originalId; retrying");
        return CARRIER_RETRY;
    }
    out->already_existed = 1;
    return CARRIER_OK;
}

static carrier_status_t
vnpost_book(void *ctx, const carrier_shipment_t *s, carrier_result_t *out)
{
    struct vnpost *self = ctx;
    carrier_http_response_t resp;
    json_t *body;
    const char *id, *code;
    char tmp[32], err[160];
    carrier_status_t st;

    if (check_shipment(s, err, sizeof err) != 0) {
        snprintf(out->message, sizeof out->message, "CreateOrder: %s", err);
        return CARRIER_FAIL;
    }
    body = build_order(self, s);
    if (!body) {
        snprintf(out->message, sizeof out->message, "CreateOrder: cannot build the request (out of memory?)");
        return CARRIER_RETRY;
    }
    st = vnpost_call(self, "POST", "/customer-partner/CreateOrder", body, s->request_id, "CreateOrder", &resp,
                     out);
    json_decref(body);
    if (st != CARRIER_OK)
        return st;
    out->http_status = (int)resp.status;
    if (resp.status == 409 && json_is_object(resp.json)) {
        code = json_string_value(json_object_get(resp.json, "errorCode"));
        id = carrier_json_scalar_text(json_object_get(resp.json, "originalId"), tmp, sizeof tmp);
        if (code && strcmp(code, "ORDER_EXISTS") == 0) {
            st = order_exists(json_string_value(json_object_get(resp.json, "saleOrderCode")), id, s, out);
            goto out;
        }
    }
    if (resp.status >= 200 && resp.status < 300) {
        id = json_is_object(resp.json)
                 ? carrier_json_scalar_text(json_object_get(resp.json, "originalId"), tmp, sizeof tmp)
                 : NULL;
        if (!id && json_is_object(resp.json))
            id = carrier_json_scalar_text(json_object_get(resp.json, "originalID"), tmp, sizeof tmp);
        if (carrier_take_ref(id, out) != 0) {
            /* the order may exist: the retry is safe because itemCode is the idempotency key */
            snprintf(out->message, sizeof out->message,
                     "CreateOrder: HTTP %ld without an originalId (body is not the expected JSON)", resp.status);
            st = CARRIER_RETRY;
            goto out;
        }
        carrier_json_fee(json_object_get(resp.json, "totalFee"), &out->fee);
        st = CARRIER_OK;
        goto out;
    }
    st = carrier_http_result(&resp, "CreateOrder", out);
out:
    carrier_http_response_free(&resp);
    return st;
}

static carrier_status_t
vnpost_cancel(void *ctx, const carrier_shipment_t *s, carrier_result_t *out)
{
    struct vnpost *self = ctx;
    carrier_http_response_t resp;
    json_t *body;
    const char *code = NULL;
    carrier_status_t st;

    if (carrier_need_ref(s, "orderCancel", "VNPost originalId", out) != 0)
        return CARRIER_FAIL;
    body = json_pack("{s:s}", "OriginalId", s->carrier_ref);
    if (!body) {
        snprintf(out->message, sizeof out->message, "orderCancel: out of memory");
        return CARRIER_RETRY;
    }
    st = vnpost_call(self, "POST", "/customer-partner/orderCancel", body, s->request_id, "orderCancel", &resp, out);
    json_decref(body);
    if (st != CARRIER_OK)
        return st;
    out->http_status = (int)resp.status;
    if (json_is_object(resp.json))
        code = json_string_value(json_object_get(resp.json, "errorCode"));
    if (resp.status == 409 && code && strcmp(code, "ALREADY_PICKED_UP") == 0) {
        snprintf(out->message, sizeof out->message,
                 "orderCancel: VNPost has already picked the item up; it can no longer be cancelled");
        st = CARRIER_FAIL;
    } else if (resp.status == 404) {
        st = carrier_unknown_ref("orderCancel", "VNPost", "originalId", s->carrier_ref, out);
    } else {
        st = carrier_http_result(&resp, "orderCancel", out);
    }
    carrier_http_response_free(&resp);
    return st;
}

/* vnpost_return - POST /customer-partner/orderReturn {OriginalId, reason} → {originalId, status: 17}
 * (return approved; the item then walks 18 return transfer, 19 return completed).
 * 409 NOT_RETURNABLE: delivered or cancelled; an item already returning answers 200. */
static carrier_status_t
vnpost_return(void *ctx, const carrier_shipment_t *s, const char *reason, carrier_result_t *out)
{
    struct vnpost *self = ctx;
    carrier_http_response_t resp;
    json_t *body;
    const char *code = NULL;
    carrier_status_t st;

    if (carrier_need_ref(s, "orderReturn", "VNPost originalId", out) != 0)
        return CARRIER_FAIL;
    body = json_pack("{s:s, s:s}", "OriginalId", s->carrier_ref, "reason",
                     reason && *reason ? reason : "Phát không thành công, chuyển hoàn về cơ quan giải quyết TTHC");
    if (!body) {
        snprintf(out->message, sizeof out->message, "orderReturn: out of memory");
        return CARRIER_RETRY;
    }
    st = vnpost_call(self, "POST", "/customer-partner/orderReturn", body, s->request_id, "orderReturn", &resp, out);
    json_decref(body);
    if (st != CARRIER_OK)
        return st;
    out->http_status = (int)resp.status;
    if (json_is_object(resp.json))
        code = json_string_value(json_object_get(resp.json, "errorCode"));
    if (resp.status == 409 && code && strcmp(code, "NOT_RETURNABLE") == 0) {
        snprintf(out->message, sizeof out->message,
                 "orderReturn: VNPost cannot return this item (delivered, cancelled or not picked up yet)");
        st = CARRIER_FAIL;
    } else if (resp.status == 404) {
        st = carrier_unknown_ref("orderReturn", "VNPost", "originalId", s->carrier_ref, out);
    } else {
        st = carrier_http_result(&resp, "orderReturn", out);
    }
    carrier_http_response_free(&resp);
    return st;
}

static carrier_status_t
vnpost_track(void *ctx, const carrier_shipment_t *s, carrier_event_list_t *events, carrier_result_t *out)
{
    struct vnpost *self = ctx;
    carrier_http_response_t resp;
    char path[256];
    const json_t *list;
    size_t n0 = events->n;
    carrier_status_t st;

    if (carrier_need_ref(s, "orderTracking", "VNPost originalId", out) != 0)
        return CARRIER_FAIL;
    if (carrier_http_query_path(path, sizeof path, "/customer-partner/orderTracking?originalId=", s->carrier_ref) !=
        0) {
        snprintf(out->message, sizeof out->message, "orderTracking: out of memory");
        return CARRIER_RETRY;
    }
    st = vnpost_call(self, "GET", path, NULL, s->request_id, "orderTracking", &resp, out);
    if (st != CARRIER_OK)
        return st;
    out->http_status = (int)resp.status;
    if (resp.status == 404) {
        st = carrier_unknown_ref("orderTracking", "VNPost", "originalId", s->carrier_ref, out);
        goto out;
    }
    st = carrier_http_result(&resp, "orderTracking", out);
    if (st != CARRIER_OK)
        goto out;
    list = resp.json;
    if (json_is_object(list))
        list = json_object_get(list, "data");
    if (!json_is_array(list)) {
        snprintf(out->message, sizeof out->message, "orderTracking: HTTP %ld but the body is not a JSON list",
                 resp.status);
        st = CARRIER_RETRY;
        goto out;
    }
    st = carrier_track_events(list, s, parse_event, "orderTracking", events, out);
out:
    if (st != CARRIER_OK)
        events->n = n0; /* all or nothing */
    carrier_http_response_free(&resp);
    return st;
}

/* webhook_item - one entry of the webhook list: an event with its ids */
static int
webhook_item(const json_t *o, size_t idx, carrier_event_list_t *events, char *err, size_t errlen)
{
    carrier_event_t *e = carrier_event_list_push(events);

    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return parse_event(o, idx, 1, e, err, errlen);
}

static int
vnpost_parse_webhook(const char *body, size_t len, carrier_event_list_t *events, char *err, size_t errlen)
{
    return carrier_webhook_events(body, len, 0, VNPOST_MAX_WEBHOOK_EVENTS, "a JSON list of events", webhook_item,
                                  events, err, errlen);
}

/* the VNPost order API refuses longer fields (informationOrder.senderName and receiverName
 * 200 bytes, the addresses 500, phones 20); contentNote is kept to 500 like the addresses */
static const carrier_limits_t vnpost_limits = {
    .name_bytes = 200, .address_bytes = 500, .phone_bytes = 20, .note_bytes = 500,
};

const carrier_ops_t carrier_vnpost = {
    .name = "vnpost",
    .display_name = "Bưu điện Việt Nam (VNPost)",
    .service_name = "Chuyển phát thường (CTN001)",
    .express_service_name = "Chuyển phát nhanh (ETN011)",
    .caps = CARRIER_CAN_BOOK | CARRIER_CAN_CANCEL | CARRIER_CAN_TRACK | CARRIER_CAN_PICKUP | CARRIER_CAN_RETURN,
    .ctx_size = sizeof(struct vnpost),
    .limits = &vnpost_limits,
    .init = vnpost_init,
    .cleanup = vnpost_cleanup,
    .book = vnpost_book,
    .cancel = vnpost_cancel,
    .track = vnpost_track,
    .request_return = vnpost_return,
    .parse_webhook = vnpost_parse_webhook,
    .map_status = vnpost_map_status,
};
