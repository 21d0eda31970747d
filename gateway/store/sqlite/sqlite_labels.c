/*
 * sqlite_labels - the rows of label prints, handover manifests, acceptance scans and
 * receipts on SQLite; the rules are labels_rules.c (see store_labels.h for the contract)
 *
 * Every statement goes through db_step (failure injection reaches it) and every read loop
 * checks how it ended.
 */
#include "gateway/store/backend_labels.h"
#include "gateway/store/labels_rules.h"
#include "gateway/store/sqlite/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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


/* the columns of a handover-list item, in the order SQL_MANIFEST_ITEMS and SQL_RECEIPT_ITEMS
 * select them: waybill, dossier code, agency, carrier, status, COD, prints, body, leg, accepted at */
#define ITEM_COLUMNS 10

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

/* step_write - bind nothing more, step a write to its end; STORE_EXISTS on a constraint when
 * exists_on_constraint, else the failure */
static store_rc_t
step_write(store_tx_t *tx, sqlite3_stmt *st, const char *what, int exists_on_constraint)
{
    int rc = db_step(st);

    sqlite3_reset(st);
    if (exists_on_constraint && (rc & 0xff) == SQLITE_CONSTRAINT)
        return STORE_EXISTS;
    return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(tx, rc, what);
}

static store_rc_t
sq_ship(store_tx_t *tx, const char *waybill, labels_ship_t *row)
{
    sqlite3_stmt *st;
    store_rc_t r;
    int rc;

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
    return row->item.body ? STORE_OK : sqlite_fail(tx, SQLITE_NOMEM, "reading the shipment");
}

static store_rc_t
sq_ready(store_tx_t *tx, const char *agency_code, size_t max, labels_waybills_t *out)
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

static store_rc_t
sq_count_print(store_tx_t *tx, int64_t shipment_id)
{
    sqlite3_stmt *st;
    store_rc_t r;

    if ((r = prepare(tx, SQL_COUNT_PRINT, "counting the print", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, shipment_id);
    return step_write(tx, st, "counting the print", 0);
}

/* first_text - the first column of sql's first row for id into out ("" when no row) */
static store_rc_t
first_text(store_tx_t *tx, const char *sql, const char *what, int64_t id, char *out, size_t len)
{
    sqlite3_stmt *st;
    store_rc_t r;
    int rc;

    out[0] = '\0';
    if ((r = prepare(tx, sql, what, &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, id);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        snprintf(out, len, "%s", db_col_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sqlite_fail(tx, rc, what);
}

static store_rc_t
sq_open_manifest_of(store_tx_t *tx, int64_t shipment_id, char *public_id, size_t len)
{
    return first_text(tx, SQL_OPEN_MANIFEST_OF, "checking open manifests", shipment_id, public_id, len);
}

static store_rc_t
sq_insert_manifest(store_tx_t *tx, const char *public_id, const char *agency_code, const char *code,
                   const char *created_by, int64_t now, int64_t *id)
{
    sqlite3_stmt *st;
    store_rc_t r;

    if ((r = prepare(tx, SQL_INSERT_MANIFEST, "writing the manifest", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, public_id);
    db_bind_text(st, 2, agency_code);
    db_bind_text(st, 3, code);
    db_bind_text(st, 4, created_by);
    sqlite3_bind_int64(st, 5, now);
    if ((r = step_write(tx, st, "writing the manifest", 1)) == STORE_OK)
        *id = sqlite3_last_insert_rowid(db_handle(sqlite_tx_db(tx)));
    return r;
}

static store_rc_t
sq_insert_manifest_item(store_tx_t *tx, int64_t manifest_id, int64_t shipment_id, int64_t position)
{
    sqlite3_stmt *st;
    store_rc_t r;

    if ((r = prepare(tx, SQL_INSERT_ITEM, "writing the manifest items", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, manifest_id);
    sqlite3_bind_int64(st, 2, shipment_id);
    sqlite3_bind_int64(st, 3, position);
    return step_write(tx, st, "writing the manifest items", 1);
}

static store_rc_t
sq_manifest(store_tx_t *tx, const char *public_id, int64_t *id, store_manifest_t *out)
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
        return STORE_NOT_FOUND;
    return rc == SQLITE_ROW ? STORE_OK : sqlite_fail(tx, rc, "reading the manifest");
}

/* read_items - the handover-list items of sql for id into *items / *n; with ids, the column
 * after the item's into a parallel array */
static store_rc_t
read_items(store_tx_t *tx, const char *sql, const char *what, int64_t id, store_label_item_t **items,
           int64_t **ids, size_t *n)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    store_rc_t r;
    int rc;

    if ((r = prepare(tx, sql, what, &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, id);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            store_label_item_t *p = realloc(*items, ncap * sizeof *p);

            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            *items = p;
            if (ids) {
                int64_t *q = realloc(*ids, ncap * sizeof *q);

                if (!q) {
                    rc = SQLITE_NOMEM;
                    break;
                }
                *ids = q;
            }
            cap = ncap;
        }
        if ((rc = item_from_row(st, &(*items)[*n])) != SQLITE_OK)
            break;
        if (ids)
            (*ids)[*n] = sqlite3_column_int64(st, ITEM_COLUMNS);
        (*n)++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(tx, rc, what);
}

static store_rc_t
sq_manifest_items(store_tx_t *tx, int64_t id, store_manifest_t *out)
{
    return read_items(tx, SQL_MANIFEST_ITEMS, "reading the manifest items", id, &out->items, NULL, &out->n);
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
        const char *col[LABELS_MANIFEST_LIST_COLS];
        int c;

        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            store_manifest_row_t *bigger = realloc(out->rows, ncap * sizeof *bigger);

            if (!bigger)
                break;
            out->rows = bigger;
            cap = ncap;
        }
        for (c = 0; c < LABELS_MANIFEST_LIST_COLS; c++)
            col[c] = db_col_text(st, c);
        labels_manifest_row(&out->rows[out->n++], col);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store_manifest_list_free(out);
        return rc == SQLITE_ROW ? store_tx_fail(tx, STORE_BUSY, "out of memory while listing the manifests; retry")
                                : sqlite_fail(tx, rc, "listing the manifests");
    }
    return STORE_OK;
}

static store_rc_t
sq_manifest_accept(store_tx_t *tx, int64_t id, int64_t now)
{
    sqlite3_stmt *st;
    store_rc_t r;

    if ((r = prepare(tx, SQL_MANIFEST_ACCEPT, "closing the manifest", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    return step_write(tx, st, "closing the manifest", 0);
}

static store_rc_t
sq_set_status(store_tx_t *tx, int64_t shipment_id, const char *status, int64_t now)
{
    sqlite3_stmt *st;
    store_rc_t r;

    if ((r = prepare(tx, SQL_SET_STATUS, "recording the acceptance", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, shipment_id);
    db_bind_text(st, 2, status);
    sqlite3_bind_int64(st, 3, now);
    return step_write(tx, st, "recording the acceptance", 0);
}

static store_rc_t
sq_receipt_of(store_tx_t *tx, int64_t shipment_id, char *public_id, size_t len)
{
    return first_text(tx, SQL_RECEIPT_OF, "checking receipts", shipment_id, public_id, len);
}

static store_rc_t
sq_insert_receipt(store_tx_t *tx, const char *public_id, const char *agency_code, const char *officer,
                  const char *created_by, int64_t now, int64_t *id)
{
    sqlite3_stmt *st;
    store_rc_t r;

    if ((r = prepare(tx, SQL_INSERT_RECEIPT, "recording the receipt", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, public_id);
    db_bind_text(st, 2, agency_code);
    db_bind_text(st, 3, officer);
    db_bind_text(st, 4, created_by);
    sqlite3_bind_int64(st, 5, now);
    if ((r = step_write(tx, st, "recording the receipt", 1)) == STORE_OK)
        *id = sqlite3_last_insert_rowid(db_handle(sqlite_tx_db(tx)));
    return r;
}

static store_rc_t
sq_insert_receipt_item(store_tx_t *tx, int64_t receipt_id, int64_t shipment_id, int64_t position)
{
    sqlite3_stmt *st;
    store_rc_t r;

    if ((r = prepare(tx, SQL_INSERT_RECEIPT_ITEM, "recording the receipt items", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, receipt_id);
    sqlite3_bind_int64(st, 2, shipment_id);
    sqlite3_bind_int64(st, 3, position);
    return step_write(tx, st, "recording the receipt items", 0);
}

static store_rc_t
sq_receipt(store_tx_t *tx, const char *public_id, int64_t *id, store_receipt_t *out)
{
    sqlite3_stmt *st;
    store_rc_t r;
    int rc;

    if ((r = prepare(tx, SQL_RECEIPT, "reading the receipt", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, public_id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        snprintf(out->id, sizeof out->id, "%s", public_id);
        snprintf(out->agency_code, sizeof out->agency_code, "%s", db_col_text(st, 1));
        snprintf(out->officer, sizeof out->officer, "%s", db_col_text(st, 2));
        out->created_at = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return STORE_NOT_FOUND;
    return rc == SQLITE_ROW ? STORE_OK : sqlite_fail(tx, rc, "reading the receipt");
}

static store_rc_t
sq_receipt_items(store_tx_t *tx, int64_t id, store_receipt_t *out)
{
    return read_items(tx, SQL_RECEIPT_ITEMS, "reading the receipt items", id, &out->items, &out->shipment_ids,
                      &out->n);
}

static const labels_rows_t sqlite_label_rows = {
    .ship = sq_ship,
    .ready = sq_ready,
    .count_print = sq_count_print,
    .open_manifest_of = sq_open_manifest_of,
    .insert_manifest = sq_insert_manifest,
    .insert_manifest_item = sq_insert_manifest_item,
    .manifest = sq_manifest,
    .manifest_items = sq_manifest_items,
    .manifest_accept = sq_manifest_accept,
    .set_status = sq_set_status,
    .receipt_of = sq_receipt_of,
    .insert_receipt = sq_insert_receipt,
    .insert_receipt_item = sq_insert_receipt_item,
    .receipt = sq_receipt,
    .receipt_items = sq_receipt_items,
    .manifest_list = sq_manifest_list,
};

LABELS_OPS(sqlite_labels_ops, sqlite_label_rows);
