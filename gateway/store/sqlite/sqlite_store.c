/*
 * sqlite_store - the SQLite backend of the store: schema, migrations,
 * connections and transactions (see store.h, store_backend.h)
 *
 * One file in WAL mode. One writer connection, used by one thread at a time
 * (bccid's engine): BEGIN IMMEDIATE, a SAVEPOINT per operation, COMMIT with
 * synchronous=FULL so STORE_OK means the WAL is fsynced. Readers come from a
 * pool of read-only connections, which WAL lets run beside the writer.
 *
 * Migrations are an ordered list of SQL scripts; schema_version records how
 * many ran. Each runs in its own transaction, so a crash mid-upgrade leaves
 * the previous version intact.
 */
#include "gateway/store/sqlite/sqlite_internal.h"
#include "gateway/store/store_legacy.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/status.h"
#include "clock.h"
#include "gateway/store/sqlite/timeline.h"
#include "domain/s10.h"
#include "log.h"
#include "gateway/store/sqlite/jobs.h"

#define STORE_READERS 16

static const char *const migrations[] = {
    /* 1: the walking system */
    "CREATE TABLE dossiers ("
    "  id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, agency_code TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE submissions ("
    "  id INTEGER PRIMARY KEY, dossier_id INTEGER NOT NULL REFERENCES dossiers(id), service TEXT NOT NULL,"
    "  body TEXT NOT NULL, body_hash TEXT NOT NULL, created_at INTEGER NOT NULL, UNIQUE (dossier_id, service));"
    "CREATE TABLE shipments ("
    "  id INTEGER PRIMARY KEY, dossier_id INTEGER NOT NULL REFERENCES dossiers(id),"
    "  submission_id INTEGER NOT NULL REFERENCES submissions(id), leg TEXT NOT NULL, carrier TEXT NOT NULL,"
    "  waybill TEXT NOT NULL UNIQUE, carrier_ref TEXT, status TEXT NOT NULL, status_time INTEGER NOT NULL,"
    "  cod_amount INTEGER NOT NULL DEFAULT 0, fee INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX shipments_ref ON shipments (carrier, carrier_ref);"
    "CREATE INDEX shipments_dossier ON shipments (dossier_id);"
    "CREATE TABLE code_ranges ("
    "  id INTEGER PRIMARY KEY, prefix TEXT NOT NULL, country TEXT NOT NULL, first INTEGER NOT NULL,"
    "  last INTEGER NOT NULL, next INTEGER NOT NULL, imported_at INTEGER NOT NULL);"
    "CREATE TABLE timeline ("
    "  id INTEGER PRIMARY KEY, dossier_id INTEGER NOT NULL REFERENCES dossiers(id), shipment_id INTEGER,"
    "  seq INTEGER NOT NULL, event_time INTEGER NOT NULL, received_at INTEGER NOT NULL, source TEXT NOT NULL,"
    "  status TEXT, upu TEXT, raw_code TEXT, text TEXT NOT NULL, details TEXT NOT NULL, dedup_key TEXT,"
    "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL, UNIQUE (dossier_id, seq));"
    "CREATE UNIQUE INDEX timeline_dedup ON timeline (dedup_key) WHERE dedup_key IS NOT NULL;"
    "CREATE TABLE jobs ("
    "  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, shipment_id INTEGER, purpose TEXT NOT NULL DEFAULT '',"
    "  carrier TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL, lease INTEGER, leased_to TEXT, lease_expires_at INTEGER,"
    "  payload TEXT NOT NULL, last_error TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    "  UNIQUE (shipment_id, kind, purpose));"
    "CREATE INDEX jobs_due ON jobs (state, carrier, next_attempt_at);"
    "CREATE TABLE metrics (name TEXT PRIMARY KEY, value INTEGER NOT NULL);",
    /* 2: the dispatcher asks "when is the next ready job due?" across carriers */
    "CREATE INDEX jobs_ready_time ON jobs (state, next_attempt_at);",
    /* 3: API clients (design §8) */
    "CREATE TABLE tokens ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL, revoked_at INTEGER);",
    /* 4: labels and handover manifests (biên bản giao nhận) */
    "ALTER TABLE shipments ADD COLUMN label_prints INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE manifests ("
    "  id INTEGER PRIMARY KEY, public_id TEXT NOT NULL UNIQUE, agency_code TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'open', code TEXT NOT NULL, created_by TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL, accepted_at INTEGER);"
    "CREATE TABLE manifest_items ("
    "  manifest_id INTEGER NOT NULL REFERENCES manifests(id), shipment_id INTEGER NOT NULL REFERENCES shipments(id),"
    "  position INTEGER NOT NULL, PRIMARY KEY (manifest_id, shipment_id));"
    "CREATE INDEX manifest_items_shipment ON manifest_items (shipment_id);",
    /* 5: the return leg of a 'both' dossier points at its collection leg; purge marks */
    "ALTER TABLE shipments ADD COLUMN linked_shipment_id INTEGER REFERENCES shipments(id);"
    "ALTER TABLE dossiers ADD COLUMN purged_at INTEGER;",
    /* 6: the scheduler: tracking polls, failed-delivery invitations, working-day SLA */
    "ALTER TABLE shipments ADD COLUMN transit_days INTEGER NOT NULL DEFAULT 4;"
    "ALTER TABLE shipments ADD COLUMN due_at INTEGER;"
    "ALTER TABLE shipments ADD COLUMN first_attempt_at INTEGER;"
    "ALTER TABLE shipments ADD COLUMN sla_breached INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE shipments ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE shipments ADD COLUMN last_attempt_at INTEGER;"
    "ALTER TABLE shipments ADD COLUMN next_poll_at INTEGER;"
    "CREATE INDEX shipments_status ON shipments (status, created_at);"
    "CREATE INDEX shipments_poll ON shipments (next_poll_at) WHERE next_poll_at IS NOT NULL;",
    /* 7: proof of delivery, kept outside the hash-chained timeline so a purge can remove the name */
    "ALTER TABLE shipments ADD COLUMN proof_name TEXT;"
    "ALTER TABLE shipments ADD COLUMN proof_relation TEXT;"
    "ALTER TABLE shipments ADD COLUMN proof_id_type TEXT;"
    "ALTER TABLE shipments ADD COLUMN proof_id_last4 TEXT;"
    "ALTER TABLE shipments ADD COLUMN delivered_at INTEGER;"
    "ALTER TABLE shipments ADD COLUMN cod_collected INTEGER;"
    "ALTER TABLE shipments ADD COLUMN cod_collected_at INTEGER;",
    /* 8: a token may be bound to one agency (a commune's one-stop desk); NULL = every agency */
    "ALTER TABLE tokens ADD COLUMN agency_code TEXT;",
};

struct sqlite_store {
    store_t base;
    char *path;
    db_t *writer;
    int writer_busy;             /* a write transaction is open */
    pthread_mutex_t readers_lock;
    db_t *readers[STORE_READERS];
    int nreaders;
    pthread_mutex_t health_lock;
    int failing;                 /* the last write transaction could not begin or commit */
    char failing_why[256];
};

struct sqlite_tx {
    store_tx_t base;
    db_t *db;
    int depth; /* open savepoints */
};

typedef struct sqlite_store sqlite_store_t;

static sqlite_store_t *
S(store_t *s)
{
    return (sqlite_store_t *)s;
}

db_t *
sqlite_tx_db(store_tx_t *tx)
{
    return ((struct sqlite_tx *)tx)->db;
}

store_rc_t
sqlite_fail(store_tx_t *tx, int rc, const char *what)
{
    db_t *db = sqlite_tx_db(tx);

    if (db_transient(rc))
        return store_tx_fail(tx, STORE_BUSY, "the database cannot do this right now (%s: %s); retry later", what,
                             sqlite3_errstr(rc));
    return store_tx_fail(tx, STORE_ERROR, "database error while %s: %s (%s)", what, sqlite3_errstr(rc),
                         db ? db_errmsg(db) : "");
}

static int
store_migrate(sqlite_store_t *self, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int version = 0, target = (int)(sizeof migrations / sizeof migrations[0]), v;

    if (db_exec(self->writer, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)") != SQLITE_OK)
        goto sql_fail;
    if (sqlite3_prepare_v2(db_handle(self->writer), "SELECT MAX(version) FROM schema_version", -1, &st, NULL) !=
        SQLITE_OK)
        goto sql_fail;
    if (db_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > target) {
        snprintf(err, errlen,
                 "database schema version %d is newer than this bccid (%d); run the newer bccid or restore a backup",
                 version, target);
        return -1;
    }
    for (v = version; v < target; v++) {
        char bump[96];

        if (db_exec(self->writer, "BEGIN IMMEDIATE") != SQLITE_OK)
            goto sql_fail;
        snprintf(bump, sizeof bump, "INSERT INTO schema_version (version) VALUES (%d)", v + 1);
        if (db_exec(self->writer, migrations[v]) != SQLITE_OK || db_exec(self->writer, bump) != SQLITE_OK) {
            snprintf(err, errlen, "schema migration %d failed: %s", v + 1, db_errmsg(self->writer));
            db_exec(self->writer, "ROLLBACK");
            return -1;
        }
        if (db_exec(self->writer, "COMMIT") != SQLITE_OK)
            goto sql_fail;
        log_info("database schema migrated to version %d", v + 1);
    }
    return 0;
sql_fail:
    snprintf(err, errlen, "cannot prepare the database schema: %s", db_errmsg(self->writer));
    return -1;
}


static void
set_health(sqlite_store_t *self, int failing, const char *why)
{
    pthread_mutex_lock(&self->health_lock);
    self->failing = failing;
    snprintf(self->failing_why, sizeof self->failing_why, "%s", why ? why : "");
    pthread_mutex_unlock(&self->health_lock);
}

static store_rc_t
sq_health(store_t *base, const char **why)
{
    sqlite_store_t *self = S(base);
    store_rc_t rc;

    pthread_mutex_lock(&self->health_lock);
    rc = self->failing ? STORE_BUSY : STORE_OK;
    if (why)
        *why = self->failing ? self->failing_why : NULL;
    pthread_mutex_unlock(&self->health_lock);
    return rc;
}

static void sq_close(store_t *base);

static store_t *
sq_open(const char *path, char *err, size_t errlen)
{
    sqlite_store_t *self = calloc(1, sizeof *self);
    sqlite3_stmt *st = NULL;

    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!*path) {
        snprintf(err, errlen, "store sqlite: names no file; write it as sqlite:PATH");
        free(self);
        return NULL;
    }
    pthread_mutex_init(&self->readers_lock, NULL);
    pthread_mutex_init(&self->health_lock, NULL);
    self->path = strdup(path);
    self->writer = db_open(path, 0, err, errlen);
    if (!self->writer)
        goto fail;
    sqlite3_busy_timeout(db_handle(self->writer), 5000);
    if (sqlite3_prepare_v2(db_handle(self->writer), "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
        db_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
        snprintf(err, errlen, "cannot switch %s to WAL mode: %s (is the directory writable?)", path,
                 db_errmsg(self->writer));
        sqlite3_finalize(st);
        goto fail;
    }
    sqlite3_finalize(st);
    /* FULL: the WAL is fsynced at every COMMIT, so 201 means on disk. */
    if (db_exec(self->writer, "PRAGMA synchronous=FULL") != SQLITE_OK ||
        db_exec(self->writer, "PRAGMA foreign_keys=ON") != SQLITE_OK ||
        db_exec(self->writer, "PRAGMA wal_autocheckpoint=4000") != SQLITE_OK ||
        /* Each operation of a group commit runs under its own SAVEPOINT, so SQLite keeps a
         * statement journal of the pages it touches; in a temp file that cost two write
         * syscalls per page. Its size is bounded by one batch, so memory is the right place. */
        db_exec(self->writer, "PRAGMA temp_store=MEMORY") != SQLITE_OK ||
        /* the writer walks the tails of a dozen B-trees every batch: keep them cached */
        db_exec(self->writer, "PRAGMA cache_size=-32768") != SQLITE_OK) {
        snprintf(err, errlen, "cannot configure %s: %s", path, db_errmsg(self->writer));
        goto fail;
    }
    if (store_migrate(self, err, errlen) != 0)
        goto fail;
    return &self->base;
fail:
    sq_close(&self->base);
    return NULL;
}

static void
sq_close(store_t *base)
{
    sqlite_store_t *self = S(base);
    int i;

    for (i = 0; i < self->nreaders; i++)
        db_close(&self->readers[i]);
    db_close(&self->writer);
    pthread_mutex_destroy(&self->readers_lock);
    pthread_mutex_destroy(&self->health_lock);
    free(self->path);
    free(self);
}

db_t *
store_writer(store_t *self)
{
    return S(self)->writer;
}

const char *
store_path(const store_t *self)
{
    return ((const sqlite_store_t *)self)->path;
}

db_t *
store_reader_get(store_t *base)
{
    sqlite_store_t *self = S(base);
    db_t *r = NULL;
    char err[256];

    pthread_mutex_lock(&self->readers_lock);
    if (self->nreaders > 0)
        r = self->readers[--self->nreaders];
    pthread_mutex_unlock(&self->readers_lock);
    if (r)
        return r;
    r = db_open(self->path, 1, err, sizeof err);
    if (!r) {
        log_error("%s", err);
        return NULL;
    }
    sqlite3_busy_timeout(db_handle(r), 2000);
    return r;
}

void
store_reader_put(store_t *base, db_t *reader)
{
    sqlite_store_t *self = S(base);

    if (!reader)
        return;
    db_reset_all(reader); /* a statement left on a row would pin an old snapshot for the next reader */
    pthread_mutex_lock(&self->readers_lock);
    if (self->nreaders < STORE_READERS) {
        self->readers[self->nreaders++] = reader;
        reader = NULL;
    }
    pthread_mutex_unlock(&self->readers_lock);
    db_close(&reader);
}

static store_rc_t
sq_tx_begin(store_t *base, store_mode_t mode, store_tx_t **out)
{
    sqlite_store_t *self = S(base);
    struct sqlite_tx *tx = calloc(1, sizeof *tx);
    int rc;

    if (!tx)
        return STORE_BUSY;
    tx->base.store = base;
    tx->base.mode = mode;
    if (mode == STORE_WRITE) {
        tx->db = self->writer;
        db_reset_all(tx->db); /* no read snapshot left over from the last transaction */
        rc = db_exec(tx->db, "BEGIN IMMEDIATE");
        if (rc != SQLITE_OK) {
            store_rc_t r = sqlite_fail(&tx->base, rc, "starting a write transaction");

            set_health(self, 1, tx->base.message);
            free(tx);
            return r;
        }
    } else {
        tx->db = store_reader_get(base);
        if (!tx->db) {
            free(tx);
            return STORE_BUSY;
        }
        rc = db_exec(tx->db, "BEGIN");
        if (rc != SQLITE_OK) {
            store_reader_put(base, tx->db);
            free(tx);
            return db_transient(rc) ? STORE_BUSY : STORE_ERROR;
        }
    }
    *out = &tx->base;
    return STORE_OK;
}

static store_rc_t
sq_tx_savepoint(store_tx_t *base)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)base;
    int rc = db_exec(tx->db, "SAVEPOINT op");

    if (rc != SQLITE_OK)
        return sqlite_fail(base, rc, "starting an operation");
    tx->depth++;
    return STORE_OK;
}

static store_rc_t
sq_tx_release(store_tx_t *base, int keep)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)base;
    int rc = SQLITE_OK;

    if (tx->depth == 0)
        return store_tx_fail(base, STORE_ERROR, "release without a savepoint");
    if (!keep)
        rc = db_exec(tx->db, "ROLLBACK TO op");
    if (rc == SQLITE_OK)
        rc = db_exec(tx->db, "RELEASE op");
    tx->depth--;
    return rc == SQLITE_OK ? STORE_OK : sqlite_fail(base, rc, "ending an operation");
}

static void
sq_tx_end(struct sqlite_tx *tx)
{
    db_reset_all(tx->db); /* a statement left on a row would keep this transaction's snapshot */
    if (!sqlite3_get_autocommit(db_handle(tx->db)))
        db_exec(tx->db, "ROLLBACK");
    if (tx->base.mode == STORE_READ)
        store_reader_put(tx->base.store, tx->db);
    free(tx);
}

static store_rc_t
sq_tx_commit(store_tx_t *base)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)base;
    int rc = db_exec(tx->db, "COMMIT");
    store_rc_t r = STORE_OK;

    if (rc != SQLITE_OK) {
        r = sqlite_fail(base, rc, "committing");
        log_error("%s", base->message);
    }
    if (tx->base.mode == STORE_WRITE)
        set_health(S(tx->base.store), r != STORE_OK, r != STORE_OK ? base->message : NULL);
    sq_tx_end(tx);
    return r;
}

static void
sq_tx_abort(store_tx_t *base)
{
    sq_tx_end((struct sqlite_tx *)base);
}

const store_backend_t store_backend_sqlite = {
    .scheme = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .health = sq_health,
    .tx_begin = sq_tx_begin,
    .tx_savepoint = sq_tx_savepoint,
    .tx_release = sq_tx_release,
    .tx_commit = sq_tx_commit,
    .tx_abort = sq_tx_abort,
    .jobs = &sqlite_jobs_ops,
};

/* ---------------------------------------------------------------- intake */

static const char SQL_FIND_SUBMISSION[] =
    "SELECT s.body_hash FROM submissions s JOIN dossiers d ON d.id = s.dossier_id"
    " WHERE d.code = ?1 AND s.service = ?2";
static const char SQL_FIND_DOSSIER[] = "SELECT id FROM dossiers WHERE code = ?1";
static const char SQL_NEXT_CODE[] =
    "SELECT id, prefix, next, country FROM code_ranges WHERE next <= last ORDER BY id LIMIT 1";
static const char SQL_TAKE_CODE[] = "UPDATE code_ranges SET next = next + 1 WHERE id = ?1";
static const char SQL_INSERT_DOSSIER[] = "INSERT INTO dossiers (code, agency_code, created_at) VALUES (?1, ?2, ?3)";
static const char SQL_INSERT_SUBMISSION[] =
    "INSERT INTO submissions (dossier_id, service, body, body_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_INSERT_SHIPMENT[] =
    "INSERT INTO shipments (dossier_id, submission_id, leg, carrier, waybill, status, status_time, cod_amount,"
    " created_at, updated_at, linked_shipment_id, transit_days) VALUES (?1, ?2, ?3, ?4, ?5, 'created', 0, ?7, ?6,"
    " ?6, (SELECT id FROM shipments WHERE dossier_id = ?1 AND leg = 'send' AND ?3 = 'return' ORDER BY id LIMIT 1),"
    " ?8)";

static int
sql_error(api_error_t *err, int rc, const char *what)
{
    if (db_transient(rc)) {
        api_error_set(err, 503, "storage_unavailable", NULL,
                      "the database cannot take writes right now (%s: %s); retry later", what, sqlite3_errstr(rc));
        err->retry_after = 2;
    } else {
        api_error_set(err, 500, "internal", NULL, "database error while %s: %s", what, sqlite3_errstr(rc));
    }
    return -1;
}

int
store_intake(store_t *self, const dossier_t *d, int64_t now, json_t **out, api_error_t *err)
{
    db_t *db = store_writer(self);
    sqlite3_stmt *st;
    char waybill[S10_LEN + 1], prefix[3], country[3], text[256];
    int64_t range_id, serial, dossier_id, submission_id, shipment_id;
    int rc, tl;
    timeline_event_t ev;

    *out = NULL;
    st = db_stmt(db, SQL_FIND_SUBMISSION);
    if (!st)
        return sql_error(err, SQLITE_ERROR, "looking up the dossier");
    db_bind_text(st, 1, d->code);
    db_bind_text(st, 2, d->service);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        int same = strcmp(db_col_text(st, 0), d->body_hash) == 0;

        sqlite3_reset(st);
        if (!same) {
            api_error_set(err, 409, "conflict", "dossier_code",
                          "dossier %s was already submitted for service '%s' with different content; "
                          "a correction needs a new dossier code or a cancel first",
                          d->code, d->service);
            return -1;
        }
        if (store_dossier_json(db, d->code, out, err) != 0)
            return -1;
        return 200;
    }
    if (rc != SQLITE_DONE)
        return sql_error(err, rc, "looking up the dossier");

    /* a waybill from the pool, inside this transaction: never reused */
    st = db_stmt(db, SQL_NEXT_CODE);
    if (!st)
        return sql_error(err, SQLITE_ERROR, "allocating a waybill");
    rc = db_step(st);
    if (rc == SQLITE_DONE) {
        api_error_set(err, 503, "code_pool_empty", NULL,
                      "no S10 waybill numbers left; an administrator must import a range issued by the carrier: "
                      "POST /v1/codes {\"prefix\": \"RR\", \"from\": 10000000, \"count\": 100000} "
                      "(or: bcci codes import)");
        err->retry_after = 60;
        return -1;
    }
    if (rc != SQLITE_ROW)
        return sql_error(err, rc, "allocating a waybill");
    range_id = sqlite3_column_int64(st, 0);
    snprintf(prefix, sizeof prefix, "%s", db_col_text(st, 1));
    serial = sqlite3_column_int64(st, 2);
    snprintf(country, sizeof country, "%s", db_col_text(st, 3));
    sqlite3_reset(st);
    if (s10_format(prefix, (unsigned long)serial, country, waybill, sizeof waybill) != 0)
        return sql_error(err, SQLITE_CORRUPT, "formatting a waybill");
    st = db_stmt(db, SQL_TAKE_CODE);
    sqlite3_bind_int64(st, 1, range_id);
    if ((rc = db_step(st)) != SQLITE_DONE)
        return sql_error(err, rc, "allocating a waybill");

    st = db_stmt(db, SQL_FIND_DOSSIER);
    db_bind_text(st, 1, d->code);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        dossier_id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    } else {
        sqlite3_reset(st);
        st = db_stmt(db, SQL_INSERT_DOSSIER);
        db_bind_text(st, 1, d->code);
        db_bind_text(st, 2, d->agency_code);
        sqlite3_bind_int64(st, 3, now);
        if ((rc = db_step(st)) != SQLITE_DONE)
            return sql_error(err, rc, "writing the dossier");
        dossier_id = sqlite3_last_insert_rowid(db_handle(db));
    }

    st = db_stmt(db, SQL_INSERT_SUBMISSION);
    sqlite3_bind_int64(st, 1, dossier_id);
    db_bind_text(st, 2, d->service);
    db_bind_text(st, 3, d->canonical_text);
    db_bind_text(st, 4, d->body_hash);
    sqlite3_bind_int64(st, 5, now);
    if ((rc = db_step(st)) != SQLITE_DONE)
        return sql_error(err, rc, "writing the submission");
    submission_id = sqlite3_last_insert_rowid(db_handle(db));

    st = db_stmt(db, SQL_INSERT_SHIPMENT);
    sqlite3_bind_int64(st, 1, dossier_id);
    sqlite3_bind_int64(st, 2, submission_id);
    db_bind_text(st, 3, strcmp(d->service, "return") == 0 ? "return" : "send");
    db_bind_text(st, 4, d->carrier);
    db_bind_text(st, 5, waybill);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, d->cod_amount);
    sqlite3_bind_int(st, 8, d->transit_days);
    if ((rc = db_step(st)) != SQLITE_DONE)
        return sql_error(err, rc, "writing the shipment");
    shipment_id = sqlite3_last_insert_rowid(db_handle(db));

    memset(&ev, 0, sizeof ev);
    if (strcmp(d->service, "return") == 0)
        snprintf(text, sizeof text,
                 "Tiếp nhận yêu cầu trả kết quả qua dịch vụ bưu chính công ích; số hiệu bưu gửi %s", waybill);
    else
        snprintf(text, sizeof text,
                 "Tiếp nhận yêu cầu thu gom hồ sơ tại nhà qua dịch vụ bưu chính công ích; số hiệu bưu gửi %s",
                 waybill);
    ev.dossier_id = dossier_id;
    ev.shipment_id = shipment_id;
    ev.event_time = now;
    ev.received_at = now;
    ev.source = "gateway";
    ev.status = "created";
    ev.text = text;
    tl = timeline_append(db, &ev, &rc);
    if (tl != TIMELINE_APPENDED)
        return sql_error(err, rc, "writing the timeline");

    if (jobs_enqueue(db, "book", shipment_id, "", d->carrier, d->book_payload, now, now, &rc) < 0)
        return sql_error(err, rc, "queueing the booking job");
    *out = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:I}]}", "dossier_code", d->code, "service",
                     d->service, "status", "created", "shipments", "waybill", waybill, "carrier", d->carrier, "leg",
                     strcmp(d->service, "return") == 0 ? "return" : "send", "status", "created", "cod_amount",
                     (json_int_t)d->cod_amount);
    return 201;
}

/* ----------------------------------------------------------------- codes */

static const char SQL_OVERLAP[] =
    "SELECT first, last FROM code_ranges WHERE prefix = ?1 AND country = ?2 AND first <= ?4 AND last >= ?3 LIMIT 1";
static const char SQL_INSERT_RANGE[] =
    "INSERT INTO code_ranges (prefix, country, first, last, next, imported_at) VALUES (?1, ?2, ?3, ?4, ?3, ?5)";

int
store_import_codes(store_t *self, const char *prefix, const char *country, long long from, long long count,
                   int64_t now, json_t **out, api_error_t *err)
{
    db_t *db = store_writer(self);
    sqlite3_stmt *st = db_stmt(db, SQL_OVERLAP);
    long long last = from + count - 1;
    char first_code[S10_LEN + 1], last_code[S10_LEN + 1];
    int rc;

    *out = NULL;
    if (!st)
        return sql_error(err, SQLITE_ERROR, "checking code ranges");
    db_bind_text(st, 1, prefix);
    db_bind_text(st, 2, country);
    sqlite3_bind_int64(st, 3, from);
    sqlite3_bind_int64(st, 4, last);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        api_error_set(err, 409, "conflict", "from",
                      "range %s %lld..%lld overlaps the imported range %lld..%lld; S10 numbers are never reused, "
                      "import only ranges the carrier issued anew",
                      prefix, from, last, (long long)sqlite3_column_int64(st, 0),
                      (long long)sqlite3_column_int64(st, 1));
        sqlite3_reset(st);
        return -1;
    }
    if (rc != SQLITE_DONE)
        return sql_error(err, rc, "checking code ranges");
    st = db_stmt(db, SQL_INSERT_RANGE);
    db_bind_text(st, 1, prefix);
    db_bind_text(st, 2, country);
    sqlite3_bind_int64(st, 3, from);
    sqlite3_bind_int64(st, 4, last);
    sqlite3_bind_int64(st, 5, now);
    if ((rc = db_step(st)) != SQLITE_DONE)
        return sql_error(err, rc, "importing the range");
    s10_format(prefix, (unsigned long)from, country, first_code, sizeof first_code);
    s10_format(prefix, (unsigned long)last, country, last_code, sizeof last_code);
    *out = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "prefix", prefix, "country", country, "from", (json_int_t)from,
                     "count", (json_int_t)count, "first", first_code, "last", last_code);
    return 201;
}

static const char SQL_CODES_STATUS[] =
    "SELECT prefix, country, first, last, next, imported_at FROM code_ranges ORDER BY id";

int
store_codes_status(db_t *db, json_t **out)
{
    sqlite3_stmt *st = db_stmt(db, SQL_CODES_STATUS);
    json_t *ranges = json_array();
    long long left = 0;
    int rc;

    *out = NULL;
    if (!st) {
        json_decref(ranges);
        return -1;
    }
    while ((rc = db_step(st)) == SQLITE_ROW) {
        long long l = sqlite3_column_int64(st, 3) - sqlite3_column_int64(st, 4) + 1;

        if (l < 0)
            l = 0;
        left += l;
        json_array_append_new(ranges, json_pack("{s:s, s:s, s:I, s:I, s:I}", "prefix", db_col_text(st, 0), "country",
                                                db_col_text(st, 1), "first", (json_int_t)sqlite3_column_int64(st, 2),
                                                "last", (json_int_t)sqlite3_column_int64(st, 3), "left",
                                                (json_int_t)l));
    }
    sqlite3_reset(st);
    *out = json_pack("{s:I, s:o}", "left", (json_int_t)left, "ranges", ranges);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ----------------------------------------------------------------- reads */

static const char SQL_DOSSIER[] = "SELECT id, agency_code, created_at FROM dossiers WHERE code = ?1";
static const char SQL_SUBMISSIONS[] = "SELECT service, body FROM submissions WHERE dossier_id = ?1 ORDER BY id";
static const char SQL_SHIPMENTS[] =
    "SELECT s.waybill, s.carrier, COALESCE(s.carrier_ref, ''), s.leg, s.status, s.status_time, s.cod_amount,"
    " COALESCE(s.fee, -1), s.created_at, s.updated_at, COALESCE(l.waybill, '') FROM shipments s"
    " LEFT JOIN shipments l ON l.id = s.linked_shipment_id WHERE s.dossier_id = ?1 ORDER BY s.id";

static void
iso(int64_t ms, char *out, size_t len)
{
    clock_iso8601(ms, out, len);
}

/* lookup_row - run a one-key query; the statement on its row, or NULL with err set
 * (404 naming what was looked for, 503/500 for database trouble). Reset it after use. */
static sqlite3_stmt *
lookup_row(db_t *db, const char *sql, const char *key, const char *what, api_error_t *err)
{
    sqlite3_stmt *st = db_stmt(db, sql);
    int rc;

    if (!st) {
        sql_error(err, SQLITE_ERROR, "reading the database");
        return NULL;
    }
    db_bind_text(st, 1, key);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        return st;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        api_error_set(err, 404, "not_found", NULL, "no %s %s on this gateway", what, key);
    else
        sql_error(err, rc, "reading the database");
    return NULL;
}

int
store_dossier_json(db_t *db, const char *code, json_t **out, api_error_t *err)
{
    sqlite3_stmt *st;
    json_t *ships, *subs, *root;
    const char *current = "created";
    char t1[40], t2[40], t3[40];
    int64_t id;
    int rc;

    *out = NULL;
    st = lookup_row(db, SQL_DOSSIER, code, "dossier", err);
    if (!st)
        return -1;
    id = sqlite3_column_int64(st, 0);
    iso(sqlite3_column_int64(st, 2), t1, sizeof t1);
    root = json_pack("{s:s, s:s, s:s}", "dossier_code", code, "agency_code", db_col_text(st, 1), "created_at", t1);
    sqlite3_reset(st);

    subs = json_object();
    st = db_stmt(db, SQL_SUBMISSIONS);
    sqlite3_bind_int64(st, 1, id);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        json_t *body = json_loads(db_col_text(st, 1), 0, NULL);
        json_object_set_new(subs, db_col_text(st, 0), body ? body : json_null());
    }
    sqlite3_reset(st);
    json_object_set_new(root, "submissions", subs);

    ships = json_array();
    st = db_stmt(db, SQL_SHIPMENTS);
    sqlite3_bind_int64(st, 1, id);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        json_t *s;
        const status_info_t *info = status_lookup(db_col_text(st, 4));

        /* status_time is 0 until the carrier reports; show when the shipment was created */
        iso(sqlite3_column_int64(st, 5) ? sqlite3_column_int64(st, 5) : sqlite3_column_int64(st, 8), t1, sizeof t1);
        iso(sqlite3_column_int64(st, 8), t2, sizeof t2);
        iso(sqlite3_column_int64(st, 9), t3, sizeof t3);
        s = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "waybill", db_col_text(st, 0), "carrier",
                      db_col_text(st, 1), "leg", db_col_text(st, 3), "status", db_col_text(st, 4), "status_text",
                      info ? info->text_vi : "", "upu", info ? info->upu : "", "status_time", t1, "cod_amount",
                      (json_int_t)sqlite3_column_int64(st, 6), "created_at", t2, "updated_at", t3);
        if (*db_col_text(st, 2))
            json_object_set_new(s, "carrier_ref", json_string(db_col_text(st, 2)));
        if (sqlite3_column_int64(st, 7) >= 0)
            json_object_set_new(s, "fee", json_integer(sqlite3_column_int64(st, 7)));
        if (*db_col_text(st, 10))
            json_object_set_new(s, "linked_waybill", json_string(db_col_text(st, 10)));
        json_array_append_new(ships, s);
    }
    sqlite3_reset(st);
    if (json_array_size(ships) > 0)
        current = json_string_value(json_object_get(json_array_get(ships, json_array_size(ships) - 1), "status"));
    json_object_set_new(root, "status", json_string(current));
    json_object_set_new(root, "shipments", ships);
    *out = root;
    return 0;
}

static const char SQL_SHIPMENT_DOSSIER[] =
    "SELECT d.code FROM shipments s JOIN dossiers d ON d.id = s.dossier_id WHERE s.waybill = ?1";

int
store_shipment_json(db_t *db, const char *waybill, json_t **out, api_error_t *err)
{
    sqlite3_stmt *st;
    json_t *dossier = NULL, *ship;
    char code[64];
    size_t i;

    *out = NULL;
    st = lookup_row(db, SQL_SHIPMENT_DOSSIER, waybill, "shipment", err);
    if (!st)
        return -1;
    snprintf(code, sizeof code, "%s", db_col_text(st, 0));
    sqlite3_reset(st);
    if (store_dossier_json(db, code, &dossier, err) != 0)
        return -1;
    json_array_foreach(json_object_get(dossier, "shipments"), i, ship) {
        if (strcmp(json_string_value(json_object_get(ship, "waybill")), waybill) == 0) {
            *out = json_incref(ship);
            json_object_set_new(*out, "dossier_code", json_string(code));
            break;
        }
    }
    json_decref(dossier);
    if (!*out) {
        api_error_set(err, 404, "not_found", NULL, "no shipment %s on this gateway", waybill);
        return -1;
    }
    return 0;
}

static const char SQL_TIMELINE[] =
    "SELECT t.seq, t.event_time, t.received_at, t.source, COALESCE(t.status, ''), COALESCE(t.upu, ''),"
    " COALESCE(t.raw_code, ''), t.text, t.details, t.hash, COALESCE(s.waybill, '') FROM timeline t"
    " LEFT JOIN shipments s ON s.id = t.shipment_id WHERE t.dossier_id = ?1 ORDER BY t.event_time, t.seq";

int
store_timeline_json(db_t *db, const char *code, json_t **out, api_error_t *err)
{
    sqlite3_stmt *st;
    json_t *events;
    char verr[200];
    int64_t id;
    int rc, intact;

    *out = NULL;
    st = lookup_row(db, SQL_DOSSIER, code, "dossier", err);
    if (!st)
        return -1;
    id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);

    events = json_array();
    st = db_stmt(db, SQL_TIMELINE);
    sqlite3_bind_int64(st, 1, id);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        char t1[40], t2[40];
        json_t *details = json_loads(db_col_text(st, 8), 0, NULL);
        json_t *e;

        iso(sqlite3_column_int64(st, 1), t1, sizeof t1);
        iso(sqlite3_column_int64(st, 2), t2, sizeof t2);
        e = json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s}", "seq", (json_int_t)sqlite3_column_int64(st, 0), "time",
                      t1, "time_ms", (json_int_t)sqlite3_column_int64(st, 1), "received_at", t2, "source",
                      db_col_text(st, 3), "text", db_col_text(st, 7), "hash", db_col_text(st, 9));
        if (*db_col_text(st, 4))
            json_object_set_new(e, "status", json_string(db_col_text(st, 4)));
        if (*db_col_text(st, 5))
            json_object_set_new(e, "upu", json_string(db_col_text(st, 5)));
        if (*db_col_text(st, 6))
            json_object_set_new(e, "raw_code", json_string(db_col_text(st, 6)));
        if (*db_col_text(st, 10))
            json_object_set_new(e, "waybill", json_string(db_col_text(st, 10)));
        json_object_set_new(e, "details", details ? details : json_object());
        json_array_append_new(events, e);
    }
    sqlite3_reset(st);
    intact = timeline_verify(db, id, verr, sizeof verr) == 0;
    *out = json_pack("{s:s, s:o, s:b}", "dossier_code", code, "events", events, "chain_valid", intact);
    if (!intact)
        json_object_set_new(*out, "chain_error", json_string(verr));
    return 0;
}

static const char SQL_HEALTH[] =
    "SELECT (SELECT COUNT(*) FROM dossiers), (SELECT COUNT(*) FROM jobs WHERE state IN ('ready', 'leased')),"
    " (SELECT COUNT(*) FROM jobs WHERE state = 'dead'),"
    " (SELECT COALESCE(SUM(MAX(last - next + 1, 0)), 0) FROM code_ranges)";

int
store_health_json(db_t *db, json_t **out)
{
    sqlite3_stmt *st = db_stmt(db, SQL_HEALTH);
    int rc;

    *out = NULL;
    if (!st)
        return -1;
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        *out = json_pack("{s:I, s:I, s:I, s:I}", "dossiers", (json_int_t)sqlite3_column_int64(st, 0), "jobs_pending",
                         (json_int_t)sqlite3_column_int64(st, 1), "jobs_dead", (json_int_t)sqlite3_column_int64(st, 2),
                         "codes_left", (json_int_t)sqlite3_column_int64(st, 3));
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : -1;
}
