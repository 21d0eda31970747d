/*
 * sim_store_test - the simulator's store (carriers/sim/sim_store.c): webhook outbox limits
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "carriers/sim/sim.h"

/* a full outbox drops the event; with dup_webhook its duplicate is still made from a live
 * copy (this used the freed original before: AddressSanitizer reports heap-use-after-free) */
static void
test_full_outbox_with_duplicates(void **state)
{
    sim_t sim;
    sim_faults_t faults;
    sim_order_t order;
    char err[256];

    (void)state;
    memset(&faults, 0, sizeof faults);
    faults.dup_webhook = 1.0;
    assert_int_equal(sim_init(&sim, "u", "p", "C", "http://127.0.0.1:9/events", "", "", 60, 600, &faults, 1, err,
                              sizeof err),
                     0);
    memset(&order, 0, sizeof order);
    snprintf(order.original_id, sizeof order.original_id, "VNP1");
    snprintf(order.item_code, sizeof order.item_code, "RR000000080VN");
    snprintf(order.sale_order, sizeof order.sale_order, "000.00.31.H23-231124-0001");
    pthread_mutex_lock(&sim.mu);
    sim.outbox_len = SIM_MAX_OUTBOX; /* full */
    sim_record_locked(&sim, &order, 1, sim_now_ms(&sim), 0);
    assert_int_equal(order.nhist, 1);
    assert_int_equal(sim.webhook_events_dropped, 2);
    sim.outbox_len = 0;
    pthread_mutex_unlock(&sim.mu);
    sim_destroy(&sim);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_outbox_with_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
