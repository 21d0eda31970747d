/*
 * engine_workers - the engine and its workers: messages in, leases out (see engine_internal.h)
 *
 * What a message says of its sender (alive, ready, one credit free) is kept
 * whether or not the batch commits; what it changes in the store (a result,
 * a goodbye's jobs back to ready) is applied inside the batch. Leases are
 * taken inside the batch and sent only after its commit.
 */
#include "gateway/engine/engine_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* ------------------------------------------------------- worker messages */

/* engine_receive_messages - every waiting worker message into self->in, without blocking */
int
engine_receive_messages(engine_t *self)
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

/* engine_note_peers - what messages say of their senders, kept whether or not the batch commits:
 * a worker that spoke is alive, a READY announces it, a RESULT frees one credit */
void
engine_note_peers(engine_t *self, int nmsg, int64_t now)
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

/* engine_remove_worker - forget worker i; with a transaction, its leased jobs go back to ready
 * (without one they come back when their leases expire) */
void
engine_remove_worker(engine_t *self, int i, int64_t now, const char *why)
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
    int late = 0;

    if (store_jobs_get(self->tx, m->job_id, &job) == STORE_OK) {
        late = job.lease != m->lease;
        if (!late && m->pause)
            breakers_pause(&self->breakers, job.carrier, m->job_id, m->message, now);
        else if (!late)
            breakers_record(&self->breakers, job.carrier, job.kind, m->job_id, m->outcome, now);
    }
    /* under a savepoint: a result applied half-way is not applied at all (the lease expires) */
    if (store_tx_savepoint(self->tx) == STORE_OK) {
        int ok = sink_job_result(self->tx, m, &self->cfg.policy, now) == STORE_OK;

        if (!ok)
            log_error("cannot apply the result of job %" PRId64 " (%s); its lease will expire", m->job_id,
                      store_tx_message(self->tx));
        store_tx_release(self->tx, ok);
    }
    pthread_mutex_lock(&self->stats_lock);
    if (late)
        self->stats.results_late++;
    else if (m->pause)
        self->stats.results_paused++;
    else if (m->outcome == WIRE_OK)
        self->stats.results_ok++;
    else if (m->outcome == WIRE_RETRY)
        self->stats.results_retry++;
    else
        self->stats.results_fail++;
    pthread_mutex_unlock(&self->stats_lock);
    self->next_due = now; /* a retry may be due at once; credit is free again */
}

/* engine_apply_message - the durable effect of one worker message, inside the batch */
void
engine_apply_message(engine_t *self, inbound_t *in, int64_t now)
{
    int wi = peers_find(&self->peers, in->id, in->idlen);

    switch (in->msg.cmd) {
    case WIRE_BYE:
        if (wi >= 0)
            engine_remove_worker(self, wi, now, "said goodbye");
        break;
    case WIRE_RESULT:
        apply_result(self, &in->msg, now);
        break;
    default:
        break; /* READY and HEARTBEAT: note_peers did everything */
    }
}

void
engine_forget_messages(engine_t *self, int nmsg)
{
    int i;

    for (i = 0; i < nmsg; i++)
        wire_msg_clear(&self->in[i].msg);
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

/* engine_lease_jobs - due jobs for every worker with free credit, when any may be due */
int
engine_lease_jobs(engine_t *self, int64_t now)
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
    /* a book job queued at intake carries its dossier; the worker builds the booking from it */
    if (o->lease.payload_of_dossier)
        m.data = m.data ? json_pack("{s:o}", "dossier", m.data) : NULL;
    /* the shipment's identifiers come from the shipment row, never stale payload copies */
    if (json_is_object(m.data) && o->lease.waybill[0])
        json_object_set_new(m.data, "waybill", json_string(o->lease.waybill));
    if (json_is_object(m.data) && o->lease.carrier_ref[0])
        json_object_set_new(m.data, "carrier_ref", json_string(o->lease.carrier_ref));
    if (wire_send(self->router, w->id, w->idlen, &m) != 0)
        log_warn("cannot send job %" PRId64 " to worker %s; its lease will expire", m.job_id, w->name);
    wire_msg_clear(&m);
}

/* engine_dispatch - after the commit, send the leased jobs; after a failed one, forget them
 * (their leases were rolled back) */
void
engine_dispatch(engine_t *self, batch_t *b, int64_t now)
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

