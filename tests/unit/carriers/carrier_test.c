/*
 * carrier_test - registry, dispatch, job payload parsing and the transport
 * classification table (carriers/carrier.c, carriers/carrier_http.c)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carriers/carrier.h"
#include "carriers/carrier_http.h"

static void
test_registry(void **state)
{
    const carrier_ops_t *ops;

    (void)state;
    ops = carrier_find("vnpost");
    if (!ops)
        fail_msg("carrier_find(vnpost) = NULL, want ops");
    assert_string_equal(ops->name, "vnpost");
    if (!(ops->caps & CARRIER_CAN_BOOK) || !(ops->caps & CARRIER_CAN_TRACK) || !(ops->caps & CARRIER_CAN_CANCEL))
        fail_msg("vnpost caps = %#x, want book|cancel|track", ops->caps);
    if (!ops->parse_webhook || !ops->map_status || !ops->init || ops->ctx_size == 0)
        fail_msg("vnpost ops has empty slots");
    if (carrier_find("nope") != NULL || carrier_find(NULL) != NULL || carrier_find("VNPOST") != NULL)
        fail_msg("carrier_find of an unknown name must be NULL");
    if (!strstr(carrier_names(), "vnpost"))
        fail_msg("carrier_names() = '%s', want it to list vnpost", carrier_names());
    assert_string_equal(carrier_status_name(CARRIER_OK), "ok");
    assert_string_equal(carrier_status_name(CARRIER_RETRY), "retry");
    assert_string_equal(carrier_status_name(CARRIER_FAIL), "fail");
    assert_string_equal(carrier_status_name(CARRIER_THROTTLE), "throttle");
}

/* A carrier with no capabilities: dispatch must refuse every call itself. */
static int init_calls, cleanup_calls;

static int
bare_init(void *ctx, const config_t *cfg, char *err, size_t errlen)
{
    (void)cfg;
    (void)err;
    (void)errlen;
    init_calls++;
    if (((char *)ctx)[0] != 0)
        return -1; /* ctx must be zeroed */
    return 0;
}

static void
bare_cleanup(void *ctx)
{
    (void)ctx;
    cleanup_calls++;
}

static const carrier_ops_t bare_ops = {
    .name = "bare", .caps = 0, .ctx_size = 64, .init = bare_init, .cleanup = bare_cleanup,
};

static void
test_dispatch_without_capability(void **state)
{
    carrier_t *c;
    carrier_shipment_t s;
    carrier_result_t out;
    carrier_event_list_t ev = { 0 };
    char err[256];

    (void)state;
    init_calls = cleanup_calls = 0;
    memset(&s, 0, sizeof s);
    c = carrier_new(&bare_ops, NULL, err, sizeof err);
    if (!c)
        fail_msg("carrier_new(bare) failed: %s", err);
    if (init_calls != 1)
        fail_msg("init called %d times, want 1", init_calls);
    if (carrier_ops(c) != &bare_ops)
        fail_msg("carrier_ops does not return the ops given to carrier_new");
    if (carrier_book(c, &s, &out) != CARRIER_FAIL || !strstr(out.message, "book"))
        fail_msg("book without capability: got message '%s', want FAIL naming book", out.message);
    if (carrier_cancel(c, &s, &out) != CARRIER_FAIL || !strstr(out.message, "cancel"))
        fail_msg("cancel without capability: got message '%s', want FAIL naming cancel", out.message);
    if (carrier_track(c, &s, &ev, &out) != CARRIER_FAIL || !strstr(out.message, "track"))
        fail_msg("track without capability: got message '%s', want FAIL naming track", out.message);
    carrier_destroy(&c);
    if (c != NULL || cleanup_calls != 1)
        fail_msg("carrier_destroy: pointer %p, cleanup calls %d; want NULL and 1", (void *)c, cleanup_calls);
    carrier_destroy(&c); /* no-op on NULL */
    if (carrier_new(NULL, NULL, err, sizeof err) != NULL || !strstr(err, "vnpost"))
        fail_msg("carrier_new(NULL): want NULL and an error listing the carriers, got '%s'", err);
}

static void
test_vnpost_init_needs_url(void **state)
{
    char err[256] = "";
    carrier_t *c;

    (void)state;
    c = carrier_new(carrier_find("vnpost"), NULL, err, sizeof err);
    if (c) {
        carrier_destroy(&c);
        fail_msg("vnpost without carrier.vnpost.url: got a carrier, want an error");
    }
    if (!strstr(err, "carrier.vnpost.url"))
        fail_msg("error '%s' does not name carrier.vnpost.url", err);
}

static const char good_payload[] =
    "{\"request_id\":\"r-1\",\"dossier_code\":\"000.00.31.H23-231124-0001\",\"waybill\":\"RR000000014VN\","
    "\"service\":\"return\",\"carrier_ref\":null,\"content_note\":\"Kết quả TTHC\",\"service_code\":null,"
    "\"cod_amount\":50000,\"weight_g\":200,\"pickup\":false,"
    "\"sender\":{\"name\":\"UBND xã A\",\"phone\":\"02431234567\",\"address\":\"1 Đường A\","
    "\"province_code\":\"01\",\"commune_code\":\"00001\"},"
    "\"receiver\":{\"name\":\"Nguyễn Văn A\",\"phone\":\"0912345678\",\"address\":\"2 Đường B\","
    "\"province_code\":\"01\",\"commune_code\":\"00004\"}}";

static json_t *
load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!j)
        fail_msg("test JSON does not parse: %s", jerr.text);
    return j;
}

static void
test_shipment_good(void **state)
{
    json_t *j = load(good_payload);
    carrier_shipment_t s;
    char err[256] = "";

    (void)state;
    if (carrier_shipment_from_json(j, &s, err, sizeof err) != 0)
        fail_msg("good payload refused: %s", err);
    assert_string_equal(s.request_id, "r-1");
    assert_string_equal(s.dossier_code, "000.00.31.H23-231124-0001");
    assert_string_equal(s.waybill, "RR000000014VN");
    assert_string_equal(s.service, "return");
    assert_null(s.carrier_ref);
    assert_null(s.service_code);
    assert_string_equal(s.content_note, "Kết quả TTHC");
    assert_string_equal(s.sender.name, "UBND xã A");
    assert_string_equal(s.receiver.phone, "0912345678");
    assert_string_equal(s.receiver.commune_code, "00004");
    if (s.cod_amount != 50000 || s.weight_g != 200 || s.pickup != 0)
        fail_msg("got cod %lld weight %d pickup %d, want 50000 200 0", s.cod_amount, s.weight_g, s.pickup);
    json_decref(j);

    /* optional members absent, carrier_ref and service_code given */
    j = load("{\"dossier_code\":\"D\",\"waybill\":\"W\",\"carrier_ref\":\"VNP1\",\"service_code\":\"ETN011\","
             "\"pickup\":true,\"sender\":{\"name\":\"S\",\"address\":\"A\"},"
             "\"receiver\":{\"name\":\"R\",\"phone\":\"0912345678\",\"address\":\"B\",\"province_code\":\"01\","
             "\"commune_code\":\"00004\"}}");
    if (carrier_shipment_from_json(j, &s, err, sizeof err) != 0)
        fail_msg("minimal payload refused: %s", err);
    assert_string_equal(s.carrier_ref, "VNP1");
    assert_string_equal(s.service_code, "ETN011");
    assert_null(s.request_id);
    assert_null(s.sender.phone);
    if (s.pickup != 1 || s.cod_amount != 0)
        fail_msg("got pickup %d cod %lld, want 1 0", s.pickup, s.cod_amount);
    json_decref(j);
}

static const struct {
    const char *remove_path; /* "receiver.phone" or "waybill" */
    const char *want;        /* substring of the error */
} missing_cases[] = {
    { "dossier_code", "dossier_code" },
    { "waybill", "waybill" },
    { "receiver.name", "receiver.name" },
    { "receiver.phone", "receiver.phone" },
    { "receiver.address", "receiver.address" },
    { "receiver.province_code", "receiver.province_code" },
    { "receiver.commune_code", "receiver.commune_code" },
    { "sender.name", "sender.name" },
    { "sender.address", "sender.address" },
    { "receiver", "receiver" },
    { "sender", "sender" },
};

static void
test_shipment_missing(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof missing_cases / sizeof missing_cases[0]; i++) {
        json_t *j = load(good_payload), *parent = j;
        const char *dot = strchr(missing_cases[i].remove_path, '.');
        carrier_shipment_t s;
        char err[256] = "", key[64];

        if (dot) {
            snprintf(key, sizeof key, "%.*s", (int)(dot - missing_cases[i].remove_path),
                     missing_cases[i].remove_path);
            parent = json_object_get(j, key);
            json_object_del(parent, dot + 1);
        } else {
            json_object_del(j, missing_cases[i].remove_path);
        }
        if (carrier_shipment_from_json(j, &s, err, sizeof err) != -1)
            fail_msg("without %s: accepted, want -1", missing_cases[i].remove_path);
        if (!strstr(err, missing_cases[i].want))
            fail_msg("without %s: error '%s' does not name %s", missing_cases[i].remove_path, err,
                     missing_cases[i].want);
        json_decref(j);
    }
}

static const struct {
    const char *key;
    const char *json_value;
} bad_type_cases[] = {
    { "waybill", "12" },       { "waybill", "\"\"" },     { "cod_amount", "-1" }, { "cod_amount", "\"5\"" },
    { "weight_g", "1.5" },     { "pickup", "\"yes\"" },   { "carrier_ref", "7" }, { "request_id", "[]" },
};

static void
test_shipment_bad_types(void **state)
{
    size_t i;
    carrier_shipment_t s;
    char err[256];

    (void)state;
    for (i = 0; i < sizeof bad_type_cases / sizeof bad_type_cases[0]; i++) {
        json_t *j = load(good_payload);

        json_object_set_new(j, bad_type_cases[i].key, load(bad_type_cases[i].json_value));
        err[0] = '\0';
        if (carrier_shipment_from_json(j, &s, err, sizeof err) != -1)
            fail_msg("%s = %s: accepted, want -1", bad_type_cases[i].key, bad_type_cases[i].json_value);
        if (!strstr(err, bad_type_cases[i].key))
            fail_msg("%s = %s: error '%s' does not name the field", bad_type_cases[i].key,
                     bad_type_cases[i].json_value, err);
        json_decref(j);
    }
    if (carrier_shipment_from_json(NULL, &s, err, sizeof err) != -1)
        fail_msg("NULL payload accepted");
    {
        json_t *arr = json_array();

        if (carrier_shipment_from_json(arr, &s, err, sizeof err) != -1)
            fail_msg("a list payload accepted");
        json_decref(arr);
    }
}

static const struct {
    CURLcode cc;
    long http;
    carrier_status_t want;
} classify_cases[] = {
    { CURLE_OK, 200, CARRIER_OK },
    { CURLE_OK, 201, CARRIER_OK },
    { CURLE_OK, 204, CARRIER_OK },
    { CURLE_OK, 301, CARRIER_FAIL },
    { CURLE_OK, 400, CARRIER_FAIL },
    { CURLE_OK, 401, CARRIER_FAIL },
    { CURLE_OK, 403, CARRIER_FAIL },
    { CURLE_OK, 404, CARRIER_FAIL },
    { CURLE_OK, 408, CARRIER_RETRY },
    { CURLE_OK, 409, CARRIER_FAIL },
    { CURLE_OK, 422, CARRIER_FAIL },
    { CURLE_OK, 429, CARRIER_THROTTLE },
    { CURLE_OK, 500, CARRIER_RETRY },
    { CURLE_OK, 502, CARRIER_RETRY },
    { CURLE_OK, 503, CARRIER_RETRY },
    { CURLE_OK, 504, CARRIER_RETRY },
    { CURLE_OK, 0, CARRIER_RETRY },
    { CURLE_OPERATION_TIMEDOUT, 0, CARRIER_RETRY },
    { CURLE_COULDNT_CONNECT, 0, CARRIER_RETRY },
    { CURLE_COULDNT_RESOLVE_HOST, 0, CARRIER_RETRY },
    { CURLE_GOT_NOTHING, 0, CARRIER_RETRY },
    { CURLE_RECV_ERROR, 0, CARRIER_RETRY },
    { CURLE_SEND_ERROR, 0, CARRIER_RETRY },
    { CURLE_PARTIAL_FILE, 200, CARRIER_RETRY },
    { CURLE_WRITE_ERROR, 200, CARRIER_RETRY },
    { CURLE_SSL_CONNECT_ERROR, 0, CARRIER_RETRY },
    { CURLE_PEER_FAILED_VERIFICATION, 0, CARRIER_FAIL },
    { CURLE_SSL_CACERT_BADFILE, 0, CARRIER_FAIL },
    { CURLE_UNSUPPORTED_PROTOCOL, 0, CARRIER_FAIL },
    { CURLE_URL_MALFORMAT, 0, CARRIER_FAIL },
};

static void
test_classify(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof classify_cases / sizeof classify_cases[0]; i++) {
        carrier_status_t got = carrier_http_classify(classify_cases[i].cc, classify_cases[i].http);

        if (got != classify_cases[i].want)
            fail_msg("classify(curl %d, HTTP %ld): got %s, want %s", (int)classify_cases[i].cc,
                     classify_cases[i].http, carrier_status_name(got), carrier_status_name(classify_cases[i].want));
    }
}

static const struct {
    const char *url;
    int allow_insecure;
    int want;
} url_cases[] = {
    { "https://my.vnpost.vn/MYVNP_API", 0, 0 },
    { "http://127.0.0.1:9090", 0, 0 },
    { "http://localhost:9090/x", 0, 0 },
    { "http://[::1]:9090", 0, 0 },
    { "http://my.vnpost.vn/MYVNP_API", 0, -1 },
    { "http://10.0.0.5:9090", 0, -1 },
    { "http://127.0.0.1.evil.example", 0, -1 },
    { "http://my.vnpost.vn/MYVNP_API", 1, 0 },
    { "ftp://127.0.0.1/", 0, -1 },
    { "file:///etc/passwd", 1, -1 },
    { "not a url", 0, -1 },
    { "", 0, -1 },
};

static void
test_check_url(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
        char err[256] = "";
        int got = carrier_http_check_url(url_cases[i].url, url_cases[i].allow_insecure, err, sizeof err);

        if (got != url_cases[i].want)
            fail_msg("check_url('%s', insecure=%d): got %d (%s), want %d", url_cases[i].url,
                     url_cases[i].allow_insecure, got, err, url_cases[i].want);
        if (got != 0 && !err[0])
            fail_msg("check_url('%s'): refused without a message", url_cases[i].url);
    }
}

static void
test_retry_after(void **state)
{
    static const struct {
        const char *v;
        int64_t want;
    } cases[] = {
        { "1", 1000 }, { " 30\r\n", 30000 }, { "0", 0 }, { "abc", 0 }, { "5x", 0 }, { "", 0 },
        { "999999999", CARRIER_HTTP_MAX_RETRY_AFTER_MS }, { "Wed, 21 Oct 2015 07:28:00 GMT", 1 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = carrier_http_parse_retry_after(cases[i].v);

        if (got != cases[i].want)
            fail_msg("parse_retry_after('%s'): got %lld, want %lld", cases[i].v, (long long)got,
                     (long long)cases[i].want);
    }
    if (carrier_http_parse_retry_after(NULL) != 0)
        fail_msg("parse_retry_after(NULL) != 0");
}

static void
test_event_list(void **state)
{
    carrier_event_list_t l = { 0 };
    size_t i;

    (void)state;
    for (i = 0; i < 100; i++) {
        carrier_event_t *e = carrier_event_list_push(&l);

        if (!e)
            fail_msg("push %zu returned NULL", i);
        if (e->raw_code[0] != '\0' || e->amount != 0)
            fail_msg("push %zu: event not zeroed", i);
        snprintf(e->raw_code, sizeof e->raw_code, "%zu", i);
    }
    if (l.n != 100 || strcmp(l.items[99].raw_code, "99") != 0)
        fail_msg("got n=%zu last=%s, want 100 and 99", l.n, l.items[99].raw_code);
    carrier_event_list_free(&l);
    if (l.items || l.n || l.cap)
        fail_msg("carrier_event_list_free left items=%p n=%zu", (void *)l.items, l.n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),         cmocka_unit_test(test_dispatch_without_capability),
        cmocka_unit_test(test_vnpost_init_needs_url), cmocka_unit_test(test_shipment_good),
        cmocka_unit_test(test_shipment_missing), cmocka_unit_test(test_shipment_bad_types),
        cmocka_unit_test(test_classify),         cmocka_unit_test(test_check_url),
        cmocka_unit_test(test_retry_after),      cmocka_unit_test(test_event_list),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
