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
#include "gateway/http/http_json.h"
#include "log.h"

#define RETENTION_DAYS_DEFAULT 1826 /* five years */

/* ------------------------------------------------------------------ COD */

static const char SQL_COD[] =
    "SELECT d.agency_code, s.waybill, d.code, s.cod_collected, s.cod_collected_at FROM shipments s"
    " JOIN dossiers d ON d.id = s.dossier_id WHERE s.cod_collected > 0 AND s.cod_collected_at >= ?1"
    " AND s.cod_collected_at < ?2 AND (?3 = '' OR d.agency_code = ?3) ORDER BY d.agency_code, s.cod_collected_at";

static enum MHD_Result
h_cod_report(http_ctx_t *c)
{
    const char *date = http_query(c, "date"), *agency = http_query(c, "agency");
    int y, m, d, n = 0;
    int64_t from, total = 0;
    db_t *db;
    sqlite3_stmt *st;
    json_t *rows;
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
    db = http_reader(c);
    if (!db)
        return http_fail(c, 503, "storage_unavailable", NULL, "the database cannot be read; retry later");
    st = db_stmt(db, SQL_COD);
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, from + 86400000LL);
    db_bind_text(st, 3, agency ? agency : "");
    rows = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        char when[40];
        clock_iso8601(sqlite3_column_int64(st, 4), when, sizeof when);
        total += sqlite3_column_int64(st, 3);
        json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:I, s:s}", "agency_code", db_col_text(st, 0),
                                              "waybill", db_col_text(st, 1), "dossier_code", db_col_text(st, 2),
                                              "amount", (json_int_t)sqlite3_column_int64(st, 3), "collected_at",
                                              when));
    }
    sqlite3_reset(st);
    http_reader_put(c, db);
    return http_send_json(c, 200, json_pack("{s:s, s:I, s:o}", "date", date, "total", (json_int_t)total, "rows", rows));
}

/* ---------------------------------------------------------------- purge */

typedef struct {
    int64_t older_than_days;
    int dry_run;
} purge_req_t;

static const char SQL_PURGE_CANDIDATES[] =
    "SELECT d.id FROM dossiers d WHERE d.purged_at IS NULL AND NOT EXISTS (SELECT 1 FROM shipments s"
    " WHERE s.dossier_id = d.id AND (s.status NOT IN ('delivered', 'returned', 'cancelled') OR s.updated_at >= ?1))"
    " AND EXISTS (SELECT 1 FROM shipments s WHERE s.dossier_id = d.id) LIMIT 10000";
/* personal fields become a marker; province and commune codes stay (statistics) */
static const char SQL_PURGE_BODY[] =
    "UPDATE submissions SET body = json_set(body,"
    " '$.recipient.name', '[đã xóa]', '$.recipient.phone', '[đã xóa]', '$.recipient.address', '[đã xóa]',"
    " '$.recipient.email', '[đã xóa]', '$.recipient.id_hash', '[đã xóa]', '$.recipient.id_last4', '[đã xóa]')"
    " WHERE dossier_id = ?1 AND json_extract(body, '$.recipient') IS NOT NULL";
static const char SQL_PURGE_SENDER[] =
    "UPDATE submissions SET body = json_set(body,"
    " '$.sender.name', '[đã xóa]', '$.sender.phone', '[đã xóa]', '$.sender.address', '[đã xóa]',"
    " '$.sender.email', '[đã xóa]', '$.sender.id_hash', '[đã xóa]', '$.sender.id_last4', '[đã xóa]')"
    " WHERE dossier_id = ?1 AND json_extract(body, '$.sender') IS NOT NULL";
static const char SQL_PURGE_AUTHORISED[] =
    "UPDATE submissions SET body = json_remove(body, '$.authorised_person') WHERE dossier_id = ?1";
static const char SQL_PURGE_PROOF[] = "UPDATE shipments SET proof_name = NULL WHERE dossier_id = ?1";
static const char SQL_PURGE_JOBS[] =
    "UPDATE jobs SET payload = '{}' WHERE state IN ('done', 'dead') AND shipment_id IN"
    " (SELECT id FROM shipments WHERE dossier_id = ?1)";
static const char SQL_PURGE_MARK[] = "UPDATE dossiers SET purged_at = ?2 WHERE id = ?1";

static int
write_purge(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    store_t *store = store_tx_store(tx);
    purge_req_t *r = arg;
    db_t *db = store_writer(store);
    sqlite3_stmt *st = db_stmt(db, SQL_PURGE_CANDIDATES);
    int64_t *ids = NULL;
    size_t n = 0, cap = 0, i;
    int rc;

    sqlite3_bind_int64(st, 1, now - r->older_than_days * 86400000LL);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            int64_t *p = realloc(ids, (cap ? cap * 2 : 64) * sizeof *ids);
            if (!p) {
                sqlite3_reset(st);
                free(ids);
                api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
                return -1;
            }
            ids = p;
            cap = cap ? cap * 2 : 64;
        }
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        goto sql_fail;
    if (!r->dry_run) {
        static const char *const steps[] = { SQL_PURGE_BODY, SQL_PURGE_SENDER, SQL_PURGE_AUTHORISED, SQL_PURGE_PROOF,
                                             SQL_PURGE_JOBS };
        for (i = 0; i < n; i++) {
            size_t k;
            for (k = 0; k < sizeof steps / sizeof steps[0]; k++) {
                st = db_stmt(db, steps[k]);
                sqlite3_bind_int64(st, 1, ids[i]);
                if ((rc = sqlite3_step(st)) != SQLITE_DONE)
                    goto sql_fail;
            }
            st = db_stmt(db, SQL_PURGE_MARK);
            sqlite3_bind_int64(st, 1, ids[i]);
            sqlite3_bind_int64(st, 2, now);
            if ((rc = sqlite3_step(st)) != SQLITE_DONE)
                goto sql_fail;
        }
    }
    free(ids);
    log_info("purge: %zu finished dossiers older than %lld days%s", n, (long long)r->older_than_days,
             r->dry_run ? " (dry run, nothing changed)" : " had their personal fields removed");
    *out = json_pack("{s:I, s:I, s:b}", "dossiers", (json_int_t)n, "older_than_days",
                     (json_int_t)r->older_than_days, "dry_run", r->dry_run);
    return 200;
sql_fail:
    free(ids);
    api_error_set(err, 503, "storage_unavailable", NULL, "the purge could not be written (%s); retry later",
                  sqlite3_errstr(rc));
    return -1;
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
