/*
 * engine - bccid's single writer: group commit, job dispatch, result sink
 *
 * One thread owns the database writer and the ZeroMQ ROUTER socket, in the
 * manner of Postfix's queue manager: it alone changes queue state. HTTP
 * threads hand it operations (engine_submit) and block until the batch that
 * carried them has committed, so many requests share one fsync (group
 * commit) and a 2xx always means durable. In the same loop it leases due jobs
 * to workers with free credit, applies their results, tracks heartbeats
 * (a worker silent for 3 s is dead and its jobs go back), expires leases,
 * and keeps a per-carrier circuit breaker.
 *
 * Ownership: the engine borrows the store (the caller closes it after
 * engine_destroy). An engine_op_t is owned by the submitter; its inputs are
 * borrowed until engine_submit returns; op->result then belongs to the
 * submitter.
 */
#ifndef BCCI_ENGINE_H
#define BCCI_ENGINE_H

#include <jansson.h>
#include <stdint.h>

#include "carriers/carrier.h"
#include "api_error.h"
#include "domain/dossier.h"
#include "gateway/rules/scheduler.h"
#include "gateway/rules/sink.h"
#include "gateway/store/store.h"

typedef enum {
    ENGINE_OP_INTAKE,        /* a dossier: write_fn like ENGINE_OP_CALL, counted as intake */
    ENGINE_OP_EVENTS,
    ENGINE_OP_CALL,          /* write_fn(store, write_arg, …) inside the batch's transaction */
} engine_op_kind_t;

/* engine_write_fn - a write run by the engine thread inside the open transaction (under its own
 * savepoint). Returns the HTTP status (2xx) with *out set, or -1 with err set; on -1 everything
 * it wrote is rolled back. */
typedef int (*engine_write_fn)(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err);

typedef struct engine_op {
    engine_op_kind_t kind;
    /* inputs, borrowed */
    const dossier_t *dossier;
    const carrier_ops_t *carrier;
    const carrier_event_list_t *events;
    engine_write_fn write_fn;
    void *write_arg;
    /* outputs */
    int status;              /* HTTP status to answer */
    json_t *result;          /* on success; submitter owns after return */
    api_error_t err;         /* on failure */
    sink_report_t report;    /* ENGINE_OP_EVENTS */
    /* completion: NULL = the submitter blocks in engine_submit; else called on the
     * engine thread after the commit (engine_submit_async) */
    void (*on_done)(struct engine_op *op, void *cls);
    void *cls;
    /* engine bookkeeping */
    int done;
    struct engine_op *next;
} engine_op_t;

typedef struct {
    const char *jobs_endpoint;     /* ipc://… or tcp://… */
    int max_batch;                 /* operations per commit */
    int commit_delay_us;           /* under load, wait this long for more operations before a commit */
    int breaker_threshold;         /* consecutive carrier failures that open the breaker */
    int64_t breaker_cooldown_ms;   /* first open period; doubles up to 60 s */
    int carrier_max_inflight;      /* per carrier, across all workers */
    sink_policy_t policy;
    const char *curve_secret_key;  /* Z85 server secret key: CURVE on the jobs socket (NULL = plain) */
    const char *curve_allowed;     /* file of worker public keys (Z85, one per line) allowed in */
    scheduler_config_t scheduler;  /* its policy pointer is set by the engine to its own policy */
    int64_t scheduler_interval_ms; /* 0 = 1000 */
} engine_config_t;

typedef struct engine engine_t;

/* engine_new - bind the ROUTER, put every leased job back to ready. NULL with err on failure. */
engine_t *engine_new(store_t *store, const engine_config_t *cfg, char *err, size_t errlen);
int engine_start(engine_t *self);
/* engine_stop - stop leasing, wait up to drain_ms for in-flight results, requeue the rest */
void engine_stop(engine_t *self, int64_t drain_ms);
void engine_destroy(engine_t **self);

/* engine_submit - run op in the next batch and wait for its commit; returns op->status */
int engine_submit(engine_t *self, engine_op_t *op);
/* engine_submit_async - queue op; on_done(op, cls) runs on the engine thread once the batch
 * committed (or failed). op must stay valid until then. */
void engine_submit_async(engine_t *self, engine_op_t *op, void (*on_done)(engine_op_t *, void *), void *cls);

typedef struct {
    long long dossiers_accepted, dossiers_replayed, commits, ops_committed, commit_failures;
    long long results_ok, results_retry, results_fail, results_late, results_paused;
    long long events_applied, events_duplicate, events_unknown_code;
    int workers, breaker_open;
    long long polls, invitations, returns, sla_breaches, purged;
    int scheduler_leader;      /* 1 while this instance holds the scheduler role (store_leader_try) */
    /* per carrier, for /metrics: breaker state and jobs in flight */
    struct {
        char name[32];
        int open, inflight, consecutive_failures;
        int paused;         /* the carrier refuses the gateway's configuration */
        char reason[256];   /* why, when paused */
    } carriers[8];
    int ncarriers;
} engine_stats_t;
void engine_get_stats(engine_t *self, engine_stats_t *out);
/* engine_policy - the sink policy (case-system URL, retry limits), borrowed for the engine's life */
const sink_policy_t *engine_policy(engine_t *self);

#endif
