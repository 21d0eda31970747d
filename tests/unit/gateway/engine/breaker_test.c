/*
 * breaker_test - per-carrier circuit breakers: closed, open after consecutive failures,
 * half-open with one probe, longer open periods when the probe fails
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gateway/engine/breaker.h"

static void
check_allowance(breakers_t *b, const char *carrier, int64_t now, int want, const char *when)
{
    int got = breakers_allowance(b, carrier, now);

    if (got != want)
        fail_msg("%s: allowance of %s at %lld: got %d, want %d", when, carrier, (long long)now, got, want);
}

static void
test_closed_limits_in_flight(void **state)
{
    breakers_t b;
    store_job_inflight_t counts[] = { { "vnpost", 7 } };

    (void)state;
    breakers_init(&b, 3, 1000, 10);
    check_allowance(&b, "vnpost", 0, 10, "new");
    breakers_leased(&b, "vnpost", 4, 1);
    check_allowance(&b, "vnpost", 0, 6, "4 out");
    breakers_returned(&b, "vnpost", 1);
    check_allowance(&b, "vnpost", 0, 7, "one rolled back");
    breakers_set_inflight(&b, counts, 1);
    check_allowance(&b, "vnpost", 0, 3, "recounted from the job table");
    check_allowance(&b, "viettel", 0, 10, "another carrier");
}

static void
test_opens_probes_and_closes(void **state)
{
    static const struct {
        const char *what;
        int64_t at;
        int64_t job;
        wire_outcome_t outcome;
        const char *kind;
        int want_open;
        int want_allowance_after; /* at the same time */
    } steps[] = {
        { "failure 1", 0, 1, WIRE_RETRY, "book", 0, 6 },
        { "a notify failure is the case system's", 0, 2, WIRE_RETRY, "notify", 0, 7 },
        { "failure 2", 10, 3, WIRE_RETRY, "book", 0, 8 },
        { "failure 3 opens", 20, 4, WIRE_RETRY, "track", 1, 0 },
        { "a late failure of an old job", 30, 5, WIRE_RETRY, "book", 1, 0 },
    };
    breakers_t b;
    size_t i;

    (void)state;
    breakers_init(&b, 3, 1000, 10);
    /* every job was leased while the breaker was closed */
    breakers_leased(&b, "vnpost", (int)(sizeof steps / sizeof steps[0]), 1);
    for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        breakers_record(&b, "vnpost", steps[i].kind, steps[i].job, steps[i].outcome, steps[i].at);
        if (breakers_get(&b, "vnpost")->open != steps[i].want_open)
            fail_msg("%s: got open %d, want %d", steps[i].what, breakers_get(&b, "vnpost")->open, steps[i].want_open);
        check_allowance(&b, "vnpost", steps[i].at, steps[i].want_allowance_after, steps[i].what);
    }
    assert_int_equal(breakers_open(&b), 1);
    /* cooldown over: one probe */
    check_allowance(&b, "vnpost", 1020, 1, "half-open");
    breakers_leased(&b, "vnpost", 1, 42);
    check_allowance(&b, "vnpost", 1021, 0, "probe out");
    /* the probe fails: open twice as long */
    breakers_record(&b, "vnpost", "book", 42, WIRE_RETRY, 1100);
    check_allowance(&b, "vnpost", 1100 + 1999, 0, "reopened for 2 s");
    check_allowance(&b, "vnpost", 1100 + 2000, 1, "half-open again");
    breakers_leased(&b, "vnpost", 1, 43);
    /* the probe succeeds: closed, full allowance, cooldown back to the first */
    breakers_record(&b, "vnpost", "book", 43, WIRE_OK, 3200);
    assert_int_equal(breakers_get(&b, "vnpost")->open, 0);
    assert_int_equal(breakers_get(&b, "vnpost")->cooldown_ms, 1000);
    assert_int_equal(breakers_open(&b), 0);
}

static void
test_lost_probe_does_not_block_forever(void **state)
{
    breakers_t b;
    int i;

    (void)state;
    breakers_init(&b, 1, 1000, 10);
    breakers_record(&b, "vnpost", "book", 1, WIRE_RETRY, 0);
    breakers_leased(&b, "vnpost", 1, 7);
    check_allowance(&b, "vnpost", 1000 + 2 * JOBS_LEASE_MS, 0, "probe still out");
    check_allowance(&b, "vnpost", 1001 + 2 * JOBS_LEASE_MS, 1, "probe given up after two leases");
    /* more carriers than slots share the first: never a crash, only a stricter limit */
    for (i = 0; i < BREAKERS_MAX + 2; i++) {
        char name[16];

        snprintf(name, sizeof name, "c%d", i);
        assert_non_null(breakers_get(&b, name));
    }
    assert_int_equal(b.n, BREAKERS_MAX);
}

/* a pause opens at once with its reason, the probe keeps trying with periods capped at
 * BREAKER_PAUSE_PROBE_MAX_MS, and the probe's success ends the pause */
static void
test_pause_opens_at_once_and_probes(void **state)
{
    breakers_t b;
    breaker_t *br;
    int64_t now = 0, period;
    int i;

    (void)state;
    breakers_init(&b, 5, 2000, 10);
    breakers_leased(&b, "vnpost", 3, 1);
    breakers_pause(&b, "vnpost", 1, "check carrier.vnpost.password_file", now);
    br = breakers_get(&b, "vnpost");
    assert_int_equal(br->open, 1);
    assert_int_equal(br->paused, 1);
    assert_string_equal(br->reason, "check carrier.vnpost.password_file");
    assert_int_equal(breakers_open(&b), 1);
    check_allowance(&b, "vnpost", now, 0, "paused");
    /* the other jobs out at the time say the same: nothing changes */
    breakers_pause(&b, "vnpost", 2, "again", now + 1);
    breakers_pause(&b, "vnpost", 3, "again", now + 2);
    assert_string_equal(br->reason, "check carrier.vnpost.password_file");
    assert_int_equal(br->open_until, 2000);
    check_allowance(&b, "viettel", now, 10, "another carrier is not paused");
    /* probes: each refused probe waits longer, never more than the cap */
    for (i = 0; i < 10; i++) {
        now = br->open_until;
        check_allowance(&b, "vnpost", now, 1, "half-open");
        breakers_leased(&b, "vnpost", 1, 100 + i);
        check_allowance(&b, "vnpost", now, 0, "probe out");
        breakers_pause(&b, "vnpost", 100 + i, "still refused", now + 5);
        period = br->open_until - (now + 5);
        if (period > BREAKER_PAUSE_PROBE_MAX_MS || period < 2000)
            fail_msg("probe %d: next probe in %lld ms", i, (long long)period);
        assert_int_equal(br->paused, 1);
    }
    assert_int_equal(period, BREAKER_PAUSE_PROBE_MAX_MS);
    assert_string_equal(br->reason, "still refused");
    /* the credentials are fixed: the probe books */
    now = br->open_until;
    check_allowance(&b, "vnpost", now, 1, "half-open after the fix");
    breakers_leased(&b, "vnpost", 1, 200);
    breakers_record(&b, "vnpost", "book", 200, WIRE_OK, now + 5);
    assert_int_equal(br->open, 0);
    assert_int_equal(br->paused, 0);
    assert_string_equal(br->reason, "");
    check_allowance(&b, "vnpost", now + 5, 10, "resumed");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_limits_in_flight),
        cmocka_unit_test(test_opens_probes_and_closes),
        cmocka_unit_test(test_lost_probe_does_not_block_forever),
        cmocka_unit_test(test_pause_opens_at_once_and_probes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
