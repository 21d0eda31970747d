/*
 * viettel - the Viettel Post (partner API v2) adapter, reference.md §3.3
 *
 * Wire facts that stay in this file:
 *  - every call sends the long-term partner token as header `Token: <token>`;
 *    a refused token (401/403, in the HTTP status or in the body) is CONFIG
 *    that names carrier.viettel.token_file (there is no token dance here);
 *  - answers are an envelope {"status": 200, "error": false, "message": …,
 *    "data": …}; Viettel reports business errors with HTTP 200 and
 *    error = true, so the envelope's status is classified like an HTTP status;
 *  - POST /v2/order/createOrder. Our idempotency key is ORDER_NUMBER = the
 *    dossier code for the return leg (the main flow), "<dossier code>.<leg>"
 *    for any other leg (send, both), so two legs of one dossier are two
 *    orders. Our S10 waybill travels in ORDER_REFERENCE, and Viettel's
 *    webhooks give it back there. The answer's data.ORDER_NUMBER (Viettel's
 *    own waybill number) is carrier_ref. An "already exists" answer (error
 *    with data.ORDER_NUMBER, status 409 or a message saying it exists) is an
 *    idempotent success, unless it names another waybill in ORDER_REFERENCE:
 *    then the dossier was booked under another S10 and a clerk must look;
 *  - POST /v2/order/UpdateOrder {"TYPE": 4, "ORDER_NUMBER": carrier_ref} cancels;
 *    {"TYPE": 2, "ORDER_NUMBER", "NOTE": reason} approves the return to the
 *    sender (Viettel's "duyệt chuyển hoàn"): 515, then 502 and 504 returned;
 *  - GET /v2/order/tracking?ORDER_NUMBER=<carrier_ref> → data: list of events
 *    in the webhook's DATA shape (the public API has no tracking call that we
 *    could copy; this is the simulator's and our choice);
 *  - webhooks: {"DATA": {ORDER_NUMBER, ORDER_REFERENCE, ORDER_STATUSDATE
 *    "dd/MM/yyyy HH:mm:ss", ORDER_STATUS, STATUS_NAME, NOTE, MONEY_COLLECTION,
 *    …}, "TOKEN": "…"}, one event per POST, or a JSON list of such objects.
 *    TOKEN is not checked here (the gateway authenticates the webhook route);
 *    Viettel sends no event id, so the gateway deduplicates by content.
 *
 * Exports exactly one symbol: carrier_viettel. The context (struct viettel) is
 * allocated by carrier.c; one context serves one thread at a time.
 *
 * Config keys (read at init; undeclared keys count as unset):
 *   carrier.viettel.url         base URL, e.g. https://partner.viettelpost.vn
 *                               (the paths above start with /v2)
 *   carrier.viettel.token_file  file holding the partner token; unset or empty
 *                               = "demo-viettel-token" (the simulator's default)
 *   carrier.timeout_ms, carrier.allow_insecure, carrier.ca_bundle (carrier_http)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carriers/carrier.h"
#include "carriers/carrier_http.h"
#include "carriers/carrier_util.h"
#include "clock.h"

#define VIETTEL_MAX_WEBHOOK_EVENTS 1000
#define VIETTEL_ECONOMY_SERVICE "VTK" /* tiết kiệm */
#define VIETTEL_EXPRESS_SERVICE "VCN" /* chuyển phát nhanh */
#define VIETTEL_DEMO_TOKEN "demo-viettel-token"
#define VIETTEL_NOTE_MAX 501 /* the instruction part of ORDER_NOTE: 500 bytes */
#define VIETTEL_ORDER_NOTE "Bưu chính công ích – hành chính công. Phát tận tay, kiểm tra CCCD/giấy ủy quyền."

struct viettel {
    carrier_http_t *http;
    char base[512];
    char token[1024];
};

/* ---- status table -------------------------------------------------------- */

/*
 * Every Viettel Post code of reference.md §3.3. Choices that are not obvious:
 *  100 order created, 102 waiting for processing → booked: Viettel has the
 *      order, nobody moves yet.
 *  103 handed to a post office, 104 postman sent to collect, 106 partner asks
 *      to collect it again → pickup_pending: the item is still with the sender.
 *  105 postman collected, 200 received at the origin office → accepted (EMA, J).
 *  101 VTP cancels, 107 partner cancels via API, 503 cancelled on the
 *      customer's request → cancelled (terminal).
 *  201 waybill entry cancelled → cancelled; 202 waybill corrected → accepted
 *      (a data fix at the origin office, the item is there).
 *  300–303 closing list/bag/mail trip/truck (outbound), 400–403 receiving them
 *      (inbound), 509 forwarded to another office → in_transit.
 *  500 handed to the postman for delivery → out_for_delivery (EDG).
 *  501 delivered → delivered (EMI).
 *  506 recipient away, 507 recipient will collect at the office, 508 deliver
 *      again (sender's request), 550 deliver again (recipient's request) →
 *      delivery_failed (EMH): an attempt did not hand the item over; the
 *      reason comes from NOTE, else STATUS_NAME.
 *  510 delivery assignment cancelled → at_delivery_office: back on the shelf
 *      of the delivering office.
 *  502 return to the origin office, 505 pending return, 515 return approved
 *      → returning; 504 returned to the sender → returned (terminal).
 */
static const carrier_code_t viettel_codes[] = {
    { 100, "booked", "" },
    { 101, "cancelled", "" },
    { 102, "booked", "" },
    { 103, "pickup_pending", "" },
    { 104, "pickup_pending", "" },
    { 105, "accepted", "EMA" },
    { 106, "pickup_pending", "" },
    { 107, "cancelled", "" },
    { 200, "accepted", "EMA" },
    { 201, "cancelled", "" },
    { 202, "accepted", "EMA" },
    { 300, "in_transit", "EDD" },
    { 301, "in_transit", "EDD" },
    { 302, "in_transit", "EDD" },
    { 303, "in_transit", "EDD" },
    { 400, "in_transit", "EDE" },
    { 401, "in_transit", "EDE" },
    { 402, "in_transit", "EDE" },
    { 403, "in_transit", "EDE" },
    { 500, "out_for_delivery", "EDG" },
    { 501, "delivered", "EMI" },
    { 502, "returning", "" },
    { 503, "cancelled", "" },
    { 504, "returned", "" },
    { 505, "returning", "" },
    { 506, "delivery_failed", "EMH" },
    { 507, "delivery_failed", "EMH" },
    { 508, "delivery_failed", "EMH" },
    { 509, "in_transit", "EDD" },
    { 510, "at_delivery_office", "EMG" },
    { 515, "returning", "" },
    { 550, "delivery_failed", "EMH" },
};

#define VIETTEL_NCODES (sizeof viettel_codes / sizeof viettel_codes[0])

static int
viettel_map_status(const char *raw, carrier_mapping_t *out)
{
    return carrier_code_map(viettel_codes, VIETTEL_NCODES, raw, out);
}

/* ---- init / cleanup ------------------------------------------------------ */

/* read_token - the partner token from carrier.viettel.token_file: one line of printable ASCII */
static int
read_token(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
    size_t i, n;

    if (carrier_secret_read("carrier.viettel.token_file", path, out, cap, &n, err, errlen) != 0)
        return -1;
    for (i = 0; i < n; i++) {
        if ((unsigned char)out[i] < 0x21 || (unsigned char)out[i] > 0x7e) {
            snprintf(err, errlen,
                     "carrier.viettel.token_file %s: the token must be one line of printable ASCII without spaces",
                     path);
            memset(out, 0, cap);
            return -1;
        }
    }
    return 0;
}

static int
viettel_init(void *ctx, const config_t *cfg, char *err, size_t errlen)
{
    struct viettel *self = ctx;
    carrier_http_opts_t opts;
    const char *tokfile = carrier_cfg_str(cfg, "carrier.viettel.token_file", NULL);

    carrier_http_opts_from_config(cfg, &opts);
    if (carrier_base_url(cfg, "carrier.viettel.url", "Viettel Post", opts.allow_insecure, self->base,
                         sizeof self->base, err, errlen) != 0)
        return -1;
    if (tokfile) {
        if (read_token(tokfile, self->token, sizeof self->token, err, errlen) != 0)
            return -1;
    } else {
        snprintf(self->token, sizeof self->token, "%s", VIETTEL_DEMO_TOKEN);
    }
    self->http = carrier_http_new(&opts, err, errlen);
    return self->http ? 0 : -1;
}

static void
viettel_cleanup(void *ctx)
{
    struct viettel *self = ctx;

    if (!self)
        return;
    carrier_http_destroy(&self->http);
    memset(self->token, 0, sizeof self->token); /* the token does not outlive the context */
}

/* ---- transport and the answer envelope ------------------------------------- */

/*
 * viettel_call - one API call with the partner token. CARRIER_OK means resp
 * holds an HTTP answer (any status) for the caller to interpret; any other
 * value is final and out says why (resp is then already freed).
 */
static carrier_status_t
viettel_call(struct viettel *self, const char *method, const char *path, const json_t *body, const char *request_id,
             const char *what, carrier_http_response_t *resp, carrier_result_t *out)
{
    return carrier_http_call(self->http, method, self->base, path, "Token", self->token, body, request_id, what,
                             resp, out);
}

typedef struct {
    int status;          /* envelope status: HTTP status when not 2xx, else body status; -1 = not the envelope */
    const char *message; /* borrowed from resp, "" when none */
    const json_t *data;  /* borrowed from resp, may be NULL */
} viettel_env_t;

static void
envelope(const carrier_http_response_t *resp, viettel_env_t *env)
{
    const json_t *v;

    env->status = -1;
    env->message = "";
    env->data = NULL;
    if (json_is_object(resp->json)) {
        v = json_object_get(resp->json, "message");
        if (json_is_string(v))
            env->message = json_string_value(v);
        env->data = json_object_get(resp->json, "data");
    }
    if (resp->status < 200 || resp->status > 299) {
        env->status = (int)resp->status;
        return;
    }
    if (!json_is_object(resp->json))
        return;
    if (json_is_true(json_object_get(resp->json, "error"))) {
        v = json_object_get(resp->json, "status");
        env->status = json_is_integer(v) && json_integer_value(v) >= 100 && json_integer_value(v) <= 599
                          ? (int)json_integer_value(v)
                          : 400; /* an error without a usable status: the request was refused */
        return;
    }
    env->status = 200;
}

/* classify - the generic outcome of an envelope the caller did not handle itself */
static carrier_status_t
classify(const carrier_http_response_t *resp, const viettel_env_t *env, const char *what, carrier_result_t *out)
{
    carrier_status_t st;

    if (env->status == 401 || env->status == 403) {
        snprintf(out->message, sizeof out->message,
                 "%s: Viettel Post refused the token (status %d): check carrier.viettel.token_file", what,
                 env->status);
        return CARRIER_CONFIG;
    }
    if (env->status < 0) {
        snprintf(out->message, sizeof out->message, "%s: HTTP %ld but the body is not the expected JSON envelope",
                 what, resp->status);
        return CARRIER_RETRY;
    }
    if (resp->status < 200 || resp->status > 299)
        return carrier_http_result(resp, what, out);
    /* HTTP 2xx carrying an error: classify the envelope's status like an HTTP status */
    st = carrier_http_classify(CURLE_OK, env->status);
    snprintf(out->message, sizeof out->message, "%s: Viettel Post answered status %d: %.180s", what, env->status,
             env->message);
    return st;
}

/* ---- helpers --------------------------------------------------------------- */

/*
 * parse_event - one Viettel event object (the webhook's DATA, or one tracking
 * entry). with_ids: ORDER_NUMBER is required (webhook); otherwise (tracking)
 * the caller fills carrier_ref and waybill.
 */
static int
parse_event(const json_t *o, size_t idx, int with_ids, carrier_event_t *e, char *err, size_t errlen)
{
    const char *s, *name, *note;
    const json_t *v;
    const carrier_code_t *c;
    int code;

    if (!json_is_object(o)) {
        snprintf(err, errlen, "event %zu: DATA is not a JSON object", idx);
        return -1;
    }
    if (with_ids) {
        if (carrier_event_id(o, "ORDER_NUMBER", idx, e->carrier_ref, sizeof e->carrier_ref, err, errlen) != 0)
            return -1;
        if (carrier_event_opt_text(o, "ORDER_REFERENCE", idx, &s, err, errlen) != 0)
            return -1;
        /* our S10 when we booked the order; anything longer is not ours */
        if (s && *s && strlen(s) < sizeof e->waybill)
            memcpy(e->waybill, s, strlen(s) + 1);
    }
    if (carrier_event_code(o, "ORDER_STATUS", idx, e, err, errlen) != 0 ||
        carrier_event_time(o, "ORDER_STATUSDATE", idx, e, err, errlen) != 0)
        return -1;
    if (carrier_event_opt_text(o, "STATUS_NAME", idx, &name, err, errlen) != 0 ||
        carrier_event_opt_text(o, "NOTE", idx, &note, err, errlen) != 0)
        return -1;
    if (name)
        carrier_copy_utf8(e->raw_name, sizeof e->raw_name, name);
    code = 0;
    c = carrier_parse_code(e->raw_code, &code) == 0 ? carrier_code_find(viettel_codes, VIETTEL_NCODES, code) : NULL;
    if (note && *note)
        carrier_copy_utf8(e->reason, sizeof e->reason, note);
    else if (c && strcmp(c->status, "delivery_failed") == 0 && name && *name)
        carrier_copy_utf8(e->reason, sizeof e->reason, name); /* a failed attempt always says why */
    v = json_object_get(o, "MONEY_COLLECTION");
    if (v && !json_is_null(v)) {
        long long amount;

        if (json_is_integer(v))
            amount = json_integer_value(v);
        else if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1e15)
            amount = (long long)json_real_value(v);
        else
            amount = -1;
        if (amount < 0) {
            snprintf(err, errlen, "event %zu: MONEY_COLLECTION must be a non-negative amount (VND)", idx);
            return -1;
        }
        /* every Viettel event repeats the order's COD; it is collected money only on delivery */
        if (code == 501)
            e->amount = amount;
    }
    return 0;
}

/* ---- operations -------------------------------------------------------------- */

static int
check_shipment(const carrier_shipment_t *s, char *err, size_t errlen)
{
    if (carrier_check_shipment(s, err, errlen) != 0)
        return -1;
    if (s->cod_amount < 0) {
        snprintf(err, errlen, "cod_amount must not be negative");
        return -1;
    }
    return 0;
}

/* order_number - our idempotency key for s (see the file comment); -1 when too long */
static int
order_number(const carrier_shipment_t *s, char *out, size_t cap)
{
    int n;

    if (!s->service || !*s->service || strcmp(s->service, "return") == 0)
        n = snprintf(out, cap, "%s", s->dossier_code);
    else
        n = snprintf(out, cap, "%s.%s", s->dossier_code, s->service);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static json_t *
build_order(const carrier_shipment_t *s, const char *number)
{
    char instruction[VIETTEL_NOTE_MAX], note[VIETTEL_NOTE_MAX + sizeof VIETTEL_ORDER_NOTE + 1];

    /* the postman reads the authorised person, what to take back and the note after the rule */
    if (*carrier_instruction(s, instruction, sizeof instruction))
        snprintf(note, sizeof note, "%s %s", VIETTEL_ORDER_NOTE, instruction);
    else
        snprintf(note, sizeof note, "%s", VIETTEL_ORDER_NOTE);
#define S(x) ((x) ? (x) : "")
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:s, s:s, s:s, s:i}",
                     "ORDER_NUMBER", number, "ORDER_REFERENCE", s->waybill, "SENDER_FULLNAME", S(s->sender.name),
                     "SENDER_ADDRESS", S(s->sender.address), "SENDER_PHONE", S(s->sender.phone),
                     "RECEIVER_FULLNAME", S(s->receiver.name), "RECEIVER_ADDRESS", S(s->receiver.address),
                     "RECEIVER_PHONE", S(s->receiver.phone), "PRODUCT_NAME",
                     s->content_note && *s->content_note ? s->content_note : "Hồ sơ, kết quả TTHC", "PRODUCT_TYPE",
                     "HH", "PRODUCT_QUANTITY", 1, "PRODUCT_WEIGHT", s->weight_g, "MONEY_COLLECTION",
                     (json_int_t)s->cod_amount, "ORDER_SERVICE", s->service_code ? s->service_code
                                                                                 : s->express ? VIETTEL_EXPRESS_SERVICE : VIETTEL_ECONOMY_SERVICE,
                     "ORDER_SERVICE_ADD", "", "ORDER_NOTE", note, "ORDER_PAYMENT",
                     s->cod_amount > 0 ? 3 : 1);
#undef S
}

/* existing_order - "already exists": 1 with carrier_ref set, 0 when env is not that answer */
static int
existing_order(const viettel_env_t *env, const carrier_shipment_t *s, carrier_result_t *out, carrier_status_t *st)
{
    char tmp[32];
    const char *id, *ref;

    if (env->status == 200 || !json_is_object(env->data))
        return 0;
    if (env->status != 409 && !strstr(env->message, "tồn tại") && !strstr(env->message, "exist"))
        return 0;
    id = carrier_json_scalar_text(json_object_get(env->data, "ORDER_NUMBER"), tmp, sizeof tmp);
    if (!id || !*id || strlen(id) >= sizeof out->carrier_ref)
        return 0; /* not an order id: not that answer */
    ref = json_string_value(json_object_get(env->data, "ORDER_REFERENCE"));
    if (ref && *ref && strcmp(ref, s->waybill) != 0) {
        snprintf(out->message, sizeof out->message,
                 "createOrder: Viettel Post already holds order %.40s for this dossier under waybill %.20s, not "
                 "%.20s; a clerk must decide which one travels (cancel one of them)",
                 id, ref, s->waybill);
        *st = CARRIER_FAIL;
        return 1;
    }
    carrier_take_ref(id, out);
    out->already_existed = 1;
    *st = CARRIER_OK;
    return 1;
}

static carrier_status_t
viettel_book(void *ctx, const carrier_shipment_t *s, carrier_result_t *out)
{
    struct viettel *self = ctx;
    carrier_http_response_t resp;
    viettel_env_t env;
    json_t *body;
    const char *id;
    char tmp[32], err[160], number[128];
    carrier_status_t st;

    if (check_shipment(s, err, sizeof err) != 0) {
        snprintf(out->message, sizeof out->message, "createOrder: %s", err);
        return CARRIER_FAIL;
    }
    if (order_number(s, number, sizeof number) != 0) {
        snprintf(out->message, sizeof out->message, "createOrder: dossier_code is too long for ORDER_NUMBER");
        return CARRIER_FAIL;
    }
    body = build_order(s, number);
    if (!body) {
        snprintf(out->message, sizeof out->message, "createOrder: cannot build the request (out of memory?)");
        return CARRIER_RETRY;
    }
    st = viettel_call(self, "POST", "/v2/order/createOrder", body, s->request_id, "createOrder", &resp, out);
    json_decref(body);
    if (st != CARRIER_OK)
        return st;
    envelope(&resp, &env);
    if (existing_order(&env, s, out, &st))
        goto out;
    if (env.status == 200) {
        id = json_is_object(env.data)
                 ? carrier_json_scalar_text(json_object_get(env.data, "ORDER_NUMBER"), tmp, sizeof tmp)
                 : NULL;
        if (carrier_take_ref(id, out) != 0) {
            /* the order may exist: the retry is safe because ORDER_NUMBER is the idempotency key */
            snprintf(out->message, sizeof out->message,
                     "createOrder: HTTP %ld without data.ORDER_NUMBER (body is not the expected JSON)", resp.status);
            st = CARRIER_RETRY;
            goto out;
        }
        carrier_json_fee(json_object_get(env.data, "MONEY_TOTAL"), &out->fee);
        st = CARRIER_OK;
        goto out;
    }
    st = classify(&resp, &env, "createOrder", out);
out:
    carrier_http_response_free(&resp);
    return st;
}

static carrier_status_t
viettel_cancel(void *ctx, const carrier_shipment_t *s, carrier_result_t *out)
{
    struct viettel *self = ctx;
    carrier_http_response_t resp;
    viettel_env_t env;
    json_t *body;
    carrier_status_t st;

    if (carrier_need_ref(s, "UpdateOrder", "Viettel Post ORDER_NUMBER", out) != 0)
        return CARRIER_FAIL;
    body = json_pack("{s:i, s:s, s:s}", "TYPE", 4, "ORDER_NUMBER", s->carrier_ref, "NOTE",
                     "Hủy theo yêu cầu của cơ quan giải quyết TTHC");
    if (!body) {
        snprintf(out->message, sizeof out->message, "UpdateOrder: out of memory");
        return CARRIER_RETRY;
    }
    st = viettel_call(self, "POST", "/v2/order/UpdateOrder", body, s->request_id, "UpdateOrder", &resp, out);
    json_decref(body);
    if (st != CARRIER_OK)
        return st;
    envelope(&resp, &env);
    if (env.status == 200) {
        st = CARRIER_OK;
    } else if (env.status == 409) {
        snprintf(out->message, sizeof out->message,
                 "UpdateOrder: Viettel Post has already picked the item up; it can no longer be cancelled (%.120s)",
                 env.message);
        st = CARRIER_FAIL;
    } else if (env.status == 404) {
        st = carrier_unknown_ref("UpdateOrder", "Viettel Post", "ORDER_NUMBER", s->carrier_ref, out);
    } else {
        st = classify(&resp, &env, "UpdateOrder", out);
    }
    carrier_http_response_free(&resp);
    return st;
}

/* viettel_return - UpdateOrder TYPE 2 (approve the return to the sender). The
 * envelope's 409 means delivered or cancelled; an order already returning is 200. */
static carrier_status_t
viettel_return(void *ctx, const carrier_shipment_t *s, const char *reason, carrier_result_t *out)
{
    struct viettel *self = ctx;
    carrier_http_response_t resp;
    viettel_env_t env;
    json_t *body;
    carrier_status_t st;

    if (carrier_need_ref(s, "UpdateOrder", "Viettel Post ORDER_NUMBER", out) != 0)
        return CARRIER_FAIL;
    body = json_pack("{s:i, s:s, s:s}", "TYPE", 2, "ORDER_NUMBER", s->carrier_ref, "NOTE",
                     reason && *reason ? reason : "Phát không thành công, chuyển hoàn về cơ quan giải quyết TTHC");
    if (!body) {
        snprintf(out->message, sizeof out->message, "UpdateOrder: out of memory");
        return CARRIER_RETRY;
    }
    st = viettel_call(self, "POST", "/v2/order/UpdateOrder", body, s->request_id, "UpdateOrder", &resp, out);
    json_decref(body);
    if (st != CARRIER_OK)
        return st;
    envelope(&resp, &env);
    if (env.status == 200) {
        st = CARRIER_OK;
    } else if (env.status == 409) {
        snprintf(out->message, sizeof out->message,
                 "UpdateOrder: Viettel Post cannot return this order (delivered, cancelled or not picked up: %.120s)",
                 env.message);
        st = CARRIER_FAIL;
    } else if (env.status == 404) {
        st = carrier_unknown_ref("UpdateOrder", "Viettel Post", "ORDER_NUMBER", s->carrier_ref, out);
    } else {
        st = classify(&resp, &env, "UpdateOrder", out);
    }
    carrier_http_response_free(&resp);
    return st;
}

static carrier_status_t
viettel_track(void *ctx, const carrier_shipment_t *s, carrier_event_list_t *events, carrier_result_t *out)
{
    struct viettel *self = ctx;
    carrier_http_response_t resp;
    viettel_env_t env;
    char path[256];
    size_t n0 = events->n;
    carrier_status_t st;

    if (carrier_need_ref(s, "tracking", "Viettel Post ORDER_NUMBER", out) != 0)
        return CARRIER_FAIL;
    if (carrier_http_query_path(path, sizeof path, "/v2/order/tracking?ORDER_NUMBER=", s->carrier_ref) != 0) {
        snprintf(out->message, sizeof out->message, "tracking: out of memory");
        return CARRIER_RETRY;
    }
    st = viettel_call(self, "GET", path, NULL, s->request_id, "tracking", &resp, out);
    if (st != CARRIER_OK)
        return st;
    envelope(&resp, &env);
    if (env.status == 404) {
        st = carrier_unknown_ref("tracking", "Viettel Post", "ORDER_NUMBER", s->carrier_ref, out);
        goto out;
    }
    if (env.status != 200) {
        st = classify(&resp, &env, "tracking", out);
        goto out;
    }
    if (!json_is_array(env.data)) {
        snprintf(out->message, sizeof out->message, "tracking: HTTP %ld but data is not a JSON list", resp.status);
        st = CARRIER_RETRY;
        goto out;
    }
    st = carrier_track_events(env.data, s, parse_event, "tracking", events, out);
out:
    if (st != CARRIER_OK)
        events->n = n0; /* all or nothing */
    carrier_http_response_free(&resp);
    return st;
}

/* webhook_item - one {"DATA": {...}, "TOKEN": ...} object */
static int
webhook_item(const json_t *o, size_t idx, carrier_event_list_t *events, char *err, size_t errlen)
{
    carrier_event_t *e;
    const json_t *data;

    if (!json_is_object(o)) {
        snprintf(err, errlen, "event %zu: not a JSON object with DATA", idx);
        return -1;
    }
    data = json_object_get(o, "DATA");
    if (!data) {
        snprintf(err, errlen, "event %zu: DATA missing (want {\"DATA\": {ORDER_NUMBER, ORDER_STATUS, …}})", idx);
        return -1;
    }
    e = carrier_event_list_push(events);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return parse_event(data, idx, 1, e, err, errlen);
}

static int
viettel_parse_webhook(const char *body, size_t len, carrier_event_list_t *events, char *err, size_t errlen)
{
    return carrier_webhook_events(body, len, 1, VIETTEL_MAX_WEBHOOK_EVENTS, "{\"DATA\": {…}} or a JSON list of them",
                                  webhook_item, events, err, errlen);
}

/* Viettel Post's createOrder documents no field lengths we can cite; these are the limits its
 * simulator dialect enforces (SENDER_FULLNAME/RECEIVER_FULLNAME 200 bytes, the addresses and
 * PRODUCT_NAME 500, RECEIVER_PHONE 20): tighten them here when the carrier's contract says less */
static const carrier_limits_t viettel_limits = {
    .name_bytes = 200, .address_bytes = 500, .phone_bytes = 20, .note_bytes = 500,
};

const carrier_ops_t carrier_viettel = {
    .name = "viettel",
    .display_name = "Tổng công ty Cổ phần Bưu chính Viettel (Viettel Post)",
    .service_name = "Chuyển phát tiết kiệm (VTK)",
    .express_service_name = "Chuyển phát nhanh (VCN)",
    .caps = CARRIER_CAN_BOOK | CARRIER_CAN_CANCEL | CARRIER_CAN_TRACK | CARRIER_CAN_PICKUP | CARRIER_CAN_RETURN,
    .ctx_size = sizeof(struct viettel),
    .limits = &viettel_limits,
    .init = viettel_init,
    .cleanup = viettel_cleanup,
    .book = viettel_book,
    .cancel = viettel_cancel,
    .track = viettel_track,
    .request_return = viettel_return,
    .parse_webhook = viettel_parse_webhook,
    .map_status = viettel_map_status,
};
