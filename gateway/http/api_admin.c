/*
 * api_admin - COD reports and the retention purge (design §8, TT 17 Điều 14.3)
 *
 * The purge removes personal fields from finished dossiers but leaves the
 * timeline untouched, so its hash chain still verifies: the timeline never
 * holds names, phones, addresses or ID numbers in the first place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "gateway/http/http_internal.h"
#include "gateway/store/store_admin.h"
#include "gateway/http/http_json.h"
#include "log.h"

#define RETENTION_DAYS_DEFAULT 1826 /* five years */

/* ------------------------------------------------------------------ COD */

static enum MHD_Result
h_cod_report(http_ctx_t *c)
{
    const char *date = http_query(c, "date"), *agency = http_query(c, "agency");
    int y, m, d, n = 0;
    int64_t from;
    long long total, pickup_total;
    store_cod_report_t report = { 0 };
    store_tx_t *tx = NULL;
    store_rc_t rc;
    api_error_t e;
    json_t *rows;
    int64_t parsed;
    char iso[32];
    size_t i;

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
    rows = json_array();
    for (i = 0; rows && i < report.n; i++) {
        const store_cod_row_t *r = &report.rows[i];
        char when[40];
        json_t *row;

        clock_iso8601(r->collected_at, when, sizeof when);
        row = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "agency_code", r->agency_code, "waybill", r->waybill,
                        "dossier_code", r->dossier_code, "amount", (json_int_t)r->amount, "collected_at", when,
                        "kind", strcmp(r->leg, "send") == 0 ? "pickup_fee" : "cod");
        if (!row || json_array_append_new(rows, row) != 0) {
            json_decref(rows);
            rows = NULL;
        }
    }
    total = report.total;
    pickup_total = report.pickup_total;
    store_cod_report_free(&report);
    if (!rows)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    /* total stays the COD of return legs; fees taken at pick-up are counted apart */
    return http_send_json(c, 200,
                          json_pack("{s:s, s:I, s:I, s:o}", "date", date, "total", (json_int_t)total,
                                    "pickup_fees_total", (json_int_t)pickup_total, "rows", rows));
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
    { "POST", "/v1/purge", h_purge, ROLE_ADMIN, "remove personal data of finished dossiers", HTTP_SCOPE_NONE },
    { NULL, NULL, NULL, 0, NULL, HTTP_SCOPE_NONE },
};
