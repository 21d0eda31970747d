/*
 * timeline_chain_test - the exact text an event's chain hash covers, pinned
 *
 * Chains written by earlier versions must keep verifying, so the bytes chain_event_hash
 * feeds the HMAC may never change by accident (a faster formatter, say). The expected text
 * is written out here by hand and MACed with the same key; a NULL field hashes as empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "gateway/store/timeline_chain.h"

static const char key[] = "a chain key of the test";

static void
expect_hash_of(const char *text, const char *got)
{
    uint8_t mac[SHA256_LEN];
    char want[SHA256_HEX_LEN];

    hmac_sha256(key, sizeof key - 1, text, strlen(text), mac);
    hex_encode(mac, sizeof mac, want);
    if (strcmp(want, got) != 0)
        fail_msg("the chain hash does not cover exactly \"%s\"", text);
}

static void
test_event_text(void **state)
{
    store_timeline_event_t ev;
    char got[SHA256_HEX_LEN];

    (void)state;
    assert_int_equal(chain_set_key(key, sizeof key - 1), 0);
    memset(&ev, 0, sizeof ev);
    ev.dossier_id = 42;
    ev.shipment_id = 7;
    ev.event_time = 1764547200123;
    ev.received_at = -5;
    ev.source = "gateway";
    ev.status = "created";
    ev.upu = NULL;
    ev.raw_code = "";
    ev.text = "Đã tiếp nhận hồ sơ | chờ gửi";
    ev.details = "{}";
    chain_event_hash(CHAIN_ZERO_HASH, 1, &ev, got);
    expect_hash_of("bcci-timeline-v2|0000000000000000000000000000000000000000000000000000000000000000|42|1|7|"
                   "1764547200123|-5|7:gateway|7:created|0:|0:|41:Đã tiếp nhận hồ sơ | chờ gửi|2:{}|",
                   got);

    ev.dossier_id = INT64_MAX;
    ev.shipment_id = 0;
    ev.event_time = INT64_MIN;
    ev.received_at = 0;
    ev.source = NULL;
    ev.status = NULL;
    ev.text = "";
    ev.details = NULL;
    chain_event_hash("abc", 1000000, &ev, got);
    expect_hash_of("bcci-timeline-v2|abc|9223372036854775807|1000000|0|-9223372036854775808|0|0:|0:|0:|0:|0:|0:|",
                   got);
}

static void
test_head_seal_text(void **state)
{
    char got[SHA256_HEX_LEN];

    (void)state;
    assert_int_equal(chain_set_key(key, sizeof key - 1), 0);
    chain_head_seal(42, 3, "ff00", got);
    expect_hash_of("bcci-timeline-head|42|3|ff00", got);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_text),
        cmocka_unit_test(test_head_seal_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
