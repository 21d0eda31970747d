/*
 * intake_test - what the dossier's carrier can take (gateway/rules/intake.c)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "carriers/carrier.h"
#include "domain/dossier.h"
#include "gateway/rules/intake.h"

/* a dossier whose agency name is name (JSON-escaped by the caller) */
static dossier_t *
dossier_with_agency_name(const char *name, const char *carrier)
{
    char body[4096];
    dossier_t *d = NULL;
    api_error_t err;

    snprintf(body, sizeof body,
             "{\"dossier_code\": \"000.00.31.H23-231124-0001\", \"service\": \"return\","
             " \"procedure\": {\"code\": \"1.001234.000.00.00.H23\", \"name\": \"Cấp bản sao trích lục\"},"
             " \"agency\": {\"code\": \"000.00.31.H23\", \"name\": \"%s\", \"address\": \"Số 1\","
             " \"phone\": \"02253842123\", \"province_code\": \"31\", \"commune_code\": \"11311\"},"
             " \"recipient\": {\"name\": \"Nguyễn Thị Ánh Tuyết\", \"phone\": \"0912345678\", \"address\": \"Số 12\","
             " \"province_code\": \"01\", \"commune_code\": \"00004\"},"
             " \"result\": {\"summary\": \"Trích lục khai sinh\"}, \"carrier\": \"%s\"}",
             name, carrier);
    if (dossier_from_json(body, strlen(body), "vnpost", &d, &err) != 0)
        fail_msg("the test dossier was refused: %s %s", err.field, err.message);
    return d;
}

/* repeat - n copies of unit into out */
static void
repeat(char *out, size_t outlen, const char *unit, size_t n)
{
    size_t i, len = 0, ul = strlen(unit);

    for (i = 0; i < n && len + ul < outlen; i++, len += ul)
        memcpy(out + len, unit, ul);
    out[len] = '\0';
}

static void
test_limits(void **state)
{
    static const struct {
        const char *carrier, *unit;
        size_t count;
        int want_ok;
    } cases[] = {
        /* "Ủ" takes 3 bytes of UTF-8: the carrier counts bytes, the domain characters */
        { "vnpost", "Ủ", 50, 1 },   /* 150 bytes */
        { "vnpost", "a", 200, 1 },  /* exactly the limit */
        { "vnpost", "Ư", 101, 0 },  /* 202 bytes */
        { "vnpost", "Ủ", 67, 0 },   /* 67 characters, 201 bytes: within the domain's 200 characters */
        { "viettel", "Ư", 101, 0 },
        { "viettel", "a", 150, 1 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[1024];
        dossier_t *d;
        api_error_t err;
        int ok;

        repeat(name, sizeof name, cases[i].unit, cases[i].count);
        d = dossier_with_agency_name(name, cases[i].carrier);
        memset(&err, 0, sizeof err);
        ok = intake_check_deliverable(d, carrier_find(cases[i].carrier), &err) == 0;
        if (ok != cases[i].want_ok)
            fail_msg("case %zu (%s, %zu bytes): got %s, want %s", i, cases[i].carrier, strlen(name),
                     ok ? "accepted" : "refused", cases[i].want_ok ? "accepted" : "refused");
        if (!ok) {
            assert_int_equal(err.status, 422);
            assert_string_equal(err.field, "agency.name");
        }
        dossier_destroy(&d);
    }
}

static void
test_unknown_carrier(void **state)
{
    dossier_t *d = dossier_with_agency_name("UBND phường Hồng Bàng", "pigeon");
    api_error_t err;

    (void)state;
    assert_int_equal(intake_check_deliverable(d, carrier_find(d->carrier), &err), -1);
    assert_int_equal(err.status, 422);
    assert_string_equal(err.code, "unknown_carrier");
    assert_string_equal(err.field, "carrier");
    dossier_destroy(&d);
}

static void
test_every_carrier_declares_limits(void **state)
{
    char names[256];
    char *p = names, *comma;

    (void)state;
    snprintf(names, sizeof names, "%s", carrier_names());
    for (; p; p = comma ? comma + 1 : NULL) {
        const carrier_ops_t *ops;

        comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        ops = carrier_find(p);

        assert_non_null(ops);
        if (!ops->limits || !ops->limits->name_bytes || !ops->limits->address_bytes)
            fail_msg("carrier %s declares no limits in its ops table", p);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_unknown_carrier),
        cmocka_unit_test(test_every_carrier_declares_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
