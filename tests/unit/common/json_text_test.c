/*
 * json_text_test - the request-body parser against Jansson's own (common/json_text.c)
 *
 * json_text_parse must accept exactly what json_loadb(JSON_REJECT_DUPLICATES) accepts within
 * the nesting bound, and build the same tree: compared by Jansson's compact text of each
 * (values, types and key order). Hand-picked inputs cover every branch of the grammar and
 * every refusal; then thousands of deterministic mutations of a real dossier body, where the
 * two parsers must agree every time. The nesting bound and the error's line and column are
 * checked on their own. json_text_dump must write what json_dumps writes, byte for byte, for
 * every tree those inputs built and for trees no parser builds (NUL and invalid UTF-8 in
 * strings, reals, keys that sort as prefixes of each other).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "domain/dossier.h"
#include "json_text.h"

/* same_text - json_text_dump(v, flags) is json_dumps(v, flags), NULL included */
static int
same_text(const json_t *v, size_t flags)
{
    char *want = json_dumps(v, flags), *got = json_text_dump(v, flags);
    int same = (!want && !got) || (want && got && strcmp(want, got) == 0);

    if (!same)
        fprintf(stderr, "dump differs (flags %#zx): jansson [%s], json_text [%s]\n", flags, want ? want : "NULL",
                got ? got : "NULL");
    free(want);
    free(got);
    return same;
}

static int
dumps_agree(const json_t *v)
{
    return same_text(v, JSON_COMPACT) && same_text(v, JSON_COMPACT | JSON_SORT_KEYS) &&
           same_text(v, JSON_COMPACT | JSON_ENCODE_ANY) && same_text(v, JSON_INDENT(2));
}

/* agree - both parsers give the same answer for text[0..len); 1 when they do */
static int
agree(const char *text, size_t len, int max_depth, int *accepted)
{
    json_error_t je, me;
    json_t *want = json_depth_ok(text, len, max_depth) ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    json_t *got = json_text_parse(text, len, max_depth, &me);
    int same;

    if (!want || !got) {
        same = !want && !got;
        if (same && !got)
            same = me.text[0] != '\0' && me.line >= 1 && me.column >= 1; /* a refusal says why */
    } else {
        char *a = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
        char *b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        same = a && b && strcmp(a, b) == 0 && json_equal(want, got) && dumps_agree(got);
        free(a);
        free(b);
    }
    if (!same)
        fprintf(stderr, "disagree on [%.*s]: jansson %s, json_text %s (%s)\n", (int)len, text,
                want ? "accepts" : "refuses", got ? "accepts" : "refuses", got ? "" : me.text);
    if (accepted)
        *accepted = got != NULL;
    json_decref(want);
    json_decref(got);
    return same;
}

static void
test_agrees_with_jansson(void **state)
{
    static const struct {
        const char *text;
        int accepted;
    } cases[] = {
        { "{}", 1 },
        { "[]", 1 },
        { " \t\r\n{ \"a\" : 1 } \n", 1 },
        { "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}", 1 },
        { "[0, -0, 1, -1, 9223372036854775807, -9223372036854775808]", 1 },
        { "[9223372036854775808]", 0 },
        { "[-9223372036854775809]", 0 },
        { "[99999999999999999999999.5]", 1 },
        { "[0.5, -0.0, 1e3, 1E+3, 1e-3, 2.5e10, 123456789012345678901234567890e-10]", 1 },
        { "[1e400]", 0 },
        { "[1e-400]", 1 },
        { "[01]", 0 },
        { "[-01]", 0 },
        { "[1.]", 0 },
        { "[.5]", 0 },
        { "[1e]", 0 },
        { "[1e+]", 0 },
        { "[-]", 0 },
        { "[+1]", 0 },
        { "[1.5.3]", 0 },
        { "[\"\"]", 1 },
        { "{\"\":\"\"}", 1 },
        { "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", 1 },
        { "[\"\\u0041\\u00e9\\u1EA1\\uD83D\\uDE00 tail\"]", 1 },
        { "[\"\\u0000\"]", 0 },
        { "[\"\\uD83D\"]", 0 },
        { "[\"\\uD83Dx\"]", 0 },
        { "[\"\\uD83D\\u0041\"]", 0 },
        { "[\"\\uDE00\"]", 0 },
        { "[\"\\u12\"]", 0 },
        { "[\"\\u12G4\"]", 0 },
        { "[\"\\x\"]", 0 },
        { "[\"\\", 0 },
        { "[\"abc", 0 },
        { "[\"a\tb\"]", 0 },
        { "[\"a\x7f" "b\"]", 1 },
        { "[\"Nguy\xe1\xbb\x85n V\xc4\x83n An\"]", 1 },
        { "[\"\xc0\xaf\"]", 0 },           /* overlong '/' */
        { "[\"\xe0\x80\xaf\"]", 0 },       /* overlong, three bytes */
        { "[\"\xed\xa0\x80\"]", 0 },       /* a surrogate in UTF-8 */
        { "[\"\xf4\x90\x80\x80\"]", 0 },   /* above U+10FFFF */
        { "[\"\xf0\x9f\x98\x80\"]", 1 },
        { "[\"\xe1\xbb\"]", 0 },           /* truncated */
        { "[\"\x80\"]", 0 },
        { "[\xc3\xa9]", 0 },               /* non-ASCII outside a string */
        { "{\"a\":1,\"a\":2}", 0 },
        { "{\"a\":1,\"\\u0061\":2}", 0 },  /* the same key, spelt with an escape */
        { "{\"k\\n1\":\"v\\t1\",\"k\\n2\":{\"x\\u00e9\":\"y\\\"\"}}", 1 },
        { "{\"a\":1,}", 0 },
        { "[1,]", 0 },
        { "[1 2]", 0 },
        { "{\"a\" 1}", 0 },
        { "{1:2}", 0 },
        { "{\"a\":}", 0 },
        { "[true1]", 0 },
        { "[tru]", 0 },
        { "[nul]", 0 },
        { "[falsey]", 0 },
        { "{} {}", 0 },
        { "{}x", 0 },
        { "\"top\"", 0 },
        { "42", 0 },
        { "", 0 },
        { "   ", 0 },
        { "{", 0 },
        { "[", 0 },
        { "{\"a\"", 0 },
        { "{\"a\":", 0 },
        { "{\"a\":1", 0 },
        { "[[[[[[[[]]]]]]]]", 1 },          /* eight levels: the bound below */
        { "[[[[[[[[[]]]]]]]]]", 0 },        /* nine */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int accepted;

        assert_true(agree(cases[i].text, strlen(cases[i].text), 8, &accepted));
        if (accepted != cases[i].accepted)
            fprintf(stderr, "case %zu [%s]\n", i, cases[i].text);
        assert_int_equal(accepted, cases[i].accepted);
    }
    /* a NUL byte inside the buffer: neither a string character nor white space */
    assert_true(agree("[\"a\0b\"]", 7, 8, NULL));
    assert_true(agree("{}\0", 3, 8, NULL));
    /* where the two differ on purpose: Jansson drops a NUL byte after a number or a literal
     * ("[1,2\0]" loads as [1,2]); it is not JSON, so it is refused here */
    {
        json_t *jansson = json_loadb("[1,2\0]", 6, JSON_REJECT_DUPLICATES, NULL);
        json_error_t err;

        assert_non_null(jansson);
        json_decref(jansson);
        assert_null(json_text_parse("[1,2\0]", 6, 8, &err));
        assert_null(json_text_parse("[true\0]", 7, 8, &err));
    }
}

static uint32_t
next_random(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void
test_mutations_of_a_dossier_agree(void **state)
{
    static const char body[] =
        "{\"dossier_code\": \"000.00.31.H23-231124-0001\", \"service\": \"return\", \"cod_amount\": 100000,"
        " \"recipient\": {\"name\": \"Ph\xe1\xba\xa1m \xc4\x90\xe1\xbb\xa9" "c Th\xe1\xba\xaf" "ng\","
        " \"phone\": \"0983456123\", \"address\": \"S\xe1\xbb\x91 27 \\\"T\xc3\xb4 Hi\xe1\xbb\x87u\\\"\\n\","
        " \"commune_code\": \"11383\", \"province_code\": \"31\"},"
        " \"result\": {\"documents\": [{\"name\": \"Gi\xe1\xba\xa5y ch\xe1\xbb\xa9ng nh\xe1\xba\xadn\", \"original\": true},"
        " {\"name\": \"B\\u1ea3n sao\", \"original\": false}], \"summary\": null}, \"weight\": -1.25e2}";
    static const char alphabet[] = "{}[]\",:\\ u0aeE.-+1tfn\x80\xc3\xe1\xed\xf4\t\n";
    char buf[sizeof body + 8];
    uint32_t seed = 20261202u;
    int i, accepted_some = 0, refused_some = 0;

    (void)state;
    assert_true(agree(body, sizeof body - 1, 8, &accepted_some));
    assert_true(accepted_some);
    for (i = 0; i < 6000; i++) {
        size_t len = sizeof body - 1;
        int edits = 1 + (int)(next_random(&seed) % 3), e, accepted;

        memcpy(buf, body, len);
        for (e = 0; e < edits; e++) {
            size_t at = next_random(&seed) % len;
            uint32_t how = next_random(&seed) % 3;
            char c = alphabet[next_random(&seed) % (sizeof alphabet - 1)];

            if (how == 0) {
                buf[at] = c;
            } else if (how == 1 && len > 1) {
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
            } else if (len < sizeof buf) {
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = c;
                len++;
            }
        }
        assert_true(agree(buf, len, 8, &accepted));
        if (accepted)
            accepted_some++;
        else
            refused_some++;
    }
    /* the mutations reached both sides of the grammar */
    assert_true(accepted_some > 100);
    assert_true(refused_some > 100);
}

static void
test_depth_bound_and_error_position(void **state)
{
    json_error_t err;
    json_t *v;
    char deep[2 * 3000 + 1];
    int i;

    (void)state;
    v = json_text_parse("{\"a\":{\"b\":[1]}}", 15, 3, &err);
    assert_non_null(v);
    json_decref(v);
    assert_null(json_text_parse("{\"a\":{\"b\":[1]}}", 15, 2, &err));
    assert_int_equal(json_error_code(&err), json_error_stack_overflow);
    assert_non_null(strstr(err.text, "deeper than 2"));

    /* a bound above Jansson's own is held to Jansson's: no stack grows past it */
    for (i = 0; i < 3000; i++) {
        deep[i] = '[';
        deep[3000 + i] = ']';
    }
    assert_null(json_text_parse(deep, 6000, 1000000, &err));
    assert_int_equal(json_error_code(&err), json_error_stack_overflow);

    /* line and column of the refusal, columns in characters */
    {
        static const char text[] = "{\n  \"t\xc3\xaan\": \"a\",\n  \"x\": tru }";
        assert_null(json_text_parse(text, sizeof text - 1, 8, &err));
    }
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 8);
    assert_int_equal(json_error_code(&err), json_error_invalid_syntax);
    assert_null(json_text_parse("{\"a\":1,\"a\":2}", 13, 8, &err));
    assert_int_equal(json_error_code(&err), json_error_duplicate_key);
    assert_int_equal(err.column, 8);
    assert_null(json_text_parse(NULL, 0, 8, &err));
    v = json_text_parse("{}", 2, 8, NULL);
    assert_non_null(v);
    json_decref(v);
}

static void
test_dump_writes_what_jansson_writes(void **state)
{
    json_t *doc = json_object(), *arr = json_array(), *odd = json_object();
    char *text;

    (void)state;
    json_object_set_new(doc, "b", json_string("Nguy\xe1\xbb\x85n \"V\u0103n\" \\ / \x7f"));
    json_object_set_new(doc, "ab", json_integer(-9223372036854775807LL - 1));
    json_object_set_new(doc, "a", json_real(0.1));
    {
        static const char controls[] = "nul\0 and \x01\x1f\b\f\n\r\t";
        json_object_set_new(doc, "", json_stringn_nocheck(controls, sizeof controls - 1));
    }
    json_object_set_new(doc, "a\x01", arr);
    json_array_append_new(arr, json_real(1e300));
    json_array_append_new(arr, json_real(-2.0));
    json_array_append_new(arr, json_real(12345678.9));
    json_array_append_new(arr, json_true());
    json_array_append_new(arr, json_false());
    json_array_append_new(arr, json_null());
    json_array_append_new(arr, json_object());
    json_array_append_new(arr, json_array());
    assert_true(dumps_agree(doc));
    assert_true(same_text(json_object_get(doc, "b"), JSON_COMPACT)); /* not a container: NULL */
    assert_true(same_text(json_object_get(doc, "b"), JSON_COMPACT | JSON_ENCODE_ANY));
    assert_true(same_text(json_object_get(doc, "a"), JSON_COMPACT | JSON_ENCODE_ANY));
    text = json_text_dump(doc, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    assert_non_null(strstr(text, "{\"\":\"nul\\u0000 and \\u0001\\u001F\\b\\f\\n\\r\\t\",\"a\":"));
    free(text);

    /* strings that are not UTF-8 are refused by both */
    json_object_set_new(odd, "k", json_stringn_nocheck("\xff", 1));
    assert_true(same_text(odd, JSON_COMPACT));
    assert_null(json_text_dump(odd, JSON_COMPACT));
    json_object_del(odd, "k");
    /* a key that is not UTF-8: Jansson loses the key and writes {":1}, not JSON; refused here */
    json_object_set_new_nocheck(odd, "\xc3", json_integer(1));
    assert_null(json_text_dump(odd, JSON_COMPACT));
    json_decref(odd);
    assert_null(json_text_dump(NULL, JSON_COMPACT));
    json_decref(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agrees_with_jansson),
        cmocka_unit_test(test_mutations_of_a_dossier_agree),
        cmocka_unit_test(test_depth_bound_and_error_position),
        cmocka_unit_test(test_dump_writes_what_jansson_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
