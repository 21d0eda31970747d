/*
 * vnpost - the VNPost (MyVNPost customer-partner) adapter, design §6
 *
 * Wire facts that stay in this file: the token endpoint and the `token:`
 * header (a 401 refreshes the token once), CreateOrder / orderCancel /
 * orderTracking bodies, the answer "already exists" (HTTP 409 with
 * errorCode ORDER_EXISTS and the original originalId, an idempotent success),
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
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carriers/carrier.h"
#include "carriers/carrier_http.h"
#include "clock.h"
#include "secret.h"

#define VNPOST_MAX_WEBHOOK_EVENTS 1000
#define VNPOST_DEFAULT_SERVICE "CTN001"

struct vnpost {
    carrier_http_t *http;
    char base[512];
    char username[128];
    char password[256];
    char customer_code[64];
    char token[1024]; /* cached access token, "" = none */
};

/* ---- status table -------------------------------------------------------- */

typedef struct {
    int code;
    const char *status;
    const char *upu;
} vnpost_code_t;

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
static const vnpost_code_t vnpost_codes[] = {
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
    int code = 0;
    size_t i, len;

    out->status = NULL;
    out->upu = "";
    if (!raw)
        return -1;
    len = strlen(raw);
    if (len == 0 || len > 3)
        return -1;
    for (i = 0; i < len; i++) {
        if (!isdigit((unsigned char)raw[i]))
            return -1;
        code = code * 10 + (raw[i] - '0');
    }
    for (i = 0; i < sizeof vnpost_codes / sizeof vnpost_codes[0]; i++) {
        if (vnpost_codes[i].code == code) {
            out->status = vnpost_codes[i].status;
            out->upu = vnpost_codes[i].upu;
            return 0;
        }
    }
    return -1;
}

/* ---- init / cleanup ------------------------------------------------------ */

static const char *
cfg_str(const config_t *cfg, const char *key, const char *fallback)
{
    const char *v = cfg ? config_get(cfg, key) : NULL;

    return (v && *v) ? v : fallback;
}

static int
copy_checked(char *dst, size_t cap, const char *src, const char *key, char *err, size_t errlen)
{
    size_t n = strlen(src);

    if (n >= cap) {
        snprintf(err, errlen, "%s is too long (%zu bytes, at most %zu)", key, n, cap - 1);
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

static int
read_password(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
    FILE *f;
    size_t n;

    /* secrets live in files nobody else can read (design §8) */
    if (secret_file_private(path, err, errlen) != 0)
        return -1;
    f = fopen(path, "r");

    if (!f) {
        snprintf(err, errlen, "cannot read carrier.vnpost.password_file %s: %s", path, strerror(errno));
        return -1;
    }
    n = fread(out, 1, cap - 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read carrier.vnpost.password_file %s: read error", path);
        fclose(f);
        return -1;
    }
    if (n == cap - 1 && fgetc(f) != EOF) {
        snprintf(err, errlen, "carrier.vnpost.password_file %s is longer than %zu bytes", path, cap - 1);
        fclose(f);
        return -1;
    }
    fclose(f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' || out[n - 1] == '\t'))
        out[--n] = '\0';
    if (n == 0) {
        snprintf(err, errlen, "carrier.vnpost.password_file %s is empty", path);
        return -1;
    }
    return 0;
}

static int
vnpost_init(void *ctx, const config_t *cfg, char *err, size_t errlen)
{
    struct vnpost *self = ctx;
    carrier_http_opts_t opts;
    const char *url = cfg_str(cfg, "carrier.vnpost.url", NULL);
    const char *pwfile = cfg_str(cfg, "carrier.vnpost.password_file", NULL);
    size_t n;

    if (!url) {
        snprintf(err, errlen, "carrier.vnpost.url is not set: give the VNPost API base URL");
        return -1;
    }
    carrier_http_opts_from_config(cfg, &opts);
    if (carrier_http_check_url(url, opts.allow_insecure, err, errlen) != 0)
        return -1;
    if (copy_checked(self->base, sizeof self->base, url, "carrier.vnpost.url", err, errlen) != 0 ||
        copy_checked(self->username, sizeof self->username, cfg_str(cfg, "carrier.vnpost.username", "demo"),
                     "carrier.vnpost.username", err, errlen) != 0 ||
        copy_checked(self->customer_code, sizeof self->customer_code,
                     cfg_str(cfg, "carrier.vnpost.customer_code", "BCCI"), "carrier.vnpost.customer_code", err,
                     errlen) != 0)
        return -1;
    n = strlen(self->base);
    while (n > 0 && self->base[n - 1] == '/')
        self->base[--n] = '\0';
    if (pwfile) {
        if (read_password(pwfile, self->password, sizeof self->password, err, errlen) != 0)
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
    char url[640];
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
    snprintf(url, sizeof url, "%s/customer-partner/GetAccessToken", self->base);
    carrier_http_request(self->http, "POST", url, NULL, body, request_id, &resp);
    json_decref(body);
    if (resp.curl_code == CURLE_OK && (resp.status == 401 || resp.status == 403)) {
        out->http_status = (int)resp.status;
        snprintf(out->message, sizeof out->message,
                 "GetAccessToken: VNPost refused the credentials (HTTP %ld): check carrier.vnpost.username, "
                 "password_file and customer_code",
                 resp.status);
        st = CARRIER_FAIL;
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
    char url[1024], header[1100];
    const char *headers[2];
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
        snprintf(url, sizeof url, "%s%s", self->base, path);
        snprintf(header, sizeof header, "token: %s", self->token);
        headers[0] = header;
        headers[1] = NULL;
        if (carrier_http_request(self->http, method, url, headers, body, request_id, resp) != 0) {
            st = carrier_http_result(resp, what, out);
            carrier_http_response_free(resp);
            return st;
        }
        if (resp->status != 401)
            return CARRIER_OK;
        /* the token expired or was revoked: fetch a new one, once */
        carrier_http_response_free(resp);
        self->token[0] = '\0';
    }
    out->http_status = 401;
    snprintf(out->message, sizeof out->message, "%s: VNPost refused a freshly issued token (HTTP 401 twice)", what);
    memset(resp, 0, sizeof *resp);
    return CARRIER_FAIL;
}

/* ---- helpers --------------------------------------------------------------- */

/* copy_utf8 - copy src into dst (cap bytes), cutting at a character boundary */
static void
copy_utf8(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* json_scalar_text - a string, or an integer as decimal text; NULL otherwise */
static const char *
json_scalar_text(const json_t *v, char *tmp, size_t cap)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(tmp, cap, "%lld", (long long)json_integer_value(v));
        return tmp;
    }
    return NULL;
}

static int
need_text(const char *label, const char *v, char *err, size_t errlen)
{
    if (!v || !*v) {
        snprintf(err, errlen, "%s is required", label);
        return -1;
    }
    return 0;
}

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
        s = json_scalar_text(json_object_get(o, "originalId"), tmp, sizeof tmp);
        if (!s || !*s || strlen(s) >= sizeof e->carrier_ref) {
            snprintf(err, errlen, "event %zu: originalId missing, empty or longer than %zu", idx,
                     sizeof e->carrier_ref - 1);
            return -1;
        }
        memcpy(e->carrier_ref, s, strlen(s) + 1);
        s = json_string_value(json_object_get(o, "itemCode"));
        if (!s || !*s || strlen(s) >= sizeof e->waybill) {
            snprintf(err, errlen, "event %zu: itemCode missing, empty or longer than %zu", idx,
                     sizeof e->waybill - 1);
            return -1;
        }
        memcpy(e->waybill, s, strlen(s) + 1);
    }
    s = json_scalar_text(json_object_get(o, "status"), tmp, sizeof tmp);
    if (!s || !*s || strlen(s) >= sizeof e->raw_code) {
        snprintf(err, errlen, "event %zu: status missing or not a short code", idx);
        return -1;
    }
    memcpy(e->raw_code, s, strlen(s) + 1);
    s = json_string_value(json_object_get(o, "statusDate"));
    if (!s) {
        snprintf(err, errlen, "event %zu: statusDate missing (want \"dd/MM/yyyy HH:mm:ss\")", idx);
        return -1;
    }
    if (clock_parse(s, &e->carrier_time_ms) != 0) {
        snprintf(err, errlen, "event %zu: statusDate '%.40s' is not a date (want \"dd/MM/yyyy HH:mm:ss\")", idx,
                 s);
        return -1;
    }
    v = json_object_get(o, "statusName");
    if (with_ids && !json_is_string(v)) {
        snprintf(err, errlen, "event %zu: statusName missing or not a string", idx);
        return -1;
    }
    if (json_is_string(v))
        copy_utf8(e->raw_name, sizeof e->raw_name, json_string_value(v));
    v = json_object_get(o, "reason");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) {
            snprintf(err, errlen, "event %zu: reason must be a string", idx);
            return -1;
        }
        copy_utf8(e->reason, sizeof e->reason, json_string_value(v));
    }
    v = json_object_get(o, "eventId");
    if (v && !json_is_null(v)) {
        s = json_scalar_text(v, tmp, sizeof tmp);
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
        copy_utf8(e->receiver_name, sizeof e->receiver_name, json_string_value(v));
    v = json_object_get(o, "receiverRelation");
    if (json_is_string(v))
        copy_utf8(e->receiver_relation, sizeof e->receiver_relation, json_string_value(v));
    v = json_object_get(o, "receiverIdType");
    if (json_is_string(v))
        copy_utf8(e->receiver_id_type, sizeof e->receiver_id_type, json_string_value(v));
    v = json_object_get(o, "receiverIdNumber");
    if (json_is_string(v)) {
        const char *id = json_string_value(v);
        size_t n = strlen(id), k;

        if (n < 4 || n > 20) {
            snprintf(err, errlen, "event %zu: receiverIdNumber must have 4 to 20 characters", idx);
            return -1;
        }
        for (k = 0; k < 4; k++)
            e->receiver_id_last4[k] = id[n - 4 + k];
        e->receiver_id_last4[4] = '\0';
    }
    return 0;
}

/* ---- operations -------------------------------------------------------------- */

static int
check_shipment(const carrier_shipment_t *s, char *err, size_t errlen)
{
    if (need_text("dossier_code", s->dossier_code, err, errlen) || need_text("waybill", s->waybill, err, errlen) ||
        need_text("sender.name", s->sender.name, err, errlen) ||
        need_text("sender.address", s->sender.address, err, errlen) ||
        need_text("receiver.name", s->receiver.name, err, errlen) ||
        need_text("receiver.phone", s->receiver.phone, err, errlen) ||
        need_text("receiver.address", s->receiver.address, err, errlen) ||
        need_text("receiver.province_code", s->receiver.province_code, err, errlen) ||
        need_text("receiver.commune_code", s->receiver.commune_code, err, errlen))
        return -1;
    return 0;
}

static json_t *
build_order(const struct vnpost *self, const carrier_shipment_t *s)
{
    json_t *info = NULL, *addons = NULL, *root = NULL;
    char amount[32];
    (void)self;

    addons = json_array();
    if (!addons)
        goto fail;
    if (s->cod_amount > 0) {
        snprintf(amount, sizeof amount, "%lld", s->cod_amount);
        if (json_array_append_new(addons, json_pack("{s:s, s:s}", "code", "GTG021", "propValue", amount)) != 0)
            goto fail;
    }
    if (s->pickup && json_array_append_new(addons, json_pack("{s:s}", "code", "GTG026")) != 0)
        goto fail;
#define S(x) ((x) ? (x) : "")
    info = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:i, s:s}",
                     "senderName", S(s->sender.name), "senderPhone", S(s->sender.phone), "senderAddress",
                     S(s->sender.address), "senderProvinceCode", S(s->sender.province_code), "senderCommuneCode",
                     S(s->sender.commune_code), "receiverName", S(s->receiver.name), "receiverPhone",
                     S(s->receiver.phone), "receiverAddress", S(s->receiver.address), "receiverProvinceCode",
                     S(s->receiver.province_code), "receiverCommuneCode", S(s->receiver.commune_code),
                     "serviceCode", s->service_code ? s->service_code : VNPOST_DEFAULT_SERVICE, "addonService",
                     addons, "saleOrderCode", s->dossier_code, "contentNote", S(s->content_note), "weight",
                     s->weight_g, "itemCode", s->waybill);
#undef S
    addons = NULL; /* "o" stole it, even on failure */
    if (!info)
        goto fail;
    root = json_pack("{s:i, s:s, s:o}", "orderCreationStatus", 1, "type", "GUI", "informationOrder", info);
    return root;
fail:
    json_decref(addons);
    return NULL;
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
        id = json_scalar_text(json_object_get(resp.json, "originalId"), tmp, sizeof tmp);
        if (code && strcmp(code, "ORDER_EXISTS") == 0 && id && *id && strlen(id) < sizeof out->carrier_ref) {
            memcpy(out->carrier_ref, id, strlen(id) + 1);
            out->already_existed = 1;
            st = CARRIER_OK;
            goto out;
        }
    }
    if (resp.status >= 200 && resp.status < 300) {
        const json_t *fee;

        id = json_is_object(resp.json) ? json_scalar_text(json_object_get(resp.json, "originalId"), tmp, sizeof tmp)
                                       : NULL;
        if (!id && json_is_object(resp.json))
            id = json_scalar_text(json_object_get(resp.json, "originalID"), tmp, sizeof tmp);
        if (!id || !*id || strlen(id) >= sizeof out->carrier_ref) {
            /* the order may exist: the retry is safe because itemCode is the idempotency key */
            snprintf(out->message, sizeof out->message,
                     "CreateOrder: HTTP %ld without an originalId (body is not the expected JSON)", resp.status);
            st = CARRIER_RETRY;
            goto out;
        }
        memcpy(out->carrier_ref, id, strlen(id) + 1);
        fee = json_object_get(resp.json, "totalFee");
        if (json_is_integer(fee))
            out->fee = json_integer_value(fee);
        else if (json_is_real(fee))
            out->fee = (long long)json_real_value(fee);
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

    if (!s->carrier_ref || !*s->carrier_ref) {
        snprintf(out->message, sizeof out->message,
                 "orderCancel: the shipment has no VNPost originalId (it was never booked)");
        return CARRIER_FAIL;
    }
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
        snprintf(out->message, sizeof out->message, "orderCancel: VNPost does not know originalId %.63s",
                 s->carrier_ref);
        st = CARRIER_FAIL;
    } else {
        st = carrier_http_result(&resp, "orderCancel", out);
    }
    carrier_http_response_free(&resp);
    return st;
}

static carrier_status_t
vnpost_track(void *ctx, const carrier_shipment_t *s, carrier_event_list_t *events, carrier_result_t *out)
{
    struct vnpost *self = ctx;
    carrier_http_response_t resp;
    char path[256], err[200];
    char *esc = NULL;
    const json_t *list;
    size_t i, n0 = events->n;
    carrier_status_t st;

    if (!s->carrier_ref || !*s->carrier_ref) {
        snprintf(out->message, sizeof out->message,
                 "orderTracking: the shipment has no VNPost originalId (it was never booked)");
        return CARRIER_FAIL;
    }
    esc = curl_easy_escape(NULL, s->carrier_ref, 0);
    if (!esc) {
        snprintf(out->message, sizeof out->message, "orderTracking: out of memory");
        return CARRIER_RETRY;
    }
    snprintf(path, sizeof path, "/customer-partner/orderTracking?originalId=%.180s", esc);
    curl_free(esc);
    st = vnpost_call(self, "GET", path, NULL, s->request_id, "orderTracking", &resp, out);
    if (st != CARRIER_OK)
        return st;
    out->http_status = (int)resp.status;
    if (resp.status == 404) {
        snprintf(out->message, sizeof out->message, "orderTracking: VNPost does not know originalId %.63s",
                 s->carrier_ref);
        st = CARRIER_FAIL;
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
    for (i = 0; i < json_array_size(list); i++) {
        carrier_event_t *e = carrier_event_list_push(events);

        if (!e) {
            snprintf(out->message, sizeof out->message, "orderTracking: out of memory");
            st = CARRIER_RETRY;
            goto out;
        }
        if (parse_event(json_array_get(list, i), i, 0, e, err, sizeof err) != 0) {
            snprintf(out->message, sizeof out->message, "orderTracking: %s", err);
            st = CARRIER_RETRY;
            goto out;
        }
        copy_utf8(e->carrier_ref, sizeof e->carrier_ref, s->carrier_ref);
        if (s->waybill)
            copy_utf8(e->waybill, sizeof e->waybill, s->waybill);
    }
    st = CARRIER_OK;
out:
    if (st != CARRIER_OK)
        events->n = n0; /* all or nothing */
    carrier_http_response_free(&resp);
    return st;
}

static int
vnpost_parse_webhook(const char *body, size_t len, carrier_event_list_t *events, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root;
    size_t i, n0 = events->n;
    int rc = -1;

    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "webhook body is not JSON: %s (line %d)", jerr.text, jerr.line);
        return -1;
    }
    if (!json_is_array(root)) {
        snprintf(err, errlen, "webhook body must be a JSON list of events");
        goto out;
    }
    if (json_array_size(root) > VNPOST_MAX_WEBHOOK_EVENTS) {
        snprintf(err, errlen, "webhook carries %zu events, at most %d are accepted per call",
                 json_array_size(root), VNPOST_MAX_WEBHOOK_EVENTS);
        goto out;
    }
    for (i = 0; i < json_array_size(root); i++) {
        carrier_event_t *e = carrier_event_list_push(events);

        if (!e) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        if (parse_event(json_array_get(root, i), i, 1, e, err, errlen) != 0)
            goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        events->n = n0; /* all or nothing */
    json_decref(root);
    return rc;
}

const carrier_ops_t carrier_vnpost = {
    .name = "vnpost",
    .caps = CARRIER_CAN_BOOK | CARRIER_CAN_CANCEL | CARRIER_CAN_TRACK | CARRIER_CAN_PICKUP,
    .ctx_size = sizeof(struct vnpost),
    .init = vnpost_init,
    .cleanup = vnpost_cleanup,
    .book = vnpost_book,
    .cancel = vnpost_cancel,
    .track = vnpost_track,
    .parse_webhook = vnpost_parse_webhook,
    .map_status = vnpost_map_status,
};
