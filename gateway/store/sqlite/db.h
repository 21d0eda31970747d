/*
 * db - a SQLite connection with a cache of prepared statements
 *
 * db_stmt returns a reset, unbound statement for a static SQL string; the
 * cache is keyed by the string's address, so callers pass string literals
 * or static arrays. The db owns its statements and the connection; a
 * statement is borrowed until the next db_stmt with the same SQL on the
 * same db. A db_t is used by one thread at a time.
 */
#ifndef BCCI_DB_H
#define BCCI_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db db_t;

/* db_open - open path; readonly opens without write access. NULL and err on failure.
 * A writable connection appends its WAL through walbuf (walbuf.h), which is only safe
 * under PRAGMA synchronous=FULL: the caller sets it before the first write (sq_open does,
 * and checks it took). Read-only connections use SQLite's default VFS. */
db_t *db_open(const char *path, int readonly, char *err, size_t errlen);
void db_close(db_t **self);
sqlite3 *db_handle(db_t *self);
/* db_stmt - NULL when the SQL does not compile (logged) */
sqlite3_stmt *db_stmt(db_t *self, const char *sql);
/* db_reset_all - reset every cached statement still running; how many were. A statement
 * left on a row keeps a read transaction (and its old snapshot) open after COMMIT, so the
 * next BEGIN IMMEDIATE fails at once with SQLITE_BUSY once another process has written:
 * the store calls this at every transaction boundary. */
int db_reset_all(db_t *self);
/* db_step - sqlite3_step, through the failure injector */
int db_step(sqlite3_stmt *st);
/* db_fail_at - tests: make the nth db_step or db_exec from now (1 = the next) fail with
 * SQLITE_IOERR, the way SQLite's own tests fail the Nth I/O; 0 turns it off. Process-wide. */
void db_fail_at(long nth);
/* db_exec - run SQL without results; SQLite result code */
int db_exec(db_t *self, const char *sql);
/* db_run - run one cached statement without results, e.g. transaction control, which the
 * engine issues several times per batch: prepared once instead of parsed by every db_exec;
 * sql is a static string as for db_stmt. SQLite result code (SQLITE_OK when it ran). */
int db_run(db_t *self, const char *sql);
const char *db_errmsg(db_t *self);
/* db_transient - 1 when rc means "try again later" (busy, locked, full, I/O, read-only) */
int db_transient(int rc);

/* bind helpers: text may be NULL (binds NULL) */
void db_bind_text(sqlite3_stmt *st, int i, const char *text);
const char *db_col_text(sqlite3_stmt *st, int i); /* "" for NULL */

#endif
