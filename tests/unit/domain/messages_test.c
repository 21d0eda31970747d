/*
 * messages_test - the citizen's texts (domain/messages.c): exact words,
 * diacritics in NFC, the two-segment limit, shortening, errors, the e-mail
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <utf8proc.h>

#include "domain/messages.h"

#define CODE "000.00.31.H23-231124-0001"
#define CODE5 "000.00.31.H23-231124-00012" /* a 5-digit tail, the longest code */

/* vn_ms - a Vietnam local time as UTC ms (days counted independently of the module) */
static int64_t
vn_ms(int y, int m, int d, int hh, int mm)
{
    static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int64_t days = 0;
    int i;

    for (i = 1970; i < y; i++)
        days += ((i % 4 == 0 && i % 100 != 0) || i % 400 == 0) ? 366 : 365;
    for (i = 1; i < m; i++)
        days += dim[i - 1] + (i == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    days += d - 1;
    return days * 86400000LL + (int64_t)hh * 3600000LL + (int64_t)mm * 60000LL - 7LL * 3600000LL;
}

static void
expect_nfc(const char *what, const char *s)
{
    utf8proc_uint8_t *nfc = utf8proc_NFC((const utf8proc_uint8_t *)s);

    if (!nfc)
        fail_msg("%s: not valid UTF-8: '%s'", what, s);
    if (strcmp((const char *)nfc, s) != 0)
        fail_msg("%s: got a text that is not NFC: '%s'", what, s);
    free(nfc);
}

static void
test_sms_texts(void **state)
{
    static const struct {
        const char *why;
        message_input_t in;
        const char *want;
    } cases[] = {
        { "pick-up with date and phone",
          { .kind = MESSAGE_PICKUP_SCHEDULED, .dossier_code = CODE, .contact_phone = "0912345678" },
          "Bưu điện sẽ đến lấy hồ sơ " CODE " tại địa chỉ của ông/bà ngày 03/12/2026. Xin chuẩn bị giấy tờ. "
          "LH: 0912345678." },
        { "pick-up without date or phone", { .kind = MESSAGE_PICKUP_SCHEDULED, .dossier_code = CODE },
          "Bưu điện sẽ đến lấy hồ sơ " CODE " tại địa chỉ của ông/bà. Xin chuẩn bị giấy tờ." },
        { "at the agency, named, with time",
          { .kind = MESSAGE_AT_AGENCY, .dossier_code = CODE, .place_name = "UBND phường Sài Gòn" },
          "Hồ sơ " CODE " đã đến cơ quan UBND phường Sài Gòn lúc 14:05 ngày 03/12/2026." },
        { "at the agency, unnamed", { .kind = MESSAGE_AT_AGENCY, .dossier_code = CODE },
          "Hồ sơ " CODE " đã đến cơ quan tiếp nhận." },
        { "out for delivery with the postman's phone",
          { .kind = MESSAGE_OUT_FOR_DELIVERY, .dossier_code = CODE, .contact_phone = "0912345678" },
          "Bưu điện đang phát kết quả hồ sơ " CODE " đến địa chỉ của ông/bà. Xin xuất trình CCCD khi nhận. "
          "LH: 0912345678." },
        { "delivery failed: reason, attempt, next day, phone",
          { .kind = MESSAGE_DELIVERY_FAILED, .dossier_code = CODE, .reason = "Không có người nhận", .attempt = 1,
            .contact_phone = "0912345678" },
          "Phát kết quả hồ sơ " CODE " không thành công lần 1: Không có người nhận. Phát lại ngày 03/12/2026. "
          "LH: 0912345678." },
        { "delivery failed a second time: no reason, no date, back to the desk",
          { .kind = MESSAGE_DELIVERY_FAILED, .dossier_code = CODE, .attempt = 2 },
          "Phát kết quả hồ sơ " CODE " không thành công lần 2. Kết quả sẽ chuyển về nơi tiếp nhận hồ sơ." },
        { "delivery failed: a reason that ends with a stop keeps one stop",
          { .kind = MESSAGE_DELIVERY_FAILED, .dossier_code = CODE, .reason = "Sai địa chỉ." },
          "Phát kết quả hồ sơ " CODE " không thành công: Sai địa chỉ. Bưu điện sẽ hẹn lại." },
        { "returned to the desk",
          { .kind = MESSAGE_RETURNED_TO_DESK, .dossier_code = CODE, .place_name = "Bộ phận một cửa phường Sài Gòn",
            .place_phone = "02838290000" },
          "Kết quả hồ sơ " CODE " đã chuyển về Bộ phận một cửa phường Sài Gòn. Mời ông/bà đến nhận, "
          "ĐT 02838290000." },
        { "a decomposed (NFD) reason comes out NFC, control characters as spaces",
          { .kind = MESSAGE_DELIVERY_FAILED, .dossier_code = CODE,
            .reason = "Kho\xCC\x82ng\n  co\xCC\x81 ngu\xCC\x9Bo\xCC\x9B\xCC\x80i nha\xCC\xA3\xCC\x82n" },
          "Phát kết quả hồ sơ " CODE " không thành công: Không có người nhận. Bưu điện sẽ hẹn lại." },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        message_input_t in = cases[i].in;
        char err[256] = "";
        buf_t b;
        long units;

        if (in.kind == MESSAGE_PICKUP_SCHEDULED && in.contact_phone)
            in.when_ms = vn_ms(2026, 12, 3, 0, 0);
        if (in.kind == MESSAGE_AT_AGENCY && in.place_name)
            in.when_ms = vn_ms(2026, 12, 3, 14, 5);
        if (in.kind == MESSAGE_DELIVERY_FAILED && in.contact_phone)
            in.when_ms = vn_ms(2026, 12, 3, 9, 30);
        buf_init(&b, 4096);
        if (message_sms_text(&in, &b, err, sizeof err) != 0)
            fail_msg("%s: got error '%s', want a text", cases[i].why, err);
        if (strcmp(b.data, cases[i].want) != 0)
            fail_msg("%s:\n got  '%s'\n want '%s'", cases[i].why, b.data, cases[i].want);
        expect_nfc(cases[i].why, b.data);
        units = message_sms_units(b.data, b.len);
        if (units > MESSAGE_SMS_TARGET_UNITS)
            fail_msg("%s: got %ld UTF-16 units, want at most %d (two UCS-2 segments)", cases[i].why, units,
                     MESSAGE_SMS_TARGET_UNITS);
        buf_free(&b);
    }
}

/* the fixed words with the longest code and phones fit two segments, for every kind */
static void
test_fixed_parts_fit(void **state)
{
    int k;

    (void)state;
    for (k = 0; k < MESSAGE_KIND_COUNT; k++) {
        message_input_t in = { .kind = (message_kind_t)k, .dossier_code = CODE5, .contact_phone = "+84912345678",
                               .attempt = 12, .when_ms = vn_ms(2026, 12, 31, 23, 59),
                               .place_name = "Bộ phận một cửa", .place_phone = "+842838290000" };
        char err[256];
        buf_t b;
        long units;

        buf_init(&b, 4096);
        if (message_sms_text(&in, &b, err, sizeof err) != 0)
            fail_msg("%s: got error '%s'", message_kind_name(in.kind), err);
        units = message_sms_units(b.data, b.len);
        if (units > MESSAGE_SMS_TARGET_UNITS)
            fail_msg("%s: got %ld units for '%s', want at most %d", message_kind_name(in.kind), units, b.data,
                     MESSAGE_SMS_TARGET_UNITS);
        if (message_sms_segments(b.data, b.len) > 2)
            fail_msg("%s: got %d segments, want at most 2", message_kind_name(in.kind),
                     message_sms_segments(b.data, b.len));
        buf_free(&b);
    }
}

static void
test_long_inputs_are_shortened(void **state)
{
    static const char *long_reason =
        "Người nhận đi vắng, hàng xóm cho biết cả gia đình về quê đến hết tháng, số điện thoại không liên lạc được";
    message_input_t failed = { .kind = MESSAGE_DELIVERY_FAILED, .dossier_code = CODE, .reason = long_reason,
                               .attempt = 1, .when_ms = vn_ms(2026, 12, 3, 0, 0), .contact_phone = "0912345678" };
    message_input_t returned = { .kind = MESSAGE_RETURNED_TO_DESK, .dossier_code = CODE,
                                 .place_name = "Bộ phận tiếp nhận và trả kết quả UBND phường Bến Thành",
                                 .place_address = "số 92 đường Nguyễn Thị Minh Khai, phường Bến Thành, TP Hồ Chí Minh",
                                 .place_phone = "02838290000" };
    char err[256];
    buf_t b;
    long units;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(message_sms_text(&failed, &b, err, sizeof err), 0);
    units = message_sms_units(b.data, b.len);
    if (units > MESSAGE_SMS_TARGET_UNITS)
        fail_msg("long reason: got %ld units ('%s'), want at most %d", units, b.data, MESSAGE_SMS_TARGET_UNITS);
    if (!strstr(b.data, ": Người nhận đi vắng") || !strstr(b.data, "… Phát lại ngày 03/12/2026. LH: 0912345678."))
        fail_msg("long reason: got '%s', want the reason's start cut with … and the date and phone whole", b.data);
    expect_nfc("long reason", b.data);

    buf_reset(&b);
    assert_int_equal(message_sms_text(&returned, &b, err, sizeof err), 0);
    units = message_sms_units(b.data, b.len);
    if (units > MESSAGE_SMS_TARGET_UNITS)
        fail_msg("long desk: got %ld units ('%s'), want at most %d", units, b.data, MESSAGE_SMS_TARGET_UNITS);
    if (!strstr(b.data, "đã chuyển về Bộ phận tiếp nhận") || !strstr(b.data, "Mời ông/bà đến nhận, ĐT 02838290000."))
        fail_msg("long desk: got '%s', want the desk's start and the phone whole", b.data);
    expect_nfc("long desk", b.data);
    buf_free(&b);
}

static void
test_errors(void **state)
{
    static const struct {
        const char *why;
        message_input_t in;
        const char *err_has;
    } cases[] = {
        { "no dossier code", { .kind = MESSAGE_OUT_FOR_DELIVERY }, "dossier_code is missing" },
        { "blank dossier code", { .kind = MESSAGE_OUT_FOR_DELIVERY, .dossier_code = " \n " },
          "dossier_code is missing" },
        { "returned without a desk", { .kind = MESSAGE_RETURNED_TO_DESK, .dossier_code = CODE }, "place_name" },
        { "reason not UTF-8", { .kind = MESSAGE_DELIVERY_FAILED, .dossier_code = CODE, .reason = "Kh\xF4ng" },
          "reason is not valid UTF-8" },
        { "unknown kind", { .kind = MESSAGE_KIND_COUNT, .dossier_code = CODE }, "unknown message kind" },
        { "attempt out of range", { .kind = MESSAGE_DELIVERY_FAILED, .dossier_code = CODE, .attempt = -1 },
          "attempt" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        buf_t b, s;

        buf_init(&b, 4096);
        buf_init(&s, 4096);
        if (message_sms_text(&cases[i].in, &b, err, sizeof err) != -1 || !strstr(err, cases[i].err_has))
            fail_msg("%s (sms): got err '%s', want -1 with '%s'", cases[i].why, err, cases[i].err_has);
        err[0] = '\0';
        if (message_email(&cases[i].in, &s, &b, err, sizeof err) != -1 || !strstr(err, cases[i].err_has))
            fail_msg("%s (email): got err '%s', want -1 with '%s'", cases[i].why, err, cases[i].err_has);
        buf_free(&b);
        buf_free(&s);
    }
}

static void
test_email(void **state)
{
    message_input_t in = { .kind = MESSAGE_DELIVERY_FAILED, .dossier_code = CODE, .recipient_name = "Nguyễn Văn An",
                           .reason = "Không có người nhận", .attempt = 1, .when_ms = vn_ms(2026, 12, 3, 0, 0),
                           .tracking_url = "https://bcci.example.vn/t/abc" };
    static const struct {
        message_kind_t kind;
        const char *subject;
    } subjects[] = {
        { MESSAGE_PICKUP_SCHEDULED, "Bưu điện sẽ đến lấy hồ sơ " CODE },
        { MESSAGE_AT_AGENCY, "Hồ sơ " CODE " đã đến cơ quan tiếp nhận" },
        { MESSAGE_OUT_FOR_DELIVERY, "Kết quả hồ sơ " CODE " đang được phát đến ông/bà" },
        { MESSAGE_DELIVERY_FAILED, "Phát kết quả hồ sơ " CODE " không thành công" },
        { MESSAGE_RETURNED_TO_DESK, "Kết quả hồ sơ " CODE " đã chuyển về nơi tiếp nhận" },
    };
    char err[256];
    buf_t subject, body;
    size_t i;

    (void)state;
    buf_init(&subject, 4096);
    buf_init(&body, 16384);
    assert_int_equal(message_email(&in, &subject, &body, err, sizeof err), 0);
    assert_string_equal(subject.data, "Phát kết quả hồ sơ " CODE " không thành công");
    if (strncmp(body.data, "Kính gửi ông/bà Nguyễn Văn An,\n\nPhát kết quả hồ sơ " CODE
                           " không thành công lần 1: Không có người nhận. Phát lại ngày 03/12/2026.\n\n",
                strlen("Kính gửi ông/bà Nguyễn Văn An,\n\nPhát kết quả hồ sơ " CODE
                       " không thành công lần 1: Không có người nhận. Phát lại ngày 03/12/2026.\n\n")) != 0)
        fail_msg("got body '%s', want the greeting then the SMS text", body.data);
    if (!strstr(body.data, "2 ngày làm việc") || !strstr(body.data, "Tra cứu hành trình: https://bcci.example.vn/t/abc\n"))
        fail_msg("got body '%s', want the rule of two invitations and the tracking link", body.data);
    expect_nfc("email body", body.data);

    for (i = 0; i < sizeof subjects / sizeof subjects[0]; i++) {
        message_input_t k = { .kind = subjects[i].kind, .dossier_code = CODE, .place_name = "Bộ phận một cửa" };

        buf_reset(&subject);
        buf_reset(&body);
        assert_int_equal(message_email(&k, &subject, &body, err, sizeof err), 0);
        if (strcmp(subject.data, subjects[i].subject) != 0)
            fail_msg("%s: got subject '%s', want '%s'", message_kind_name(k.kind), subject.data, subjects[i].subject);
        if (strncmp(body.data, "Kính gửi ông/bà,\n\n", strlen("Kính gửi ông/bà,\n\n")) != 0)
            fail_msg("%s: got body '%s', want the greeting without a name", message_kind_name(k.kind), body.data);
    }
    buf_free(&subject);
    buf_free(&body);
}

static void
test_counting_and_unaccented(void **state)
{
    static const struct {
        const char *s;
        long units;
        int segments;
    } cases[] = {
        { "", 0, 1 },
        { "Buu dien", 8, 1 },
        { "Bưu điện", 8, 1 },
        { "[]", 2, 1 }, /* GSM extension characters: 4 septets, still one segment */
        { "\xF0\x9F\x93\xA6", 2, 1 }, /* outside the BMP: a surrogate pair */
    };
    char s71[80], a161[170];
    buf_t b;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long u = message_sms_units(cases[i].s, strlen(cases[i].s));
        int seg = message_sms_segments(cases[i].s, strlen(cases[i].s));

        if (u != cases[i].units || seg != cases[i].segments)
            fail_msg("'%s': got %ld units / %d segments, want %ld / %d", cases[i].s, u, seg, cases[i].units,
                     cases[i].segments);
    }
    memset(s71, 'a', sizeof s71);
    memcpy(s71, "\xC3\xA1", 2); /* á + 69 a = 70 units: one UCS-2 segment */
    assert_int_equal(message_sms_segments(s71, 71), 1);
    s71[71] = 'a';
    assert_int_equal(message_sms_segments(s71, 72), 2); /* 71 units */
    memset(a161, 'a', sizeof a161);
    assert_int_equal(message_sms_segments(a161, 160), 1);
    assert_int_equal(message_sms_segments(a161, 161), 2);
    assert_int_equal(message_sms_units("\xC3", 1), -1);

    buf_init(&b, 1024);
    assert_int_equal(message_unaccented("Bưu điện Đà Nẵng: kết quả hồ sơ", &b), 0);
    assert_string_equal(b.data, "Buu dien Da Nang: ket qua ho so");
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sms_texts),
        cmocka_unit_test(test_fixed_parts_fit),
        cmocka_unit_test(test_long_inputs_are_shortened),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_counting_and_unaccented),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
