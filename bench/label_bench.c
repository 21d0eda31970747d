/*
 * label_bench - throughput of the label renderers beside same-run baselines
 *
 *   label_pdf_batch   1,000 labels in one PDF (label_render_batch)
 *   label_zpl_stream  1,000 labels in one ZPL stream, text drawn as bitmaps (zpl)
 *   label_zpl_font    the same in printer fonts (zpl-font)
 *   baseline          plain cairo drawing the same page's boxes, lines,
 *                     bars and QR modules (no text layout) into a
 *                     1,000-page PDF, one thread
 *   qr_encode         libqrencode codes per second (labels/qr.c)
 *
 * Prints one line per measure; ratios compare with the baseline. Usage:
 * label_bench [labels]   (default 1000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cairo-pdf.h>
#include <cairo.h>

#include "labels/code128.h"
#include "labels/label.h"
#include "labels/qr.h"
#include "domain/s10.h"
#include "log.h"

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    char waybill[16];
    char url[96];
} ids_t;

static void
fill(label_data_t *d, ids_t *ids, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        s10_format("RR", 30000000UL + i, "VN", ids[i].waybill, sizeof ids[i].waybill);
        snprintf(ids[i].url, sizeof ids[i].url, "https://hcc.example.gov.vn/t/%s?k=Ab3dEfGh1jKl%04zu",
                 ids[i].waybill, i % 10000);
        memset(&d[i], 0, sizeof d[i]);
        d[i].waybill = ids[i].waybill;
        d[i].tracking_url = ids[i].url;
        d[i].dossier_code = "000.00.31.H23-231124-0001";
        d[i].carrier_service = "VNPost — Chuyển phát thường (CTN001)";
        d[i].result_summary = "Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất";
        d[i].date = "24/11/2025";
        d[i].sender.name = "Trung tâm Phục vụ hành chính công tỉnh Thái Nguyên";
        d[i].sender.phone = "0208 3855 666";
        d[i].sender.address = "Số 1 đường Hoàng Văn Thụ";
        d[i].sender.commune = "Phường Phan Đình Phùng";
        d[i].sender.province = "Tỉnh Thái Nguyên";
        d[i].recipient.name = i % 2 ? "Nguyễn Thị Ánh Tuyết" : "Trần Đức Thắng";
        d[i].recipient.phone = "0912 345 678";
        d[i].recipient.address = "Số 12 ngõ 34 phố Hoàng Hoa Thám";
        d[i].recipient.commune = "Phường Ngọc Hà";
        d[i].recipient.province = "Thành phố Hà Nội";
        d[i].cod_amount = (long long)(i % 5) * 25000;
    }
}

static cairo_status_t
sink(void *closure, const unsigned char *data, unsigned int length)
{
    (void)data;
    *(size_t *)closure += length;
    return CAIRO_STATUS_SUCCESS;
}

/* baseline - the label's boxes, rules, bars and QR modules, no text */
static double
baseline(const ids_t *ids, size_t n)
{
    const double k = 72.0 / 25.4;
    size_t bytes = 0, i;
    double t0 = now_s();
    cairo_surface_t *pdf = cairo_pdf_surface_create_for_stream(sink, &bytes, 100 * k, 150 * k);
    cairo_t *cr = cairo_create(pdf);
    char err[128];

    cairo_scale(cr, k, k);
    for (i = 0; i < n; i++) {
        static const double rules[] = { 18.7, 44.3, 89.3, 112.6 };
        code128_t bc;
        qr_t q;
        size_t r;

        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_line_width(cr, 0.4);
        cairo_rectangle(cr, 1.5, 1.5, 97, 147);
        cairo_stroke(cr);
        cairo_rectangle(cr, 3, 3, 94, 9);
        cairo_fill(cr);
        for (r = 0; r < sizeof rules / sizeof rules[0]; r++) {
            cairo_move_to(cr, 3, rules[r]);
            cairo_line_to(cr, 97, rules[r]);
        }
        cairo_stroke(cr);
        cairo_rectangle(cr, 3, 141.5, 94, 5.5);
        cairo_fill(cr);
        if (code128_encode(ids[i].waybill, &bc, err, sizeof err) == 0)
            code128_draw(cr, &bc, 20, 20, 0.375, 15.5, 0);
        if (qr_encode(ids[i].url, &q, err, sizeof err) == 0) {
            qr_draw(cr, &q, 72, 113.3, 25, 0);
            qr_free(&q);
        }
        cairo_show_page(cr);
    }
    cairo_destroy(cr);
    cairo_surface_finish(pdf);
    cairo_surface_destroy(pdf);
    return now_s() - t0;
}

static int
render(const label_data_t *d, size_t n, const char *fmt, size_t *bytes, double *secs)
{
    label_options_t o = { fmt, NULL, 0 };
    char err[256];
    buf_t b;
    double t0;
    int rc;

    buf_init(&b, 0);
    t0 = now_s();
    rc = label_render_batch(d, n, &o, &b, err, sizeof err);
    *secs = now_s() - t0;
    *bytes = b.len;
    buf_free(&b);
    if (rc != 0)
        fprintf(stderr, "label_bench: %s: %s\n", fmt, err);
    return rc;
}

int
main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    label_data_t *d;
    ids_t *ids;
    double pdf_s, zpl_s, zfont_s = 0, base_s, qr_s, t;
    size_t bytes, zbytes = 0, zfbytes = 0, i, nqr = 0;
    int rep, zreps = 20;
    char err[128];

    log_init("label_bench");
    if (n == 0 || n > LABEL_MAX_BATCH) {
        fprintf(stderr, "usage: label_bench [labels 1..%d]\n", LABEL_MAX_BATCH);
        return 2;
    }
    d = calloc(n, sizeof *d);
    ids = calloc(n, sizeof *ids);
    if (!d || !ids) {
        fprintf(stderr, "label_bench: out of memory\n");
        return 1;
    }
    fill(d, ids, n);

    /* warm up fonts and caches, as a long-running bccid would be */
    if (render(d, 20, "pdf", &bytes, &t) != 0)
        return 1;

    base_s = baseline(ids, n);
    if (render(d, n, "pdf", &bytes, &pdf_s) != 0)
        return 1;
    if (render(d, n, "zpl", &zbytes, &zpl_s) != 0)
        return 1;
    /* printer-font ZPL is plain string formatting: repeat it for a measurable time */
    for (rep = 0; rep < zreps; rep++) {
        if (render(d, n, "zpl-font", &zfbytes, &t) != 0)
            return 1;
        zfont_s += t;
    }
    zfont_s /= zreps;

    t = now_s();
    for (i = 0; now_s() - t < 1.0 || i < 1000; i++) {
        qr_t q;
        if (qr_encode(ids[i % n].url, &q, err, sizeof err) == 0) {
            nqr++;
            qr_free(&q);
        }
    }
    qr_s = now_s() - t;

    printf("label_pdf_batch: %zu labels in %.2f s = %.0f labels/s, %.1f KiB/label (baseline cairo no-text: %.0f/s, "
           "ratio %.2f)\n",
           n, pdf_s, n / pdf_s, bytes / 1024.0 / n, n / base_s, (n / pdf_s) / (n / base_s));
    printf("label_zpl_stream: %zu labels in %.2f s = %.0f labels/s, %.1f KiB/label, text as bitmaps (ratio to "
           "baseline %.2f)\n",
           n, zpl_s, n / zpl_s, zbytes / 1024.0 / n, (n / zpl_s) / (n / base_s));
    printf("label_zpl_font: %zu labels in %.4f s = %.0f labels/s, %.2f KiB/label, text in printer fonts (ratio to "
           "baseline %.1f)\n",
           n, zfont_s, n / zfont_s, zfbytes / 1024.0 / n, (n / zfont_s) / (n / base_s));
    printf("baseline_cairo_notext: %zu pages in %.2f s = %.0f pages/s\n", n, base_s, n / base_s);
    printf("qr_encode: %zu codes in %.2f s = %.0f codes/s\n", nqr, qr_s, nqr / qr_s);
    free(d);
    free(ids);
    return 0;
}
