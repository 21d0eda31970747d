/*
 * status_test - the one status machine (status_may_move), table-driven
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "domain/status.h"

static void
test_status_may_move(void **state)
{
    static const struct {
        const char *from;
        int64_t from_time;
        const char *to;
        int64_t to_time;
        int want;
    } cases[] = {
        { "created", 0, "booked", 10, 1 },
        { "booked", 10, "accepted", 20, 1 },
        { "accepted", 20, "in_transit", 30, 1 },
        { "in_transit", 30, "out_for_delivery", 40, 1 },
        { "out_for_delivery", 40, "delivery_failed", 50, 1 },
        { "delivery_failed", 50, "out_for_delivery", 60, 1 }, /* a second attempt */
        { "delivery_failed", 60, "returning", 70, 1 },
        { "returning", 70, "returned", 80, 1 },
        { "out_for_delivery", 40, "delivered", 50, 1 },
        { "delivered", 50, "in_transit", 60, 0 },         /* terminal */
        { "returned", 80, "delivered", 90, 0 },           /* terminal */
        { "cancelled", 10, "booked", 20, 0 },             /* terminal */
        { "in_transit", 30, "out_for_delivery", 20, 0 },  /* older event */
        { "in_transit", 30, "in_transit", 40, 0 },        /* same status */
        { "in_transit", 30, "accepted", 40, 0 },          /* a later scan never moves it back */
        { "accepted", 20, "booked", 30, 0 },              /* a late booking result */
        { "out_for_delivery", 40, "pickup_pending", 50, 0 },
        { "exception", 10, "booked", 20, 1 },             /* a refused booking replayed */
        { "exception", 10, "in_transit", 20, 1 },
        { "created", 0, "cancelled", 5, 1 },
        { "created", 0, "nonsense", 5, 0 },
        { "nonsense", 0, "booked", 5, 0 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = status_may_move(cases[i].from, cases[i].from_time, cases[i].to, cases[i].to_time);

        if (got != cases[i].want)
            fail_msg("%s@%lld -> %s@%lld: got %d, want %d", cases[i].from, (long long)cases[i].from_time,
                     cases[i].to, (long long)cases[i].to_time, got, cases[i].want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_may_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
