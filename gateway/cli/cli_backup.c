/*
 * cli_backup - `bcci backup`: an online copy of bccid's live database
 *
 * Uses SQLite's online backup API on a read-only connection to the WAL
 * database, copying a few hundred pages per step so bccid's writer is never
 * held for long; a step that finds the database busy is retried. The copy is
 * written to dest.partial and renamed to dest once complete and checked
 * (PRAGMA quick_check), so dest is either absent or a whole database.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gateway/cli/cli.h"

#define STEP_PAGES 256

int
cli_backup(const char *dbpath, const char *dest, long long *pages, char *err, size_t errlen)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *bk = NULL;
    sqlite3_stmt *st = NULL;
    char tmp[4096];
    int rc, ret = -1;

    *pages = 0;
    if (access(dest, F_OK) == 0) {
        snprintf(err, errlen, "%s exists; choose a new file name (backups are never overwritten)", dest);
        return -1;
    }
    if (access(dbpath, R_OK) != 0) {
        snprintf(err, errlen, "cannot read the database %s: %s (give --db STATE_DIR/bcci.db)", dbpath,
                 strerror(errno));
        return -1;
    }
    if (snprintf(tmp, sizeof tmp, "%s.partial", dest) >= (int)sizeof tmp) {
        snprintf(err, errlen, "the destination path is too long");
        return -1;
    }
    unlink(tmp);
    if (sqlite3_open_v2(dbpath, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", dbpath, src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(src, 5000);
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, dst ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    bk = sqlite3_backup_init(dst, "main", src, "main");
    if (!bk) {
        snprintf(err, errlen, "cannot start the backup: %s", sqlite3_errmsg(dst));
        goto out;
    }
    do {
        rc = sqlite3_backup_step(bk, STEP_PAGES);
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
        sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
        snprintf(err, errlen, "the copy does not pass PRAGMA quick_check: %s", sqlite3_errmsg(dst));
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
    ret = 0;
out:
    if (bk)
        sqlite3_backup_finish(bk);
    sqlite3_finalize(st);
    if (dst)
        sqlite3_close(dst);
    if (src)
        sqlite3_close(src);
    if (ret != 0)
        unlink(tmp);
    return ret;
}
