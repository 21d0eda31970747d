/*
 * sqlite_labels - label prints, handover manifests and acceptance scans on
 * SQLite (see store_labels.h for the rules and who owns what)
 *
 * Every statement goes through db_step (failure injection reaches it) and
 * every read loop checks how it ended. Timeline events go through
 * timeline_append, which keeps the hash chain; their details are built with
 * Jansson.
 */
#include "gateway/store/backend_labels.h"
#include "gateway/store/sqlite/sqlite_internal.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/status.h"
#include "gateway/store/sqlite/timeline.h"

static const char SQL_SHIPMENT[] =
    "SELECT s.id, s.dossier_id, s.status, s.status_time, s.cod_amount, s.label_prints, s.carrier, d.code,"
    " d.agency_code, sub.body, s.leg,"
    " (SELECT MIN(t.event_time) FROM timeline t WHERE t.shipment_id = s.id AND t.status = 'accepted')"
    " FROM shipments s JOIN dossiers d ON d.id = s.dossier_id"
    " JOIN submissions sub ON sub.id = s.submission_id WHERE s.waybill = ?1";
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
    "SELECT s.waybill, d.code, d.agency_code, s.carrier, s.status, s.cod_amount, s.label_prints, sub.body, s.leg,"
    " (SELECT MIN(t.event_time) FROM timeline t WHERE t.shipment_id = s.id AND t.status = 'accepted')"
    " FROM manifest_items mi JOIN shipments s ON s.id = mi.shipment_id JOIN dossiers d ON d.id = s.dossier_id"
    " JOIN submissions sub ON sub.id = s.submission_id WHERE mi.manifest_id = ?1 ORDER BY mi.position";
static const char SQL_MANIFEST_ACCEPT[] =
    "UPDATE manifests SET state = 'accepted', accepted_at = ?2 WHERE id = ?1 AND state = 'open'";
static const char SQL_SET_STATUS[] =
    "UPDATE shipments SET status = ?2, status_time = ?3, updated_at = ?3 WHERE id = ?1";

/* the columns of a handover-list item, in the order SQL_MANIFEST_ITEMS and SQL_RECEIPT_ITEMS
 * select them: waybill, dossier code, agency, carrier, status, COD, prints, body, leg, accepted at */
#define ITEM_COLUMNS 10

static char *dup_text(sqlite3_stmt *st, int col);

/* item_from_row - fill it from the current row; SQLITE_OK or SQLITE_NOMEM (it->body owned) */
static int
item_from_row(sqlite3_stmt *st, store_label_item_t *it)
{
    memset(it, 0, sizeof *it);
    snprintf(it->waybill, sizeof it->waybill, "%s", db_col_text(st, 0));
    snprintf(it->dossier_code, sizeof it->dossier_code, "%s", db_col_text(st, 1));
    snprintf(it->agency_code, sizeof it->agency_code, "%s", db_col_text(st, 2));
    snprintf(it->carrier, sizeof it->carrier, "%s", db_col_text(st, 3));
    snprintf(it->status, sizeof it->status, "%s", db_col_text(st, 4));
    it->cod_amount = sqlite3_column_int64(st, 5);
    it->prints = sqlite3_column_int64(st, 6);
    snprintf(it->leg, sizeof it->leg, "%s", db_col_text(st, 8));
    it->accepted_at = sqlite3_column_int64(st, 9);
    it->body = dup_text(st, 7);
    return it->body ? SQLITE_OK : SQLITE_NOMEM;
}

/* a shipment as the rules need it: its ids and status time beside what callers see */
typedef struct {
    int64_t id, dossier_id, status_time;
    store_label_item_t item; /* item.body owned */
} ship_row_t;

/* a list of waybills read from the database */
typedef struct {
    char (*v)[STORE_LABELS_WAYBILL_MAX];
    size_t n;
} waybill_list_t;

static store_rc_t __attribute__((format(printf, 7, 8)))
refuse(store_tx_t *tx, store_labels_refusal_t *why, store_rc_t rc, store_labels_reason_t reason, const char *waybill,
       const char *other, const char *fmt, ...)
{
    va_list ap;

    if (why) {
        memset(why, 0, sizeof *why);
        why->reason = reason;
        snprintf(why->waybill, sizeof why->waybill, "%s", waybill ? waybill : "");
        snprintf(why->other, sizeof why->other, "%s", other ? other : "");
    }
    va_start(ap, fmt);
    vsnprintf(tx->message, sizeof tx->message, fmt, ap);
    va_end(ap);
    return rc;
}

static store_rc_t
prepare(store_tx_t *tx, const char *sql, const char *what, sqlite3_stmt **st)
{
    *st = db_stmt(sqlite_tx_db(tx), sql);
    return *st ? STORE_OK : sqlite_fail(tx, SQLITE_ERROR, what);
}

static char *
dup_text(sqlite3_stmt *st, int col)
{
    return strdup(db_col_text(st, col));
}

/* ship_get - STORE_OK (row->item.body owned by the caller), STORE_NOT_FOUND, or a failure.
 * A shipment of another agency than agency (when set) is STORE_NOT_FOUND like a missing
 * one: an agency-bound caller cannot tell the two apart. */
static store_rc_t
ship_get(store_tx_t *tx, const char *waybill, const char *agency, ship_row_t *row)
{
    sqlite3_stmt *st;
    store_rc_t r;
    int rc;

    memset(row, 0, sizeof *row);
    if ((r = prepare(tx, SQL_SHIPMENT, "reading the shipment", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, waybill);
    rc = db_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? STORE_NOT_FOUND : sqlite_fail(tx, rc, "reading the shipment");
    }
    row->id = sqlite3_column_int64(st, 0);
    row->dossier_id = sqlite3_column_int64(st, 1);
    snprintf(row->item.status, sizeof row->item.status, "%s", db_col_text(st, 2));
    row->status_time = sqlite3_column_int64(st, 3);
    row->item.cod_amount = sqlite3_column_int64(st, 4);
    row->item.prints = sqlite3_column_int64(st, 5);
    snprintf(row->item.carrier, sizeof row->item.carrier, "%s", db_col_text(st, 6));
    snprintf(row->item.dossier_code, sizeof row->item.dossier_code, "%s", db_col_text(st, 7));
    snprintf(row->item.agency_code, sizeof row->item.agency_code, "%s", db_col_text(st, 8));
    snprintf(row->item.waybill, sizeof row->item.waybill, "%s", waybill);
    row->item.body = dup_text(st, 9);
    snprintf(row->item.leg, sizeof row->item.leg, "%s", db_col_text(st, 10));
    row->item.accepted_at = sqlite3_column_int64(st, 11);
    sqlite3_reset(st);
    if (!row->item.body)
        return sqlite_fail(tx, SQLITE_NOMEM, "reading the shipment");
    if (agency && *agency && strcmp(row->item.agency_code, agency) != 0) {
        free(row->item.body);
        memset(row, 0, sizeof *row);
        return STORE_NOT_FOUND;
    }
    return STORE_OK;
}

/* ready_list - waybills of created/booked shipments on no manifest, oldest first, at most max */
static store_rc_t
ready_list(store_tx_t *tx, const char *agency_code, size_t max, waybill_list_t *out)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    store_rc_t r;
    int rc;

    memset(out, 0, sizeof *out);
    if ((r = prepare(tx, SQL_READY, "listing ready shipments", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, agency_code);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            void *p = realloc(out->v, ncap * sizeof *out->v);

            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            out->v = p;
            cap = ncap;
        }
        snprintf(out->v[out->n++], STORE_LABELS_WAYBILL_MAX, "%s", db_col_text(st, 0));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(out->v);
        memset(out, 0, sizeof *out);
        return sqlite_fail(tx, rc, "listing ready shipments");
    }
    return STORE_OK;
}

static const char *
waybill_at(const char *const *waybills, const waybill_list_t *list, size_t i)
{
    return waybills ? waybills[i] : list->v[i];
}

/* append_event - one timeline event of the shipment in row; details is a JSON object (borrowed).
 * TIMELINE_APPENDED, TIMELINE_DUPLICATE, or TIMELINE_ERROR with *rc */
static int
append_event(store_tx_t *tx, const ship_row_t *row, int64_t now, const char *source, const char *status,
             const char *upu, const char *text, const json_t *details, const char *dedup_key, int *rc)
{
    timeline_event_t ev;
    char *json = json_dumps(details, JSON_COMPACT);
    int r;

    if (!json) {
        *rc = SQLITE_NOMEM;
        return TIMELINE_ERROR;
    }
    memset(&ev, 0, sizeof ev);
    ev.dossier_id = row->dossier_id;
    ev.shipment_id = row->id;
    ev.event_time = now;
    ev.received_at = now;
    ev.source = source;
    ev.status = status;
    ev.upu = upu;
    ev.text = text;
    ev.details = json;
    ev.dedup_key = dedup_key;
    r = timeline_append(sqlite_tx_db(tx), &ev, rc);
    free(json);
    return r;
}

/* ------------------------------------------------------------- prints */

static store_rc_t
print_one(store_tx_t *tx, const char *waybill, const char *agency, const char *format, int64_t now,
          store_label_item_t *out, store_labels_refusal_t *why)
{
    ship_row_t row;
    sqlite3_stmt *st;
    json_t *details;
    char text[160];
    store_rc_t r = ship_get(tx, waybill, agency, &row);
    int rc, appended;

    if (r == STORE_NOT_FOUND) {
        if (agency)
            return refuse(tx, why, r, STORE_LABELS_UNKNOWN, waybill, NULL,
                          "no shipment %s for agency %s; nothing was printed", waybill, agency);
        return refuse(tx, why, r, STORE_LABELS_UNKNOWN, waybill, NULL,
                      "no shipment %s on this gateway; nothing was printed", waybill);
    }
    if (r != STORE_OK)
        return r;
    if (strcmp(row.item.status, "cancelled") == 0) {
        free(row.item.body);
        return refuse(tx, why, STORE_CONFLICT, STORE_LABELS_CANCELLED, waybill, NULL,
                      "shipment %s is cancelled; a label for it must not be printed (nothing was printed)", waybill);
    }
    if ((r = prepare(tx, SQL_COUNT_PRINT, "counting the print", &st)) != STORE_OK)
        goto fail;
    sqlite3_bind_int64(st, 1, row.id);
    rc = db_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        r = sqlite_fail(tx, rc, "counting the print");
        goto fail;
    }
    row.item.prints++;
    snprintf(text, sizeof text, "In nhãn bưu gửi %s (lần %lld)", waybill, row.item.prints);
    details = json_pack("{s:s, s:I}", "format", format ? format : "", "reprint", (json_int_t)row.item.prints);
    appended = details ? append_event(tx, &row, now, "clerk", NULL, NULL, text, details, NULL, &rc) : TIMELINE_ERROR;
    if (!details)
        rc = SQLITE_NOMEM;
    json_decref(details);
    if (appended == TIMELINE_ERROR) {
        r = sqlite_fail(tx, rc, "writing the timeline");
        goto fail;
    }
    *out = row.item; /* the body moves to the caller's list */
    return STORE_OK;
fail:
    free(row.item.body);
    return r;
}

static store_rc_t
sq_print(store_tx_t *tx, const store_label_print_t *req, int64_t now, store_label_list_t *out,
         store_labels_refusal_t *why)
{
    waybill_list_t list = { 0 };
    size_t n = req->n, i;
    store_rc_t r = STORE_OK;

    memset(out, 0, sizeof *out);
    if (why)
        memset(why, 0, sizeof *why);
    if (req->ready) {
        if ((r = ready_list(tx, req->agency_code, req->max, &list)) != STORE_OK)
            return r;
        n = list.n;
        if (n == 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_NOTHING_READY, NULL, req->agency_code,
                       "no shipment%s%s is waiting for a label (created or booked and on no manifest)",
                       req->agency_code ? " of agency " : "", req->agency_code ? req->agency_code : "");
            goto out;
        }
    }
    out->items = calloc(n ? n : 1, sizeof *out->items);
    if (!out->items) {
        r = sqlite_fail(tx, SQLITE_NOMEM, "printing labels");
        goto out;
    }
    for (i = 0; i < n && r == STORE_OK; i++) {
        r = print_one(tx, waybill_at(req->waybills, &list, i), req->agency_code, req->format, now, &out->items[i],
                      why);
        if (r == STORE_OK)
            out->n++;
    }
out:
    free(list.v);
    if (r != STORE_OK)
        store_label_list_free(out);
    return r;
}

/* ----------------------------------------------------------- manifests */

/* open_manifest_of - STORE_OK with *on = 1 and public_id when the shipment is on an open manifest */
static store_rc_t
open_manifest_of(store_tx_t *tx, int64_t shipment_id, char *public_id, size_t len, int *on)
{
    sqlite3_stmt *st;
    store_rc_t r;
    int rc;

    *on = 0;
    if ((r = prepare(tx, SQL_OPEN_MANIFEST_OF, "checking open manifests", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, shipment_id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(public_id, len, "%s", db_col_text(st, 0));
        *on = 1;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sqlite_fail(tx, rc, "checking open manifests");
}

static store_rc_t
sq_manifest_create(store_tx_t *tx, const store_manifest_new_t *req, int64_t now, store_manifest_t *out,
                   store_labels_refusal_t *why)
{
    waybill_list_t list = { 0 };
    int64_t *ids = NULL, manifest_id;
    char other[STORE_LABELS_CODE_MAX];
    size_t n = req->n, i;
    sqlite3_stmt *st;
    store_rc_t r = STORE_OK;
    int rc, on;

    memset(out, 0, sizeof *out);
    if (why)
        memset(why, 0, sizeof *why);
    if (req->all_ready) {
        if ((r = ready_list(tx, req->agency_code, req->max + 1, &list)) != STORE_OK)
            return r;
        n = list.n;
        if (n == 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_NOTHING_READY, NULL, req->agency_code,
                       "agency %s has no shipment waiting for handover (created or booked and on no manifest)",
                       req->agency_code ? req->agency_code : "");
            goto out;
        }
        if (n > req->max) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_TOO_MANY, NULL, req->agency_code,
                       "agency %s has more than %zu shipments ready; hand them over in several manifests "
                       "by listing waybills",
                       req->agency_code ? req->agency_code : "", req->max);
            goto out;
        }
    }
    ids = calloc(n ? n : 1, sizeof *ids);
    out->items = calloc(n ? n : 1, sizeof *out->items);
    if (!ids || !out->items) {
        r = sqlite_fail(tx, SQLITE_NOMEM, "creating the manifest");
        goto out;
    }
    for (i = 0; i < n; i++) {
        const char *wb = waybill_at(req->waybills, &list, i);
        ship_row_t row;

        r = ship_get(tx, wb, req->agency_code, &row);
        if (r == STORE_NOT_FOUND && req->agency_code && !req->all_ready) {
            r = refuse(tx, why, r, STORE_LABELS_UNKNOWN, wb, NULL,
                       "no shipment %s for agency %s; nothing was created", wb, req->agency_code);
            goto out;
        }
        if (r == STORE_NOT_FOUND) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_UNKNOWN_ON_MANIFEST, wb, NULL,
                       "no shipment %s on this gateway; nothing was created", wb);
            goto out;
        }
        if (r != STORE_OK)
            goto out;
        out->items[out->n++] = row.item; /* owned by out from here on */
        if (status_is_terminal(row.item.status)) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_FINAL, wb, NULL,
                       "shipment %s is %s and cannot be handed over; remove it (nothing was created)", wb,
                       row.item.status);
            if (why)
                snprintf(why->status, sizeof why->status, "%s", row.item.status);
            goto out;
        }
        if ((r = open_manifest_of(tx, row.id, other, sizeof other, &on)) != STORE_OK)
            goto out;
        if (on) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_ON_OPEN_MANIFEST, wb, other,
                       "shipment %s is already on open manifest %s; remove it (nothing was created)", wb, other);
            goto out;
        }
        if (i > 0 && strcmp(out->items[0].agency_code, row.item.agency_code) != 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_MIXED_AGENCIES, wb, out->items[0].agency_code,
                       "shipment %s belongs to agency %s, the others to %s; one manifest per agency "
                       "(nothing was created)",
                       wb, row.item.agency_code, out->items[0].agency_code);
            goto out;
        }
        ids[i] = row.id;
    }
    if (n == 0) {
        r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_NOTHING_READY, NULL, NULL,
                   "a manifest needs at least one shipment; nothing was created");
        goto out;
    }
    if ((r = prepare(tx, SQL_INSERT_MANIFEST, "writing the manifest", &st)) != STORE_OK)
        goto out;
    db_bind_text(st, 1, req->public_id);
    db_bind_text(st, 2, out->items[0].agency_code);
    db_bind_text(st, 3, req->code);
    db_bind_text(st, 4, req->created_by ? req->created_by : "");
    sqlite3_bind_int64(st, 5, now);
    rc = db_step(st);
    sqlite3_reset(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_ID_TAKEN, NULL, req->public_id,
                   "the new manifest id %s is taken; retry with another", req->public_id);
        goto out;
    }
    if (rc != SQLITE_DONE) {
        r = sqlite_fail(tx, rc, "writing the manifest");
        goto out;
    }
    manifest_id = sqlite3_last_insert_rowid(db_handle(sqlite_tx_db(tx)));
    for (i = 0; i < n; i++) {
        if ((r = prepare(tx, SQL_INSERT_ITEM, "writing the manifest items", &st)) != STORE_OK)
            goto out;
        sqlite3_bind_int64(st, 1, manifest_id);
        sqlite3_bind_int64(st, 2, ids[i]);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)(i + 1));
        rc = db_step(st);
        sqlite3_reset(st);
        if ((rc & 0xff) == SQLITE_CONSTRAINT) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_DUPLICATE, out->items[i].waybill, NULL,
                       "waybill %s is listed twice; list it once (nothing was created)", out->items[i].waybill);
            goto out;
        }
        if (rc != SQLITE_DONE) {
            r = sqlite_fail(tx, rc, "writing the manifest items");
            goto out;
        }
    }
    snprintf(out->id, sizeof out->id, "%s", req->public_id);
    snprintf(out->code, sizeof out->code, "%s", req->code);
    snprintf(out->state, sizeof out->state, "open");
    snprintf(out->agency_code, sizeof out->agency_code, "%s", out->items[0].agency_code);
    out->created_at = now;
    r = STORE_OK;
out:
    free(ids);
    free(list.v);
    if (r != STORE_OK)
        store_manifest_free(out);
    return r;
}

/* manifest_head - the manifest's row id and fields into out (items untouched) */
static store_rc_t
manifest_head(store_tx_t *tx, const char *public_id, int64_t *id, store_manifest_t *out)
{
    sqlite3_stmt *st;
    store_rc_t r;
    int rc;

    if ((r = prepare(tx, SQL_MANIFEST, "reading the manifest", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, public_id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        snprintf(out->id, sizeof out->id, "%s", public_id);
        snprintf(out->code, sizeof out->code, "%s", db_col_text(st, 1));
        snprintf(out->state, sizeof out->state, "%s", db_col_text(st, 2));
        snprintf(out->agency_code, sizeof out->agency_code, "%s", db_col_text(st, 3));
        out->created_at = sqlite3_column_int64(st, 4);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no manifest %s on this gateway", public_id);
    return rc == SQLITE_ROW ? STORE_OK : sqlite_fail(tx, rc, "reading the manifest");
}

/* manifest_items - the items of manifest id, in order */
static store_rc_t
manifest_items(store_tx_t *tx, int64_t id, store_manifest_t *out)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    store_rc_t r;
    int rc;

    if ((r = prepare(tx, SQL_MANIFEST_ITEMS, "reading the manifest items", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, id);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        store_label_item_t *it;

        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            store_label_item_t *p = realloc(out->items, ncap * sizeof *p);

            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            out->items = p;
            cap = ncap;
        }
        it = &out->items[out->n];
        if ((rc = item_from_row(st, it)) != SQLITE_OK)
            break;
        out->n++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(tx, rc, "reading the manifest items");
}

static store_rc_t
sq_manifest_get(store_tx_t *tx, const char *public_id, store_manifest_t *out)
{
    int64_t id = 0;
    store_rc_t r;

    memset(out, 0, sizeof *out);
    r = manifest_head(tx, public_id, &id, out);
    if (r == STORE_OK)
        r = manifest_items(tx, id, out);
    if (r != STORE_OK)
        store_manifest_free(out);
    return r;
}

static const char SQL_MANIFEST_LIST[] =
    "SELECT m.public_id, m.state, m.agency_code, m.created_by, m.created_at, COALESCE(m.accepted_at, 0),"
    " (SELECT COUNT(*) FROM manifest_items mi WHERE mi.manifest_id = m.id)"
    " FROM manifests m WHERE (?1 = '' OR m.agency_code = ?1) ORDER BY m.created_at DESC, m.id DESC"
    " LIMIT ?2 OFFSET ?3";
static const char SQL_MANIFEST_COUNT[] = "SELECT COUNT(*) FROM manifests WHERE ?1 = '' OR agency_code = ?1";

static store_rc_t
sq_manifest_list(store_tx_t *tx, const char *agency, int limit, int offset, store_manifest_list_t *out,
                 long long *total)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    store_rc_t r;
    int rc;

    memset(out, 0, sizeof *out);
    *total = 0;
    if ((r = prepare(tx, SQL_MANIFEST_COUNT, "counting the manifests", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, agency ? agency : "");
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        *total = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return sqlite_fail(tx, rc, "counting the manifests");
    if ((r = prepare(tx, SQL_MANIFEST_LIST, "listing the manifests", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, agency ? agency : "");
    sqlite3_bind_int(st, 2, limit);
    sqlite3_bind_int(st, 3, offset);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        store_manifest_row_t *m;

        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            store_manifest_row_t *bigger = realloc(out->rows, ncap * sizeof *bigger);

            if (!bigger)
                break;
            out->rows = bigger;
            cap = ncap;
        }
        m = &out->rows[out->n++];
        memset(m, 0, sizeof *m);
        snprintf(m->id, sizeof m->id, "%s", db_col_text(st, 0));
        snprintf(m->state, sizeof m->state, "%s", db_col_text(st, 1));
        snprintf(m->agency_code, sizeof m->agency_code, "%s", db_col_text(st, 2));
        snprintf(m->created_by, sizeof m->created_by, "%s", db_col_text(st, 3));
        m->created_at = sqlite3_column_int64(st, 4);
        m->accepted_at = sqlite3_column_int64(st, 5);
        m->items = sqlite3_column_int64(st, 6);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store_manifest_list_free(out);
        return rc == SQLITE_ROW ? store_tx_fail(tx, STORE_BUSY, "out of memory while listing the manifests; retry")
                                : sqlite_fail(tx, rc, "listing the manifests");
    }
    return STORE_OK;
}

/* -------------------------------------------------------------- scans */

/* accept_one - the EMA event and, where the status machine allows, the move to "accepted".
 * *recorded = 1 appended, 0 already accepted (duplicate); *moved = the status changed. */
static store_rc_t
accept_one(store_tx_t *tx, const ship_row_t *row, const char *manifest, int64_t now, int *recorded, int *moved)
{
    const status_info_t *info = status_lookup("accepted");
    const char *waybill = row->item.waybill;
    json_t *details;
    sqlite3_stmt *st;
    char text[256], key[96];
    store_rc_t r;
    int rc, appended, move = status_may_move(row->item.status, row->status_time, "accepted", now);

    *recorded = *moved = 0;
    if (manifest) {
        snprintf(text, sizeof text, "Bưu điện đã nhận bưu gửi theo biên bản giao nhận %s", manifest);
        details = json_pack("{s:s}", "manifest", manifest);
    } else {
        snprintf(text, sizeof text, "%s (quét số hiệu %s)", info ? info->text_vi : "Bưu điện đã nhận bưu gửi",
                 waybill);
        details = json_pack("{s:s}", "scan", "waybill");
    }
    if (details && !move)
        json_object_set_new(details, "note", json_string("status unchanged"));
    snprintf(key, sizeof key, "post_office:accepted:%s", waybill);
    appended = details ? append_event(tx, row, now, "post_office", "accepted", "EMA", text, details, key, &rc)
                       : TIMELINE_ERROR;
    if (!details)
        rc = SQLITE_NOMEM;
    json_decref(details);
    if (appended == TIMELINE_ERROR)
        return sqlite_fail(tx, rc, "recording the acceptance");
    if (appended == TIMELINE_DUPLICATE)
        return STORE_OK;
    *recorded = 1;
    if (!move)
        return STORE_OK;
    if ((r = prepare(tx, SQL_SET_STATUS, "recording the acceptance", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, row->id);
    db_bind_text(st, 2, "accepted");
    sqlite3_bind_int64(st, 3, now);
    rc = db_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sqlite_fail(tx, rc, "recording the acceptance");
    *moved = 1;
    return STORE_OK;
}

static store_rc_t
sq_scan_manifest(store_tx_t *tx, const char *public_id, int64_t now, store_scan_result_t *out)
{
    store_manifest_t m = { 0 };
    sqlite3_stmt *st;
    int64_t id = 0;
    size_t i;
    store_rc_t r;
    int rc;

    memset(out, 0, sizeof *out);
    r = manifest_head(tx, public_id, &id, &m);
    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, r, "no manifest %s on this gateway; nothing changed", public_id);
    if (r == STORE_OK)
        r = manifest_items(tx, id, &m);
    for (i = 0; r == STORE_OK && i < m.n; i++) {
        ship_row_t row;
        int recorded, moved;

        r = ship_get(tx, m.items[i].waybill, NULL, &row);
        if (r == STORE_NOT_FOUND)
            r = store_tx_fail(tx, STORE_ERROR, "manifest %s lists %s, which has no shipment (corruption)",
                              public_id, m.items[i].waybill);
        if (r != STORE_OK)
            break;
        r = accept_one(tx, &row, public_id, now, &recorded, &moved);
        free(row.item.body);
        out->accepted += recorded;
    }
    if (r == STORE_OK && (r = prepare(tx, SQL_MANIFEST_ACCEPT, "closing the manifest", &st)) == STORE_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
        rc = db_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            r = sqlite_fail(tx, rc, "closing the manifest");
    }
    out->items = m.n;
    store_manifest_free(&m);
    if (r != STORE_OK)
        memset(out, 0, sizeof *out);
    else
        snprintf(out->status, sizeof out->status, "accepted"); /* the manifest's state */
    return r;
}

static store_rc_t
sq_scan_waybill(store_tx_t *tx, const char *waybill, int64_t now, store_scan_result_t *out,
                store_labels_refusal_t *why)
{
    ship_row_t row;
    store_rc_t r;
    int recorded, moved;

    memset(out, 0, sizeof *out);
    if (why)
        memset(why, 0, sizeof *why);
    r = ship_get(tx, waybill, NULL, &row);
    if (r == STORE_NOT_FOUND)
        return refuse(tx, why, r, STORE_LABELS_UNKNOWN, waybill, NULL,
                      "no shipment %s on this gateway; nothing changed", waybill);
    if (r != STORE_OK)
        return r;
    free(row.item.body);
    row.item.body = NULL;
    if (strcmp(row.item.status, "cancelled") == 0) {
        r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_CANCELLED, waybill, NULL,
                   "shipment %s is cancelled; do not accept it, give it back to the agency", waybill);
        if (why)
            snprintf(why->status, sizeof why->status, "cancelled");
        return r;
    }
    r = accept_one(tx, &row, NULL, now, &recorded, &moved);
    if (r != STORE_OK)
        return r;
    out->accepted = recorded;
    out->items = 1;
    snprintf(out->status, sizeof out->status, "%s", moved ? "accepted" : row.item.status);
    return STORE_OK;
}

/* ------------------------------------------------------------ receipts */

static const char SQL_RECEIPT_OF[] =
    "SELECT r.public_id FROM receipt_items ri JOIN receipts r ON r.id = ri.receipt_id WHERE ri.shipment_id = ?1";
static const char SQL_INSERT_RECEIPT[] =
    "INSERT INTO receipts (public_id, agency_code, officer, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_INSERT_RECEIPT_ITEM[] =
    "INSERT INTO receipt_items (receipt_id, shipment_id, position) VALUES (?1, ?2, ?3)";
static const char SQL_RECEIPT[] =
    "SELECT id, agency_code, officer, created_at FROM receipts WHERE public_id = ?1";
static const char SQL_RECEIPT_ITEMS[] =
    "SELECT s.waybill, d.code, d.agency_code, s.carrier, s.status, s.cod_amount, s.label_prints, sub.body, s.leg,"
    " (SELECT MIN(t.event_time) FROM timeline t WHERE t.shipment_id = s.id AND t.status = 'accepted'), s.id"
    " FROM receipt_items ri JOIN shipments s ON s.id = ri.shipment_id JOIN dossiers d ON d.id = s.dossier_id"
    " JOIN submissions sub ON sub.id = s.submission_id WHERE ri.receipt_id = ?1 ORDER BY ri.position";

/* receipt_of - the public id of the receipt shipment_id is on, "" when none */
static store_rc_t
receipt_of(store_tx_t *tx, int64_t shipment_id, char *public_id, size_t len)
{
    sqlite3_stmt *st;
    store_rc_t r;
    int rc;

    public_id[0] = '\0';
    if ((r = prepare(tx, SQL_RECEIPT_OF, "checking receipts", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, shipment_id);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        snprintf(public_id, len, "%s", db_col_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sqlite_fail(tx, rc, "checking receipts");
}

static store_rc_t
receipt_read(store_tx_t *tx, const char *public_id, store_receipt_t *out)
{
    sqlite3_stmt *st;
    int64_t id = 0;
    size_t cap = 0;
    store_rc_t r;
    int rc;

    memset(out, 0, sizeof *out);
    if ((r = prepare(tx, SQL_RECEIPT, "reading the receipt", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, public_id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        snprintf(out->id, sizeof out->id, "%s", public_id);
        snprintf(out->agency_code, sizeof out->agency_code, "%s", db_col_text(st, 1));
        snprintf(out->officer, sizeof out->officer, "%s", db_col_text(st, 2));
        out->created_at = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no receipt %s on this gateway", public_id);
    if (rc != SQLITE_ROW)
        return sqlite_fail(tx, rc, "reading the receipt");
    if ((r = prepare(tx, SQL_RECEIPT_ITEMS, "reading the receipt items", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, id);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        store_label_item_t *it;

        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            store_label_item_t *p = realloc(out->items, ncap * sizeof *p);
            int64_t *q;

            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            out->items = p;
            q = realloc(out->shipment_ids, ncap * sizeof *q);
            if (!q) {
                rc = SQLITE_NOMEM;
                break;
            }
            out->shipment_ids = q;
            cap = ncap;
        }
        it = &out->items[out->n];
        if ((rc = item_from_row(st, it)) != SQLITE_OK)
            break;
        out->shipment_ids[out->n] = sqlite3_column_int64(st, ITEM_COLUMNS);
        out->n++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(tx, rc, "reading the receipt items");
}

static store_rc_t
sq_receipt_get(store_tx_t *tx, const char *public_id, store_receipt_t *out)
{
    store_rc_t r = receipt_read(tx, public_id, out);

    if (r != STORE_OK)
        store_receipt_free(out);
    return r;
}

static store_rc_t
sq_receipt_create(store_tx_t *tx, const store_receipt_new_t *req, int64_t now, store_receipt_t *out,
                  store_labels_refusal_t *why)
{
    int64_t *ids = NULL, receipt_id;
    char agency[STORE_LABELS_CODE_MAX] = "", prior[STORE_LABELS_ID_MAX] = "", on[STORE_LABELS_ID_MAX];
    size_t i, n_prior = 0, n_new = 0;
    sqlite3_stmt *st;
    store_rc_t r = STORE_OK;
    int rc;

    memset(out, 0, sizeof *out);
    if (why)
        memset(why, 0, sizeof *why);
    ids = calloc(req->n ? req->n : 1, sizeof *ids);
    if (!ids)
        return sqlite_fail(tx, SQLITE_NOMEM, "recording the receipt");
    for (i = 0; i < req->n && r == STORE_OK; i++) {
        const char *wb = req->waybills[i];
        ship_row_t row;

        r = ship_get(tx, wb, req->agency_code, &row);
        if (r == STORE_NOT_FOUND) {
            r = refuse(tx, why, r, STORE_LABELS_UNKNOWN, wb, NULL,
                       "no shipment %s %s%s; nothing was received", wb, req->agency_code ? "for agency " : "on this gateway",
                       req->agency_code ? req->agency_code : "");
            break;
        }
        if (r != STORE_OK)
            break;
        free(row.item.body);
        ids[i] = row.id;
        if (strcmp(row.item.leg, "send") != 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_NOT_SEND_LEG, wb, NULL,
                       "%s is a %s-leg shipment (agency to citizen); only send-leg items brought to the agency "
                       "are received at the desk; nothing was received",
                       wb, row.item.leg);
            if (why)
                snprintf(why->status, sizeof why->status, "%s", row.item.leg);
            break;
        }
        if ((r = receipt_of(tx, row.id, on, sizeof on)) != STORE_OK)
            break;
        if (on[0]) {
            if (n_prior == 0)
                snprintf(prior, sizeof prior, "%s", on);
            if (n_new > 0 || (n_prior > 0 && strcmp(prior, on) != 0)) {
                r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_ALREADY_RECEIVED, wb, on,
                           "%s was already received on receipt %s; list it alone to get that receipt", wb, on);
                break;
            }
            n_prior++;
            continue;
        }
        if (n_prior > 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_ALREADY_RECEIVED, req->waybills[0], prior,
                       "%s was already received on receipt %s; receive the other items without it",
                       req->waybills[0], prior);
            break;
        }
        if (strcmp(row.item.status, "cancelled") == 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_CANCELLED, wb, NULL,
                       "shipment %s is cancelled; it cannot be received (nothing was received)", wb);
            if (why)
                snprintf(why->status, sizeof why->status, "cancelled");
            break;
        }
        if (strcmp(row.item.status, "out_for_delivery") != 0 && strcmp(row.item.status, "delivered") != 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_NOT_ARRIVED, wb, NULL,
                       "shipment %s is %s, not yet brought to the agency (out_for_delivery or delivered); "
                       "receive it when the postman hands it over (nothing was received)",
                       wb, row.item.status);
            if (why)
                snprintf(why->status, sizeof why->status, "%s", row.item.status);
            break;
        }
        if (!agency[0])
            snprintf(agency, sizeof agency, "%s", row.item.agency_code);
        else if (strcmp(agency, row.item.agency_code) != 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_MIXED_AGENCIES, wb, agency,
                       "%s is for agency %s, the items before it for %s; one receipt covers one agency",
                       wb, row.item.agency_code, agency);
            break;
        }
        n_new++;
    }
    if (r == STORE_OK && n_prior > 0) {
        /* every item was received before, on the same receipt */
        free(ids);
        r = receipt_read(tx, prior, out);
        if (r != STORE_OK)
            store_receipt_free(out);
        else
            out->existing = 1;
        return r;
    }
    if (r == STORE_OK && (r = prepare(tx, SQL_INSERT_RECEIPT, "recording the receipt", &st)) == STORE_OK) {
        db_bind_text(st, 1, req->public_id);
        db_bind_text(st, 2, agency);
        db_bind_text(st, 3, req->officer);
        db_bind_text(st, 4, req->created_by ? req->created_by : "");
        sqlite3_bind_int64(st, 5, now);
        rc = db_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_CONSTRAINT)
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_ID_TAKEN, NULL, req->public_id,
                       "receipt id %s is taken; retry", req->public_id);
        else if (rc != SQLITE_DONE)
            r = sqlite_fail(tx, rc, "recording the receipt");
    }
    receipt_id = sqlite3_last_insert_rowid(db_handle(sqlite_tx_db(tx)));
    for (i = 0; r == STORE_OK && i < req->n; i++) {
        if ((r = prepare(tx, SQL_INSERT_RECEIPT_ITEM, "recording the receipt items", &st)) != STORE_OK)
            break;
        sqlite3_bind_int64(st, 1, receipt_id);
        sqlite3_bind_int64(st, 2, ids[i]);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)i);
        rc = db_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            r = sqlite_fail(tx, rc, "recording the receipt items");
    }
    free(ids);
    if (r == STORE_OK)
        r = receipt_read(tx, req->public_id, out);
    if (r != STORE_OK)
        store_receipt_free(out);
    return r;
}

const struct store_labels_ops sqlite_labels_ops = {
    .print = sq_print,
    .manifest_create = sq_manifest_create,
    .manifest_get = sq_manifest_get,
    .manifest_list = sq_manifest_list,
    .scan_manifest = sq_scan_manifest,
    .scan_waybill = sq_scan_waybill,
    .receipt_create = sq_receipt_create,
    .receipt_get = sq_receipt_get,
};
