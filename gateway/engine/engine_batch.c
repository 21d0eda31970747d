/*
 * engine_batch - one turn of the engine: the batch's transaction (see engine_internal.h)
 *
 * Every waiting operation runs under its own savepoint, then the worker
 * messages, maintenance and leasing; one commit; then the answers. While the
 * database refuses transactions the engine backs off instead of spinning.
 */
#include "gateway/engine/engine_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

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
    int failed;

    if (store_tx_savepoint(self->tx) != STORE_OK) {
        set_unavailable(op, "the database is busy; retry later");
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

/* engine_take_ops - up to max_batch waiting operations, in arrival order */
engine_op_t *
engine_take_ops(engine_t *self, int *nops)
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
        engine_wake(self); /* more than one batch waiting */
    *nops = n;
    return tail ? ops : NULL;
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
    int kept = 1;

    memset(&rep, 0, sizeof rep);
    if (store_tx_savepoint(self->tx) != STORE_OK)
        return;
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

/* run_purge - the scheduled retention purge under its own savepoint: a failure waits for the next interval */
static void
run_purge(engine_t *self, int64_t now)
{
    long long n = 0;
    int kept = 1;

    self->next_purge = now + self->cfg.scheduler.purge_interval_ms;
    if (store_tx_savepoint(self->tx) != STORE_OK)
        return;
    if (scheduler_purge(self->tx, &self->cfg.scheduler, now, &n) != STORE_OK) {
        log_error("scheduled purge: %s; it runs again in %" PRId64 " s", store_tx_message(self->tx),
                  self->cfg.scheduler.purge_interval_ms / 1000);
        kept = 0;
        n = 0;
    }
    store_tx_release(self->tx, kept);
    pthread_mutex_lock(&self->stats_lock);
    self->stats.purged += n;
    pthread_mutex_unlock(&self->stats_lock);
}

/* check_leader - every ENGINE_LEADER_RETRY_MS, ask the store for the scheduler role: with
 * several instances on one database exactly one schedules, and when its holder dies the role
 * moves to whoever asks next. A store that cannot answer counts as not held: two schedulers
 * would queue every poll twice, none for a few seconds only delays them. */
static void
check_leader(engine_t *self, int64_t now)
{
    int held = 0;
    store_rc_t rc;

    if (now < self->next_leader_check)
        return;
    self->next_leader_check = now + ENGINE_LEADER_RETRY_MS;
    rc = store_leader_try(self->store, ENGINE_LEADER_ROLE, &held);
    if (rc != STORE_OK) {
        held = 0;
        if (self->leader)
            log_warn("scheduler: cannot confirm this instance still holds the scheduler role (%s); scheduling "
                     "stops here until it does",
                     store_rc_name(rc));
    }
    if (held && !self->leader) {
        log_info("scheduler: this instance took the scheduler role; polls, invitations, SLA checks and purges run "
                 "here");
        self->next_schedule = now; /* whatever the previous holder left undone is due now */
    } else if (!held && self->leader && rc == STORE_OK) {
        log_warn("scheduler: this instance lost the scheduler role to another instance; it stops scheduling");
    }
    self->leader = held;
    pthread_mutex_lock(&self->stats_lock);
    self->stats.scheduler_leader = held;
    pthread_mutex_unlock(&self->stats_lock);
}

/* maintenance - every ENGINE_MAINTENANCE_MS: expired leases, silent workers, in-flight
 * counts, and the scheduler at its own interval while this instance holds its role */
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
        engine_remove_worker(self, i, now, "no heartbeat for 3 s");
    self->next_maintenance = now + ENGINE_MAINTENANCE_MS;
    recount_inflight(self);
    check_leader(self, now);
    if (self->leader && now >= self->next_schedule && !self->stopping)
        run_scheduler(self, now);
    if (self->leader && self->cfg.scheduler.purge_after_days > 0 && now >= self->next_purge && !self->stopping)
        run_purge(self, now);
    /* a safety net: whatever queued a job without saying so is seen within 0.5 s */
    self->next_due = now;
}

/* ------------------------------------------------------------- the batch */

/* engine_batch_needs_tx - whether this turn has anything to write */
int
engine_batch_needs_tx(engine_t *self, const batch_t *b, int64_t now)
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
    /* a session lost with the database may have taken the scheduler role with it: ask again
     * before the next tick schedules anything */
    self->next_leader_check = 0;
    log_error("%s failed (%s); the batch is answered 503, next try in %" PRId64 " ms", what,
              why ? why : "no reason given", self->storage_backoff_ms);
}

/* engine_run_batch - one transaction: operations, messages, maintenance, leases; 1 when committed */
int
engine_run_batch(engine_t *self, batch_t *b, int64_t now)
{
    engine_op_t *op;
    int i;

    if (now < self->storage_retry_at) {
        /* backing off: the database refused the last transaction moments ago; a worker that
         * leaves is forgotten now, its jobs come back when their leases expire */
        for (i = 0; i < b->nmsg; i++) {
            int wi = peers_find(&self->peers, self->in[i].id, self->in[i].idlen);

            if (self->in[i].msg.cmd == WIRE_BYE && wi >= 0)
                engine_remove_worker(self, wi, now, "said goodbye");
        }
        return 0;
    }
    b->tried = 1;
    if (store_tx_begin(self->store, STORE_WRITE, &self->tx) != STORE_OK) {
        storage_failed(self, now, "beginning a transaction");
        return 0;
    }
    /* workers' results first: a carrier answers the booking before it reports anything of the
     * item, so when its webhook and the worker's RESULT land in one batch, the booking is the
     * earlier fact and must reach the shipment first */
    for (i = 0; i < b->nmsg; i++)
        engine_apply_message(self, &self->in[i], now);
    for (op = b->ops; op; op = op->next)
        run_op(self, op, now);
    maintenance(self, now);
    b->nout = engine_lease_jobs(self, now);
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

void
engine_publish_stats(engine_t *self, const batch_t *b)
{
    int i;

    pthread_mutex_lock(&self->stats_lock);
    /* a group commit is one that carried HTTP operations; maintenance and worker messages
     * commit too, but counting those would pull the mean batch size below 1 */
    self->stats.commits += b->committed && b->nops > 0;
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
        self->stats.carriers[i].paused = br->paused;
        memcpy(self->stats.carriers[i].reason, br->reason, sizeof self->stats.carriers[i].reason);
        self->stats.ncarriers = i + 1;
    }
    pthread_mutex_unlock(&self->stats_lock);
}

/* engine_answer_ops - wake the submitters of ops; an uncommitted batch answers 503 */
void
engine_answer_ops(engine_t *self, engine_op_t *ops, int committed)
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

