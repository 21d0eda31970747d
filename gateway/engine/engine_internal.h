/*
 * engine_internal - what the engine's files share (gateway/engine/ only)
 *
 * The engine is one thread (engine.c: lifecycle and the loop) whose turn is
 * split by concern, as Postfix's qmgr is: engine_batch.c runs a batch in one
 * transaction (operations, maintenance, the commit, the answers),
 * engine_workers.c speaks to the workers (messages in, leases out). struct
 * engine is owned by engine.c; the others borrow it on the engine thread.
 */
#ifndef BCCI_ENGINE_INTERNAL_H
#define BCCI_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "gateway/engine/breaker.h"
#include "gateway/engine/engine.h"
#include "gateway/engine/peers.h"
#include "gateway/engine/zap.h"
#include "gateway/store/store_jobs.h"
#include "queues/wire.h"

#define ENGINE_MAX_MSGS 4096
#define ENGINE_MAX_LEASES 4096
#define ENGINE_MAINTENANCE_MS 500
#define ENGINE_STORAGE_BACKOFF_MIN_MS 100
#define ENGINE_STORAGE_BACKOFF_MAX_MS 2000
#define ENGINE_STORAGE_RETRY_AFTER_S 2
/* how often an instance asks for the scheduler role (and a holder confirms it still has it):
 * a dead holder's role is taken over within this long once the store frees it */
#define ENGINE_LEADER_RETRY_MS 2000
#define ENGINE_LEADER_ROLE "scheduler"

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
    int last_batch_ops;        /* operations the previous batch carried: a sign of load */
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
    int64_t next_purge;        /* the scheduled retention purge, when purge_after_days is set */
    int64_t next_leader_check; /* the next store_leader_try of the scheduler role */
    int leader;                /* this instance holds the scheduler role: it alone schedules */
    int64_t next_due;          /* earliest ready job, INT64_MAX when none known */
    int64_t storage_retry_at;  /* while the database refuses: no transaction before this */
    int64_t storage_backoff_ms;

    inbound_t *in;
    outbound_t *out;
    store_job_lease_t *lease_buf;

    pthread_mutex_t stats_lock;
    engine_stats_t stats;
};

/* engine.c */
void engine_wake(engine_t *self);

/* engine_batch.c */
/* engine_take_ops - up to max_batch waiting operations, in arrival order; *nops how many */
engine_op_t *engine_take_ops(engine_t *self, int *nops);
/* engine_batch_needs_tx - whether this turn has anything to write */
int engine_batch_needs_tx(engine_t *self, const batch_t *b, int64_t now);
/* engine_run_batch - one transaction: operations, messages, maintenance, leases; 1 when committed */
int engine_run_batch(engine_t *self, batch_t *b, int64_t now);
void engine_publish_stats(engine_t *self, const batch_t *b);
/* engine_answer_ops - wake the submitters of ops; an uncommitted batch answers 503 */
void engine_answer_ops(engine_t *self, engine_op_t *ops, int committed);

/* engine_workers.c */
int engine_receive_messages(engine_t *self);
void engine_note_peers(engine_t *self, int nmsg, int64_t now);
void engine_remove_worker(engine_t *self, int i, int64_t now, const char *why);
void engine_apply_message(engine_t *self, inbound_t *in, int64_t now);
void engine_forget_messages(engine_t *self, int nmsg);
int engine_lease_jobs(engine_t *self, int64_t now);
void engine_dispatch(engine_t *self, batch_t *b, int64_t now);

#endif
