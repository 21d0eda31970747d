/*
 * label_text_fuzz - libFuzzer target for the label text path (labels/): NFC normalisation,
 * then the text box that shrinks, wraps (pango shaping) and cuts with an ellipsis
 * (lc_text_box, labels/label_cairo.c), and the printer-font ZPL label whose text is
 * escaped and counted in characters (label_render "zpl-font", labels/label_zpl.c)
 *
 * Input: one byte choosing the rasterisation (vector, gray, 1-bit), the flags and the
 * box size, then the text. Text that is not valid UTF-8 must be refused by label_nfc
 * (as the label front refuses it); valid text must be drawn in any box without a
 * crash and with a drawn height that is a finite number no larger than the box. The
 * same text as the recipient's name, address and note of a zpl-font label must render
 * or be refused with a message, and never give an empty output on success.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "labels/label.h"
#include "labels/label_cairo.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TEXT 2048

/* widths and heights of boxes the label layout uses, in mm (the smallest is a caption) */
static const double box_w[4] = { 12.0, 40.0, 59.0, 96.0 };
static const double box_h[4] = { 3.0, 5.6, 9.0, 24.0 };

static void
text_box(uint8_t sel, const char *text)
{
    static const int rasters[3] = { LC_VECTOR, LC_GRAY, LC_MONO };
    static const unsigned flag_sets[4] = { LC_LEFT, LC_CENTER | LC_BOLD, LC_RIGHT | LC_VCENTER, LC_ONELINE };
    cairo_surface_t *s = cairo_image_surface_create((sel & 3) == 2 ? CAIRO_FORMAT_A1 : CAIRO_FORMAT_A8, 400, 300);
    cairo_t *cr = cairo_create(s);
    lc_text_t t;
    double w = box_w[(sel >> 2) & 3], h = box_h[(sel >> 4) & 3], drawn;

    cairo_scale(cr, lc_mm_scale(96), lc_mm_scale(96));
    if (lc_text_init(&t, cr, rasters[(sel & 3) % 3]) == 0) {
        drawn = lc_text_box(&t, text, 1.0, 1.0, w, h, 12.0, 5.0, flag_sets[(sel >> 6) & 3], "fuzz");
        /* the drawn height is what the box took: never more than the box (plus the clip's slack) */
        if (!isfinite(drawn) || drawn < 0 || drawn > h + LC_CLIP_SLACK + 0.01)
            abort();
        if (t.cut && !t.first_cut)
            abort();
        lc_text_cleanup(&t);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(s);
}

static void
zpl_font_label(const char *text)
{
    label_data_t d;
    label_options_t opt = { "zpl-font", NULL, 203 };
    label_result_t res;
    buf_t out;
    char err[256] = "";

    memset(&d, 0, sizeof d);
    d.waybill = "RR000000014VN";
    d.dossier_code = "000.00.31.H23-231124-0001";
    d.tracking_url = "https://hcc.example.gov.vn/t/RR000000014VN?k=el9fYXbI36vwvt6P";
    d.carrier_service = "VNPost — Chuyển phát thường (CTN001)";
    d.result_summary = text;
    d.date = "25/11/2025";
    d.sender.name = "Trung tâm Phục vụ hành chính công tỉnh Thái Nguyên";
    d.sender.phone = "0208 3855 666";
    d.sender.address = "Số 1 đường Hoàng Văn Thụ";
    d.recipient.name = text;
    d.recipient.phone = "0912 345 678";
    d.recipient.address = text;
    d.note = text;
    buf_init(&out, 4 * 1024 * 1024);
    memset(&res, 0, sizeof res);
    if (label_render(&d, 1, &opt, &out, &res, err, sizeof err) == 0) {
        if (out.len == 0)
            abort();
    } else if (!err[0]) {
        abort();
    }
    buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    char *raw, *nfc;

    if (!quiet) { /* a cut box logs a warning; thousands a second would drown the fuzzer's output */
        log_set_level(LOG_ERROR);
        quiet = 1;
    }
    if (size < 1 || size > MAX_TEXT + 1)
        return 0;
    raw = malloc(size);
    if (!raw)
        return 0;
    memcpy(raw, data + 1, size - 1);
    raw[size - 1] = '\0';
    if (memchr(data + 1, '\0', size - 1)) { /* C strings: a NUL ends the text, as it would at the API */
        free(raw);
        return 0;
    }
    nfc = label_nfc(raw);
    if (nfc) {
        text_box(data[0], nfc);
        zpl_font_label(raw);
    }
    free(nfc);
    free(raw);
    return 0;
}
