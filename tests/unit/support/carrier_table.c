/*
 * carrier_table - status-table checks for the adapters' unit tests (see carrier_table.h)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "domain/status.h"
#include "tests/unit/support/carrier_table.h"

const carrier_ops_t *
carrier_ops_named(const char *name)
{
    const carrier_ops_t *ops = carrier_find(name);

    if (!ops)
        fail_msg("carrier_find(\"%s\") = NULL, want the adapter's ops", name);
    return ops;
}

void
carrier_check_map(const carrier_ops_t *ops, const carrier_map_case_t *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        carrier_mapping_t m;
        int rc = ops->map_status(cases[i].raw, &m);

        if (rc != 0)
            fail_msg("%s map_status(%s): got %d, want 0", ops->name, cases[i].raw, rc);
        if (!m.status || strcmp(m.status, cases[i].status) != 0)
            fail_msg("%s map_status(%s): got status %s, want %s", ops->name, cases[i].raw,
                     m.status ? m.status : "(null)", cases[i].status);
        if (!m.upu || strcmp(m.upu, cases[i].upu) != 0)
            fail_msg("%s map_status(%s): got UPU '%s', want '%s'", ops->name, cases[i].raw, m.upu ? m.upu : "(null)",
                     cases[i].upu);
        if (!status_lookup(m.status))
            fail_msg("%s map_status(%s): got %s, want a normalized status of status.h", ops->name, cases[i].raw,
                     m.status);
    }
}

void
carrier_check_unknown(const carrier_ops_t *ops, const char *const *raw, size_t n)
{
    carrier_mapping_t m;
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        rc = ops->map_status(raw[i], &m);
        if (rc != -1 || m.status != NULL)
            fail_msg("%s map_status('%s'): got %d/%s, want -1/NULL", ops->name, raw[i], rc,
                     m.status ? m.status : "NULL");
    }
    rc = ops->map_status(NULL, &m);
    if (rc != -1)
        fail_msg("%s map_status(NULL): got %d, want -1", ops->name, rc);
}
