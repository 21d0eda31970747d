/*
 * admin_units_test - the built-in provinces and communes (domain/admin_units)
 *
 * Counts, code order, a few known names with their diacritics and
 * postcodes, and the province check intake relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "domain/admin_units.h"

static void
test_counts_and_order(void **state)
{
    size_t i;

    (void)state;
    assert_int_equal(admin_units_province_count(), 34);
    assert_int_equal(admin_units_commune_count(), 3321);
    for (i = 1; i < admin_units_province_count(); i++)
        if (strcmp(admin_units_province_at(i - 1)->code, admin_units_province_at(i)->code) >= 0)
            fail_msg("provinces out of order at %zu: %s then %s", i, admin_units_province_at(i - 1)->code,
                     admin_units_province_at(i)->code);
    for (i = 0; i < admin_units_commune_count(); i++) {
        const admin_commune_t *c = admin_units_commune_at(i);
        /* every commune is found by its code and belongs to a listed province */
        if (admin_units_commune(c->code) != c)
            fail_msg("commune %s: lookup by code got another record", c->code);
        if (!admin_units_commune_in_province(c->code, c->province_code))
            fail_msg("commune %s: got outside its own province %s", c->code, c->province_code);
    }
    assert_null(admin_units_province_at(34));
    assert_null(admin_units_commune_at(3321));
}

static void
test_known_names(void **state)
{
    static const struct {
        const char *code, *province, *full_name, *name, *postcode;
    } communes[] = {
        { "00004", "01", "Phường Ba Đình", "Ba Đình", "11120" },
        { "00008", "01", "Phường Ngọc Hà", "Ngọc Hà", "11119" },
        { "25747", "79", "Phường Thủ Dầu Một", "Thủ Dầu Một", "75123" },
        { "03390", "12", "Xã Bình Lư", "Bình Lư", "30207" },
    };
    static const struct {
        const char *code, *full_name, *unit;
    } provinces[] = {
        { "01", "Thành phố Hà Nội", "Thành phố" },
        { "19", "Tỉnh Thái Nguyên", "Tỉnh" },
        { "66", "Tỉnh Đắk Lắk", "Tỉnh" },
        { "79", "Thành phố Hồ Chí Minh", "Thành phố" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof communes / sizeof communes[0]; i++) {
        const admin_commune_t *c = admin_units_commune(communes[i].code);
        if (!c)
            fail_msg("commune %s: got NULL, want %s", communes[i].code, communes[i].full_name);
        assert_string_equal(c->full_name, communes[i].full_name);
        assert_string_equal(c->name, communes[i].name);
        assert_string_equal(c->province_code, communes[i].province);
        assert_string_equal(c->postcode, communes[i].postcode);
    }
    for (i = 0; i < sizeof provinces / sizeof provinces[0]; i++) {
        const admin_province_t *p = admin_units_province(provinces[i].code);
        if (!p)
            fail_msg("province %s: got NULL, want %s", provinces[i].code, provinces[i].full_name);
        assert_string_equal(p->full_name, provinces[i].full_name);
        assert_string_equal(p->unit, provinces[i].unit);
    }
}

static void
test_refusals(void **state)
{
    (void)state;
    /* Ngọc Hà is in Hà Nội, not in Thành phố Hồ Chí Minh */
    assert_true(admin_units_commune_in_province("00008", "01"));
    assert_false(admin_units_commune_in_province("00008", "79"));
    assert_false(admin_units_commune_in_province("00008", "99"));
    assert_false(admin_units_commune_in_province("99999", "01"));
    assert_false(admin_units_commune_in_province(NULL, "01"));
    assert_false(admin_units_commune_in_province("00008", NULL));
    assert_null(admin_units_commune("0008"));
    assert_null(admin_units_commune("000080"));
    assert_null(admin_units_commune(""));
    assert_null(admin_units_commune(NULL));
    assert_null(admin_units_province("1"));
    assert_null(admin_units_province("02"));
    assert_null(admin_units_province(NULL));
}

/* the centrally-run cities, each a special or class-I urban area: the J+3 routes of TT 17 Điều 7.2 */
static void
test_cities(void **state)
{
    static const char *const cities[] = { "01", "31", "46", "48", "79", "92" };
    size_t i, n = 0;

    (void)state;
    for (i = 0; i < sizeof cities / sizeof cities[0]; i++)
        if (!admin_units_province_is_city(cities[i]))
            fail_msg("province %s is a centrally-run city", cities[i]);
    assert_false(admin_units_province_is_city("38")); /* Thanh Hóa, a province */
    assert_false(admin_units_province_is_city("27")); /* unknown */
    assert_false(admin_units_province_is_city(NULL));
    for (i = 0; i < admin_units_province_count(); i++)
        n += admin_units_province_is_city(admin_units_province_at(i)->code) ? 1 : 0;
    assert_true(n >= 6 && n <= 7); /* 6 of QĐ 19/2025, and Đồng Nai since NQ 30/2026/QH16 */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_order),
        cmocka_unit_test(test_known_names),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_cities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
