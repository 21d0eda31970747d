/*
 * timeline - hash-chained case timeline (see timeline.h)
 */
#include "gateway/store/sqlite/timeline.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

static const char ZERO_HASH[] = "0000000000000000000000000000000000000000000000000000000000000000";

static const char SQL_LAST[] = "SELECT seq, hash FROM timeline WHERE dossier_id = ?1 ORDER BY seq DESC LIMIT 1";
static const char SQL_DEDUP[] = "SELECT 1 FROM timeline WHERE dedup_key = ?1";
static const char SQL_INSERT[] =
    "INSERT INTO timeline (dossier_id, shipment_id, seq, event_time, received_at, source, status, upu, raw_code,"
    " text, details, dedup_key, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
static const char SQL_ALL[] =
    "SELECT seq, event_time, received_at, source, status, upu, raw_code, text, details, prev_hash, hash,"
    " COALESCE(shipment_id, 0) FROM timeline WHERE dossier_id = ?1 ORDER BY seq";

static void
field(buf_t *b, const char *s)
{
    if (!s)
        s = "";
    buf_appendf(b, "%zu:%s|", strlen(s), s);
}

/* event_hash - length-prefixed fields so no two different events hash alike */
static void
event_hash(const char *prev, int64_t seq, int64_t shipment_id, int64_t event_time, int64_t received_at,
           const char *source, const char *status, const char *upu, const char *raw, const char *text,
           const char *details, char out[SHA256_HEX_LEN])
{
    buf_t b;

    buf_init(&b, 0);
    buf_appendf(&b, "%s|%" PRId64 "|%" PRId64 "|%" PRId64 "|%" PRId64 "|", prev, seq, shipment_id, event_time,
                received_at);
    field(&b, source);
    field(&b, status);
    field(&b, upu);
    field(&b, raw);
    field(&b, text);
    field(&b, details);
    sha256_hex(b.data, b.len, out);
    buf_free(&b);
}

int
timeline_append(db_t *db, const timeline_event_t *ev, int *sqlite_rc)
{
    sqlite3_stmt *st;
    char prev[SHA256_HEX_LEN], hash[SHA256_HEX_LEN];
    const char *details = ev->details ? ev->details : "{}";
    int64_t seq = 1;
    int rc;

    *sqlite_rc = SQLITE_OK;
    if (ev->dedup_key) {
        st = db_stmt(db, SQL_DEDUP);
        if (!st)
            goto fail_sql;
        db_bind_text(st, 1, ev->dedup_key);
        rc = db_step(st);
        if (rc == SQLITE_ROW)
            return TIMELINE_DUPLICATE;
        if (rc != SQLITE_DONE) {
            *sqlite_rc = rc;
            return TIMELINE_ERROR;
        }
    }
    st = db_stmt(db, SQL_LAST);
    if (!st)
        goto fail_sql;
    sqlite3_bind_int64(st, 1, ev->dossier_id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        seq = sqlite3_column_int64(st, 0) + 1;
        snprintf(prev, sizeof prev, "%s", db_col_text(st, 1));
    } else if (rc == SQLITE_DONE) {
        snprintf(prev, sizeof prev, "%s", ZERO_HASH);
    } else {
        *sqlite_rc = rc;
        return TIMELINE_ERROR;
    }
    event_hash(prev, seq, ev->shipment_id, ev->event_time, ev->received_at, ev->source, ev->status, ev->upu,
               ev->raw_code, ev->text, details, hash);

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
    db_bind_text(st, 11, details);
    db_bind_text(st, 12, ev->dedup_key);
    db_bind_text(st, 13, prev);
    db_bind_text(st, 14, hash);
    rc = db_step(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE && ev->dedup_key)
        return TIMELINE_DUPLICATE;
    if (rc != SQLITE_DONE) {
        *sqlite_rc = rc;
        return TIMELINE_ERROR;
    }
    return TIMELINE_APPENDED;
fail_sql:
    *sqlite_rc = SQLITE_ERROR;
    return TIMELINE_ERROR;
}

int
timeline_verify(db_t *db, int64_t dossier_id, char *err, size_t errlen)
{
    sqlite3_stmt *st = db_stmt(db, SQL_ALL);
    char prev[SHA256_HEX_LEN], hash[SHA256_HEX_LEN];
    int64_t expect_seq = 1;
    int rc;

    if (!st) {
        snprintf(err, errlen, "cannot read the timeline");
        return -1;
    }
    snprintf(prev, sizeof prev, "%s", ZERO_HASH);
    sqlite3_bind_int64(st, 1, dossier_id);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);

        if (seq != expect_seq) {
            snprintf(err, errlen, "event %" PRId64 " is missing (found %" PRId64 ")", expect_seq, seq);
            return -1;
        }
        if (strcmp(prev, db_col_text(st, 9)) != 0) {
            snprintf(err, errlen, "event %" PRId64 " does not point at the hash of event %" PRId64, seq, seq - 1);
            return -1;
        }
        event_hash(prev, seq, sqlite3_column_int64(st, 11), sqlite3_column_int64(st, 1),
                   sqlite3_column_int64(st, 2), db_col_text(st, 3), db_col_text(st, 4), db_col_text(st, 5),
                   db_col_text(st, 6), db_col_text(st, 7), db_col_text(st, 8), hash);
        if (strcmp(hash, db_col_text(st, 10)) != 0) {
            snprintf(err, errlen, "event %" PRId64 " was altered after it was recorded", seq);
            return -1;
        }
        snprintf(prev, sizeof prev, "%s", hash);
        expect_seq++;
    }
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "cannot read the timeline: %s", sqlite3_errstr(rc));
        return -1;
    }
    return 0;
}
