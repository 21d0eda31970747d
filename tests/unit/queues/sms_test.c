/*
 * sms_test - the SMS client (queues/sms.c): phone numbers, masking, and the
 * client itself against tests/sims/sms_sim.py for what the worker test does
 * not cover (an API key the provider refuses, the opt-in unaccented text).
 * The sms job through the real worker is tested in worker_messages_test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <curl/curl.h>

#include "config.h"
#include "queues/sms.h"
#include "tests/unit/support/py_sim.h"

static const char *argv0;

static const config_spec_t spec[] = {
    { "sms.url", "", "" },         { "sms.brandname", "BUUDIEN", "" }, { "sms.api_key_file", "", "" },
    { "sms.timeout_ms", "5000", "" }, { "sms.unaccented", "0", "" },  { "carrier.timeout_ms", "5000", "" },
    { "carrier.allow_insecure", "0", "" }, { "carrier.ca_bundle", "", "" }, { NULL, NULL, NULL },
};

/* client_for - an sms_t for the simulator p with sms.unaccented = unaccented */
static sms_t *
client_for(const py_sim_t *p, const char *unaccented, config_t **cfg)
{
    char url[200], err[256];
    sms_t *c;

    *cfg = config_new(spec);
    snprintf(url, sizeof url, "%s/api/v1/sms/send", p->url);
    if (config_set(*cfg, "sms.url", url, err, sizeof err) != 0 ||
        config_set(*cfg, "sms.unaccented", unaccented, err, sizeof err) != 0)
        fail_msg("config: %s", err);
    c = sms_new(*cfg, err, sizeof err);
    if (!c)
        fail_msg("sms_new: %s", err);
    return c;
}

static void
test_against_provider(void **state)
{
    char script[4096], url[200];
    const char *args[3] = { "--api-key", "the-right-key", NULL };
    const char *const text = "Bưu điện đang phát kết quả hồ sơ 000.00.31.H23-231124-0001 đến địa chỉ của ông/bà.";
    py_sim_t sim;
    config_t *cfg;
    sms_t *c;
    sms_result_t r;
    json_t *payload, *msgs;
    long st;

    (void)state;
    if (py_sim_script(argv0, "sms_sim.py", script, sizeof script) != 0)
        fail_msg("tests/sims/sms_sim.py not found: run the test from the source tree");
    py_sim_start(&sim, script, args);
    payload = json_pack("{s:s,s:s,s:s}", "to", "+84 91 234 5678", "text", text, "request_id", "r1");

    /* no key configured: the provider's 401 is a permanent fail that names the option */
    c = client_for(&sim, "0", &cfg);
    sms_send(c, payload, &r);
    if (r.outcome != WIRE_FAIL || r.http_status != 401 || !strstr(r.message, "sms.api_key_file"))
        fail_msg("without a key: got %s %d '%s', want fail 401 naming sms.api_key_file", wire_outcome_name(r.outcome),
                 r.http_status, r.message);
    sms_destroy(&c);
    config_destroy(&cfg);
    py_sim_stop(&sim);

    /* a provider without a key; unaccented on: the text goes out without diacritics, unicode false */
    py_sim_start(&sim, script, NULL);
    c = client_for(&sim, "1", &cfg);
    sms_send(c, payload, &r);
    if (r.outcome != WIRE_OK)
        fail_msg("unaccented: got %s '%s', want ok", wire_outcome_name(r.outcome), r.message);
    snprintf(url, sizeof url, "%s/_sms/messages", sim.url);
    msgs = py_http_json(url, NULL, &st);
    assert_int_equal(json_array_size(msgs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "message")),
                        "Buu dien dang phat ket qua ho so 000.00.31.H23-231124-0001 den dia chi cua ong/ba.");
    assert_true(json_is_false(json_object_get(json_array_get(msgs, 0), "unicode")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "phone")), "84912345678");
    json_decref(msgs);
    sms_destroy(&c);
    config_destroy(&cfg);
    py_sim_stop(&sim);
    json_decref(payload);
}

static void
test_normalize_phone(void **state)
{
    static const struct {
        const char *in, *want; /* want NULL: refused */
    } cases[] = {
        { "0912345678", "84912345678" },   { "+84912345678", "84912345678" }, { "84912345678", "84912345678" },
        { "091 234 5678", "84912345678" }, { "0912.345.678", "84912345678" }, { "0387-654-321", "84387654321" },
        { "0567654321", "84567654321" },   { "0787654321", "84787654321" },   { "0887654321", "84887654321" },
        { "02838290000", NULL },           /* a landline */
        { "0112345678", NULL },            /* no such mobile prefix */
        { "091234567", NULL },             /* one digit short */
        { "09123456789", NULL },           /* one digit long */
        { "+1 650 253 0000", NULL },       /* not Vietnamese */
        { "0912345678x", NULL },           { "", NULL },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[16] = "";
        int rc = sms_normalize_phone(cases[i].in, out, sizeof out);

        if (cases[i].want && (rc != 0 || strcmp(out, cases[i].want) != 0))
            fail_msg("'%s': got rc %d '%s', want '%s'", cases[i].in, rc, out, cases[i].want);
        if (!cases[i].want && rc != -1)
            fail_msg("'%s': got '%s', want it refused", cases[i].in, out);
    }
}

static void
test_mask_phone(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "0912345678", "*******678" }, { "+84912345678", "*********678" }, { "12", "12" }, { "", "" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[32];

        sms_mask_phone(cases[i].in, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("'%s': got '%s', want '%s'", cases[i].in, out, cases[i].want);
    }
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_phone),
        cmocka_unit_test(test_mask_phone),
        cmocka_unit_test(test_against_provider),
    };
    int rc;

    (void)argc;
    argv0 = argv[0];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
