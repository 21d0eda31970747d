/*
 * backoff_test - exponential backoff with full jitter: ceilings, caps,
 * overflow at huge attempts, and the spread of the random draw.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gateway/rules/backoff.h"

typedef struct {
    int attempt;
    int64_t base, cap;
    double u01;
    int64_t want_ceiling, want_delay;
} backoff_case_t;

static const backoff_case_t cases[] = {
    { 0, 1000, 60000, 0.0, 1000, 0 },
    { 0, 1000, 60000, 0.5, 1000, 500 },
    { 1, 1000, 60000, 0.5, 2000, 1000 },
    { 2, 1000, 60000, 0.25, 4000, 1000 },
    { 5, 1000, 60000, 0.5, 32000, 16000 },
    { 6, 1000, 60000, 0.5, 60000, 30000 },     /* 64000 capped */
    { 30, 1000, 60000, 0.999, 60000, 59940 },
    { -3, 1000, 60000, 0.5, 1000, 500 },       /* negative attempt counts as 0 */
    { 1000, 1000, 86400000, 0.5, 86400000, 43200000 },
    { 1000, 1, INT64_MAX / 2, 0.0, INT64_MAX / 2, 0 },
    { 10, 500, 500, 0.5, 500, 250 },           /* base == cap */
    { 3, 1000, 60000, -1.0, 8000, 0 },         /* u01 below range clamps to 0 */
    { 3, 1000, 60000, 1.0, 8000, 7999 },       /* u01 == 1 stays below the ceiling */
};

static void
test_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const backoff_case_t *c = &cases[i];
        int64_t ceil = backoff_ceiling_ms(c->attempt, c->base, c->cap);
        int64_t d = backoff_full_jitter_ms(c->attempt, c->base, c->cap, c->u01);

        if (ceil != c->want_ceiling)
            fail_msg("case %zu (attempt %d base %lld cap %lld): got ceiling %lld, want %lld", i, c->attempt,
                     (long long)c->base, (long long)c->cap, (long long)ceil, (long long)c->want_ceiling);
        if (d != c->want_delay)
            fail_msg("case %zu (attempt %d u01 %g): got delay %lld, want %lld", i, c->attempt, c->u01,
                     (long long)d, (long long)c->want_delay);
    }
}

static void
test_never_above_cap(void **state)
{
    static const int64_t bases[] = { 1, 7, 1000, 30000 };
    static const int64_t caps[] = { 1, 1000, 3600000, 86400000, INT64_MAX / 4 };
    size_t b, c;
    int a;

    (void)state;
    for (b = 0; b < sizeof bases / sizeof bases[0]; b++)
        for (c = 0; c < sizeof caps / sizeof caps[0]; c++)
            for (a = 0; a <= 1000; a++) {
                int64_t v = backoff_ceiling_ms(a, bases[b], caps[c]);
                int64_t d = backoff_full_jitter_ms(a, bases[b], caps[c], 0.999999);

                if (v <= 0 || v > caps[c] || d < 0 || d > v)
                    fail_msg("attempt %d base %lld cap %lld: got ceiling %lld delay %lld, want 0 < ceiling <= cap"
                             " and 0 <= delay <= ceiling",
                             a, (long long)bases[b], (long long)caps[c], (long long)v, (long long)d);
                if (a > 0 && v < backoff_ceiling_ms(a - 1, bases[b], caps[c]))
                    fail_msg("attempt %d: ceiling %lld went down", a, (long long)v);
            }
}

static void
test_random01_range_and_spread(void **state)
{
    const int n = 10000;
    const int64_t ceiling = backoff_ceiling_ms(4, 1000, 60000); /* 16000 */
    double sum = 0, mean;
    int i, low = 0, high = 0;

    (void)state;
    for (i = 0; i < n; i++) {
        double u = backoff_random01();
        int64_t d;

        if (u < 0 || u >= 1)
            fail_msg("draw %d: got %f, want [0,1)", i, u);
        d = backoff_full_jitter_ms(4, 1000, 60000, u);
        sum += (double)d;
        if (d < ceiling / 4)
            low++;
        if (d >= ceiling * 3 / 4)
            high++;
    }
    mean = sum / n;
    if (mean < ceiling / 2.0 * 0.9 || mean > ceiling / 2.0 * 1.1)
        fail_msg("mean of %d draws: got %.1f, want %.1f +- 10%%", n, mean, ceiling / 2.0);
    /* each quarter should hold about 2500 draws */
    if (low < 2000 || low > 3000 || high < 2000 || high > 3000)
        fail_msg("quarters: got %d below 1/4 and %d above 3/4 of %d, want about 2500 each", low, high, n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_never_above_cap),
        cmocka_unit_test(test_random01_range_and_spread),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
