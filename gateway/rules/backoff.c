/*
 * backoff - exponential backoff with full jitter (see backoff.h)
 */
#include "backoff.h"

#include <stdlib.h>
#include <time.h>

#include "crypto.h"

int64_t
backoff_ceiling_ms(int attempt, int64_t base_ms, int64_t cap_ms)
{
    int64_t v = base_ms;
    int i;

    if (attempt < 0)
        attempt = 0;
    for (i = 0; i < attempt && v < cap_ms; i++)
        v *= 2;
    return v < cap_ms ? v : cap_ms;
}

int64_t
backoff_full_jitter_ms(int attempt, int64_t base_ms, int64_t cap_ms, double u01)
{
    int64_t ceiling = backoff_ceiling_ms(attempt, base_ms, cap_ms);

    if (u01 < 0)
        u01 = 0;
    if (u01 >= 1)
        u01 = 0.999999;
    return (int64_t)((double)ceiling * u01);
}

double
backoff_random01(void)
{
    uint64_t r;

    if (random_bytes(&r, sizeof r) != 0)
        r = (uint64_t)clock() * 6364136223846793005ULL;
    return (double)(r >> 11) / 9007199254740992.0;
}
