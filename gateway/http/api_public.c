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
    int64_t day = -1;

    if (due_at > 0)
        return due_at;
    if (cfg->calendar)
        day = calendar_add_working_days(cfg->calendar, created_at, PAGE_TRANSIT_WORKING_DAYS);
    return day > 0 ? day : page_add_working_days(created_at, PAGE_TRANSIT_WORKING_DAYS);
}

#define TRACK_MAX_EVENTS 100

static const char SQL_TRACK_SHIP[] =
    "SELECT s.id, s.dossier_id, s.status, s.status_time, s.created_at, s.leg,"
    " COALESCE(json_extract(sub.body, '$.recipient.name'), ''),"
    " COALESCE(json_extract(sub.body, '$.recipient.province_code'), ''),"
    " COALESCE(json_extract(sub.body, '$.recipient.commune_code'), ''),"
    " COALESCE(json_extract(sub.body, '$.agency.name'), ''), COALESCE(s.due_at, 0)"
    " FROM shipments s JOIN submissions sub ON sub.id = s.submission_id WHERE s.waybill = ?1";

static const char SQL_TRACK_EVENTS[] =
    "SELECT event_time, status FROM timeline WHERE dossier_id = ?1 AND shipment_id = ?2 AND status IS NOT NULL"
    " ORDER BY event_time DESC, seq DESC LIMIT 100";

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

/* track_load - 1 found, 0 unknown, -1 storage error */
static int
track_load(db_t *db, const char *waybill, track_t *t)
{
    sqlite3_stmt *st = db_stmt(db, SQL_TRACK_SHIP);
    sqlite3_int64 ship_id, dossier_id;
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, 1, waybill);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? 0 : -1;
    }
    ship_id = sqlite3_column_int64(st, 0);
    dossier_id = sqlite3_column_int64(st, 1);
    snprintf(t->status, sizeof t->status, "%s", db_col_text(st, 2));
    t->page.status_time = sqlite3_column_int64(st, 3);
    t->page.created_at = sqlite3_column_int64(st, 4);
    if (strcmp(db_col_text(st, 5), "send") == 0) {
        /* the send leg goes to the agency: its name is public */
        snprintf(t->name, sizeof t->name, "%s", db_col_text(st, 9));
    } else if (page_mask_name(db_col_text(st, 6), t->name, sizeof t->name) != 0) {
        t->name[0] = '\0';
    }
    snprintf(t->province, sizeof t->province, "%s", db_col_text(st, 7));
    snprintf(t->commune, sizeof t->commune, "%s", db_col_text(st, 8));
    t->due_at = sqlite3_column_int64(st, 10);
    sqlite3_reset(st);

    st = db_stmt(db, SQL_TRACK_EVENTS);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, dossier_id);
    sqlite3_bind_int64(st, 2, ship_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && t->page.nevents < TRACK_MAX_EVENTS) {
        size_t i = t->page.nevents++;
        snprintf(t->ev_status[i], sizeof t->ev_status[i], "%s", db_col_text(st, 1));
        t->events[i].time = sqlite3_column_int64(st, 0);
        t->events[i].status = t->ev_status[i];
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return -1;
    t->page.status = t->status;
    t->page.recipient = t->name;
    t->page.province_code = t->province;
    t->page.commune_code = t->commune;
    t->page.events = t->events;
    return 1;
}

static enum MHD_Result
h_track(http_ctx_t *c)
{
    const char *waybill = c->args[0];
    char ip[64];
    track_t *t = NULL;
    db_t *db;
    char *html;
    size_t len = 0;
    int wait, rc;
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
    db = http_reader(c);
    if (!db) {
        free(t);
        return http_fail(c, 503, "storage_unavailable", NULL, "the database cannot be read; retry later");
    }
    rc = track_load(db, waybill, t);
    http_reader_put(c, db);
    if (rc <= 0) {
        free(t);
        if (rc == 0)
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

#define CLERK_COLUMNS                                                                                             \
    "SELECT s.waybill, d.code, s.status, s.status_time, s.created_at, s.cod_amount, s.label_prints, s.carrier," \
    " COALESCE(json_extract(sub.body, '$.recipient.name'), ''),"                                               \
    " COALESCE(json_extract(sub.body, '$.recipient.province_code'), ''),"                                      \
    " COALESCE(json_extract(sub.body, '$.recipient.commune_code'), ''),"                                       \
    " COALESCE((SELECT t.text FROM timeline t WHERE t.dossier_id = s.dossier_id AND t.shipment_id = s.id"      \
    "   ORDER BY t.seq DESC LIMIT 1), ''), d.agency_code"                                                      \
    " FROM shipments s JOIN dossiers d ON d.id = s.dossier_id JOIN submissions sub ON sub.id = s.submission_id"

/* ready: booked (or waiting for the carrier) and on no open handover manifest */
static const char SQL_CLERK_READY[] = CLERK_COLUMNS
    " WHERE (?3 = '' OR d.agency_code = ?3) AND s.status IN ('created', 'booked') AND NOT EXISTS (SELECT 1 FROM manifest_items mi"
    "   JOIN manifests m ON m.id = mi.manifest_id WHERE mi.shipment_id = s.id AND m.state = 'open')"
    " ORDER BY s.created_at, s.id LIMIT ?1";

/* problems: failed deliveries, returns, exceptions; returned ones for 30 days */
static const char SQL_CLERK_PROBLEMS[] = CLERK_COLUMNS
    " WHERE (?3 = '' OR d.agency_code = ?3) AND s.status IN ('delivery_failed', 'returning', 'returned', 'exception')"
    "   AND (s.status <> 'returned' OR s.status_time >= ?2)"
    " ORDER BY s.status_time DESC, s.id DESC LIMIT ?1";

static json_t *
clerk_row(sqlite3_stmt *st)
{
    const status_info_t *si = status_lookup(db_col_text(st, 2));
    char status_time[40], created[40];

    clock_iso8601(sqlite3_column_int64(st, 3), status_time, sizeof status_time);
    clock_iso8601(sqlite3_column_int64(st, 4), created, sizeof created);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "waybill",
                     db_col_text(st, 0), "dossier_code", db_col_text(st, 1), "status", db_col_text(st, 2),
                     "status_text", si ? si->text_vi : db_col_text(st, 2), "status_time", status_time, "created_at",
                     created, "cod_amount", (json_int_t)sqlite3_column_int64(st, 5), "label_prints",
                     sqlite3_column_int(st, 6), "carrier", db_col_text(st, 7), "recipient_name", db_col_text(st, 8),
                     "province_code", db_col_text(st, 9), "commune_code", db_col_text(st, 10), "last_event",
                     db_col_text(st, 11), "agency_code", db_col_text(st, 12));
}

static enum MHD_Result
h_clerk_shipments(http_ctx_t *c)
{
    const char *state = http_query(c, "state");
    int problems;
    db_t *db;
    sqlite3_stmt *st;
    json_t *list;
    int rc;

    if (!state)
        state = "ready";
    if (strcmp(state, "ready") != 0 && strcmp(state, "problems") != 0)
        return http_fail(c, 400, "invalid_query", "state", "state must be ready or problems");
    problems = strcmp(state, "problems") == 0;
    db = http_reader(c);
    if (!db)
        return http_fail(c, 503, "storage_unavailable", NULL, "the database cannot be read; retry later");
    st = db_stmt(db, problems ? SQL_CLERK_PROBLEMS : SQL_CLERK_READY);
    if (!st) {
        http_reader_put(c, db);
        return http_fail(c, 503, "storage_unavailable", NULL, "the database cannot be read; retry later");
    }
    sqlite3_bind_int(st, 1, CLERK_LIST_MAX);
    /* a clerk of one agency sees that agency's shipments only */
    db_bind_text(st, 3, c->agency ? c->agency : "");
    if (problems)
        sqlite3_bind_int64(st, 2, clock_now_ms() - RETURNED_SHOWN_MS);
    list = json_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(list, clerk_row(st));
    sqlite3_reset(st);
    http_reader_put(c, db);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return http_fail(c, 503, "storage_unavailable", NULL, "the database cannot be read; retry later");
    }
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
