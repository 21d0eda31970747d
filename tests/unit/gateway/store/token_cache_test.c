/*
 * token_cache_test - the table of remembered tokens answers only under the generation an
 * answer was read under, and a full table only forgets (gateway/store/token_cache.h). The
 * order that makes the cache safe (generation before the read, checked after it) is the
 * front's and is tested through the store in admin_test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/store/token_cache.h"

static store_token_t
row_named(const char *name)
{
    store_token_t t;

    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.role, sizeof t.role, "clerk");
    return t;
}

static void
test_an_answer_counts_under_its_generation_only(void **state)
{
    token_cache_t *c = token_cache_new();
    store_token_t desk = row_named("desk"), got;

    (void)state;
    assert_non_null(c);
    assert_int_equal(token_cache_get(c, "h-desk", 0, &got), 0); /* empty: nothing, not even at 0 */
    token_cache_put(c, "h-desk", &desk, 7);
    assert_int_equal(token_cache_get(c, "h-desk", 7, &got), 1);
    assert_string_equal(got.name, "desk");
    assert_int_equal(token_cache_get(c, "h-desk", 8, &got), 0);
    assert_int_equal(token_cache_get(c, "h-desk", 6, &got), 0);
    assert_int_equal(token_cache_get(c, "h-other", 7, &got), 0);
    token_cache_free(c);
}

static void
test_a_full_table_only_forgets(void **state)
{
    token_cache_t *c = token_cache_new();
    char hash[STORE_TOKEN_HASH_MAX], name[32];
    store_token_t got;
    int i, found = 0;

    (void)state;
    for (i = 0; i < 4 * TOKEN_CACHE_SLOTS; i++) {
        store_token_t t;

        snprintf(hash, sizeof hash, "%08x%056d", (unsigned)i * 2654435761u, i);
        snprintf(name, sizeof name, "t%d", i);
        t = row_named(name);
        token_cache_put(c, hash, &t, 1);
    }
    /* whatever is still remembered is remembered under its own hash */
    for (i = 0; i < 4 * TOKEN_CACHE_SLOTS; i++) {
        snprintf(hash, sizeof hash, "%08x%056d", (unsigned)i * 2654435761u, i);
        snprintf(name, sizeof name, "t%d", i);
        if (token_cache_get(c, hash, 1, &got)) {
            assert_string_equal(got.name, name);
            found++;
        }
    }
    assert_true(found > 0 && found <= TOKEN_CACHE_SLOTS);
    token_cache_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_answer_counts_under_its_generation_only),
        cmocka_unit_test(test_a_full_table_only_forgets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
