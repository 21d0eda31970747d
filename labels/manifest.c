/*
 * manifest - biên bản giao nhận as an A4 PDF (see manifest.h)
 *
 * Page layout (mm): header with title, agency, manifest id, date, page
 * number and the QR (every page, so a loose page still identifies its
 * manifest); the column titles; ROW_H mm per row; on the last page the
 * totals and the signature blocks. When the last page has no room left for
 * them, they go on a page of their own (header repeated).
 */
#include "labels/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>

#include "labels/label.h"
#include "labels/label_cairo.h"
#include "labels/qr.h"

#define PAGE_W 210.0
#define PAGE_H 297.0
#define M 15.0
#define TABLE_Y 64.0
#define HEAD_H 9.0
#define ROW_H 7.0
#define BOTTOM (PAGE_H - 15.0)
#define PAGE_TOTAL_H 7.0 /* the page's own totals, under its rows */
#define SIGN_H 92.0      /* grand totals, statement, signature blocks */
#define NCOLS 7
#define COL_DOCS 5

/* Column widths in mm without and with the documents column; both add up
 * to the table's width, PAGE_W - 2 M = 180 mm. */
static const struct {
    const char *title;
    const char *field; /* for the log: English, no personal data */
    double w, w_docs;
    unsigned align;
} cols[NCOLS] = {
    { "STT", "row number", 10, 10, LC_CENTER },
    { "Số hiệu bưu gửi", "waybill", 32, 32, LC_LEFT },
    { "Mã hồ sơ", "dossier_code", 44, 40, LC_LEFT },
    { "Người nhận", "recipient_name", 45, 40, LC_LEFT },
    { "Xã/phường", "commune", 31, 28, LC_LEFT },
    { "Số tài liệu", "documents", 0, 12, LC_CENTER },
    { "Tiền thu hộ (đ)", "cod_amount", 18, 18, LC_RIGHT },
};

static double
col_w(int c, int docs)
{
    return docs ? cols[c].w_docs : cols[c].w;
}

/* group_dong - 1234567 -> "1.234.567" */
static void
group_dong(long long amount, char *out, size_t outlen)
{
    char digits[32];
    unsigned long long v = amount < 0 ? 0ULL - (unsigned long long)amount : (unsigned long long)amount;
    size_t n, i, j = 0;

    n = (size_t)snprintf(digits, sizeof digits, "%llu", v);
    if (amount < 0 && j + 1 < outlen)
        out[j++] = '-';
    for (i = 0; i < n && j + 2 < outlen; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[j++] = '.';
        out[j++] = digits[i];
    }
    out[j] = '\0';
}

typedef struct {
    manifest_data_t m;       /* NFC copies */
    manifest_item_t *items;  /* NFC copies */
    char **owned;            /* every copy, to free */
    size_t nowned;
} norm_t;

static int
nfc_into(norm_t *nm, const char **field, const char *name, size_t row, char *err, size_t errlen)
{
    char *s = label_nfc(*field);

    if (!s) {
        if (row)
            snprintf(err, errlen, "manifest row %zu: %s is not valid UTF-8; send UTF-8 text", row, name);
        else
            snprintf(err, errlen, "manifest %s is not valid UTF-8; send UTF-8 text", name);
        return -1;
    }
    nm->owned[nm->nowned++] = s;
    *field = s;
    return 0;
}

static void
norm_free(norm_t *nm)
{
    size_t i;

    if (nm->owned)
        for (i = 0; i < nm->nowned; i++)
            free(nm->owned[i]);
    free(nm->owned);
    free(nm->items);
    memset(nm, 0, sizeof *nm);
}

static int
norm_init(norm_t *nm, const manifest_data_t *m, char *err, size_t errlen)
{
    size_t i;

    memset(nm, 0, sizeof *nm);
    nm->m = *m;
    nm->items = calloc(m->n, sizeof *nm->items);
    nm->owned = calloc(9 + 4 * m->n, sizeof *nm->owned);
    if (!nm->items || !nm->owned) {
        snprintf(err, errlen, "out of memory for %zu manifest rows", m->n);
        return -1;
    }
    if (nfc_into(nm, &nm->m.manifest_id, "manifest_id", 0, err, errlen) ||
        nfc_into(nm, &nm->m.agency_name, "agency_name", 0, err, errlen) ||
        nfc_into(nm, &nm->m.carrier_name, "carrier_name", 0, err, errlen) ||
        nfc_into(nm, &nm->m.date, "date", 0, err, errlen) ||
        nfc_into(nm, &nm->m.qr_text, "qr_text", 0, err, errlen) ||
        nfc_into(nm, &nm->m.handover_time, "handover_time", 0, err, errlen) ||
        nfc_into(nm, &nm->m.handover_place, "handover_place", 0, err, errlen) ||
        nfc_into(nm, &nm->m.agency_staff, "agency_staff", 0, err, errlen) ||
        nfc_into(nm, &nm->m.carrier_staff, "carrier_staff", 0, err, errlen))
        return -1;
    for (i = 0; i < m->n; i++) {
        manifest_item_t *it = &nm->items[i];
        *it = m->items[i];
        if (nfc_into(nm, &it->waybill, "waybill", i + 1, err, errlen) ||
            nfc_into(nm, &it->dossier_code, "dossier_code", i + 1, err, errlen) ||
            nfc_into(nm, &it->recipient_name, "recipient_name", i + 1, err, errlen) ||
            nfc_into(nm, &it->commune, "commune", i + 1, err, errlen))
            return -1;
    }
    nm->m.items = nm->items;
    return 0;
}

/* The dotted line a person fills in by hand where a value is not known. */
static const char DOTS[] = "……………………………………";

static void
draw_header(lc_text_t *t, const manifest_data_t *m, const qr_t *q, int page, int pages, int docs)
{
    cairo_t *cr = t->cr;
    char line[1024];
    double x, tw = PAGE_W - 2 * M - 32;
    int c;

    lc_text_box(t, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", M, M, tw, 5, 10, 7, LC_BOLD | LC_CENTER | LC_ONELINE,
                "header");
    lc_text_box(t, "Độc lập — Tự do — Hạnh phúc", M, M + 5, tw, 5, 10, 7, LC_CENTER | LC_ONELINE, "header");
    lc_text_box(t, "BIÊN BẢN GIAO NHẬN BƯU GỬI HÀNH CHÍNH CÔNG", M, M + 12.5, tw, 7, 14, 9,
                LC_BOLD | LC_CENTER | LC_ONELINE, "title");
    snprintf(line, sizeof line, "Số: %s", m->manifest_id);
    lc_text_box(t, line, M, M + 20, tw, 5, 10, 7, LC_CENTER | LC_ONELINE, "manifest_id");
    /* a receipt (send leg): the postal staff hands over, the agency receives */
    snprintf(line, sizeof line, "Bên giao: %s",
             m->receiving ? (*m->carrier_name ? m->carrier_name : DOTS) : m->agency_name);
    lc_text_box(t, line, M, M + 27, tw, 5, 10, 7, LC_ONELINE, m->receiving ? "carrier_name" : "agency_name");
    snprintf(line, sizeof line, "Bên nhận: %s",
             m->receiving ? m->agency_name : (*m->carrier_name ? m->carrier_name : DOTS));
    lc_text_box(t, line, M, M + 32, tw, 5, 10, 7, LC_ONELINE, m->receiving ? "agency_name" : "carrier_name");
    snprintf(line, sizeof line, "Thời gian giao: %s, ngày %s", *m->handover_time ? m->handover_time : "…… giờ ……",
             m->date);
    lc_text_box(t, line, M, M + 37, tw * 0.7, 5, 10, 7, LC_ONELINE, "handover_time");
    snprintf(line, sizeof line, "Trang %d/%d", page, pages);
    lc_text_box(t, line, M + tw * 0.7, M + 37, PAGE_W - 2 * M - tw * 0.7, 5, 10, 7, LC_RIGHT | LC_ONELINE, "page");
    snprintf(line, sizeof line, "Địa điểm giao: %s", *m->handover_place ? m->handover_place : DOTS);
    lc_text_box(t, line, M, M + 42, PAGE_W - 2 * M, 6.5, 10, 7, LC_ONELINE, "handover_place");
    qr_draw(cr, q, PAGE_W - M - 30, M - 2, 30, 0);

    /* column titles */
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_rectangle(cr, M, TABLE_Y, PAGE_W - 2 * M, HEAD_H);
    cairo_fill(cr);
    x = M;
    for (c = 0; c < NCOLS; c++) {
        if (col_w(c, docs) <= 0)
            continue;
        lc_text_box(t, m->receiving && strcmp(cols[c].field, "recipient_name") == 0 ? "Người gửi" : cols[c].title, x + 1, TABLE_Y + 0.5, col_w(c, docs) - 2, HEAD_H - 1, 9, 6,
                    LC_BOLD | LC_VCENTER | LC_CENTER, "column");
        x += col_w(c, docs);
    }
}

static void
grid(cairo_t *cr, double y0, double y1, int docs)
{
    double x = M;
    int c;

    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 0.25);
    cairo_rectangle(cr, M, y0, PAGE_W - 2 * M, y1 - y0);
    for (c = 0; c < NCOLS - 1; c++) {
        if (col_w(c, docs) <= 0)
            continue;
        x += col_w(c, docs);
        cairo_move_to(cr, x, y0);
        cairo_line_to(cr, x, y1);
    }
    cairo_stroke(cr);
}

static void
draw_row(lc_text_t *t, const manifest_item_t *it, size_t idx, double y, int docs)
{
    char stt[24], cod[40], ndocs[16];
    const char *cells[NCOLS];
    double x = M;
    int c;

    snprintf(stt, sizeof stt, "%zu", idx + 1);
    group_dong(it->cod_amount, cod, sizeof cod);
    if (it->documents)
        snprintf(ndocs, sizeof ndocs, "%u", it->documents);
    else
        snprintf(ndocs, sizeof ndocs, "—");
    cells[0] = stt;
    cells[1] = it->waybill;
    cells[2] = it->dossier_code;
    cells[3] = it->recipient_name;
    cells[4] = it->commune;
    cells[COL_DOCS] = ndocs;
    cells[6] = cod;
    for (c = 0; c < NCOLS; c++) {
        if (col_w(c, docs) <= 0)
            continue;
        lc_text_box(t, cells[c], x + 1.2, y + 0.4, col_w(c, docs) - 2.4, ROW_H - 0.8, 9, 6,
                    cols[c].align | LC_VCENTER | LC_ONELINE, cols[c].field);
        x += col_w(c, docs);
    }
    cairo_set_source_rgb(t->cr, 0, 0, 0);
    cairo_set_line_width(t->cr, 0.15);
    cairo_move_to(t->cr, M, y + ROW_H);
    cairo_line_to(t->cr, PAGE_W - M, y + ROW_H);
    cairo_stroke(t->cr);
}

/* What a set of rows adds up to: a page's, or the whole manifest's. */
typedef struct {
    size_t items;
    unsigned long long documents;
    long long cod;
} totals_t;

/* totals_line - "28 bưu gửi, 56 tài liệu, thu hộ 1.400.000 đ" */
static void
totals_line(const totals_t *tot, int docs, char *out, size_t outlen)
{
    char money[48];

    group_dong(tot->cod, money, sizeof money);
    if (docs)
        snprintf(out, outlen, "%zu bưu gửi, %llu tài liệu, thu hộ %s đ", tot->items, tot->documents, money);
    else
        snprintf(out, outlen, "%zu bưu gửi, thu hộ %s đ", tot->items, money);
}

static void
draw_page_totals(lc_text_t *t, const totals_t *tot, int page, int docs, double y)
{
    char sum[160], line[200];

    totals_line(tot, docs, sum, sizeof sum);
    snprintf(line, sizeof line, "Cộng trang %d: %s", page, sum);
    lc_text_box(t, line, M, y + 1, PAGE_W - 2 * M, PAGE_TOTAL_H - 1.5, 9.5, 7, LC_RIGHT | LC_ONELINE, "page_totals");
}

/* sign_block - one side's signature: who, their organisation, the hint,
 * room to sign, then the signer's name or a dotted line */
static void
sign_block(lc_text_t *t, double x, double w, double y, const char *side, const char *org, const char *staff)
{
    lc_text_box(t, side, x, y, w, 6, 11, 8, LC_BOLD | LC_CENTER | LC_ONELINE, "sign");
    lc_text_box(t, *org ? org : DOTS, x + 2, y + 6, w - 4, 9, 9.5, 7, LC_CENTER, "sign_org");
    lc_text_box(t, "(Ký, ghi rõ họ tên)", x, y + 15.5, w, 5, 9, 7, LC_CENTER | LC_ONELINE, "sign");
    lc_text_box(t, *staff ? staff : DOTS, x + 2, y + 45, w - 4, 6, 10.5, 8, LC_BOLD | LC_CENTER | LC_ONELINE,
                "sign_staff");
}

static void
draw_totals(lc_text_t *t, const manifest_data_t *m, const totals_t *tot, int docs, double y)
{
    char line[200], money[48];
    double half = (PAGE_W - 2 * M) / 2;

    snprintf(line, sizeof line, "Tổng số bưu gửi: %zu", tot->items);
    lc_text_box(t, line, M, y, PAGE_W - 2 * M, 6, 11, 8, LC_BOLD | LC_ONELINE, "totals");
    y += 6;
    if (docs) {
        snprintf(line, sizeof line, "Tổng số tài liệu: %llu", tot->documents);
        lc_text_box(t, line, M, y, PAGE_W - 2 * M, 6, 11, 8, LC_BOLD | LC_ONELINE, "totals");
        y += 6;
    }
    group_dong(tot->cod, money, sizeof money);
    snprintf(line, sizeof line, "Tổng tiền thu hộ: %s đ", money);
    lc_text_box(t, line, M, y, PAGE_W - 2 * M, 6, 11, 8, LC_BOLD | LC_ONELINE, "totals");
    y += 8;
    lc_text_box(t,
                "Hai bên đã kiểm đếm, giao nhận đủ số bưu gửi nêu trên, bao bì nguyên vẹn. Biên bản lập thành "
                "02 bản có giá trị như nhau, mỗi bên giữ 01 bản.",
                M, y, PAGE_W - 2 * M, 10, 10, 8, 0, "statement");
    y += 12;
    if (m->receiving) {
        sign_block(t, M, half, y, "NHÂN VIÊN BƯU CHÍNH GIAO", m->carrier_name, m->carrier_staff);
        sign_block(t, M + half, half, y, "CÁN BỘ TIẾP NHẬN", m->agency_name, m->agency_staff);
        return;
    }
    sign_block(t, M, half, y, "ĐẠI DIỆN CƠ QUAN GIAO", m->agency_name, m->agency_staff);
    sign_block(t, M + half, half, y, "NHÂN VIÊN BƯU CHÍNH NHẬN", m->carrier_name, m->carrier_staff);
}

static cairo_status_t
write_buf(void *closure, const unsigned char *data, unsigned int length)
{
    return buf_append(closure, data, length) == BUF_OK ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

int
manifest_render_pdf(const manifest_data_t *in, buf_t *out, char *err, size_t errlen)
{
    norm_t nm;
    qr_t q = { 0, NULL };
    cairo_surface_t *pdf = NULL;
    cairo_t *cr = NULL;
    lc_text_t t;
    int have_text = 0, rc = -1, pages, page;
    size_t per_page, i = 0, rows_last;
    totals_t total = { 0, 0, 0 };
    int docs = 0; /* any item counts its documents: the column and totals are printed */
    cairo_status_t st;

    memset(&t, 0, sizeof t);
    if (!in || !in->items || in->n == 0) {
        snprintf(err, errlen, "a manifest needs at least one item");
        return -1;
    }
    if (in->n > MANIFEST_MAX_ITEMS) {
        snprintf(err, errlen, "manifest of %zu items is too big; at most %d", in->n, MANIFEST_MAX_ITEMS);
        return -1;
    }
    if (norm_init(&nm, in, err, errlen) != 0)
        goto out;
    if (qr_encode(nm.m.qr_text, &q, err, errlen) != 0)
        goto out;

    for (i = 0; i < nm.m.n; i++)
        if (nm.m.items[i].documents)
            docs = 1;
    i = 0;
    per_page = (size_t)((BOTTOM - PAGE_TOTAL_H - TABLE_Y - HEAD_H) / ROW_H);
    pages = (int)((nm.m.n + per_page - 1) / per_page);
    rows_last = nm.m.n - (size_t)(pages - 1) * per_page;
    if (TABLE_Y + HEAD_H + rows_last * ROW_H + PAGE_TOTAL_H + SIGN_H > BOTTOM)
        pages++; /* totals and signatures on a page of their own */

    pdf = cairo_pdf_surface_create_for_stream(write_buf, out, PAGE_W / LC_PT_TO_MM, PAGE_H / LC_PT_TO_MM);
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_TITLE, "Biên bản giao nhận bưu gửi hành chính công");
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_CREATOR, "bcci-gateway");
    cr = cairo_create(pdf);
    cairo_scale(cr, 1 / LC_PT_TO_MM, 1 / LC_PT_TO_MM);
    if (lc_text_init(&t, cr, 0) != 0) {
        snprintf(err, errlen, "cannot set up text layout (pango)");
        goto out;
    }
    have_text = 1;
    for (page = 1; page <= pages; page++) {
        double y = TABLE_Y + HEAD_H;
        totals_t this_page = { 0, 0, 0 };
        size_t k;

        draw_header(&t, &nm.m, &q, page, pages, docs);
        for (k = 0; k < per_page && i < nm.m.n; k++, i++) {
            const manifest_item_t *it = &nm.m.items[i];
            draw_row(&t, it, i, y, docs);
            this_page.items++;
            this_page.documents += it->documents;
            this_page.cod += it->cod_amount;
            y += ROW_H;
        }
        grid(cr, TABLE_Y, y, docs);
        if (this_page.items) {
            draw_page_totals(&t, &this_page, page, docs, y);
            total.items += this_page.items;
            total.documents += this_page.documents;
            total.cod += this_page.cod;
        }
        if (page == pages)
            draw_totals(&t, &nm.m, &total, docs, y + PAGE_TOTAL_H + 3);
        cairo_show_page(cr);
    }
    st = cairo_status(cr);
    if (st != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "drawing the manifest failed: %s", cairo_status_to_string(st));
        goto out;
    }
    cairo_destroy(cr);
    cr = NULL;
    cairo_surface_finish(pdf);
    st = cairo_surface_status(pdf);
    if (st != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "writing the manifest PDF failed: %s",
                 st == CAIRO_STATUS_WRITE_ERROR ? "output too big" : cairo_status_to_string(st));
        goto out;
    }
    rc = 0;
out:
    if (have_text)
        lc_text_cleanup(&t);
    if (cr)
        cairo_destroy(cr);
    if (pdf)
        cairo_surface_destroy(pdf);
    qr_free(&q);
    norm_free(&nm);
    return rc;
}
