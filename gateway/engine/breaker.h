/*
 * breaker - per-carrier circuit breakers and in-flight limits of the dispatcher
 *
 * Postfix keeps a "dead destination" list so a down site does not eat every
 * delivery agent; the engine keeps one breaker per carrier. Closed: up to
 * max_inflight jobs of the carrier may be out at once. After threshold
 * consecutive transport failures (RETRY outcomes) it opens for a cooldown
 * that doubles up to 60 s; then it is half-open and lets one probe job out;
 * the probe's success closes it, its failure opens it again for longer.
 * Failures of notify jobs are the case system's, not the carrier's, and do
 * not count.
 *
 * A pause (a RESULT with the pause flag: the carrier refused the gateway's
 * own credentials) opens the breaker at once, whatever the count, with the
 * reason the worker gave; it is logged once as an alert. The half-open probe
 * keeps trying, the period doubling from the cooldown up to
 * BREAKER_PAUSE_PROBE_MAX_MS, so the jobs go out by themselves once the
 * credentials are fixed; any answer of the probe that is neither a pause nor
 * a transport failure ends the pause.
 *
 * A breakers_t is plain memory owned by the engine and used by its thread
 * only; breakers_get never fails (past BREAKERS_MAX carriers the first slot
 * is shared, which only makes the limit stricter).
 */
#ifndef BCCI_BREAKER_H
#define BCCI_BREAKER_H

#include <stdint.h>

#include "gateway/store/store_jobs.h"
#include "queues/wire.h"

#define BREAKERS_MAX 8
#define BREAKER_COOLDOWN_MAX_MS 60000
#define BREAKER_PAUSE_PROBE_MAX_MS 30000

typedef struct {
    char name[32];
    int consecutive_failures;
    int open;            /* 1 open (or half-open), 0 closed */
    int64_t open_until;
    int64_t cooldown_ms;
    int inflight;        /* jobs of this carrier leased and not answered */
    int half_open_probe; /* a probe job is out */
    int64_t probe_job;   /* its id: only its failure extends the open period */
    int paused;          /* open because the carrier refused the gateway's configuration */
    char reason[256];    /* the worker's message when paused */
} breaker_t;

typedef struct {
    breaker_t b[BREAKERS_MAX];
    int n;
    int threshold;
    int64_t cooldown_ms;
    int max_inflight;
} breakers_t;

void breakers_init(breakers_t *self, int threshold, int64_t cooldown_ms, int max_inflight);
/* breakers_get - the breaker of carrier, created closed on first use */
breaker_t *breakers_get(breakers_t *self, const char *carrier);
/* breakers_allowance - how many jobs of carrier may be leased now */
int breakers_allowance(breakers_t *self, const char *carrier, int64_t now);
/* breakers_leased - n jobs of carrier went out, the first of them first_job (the probe when half-open) */
void breakers_leased(breakers_t *self, const char *carrier, int n, int64_t first_job);
/* breakers_returned - n leases of carrier were rolled back before they went out */
void breakers_returned(breakers_t *self, const char *carrier, int n);
/* breakers_record - the answer of a job of kind for carrier: moves the breaker */
void breakers_record(breakers_t *self, const char *carrier, const char *kind, int64_t job_id, wire_outcome_t outcome,
                     int64_t now);
/* breakers_pause - the answer of job_id was a pause with reason: the carrier's breaker opens
 * (or, for the probe, stays open for the next probe period) */
void breakers_pause(breakers_t *self, const char *carrier, int64_t job_id, const char *reason, int64_t now);
/* breakers_set_inflight - the in-flight counts as the job table has them (jobs put back when a
 * worker died or a lease expired must not count against the carrier's limit) */
void breakers_set_inflight(breakers_t *self, const store_job_inflight_t *counts, int n);
/* breakers_open - how many are open */
int breakers_open(const breakers_t *self);

#endif
