/*
 * dossier_test - identifiers and dossier JSON validation (gateway/ident.c, gateway/dossier.c)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "domain/dossier.h"
#include "domain/ident.h"

static void
test_dossier_codes(void **state)
{
    static const struct {
        const char *code;
        int want;
    } cases[] = {
        { "000.00.31.H23-231124-0001", 1 },
        { "000.00.31.H23-231124-00012", 1 }, /* 5-digit tail from re-synced systems */
        { "C01.00.01.H26-251201-0316", 1 },
        { "000.00.31.H23-231324-0001", 0 },  /* month 13 */
        { "000.00.31.H23-231100-0001", 0 },  /* day 0 */
        { "000.00.31.Z23-231124-0001", 0 },  /* level letter must be A-Y */
        { "000.00.31.H23-231124-001", 0 },
        { "000.00.31.H23-231124-000123", 0 },
        { "000.0.31.H23-231124-0001", 0 },
        { "000.00.31.h23-231124-0001", 0 },
        { "000.00.31.H23_231124-0001", 0 },
        { "", 0 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = ident_dossier_code(cases[i].code);
        if (got != cases[i].want)
            fail_msg("ident_dossier_code(\"%s\"): got %d, want %d", cases[i].code, got, cases[i].want);
    }
}

static void
test_phones_and_areas(void **state)
{
    (void)state;
    assert_true(ident_mobile_phone("0912345678"));
    assert_true(ident_mobile_phone("+84912345678"));
    assert_false(ident_mobile_phone("0112345678"));
    assert_false(ident_mobile_phone("091234567"));
    assert_true(ident_phone("02203851234"));   /* landline, agencies */
    assert_false(ident_phone("0123"));
    assert_true(ident_province_code("01"));
    assert_true(ident_province_code("96"));
    assert_false(ident_province_code("27"));   /* Bắc Ninh before QĐ 19/2025, now 24 */
    assert_true(ident_commune_code("00004"));
    assert_false(ident_commune_code("00000"));
    assert_false(ident_commune_code("0004"));
}

static void
test_text_nfc(void **state)
{
    /* "Nguyễn" decomposed: e + U+0302 (circumflex) + U+0303 (tilde) */
    const char *nfd = "Nguye\xcc\x82\xcc\x83n";
    char *nfc = ident_text_nfc(nfd);

    (void)state;
    assert_non_null(nfc);
    assert_string_equal(nfc, "Nguy\xe1\xbb\x85n");
    free(nfc);
    assert_null(ident_text_nfc("a\x01b"));
    assert_false(ident_utf8_valid("\xff", 1));
    assert_int_equal(ident_char_count("Nguyễn"), 6);
}

static const char GOOD[] =
    "{\"dossier_code\": \"000.00.31.H23-231124-0001\", \"service\": \"return\","
    " \"procedure\": {\"code\": \"1.001234.000.00.00.H23\", \"name\": \"Cấp bản sao trích lục\"},"
    " \"agency\": {\"code\": \"000.00.31.H23\", \"name\": \"UBND phường Hồng Bàng\", \"address\": \"Số 1\","
    " \"phone\": \"02253842123\", \"province_code\": \"31\", \"commune_code\": \"11311\"},"
    " \"recipient\": {\"name\": \"Nguyễn Thị Ánh Tuyết\", \"phone\": \"0912345678\", \"address\": \"Số 12\","
    " \"province_code\": \"01\", \"commune_code\": \"00004\"},"
    " \"result\": {\"summary\": \"Trích lục khai sinh\", \"documents\": [{\"name\": \"Trích lục\", \"original\": true}]},"
    " \"cod_amount\": 50000}";

static void
test_dossier_parse_good(void **state)
{
    dossier_t *d = NULL;
    api_error_t err;

    (void)state;
    assert_int_equal(dossier_from_json(GOOD, strlen(GOOD), "vnpost", &d, &err), 0);
    assert_non_null(d);
    assert_string_equal(d->code, "000.00.31.H23-231124-0001");
    assert_string_equal(d->carrier, "vnpost");
    assert_int_equal(d->cod_amount, 50000);
    assert_int_equal(strlen(d->body_hash), 64);
    /* Hải Phòng (a centrally-run, class-I city) to Hà Nội: between provinces J+3 (TT 17 Điều 7.2) */
    assert_int_equal(d->transit_days, 3);
    dossier_destroy(&d);
    assert_null(d);
}

static void
test_dossier_same_content_same_hash(void **state)
{
    /* key order and NFD/NFC spelling do not change the canonical hash */
    char *reordered = NULL;
    dossier_t *a = NULL, *b = NULL;
    api_error_t err;
    json_t *root = json_loads(GOOD, 0, NULL);

    (void)state;
    json_object_set_new(json_object_get(root, "recipient"), "name", json_string("Nguye\xcc\x82\xcc\x83n Thị Ánh Tuyết"));
    reordered = json_dumps(root, JSON_SORT_KEYS);
    json_decref(root);
    assert_int_equal(dossier_from_json(GOOD, strlen(GOOD), "vnpost", &a, &err), 0);
    assert_int_equal(dossier_from_json(reordered, strlen(reordered), "vnpost", &b, &err), 0);
    assert_string_equal(a->body_hash, b->body_hash);
    dossier_destroy(&a);
    dossier_destroy(&b);
    free(reordered);
}

/* expect_canonical - d's canonical text is exactly what sorting every object's keys gives:
 * the text stored dossiers were hashed with, whatever order the tree was built in */
static void
expect_canonical(const dossier_t *d)
{
    char *sorted = json_dumps(d->canonical, JSON_COMPACT | JSON_SORT_KEYS);

    assert_non_null(sorted);
    assert_string_equal(d->canonical_text, sorted);
    free(sorted);
}

static void
test_canonical_text_is_sorted(void **state)
{
    static const char *const extra[] = {
        /* every optional field, in an order unlike the rules' and the alphabet's */
        "{\"take_back\": [{\"name\": \"Giấy hẹn\"}], \"note\": \"Gọi trước\", \"delivery\": \"express\","
        " \"appointment_slip\": true, \"authorised_person\": {\"relation\": \"con\", \"name\": \"Lê Văn B\","
        " \"id_number\": \"001203004567\"}, \"documents\": [{\"original\": false, \"name\": \"Bản sao\"}]}",
        NULL,
    };
    json_t *root = json_loads(GOOD, 0, NULL), *more;
    dossier_t *d = NULL;
    api_error_t err;
    char *text;

    (void)state;
    assert_int_equal(dossier_from_json(GOOD, strlen(GOOD), "vnpost", &d, &err), 0);
    expect_canonical(d);
    dossier_destroy(&d);
    /* no cod_amount: the default 0 goes in where its name sorts */
    json_object_del(root, "cod_amount");
    text = json_dumps(root, 0);
    assert_int_equal(dossier_from_json(text, strlen(text), "vnpost", &d, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(d->canonical, "cod_amount")), 0);
    expect_canonical(d);
    dossier_destroy(&d);
    free(text);
    more = json_loads(extra[0], 0, NULL);
    assert_non_null(more);
    assert_int_equal(json_object_update(root, more), 0);
    json_decref(more);
    text = json_dumps(root, 0);
    assert_int_equal(dossier_from_json(text, strlen(text), "vnpost", &d, &err), 0);
    expect_canonical(d);
    dossier_destroy(&d);
    free(text);
    json_decref(root);
}

/* a 'both' dossier's result: the return leg goes agency -> the recipient, carries the result
 * given now, and hashes like the same 'return' submission made by hand */
static void
test_result_of_both(void **state)
{
    json_t *both_root = json_loads(GOOD, 0, NULL), *by_hand = json_loads(GOOD, 0, NULL), *payload;
    char *both_text, *hand_text;
    dossier_t *both = NULL, *ret = NULL, *hand = NULL;
    static const char RESULT[] = "{\"summary\": \"Trích lục khai sinh\", \"documents\": [{\"name\": \"Trích lục\","
                                 " \"original\": true}]}";
    api_error_t err;

    (void)state;
    json_object_set_new(both_root, "service", json_string("both"));
    json_object_set_new(both_root, "sender", json_deep_copy(json_object_get(both_root, "recipient")));
    json_object_del(both_root, "result");
    both_text = json_dumps(both_root, 0);
    assert_int_equal(dossier_from_json(both_text, strlen(both_text), "vnpost", &both, &err), 0);
    assert_int_equal(dossier_result_of_both(both->canonical_text, RESULT, strlen(RESULT), &ret, &err), 0);
    assert_string_equal(ret->service, "return");
    assert_null(json_object_get(ret->canonical, "sender"));
    payload = dossier_book_payload(ret->canonical);
    assert_string_equal(json_string_value(json_object_get(payload, "service")), "return");
    assert_string_equal(json_string_value(json_object_get(json_object_get(payload, "sender"), "name")),
                        "UBND phường Hồng Bàng");
    assert_string_equal(json_string_value(json_object_get(payload, "content_note")), "Trích lục khai sinh");
    json_decref(payload);
    hand_text = json_dumps(by_hand, 0);
    assert_int_equal(dossier_from_json(hand_text, strlen(hand_text), "vnpost", &hand, &err), 0);
    assert_string_equal(ret->body_hash, hand->body_hash);
    expect_canonical(ret);
    expect_canonical(both);
    dossier_destroy(&ret);
    /* the result's fields are checked like a submission's, unknown ones refused by name */
    assert_int_equal(dossier_result_of_both(both->canonical_text, "{\"summary\": \"x\", \"by\": 1}", 25, &ret, &err),
                     -1);
    assert_int_equal(err.status, 422);
    assert_string_equal(err.field, "by");
    assert_int_equal(dossier_result_of_both(both->canonical_text, "{}", 2, &ret, &err), -1);
    assert_string_equal(err.field, "summary");
    /* only a 'both' submission has a return leg to derive */
    assert_int_equal(dossier_result_of_both(hand->canonical_text, RESULT, strlen(RESULT), &ret, &err), -1);
    assert_null(ret);
    dossier_destroy(&both);
    dossier_destroy(&hand);
    free(both_text);
    free(hand_text);
    json_decref(both_root);
    json_decref(by_hand);
}

static void
test_dossier_parse_bad(void **state)
{
    static const struct {
        const char *from, *to; /* substitution applied to GOOD */
        int status;
        const char *code, *field;
    } cases[] = {
        { "\"cod_amount\": 50000", "\"cod_amount\": -5", 422, "invalid_field", "cod_amount" },
        { "\"cod_amount\": 50000", "\"cod_amount\": 5.5", 422, "invalid_field", "cod_amount" },
        { "\"0912345678\"", "\"12345\"", 422, "invalid_field", "recipient.phone" },
        { "231124-0001", "231124-1", 422, "invalid_field", "dossier_code" },
        { "\"service\": \"return\",", "", 422, "missing_field", "service" },
        { "\"province_code\": \"01\"", "\"province_code\": \"64\"", 422, "invalid_field", "recipient.province_code" },
        { "\"code\": \"000.00.31.H23\"", "\"code\": \"000.00.32.H23\"", 422, "invalid_field", "agency.code" },
        /* whether the carrier exists is intake's call (gateway/rules/intake.c), not the domain's */
        { "Nguyễn Thị", "Nguyễn\u202eThị", 422, "invalid_field", "recipient.name" },      /* RLO */
        { "Nguyễn Thị", "Nguyễn\\u2067Thị", 422, "invalid_field", "recipient.name" },    /* RLI, as a JSON escape */
        { "\"Số 12\"", "\"Số\\t12\"", 422, "invalid_field", "recipient.address" },      /* TAB */
        { "\"Số 1\"", "\"Số\u200b1\"", 422, "invalid_field", "agency.address" },          /* zero-width space */
        { "UBND phường", "\\ufeffUBND phường", 422, "invalid_field", "agency.name" },      /* BOM */
        { "UBND phường", "UBND\\u0085phường", 422, "invalid_field", "agency.name" },       /* C1 control */
        { "UBND phường", "UBND\\nphường", 422, "invalid_field", "agency.name" },           /* a name is one line */
        { "\"cod_amount\": 50000}", "\"cod_amount\": 50000", 400, "invalid_json", "" },
        { "\"cod_amount\": 50000", "\"cod_amount\": 50000, \"cod_amount\": 1", 400, "invalid_json", "" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[4096];
        const char *at = strstr(GOOD, cases[i].from);
        dossier_t *d = NULL;
        api_error_t err;
        int rc;

        assert_non_null(at);
        snprintf(body, sizeof body, "%.*s%s%s", (int)(at - GOOD), GOOD, cases[i].to, at + strlen(cases[i].from));
        memset(&err, 0, sizeof err);
        rc = dossier_from_json(body, strlen(body), "vnpost", &d, &err);
        if (rc != -1 || err.status != cases[i].status || strcmp(err.code, cases[i].code) != 0 ||
            strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu: got rc %d status %d code %s field %s, want -1 %d %s %s", i, rc, err.status, err.code,
                     err.field, cases[i].status, cases[i].code, cases[i].field);
        assert_null(d);
        assert_true(strlen(err.message) > 0);
    }
}

static void
test_depth_limit(void **state)
{
    char deep[64];

    (void)state;
    memset(deep, '[', 20);
    memset(deep + 20, ']', 20);
    deep[40] = '\0';
    assert_false(json_depth_ok(deep, strlen(deep), 8));
    assert_true(json_depth_ok("{\"a\": \"[[[[[[[[[[[[\"}", 21, 8)); /* brackets inside strings do not count */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dossier_codes),
        cmocka_unit_test(test_phones_and_areas),
        cmocka_unit_test(test_text_nfc),
        cmocka_unit_test(test_dossier_parse_good),
        cmocka_unit_test(test_dossier_same_content_same_hash),
        cmocka_unit_test(test_canonical_text_is_sorted),
        cmocka_unit_test(test_dossier_parse_bad),
        cmocka_unit_test(test_result_of_both),
        cmocka_unit_test(test_depth_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
