/*
 * pg_timeline - the case timeline of the PostgreSQL backend (store_timeline.h)
 *
 * The rows and the dossier's sealed head live here; what each hash and seal cover, and
 * what makes a chain broken, is gateway/store/timeline_chain.c, the same for SQLite.
 *
 * Several instances append to one database, so an append first locks its dossier's row
 * (SELECT … FOR UPDATE) and only then reads the chain's last event: a second append to the
 * same dossier, on any instance, waits until the first commits and then builds on it, so
 * no two events share a seq or a previous hash. Under READ COMMITTED each statement after
 * the lock sees what the holder committed. The dedup check runs under the same lock; a
 * dedup key racing on another dossier is caught by the unique index (ON CONFLICT).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store/backend_timeline.h"
#include "gateway/store/postgresql/pg_area.h"
#include "gateway/store/postgresql/pg_schema.h"
#include "gateway/store/timeline_chain.h"

static const char SQL_LOCK_DOSSIER[] = "SELECT id FROM dossiers WHERE id = $1::bigint FOR UPDATE";
static const char SQL_DEDUP[] = "SELECT 1 FROM timeline WHERE dedup_key = $1::text";
static const char SQL_LAST[] =
    "SELECT seq, hash FROM timeline WHERE dossier_id = $1::bigint ORDER BY seq DESC LIMIT 1";
static const char SQL_INSERT[] =
    "INSERT INTO timeline (dossier_id, shipment_id, seq, event_time, received_at, source, status, upu, raw_code,"
    " text, details, dedup_key, prev_hash, hash) VALUES ($1::bigint, $2::bigint, $3::bigint, $4::bigint,"
    " $5::bigint, $6::text, $7::text, $8::text, $9::text, $10::text, $11::text, $12::text, $13::text, $14::text)"
    " ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING";
static const char SQL_SET_HEAD[] =
    "UPDATE dossiers SET timeline_count = $2::bigint, timeline_head = $3::text, timeline_seal = $4::text"
    " WHERE id = $1::bigint";
static const char SQL_HEAD[] =
    "SELECT timeline_count, timeline_head, timeline_seal FROM dossiers WHERE id = $1::bigint";
static const char SQL_LIST[] =
    "SELECT t.seq, t.event_time, t.received_at, t.source, COALESCE(t.status, ''), COALESCE(t.upu, ''),"
    " COALESCE(t.raw_code, ''), t.text, t.details, t.hash, COALESCE(s.waybill, '') FROM timeline t"
    " LEFT JOIN shipments s ON s.id = t.shipment_id WHERE t.dossier_id = $1::bigint ORDER BY t.event_time, t.seq";
/* the columns row_event reads */
static const char SQL_ALL[] =
    "SELECT seq, event_time, received_at, source, status, upu, raw_code, text, details, prev_hash, hash,"
    " COALESCE(shipment_id, 0), id FROM timeline WHERE dossier_id = $1::bigint ORDER BY seq";
static const char SQL_REHASH[] = "UPDATE timeline SET prev_hash = $2::text, hash = $3::text WHERE id = $1::bigint";
/* instances starting at once seal one after the other; the second finds the flag */
static const char SQL_SEAL_LOCK[] = "SELECT pg_advisory_xact_lock($1::integer, hashtext('timeline_seal'))";
static const char SQL_SEALED_FLAG[] = "SELECT value FROM metrics WHERE name = 'timeline_keyed'";
static const char SQL_SET_SEALED_FLAG[] =
    "INSERT INTO metrics (name, value) VALUES ('timeline_keyed', 1) ON CONFLICT (name) DO UPDATE SET value = 1";
static const char SQL_DOSSIER_IDS[] = "SELECT id FROM dossiers ORDER BY id";

static store_rc_t
pg_set_chain_key(store_t *store, const void *key, size_t len)
{
    (void)store;
    return chain_set_key(key, len) == 0 ? STORE_OK : STORE_ERROR;
}

static void
param_opt_int(pg_params_t *p, int64_t v)
{
    if (v)
        pg_param_int(p, v);
    else
        pg_param_null(p);
}

static store_rc_t
set_head(store_tx_t *tx, int64_t dossier_id, int64_t count, const char *hash)
{
    char seal[SHA256_HEX_LEN];
    pg_params_t p;

    chain_head_seal(dossier_id, count, hash, seal);
    pg_params_init(&p);
    pg_param_int(&p, dossier_id);
    pg_param_int(&p, count);
    pg_param_text(&p, hash);
    pg_param_text(&p, seal);
    return pg_exec(tx, "sealing the timeline head", SQL_SET_HEAD, &p, NULL);
}

static store_rc_t
pg_append(store_tx_t *tx, const store_timeline_event_t *ev)
{
    store_timeline_event_t e = *ev;
    char prev[SHA256_HEX_LEN], hash[SHA256_HEX_LEN];
    int64_t seq = 1;
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int rows, added = 0;

    if ((r = pg_query_id(tx, "locking the dossier's timeline", SQL_LOCK_DOSSIER, ev->dossier_id, &res)) != STORE_OK)
        return r;
    rows = PQntuples(res);
    PQclear(res);
    if (rows != 1)
        return store_tx_fail(tx, STORE_ERROR, "no dossier %" PRId64 " to append a timeline event to",
                             ev->dossier_id);
    if (ev->dedup_key) {
        if ((r = pg_query_text(tx, "checking the timeline for a duplicate", SQL_DEDUP, ev->dedup_key, &res)) !=
            STORE_OK)
            return r;
        rows = PQntuples(res);
        PQclear(res);
        if (rows > 0)
            return STORE_EXISTS;
    }
    if ((r = pg_query_id(tx, "reading the timeline's last event", SQL_LAST, ev->dossier_id, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) == 1) {
        seq = pg_int(res, 0, 0) + 1;
        snprintf(prev, sizeof prev, "%s", pg_text(res, 0, 1));
    } else {
        snprintf(prev, sizeof prev, "%s", CHAIN_ZERO_HASH);
    }
    PQclear(res);
    e.details = chain_details(ev);
    chain_event_hash(prev, seq, &e, hash);

    pg_params_init(&p);
    pg_param_int(&p, e.dossier_id);
    param_opt_int(&p, e.shipment_id);
    pg_param_int(&p, seq);
    pg_param_int(&p, e.event_time);
    pg_param_int(&p, e.received_at);
    pg_param_text(&p, e.source);
    pg_param_text(&p, e.status);
    pg_param_text(&p, e.upu);
    pg_param_text(&p, e.raw_code);
    pg_param_text(&p, e.text);
    pg_param_text(&p, e.details);
    pg_param_text(&p, e.dedup_key);
    pg_param_text(&p, prev);
    pg_param_text(&p, hash);
    if ((r = pg_exec(tx, "appending to the timeline", SQL_INSERT, &p, &added)) != STORE_OK)
        return r;
    if (!added)
        return STORE_EXISTS; /* the dedup key was recorded meanwhile, on another dossier */
    return set_head(tx, e.dossier_id, seq, hash);
}

static store_rc_t
pg_list(store_tx_t *tx, int64_t dossier_id, store_timeline_list_t *out)
{
    PGresult *res;
    store_rc_t r;
    int rows, i;

    out->items = NULL;
    out->n = 0;
    if ((r = pg_query_id(tx, "reading the timeline", SQL_LIST, dossier_id, &res)) != STORE_OK)
        return r;
    rows = PQntuples(res);
    if (rows > 0 && !(out->items = calloc((size_t)rows, sizeof *out->items))) {
        PQclear(res);
        return pg_no_memory(tx, "reading the timeline");
    }
    for (i = 0; i < rows; i++) {
        store_timeline_row_t *row = &out->items[out->n++];

        row->seq = pg_int(res, i, 0);
        row->event_time = pg_int(res, i, 1);
        row->received_at = pg_int(res, i, 2);
        row->source = pg_strdup_col(res, i, 3);
        row->status = pg_strdup_col(res, i, 4);
        row->upu = pg_strdup_col(res, i, 5);
        row->raw_code = pg_strdup_col(res, i, 6);
        row->text = pg_strdup_col(res, i, 7);
        row->details = pg_strdup_col(res, i, 8);
        row->hash = pg_strdup_col(res, i, 9);
        row->waybill = pg_strdup_col(res, i, 10);
        if (!row->source || !row->status || !row->upu || !row->raw_code || !row->text || !row->details ||
            !row->hash || !row->waybill) {
            PQclear(res);
            store_timeline_list_free(out);
            return pg_no_memory(tx, "reading the timeline");
        }
    }
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_head(store_tx_t *tx, int64_t dossier_id, int64_t *count, char hash[STORE_HASH_HEX_LEN])
{
    PGresult *res;
    store_rc_t r;

    *count = 0;
    hash[0] = '\0';
    if ((r = pg_query_id(tx, "reading the timeline head", SQL_HEAD, dossier_id, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) != 1 || pg_isnull(res, 0, 1)) {
        PQclear(res);
        return STORE_NOT_FOUND;
    }
    *count = pg_int(res, 0, 0);
    snprintf(hash, STORE_HASH_HEX_LEN, "%s", pg_text(res, 0, 1));
    PQclear(res);
    return STORE_OK;
}

/* row_event - the event of row i of an SQL_ALL result (strings borrowed from res) */
static void
row_event(const PGresult *res, int i, int64_t dossier_id, store_timeline_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->dossier_id = dossier_id;
    ev->shipment_id = pg_int(res, i, 11);
    ev->event_time = pg_int(res, i, 1);
    ev->received_at = pg_int(res, i, 2);
    ev->source = pg_text(res, i, 3);
    ev->status = pg_text(res, i, 4);
    ev->upu = pg_text(res, i, 5);
    ev->raw_code = pg_text(res, i, 6);
    ev->text = pg_text(res, i, 7);
    ev->details = pg_text(res, i, 8);
}

static store_rc_t
pg_verify(store_tx_t *tx, int64_t dossier_id, char *why, size_t whylen)
{
    chain_verify_t v;
    PGresult *res;
    store_rc_t r;
    int broken, i;

    if ((r = pg_query_id(tx, "verifying the timeline", SQL_HEAD, dossier_id, &res)) != STORE_OK)
        return r;
    broken = PQntuples(res) == 1
                 ? chain_verify_head(&v, dossier_id, 1, pg_int(res, 0, 0),
                                     pg_isnull(res, 0, 1) ? NULL : pg_text(res, 0, 1),
                                     pg_isnull(res, 0, 2) ? NULL : pg_text(res, 0, 2), why, whylen)
                 : chain_verify_head(&v, dossier_id, 0, 0, NULL, NULL, why, whylen);
    PQclear(res);
    if (broken)
        return store_tx_fail(tx, STORE_CONFLICT, "%s", why);
    if ((r = pg_query_id(tx, "verifying the timeline", SQL_ALL, dossier_id, &res)) != STORE_OK)
        return r;
    for (i = 0; !broken && i < PQntuples(res); i++) {
        store_timeline_event_t ev;

        row_event(res, i, dossier_id, &ev);
        broken = chain_verify_event(&v, pg_int(res, i, 0), pg_text(res, i, 9), pg_text(res, i, 10), &ev, why,
                                    whylen);
    }
    PQclear(res);
    if (broken || chain_verify_end(&v, why, whylen))
        return store_tx_fail(tx, STORE_CONFLICT, "%s", why);
    return STORE_OK;
}

/* reseal - recompute the chain of one dossier with the current key */
static store_rc_t
reseal(store_tx_t *tx, int64_t dossier_id)
{
    char prev[SHA256_HEX_LEN], hash[SHA256_HEX_LEN];
    PGresult *res;
    store_rc_t r;
    int64_t count = 0;
    int i;

    if ((r = pg_query_id(tx, "sealing a timeline", SQL_ALL, dossier_id, &res)) != STORE_OK)
        return r;
    snprintf(prev, sizeof prev, "%s", CHAIN_ZERO_HASH);
    for (i = 0; r == STORE_OK && i < PQntuples(res); i++) {
        store_timeline_event_t ev;
        pg_params_t p;

        row_event(res, i, dossier_id, &ev);
        chain_event_hash(prev, ++count, &ev, hash);
        pg_params_init(&p);
        pg_param_int(&p, pg_int(res, i, 12));
        pg_param_text(&p, prev);
        pg_param_text(&p, hash);
        r = pg_exec(tx, "sealing a timeline", SQL_REHASH, &p, NULL);
        snprintf(prev, sizeof prev, "%s", hash);
    }
    PQclear(res);
    if (r != STORE_OK)
        return r;
    return set_head(tx, dossier_id, count, count ? prev : "");
}

static store_rc_t
pg_seal_all(store_tx_t *tx, int *sealed)
{
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int rows, i, n = 0;

    *sealed = 0;
    pg_params_init(&p);
    pg_param_int(&p, PG_LOCK_CLASS);
    if ((r = pg_exec(tx, "waiting for the timeline seal lock", SQL_SEAL_LOCK, &p, NULL)) != STORE_OK)
        return r;
    if ((r = pg_query(tx, "sealing the timelines with the server key", SQL_SEALED_FLAG, NULL, &res)) != STORE_OK)
        return r;
    rows = PQntuples(res);
    PQclear(res);
    if (rows > 0)
        return STORE_OK; /* done once, at the upgrade; never again, or a restart would bless an edit */
    if ((r = pg_query(tx, "sealing the timelines with the server key", SQL_DOSSIER_IDS, NULL, &res)) != STORE_OK)
        return r;
    for (i = 0; r == STORE_OK && i < PQntuples(res); i++, n++)
        r = reseal(tx, pg_int(res, i, 0));
    PQclear(res);
    if (r == STORE_OK)
        r = pg_exec(tx, "sealing the timelines with the server key", SQL_SET_SEALED_FLAG, NULL, NULL);
    if (r == STORE_OK)
        *sealed = n;
    return r;
}

const struct store_timeline_ops pg_timeline_ops = {
    .set_chain_key = pg_set_chain_key,
    .append = pg_append,
    .list = pg_list,
    .head = pg_head,
    .verify = pg_verify,
    .seal_all = pg_seal_all,
};
