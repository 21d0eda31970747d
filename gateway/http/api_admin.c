/*
 * api_admin - COD reports and the retention purge (design §8, TT 17 Điều 14.3)
 *
 * The purge removes personal fields from finished dossiers but leaves the
 * timeline untouched, so its hash chain still verifies: the timeline never
 * holds names, phones, addresses or ID numbers in the first place.
 *
 * POST /v1/remittances takes a carrier's COD remittance statement, as JSON
 * {carrier, statement_id, lines: [{waybill, amount, remitted_at}]} or as CSV
 * (header waybill,amount,remitted_at; carrier and statement_id in the query).
 * Both are checked by one line validator and hashed the same way, so the same
 * statement sent again in either form is recognised (200), other lines under
 * its id refused (409).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carriers/carrier.h"
#include "clock.h"
#include "crypto.h"
#include "domain/s10.h"
#include "gateway/http/http_internal.h"
#include "gateway/store/store_admin.h"
#include "gateway/http/http_json.h"
#include "log.h"

#define RETENTION_DAYS_DEFAULT 1826 /* five years */

/* ------------------------------------------------------------------ COD */

/* the flags' names in the document, in the order of their bits (STORE_COD_*) */
static const char *const cod_flag_names[] = { "collected_mismatch", "not_remitted", "remitted_mismatch" };

/* cod_document - the report as JSON: each row with expected, collected, remitted and its flags
 * (as of now), counts per flag, and the statement lines naming no shipment; NULL when out of memory */
static json_t *
cod_document(const store_cod_report_t *report, const char *date, int64_t now)
{
    json_t *rows = json_array(), *unknown = json_array(), *flags_total = json_object();
    long long counts[3] = { 0 }, remitted_total = 0, unknown_total = 0;
    size_t i, k;

    for (i = 0; rows && i < report->n; i++) {
        const store_cod_row_t *r = &report->rows[i];
        unsigned f = store_cod_flags(r, now);
        json_t *row, *flags = json_array();
        char when[40] = "";

        if (r->collected_at)
            clock_iso8601(r->collected_at, when, sizeof when);
        for (k = 0; flags && k < 3; k++)
            if (f & (1u << k)) {
                counts[k]++;
                json_array_append_new(flags, json_string(cod_flag_names[k]));
            }
        remitted_total += r->remitted;
        row = flags ? json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s?, s:s, s:o}", "agency_code", r->agency_code,
                                "waybill", r->waybill, "dossier_code", r->dossier_code, "amount",
                                (json_int_t)r->amount, "expected", (json_int_t)r->expected, "collected",
                                (json_int_t)r->amount, "remitted", (json_int_t)r->remitted, "collected_at",
                                r->collected_at ? when : NULL, "kind",
                                strcmp(r->leg, "send") == 0 ? "pickup_fee" : "cod", "flags", flags)
                    : NULL;
        if (!row || json_array_append_new(rows, row) != 0) {
            json_decref(rows);
            rows = NULL;
        }
    }
    for (i = 0; unknown && i < report->nunknown; i++) {
        const store_cod_unknown_t *u = &report->unknown[i];
        char when[40];
        json_t *line;

        clock_iso8601(u->remitted_at, when, sizeof when);
        unknown_total += u->amount;
        line = json_pack("{s:s, s:s, s:s, s:I, s:s}", "carrier", u->carrier, "statement_id", u->statement_id,
                         "waybill", u->waybill, "amount", (json_int_t)u->amount, "remitted_at", when);
        if (!line || json_array_append_new(unknown, line) != 0) {
            json_decref(unknown);
            unknown = NULL;
        }
    }
    for (k = 0; flags_total && k < 3; k++)
        json_object_set_new(flags_total, cod_flag_names[k], json_integer((json_int_t)counts[k]));
    if (flags_total)
        json_object_set_new(flags_total, "remitted_unknown_waybill", json_integer((json_int_t)report->nunknown));
    if (!rows || !unknown || !flags_total) {
        json_decref(rows);
        json_decref(unknown);
        json_decref(flags_total);
        return NULL;
    }
    /* total stays the COD of return legs; fees taken at pick-up are counted apart */
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "date", date, "total",
                     (json_int_t)report->total, "pickup_fees_total", (json_int_t)report->pickup_total,
                     "remitted_total", (json_int_t)remitted_total, "unknown_remitted_total",
                     (json_int_t)unknown_total, "not_remitted_after_days", (json_int_t)STORE_COD_REMIT_DAYS,
                     "flags_total", flags_total, "rows", rows, "remitted_unknown_waybills", unknown);
}

static enum MHD_Result
h_cod_report(http_ctx_t *c)
{
    const char *date = http_query(c, "date"), *agency = http_query(c, "agency");
    int y, m, d, n = 0;
    int64_t from;
    store_cod_report_t report = { 0 };
    store_tx_t *tx = NULL;
    store_rc_t rc;
    api_error_t e;
    json_t *doc;
    int64_t parsed;
    char iso[32];

    if (c->agency && *c->agency) {
        /* an agency-bound token reports on its own agency */
        if (agency && *agency && strcmp(agency, c->agency) != 0)
            return http_fail(c, 403, "forbidden", "agency", "this token acts for agency %s only, not %.40s",
                             c->agency, agency);
        agency = c->agency;
    }
    if (!date || sscanf(date, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || date[n] != '\0' || n != 10) {
        return http_fail(c, 400, "invalid_query", "date", "date must be YYYY-MM-DD (a day in Vietnam time)");
    }
    snprintf(iso, sizeof iso, "%04d-%02d-%02dT00:00:00", y, m, d);
    if (clock_parse(iso, &parsed) != 0)
        return http_fail(c, 400, "invalid_query", "date", "date must be a real calendar day, YYYY-MM-DD");
    from = parsed;
    rc = store_tx_begin(http_store(c), STORE_READ, &tx);
    if (rc == STORE_OK)
        rc = store_admin_cod_report(tx, from, from + 86400000LL, agency, &report);
    if (rc != STORE_OK) {
        http_store_error(&e, rc, tx ? store_tx_message(tx) : "the database cannot be read; retry later");
        store_tx_abort(&tx);
        return http_send_error(c, &e);
    }
    store_tx_abort(&tx);
    doc = cod_document(&report, date, clock_now_ms());
    store_cod_report_free(&report);
    if (!doc)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    return http_send_json(c, 200, doc);
}

/* ---------------------------------------------------------- remittances */

#define REMIT_MAX_LINES 10000
#define REMIT_MAX_AMOUNT 1000000000LL /* đồng: far above any COD a dossier carries */

typedef struct {
    char carrier[32];
    char statement_id[65];
    char hash[SHA256_HEX_LEN];
    store_remittance_line_t *lines; /* owned */
    size_t n;
    store_remittance_t stmt;
} remit_req_t;

static void
remit_req_free(void *p)
{
    remit_req_t *r = p;

    if (r) {
        free(r->lines);
        free(r);
    }
}

/* remit_line - one line's three values, checked; where names it for the error ("line 3" of the
 * CSV, lines[2] of the JSON), field the field */
static int
remit_line(const char *waybill, const char *amount, long long amount_num, int amount_is_text, const char *when,
           size_t i, const char *where, store_remittance_line_t *out, api_error_t *e)
{
    char field[48];
    int64_t ms;

    snprintf(field, sizeof field, "lines[%zu].waybill", i);
    if (!waybill || s10_validate(waybill, strlen(waybill)) != S10_OK || strlen(waybill) >= sizeof out->waybill) {
        api_error_set(e, 422, "invalid_field", field, "%s: waybill must be a UPU S10 number like RR123456785VN", where);
        return -1;
    }
    snprintf(out->waybill, sizeof out->waybill, "%s", waybill);
    snprintf(field, sizeof field, "lines[%zu].amount", i);
    if (amount_is_text) {
        char *end = NULL;

        amount_num = amount && *amount ? strtoll(amount, &end, 10) : -1;
        if (!end || *end != '\0')
            amount_num = -1;
    }
    if (amount_num <= 0 || amount_num > REMIT_MAX_AMOUNT) {
        api_error_set(e, 422, "invalid_field", field, "%s: amount must be a whole number of đồng, 1 to %lld", where,
                      REMIT_MAX_AMOUNT);
        return -1;
    }
    out->amount = amount_num;
    snprintf(field, sizeof field, "lines[%zu].remitted_at", i);
    if (!when || clock_parse(when, &ms) != 0) {
        api_error_set(e, 422, "invalid_field", field,
                      "%s: remitted_at must be a time, yyyy-MM-ddTHH:mm:ss[+07:00] (no zone: Vietnam time)", where);
        return -1;
    }
    out->remitted_at = ms;
    return 0;
}

static int
remit_alloc(remit_req_t *r, size_t n, api_error_t *e)
{
    if (n == 0 || n > REMIT_MAX_LINES) {
        api_error_set(e, 422, "invalid_field", "lines", "a statement has 1 to %d lines", REMIT_MAX_LINES);
        return -1;
    }
    r->lines = calloc(n, sizeof *r->lines);
    if (!r->lines) {
        api_error_set(e, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    return 0;
}

static int
remit_from_json(http_ctx_t *c, remit_req_t *r, api_error_t *e)
{
    json_t *root = http_parse_only(c, (const char *const[]){ "carrier", "statement_id", "lines", NULL }, e);
    json_t *lines, *line;
    const char *carrier, *sid;
    size_t i;
    int rc = -1;

    if (!root)
        return -1;
    carrier = json_string_value(json_object_get(root, "carrier"));
    sid = json_string_value(json_object_get(root, "statement_id"));
    lines = json_object_get(root, "lines");
    snprintf(r->carrier, sizeof r->carrier, "%s", carrier ? carrier : "");
    snprintf(r->statement_id, sizeof r->statement_id, "%s", sid ? sid : "");
    if (sid && strlen(sid) >= sizeof r->statement_id)
        r->statement_id[0] = '\0';
    if (!json_is_array(lines)) {
        api_error_set(e, 422, "invalid_field", "lines", "lines must be an array of {waybill, amount, remitted_at}");
        goto out;
    }
    if (remit_alloc(r, json_array_size(lines), e) != 0)
        goto out;
    json_array_foreach (lines, i, line) {
        char where[32], prefix[32];
        json_t *amount;

        snprintf(where, sizeof where, "lines[%zu]", i);
        snprintf(prefix, sizeof prefix, "lines[%zu]", i);
        if (!json_is_object(line)) {
            api_error_set(e, 422, "invalid_field", where, "%s must be an object {waybill, amount, remitted_at}",
                          where);
            goto out;
        }
        if (http_json_only(line, (const char *const[]){ "waybill", "amount", "remitted_at", NULL }, prefix, e) != 0)
            goto out;
        amount = json_object_get(line, "amount");
        if (remit_line(json_string_value(json_object_get(line, "waybill")), NULL,
                       json_is_integer(amount) ? (long long)json_integer_value(amount) : -1, 0,
                       json_string_value(json_object_get(line, "remitted_at")), i, where, &r->lines[i], e) != 0)
            goto out;
    }
    r->n = json_array_size(lines);
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* csv_field - the next comma-separated field of *p (up to the end of line), NUL-terminated in place */
static char *
csv_field(char **p)
{
    char *start = *p, *end = start + strcspn(start, ",");

    if (*end == ',') {
        *end = '\0';
        *p = end + 1;
    } else {
        *p = end;
    }
    return start;
}

static int
remit_from_csv(http_ctx_t *c, remit_req_t *r, api_error_t *e)
{
    size_t len, n = 0, i = 0, lineno = 1;
    const char *body = http_body(c, &len), *carrier = http_query(c, "carrier"), *sid = http_query(c, "statement_id");
    char *copy = malloc(len + 1), *line, *save = NULL;
    int rc = -1;

    snprintf(r->carrier, sizeof r->carrier, "%s", carrier ? carrier : "");
    snprintf(r->statement_id, sizeof r->statement_id, "%s", sid ? sid : "");
    if (sid && strlen(sid) >= sizeof r->statement_id)
        r->statement_id[0] = '\0';
    if (!copy) {
        api_error_set(e, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    memcpy(copy, body, len);
    copy[len] = '\0';
    for (i = 0; i < len; i++)
        n += copy[i] == '\n';
    line = strtok_r(copy, "\n", &save);
    if (line)
        line[strcspn(line, "\r")] = '\0';
    if (!line || strcmp(line, "waybill,amount,remitted_at") != 0) {
        api_error_set(e, 422, "invalid_field", "csv", "line 1 of the CSV must be the header waybill,amount,remitted_at");
        goto out;
    }
    if (remit_alloc(r, n ? n : 1, e) != 0)
        goto out;
    i = 0;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char where[32], *p = line, *waybill, *amount, *when;

        lineno++;
        line[strcspn(line, "\r")] = '\0';
        if (!*line)
            continue;
        snprintf(where, sizeof where, "line %zu of the CSV", lineno);
        waybill = csv_field(&p);
        amount = csv_field(&p);
        when = csv_field(&p);
        if (*p) {
            char field[32];

            snprintf(field, sizeof field, "lines[%zu]", i);
            api_error_set(e, 400, "unknown_field", field, "%s has more than the 3 columns waybill,amount,remitted_at",
                          where);
            goto out;
        }
        if (remit_line(waybill, amount, 0, 1, when, i, where, &r->lines[i], e) != 0)
            goto out;
        i++;
    }
    if (i == 0) {
        api_error_set(e, 422, "invalid_field", "lines", "the CSV has a header but no lines");
        goto out;
    }
    r->n = i;
    rc = 0;
out:
    free(copy);
    return rc;
}

/* remit_hash - the statement's content: the same lines hash the same whether sent as JSON or CSV */
static int
remit_hash(remit_req_t *r)
{
    size_t cap = r->n * 64 + 64, used = 0, i;
    char *buf = malloc(cap);

    if (!buf)
        return -1;
    for (i = 0; i < r->n; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s,%lld,%lld\n", r->lines[i].waybill, r->lines[i].amount,
                                 (long long)r->lines[i].remitted_at);
    sha256_hex(buf, used, r->hash);
    free(buf);
    return 0;
}

static int
write_remittance(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    remit_req_t *r = arg;
    int created = 0;
    size_t unknown = 0;
    store_rc_t rc = store_admin_remittance_import(tx, &r->stmt, now, &created, &unknown);

    if (rc != STORE_OK) {
        http_store_error(err, rc, store_tx_message(tx));
        if (rc == STORE_CONFLICT)
            api_error_set(err, 409, "statement_conflict", "statement_id", "%s", store_tx_message(tx));
        return -1;
    }
    if (created)
        log_info("remittance: statement %s of %s, %zu lines, %zu naming no shipment", r->statement_id, r->carrier,
                 r->n, unknown);
    *out = json_pack("{s:s, s:s, s:I, s:b}", "carrier", r->carrier, "statement_id", r->statement_id, "lines",
                     (json_int_t)r->n, "created", created);
    if (*out && created)
        json_object_set_new(*out, "unknown_waybills", json_integer((json_int_t)unknown));
    if (!*out) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    return created ? 201 : 200;
}

static enum MHD_Result
h_remittance(http_ctx_t *c)
{
    const char *ct = http_header(c, "Content-Type");
    remit_req_t *r = calloc(1, sizeof *r);
    api_error_t e;
    int rc;

    if (!r)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    http_keep(c, r, remit_req_free);
    if (ct && strncmp(ct, "text/csv", 8) == 0)
        rc = remit_from_csv(c, r, &e);
    else if (http_require_json(c))
        rc = remit_from_json(c, r, &e);
    else
        return http_fail(c, 415, "unsupported_media_type", NULL,
                         "send the statement as JSON (application/json) or CSV (text/csv)");
    if (rc != 0)
        return http_send_error(c, &e);
    if (!carrier_find(r->carrier))
        return http_fail(c, 422, "invalid_field", "carrier", "carrier must be one of: %s", carrier_names());
    if (!r->statement_id[0])
        return http_fail(c, 422, "invalid_field", "statement_id",
                         "statement_id is required: the carrier's number of the statement (1 to 64 bytes)");
    if (remit_hash(r) != 0)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    r->stmt.carrier = r->carrier;
    r->stmt.statement_id = r->statement_id;
    r->stmt.content_hash = r->hash;
    r->stmt.agency_code = c->agency; /* an agency-bound token's statement ties its own shipments only */
    r->stmt.created_by = c->client;
    r->stmt.lines = r->lines;
    r->stmt.n = r->n;
    return http_submit_call(c, write_remittance, r, http_finish_default);
}

/* ---------------------------------------------------------------- purge */

typedef struct {
    int64_t older_than_days;
    int dry_run;
} purge_req_t;

static int
write_purge(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    purge_req_t *r = arg;
    long long n = 0;
    store_rc_t rc = store_admin_purge(tx, now - r->older_than_days * 86400000LL, r->dry_run, now, &n);

    if (rc != STORE_OK) {
        http_store_error(err, rc, store_tx_message(tx));
        return -1;
    }
    log_info("purge: %lld finished dossiers older than %lld days%s", n, (long long)r->older_than_days,
             r->dry_run ? " (dry run, nothing changed)" : " had their personal fields removed");
    *out = json_pack("{s:I, s:I, s:b}", "dossiers", (json_int_t)n, "older_than_days",
                     (json_int_t)r->older_than_days, "dry_run", r->dry_run);
    if (!*out) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    return 200;
}

static enum MHD_Result
h_purge(http_ctx_t *c)
{
    api_error_t e;
    json_t *root = http_parse_only(c, (const char *const[]){ "older_than_days", "dry_run", NULL }, &e), *days, *dry;
    purge_req_t *r;

    if (!root)
        return http_send_error(c, &e);
    days = json_object_get(root, "older_than_days");
    dry = json_object_get(root, "dry_run");
    if ((days && (!json_is_integer(days) || json_integer_value(days) < 0 || json_integer_value(days) > 36500)) ||
        (dry && !json_is_boolean(dry))) {
        json_decref(root);
        return http_fail(c, 422, "invalid_field", days ? "older_than_days" : "dry_run",
                         "older_than_days is a whole number of days (default %d, five years) and dry_run true or false",
                         RETENTION_DAYS_DEFAULT);
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        json_decref(root);
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    }
    r->older_than_days = days ? json_integer_value(days) : RETENTION_DAYS_DEFAULT;
    r->dry_run = json_is_true(dry);
    json_decref(root);
    http_keep(c, r, free);
    return http_submit_call(c, write_purge, r, http_finish_default);
}

const http_route_t api_admin_routes[] = {
    { "GET", "/v1/reports/cod", h_cod_report, ROLE_ADMIN | ROLE_CLERK, "money collected on delivery, per day", HTTP_SCOPE_NONE },
    { "POST", "/v1/remittances", h_remittance, ROLE_ADMIN | ROLE_CLERK, "a carrier's COD remittance statement",
      HTTP_SCOPE_NONE },
    { "POST", "/v1/purge", h_purge, ROLE_ADMIN, "remove personal data of finished dossiers", HTTP_SCOPE_NONE },
    { NULL, NULL, NULL, 0, NULL, HTTP_SCOPE_NONE },
};
