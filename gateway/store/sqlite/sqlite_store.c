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
#include "gateway/store/sqlite/sqlite_access.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

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
    /* 9: the timeline's sealed head (event count, last hash, and a keyed MAC over both); bccid
     * re-keys every existing chain at its first start after this upgrade (timeline_seal_all) */
    "ALTER TABLE dossiers ADD COLUMN timeline_count INTEGER;"
    "ALTER TABLE dossiers ADD COLUMN timeline_head TEXT;"
    "ALTER TABLE dossiers ADD COLUMN timeline_seal TEXT;",
    /* 10: receipts at the agency (send leg): the legal submission time, one receipt per item */
    "CREATE TABLE receipts ("
    "  id INTEGER PRIMARY KEY, public_id TEXT NOT NULL UNIQUE, agency_code TEXT NOT NULL,"
    "  officer TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE receipt_items ("
    "  receipt_id INTEGER NOT NULL REFERENCES receipts(id),"
    "  shipment_id INTEGER NOT NULL UNIQUE REFERENCES shipments(id), position INTEGER NOT NULL,"
    "  PRIMARY KEY (receipt_id, shipment_id));",
    /* 11: the carriers' COD remittance statements, one line per waybill paid */
    "CREATE TABLE remittances ("
    "  id INTEGER PRIMARY KEY, carrier TEXT NOT NULL, statement_id TEXT NOT NULL, agency_code TEXT NOT NULL,"
    "  content_hash TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,"
    "  UNIQUE (carrier, statement_id));"
    "CREATE TABLE remittance_lines ("
    "  remittance_id INTEGER NOT NULL REFERENCES remittances(id), position INTEGER NOT NULL,"
    "  waybill TEXT NOT NULL, shipment_id INTEGER REFERENCES shipments(id), amount INTEGER NOT NULL,"
    "  remitted_at INTEGER NOT NULL, PRIMARY KEY (remittance_id, position));"
    "CREATE INDEX remittance_lines_shipment ON remittance_lines (shipment_id);",
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
    struct sqlite_pool *pool;    /* S10 reservations beside the file (writer thread only) */
    uint64_t *tokens_generation; /* mapped from PATH-tokens, shared by every process on the file */
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

struct sqlite_pool *
sqlite_tx_pool(store_tx_t *tx)
{
    return S(tx->store)->pool;
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

/* sq_leader_try - every role is held: one bccid owns a SQLite file (its state directory's lock
 * keeps a second one out), so there is nobody to share the scheduler with */
static store_rc_t
sq_leader_try(store_t *base, const char *role, int *held)
{
    (void)base;
    (void)role;
    *held = 1;
    return STORE_OK;
}

static void sq_close(store_t *base);

/* ------------------------------------------------------- token generation */

/* map_tokens_generation - the 8-byte counter in PATH-tokens, mapped shared: every bccid on
 * this database file (each with its own state directory) bumps and reads the same word, as
 * SQLite's own WAL index is shared memory between them. Without it nothing is remembered. */
static void
map_tokens_generation(sqlite_store_t *self)
{
    char file[4200];
    struct stat sb;
    void *p;
    int fd;

    if (snprintf(file, sizeof file, "%s-tokens", self->path) >= (int)sizeof file)
        return;
    fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    /* a new file is grown to one word (zero); an existing one keeps its count */
    if (fd >= 0 && fstat(fd, &sb) == 0 &&
        (sb.st_size >= (off_t)sizeof(uint64_t) || ftruncate(fd, sizeof(uint64_t)) == 0))
        p = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    else
        p = MAP_FAILED;
    if (p == MAP_FAILED)
        log_warn("cannot use %s (%s): API tokens are read from the database at every request; check that bccid "
                 "may write the database's directory",
                 file, strerror(errno));
    else
        self->tokens_generation = p;
    if (fd >= 0)
        close(fd);
}

static int
sq_tokens_generation(store_t *base, uint64_t *out)
{
    sqlite_store_t *self = S(base);

    if (!self->tokens_generation)
        return -1;
    *out = __atomic_load_n(self->tokens_generation, __ATOMIC_ACQUIRE);
    return 0;
}

static void
sq_tokens_bump(store_t *base)
{
    sqlite_store_t *self = S(base);

    if (self->tokens_generation)
        __atomic_add_fetch(self->tokens_generation, 1, __ATOMIC_ACQ_REL);
}

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
    /* the writer's WAL goes through walbuf (db.c), which is only safe when every commit
     * syncs the WAL before publishing its frames: refuse to run otherwise */
    if (sqlite3_prepare_v2(db_handle(self->writer), "PRAGMA synchronous", -1, &st, NULL) != SQLITE_OK ||
        db_step(st) != SQLITE_ROW) {
        snprintf(err, errlen, "cannot read back PRAGMA synchronous of %s: %s", path, db_errmsg(self->writer));
        sqlite3_finalize(st);
        goto fail;
    }
    if (sqlite3_column_int(st, 0) < 2) {
        snprintf(err, errlen,
                 "%s: the writer runs PRAGMA synchronous=%d although FULL (2) was set, so a 201 would not "
                 "mean on disk; the SQLite library in use ignores the setting: run bccid with Debian's "
                 "libsqlite3",
                 path, sqlite3_column_int(st, 0));
        sqlite3_finalize(st);
        goto fail;
    }
    sqlite3_finalize(st);
    if (store_migrate(self, err, errlen) != 0)
        goto fail;
    self->pool = sqlite_pool_open(path, self->writer, err, errlen);
    if (!self->pool)
        goto fail;
    map_tokens_generation(self);
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
    sqlite_pool_trim(self->pool, self->writer);
    db_close(&self->writer);
    sqlite_pool_close(&self->pool);
    pthread_mutex_destroy(&self->readers_lock);
    pthread_mutex_destroy(&self->health_lock);
    if (self->tokens_generation)
        munmap(self->tokens_generation, sizeof(uint64_t));
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

/* transaction control, prepared once per connection (db_run) */
static const char SQL_BEGIN_WRITE[] = "BEGIN IMMEDIATE";
static const char SQL_BEGIN_READ[] = "BEGIN";
static const char SQL_SAVEPOINT[] = "SAVEPOINT op";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO op";
static const char SQL_RELEASE[] = "RELEASE op";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_COMMIT[] = "COMMIT";

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
        rc = db_run(tx->db, SQL_BEGIN_WRITE);
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
        rc = db_run(tx->db, SQL_BEGIN_READ);
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
    int rc = db_run(tx->db, SQL_SAVEPOINT);

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
        rc = db_run(tx->db, SQL_ROLLBACK_TO);
    if (rc == SQLITE_OK)
        rc = db_run(tx->db, SQL_RELEASE);
    tx->depth--;
    return rc == SQLITE_OK ? STORE_OK : sqlite_fail(base, rc, "ending an operation");
}

static void
sq_tx_end(struct sqlite_tx *tx)
{
    db_reset_all(tx->db); /* a statement left on a row would keep this transaction's snapshot */
    if (!sqlite3_get_autocommit(db_handle(tx->db)))
        db_run(tx->db, SQL_ROLLBACK);
    if (tx->base.mode == STORE_READ)
        store_reader_put(tx->base.store, tx->db);
    free(tx);
}

static store_rc_t
sq_tx_commit(store_tx_t *base)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)base;
    int rc = db_run(tx->db, SQL_COMMIT);
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
    .tokens_generation = sq_tokens_generation,
    .tokens_bump = sq_tokens_bump,
    .open = sq_open,
    .close = sq_close,
    .health = sq_health,
    .tx_begin = sq_tx_begin,
    .tx_savepoint = sq_tx_savepoint,
    .tx_release = sq_tx_release,
    .tx_commit = sq_tx_commit,
    .tx_abort = sq_tx_abort,
    .leader_try = sq_leader_try,
    .labels = &sqlite_labels_ops,
    .admin = &sqlite_admin_ops,
    .shipments = &sqlite_shipments_ops,
    .timeline = &sqlite_timeline_ops,
    .dossiers = &sqlite_dossiers_ops,
    .jobs = &sqlite_jobs_ops,
    .copy = &sqlite_copy_ops,
};
