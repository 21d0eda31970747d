/*
 * breaker - per-carrier circuit breakers (see breaker.h)
 */
#include "gateway/engine/breaker.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

void
breakers_init(breakers_t *self, int threshold, int64_t cooldown_ms, int max_inflight)
{
    memset(self, 0, sizeof *self);
    self->threshold = threshold;
    self->cooldown_ms = cooldown_ms;
    self->max_inflight = max_inflight;
}

breaker_t *
breakers_get(breakers_t *self, const char *carrier)
{
    breaker_t *b;
    int i;

    for (i = 0; i < self->n; i++)
        if (strcmp(self->b[i].name, carrier) == 0)
            return &self->b[i];
    if (self->n == BREAKERS_MAX)
        return &self->b[0];
    b = &self->b[self->n++];
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", carrier);
    b->cooldown_ms = self->cooldown_ms;
    return b;
}

int
breakers_allowance(breakers_t *self, const char *carrier, int64_t now)
{
    breaker_t *b = breakers_get(self, carrier);
    int room = self->max_inflight - b->inflight;

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

void
breakers_leased(breakers_t *self, const char *carrier, int n, int64_t first_job)
{
    breaker_t *b = breakers_get(self, carrier);

    if (n <= 0)
        return;
    if (b->open) {
        b->half_open_probe = 1;
        b->probe_job = first_job;
    }
    b->inflight += n;
}

void
breakers_returned(breakers_t *self, const char *carrier, int n)
{
    breaker_t *b = breakers_get(self, carrier);

    b->inflight = b->inflight > n ? b->inflight - n : 0;
}

void
breakers_record(breakers_t *self, const char *carrier, const char *kind, int64_t job_id, wire_outcome_t outcome,
                int64_t now)
{
    breaker_t *b = breakers_get(self, carrier);

    if (b->inflight > 0)
        b->inflight--;
    /* the case system is not the carrier: its failures say nothing of the carrier */
    if (strcmp(kind, "notify") == 0)
        return;
    if (outcome != WIRE_RETRY) {
        /* any answer that is not a transport failure means the carrier is back */
        if (b->paused)
            log_warn("carrier %s: no longer paused, the carrier accepts the gateway's credentials again; "
                     "traffic resumes",
                     carrier);
        else if (b->open)
            log_info("carrier %s: circuit breaker closed, traffic resumes", carrier);
        b->open = 0;
        b->paused = 0;
        b->reason[0] = '\0';
        b->half_open_probe = 0;
        b->consecutive_failures = 0;
        b->cooldown_ms = self->cooldown_ms;
        return;
    }
    b->consecutive_failures++;
    if (b->open) {
        /* failures of jobs leased before the breaker opened say nothing new; only the
         * half-open probe's failure keeps it open longer */
        if (b->half_open_probe && job_id == b->probe_job) {
            int64_t max = b->paused ? BREAKER_PAUSE_PROBE_MAX_MS : BREAKER_COOLDOWN_MAX_MS;

            b->cooldown_ms = b->cooldown_ms * 2 > max ? max : b->cooldown_ms * 2;
            b->open_until = now + b->cooldown_ms;
            b->half_open_probe = 0;
        }
        return;
    }
    if (b->consecutive_failures >= self->threshold) {
        log_warn("carrier %s: circuit breaker open after %d consecutive failures", carrier, b->consecutive_failures);
        b->open = 1;
        b->open_until = now + b->cooldown_ms;
    }
}

void
breakers_pause(breakers_t *self, const char *carrier, int64_t job_id, const char *reason, int64_t now)
{
    breaker_t *b = breakers_get(self, carrier);

    if (b->inflight > 0)
        b->inflight--;
    if (!b->paused) {
        /* the alert, once per pause: every job of the carrier would fail the same way */
        log_error("ALERT carrier %s paused: it refuses the gateway's configuration (%s); its jobs wait, "
                  "fix the worker's settings or restart the workers with the right ones",
                  carrier, reason && *reason ? reason : "no reason given");
        b->paused = 1;
        snprintf(b->reason, sizeof b->reason, "%s", reason && *reason ? reason : "credentials refused");
        b->open = 1;
        b->half_open_probe = 0;
        b->cooldown_ms = self->cooldown_ms;
        b->open_until = now + b->cooldown_ms;
        return;
    }
    if (b->half_open_probe && job_id == b->probe_job) {
        b->cooldown_ms =
            b->cooldown_ms * 2 > BREAKER_PAUSE_PROBE_MAX_MS ? BREAKER_PAUSE_PROBE_MAX_MS : b->cooldown_ms * 2;
        b->open_until = now + b->cooldown_ms;
        b->half_open_probe = 0;
        snprintf(b->reason, sizeof b->reason, "%s", reason && *reason ? reason : "credentials refused");
    }
}

void
breakers_set_inflight(breakers_t *self, const store_job_inflight_t *counts, int n)
{
    int i;

    for (i = 0; i < self->n; i++)
        self->b[i].inflight = 0;
    for (i = 0; i < n; i++)
        breakers_get(self, counts[i].carrier)->inflight = counts[i].leased;
}

int
breakers_open(const breakers_t *self)
{
    int i, n = 0;

    for (i = 0; i < self->n; i++)
        n += self->b[i].open;
    return n;
}
