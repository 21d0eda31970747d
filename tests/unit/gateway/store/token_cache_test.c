/*
 * token_cache_test - the cache of live tokens never answers with what a token change
 * committed since made stale (gateway/store/token_cache.h)
 *
 * The race it exists to close is written out step by step: a reader takes the generation,
 * a revocation commits and bumps it, and only then does the reader offer what it read
 * before the commit. That answer must not be kept.
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
test_remembers_until_a_change(void **state)
{
    token_cache_t *c = token_cache_new();
    store_token_t desk = row_named("desk"), got;
    uint64_t g, g2;

    (void)state;
    assert_non_null(c);
    assert_int_equal(token_cache_get(c, "h-desk", &got, &g), 0);
    token_cache_put(c, "h-desk", &desk, g);
    assert_int_equal(token_cache_get(c, "h-desk", &got, &g2), 1);
    assert_string_equal(got.name, "desk");
    assert_int_equal(token_cache_get(c, "h-other", &got, &g2), 0);
    token_cache_bump(c);
    assert_int_equal(token_cache_get(c, "h-desk", &got, &g2), 0);
    assert_true(g2 != g);
    token_cache_free(c);
}

static void
test_a_read_from_before_a_change_is_not_kept(void **state)
{
    token_cache_t *c = token_cache_new();
    store_token_t desk = row_named("desk"), got;
    uint64_t before, now;

    (void)state;
    assert_int_equal(token_cache_get(c, "h-desk", &got, &before), 0);
    /* ... the reader reads the live row; meanwhile a revocation commits: */
    token_cache_bump(c);
    token_cache_put(c, "h-desk", &desk, before);
    assert_int_equal(token_cache_get(c, "h-desk", &got, &now), 0);
    /* a reading after the change is kept again */
    token_cache_put(c, "h-desk", &desk, now);
    assert_int_equal(token_cache_get(c, "h-desk", &got, &now), 1);
    token_cache_free(c);
}

static void
test_a_full_table_only_forgets(void **state)
{
    token_cache_t *c = token_cache_new();
    char hash[STORE_TOKEN_HASH_MAX], name[32];
    store_token_t got;
    uint64_t g;
    int i, found = 0;

    (void)state;
    for (i = 0; i < 4 * TOKEN_CACHE_SLOTS; i++) {
        store_token_t t;

        snprintf(hash, sizeof hash, "%08x%056d", (unsigned)i * 2654435761u, i);
        snprintf(name, sizeof name, "t%d", i);
        t = row_named(name);
        token_cache_get(c, hash, &got, &g);
        token_cache_put(c, hash, &t, g);
    }
    /* whatever is still remembered is remembered under its own hash */
    for (i = 0; i < 4 * TOKEN_CACHE_SLOTS; i++) {
        snprintf(hash, sizeof hash, "%08x%056d", (unsigned)i * 2654435761u, i);
        snprintf(name, sizeof name, "t%d", i);
        if (token_cache_get(c, hash, &got, &g)) {
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
        cmocka_unit_test(test_remembers_until_a_change),
        cmocka_unit_test(test_a_read_from_before_a_change_is_not_kept),
        cmocka_unit_test(test_a_full_table_only_forgets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
