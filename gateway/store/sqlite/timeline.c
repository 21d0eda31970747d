/*
 * timeline - keyed hash-chained case timeline with a sealed head (see timeline.h)
 */
#include "gateway/store/sqlite/timeline.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gateway/store/timeline_chain.h"

static const char SQL_LAST[] = "SELECT seq, hash FROM timeline WHERE dossier_id = ?1 ORDER BY seq DESC LIMIT 1";
static const char SQL_DEDUP[] = "SELECT 1 FROM timeline WHERE dedup_key = ?1";
static const char SQL_INSERT[] =
    "INSERT INTO timeline (dossier_id, shipment_id, seq, event_time, received_at, source, status, upu, raw_code,"
    " text, details, dedup_key, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
static const char SQL_ALL[] =
    "SELECT seq, event_time, received_at, source, status, upu, raw_code, text, details, prev_hash, hash,"
    " COALESCE(shipment_id, 0), id FROM timeline WHERE dossier_id = ?1 ORDER BY seq";
static const char SQL_SET_HEAD[] =
    "UPDATE dossiers SET timeline_count = ?2, timeline_head = ?3, timeline_seal = ?4 WHERE id = ?1";
static const char SQL_HEAD[] = "SELECT timeline_count, timeline_head, timeline_seal FROM dossiers WHERE id = ?1";
static const char SQL_REHASH[] = "UPDATE timeline SET prev_hash = ?2, hash = ?3 WHERE id = ?1";
static const char SQL_SEALED_FLAG[] = "SELECT value FROM metrics WHERE name = 'timeline_keyed'";
static const char SQL_SET_SEALED_FLAG[] = "INSERT OR REPLACE INTO metrics (name, value) VALUES ('timeline_keyed', 1)";
static const char SQL_DOSSIER_IDS[] = "SELECT id FROM dossiers WHERE id > ?1 ORDER BY id LIMIT 1";

/* row_event - the event of the current SQL_ALL row (strings borrowed from the statement) */
static void
row_event(sqlite3_stmt *st, int64_t dossier_id, timeline_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->dossier_id = dossier_id;
    ev->shipment_id = sqlite3_column_int64(st, 11);
    ev->event_time = sqlite3_column_int64(st, 1);
    ev->received_at = sqlite3_column_int64(st, 2);
    ev->source = db_col_text(st, 3);
    ev->status = db_col_text(st, 4);
    ev->upu = db_col_text(st, 5);
    ev->raw_code = db_col_text(st, 6);
    ev->text = db_col_text(st, 7);
    ev->details = db_col_text(st, 8);
}

static int
set_head(db_t *db, int64_t dossier_id, int64_t count, const char *hash)
{
    sqlite3_stmt *st = db_stmt(db, SQL_SET_HEAD);
    char seal[SHA256_HEX_LEN];
    int rc;

    if (!st)
        return SQLITE_ERROR;
    chain_head_seal(dossier_id, count, hash, seal);
    sqlite3_bind_int64(st, 1, dossier_id);
    sqlite3_bind_int64(st, 2, count);
    db_bind_text(st, 3, hash);
    db_bind_text(st, 4, seal);
    rc = db_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* append - timeline_append; first: the dossier has no event yet (timeline_append_first) */
static int
append(db_t *db, const timeline_event_t *ev, int first, int *sqlite_rc)
{
    sqlite3_stmt *st;
    char prev[SHA256_HEX_LEN], hash[SHA256_HEX_LEN];
    timeline_event_t e = *ev;
    int64_t seq = 1;
    int rc;

    *sqlite_rc = SQLITE_OK;
    if (ev->dedup_key) {
        st = db_stmt(db, SQL_DEDUP);
        if (!st)
            goto fail_sql;
        db_bind_text(st, 1, ev->dedup_key);
        rc = db_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_ROW)
            return TIMELINE_DUPLICATE;
        if (rc != SQLITE_DONE) {
            *sqlite_rc = rc;
            return TIMELINE_ERROR;
        }
    }
    if (first) {
        snprintf(prev, sizeof prev, "%s", CHAIN_ZERO_HASH);
    } else {
        st = db_stmt(db, SQL_LAST);
        if (!st)
            goto fail_sql;
        sqlite3_bind_int64(st, 1, ev->dossier_id);
        rc = db_step(st);
        if (rc == SQLITE_ROW) {
            seq = sqlite3_column_int64(st, 0) + 1;
            snprintf(prev, sizeof prev, "%s", db_col_text(st, 1));
        } else if (rc == SQLITE_DONE) {
            snprintf(prev, sizeof prev, "%s", CHAIN_ZERO_HASH);
        }
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            *sqlite_rc = rc;
            return TIMELINE_ERROR;
        }
    }
    e.details = chain_details(ev);
    chain_event_hash(prev, seq, &e, hash);

    st = db_stmt(db, SQL_INSERT);
    if (!st)
        goto fail_sql;
    sqlite3_bind_int64(st, 1, ev->dossier_id);
    if (ev->shipment_id)
        sqlite3_bind_int64(st, 2, ev->shipment_id);
    sqlite3_bind_int64(st, 3, seq);
    sqlite3_bind_int64(st, 4, ev->event_time);
    sqlite3_bind_int64(st, 5, ev->received_at);
    db_bind_text(st, 6, ev->source);
    db_bind_text(st, 7, ev->status);
    db_bind_text(st, 8, ev->upu);
    db_bind_text(st, 9, ev->raw_code);
    db_bind_text(st, 10, ev->text);
    db_bind_text(st, 11, e.details);
    db_bind_text(st, 12, ev->dedup_key);
    db_bind_text(st, 13, prev);
    db_bind_text(st, 14, hash);
    rc = db_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE && ev->dedup_key)
        return TIMELINE_DUPLICATE;
    if (rc != SQLITE_DONE) {
        *sqlite_rc = rc;
        return TIMELINE_ERROR;
    }
    rc = set_head(db, ev->dossier_id, seq, hash);
    if (rc != SQLITE_OK) {
        *sqlite_rc = rc;
        return TIMELINE_ERROR;
    }
    return TIMELINE_APPENDED;
fail_sql:
    *sqlite_rc = SQLITE_ERROR;
    return TIMELINE_ERROR;
}

int
timeline_append(db_t *db, const timeline_event_t *ev, int *sqlite_rc)
{
    return append(db, ev, 0, sqlite_rc);
}

int
timeline_append_first(db_t *db, const timeline_event_t *ev, int *sqlite_rc)
{
    return append(db, ev, 1, sqlite_rc);
}

int
timeline_head(db_t *db, int64_t dossier_id, int64_t *count, char hash[SHA256_HEX_LEN], int *sqlite_rc)
{
    sqlite3_stmt *st = db_stmt(db, SQL_HEAD);
    int rc, found = 0;

    *count = 0;
    hash[0] = '\0';
    *sqlite_rc = SQLITE_OK;
    if (!st) {
        *sqlite_rc = SQLITE_ERROR;
        return -1;
    }
    sqlite3_bind_int64(st, 1, dossier_id);
    rc = db_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL) {
        found = 1;
        *count = sqlite3_column_int64(st, 0);
        snprintf(hash, SHA256_HEX_LEN, "%s", db_col_text(st, 1));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        *sqlite_rc = rc;
        return -1;
    }
    return found ? 0 : 1;
}

int
timeline_verify_rc(db_t *db, int64_t dossier_id, char *err, size_t errlen, int *sqlite_rc)
{
    sqlite3_stmt *st;
    chain_verify_t v;
    int64_t count = 0;
    char head[SHA256_HEX_LEN] = "", stored_seal[SHA256_HEX_LEN] = "";
    int rc, head_null, broken;
    int dummy;

    if (!sqlite_rc)
        sqlite_rc = &dummy;
    *sqlite_rc = SQLITE_OK;
    st = db_stmt(db, SQL_HEAD);
    if (!st)
        goto unreadable;
    sqlite3_bind_int64(st, 1, dossier_id);
    rc = db_step(st);
    head_null = rc != SQLITE_ROW || sqlite3_column_type(st, 1) == SQLITE_NULL;
    if (rc == SQLITE_ROW) {
        count = sqlite3_column_int64(st, 0);
        snprintf(head, sizeof head, "%s", db_col_text(st, 1));
        snprintf(stored_seal, sizeof stored_seal, "%s", db_col_text(st, 2));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        *sqlite_rc = rc;
        goto unreadable;
    }
    if (chain_verify_head(&v, dossier_id, rc == SQLITE_ROW, count, head_null ? NULL : head, stored_seal, err,
                          errlen) != 0)
        return 1;

    st = db_stmt(db, SQL_ALL);
    if (!st)
        goto unreadable;
    sqlite3_bind_int64(st, 1, dossier_id);
    broken = 0;
    while (!broken && (rc = db_step(st)) == SQLITE_ROW) {
        timeline_event_t ev;

        row_event(st, dossier_id, &ev);
        broken = chain_verify_event(&v, sqlite3_column_int64(st, 0), db_col_text(st, 9), db_col_text(st, 10), &ev,
                                    err, errlen);
    }
    sqlite3_reset(st);
    if (broken)
        return 1;
    if (rc != SQLITE_DONE) {
        *sqlite_rc = rc;
        goto unreadable;
    }
    return chain_verify_end(&v, err, errlen);
unreadable:
    if (*sqlite_rc == SQLITE_OK)
        *sqlite_rc = SQLITE_ERROR;
    snprintf(err, errlen, "cannot read the timeline: %s", sqlite3_errstr(*sqlite_rc));
    return -1;
}

int
timeline_verify(db_t *db, int64_t dossier_id, char *err, size_t errlen)
{
    return timeline_verify_rc(db, dossier_id, err, errlen, NULL) == 0 ? 0 : -1;
}

/* reseal - recompute the chain of one dossier with the current key */
static int
reseal(db_t *db, int64_t dossier_id)
{
    sqlite3_stmt *st = db_stmt(db, SQL_ALL);
    char prev[SHA256_HEX_LEN], hash[SHA256_HEX_LEN];
    int64_t count = 0;
    int rc;

    if (!st)
        return SQLITE_ERROR;
    snprintf(prev, sizeof prev, "%s", CHAIN_ZERO_HASH);
    sqlite3_bind_int64(st, 1, dossier_id);
    /* rows are rewritten while the read walks them: the UPDATE changes no column the
     * SELECT orders or filters by, which SQLite allows on one connection */
    while ((rc = db_step(st)) == SQLITE_ROW) {
        sqlite3_stmt *up = db_stmt(db, SQL_REHASH);
        int urc;

        count++;
        timeline_event_t ev;

        row_event(st, dossier_id, &ev);
        chain_event_hash(prev, count, &ev, hash);
        if (!up) {
            sqlite3_reset(st);
            return SQLITE_ERROR;
        }
        sqlite3_bind_int64(up, 1, sqlite3_column_int64(st, 12));
        db_bind_text(up, 2, prev);
        db_bind_text(up, 3, hash);
        urc = db_step(up);
        sqlite3_reset(up);
        if (urc != SQLITE_DONE) {
            sqlite3_reset(st);
            return urc;
        }
        snprintf(prev, sizeof prev, "%s", hash);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return rc;
    return set_head(db, dossier_id, count, count ? prev : "");
}

int
timeline_seal_all(db_t *db, int *sqlite_rc)
{
    sqlite3_stmt *st = db_stmt(db, SQL_SEALED_FLAG);
    int64_t last = 0;
    int rc, n = 0;

    *sqlite_rc = SQLITE_OK;
    if (!st)
        goto fail;
    rc = db_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0; /* done once, at the upgrade; never again, or a restart would bless an edit */
    if (rc != SQLITE_DONE) {
        *sqlite_rc = rc;
        return -1;
    }
    for (;;) {
        st = db_stmt(db, SQL_DOSSIER_IDS);
        if (!st)
            goto fail;
        sqlite3_bind_int64(st, 1, last);
        rc = db_step(st);
        if (rc == SQLITE_ROW)
            last = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            *sqlite_rc = rc;
            return -1;
        }
        rc = reseal(db, last);
        if (rc != SQLITE_OK) {
            *sqlite_rc = rc;
            return -1;
        }
        n++;
    }
    st = db_stmt(db, SQL_SET_SEALED_FLAG);
    if (!st)
        goto fail;
    rc = db_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        *sqlite_rc = rc;
        return -1;
    }
    return n;
fail:
    *sqlite_rc = SQLITE_ERROR;
    return -1;
}
