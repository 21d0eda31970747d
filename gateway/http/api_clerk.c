/*
 * api_clerk - what the clerk's page (GET /clerk) needs beyond labels and manifests
 *
 *   GET  /v1/shipments?q=&status=&service=&carrier=&agency=&from=&to=&sort=&page=&per_page=
 *                                  search by dossier code, waybill, phone or name (staff)
 *   GET  /v1/whoami                the caller's token: name, role, agency (any token)
 *   GET  /v1/manifests?page=&per_page=   past handover manifests, newest first (clerk, admin)
 *   POST /v1/shipments/{waybill}/return     {"reason"}: a failed delivery goes back now
 *   POST /v1/shipments/{waybill}/redeliver  {"date": "2026-12-03", "note"?}: a new delivery
 *                                  day agreed with the citizen, on the timeline and the
 *                                  citizen's tracking page
 *
 * Every list is scoped to the token's agency (an agency-bound token never sees another
 * agency's rows, whatever ?agency= says) and paged: per_page at most SEARCH_PER_PAGE_MAX.
 * Search rows carry the recipient's phone: only staff tokens reach these routes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carriers/carrier.h"
#include "clock.h"
#include "domain/calendar.h"
#include "domain/ident.h"
#include "domain/status.h"
#include "gateway/http/auth.h"
#include "gateway/http/http_internal.h"
#include "gateway/http/http_json.h"
#include "gateway/rules/citizen.h"
#include "gateway/rules/sink.h"
#include "gateway/store/store_dossiers.h"
#include "gateway/store/store_labels.h"
#include "gateway/store/store_shipments.h"
#include "gateway/store/store_timeline.h"

#define SEARCH_PER_PAGE 50
#define SEARCH_PER_PAGE_MAX 200
#define SEARCH_Q_MAX 100
#define DAY_MS (86400LL * 1000)
#define REDELIVER_MAX_DAYS 30 /* an appointment further out is a typo */

/* ------------------------------------------------------------ rows */

json_t *
http_clerk_row_json(http_ctx_t *c, const store_clerk_row_t *r)
{
    const status_info_t *si = status_lookup(r->status);
    char status_time[40], created[40];
    json_t *o, *url;

    /* 0 until the carrier reports: then the status is the gateway's own, set at intake or booking */
    clock_iso8601(r->status_time ? r->status_time : r->created_at, status_time, sizeof status_time);
    clock_iso8601(r->created_at, created, sizeof created);
    /* a booking the carrier never took reads as such, not as the "created" it still is */
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "waybill", r->waybill,
                  "dossier_code", r->dossier_code, "status", r->status, "status_text",
                  r->booking_dead ? "Bưu điện chưa nhận đơn (đặt đơn thất bại)"
                  : si            ? si->text_vi
                                  : r->status,
                  "status_time", status_time, "created_at", created, "cod_amount", (json_int_t)r->cod_amount,
                  "label_prints", r->label_prints, "carrier", r->carrier, "recipient_name", r->recipient_name,
                  "province_code", r->province_code, "commune_code", r->commune_code, "last_event", r->last_event,
                  "agency_code", r->agency_code, "booking_refused", r->booking_dead);
    if (!o)
        return NULL;
    json_object_set_new(o, "sla_breached", json_boolean(r->sla_breached));
    if (r->leg[0])
        json_object_set_new(o, "leg", json_string(r->leg));
    if (r->service[0])
        json_object_set_new(o, "service", json_string(r->service));
    if (r->recipient_phone)
        json_object_set_new(o, "recipient_phone", json_string(r->recipient_phone));
    if (r->agency_name)
        json_object_set_new(o, "agency_name", json_string(r->agency_name));
    if (r->fail_reason && r->fail_reason[0])
        json_object_set_new(o, "failure_reason", json_string(r->fail_reason));
    if (r->last_attempt_at > 0) {
        char at[40];

        clock_iso8601(r->last_attempt_at, at, sizeof at);
        json_object_set_new(o, "last_attempt_at", json_string(at));
        json_object_set_new(o, "attempts", json_integer(r->attempts));
    }
    url = http_tracking_url(c, r->waybill);
    if (url)
        json_object_set_new(o, "tracking_url", url);
    return o;
}

/* ------------------------------------------------------------ query parameters */

/* query_int - ?name= as an int in [lo, hi] (def when absent); 0, or -1 having answered 400 */
static int
query_int(http_ctx_t *c, const char *name, int def, int lo, int hi, int *out, enum MHD_Result *ret)
{
    const char *v = http_query(c, name);
    char *end;
    long n;

    *out = def;
    if (!v || !*v)
        return 0;
    n = strtol(v, &end, 10);
    if (*end || n < lo || n > hi) {
        *ret = http_fail(c, 400, "invalid_query", name, "%s must be a whole number from %d to %d", name, lo, hi);
        return -1;
    }
    *out = (int)n;
    return 0;
}

/* query_date - ?name=yyyy-mm-dd as the Vietnam midnight that starts it (UTC ms; 0 when absent) */
static int
query_date(http_ctx_t *c, const char *name, int64_t *out, enum MHD_Result *ret)
{
    const char *v = http_query(c, name);

    *out = 0;
    if (!v || !*v)
        return 0;
    if (http_parse_day(v, out) != 0) {
        *ret = http_fail(c, 400, "invalid_query", name, "%s must be a date such as 2026-12-01 (yyyy-mm-dd)", name);
        return -1;
    }
    return 0;
}

int
http_parse_day(const char *s, int64_t *ms)
{
    char iso[32];
    int y, m, d, n = 0;

    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || m < 1 || m > 12 || d < 1 ||
        d > 31)
        return -1;
    snprintf(iso, sizeof iso, "%.10sT00:00:00+07:00", s);
    return clock_parse(iso, ms);
}

static const char *const sort_names[STORE_SEARCH_SORTS] = { "newest",  "oldest",  "status_time",
                                                            "waybill", "dossier", "agency" };

/* ------------------------------------------------------------ GET /v1/shipments */

typedef struct {
    char q[SEARCH_Q_MAX * 4 + 1];
    char status[STORE_STATUS_MAX], service[8], carrier[32], agency[STORE_CODE_MAX];
    int page, per_page;
} search_args_t;

/* search_args - the query parameters into a and q; 0, or -1 having answered 400 */
static int
search_args(http_ctx_t *c, search_args_t *a, store_search_t *q, enum MHD_Result *ret)
{
    const char *v;
    int i;

    memset(a, 0, sizeof *a);
    memset(q, 0, sizeof *q);
    if ((v = http_query(c, "q")) != NULL) {
        char *nfc;

        while (*v == ' ')
            v++;
        /* what a browser sends may be NFD; the dossiers are stored in NFC */
        nfc = ident_utf8_valid(v, strlen(v)) ? ident_text_nfc(v) : NULL;
        if (!nfc || ident_char_count(nfc) > SEARCH_Q_MAX || strlen(nfc) >= sizeof a->q) {
            free(nfc);
            *ret = http_fail(c, 400, "invalid_query", "q", "q must be at most %d characters of text", SEARCH_Q_MAX);
            return -1;
        }
        snprintf(a->q, sizeof a->q, "%s", nfc);
        free(nfc);
        for (i = (int)strlen(a->q); i > 0 && a->q[i - 1] == ' '; i--)
            a->q[i - 1] = '\0';
    }
    if ((v = http_query(c, "status")) != NULL && *v) {
        if (!status_lookup(v)) {
            *ret = http_fail(c, 400, "invalid_query", "status",
                             "status must be a status name such as booked, delivery_failed or returned "
                             "(docs/openapi.yaml lists them)");
            return -1;
        }
        snprintf(a->status, sizeof a->status, "%s", v);
    }
    if ((v = http_query(c, "service")) != NULL && *v) {
        if (strcmp(v, "send") != 0 && strcmp(v, "return") != 0 && strcmp(v, "both") != 0) {
            *ret = http_fail(c, 400, "invalid_query", "service", "service must be send, return or both");
            return -1;
        }
        snprintf(a->service, sizeof a->service, "%s", v);
    }
    if ((v = http_query(c, "carrier")) != NULL && *v) {
        if (!carrier_find(v)) {
            *ret = http_fail(c, 400, "invalid_query", "carrier", "carrier must be one of: %s", carrier_names());
            return -1;
        }
        snprintf(a->carrier, sizeof a->carrier, "%s", v);
    }
    if ((v = http_query(c, "agency")) != NULL && *v) {
        if (!ident_agency_code(v)) {
            *ret = http_fail(c, 400, "invalid_query", "agency", "agency must be a unit code such as 000.04.01.H26");
            return -1;
        }
        snprintf(a->agency, sizeof a->agency, "%s", v);
    }
    if (query_date(c, "from", &q->from, ret) != 0 || query_date(c, "to", &q->to, ret) != 0)
        return -1;
    if (q->to)
        q->to += DAY_MS; /* "to" names the last day, included */
    q->sort = STORE_SEARCH_NEWEST;
    if ((v = http_query(c, "sort")) != NULL && *v) {
        for (i = 0; i < STORE_SEARCH_SORTS && strcmp(v, sort_names[i]) != 0; i++)
            ;
        if (i == STORE_SEARCH_SORTS) {
            *ret = http_fail(c, 400, "invalid_query", "sort",
                             "sort must be newest, oldest, status_time, waybill, dossier or agency");
            return -1;
        }
        q->sort = (store_search_sort_t)i;
    }
    if (query_int(c, "page", 1, 1, 100000, &a->page, ret) != 0 ||
        query_int(c, "per_page", SEARCH_PER_PAGE, 1, SEARCH_PER_PAGE_MAX, &a->per_page, ret) != 0)
        return -1;
    q->q = a->q;
    q->status = a->status;
    q->service = a->service;
    q->carrier = a->carrier;
    q->agency = a->agency;
    q->scope_agency = c->agency;
    q->limit = a->per_page;
    q->offset = (a->page - 1) * a->per_page;
    return 0;
}

static json_t *
page_json(int page, int per_page, long long total)
{
    return json_pack("{s:i, s:i, s:I, s:I}", "page", page, "per_page", per_page, "total", (json_int_t)total, "pages",
                     (json_int_t)((total + per_page - 1) / per_page));
}

static enum MHD_Result
h_search(http_ctx_t *c)
{
    search_args_t a;
    store_search_t q;
    store_clerk_list_t rows;
    store_tx_t *tx = NULL;
    long long total = 0;
    enum MHD_Result ret;
    api_error_t e;
    json_t *list, *doc;
    store_rc_t rc;
    size_t i;

    if (search_args(c, &a, &q, &ret) != 0)
        return ret;
    rc = store_tx_begin(http_store(c), STORE_READ, &tx);
    if (rc == STORE_OK)
        rc = store_dossiers_search(tx, &q, &rows, &total);
    if (rc != STORE_OK) {
        http_store_error(&e, rc, tx ? store_tx_message(tx) : "the database cannot be read; retry later");
        store_tx_abort(&tx);
        return http_send_error(c, &e);
    }
    store_tx_abort(&tx);
    list = json_array();
    for (i = 0; i < rows.nrows; i++)
        json_array_append_new(list, http_clerk_row_json(c, &rows.rows[i]));
    store_clerk_list_free(&rows);
    doc = page_json(a.page, a.per_page, total);
    if (!doc || !list) {
        json_decref(doc);
        json_decref(list);
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    }
    json_object_set_new(doc, "sort", json_string(sort_names[q.sort]));
    json_object_set_new(doc, "shipments", list);
    return http_send_json(c, 200, doc);
}

/* ------------------------------------------------------------ GET /v1/whoami */

static enum MHD_Result
h_whoami(http_ctx_t *c)
{
    json_t *doc = json_pack("{s:s, s:s}", "name", c->client ? c->client : "", "role", auth_role_name(c->role));

    if (!doc)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    if (c->agency && *c->agency) {
        json_object_set_new(doc, "agency_code", json_string(c->agency));
        /* the agency's name as its newest dossier gives it: the gateway keeps no agency table */
        store_search_t q;
        store_clerk_list_t rows;
        store_tx_t *tx = NULL;
        long long total = 0;

        memset(&q, 0, sizeof q);
        q.scope_agency = c->agency;
        q.limit = 1;
        if (store_tx_begin(http_store(c), STORE_READ, &tx) == STORE_OK &&
            store_dossiers_search(tx, &q, &rows, &total) == STORE_OK) {
            if (rows.nrows == 1 && rows.rows[0].agency_name && rows.rows[0].agency_name[0])
                json_object_set_new(doc, "agency_name", json_string(rows.rows[0].agency_name));
            store_clerk_list_free(&rows);
        }
        store_tx_abort(&tx);
    }
    return http_send_json(c, 200, doc);
}

/* ------------------------------------------------------------ GET /v1/manifests */

static enum MHD_Result
h_manifests(http_ctx_t *c)
{
    store_manifest_list_t list;
    store_tx_t *tx = NULL;
    long long total = 0;
    int page, per_page;
    enum MHD_Result ret;
    api_error_t e;
    json_t *arr, *doc;
    store_rc_t rc;
    size_t i;

    if (query_int(c, "page", 1, 1, 100000, &page, &ret) != 0 ||
        query_int(c, "per_page", 20, 1, SEARCH_PER_PAGE_MAX, &per_page, &ret) != 0)
        return ret;
    rc = store_tx_begin(http_store(c), STORE_READ, &tx);
    if (rc == STORE_OK)
        rc = store_labels_manifest_list(tx, c->agency, per_page, (page - 1) * per_page, &list, &total);
    if (rc != STORE_OK) {
        http_store_error(&e, rc, tx ? store_tx_message(tx) : "the database cannot be read; retry later");
        store_tx_abort(&tx);
        return http_send_error(c, &e);
    }
    store_tx_abort(&tx);
    arr = json_array();
    for (i = 0; i < list.n; i++) {
        const store_manifest_row_t *m = &list.rows[i];
        char created[40], accepted[40];
        json_t *o;

        clock_iso8601(m->created_at, created, sizeof created);
        o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "id", m->id, "state", m->state, "agency_code", m->agency_code,
                      "created_by", m->created_by, "created_at", created, "items", (json_int_t)m->items);
        if (o && m->accepted_at > 0) {
            clock_iso8601(m->accepted_at, accepted, sizeof accepted);
            json_object_set_new(o, "accepted_at", json_string(accepted));
        }
        json_array_append_new(arr, o);
    }
    store_manifest_list_free(&list);
    doc = page_json(page, per_page, total);
    if (!doc || !arr) {
        json_decref(doc);
        json_decref(arr);
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    }
    json_object_set_new(doc, "manifests", arr);
    return http_send_json(c, 200, doc);
}

/* ------------------------------------------------------------ return now, redeliver */

typedef struct {
    char waybill[STORE_WAYBILL_MAX];
    char reason[600];  /* return: why; redeliver: the clerk's note ("" = none) */
    int64_t day;       /* redeliver: the Vietnam midnight of the agreed day */
    char day_text[16]; /* "2026-12-03" */
    char source[16];
    const sink_policy_t *policy;
} act_req_t;

/* failed_shipment - the shipment of r->waybill, which must be in delivery_failed; 0, or -1 with err */
static int
failed_shipment(store_tx_t *tx, const act_req_t *r, store_shipment_t *s, api_error_t *err)
{
    store_cancel_target_t t;
    store_rc_t rc = store_dossiers_cancel_target(tx, r->waybill, &t);

    if (rc == STORE_OK)
        rc = store_shipments_get(tx, t.shipment_id, s);
    if (rc != STORE_OK) {
        http_store_error(err, rc, store_tx_message(tx));
        return -1;
    }
    if (strcmp(s->status, "delivery_failed") != 0) {
        api_error_set(err, 409, "not_failed_delivery", NULL,
                      "shipment %s is %s: only a failed delivery can be sent back or re-arranged", r->waybill,
                      s->status);
        return -1;
    }
    return 0;
}

static int
write_return(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    act_req_t *r = arg;
    store_shipment_t s;
    char text[800];
    json_t *d;
    store_rc_t rc;

    if (failed_shipment(tx, r, &s, err) != 0)
        return -1;
    snprintf(text, sizeof text, "Cán bộ một cửa yêu cầu chuyển hoàn kết quả về cơ quan ngay: %s", r->reason);
    d = json_pack("{s:s, s:s}", "kind", "return_now", "reason", r->reason);
    rc = d ? sink_set_status(tx, s.id, "returning", NULL, now, r->source, text, d, r->policy, now) : STORE_BUSY;
    json_decref(d);
    /* the carrier is asked to bring the item back, as after the second invitation */
    if (rc == STORE_OK)
        rc = citizen_request_return(tx, &s, r->reason, now);
    if (rc == STORE_CONFLICT) {
        api_error_set(err, 409, "not_failed_delivery", NULL, "shipment %s cannot go back from %s", r->waybill,
                      s.status);
        return -1;
    }
    if (rc != STORE_OK) {
        http_store_error(err, rc, store_tx_message(tx));
        return -1;
    }
    *out = json_pack("{s:s, s:s}", "waybill", r->waybill, "status", "returning");
    return 200;
}

store_rc_t
http_timeline_note(store_tx_t *tx, int64_t dossier_id, int64_t shipment_id, const char *source, const char *text,
                   json_t *details, int64_t now)
{
    store_timeline_event_t ev;
    char *dtext = details ? json_dumps(details, JSON_COMPACT) : NULL;
    store_rc_t rc;

    json_decref(details);
    if (!dtext)
        return store_tx_fail(tx, STORE_BUSY, "out of memory while writing the timeline; retry later");
    memset(&ev, 0, sizeof ev);
    ev.dossier_id = dossier_id;
    ev.shipment_id = shipment_id;
    ev.event_time = now;
    ev.received_at = now;
    ev.source = source;
    ev.text = text;
    ev.details = dtext;
    rc = store_timeline_append(tx, &ev);
    free(dtext);
    return rc;
}

static int
write_redeliver(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    act_req_t *r = arg;
    store_shipment_t s;
    char text[800], date[16];
    store_rc_t rc;

    if (failed_shipment(tx, r, &s, err) != 0)
        return -1;
    clock_format(r->day, CLOCK_VN_DATE, date, sizeof date);
    snprintf(text, sizeof text, "Hẹn phát lại ngày %s theo thỏa thuận với người nhận%s%s", date,
             r->reason[0] ? ": " : "", r->reason);
    rc = http_timeline_note(tx, s.dossier_id, s.id, r->source, text,
                            json_pack("{s:s, s:s, s:s}", "kind", "redelivery", "date", r->day_text, "note", r->reason),
                            now);
    if (rc != STORE_OK) {
        http_store_error(err, rc, store_tx_message(tx));
        return -1;
    }
    *out = json_pack("{s:s, s:s, s:s}", "waybill", r->waybill, "status", s.status, "redelivery_date", r->day_text);
    return 200;
}

/* act_request - the checked body of return / redeliver into a parked act_req_t; NULL having answered */
static act_req_t *
act_request(http_ctx_t *c, int redeliver, enum MHD_Result *ret)
{
    static const char *const return_fields[] = { "reason", NULL };
    static const char *const redeliver_fields[] = { "date", "note", NULL };
    const char *text_field = redeliver ? "note" : "reason";
    api_error_t e;
    json_t *root;
    const json_t *jt, *jd;
    act_req_t *r;

    if (http_check_waybill(c, c->args[0], NULL, ret) != 0)
        return NULL;
    root = http_parse_only(c, redeliver ? redeliver_fields : return_fields, &e);
    if (!root) {
        *ret = http_send_error(c, &e);
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        json_decref(root);
        *ret = http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
        return NULL;
    }
    http_keep(c, r, free);
    snprintf(r->waybill, sizeof r->waybill, "%s", c->args[0]);
    snprintf(r->source, sizeof r->source, "%s", c->role == ROLE_CLERK ? "clerk" : "case_system");
    r->policy = engine_policy(http_engine(c));
    jt = json_object_get(root, text_field);
    if (jt && !json_is_null(jt) &&
        (!json_is_string(jt) || json_string_length(jt) >= sizeof r->reason ||
         !ident_utf8_valid(json_string_value(jt), json_string_length(jt)))) {
        json_decref(root);
        *ret = http_fail(c, 422, "invalid_field", text_field, "%s must be a text of at most %zu bytes", text_field,
                         sizeof r->reason - 1);
        return NULL;
    }
    if (json_is_string(jt))
        snprintf(r->reason, sizeof r->reason, "%s", json_string_value(jt));
    if (!redeliver && !r->reason[0]) {
        json_decref(root);
        *ret = http_fail(c, 422, "invalid_field", "reason",
                         "reason is required: say why the result goes back to the desk now");
        return NULL;
    }
    if (redeliver) {
        int64_t today = 0;
        char todays[40];

        jd = json_object_get(root, "date");
        clock_format(clock_now_ms(), CLOCK_ISO8601, todays, sizeof todays);
        todays[10] = '\0'; /* the Vietnam date of now */
        http_parse_day(todays, &today);
        if (!json_is_string(jd) || http_parse_day(json_string_value(jd), &r->day) != 0 || r->day <= today ||
            r->day > today + REDELIVER_MAX_DAYS * DAY_MS) {
            json_decref(root);
            *ret = http_fail(c, 422, "invalid_field", "date",
                             "date must be a day after today and within %d days, such as 2026-12-03 (yyyy-mm-dd)",
                             REDELIVER_MAX_DAYS);
            return NULL;
        }
        snprintf(r->day_text, sizeof r->day_text, "%s", json_string_value(jd));
    }
    json_decref(root);
    return r;
}

static enum MHD_Result
h_return(http_ctx_t *c)
{
    enum MHD_Result ret;
    act_req_t *r = act_request(c, 0, &ret);

    return r ? http_submit_call(c, write_return, r, http_finish_linked) : ret;
}

static enum MHD_Result
h_redeliver(http_ctx_t *c)
{
    enum MHD_Result ret;
    act_req_t *r = act_request(c, 1, &ret);

    return r ? http_submit_call(c, write_redeliver, r, http_finish_linked) : ret;
}

const http_route_t api_clerk_routes[] = {
    { "GET", "/v1/shipments", h_search, ROLES_STAFF,
      "search shipments (q = dossier code, waybill, phone or name; filters, sort, pages)", HTTP_SCOPE_NONE },
    { "GET", "/v1/whoami", h_whoami, ROLES_STAFF | ROLE_POST_OFFICE | ROLE_CARRIER,
      "the caller's token: name, role, agency", HTTP_SCOPE_NONE },
    { "GET", "/v1/manifests", h_manifests, ROLE_CLERK | ROLE_ADMIN, "past handover manifests, newest first",
      HTTP_SCOPE_NONE },
    { "POST", "/v1/shipments/*/return", h_return, ROLE_CLERK | ROLE_ADMIN,
      "a failed delivery goes back to the desk now", HTTP_SCOPE_WAYBILL },
    { "POST", "/v1/shipments/*/redeliver", h_redeliver, ROLE_CLERK | ROLE_ADMIN,
      "a new delivery day agreed with the citizen", HTTP_SCOPE_WAYBILL },
    { NULL, NULL, NULL, 0, NULL, HTTP_SCOPE_NONE },
};
