/*
 * sqlite_baseline - the storage ceiling: what SQLite on this disk can commit
 * per second for the rows one accepted dossier costs
 *
 * A fresh database in a new temporary directory (mkdtemp under --dir, which
 * defaults to $TMPDIR), WAL mode, synchronous=FULL (a COMMIT returns after
 * the WAL is fsynced, the durability bccid promises before it answers 201).
 * Per dossier: one row each in dossiers, shipments, timeline and jobs, plus
 * an UPDATE ... RETURNING of a code-pool row (waybill allocation), with the
 * SHA-256 hashes the gateway computes (body hash, timeline chain). Measured
 * (a) with one transaction per dossier and (b) one transaction per 100
 * dossiers (group commit), then a raw fsync loop on a small file.
 *
 * Output: one JSON line per figure on stdout. The temporary directory and
 * its files are removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "domain/s10.h"

static const config_spec_t k_spec[] = {
    {"dir", NULL, "parent directory of the temporary database (default $TMPDIR, else the system temp dir)"},
    {"seconds", "3", "seconds per transaction mode"},
    {"max_dossiers", "1000000", "stop a mode after this many dossiers"},
    {"fsync_seconds", "1", "seconds of the raw fsync loop (0: skip)"},
    {"synchronous", "FULL", "PRAGMA synchronous for the database (FULL or NORMAL)"},
    {NULL, NULL, NULL},
};

static const char k_schema[] =
    "CREATE TABLE dossiers(id INTEGER PRIMARY KEY, code TEXT NOT NULL, service TEXT NOT NULL,"
    " body TEXT NOT NULL, body_hash TEXT NOT NULL, created_at INTEGER NOT NULL, UNIQUE(code, service));"
    "CREATE TABLE code_pool(id INTEGER PRIMARY KEY, prefix TEXT NOT NULL, country TEXT NOT NULL,"
    " next_serial INTEGER NOT NULL, last_serial INTEGER NOT NULL);"
    "CREATE TABLE shipments(id INTEGER PRIMARY KEY, dossier_id INTEGER NOT NULL REFERENCES dossiers(id),"
    " waybill TEXT NOT NULL UNIQUE, carrier TEXT NOT NULL, status TEXT NOT NULL, cod_amount INTEGER NOT NULL,"
    " track_token TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE TABLE timeline(id INTEGER PRIMARY KEY, dossier_id INTEGER NOT NULL REFERENCES dossiers(id),"
    " seq INTEGER NOT NULL, hash TEXT NOT NULL, prev_hash TEXT NOT NULL, source TEXT NOT NULL,"
    " status TEXT NOT NULL, text TEXT NOT NULL, details TEXT, created_at INTEGER NOT NULL,"
    " UNIQUE(dossier_id, seq));"
    "CREATE TABLE jobs(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, shipment_id INTEGER NOT NULL,"
    " purpose TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at INTEGER NOT NULL, lease_expires_at INTEGER, last_error TEXT, payload TEXT,"
    " UNIQUE(shipment_id, kind, purpose));"
    "CREATE INDEX jobs_due ON jobs(state, next_attempt_at);"
    "INSERT INTO code_pool(prefix, country, next_serial, last_serial) VALUES('RR', 'VN', 10000000, 99999999);";

/* A realistic canonical dossier body; %s is the dossier code. */
static const char k_body_fmt[] =
    "{\"agency\":{\"address\":\"Số 2 đường Hoàng Văn Thụ, phường Hồng Bàng, Thành phố Hải Phòng\","
    "\"code\":\"000.00.31.H23\",\"commune_code\":\"11311\",\"name\":\"Trung tâm Phục vụ hành chính công phường "
    "Hồng Bàng\",\"phone\":\"02253842111\",\"province_code\":\"31\"},\"carrier\":\"vnpost\",\"cod_amount\":100000,"
    "\"dossier_code\":\"%s\",\"note\":\"Thu hộ lệ phí đăng ký hộ kinh doanh 100.000 đồng.\","
    "\"procedure\":{\"code\":\"2.000720.000.00.00.H23\",\"name\":\"Đăng ký thành lập hộ kinh doanh\"},"
    "\"recipient\":{\"address\":\"Số 27 đường Tô Hiệu, phường Lê Chân, Thành phố Hải Phòng\","
    "\"commune_code\":\"11383\",\"name\":\"Phạm Đức Thắng\",\"phone\":\"0983456123\",\"province_code\":\"31\"},"
    "\"result\":{\"documents\":[{\"name\":\"Giấy chứng nhận đăng ký hộ kinh doanh\",\"original\":true}],"
    "\"summary\":\"Giấy chứng nhận đăng ký hộ kinh doanh (bản chính)\"},\"service\":\"return\"}";

enum { ST_BEGIN, ST_COMMIT, ST_DOSSIER, ST_POOL, ST_SHIPMENT, ST_TIMELINE, ST_JOB, ST_COUNT };

static const char *const k_sql[ST_COUNT] = {
    "BEGIN IMMEDIATE",
    "COMMIT",
    "INSERT INTO dossiers(code, service, body, body_hash, created_at) VALUES(?1, 'return', ?2, ?3, ?4)",
    "UPDATE code_pool SET next_serial = next_serial + 1 WHERE id = 1 AND next_serial <= last_serial "
    "RETURNING next_serial - 1, prefix, country",
    "INSERT INTO shipments(dossier_id, waybill, carrier, status, cod_amount, track_token, created_at, updated_at)"
    " VALUES(?1, ?2, 'vnpost', 'created', 100000, ?3, ?4, ?4)",
    "INSERT INTO timeline(dossier_id, seq, hash, prev_hash, source, status, text, details, created_at)"
    " VALUES(?1, 1, ?2, ?3, 'gateway', 'created', 'Bưu điện đã tiếp nhận thông tin trả kết quả', ?4, ?5)",
    "INSERT INTO jobs(kind, shipment_id, state, next_attempt_at, payload) VALUES('book', ?1, 'ready', ?2, ?3)",
};

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    char prev_hash[SHA256_HEX_LEN];
    long long seq;
} bench_t;

static double
mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* step_done - run a statement that returns no row; 0 or -1 with a message */
static int
step_done(bench_t *b, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "sqlite_baseline: %s: %s\n", sqlite3_sql(st), sqlite3_errmsg(b->db));
        return -1;
    }
    return 0;
}

/* insert_dossier - the rows of one accepted dossier (inside an open transaction) */
static int
insert_dossier(bench_t *b)
{
    char code[64], waybill[32], hash[SHA256_HEX_LEN], token[SHA256_HEX_LEN], details[160];
    buf_t body, chain;
    sqlite3_stmt *st;
    sqlite3_int64 dossier_id, shipment_id;
    unsigned long serial;
    int64_t now = clock_now_ms();
    int rc = -1;

    buf_init(&body, 0);
    buf_init(&chain, 0);
    b->seq++;
    snprintf(code, sizeof code, "000.00.31.H23-251124-%05lld", b->seq % 100000);
    /* the real gateway keys on (code, service); keep codes unique past 99999 */
    if (b->seq >= 100000)
        snprintf(code, sizeof code, "%03lld.00.31.H23-251124-%05lld", (b->seq / 100000) % 1000, b->seq % 100000);
    if (buf_appendf(&body, k_body_fmt, code) != BUF_OK)
        goto out;
    sha256_hex(body.data, body.len, hash);

    st = b->st[ST_DOSSIER];
    sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, body.data, (int)body.len, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now);
    if (step_done(b, st) != 0)
        goto out;
    dossier_id = sqlite3_last_insert_rowid(b->db);

    st = b->st[ST_POOL];
    if (sqlite3_step(st) != SQLITE_ROW) {
        fprintf(stderr, "sqlite_baseline: code pool: %s\n", sqlite3_errmsg(b->db));
        sqlite3_reset(st);
        goto out;
    }
    serial = (unsigned long)sqlite3_column_int64(st, 0);
    if (s10_format((const char *)sqlite3_column_text(st, 1), serial, (const char *)sqlite3_column_text(st, 2),
                   waybill, sizeof waybill) != 0) {
        fprintf(stderr, "sqlite_baseline: cannot format waybill for serial %lu\n", serial);
        sqlite3_reset(st);
        goto out;
    }
    sqlite3_reset(st);

    sha256_hex(waybill, strlen(waybill), token); /* stands in for the HMAC tracking token */
    st = b->st[ST_SHIPMENT];
    sqlite3_bind_int64(st, 1, dossier_id);
    sqlite3_bind_text(st, 2, waybill, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, token, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now);
    if (step_done(b, st) != 0)
        goto out;
    shipment_id = sqlite3_last_insert_rowid(b->db);

    snprintf(details, sizeof details, "{\"waybill\":\"%s\",\"carrier\":\"vnpost\"}", waybill);
    if (buf_appendf(&chain, "%s|%lld|gateway|created|%s", b->prev_hash, (long long)now, details) != BUF_OK)
        goto out;
    sha256_hex(chain.data, chain.len, hash);
    st = b->st[ST_TIMELINE];
    sqlite3_bind_int64(st, 1, dossier_id);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, b->prev_hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, details, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, now);
    if (step_done(b, st) != 0)
        goto out;
    memcpy(b->prev_hash, hash, sizeof hash);

    st = b->st[ST_JOB];
    sqlite3_bind_int64(st, 1, shipment_id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_text(st, 3, details, -1, SQLITE_TRANSIENT);
    if (step_done(b, st) != 0)
        goto out;
    rc = 0;
out:
    buf_free(&body);
    buf_free(&chain);
    return rc;
}

/* run_mode - insert dossiers with per_txn dossiers per transaction for at most
 * seconds / max; prints one JSON line. 0 or -1. */
static int
run_mode(bench_t *b, const char *mode, int per_txn, double seconds, long long max, const char *sync)
{
    double t0 = mono_s(), t;
    long long n = 0, txns = 0;
    int i;

    do {
        if (step_done(b, b->st[ST_BEGIN]) != 0)
            return -1;
        for (i = 0; i < per_txn; i++, n++)
            if (insert_dossier(b) != 0)
                return -1;
        if (step_done(b, b->st[ST_COMMIT]) != 0)
            return -1;
        txns++;
        t = mono_s() - t0;
    } while (t < seconds && n < max);
    printf("{\"bench\":\"sqlite\",\"mode\":\"%s\",\"dossiers_per_txn\":%d,\"synchronous\":\"%s\","
           "\"dossiers\":%lld,\"transactions\":%lld,\"seconds\":%.3f,\"dossiers_per_s\":%.1f,"
           "\"commits_per_s\":%.1f}\n",
           mode, per_txn, sync, n, txns, t, (double)n / t, (double)txns / t);
    fflush(stdout);
    return 0;
}

/* run_fsync - write 100 bytes and fsync, in a loop; prints one JSON line */
static int
run_fsync(const char *path, double seconds)
{
    char block[100];
    double t0, t;
    long long n = 0;
    int fd, rc = -1;

    memset(block, 'x', sizeof block);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        fprintf(stderr, "sqlite_baseline: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    t0 = mono_s();
    do {
        if (pwrite(fd, block, sizeof block, 0) != (ssize_t)sizeof block || fsync(fd) != 0) {
            fprintf(stderr, "sqlite_baseline: write/fsync failed on %s: %s\n", path, strerror(errno));
            goto out;
        }
        n++;
        t = mono_s() - t0;
    } while (t < seconds);
    printf("{\"bench\":\"fsync\",\"fsyncs\":%lld,\"seconds\":%.3f,\"fsync_per_s\":%.1f}\n", n, t, (double)n / t);
    fflush(stdout);
    rc = 0;
out:
    close(fd);
    return rc;
}

static void
remove_in(const char *dir, const char *name)
{
    char path[4096];

    if (snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path)
        unlink(path);
}

int
main(int argc, char **argv)
{
    config_t *cfg = NULL;
    bench_t b;
    char err[256], tmpl[4096], path[4096];
    const char *parent, *sync;
    char *dir = NULL, *errmsg = NULL;
    double seconds, fsync_seconds;
    long long max;
    int rc = 1, i;

    memset(&b, 0, sizeof b);
    memset(b.prev_hash, '0', SHA256_HEX_LEN - 1);
    cfg = config_new(k_spec);
    if (!cfg) {
        fprintf(stderr, "sqlite_baseline: out of memory\n");
        goto out;
    }
    switch (config_parse(cfg, argc, argv, 0, err, sizeof err)) {
    case CONFIG_OK:
        break;
    case CONFIG_HELP:
        config_print_help(cfg, "sqlite_baseline", "[--dir DIR] [--seconds S]");
        rc = 0;
        goto out;
    case CONFIG_VERSION:
        printf("sqlite_baseline %s\n", BCCI_VERSION);
        rc = 0;
        goto out;
    default:
        fprintf(stderr, "sqlite_baseline: %s\n", err);
        goto out;
    }
    seconds = config_get_double(cfg, "seconds", -1);
    fsync_seconds = config_get_double(cfg, "fsync_seconds", -1);
    max = config_get_int(cfg, "max_dossiers", -1);
    sync = config_get(cfg, "synchronous");
    if (seconds <= 0 || fsync_seconds < 0 || max < 100) {
        fprintf(stderr, "sqlite_baseline: --seconds must be > 0, --fsync_seconds >= 0, --max_dossiers >= 100\n");
        goto out;
    }
    if (strcmp(sync, "FULL") != 0 && strcmp(sync, "NORMAL") != 0) {
        fprintf(stderr, "sqlite_baseline: --synchronous must be FULL or NORMAL, got '%s'\n", sync);
        goto out;
    }
    parent = config_get(cfg, "dir");
    if (!parent || !*parent)
        parent = getenv("TMPDIR");
    if (!parent || !*parent)
        parent = P_tmpdir;
    if (snprintf(tmpl, sizeof tmpl, "%s/bcci-sqlite-XXXXXX", parent) >= (int)sizeof tmpl) {
        fprintf(stderr, "sqlite_baseline: directory name too long\n");
        goto out;
    }
    dir = mkdtemp(tmpl);
    if (!dir) {
        fprintf(stderr, "sqlite_baseline: cannot create a directory under %s: %s\n", parent, strerror(errno));
        goto out;
    }

    snprintf(path, sizeof path, "%s/bench.db", dir);
    if (sqlite3_open_v2(path, &b.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "sqlite_baseline: cannot open %s: %s\n", path, b.db ? sqlite3_errmsg(b.db) : "no memory");
        goto out;
    }
    snprintf(err, sizeof err, "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON;", sync);
    if (sqlite3_exec(b.db, err, NULL, NULL, &errmsg) != SQLITE_OK ||
        sqlite3_exec(b.db, k_schema, NULL, NULL, &errmsg) != SQLITE_OK) {
        fprintf(stderr, "sqlite_baseline: schema: %s\n", errmsg ? errmsg : "?");
        goto out;
    }
    for (i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v2(b.db, k_sql[i], -1, &b.st[i], NULL) != SQLITE_OK) {
            fprintf(stderr, "sqlite_baseline: prepare %s: %s\n", k_sql[i], sqlite3_errmsg(b.db));
            goto out;
        }
    }
    if (run_mode(&b, "txn_per_dossier", 1, seconds, max, sync) != 0 ||
        run_mode(&b, "txn_per_100", 100, seconds, max, sync) != 0)
        goto out;
    snprintf(path, sizeof path, "%s/fsync.dat", dir);
    if (fsync_seconds > 0 && run_fsync(path, fsync_seconds) != 0)
        goto out;
    rc = 0;
out:
    for (i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(b.st[i]);
    if (b.db)
        sqlite3_close(b.db);
    sqlite3_free(errmsg);
    if (dir) {
        remove_in(dir, "bench.db");
        remove_in(dir, "bench.db-wal");
        remove_in(dir, "bench.db-shm");
        remove_in(dir, "fsync.dat");
        if (rmdir(dir) != 0)
            fprintf(stderr, "sqlite_baseline: could not remove %s: %s\n", dir, strerror(errno));
    }
    config_destroy(&cfg);
    return rc;
}
