/*
 * sim_viettel - the Viettel Post dialect of bcci-carrier-sim (reference.md §3.3)
 *
 * Shares the store, clock, faults and webhook thread with the VNPost dialect.
 * Wire facts (the same ones carriers/viettel.c relies on):
 *   header `Token: <viettel_token>` on every call, else status 401;
 *   answers {"status": N, "error": bool, "message": "…", "data": …} with
 *   HTTP 200 also for business errors, as Viettel does;
 *   POST /v2/order/createOrder: ORDER_NUMBER is the idempotency key; a second
 *     order with the same ORDER_NUMBER answers status 409 "already exists"
 *     with the existing order in data (ORDER_NUMBER = Viettel's number,
 *     ORDER_REFERENCE as first given); data.ORDER_NUMBER is "VTP…";
 *   POST /v2/order/UpdateOrder {"TYPE": 4, "ORDER_NUMBER": "VTP…"}: cancel,
 *     refused with 409 once the postman has the item (code >= 105);
 *   POST /v2/order/UpdateOrder {"TYPE": 2, "ORDER_NUMBER", "NOTE"}: approve the
 *     return to the sender: 515, then 502 and 504 one step apart; 409 when not
 *     picked up, delivered or cancelled; an order already returning answers 200;
 *   GET /v2/order/tracking?ORDER_NUMBER=VTP… → data: list of DATA objects;
 *   webhooks: one POST per event, {"DATA": {…}, "TOKEN": webhook_token}.
 * Orders walk 100 → 105 → 200 → 500 → 501; "[fail-delivery]" in
 * RECEIVER_ADDRESS selects 100 → 105 → 200 → 500 → 506 → 500 → 506 → 502 → 504;
 * "[fail-delivery-hold]" stops after the second 506 until UpdateOrder TYPE 2.
 * Stats count per ORDER_NUMBER in by_sale_order (with "carrier": "viettel").
 */
#include "carriers/sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const short vt_path_normal[] = { 100, 105, 200, 500, 501 };
static const short vt_path_fail[] = { 100, 105, 200, 500, 506, 500, 506, 502, 504 };
static const short vt_path_fail_hold[] = { 100, 105, 200, 500, 506, 500, 506 };
/* after UpdateOrder TYPE 2: 515 return approved, 502 back to the origin office, 504 returned */
static const short vt_path_return[] = { 515, 502, 504 };

static const struct {
    short code;
    const char *name;
} vt_names[] = {
    { 100, "Tạo đơn hàng" },
    { 101, "VTP yêu cầu hủy" },
    { 102, "Đơn hàng chờ xử lý" },
    { 103, "Giao cho bưu cục" },
    { 104, "Giao bưu tá đi nhận" },
    { 105, "Bưu tá đã nhận hàng" },
    { 106, "Đối tác yêu cầu lấy lại hàng" },
    { 107, "Đối tác yêu cầu hủy qua API" },
    { 200, "Nhận từ bưu tá - Bưu cục gốc" },
    { 500, "Giao bưu tá đi phát" },
    { 501, "Thành công - Phát thành công" },
    { 502, "Chuyển hoàn bưu cục gốc" },
    { 504, "Thành công - Chuyển trả người gửi" },
    { 506, "Tồn - Khách hàng nghỉ, không có nhà" },
};

static const char *
vt_name(int code)
{
    size_t i;

    for (i = 0; i < sizeof vt_names / sizeof vt_names[0]; i++)
        if (vt_names[i].code == code)
            return vt_names[i].name;
    return "";
}

int
sim_vt_reason(int code)
{
    return code == 506 ? 1 : 0;
}

int
sim_set_viettel(sim_t *s, const char *token, const char *webhook_url, char *err, size_t errlen)
{
    char *t = strdup(token ? token : ""), *u = strdup(webhook_url ? webhook_url : "");

    if (!t || !u) {
        free(t);
        free(u);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!*t) {
        free(t);
        free(u);
        snprintf(err, errlen, "viettel_token must not be empty");
        return -1;
    }
    free(s->viettel_token);
    free(s->viettel_webhook_url);
    s->viettel_token = t;
    s->viettel_webhook_url = u;
    return 0;
}

int
sim_vt_token_valid(const sim_t *s, const char *token)
{
    return token && s->viettel_token && strcmp(token, s->viettel_token) == 0;
}

static json_t *
envelope(int status, const char *message, json_t *data)
{
    return json_pack("{s:i, s:b, s:s, s:o}", "status", status, "error", status != 200, "message", message, "data",
                     data ? data : json_null());
}

json_t *
sim_vt_event_json(const sim_t *s, const sim_order_t *o, int i, int with_envelope)
{
    const sim_hist_t *h = &o->hist[i];
    char date[32];
    json_t *d;

    sim_format_vn(h->sim_ms, date, sizeof date);
    d = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:I, s:s, s:s}", "ORDER_NUMBER", o->original_id,
                  "ORDER_REFERENCE", o->item_code, "ORDER_STATUSDATE", date, "ORDER_STATUS", h->code, "STATUS_NAME",
                  vt_name(h->code), "NOTE", sim_reasons[h->reason], "MONEY_COLLECTION", (json_int_t)o->cod,
                  "MONEY_TOTAL", (json_int_t)o->fee, "ORDER_SERVICE", "VCN", "EMPLOYEE_NAME",
                  h->code >= 105 ? "Bưu tá Trần Văn Nhận" : "");
    if (!d || !with_envelope)
        return d;
    return json_pack("{s:o, s:s}", "DATA", d, "TOKEN", s->webhook_token ? s->webhook_token : "");
}

/* text - a required string field of at most maxlen bytes */
static const char *
text(const json_t *req, const char *key, size_t maxlen, char *err, size_t errlen)
{
    const char *v = json_string_value(json_object_get(req, key));

    if (!v || !*v) {
        snprintf(err, errlen, "%s is required (a non-empty string)", key);
        return NULL;
    }
    if (strlen(v) > maxlen) {
        snprintf(err, errlen, "%s is longer than %zu bytes", key, maxlen);
        return NULL;
    }
    return v;
}

static int
validate(const json_t *req, const char **number, const char **ref, const char **addr, long long *cod,
         long long *weight, char *err, size_t errlen)
{
    const json_t *v;
    const char *svc;
    long long pay;

    if (!(*number = text(req, "ORDER_NUMBER", 63, err, errlen)) ||
        !(*ref = text(req, "ORDER_REFERENCE", 31, err, errlen)) || !text(req, "SENDER_FULLNAME", 200, err, errlen) ||
        !text(req, "SENDER_ADDRESS", 500, err, errlen) || !text(req, "RECEIVER_FULLNAME", 200, err, errlen) ||
        !(*addr = text(req, "RECEIVER_ADDRESS", 500, err, errlen)) ||
        !text(req, "RECEIVER_PHONE", 20, err, errlen) || !text(req, "PRODUCT_NAME", 500, err, errlen) ||
        !(svc = text(req, "ORDER_SERVICE", 10, err, errlen)))
        return -1;
    if (strcmp(svc, "VCN") != 0 && strcmp(svc, "VTK") != 0 && strcmp(svc, "PHS") != 0 && strcmp(svc, "VHT") != 0) {
        snprintf(err, errlen, "ORDER_SERVICE '%s' is not a Viettel Post service (VCN, VTK, PHS, VHT)", svc);
        return -1;
    }
    v = json_object_get(req, "PRODUCT_WEIGHT");
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100000) {
        snprintf(err, errlen, "PRODUCT_WEIGHT must be grams between 0 and 100000");
        return -1;
    }
    *weight = json_integer_value(v);
    v = json_object_get(req, "MONEY_COLLECTION");
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, errlen, "MONEY_COLLECTION must be a non-negative integer (VND)");
        return -1;
    }
    *cod = json_integer_value(v);
    v = json_object_get(req, "ORDER_PAYMENT");
    pay = json_is_integer(v) ? json_integer_value(v) : 0;
    if (pay < 1 || pay > 4) {
        snprintf(err, errlen, "ORDER_PAYMENT must be 1, 2, 3 or 4");
        return -1;
    }
    if ((*cod > 0) != (pay == 2 || pay == 3)) {
        snprintf(err, errlen, "ORDER_PAYMENT %lld does not match MONEY_COLLECTION %lld (COD needs 2 or 3)", pay,
                 *cod);
        return -1;
    }
    return 0;
}

static json_t *
order_data(const sim_order_t *o)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "ORDER_NUMBER", o->original_id, "ORDER_REFERENCE",
                     o->item_code, "MONEY_COLLECTION", (json_int_t)o->cod, "MONEY_TOTAL", (json_int_t)o->fee,
                     "MONEY_TOTAL_FEE", (json_int_t)o->fee, "EXCHANGE_WEIGHT", (json_int_t)0);
}

int
sim_vt_create_order(sim_t *s, const json_t *req, json_t **body)
{
    const char *number = NULL, *ref = NULL, *addr = NULL;
    long long cod = 0, weight = 0;
    char err[200];
    sim_sale_t *sale;
    sim_order_t *o = NULL;
    size_t i;

    if (validate(req, &number, &ref, &addr, &cod, &weight, err, sizeof err) != 0) {
        *body = envelope(400, err, NULL);
        return 200;
    }
    pthread_mutex_lock(&s->mu);
    s->create_calls++;
    sale = sim_sale_get_locked(s, number);
    if (!sale) {
        *body = envelope(500, "out of memory", NULL);
        goto out;
    }
    sale->create_calls++;
    for (i = 0; i < sale->n; i++) {
        if (s->orders[sale->orders[i]]->viettel) {
            *body = envelope(409, "Đơn hàng đã tồn tại (ORDER_NUMBER already exists)",
                             order_data(s->orders[sale->orders[i]]));
            goto out;
        }
    }
    if (s->norders >= SIM_MAX_ORDERS) {
        *body = envelope(503, "the simulator holds its maximum number of orders", NULL);
        goto out;
    }
    o = calloc(1, sizeof *o);
    if (!o) {
        *body = envelope(500, "out of memory", NULL);
        goto out;
    }
    o->viettel = 1;
    snprintf(o->original_id, sizeof o->original_id, "VTP%010zu", s->norders + 1);
    snprintf(o->item_code, sizeof o->item_code, "%s", ref);
    snprintf(o->sale_order, sizeof o->sale_order, "%s", number);
    o->cod = cod;
    o->weight = weight;
    snprintf(o->instruction, sizeof o->instruction, "%s",
             json_string_value(json_object_get(req, "ORDER_NOTE")) ? json_string_value(json_object_get(req, "ORDER_NOTE"))
                                                                   : "");
    o->fee = 22000 + (weight > 500 ? (weight - 1) / 500 * 3000 : 0) + (cod > 0 ? 12000 : 0);
    if (strstr(addr, "[fail-delivery-hold]")) {
        o->path = vt_path_fail_hold;
        o->path_len = (int)(sizeof vt_path_fail_hold / sizeof vt_path_fail_hold[0]);
    } else if (strstr(addr, "[fail-delivery]")) {
        o->path = vt_path_fail;
        o->path_len = (int)(sizeof vt_path_fail / sizeof vt_path_fail[0]);
    } else {
        o->path = vt_path_normal;
        o->path_len = (int)(sizeof vt_path_normal / sizeof vt_path_normal[0]);
    }
    switch (sim_order_add_locked(s, sale, o)) {
    case -1:
        free(o);
        *body = envelope(500, "out of memory", NULL);
        goto out;
    case 1:
        *body = envelope(500, "out of memory", NULL);
        goto out;
    default:
        break;
    }
    *body = envelope(200, "OK", order_data(o));
out:
    pthread_mutex_unlock(&s->mu);
    return 200;
}

/* vt_return_order - UpdateOrder TYPE 2: approve the return to the sender */
static int
vt_return_order(sim_t *s, const char *number, json_t **body)
{
    sim_order_t *o;
    int cur;

    pthread_mutex_lock(&s->mu);
    s->req_vt_return++;
    if (sim_order_find_locked(s, number, &o) != 0 || !o->viettel) {
        *body = envelope(404, "Không tìm thấy đơn hàng (no such ORDER_NUMBER)", NULL);
        goto out;
    }
    o->return_calls++;
    cur = o->cancelled ? 107 : o->path[o->step];
    if (cur == 502 || cur == 504 || cur == 505 || cur == 515) {
        *body = envelope(200, "OK", json_pack("{s:s, s:i, s:b}", "ORDER_NUMBER", o->original_id, "ORDER_STATUS", cur,
                                              "ALREADY", 1));
        goto out;
    }
    if (o->cancelled || cur < 105 || cur == 501 || cur == 503) {
        *body = envelope(409, "Đơn hàng không thể chuyển hoàn (not picked up, delivered or cancelled)", NULL);
        goto out;
    }
    if (sim_order_start_return_locked(s, o, vt_path_return, (int)(sizeof vt_path_return / sizeof vt_path_return[0])) !=
        0) {
        *body = envelope(500, "out of memory", NULL);
        goto out;
    }
    *body = envelope(200, "OK", json_pack("{s:s, s:i}", "ORDER_NUMBER", o->original_id, "ORDER_STATUS", 515));
out:
    pthread_mutex_unlock(&s->mu);
    return 200;
}

int
sim_vt_update_order(sim_t *s, const json_t *req, json_t **body)
{
    const json_t *type = json_object_get(req, "TYPE");
    const char *number = json_string_value(json_object_get(req, "ORDER_NUMBER"));
    sim_order_t *o;
    int cur;

    if (!number || !*number) {
        *body = envelope(400, "ORDER_NUMBER is required", NULL);
        return 200;
    }
    if (!json_is_integer(type) || json_integer_value(type) < 1 || json_integer_value(type) > 11) {
        *body = envelope(400, "TYPE must be an integer from 1 to 11 (4 = cancel)", NULL);
        return 200;
    }
    if (json_integer_value(type) != 4 && json_integer_value(type) != 2) {
        *body = envelope(400, "the simulator implements TYPE 2 (approve return) and TYPE 4 (cancel) only", NULL);
        return 200;
    }
    if (json_integer_value(type) == 2)
        return vt_return_order(s, number, body);
    pthread_mutex_lock(&s->mu);
    if (sim_order_find_locked(s, number, &o) != 0 || !o->viettel) {
        *body = envelope(404, "Không tìm thấy đơn hàng (no such ORDER_NUMBER)", NULL);
        goto out;
    }
    cur = o->cancelled ? 107 : o->path[o->step];
    if (!o->cancelled && cur >= 105) {
        *body = envelope(409, "Bưu tá đã nhận hàng, không thể hủy (already picked up)", NULL);
        goto out;
    }
    if (!o->cancelled) {
        o->cancelled = 1;
        sim_record_locked(s, o, 107, sim_now_ms(s), 0);
    }
    *body = envelope(200, "OK", json_pack("{s:s, s:i}", "ORDER_NUMBER", o->original_id, "ORDER_STATUS", 107));
out:
    pthread_mutex_unlock(&s->mu);
    return 200;
}

int
sim_vt_track_order(sim_t *s, const char *number, json_t **body)
{
    sim_order_t *o;
    json_t *list;
    int i;

    pthread_mutex_lock(&s->mu);
    if (sim_order_find_locked(s, number, &o) != 0 || !o->viettel) {
        pthread_mutex_unlock(&s->mu);
        *body = envelope(404, "Không tìm thấy đơn hàng (no such ORDER_NUMBER)", NULL);
        return 200;
    }
    list = json_array();
    for (i = 0; list && i < o->nhist; i++)
        json_array_append_new(list, sim_vt_event_json(s, o, i, 0));
    pthread_mutex_unlock(&s->mu);
    *body = list ? envelope(200, "OK", list) : NULL;
    return *body ? 200 : 500;
}
