/*
 * sim_store - the simulator's orders, tokens, counters, faults and clock
 *
 * Everything here runs under sim_t.mu. Orders are kept in memory (bounded to
 * SIM_MAX_ORDERS), indexed by itemCode, originalId and saleOrderCode. Each
 * order walks a fixed path of VNPost status codes, one step every step_ms of
 * simulated time; because the step is the same for every order, the queue of
 * due steps is a FIFO that stays sorted by construction (O(1) per step).
 * Every step becomes one webhook event in the outbox when webhook_url is set.
 */
#include "carriers/sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "crypto.h"

/* Status paths. "[fail-delivery]" in receiverAddress selects the second one:
 * two failed attempts (TT 17 Điều 5.2), then the return to the agency.
 * "[fail-delivery-hold]" selects the third: two failed attempts, then the item
 * waits at the office until the sender asks for its return (orderReturn). */
static const short path_normal[] = { 1, 6, 10, 12, 14 };
static const short path_fail[] = { 1, 6, 10, 12, 15, 12, 15, 18, 19 };
static const short path_fail_hold[] = { 1, 6, 10, 12, 15, 12, 15 };
static const short path_draft[] = { 0 };
/* after a return request: 17 return approved, 18 return transfer started, 19 return completed */
static const short path_return[] = { 17, 18, 19 };

const char *const sim_reasons[] = { "", "Người nhận vắng nhà" };

static const char *const status_names[] = {
    "Lưu nháp",
    "Tạo đơn thành công",
    "Đã giao bưu tá đi nhận",
    "Đang xử lý",
    "Bưu tá đang nhận hàng",
    "Nhận hàng không thành công",
    "Bưu tá đã nhận hàng",
    "Bưu cục đã nhận hàng",
    "Thu hồi không thành công",
    "Hủy nhận hàng",
    "Đang vận chuyển",
    "Đã đến bưu cục phát",
    "Đang phát hàng",
    "Chuyển tiếp",
    "Phát thành công",
    "Phát không thành công",
    "Chờ hoàn tất chuyển hoàn",
    "Đã duyệt hoàn",
    "Bắt đầu chuyển hoàn",
    "Chuyển hoàn thành công",
    "Đã hoàn một phần",
    "Đã thanh toán tiền thu hộ",
    "Hủy phát hàng",
};

static const char *const service_codes[] = { "CTN001", "CTN007", "CTN009", "ETN011",
                                             "ETN013", "ETN031", "ETN037", "PTN001" };

/* ---- small string → index map (open addressing, keys borrowed) ---------- */

static uint64_t
hash_str(const char *k)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *k; k++) {
        h ^= (unsigned char)*k;
        h *= 1099511628211ULL;
    }
    return h;
}

static int
map_get(const sim_map_t *m, const char *key, size_t *val)
{
    size_t i;

    if (!m->cap)
        return 0;
    for (i = hash_str(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
        if (strcmp(m->keys[i], key) == 0) {
            *val = m->vals[i];
            return 1;
        }
    }
    return 0;
}

static int
map_put(sim_map_t *m, const char *key, size_t val)
{
    size_t i;

    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64, j;
        const char **nk = calloc(ncap, sizeof *nk);
        size_t *nv = calloc(ncap, sizeof *nv);

        if (!nk || !nv) {
            free(nk);
            free(nv);
            return -1;
        }
        for (j = 0; j < m->cap; j++) {
            if (!m->keys[j])
                continue;
            for (i = hash_str(m->keys[j]) & (ncap - 1); nk[i]; i = (i + 1) & (ncap - 1))
                ;
            nk[i] = m->keys[j];
            nv[i] = m->vals[j];
        }
        free(m->keys);
        free(m->vals);
        m->keys = nk;
        m->vals = nv;
        m->cap = ncap;
    }
    for (i = hash_str(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        ;
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 0;
}

static void
map_free(sim_map_t *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- faults ----------------------------------------------------------------- */

int
sim_faults_parse(const char *spec, sim_faults_t *out, char *err, size_t errlen)
{
    sim_faults_t f;
    const char *p = spec ? spec : "";

    memset(&f, 0, sizeof f);
    while (*p) {
        char key[32], val[32];
        size_t kn = 0, vn = 0;
        double d;
        char *end;

        while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\r' || *p == '\t')
            p++;
        if (!*p)
            break;
        while (*p && *p != '=' && *p != ',' && kn < sizeof key - 1)
            key[kn++] = *p++;
        key[kn] = '\0';
        while (kn > 0 && key[kn - 1] == ' ')
            key[--kn] = '\0';
        if (*p != '=') {
            snprintf(err, errlen, "faults: '%s' needs a value, e.g. %s=0.1", key, key);
            return -1;
        }
        p++;
        while (*p && *p != ',' && *p != '\n' && vn < sizeof val - 1)
            val[vn++] = *p++;
        val[vn] = '\0';
        d = strtod(val, &end);
        while (*end == ' ' || *end == '\r')
            end++;
        if (end == val || *end || !(d >= 0.0 && d <= 1.0)) {
            snprintf(err, errlen, "faults: %s=%s is not a probability between 0 and 1", key, val);
            return -1;
        }
        if (strcmp(key, "timeout") == 0)
            f.timeout = d;
        else if (strcmp(key, "http500") == 0)
            f.http500 = d;
        else if (strcmp(key, "http429") == 0)
            f.http429 = d;
        else if (strcmp(key, "malformed") == 0)
            f.malformed = d;
        else if (strcmp(key, "slow") == 0)
            f.slow = d;
        else if (strcmp(key, "dup_webhook") == 0)
            f.dup_webhook = d;
        else if (strcmp(key, "reorder_webhook") == 0)
            f.reorder_webhook = d;
        else {
            snprintf(err, errlen,
                     "faults: unknown fault '%s' (known: timeout, http500, http429, malformed, slow, "
                     "dup_webhook, reorder_webhook)",
                     key);
            return -1;
        }
    }
    *out = f;
    return 0;
}

/* ---- life cycle --------------------------------------------------------------- */

static char *
dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

int
sim_init(sim_t *s, const char *username, const char *password, const char *customer_code,
         const char *webhook_url, const char *webhook_token, const char *webhook_secret, double clock_speed,
         double step_seconds, const sim_faults_t *faults, uint64_t seed, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (!(clock_speed > 0 && clock_speed <= 1e6)) {
        snprintf(err, errlen, "clock_speed must be between 0 (exclusive) and 1000000");
        return -1;
    }
    if (!(step_seconds > 0 && step_seconds <= 86400 * 30)) {
        snprintf(err, errlen, "step_seconds must be between 0 (exclusive) and 2592000");
        return -1;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->username = dup_or_empty(username);
    s->password = dup_or_empty(password);
    s->customer_code = dup_or_empty(customer_code);
    s->webhook_url = dup_or_empty(webhook_url);
    s->webhook_token = dup_or_empty(webhook_token);
    s->webhook_secret = dup_or_empty(webhook_secret);
    s->viettel_token = dup_or_empty("demo-viettel-token"); /* sim_set_viettel changes both */
    s->viettel_webhook_url = dup_or_empty("");
    if (!s->username || !s->password || !s->customer_code || !s->webhook_url || !s->webhook_token ||
        !s->webhook_secret || !s->viettel_token || !s->viettel_webhook_url) {
        snprintf(err, errlen, "out of memory");
        sim_destroy(s);
        return -1;
    }
    s->dialects = SIM_DIALECT_VNPOST | SIM_DIALECT_VIETTEL;
    s->clock_speed = clock_speed;
    s->step_ms = (int64_t)(step_seconds * 1000.0);
    if (s->step_ms < 1)
        s->step_ms = 1;
    s->faults = *faults;
    s->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
    s->mono_start = clock_mono_ms();
    s->wall_start = clock_now_ms();
    return 0;
}

static void
outbox_list_free(sim_outbox_ev_t *e)
{
    while (e) {
        sim_outbox_ev_t *next = e->next;

        free(e->json);
        free(e);
        e = next;
    }
}

void
sim_outbox_free(sim_outbox_ev_t *list)
{
    outbox_list_free(list);
}

void
sim_destroy(sim_t *s)
{
    size_t i;

    for (i = 0; i < s->norders; i++)
        free(s->orders[i]);
    free(s->orders);
    for (i = 0; i < s->nsales; i++) {
        free(s->sales[i]->orders);
        free(s->sales[i]);
    }
    free(s->sales);
    free(s->due);
    map_free(&s->by_item);
    map_free(&s->by_id);
    map_free(&s->by_sale);
    outbox_list_free(s->ready_head);
    outbox_list_free(s->delayed);
    free(s->username);
    free(s->password);
    free(s->customer_code);
    free(s->webhook_url);
    free(s->webhook_token);
    free(s->webhook_secret);
    free(s->viettel_token);
    free(s->viettel_webhook_url);
    free(s->last_body);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    memset(s, 0, sizeof *s);
}

int64_t
sim_now_ms(const sim_t *s)
{
    return s->wall_start + (int64_t)((double)(clock_mono_ms() - s->mono_start) * s->clock_speed);
}

/* real_step_ms - how long one step takes on the real clock */
static int64_t
real_step_ms(const sim_t *s)
{
    return (int64_t)((double)s->step_ms / s->clock_speed);
}

static double
rng_next_locked(sim_t *s)
{
    uint64_t z = (s->rng += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

double
sim_random(sim_t *s)
{
    double d;

    pthread_mutex_lock(&s->mu);
    d = rng_next_locked(s);
    pthread_mutex_unlock(&s->mu);
    return d;
}

sim_fault_t
sim_roll_fault(sim_t *s)
{
    sim_fault_t f = SIM_FAULT_NONE;
    double u, acc = 0;

    pthread_mutex_lock(&s->mu);
    u = rng_next_locked(s);
    if (u < (acc += s->faults.timeout))
        f = SIM_FAULT_TIMEOUT;
    else if (u < (acc += s->faults.http500))
        f = SIM_FAULT_HTTP500;
    else if (u < (acc += s->faults.http429))
        f = SIM_FAULT_HTTP429;
    else if (u < (acc += s->faults.malformed))
        f = SIM_FAULT_MALFORMED;
    else if (u < (acc += s->faults.slow))
        f = SIM_FAULT_SLOW;
    if (f != SIM_FAULT_NONE)
        s->faults_injected++;
    pthread_mutex_unlock(&s->mu);
    return f;
}

void
sim_set_faults(sim_t *s, const sim_faults_t *f)
{
    pthread_mutex_lock(&s->mu);
    s->faults = *f;
    pthread_mutex_unlock(&s->mu);
}

void
sim_count_request(sim_t *s, const char *endpoint)
{
    pthread_mutex_lock(&s->mu);
    if (strcmp(endpoint, "GetAccessToken") == 0)
        s->req_token++;
    else if (strcmp(endpoint, "CreateOrder") == 0)
        s->req_create++;
    else if (strcmp(endpoint, "orderCancel") == 0)
        s->req_cancel++;
    else if (strcmp(endpoint, "orderReturn") == 0)
        s->req_return++;
    else if (strcmp(endpoint, "orderTracking") == 0)
        s->req_track++;
    else if (strcmp(endpoint, "viettel.createOrder") == 0)
        s->req_vt_create++;
    else if (strcmp(endpoint, "viettel.UpdateOrder") == 0)
        s->req_vt_update++;
    else if (strcmp(endpoint, "viettel.tracking") == 0)
        s->req_vt_track++;
    else
        s->req_other++;
    pthread_mutex_unlock(&s->mu);
}

void
sim_record_request(sim_t *s, const char *method, const char *path, const char *request_id,
                   const char *content_type, int had_token, const char *body, size_t len)
{
    char *copy = malloc(len + 1);

    if (copy) {
        memcpy(copy, body ? body : "", len);
        copy[len] = '\0';
    }
    pthread_mutex_lock(&s->mu);
    snprintf(s->last_method, sizeof s->last_method, "%s", method);
    snprintf(s->last_path, sizeof s->last_path, "%s", path);
    snprintf(s->last_request_id, sizeof s->last_request_id, "%s", request_id ? request_id : "");
    snprintf(s->last_content_type, sizeof s->last_content_type, "%s", content_type ? content_type : "");
    s->last_had_token = had_token;
    free(s->last_body);
    s->last_body = copy;
    pthread_mutex_unlock(&s->mu);
}

json_t *
sim_last_request(sim_t *s)
{
    json_t *j, *body = NULL;
    json_error_t jerr;

    pthread_mutex_lock(&s->mu);
    if (s->last_body && *s->last_body)
        body = json_loads(s->last_body, 0, &jerr);
    j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "method", s->last_method, "path", s->last_path,
                  "x_request_id", s->last_request_id, "content_type", s->last_content_type, "token",
                  s->last_had_token, "body", body ? body : json_null());
    pthread_mutex_unlock(&s->mu);
    return j;
}

/* ---- tokens -------------------------------------------------------------------- */

static json_t *
error_body(const char *code, const char *message)
{
    return json_pack("{s:s, s:s}", "errorCode", code, "message", message);
}

int
sim_get_token(sim_t *s, const json_t *req, json_t **body)
{
    const char *u = json_string_value(json_object_get(req, "username"));
    const char *p = json_string_value(json_object_get(req, "password"));
    const char *c = json_string_value(json_object_get(req, "customerCode"));
    uint8_t raw[32];
    char hex[65];

    if (!u || !p || !c) {
        *body = error_body("INVALID", "username, password and customerCode are required strings");
        return 400;
    }
    if (strcmp(u, s->username) != 0 || strcmp(p, s->password) != 0 || strcmp(c, s->customer_code) != 0) {
        *body = error_body("INVALID_CREDENTIALS", "wrong username, password or customerCode");
        return 401;
    }
    if (random_bytes(raw, sizeof raw) != 0) {
        *body = error_body("INTERNAL", "no randomness");
        return 500;
    }
    hex_encode(raw, sizeof raw, hex);
    pthread_mutex_lock(&s->mu);
    memcpy(s->tokens[s->ntokens % 256], hex, sizeof hex);
    s->ntokens++;
    pthread_mutex_unlock(&s->mu);
    *body = json_pack("{s:s}", "token", hex);
    return 200;
}

int
sim_token_valid(sim_t *s, const char *token)
{
    unsigned i, n;
    int ok = 0;

    if (!token || strlen(token) != 64)
        return 0;
    pthread_mutex_lock(&s->mu);
    n = s->ntokens < 256 ? s->ntokens : 256;
    for (i = 0; i < n && !ok; i++)
        ok = strcmp(s->tokens[i], token) == 0;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void
sim_expire_tokens(sim_t *s)
{
    pthread_mutex_lock(&s->mu);
    memset(s->tokens, 0, sizeof s->tokens);
    s->ntokens = 0;
    pthread_mutex_unlock(&s->mu);
}

/* ---- events ---------------------------------------------------------------------- */

void
sim_format_vn(int64_t ms, char *out, size_t cap)
{
    clock_format(ms, CLOCK_VN_DATETIME, out, cap);
}

static const char *
status_name(int code)
{
    return (code >= 0 && code < (int)(sizeof status_names / sizeof status_names[0])) ? status_names[code] : "";
}

/* event_json - one event as the webhook and tracking lists carry it */
static json_t *
event_json(const sim_order_t *o, int i, int webhook)
{
    const sim_hist_t *h = &o->hist[i];
    char date[32], id[48];
    json_t *e;

    sim_format_vn(h->sim_ms, date, sizeof date);
    snprintf(id, sizeof id, "%s-%d", o->original_id, i);
    e = json_pack("{s:i, s:s, s:s, s:s, s:s}", "status", h->code, "statusDate", date, "statusName",
                  status_name(h->code), "reason", sim_reasons[h->reason], "eventId", id);
    if (!e)
        return NULL;
    if (webhook) {
        json_object_set_new(e, "originalId", json_string(o->original_id));
        json_object_set_new(e, "itemCode", json_string(o->item_code));
    } else {
        json_object_set_new(e, "postmanName", json_string(h->code >= 6 ? "Bưu tá Nguyễn Văn Phát" : ""));
    }
    if (h->code == 14 && o->cod > 0)
        json_object_set_new(e, "amount", json_integer(o->cod));
    if (h->code == 6 && o->pickup_fee > 0)
        json_object_set_new(e, "amount", json_integer(o->pickup_fee));
    if (h->code == 14) {
        /* the postman checked the recipient's CCCD at the door */
        char idno[16];
        snprintf(idno, sizeof idno, "0012030%05d", (int)(strlen(o->original_id) * 7919 + i) % 100000);
        json_object_set_new(e, "receiverRelation", json_string("self"));
        json_object_set_new(e, "receiverIdType", json_string("CCCD"));
        json_object_set_new(e, "receiverIdNumber", json_string(idno));
    }
    return e;
}

static void
outbox_push_locked(sim_t *s, char *json, int64_t send_after, int delayed, int viettel)
{
    sim_outbox_ev_t *ev;

    if (s->outbox_len >= SIM_MAX_OUTBOX) {
        s->webhook_events_dropped++;
        free(json);
        return;
    }
    ev = calloc(1, sizeof *ev);
    if (!ev) {
        s->webhook_events_dropped++;
        free(json);
        return;
    }
    ev->json = json;
    ev->viettel = viettel;
    ev->send_after_ms = send_after;
    s->outbox_len++;
    if (delayed) {
        ev->next = s->delayed;
        s->delayed = ev;
    } else if (s->ready_tail) {
        s->ready_tail->next = ev;
        s->ready_tail = ev;
    } else {
        s->ready_head = s->ready_tail = ev;
    }
}

/* sim_record_locked - append status code to the order's history and queue its webhook
 * (VNPost events to webhook_url, Viettel bodies to viettel_webhook_url) */
void
sim_record_locked(sim_t *s, sim_order_t *o, int code, int64_t when, int reason)
{
    json_t *e;
    char *text, *dup = NULL;
    int64_t now = clock_mono_ms();
    int reorder;

    if (o->nhist >= SIM_MAX_HIST)
        return;
    o->hist[o->nhist].sim_ms = when;
    o->hist[o->nhist].code = (short)code;
    o->hist[o->nhist].reason = (short)reason;
    o->nhist++;
    if (!(o->viettel ? s->viettel_webhook_url : s->webhook_url)[0])
        return;
    e = o->viettel ? sim_vt_event_json(s, o, o->nhist - 1, 1) : event_json(o, o->nhist - 1, 1);
    text = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    if (!text) {
        s->webhook_events_dropped++;
        return;
    }
    /* the duplicate is copied before the original is queued: outbox_push_locked takes
     * ownership of text and frees it at once when the outbox is full (a use after free
     * found by clang-tidy). The random draws keep their order, so seeded runs do not change. */
    reorder = rng_next_locked(s) < s->faults.reorder_webhook;
    if (rng_next_locked(s) < s->faults.dup_webhook) {
        dup = strdup(text);
        s->faults_injected++;
    }
    if (reorder) {
        int64_t delay = real_step_ms(s) * 3 / 2;

        s->faults_injected++;
        outbox_push_locked(s, text, now + (delay < 200 ? 200 : delay > 30000 ? 30000 : delay), 1, o->viettel);
    } else {
        outbox_push_locked(s, text, now, 0, o->viettel);
    }
    if (dup)
        outbox_push_locked(s, dup, now + 300, 1, o->viettel);
    pthread_cond_broadcast(&s->cond);
}

static int
due_push_locked(sim_t *s, size_t idx, int64_t due)
{
    if (s->due_len == s->due_cap) {
        size_t ncap = s->due_cap ? s->due_cap * 2 : 1024, i;
        sim_due_t *nd = malloc(ncap * sizeof *nd);

        if (!nd)
            return -1;
        for (i = 0; i < s->due_len; i++)
            nd[i] = s->due[(s->due_head + i) % s->due_cap];
        free(s->due);
        s->due = nd;
        s->due_cap = ncap;
        s->due_head = 0;
    }
    s->due[(s->due_head + s->due_len) % s->due_cap].idx = idx;
    s->due[(s->due_head + s->due_len) % s->due_cap].due_ms = due;
    s->due_len++;
    return 0;
}

size_t
sim_tick(sim_t *s)
{
    size_t steps = 0;
    int64_t now;

    pthread_mutex_lock(&s->mu);
    now = sim_now_ms(s);
    while (s->due_len > 0 && s->due[s->due_head].due_ms <= now) {
        sim_due_t d = s->due[s->due_head];
        sim_order_t *o = s->orders[d.idx];
        int code;

        s->due_head = (s->due_head + 1) % s->due_cap;
        s->due_len--;
        if (o->cancelled || o->step + 1 >= o->path_len)
            continue;
        o->step++;
        code = o->path[o->step];
        sim_record_locked(s, o, code, d.due_ms, o->viettel ? sim_vt_reason(code) : code == 15 ? 1 : 0);
        steps++;
        if (o->step + 1 < o->path_len)
            due_push_locked(s, d.idx, d.due_ms + s->step_ms);
    }
    pthread_mutex_unlock(&s->mu);
    return steps;
}

/* ---- orders ---------------------------------------------------------------------------- */

static const char *
field(const json_t *info, const char *key, size_t maxlen, char *err, size_t errlen)
{
    const json_t *v = json_object_get(info, key);
    const char *str = json_string_value(v);

    if (!str || !*str) {
        snprintf(err, errlen, "informationOrder.%s is required (a non-empty string)", key);
        return NULL;
    }
    if (strlen(str) > maxlen) {
        snprintf(err, errlen, "informationOrder.%s is longer than %zu bytes", key, maxlen);
        return NULL;
    }
    return str;
}

static int
validate_order(const json_t *req, const char **item, const char **sale, const char **addr, long long *cod,
               long long *weight, int *draft, char *err, size_t errlen)
{
    const json_t *info = json_object_get(req, "informationOrder"), *v, *addons;
    const char *svc;
    size_t i;
    int known = 0;

    *cod = 0;
    *weight = 0;
    if (!json_is_object(req)) {
        snprintf(err, errlen, "body must be a JSON object");
        return -1;
    }
    v = json_object_get(req, "orderCreationStatus");
    if (!json_is_integer(v) || (json_integer_value(v) != 0 && json_integer_value(v) != 1)) {
        snprintf(err, errlen, "orderCreationStatus must be 0 (draft) or 1 (created)");
        return -1;
    }
    *draft = json_integer_value(v) == 0;
    v = json_object_get(req, "type");
    if (!json_is_string(v) || strcmp(json_string_value(v), "GUI") != 0) {
        snprintf(err, errlen, "type must be \"GUI\"");
        return -1;
    }
    if (!json_is_object(info)) {
        snprintf(err, errlen, "informationOrder must be an object");
        return -1;
    }
    if (!field(info, "senderName", 200, err, errlen) || !field(info, "senderAddress", 500, err, errlen) ||
        !field(info, "receiverName", 200, err, errlen) || !field(info, "receiverPhone", 20, err, errlen) ||
        !(*addr = field(info, "receiverAddress", 500, err, errlen)) ||
        !field(info, "receiverProvinceCode", 10, err, errlen) ||
        !field(info, "receiverCommuneCode", 10, err, errlen) || !(svc = field(info, "serviceCode", 10, err, errlen)) ||
        !(*sale = field(info, "saleOrderCode", 63, err, errlen)) ||
        !(*item = field(info, "itemCode", 31, err, errlen)))
        return -1;
    for (i = 0; i < sizeof service_codes / sizeof service_codes[0]; i++)
        known |= strcmp(svc, service_codes[i]) == 0;
    if (!known) {
        snprintf(err, errlen, "informationOrder.serviceCode '%.10s' is not a VNPost service", svc);
        return -1;
    }
    v = json_object_get(info, "weight");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100000) {
            snprintf(err, errlen, "informationOrder.weight must be grams between 0 and 100000");
            return -1;
        }
        *weight = json_integer_value(v);
    }
    addons = json_object_get(info, "addonService");
    if (addons && !json_is_null(addons)) {
        if (!json_is_array(addons)) {
            snprintf(err, errlen, "informationOrder.addonService must be a list");
            return -1;
        }
        for (i = 0; i < json_array_size(addons); i++) {
            const json_t *a = json_array_get(addons, i);
            const char *code = json_string_value(json_object_get(a, "code"));

            if (!code) {
                snprintf(err, errlen, "informationOrder.addonService[%zu].code is required", i);
                return -1;
            }
            if (strcmp(code, "GTG021") == 0) {
                const char *pv = json_string_value(json_object_get(a, "propValue"));
                char *end;

                *cod = pv ? strtoll(pv, &end, 10) : -1;
                if (!pv || !*pv || *end || *cod <= 0) {
                    snprintf(err, errlen, "informationOrder.addonService GTG021 needs propValue = the COD amount");
                    return -1;
                }
            }
        }
    }
    return 0;
}

sim_sale_t *
sim_sale_get_locked(sim_t *s, const char *code)
{
    sim_sale_t *sale, **ns;
    size_t idx;

    if (map_get(&s->by_sale, code, &idx))
        return s->sales[idx];
    if (s->nsales == s->csales) {
        size_t ncap = s->csales ? s->csales * 2 : 256;

        ns = realloc(s->sales, ncap * sizeof *ns);
        if (!ns)
            return NULL;
        s->sales = ns;
        s->csales = ncap;
    }
    sale = calloc(1, sizeof *sale);
    if (!sale)
        return NULL;
    snprintf(sale->code, sizeof sale->code, "%s", code);
    if (map_put(&s->by_sale, sale->code, s->nsales) != 0) {
        free(sale);
        return NULL;
    }
    s->sales[s->nsales++] = sale;
    return sale;
}

int
sim_order_add_locked(sim_t *s, sim_sale_t *sale, sim_order_t *o)
{
    size_t idx = s->norders;

    if (s->norders == s->corders) {
        size_t ncap = s->corders ? s->corders * 2 : 1024;
        sim_order_t **no = realloc(s->orders, ncap * sizeof *no);

        if (!no)
            return -1;
        s->orders = no;
        s->corders = ncap;
    }
    if (sale->n == sale->cap) {
        size_t ncap = sale->cap ? sale->cap * 2 : 2;
        size_t *np = realloc(sale->orders, ncap * sizeof *np);

        if (!np)
            return -1;
        sale->orders = np;
        sale->cap = ncap;
    }
    if (!o->viettel && map_put(&s->by_item, o->item_code, idx) != 0)
        return -1;
    if (map_put(&s->by_id, o->original_id, idx) != 0) {
        /* by_item now points at an index that will not exist: undo by rebuilding is
         * costly, so keep the order instead; out of memory here is fatal anyway */
        s->orders[s->norders++] = o;
        sale->orders[sale->n++] = idx;
        return 1;
    }
    s->orders[s->norders++] = o;
    sale->orders[sale->n++] = idx;
    o->hist[0].sim_ms = sim_now_ms(s);
    o->hist[0].code = o->path[0];
    o->nhist = 1;
    if (o->path_len > 1)
        due_push_locked(s, idx, o->hist[0].sim_ms + s->step_ms);
    return 0;
}

int
sim_order_find_locked(const sim_t *s, const char *original_id, sim_order_t **out)
{
    size_t idx;

    *out = NULL;
    if (!original_id || !map_get(&s->by_id, original_id, &idx))
        return -1;
    *out = s->orders[idx];
    return 0;
}

/* record_pickup - the GTG026 add-on (pick-up at the sender's address) and its window */
static void
record_pickup(sim_order_t *o, const json_t *addons)
{
    size_t i;

    for (i = 0; i < json_array_size(addons); i++) {
        const json_t *a = json_array_get(addons, i);
        const char *code = json_string_value(json_object_get(a, "code"));
        const char *pv = json_string_value(json_object_get(a, "propValue"));

        if (code && strcmp(code, "GTG026") == 0)
            snprintf(o->pickup, sizeof o->pickup, "%s", pv && *pv ? pv : "any");
    }
}

int
sim_create_order(sim_t *s, const json_t *req, json_t **body)
{
    const char *item = NULL, *sale_code = NULL, *addr = NULL;
    long long cod, weight;
    int draft = 0, status;
    char err[200];
    sim_sale_t *sale;
    sim_order_t *o = NULL;
    size_t idx;

    if (validate_order(req, &item, &sale_code, &addr, &cod, &weight, &draft, err, sizeof err) != 0) {
        *body = error_body("INVALID", err);
        return 400;
    }
    pthread_mutex_lock(&s->mu);
    s->create_calls++;
    sale = sim_sale_get_locked(s, sale_code);
    if (!sale) {
        *body = error_body("INTERNAL", "out of memory");
        status = 500;
        goto out;
    }
    sale->create_calls++;
    if (map_get(&s->by_item, item, &idx)) {
        /* the existing order's saleOrderCode: the adapter checks it is the same dossier */
        *body = json_pack("{s:s, s:s, s:s, s:s}", "errorCode", "ORDER_EXISTS", "message",
                          "an order with this itemCode already exists", "originalId", s->orders[idx]->original_id,
                          "saleOrderCode", s->orders[idx]->sale_order);
        status = 409;
        goto out;
    }
    if (s->norders >= SIM_MAX_ORDERS) {
        *body = error_body("FULL", "the simulator holds its maximum number of orders");
        status = 503;
        goto out;
    }
    o = calloc(1, sizeof *o);
    if (!o)
        goto nomem;
    idx = s->norders;
    snprintf(o->original_id, sizeof o->original_id, "VNP%010zu", idx + 1);
    snprintf(o->item_code, sizeof o->item_code, "%s", item);
    snprintf(o->sale_order, sizeof o->sale_order, "%s", sale_code);
    o->cod = cod;
    o->weight = weight;
    {
        /* recorded so tests see what the postman would read */
        const char *ins = json_string_value(
            json_object_get(json_object_get(req, "informationOrder"), "deliveryInstruction"));

        snprintf(o->instruction, sizeof o->instruction, "%s", ins ? ins : "");
        record_pickup(o, json_object_get(json_object_get(req, "informationOrder"), "addonService"));
        o->pickup_fee = json_integer_value(json_object_get(json_object_get(req, "informationOrder"), "pickupFee"));
    }
    o->fee = 16500 + (weight > 500 ? (weight - 1) / 500 * 2500 : 0) + (cod > 0 ? 10000 : 0);
    if (draft) {
        o->path = path_draft;
        o->path_len = 1;
    } else if (strstr(addr, "[fail-delivery-hold]")) {
        o->path = path_fail_hold;
        o->path_len = (int)(sizeof path_fail_hold / sizeof path_fail_hold[0]);
    } else if (strstr(addr, "[fail-delivery]")) {
        o->path = path_fail;
        o->path_len = (int)(sizeof path_fail / sizeof path_fail[0]);
    } else {
        o->path = path_normal;
        o->path_len = (int)(sizeof path_normal / sizeof path_normal[0]);
    }
    switch (sim_order_add_locked(s, sale, o)) {
    case -1:
        goto nomem;
    case 1:
        *body = error_body("INTERNAL", "out of memory");
        status = 500;
        goto out;
    default:
        break;
    }
    *body = json_pack("{s:s, s:i, s:I, s:s}", "originalId", o->original_id, "status", o->path[0], "totalFee",
                      (json_int_t)o->fee, "itemCode", o->item_code);
    status = 200;
    goto out;
nomem:
    free(o);
    *body = error_body("INTERNAL", "out of memory");
    status = 500;
out:
    pthread_mutex_unlock(&s->mu);
    return status;
}

int
sim_cancel_order(sim_t *s, const json_t *req, json_t **body)
{
    const char *id = json_string_value(json_object_get(req, "OriginalId"));
    sim_order_t *o;
    size_t idx;
    int status, cur;

    pthread_mutex_lock(&s->mu);
    if (!id || !*id) {
        *body = error_body("INVALID", "OriginalId is required");
        status = 400;
        goto out;
    }
    if (!map_get(&s->by_id, id, &idx) || s->orders[idx]->viettel) {
        *body = error_body("NOT_FOUND", "no order with this OriginalId");
        status = 404;
        goto out;
    }
    o = s->orders[idx];
    cur = o->cancelled ? 9 : o->path[o->step];
    if (!o->cancelled && cur >= 6) {
        *body = error_body("ALREADY_PICKED_UP", "the item has already been picked up; it cannot be cancelled");
        status = 409;
        goto out;
    }
    if (!o->cancelled) {
        o->cancelled = 1;
        sim_record_locked(s, o, 9, sim_now_ms(s), 0);
    }
    *body = json_pack("{s:s, s:s, s:i}", "caseId", o->original_id, "originalId", o->original_id, "status", 9);
    status = 200;
out:
    pthread_mutex_unlock(&s->mu);
    return status;
}

int
sim_order_start_return_locked(sim_t *s, sim_order_t *o, const short *path, int n)
{
    /* a step is still queued for o exactly when its old path had steps left */
    int queued = !o->cancelled && o->step + 1 < o->path_len;
    int64_t now = sim_now_ms(s);
    size_t idx;

    o->path = path;
    o->path_len = n;
    o->step = 0;
    sim_record_locked(s, o, path[0], now, 0);
    if (!queued && n > 1 && map_get(&s->by_id, o->original_id, &idx))
        return due_push_locked(s, idx, now + s->step_ms);
    return 0;
}

int
sim_return_order(sim_t *s, const json_t *req, json_t **body)
{
    const char *id = json_string_value(json_object_get(req, "OriginalId"));
    const json_t *reason = json_object_get(req, "reason");
    sim_order_t *o;
    size_t idx;
    int status, cur;

    pthread_mutex_lock(&s->mu);
    if (!id || !*id || (reason && !json_is_string(reason))) {
        *body = error_body("INVALID", "OriginalId is required and reason, when given, is a string");
        status = 400;
        goto out;
    }
    if (!map_get(&s->by_id, id, &idx) || s->orders[idx]->viettel) {
        *body = error_body("NOT_FOUND", "no order with this OriginalId");
        status = 404;
        goto out;
    }
    o = s->orders[idx];
    o->return_calls++;
    cur = o->cancelled ? 9 : o->path[o->step];
    if (cur >= 17 && cur <= 20) {
        /* already on its way back, or back: the same answer again */
        *body = json_pack("{s:s, s:i, s:b}", "originalId", o->original_id, "status", cur, "already", 1);
        status = 200;
        goto out;
    }
    if (o->cancelled || cur < 6 || cur == 14 || cur == 21 || cur == 22) {
        *body = error_body("NOT_RETURNABLE", "only a picked-up item that was not delivered can be returned");
        status = 409;
        goto out;
    }
    if (sim_order_start_return_locked(s, o, path_return, (int)(sizeof path_return / sizeof path_return[0])) != 0) {
        *body = error_body("INTERNAL", "out of memory");
        status = 500;
        goto out;
    }
    *body = json_pack("{s:s, s:i}", "originalId", o->original_id, "status", path_return[0]);
    status = 200;
out:
    pthread_mutex_unlock(&s->mu);
    return status;
}

int
sim_track_order(sim_t *s, const char *id, json_t **body)
{
    size_t idx;
    int i;
    json_t *list;

    pthread_mutex_lock(&s->mu);
    if (!id || !map_get(&s->by_id, id, &idx) || s->orders[idx]->viettel) {
        pthread_mutex_unlock(&s->mu);
        *body = error_body("NOT_FOUND", "no order with this originalId");
        return 404;
    }
    list = json_array();
    for (i = 0; list && i < s->orders[idx]->nhist; i++)
        json_array_append_new(list, event_json(s->orders[idx], i, 0));
    pthread_mutex_unlock(&s->mu);
    *body = list;
    return list ? 200 : 500;
}

static json_t *
sale_json(const sim_t *s, const sim_sale_t *sale)
{
    json_t *items = json_array(), *o;
    const sim_order_t *last = NULL;
    char code[8];
    size_t i;
    long long return_calls = 0;

    for (i = 0; items && i < sale->n; i++) {
        last = s->orders[sale->orders[i]];
        json_array_append_new(items, json_string(last->item_code));
        return_calls += last->return_calls;
    }
    if (last)
        snprintf(code, sizeof code, "%d", last->cancelled ? (last->viettel ? 107 : 9) : last->path[last->step]);
    else
        code[0] = '\0';
    o = json_pack("{s:I, s:I, s:o, s:s, s:s}", "orders", (json_int_t)sale->n, "create_calls",
                  (json_int_t)sale->create_calls, "item_codes", items, "status", code, "carrier",
                  last && last->viettel ? "viettel" : "vnpost");
    if (o)
        json_object_set_new(o, "return_calls", json_integer(return_calls));
    if (o && last) {
        json_object_set_new(o, "weight", json_integer(last->weight));
        json_object_set_new(o, "instruction", json_string(last->instruction));
        json_object_set_new(o, "pickup", json_string(last->pickup));
        json_object_set_new(o, "pickup_fee", json_integer(last->pickup_fee));
    }
    return o;
}

json_t *
sim_stats(sim_t *s, const char *sale_order)
{
    json_t *root = NULL, *by_sale = json_object();
    size_t i, idx;

    if (!by_sale)
        return NULL;
    pthread_mutex_lock(&s->mu);
    if (sale_order && *sale_order) {
        if (map_get(&s->by_sale, sale_order, &idx))
            json_object_set_new(by_sale, s->sales[idx]->code, sale_json(s, s->sales[idx]));
    } else {
        for (i = 0; i < s->nsales; i++)
            json_object_set_new(by_sale, s->sales[i]->code, sale_json(s, s->sales[i]));
    }
    root = json_pack("{s:I, s:I, s:o, s:{s:I, s:I, s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:I, s:I}", "orders_total",
                     (json_int_t)s->norders, "create_calls", (json_int_t)s->create_calls, "by_sale_order", by_sale,
                     "requests", "GetAccessToken", (json_int_t)s->req_token, "CreateOrder",
                     (json_int_t)s->req_create, "orderCancel", (json_int_t)s->req_cancel, "orderTracking",
                     (json_int_t)s->req_track, "other", (json_int_t)s->req_other, "webhooks_sent",
                     (json_int_t)s->webhooks_sent, "webhooks_failed", (json_int_t)s->webhooks_failed,
                     "webhook_events_sent", (json_int_t)s->webhook_events_sent, "webhook_events_dropped",
                     (json_int_t)s->webhook_events_dropped, "webhook_events_pending", (json_int_t)s->outbox_len,
                     "faults_injected", (json_int_t)s->faults_injected);
    if (root) {
        json_t *req = json_object_get(root, "requests");

        json_object_set_new(req, "viettel.createOrder", json_integer(s->req_vt_create));
        json_object_set_new(req, "viettel.UpdateOrder", json_integer(s->req_vt_update));
        json_object_set_new(req, "viettel.tracking", json_integer(s->req_vt_track));
        json_object_set_new(req, "orderReturn", json_integer(s->req_return));
        json_object_set_new(req, "viettel.UpdateOrder.return", json_integer(s->req_vt_return));
    }
    pthread_mutex_unlock(&s->mu);
    return root;
}

/* ---- outbox -------------------------------------------------------------------------------- */

static void
promote_delayed_locked(sim_t *s, int64_t now, int64_t *next_due)
{
    sim_outbox_ev_t **pp = &s->delayed;

    while (*pp) {
        sim_outbox_ev_t *e = *pp;

        if (e->send_after_ms <= now) {
            *pp = e->next;
            e->next = NULL;
            if (s->ready_tail)
                s->ready_tail->next = e;
            else
                s->ready_head = e;
            s->ready_tail = e;
        } else {
            if (*next_due == 0 || e->send_after_ms < *next_due)
                *next_due = e->send_after_ms;
            pp = &e->next;
        }
    }
}

size_t
sim_outbox_take(sim_t *s, size_t max, int wait_ms, sim_outbox_ev_t **out)
{
    sim_outbox_ev_t *head = NULL, **tail = &head;
    size_t n = 0;
    int64_t deadline = clock_mono_ms() + wait_ms;

    *out = NULL;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        int64_t now = clock_mono_ms(), next_due = 0, until;
        struct timespec ts;

        promote_delayed_locked(s, now, &next_due);
        if (s->ready_head || s->stopping || now >= deadline)
            break;
        until = deadline;
        if (next_due && next_due < until)
            until = next_due;
        if (until - now > 50)
            until = now + 50; /* bounded sleep */
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(until - now) * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->cond, &s->mu, &ts);
    }
    while (s->ready_head && n < max) {
        sim_outbox_ev_t *e = s->ready_head;

        s->ready_head = e->next;
        if (!s->ready_head)
            s->ready_tail = NULL;
        e->next = NULL;
        *tail = e;
        tail = &e->next;
        n++;
        s->outbox_len--;
    }
    pthread_mutex_unlock(&s->mu);
    *out = head;
    return n;
}

void
sim_outbox_retry(sim_t *s, sim_outbox_ev_t *list)
{
    int64_t now = clock_mono_ms();

    pthread_mutex_lock(&s->mu);
    while (list) {
        sim_outbox_ev_t *e = list;

        list = e->next;
        e->next = NULL;
        e->attempts++;
        if (e->attempts >= SIM_WEBHOOK_ATTEMPTS || s->stopping) {
            s->webhook_events_dropped++;
            free(e->json);
            free(e);
            continue;
        }
        e->send_after_ms = now + (500LL << (e->attempts - 1));
        e->next = s->delayed;
        s->delayed = e;
        s->outbox_len++;
    }
    pthread_mutex_unlock(&s->mu);
}

void
sim_count_webhook(sim_t *s, int ok, size_t events)
{
    pthread_mutex_lock(&s->mu);
    if (ok) {
        s->webhooks_sent++;
        s->webhook_events_sent += (long long)events;
    } else {
        s->webhooks_failed++;
    }
    pthread_mutex_unlock(&s->mu);
}
