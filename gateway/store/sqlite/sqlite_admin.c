/*
 * sqlite_admin - the admin area on SQLite: tokens, purge, COD report, backup
 * (see store_admin.h for the contract)
 *
 * Every statement goes through db_step, so the tests' failure injection
 * (db_fail_at) reaches each of them; every read loop checks how it ended, so
 * a failing step is never returned as a short result.
 */
#include "gateway/store/admin_rules.h"
#include "gateway/store/backend_admin.h"
#include "gateway/store/sqlite/sqlite_internal.h"
#include "gateway/store/sqlite/sqlite_access.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- tokens */

static const char SQL_TOKEN_EXISTS[] = "SELECT 1 FROM tokens WHERE name = ?1";
static const char SQL_TOKEN_INSERT[] =
    "INSERT INTO tokens (name, role, token_hash, created_at, agency_code) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_TOKEN_LOOKUP[] =
    "SELECT name, role, COALESCE(agency_code, ''), created_at FROM tokens WHERE token_hash = ?1 AND revoked_at IS NULL";
static const char SQL_TOKEN_LIVE_ROLE[] = "SELECT role FROM tokens WHERE name = ?1 AND revoked_at IS NULL";
static const char SQL_TOKEN_REVOKE[] = "UPDATE tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL";
static const char SQL_TOKEN_LIST[] =
    "SELECT name, role, COALESCE(agency_code, ''), created_at, COALESCE(revoked_at, 0) FROM tokens ORDER BY id";
static const char SQL_TOKEN_COUNT[] =
    "SELECT COUNT(*) FROM tokens WHERE revoked_at IS NULL AND (?1 IS NULL OR role = ?1)";

static store_rc_t
prepare(store_tx_t *tx, const char *sql, const char *what, sqlite3_stmt **st)
{
    *st = db_stmt(sqlite_tx_db(tx), sql);
    return *st ? STORE_OK : sqlite_fail(tx, SQLITE_ERROR, what);
}

static store_rc_t
sq_token_create(store_tx_t *tx, const char *name, const char *role, const char *agency_code, const char *token_hash,
                int64_t now)
{
    sqlite3_stmt *st;
    store_rc_t r;
    int rc;

    if ((r = prepare(tx, SQL_TOKEN_EXISTS, "checking the token name", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, name);
    rc = db_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return store_tx_fail(tx, STORE_CONFLICT, "a token named %s exists; revoke it or choose another name", name);
    if (rc != SQLITE_DONE)
        return sqlite_fail(tx, rc, "checking the token name");
    if ((r = prepare(tx, SQL_TOKEN_INSERT, "storing the token", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, name);
    db_bind_text(st, 2, role);
    db_bind_text(st, 3, token_hash);
    sqlite3_bind_int64(st, 4, now);
    db_bind_text(st, 5, agency_code && *agency_code ? agency_code : NULL);
    rc = db_step(st);
    sqlite3_reset(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return store_tx_fail(tx, STORE_CONFLICT, "a token named %s (or with this secret) exists; choose another name",
                             name);
    if (rc != SQLITE_DONE)
        return sqlite_fail(tx, rc, "storing the token");
    return STORE_OK;
}

static void
token_row(sqlite3_stmt *st, store_token_t *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", db_col_text(st, 0));
    snprintf(t->role, sizeof t->role, "%s", db_col_text(st, 1));
    snprintf(t->agency_code, sizeof t->agency_code, "%s", db_col_text(st, 2));
    t->created_at = sqlite3_column_int64(st, 3);
}

static store_rc_t
sq_token_lookup(store_tx_t *tx, const char *token_hash, store_token_t *out)
{
    sqlite3_stmt *st;
    store_rc_t r;
    int rc;

    memset(out, 0, sizeof *out);
    if ((r = prepare(tx, SQL_TOKEN_LOOKUP, "looking up the token", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, token_hash);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        token_row(st, out);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return STORE_OK;
    if (rc == SQLITE_DONE)
        return store_tx_fail(tx, STORE_NOT_FOUND, "the token is unknown or revoked");
    return sqlite_fail(tx, rc, "looking up the token");
}

static store_rc_t
count_live(store_tx_t *tx, const char *role, long long *n)
{
    sqlite3_stmt *st;
    store_rc_t r;
    int rc;

    *n = 0;
    if ((r = prepare(tx, SQL_TOKEN_COUNT, "counting tokens", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, role);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : sqlite_fail(tx, rc, "counting tokens");
}

static store_rc_t
sq_token_revoke(store_tx_t *tx, const char *name, int64_t now)
{
    sqlite3_stmt *st;
    char role[STORE_TOKEN_ROLE_MAX] = "";
    long long admins;
    store_rc_t r;
    int rc;

    if ((r = prepare(tx, SQL_TOKEN_LIVE_ROLE, "reading the token", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, name);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        snprintf(role, sizeof role, "%s", db_col_text(st, 0));
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no live token named %s", name);
    if (rc != SQLITE_ROW)
        return sqlite_fail(tx, rc, "reading the token");
    if (admin_is_admin(role)) {
        if ((r = count_live(tx, "admin", &admins)) != STORE_OK)
            return r;
        if ((r = admin_may_revoke(tx, name, role, admins)) != STORE_OK)
            return r;
    }
    if ((r = prepare(tx, SQL_TOKEN_REVOKE, "revoking the token", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, name);
    sqlite3_bind_int64(st, 2, now);
    rc = db_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sqlite_fail(tx, rc, "revoking the token");
    if (sqlite3_changes(db_handle(sqlite_tx_db(tx))) == 0)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no live token named %s", name);
    return STORE_OK;
}

static store_rc_t
sq_token_list(store_tx_t *tx, store_token_list_t *out)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    store_rc_t r;
    int rc;

    memset(out, 0, sizeof *out);
    if ((r = prepare(tx, SQL_TOKEN_LIST, "listing tokens", &st)) != STORE_OK)
        return r;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            store_token_t *p = realloc(out->items, ncap * sizeof *p);

            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            out->items = p;
            cap = ncap;
        }
        token_row(st, &out->items[out->n]);
        out->items[out->n].revoked_at = sqlite3_column_int64(st, 4);
        out->n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store_token_list_free(out);
        return sqlite_fail(tx, rc, "listing tokens");
    }
    return STORE_OK;
}

static store_rc_t
sq_token_count(store_tx_t *tx, const char *role, long long *n)
{
    return count_live(tx, role, n);
}

/* ----------------------------------------------------------------- purge */

static const char SQL_PURGE_CANDIDATES[] =
    "SELECT d.id FROM dossiers d WHERE d.purged_at IS NULL AND NOT EXISTS (SELECT 1 FROM shipments s"
    " WHERE s.dossier_id = d.id AND (s.status NOT IN ('delivered', 'returned', 'cancelled') OR s.updated_at >= ?1))"
    " AND EXISTS (SELECT 1 FROM shipments s WHERE s.dossier_id = d.id) LIMIT 10000";
/* personal fields become a marker; province and commune codes stay (statistics) */
static const char SQL_PURGE_BODY[] =
    "UPDATE submissions SET body = json_set(body,"
    " '$.recipient.name', '[đã xóa]', '$.recipient.phone', '[đã xóa]', '$.recipient.address', '[đã xóa]',"
    " '$.recipient.email', '[đã xóa]', '$.recipient.id_hash', '[đã xóa]', '$.recipient.id_last4', '[đã xóa]')"
    " WHERE dossier_id = ?1 AND json_extract(body, '$.recipient') IS NOT NULL";
static const char SQL_PURGE_SENDER[] =
    "UPDATE submissions SET body = json_set(body,"
    " '$.sender.name', '[đã xóa]', '$.sender.phone', '[đã xóa]', '$.sender.address', '[đã xóa]',"
    " '$.sender.email', '[đã xóa]', '$.sender.id_hash', '[đã xóa]', '$.sender.id_last4', '[đã xóa]')"
    " WHERE dossier_id = ?1 AND json_extract(body, '$.sender') IS NOT NULL";
static const char SQL_PURGE_AUTHORISED[] =
    "UPDATE submissions SET body = json_remove(body, '$.authorised_person') WHERE dossier_id = ?1";
static const char SQL_PURGE_PROOF[] = "UPDATE shipments SET proof_name = NULL WHERE dossier_id = ?1";
static const char SQL_PURGE_JOBS[] =
    "UPDATE jobs SET payload = '{}' WHERE state IN ('done', 'dead') AND shipment_id IN"
    " (SELECT id FROM shipments WHERE dossier_id = ?1)";
static const char SQL_PURGE_MARK[] = "UPDATE dossiers SET purged_at = ?2 WHERE id = ?1";

static store_rc_t
sq_purge(store_tx_t *tx, int64_t cutoff, int dry_run, int64_t now, long long *dossiers)
{
    static const char *const steps[] = { SQL_PURGE_BODY, SQL_PURGE_SENDER, SQL_PURGE_AUTHORISED, SQL_PURGE_PROOF,
                                         SQL_PURGE_JOBS, SQL_PURGE_MARK };
    sqlite3_stmt *st;
    int64_t *ids = NULL;
    size_t n = 0, cap = 0, i, k;
    store_rc_t r;
    int rc;

    *dossiers = 0;
    if ((r = prepare(tx, SQL_PURGE_CANDIDATES, "finding finished dossiers", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, cutoff);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            int64_t *p = realloc(ids, ncap * sizeof *p);

            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            ids = p;
            cap = ncap;
        }
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(ids);
        return sqlite_fail(tx, rc, "finding finished dossiers");
    }
    for (i = 0; !dry_run && i < n; i++) {
        for (k = 0; k < sizeof steps / sizeof steps[0]; k++) {
            if ((r = prepare(tx, steps[k], "removing personal fields", &st)) != STORE_OK) {
                free(ids);
                return r;
            }
            sqlite3_bind_int64(st, 1, ids[i]);
            if (steps[k] == SQL_PURGE_MARK)
                sqlite3_bind_int64(st, 2, now);
            rc = db_step(st);
            sqlite3_reset(st);
            if (rc != SQLITE_DONE) {
                free(ids);
                return sqlite_fail(tx, rc, "removing personal fields");
            }
        }
    }
    free(ids);
    *dossiers = (long long)n;
    return STORE_OK;
}

/* ------------------------------------------------------------------- COD */

static const char SQL_COD[] =
    "SELECT d.agency_code, s.waybill, d.code, COALESCE(s.cod_collected, 0),"
    " COALESCE(s.cod_collected_at, s.delivered_at), s.leg, CASE WHEN s.leg = 'send' THEN 0 ELSE s.cod_amount END,"
    " (SELECT COALESCE(SUM(l.amount), 0) FROM remittance_lines l WHERE l.shipment_id = s.id),"
    " (SELECT COUNT(*) FROM remittance_lines l WHERE l.shipment_id = s.id)"
    " FROM shipments s JOIN dossiers d ON d.id = s.dossier_id"
    " WHERE ((s.cod_collected > 0 AND s.cod_collected_at >= ?1 AND s.cod_collected_at < ?2)"
    "  OR (s.leg <> 'send' AND s.cod_amount > 0 AND COALESCE(s.cod_collected, 0) = 0"
    "   AND s.delivered_at >= ?1 AND s.delivered_at < ?2))"
    " AND (?3 = '' OR d.agency_code = ?3) ORDER BY d.agency_code, 5";
static const char SQL_COD_UNKNOWN[] =
    "SELECT r.carrier, r.statement_id, l.waybill, l.amount, l.remitted_at FROM remittance_lines l"
    " JOIN remittances r ON r.id = l.remittance_id WHERE l.shipment_id IS NULL AND l.remitted_at >= ?1"
    " AND l.remitted_at < ?2 AND (?3 = '' OR r.agency_code = ?3) ORDER BY l.remitted_at, r.id, l.position";

static store_rc_t
sq_cod_unknown(store_tx_t *tx, int64_t from, int64_t to, const char *agency, store_cod_report_t *out)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    store_rc_t r;
    int rc;

    if ((r = prepare(tx, SQL_COD_UNKNOWN, "reading unknown remitted waybills", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    db_bind_text(st, 3, agency ? agency : "");
    while ((rc = db_step(st)) == SQLITE_ROW) {
        store_cod_unknown_t *u;

        if (out->nunknown == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            store_cod_unknown_t *p = realloc(out->unknown, ncap * sizeof *p);

            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            out->unknown = p;
            cap = ncap;
        }
        u = &out->unknown[out->nunknown++];
        memset(u, 0, sizeof *u);
        snprintf(u->carrier, sizeof u->carrier, "%s", db_col_text(st, 0));
        snprintf(u->statement_id, sizeof u->statement_id, "%s", db_col_text(st, 1));
        snprintf(u->waybill, sizeof u->waybill, "%s", db_col_text(st, 2));
        u->amount = sqlite3_column_int64(st, 3);
        u->remitted_at = sqlite3_column_int64(st, 4);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(tx, rc, "reading unknown remitted waybills");
}

static store_rc_t
sq_cod_report(store_tx_t *tx, int64_t from, int64_t to, const char *agency, store_cod_report_t *out)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    store_rc_t r;
    int rc;

    memset(out, 0, sizeof *out);
    if ((r = prepare(tx, SQL_COD, "reading the COD report", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    db_bind_text(st, 3, agency ? agency : "");
    while ((rc = db_step(st)) == SQLITE_ROW) {
        store_cod_row_t *row;

        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            store_cod_row_t *p = realloc(out->rows, ncap * sizeof *p);

            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            out->rows = p;
            cap = ncap;
        }
        row = &out->rows[out->n++];
        memset(row, 0, sizeof *row);
        snprintf(row->agency_code, sizeof row->agency_code, "%s", db_col_text(st, 0));
        snprintf(row->waybill, sizeof row->waybill, "%s", db_col_text(st, 1));
        snprintf(row->dossier_code, sizeof row->dossier_code, "%s", db_col_text(st, 2));
        row->amount = sqlite3_column_int64(st, 3);
        row->collected_at = row->amount > 0 ? sqlite3_column_int64(st, 4) : 0;
        snprintf(row->leg, sizeof row->leg, "%s", db_col_text(st, 5));
        row->expected = sqlite3_column_int64(st, 6);
        row->remitted = sqlite3_column_int64(st, 7);
        row->remitted_lines = sqlite3_column_int(st, 8);
        store_cod_count(out, row);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store_cod_report_free(out);
        return sqlite_fail(tx, rc, "reading the COD report");
    }
    if ((r = sq_cod_unknown(tx, from, to, agency, out)) != STORE_OK)
        store_cod_report_free(out);
    return r;
}

/* ------------------------------------------------------------ remittances */

static const char SQL_REMIT_FIND[] = "SELECT content_hash FROM remittances WHERE carrier = ?1 AND statement_id = ?2";
static const char SQL_REMIT_INSERT[] =
    "INSERT INTO remittances (carrier, statement_id, agency_code, content_hash, created_by, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_REMIT_LINE[] =
    "INSERT INTO remittance_lines (remittance_id, position, waybill, shipment_id, amount, remitted_at)"
    " VALUES (?1, ?2, ?3, (SELECT s.id FROM shipments s JOIN dossiers d ON d.id = s.dossier_id"
    "  WHERE s.waybill = ?3 AND s.carrier = ?6 AND (?7 = '' OR d.agency_code = ?7)), ?4, ?5)";
static const char SQL_REMIT_UNKNOWN[] =
    "SELECT COUNT(*) FROM remittance_lines WHERE remittance_id = ?1 AND shipment_id IS NULL";

static store_rc_t
sq_remittance_import(store_tx_t *tx, const store_remittance_t *stmt, int64_t now, int *created, size_t *unknown)
{
    const char *agency = stmt->agency_code ? stmt->agency_code : "";
    sqlite3_stmt *st;
    sqlite3_int64 id;
    store_rc_t r;
    size_t i;
    int rc;

    *created = 0;
    *unknown = 0;
    if ((r = prepare(tx, SQL_REMIT_FIND, "looking up the statement", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, stmt->carrier);
    db_bind_text(st, 2, stmt->statement_id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        int same = strcmp(db_col_text(st, 0), stmt->content_hash) == 0;

        sqlite3_reset(st);
        if (!same)
            return store_tx_fail(tx, STORE_CONFLICT,
                                 "statement %s of %s was imported before with other lines; a corrected statement "
                                 "needs a new statement_id",
                                 stmt->statement_id, stmt->carrier);
        return STORE_OK;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sqlite_fail(tx, rc, "looking up the statement");
    if ((r = prepare(tx, SQL_REMIT_INSERT, "storing the statement", &st)) != STORE_OK)
        return r;
    db_bind_text(st, 1, stmt->carrier);
    db_bind_text(st, 2, stmt->statement_id);
    db_bind_text(st, 3, agency);
    db_bind_text(st, 4, stmt->content_hash);
    db_bind_text(st, 5, stmt->created_by ? stmt->created_by : "");
    sqlite3_bind_int64(st, 6, now);
    rc = db_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sqlite_fail(tx, rc, "storing the statement");
    id = sqlite3_last_insert_rowid(db_handle(sqlite_tx_db(tx)));
    if ((r = prepare(tx, SQL_REMIT_LINE, "storing the statement's lines", &st)) != STORE_OK)
        return r;
    for (i = 0; i < stmt->n; i++) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)i + 1);
        db_bind_text(st, 3, stmt->lines[i].waybill);
        sqlite3_bind_int64(st, 4, stmt->lines[i].amount);
        sqlite3_bind_int64(st, 5, stmt->lines[i].remitted_at);
        db_bind_text(st, 6, stmt->carrier);
        db_bind_text(st, 7, agency);
        rc = db_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return sqlite_fail(tx, rc, "storing the statement's lines");
    }
    if ((r = prepare(tx, SQL_REMIT_UNKNOWN, "counting unknown waybills", &st)) != STORE_OK)
        return r;
    sqlite3_bind_int64(st, 1, id);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        *unknown = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return sqlite_fail(tx, rc, "counting unknown waybills");
    *created = 1;
    return STORE_OK;
}

/* ---------------------------------------------------------------- backup */

#define BACKUP_STEP_PAGES 256

/* sq_backup - SQLite's online backup API from a read-only connection, a few hundred pages a
 * step so bccid's writer is never held for long (a busy step is retried). The copy goes to
 * dest.partial, created here first with O_EXCL and mode 0600 whatever the umask (SQLite gives
 * its journal the same mode), and is renamed to dest once complete and checked (PRAGMA
 * quick_check): dest is either absent or a whole database that only its owner can read. */
static store_rc_t
sq_backup(store_t *store, const char *dest, long long *pages, char *err, size_t errlen)
{
    const char *dbpath = store_path(store);
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *bk = NULL;
    sqlite3_stmt *st = NULL;
    char tmp[4096];
    store_rc_t ret = STORE_BUSY;
    int rc, fd, made_tmp = 0;

    *pages = 0;
    if (access(dest, F_OK) == 0) {
        snprintf(err, errlen, "%s exists; choose a new file name (backups are never overwritten)", dest);
        return STORE_CONFLICT;
    }
    if (snprintf(tmp, sizeof tmp, "%s.partial", dest) >= (int)sizeof tmp) {
        snprintf(err, errlen, "the destination path is too long");
        return STORE_ERROR;
    }
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return STORE_BUSY;
    }
    made_tmp = 1;
    /* the mode given to open() is masked by the umask; never looser than 0600, never tighter */
    if (fchmod(fd, 0600) != 0) {
        snprintf(err, errlen, "cannot restrict %s to mode 0600: %s", tmp, strerror(errno));
        close(fd);
        goto out;
    }
    close(fd);
    if (sqlite3_open_v2(dbpath, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", dbpath, src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(src, 5000);
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", tmp, dst ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    bk = sqlite3_backup_init(dst, "main", src, "main");
    if (!bk) {
        snprintf(err, errlen, "cannot start the backup: %s", sqlite3_errmsg(dst));
        goto out;
    }
    do {
        rc = sqlite3_backup_step(bk, BACKUP_STEP_PAGES);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(20);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    *pages = sqlite3_backup_pagecount(bk);
    rc = sqlite3_backup_finish(bk);
    bk = NULL;
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "the backup failed: %s (is the disk full?)", sqlite3_errmsg(dst));
        goto out;
    }
    /* the copy is a standalone database: no WAL beside it */
    if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK || db_step(st) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
        snprintf(err, errlen, "the copy does not pass PRAGMA quick_check: %s", sqlite3_errmsg(dst));
        ret = STORE_ERROR;
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_close(dst) != SQLITE_OK) {
        snprintf(err, errlen, "cannot close %s", tmp);
        goto out;
    }
    dst = NULL;
    if (rename(tmp, dest) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, dest, strerror(errno));
        goto out;
    }
    made_tmp = 0;
    ret = STORE_OK;
out:
    if (bk)
        sqlite3_backup_finish(bk);
    sqlite3_finalize(st);
    if (dst)
        sqlite3_close(dst);
    if (src)
        sqlite3_close(src);
    if (made_tmp)
        unlink(tmp);
    return ret;
}

const struct store_admin_ops sqlite_admin_ops = {
    .token_create = sq_token_create,
    .token_lookup = sq_token_lookup,
    .token_revoke = sq_token_revoke,
    .token_list = sq_token_list,
    .token_count = sq_token_count,
    .purge = sq_purge,
    .cod_report = sq_cod_report,
    .remittance_import = sq_remittance_import,
    .backup = sq_backup,
};
