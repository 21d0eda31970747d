/*
 * labels_store - label prints, handover manifests and acceptance scans in
 * SQLite (see labels_store.h for the rules and who owns what)
 */
#include "gateway/store/sqlite/labels_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/status.h"
#include "gateway/store/sqlite/timeline.h"

static const char SQL_SHIPMENT[] =
    "SELECT s.id, s.dossier_id, s.status, s.cod_amount, s.label_prints, s.carrier, d.code, d.agency_code, sub.body"
    " FROM shipments s JOIN dossiers d ON d.id = s.dossier_id JOIN submissions sub ON sub.id = s.submission_id"
    " WHERE s.waybill = ?1";
static const char SQL_READY[] =
    "SELECT s.waybill FROM shipments s JOIN dossiers d ON d.id = s.dossier_id"
    " WHERE s.status IN ('created', 'booked')"
    " AND NOT EXISTS (SELECT 1 FROM manifest_items mi WHERE mi.shipment_id = s.id)"
    " AND (?1 IS NULL OR d.agency_code = ?1) ORDER BY s.id LIMIT ?2";
static const char SQL_COUNT_PRINT[] = "UPDATE shipments SET label_prints = label_prints + 1 WHERE id = ?1";
static const char SQL_OPEN_MANIFEST_OF[] =
    "SELECT m.public_id FROM manifest_items mi JOIN manifests m ON m.id = mi.manifest_id"
    " WHERE mi.shipment_id = ?1 AND m.state = 'open' LIMIT 1";
static const char SQL_INSERT_MANIFEST[] =
    "INSERT INTO manifests (public_id, agency_code, state, code, created_by, created_at)"
    " VALUES (?1, ?2, 'open', ?3, ?4, ?5)";
static const char SQL_INSERT_ITEM[] =
    "INSERT INTO manifest_items (manifest_id, shipment_id, position) VALUES (?1, ?2, ?3)";
static const char SQL_MANIFEST[] =
    "SELECT id, code, state, agency_code, created_at FROM manifests WHERE public_id = ?1";
static const char SQL_MANIFEST_ITEMS[] =
    "SELECT s.waybill, d.code, s.cod_amount, s.carrier, sub.body FROM manifest_items mi"
    " JOIN shipments s ON s.id = mi.shipment_id JOIN dossiers d ON d.id = s.dossier_id"
    " JOIN submissions sub ON sub.id = s.submission_id WHERE mi.manifest_id = ?1 ORDER BY mi.position";
static const char SQL_MANIFEST_WAYBILLS[] =
    "SELECT s.waybill FROM manifest_items mi JOIN shipments s ON s.id = mi.shipment_id"
    " WHERE mi.manifest_id = ?1 ORDER BY mi.position";
static const char SQL_MANIFEST_ACCEPT[] =
    "UPDATE manifests SET state = 'accepted', accepted_at = ?2 WHERE id = ?1 AND state = 'open'";
static const char SQL_SET_STATUS[] =
    "UPDATE shipments SET status = ?2, status_time = ?3, updated_at = ?3 WHERE id = ?1";

typedef struct {
    int64_t id, dossier_id;
    char status[32];
    long long cod_amount;
    long long prints;
    char carrier[32];
    char dossier_code[64];
    char agency_code[64];
    char *body; /* owned: the submission JSON text */
} ship_row_t;

static int
sql_fail(api_error_t *err, int rc, const char *what)
{
    if (db_transient(rc)) {
        api_error_set(err, 503, "storage_unavailable", NULL,
                      "the database cannot take this right now (%s: %s); retry later", what, sqlite3_errstr(rc));
        err->retry_after = 2;
    } else {
        api_error_set(err, 500, "internal", NULL, "database error while %s: %s", what, sqlite3_errstr(rc));
    }
    return -1;
}

/* ship_get - 0 found (row->body owned by the caller), 1 unknown, -1 SQLite error in *rc */
static int
ship_get(db_t *db, const char *waybill, ship_row_t *row, int *rc)
{
    sqlite3_stmt *st = db_stmt(db, SQL_SHIPMENT);

    memset(row, 0, sizeof *row);
    if (!st) {
        *rc = SQLITE_ERROR;
        return -1;
    }
    db_bind_text(st, 1, waybill);
    *rc = db_step(st);
    if (*rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return 1;
    }
    if (*rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return -1;
    }
    row->id = sqlite3_column_int64(st, 0);
    row->dossier_id = sqlite3_column_int64(st, 1);
    snprintf(row->status, sizeof row->status, "%s", db_col_text(st, 2));
    row->cod_amount = sqlite3_column_int64(st, 3);
    row->prints = sqlite3_column_int64(st, 4);
    snprintf(row->carrier, sizeof row->carrier, "%s", db_col_text(st, 5));
    snprintf(row->dossier_code, sizeof row->dossier_code, "%s", db_col_text(st, 6));
    snprintf(row->agency_code, sizeof row->agency_code, "%s", db_col_text(st, 7));
    row->body = strdup(db_col_text(st, 8));
    sqlite3_reset(st);
    if (!row->body) {
        *rc = SQLITE_NOMEM;
        return -1;
    }
    *rc = SQLITE_OK;
    return 0;
}

/* ship_get_of - ship_get, where a shipment of another agency than agency (when set) is
 * unknown (1) like a missing one: an agency-bound caller cannot tell the two apart */
static int
ship_get_of(db_t *db, const char *waybill, const char *agency, ship_row_t *row, int *rc)
{
    int r = ship_get(db, waybill, row, rc);

    if (r == 0 && agency && *agency && strcmp(row->agency_code, agency) != 0) {
        free(row->body);
        return 1;
    }
    return r;
}

/* ready_list - waybills of created/booked shipments on no manifest; NULL on SQLite error (*rc) */
static json_t *
ready_list(db_t *db, const char *agency_code, size_t max, int *rc)
{
    sqlite3_stmt *st = db_stmt(db, SQL_READY);
    json_t *list;

    if (!st) {
        *rc = SQLITE_ERROR;
        return NULL;
    }
    list = json_array();
    db_bind_text(st, 1, agency_code);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    while ((*rc = db_step(st)) == SQLITE_ROW)
        json_array_append_new(list, json_string(db_col_text(st, 0)));
    sqlite3_reset(st);
    if (*rc != SQLITE_DONE) {
        json_decref(list);
        return NULL;
    }
    *rc = SQLITE_OK;
    return list;
}

static const char *
waybill_at(const char *const *waybills, const json_t *list, size_t i)
{
    return waybills ? waybills[i] : json_string_value(json_array_get(list, i));
}

/* ------------------------------------------------------------- prints */

static int
print_one(db_t *db, const char *waybill, const char *agency, const char *format, int64_t now, json_t *labels,
          api_error_t *err)
{
    ship_row_t row;
    sqlite3_stmt *st;
    timeline_event_t ev;
    json_t *body, *item;
    char text[160], details[96];
    int rc, r = ship_get_of(db, waybill, agency, &row, &rc);

    if (r < 0)
        return sql_fail(err, rc, "reading the shipment");
    if (r == 1) {
        if (agency)
            api_error_set(err, 404, "not_found", "waybills", "no shipment %s for agency %s; nothing was printed",
                          waybill, agency);
        else
            api_error_set(err, 404, "not_found", "waybills", "no shipment %s on this gateway; nothing was printed",
                          waybill);
        return -1;
    }
    if (strcmp(row.status, "cancelled") == 0) {
        api_error_set(err, 409, "shipment_cancelled", "waybills",
                      "shipment %s is cancelled; a label for it must not be printed (nothing was printed)", waybill);
        free(row.body);
        return -1;
    }
    body = json_loads(row.body, 0, NULL);
    free(row.body);
    if (!body) {
        api_error_set(err, 500, "internal", NULL, "the stored submission of %s cannot be read", waybill);
        return -1;
    }
    st = db_stmt(db, SQL_COUNT_PRINT);
    if (!st) {
        json_decref(body);
        return sql_fail(err, SQLITE_ERROR, "counting the print");
    }
    sqlite3_bind_int64(st, 1, row.id);
    if ((rc = db_step(st)) != SQLITE_DONE) {
        sqlite3_reset(st);
        json_decref(body);
        return sql_fail(err, rc, "counting the print");
    }
    sqlite3_reset(st);
    row.prints++;
    snprintf(text, sizeof text, "In nhãn bưu gửi %s (lần %lld)", waybill, row.prints);
    snprintf(details, sizeof details, "{\"format\":\"%s\",\"reprint\":%lld}", format, row.prints);
    memset(&ev, 0, sizeof ev);
    ev.dossier_id = row.dossier_id;
    ev.shipment_id = row.id;
    ev.event_time = now;
    ev.received_at = now;
    ev.source = "clerk";
    ev.text = text;
    ev.details = details;
    if (timeline_append(db, &ev, &rc) != TIMELINE_APPENDED) {
        json_decref(body);
        return sql_fail(err, rc, "writing the timeline");
    }
    item = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "waybill", waybill, "dossier_code", row.dossier_code,
                     "carrier", row.carrier, "cod_amount", (json_int_t)row.cod_amount, "print",
                     (json_int_t)row.prints, "body", body);
    if (!item || json_array_append_new(labels, item) != 0) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    return 0;
}

int
labels_store_print(db_t *db, const labels_print_req_t *req, int64_t now, json_t **out, api_error_t *err)
{
    json_t *list = NULL, *labels = NULL;
    size_t n = req->n, i;
    int rc, status = -1;

    *out = NULL;
    if (req->ready) {
        list = ready_list(db, req->agency_code, req->max, &rc);
        if (!list)
            return sql_fail(err, rc, "listing ready shipments");
        n = json_array_size(list);
        if (n == 0) {
            api_error_set(err, 422, "nothing_ready", req->agency_code ? "agency_code" : NULL,
                          "no shipment%s%s is waiting for a label (created or booked and on no manifest)",
                          req->agency_code ? " of agency " : "", req->agency_code ? req->agency_code : "");
            goto out;
        }
    }
    labels = json_array();
    for (i = 0; i < n; i++)
        if (print_one(db, waybill_at(req->waybills, list, i), req->agency_code, req->format, now, labels, err) != 0)
            goto out;
    *out = json_pack("{s:O}", "labels", labels);
    status = *out ? 200 : -1;
    if (!*out)
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
out:
    json_decref(labels);
    json_decref(list);
    return status;
}

/* ----------------------------------------------------------- manifests */

/* open_manifest_of - 1 with public_id when the shipment is on an open manifest, 0 not, -1 error */
static int
open_manifest_of(db_t *db, int64_t shipment_id, char *public_id, size_t len, int *rc)
{
    sqlite3_stmt *st = db_stmt(db, SQL_OPEN_MANIFEST_OF);

    if (!st) {
        *rc = SQLITE_ERROR;
        return -1;
    }
    sqlite3_bind_int64(st, 1, shipment_id);
    *rc = db_step(st);
    if (*rc == SQLITE_ROW) {
        snprintf(public_id, len, "%s", db_col_text(st, 0));
        sqlite3_reset(st);
        return 1;
    }
    sqlite3_reset(st);
    if (*rc != SQLITE_DONE)
        return -1;
    return 0;
}

int
labels_store_manifest_create(db_t *db, const labels_manifest_req_t *req, int64_t now, json_t **out,
                             api_error_t *err)
{
    json_t *list = NULL, *waybills = NULL;
    int64_t *ids = NULL, manifest_id;
    char agency[64] = "", other[64];
    size_t n = req->n, i;
    sqlite3_stmt *st;
    int rc, status = -1;

    *out = NULL;
    if (req->all_ready) {
        list = ready_list(db, req->agency_code, req->max + 1, &rc);
        if (!list)
            return sql_fail(err, rc, "listing ready shipments");
        n = json_array_size(list);
        if (n == 0) {
            api_error_set(err, 422, "nothing_ready", "agency_code",
                          "agency %s has no shipment waiting for handover (created or booked and on no manifest)",
                          req->agency_code);
            goto out;
        }
        if (n > req->max) {
            api_error_set(err, 422, "too_many", "agency_code",
                          "agency %s has more than %zu shipments ready; hand them over in several manifests "
                          "by listing waybills",
                          req->agency_code, req->max);
            goto out;
        }
    }
    ids = calloc(n, sizeof *ids);
    if (!ids) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
        goto out;
    }
    for (i = 0; i < n; i++) {
        const char *wb = waybill_at(req->waybills, list, i);
        ship_row_t row;
        int r = ship_get_of(db, wb, req->agency_code, &row, &rc);

        if (r < 0) {
            sql_fail(err, rc, "reading the shipment");
            goto out;
        }
        if (r == 1 && req->agency_code && !req->all_ready) {
            api_error_set(err, 404, "not_found", "waybills", "no shipment %s for agency %s; nothing was created", wb,
                          req->agency_code);
            goto out;
        }
        if (r == 1) {
            api_error_set(err, 409, "unknown_waybill", "waybills",
                          "no shipment %s on this gateway; nothing was created", wb);
            goto out;
        }
        free(row.body);
        if (status_is_terminal(row.status)) {
            api_error_set(err, 409, "shipment_final", "waybills",
                          "shipment %s is %s and cannot be handed over; remove it (nothing was created)", wb,
                          row.status);
            goto out;
        }
        r = open_manifest_of(db, row.id, other, sizeof other, &rc);
        if (r < 0) {
            sql_fail(err, rc, "checking open manifests");
            goto out;
        }
        if (r == 1) {
            api_error_set(err, 409, "already_on_manifest", "waybills",
                          "shipment %s is already on open manifest %s; remove it (nothing was created)", wb, other);
            goto out;
        }
        if (i == 0) {
            snprintf(agency, sizeof agency, "%s", row.agency_code);
        } else if (strcmp(agency, row.agency_code) != 0) {
            api_error_set(err, 409, "mixed_agencies", "waybills",
                          "shipment %s belongs to agency %s, the others to %s; one manifest per agency "
                          "(nothing was created)",
                          wb, row.agency_code, agency);
            goto out;
        }
        ids[i] = row.id;
    }
    st = db_stmt(db, SQL_INSERT_MANIFEST);
    if (!st) {
        sql_fail(err, SQLITE_ERROR, "writing the manifest");
        goto out;
    }
    db_bind_text(st, 1, req->public_id);
    db_bind_text(st, 2, agency);
    db_bind_text(st, 3, req->code);
    db_bind_text(st, 4, req->created_by ? req->created_by : "");
    sqlite3_bind_int64(st, 5, now);
    rc = db_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT) {
        api_error_set(err, 503, "id_collision", NULL, "the new manifest id is taken; retry");
        err->retry_after = 1;
        goto out;
    }
    if (rc != SQLITE_DONE) {
        sql_fail(err, rc, "writing the manifest");
        goto out;
    }
    manifest_id = sqlite3_last_insert_rowid(db_handle(db));
    waybills = json_array();
    for (i = 0; i < n; i++) {
        st = db_stmt(db, SQL_INSERT_ITEM);
        sqlite3_bind_int64(st, 1, manifest_id);
        sqlite3_bind_int64(st, 2, ids[i]);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)(i + 1));
        rc = db_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            api_error_set(err, rc == SQLITE_CONSTRAINT ? 422 : 500, "duplicate_waybill", "waybills",
                          rc == SQLITE_CONSTRAINT ? "waybill %s is listed twice" : "cannot write item %s",
                          waybill_at(req->waybills, list, i));
            if (rc != SQLITE_CONSTRAINT)
                sql_fail(err, rc, "writing the manifest items");
            goto out;
        }
        json_array_append_new(waybills, json_string(waybill_at(req->waybills, list, i)));
    }
    *out = json_pack("{s:s, s:s, s:s, s:I, s:O}", "id", req->public_id, "code", req->code, "agency_code", agency,
                     "items", (json_int_t)n, "waybills", waybills);
    if (*out)
        status = 201;
    else
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
out:
    free(ids);
    json_decref(waybills);
    json_decref(list);
    return status;
}

/* -------------------------------------------------------------- scans */

/* accept_one - the EMA event and, from a status before it, the status change.
 * 1 appended, 0 already accepted (duplicate), -1 SQLite error (*rc). */
static int
accept_one(db_t *db, const ship_row_t *row, const char *waybill, const char *manifest, int64_t now, int *rc)
{
    const status_info_t *info = status_lookup("accepted");
    timeline_event_t ev;
    char text[256], key[96], details[160];
    int r, move = strcmp(row->status, "created") == 0 || strcmp(row->status, "booked") == 0 ||
                  strcmp(row->status, "pickup_pending") == 0;

    if (manifest) {
        snprintf(text, sizeof text, "Bưu điện đã nhận bưu gửi theo biên bản giao nhận %s", manifest);
        snprintf(details, sizeof details, "{\"manifest\":\"%s\"%s}", manifest,
                 move ? "" : ",\"note\":\"status unchanged\"");
    } else {
        snprintf(text, sizeof text, "%s (quét số hiệu %s)", info ? info->text_vi : "Bưu điện đã nhận bưu gửi",
                 waybill);
        snprintf(details, sizeof details, "{\"scan\":\"waybill\"%s}", move ? "" : ",\"note\":\"status unchanged\"");
    }
    snprintf(key, sizeof key, "post_office:accepted:%s", waybill);
    memset(&ev, 0, sizeof ev);
    ev.dossier_id = row->dossier_id;
    ev.shipment_id = row->id;
    ev.event_time = now;
    ev.received_at = now;
    ev.source = "post_office";
    ev.status = "accepted";
    ev.upu = "EMA";
    ev.text = text;
    ev.details = details;
    ev.dedup_key = key;
    r = timeline_append(db, &ev, rc);
    if (r == TIMELINE_ERROR)
        return -1;
    if (r == TIMELINE_DUPLICATE)
        return 0;
    if (move) {
        sqlite3_stmt *st = db_stmt(db, SQL_SET_STATUS);
        if (!st) {
            *rc = SQLITE_ERROR;
            return -1;
        }
        sqlite3_bind_int64(st, 1, row->id);
        db_bind_text(st, 2, "accepted");
        sqlite3_bind_int64(st, 3, now);
        *rc = db_step(st);
        sqlite3_reset(st);
        if (*rc != SQLITE_DONE)
            return -1;
    }
    *rc = SQLITE_OK;
    return 1;
}

int
labels_store_scan_manifest(db_t *db, const char *public_id, int64_t now, json_t **out, api_error_t *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL_MANIFEST);
    json_t *list = NULL;
    int64_t manifest_id;
    size_t i, n;
    int rc, accepted = 0, status = -1;

    *out = NULL;
    if (!st)
        return sql_fail(err, SQLITE_ERROR, "reading the manifest");
    db_bind_text(st, 1, public_id);
    rc = db_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return sql_fail(err, rc, "reading the manifest");
        api_error_set(err, 404, "not_found", "code", "no manifest %s on this gateway; nothing changed", public_id);
        return -1;
    }
    manifest_id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);

    /* the waybills first: accept_one reuses SQL_SHIPMENT */
    st = db_stmt(db, SQL_MANIFEST_WAYBILLS);
    if (!st)
        return sql_fail(err, SQLITE_ERROR, "reading the manifest items");
    list = json_array();
    sqlite3_bind_int64(st, 1, manifest_id);
    while ((rc = db_step(st)) == SQLITE_ROW)
        json_array_append_new(list, json_string(db_col_text(st, 0)));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        sql_fail(err, rc, "reading the manifest items");
        goto out;
    }
    n = json_array_size(list);
    for (i = 0; i < n; i++) {
        const char *wb = json_string_value(json_array_get(list, i));
        ship_row_t row;
        int r = ship_get(db, wb, &row, &rc);

        if (r != 0) {
            sql_fail(err, r == 1 ? SQLITE_CORRUPT : rc, "reading a manifest item");
            goto out;
        }
        free(row.body);
        r = accept_one(db, &row, wb, public_id, now, &rc);
        if (r < 0) {
            sql_fail(err, rc, "recording the acceptance");
            goto out;
        }
        accepted += r;
    }
    st = db_stmt(db, SQL_MANIFEST_ACCEPT);
    if (!st) {
        sql_fail(err, SQLITE_ERROR, "closing the manifest");
        goto out;
    }
    sqlite3_bind_int64(st, 1, manifest_id);
    sqlite3_bind_int64(st, 2, now);
    rc = db_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        sql_fail(err, rc, "closing the manifest");
        goto out;
    }
    *out = json_pack("{s:s, s:i, s:I, s:s}", "manifest", public_id, "accepted", accepted, "items", (json_int_t)n,
                     "state", "accepted");
    status = *out ? 200 : -1;
    if (!*out)
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
out:
    json_decref(list);
    return status;
}

int
labels_store_scan_waybill(db_t *db, const char *waybill, int64_t now, json_t **out, api_error_t *err)
{
    ship_row_t row;
    int rc, r = ship_get(db, waybill, &row, &rc);

    *out = NULL;
    if (r < 0)
        return sql_fail(err, rc, "reading the shipment");
    if (r == 1) {
        api_error_set(err, 404, "not_found", "code", "no shipment %s on this gateway; nothing changed", waybill);
        return -1;
    }
    free(row.body);
    if (strcmp(row.status, "cancelled") == 0) {
        api_error_set(err, 409, "shipment_cancelled", "code",
                      "shipment %s is cancelled; do not accept it, give it back to the agency", waybill);
        return -1;
    }
    r = accept_one(db, &row, waybill, NULL, now, &rc);
    if (r < 0)
        return sql_fail(err, rc, "recording the acceptance");
    *out = json_pack("{s:s, s:i, s:s}", "waybill", waybill, "accepted", r,
                     "status", (r == 1 && (strcmp(row.status, "created") == 0 || strcmp(row.status, "booked") == 0 ||
                                           strcmp(row.status, "pickup_pending") == 0))
                                   ? "accepted"
                                   : row.status);
    if (!*out) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    return 200;
}

/* -------------------------------------------------------------- reads */

int
labels_store_manifest_json(db_t *db, const char *public_id, json_t **out, api_error_t *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL_MANIFEST);
    json_t *root, *items;
    int64_t manifest_id;
    int rc;

    *out = NULL;
    if (!st)
        return sql_fail(err, SQLITE_ERROR, "reading the manifest");
    db_bind_text(st, 1, public_id);
    rc = db_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return sql_fail(err, rc, "reading the manifest");
        api_error_set(err, 404, "not_found", NULL, "no manifest %s on this gateway", public_id);
        return -1;
    }
    manifest_id = sqlite3_column_int64(st, 0);
    items = json_array();
    root = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "id", public_id, "code", db_col_text(st, 1), "state",
                     db_col_text(st, 2), "agency_code", db_col_text(st, 3), "created_at",
                     (json_int_t)sqlite3_column_int64(st, 4), "items", items);
    sqlite3_reset(st);
    if (!root)
        return sql_fail(err, SQLITE_NOMEM, "reading the manifest");
    st = db_stmt(db, SQL_MANIFEST_ITEMS);
    if (!st) {
        json_decref(root);
        return sql_fail(err, SQLITE_ERROR, "reading the manifest items");
    }
    sqlite3_bind_int64(st, 1, manifest_id);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        json_t *body = json_loads(db_col_text(st, 4), 0, NULL);

        json_array_append_new(items, json_pack("{s:s, s:s, s:I, s:s, s:o}", "waybill", db_col_text(st, 0),
                                               "dossier_code", db_col_text(st, 1), "cod_amount",
                                               (json_int_t)sqlite3_column_int64(st, 2), "carrier",
                                               db_col_text(st, 3), "body", body ? body : json_object()));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(root);
        return sql_fail(err, rc, "reading the manifest items");
    }
    *out = root;
    return 0;
}
