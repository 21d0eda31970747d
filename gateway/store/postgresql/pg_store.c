/*
 * pg_store - the PostgreSQL backend of the store: connections, transactions,
 * health and leadership (see store.h, store_backend.h, pg_internal.h)
 *
 * Selected by "postgresql://USER@HOST:PORT/DBNAME" (a libpq URI; its query may
 * carry libpq parameters, and password_file=PATH, a 0600 file holding the
 * password, which bccid's store_password_file adds; without it libpq's own
 * PGPASSFILE / ~/.pgpass lookup applies).
 *
 * One writer connection, used by one thread at a time (bccid's engine):
 * BEGIN (READ COMMITTED: the areas lock what they change, FOR UPDATE / SKIP
 * LOCKED, so several instances can share the database), a SAVEPOINT per
 * operation, COMMIT with synchronous_commit on, so STORE_OK means the commit
 * is durable. Readers come from a pool of connections, each transaction a
 * REPEATABLE READ READ ONLY snapshot. A connection found lost is reset at the
 * next tx_begin, so bccid recovers by itself when PostgreSQL comes back;
 * meanwhile transactions fail with STORE_BUSY and store_health says why.
 */
#include "gateway/store/postgresql/pg_conn.h"
#include "gateway/store/postgresql/pg_schema.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "secret.h"

#define STORE_READERS 16
#define LEADER_ROLES 8
#define PASSWORD_MAX 1024

struct pg_store {
    store_t base;
    char *conninfo;             /* the libpq URI, without password_file */
    char *password;             /* from password_file; NULL: libpq's lookup */
    char instance[17];          /* random hex, new at every open */
    pg_conn_t *writer;
    pthread_mutex_t readers_lock;
    pg_conn_t *readers[STORE_READERS];
    int nreaders;
    pthread_mutex_t health_lock;
    int failing;                /* the last write transaction could not begin or commit */
    char failing_why[400];
    pthread_mutex_t own_lock;
    pg_conn_t *own;             /* pg_own_query's: statements committed apart from any transaction */
    int own_pid;                /* the server process of own's session once its lock_timeout is set */
    struct pg_s10 *s10;         /* the S10 blocks of this instance (pg_dossiers.c) */
    pthread_mutex_t leader_lock;
    pg_conn_t *leader;          /* holds the advisory locks of the roles in held[] */
    char *held[LEADER_ROLES];
};

typedef struct pg_store pg_store_t;

static pg_store_t *
S(store_t *s)
{
    return (pg_store_t *)s;
}

const char *
pg_store_instance(const store_t *store)
{
    return ((const pg_store_t *)store)->instance;
}

/* ------------------------------------------------------------- the URI */

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* percent_decode - a URI component in place */
static void
percent_decode(char *s)
{
    char *w = s;

    for (; *s; s++) {
        if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *w++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
}

/* split_uri - "postgresql:" + location into the libpq URI without password_file (*conninfo)
 * and the decoded password_file (*passfile, NULL when absent); both malloc'd. -1 with err. */
static int
split_uri(const char *location, char **conninfo, char **passfile, char *err, size_t errlen)
{
    size_t cap = strlen(location) + sizeof "postgresql:", n;
    char *copy = strdup(location), *uri = malloc(cap), *query, *param, *save = NULL, sep = '?';

    *conninfo = *passfile = NULL;
    if (!copy || !uri) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (strncmp(location, "//", 2) != 0 || !location[2] || location[2] == '/' || location[2] == '?') {
        snprintf(err, errlen,
                 "store 'postgresql:%.200s' names no server; write it as postgresql://USER@HOST:PORT/DBNAME",
                 location);
        goto fail;
    }
    query = strchr(copy, '?');
    if (query)
        *query++ = '\0';
    n = (size_t)snprintf(uri, cap, "postgresql:%s", copy);
    /* the query without password_file: libpq refuses a parameter it does not know */
    for (param = query ? strtok_r(query, "&", &save) : NULL; param; param = strtok_r(NULL, "&", &save)) {
        if (strncmp(param, "password_file=", 14) == 0) {
            free(*passfile);
            *passfile = strdup(param + 14);
            if (!*passfile) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            percent_decode(*passfile);
            continue;
        }
        n += (size_t)snprintf(uri + n, cap - n, "%c%s", sep, param);
        sep = '&';
    }
    free(copy);
    *conninfo = uri;
    return 0;
fail:
    free(copy);
    free(uri);
    free(*passfile);
    *passfile = NULL;
    return -1;
}

/* ------------------------------------------------------------- health */

static void
set_health(pg_store_t *self, int failing, const char *why)
{
    pthread_mutex_lock(&self->health_lock);
    if (failing && !self->failing)
        log_warn("the store fails: %s", why ? why : "");
    else if (!failing && self->failing)
        log_info("the store works again");
    self->failing = failing;
    snprintf(self->failing_why, sizeof self->failing_why, "%s", why ? why : "");
    pthread_mutex_unlock(&self->health_lock);
}

static store_rc_t
pg_health(store_t *base, const char **why)
{
    pg_store_t *self = S(base);
    store_rc_t rc;

    pthread_mutex_lock(&self->health_lock);
    rc = self->failing ? STORE_BUSY : STORE_OK;
    if (why)
        *why = self->failing ? self->failing_why : NULL;
    pthread_mutex_unlock(&self->health_lock);
    return rc;
}

/* -------------------------------------------------------- open / close */

static void pg_close(store_t *base);

static store_t *
pg_open(const char *location, char *err, size_t errlen)
{
    pg_store_t *self = calloc(1, sizeof *self);
    char *passfile = NULL, why[256];
    uint8_t id[8];

    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->readers_lock, NULL);
    pthread_mutex_init(&self->health_lock, NULL);
    pthread_mutex_init(&self->leader_lock, NULL);
    pthread_mutex_init(&self->own_lock, NULL);
    if (split_uri(location, &self->conninfo, &passfile, err, errlen) != 0)
        goto fail;
    if (passfile) {
        char msg[256];
        size_t n = 0;

        self->password = malloc(PASSWORD_MAX);
        if (!self->password || secret_file_read(passfile, self->password, PASSWORD_MAX, &n, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "store_password_file: %s", self->password ? msg : "out of memory");
            goto fail;
        }
    }
    if (random_bytes(id, sizeof id) != 0) {
        snprintf(err, errlen, "cannot choose an instance id: the system's random generator failed");
        goto fail;
    }
    hex_encode(id, sizeof id, self->instance);
    self->writer = pg_conn_open(self->conninfo, self->password);
    if (!self->writer) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (PQstatus(self->writer->h) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to PostgreSQL (%s): %s; is the server running and the password right?",
                 self->conninfo, pg_conn_error(self->writer, why, sizeof why));
        goto fail;
    }
    if (pg_schema_migrate(self->writer->h, err, errlen) != 0)
        goto fail;
    self->s10 = pg_s10_new();
    if (!self->s10) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    free(passfile);
    log_info("store: PostgreSQL %s, instance %s", self->conninfo, self->instance);
    return &self->base;
fail:
    free(passfile);
    pg_close(&self->base);
    return NULL;
}

static void
leader_drop(pg_store_t *self)
{
    int i;

    if (self->leader && PQstatus(self->leader->h) == CONNECTION_OK) {
        /* at once: the server would only release them once the closed session's process exits */
        PGresult *res = PQexec(self->leader->h, "SELECT pg_advisory_unlock_all()");

        PQclear(res);
    }

    for (i = 0; i < LEADER_ROLES; i++) {
        free(self->held[i]);
        self->held[i] = NULL;
    }
    pg_conn_close(&self->leader);
}

static void
pg_close(store_t *base)
{
    pg_store_t *self = S(base);
    int i;

    if (self->s10)
        pg_s10_close(base, &self->s10); /* while the connections still work */
    for (i = 0; i < self->nreaders; i++)
        pg_conn_close(&self->readers[i]);
    pg_conn_close(&self->writer);
    pg_conn_close(&self->own);
    leader_drop(self); /* closing the session gives the leadership up at once */
    pthread_mutex_destroy(&self->readers_lock);
    pthread_mutex_destroy(&self->health_lock);
    pthread_mutex_destroy(&self->leader_lock);
    pthread_mutex_destroy(&self->own_lock);
    free(self->conninfo);
    if (self->password) {
        memset(self->password, 0, PASSWORD_MAX);
        free(self->password);
    }
    free(self);
}

/* ------------------------------------------------------------ readers */

static pg_conn_t *
reader_get(pg_store_t *self)
{
    pg_conn_t *c = NULL;

    pthread_mutex_lock(&self->readers_lock);
    if (self->nreaders > 0)
        c = self->readers[--self->nreaders];
    pthread_mutex_unlock(&self->readers_lock);
    return c ? c : pg_conn_open(self->conninfo, self->password);
}

static void
reader_put(pg_store_t *self, pg_conn_t *c)
{
    if (!c)
        return;
    if (!pg_conn_ok(c)) {
        pg_conn_close(&c);
        return;
    }
    pthread_mutex_lock(&self->readers_lock);
    if (self->nreaders < STORE_READERS) {
        self->readers[self->nreaders++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&self->readers_lock);
    pg_conn_close(&c);
}

/* -------------------------------------------------------- transactions */

/* begin - BEGIN on tx's connection; a session found lost (PostgreSQL restarted, the network
 * dropped it) is reset and tried once more */
static store_rc_t
begin(struct pg_tx *tx, const char *sql)
{
    store_rc_t rc;

    if (PQstatus(tx->conn->h) == CONNECTION_OK && PQtransactionStatus(tx->conn->h) != PQTRANS_IDLE) {
        PGresult *res = PQexec(tx->conn->h, "ROLLBACK"); /* left open by a failure: start clean */

        PQclear(res);
    }
    if (PQstatus(tx->conn->h) == CONNECTION_OK) {
        rc = pg_simple(&tx->base, "starting a transaction", sql);
        if (rc == STORE_OK || PQstatus(tx->conn->h) == CONNECTION_OK)
            return rc;
    }
    if (!pg_conn_reset(tx->conn)) {
        char why[256];

        return store_tx_fail(&tx->base, STORE_BUSY, "PostgreSQL is unreachable (%s); retry later",
                             pg_conn_error(tx->conn, why, sizeof why));
    }
    log_info("store: reconnected to PostgreSQL");
    return pg_simple(&tx->base, "starting a transaction", sql);
}

static store_rc_t
pg_tx_begin(store_t *base, store_mode_t mode, store_tx_t **out)
{
    pg_store_t *self = S(base);
    struct pg_tx *tx = calloc(1, sizeof *tx);
    store_rc_t rc;

    if (!tx)
        return STORE_BUSY;
    tx->base.store = base;
    tx->base.mode = mode;
    if (mode == STORE_WRITE) {
        tx->conn = self->writer;
        rc = begin(tx, "BEGIN");
        if (rc != STORE_OK) {
            set_health(self, 1, tx->base.message);
            free(tx);
            return rc;
        }
    } else {
        tx->conn = reader_get(self);
        if (!tx->conn) {
            free(tx);
            return STORE_BUSY;
        }
        rc = begin(tx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        if (rc != STORE_OK) {
            log_debug("%s", tx->base.message);
            reader_put(self, tx->conn);
            free(tx);
            return rc;
        }
    }
    *out = &tx->base;
    return STORE_OK;
}

static store_rc_t
pg_tx_savepoint(store_tx_t *base)
{
    struct pg_tx *tx = (struct pg_tx *)base;
    char buf[256];
    store_rc_t rc = pg_simple(base, "starting an operation", pg_with_releases(tx, "SAVEPOINT op", buf, sizeof buf));

    if (rc == STORE_OK)
        tx->depth++;
    return rc;
}

static store_rc_t
pg_tx_release(store_tx_t *base, int keep)
{
    struct pg_tx *tx = (struct pg_tx *)base;

    char buf[256];

    if (tx->depth == 0)
        return store_tx_fail(base, STORE_ERROR, "release without a savepoint");
    tx->depth--;
    /* A kept operation's RELEASE cannot fail while the transaction is sound, so it waits and
     * travels with the next SAVEPOINT, statement or COMMIT: one round trip less per operation
     * of a group commit. A failed transaction hears it now, to say so. */
    if (keep && PQtransactionStatus(tx->conn->h) == PQTRANS_INTRANS && tx->releases < 8) {
        tx->releases++;
        return STORE_OK;
    }
    /* one round trip: the server runs them all, or stops at the first that fails */
    return pg_simple(base, "ending an operation",
                     pg_with_releases(tx, keep ? "RELEASE SAVEPOINT op" : "ROLLBACK TO SAVEPOINT op; RELEASE SAVEPOINT op",
                                      buf, sizeof buf));
}

static void
tx_end(struct pg_tx *tx)
{
    PGconn *h = tx->conn->h;

    if (PQstatus(h) == CONNECTION_OK && PQtransactionStatus(h) != PQTRANS_IDLE) {
        PGresult *res = PQexec(h, "ROLLBACK");

        PQclear(res);
    }
    if (tx->base.mode == STORE_READ)
        reader_put(S(tx->base.store), tx->conn);
    free(tx);
}

static store_rc_t
pg_tx_commit(store_tx_t *base)
{
    struct pg_tx *tx = (struct pg_tx *)base;
    PGconn *h = tx->conn->h;
    store_rc_t r = STORE_OK;

    if (PQtransactionStatus(h) == PQTRANS_INERROR) {
        /* PostgreSQL would answer COMMIT with ROLLBACK: say so rather than pretend */
        char earlier[STORE_MESSAGE_MAX];

        snprintf(earlier, sizeof earlier, "%s", base->message[0] ? base->message : "no message");
        r = store_tx_fail(base, STORE_ERROR, "not committed: a statement of the transaction failed (%s)", earlier);
    } else {
        char buf[256];
        PGresult *res = PQexec(h, pg_with_releases(tx, "COMMIT", buf, sizeof buf));

        if (PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(res), "COMMIT") != 0) {
            struct pg_tx *t = tx;
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            char why[256];

            snprintf(t->sqlstate, sizeof t->sqlstate, "%s", state ? state : "");
            r = pg_rc_of(state, h);
            store_tx_fail(base, r, "%s (%s)",
                          r == STORE_BUSY ? "the database could not commit; retry later" : "the commit failed",
                          pg_reason(res, tx->conn, why, sizeof why));
        }
        PQclear(res);
    }
    if (r != STORE_OK)
        log_error("%s", base->message);
    if (tx->base.mode == STORE_WRITE)
        set_health(S(tx->base.store), r == STORE_BUSY, r == STORE_BUSY ? base->message : NULL);
    tx_end(tx);
    return r;
}

static void
pg_tx_abort(store_tx_t *base)
{
    tx_end((struct pg_tx *)base);
}

/* ------------------------------------------------- statements of their own */

struct pg_s10 *
pg_tx_s10(store_tx_t *tx)
{
    return S(tx->store)->s10;
}

store_rc_t
pg_own_query(store_tx_t *tx, const char *what, const char *sql, const pg_params_t *params, PGresult **out)
{
    pg_store_t *self = S(tx->store);
    struct pg_tx own = { .base = { .store = tx->store, .mode = STORE_WRITE } };
    store_rc_t rc;

    *out = NULL;
    pthread_mutex_lock(&self->own_lock);
    if (!self->own)
        self->own = pg_conn_open(self->conninfo, self->password);
    own.conn = self->own;
    if (!own.conn) {
        rc = store_tx_fail(tx, STORE_BUSY, "out of memory while %s", what);
    } else if (PQstatus(own.conn->h) != CONNECTION_OK && !pg_conn_reset(own.conn)) {
        char why[256];

        rc = store_tx_fail(tx, STORE_BUSY, "PostgreSQL is unreachable while %s (%s); retry later", what,
                           pg_conn_error(own.conn, why, sizeof why));
    } else {
        rc = STORE_OK;
        /* a row tx itself holds would otherwise make us wait for ever on ourselves; once per session */
        if (PQbackendPID(own.conn->h) != self->own_pid) {
            rc = pg_simple(&own.base, what, "SET lock_timeout = '5s'");
            if (rc == STORE_OK)
                self->own_pid = PQbackendPID(own.conn->h);
        }
        /* outside BEGIN, the statement is its own transaction: committed (durably) on return */
        if (rc == STORE_OK)
            rc = pg_query(&own.base, what, sql, params, out);
        if (rc != STORE_OK) {
            struct pg_tx *t = (struct pg_tx *)tx;

            /* 55P03 lock_not_available: the row is locked (maybe by tx): try again later */
            if (strcmp(own.sqlstate, "55P03") == 0)
                rc = STORE_BUSY;
            memcpy(t->sqlstate, own.sqlstate, sizeof t->sqlstate);
            store_tx_fail(tx, rc, "%s", own.base.message);
        }
    }
    pthread_mutex_unlock(&self->own_lock);
    return rc;
}

/* ---------------------------------------------------------- leadership */

/* leader_alive - the leader session still answers (a lost one drops every lock it held) */
static int
leader_alive(pg_conn_t *c)
{
    PGresult *res;
    int ok;

    if (!c || PQstatus(c->h) != CONNECTION_OK)
        return 0;
    res = PQexec(c->h, "SELECT 1");
    ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    return ok;
}

store_rc_t
pg_leader_try(store_t *base, const char *role, int *held)
{
    pg_store_t *self = S(base);
    const char *values[1] = { role };
    char sql[96];
    PGresult *res;
    store_rc_t rc = STORE_OK;
    int i, free_slot = -1;

    *held = 0;
    pthread_mutex_lock(&self->leader_lock);
    if (self->leader && !leader_alive(self->leader)) {
        log_warn("store: the leadership session to PostgreSQL is lost; leadership given up");
        leader_drop(self);
        rc = STORE_BUSY; /* retried (with a new session) at the next call */
        goto out;
    }
    if (!self->leader) {
        self->leader = pg_conn_open(self->conninfo, self->password);
        if (!self->leader || PQstatus(self->leader->h) != CONNECTION_OK) {
            pg_conn_close(&self->leader);
            rc = STORE_BUSY;
            goto out;
        }
    }
    for (i = 0; i < LEADER_ROLES; i++) {
        if (self->held[i] && strcmp(self->held[i], role) == 0) {
            *held = 1;
            goto out;
        }
        if (!self->held[i] && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0) {
        rc = STORE_ERROR;
        log_error("store: more than %d leadership roles", LEADER_ROLES);
        goto out;
    }
    snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%d, hashtext($1))", PG_LOCK_CLASS);
    res = PQexecParams(self->leader->h, sql, 1, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

        char why[256];

        rc = pg_rc_of(state, self->leader->h);
        log_warn("store: cannot try the %s leadership: %s", role, pg_reason(res, self->leader, why, sizeof why));
    } else if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        self->held[free_slot] = strdup(role);
        if (!self->held[free_slot]) {
            /* cannot remember it: give it back rather than hold a lock nobody knows of */
            PGresult *un;

            snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%d, hashtext($1))", PG_LOCK_CLASS);
            un = PQexecParams(self->leader->h, sql, 1, NULL, values, NULL, NULL, 0);
            PQclear(un);
            rc = STORE_BUSY;
        } else {
            log_info("store: this instance (%s) leads the %s", self->instance, role);
            *held = 1;
        }
    }
    PQclear(res);
out:
    pthread_mutex_unlock(&self->leader_lock);
    return rc;
}

const store_backend_t store_backend_postgresql = {
    .scheme = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .health = pg_health,
    .tx_begin = pg_tx_begin,
    .tx_savepoint = pg_tx_savepoint,
    .tx_release = pg_tx_release,
    .tx_commit = pg_tx_commit,
    .tx_abort = pg_tx_abort,
    .leader_try = pg_leader_try,
    .copy = &pg_copy_ops,
    .labels = &pg_labels_ops,
    .admin = &pg_admin_ops,
    .shipments = &pg_shipments_ops,
    .timeline = &pg_timeline_ops,
    .dossiers = &pg_dossiers_ops,
    .jobs = &pg_jobs_ops,
};
