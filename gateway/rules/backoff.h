/*
 * backoff - exponential backoff with full jitter (AWS architecture blog style)
 *
 * delay = random_between(0, min(cap, base * 2^attempt)). Pure apart from the
 * random source, which the caller passes so tests can pin it.
 */
#ifndef BCCI_BACKOFF_H
#define BCCI_BACKOFF_H

#include <stdint.h>

/* backoff_ceiling_ms - min(cap, base * 2^attempt), attempt counted from 0, overflow-safe */
int64_t backoff_ceiling_ms(int attempt, int64_t base_ms, int64_t cap_ms);
/* backoff_full_jitter_ms - u01 in [0,1): the random draw */
int64_t backoff_full_jitter_ms(int attempt, int64_t base_ms, int64_t cap_ms, double u01);
/* backoff_random01 - a uniform draw in [0,1) (thread-safe) */
double backoff_random01(void);

#endif
