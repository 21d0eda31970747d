/*
 * sqlite_timeline - the timeline area on SQLite (see store_timeline.h); the chain itself
 * is timeline.c, which the backend's other files also append through
 */
#include "gateway/store/sqlite/sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/store/backend_timeline.h"
#include "gateway/store/sqlite/timeline.h"
#include "gateway/store/timeline_chain.h"

static const char SQL_LIST[] =
    "SELECT t.seq, t.event_time, t.received_at, t.source, COALESCE(t.status, ''), COALESCE(t.upu, ''),"
    " COALESCE(t.raw_code, ''), t.text, t.details, t.hash, COALESCE(s.waybill, '') FROM timeline t"
    " LEFT JOIN shipments s ON s.id = t.shipment_id WHERE t.dossier_id = ?1 ORDER BY t.event_time, t.seq";

static store_rc_t
sq_set_chain_key(store_t *store, const void *key, size_t len)
{
    (void)store;
    return chain_set_key(key, len) == 0 ? STORE_OK : STORE_ERROR;
}

/* sq_append - the front (store_timeline.c) has checked the event */
static store_rc_t
sq_append(store_tx_t *tx, const store_timeline_event_t *ev)
{
    int rc, r = timeline_append(sqlite_tx_db(tx), ev, &rc);

    if (r == TIMELINE_DUPLICATE)
        return STORE_EXISTS;
    if (r == TIMELINE_ERROR)
        return sqlite_fail(tx, rc, "appending to the timeline");
    return STORE_OK;
}

static char *
dup_col(sqlite3_stmt *st, int col)
{
    return strdup(db_col_text(st, col));
}

static store_rc_t
sq_list(store_tx_t *tx, int64_t dossier_id, store_timeline_list_t *out)
{
    sqlite3_stmt *st = db_stmt(sqlite_tx_db(tx), SQL_LIST);
    size_t cap = 0;
    int rc;

    out->items = NULL;
    out->n = 0;
    if (!st)
        return sqlite_fail(tx, SQLITE_ERROR, "reading the timeline");
    sqlite3_bind_int64(st, 1, dossier_id);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        store_timeline_row_t *r;

        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            store_timeline_row_t *grown = realloc(out->items, ncap * sizeof *grown);

            if (!grown) {
                rc = SQLITE_NOMEM;
                break;
            }
            out->items = grown;
            cap = ncap;
        }
        r = &out->items[out->n++];
        memset(r, 0, sizeof *r);
        r->seq = sqlite3_column_int64(st, 0);
        r->event_time = sqlite3_column_int64(st, 1);
        r->received_at = sqlite3_column_int64(st, 2);
        r->source = dup_col(st, 3);
        r->status = dup_col(st, 4);
        r->upu = dup_col(st, 5);
        r->raw_code = dup_col(st, 6);
        r->text = dup_col(st, 7);
        r->details = dup_col(st, 8);
        r->hash = dup_col(st, 9);
        r->waybill = dup_col(st, 10);
        if (!r->source || !r->status || !r->upu || !r->raw_code || !r->text || !r->details || !r->hash ||
            !r->waybill) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store_timeline_list_free(out);
        return sqlite_fail(tx, rc, "reading the timeline");
    }
    return STORE_OK;
}

static store_rc_t
sq_head(store_tx_t *tx, int64_t dossier_id, int64_t *count, char hash[STORE_HASH_HEX_LEN])
{
    int rc, r = timeline_head(sqlite_tx_db(tx), dossier_id, count, hash, &rc);

    if (r < 0)
        return sqlite_fail(tx, rc, "reading the timeline head");
    return r == 0 ? STORE_OK : STORE_NOT_FOUND;
}

static store_rc_t
sq_verify(store_tx_t *tx, int64_t dossier_id, char *why, size_t whylen)
{
    int rc, r = timeline_verify_rc(sqlite_tx_db(tx), dossier_id, why, whylen, &rc);

    if (r < 0)
        return sqlite_fail(tx, rc, "verifying the timeline");
    return r == 0 ? STORE_OK : store_tx_fail(tx, STORE_CONFLICT, "%s", why);
}

static store_rc_t
sq_seal_all(store_tx_t *tx, int *sealed)
{
    int rc, n = timeline_seal_all(sqlite_tx_db(tx), &rc);

    *sealed = n > 0 ? n : 0;
    return n < 0 ? sqlite_fail(tx, rc, "sealing the timelines with the server key") : STORE_OK;
}

const struct store_timeline_ops sqlite_timeline_ops = {
    .set_chain_key = sq_set_chain_key,
    .append = sq_append,
    .list = sq_list,
    .head = sq_head,
    .verify = sq_verify,
    .seal_all = sq_seal_all,
};
