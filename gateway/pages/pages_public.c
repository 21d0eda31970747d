/*
 * pages_public - the citizen tracking page and its error pages (see pages_public.h)
 *
 * Mobile first: one column of large text (20 px body on phones), a status
 * card, the details, the journey newest first and the hotline; from 48 rem
 * the details and the journey sit side by side. Colours keep WCAG AA
 * contrast (text #1b1f24 on white 16:1, white on #0b5d3b 7.9:1, links
 * #0a4b91 8.6:1). No script: the page works in any browser and in none.
 */
#include "gateway/pages/pages_public.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "domain/status.h"
#include "clock.h"
#include "domain/areas.h"

#define DAY_MS (86400LL * 1000)
#define PAGE_LIMIT (256 * 1024)

/* ------------------------------------------------------------ helpers */

static int
is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int
is_mark(utf8proc_int32_t cp)
{
    utf8proc_category_t cat = utf8proc_category(cp);

    return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME;
}

int
page_mask_name(const char *name, char *out, size_t outlen)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)name;
    size_t o = 0;
    int word = 0;

    if (!out || outlen == 0)
        return -1;
    out[0] = '\0';
    if (!name)
        return -1;
    while (*p) {
        const utf8proc_uint8_t *start, *end;
        utf8proc_int32_t cp;
        utf8proc_ssize_t n;
        size_t take;

        while (*p && is_space((char)*p))
            p++;
        if (!*p)
            break;
        start = p;
        end = p;
        /* the whole word, validating UTF-8 as we go */
        while (*end && !is_space((char)*end)) {
            n = utf8proc_iterate(end, -1, &cp);
            if (n <= 0)
                goto bad;
            end += n;
        }
        if (word == 0) {
            take = (size_t)(end - start);
        } else {
            /* the first letter and the combining marks that belong to it */
            const utf8proc_uint8_t *q = start;
            n = utf8proc_iterate(q, -1, &cp);
            q += n;
            while (q < end) {
                n = utf8proc_iterate(q, -1, &cp);
                if (n <= 0 || !is_mark(cp))
                    break;
                q += n;
            }
            take = (size_t)(q - start);
        }
        if (o + (word ? 1 : 0) + take + (word ? 1 : 0) + 1 > outlen)
            goto bad;
        if (word)
            out[o++] = ' ';
        memcpy(out + o, start, take);
        o += take;
        if (word)
            out[o++] = '.';
        out[o] = '\0';
        word++;
        p = end;
    }
    return 0;
bad:
    out[0] = '\0';
    return -1;
}

int
page_html_escape(buf_t *b, const char *s)
{
    const char *run = s;
    int rc;

    if (!s)
        return BUF_OK;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: break;
        }
        if (!rep)
            continue;
        if ((rc = buf_append(b, run, (size_t)(s - run))) != BUF_OK)
            return rc;
        if ((rc = buf_append(b, rep, strlen(rep))) != BUF_OK)
            return rc;
        run = s + 1;
    }
    return buf_append(b, run, (size_t)(s - run));
}

void
page_format_time(int64_t ms, char *out, size_t outlen)
{
    clock_format(ms, CLOCK_VN_MINUTE, out, outlen);
}

void
page_format_date(int64_t ms, char *out, size_t outlen)
{
    static const char *const days[] = { "Chủ nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy" };
    char date[16];

    snprintf(out, outlen, "%s, %s", days[clock_weekday(ms)], clock_format(ms, CLOCK_VN_DATE, date, sizeof date));
}

/* ------------------------------------------------------------ the pages */

static const char page_css[] =
    "*{box-sizing:border-box}"
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}"
    "body{margin:0;font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\",\"DejaVu Sans\",Arial,"
    "sans-serif;font-size:1.25rem;line-height:1.55;color:#1b1f24;background:#f4f6f8}"
    "header{background:#0a3d7a;color:#fff;padding:1rem 1.25rem}"
    "header p{margin:0;font-size:1.125rem;font-weight:700;letter-spacing:.01em}"
    "header small{display:block;font-size:1rem;font-weight:400;color:#e8eef7}"
    "main{max-width:64rem;margin:0 auto;padding:1rem}"
    "h1{font-size:1.5rem;line-height:1.3;margin:.25rem 0 1rem}"
    "h2{font-size:1.25rem;margin:0 0 .75rem}"
    ".card{background:#fff;border:1px solid #c9d1da;border-radius:.75rem;padding:1rem 1.25rem;margin:0 0 1rem}"
    ".status{background:#0b5d3b;color:#fff;border:0}"
    ".status.warn{background:#8a2c0d}"
    ".status .label{font-size:1.125rem;margin:0}"
    ".status .now{font-size:1.625rem;font-weight:700;line-height:1.3;margin:.25rem 0 .5rem}"
    ".status .when{margin:0;font-size:1.125rem}"
    "dl{margin:0}dt{font-weight:700;margin-top:.75rem}dt:first-child{margin-top:0}dd{margin:0}"
    ".mono{font-family:\"DejaVu Sans Mono\",Menlo,Consolas,monospace;letter-spacing:.04em;word-break:break-all}"
    "ol.timeline{list-style:none;margin:0;padding:0}"
    "ol.timeline li{position:relative;padding:0 0 1rem 1.75rem;border-left:3px solid #c9d1da;margin-left:.5rem}"
    "ol.timeline li:last-child{border-left-color:transparent;padding-bottom:0}"
    "ol.timeline li::before{content:\"\";position:absolute;left:-.6rem;top:.3rem;width:.9rem;height:.9rem;"
    "border-radius:50%;background:#fff;border:3px solid #5b6673}"
    "ol.timeline li.latest::before{background:#0b5d3b;border-color:#0b5d3b}"
    "ol.timeline time{display:block;font-size:1.0625rem;color:#3d4651;font-variant-numeric:tabular-nums}"
    "a{color:#0a4b91;text-decoration-thickness:2px}"
    "a:focus{outline:3px solid #f0b400;outline-offset:2px}"
    ".phone{font-size:1.5rem;font-weight:700;white-space:nowrap}"
    ".note{font-size:1.0625rem;color:#3d4651}"
    "footer{max-width:64rem;margin:0 auto;padding:0 1rem 2rem;font-size:1.0625rem;color:#3d4651}"
    "@media (min-width:48rem){body{font-size:1.1875rem}main{padding:1.5rem}footer{padding:0 1.5rem 2rem}"
    ".grid{display:grid;grid-template-columns:1fr 1.4fr;gap:1rem;align-items:start}.grid .card{margin:0}"
    "h1{font-size:1.75rem}}";

static void
page_head(buf_t *b, const char *title)
{
    buf_appendf(b,
                "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<meta name=\"referrer\" content=\"no-referrer\">\n"
                "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
                "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n"
                "<header><p>Bưu chính công ích <small>Trả kết quả thủ tục hành chính qua bưu điện</small></p>"
                "</header>\n",
                title, page_css);
}

static void
page_help(buf_t *b)
{
    buf_appendf(b,
                "<section class=\"card\" aria-labelledby=\"help\">\n<h2 id=\"help\">Cần hỗ trợ?</h2>\n"
                "<p>Gọi tổng đài Bưu điện Việt Nam (miễn phí tra cứu):<br>"
                "<a class=\"phone\" href=\"tel:%s\">%s</a></p>\n"
                "<p class=\"note\">Khi nhận kết quả, vui lòng mang theo căn cước công dân hoặc hộ chiếu; "
                "người nhận thay cần có giấy ủy quyền.</p>\n</section>\n",
                PAGE_HOTLINE_TEL, PAGE_HOTLINE);
}

static char *
page_finish(buf_t *b, size_t *len)
{
    buf_appendf(b, "<footer><p>Trang này không hiển thị số điện thoại, địa chỉ hay giấy tờ tùy thân của bạn.</p>"
                   "</footer>\n</body>\n</html>\n");
    return buf_steal(b, len);
}

/* the words a citizen reads while the gateway (not the post office) must fix something */
#define SETUP_TEXT "Bộ phận một cửa đang hoàn tất thủ tục gửi qua bưu điện"

static const char *
leg_status_text(const char *status, int send)
{
    const char *text = status_text_vi(status, send ? "send" : "return");

    return text ? text : "Đang cập nhật trạng thái";
}


static int
status_is_problem(const char *status)
{
    return status && (strcmp(status, "delivery_failed") == 0 || strcmp(status, "exception") == 0 ||
                      strcmp(status, "returning") == 0 || strcmp(status, "returned") == 0 ||
                      strcmp(status, "cancelled") == 0);
}

static void
iso_time(int64_t ms, char *out, size_t outlen)
{
    clock_format(ms, CLOCK_ISO8601, out, outlen);
}

/* page_desk - the desk that holds (or will hold) a result going back: where, and whom to call */
static void
page_desk(buf_t *bp, const page_tracking_t *t, int send)
{
    if (!send && t->desk_name && t->desk_name[0] && t->status &&
        (strcmp(t->status, "returning") == 0 || strcmp(t->status, "returned") == 0)) {
        buf_appendf(bp, "<section class=\"card\" aria-labelledby=\"desk\" data-field=\"desk\">\n"
                        "<h2 id=\"desk\">%s</h2>\n<p><strong>",
                    strcmp(t->status, "returned") == 0 ? "Nhận kết quả tại" : "Kết quả sẽ được giữ tại");
        page_html_escape(bp, t->desk_name);
        buf_appendf(bp, "</strong>");
        if (t->desk_address && t->desk_address[0]) {
            buf_appendf(bp, "<br>");
            page_html_escape(bp, t->desk_address);
        }
        buf_appendf(bp, "</p>\n");
        if (t->desk_phone && t->desk_phone[0]) {
            buf_appendf(bp, "<p>Điện thoại: <a class=\"phone\" href=\"tel:");
            page_html_escape(bp, t->desk_phone);
            buf_appendf(bp, "\">");
            page_html_escape(bp, t->desk_phone);
            buf_appendf(bp, "</a></p>\n");
        }
        buf_appendf(bp, "<p class=\"note\">Vui lòng mang theo giấy hẹn trả kết quả và căn cước công dân.</p>\n"
                        "</section>\n");
    }
}

char *
page_tracking_html(const page_tracking_t *t, size_t *len)
{
    buf_t b;
    char when[32], date[48], iso[40];
    char commune[320], province[64];
    size_t i;
    int send = t->leg && strcmp(t->leg, "send") == 0;

    buf_init(&b, PAGE_LIMIT);
    page_head(&b, "Tra cứu bưu gửi — Bưu chính công ích");
    buf_appendf(&b, "<main>\n<h1>%s</h1>\n",
                send ? "Hồ sơ thủ tục hành chính bạn gửi đến cơ quan" : "Kết quả thủ tục hành chính của bạn");

    /* the status card; a setup error of the gateway is the desk's to fix, not a lost parcel */
    page_format_time(t->status_time, when, sizeof when);
    buf_appendf(&b, "<section class=\"card status%s\" aria-labelledby=\"st\">\n"
                    "<p class=\"label\" id=\"st\">Trạng thái hiện tại</p>\n<p class=\"now\" data-status=\"",
                !t->setup_error && status_is_problem(t->status) ? " warn" : "");
    page_html_escape(&b, t->setup_error ? "preparing" : t->status);
    buf_appendf(&b, "\">");
    page_html_escape(&b, t->setup_error ? SETUP_TEXT : leg_status_text(t->status, send));
    buf_appendf(&b, "</p>\n<p class=\"when\">Cập nhật lúc %s</p>\n", when);
    if (t->setup_error)
        buf_appendf(&b, "<p class=\"when\" data-field=\"setup\">Bưu gửi của bạn không bị ảnh hưởng; cán bộ sẽ "
                        "chuyển cho bưu điện ngay khi hoàn tất.</p>\n");
    if (!t->setup_error && t->status && strcmp(t->status, "delivery_failed") == 0) {
        if (t->fail_reason && t->fail_reason[0]) {
            buf_appendf(&b, "<p class=\"when\">Lý do: <strong data-field=\"reason\">");
            page_html_escape(&b, t->fail_reason);
            buf_appendf(&b, "</strong></p>\n");
        }
        if (t->next_attempt > 0) {
            page_format_date(t->next_attempt, date, sizeof date);
            buf_appendf(&b, "<p class=\"when\">%s: <strong data-field=\"next-attempt\">%s</strong></p>\n",
                        t->next_agreed ? "Lịch phát lại đã hẹn" : "Bưu tá sẽ phát lại vào", date);
        }
        buf_appendf(&b, "<p class=\"when\">Nếu cần hẹn ngày khác, vui lòng gọi tổng đài bên dưới hoặc "
                        "Bộ phận một cửa.</p>\n");
    }
    buf_appendf(&b, "</section>\n");

    page_desk(&b, t, send);

    /* details */
    buf_appendf(&b, "<div class=\"grid\">\n<section class=\"card\" aria-labelledby=\"dt\">\n"
                    "<h2 id=\"dt\">Thông tin bưu gửi</h2>\n<dl>\n<dt>Số hiệu bưu gửi</dt>\n<dd class=\"mono\">");
    page_html_escape(&b, t->waybill);
    buf_appendf(&b, "</dd>\n<dt>%s</dt>\n<dd data-field=\"recipient\">", send ? "Nơi nhận hồ sơ" : "Người nhận");
    page_html_escape(&b, t->recipient && t->recipient[0] ? t->recipient : "—");
    buf_appendf(&b, "</dd>\n<dt>Nơi nhận</dt>\n<dd data-field=\"area\">");
    /* the same words as the label; the line starts with a capital ("xã/phường mã …" -> "Xã/phường mã …") */
    areas_commune_text(t->areas, t->commune_code, commune, sizeof commune);
    areas_province_text(t->province_code, province, sizeof province);
    if (commune[0] >= 'a' && commune[0] <= 'z')
        commune[0] = (char)(commune[0] - 'a' + 'A');
    else if (!commune[0] && province[0] >= 'a' && province[0] <= 'z')
        province[0] = (char)(province[0] - 'a' + 'A');
    page_html_escape(&b, commune);
    buf_appendf(&b, "%s", commune[0] && province[0] ? ", " : "");
    page_html_escape(&b, province);
    buf_appendf(&b, "</dd>\n");
    if (t->status && strcmp(t->status, "delivered") == 0) {
        page_format_date(t->status_time, date, sizeof date);
        buf_appendf(&b, "<dt>Ngày giao</dt>\n<dd data-field=\"expected\">%s</dd>\n", date);
        if (t->received_by && t->received_by[0]) {
            buf_appendf(&b, "<dt>Người ký nhận</dt>\n<dd data-field=\"received-by\">");
            page_html_escape(&b, t->received_by);
            buf_appendf(&b, "</dd>\n");
        }
    } else if (t->expected > 0 && !status_is_terminal(t->status) && !status_is_problem(t->status)) {
        page_format_date(t->expected, date, sizeof date);
        buf_appendf(&b,
                    "<dt>Dự kiến giao</dt>\n<dd data-field=\"expected\">%s<br><span class=\"note\">"
                    "(không tính thứ Bảy, Chủ nhật và ngày nghỉ lễ)</span></dd>\n",
                    date);
    }
    buf_appendf(&b, "</dl>\n</section>\n");

    /* the journey, newest first */
    buf_appendf(&b, "<section class=\"card\" aria-labelledby=\"tl\">\n<h2 id=\"tl\">Hành trình bưu gửi</h2>\n"
                    "<ol class=\"timeline\">\n");
    for (i = 0; i < t->nevents; i++) {
        page_format_time(t->events[i].time, when, sizeof when);
        iso_time(t->events[i].time, iso, sizeof iso);
        buf_appendf(&b, "<li%s><time datetime=\"%s\">%s</time>", i == 0 ? " class=\"latest\"" : "", iso, when);
        page_html_escape(&b, t->setup_error && strcmp(t->events[i].status, "exception") == 0
                                 ? SETUP_TEXT
                                 : leg_status_text(t->events[i].status, send));
        buf_appendf(&b, "</li>\n");
    }
    if (t->nevents == 0)
        buf_appendf(&b, "<li>Chưa có thông tin hành trình.</li>\n");
    buf_appendf(&b, "</ol>\n</section>\n</div>\n");
    page_help(&b);
    page_format_time(t->now, when, sizeof when);
    buf_appendf(&b, "<p class=\"note\">Thông tin cập nhật đến %s (giờ Việt Nam).</p>\n</main>\n", when);
    return page_finish(&b, len);
}

char *
page_not_found_html(size_t *len)
{
    buf_t b;

    buf_init(&b, PAGE_LIMIT);
    page_head(&b, "Không tìm thấy bưu gửi — Bưu chính công ích");
    buf_appendf(&b, "<main>\n<h1>Không tìm thấy bưu gửi</h1>\n<section class=\"card\">\n"
                    "<p>Đường dẫn tra cứu không đúng hoặc không còn hiệu lực.</p>\n"
                    "<p>Vui lòng quét lại mã QR in trên phiếu gửi, hoặc gọi tổng đài để được hỗ trợ.</p>\n"
                    "</section>\n");
    page_help(&b);
    buf_appendf(&b, "</main>\n");
    return page_finish(&b, len);
}

char *
page_rate_limited_html(int retry_after_s, size_t *len)
{
    buf_t b;

    buf_init(&b, PAGE_LIMIT);
    page_head(&b, "Vui lòng thử lại sau — Bưu chính công ích");
    buf_appendf(&b,
                "<main>\n<h1>Bạn đã tra cứu quá nhiều lần</h1>\n<section class=\"card\">\n"
                "<p>Để bảo vệ thông tin của người dân, mỗi thiết bị chỉ được tra cứu một số lần nhất định "
                "trong một phút.</p>\n<p>Vui lòng thử lại sau <strong>%d giây</strong>.</p>\n</section>\n",
                retry_after_s);
    page_help(&b);
    buf_appendf(&b, "</main>\n");
    return page_finish(&b, len);
}
