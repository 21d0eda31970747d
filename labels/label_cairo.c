/*
 * label_cairo - PDF, PNG and SVG waybill labels with cairo + pango
 *
 * One layout routine (label_draw_static + label_draw_variable) in millimetre
 * user space, three thin backends that differ only in the cairo surface.
 *
 * Batches (PDF): what every label shares (banner, rules, captions, the
 * delivery instruction) is drawn once into a recording surface and painted
 * on every page; cairo's PDF backend emits it once as a form XObject. The
 * per-label part (text shaping with pango is most of the cost) is drawn
 * into one recording surface per label by worker threads, one per core,
 * while the calling thread writes finished pages in order into the PDF.
 * A window bounds how far the workers run ahead, so memory stays flat for
 * big batches.
 */
#include "labels/label_cairo.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo-svg.h>

#include "labels/code128.h"
#include "labels/label.h"
#include "labels/qr.h"
#include "domain/s10.h"
#include "log.h"

/* ---- text boxes (shared with manifest.c through label_cairo.h) ---- */

int
lc_text_init(lc_text_t *t, cairo_t *cr, int raster)
{
    PangoFontMap *fm = pango_cairo_font_map_get_default(); /* per thread, owned by pango */
    cairo_font_options_t *fo;

    memset(t, 0, sizeof *t);
    t->pc = pango_font_map_create_context(fm);
    if (!t->pc)
        return -1;
    /* user space is mm: positions must not be rounded to whole units */
    pango_context_set_round_glyph_positions(t->pc, FALSE);
    fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    if (raster == LC_MONO) {
        /* one bit per dot: outlines snapped to the grid keep thin strokes and diacritics whole */
        cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_FULL);
        cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_NONE);
    } else {
        cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
        cairo_font_options_set_antialias(fo, raster == LC_GRAY ? CAIRO_ANTIALIAS_GRAY : CAIRO_ANTIALIAS_DEFAULT);
    }
    pango_cairo_context_set_font_options(t->pc, fo);
    cairo_font_options_destroy(fo);
    t->raster = raster;
    t->cr = cr;
    pango_cairo_update_context(cr, t->pc);
    t->layout = pango_layout_new(t->pc);
    t->fd = pango_font_description_from_string(LC_FONT);
    if (!t->layout || !t->fd) {
        lc_text_cleanup(t);
        return -1;
    }
    return 0;
}

void
lc_text_use(lc_text_t *t, cairo_t *cr)
{
    t->cr = cr;
    pango_cairo_update_context(cr, t->pc);
    pango_layout_context_changed(t->layout);
}

void
lc_text_cleanup(lc_text_t *t)
{
    if (t->layout)
        g_object_unref(t->layout);
    if (t->pc)
        g_object_unref(t->pc);
    if (t->fd)
        pango_font_description_free(t->fd);
    memset(t, 0, sizeof *t);
}

/* ink_span - the part of the layout that must stay inside its box: the
 * union of the logical rectangle (line spacing) and the ink rectangle.
 * Stacked Vietnamese marks on capitals (Ả, Ấ, Ễ) reach well above the
 * font's ascent line, which bounds the logical rectangle, so a box sized by
 * the logical rectangle alone would cut them. Pango units. */
static void
ink_span(PangoLayout *l, PangoRectangle *span)
{
    PangoRectangle ink, logical;
    int x0, y0, x1, y1;

    pango_layout_get_extents(l, &ink, &logical);
    x0 = logical.x;
    y0 = logical.y;
    x1 = logical.x + logical.width;
    y1 = logical.y + logical.height;
    if (ink.width > 0 && ink.height > 0) {
        if (ink.x < x0)
            x0 = ink.x;
        if (ink.y < y0)
            y0 = ink.y;
        if (ink.x + ink.width > x1)
            x1 = ink.x + ink.width;
        if (ink.y + ink.height > y1)
            y1 = ink.y + ink.height;
    }
    span->x = x0;
    span->y = y0;
    span->width = x1 - x0;
    span->height = y1 - y0;
}

static int
lc_fits(PangoLayout *l, double w, double h, unsigned flags, PangoRectangle *span)
{
    ink_span(l, span);
    if ((double)span->height / PANGO_SCALE > h || (double)span->width / PANGO_SCALE > w)
        return 0;
    if ((flags & LC_ONELINE) && pango_layout_get_line_count(l) > 1)
        return 0;
    return 1;
}

/* lc_cut - set the layout to the longest prefix of text + "…" that fits.
 * The text itself is cut (not pango's ellipsizing), so the PDF text layer
 * holds what is printed and nothing hidden. */
static void
lc_cut(PangoLayout *l, const char *text, double w, double h, unsigned flags, PangoRectangle *span)
{
    static const char ell[] = "…";
    size_t len = strlen(text);
    char *tmp = malloc(len + sizeof ell);
    glong lo = 0, hi = g_utf8_strlen(text, (gssize)len);

    if (!tmp) {
        /* no memory for the copy: let pango cut it */
        pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
        pango_layout_set_height(l, (flags & LC_ONELINE) ? -1 : (int)(h * PANGO_SCALE));
        ink_span(l, span);
        return;
    }
    while (lo < hi) { /* largest prefix length in [lo, hi] that fits */
        glong mid = (lo + hi + 1) / 2;
        size_t nb = (size_t)(g_utf8_offset_to_pointer(text, mid) - text);
        memcpy(tmp, text, nb);
        memcpy(tmp + nb, ell, sizeof ell);
        pango_layout_set_text(l, tmp, -1);
        if (lc_fits(l, w, h, flags, span))
            lo = mid;
        else
            hi = mid - 1;
    }
    {
        size_t nb = (size_t)(g_utf8_offset_to_pointer(text, lo) - text);
        while (nb > 0 && (text[nb - 1] == ' ' || text[nb - 1] == ','))
            nb--;
        memcpy(tmp, text, nb);
        memcpy(tmp + nb, ell, sizeof ell);
        pango_layout_set_text(l, tmp, -1);
        if (!lc_fits(l, w, h, flags, span)) {
            /* not even the ellipsis fits: let pango cut what is left */
            pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
            pango_layout_set_height(l, (flags & LC_ONELINE) ? -1 : (int)(h * PANGO_SCALE));
            ink_span(l, span);
        }
    }
    free(tmp);
}

int lc_clip_text = 1;

/* set_size - the layout at size points */
static void
set_size(lc_text_t *t, double size)
{
    pango_font_description_set_absolute_size(t->fd, size * LC_PT_TO_MM * PANGO_SCALE);
    pango_layout_set_font_description(t->layout, t->fd);
}

double
lc_text_box(lc_text_t *t, const char *text, double x, double y, double w, double h, double size_max,
            double size_min, unsigned flags, const char *field)
{
    PangoLayout *l = t->layout;
    PangoRectangle span;
    double size = size_max, voff = 0, hoff = 0, th, left, right;
    PangoAlignment align = PANGO_ALIGN_LEFT;

    if (!text || !*text)
        return 0;
    if (flags & LC_CENTER)
        align = PANGO_ALIGN_CENTER;
    else if (flags & LC_RIGHT)
        align = PANGO_ALIGN_RIGHT;
    pango_font_description_set_weight(t->fd, (flags & LC_BOLD) ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_alignment(l, align);
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_NONE);
    pango_layout_set_height(l, -1);
    pango_layout_set_width(l, (int)(w * PANGO_SCALE));
    pango_layout_set_text(l, text, -1);
    /* in this order, so that the end of a name is never lost while a
     * smaller size or a second line would still show it: shrink (on one
     * line for LC_ONELINE boxes), then wrap at the smallest size, then cut
     * with an ellipsis and count the cut */
    for (;;) {
        set_size(t, size);
        if (lc_fits(l, w, h, flags, &span))
            break;
        if (size <= size_min) {
            if ((flags & LC_ONELINE) && lc_fits(l, w, h, flags & ~(unsigned)LC_ONELINE, &span))
                break;
            lc_cut(l, text, w, h, flags & ~(unsigned)LC_ONELINE, &span);
            t->cut++;
            if (!t->first_cut)
                t->first_cut = field;
            log_warn("label: field %s too long for its box, cut with an ellipsis", field);
            break;
        }
        size *= 0.92;
        if (size < size_min)
            size = size_min;
    }
    th = (double)span.height / PANGO_SCALE;
    if ((flags & LC_VCENTER) && th < h)
        voff = (h - th) / 2;
    /* ink that overhangs the layout's sides (a glyph's side bearing) is
     * moved back into the box */
    left = (double)span.x / PANGO_SCALE;
    right = left + (double)span.width / PANGO_SCALE;
    if (left < 0)
        hoff = -left;
    else if (right > w)
        hoff = w - right;
    cairo_save(t->cr);
    if (lc_clip_text) {
        /* the text was fitted to the box; the clip only guards against what
         * fitting cannot prevent (a box smaller than "…"). The slack lets
         * antialiasing and hinting move an outline by a dot without a cut. */
        cairo_rectangle(t->cr, x - LC_CLIP_SLACK, y - LC_CLIP_SLACK, w + 2 * LC_CLIP_SLACK,
                        h + 2 * LC_CLIP_SLACK);
        cairo_clip(t->cr);
    }
    if (flags & LC_WHITE)
        cairo_set_source_rgb(t->cr, 1, 1, 1);
    else
        cairo_set_source_rgb(t->cr, 0, 0, 0);
    cairo_move_to(t->cr, x + hoff, y + voff - (double)span.y / PANGO_SCALE);
    pango_cairo_show_layout(t->cr, l);
    cairo_restore(t->cr);
    return th < h ? th : h;
}

/* ---- the label layout ---- */

#define MARGIN 3.0
#define QR_SIZE 25.0

/* Vertical positions in mm for a 150 mm page; scaled to the page height. */
typedef struct {
    double W, H, sy;
} geom_t;

static double
Y(const geom_t *g, double mm)
{
    return mm * g->sy;
}

static void
hrule(cairo_t *cr, const geom_t *g, double y, double width)
{
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, width);
    cairo_move_to(cr, MARGIN, y);
    cairo_line_to(cr, g->W - MARGIN, y);
    cairo_stroke(cr);
}

/* label_draw_static - what every label shares */
static void
label_draw_static(lc_text_t *t, const geom_t *g)
{
    cairo_t *cr = t->cr;
    double inner = g->W - 2 * MARGIN;
    double lx = MARGIN, lw = inner - QR_SIZE - 2;

    /* outer frame */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 0.4);
    cairo_rectangle(cr, MARGIN - 1.5, MARGIN - 1.5, g->W - 2 * MARGIN + 3, g->H - 2 * MARGIN + 3);
    cairo_stroke(cr);

    /* banner */
    cairo_rectangle(cr, MARGIN, MARGIN, inner, Y(g, 9));
    cairo_fill(cr);
    lc_text_box(t, "BƯU CHÍNH CÔNG ÍCH — HÀNH CHÍNH CÔNG", MARGIN + 1, MARGIN, inner - 2, Y(g, 9), 12, 7,
                LC_BOLD | LC_CENTER | LC_VCENTER | LC_WHITE | LC_ONELINE, "banner");

    hrule(cr, g, Y(g, 18.7), 0.3);
    hrule(cr, g, Y(g, 44.3), 0.3);
    lc_text_box(t, "NGƯỜI NHẬN", MARGIN, Y(g, 45), 40, Y(g, 4), 7.5, 6, LC_BOLD, "caption");
    hrule(cr, g, Y(g, 89.3), 0.6);
    lc_text_box(t, "NGƯỜI GỬI", MARGIN, Y(g, 90), 40, Y(g, 3.5), 6.5, 5.5, LC_BOLD, "caption");
    hrule(cr, g, Y(g, 112.6), 0.3);
    lc_text_box(t, "MÃ HỒ SƠ", lx, Y(g, 113.3), lw, Y(g, 3), 6, 5, LC_BOLD, "caption");
    lc_text_box(t, "NỘI DUNG", lx, Y(g, 121.3), lw, Y(g, 3), 6, 5, LC_BOLD, "caption");
    lc_text_box(t, "TIỀN THU HỘ (COD)", lx, Y(g, 132.3), lw, Y(g, 3), 6, 5, LC_BOLD, "caption");
    lc_text_box(t, "Quét để tra cứu", g->W - MARGIN - QR_SIZE, Y(g, 113.3) + QR_SIZE, QR_SIZE, Y(g, 3), 6, 5,
                LC_CENTER, "caption");

    /* delivery instruction, inverted */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, MARGIN, Y(g, 141.5), inner, g->H - MARGIN - Y(g, 141.5));
    cairo_fill(cr);
    lc_text_box(t, "Phát tận tay — kiểm tra CCCD/giấy ủy quyền", MARGIN + 1, Y(g, 141.5), inner - 2,
                g->H - MARGIN - Y(g, 141.5), 9, 6, LC_BOLD | LC_CENTER | LC_VCENTER | LC_WHITE | LC_ONELINE,
                "caption");
}

/* label_draw_variable - the per-label part; 0 or -1 with err */
static int
label_draw_variable(lc_text_t *t, const geom_t *g, const label_data_t *d, char *err, size_t errlen)
{
    cairo_t *cr = t->cr;
    double inner = g->W - 2 * MARGIN;
    double lx = MARGIN, lw = inner - QR_SIZE - 2;
    char grouped[64], line[512], cod[48], addr[4096], tt17[4096];
    int sign = d->receiver_signature;
    double sender_w = sign ? inner - 36 : inner;
    code128_t bc;
    qr_t q = { 0, NULL };
    double module, bw, snap = t->raster;

    /* service line; the acceptance date, not the print date */
    label_service_text(d, line, sizeof line);
    lc_text_box(t, line, MARGIN, Y(g, 12.6), inner - 41, Y(g, 5.6), 8.5, 5.5, LC_BOLD, "carrier_service");
    label_accepted_text(d, line, sizeof line);
    lc_text_box(t, line, g->W - MARGIN - 40, Y(g, 12.6), 40, Y(g, 5.6), 8, 6, LC_RIGHT | LC_ONELINE, "accepted_date");

    /* waybill: Code 128 centred with 10-module quiet zones, groups below */
    if (code128_encode(d->waybill, &bc, err, errlen) != 0)
        return -1;
    module = 0.375; /* 3 dots at 203 dpi */
    if ((bc.modules + 2 * CODE128_QUIET) * module > inner)
        module = inner / (bc.modules + 2 * CODE128_QUIET);
    bw = bc.modules * module;
    code128_draw(cr, &bc, (g->W - bw) / 2, Y(g, 20), module, Y(g, 15.5), snap);
    s10_group(d->waybill, grouped, sizeof grouped);
    lc_text_box(t, grouped, MARGIN, Y(g, 36.2), inner, Y(g, 7.5), 17, 9, LC_BOLD | LC_CENTER | LC_ONELINE, "waybill");

    /* recipient */
    /* a long name goes down to 8 pt on one line, then onto two lines */
    lc_text_box(t, d->recipient.name, MARGIN, Y(g, 48.6), inner, Y(g, 7.6), 15, 8, LC_BOLD | LC_ONELINE, "recipient.name");
    if (d->recipient.email && *d->recipient.email)
        snprintf(line, sizeof line, "ĐT: %s · %s", d->recipient.phone, d->recipient.email);
    else
        snprintf(line, sizeof line, "ĐT: %s", d->recipient.phone);
    lc_text_box(t, line, MARGIN, Y(g, 56.3), inner, Y(g, 5.6), 12, 8, LC_BOLD | LC_ONELINE, "recipient.phone");
    label_join_address(&d->recipient, addr, sizeof addr);
    label_tt17_text(d, tt17, sizeof tt17);
    if (*tt17) {
        /* the TT 17 lines take the lower half of the address box, which a
         * usual address leaves empty */
        lc_text_box(t, addr, MARGIN, Y(g, 62.2), inner, Y(g, 10.5), 11, 7, 0, "recipient.address");
        lc_text_box(t, tt17, MARGIN, Y(g, 72.8), inner, Y(g, 16.1), 8, 6, 0, "tt17");
    } else {
        lc_text_box(t, addr, MARGIN, Y(g, 62.2), inner, Y(g, 26.5), 12.5, 7, 0, "recipient.address");
    }

    /* sender, with the receiver's signature box on the right when asked for */
    {
        /* beside the box, an agency's name may need a second line */
        double name_h = sign ? 6.6 : 4.4, addr_y = 93.6 + name_h;
        lc_text_box(t, d->sender.name, MARGIN, Y(g, 93.6), sender_w, Y(g, name_h), 9, 6, LC_BOLD | LC_ONELINE,
                    "sender.name");
        label_join_address(&d->sender, addr, sizeof addr);
        lc_text_box(t, addr, MARGIN, Y(g, addr_y), sender_w, Y(g, 107.6 - addr_y), 8, 5.5, 0, "sender.address");
    }
    if (d->sender.email && *d->sender.email)
        snprintf(line, sizeof line, "ĐT: %s · %s", d->sender.phone, d->sender.email);
    else
        snprintf(line, sizeof line, "ĐT: %s", d->sender.phone);
    lc_text_box(t, line, MARGIN, Y(g, 107.8), sender_w, Y(g, 4.2), 8, 6, LC_ONELINE, "sender.phone");
    if (sign) {
        double bx = g->W - MARGIN - 34;
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_line_width(cr, 0.3);
        cairo_rectangle(cr, bx, Y(g, 90.6), 34, Y(g, 21.2));
        cairo_stroke(cr);
        lc_text_box(t, "NGƯỜI NHẬN KÝ", bx + 1, Y(g, 91), 32, Y(g, 3.2), 6.5, 5.5, LC_BOLD | LC_CENTER | LC_ONELINE,
                    "caption");
        lc_text_box(t, "(ghi rõ họ tên, ngày nhận)", bx + 1, Y(g, 94), 32, Y(g, 3), 5.5, 5, LC_CENTER | LC_ONELINE,
                    "caption");
    }

    /* bottom: dossier, content, COD on the left; QR on the right */
    lc_text_box(t, d->dossier_code, lx, Y(g, 116.3), lw, Y(g, 4.8), 10, 6, LC_BOLD | LC_ONELINE, "dossier_code");
    lc_text_box(t, d->result_summary, lx, Y(g, 124.3), lw, Y(g, 7.8), 8.5, 5.5, 0, "result_summary");
    label_format_cod(d->cod_amount, cod, sizeof cod);
    lc_text_box(t, cod, lx, Y(g, 135.3), lw, Y(g, 6), 14, 8, LC_BOLD | LC_ONELINE, "cod_amount");

    if (qr_encode(d->tracking_url, &q, err, errlen) != 0)
        return -1;
    qr_draw(cr, &q, g->W - MARGIN - QR_SIZE, Y(g, 113.3), QR_SIZE, (int)snap);
    qr_free(&q);
    return 0;
}

/* ---- output plumbing ---- */

static cairo_status_t
write_buf(void *closure, const unsigned char *data, unsigned int length)
{
    return buf_append(closure, data, length) == BUF_OK ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static void
geom_of(const label_page_t *page, geom_t *g)
{
    g->W = page->width_mm;
    g->H = page->height_mm;
    g->sy = page->height_mm / 150.0;
}

static int
cairo_failed(cairo_status_t st, const char *what, char *err, size_t errlen)
{
    if (st == CAIRO_STATUS_SUCCESS)
        return 0;
    snprintf(err, errlen, "%s failed: %s", what,
             st == CAIRO_STATUS_WRITE_ERROR ? "output too big" : cairo_status_to_string(st));
    return -1;
}

/* render_single - one label drawn straight onto surface (PNG, SVG) */
static int
render_single(cairo_surface_t *surface, double scale, int raster, const label_page_t *page, const label_data_t *d,
              label_result_t *res, char *err, size_t errlen)
{
    cairo_t *cr = cairo_create(surface);
    lc_text_t t;
    geom_t g;
    int rc = -1;

    geom_of(page, &g);
    if (raster) {
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_paint(cr);
    }
    cairo_scale(cr, scale, scale);
    if (lc_text_init(&t, cr, raster) != 0) {
        snprintf(err, errlen, "cannot set up text layout (pango)");
        goto out;
    }
    label_draw_static(&t, &g);
    rc = label_draw_variable(&t, &g, d, err, errlen);
    label_result_add(res, (size_t)t.cut, t.first_cut);
    lc_text_cleanup(&t);
    if (rc == 0)
        rc = cairo_failed(cairo_status(cr), "drawing the label", err, errlen);
out:
    cairo_destroy(cr);
    return rc;
}

static int
render_png(const label_data_t *items, size_t n, const label_page_t *page, buf_t *out, label_result_t *res, char *err,
           size_t errlen)
{
    int wpx = (int)lround(page->width_mm / 25.4 * page->dpi);
    int hpx = (int)lround(page->height_mm / 25.4 * page->dpi);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, wpx, hpx);
    int rc;

    (void)n;
    rc = render_single(s, lc_mm_scale(page->dpi), 1, page, &items[0], res, err, errlen);
    if (rc == 0)
        rc = cairo_failed(cairo_surface_write_to_png_stream(s, write_buf, out), "writing the PNG", err, errlen);
    cairo_surface_destroy(s);
    return rc;
}

/* svg_attr - the value of attribute name (e.g. " width=\"") inside the
 * root element [tag, end): its first character and its length, or NULL */
static const char *
svg_attr(const char *tag, const char *end, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    const char *p, *q;

    for (p = tag; p + nl < end; p++) {
        if (memcmp(p, name, nl) != 0)
            continue;
        p += nl;
        q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            return NULL;
        *len = (size_t)(q - p);
        return p;
    }
    return NULL;
}

/* svg_in_mm - copy the SVG from cairo into out with the root element's
 * width and height in true millimetres. User space stays in points (the
 * viewBox), which is how the layout draws; cairo can only write the same
 * numbers for both, so with its unit set to mm it would declare a
 * 100 x 150 mm label as 283.46 x 425.20 mm. */
static int
svg_in_mm(const buf_t *svg, const label_page_t *page, buf_t *out, char *err, size_t errlen)
{
    const char *data = svg->data, *tag, *end, *wv, *hv;
    size_t wl = 0, hl = 0;
    char wmm[32], hmm[32];

    tag = svg->len ? strstr(data, "<svg ") : NULL;
    end = tag ? strchr(tag, '>') : NULL;
    wv = end ? svg_attr(tag, end, " width=\"", &wl) : NULL;
    hv = end ? svg_attr(tag, end, " height=\"", &hl) : NULL;
    if (!wv || !hv || hv < wv) {
        snprintf(err, errlen, "writing the SVG failed: cairo wrote no width and height");
        return -1;
    }
    snprintf(wmm, sizeof wmm, "%gmm", page->width_mm);
    snprintf(hmm, sizeof hmm, "%gmm", page->height_mm);
    if (buf_append(out, data, (size_t)(wv - data)) != BUF_OK || buf_append(out, wmm, strlen(wmm)) != BUF_OK ||
        buf_append(out, wv + wl, (size_t)(hv - (wv + wl))) != BUF_OK || buf_append(out, hmm, strlen(hmm)) != BUF_OK ||
        buf_append(out, hv + hl, svg->len - (size_t)(hv + hl - data)) != BUF_OK) {
        snprintf(err, errlen, "writing the SVG failed: output too big");
        return -1;
    }
    return 0;
}

static int
render_svg(const label_data_t *items, size_t n, const label_page_t *page, buf_t *out, label_result_t *res, char *err,
           size_t errlen)
{
    buf_t svg;
    cairo_surface_t *s;
    int rc;

    (void)n;
    buf_init(&svg, 0);
    s = cairo_svg_surface_create_for_stream(write_buf, &svg, page->width_mm / LC_PT_TO_MM,
                                            page->height_mm / LC_PT_TO_MM);
    cairo_svg_surface_set_document_unit(s, CAIRO_SVG_UNIT_PT);
    rc = render_single(s, 1 / LC_PT_TO_MM, 0, page, &items[0], res, err, errlen);
    cairo_surface_finish(s);
    if (rc == 0)
        rc = cairo_failed(cairo_surface_status(s), "writing the SVG", err, errlen);
    cairo_surface_destroy(s);
    if (rc == 0)
        rc = svg_in_mm(&svg, page, out, err, errlen); /* buf_t data is NUL-terminated */
    buf_free(&svg);
    return rc;
}

/* ---- PDF batches: workers draw pages into recording surfaces ---- */

#define WINDOW 128 /* pages the workers may run ahead of the writer */

typedef struct {
    const label_data_t *items;
    size_t n;
    geom_t g;
    double wpt, hpt;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next;              /* next label to take */
    size_t written;           /* pages written by the caller */
    cairo_surface_t **pages;  /* per label, NULL until drawn */
    int failed;
    char err[320];
    label_result_t *res;      /* under mu */
} batch_t;

/* draw_page - the variable part of label i into a new recording surface */
static cairo_surface_t *
draw_page(batch_t *b, lc_text_t *t, size_t i, char *err, size_t errlen)
{
    cairo_rectangle_t ext = { 0, 0, b->wpt, b->hpt };
    cairo_surface_t *rec = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &ext);
    cairo_t *cr = cairo_create(rec);
    int cut_before = t->cut;

    cairo_scale(cr, 1 / LC_PT_TO_MM, 1 / LC_PT_TO_MM);
    lc_text_use(t, cr);
    t->first_cut = NULL;
    if (label_draw_variable(t, &b->g, &b->items[i], err, errlen) != 0 ||
        cairo_failed(cairo_status(cr), "drawing a label", err, errlen) != 0) {
        cairo_destroy(cr);
        cairo_surface_destroy(rec);
        return NULL;
    }
    cairo_destroy(cr);
    pthread_mutex_lock(&b->mu);
    label_result_add(b->res, (size_t)(t->cut - cut_before), t->first_cut);
    pthread_mutex_unlock(&b->mu);
    return rec;
}

static void *
worker(void *arg)
{
    batch_t *b = arg;
    cairo_surface_t *scratch = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, NULL);
    cairo_t *cr0 = cairo_create(scratch);
    lc_text_t t;
    char err[256];

    cairo_scale(cr0, 1 / LC_PT_TO_MM, 1 / LC_PT_TO_MM);
    if (lc_text_init(&t, cr0, 0) != 0) {
        pthread_mutex_lock(&b->mu);
        b->failed = 1;
        snprintf(b->err, sizeof b->err, "cannot set up text layout (pango)");
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
        goto out;
    }
    for (;;) {
        size_t i;
        cairo_surface_t *page;

        pthread_mutex_lock(&b->mu);
        while (!b->failed && b->next < b->n && b->next >= b->written + WINDOW)
            pthread_cond_wait(&b->cv, &b->mu);
        if (b->failed || b->next >= b->n) {
            pthread_mutex_unlock(&b->mu);
            break;
        }
        i = b->next++;
        pthread_mutex_unlock(&b->mu);

        page = draw_page(b, &t, i, err, sizeof err);
        pthread_mutex_lock(&b->mu);
        if (!page && !b->failed) {
            b->failed = 1;
            snprintf(b->err, sizeof b->err, "label %zu: %s", i + 1, err);
        }
        b->pages[i] = page;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
    }
    /* keep this thread's fonts alive until the writer has used every page */
    pthread_mutex_lock(&b->mu);
    while (!b->failed && b->written < b->n)
        pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
    lc_text_cleanup(&t);
out:
    cairo_destroy(cr0);
    cairo_surface_destroy(scratch);
    return NULL;
}

static int
ncores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* How labels sit on the PDF's pages: one per page (pdf), or a grid of
 * cols x rows cells from (x0, y0) mm on a bigger sheet (pdf-a4). */
#define SHEET_MAX_CELLS 4

typedef struct {
    double w_mm, h_mm; /* the PDF page */
    int cols, rows;    /* cols * rows <= SHEET_MAX_CELLS */
    double x0, y0;     /* top left of the first cell, mm */
    int cut_marks;
} sheet_t;

/* draw_cut_marks - dashed grey lines along the inner cell edges, through
 * the labels' white borders (outside their frames), to cut along */
static void
draw_cut_marks(cairo_t *cr, const sheet_t *sh, const label_page_t *page)
{
    static const double dash[] = { 2.0, 1.5 };
    int k;

    cairo_save(cr);
    cairo_scale(cr, 1 / LC_PT_TO_MM, 1 / LC_PT_TO_MM);
    cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
    cairo_set_line_width(cr, 0.15);
    cairo_set_dash(cr, dash, 2, 0);
    for (k = 1; k < sh->cols; k++) {
        cairo_move_to(cr, sh->x0 + k * page->width_mm, 0);
        cairo_line_to(cr, sh->x0 + k * page->width_mm, sh->h_mm);
    }
    for (k = 1; k < sh->rows; k++) {
        cairo_move_to(cr, 0, sh->y0 + k * page->height_mm);
        cairo_line_to(cr, sh->w_mm, sh->y0 + k * page->height_mm);
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

static int
render_pdf_sheets(const label_data_t *items, size_t n, const label_page_t *page, const sheet_t *sh, buf_t *out,
                  label_result_t *res, char *err, size_t errlen)
{
    batch_t b;
    size_t per_sheet = (size_t)(sh->cols * sh->rows);
    pthread_t th[8];
    int nth = 0, want, k, rc = -1;
    /* the shared part, one copy per cell of a sheet: cairo writes a form
     * used twice on one page with a duplicate key in the page's resources
     * (qpdf warns), so each cell paints a copy of its own */
    cairo_surface_t *pdf = NULL, *stat[SHEET_MAX_CELLS] = { NULL };
    cairo_t *cr = NULL, *scr = NULL;
    cairo_status_t st_status;
    cairo_rectangle_t ext;
    lc_text_t st;
    size_t i;

    memset(&b, 0, sizeof b);
    b.items = items;
    b.n = n;
    b.res = res;
    geom_of(page, &b.g);
    b.wpt = page->width_mm / LC_PT_TO_MM;
    b.hpt = page->height_mm / LC_PT_TO_MM;
    b.pages = calloc(n, sizeof *b.pages);
    if (!b.pages) {
        snprintf(err, errlen, "out of memory for %zu pages", n);
        return -1;
    }
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);

    pdf = cairo_pdf_surface_create_for_stream(write_buf, out, sh->w_mm / LC_PT_TO_MM, sh->h_mm / LC_PT_TO_MM);
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_TITLE, "Phiếu gửi bưu chính công ích");
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_CREATOR, "bcci-gateway");
    cr = cairo_create(pdf);

    /* the shared part, once */
    ext.x = 0;
    ext.y = 0;
    ext.width = b.wpt;
    ext.height = b.hpt;
    stat[0] = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &ext);
    scr = cairo_create(stat[0]);
    cairo_scale(scr, 1 / LC_PT_TO_MM, 1 / LC_PT_TO_MM);
    if (lc_text_init(&st, scr, 0) != 0) {
        snprintf(err, errlen, "cannot set up text layout (pango)");
        goto out;
    }
    label_draw_static(&st, &b.g);
    st_status = cairo_status(scr);
    for (k = 1; k < (int)per_sheet && st_status == CAIRO_STATUS_SUCCESS; k++) {
        cairo_t *c2;
        stat[k] = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &ext);
        c2 = cairo_create(stat[k]);
        cairo_scale(c2, 1 / LC_PT_TO_MM, 1 / LC_PT_TO_MM);
        lc_text_use(&st, c2);
        label_draw_static(&st, &b.g);
        st_status = cairo_status(c2);
        cairo_destroy(c2);
    }
    lc_text_use(&st, scr);
    if (cairo_failed(st_status, "drawing the label frame", err, errlen) != 0) {
        lc_text_cleanup(&st);
        goto out;
    }

    want = n >= 16 ? ncores() : 0;
    for (k = 0; k < want; k++) {
        if (pthread_create(&th[nth], NULL, worker, &b) == 0)
            nth++;
    }

    for (i = 0; i < n; i++) {
        cairo_surface_t *pg;

        if (nth == 0) {
            char e[256];
            pg = draw_page(&b, &st, i, e, sizeof e);
            if (!pg) {
                b.failed = 1;
                snprintf(b.err, sizeof b.err, "label %zu: %s", i + 1, e);
                break;
            }
        } else {
            pthread_mutex_lock(&b.mu);
            while (!b.failed && !b.pages[i])
                pthread_cond_wait(&b.cv, &b.mu);
            pg = b.pages[i];
            b.pages[i] = NULL;
            pthread_mutex_unlock(&b.mu);
            if (!pg)
                break;
        }
        {
            size_t cell = i % per_sheet;
            size_t col = cell % (size_t)sh->cols, row = cell / (size_t)sh->cols; /* whole cells */
            double ox = (sh->x0 + (double)col * page->width_mm) / LC_PT_TO_MM;
            double oy = (sh->y0 + (double)row * page->height_mm) / LC_PT_TO_MM;

            if (cell == 0 && sh->cut_marks)
                draw_cut_marks(cr, sh, page);
            cairo_set_source_surface(cr, stat[cell], ox, oy);
            cairo_paint(cr);
            cairo_set_source_surface(cr, pg, ox, oy);
            cairo_paint(cr);
            if (cell == per_sheet - 1 || i == n - 1)
                cairo_show_page(cr);
        }
        cairo_surface_destroy(pg);
        pthread_mutex_lock(&b.mu);
        b.written = i + 1;
        if (cairo_status(cr) != CAIRO_STATUS_SUCCESS && !b.failed) {
            b.failed = 1;
            snprintf(b.err, sizeof b.err, "writing the PDF failed: %s",
                     cairo_status(cr) == CAIRO_STATUS_WRITE_ERROR ? "output too big"
                                                                  : cairo_status_to_string(cairo_status(cr)));
        }
        pthread_cond_broadcast(&b.cv);
        pthread_mutex_unlock(&b.mu);
        if (b.failed)
            break;
    }
    if (nth) {
        pthread_mutex_lock(&b.mu);
        if (b.written < n)
            b.failed = 1;
        pthread_cond_broadcast(&b.cv);
        pthread_mutex_unlock(&b.mu);
        for (k = 0; k < nth; k++)
            pthread_join(th[k], NULL);
    }
    lc_text_cleanup(&st);
    cairo_destroy(cr);
    cr = NULL;
    cairo_surface_finish(pdf);
    if (b.failed) {
        snprintf(err, errlen, "%s", b.err[0] ? b.err : "rendering stopped");
        goto out;
    }
    rc = cairo_failed(cairo_surface_status(pdf), "writing the PDF", err, errlen);
out:
    for (i = 0; i < n; i++)
        if (b.pages[i])
            cairo_surface_destroy(b.pages[i]);
    free(b.pages);
    if (scr)
        cairo_destroy(scr);
    for (k = 0; k < SHEET_MAX_CELLS; k++)
        if (stat[k])
            cairo_surface_destroy(stat[k]);
    if (cr)
        cairo_destroy(cr);
    if (pdf)
        cairo_surface_destroy(pdf);
    pthread_cond_destroy(&b.cv);
    pthread_mutex_destroy(&b.mu);
    return rc;
}

static int
render_pdf(const label_data_t *items, size_t n, const label_page_t *page, buf_t *out, label_result_t *res, char *err,
           size_t errlen)
{
    sheet_t one = { page->width_mm, page->height_mm, 1, 1, 0, 0, 0 };

    return render_pdf_sheets(items, n, page, &one, out, res, err, errlen);
}

/* render_pdf_a4 - four A6 labels (2 x 2, 105 x 148 mm each) per A4 page,
 * true to size, centred vertically in the 1 mm the sheet has to spare,
 * with cut marks along the inner edges; the last page may hold fewer */
static int
render_pdf_a4(const label_data_t *items, size_t n, const label_page_t *page, buf_t *out, label_result_t *res,
              char *err, size_t errlen)
{
    sheet_t a4 = { 210.0, 297.0, 2, 2, 0, 0, 1 };

    a4.x0 = (a4.w_mm - a4.cols * page->width_mm) / 2;
    a4.y0 = (a4.h_mm - a4.rows * page->height_mm) / 2;
    if (a4.x0 < 0 || a4.y0 < 0) {
        snprintf(err, errlen, "format pdf-a4 holds A6 labels; a %s label does not fit four to a page", page->size_name);
        return -1;
    }
    return render_pdf_sheets(items, n, page, &a4, out, res, err, errlen);
}

const label_format_ops_t label_format_pdf_a4 = {
    .name = "pdf-a4",
    .content_type = "application/pdf",
    .caps = LABEL_CAN_BATCH | LABEL_A6_ONLY,
    .render = render_pdf_a4,
};

const label_format_ops_t label_format_pdf = {
    .name = "pdf",
    .content_type = "application/pdf",
    .caps = LABEL_CAN_BATCH,
    .render = render_pdf,
};

const label_format_ops_t label_format_png = {
    .name = "png",
    .content_type = "image/png",
    .caps = 0,
    .render = render_png,
};

const label_format_ops_t label_format_svg = {
    .name = "svg",
    .content_type = "image/svg+xml",
    .caps = 0,
    .render = render_svg,
};
