/*
 * pg_labels - the rows of label prints, handover manifests, acceptance scans and receipts
 * on PostgreSQL; the rules are labels_rules.c, the same for SQLite (see store_labels.h)
 *
 * Several instances may print, hand over, scan or receive the same shipment at once. Every
 * such operation reads its shipments through ship(), which locks the shipment's row
 * (FOR UPDATE OF s) until the transaction ends: a second instance waits, and then (READ
 * COMMITTED) sees the first one's print count, open manifest or receipt, so "one open
 * manifest per shipment" and "one receipt per item" hold across instances. Inserts that
 * may meet an existing row use ON CONFLICT DO NOTHING: a failed statement would spoil the
 * whole transaction on PostgreSQL.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store/backend_labels.h"
#include "gateway/store/labels_rules.h"
#include "gateway/store/postgresql/pg_area.h"

#define ACCEPTED_AT "(SELECT MIN(t.event_time) FROM timeline t WHERE t.shipment_id = s.id AND t.status = 'accepted')"
/* the columns item_from_row reads, then the shipment id */
#define ITEM_COLUMNS                                                                                               \
    "s.waybill, d.code, d.agency_code, s.carrier, s.status, s.cod_amount, s.label_prints, sub.body, s.leg, "      \
    ACCEPTED_AT ", s.id"
#define ITEM_JOINS                                                                                                 \
    " JOIN shipments s ON s.id = x.shipment_id JOIN dossiers d ON d.id = s.dossier_id"                          \
    " JOIN submissions sub ON sub.id = s.submission_id"

static const char SQL_SHIPMENT[] =
    "SELECT s.id, s.dossier_id, s.status, s.status_time, s.cod_amount, s.label_prints, s.carrier, d.code,"
    " d.agency_code, sub.body, s.leg, " ACCEPTED_AT " FROM shipments s JOIN dossiers d ON d.id = s.dossier_id"
    " JOIN submissions sub ON sub.id = s.submission_id WHERE s.waybill = $1::text FOR UPDATE OF s";
static const char SQL_READY[] =
    "SELECT s.waybill FROM shipments s JOIN dossiers d ON d.id = s.dossier_id"
    " WHERE s.status IN ('created', 'booked')"
    " AND NOT EXISTS (SELECT 1 FROM manifest_items mi WHERE mi.shipment_id = s.id)"
    " AND ($1::text IS NULL OR d.agency_code = $1::text) ORDER BY s.id LIMIT $2::bigint";
static const char SQL_COUNT_PRINT[] = "UPDATE shipments SET label_prints = label_prints + 1 WHERE id = $1::bigint";
static const char SQL_OPEN_MANIFEST_OF[] =
    "SELECT m.public_id FROM manifest_items mi JOIN manifests m ON m.id = mi.manifest_id"
    " WHERE mi.shipment_id = $1::bigint AND m.state = 'open' ORDER BY m.id LIMIT 1";
static const char SQL_INSERT_MANIFEST[] =
    "INSERT INTO manifests (public_id, agency_code, state, code, created_by, created_at)"
    " VALUES ($1::text, $2::text, 'open', $3::text, $4::text, $5::bigint) ON CONFLICT (public_id) DO NOTHING"
    " RETURNING id";
static const char SQL_INSERT_ITEM[] =
    "INSERT INTO manifest_items (manifest_id, shipment_id, position) VALUES ($1::bigint, $2::bigint, $3::bigint)"
    " ON CONFLICT (manifest_id, shipment_id) DO NOTHING";
static const char SQL_MANIFEST[] =
    "SELECT id, code, state, agency_code, created_at FROM manifests WHERE public_id = $1::text";
static const char SQL_MANIFEST_ITEMS[] =
    "SELECT " ITEM_COLUMNS " FROM manifest_items x" ITEM_JOINS " WHERE x.manifest_id = $1::bigint ORDER BY x.position";
static const char SQL_MANIFEST_ACCEPT[] =
    "UPDATE manifests SET state = 'accepted', accepted_at = $2::bigint WHERE id = $1::bigint AND state = 'open'";
static const char SQL_SET_STATUS[] =
    "UPDATE shipments SET status = $2::text, status_time = $3::bigint, updated_at = $3::bigint WHERE id = $1::bigint";
static const char SQL_RECEIPT_OF[] =
    "SELECT r.public_id FROM receipt_items ri JOIN receipts r ON r.id = ri.receipt_id"
    " WHERE ri.shipment_id = $1::bigint";
static const char SQL_INSERT_RECEIPT[] =
    "INSERT INTO receipts (public_id, agency_code, officer, created_by, created_at)"
    " VALUES ($1::text, $2::text, $3::text, $4::text, $5::bigint) ON CONFLICT (public_id) DO NOTHING RETURNING id";
static const char SQL_INSERT_RECEIPT_ITEM[] =
    "INSERT INTO receipt_items (receipt_id, shipment_id, position) VALUES ($1::bigint, $2::bigint, $3::bigint)";
static const char SQL_RECEIPT[] =
    "SELECT id, agency_code, officer, created_at FROM receipts WHERE public_id = $1::text";
static const char SQL_RECEIPT_ITEMS[] =
    "SELECT " ITEM_COLUMNS " FROM receipt_items x" ITEM_JOINS " WHERE x.receipt_id = $1::bigint ORDER BY x.position";

static const char SQL_MANIFEST_LIST[] =
    "SELECT m.public_id, m.state, m.agency_code, m.created_by, m.created_at, COALESCE(m.accepted_at, 0),"
    " (SELECT COUNT(*) FROM manifest_items mi WHERE mi.manifest_id = m.id)"
    " FROM manifests m WHERE ($1::text = '' OR m.agency_code = $1::text) ORDER BY m.created_at DESC, m.id DESC"
    " LIMIT $2::bigint OFFSET $3::bigint";
static const char SQL_MANIFEST_COUNT[] =
    "SELECT COUNT(*) FROM manifests WHERE $1::text = '' OR agency_code = $1::text";

static store_rc_t
pg_ship(store_tx_t *tx, const char *waybill, labels_ship_t *row)
{
    PGresult *res;
    store_rc_t r;

    if ((r = pg_query_text(tx, "reading the shipment", SQL_SHIPMENT, waybill, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return STORE_NOT_FOUND;
    }
    row->id = pg_int(res, 0, 0);
    row->dossier_id = pg_int(res, 0, 1);
    snprintf(row->item.status, sizeof row->item.status, "%s", pg_text(res, 0, 2));
    row->status_time = pg_int(res, 0, 3);
    row->item.cod_amount = (long long)pg_int(res, 0, 4);
    row->item.prints = (long long)pg_int(res, 0, 5);
    snprintf(row->item.carrier, sizeof row->item.carrier, "%s", pg_text(res, 0, 6));
    snprintf(row->item.dossier_code, sizeof row->item.dossier_code, "%s", pg_text(res, 0, 7));
    snprintf(row->item.agency_code, sizeof row->item.agency_code, "%s", pg_text(res, 0, 8));
    snprintf(row->item.waybill, sizeof row->item.waybill, "%s", waybill);
    row->item.body = pg_strdup_col(res, 0, 9);
    snprintf(row->item.leg, sizeof row->item.leg, "%s", pg_text(res, 0, 10));
    row->item.accepted_at = pg_int(res, 0, 11);
    PQclear(res);
    return row->item.body ? STORE_OK : pg_no_memory(tx, "reading the shipment");
}

static store_rc_t
pg_ready(store_tx_t *tx, const char *agency_code, size_t max, labels_waybills_t *out)
{
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int rows, i;

    memset(out, 0, sizeof *out);
    pg_params_init(&p);
    pg_param_text(&p, agency_code);
    pg_param_int(&p, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max); /* no LIMIT -1 on PostgreSQL */
    if ((r = pg_query(tx, "listing ready shipments", SQL_READY, &p, &res)) != STORE_OK)
        return r;
    rows = PQntuples(res);
    if (rows > 0 && !(out->v = calloc((size_t)rows, sizeof *out->v))) {
        PQclear(res);
        return pg_no_memory(tx, "listing ready shipments");
    }
    for (i = 0; i < rows; i++)
        snprintf(out->v[out->n++], STORE_LABELS_WAYBILL_MAX, "%s", pg_text(res, i, 0));
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_count_print(store_tx_t *tx, int64_t shipment_id)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, shipment_id);
    return pg_exec(tx, "counting the print", SQL_COUNT_PRINT, &p, NULL);
}

/* first_text - the first column of sql's first row for id into out ("" when no row) */
static store_rc_t
first_text(store_tx_t *tx, const char *sql, const char *what, int64_t id, char *out, size_t len)
{
    PGresult *res;
    store_rc_t r;

    out[0] = '\0';
    if ((r = pg_query_id(tx, what, sql, id, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) > 0)
        snprintf(out, len, "%s", pg_text(res, 0, 0));
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_open_manifest_of(store_tx_t *tx, int64_t shipment_id, char *public_id, size_t len)
{
    return first_text(tx, SQL_OPEN_MANIFEST_OF, "checking open manifests", shipment_id, public_id, len);
}

/* insert_head - a manifest or receipt row (five parameters); STORE_EXISTS when its public id is taken */
static store_rc_t
insert_head(store_tx_t *tx, const char *what, const char *sql, const char *const text[4], int64_t now, int64_t *id)
{
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int i;

    pg_params_init(&p);
    for (i = 0; i < 4; i++)
        pg_param_text(&p, text[i]);
    pg_param_int(&p, now);
    if ((r = pg_query(tx, what, sql, &p, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) == 1)
        *id = pg_int(res, 0, 0);
    else
        r = STORE_EXISTS;
    PQclear(res);
    return r;
}

static store_rc_t
pg_insert_manifest(store_tx_t *tx, const char *public_id, const char *agency_code, const char *code,
                   const char *created_by, int64_t now, int64_t *id)
{
    const char *const text[4] = { public_id, agency_code, code, created_by };

    return insert_head(tx, "writing the manifest", SQL_INSERT_MANIFEST, text, now, id);
}

/* insert_item - one item row (three numbers); *added = rows written */
static store_rc_t
insert_item(store_tx_t *tx, const char *what, const char *sql, int64_t list_id, int64_t shipment_id,
            int64_t position, int *added)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, list_id);
    pg_param_int(&p, shipment_id);
    pg_param_int(&p, position);
    return pg_exec(tx, what, sql, &p, added);
}

static store_rc_t
pg_insert_manifest_item(store_tx_t *tx, int64_t manifest_id, int64_t shipment_id, int64_t position)
{
    int added = 0;
    store_rc_t r = insert_item(tx, "writing the manifest items", SQL_INSERT_ITEM, manifest_id, shipment_id,
                               position, &added);

    return r == STORE_OK && !added ? STORE_EXISTS : r;
}

static store_rc_t
pg_manifest(store_tx_t *tx, const char *public_id, int64_t *id, store_manifest_t *out)
{
    PGresult *res;
    store_rc_t r;

    if ((r = pg_query_text(tx, "reading the manifest", SQL_MANIFEST, public_id, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return STORE_NOT_FOUND;
    }
    *id = pg_int(res, 0, 0);
    snprintf(out->id, sizeof out->id, "%s", public_id);
    snprintf(out->code, sizeof out->code, "%s", pg_text(res, 0, 1));
    snprintf(out->state, sizeof out->state, "%s", pg_text(res, 0, 2));
    snprintf(out->agency_code, sizeof out->agency_code, "%s", pg_text(res, 0, 3));
    out->created_at = pg_int(res, 0, 4);
    PQclear(res);
    return STORE_OK;
}

/* read_items - the handover-list items of sql for id into *items / *n; with ids, each
 * item's shipment id into a parallel array */
static store_rc_t
read_items(store_tx_t *tx, const char *sql, const char *what, int64_t id, store_label_item_t **items,
           int64_t **ids, size_t *n)
{
    PGresult *res;
    store_rc_t r;
    int rows, i;

    if ((r = pg_query_id(tx, what, sql, id, &res)) != STORE_OK)
        return r;
    rows = PQntuples(res);
    if (rows > 0 && (!(*items = calloc((size_t)rows, sizeof **items)) ||
                     (ids && !(*ids = calloc((size_t)rows, sizeof **ids))))) {
        PQclear(res);
        return pg_no_memory(tx, what);
    }
    for (i = 0; i < rows; i++) {
        store_label_item_t *it = &(*items)[*n];

        snprintf(it->waybill, sizeof it->waybill, "%s", pg_text(res, i, 0));
        snprintf(it->dossier_code, sizeof it->dossier_code, "%s", pg_text(res, i, 1));
        snprintf(it->agency_code, sizeof it->agency_code, "%s", pg_text(res, i, 2));
        snprintf(it->carrier, sizeof it->carrier, "%s", pg_text(res, i, 3));
        snprintf(it->status, sizeof it->status, "%s", pg_text(res, i, 4));
        it->cod_amount = (long long)pg_int(res, i, 5);
        it->prints = (long long)pg_int(res, i, 6);
        snprintf(it->leg, sizeof it->leg, "%s", pg_text(res, i, 8));
        it->accepted_at = pg_int(res, i, 9);
        if (!(it->body = pg_strdup_col(res, i, 7))) {
            PQclear(res);
            return pg_no_memory(tx, what);
        }
        if (ids)
            (*ids)[*n] = pg_int(res, i, 10);
        (*n)++;
    }
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_manifest_items(store_tx_t *tx, int64_t id, store_manifest_t *out)
{
    return read_items(tx, SQL_MANIFEST_ITEMS, "reading the manifest items", id, &out->items, NULL, &out->n);
}

/* two_ints - run a write of sql with an id and a number */
static store_rc_t
two_ints(store_tx_t *tx, const char *what, const char *sql, int64_t id, int64_t value)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, id);
    pg_param_int(&p, value);
    return pg_exec(tx, what, sql, &p, NULL);
}

static store_rc_t
pg_manifest_accept(store_tx_t *tx, int64_t id, int64_t now)
{
    return two_ints(tx, "closing the manifest", SQL_MANIFEST_ACCEPT, id, now);
}

static store_rc_t
pg_set_status(store_tx_t *tx, int64_t shipment_id, const char *status, int64_t now)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, shipment_id);
    pg_param_text(&p, status);
    pg_param_int(&p, now);
    return pg_exec(tx, "recording the acceptance", SQL_SET_STATUS, &p, NULL);
}

static store_rc_t
pg_receipt_of(store_tx_t *tx, int64_t shipment_id, char *public_id, size_t len)
{
    return first_text(tx, SQL_RECEIPT_OF, "checking receipts", shipment_id, public_id, len);
}

static store_rc_t
pg_insert_receipt(store_tx_t *tx, const char *public_id, const char *agency_code, const char *officer,
                  const char *created_by, int64_t now, int64_t *id)
{
    const char *const text[4] = { public_id, agency_code, officer, created_by };

    return insert_head(tx, "recording the receipt", SQL_INSERT_RECEIPT, text, now, id);
}

static store_rc_t
pg_insert_receipt_item(store_tx_t *tx, int64_t receipt_id, int64_t shipment_id, int64_t position)
{
    return insert_item(tx, "recording the receipt items", SQL_INSERT_RECEIPT_ITEM, receipt_id, shipment_id, position,
                       NULL);
}

static store_rc_t
pg_receipt(store_tx_t *tx, const char *public_id, int64_t *id, store_receipt_t *out)
{
    PGresult *res;
    store_rc_t r;

    if ((r = pg_query_text(tx, "reading the receipt", SQL_RECEIPT, public_id, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return STORE_NOT_FOUND;
    }
    *id = pg_int(res, 0, 0);
    snprintf(out->id, sizeof out->id, "%s", public_id);
    snprintf(out->agency_code, sizeof out->agency_code, "%s", pg_text(res, 0, 1));
    snprintf(out->officer, sizeof out->officer, "%s", pg_text(res, 0, 2));
    out->created_at = pg_int(res, 0, 3);
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_receipt_items(store_tx_t *tx, int64_t id, store_receipt_t *out)
{
    return read_items(tx, SQL_RECEIPT_ITEMS, "reading the receipt items", id, &out->items, &out->shipment_ids,
                      &out->n);
}

static store_rc_t
pg_manifest_list(store_tx_t *tx, const char *agency, int limit, int offset, store_manifest_list_t *out,
                 long long *total)
{
    const char *col[LABELS_MANIFEST_LIST_COLS];
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int rows, i, c;

    memset(out, 0, sizeof *out);
    *total = 0;
    if ((r = pg_query_text(tx, "counting the manifests", SQL_MANIFEST_COUNT, agency ? agency : "", &res)) != STORE_OK)
        return r;
    *total = PQntuples(res) == 1 ? (long long)pg_int(res, 0, 0) : 0;
    PQclear(res);
    pg_params_init(&p);
    pg_param_text(&p, agency ? agency : "");
    pg_param_int(&p, limit);
    pg_param_int(&p, offset);
    if ((r = pg_query(tx, "listing the manifests", SQL_MANIFEST_LIST, &p, &res)) != STORE_OK) {
        *total = 0;
        return r;
    }
    rows = PQntuples(res);
    if (rows > 0 && !(out->rows = calloc((size_t)rows, sizeof *out->rows))) {
        PQclear(res);
        *total = 0;
        return pg_no_memory(tx, "listing the manifests");
    }
    for (i = 0; i < rows; i++) {
        for (c = 0; c < LABELS_MANIFEST_LIST_COLS; c++)
            col[c] = pg_text(res, i, c);
        labels_manifest_row(&out->rows[out->n++], col);
    }
    PQclear(res);
    return STORE_OK;
}

static const labels_rows_t pg_label_rows = {
    .ship = pg_ship,
    .ready = pg_ready,
    .count_print = pg_count_print,
    .open_manifest_of = pg_open_manifest_of,
    .insert_manifest = pg_insert_manifest,
    .insert_manifest_item = pg_insert_manifest_item,
    .manifest = pg_manifest,
    .manifest_items = pg_manifest_items,
    .manifest_accept = pg_manifest_accept,
    .set_status = pg_set_status,
    .receipt_of = pg_receipt_of,
    .insert_receipt = pg_insert_receipt,
    .insert_receipt_item = pg_insert_receipt_item,
    .receipt = pg_receipt,
    .receipt_items = pg_receipt_items,
    .manifest_list = pg_manifest_list,
};

LABELS_OPS(pg_labels_ops, pg_label_rows);
