/*
 * engine - single writer: group commit, dispatch, sink (see engine.h)
 *
 * One loop, in the manner of Postfix's qmgr_loop: wait for work (the ROUTER,
 * a wake-up eventfd, the next due job or maintenance); take the waiting HTTP
 * operations and worker messages; run them as one batch in one transaction,
 * each operation under its own savepoint (one bad dossier never spoils its
 * batch), with maintenance (lease expiry, dead workers, the scheduler) and
 * leasing of due jobs; commit once; then answer the HTTP threads and send the
 * JOB messages. Nothing is sent to a worker or answered to a client before
 * the commit that backs it.
 *
 * When the database refuses a transaction (another process holds its write
 * lock, the disk is full or read-only) the engine does not spin: it backs off
 * (100 ms doubling to 2 s) and answers the operations that arrive meanwhile
 * 503 with Retry-After, until a transaction commits again. The store's health
 * (store_health) says so to /healthz and /metrics.
 *
 * The per-carrier circuit breakers live in breaker.c, the worker table in
 * peers.c; all the job table's state goes through store_jobs.h.
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
#include "gateway/engine/breaker.h"
#include "gateway/engine/peers.h"
#include "gateway/engine/zap.h"
#include "gateway/store/store_jobs.h"
#include "log.h"
#include "queues/wire.h"
#include "secret.h"

#define ENGINE_MAX_MSGS 4096
#define ENGINE_MAX_LEASES 4096
#define ENGINE_MAINTENANCE_MS 500
#define ENGINE_STORAGE_BACKOFF_MIN_MS 100
#define ENGINE_STORAGE_BACKOFF_MAX_MS 2000
#define ENGINE_STORAGE_RETRY_AFTER_S 2

typedef struct {
    unsigned char id[256];
    size_t idlen;
    wire_msg_t msg;
} inbound_t;

typedef struct {
    int worker;
    store_job_lease_t lease;
} outbound_t;

/* batch_t - what one turn of the loop carries */
typedef struct {
    engine_op_t *ops; /* taken from the queue, answered after the commit */
    int nops;
    int nmsg;         /* worker messages in self->in */
    int nout;         /* leases in self->out, sent after the commit */
    int tried;        /* a transaction was attempted (not skipped while backing off) */
    int committed;
} batch_t;

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

    peers_t peers;
    breakers_t breakers;
    int64_t next_maintenance;
    int64_t next_schedule;
    int64_t next_due;          /* earliest ready job, INT64_MAX when none known */
    int64_t storage_retry_at;  /* while the database refuses: no transaction before this */
    int64_t storage_backoff_ms;

    inbound_t *in;
    outbound_t *out;
    store_job_lease_t *lease_buf;

    pthread_mutex_t stats_lock;
    engine_stats_t stats;
};

/* legacy_db - TRANSITIONAL: the writer connection, for the calls (store_intake, sink_*,
 * scheduler_tick) that still take a db_t until they move to store_tx_t */
static db_t *
legacy_db(engine_t *self)
{
    return store_writer(self->store);
}

engine_t *
engine_new(store_t *store, const engine_config_t *cfg, char *err, size_t errlen)
{
    engine_t *self = calloc(1, sizeof *self);
    int linger = 0, hwm = 100000, mandatory = 1, n = 0;
    store_tx_t *tx = NULL;
    store_rc_t rc;

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
    breakers_init(&self->breakers, self->cfg.breaker_threshold, self->cfg.breaker_cooldown_ms,
                  self->cfg.carrier_max_inflight);
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
        const char *why = NULL;

        store_health(store, &why);
        snprintf(err, errlen, "cannot write the database: %s", why ? why : "unknown reason");
        goto fail;
    }
    rc = store_jobs_requeue_leased(tx, NULL, clock_now_ms(), &n);
    if (rc != STORE_OK) {
        snprintf(err, errlen, "cannot recover leased jobs: %s", store_tx_message(tx));
        store_tx_abort(&tx);
        goto fail;
    }
    if (store_tx_commit(&tx) != STORE_OK) {
        const char *why = NULL;

        store_health(store, &why);
        snprintf(err, errlen, "cannot recover leased jobs: %s", why ? why : "the commit failed");
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

/* ------------------------------------------------------------ operations */

static void
set_unavailable(engine_op_t *op, const char *message)
{
    api_error_set(&op->err, 503, "storage_unavailable", NULL, "%s", message);
    op->err.retry_after = ENGINE_STORAGE_RETRY_AFTER_S;
    op->status = 503;
}

/* run_op - one operation of the batch under its own savepoint */
static void
run_op(engine_t *self, engine_op_t *op, int64_t now)
{
    int rc = 0, failed;

    if (store_tx_savepoint(self->tx) != STORE_OK) {
        set_unavailable(op, "the database is busy; retry later");
        return;
    }
    switch (op->kind) {
    case ENGINE_OP_INTAKE:
        op->status = store_intake(self->store, op->dossier, now, &op->result, &op->err);
        if (op->status == 201)
            self->next_due = now;
        break;
    case ENGINE_OP_EVENTS:
        memset(&op->report, 0, sizeof op->report);
        if (sink_carrier_events(legacy_db(self), op->carrier, op->events, &self->cfg.policy, now, &op->report,
                                &rc) != 0) {
            api_error_set(&op->err, 503, "storage_unavailable", NULL,
                          "the database cannot record events now (SQLite code %d); the carrier should retry", rc);
            op->err.retry_after = ENGINE_STORAGE_RETRY_AFTER_S;
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

/* take_ops - up to max_batch waiting operations, in arrival order */
static engine_op_t *
take_ops(engine_t *self, int *nops)
{
    engine_op_t *ops, *op, *tail = NULL;
    int n = 0;

    pthread_mutex_lock(&self->lock);
    ops = self->queue_head;
    for (op = ops; op && n < self->cfg.max_batch; op = op->next) {
        tail = op;
        n++;
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
    *nops = n;
    return tail ? ops : NULL;
}

/* ------------------------------------------------------- worker messages */

/* receive_messages - every waiting worker message into self->in, without blocking */
static int
receive_messages(engine_t *self)
{
    int nmsg = 0;

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
    return nmsg;
}

/* note_peers - what messages say of their senders, kept whether or not the batch commits:
 * a worker that spoke is alive, a READY announces it, a RESULT frees one credit */
static void
note_peers(engine_t *self, int nmsg, int64_t now)
{
    int i;

    for (i = 0; i < nmsg; i++) {
        inbound_t *in = &self->in[i];
        int wi = peers_find(&self->peers, in->id, in->idlen);

        if (wi >= 0)
            self->peers.w[wi].last_seen = now;
        if (in->msg.cmd == WIRE_READY) {
            wi = peers_ready(&self->peers, in->id, in->idlen, &in->msg, now);
            if (wi < 0) {
                log_error("too many workers; ignoring %s", in->msg.worker);
                continue;
            }
            self->next_due = now;
            log_info("worker %s ready: carriers %s, credit %d", in->msg.worker, in->msg.carriers, in->msg.credit);
        } else if (in->msg.cmd == WIRE_RESULT && wi >= 0 && self->peers.w[wi].inflight > 0) {
            self->peers.w[wi].inflight--;
        }
    }
}

/* remove_worker - forget worker i; with a transaction, its leased jobs go back to ready
 * (without one they come back when their leases expire) */
static void
remove_worker(engine_t *self, int i, int64_t now, const char *why)
{
    peer_t *w = &self->peers.w[i];
    int n = 0;

    if (self->tx && store_jobs_requeue_leased(self->tx, w->idhex, now, &n) != STORE_OK) {
        log_warn("cannot put worker %s's jobs back now (%s); their leases will expire", w->name,
                 store_tx_message(self->tx));
        n = 0;
    }
    log_warn("worker %s removed (%s); %d leased jobs back to ready", w->name, why, n);
    if (n > 0)
        self->next_due = now;
    peers_remove(&self->peers, i);
}

static void
apply_result(engine_t *self, const wire_msg_t *m, int64_t now)
{
    store_job_t job;
    int late = 0, rc = 0;

    if (store_jobs_get(self->tx, m->job_id, &job) == STORE_OK) {
        late = job.lease != m->lease;
        if (!late)
            breakers_record(&self->breakers, job.carrier, job.kind, m->job_id, m->outcome, now);
    }
    /* under a savepoint: a result applied half-way is not applied at all (the lease expires) */
    if (store_tx_savepoint(self->tx) == STORE_OK) {
        int ok = sink_job_result(legacy_db(self), m, &self->cfg.policy, now, &rc) == 0;

        if (!ok)
            log_error("cannot apply the result of job %" PRId64 " (SQLite code %d); its lease will expire",
                      m->job_id, rc);
        store_tx_release(self->tx, ok);
    }
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
}

/* apply_message - the durable effect of one worker message, inside the batch */
static void
apply_message(engine_t *self, inbound_t *in, int64_t now)
{
    int wi = peers_find(&self->peers, in->id, in->idlen);

    switch (in->msg.cmd) {
    case WIRE_BYE:
        if (wi >= 0)
            remove_worker(self, wi, now, "said goodbye");
        break;
    case WIRE_RESULT:
        apply_result(self, &in->msg, now);
        break;
    default:
        break; /* READY and HEARTBEAT: note_peers did everything */
    }
}

static void
forget_messages(engine_t *self, int nmsg)
{
    int i;

    for (i = 0; i < nmsg; i++)
        wire_msg_clear(&self->in[i].msg);
}

/* ------------------------------------------------------------ maintenance */

/* recount_inflight - in-flight jobs per carrier as the job table has them */
static void
recount_inflight(engine_t *self)
{
    store_job_inflight_t counts[BREAKERS_MAX];
    int n = 0;

    if (store_jobs_inflight(self->tx, counts, BREAKERS_MAX, &n) != STORE_OK) {
        log_warn("cannot recount jobs in flight: %s", store_tx_message(self->tx));
        return;
    }
    breakers_set_inflight(&self->breakers, counts, n);
}

static void
run_scheduler(engine_t *self, int64_t now)
{
    scheduler_report_t rep;
    int src = 0, kept = 1;

    memset(&rep, 0, sizeof rep);
    if (store_tx_savepoint(self->tx) != STORE_OK)
        return;
    if (scheduler_tick(legacy_db(self), &self->cfg.scheduler, now, &rep, &src) != 0) {
        log_error("scheduler: SQLite code %d; its work waits for the next tick", src);
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

/* maintenance - every ENGINE_MAINTENANCE_MS: expired leases, silent workers, in-flight
 * counts, and the scheduler at its own interval */
static void
maintenance(engine_t *self, int64_t now)
{
    int n = 0, i;

    if (now < self->next_maintenance)
        return;
    if (store_jobs_expire_leases(self->tx, now, &n) != STORE_OK)
        log_warn("cannot expire job leases: %s", store_tx_message(self->tx));
    else if (n > 0)
        log_warn("%d job leases expired; jobs back to ready", n);
    while ((i = peers_silent(&self->peers, now)) >= 0)
        remove_worker(self, i, now, "no heartbeat for 3 s");
    self->next_maintenance = now + ENGINE_MAINTENANCE_MS;
    recount_inflight(self);
    if (now >= self->next_schedule && !self->stopping)
        run_scheduler(self, now);
    /* a safety net: whatever queued a job without saying so is seen within 0.5 s */
    self->next_due = now;
}

/* ---------------------------------------------------------------- leasing */

/* lease_worker - lease due jobs of each of worker i's carriers (and notifications) into
 * self->out from nout on; the new nout */
static int
lease_worker(engine_t *self, int i, int nout, int64_t now)
{
    peer_t *w = &self->peers.w[i];
    char list[300], *save = NULL, *name;

    /* every worker also delivers notifications to the case system */
    snprintf(list, sizeof list, "%s," JOBS_CASE_SYSTEM, w->carriers);
    for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        int allow = breakers_allowance(&self->breakers, name, now), n = 0, k;

        if (allow > w->credit - w->inflight)
            allow = w->credit - w->inflight;
        if (allow > ENGINE_MAX_LEASES - nout)
            allow = ENGINE_MAX_LEASES - nout;
        if (allow <= 0)
            continue;
        /* under a savepoint: a lease that fails half-way must not commit the rows it marked */
        if (store_tx_savepoint(self->tx) != STORE_OK)
            return nout;
        if (store_jobs_lease_due(self->tx, name, w->idhex, now, allow, self->lease_buf, &n) != STORE_OK) {
            log_warn("cannot lease %s jobs: %s", name, store_tx_message(self->tx));
            store_tx_release(self->tx, 0);
            continue;
        }
        if (store_tx_release(self->tx, 1) != STORE_OK) {
            for (k = 0; k < n; k++)
                store_job_lease_free(&self->lease_buf[k]);
            return nout;
        }
        if (n == 0)
            continue;
        breakers_leased(&self->breakers, name, n, self->lease_buf[0].id);
        w->inflight += n;
        for (k = 0; k < n; k++) {
            self->out[nout].worker = i;
            self->out[nout].lease = self->lease_buf[k];
            nout++;
        }
    }
    return nout;
}

/* lease_jobs - due jobs for every worker with free credit, when any may be due */
static int
lease_jobs(engine_t *self, int64_t now)
{
    int nout = 0, i;
    int64_t next = INT64_MAX;

    if (self->stopping || self->peers.n == 0 || self->next_due > now)
        return 0;
    for (i = 0; i < self->peers.n && nout < ENGINE_MAX_LEASES; i++)
        if (self->peers.w[i].credit - self->peers.w[i].inflight > 0)
            nout = lease_worker(self, i, nout, now);
    if (store_jobs_next_due(self->tx, &next) != STORE_OK)
        next = now + 100;
    /* if due jobs remain but nobody has credit, wait for a RESULT or READY */
    self->next_due = next > now ? next : (nout > 0 ? now + 5 : now + 100);
    return nout;
}

/* ------------------------------------------------------------- the batch */

/* batch_needs_tx - whether this turn has anything to write */
static int
batch_needs_tx(engine_t *self, const batch_t *b, int64_t now)
{
    return b->nops > 0 || b->nmsg > 0 || now >= self->next_maintenance ||
           (self->next_due <= now && self->peers.n > 0);
}

/* storage_failed - the database refused a transaction: back off before the next one */
static void
storage_failed(engine_t *self, int64_t now, const char *what)
{
    const char *why = NULL;

    store_health(self->store, &why);
    self->storage_backoff_ms = self->storage_backoff_ms ? self->storage_backoff_ms * 2 : ENGINE_STORAGE_BACKOFF_MIN_MS;
    if (self->storage_backoff_ms > ENGINE_STORAGE_BACKOFF_MAX_MS)
        self->storage_backoff_ms = ENGINE_STORAGE_BACKOFF_MAX_MS;
    self->storage_retry_at = now + self->storage_backoff_ms;
    log_error("%s failed (%s); the batch is answered 503, next try in %" PRId64 " ms", what,
              why ? why : "no reason given", self->storage_backoff_ms);
}

/* run_batch - one transaction: operations, messages, maintenance, leases; 1 when committed */
static int
run_batch(engine_t *self, batch_t *b, int64_t now)
{
    engine_op_t *op;
    int i;

    if (now < self->storage_retry_at) {
        /* backing off: the database refused the last transaction moments ago; a worker that
         * leaves is forgotten now, its jobs come back when their leases expire */
        for (i = 0; i < b->nmsg; i++) {
            int wi = peers_find(&self->peers, self->in[i].id, self->in[i].idlen);

            if (self->in[i].msg.cmd == WIRE_BYE && wi >= 0)
                remove_worker(self, wi, now, "said goodbye");
        }
        return 0;
    }
    b->tried = 1;
    if (store_tx_begin(self->store, STORE_WRITE, &self->tx) != STORE_OK) {
        storage_failed(self, now, "beginning a transaction");
        return 0;
    }
    for (op = b->ops; op; op = op->next)
        run_op(self, op, now);
    for (i = 0; i < b->nmsg; i++)
        apply_message(self, &self->in[i], now);
    maintenance(self, now);
    b->nout = lease_jobs(self, now);
    if (store_tx_commit(&self->tx) != STORE_OK) {
        storage_failed(self, now, "the commit");
        return 0;
    }
    if (self->storage_backoff_ms)
        log_info("the database takes writes again");
    self->storage_backoff_ms = 0;
    self->storage_retry_at = 0;
    return 1;
}

static void
publish_stats(engine_t *self, const batch_t *b)
{
    int i;

    pthread_mutex_lock(&self->stats_lock);
    self->stats.commits += b->committed;
    self->stats.commit_failures += b->tried && !b->committed;
    self->stats.workers = self->peers.n;
    self->stats.breaker_open = breakers_open(&self->breakers);
    self->stats.ncarriers = 0;
    for (i = 0; i < self->breakers.n && i < (int)(sizeof self->stats.carriers / sizeof self->stats.carriers[0]);
         i++) {
        const breaker_t *br = &self->breakers.b[i];

        memcpy(self->stats.carriers[i].name, br->name, sizeof self->stats.carriers[i].name);
        self->stats.carriers[i].open = br->open;
        self->stats.carriers[i].inflight = br->inflight;
        self->stats.carriers[i].consecutive_failures = br->consecutive_failures;
        self->stats.ncarriers = i + 1;
    }
    pthread_mutex_unlock(&self->stats_lock);
}

/* answer_ops - wake the submitters of ops; an uncommitted batch answers 503 */
static void
answer_ops(engine_t *self, engine_op_t *ops, int committed)
{
    engine_op_t *op;
    long long accepted = 0, replayed = 0, n = 0;

    for (op = ops; op; op = op->next) {
        n++;
        if (!committed && op->status < 300) {
            json_decref(op->result);
            op->result = NULL;
            set_unavailable(op, "the database cannot take writes right now (locked by another process, disk full "
                                "or read-only); nothing was recorded, retry later");
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
    for (op = ops; op; op = op->next)
        if (!op->on_done)
            op->done = 1;
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

static void
send_job(engine_t *self, outbound_t *o)
{
    peer_t *w = &self->peers.w[o->worker];
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
}

/* dispatch - after the commit, send the leased jobs; after a failed one, forget them
 * (their leases were rolled back) */
static void
dispatch(engine_t *self, batch_t *b, int64_t now)
{
    int i;

    for (i = 0; i < b->nout; i++) {
        outbound_t *o = &self->out[i];

        if (b->committed) {
            send_job(self, o);
        } else {
            self->peers.w[o->worker].inflight--;
            breakers_returned(&self->breakers, o->lease.carrier, 1);
        }
        store_job_lease_free(&o->lease);
    }
    if (!b->committed)
        self->next_due = now + 1000;
}

/* ---------------------------------------------------------------- the loop */

/* wait_for_work - poll until a message, an operation, a due job or maintenance; -1 on a fatal error */
static int
wait_for_work(engine_t *self)
{
    zmq_pollitem_t items[2] = { { self->router, 0, ZMQ_POLLIN, 0 }, { NULL, self->wake_fd, ZMQ_POLLIN, 0 } };
    int64_t now = clock_now_ms(), timeout = 100;
    uint64_t junk;

    /* due jobs only matter when a worker can take them; otherwise wake for maintenance */
    if (self->peers.n > 0 && self->next_due != INT64_MAX && self->next_due > now && self->next_due - now < timeout)
        timeout = self->next_due - now;
    else if (self->peers.n > 0 && self->next_due <= now)
        timeout = 0;
    if (self->next_maintenance > now && self->next_maintenance - now < timeout)
        timeout = self->next_maintenance - now;
    else if (self->next_maintenance <= now)
        timeout = 0;
    /* backing off from a refusing database: no transaction before the retry time, but
     * still wake for operations (answered 503 at once), messages and heartbeats */
    if (self->storage_retry_at > now && timeout < 100)
        timeout = self->storage_retry_at - now < 100 ? self->storage_retry_at - now : 100;
    if (zmq_poll(items, 2, (long)timeout) < 0 && zmq_errno() != EINTR)
        return -1;
    if ((items[1].revents & ZMQ_POLLIN) && read(self->wake_fd, &junk, sizeof junk) < 0) {
        /* EAGAIN: someone else drained it */
    }
    return 0;
}

/* drained - stopping, and nothing in flight is worth waiting for any more */
static int
drained(engine_t *self, int64_t now)
{
    return self->stopping && (peers_inflight(&self->peers) == 0 || now >= self->drain_deadline);
}

static void *
engine_loop(void *arg)
{
    engine_t *self = arg;

    log_init("bccid");
    for (;;) {
        batch_t batch;
        int64_t now;

        memset(&batch, 0, sizeof batch);
        if (wait_for_work(self) != 0)
            break;
        batch.ops = take_ops(self, &batch.nops);
        batch.nmsg = receive_messages(self);
        now = clock_now_ms();
        note_peers(self, batch.nmsg, now);
        if (batch_needs_tx(self, &batch, now)) {
            batch.committed = run_batch(self, &batch, now);
            publish_stats(self, &batch);
            answer_ops(self, batch.ops, batch.committed);
            dispatch(self, &batch, now);
        }
        forget_messages(self, batch.nmsg);
        peers_heartbeat(&self->peers, self->router, now);
        if (drained(self, now))
            break;
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
    int n = 0;

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
        if (store_jobs_requeue_leased(tx, NULL, clock_now_ms(), &n) != STORE_OK)
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
