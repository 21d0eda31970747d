/*
 * label_zpl - ZPL II for Zebra-style thermal printers
 *
 * One ^XA … ^XZ per label: ^CI28 (UTF-8), ^PW/^LL from the page at 8 dots
 * per mm (203 dpi: ^PW800 ^LL1200 for 100×150 mm) or 12 dots per mm
 * (300 dpi), the same layout as the PDF. Text uses the scalable font ^A0N
 * in ^FB blocks; printers that must print every Vietnamese diacritic need a
 * Unicode TrueType font stored on the printer and mapped to font 0 with ^CW.
 *
 * Every user string goes through ^FH_ with ^ ~ _ written as _5E _7E _5F
 * and control characters as spaces, so it can never end a field or start a
 * command. URLs in the QR field get ^ and ~ percent-encoded instead. ^FB
 * prints overflowing text over its last line, so text is cut to an estimate
 * of what the block holds, with "...", and the cut is logged (field name
 * only). Output is plain buf_appendf: no allocation per label beyond the
 * buffer, thousands of labels per millisecond-range batch.
 */
#include <stdio.h>
#include <string.h>

#include "labels/code128.h"
#include "labels/label.h"
#include "labels/s10.h"
#include "log.h"

typedef struct {
    buf_t *b;
    double d; /* dots per mm */
    int rc;
} zpl_t;

static int
dots(const zpl_t *z, double mm)
{
    return (int)(mm * z->d + 0.5);
}

/* utf8_chars - number of code points in s */
static size_t
utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* put_escaped - append at most maxchars code points of s for a ^FH_ field */
static void
put_escaped(zpl_t *z, const char *s, size_t maxchars)
{
    char tmp[1024];
    size_t len = 0, chars = 0;
    const unsigned char *p = (const unsigned char *)s;

    for (; *p; p++) {
        if ((*p & 0xC0) != 0x80) {
            if (chars == maxchars)
                break;
            chars++;
        }
        if (len + 4 > sizeof tmp) {
            if (buf_append(z->b, tmp, len) != BUF_OK)
                z->rc = -1;
            len = 0;
        }
        if (*p == '^' || *p == '~' || *p == '_') {
            static const char hex[] = "0123456789ABCDEF";
            tmp[len++] = '_';
            tmp[len++] = hex[*p >> 4];
            tmp[len++] = hex[*p & 15];
        } else if (*p < 0x20 || *p == 0x7f) {
            tmp[len++] = ' ';
        } else {
            tmp[len++] = (char)*p;
        }
    }
    if (len && buf_append(z->b, tmp, len) != BUF_OK)
        z->rc = -1;
}

/* text - a ^FB block at (x, y) mm, w mm wide, font height in points,
 * at most lines lines; just is L, C or R */
static void
text(zpl_t *z, double x, double y, double w, double pt, int lines, char just, int reverse, const char *s,
     const char *field)
{
    int h = dots(z, pt * 25.4 / 72.0);
    /* ^A0 is a proportional font: about 0.5 em per character on average;
     * keep a margin so the estimate errs on the short side */
    size_t per_line = (size_t)(dots(z, w) / (h * 0.5));
    size_t cap = per_line * (size_t)lines;
    size_t n;

    if (!s || !*s)
        return;
    n = utf8_chars(s);
    if (buf_appendf(z->b, "^FO%d,%d^A0N,%d,%d^FB%d,%d,0,%c,0%s^FH_^FD", dots(z, x), dots(z, y), h, h,
                    dots(z, w), lines, just, reverse ? "^FR" : "") != BUF_OK)
        z->rc = -1;
    if (n > cap && cap > 3) {
        put_escaped(z, s, cap - 3);
        if (buf_append(z->b, "...", 3) != BUF_OK)
            z->rc = -1;
        log_warn("label: field %s too long for its ZPL block, cut with \"...\"", field);
    } else {
        put_escaped(z, s, (size_t)-1);
    }
    if (buf_append(z->b, "^FS\n", 4) != BUF_OK)
        z->rc = -1;
}

static void
hline(zpl_t *z, double y, double w_mm, double thick_mm)
{
    int t = dots(z, thick_mm);

    if (buf_appendf(z->b, "^FO%d,%d^GB%d,%d,%d^FS\n", dots(z, 3), dots(z, y), dots(z, w_mm), t < 1 ? 1 : t,
                    t < 1 ? 1 : t) != BUF_OK)
        z->rc = -1;
}

static void
join_address(const label_party_t *p, char *out, size_t outlen)
{
    const char *parts[3] = { p->address, p->commune, p->province };
    size_t len = 0;
    int i;

    out[0] = '\0';
    for (i = 0; i < 3; i++) {
        int n;
        if (!*parts[i] || (i > 0 && strstr(p->address, parts[i])))
            continue;
        n = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "", parts[i]);
        if (n < 0 || (size_t)n >= outlen - len)
            break;
        len += (size_t)n;
    }
}

/* put_url - QR data: ^ and ~ percent-encoded, control characters dropped */
static void
put_url(zpl_t *z, const char *s)
{
    for (; *s; s++) {
        int r;
        if (*s == '^')
            r = buf_append(z->b, "%5E", 3);
        else if (*s == '~')
            r = buf_append(z->b, "%7E", 3);
        else if ((unsigned char)*s < 0x20 || *s == 0x7f)
            continue;
        else
            r = buf_append(z->b, s, 1);
        if (r != BUF_OK)
            z->rc = -1;
    }
}

static int
render_one(zpl_t *z, const label_page_t *page, const label_data_t *d, char *err, size_t errlen)
{
    double W = page->width_mm, H = page->height_mm, sy = H / 150.0;
    double inner = W - 6, lw = inner - 27;
    char line[256], grouped[64], cod[48], addr[4096];
    code128_t bc;
    int module = z->d >= 12 ? 4 : 3;
    int qrmag = z->d >= 12 ? 7 : 5;

    if (code128_encode(d->waybill, &bc, err, errlen) != 0)
        return -1;
    if (buf_appendf(z->b, "^XA\n^CI28\n^PW%d\n^LL%d\n^LH0,0\n", dots(z, W), dots(z, H)) != BUF_OK)
        z->rc = -1;
    /* banner, inverted */
    if (buf_appendf(z->b, "^FO%d,%d^GB%d,%d,%d^FS\n", dots(z, 3), dots(z, 3), dots(z, inner), dots(z, 9 * sy),
                    dots(z, 9 * sy)) != BUF_OK)
        z->rc = -1;
    text(z, 3, 3 + 2.2 * sy, inner, 11, 1, 'C', 1, "BƯU CHÍNH CÔNG ÍCH — HÀNH CHÍNH CÔNG", "banner");
    text(z, 3, 13 * sy, inner - 39, 7.5, 1, 'L', 0, d->carrier_service, "carrier_service");
    snprintf(line, sizeof line, "Ngày gửi: %s", d->date);
    text(z, W - 41, 13 * sy, 38, 8, 1, 'R', 0, line, "date");
    hline(z, 18.7 * sy, inner, 0.3);

    /* Code 128, centred; the printer prints the interpretation line (Y) */
    if (buf_appendf(z->b, "^FO%d,%d^BY%d,3,%d^BCN,%d,Y,N,N^FH_^FD", (dots(z, W) - bc.modules * module) / 2,
                    dots(z, 19.5 * sy), module, dots(z, 12.5 * sy), dots(z, 12.5 * sy)) != BUF_OK)
        z->rc = -1;
    put_escaped(z, d->waybill, (size_t)-1);
    if (buf_append(z->b, "^FS\n", 4) != BUF_OK)
        z->rc = -1;
    s10_group(d->waybill, grouped, sizeof grouped);
    text(z, 3, 37.3 * sy, inner, 15, 1, 'C', 0, grouped, "waybill");
    hline(z, 44.3 * sy, inner, 0.3);

    text(z, 3, 45 * sy, 40, 7, 1, 'L', 0, "NGƯỜI NHẬN", "caption");
    text(z, 3, 49.5 * sy, inner, 14, 1, 'L', 0, d->recipient.name, "recipient.name");
    snprintf(line, sizeof line, "ĐT: %s", d->recipient.phone);
    text(z, 3, 56.5 * sy, inner, 11, 1, 'L', 0, line, "recipient.phone");
    join_address(&d->recipient, addr, sizeof addr);
    text(z, 3, 62.5 * sy, inner, 10.5, 6, 'L', 0, addr, "recipient.address");
    hline(z, 89.3 * sy, inner, 0.6);

    text(z, 3, 90.2 * sy, 40, 6.5, 1, 'L', 0, "NGƯỜI GỬI", "caption");
    text(z, 3, 93.8 * sy, inner, 8.5, 1, 'L', 0, d->sender.name, "sender.name");
    join_address(&d->sender, addr, sizeof addr);
    text(z, 3, 98.2 * sy, inner, 7, 3, 'L', 0, addr, "sender.address");
    snprintf(line, sizeof line, "ĐT: %s", d->sender.phone);
    text(z, 3, 108 * sy, inner, 7, 1, 'L', 0, line, "sender.phone");
    hline(z, 112.6 * sy, inner, 0.3);

    text(z, 3, 113.4 * sy, lw, 6, 1, 'L', 0, "MÃ HỒ SƠ", "caption");
    text(z, 3, 116.4 * sy, lw, 9.5, 1, 'L', 0, d->dossier_code, "dossier_code");
    text(z, 3, 121.4 * sy, lw, 6, 1, 'L', 0, "NỘI DUNG", "caption");
    text(z, 3, 124.4 * sy, lw, 7.5, 3, 'L', 0, d->result_summary, "result_summary");
    text(z, 3, 132.4 * sy, lw, 6, 1, 'L', 0, "TIỀN THU HỘ (COD)", "caption");
    label_format_cod(d->cod_amount, cod, sizeof cod);
    text(z, 3, 135.5 * sy, lw, 13, 1, 'L', 0, cod, "cod_amount");

    /* QR: model 2, ECC M, automatic input (^FDMA,) */
    if (buf_appendf(z->b, "^FO%d,%d^BQN,2,%d^FDMA,", dots(z, W - 28), dots(z, 112.8 * sy), qrmag) != BUF_OK)
        z->rc = -1;
    put_url(z, d->tracking_url);
    if (buf_append(z->b, "^FS\n", 4) != BUF_OK)
        z->rc = -1;

    if (buf_appendf(z->b, "^FO%d,%d^GB%d,%d,%d^FS\n", dots(z, 3), dots(z, 141.5 * sy), dots(z, inner),
                    dots(z, H - 3 - 141.5 * sy), dots(z, H - 3 - 141.5 * sy)) != BUF_OK)
        z->rc = -1;
    text(z, 3, 142.6 * sy, inner, 8.5, 1, 'C', 1, "Phát tận tay — kiểm tra CCCD/giấy ủy quyền", "caption");
    if (buf_append(z->b, "^XZ\n", 4) != BUF_OK)
        z->rc = -1;
    if (z->rc != 0) {
        snprintf(err, errlen, "ZPL output too big; send fewer labels per request");
        return -1;
    }
    return 0;
}

static int
render_zpl(const label_data_t *items, size_t n, const label_page_t *page, buf_t *out, char *err, size_t errlen)
{
    zpl_t z = { out, page->dpi >= 300 ? 12.0 : 8.0, 0 };
    size_t i;

    for (i = 0; i < n; i++) {
        if (render_one(&z, page, &items[i], err, errlen) != 0) {
            if (z.rc == 0) {
                char e[256];
                snprintf(e, sizeof e, "label %zu: %s", i + 1, err);
                snprintf(err, errlen, "%s", e);
            }
            return -1;
        }
    }
    return 0;
}

const label_format_ops_t label_format_zpl = {
    .name = "zpl",
    .content_type = "application/zpl",
    .caps = LABEL_CAN_BATCH,
    .render = render_zpl,
};
