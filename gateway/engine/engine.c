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
 * This file holds the lifecycle, the submission queue and the loop itself;
 * a batch's transaction is engine_batch.c, the talk with workers (messages
 * in, leases out) engine_workers.c, the per-carrier circuit breakers
 * breaker.c, the worker table peers.c. All the job table's state goes
 * through store_jobs.h.
 */
#include "gateway/engine/engine_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "log.h"
#include "secret.h"

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
    if (self->cfg.scheduler.purge_interval_ms <= 0)
        self->cfg.scheduler.purge_interval_ms = 86400000;
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

void
engine_wake(engine_t *self)
{
    uint64_t one = 1;

    if (write(self->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn("cannot wake the engine: %s", strerror(errno));
}

/* enqueue - 0 queued, -1 refused because the engine is stopping (op answered 503) */
static int
enqueue(engine_t *self, engine_op_t *op)
{
    int first;

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
    /* only the operation that finds the queue empty wakes the engine: one that finds it
     * non-empty was preceded by a wake the engine has not yet answered by taking the queue
     * (engine_take_ops wakes it again when it leaves operations behind), so under load a
     * request costs no eventfd write and the engine no extra read */
    first = self->queue_head == NULL;
    if (self->queue_tail)
        self->queue_tail->next = op;
    else
        self->queue_head = op;
    self->queue_tail = op;
    pthread_mutex_unlock(&self->lock);
    if (first)
        engine_wake(self);
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

/* linger - group commit's one knob (PostgreSQL's commit_delay, MySQL's
 * binlog_group_commit_sync_delay): when the previous batch carried several operations,
 * clients are arriving faster than commits, so waiting a fraction of a commit's cost lets the
 * next one carry more of them: fewer commits, fsyncs and wake-ups for the same dossiers. A
 * lone request (previous batch of one, or none) is never delayed. */
static void
linger(engine_t *self)
{
    struct timespec pause;
    int queued;

    if (self->cfg.commit_delay_us <= 0 || self->last_batch_ops < 2)
        return;
    pthread_mutex_lock(&self->lock);
    queued = self->queue_head != NULL;
    pthread_mutex_unlock(&self->lock);
    if (!queued)
        return;
    pause.tv_sec = self->cfg.commit_delay_us / 1000000;
    pause.tv_nsec = (long)(self->cfg.commit_delay_us % 1000000) * 1000;
    nanosleep(&pause, NULL);
}

static void *
engine_loop(void *arg)
{
    engine_t *self = arg;

    log_init("bccid");
    /* named, so top -H, perf and make bench's per-thread figures tell the single writer apart */
    pthread_setname_np(pthread_self(), "bccid-engine");
    for (;;) {
        batch_t batch;
        int64_t now;

        memset(&batch, 0, sizeof batch);
        if (wait_for_work(self) != 0)
            break;
        linger(self);
        batch.ops = engine_take_ops(self, &batch.nops);
        self->last_batch_ops = batch.nops;
        batch.nmsg = engine_receive_messages(self);
        now = clock_now_ms();
        engine_note_peers(self, batch.nmsg, now);
        if (engine_batch_needs_tx(self, &batch, now)) {
            batch.committed = engine_run_batch(self, &batch, now);
            engine_publish_stats(self, &batch);
            engine_answer_ops(self, batch.ops, batch.committed);
            engine_dispatch(self, &batch, now);
        }
        engine_forget_messages(self, batch.nmsg);
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
    engine_wake(self);
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
