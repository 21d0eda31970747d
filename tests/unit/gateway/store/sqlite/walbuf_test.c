/*
 * walbuf_test - the writer's WAL through walbuf on a real file: appends gathered into few
 * writes, committed rows seen by a reader on the default VFS, a transaction bigger than the
 * buffer that spills and rewrites its own frames, a rollback, and a process that dies with a
 * transaction open losing that transaction and nothing committed before it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/store/sqlite/db.h"
#include "gateway/store/sqlite/walbuf.h"

typedef struct {
    char dir[64];
    char path[96];
    db_t *writer;
} fixture_t;

static void
must(db_t *db, const char *sql)
{
    if (db_exec(db, sql) != SQLITE_OK)
        fail_msg("%s: %s", sql, db_errmsg(db));
}

static long long
query_int(db_t *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v;

    if (sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, db_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static db_t *
open_db(const char *path, int readonly)
{
    char err[256];
    db_t *db = db_open(path, readonly, err, sizeof err);

    if (!db)
        fail_msg("%s", err);
    return db;
}

/* insert_rows - rows first..last of t, each body the SQL expression body (of i) */
static void
insert_rows(db_t *db, int first, int last, const char *body)
{
    char sql[256];

    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO t(id, body) SELECT i, %s FROM n",
             first, last, body);
    must(db, sql);
}

/* read_back - what a new reader on the default VFS answers to sql */
static long long
read_back(const char *path, const char *sql)
{
    db_t *reader = open_db(path, 1);
    long long v = query_int(reader, sql);

    db_close(&reader);
    return v;
}

static long long
integrity_problems(db_t *db)
{
    return query_int(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'");
}

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);

    snprintf(f->dir, sizeof f->dir, "/tmp/walbuf-test-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    f->writer = open_db(f->path, 0);
    assert_int_equal(query_int(f->writer, "PRAGMA journal_mode=WAL") >= 0, 1);
    must(f->writer, "PRAGMA synchronous=FULL");
    must(f->writer, "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[128];

    db_close(&f->writer);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void
test_commit_goes_out_in_few_writes_and_readers_see_it(void **state)
{
    fixture_t *f = *state;
    unsigned long writes0 = walbuf_writes(), flushes0 = walbuf_flushes();

    must(f->writer, "BEGIN IMMEDIATE");
    insert_rows(f->writer, 1, 100, "randomblob(1000)");
    must(f->writer, "COMMIT");
    /* about 25 pages of 4 KiB, each a frame header and a page: some 50 writes from SQLite,
     * one or two (a run is written in pieces below 128 KiB) to the kernel */
    assert_true(walbuf_writes() - writes0 >= 20);
    assert_true(walbuf_flushes() - flushes0 <= 3);
    assert_int_equal(read_back(f->path, "SELECT count(*) FROM t"), 100);
}

static void
test_transaction_bigger_than_the_buffer_spills_and_rewrites(void **state)
{
    fixture_t *f = *state;

    /* a tiny page cache makes SQLite spill dirty pages to the WAL mid-transaction and read
     * them back, then write the same pages again before the commit frame */
    must(f->writer, "PRAGMA cache_size=8");
    must(f->writer, "BEGIN IMMEDIATE");
    insert_rows(f->writer, 1, 3000, "zeroblob(1000)");
    must(f->writer, "UPDATE t SET body = CAST(printf('%01000d', id) AS BLOB)");
    must(f->writer, "COMMIT");
    assert_int_equal(read_back(f->path, "SELECT count(*) FROM t"), 3000);
    assert_int_equal(read_back(f->path, "SELECT sum(CAST(body AS TEXT) = printf('%01000d', id)) FROM t"), 3000);
    assert_int_equal(query_int(f->writer, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
    assert_int_equal(read_back(f->path, "SELECT count(*) FROM t WHERE length(body) = 1000"), 3000);
}

static void
test_rollback_leaves_nothing_and_the_next_commit_works(void **state)
{
    fixture_t *f = *state;

    must(f->writer, "PRAGMA cache_size=8");
    must(f->writer, "INSERT INTO t(id, body) VALUES (1, x'01')");
    must(f->writer, "BEGIN IMMEDIATE");
    insert_rows(f->writer, 2, 2000, "randomblob(1000)");
    must(f->writer, "ROLLBACK");
    must(f->writer, "INSERT INTO t(id, body) VALUES (2, x'02')");
    assert_int_equal(read_back(f->path, "SELECT count(*) FROM t"), 2);
    assert_int_equal(read_back(f->path, "SELECT sum(id) FROM t"), 3);
    assert_int_equal(integrity_problems(f->writer), 0);
}

static void
test_a_process_killed_mid_transaction_keeps_what_it_committed(void **state)
{
    fixture_t *f = *state;
    pid_t pid;
    int status = 0;
    db_t *db;

    db_close(&f->writer);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        db_t *child = open_db(f->path, 0);

        if (db_exec(child, "PRAGMA synchronous=FULL") != SQLITE_OK ||
            db_exec(child, "INSERT INTO t(id, body) VALUES (7, x'07')") != SQLITE_OK ||
            db_exec(child, "BEGIN IMMEDIATE") != SQLITE_OK ||
            db_exec(child, "WITH RECURSIVE n(i) AS (SELECT 100 UNION ALL SELECT i + 1 FROM n WHERE i < 400) "
                           "INSERT INTO t(id, body) SELECT i, randomblob(1000) FROM n") != SQLITE_OK)
            _exit(1);
        _exit(0); /* no COMMIT, no close: what a SIGKILL leaves */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    db = open_db(f->path, 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 1);
    assert_int_equal(query_int(db, "SELECT id FROM t"), 7);
    assert_int_equal(integrity_problems(db), 0);
    f->writer = db;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_goes_out_in_few_writes_and_readers_see_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_bigger_than_the_buffer_spills_and_rewrites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing_and_the_next_commit_works, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_process_killed_mid_transaction_keeps_what_it_committed, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
