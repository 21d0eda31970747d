/*
 * engine - single writer: group commit, dispatch, sink (see engine.h)
 *
 * One loop: poll the ROUTER and a wake-up eventfd; take every waiting HTTP
 * operation and worker message; open one transaction; run each operation
 * under its own savepoint (one bad dossier never spoils its batch); apply
 * results; lease due jobs; commit once; then wake the HTTP threads and send
 * the JOB messages. Nothing is sent to a worker or answered to a client
 * before the commit that backs it.
 */
#include "gateway/engine/engine.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "crypto.h"
#include "log.h"
#include "gateway/store/sqlite/jobs.h"
#include "queues/wire.h"
#include "gateway/engine/zap.h"
#include "secret.h"

#define ENGINE_MAX_WORKERS 256
#define ENGINE_MAX_MSGS 4096
#define ENGINE_MAX_LEASES 4096
#define ENGINE_MAX_CARRIERS 8

typedef struct {
    unsigned char id[256];
    size_t idlen;
    char idhex[80];
    char name[64];
    char carriers[256];
    int credit;
    int inflight;
    int64_t last_seen;
    int64_t last_hb_sent;
} worker_t;

typedef struct {
    char name[32];
    int consecutive_failures;
    int open;                  /* 1 open, 0 closed */
    int64_t open_until;
    int64_t cooldown_ms;
    int inflight;
    int half_open_probe;       /* a probe job is out */
    int64_t probe_job;         /* its id: only its failure extends the open period */
} breaker_t;

typedef struct {
    unsigned char id[256];
    size_t idlen;
    wire_msg_t msg;
} inbound_t;

typedef struct {
    int worker;
    job_lease_t lease;
} outbound_t;

struct engine {
    store_t *store;
    store_tx_t *tx;            /* the batch's write transaction, on the engine thread */
    engine_config_t cfg;
    void *zctx, *router;
    zap_t *zap;
    int wake_fd;
    pthread_t thread;
    int started;
    volatile int stopping;
    int64_t drain_deadline;

    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    engine_op_t *queue_head, *queue_tail;

    worker_t workers[ENGINE_MAX_WORKERS];
    int nworkers;
    breaker_t breakers[ENGINE_MAX_CARRIERS];
    int nbreakers;
    int64_t next_maintenance;
    int64_t next_schedule;
    int64_t next_due;          /* earliest ready job, INT64_MAX when none known */

    inbound_t *in;
    outbound_t *out;
    job_lease_t *lease_buf;

    pthread_mutex_t stats_lock;
    engine_stats_t stats;
};

engine_t *
engine_new(store_t *store, const engine_config_t *cfg, char *err, size_t errlen)
{
    engine_t *self = calloc(1, sizeof *self);
    int linger = 0, hwm = 100000, mandatory = 1, n;
    store_tx_t *tx = NULL;

    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->store = store;
    self->cfg = *cfg;
    if (self->cfg.max_batch <= 0)
        self->cfg.max_batch = 2000;
    if (self->cfg.breaker_threshold <= 0)
        self->cfg.breaker_threshold = 5;
    if (self->cfg.breaker_cooldown_ms <= 0)
        self->cfg.breaker_cooldown_ms = 2000;
    if (self->cfg.carrier_max_inflight <= 0)
        self->cfg.carrier_max_inflight = 256;
    if (self->cfg.scheduler_interval_ms <= 0)
        self->cfg.scheduler_interval_ms = 1000;
    if (self->cfg.scheduler.batch <= 0)
        self->cfg.scheduler.batch = 200;
    if (self->cfg.scheduler.poll_cap <= 0)
        self->cfg.scheduler.poll_cap = 100;
    self->cfg.scheduler.policy = &self->cfg.policy;
    self->wake_fd = -1;
    self->next_due = 0;
    pthread_mutex_init(&self->lock, NULL);
    pthread_mutex_init(&self->stats_lock, NULL);
    pthread_cond_init(&self->done_cond, NULL);
    self->in = calloc(ENGINE_MAX_MSGS, sizeof *self->in);
    self->out = calloc(ENGINE_MAX_LEASES, sizeof *self->out);
    self->lease_buf = calloc(ENGINE_MAX_LEASES, sizeof *self->lease_buf);
    if (!self->in || !self->out || !self->lease_buf) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    self->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->wake_fd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        goto fail;
    }
    self->zctx = zmq_ctx_new();
    self->router = zmq_socket(self->zctx, ZMQ_ROUTER);
    zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory);
    if (cfg->curve_secret_key && *cfg->curve_secret_key) {
        /* CURVE: the link is encrypted and every worker must hold an allowed key (ZAP) */
        int server = 1;
        char secret[64];
        size_t len = 0;

        if (!cfg->curve_allowed || !*cfg->curve_allowed) {
            snprintf(err, errlen, "curve_secret_file needs curve_allowed_workers (the workers' public keys)");
            goto fail;
        }
        if (secret_file_read(cfg->curve_secret_key, secret, sizeof secret, &len, err, errlen) != 0)
            goto fail;
        if (len != 40) {
            snprintf(err, errlen, "%s does not hold a 40-character Z85 CURVE secret key (bcci keys gen)",
                     cfg->curve_secret_key);
            goto fail;
        }
        self->zap = zap_start(self->zctx, cfg->curve_allowed, err, errlen);
        if (!self->zap)
            goto fail;
        if (zmq_setsockopt(self->router, ZMQ_CURVE_SERVER, &server, sizeof server) != 0 ||
            zmq_setsockopt(self->router, ZMQ_CURVE_SECRETKEY, secret, 40) != 0 ||
            zmq_setsockopt(self->router, ZMQ_ZAP_DOMAIN, "bcci", 4) != 0) {
            snprintf(err, errlen, "cannot turn CURVE on: %s", zmq_strerror(zmq_errno()));
            goto fail;
        }
    }
    if (zmq_bind(self->router, cfg->jobs_endpoint) != 0) {
        snprintf(err, errlen, "cannot bind the jobs endpoint %s: %s (is another bccid running?)",
                 cfg->jobs_endpoint, zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* restart is recovery: whatever was leased before a crash goes back */
    if (store_tx_begin(store, STORE_WRITE, &tx) != STORE_OK) {
        snprintf(err, errlen, "cannot write the database: %s", db_errmsg(store_writer(store)));
        goto fail;
    }
    n = jobs_requeue_leased(store_writer(store), NULL, clock_now_ms());
    if (n < 0) {
        snprintf(err, errlen, "cannot recover leased jobs: %s", db_errmsg(store_writer(store)));
        store_tx_abort(&tx);
        goto fail;
    }
    if (store_tx_commit(&tx) != STORE_OK) {
        snprintf(err, errlen, "cannot recover leased jobs: %s", db_errmsg(store_writer(store)));
        goto fail;
    }
    if (n > 0)
        log_info("recovery: %d leased jobs put back to ready", n);
    return self;
fail:
    engine_destroy(&self);
    return NULL;
}

void
engine_destroy(engine_t **selfp)
{
    engine_t *self = *selfp;

    if (!self)
        return;
    if (self->router)
        zmq_close(self->router);
    zap_stop(&self->zap);
    if (self->zctx)
        zmq_ctx_term(self->zctx);
    if (self->wake_fd >= 0)
        close(self->wake_fd);
    free(self->in);
    free(self->out);
    free(self->lease_buf);
    pthread_mutex_destroy(&self->lock);
    pthread_mutex_destroy(&self->stats_lock);
    pthread_cond_destroy(&self->done_cond);
    free(self);
    *selfp = NULL;
}

static void
wake(engine_t *self)
{
    uint64_t one = 1;

    if (write(self->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn("cannot wake the engine: %s", strerror(errno));
}

/* enqueue - 0 queued, -1 refused because the engine is stopping (op answered 503) */
static int
enqueue(engine_t *self, engine_op_t *op)
{
    op->done = 0;
    op->next = NULL;
    op->result = NULL;
    memset(&op->err, 0, sizeof op->err);
    pthread_mutex_lock(&self->lock);
    if (self->stopping) {
        pthread_mutex_unlock(&self->lock);
        api_error_set(&op->err, 503, "shutting_down", NULL, "the gateway is stopping; retry in a moment");
        op->err.retry_after = 5;
        op->status = 503;
        op->done = 1;
        return -1;
    }
    if (self->queue_tail)
        self->queue_tail->next = op;
    else
        self->queue_head = op;
    self->queue_tail = op;
    pthread_mutex_unlock(&self->lock);
    wake(self);
    return 0;
}

int
engine_submit(engine_t *self, engine_op_t *op)
{
    op->on_done = NULL;
    if (enqueue(self, op) != 0)
        return op->status;
    pthread_mutex_lock(&self->lock);
    while (!op->done)
        pthread_cond_wait(&self->done_cond, &self->lock);
    pthread_mutex_unlock(&self->lock);
    return op->status;
}

void
engine_submit_async(engine_t *self, engine_op_t *op, void (*on_done)(engine_op_t *, void *), void *cls)
{
    op->on_done = on_done;
    op->cls = cls;
    if (enqueue(self, op) != 0)
        on_done(op, cls);
}

const sink_policy_t *
engine_policy(engine_t *self)
{
    return &self->cfg.policy;
}

void
engine_get_stats(engine_t *self, engine_stats_t *out)
{
    pthread_mutex_lock(&self->stats_lock);
    *out = self->stats;
    pthread_mutex_unlock(&self->stats_lock);
}

/* ------------------------------------------------------------- workers */

static int
worker_find(engine_t *self, const unsigned char *id, size_t idlen)
{
    int i;

    for (i = 0; i < self->nworkers; i++)
        if (self->workers[i].idlen == idlen && memcmp(self->workers[i].id, id, idlen) == 0)
            return i;
    return -1;
}

static breaker_t *
breaker_for(engine_t *self, const char *carrier)
{
    int i;

    for (i = 0; i < self->nbreakers; i++)
        if (strcmp(self->breakers[i].name, carrier) == 0)
            return &self->breakers[i];
    if (self->nbreakers == ENGINE_MAX_CARRIERS)
        return &self->breakers[0];
    memset(&self->breakers[self->nbreakers], 0, sizeof self->breakers[0]);
    snprintf(self->breakers[self->nbreakers].name, sizeof self->breakers[0].name, "%s", carrier);
    self->breakers[self->nbreakers].cooldown_ms = self->cfg.breaker_cooldown_ms;
    return &self->breakers[self->nbreakers++];
}

static void
breaker_record(engine_t *self, const char *carrier, const char *kind, int64_t job_id, wire_outcome_t outcome,
               int64_t now)
{
    breaker_t *b = breaker_for(self, carrier);

    if (b->inflight > 0)
        b->inflight--;
    /* the case system is not the carrier: its failures say nothing of the carrier */
    if (strcmp(kind, "notify") == 0)
        return;
    if (outcome != WIRE_RETRY) {
        /* any answer that is not a transport failure means the carrier is back */
        if (b->open)
            log_info("carrier %s: circuit breaker closed, traffic resumes", carrier);
        b->open = 0;
        b->half_open_probe = 0;
        b->consecutive_failures = 0;
        b->cooldown_ms = self->cfg.breaker_cooldown_ms;
        return;
    }
    b->consecutive_failures++;
    if (b->open) {
        /* failures of jobs leased before the breaker opened say nothing new; only the
         * half-open probe's failure keeps it open longer */
        if (b->half_open_probe && job_id == b->probe_job) {
            b->cooldown_ms = b->cooldown_ms * 2 > 60000 ? 60000 : b->cooldown_ms * 2;
            b->open_until = now + b->cooldown_ms;
            b->half_open_probe = 0;
        }
        return;
    }
    if (b->consecutive_failures >= self->cfg.breaker_threshold) {
        log_warn("carrier %s: circuit breaker open after %d consecutive failures", carrier, b->consecutive_failures);
        b->open = 1;
        b->open_until = now + b->cooldown_ms;
    }
}

/* recount_inflight - in-flight jobs per carrier from the job table: jobs put back when a
 * worker died or a lease expired must not keep counting against the carrier's limit */
static void
recount_inflight(engine_t *self, db_t *db)
{
    sqlite3_stmt *st = db_stmt(db, "SELECT carrier, COUNT(*) FROM jobs WHERE state = 'leased' GROUP BY carrier");
    int i;

    if (!st)
        return;
    for (i = 0; i < self->nbreakers; i++)
        self->breakers[i].inflight = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        breaker_for(self, db_col_text(st, 0))->inflight = sqlite3_column_int(st, 1);
    sqlite3_reset(st);
}

/* breaker_allowance - how many jobs of carrier may be leased now */
static int
breaker_allowance(engine_t *self, const char *carrier, int64_t now)
{
    breaker_t *b = breaker_for(self, carrier);
    int room = self->cfg.carrier_max_inflight - b->inflight;

    if (b->open) {
        /* a probe whose answer never came (worker lost, result late) does not block forever */
        if (b->half_open_probe && now > b->open_until + 2 * JOBS_LEASE_MS)
            b->half_open_probe = 0;
        if (now < b->open_until || b->half_open_probe)
            return 0;
        return 1; /* half-open: one probe */
    }
    return room > 0 ? room : 0;
}

static void
worker_remove(engine_t *self, int i, db_t *db, int64_t now, const char *why)
{
    worker_t *w = &self->workers[i];
    int n = jobs_requeue_leased(db, w->idhex, now);

    log_warn("worker %s removed (%s); %d leased jobs back to ready", w->name, why, n < 0 ? 0 : n);
    if (n > 0)
        self->next_due = now;
    self->workers[i] = self->workers[--self->nworkers];
}

/* ------------------------------------------------------------ the loop */

static void
run_op(engine_t *self, engine_op_t *op, int64_t now)
{
    int failed;

    if (store_tx_savepoint(self->tx) != STORE_OK) {
        api_error_set(&op->err, 503, "storage_unavailable", NULL, "the database is busy; retry later");
        op->err.retry_after = 2;
        op->status = 503;
        return;
    }
    switch (op->kind) {
    case ENGINE_OP_INTAKE:
        op->status = op->write_fn(self->tx, op->write_arg, now, &op->result, &op->err);
        if (op->status == 201)
            self->next_due = now;
        break;
    case ENGINE_OP_EVENTS:
        memset(&op->report, 0, sizeof op->report);
        if (sink_carrier_events(self->tx, op->carrier, op->events, &self->cfg.policy, now, &op->report) != STORE_OK) {
            api_error_set(&op->err, 503, "storage_unavailable", NULL,
                          "the database cannot record events now (%s); the carrier should retry",
                          store_tx_message(self->tx));
            op->err.retry_after = 2;
            op->status = -1;
        } else {
            op->status = 200;
            self->next_due = now; /* events may have queued notifications */
        }
        break;
    case ENGINE_OP_CALL:
        op->status = op->write_fn(self->tx, op->write_arg, now, &op->result, &op->err);
        self->next_due = now; /* it may have queued jobs */
        break;
    }
    failed = op->status < 0;
    if (failed) {
        op->status = op->err.status ? op->err.status : 500;
        json_decref(op->result);
        op->result = NULL;
    }
    store_tx_release(self->tx, !failed);
}

static void
handle_message(engine_t *self, inbound_t *in, int64_t now)
{
    db_t *db = store_writer(self->store);
    wire_msg_t *m = &in->msg;
    int wi = worker_find(self, in->id, in->idlen);

    if (wi >= 0)
        self->workers[wi].last_seen = now;
    switch (m->cmd) {
    case WIRE_READY:
        if (wi < 0) {
            if (self->nworkers == ENGINE_MAX_WORKERS) {
                log_error("too many workers; ignoring %s", m->worker);
                return;
            }
            wi = self->nworkers++;
            memset(&self->workers[wi], 0, sizeof self->workers[wi]);
            memcpy(self->workers[wi].id, in->id, in->idlen);
            self->workers[wi].idlen = in->idlen;
            hex_encode(in->id, in->idlen > 39 ? 39 : in->idlen, self->workers[wi].idhex);
        }
        snprintf(self->workers[wi].name, sizeof self->workers[wi].name, "%s", m->worker);
        snprintf(self->workers[wi].carriers, sizeof self->workers[wi].carriers, "%s", m->carriers);
        self->workers[wi].credit = m->credit;
        self->workers[wi].last_seen = now;
        self->next_due = now;
        log_info("worker %s ready: carriers %s, credit %d", m->worker, m->carriers, m->credit);
        break;
    case WIRE_HEARTBEAT:
        break;
    case WIRE_BYE:
        if (wi >= 0)
            worker_remove(self, wi, db, now, "said goodbye");
        break;
    case WIRE_RESULT: {
        job_row_t job;
        int late = 0;

        if (wi >= 0 && self->workers[wi].inflight > 0)
            self->workers[wi].inflight--;
        if (jobs_get(db, m->job_id, &job) == 0) {
            late = job.lease != m->lease;
            if (!late)
                breaker_record(self, job.carrier, job.kind, m->job_id, m->outcome, now);
        }
        if (sink_job_result(self->tx, m, &self->cfg.policy, now) != STORE_OK)
            log_error("cannot apply the result of job %" PRId64 ": %s", m->job_id, store_tx_message(self->tx));
        pthread_mutex_lock(&self->stats_lock);
        if (late)
            self->stats.results_late++;
        else if (m->outcome == WIRE_OK)
            self->stats.results_ok++;
        else if (m->outcome == WIRE_RETRY)
            self->stats.results_retry++;
        else
            self->stats.results_fail++;
        pthread_mutex_unlock(&self->stats_lock);
        self->next_due = now; /* a retry may be due at once; credit is free again */
        break;
    }
    default:
        break;
    }
}

static int
lease_jobs(engine_t *self, int64_t now)
{
    db_t *db = store_writer(self->store);
    int nout = 0, i;

    if (self->stopping)
        return 0;
    for (i = 0; i < self->nworkers && nout < ENGINE_MAX_LEASES; i++) {
        worker_t *w = &self->workers[i];
        char list[256], *save = NULL, *name;

        if (w->credit - w->inflight <= 0)
            continue;
        /* every worker also delivers notifications to the case system */
        snprintf(list, sizeof list, "%s," JOBS_CASE_SYSTEM, w->carriers);
        for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
            int free_credit = w->credit - w->inflight, allow, n, k;
            breaker_t *b;

            allow = breaker_allowance(self, name, now);
            if (allow > free_credit)
                allow = free_credit;
            if (allow > ENGINE_MAX_LEASES - nout)
                allow = ENGINE_MAX_LEASES - nout;
            if (allow <= 0)
                continue;
            n = jobs_lease_due(db, name, now, allow, w->idhex, self->lease_buf);
            if (n <= 0)
                continue;
            b = breaker_for(self, name);
            if (b->open) {
                b->half_open_probe = 1;
                b->probe_job = self->lease_buf[0].id;
            }
            b->inflight += n;
            w->inflight += n;
            for (k = 0; k < n; k++) {
                self->out[nout].worker = i;
                self->out[nout].lease = self->lease_buf[k];
                nout++;
            }
        }
    }
    return nout;
}

static void
send_jobs(engine_t *self, int nout)
{
    int i;

    for (i = 0; i < nout; i++) {
        outbound_t *o = &self->out[i];
        worker_t *w = &self->workers[o->worker];
        wire_msg_t m;

        wire_msg_init(&m);
        m.cmd = WIRE_JOB;
        m.job_id = o->lease.id;
        m.lease = o->lease.lease;
        m.attempt = o->lease.attempt;
        snprintf(m.kind, sizeof m.kind, "%s", o->lease.kind);
        snprintf(m.carrier, sizeof m.carrier, "%s", o->lease.carrier);
        m.data = json_loads(o->lease.payload, 0, NULL);
        /* the shipment's identifiers come from the shipment row, never stale payload copies */
        if (json_is_object(m.data) && o->lease.waybill[0])
            json_object_set_new(m.data, "waybill", json_string(o->lease.waybill));
        if (json_is_object(m.data) && o->lease.carrier_ref[0])
            json_object_set_new(m.data, "carrier_ref", json_string(o->lease.carrier_ref));
        if (wire_send(self->router, w->id, w->idlen, &m) != 0)
            log_warn("cannot send job %" PRId64 " to worker %s; its lease will expire", m.job_id, w->name);
        wire_msg_clear(&m);
        jobs_lease_free(&o->lease);
    }
}

static void
send_heartbeats(engine_t *self, int64_t now)
{
    int i;

    for (i = 0; i < self->nworkers; i++) {
        worker_t *w = &self->workers[i];
        wire_msg_t m;

        if (now - w->last_hb_sent < WIRE_HEARTBEAT_MS)
            continue;
        wire_msg_init(&m);
        m.cmd = WIRE_HEARTBEAT;
        wire_send(self->router, w->id, w->idlen, &m);
        w->last_hb_sent = now;
    }
}

static void
finish_ops(engine_t *self, engine_op_t *ops, int committed)
{
    engine_op_t *op;
    long long accepted = 0, replayed = 0, n = 0;

    for (op = ops; op; op = op->next) {
        n++;
        if (!committed && op->status < 300) {
            json_decref(op->result);
            op->result = NULL;
            api_error_set(&op->err, 503, "storage_unavailable", NULL,
                          "the database could not commit (disk full or read-only?); nothing was recorded, retry "
                          "later");
            op->err.retry_after = 5;
            op->status = 503;
        }
        if (op->kind == ENGINE_OP_INTAKE && op->status == 201)
            accepted++;
        if (op->kind == ENGINE_OP_INTAKE && op->status == 200)
            replayed++;
        if (op->kind == ENGINE_OP_EVENTS && committed) {
            pthread_mutex_lock(&self->stats_lock);
            self->stats.events_applied += op->report.applied;
            self->stats.events_duplicate += op->report.duplicates;
            self->stats.events_unknown_code += op->report.unknown_code;
            pthread_mutex_unlock(&self->stats_lock);
        }
    }
    pthread_mutex_lock(&self->stats_lock);
    self->stats.dossiers_accepted += accepted;
    self->stats.dossiers_replayed += replayed;
    self->stats.ops_committed += committed ? n : 0;
    pthread_mutex_unlock(&self->stats_lock);

    pthread_mutex_lock(&self->lock);
    for (op = ops; op;) {
        engine_op_t *next = op->next;
        if (!op->on_done)
            op->done = 1;
        op = next;
    }
    pthread_cond_broadcast(&self->done_cond);
    pthread_mutex_unlock(&self->lock);
    /* asynchronous submitters: after this call the op may be freed, so read next first */
    for (op = ops; op;) {
        engine_op_t *next = op->next;
        if (op->on_done) {
            op->done = 1;
            op->on_done(op, op->cls);
        }
        op = next;
    }
}

static void *
engine_loop(void *arg)
{
    engine_t *self = arg;
    db_t *db = store_writer(self->store);

    log_init("bccid");
    while (1) {
        zmq_pollitem_t items[2] = { { self->router, 0, ZMQ_POLLIN, 0 }, { NULL, self->wake_fd, ZMQ_POLLIN, 0 } };
        engine_op_t *ops = NULL, *op, *tail = NULL;
        int nmsg = 0, nout = 0, nops = 0, i, committed = 1, need_tx;
        int64_t now, timeout = 100;
        uint64_t junk;

        now = clock_now_ms();
        /* due jobs only matter when a worker can take them; otherwise wake for maintenance */
        if (self->nworkers > 0 && self->next_due != INT64_MAX && self->next_due > now &&
            self->next_due - now < timeout)
            timeout = self->next_due - now;
        else if (self->nworkers > 0 && self->next_due <= now)
            timeout = 0;
        if (self->next_maintenance > now && self->next_maintenance - now < timeout)
            timeout = self->next_maintenance - now;
        else if (self->next_maintenance <= now)
            timeout = 0;
        if (zmq_poll(items, 2, (long)timeout) < 0 && zmq_errno() != EINTR)
            break;
        if (items[1].revents & ZMQ_POLLIN) {
            if (read(self->wake_fd, &junk, sizeof junk) < 0) {
                /* EAGAIN: someone else drained it */
            }
        }
        /* take operations, at most max_batch */
        pthread_mutex_lock(&self->lock);
        ops = self->queue_head;
        for (op = ops; op && nops < self->cfg.max_batch; op = op->next) {
            tail = op;
            nops++;
        }
        if (tail) {
            self->queue_head = tail->next;
            if (!self->queue_head)
                self->queue_tail = NULL;
            tail->next = NULL;
        }
        pthread_mutex_unlock(&self->lock);
        if (self->queue_head)
            wake(self); /* more than one batch waiting */

        while (nmsg < ENGINE_MAX_MSGS) {
            char err[200];
            inbound_t *in = &self->in[nmsg];
            int r;

            wire_msg_init(&in->msg);
            in->idlen = sizeof in->id;
            r = wire_recv(self->router, 1, in->id, &in->idlen, &in->msg, err, sizeof err);
            if (r == 1)
                break;
            if (r < 0) {
                log_warn("dropped a malformed message from a worker: %s", err);
                continue;
            }
            nmsg++;
        }

        now = clock_now_ms();
        need_tx = nops > 0 || nmsg > 0 || now >= self->next_maintenance ||
                  (self->next_due <= now && self->nworkers > 0);
        if (!need_tx) {
            send_heartbeats(self, now);
            if (self->stopping && self->nworkers == 0)
                break;
            if (self->stopping && now >= self->drain_deadline)
                break;
            continue;
        }
        if (store_tx_begin(self->store, STORE_WRITE, &self->tx) != STORE_OK) {
            log_error("cannot begin a transaction: %s", db_errmsg(db));
            committed = 0;
        } else {
            for (op = ops; op; op = op->next)
                run_op(self, op, now);
            for (i = 0; i < nmsg; i++)
                handle_message(self, &self->in[i], now);
            if (now >= self->next_maintenance) {
                int n = jobs_expire_leases(db, now);
                if (n > 0) {
                    log_warn("%d job leases expired; jobs back to ready", n);
                    self->next_due = now;
                }
                for (i = self->nworkers - 1; i >= 0; i--)
                    if (now - self->workers[i].last_seen > (int64_t)WIRE_HEARTBEAT_MS * WIRE_HEARTBEAT_LIVENESS)
                        worker_remove(self, i, db, now, "no heartbeat for 3 s");
                self->next_maintenance = now + 500;
                recount_inflight(self, db);
                if (now >= self->next_schedule && !self->stopping) {
                    scheduler_report_t rep;

                    memset(&rep, 0, sizeof rep);
                    int kept = 1;

                    store_tx_savepoint(self->tx);
                    if (scheduler_tick(self->tx, &self->cfg.scheduler, now, &rep) != STORE_OK) {
                        log_error("scheduler: %s; its work waits for the next tick", store_tx_message(self->tx));
                        kept = 0;
                        memset(&rep, 0, sizeof rep);
                    }
                    store_tx_release(self->tx, kept);
                    pthread_mutex_lock(&self->stats_lock);
                    self->stats.polls += rep.polls;
                    self->stats.invitations += rep.invitations;
                    self->stats.returns += rep.returns;
                    self->stats.sla_breaches += rep.sla_breaches;
                    pthread_mutex_unlock(&self->stats_lock);
                    self->next_schedule = now + self->cfg.scheduler_interval_ms;
                }
                /* a safety net: whatever queued a job without saying so is seen within 0.5 s */
                self->next_due = now;
            }
            if (self->next_due <= now && self->nworkers > 0) {
                int64_t nd;
                nout = lease_jobs(self, now);
                nd = jobs_next_due(db);
                /* if due jobs remain but nobody has credit, wait for a RESULT or READY */
                self->next_due = nd > now ? nd : (nout > 0 ? now + 5 : now + 100);
            }
            if (store_tx_commit(&self->tx) != STORE_OK) {
                log_error("commit failed; the batch is answered 503 and will be retried by clients");
                committed = 0;
            }
        }
        pthread_mutex_lock(&self->stats_lock);
        self->stats.commits += committed;
        self->stats.commit_failures += !committed;
        self->stats.workers = self->nworkers;
        self->stats.breaker_open = 0;
        self->stats.ncarriers = 0;
        for (i = 0; i < self->nbreakers; i++) {
            self->stats.breaker_open += self->breakers[i].open;
            if (i < (int)(sizeof self->stats.carriers / sizeof self->stats.carriers[0])) {
                memcpy(self->stats.carriers[i].name, self->breakers[i].name, sizeof self->stats.carriers[i].name);
                self->stats.carriers[i].open = self->breakers[i].open;
                self->stats.carriers[i].inflight = self->breakers[i].inflight;
                self->stats.carriers[i].consecutive_failures = self->breakers[i].consecutive_failures;
                self->stats.ncarriers = i + 1;
            }
        }
        pthread_mutex_unlock(&self->stats_lock);
        finish_ops(self, ops, committed);
        if (committed) {
            send_jobs(self, nout);
        } else {
            /* the leases were rolled back: forget the in-flight counts we added */
            for (i = 0; i < nout; i++) {
                self->workers[self->out[i].worker].inflight--;
                breaker_for(self, self->out[i].lease.carrier)->inflight--;
                jobs_lease_free(&self->out[i].lease);
            }
            self->next_due = now + 1000;
        }
        for (i = 0; i < nmsg; i++)
            wire_msg_clear(&self->in[i].msg);
        send_heartbeats(self, now);
        if (self->stopping) {
            int inflight = 0;
            for (i = 0; i < self->nworkers; i++)
                inflight += self->workers[i].inflight;
            if (inflight == 0 || now >= self->drain_deadline)
                break;
        }
    }
    return NULL;
}

int
engine_start(engine_t *self)
{
    if (pthread_create(&self->thread, NULL, engine_loop, self) != 0)
        return -1;
    self->started = 1;
    return 0;
}

void
engine_stop(engine_t *self, int64_t drain_ms)
{
    engine_op_t *op;
    store_tx_t *tx = NULL;
    int n;

    if (!self->started)
        return;
    pthread_mutex_lock(&self->lock);
    self->drain_deadline = clock_now_ms() + drain_ms;
    self->stopping = 1;
    pthread_mutex_unlock(&self->lock);
    wake(self);
    pthread_join(self->thread, NULL);
    self->started = 0;
    /* anything still leased goes back now, so a clean restart finds nothing leased */
    if (store_tx_begin(self->store, STORE_WRITE, &tx) == STORE_OK) {
        n = jobs_requeue_leased(store_writer(self->store), NULL, clock_now_ms());
        if (n < 0)
            store_tx_abort(&tx);
        else if (store_tx_commit(&tx) == STORE_OK && n > 0)
            log_info("shutdown: %d jobs still in flight put back to ready", n);
    }
    /* answer whatever arrived after the loop ended */
    pthread_mutex_lock(&self->lock);
    op = self->queue_head;
    self->queue_head = self->queue_tail = NULL;
    for (engine_op_t *o = op; o; o = o->next) {
        api_error_set(&o->err, 503, "shutting_down", NULL, "the gateway is stopping; retry in a moment");
        o->status = 503;
        if (!o->on_done)
            o->done = 1;
    }
    pthread_cond_broadcast(&self->done_cond);
    pthread_mutex_unlock(&self->lock);
    while (op) {
        engine_op_t *next = op->next;
        if (op->on_done) {
            op->done = 1;
            op->on_done(op, op->cls);
        }
        op = next;
    }
}
