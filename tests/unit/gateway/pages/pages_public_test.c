/*
 * pages_public_test - name masking, HTML escaping, Vietnam-time formats,
 * working days and the privacy of the built tracking page
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "domain/areas.h"
#include "domain/calendar.h"
#include "gateway/pages/pages_public.h"

/* 2025-11-24 10:15:00 +07:00, a Monday */
#define MON_1015 1763954100000LL
#define DAY_MS (86400LL * 1000)

static void
test_mask_name(void **state)
{
    static const struct {
        const char *in, *want;
        int rc;
    } cases[] = {
        { "Nguyễn Văn Á", "Nguyễn V. Á.", 0 },
        { "Nguyễn Thị Ánh Tuyết", "Nguyễn T. Á. T.", 0 },
        { "  Trần   Văn\tPhước ", "Trần V. P.", 0 },
        { "Lê", "Lê", 0 },
        { "Đỗ Đức", "Đỗ Đ.", 0 },
        { "Nguye\xcc\x82\xcc\x83n A\xcc\x81nh", "Nguye\xcc\x82\xcc\x83n A\xcc\x81.", 0 }, /* NFD marks stay */
        { "", "", 0 },
        { "Bad \xff name", "", -1 },
    };
    size_t i;
    char out[64];

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = page_mask_name(cases[i].in, out, sizeof out);
        if (rc != cases[i].rc || strcmp(out, cases[i].want) != 0)
            fail_msg("page_mask_name(\"%s\"): got %d \"%s\", want %d \"%s\"", cases[i].in, rc, out, cases[i].rc,
                     cases[i].want);
    }
    /* too small: refuses rather than cutting a letter in half */
    if (page_mask_name("Nguyễn Văn Á", out, 8) != -1 || out[0] != '\0')
        fail_msg("page_mask_name into 8 bytes: got \"%s\", want -1 and \"\"", out);
}

static void
test_escape(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "<script>alert('x')</script>", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" },
        { "a & b \"c\"", "a &amp; b &quot;c&quot;" },
        { "Hà Nội", "Hà Nội" },
        { "", "" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_t b;
        buf_init(&b, 1024);
        assert_int_equal(page_html_escape(&b, cases[i].in), BUF_OK);
        if (strcmp(b.data ? b.data : "", cases[i].want) != 0)
            fail_msg("escape(\"%s\"): got \"%s\", want \"%s\"", cases[i].in, b.data ? b.data : "", cases[i].want);
        buf_free(&b);
    }
}

static void
test_times(void **state)
{
    char out[64];

    (void)state;
    page_format_time(MON_1015, out, sizeof out);
    if (strcmp(out, "24/11/2025 10:15") != 0)
        fail_msg("page_format_time: got \"%s\", want \"24/11/2025 10:15\"", out);
    /* 23:30 UTC is already the next day in Vietnam */
    page_format_time(1763940600000LL, out, sizeof out); /* 2025-11-23T23:30Z */
    if (strcmp(out, "24/11/2025 06:30") != 0)
        fail_msg("page_format_time: got \"%s\", want \"24/11/2025 06:30\"", out);
    page_format_date(MON_1015, out, sizeof out);
    if (strcmp(out, "Thứ Hai, 24/11/2025") != 0)
        fail_msg("page_format_date: got \"%s\", want \"Thứ Hai, 24/11/2025\"", out);
}

static void
test_working_days(void **state)
{
    static const struct {
        int64_t from;
        int days;
        const char *want;
    } cases[] = {
        { MON_1015, 4, "Thứ Sáu, 28/11/2025" },
        { MON_1015 + 1 * DAY_MS, 4, "Thứ Hai, 01/12/2025" },  /* Tuesday + 4 skips the weekend */
        { MON_1015 + 4 * DAY_MS, 4, "Thứ Năm, 04/12/2025" },  /* Friday */
        { MON_1015 + 5 * DAY_MS, 4, "Thứ Năm, 04/12/2025" },  /* Saturday */
        { MON_1015 + 6 * DAY_MS, 4, "Thứ Năm, 04/12/2025" },  /* Sunday */
        { MON_1015, 0, "Thứ Hai, 24/11/2025" },
    };
    size_t i;
    char out[64];

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* without an operator calendar: weekends only */
        page_format_date(calendar_add_working_days(NULL, cases[i].from, cases[i].days), out, sizeof out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, cases[i].want);
    }
}

static void
test_tracking_page(void **state)
{
    page_event_t ev[] = { { MON_1015 + 3600000, "out_for_delivery" }, { MON_1015, "created" } };
    page_tracking_t t = {
        .waybill = "RR000000014VN",
        .status = "out_for_delivery",
        .status_time = MON_1015 + 3600000,
        .created_at = MON_1015,
        .expected = MON_1015 + 4 * DAY_MS,
        .recipient = "Nguyễn T. <b>",
        .province_code = "01",
        .commune_code = "00008",
        .events = ev,
        .nevents = 2,
        .now = MON_1015 + 7200000,
    };
    static const char *const want[] = {
        "<html lang=\"vi\">", "name=\"viewport\"", "Bưu tá đang giao kết quả đến bạn", "RR000000014VN",
        "Nguyễn T. &lt;b&gt;", "Phường Ngọc Hà, Thành phố Hà Nội", "Thứ Sáu, 28/11/2025", "24/11/2025 11:15",
        "24/11/2025 10:15", "1900 54 54 81",
    };
    static const char *const never[] = { "<script", "http://", "https://", "<b>" };
    size_t len = 0, i;
    char *html = page_tracking_html(&t, &len);

    (void)state;
    assert_non_null(html);
    assert_int_equal(strlen(html), len);
    for (i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(html, want[i]))
            fail_msg("tracking page: \"%s\" missing", want[i]);
    for (i = 0; i < sizeof never / sizeof never[0]; i++)
        if (strstr(html, never[i]))
            fail_msg("tracking page: got \"%s\", want none", never[i]);
    /* newest first: the 11:15 row comes before the 10:15 row */
    if (strstr(html, ">24/11/2025 11:15<") > strstr(html, ">24/11/2025 10:15<"))
        fail_msg("timeline order: got oldest first, want newest first");
    free(html);

    /* with the operator's commune names the page says where, in words */
    {
        const char *tmp = getenv("TMPDIR");
        char dir[256], path[320], err[200] = "";
        FILE *f;
        areas_t *a;

        snprintf(dir, sizeof dir, "%s/pages_test.XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/communes.conf", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("00008 = Phường Ngọc Hà\n", f);
        fclose(f);
        a = areas_load(path, err, sizeof err);
        unlink(path);
        rmdir(dir);
        assert_non_null(a);
        t.areas = a;
        html = page_tracking_html(&t, &len);
        assert_non_null(html);
        if (!strstr(html, "Phường Ngọc Hà, Thành phố Hà Nội"))
            fail_msg("tracking page: commune name missing");
        assert_null(strstr(html, "mã 00008"));
        free(html);
        areas_destroy(&a);
    }
}

/* html_of - the page of t with want present and never absent (each list NULL-terminated) */
static void
html_of(const page_tracking_t *t, const char *const *want, const char *const *never)
{
    size_t len = 0;
    char *html = page_tracking_html(t, &len);

    assert_non_null(html);
    for (; want && *want; want++)
        if (!strstr(html, *want))
            fail_msg("tracking page of %s: \"%s\" missing", t->status, *want);
    for (; never && *never; never++)
        if (strstr(html, *never))
            fail_msg("tracking page of %s: got \"%s\", want none", t->status, *never);
    free(html);
}

static void
test_tracking_states(void **state)
{
    page_event_t ev[] = { { MON_1015, "delivery_failed" } };
    page_tracking_t t = { .waybill = "RR000000014VN", .status = "delivery_failed", .status_time = MON_1015,
                          .created_at = MON_1015, .recipient = "Nguyễn T.", .events = ev, .nevents = 1,
                          .now = MON_1015, .fail_reason = "Người nhận vắng nhà",
                          .next_attempt = MON_1015 + 2 * DAY_MS };

    (void)state;
    /* a failed attempt: the reason and the next attempt, two working days on */
    html_of(&t, (const char *const[]){ "Lý do: <strong data-field=\"reason\">Người nhận vắng nhà", "Bưu tá sẽ phát lại vào",
                                       "Thứ Tư, 26/11/2025", NULL },
            (const char *const[]){ "Dự kiến giao", NULL });
    t.next_agreed = 1;
    html_of(&t, (const char *const[]){ "Lịch phát lại đã hẹn", NULL }, NULL);
    /* going back: the desk that will hold it */
    t.status = "returning";
    t.desk_name = "Bộ phận một cửa phường Ba Đình";
    t.desk_address = "Số 10 phố Đội Cấn";
    t.desk_phone = "02438234567";
    html_of(&t, (const char *const[]){ "Kết quả sẽ được giữ tại", "Bộ phận một cửa phường Ba Đình", "Số 10 phố Đội Cấn",
                                       "href=\"tel:02438234567\"", NULL },
            (const char *const[]){ "Lý do:", NULL });
    t.status = "returned";
    html_of(&t, (const char *const[]){ "Nhận kết quả tại", NULL }, NULL);
    /* delivered: who signed, masked by the caller */
    t.status = "delivered";
    t.received_by = "Trần V. B.";
    html_of(&t, (const char *const[]){ "Người ký nhận", "Trần V. B.", NULL }, (const char *const[]){ "giữ tại", NULL });
    /* the gateway's own setup error is not a lost parcel */
    t.status = "exception";
    ev[0].status = "exception";
    t.setup_error = 1;
    html_of(&t, (const char *const[]){ "Bộ phận một cửa đang hoàn tất thủ tục gửi qua bưu điện", NULL },
            (const char *const[]){ "thất lạc", "status warn", NULL });
    t.setup_error = 0;
    html_of(&t, (const char *const[]){ "thất lạc", NULL }, NULL);
    /* the send leg speaks of the citizen's dossier going to the agency */
    t.status = "out_for_delivery";
    ev[0].status = "out_for_delivery";
    t.leg = "send";
    html_of(&t, (const char *const[]){ "Bưu tá đang chuyển hồ sơ đến Bộ phận một cửa", "Nơi nhận hồ sơ",
                                       "Hồ sơ thủ tục hành chính bạn gửi đến cơ quan", NULL },
            (const char *const[]){ "đang giao kết quả đến bạn", NULL });
}

static void
test_not_found_is_constant(void **state)
{
    size_t l1 = 0, l2 = 0;
    char *a = page_not_found_html(&l1), *b = page_not_found_html(&l2);

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    if (l1 != l2 || memcmp(a, b, l1) != 0)
        fail_msg("two 404 pages differ: got %zu and %zu bytes, want identical", l1, l2);
    free(a);
    free(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_name),     cmocka_unit_test(test_escape),
        cmocka_unit_test(test_times),         cmocka_unit_test(test_working_days),
        cmocka_unit_test(test_tracking_page), cmocka_unit_test(test_tracking_states),
        cmocka_unit_test(test_not_found_is_constant),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
