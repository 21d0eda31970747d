/*
 * pg_db - connections, parameters, statements and errors of the PostgreSQL backend
 * (see pg_internal.h and pg_conn.h)
 */
#include "gateway/store/postgresql/pg_conn.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* ------------------------------------------------------------ parameters */

void
pg_params_init(pg_params_t *p)
{
    p->n = 0;
}

/* slot - the next parameter's index, or -1 once the list is full (pg_query then refuses) */
static int
slot(pg_params_t *p)
{
    if (p->n < 0 || p->n >= PG_MAX_PARAMS) {
        p->n = -1;
        return -1;
    }
    return p->n++;
}

void
pg_param_text(pg_params_t *p, const char *text)
{
    int i = slot(p);

    if (i >= 0)
        p->values[i] = text;
}

void
pg_param_int(pg_params_t *p, int64_t value)
{
    int i = slot(p);

    if (i >= 0) {
        snprintf(p->numbers[i], sizeof p->numbers[i], "%" PRId64, value);
        p->values[i] = p->numbers[i];
    }
}

void
pg_param_null(pg_params_t *p)
{
    pg_param_text(p, NULL);
}

/* ----------------------------------------------------------- connections */

/* setup - what every session of bccid needs, run after each (re)connect: a commit is
 * durable when it returns (whatever the server's default), times are never the server's */
static int
setup(pg_conn_t *self)
{
    PGresult *res;
    int ok;

    if (PQstatus(self->h) != CONNECTION_OK)
        return 0;
    res = PQexec(self->h, "SET synchronous_commit = on; SET client_encoding = 'UTF8'");
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

/* notices (e.g. "already exists, skipping") go to the debug log, not to stderr */
static void
notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("PostgreSQL: %.*s", (int)strcspn(message, "\n"), message);
}

pg_conn_t *
pg_conn_open(const char *conninfo, const char *password)
{
    /* the URI's own settings come first; these override them, the password only when given
     * (without it libpq looks in PGPASSFILE / ~/.pgpass) */
    const char *keys[] = { "dbname", "connect_timeout", "application_name", "keepalives_idle", "password", NULL };
    const char *values[] = { conninfo, "5", "bccid", "30", password, NULL };
    pg_conn_t *self = calloc(1, sizeof *self);

    if (!self)
        return NULL;
    if (!password)
        keys[4] = NULL;
    self->h = PQconnectdbParams(keys, values, 1);
    if (!self->h) {
        free(self);
        return NULL;
    }
    PQsetNoticeProcessor(self->h, notice, NULL);
    setup(self);
    return self;
}

void
pg_conn_close(pg_conn_t **selfp)
{
    pg_conn_t *self = *selfp;

    if (!self)
        return;
    PQfinish(self->h);
    free(self);
    *selfp = NULL;
}

int
pg_conn_ok(const pg_conn_t *self)
{
    return self && PQstatus(self->h) == CONNECTION_OK && PQtransactionStatus(self->h) == PQTRANS_IDLE;
}

int
pg_conn_reset(pg_conn_t *self)
{
    self->n = 0; /* a new session has no prepared statements */
    PQreset(self->h);
    return setup(self);
}

const char *
pg_conn_error(const pg_conn_t *self, char *buf, size_t len)
{
    snprintf(buf, len, "%s", self && self->h ? PQerrorMessage(self->h) : "no connection");
    buf[strcspn(buf, "\n")] = '\0';
    if (!*buf)
        snprintf(buf, len, "the connection to PostgreSQL is closed");
    return buf;
}

/* ---------------------------------------------------------------- errors */

store_rc_t
pg_rc_of(const char *sqlstate, PGconn *conn)
{
    if (!sqlstate || !*sqlstate)
        /* no SQLSTATE: libpq lost the server, or ran out of memory; both pass */
        return STORE_BUSY;
    if (strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0 ||
        strncmp(sqlstate, "53", 2) == 0 || strncmp(sqlstate, "57P", 3) == 0 || strcmp(sqlstate, "25006") == 0)
        return STORE_BUSY;
    if (conn && PQstatus(conn) != CONNECTION_OK)
        return STORE_BUSY;
    return STORE_ERROR;
}

const char *
pg_reason(const PGresult *res, const pg_conn_t *conn, char *buf, size_t len)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;

    if (primary)
        snprintf(buf, len, "%s%s%s", primary, detail ? ": " : "", detail ? detail : "");
    else
        pg_conn_error(conn, buf, len);
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

/* fail - record on tx why "what" failed with res (may be NULL) and return the mapped rc */
static store_rc_t
fail(store_tx_t *base, const char *what, PGresult *res)
{
    struct pg_tx *tx = (struct pg_tx *)base;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char reason[384];
    store_rc_t rc;

    snprintf(tx->sqlstate, sizeof tx->sqlstate, "%s", state ? state : "");
    pg_reason(res, tx->conn, reason, sizeof reason);
    rc = pg_rc_of(state, tx->conn->h);
    if (rc == STORE_BUSY)
        return store_tx_fail(base, STORE_BUSY, "the database cannot do this right now (%s: %s); retry later", what,
                             reason);
    return store_tx_fail(base, STORE_ERROR, "database error while %s: %s", what, reason);
}

const char *
pg_tx_sqlstate(const store_tx_t *tx)
{
    return ((const struct pg_tx *)tx)->sqlstate;
}

PGconn *
pg_tx_conn(store_tx_t *tx)
{
    return ((struct pg_tx *)tx)->conn->h;
}

const char *
pg_tx_instance(const store_tx_t *tx)
{
    return pg_store_instance(tx->store);
}

/* ------------------------------------------------------------ statements */

/* prepared - the name of sql's prepared statement on conn, preparing it on first use;
 * NULL with *res set (the failure, caller clears) when it does not prepare, and NULL with
 * *res NULL when the cache is full (the caller runs it unprepared) */
static const char *
prepared(pg_conn_t *c, const char *sql, int nparams, char name[16], PGresult **res)
{
    int i;

    *res = NULL;
    for (i = 0; i < c->n; i++) {
        if (c->cache[i] == sql) {
            snprintf(name, 16, "s%d", i);
            return name;
        }
    }
    if (c->n >= PG_STMT_CACHE) {
        static atomic_int warned;

        if (atomic_fetch_add(&warned, 1) == 0)
            log_warn("PostgreSQL statement cache full; raise PG_STMT_CACHE");
        return NULL;
    }
    snprintf(name, 16, "s%d", c->n);
    *res = PQprepare(c->h, name, sql, nparams, NULL);
    if (PQresultStatus(*res) != PGRES_COMMAND_OK)
        return NULL;
    PQclear(*res);
    *res = NULL;
    c->cache[c->n++] = sql;
    return name;
}

const char *
pg_with_releases(struct pg_tx *tx, const char *sql, char *buf, size_t len)
{
    size_t n = 0;

    if (!tx->releases)
        return sql;
    buf[0] = '\0';
    for (; tx->releases > 0; tx->releases--)
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s", PG_RELEASE);
    snprintf(buf + n, n < len ? len - n : 0, "%s", sql);
    return buf;
}

store_rc_t
pg_query(store_tx_t *base, const char *what, const char *sql, const pg_params_t *params, PGresult **out)
{
    struct pg_tx *tx = (struct pg_tx *)base;
    int n = params ? params->n : 0;
    const char *const *values = params ? params->values : NULL;
    PGresult *res = NULL;
    const char *name;
    char namebuf[16];
    ExecStatusType st;

    *out = NULL;
    if (n < 0)
        return store_tx_fail(base, STORE_ERROR, "database error while %s: more than %d parameters", what,
                             PG_MAX_PARAMS);
    if (tx->releases) {
        /* a statement between operations: the releases go first, on their own */
        char buf[256];
        store_rc_t rc = pg_simple(base, "ending an operation", pg_with_releases(tx, "SELECT 1", buf, sizeof buf));

        if (rc != STORE_OK)
            return rc;
    }
    name = prepared(tx->conn, sql, n, namebuf, &res);
    if (name)
        res = PQexecPrepared(tx->conn->h, name, n, values, NULL, NULL, 0);
    else if (!res)
        res = PQexecParams(tx->conn->h, sql, n, NULL, values, NULL, NULL, 0);
    st = PQresultStatus(res);
    if (res && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)) {
        tx->sqlstate[0] = '\0';
        *out = res;
        return STORE_OK;
    }
    if (!name && res && st != PGRES_FATAL_ERROR)
        log_debug("unexpected result %s for: %.80s", PQresStatus(st), sql);
    {
        store_rc_t rc = fail(base, what, res);

        PQclear(res);
        return rc;
    }
}

store_rc_t
pg_exec(store_tx_t *tx, const char *what, const char *sql, const pg_params_t *params, int *affected)
{
    PGresult *res = NULL;
    store_rc_t rc = pg_query(tx, what, sql, params, &res);

    if (rc == STORE_OK && affected)
        *affected = atoi(PQcmdTuples(res));
    PQclear(res);
    return rc;
}

store_rc_t
pg_simple(store_tx_t *base, const char *what, const char *sql)
{
    struct pg_tx *tx = (struct pg_tx *)base;
    PGresult *res = PQexec(tx->conn->h, sql);
    store_rc_t rc = STORE_OK;

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = fail(base, what, res);
    PQclear(res);
    return rc;
}

/* --------------------------------------------------------------- columns */

const char *
pg_text(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col);
}

int64_t
pg_int(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : (int64_t)strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int
pg_isnull(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col);
}

char *
pg_strdup_col(const PGresult *res, int row, int col)
{
    return strdup(pg_text(res, row, col));
}
