/*
 * carrier_table - checks of a carrier adapter's status table, shared by the
 * adapters' unit tests (viettel_test, vnpost_test)
 *
 * For cmocka tests: a wrong answer ends the current test with fail_msg.
 */
#ifndef BCCI_TEST_CARRIER_TABLE_H
#define BCCI_TEST_CARRIER_TABLE_H

#include <stddef.h>

#include "carriers/carrier.h"

typedef struct {
    const char *raw;    /* the carrier's code */
    const char *status; /* normalized status it must map to */
    const char *upu;    /* UPU event code it must map to, or "" */
} carrier_map_case_t;

/* carrier_ops_named - the ops of a registered carrier (fails the test when unknown) */
const carrier_ops_t *carrier_ops_named(const char *name);

/* carrier_check_map - every case maps to its status and UPU code, and every
 * status is a normalized one of status.h */
void carrier_check_map(const carrier_ops_t *ops, const carrier_map_case_t *cases, size_t n);

/* carrier_check_unknown - every code of raw (n entries) and NULL map to -1 with status NULL */
void carrier_check_unknown(const carrier_ops_t *ops, const char *const *raw, size_t n);

#endif
