/*
 * store_fixture - a temporary store for unit tests (see store_fixture.h)
 */
#include "tests/unit/support/store_fixture.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/store/sqlite/db.h"
#include "gateway/store/sqlite/sqlite_access.h"

int
store_fixture_sqlite(void)
{
    const char *b = getenv("BCCI_TEST_STORE");

    return !b || !*b || strcmp(b, "sqlite") == 0;
}

/* pg_connect - a connection to database db of the test server; NULL with a message */
static PGconn *
pg_connect(const char *db)
{
    const char *base = getenv("BCCI_TEST_PG_URI"), *pwfile = getenv("BCCI_TEST_PG_PASSWORD_FILE");
    const char *keys[] = { "dbname", "dbname", "options", "password", NULL };
    const char *values[] = { base, db, "-c client_min_messages=warning", NULL, NULL };
    char password[256] = "";
    FILE *fp = pwfile ? fopen(pwfile, "r") : NULL;
    PGconn *c;

    if (!base || !*base) {
        fprintf(stderr, "store_fixture: BCCI_TEST_STORE=postgresql needs BCCI_TEST_PG_URI (tests/pg/pg_server.py run)\n");
        return NULL;
    }
    if (fp) {
        if (fgets(password, sizeof password, fp))
            password[strcspn(password, "\r\n")] = '\0';
        fclose(fp);
        values[3] = password;
    } else {
        keys[3] = NULL;
    }
    c = PQconnectdbParams(keys, values, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "store_fixture: cannot connect to %s%s: %s", base, db, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

static int
pg_run(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

    if (!ok)
        fprintf(stderr, "store_fixture: %s(for %.200s)\n", PQresultErrorMessage(res), sql);
    PQclear(res);
    return ok ? 0 : -1;
}

/* pg_database - this process's database on the test server, created at the first call */
static const char *
pg_database(void)
{
    static char name[64];
    char sql[160];
    PGconn *c;

    if (name[0])
        return name;
    snprintf(name, sizeof name, "unit_%ld", (long)getpid());
    c = pg_connect("postgres");
    if (!c)
        return NULL;
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
    if (pg_run(c, sql) != 0) {
        PQfinish(c);
        return NULL;
    }
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0", name);
    if (pg_run(c, sql) != 0) {
        PQfinish(c);
        name[0] = '\0';
        return NULL;
    }
    PQfinish(c);
    return name;
}

static int
open_postgresql(store_fixture_t *f)
{
    const char *db = pg_database(), *pwfile = getenv("BCCI_TEST_PG_PASSWORD_FILE");

    if (!db || !(f->pg = pg_connect(db)))
        return -1;
    /* every test starts from the migrations, as a new SQLite file does */
    if (pg_run(f->pg, "DROP SCHEMA public CASCADE; CREATE SCHEMA public") != 0)
        return -1;
    snprintf(f->uri, sizeof f->uri, "%s%s%s%s", getenv("BCCI_TEST_PG_URI"), db,
             pwfile && *pwfile ? "?password_file=" : "", pwfile && *pwfile ? pwfile : "");
    return 0;
}

int
store_fixture_open(store_fixture_t *f)
{
    const char *tmp = getenv("TMPDIR");
    char err[512];

    memset(f, 0, sizeof *f);
    if (store_fixture_sqlite()) {
        snprintf(f->dir, sizeof f->dir, "%s/store_test.XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
        if (!mkdtemp(f->dir)) {
            perror("mkdtemp");
            return -1;
        }
        snprintf(f->uri, sizeof f->uri, "sqlite:%s/bcci.db", f->dir);
    } else if (open_postgresql(f) != 0) {
        return -1;
    }
    f->store = store_open(f->uri, err, sizeof err);
    if (!f->store) {
        fprintf(stderr, "store_fixture: %s\n", err);
        return -1;
    }
    return 0;
}

void
store_fixture_close(store_fixture_t *f)
{
    static const char *const files[] = { "bcci.db", "bcci.db-wal", "bcci.db-shm", "bcci.db-tokens", "s10-reserved" };
    char path[700];
    size_t i;

    store_close(&f->store);
    if (f->pg) {
        PQfinish(f->pg);
        f->pg = NULL;
    }
    if (!f->dir[0])
        return;
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
        unlink(path);
    }
    rmdir(f->dir);
}

/* the identity sequences past the highest id of each table, after rows with explicit ids */
static const char PG_SYNC_IDS[] =
    "DO $$ DECLARE t record; BEGIN"
    " FOR t IN SELECT table_name FROM information_schema.columns"
    "   WHERE table_schema = 'public' AND column_name = 'id' AND is_identity = 'YES' LOOP"
    "   EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, ''id''), COALESCE(MAX(id), 0) + 1, false) FROM %I',"
    "                  t.table_name, t.table_name);"
    " END LOOP; END $$";

int
store_fixture_exec(store_fixture_t *f, const char *sql)
{
    if (f->pg)
        return pg_run(f->pg, sql) == 0 && pg_run(f->pg, PG_SYNC_IDS) == 0 ? 0 : -1;
    if (db_exec(store_writer(f->store), sql) != SQLITE_OK) {
        fprintf(stderr, "store_fixture: %s (for %.200s)\n", db_errmsg(store_writer(f->store)), sql);
        return -1;
    }
    return 0;
}

/* first - the first column of sql's first row into out; 0, or -1 when there is none */
static int
first(store_fixture_t *f, const char *sql, char *out, size_t len)
{
    int found = 0;

    if (f->pg) {
        PGresult *res = PQexec(f->pg, sql);

        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) {
            snprintf(out, len, "%s", PQgetvalue(res, 0, 0));
            found = 1;
        } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "store_fixture: %s(for %.200s)\n", PQresultErrorMessage(res), sql);
        }
        PQclear(res);
    } else {
        sqlite3_stmt *st = NULL;

        if (sqlite3_prepare_v2(db_handle(store_writer(f->store)), sql, -1, &st, NULL) != SQLITE_OK)
            fprintf(stderr, "store_fixture: %s (for %.200s)\n", db_errmsg(store_writer(f->store)), sql);
        else if (sqlite3_step(st) == SQLITE_ROW) {
            snprintf(out, len, "%s", db_col_text(st, 0));
            found = 1;
        }
        sqlite3_finalize(st);
    }
    return found ? 0 : -1;
}

long long
store_fixture_int(store_fixture_t *f, const char *sql)
{
    char v[32];

    return first(f, sql, v, sizeof v) == 0 ? strtoll(v, NULL, 10) : -1;
}

const char *
store_fixture_text(store_fixture_t *f, const char *sql, char *out, size_t len)
{
    if (first(f, sql, out, len) != 0)
        snprintf(out, len, "(none)");
    return out;
}
