/*
 * db - SQLite connection plus prepared-statement cache (see db.h)
 */
#include "gateway/store/sqlite/db.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "gateway/store/sqlite/walbuf.h"
#include "log.h"

#define DB_STMT_CACHE 96

struct db {
    sqlite3 *h;
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cache[DB_STMT_CACHE];
    int n;
};

/* SQLite counts every allocation under a global mutex for sqlite3_status(), which nothing
 * here reads; off, before SQLite initialises itself at the first open */
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void
configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

db_t *
db_open(const char *path, int readonly, char *err, size_t errlen)
{
    db_t *self = calloc(1, sizeof *self);
    int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);

    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_once(&config_once, configure_sqlite);
    flags |= SQLITE_OPEN_NOMUTEX;
    /* the writing connection appends its WAL through walbuf, which requires it to run
     * synchronous=FULL (the store sets and checks that); readers never write the WAL */
    if (!readonly && walbuf_register() != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: SQLite has no default VFS to wrap", path);
        free(self);
        return NULL;
    }
    if (sqlite3_open_v2(path, &self->h, flags, readonly ? NULL : WALBUF_VFS_NAME) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path, self->h ? sqlite3_errmsg(self->h) : "no memory");
        sqlite3_close(self->h);
        free(self);
        return NULL;
    }
    sqlite3_extended_result_codes(self->h, 1);
    return self;
}

void
db_close(db_t **selfp)
{
    db_t *self = *selfp;
    int i;

    if (!self)
        return;
    for (i = 0; i < self->n; i++)
        sqlite3_finalize(self->cache[i].st);
    sqlite3_close(self->h);
    free(self);
    *selfp = NULL;
}

sqlite3 *
db_handle(db_t *self)
{
    return self->h;
}

sqlite3_stmt *
db_stmt(db_t *self, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int i;

    for (i = 0; i < self->n; i++) {
        if (self->cache[i].sql == sql) {
            st = self->cache[i].st;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
    }
    if (sqlite3_prepare_v3(self->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        log_error("SQL does not compile: %s (%.80s)", sqlite3_errmsg(self->h), sql);
        return NULL;
    }
    if (self->n < DB_STMT_CACHE) {
        self->cache[self->n].sql = sql;
        self->cache[self->n].st = st;
        self->n++;
    } else {
        log_error("statement cache full; raise DB_STMT_CACHE");
    }
    return st;
}

int
db_reset_all(db_t *self)
{
    int i, n = 0;

    for (i = 0; i < self->n; i++) {
        if (sqlite3_stmt_busy(self->cache[i].st)) {
            log_debug("statement left running, reset: %.80s", self->cache[i].sql);
            sqlite3_reset(self->cache[i].st);
            n++;
        }
    }
    return n;
}

/* failure injection (tests only): the countdown to the step that fails; 0 = off */
static atomic_long fail_countdown;

void
db_fail_at(long nth)
{
    atomic_store(&fail_countdown, nth);
}

static int
injected_failure(void)
{
    long left = atomic_load(&fail_countdown);

    while (left > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &left, left - 1))
            return left == 1;
    }
    return 0;
}

int
db_step(sqlite3_stmt *st)
{
    if (injected_failure())
        return SQLITE_IOERR;
    return sqlite3_step(st);
}

int
db_exec(db_t *self, const char *sql)
{
    char *msg = NULL;
    int rc = injected_failure() ? SQLITE_IOERR : sqlite3_exec(self->h, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK)
        log_warn("SQL failed: %s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return rc;
}

int
db_run(db_t *self, const char *sql)
{
    sqlite3_stmt *st = db_stmt(self, sql);
    int rc;

    if (!st)
        return SQLITE_ERROR;
    rc = db_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return SQLITE_OK;
    log_warn("SQL failed: %s", sqlite3_errstr(rc));
    return rc;
}

const char *
db_errmsg(db_t *self)
{
    return sqlite3_errmsg(self->h);
}

int
db_transient(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
        return 1;
    }
    return 0;
}

void
db_bind_text(sqlite3_stmt *st, int i, const char *text)
{
    if (text)
        sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

const char *
db_col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t ? (const char *)t : "";
}
