/*
 * api_public - what citizens and clerks open in a browser (design §7, §8)
 *
 *   GET /t/{waybill}?k={token}     citizen tracking page (no token; k is the HMAC
 *                                  token of the label's QR, compared in constant time)
 *   GET /clerk, /clerk/app.js, /clerk/app.css
 *                                  the clerk dispatch page: a static shell whose
 *                                  script calls the JSON API with the clerk's bearer token
 *   GET /v1/clerk/shipments?state=ready|problems
 *                                  what the clerk acts on (clerk, admin)
 *
 * A wrong k and an unknown waybill get the same 404 page, so waybills cannot
 * be enumerated; every request to /t/ first takes a token from a per-address
 * bucket (PUBLIC_RATE per minute) and one from a per-waybill bucket
 * (PUBLIC_WAYBILL_RATE per minute, so one waybill is not hammered from many
 * addresses), answered with 429 and Retry-After when either is empty. The
 * address is the connecting peer's, or the X-Forwarded-For client's when the
 * peer is a configured trusted proxy (http_forwarded_ip).
 * The tracking page gets a masked name and codes only (pages_public.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/status.h"
#include "clock.h"
#include "crypto.h"
#include "domain/calendar.h"
#include "gateway/http/http_internal.h"
#include "gateway/pages/pages_public.h"
#include "gateway/store/store_dossiers.h"
#include "labels/label.h"
#include "domain/s10.h"
#include "log.h"

/* ------------------------------------------------------------ rate limit */

#define PUBLIC_RATE 60          /* requests per minute per client address */
#define PUBLIC_WAYBILL_RATE 20  /* requests per minute per waybill, whatever the address */
#define RL_WAYS 8               /* slots per bucket; the least recently seen is replaced */
#define RL_BUCKETS 512
#define RL_MILLI 1000           /* one request = 1000 milli-tokens */

typedef struct {
    char ip[48];    /* the key: a client address or a waybill */
    int64_t tokens; /* milli-tokens, at most rate * RL_MILLI */
    int64_t last;   /* monotonic ms of the last refill */
} rl_slot_t;

static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
static rl_slot_t rl_slots[RL_BUCKETS][RL_WAYS];         /* per address */
static rl_slot_t rl_waybill_slots[RL_BUCKETS][RL_WAYS]; /* per waybill */

static unsigned
rl_hash(const char *s)
{
    unsigned h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* rl_take - 0 when key may go on in table (rate per minute); else the seconds until it
 * may (Retry-After) */
static int
rl_take(rl_slot_t (*table)[RL_WAYS], int rate, const char *ip, int64_t now)
{
    rl_slot_t *bucket = table[rl_hash(ip) % RL_BUCKETS], *s = NULL;
    const int64_t cap = (int64_t)rate * RL_MILLI;
    /* refill: rate tokens per 60,000 ms */
    int64_t refill, wait = 0;
    int i;

    pthread_mutex_lock(&rl_lock);
    for (i = 0; i < RL_WAYS; i++) {
        if (bucket[i].ip[0] && strcmp(bucket[i].ip, ip) == 0) {
            s = &bucket[i];
            break;
        }
    }
    if (!s) {
        s = &bucket[0];
        for (i = 1; i < RL_WAYS; i++)
            if (!bucket[i].ip[0] || bucket[i].last < s->last)
                s = &bucket[i];
        snprintf(s->ip, sizeof s->ip, "%s", ip);
        s->tokens = cap;
        s->last = now;
    }
    refill = (now - s->last) * cap / 60000;
    if (refill > 0) {
        s->tokens = s->tokens + refill > cap ? cap : s->tokens + refill;
        s->last = now;
    }
    if (s->tokens >= RL_MILLI) {
        s->tokens -= RL_MILLI;
    } else {
        wait = ((RL_MILLI - s->tokens) * 60000 / cap + 999) / 1000; /* whole seconds, rounded up */
        if (wait < 1)
            wait = 1;
    }
    pthread_mutex_unlock(&rl_lock);
    return (int)wait;
}

/* ------------------------------------------------------------ HTML answers */

static enum MHD_Result
send_html(http_ctx_t *c, int status, char *html, size_t len)
{
    if (!html)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    http_add_header(c, "Content-Security-Policy", PAGE_CSP_PUBLIC);
    http_add_header(c, "Referrer-Policy", "no-referrer");
    return http_send_bytes(c, status, "text/html; charset=utf-8", html, len);
}

static enum MHD_Result
send_not_found(http_ctx_t *c)
{
    size_t len = 0;
    char *html = page_not_found_html(&len);

    return send_html(c, 404, html, len);
}

/* token_ok - 1 when k is the tracking token of waybill (constant time) */
static int
token_ok(http_ctx_t *c, const char *waybill, const char *k)
{
    const http_api_config_t *cfg = http_config(c);
    char url[128];
    const char *want;

    if (!k || !cfg->secret || label_tracking_url("", waybill, cfg->secret, cfg->secretlen, url, sizeof url) != 0)
        return 0;
    want = strstr(url, "?k=");
    if (!want)
        return 0;
    want += 3;
    if (strlen(k) != strlen(want))
        return 0;
    return ct_equal(k, want, strlen(want));
}

/* ------------------------------------------------------------ /t/{waybill} */

/* expected_delivery - the shipment's due date once the carrier has it (the
 * scheduler's J+n on the operator's calendar); before that, intake +
 * PAGE_TRANSIT_WORKING_DAYS working days on the same calendar */
static int64_t
expected_delivery(const http_api_config_t *cfg, int64_t created_at, int64_t due_at)
{
    if (due_at > 0)
        return due_at;
    return calendar_add_working_days(cfg->calendar, created_at, PAGE_TRANSIT_WORKING_DAYS);
}

#define TRACK_MAX_EVENTS STORE_TRACK_MAX_EVENTS

typedef struct {
    page_tracking_t page;
    page_event_t events[TRACK_MAX_EVENTS];
    char status[24];
    char ev_status[TRACK_MAX_EVENTS][24];
    char name[256];
    char province[8];
    char commune[8];
    int64_t due_at; /* ms; 0 until the carrier has the item */
} track_t;

/* track_load - fill t from the store's tracking record of waybill */
static store_rc_t
track_load(store_t *store, const char *waybill, track_t *t)
{
    store_tracking_t rec;
    store_tx_t *tx = NULL;
    store_rc_t rc = store_tx_begin(store, STORE_READ, &tx);
    size_t i;

    if (rc == STORE_OK)
        rc = store_dossiers_tracking(tx, waybill, &rec);
    store_tx_abort(&tx);
    if (rc != STORE_OK)
        return rc;
    snprintf(t->status, sizeof t->status, "%s", rec.status);
    t->page.status_time = rec.status_time;
    t->page.created_at = rec.created_at;
    if (strcmp(rec.leg, "send") == 0) {
        /* the send leg goes to the agency: its name is public */
        snprintf(t->name, sizeof t->name, "%s", rec.agency_name);
    } else if (page_mask_name(rec.recipient_name, t->name, sizeof t->name) != 0) {
        t->name[0] = '\0';
    }
    snprintf(t->province, sizeof t->province, "%s", rec.province_code);
    snprintf(t->commune, sizeof t->commune, "%s", rec.commune_code);
    t->due_at = rec.due_at;
    for (i = 0; i < rec.nevents && t->page.nevents < TRACK_MAX_EVENTS; i++) {
        size_t k = t->page.nevents++;

        snprintf(t->ev_status[k], sizeof t->ev_status[k], "%s", rec.events[i].status);
        t->events[k].time = rec.events[i].time;
        t->events[k].status = t->ev_status[k];
        /* status_time is the carrier's clock and stays 0 until the carrier reports; a status the
         * gateway set itself (booked) is shown at the time of its event, never as 01/01/1970 */
        if (rec.status_time == 0 && strcmp(rec.events[i].status, rec.status) == 0 &&
            rec.events[i].time > t->page.status_time)
            t->page.status_time = rec.events[i].time;
    }
    if (t->page.status_time == 0)
        t->page.status_time = rec.created_at;
    store_tracking_free(&rec);
    t->page.status = t->status;
    t->page.recipient = t->name;
    t->page.province_code = t->province;
    t->page.commune_code = t->commune;
    t->page.events = t->events;
    return STORE_OK;
}

static enum MHD_Result
h_track(http_ctx_t *c)
{
    const char *waybill = c->args[0];
    char ip[64];
    track_t *t = NULL;
    char *html;
    size_t len = 0;
    int wait;
    store_rc_t rc;
    enum MHD_Result ret;

    http_forwarded_ip(c, ip, sizeof ip);
    wait = rl_take(rl_slots, PUBLIC_RATE, ip[0] ? ip : "unknown", clock_mono_ms());
    if (wait == 0)
        wait = rl_take(rl_waybill_slots, PUBLIC_WAYBILL_RATE, waybill, clock_mono_ms());
    if (wait > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", wait);
        http_add_header(c, "Retry-After", ra);
        log_info("GET /t/ -> 429: tracking rate limit reached");
        html = page_rate_limited_html(wait, &len);
        return send_html(c, 429, html, len);
    }
    if (strlen(waybill) != 13 || s10_validate(waybill, 13) != S10_OK || !token_ok(c, waybill, http_query(c, "k")))
        return send_not_found(c);
    t = calloc(1, sizeof *t);
    if (!t)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    rc = track_load(http_store(c), waybill, t);
    if (rc != STORE_OK) {
        free(t);
        if (rc == STORE_NOT_FOUND)
            return send_not_found(c);
        return http_fail(c, 503, "storage_unavailable", NULL, "the database cannot be read; retry later");
    }
    t->page.waybill = waybill;
    t->page.now = clock_now_ms();
    t->page.expected = expected_delivery(http_config(c), t->page.created_at, t->due_at);
    t->page.areas = http_config(c)->areas;
    html = page_tracking_html(&t->page, &len);
    free(t);
    ret = send_html(c, 200, html, len);
    return ret;
}

/* ------------------------------------------------------------ /clerk */

static enum MHD_Result
send_static(http_ctx_t *c, const char *content_type, const char *text, int csp)
{
    size_t len = strlen(text);
    char *copy = malloc(len + 1);

    if (!copy)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    memcpy(copy, text, len + 1);
    if (csp)
        http_add_header(c, "Content-Security-Policy", PAGE_CSP_CLERK);
    http_add_header(c, "Referrer-Policy", "no-referrer");
    return http_send_bytes(c, 200, content_type, copy, len);
}

static enum MHD_Result
h_clerk_page(http_ctx_t *c)
{
    return send_static(c, "text/html; charset=utf-8", page_clerk_html, 1);
}

static enum MHD_Result
h_clerk_js(http_ctx_t *c)
{
    return send_static(c, "text/javascript; charset=utf-8", page_clerk_js, 0);
}

static enum MHD_Result
h_clerk_css(http_ctx_t *c)
{
    return send_static(c, "text/css; charset=utf-8", page_clerk_css, 0);
}

/* ------------------------------------------------------------ /v1/clerk/shipments */

#define CLERK_LIST_MAX 500
#define RETURNED_SHOWN_MS (30LL * 86400 * 1000)

static json_t *
clerk_row(const store_clerk_row_t *r)
{
    const status_info_t *si = status_lookup(r->status);
    char status_time[40], created[40];

    /* 0 until the carrier reports: then the status is the gateway's own, set at intake or booking */
    clock_iso8601(r->status_time ? r->status_time : r->created_at, status_time, sizeof status_time);
    clock_iso8601(r->created_at, created, sizeof created);
    /* a booking the carrier never took reads as such, not as the "created" it still is */
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b}", "waybill",
                     r->waybill, "dossier_code", r->dossier_code, "status", r->status, "status_text",
                     r->booking_dead ? "Bưu điện chưa nhận đơn (đặt đơn thất bại)" : si ? si->text_vi : r->status, "status_time", status_time, "created_at", created, "cod_amount",
                     (json_int_t)r->cod_amount, "label_prints", r->label_prints, "carrier", r->carrier,
                     "recipient_name", r->recipient_name, "province_code", r->province_code, "commune_code",
                     r->commune_code, "last_event", r->last_event, "agency_code", r->agency_code, "booking_refused",
                     r->booking_dead, "sla_breached", r->sla_breached);
}

static enum MHD_Result
h_clerk_shipments(http_ctx_t *c)
{
    const char *state = http_query(c, "state");
    store_clerk_list_t rows;
    store_tx_t *tx = NULL;
    store_rc_t rc;
    json_t *list;
    size_t i;
    int problems;

    if (!state)
        state = "ready";
    if (strcmp(state, "ready") != 0 && strcmp(state, "problems") != 0)
        return http_fail(c, 400, "invalid_query", "state", "state must be ready or problems");
    problems = strcmp(state, "problems") == 0;
    rc = store_tx_begin(http_store(c), STORE_READ, &tx);
    /* a clerk of one agency sees that agency's shipments only */
    if (rc == STORE_OK)
        rc = store_dossiers_clerk_list(tx, problems ? STORE_CLERK_PROBLEMS : STORE_CLERK_READY, c->agency,
                                       clock_now_ms() - RETURNED_SHOWN_MS, CLERK_LIST_MAX, &rows);
    store_tx_abort(&tx);
    if (rc != STORE_OK)
        return http_fail(c, 503, "storage_unavailable", NULL, "the database cannot be read; retry later");
    list = json_array();
    for (i = 0; i < rows.nrows; i++)
        json_array_append_new(list, clerk_row(&rows.rows[i]));
    store_clerk_list_free(&rows);
    return http_send_json(c, 200,
                          json_pack("{s:s, s:I, s:b, s:o}", "state", state, "count", (json_int_t)json_array_size(list),
                                    "truncated", json_array_size(list) == CLERK_LIST_MAX, "shipments", list));
}

const http_route_t api_public_routes[] = {
    { "GET", "/t/*", h_track, ROLE_PUBLIC, "citizen tracking page (HTML; k = the QR token)", HTTP_SCOPE_NONE },
    { "GET", "/clerk", h_clerk_page, ROLE_PUBLIC, "clerk dispatch page (HTML shell; data needs a clerk token)", HTTP_SCOPE_NONE },
    { "GET", "/clerk/app.js", h_clerk_js, ROLE_PUBLIC, "clerk page script", HTTP_SCOPE_NONE },
    { "GET", "/clerk/app.css", h_clerk_css, ROLE_PUBLIC, "clerk page style", HTTP_SCOPE_NONE },
    { "GET", "/v1/clerk/shipments", h_clerk_shipments, ROLE_CLERK | ROLE_ADMIN,
      "shipments to hand over (state=ready) or to act on (state=problems)", HTTP_SCOPE_NONE },
    { NULL, NULL, NULL, 0, NULL, HTTP_SCOPE_NONE },
};
