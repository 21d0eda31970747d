/*
 * worker - the logic of bcci-worker: a stateless job runner for bccid
 *
 * The main thread owns one ZeroMQ DEALER socket per bccid instance named in
 * `connect` (a comma-separated list: several bccid instances on one database
 * each hand out their own jobs). On each link it announces READY {worker,
 * carriers, credit}, sends HEARTBEAT every second, receives JOBs and sends
 * each RESULT back on the link its JOB came from. When one bccid has been
 * silent for WIRE_HEARTBEAT_LIVENESS heartbeats the worker closes that link's
 * socket, opens a new one and announces READY again (Paranoid Pirate, per
 * link: the other instances keep being served); jobs already running keep
 * running and their results go out on the new socket (bccid reconciles them
 * by lease). Each link announces the full credit: jobs beyond the threads
 * wait in the local queue.
 *
 * Jobs run on `concurrency` threads. Each thread owns its own carrier_t for
 * every configured carrier, its own notify_t, and an sms_t / email_t when
 * sms.url / smtp.url are configured (curl handles are never shared). Job
 * kinds: book, cancel, track, return (carriers), notify (case system), sms and email
 * (the citizen; see queues/sms.h, queues/email.h). Threads hand results back through a mutex-protected list and an
 * eventfd that the main thread polls beside the socket. Jobs that arrive while
 * every thread is busy wait in a local queue.
 *
 * Stopping (worker_request_stop, e.g. from SIGTERM): send BYE, answer jobs
 * not yet started with retry, wait up to `drain_ms` for running jobs, send
 * their results, then worker_run returns.
 *
 * Ownership: worker_new borrows cfg until worker_destroy. curl_global_init
 * must have run before worker_new.
 */
#ifndef BCCI_WORKER_H
#define BCCI_WORKER_H

#include <stddef.h>

#include "config.h"

typedef struct worker worker_t;

#define WORKER_MAX_LINKS 16     /* bccid instances one worker connects to */
#define WORKER_ENDPOINT_MAX 512 /* bytes of one endpoint, with its NUL */

/* worker_endpoints_parse - split `connect` (comma-separated) into out[0..*n), each checked as
 * an ipc://PATH or tcp://HOST:PORT endpoint; 0, or -1 with err naming the endpoint at fault
 * (malformed, listed twice, too many or none) */
int worker_endpoints_parse(const char *list, char out[][WORKER_ENDPOINT_MAX], int *n, char *err, size_t errlen);

/* worker_config_spec - every option bcci-worker accepts (static table) */
extern const config_spec_t worker_config_spec[];

/* worker_new - validate options, build the per-thread carriers and notifiers.
 * NULL with a one-line reason in err (unknown carrier, unreadable secret, …).
 * Threads and sockets are not started yet. Caller owns. */
worker_t *worker_new(const config_t *cfg, char *err, size_t errlen);

/* worker_run - connect and serve until a stop is requested and the drain is
 * done. 0 on a clean stop, -1 with err when the socket could not be set up. */
int worker_run(worker_t *self, char *err, size_t errlen);

/* worker_request_stop - async-signal-safe: ask worker_run to drain and return */
void worker_request_stop(worker_t *self);

/* worker_destroy - free everything; worker_run must have returned. NULLs *self. */
void worker_destroy(worker_t **self);

/* worker_name - the name announced in READY (borrowed from the worker) */
const char *worker_name(const worker_t *self);

#endif
