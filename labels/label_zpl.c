/*
 * label_zpl - ZPL II for Zebra-style thermal printers, in two flavours
 *
 * One ^XA … ^XZ per label: ^CI28 (UTF-8), ^PW/^LL from the page at 8 dots
 * per mm (203 dpi: ^PW800 ^LL1200 for 100×150 mm) or 12 dots per mm
 * (300 dpi), the PDF's layout re-spaced so that no text is smaller than an
 * em of 7 pt (ZPL_MIN_CELL_PT). Code 128 (^BC, centred) and the QR (^BQ,
 * after ^BY is reset) are always the printer's own, so they stay sharp and
 * scannable.
 *
 * Text differs:
 *   label_format_zpl       draws every text block itself, with pango and
 *                          DejaVu Sans (the PDF's text boxes: wrap, shrink,
 *                          ellipsis), into 1-bit bitmaps at the printer's
 *                          resolution, sent as ^GFA graphics (zpl_gf.h).
 *                          The output is plain ASCII and prints every
 *                          Vietnamese diacritic on any ZPL II printer.
 *   label_format_zpl_font  sends text as ^A0N fields in ^FB blocks: a few
 *                          kilobytes per label, but the printer's resident
 *                          fonts lack most Vietnamese letters, so it is for
 *                          printers with a Unicode TrueType font stored and
 *                          mapped to font 0 (^CW).
 *
 * In zpl-font every user string goes through ^FH_ with ^ ~ _ written as
 * _5E _7E _5F and control characters as spaces, so it can never end a field
 * or start a command. URLs in the QR field get ^ and ~ percent-encoded
 * instead. ^FB prints overflowing text over its last line, so text is cut to
 * an estimate of what the block holds, with "...", and the cut is logged
 * (field name only) and counted in the caller's label_result_t.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels/code128.h"
#include "labels/label.h"
#include "labels/label_cairo.h"
#include "domain/s10.h"
#include "labels/zpl_gf.h"
#include "log.h"

typedef struct {
    buf_t *b;
    double d; /* dots per mm */
    int rc;
    int graphic;       /* text as ^GFA bitmaps (zpl) rather than printer fonts (zpl-font) */
    lc_text_t lc;      /* graphic: the shared pango text boxes, monochrome */
    unsigned char *row_bits; /* graphic: scratch for one block's bitmap, owned */
    size_t row_bits_cap;
    int cut;                 /* zpl-font: blocks cut since the start */
    const char *first_cut;   /* zpl-font: field of the first block cut in this label */
} zpl_t;

/* Printed text is never smaller than this: an em of 7 pt is about 20 dots
 * at 203 dpi, what a postman still reads at arm's length. A text block's
 * size is the height of its ^A0 cell; DejaVu's em is about 0.8 of it. */
#define ZPL_MIN_CELL_PT 8.75
#define ZPL_EM_PER_CELL 0.8
/* A bitmap block line is a bit taller than the cell: DejaVu's line box
 * (1.164 em) plus the stacked marks of capitals above it (0.14 em). */
#define ZPL_LINE_PER_CELL 1.06

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

/* reverse_bits - cairo packs A1 pixels in native bit order; ZPL wants the leftmost dot in bit 7 */
static unsigned char
reverse_bits(unsigned char v)
{
    v = (unsigned char)((v & 0xF0) >> 4 | (v & 0x0F) << 4);
    v = (unsigned char)((v & 0xCC) >> 2 | (v & 0x33) << 2);
    return (unsigned char)((v & 0xAA) >> 1 | (v & 0x55) << 1);
}

/* text_bitmap - the block of text() drawn by pango into a 1-bit image and
 * sent as ^GFA at (x, y); reverse prints it white on the black under it */
static void
text_bitmap(zpl_t *z, double x, double y, double w, double pt, int lines, char just, int reverse, const char *s,
            const char *field)
{
    int box_w = dots(z, w), line_h = dots(z, pt * ZPL_LINE_PER_CELL * 25.4 / 72.0), box_h = line_h * lines;
    double em_max = pt * ZPL_EM_PER_CELL, em_min = pt * 0.55;
    /* the bitmap is the box plus the text boxes' clip slack on every side:
     * hinting to the dot grid may move an outline by a dot past the ink
     * extents the text was fitted to. Tests (lc_clip_text = 0) ask for a
     * wide margin instead, to see any ink the box would have cut. */
    int pad = lc_clip_text ? (int)(LC_CLIP_SLACK * z->d + 0.99) : (int)(10 * z->d);
    int wd = box_w + 2 * pad, hd = box_h + 2 * pad;
    size_t bpr = (size_t)(wd + 7) / 8, rows = 0, r, b;
    static const uint16_t probe = 1;
    int little = *(const unsigned char *)&probe == 1;
    unsigned flags = (lines == 1 ? LC_ONELINE : 0) | (pt >= 11 || reverse ? LC_BOLD : 0);
    cairo_surface_t *surf;
    cairo_t *cr;
    const unsigned char *data;
    int stride;

    if (box_w <= 0 || box_h <= 0)
        return;
    if (just == 'C')
        flags |= LC_CENTER;
    else if (just == 'R')
        flags |= LC_RIGHT;
    surf = cairo_image_surface_create(CAIRO_FORMAT_A1, wd, hd);
    cr = cairo_create(surf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        z->rc = -1;
        goto done;
    }
    cairo_translate(cr, pad, pad);
    cairo_scale(cr, z->d, z->d); /* mm, like the PDF */
    lc_text_use(&z->lc, cr);
    if (em_min < ZPL_MIN_CELL_PT * ZPL_EM_PER_CELL)
        em_min = ZPL_MIN_CELL_PT * ZPL_EM_PER_CELL;
    lc_text_box(&z->lc, s, 0, 0, w, box_h / z->d, em_max, em_min, flags, field);
    cairo_surface_flush(surf);
    data = cairo_image_surface_get_data(surf);
    stride = cairo_image_surface_get_stride(surf);
    if (z->row_bits_cap < bpr * (size_t)hd) {
        unsigned char *nb = realloc(z->row_bits, bpr * (size_t)hd);
        if (!nb) {
            z->rc = -1;
            goto done;
        }
        z->row_bits = nb;
        z->row_bits_cap = bpr * (size_t)hd;
    }
    for (r = 0; r < (size_t)hd; r++) {
        const unsigned char *src = data + r * (size_t)stride;
        unsigned char *dst = z->row_bits + r * bpr;
        int ink = 0;

        for (b = 0; b < bpr; b++)
            dst[b] = little ? reverse_bits(src[b]) : src[b];
        if (wd & 7) /* the dots past the block's width are not the block's */
            dst[bpr - 1] &= (unsigned char)(0xFF << (8 - (wd & 7)));
        for (b = 0; b < bpr; b++)
            ink |= dst[b];
        if (ink)
            rows = r + 1; /* blank rows at the bottom are not sent */
    }
    if (rows == 0)
        goto done;
    if (buf_appendf(z->b, "^FO%d,%d%s", dots(z, x) - pad, dots(z, y) - pad, reverse ? "^FR" : "") != BUF_OK ||
        zpl_gf_append(z->b, z->row_bits, bpr, rows) != BUF_OK || buf_append(z->b, "^FS\n", 4) != BUF_OK)
        z->rc = -1;
done:
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
}

/* text - a ^FB block at (x, y) mm, w mm wide, font height in points,
 * at most lines lines; just is L, C or R */
static void
text(zpl_t *z, double x, double y, double w, double pt, int lines, char just, int reverse, const char *s,
     const char *field)
{
    int h;
    size_t cap, n;

    if (!s || !*s)
        return;
    if (pt < ZPL_MIN_CELL_PT)
        pt = ZPL_MIN_CELL_PT;
    if (z->graphic) {
        text_bitmap(z, x, y, w, pt, lines, just, reverse, s, field);
        return;
    }
    h = dots(z, pt * 25.4 / 72.0);
    /* ^A0 is a proportional font: about 0.5 em per character on average;
     * keep a margin so the estimate errs on the short side */
    cap = (size_t)(dots(z, w) / (h * 0.5)) * (size_t)lines;
    n = utf8_chars(s);
    if (buf_appendf(z->b, "^FO%d,%d^A0N,%d,%d^FB%d,%d,0,%c,0%s^FH_^FD", dots(z, x), dots(z, y), h, h,
                    dots(z, w), lines, just, reverse ? "^FR" : "") != BUF_OK)
        z->rc = -1;
    if (n > cap && cap > 3) {
        put_escaped(z, s, cap - 3);
        if (buf_append(z->b, "...", 3) != BUF_OK)
            z->rc = -1;
        z->cut++;
        if (!z->first_cut)
            z->first_cut = field;
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
    char line[512], grouped[64], cod[48], addr[4096], tt17[4096];
    double sender_w = d->receiver_signature ? inner - 36 : inner;
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
    /* Positions in mm on a 150 mm label (scaled by sy); a block is
     * lines * size * ZPL_LINE_PER_CELL tall, sizes not below ZPL_MIN_CELL_PT */
    text(z, 3, 3 + 2.4 * sy, inner, 11, 1, 'C', 1, "BƯU CHÍNH CÔNG ÍCH — HÀNH CHÍNH CÔNG", "banner");
    /* the service gets the whole line: at a readable size it and the
     * acceptance date do not both fit, so the date goes beside the
     * recipient's caption below */
    label_service_text(d, line, sizeof line);
    text(z, 3, 13.3 * sy, inner, 8.75, 1, 'L', 0, line, "carrier_service");
    hline(z, 18.7 * sy, inner, 0.3);

    /* Code 128, centred; the printer prints the interpretation line (Y).
     * Mode A lets the printer pick the code sets (set C for digit runs) the
     * way code128_encode does, so the width it draws is the width computed
     * here and the symbol is centred; mode N would stay in set B and come
     * out wider, shifted to the right. */
    if (buf_appendf(z->b, "^FO%d,%d^BY%d,3,%d^BCN,%d,Y,N,N,A^FH_^FD", (dots(z, W) - bc.modules * module) / 2,
                    dots(z, 19.5 * sy), module, dots(z, 12.5 * sy), dots(z, 12.5 * sy)) != BUF_OK)
        z->rc = -1;
    put_escaped(z, d->waybill, (size_t)-1);
    if (buf_append(z->b, "^FS\n", 4) != BUF_OK)
        z->rc = -1;
    s10_group(d->waybill, grouped, sizeof grouped);
    text(z, 3, 37.3 * sy, inner, 15, 1, 'C', 0, grouped, "waybill");
    hline(z, 44.3 * sy, inner, 0.3);

    text(z, 3, 44.9 * sy, 40, 8.75, 1, 'L', 0, "NGƯỜI NHẬN", "caption");
    label_accepted_text(d, line, sizeof line);
    text(z, W - 53, 44.9 * sy, 50, 8.75, 1, 'R', 0, line, "accepted_date");
    text(z, 3, 48.6 * sy, inner, 14, 1, 'L', 0, d->recipient.name, "recipient.name");
    if (d->recipient.email && *d->recipient.email)
        snprintf(line, sizeof line, "ĐT: %s · %s", d->recipient.phone, d->recipient.email);
    else
        snprintf(line, sizeof line, "ĐT: %s", d->recipient.phone);
    text(z, 3, 56.5 * sy, inner, 11, 1, 'L', 0, line, "recipient.phone");
    label_join_address(&d->recipient, addr, sizeof addr);
    label_tt17_text(d, tt17, sizeof tt17);
    if (*tt17) {
        /* the TT 17 lines take the lower half of the address block */
        text(z, 3, 62.5 * sy, inner, 10.5, 2, 'L', 0, addr, "recipient.address");
        text(z, 3, 70.6 * sy, inner, 8.75, 5, 'L', 0, tt17, "tt17");
    } else {
        text(z, 3, 62.5 * sy, inner, 10.5, 6, 'L', 0, addr, "recipient.address");
    }
    hline(z, 89.3 * sy, inner, 0.6);

    text(z, 3, 89.9 * sy, 60, 8.75, 1, 'L', 0, "NGƯỜI GỬI", "caption");
    /* beside the signature box, an agency's name may need a second line */
    text(z, 3, 93.4 * sy, sender_w, 8.75, d->receiver_signature ? 2 : 1, 'L', 0, d->sender.name, "sender.name");
    label_join_address(&d->sender, addr, sizeof addr);
    text(z, 3, (d->receiver_signature ? 100.2 : 97.0) * sy, sender_w, 8.75, d->receiver_signature ? 2 : 3, 'L', 0,
         addr, "sender.address");
    if (d->sender.email && *d->sender.email)
        snprintf(line, sizeof line, "ĐT: %s · %s", d->sender.phone, d->sender.email);
    else
        snprintf(line, sizeof line, "ĐT: %s", d->sender.phone);
    text(z, 3, 107.4 * sy, sender_w, 8.75, 1, 'L', 0, line, "sender.phone");
    if (d->receiver_signature) {
        /* the receiver's signature box, right of the sender */
        if (buf_appendf(z->b, "^FO%d,%d^GB%d,%d,%d^FS\n", dots(z, W - 37), dots(z, 90.6 * sy), dots(z, 34),
                        dots(z, 21.2 * sy), dots(z, 0.3) < 2 ? 2 : dots(z, 0.3)) != BUF_OK)
            z->rc = -1;
        text(z, W - 36, 91.2 * sy, 32, 8.75, 1, 'C', 0, "NGƯỜI NHẬN KÝ", "caption");
    }
    hline(z, 112.6 * sy, inner, 0.3);

    text(z, 3, 113.0 * sy, lw, 8.75, 1, 'L', 0, "MÃ HỒ SƠ", "caption");
    text(z, 3, 116.4 * sy, lw, 9.5, 1, 'L', 0, d->dossier_code, "dossier_code");
    text(z, 3, 120.2 * sy, lw, 8.75, 1, 'L', 0, "NỘI DUNG", "caption");
    text(z, 3, 123.6 * sy, lw, 8.75, 3, 'L', 0, d->result_summary, "result_summary");
    text(z, 3, 133.5 * sy, lw, 8.75, 1, 'L', 0, "TIỀN THU HỘ (COD)", "caption");
    label_format_cod(d->cod_amount, cod, sizeof cod);
    text(z, 3, 136.9 * sy, lw, 11, 1, 'L', 0, cod, "cod_amount");

    /* QR: model 2, ECC M, automatic input (^FDMA,). ^BY is sticky: the
     * Code 128's module width and 12 mm height would carry over to the QR
     * and move it down under the black bar below, so the defaults are set
     * again first (Zebra firmware and independent renderers agree on this). */
    if (buf_appendf(z->b, "^BY2,3,10\n^FO%d,%d^BQN,2,%d^FDMA,", dots(z, W - 28), dots(z, 112.8 * sy), qrmag) !=
        BUF_OK)
        z->rc = -1;
    put_url(z, d->tracking_url);
    if (buf_append(z->b, "^FS\n", 4) != BUF_OK)
        z->rc = -1;

    if (buf_appendf(z->b, "^FO%d,%d^GB%d,%d,%d^FS\n", dots(z, 3), dots(z, 141.5 * sy), dots(z, inner),
                    dots(z, H - 3 - 141.5 * sy), dots(z, H - 3 - 141.5 * sy)) != BUF_OK)
        z->rc = -1;
    text(z, 3, 142.6 * sy, inner, 8.75, 1, 'C', 1, "Phát tận tay — kiểm tra CCCD/giấy ủy quyền", "caption");
    if (buf_append(z->b, "^XZ\n", 4) != BUF_OK)
        z->rc = -1;
    if (z->rc != 0) {
        snprintf(err, errlen, "ZPL output too big; send fewer labels per request");
        return -1;
    }
    return 0;
}

static int
render_zpl_with(int graphic, const label_data_t *items, size_t n, const label_page_t *page, buf_t *out,
                label_result_t *res, char *err, size_t errlen)
{
    zpl_t z;
    size_t i;
    int rc = 0;

    memset(&z, 0, sizeof z);
    z.b = out;
    z.d = page->dpi >= 300 ? 12.0 : 8.0;
    z.graphic = graphic;
    if (graphic) {
        /* the text state needs a cairo context to start; each block brings its own */
        cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_A1, 8, 8);
        cairo_t *cr = cairo_create(s);
        int ok = cairo_status(cr) == CAIRO_STATUS_SUCCESS && lc_text_init(&z.lc, cr, LC_MONO) == 0;

        cairo_destroy(cr);
        cairo_surface_destroy(s);
        if (!ok) {
            snprintf(err, errlen, "cannot start pango for ZPL text; check that fonts-dejavu-core is installed");
            return -1;
        }
    }
    for (i = 0; i < n; i++) {
        int cut_before = graphic ? z.lc.cut : z.cut;

        z.first_cut = NULL;
        z.lc.first_cut = NULL;
        if (render_one(&z, page, &items[i], err, errlen) == 0) {
            label_result_add(res, (size_t)((graphic ? z.lc.cut : z.cut) - cut_before),
                             graphic ? z.lc.first_cut : z.first_cut);
            continue;
        }
        if (z.rc == 0) {
            char e[256];
            snprintf(e, sizeof e, "label %zu: %s", i + 1, err);
            snprintf(err, errlen, "%s", e);
        }
        rc = -1;
        break;
    }
    if (graphic)
        lc_text_cleanup(&z.lc);
    free(z.row_bits);
    return rc;
}

static int
render_zpl(const label_data_t *items, size_t n, const label_page_t *page, buf_t *out, label_result_t *res,
           char *err, size_t errlen)
{
    return render_zpl_with(1, items, n, page, out, res, err, errlen);
}

static int
render_zpl_font(const label_data_t *items, size_t n, const label_page_t *page, buf_t *out, label_result_t *res,
                char *err, size_t errlen)
{
    return render_zpl_with(0, items, n, page, out, res, err, errlen);
}

const label_format_ops_t label_format_zpl = {
    .name = "zpl",
    .content_type = "application/zpl",
    .caps = LABEL_CAN_BATCH,
    .render = render_zpl,
};

const label_format_ops_t label_format_zpl_font = {
    .name = "zpl-font",
    .content_type = "application/zpl",
    .caps = LABEL_CAN_BATCH,
    .render = render_zpl_font,
};
