/*
 * label_test - waybill labels and manifests checked by real decoders
 *
 * zbarimg reads the QR and the Code 128 from PNGs, pdftotext gives back the
 * Vietnamese text (NFC), pdftotext -bbox shows nothing leaves the page,
 * xmllint parses the SVG, ZPL is compared with golden files under
 * tests/data/zpl/ (BCCI_UPDATE_GOLDEN=1 rewrites them). Files go to a
 * mkdtemp directory under $TMPDIR. BCCI_UPDATE_DOCS=1 also writes
 * docs/label-example.png. Run from the repository root (or set BCCI_SRCDIR).
 * BCCI_LABEL_SAMPLES=DIR runs no test: it writes one label of every kind
 * into DIR for tests/labels/run.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <utf8proc.h>

#include "labels/label.h"
#include "labels/label_cairo.h"
#include "labels/manifest.h"
#include "domain/s10.h"
#include "labels/zpl_gf.h"

static char tmpdir[256];

static const char *const NAME = "Nguyễn Thị Ánh Tuyết";
static const char *const ADDRESS = "Số 12 ngõ 34 phố Hoàng Hoa Thám";
static const char *const COMMUNE = "Phường Ngọc Hà";
static const char *const PROVINCE = "Thành phố Hà Nội";
static const char *const URL = "https://hcc.example.gov.vn/t/RR000000014VN?k=el9fYXbI36vwvt6P";

static label_data_t
sample(void)
{
    label_data_t d;

    memset(&d, 0, sizeof d);
    d.waybill = "RR000000014VN";
    d.dossier_code = "000.00.31.H23-231124-0001";
    d.tracking_url = URL;
    d.carrier_service = "VNPost — Chuyển phát thường (CTN001)";
    d.result_summary = "Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất";
    d.date = "25/11/2025"; /* printed on; the label shows the acceptance date */
    d.accepted_date = "24/11/2025";
    d.sender.name = "Trung tâm Phục vụ hành chính công tỉnh Thái Nguyên";
    d.sender.phone = "0208 3855 666";
    d.sender.address = "Số 1 đường Hoàng Văn Thụ";
    d.sender.commune = "Phường Phan Đình Phùng";
    d.sender.province = "Tỉnh Thái Nguyên";
    d.recipient.name = NAME;
    d.recipient.phone = "0912 345 678";
    d.recipient.address = ADDRESS;
    d.recipient.commune = COMMUNE;
    d.recipient.province = PROVINCE;
    d.cod_amount = 50000;
    return d;
}

static const label_document_t DOCS[] = {
    { "Giấy chứng nhận quyền sử dụng đất", 1 },
    { "Tờ khai đăng ký biến động đất đai", 0 },
};

/* with_tt17 - d with every TT 17 Điều 9 field of a phiếu gửi filled in */
static label_data_t
with_tt17(label_data_t d)
{
    d.carrier_name = "Bưu điện Việt Nam";
    d.service_name = "Chuyển phát nhanh hành chính công";
    d.procedure_name = "Đăng ký biến động quyền sử dụng đất";
    d.documents = DOCS;
    d.ndocuments = 2;
    d.weight_grams = 250;
    d.postage = 25000;
    d.postage_payer = "Người nhận trả";
    d.recipient.email = "tuyet.nguyen@example.vn";
    d.recipient.postcode = "11108";
    d.authorised_name = "Trần Văn Ủy";
    d.authorised_relation = "con";
    d.note = "Gọi trước khi phát";
    d.take_back = "Giấy biên nhận hồ sơ (bản chính)";
    d.receiver_signature = 1;
    return d;
}

/* ---- helpers ---- */

static void
path_of(char *out, size_t outlen, const char *name)
{
    snprintf(out, outlen, "%s/%s", tmpdir, name);
}

static void
write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* run - stdout of a shell command into a malloc'd string (caller frees);
 * *status gets the exit status */
static char *
run(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    buf_t b;
    char chunk[4096];
    size_t n;
    int st;

    assert_non_null(p);
    buf_init(&b, 0);
    buf_append(&b, "", 0);
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        assert_int_equal(buf_append(&b, chunk, n), BUF_OK);
    st = pclose(p);
    if (status)
        *status = st;
    return buf_steal(&b, NULL);
}

static void
render_to(const label_data_t *items, size_t n, const char *format, const char *size, int dpi, const char *file)
{
    label_options_t o = { format, size, dpi };
    char err[256], path[512];
    buf_t b;

    buf_init(&b, 0);
    if (label_render_batch(items, n, &o, &b, err, sizeof err) != 0)
        fail_msg("render %s %s %d: got error \"%s\", want success", format, size ? size : "-", dpi, err);
    path_of(path, sizeof path, file);
    write_file(path, b.data, b.len);
    buf_free(&b);
}

static void render_buf(const label_data_t *items, size_t n, const char *fmt, const char *size, int dpi, buf_t *b);

/* zbar - decoded symbols of an image, one per line */
static char *
zbar(const char *file)
{
    char cmd[700], path[512];

    path_of(path, sizeof path, file);
    snprintf(cmd, sizeof cmd, "zbarimg --raw -q '%s' 2>/dev/null", path);
    return run(cmd, NULL);
}

/* assert_decodes - the image holds exactly the QR url and the waybill */
static void
assert_decodes(const char *file, const char *url, const char *waybill)
{
    char *got = zbar(file);
    char want1[600], want2[600];

    snprintf(want1, sizeof want1, "%s\n%s\n", url, waybill);
    snprintf(want2, sizeof want2, "%s\n%s\n", waybill, url);
    if (strcmp(got, want1) != 0 && strcmp(got, want2) != 0)
        fail_msg("zbarimg %s: got \"%s\", want the lines \"%s\" and \"%s\"", file, got, url, waybill);
    free(got);
}

/* squash - collapse whitespace runs to one space, in place */
static void
squash(char *s)
{
    char *w = s;
    int sp = 0;

    for (; *s; s++) {
        if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\f' || *s == '\r') {
            sp = 1;
            continue;
        }
        if (sp) {
            *w++ = ' ';
            sp = 0;
        }
        *w++ = *s;
    }
    *w = '\0';
}

static char *
pdftext(const char *file, const char *opts)
{
    char cmd[700], path[512];
    char *t;

    path_of(path, sizeof path, file);
    snprintf(cmd, sizeof cmd, "pdftotext %s '%s' - 2>/dev/null", opts, path);
    t = run(cmd, NULL);
    return t;
}

static void
assert_contains(const char *hay, const char *needle, const char *what)
{
    if (!strstr(hay, needle))
        fail_msg("%s: got text without \"%s\"", what, needle);
}

static int
png_size(const char *file, unsigned *w, unsigned *h)
{
    unsigned char hdr[24];
    char path[512];
    FILE *f;

    path_of(path, sizeof path, file);
    f = fopen(path, "rb");
    if (!f || fread(hdr, 1, sizeof hdr, f) != sizeof hdr) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    *w = (unsigned)hdr[16] << 24 | (unsigned)hdr[17] << 16 | (unsigned)hdr[18] << 8 | hdr[19];
    *h = (unsigned)hdr[20] << 24 | (unsigned)hdr[21] << 16 | (unsigned)hdr[22] << 8 | hdr[23];
    return 0;
}

/* ---- fixtures ---- */

static int
setup(void **state)
{
    const char *t = getenv("TMPDIR");

    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%.200s/label_test.XXXXXX", t && *t ? t : P_tmpdir);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
    char cmd[400];

    (void)state;
    if (getenv("BCCI_KEEP_LABELS")) {
        fprintf(stderr, "label_test: files kept in %s\n", tmpdir);
        return 0;
    }
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", tmpdir);
    free(run(cmd, NULL));
    return 0;
}

/* ---- tests ---- */

static void
test_png_decodes(void **state)
{
    label_data_t d = sample();
    unsigned w = 0, h = 0;

    (void)state;
    render_to(&d, 1, "png", NULL, 0, "label203.png");
    assert_decodes("label203.png", URL, "RR000000014VN");
    assert_int_equal(png_size("label203.png", &w, &h), 0);
    if (w != 799 || h != 1199)
        fail_msg("PNG 100x150 at 203 dpi: got %ux%u px, want 799x1199", w, h);

    if (getenv("BCCI_UPDATE_DOCS")) {
        char src[512], cmd[1200];
        const char *root = getenv("BCCI_SRCDIR");
        path_of(src, sizeof src, "label203.png");
        snprintf(cmd, sizeof cmd, "cp '%s' '%s/docs/label-example.png'", src, root ? root : ".");
        free(run(cmd, NULL));
    }
}

static void
test_sizes_and_dpi(void **state)
{
    static const struct {
        const char *size;
        int dpi;
        unsigned w, h;
    } cases[] = {
        { "100x150", 300, 1181, 1772 },
        { "a6", 203, 839, 1183 },
        { "A6", 300, 1240, 1748 },
    };
    size_t i;
    label_data_t d = sample();

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned w = 0, h = 0;
        render_to(&d, 1, "png", cases[i].size, cases[i].dpi, "size.png");
        assert_int_equal(png_size("size.png", &w, &h), 0);
        if (w != cases[i].w || h != cases[i].h)
            fail_msg("%s at %d dpi: got %ux%u px, want %ux%u", cases[i].size, cases[i].dpi, w, h, cases[i].w,
                     cases[i].h);
        assert_decodes("size.png", URL, "RR000000014VN");
    }
    render_to(&d, 1, "pdf", "a6", 0, "a6.pdf");
    {
        char *info = pdftext("a6.pdf", "-bbox");
        /* 105 x 148 mm = 297.64 x 419.53 pt */
        assert_contains(info, "<page width=\"297.6", "A6 PDF page");
        free(info);
    }
}

static void
test_pdf_text_nfc(void **state)
{
    label_data_t d = sample();
    char full[512];
    char *txt;

    (void)state;
    render_to(&d, 1, "pdf", NULL, 0, "label.pdf");
    txt = pdftext("label.pdf", "");
    squash(txt);
    snprintf(full, sizeof full, "%s, %s, %s", ADDRESS, COMMUNE, PROVINCE);
    assert_contains(txt, NAME, "pdftotext of the label");
    assert_contains(txt, full, "pdftotext of the label");
    assert_contains(txt, "BƯU CHÍNH CÔNG ÍCH — HÀNH CHÍNH CÔNG", "pdftotext of the label");
    assert_contains(txt, "RR 0000 0001 4 VN", "pdftotext of the label");
    assert_contains(txt, "50.000 đ", "pdftotext of the label");
    assert_contains(txt, "Phát tận tay — kiểm tra CCCD/giấy ủy quyền", "pdftotext of the label");
    assert_contains(txt, "Ngày nhận gửi: 24/11/2025", "pdftotext of the label");
    if (strstr(txt, "25/11/2025"))
        fail_msg("pdftotext of the label: got the print date, want only the acceptance date");
    assert_contains(txt, "000.00.31.H23-231124-0001", "pdftotext of the label");
    free(txt);
}

static void
test_nfd_input_same_as_nfc(void **state)
{
    label_data_t d = sample();
    char *name = (char *)utf8proc_NFD((const utf8proc_uint8_t *)NAME);
    char *addr = (char *)utf8proc_NFD((const utf8proc_uint8_t *)ADDRESS);
    char *a, *b;

    (void)state;
    assert_non_null(name);
    assert_non_null(addr);
    /* the inputs really differ byte for byte, so the test can fail */
    assert_true(strcmp(name, NAME) != 0);
    assert_true(strcmp(addr, ADDRESS) != 0);
    render_to(&d, 1, "pdf", NULL, 0, "nfc.pdf");
    d.recipient.name = name;
    d.recipient.address = addr;
    render_to(&d, 1, "pdf", NULL, 0, "nfd.pdf");
    a = pdftext("nfc.pdf", "");
    b = pdftext("nfd.pdf", "");
    if (strcmp(a, b) != 0)
        fail_msg("pdftotext of NFD input differs from NFC input:\ngot  %s\nwant %s", b, a);
    free(a);
    free(b);
    free(name);
    free(addr);
}

/* assert_inside_page - every word box of pdftotext -bbox within the page */
static void
assert_inside_page(const char *file)
{
    char *x = pdftext(file, "-bbox");
    const char *p;
    double pw = 0, ph = 0;
    int words = 0;

    p = strstr(x, "<page width=\"");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "<page width=\"%lf\" height=\"%lf\"", &pw, &ph), 2);
    for (p = strstr(x, "<word "); p; p = strstr(p + 1, "<word ")) {
        double x0, y0, x1, y1;
        if (sscanf(p, "<word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" yMax=\"%lf\"", &x0, &y0, &x1, &y1) != 4)
            fail_msg("cannot parse %.80s", p);
        if (x0 < 0 || y0 < 0 || x1 > pw || y1 > ph)
            fail_msg("%s: word box %.1f,%.1f-%.1f,%.1f outside the page %.1fx%.1f", file, x0, y0, x1, y1, pw, ph);
        words++;
    }
    if (words < 20)
        fail_msg("%s: got %d words, want a full label", file, words);
    free(x);
}

static void
test_long_address(void **state)
{
    label_data_t d = sample();
    char addr[2400], *txt;
    size_t len = 0;
    int i = 0;

    (void)state;
    /* 400 characters of address: still fits by shrinking, last word kept */
    while (len < 390)
        len += (size_t)snprintf(addr + len, sizeof addr - len, "Ngõ %d phố Hoàng Hoa Thám, ", ++i);
    len += (size_t)snprintf(addr + len, sizeof addr - len, "CUỐIĐỊACHỈ");
    d.recipient.address = addr;
    d.recipient.commune = "";
    d.recipient.province = "";
    render_to(&d, 1, "pdf", NULL, 0, "long.pdf");
    assert_inside_page("long.pdf");
    txt = pdftext("long.pdf", "");
    assert_contains(txt, "CUỐIĐỊACHỈ", "400-character address");
    free(txt);
    render_to(&d, 1, "png", NULL, 0, "long.png");
    assert_decodes("long.png", URL, "RR000000014VN");

    /* 2000 characters: cut with an ellipsis, still inside the page */
    while (len < 2000)
        len += (size_t)snprintf(addr + len, sizeof addr - len, "Ngõ %d phố Hoàng Hoa Thám, ", ++i);
    d.recipient.name = "Nguyễn Thị Ánh Tuyết Nguyễn Thị Ánh Tuyết Nguyễn Thị Ánh Tuyết Nguyễn Thị Ánh Tuyết";
    render_to(&d, 1, "pdf", NULL, 0, "longer.pdf");
    assert_inside_page("longer.pdf");
    txt = pdftext("longer.pdf", "");
    assert_contains(txt, "…", "2000-character address");
    /* what was cut is gone from the PDF, not hidden in its text layer */
    if (strstr(txt, "Ngõ 60 phố"))
        fail_msg("2000-character address: got \"Ngõ 60 phố\" in the PDF text, want it cut");
    free(txt);
    render_to(&d, 1, "png", NULL, 0, "longer.png");
    assert_decodes("longer.png", URL, "RR000000014VN");
}

static void
test_svg_valid(void **state)
{
    label_data_t d = sample();
    char path[512], cmd[700];
    int st = -1;

    (void)state;
    render_to(&d, 1, "svg", NULL, 0, "label.svg");
    path_of(path, sizeof path, "label.svg");
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s' 2>&1", path);
    free(run(cmd, &st));
    if (st != 0)
        fail_msg("xmllint --noout on the SVG: got status %d, want 0", st);
    {
        /* true millimetres outside, points inside (the layout's user space) */
        buf_t b;
        render_buf(&d, 1, "svg", NULL, 0, &b);
        assert_contains(b.data, " width=\"100mm\" height=\"150mm\" viewBox=\"0 0 283.46", "SVG 100x150");
        buf_free(&b);
        render_buf(&d, 1, "svg", "a6", 0, &b);
        assert_contains(b.data, " width=\"105mm\" height=\"148mm\" viewBox=\"0 0 297.63", "SVG A6");
        buf_free(&b);
    }
}

/* ---- ZPL ---- */

static int
valid_utf8(const char *s, size_t len)
{
    utf8proc_int32_t cp;
    size_t i = 0;

    while (i < len) {
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0)
            return 0;
        i += (size_t)n;
    }
    return 1;
}

static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
        n++;
    return n;
}

/* assert_zpl_shape - n labels, each ^XA closed by ^XZ, fields valid UTF-8
 * and free of command characters */
static void
assert_zpl_shape(const char *z, size_t n)
{
    const char *p = z;
    size_t labels = 0;

    while ((p = strstr(p, "^XA")) != NULL) {
        const char *end = strstr(p, "^XZ");
        const char *next = strstr(p + 3, "^XA");
        if (!end || (next && next < end))
            fail_msg("label %zu: ^XA without its ^XZ", labels + 1);
        labels++;
        p = end;
    }
    if (labels != n || count(z, "^XZ") != n)
        fail_msg("got %zu ^XA and %zu ^XZ, want %zu of each", labels, count(z, "^XZ"), n);
    for (p = strstr(z, "^FD"); p; p = strstr(p + 3, "^FD")) {
        const char *end = strstr(p + 3, "^FS");
        size_t k;
        assert_non_null(end);
        if (!valid_utf8(p + 3, (size_t)(end - p - 3)))
            fail_msg("^FD field \"%.*s\" is not valid UTF-8", (int)(end - p - 3), p + 3);
        for (k = 3; p + k < end; k++)
            if (p[k] == '^' || p[k] == '~')
                fail_msg("^FD field \"%.*s\" holds a command character", (int)(end - p - 3), p + 3);
    }
    assert_int_equal(count(z, "^CI28"), n);
}

static void
check_golden(const char *name, const char *got, size_t len)
{
    const char *root = getenv("BCCI_SRCDIR");
    char path[600];
    FILE *f;
    char *want;
    long wl;

    snprintf(path, sizeof path, "%s/tests/data/zpl/%s", root ? root : ".", name);
    if (getenv("BCCI_UPDATE_GOLDEN")) {
        write_file(path, got, len);
        return;
    }
    f = fopen(path, "rb");
    if (!f)
        fail_msg("golden file %s missing; run with BCCI_UPDATE_GOLDEN=1 from the repository root", path);
    fseek(f, 0, SEEK_END);
    wl = ftell(f);
    fseek(f, 0, SEEK_SET);
    want = malloc((size_t)wl + 1);
    assert_non_null(want);
    assert_int_equal(fread(want, 1, (size_t)wl, f), (size_t)wl);
    fclose(f);
    want[wl] = '\0';
    if ((size_t)wl != len || memcmp(want, got, len) != 0) {
        size_t i = 0;
        while (i < len && i < (size_t)wl && want[i] == got[i])
            i++;
        fail_msg("%s: output differs from the golden file at byte %zu:\ngot  \"%.60s\"\nwant \"%.60s\"\n"
                 "(BCCI_UPDATE_GOLDEN=1 rewrites it after a deliberate change)",
                 name, i, got + i, want + i);
    }
    free(want);
}

static void
render_buf(const label_data_t *items, size_t n, const char *fmt, const char *size, int dpi, buf_t *b)
{
    label_options_t o = { fmt, size, dpi };
    char err[256];

    buf_init(b, 0);
    if (label_render_batch(items, n, &o, b, err, sizeof err) != 0)
        fail_msg("render %s: got error \"%s\", want success", fmt, err);
}

static void
test_zpl_golden(void **state)
{
    label_data_t d[3];
    buf_t b;

    (void)state;
    d[0] = sample();
    d[1] = sample();
    d[1].waybill = "EE123456785VN";
    d[1].cod_amount = 0;
    d[1].recipient.name = "Lê Văn Tám ^XZ~JA_x"; /* would end the label unescaped */
    d[1].tracking_url = "https://hcc.example.gov.vn/t/EE123456785VN?k=ab^c~d";
    d[2] = sample();
    d[2].waybill = "RR473124829GB";
    d[2].cod_amount = 1234567;

    render_buf(d, 3, "zpl-font", NULL, 0, &b);
    assert_zpl_shape(b.data, 3);
    assert_contains(b.data, "^PW800\n^LL1200\n", "ZPL at 203 dpi");
    assert_contains(b.data, "^BY2,3,10\n^FO576,902^BQN,2,5^FDMA,https://hcc.example.gov.vn/t/RR000000014VN?k=", "ZPL QR");
    assert_contains(b.data, "^BCN,100,Y,N,N,A^FH_^FDRR000000014VN^FS", "ZPL Code 128");
    assert_contains(b.data, "Lê Văn Tám _5EXZ_7EJA_5Fx", "ZPL escaping");
    assert_contains(b.data, "?k=ab%5Ec%7Ed^FS", "ZPL URL escaping");
    assert_contains(b.data, "Không thu hộ", "ZPL COD 0");
    assert_contains(b.data, "1.234.567 đ", "ZPL COD");
    check_golden("batch_203.zpl", b.data, b.len);
    buf_free(&b);

    render_buf(d, 1, "zpl-font", "a6", 300, &b);
    assert_zpl_shape(b.data, 1);
    assert_contains(b.data, "^PW1260\n^LL1776\n", "ZPL A6 at 300 dpi");
    check_golden("a6_300.zpl", b.data, b.len);
    buf_free(&b);
}

/* ---- ZPL with text as bitmaps ---- */

/* gf_decode - expand the data of one ^GFA field (the printer's ASCII
 * compression) into rows * bpr bytes; the number of characters it used, or
 * -1 when the data is malformed or does not end exactly at a row boundary */
static long
gf_decode(const char *data, size_t len, size_t bpr, size_t rows, unsigned char *out)
{
    size_t i = 0, r;

    for (r = 0; r < rows; r++) {
        size_t digits = 0, count = 0;
        unsigned char *row = out + r * bpr;

        memset(row, 0, bpr);
        while (digits < bpr * 2) {
            char c;
            if (i >= len)
                return -1;
            c = data[i++];
            if (c == ':') {
                if (r == 0 || digits || count)
                    return -1;
                memcpy(row, row - bpr, bpr);
                digits = bpr * 2;
            } else if (c == ',') {
                if (count)
                    return -1;
                digits = bpr * 2;
            } else if (c >= 'G' && c <= 'Y') {
                count += (size_t)(c - 'G' + 1);
            } else if (c >= 'g' && c <= 'z') {
                count += (size_t)(c - 'g' + 1) * 20;
            } else if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')) {
                int v = c <= '9' ? c - '0' : c - 'A' + 10;
                size_t k, n = count ? count : 1;
                if (digits + n > bpr * 2)
                    return -1;
                for (k = 0; k < n; k++, digits++)
                    row[digits / 2] |= (unsigned char)(digits & 1 ? v : v << 4);
                count = 0;
            } else {
                return -1;
            }
        }
    }
    return (long)i;
}

static void
test_zpl_gf_round_trip(void **state)
{
    /* shapes a printer sees: blank rows, repeated rows, solid runs past 400
     * digits, random noise, rows ending in ink and in blank */
    static const size_t widths[] = { 1, 3, 100, 250 };
    size_t wi;

    (void)state;
    srand(11);
    for (wi = 0; wi < sizeof widths / sizeof widths[0]; wi++) {
        size_t bpr = widths[wi], rows = 40, r, k;
        unsigned char *bits = malloc(bpr * rows), *back = malloc(bpr * rows);
        buf_t b;
        const char *data;
        long used;

        assert_non_null(bits);
        assert_non_null(back);
        for (r = 0; r < rows; r++) {
            unsigned char *row = bits + r * bpr;
            switch (r % 8) {
            case 0: memset(row, 0, bpr); break;
            case 1: memset(row, 0xFF, bpr); break;
            case 2: memcpy(row, row - bpr, bpr); break;
            case 3: for (k = 0; k < bpr; k++) row[k] = (unsigned char)rand(); break;
            case 4: memset(row, 0, bpr); row[0] = 0x80; break;
            case 5: memset(row, 0, bpr); row[bpr - 1] = 0x01; break;
            case 6: for (k = 0; k < bpr; k++) row[k] = k < bpr / 2 ? 0x00 : 0x3C; break;
            default: for (k = 0; k < bpr; k++) row[k] = (unsigned char)(k % 3 ? 0 : rand()); break;
            }
        }
        buf_init(&b, 0);
        assert_int_equal(zpl_gf_append(&b, bits, bpr, rows), BUF_OK);
        {
            char head[64];
            snprintf(head, sizeof head, "^GFA,%zu,%zu,%zu,", bpr * rows, bpr * rows, bpr);
            assert_int_equal(strncmp(b.data, head, strlen(head)), 0);
            data = b.data + strlen(head);
        }
        used = gf_decode(data, b.len - (size_t)(data - b.data), bpr, rows, back);
        if (used != (long)(b.len - (size_t)(data - b.data)))
            fail_msg("width %zu: decoder used %ld of %zu characters", bpr, used, b.len - (size_t)(data - b.data));
        assert_memory_equal(back, bits, bpr * rows);
        /* on a real width the compression pays: fewer characters than two hex digits per byte */
        if (bpr >= 100 && b.len - (size_t)(data - b.data) >= bpr * rows * 2)
            fail_msg("width %zu: %zu characters for %zu bytes", bpr, b.len - (size_t)(data - b.data), bpr * rows);
        buf_free(&b);
        free(bits);
        free(back);
    }
}

typedef struct {
    int x, y, reverse;
    size_t bpr, rows;
    long ink;           /* black dots */
    unsigned long hash; /* of the bitmap */
} gf_field_t;

/* zpl_graphics - every ^GFA of one label, decoded and checked against the page */
static size_t
zpl_graphics(const char *z, gf_field_t *out, size_t max, int pw, int ll)
{
    const char *p;
    size_t n = 0;

    for (p = strstr(z, "^GFA,"); p; p = strstr(p + 1, "^GFA,")) {
        size_t total, total2, bpr, k;
        int used_head = 0;
        const char *fo = p, *end;
        unsigned char *bits;
        gf_field_t f;

        memset(&f, 0, sizeof f);
        assert_int_equal(sscanf(p, "^GFA,%zu,%zu,%zu,%n", &total, &total2, &bpr, &used_head), 3);
        assert_int_equal(total, total2);
        assert_true(bpr > 0 && total % bpr == 0);
        while (fo > z && strncmp(fo, "^FO", 3) != 0)
            fo--;
        assert_int_equal(sscanf(fo, "^FO%d,%d", &f.x, &f.y), 2);
        f.reverse = strncmp(p - 3, "^FR", 3) == 0;
        end = strstr(p, "^FS");
        assert_non_null(end);
        f.bpr = bpr;
        f.rows = total / bpr;
        bits = malloc(total);
        assert_non_null(bits);
        if (gf_decode(p + used_head, (size_t)(end - p - used_head), bpr, f.rows, bits) !=
            (long)(end - p - used_head))
            fail_msg("graphic %zu at %d,%d does not decode to its declared %zu bytes", n + 1, f.x, f.y, total);
        f.hash = 5381;
        for (k = 0; k < total; k++) {
            f.ink += __builtin_popcount(bits[k]);
            f.hash = f.hash * 33 + bits[k];
        }
        free(bits);
        /* inside the page: the bitmap's last ink column may pad to a byte, never past the block */
        if (f.x < 0 || f.y < 0 || f.x + (int)(bpr * 8) > pw + 7 || f.y + (int)f.rows > ll)
            fail_msg("graphic at %d,%d (%zu x %zu dots) leaves the %d x %d page", f.x, f.y, bpr * 8, f.rows, pw,
                     ll);
        assert_true(f.ink > 0);
        assert_true(n < max);
        out[n++] = f;
    }
    return n;
}

static void
test_zpl_text_as_bitmaps(void **state)
{
    label_data_t d[2];
    gf_field_t a[64], b2[64];
    size_t na, nb, i, differ = 0, k;
    buf_t b, c;

    (void)state;
    d[0] = sample();
    d[1] = sample();
    d[1].recipient.name = "Lê Văn Tám ^XZ~JA_x"; /* would end the label if it were sent as text */
    render_buf(d, 1, "zpl", NULL, 0, &b);
    render_buf(d + 1, 1, "zpl", NULL, 0, &c);

    /* plain ASCII: no Vietnamese letter is left for the printer's font to miss */
    for (k = 0; k < b.len; k++)
        if ((unsigned char)b.data[k] >= 0x80)
            fail_msg("byte %zu of the ZPL is 0x%02x: text should be bitmaps", k, (unsigned char)b.data[k]);
    assert_zpl_shape(b.data, 1);
    assert_null(strstr(b.data, "^A0N"));
    assert_null(strstr(c.data, "_5EXZ"));
    /* barcode and QR stay the printer's own, sharp and scannable */
    assert_contains(b.data, "^BCN,100,Y,N,N,A^FH_^FDRR000000014VN^FS", "ZPL Code 128");
    assert_contains(b.data, "^BY2,3,10\n^FO576,902^BQN,2,5^FDMA,https://hcc.example.gov.vn/t/RR000000014VN?k=", "ZPL QR");

    na = zpl_graphics(b.data, a, 64, 800, 1200);
    nb = zpl_graphics(c.data, b2, 64, 800, 1200);
    /* banner, service, date, waybill, captions, names, phones, addresses, dossier, summary, COD, footer */
    assert_true(na >= 15);
    assert_int_equal(na, nb);
    for (i = 0; i < na; i++) {
        assert_int_equal(a[i].x, b2[i].x);
        assert_int_equal(a[i].y, b2[i].y);
        differ += a[i].hash != b2[i].hash;
    }
    /* the recipient's name, and nothing else, is drawn differently */
    assert_int_equal(differ, 1);
    /* the banner and the footer print white on black */
    assert_true(a[0].reverse);
    assert_true(a[na - 1].reverse);
    buf_free(&b);
    buf_free(&c);

    /* 300 dpi, A6, a very long address: wrapped, shrunk, cut inside its block */
    d[0].recipient.address = "Số 12 ngõ 34 phố Hoàng Hoa Thám, tổ dân phố số 7, khu tập thể Nhà máy Cơ khí, "
                             "gần chợ Đồng Xuân, rẽ trái ở ngã ba thứ hai, đi thẳng 200 mét, nhà có cổng sắt màu "
                             "xanh, đối diện trường tiểu học, hỏi bà Nguyễn Thị Hoa bán nước đầu ngõ, "
                             "số 12 ngõ 34 phố Hoàng Hoa Thám, tổ dân phố số 7, khu tập thể Nhà máy Cơ khí";
    render_buf(d, 1, "zpl", "a6", 300, &b);
    assert_contains(b.data, "^PW1260\n^LL1776\n", "ZPL A6 at 300 dpi");
    na = zpl_graphics(b.data, a, 64, 1260, 1776);
    assert_true(na >= 15);
    buf_free(&b);
}

/* ---- no ink cut at a box edge, nothing off the label ---- */

/* Upper-case Vietnamese with stacked marks reaches far above the font's
 * ascent (Ễ by 287 of DejaVu's 2048 units), which is where a box sized by
 * line height alone would cut it. */
static const char *const STACKED = "ỦY BAN NHÂN DÂN ẤP ỄỶỸ ẶỰỠ";

static label_data_t
stress(int longer)
{
    label_data_t d = sample();

    d.carrier_service = "BƯU ĐIỆN VIỆT NAM — CHUYỂN PHÁT ỦY QUYỀN ẤP ỄỶỸ";
    d.result_summary = longer ? "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở VÀ TÀI SẢN KHÁC GẮN LIỀN "
                                "VỚI ĐẤT — BẢN CHÍNH ẤP ỄỶỸ ẶỰỠ, BẢN SAO CHỨNG THỰC ỦY QUYỀN ĐÃ KÝ"
                              : "QUYẾT ĐỊNH ỦY QUYỀN ẤP ỄỶỸ ẶỰỠ";
    d.recipient.name = longer ? "NGUYỄN THỊ ẤN ỦY BAN NHÂN DÂN ẤP ỄỶỸ ẶỰỠ TÔN NỮ HUYỀN TRÂN CÔNG CHÚA ĐỜI THỨ BẢY"
                              : "NGUYỄN THỊ ẤN";
    d.recipient.address = longer ? "SỐ 12 NGÕ 34 PHỐ HOÀNG HOA THÁM, TỔ DÂN PHỐ SỐ 7, KHU TẬP THỂ NHÀ MÁY CƠ KHÍ, "
                                   "GẦN CHỢ ĐỒNG XUÂN, RẼ TRÁI Ở NGÃ BA THỨ HAI, ĐI THẲNG 200 MÉT, NHÀ CÓ CỔNG SẮT "
                                   "MÀU XANH, ĐỐI DIỆN TRƯỜNG TIỂU HỌC, HỎI BÀ NGUYỄN THỊ HOA ẤP ỄỶỸ ẶỰỠ"
                                 : STACKED;
    d.recipient.commune = "XÃ ỄỶỸ ẶỰỠ";
    d.recipient.province = "TỈNH ẤP ỦY";
    d.sender.name = longer ? "ỦY BAN NHÂN DÂN ẤP ỄỶỸ ẶỰỠ — TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG TỈNH THỪA THIÊN HUẾ CŨ"
                           : STACKED;
    d.sender.address = longer ? "SỐ 1 ĐƯỜNG HOÀNG VĂN THỤ, TỔ 5, ẤP ỄỶỸ ẶỰỠ, CẠNH ỦY BAN NHÂN DÂN, ĐỐI DIỆN BƯU ĐIỆN "
                                "TRUNG TÂM, TẦNG HAI, PHÒNG TIẾP NHẬN VÀ TRẢ KẾT QUẢ SỐ MỘT"
                              : STACKED;
    d.sender.commune = "PHƯỜNG ẤP ỄỶỸ";
    d.sender.province = "TỈNH ẶỰỠ";
    d.date = "24/11/2025";
    if (longer) {
        d = with_tt17(d);
        d.procedure_name = "ĐĂNG KÝ BIẾN ĐỘNG QUYỀN SỬ DỤNG ĐẤT ẤP ỄỶỸ ẶỰỠ";
        d.note = "ỦY QUYỀN ẤP ỄỶỸ ẶỰỠ — GỌI TRƯỚC KHI PHÁT";
    }
    return d;
}

/* load_png - a file of tmpdir as an RGB24 image surface (caller destroys) */
static cairo_surface_t *
load_png(const char *file)
{
    char path[512];
    cairo_surface_t *s;

    path_of(path, sizeof path, file);
    s = cairo_image_surface_create_from_png(path);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        fail_msg("cannot read %s: %s", path, cairo_status_to_string(cairo_surface_status(s)));
    return s;
}

static int
is_white(const unsigned char *px)
{
    return px[0] > 0xF0 && px[1] > 0xF0 && px[2] > 0xF0;
}

/* assert_same_ink - the clipped render a equals the unclipped b, pixel for
 * pixel: a difference is ink that a box cut; and b has nothing in the outer
 * band of band pixels (outside the label's frame) */
static void
assert_same_ink(const char *fa, const char *fb, int band)
{
    cairo_surface_t *a = load_png(fa), *b = load_png(fb);
    int w = cairo_image_surface_get_width(a), h = cairo_image_surface_get_height(a);
    int sa = cairo_image_surface_get_stride(a), sb = cairo_image_surface_get_stride(b);
    const unsigned char *da, *db;
    int x, y, x0 = w, y0 = h, x1 = -1, y1 = -1, nd = 0;

    assert_int_equal(w, cairo_image_surface_get_width(b));
    assert_int_equal(h, cairo_image_surface_get_height(b));
    cairo_surface_flush(a);
    cairo_surface_flush(b);
    da = cairo_image_surface_get_data(a);
    db = cairo_image_surface_get_data(b);
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            const unsigned char *pa = da + (size_t)y * (size_t)sa + 4 * (size_t)x;
            const unsigned char *pb = db + (size_t)y * (size_t)sb + 4 * (size_t)x;
            if (memcmp(pa, pb, 3) != 0) {
                nd++;
                x0 = x < x0 ? x : x0;
                y0 = y < y0 ? y : y0;
                x1 = x > x1 ? x : x1;
                y1 = y > y1 ? y : y1;
            }
            if ((x < band || y < band || x >= w - band || y >= h - band) && !is_white(pb))
                fail_msg("%s: ink at pixel %d,%d, outside the label's frame (%d px band)", fb, x, y, band);
        }
    }
    cairo_surface_destroy(a);
    cairo_surface_destroy(b);
    if (nd)
        fail_msg("%s vs %s: got %d pixels cut by a text box (within x %d-%d, y %d-%d), want none", fa, fb, nd, x0,
                 x1, y0, y1);
}

/* render_both - the same labels with text boxes clipped (name) and not (name_u) */
static void
render_both(const label_data_t *d, size_t n, const char *fmt, const char *size, int dpi, const char *name,
            const char *name_u)
{
    render_to(d, n, fmt, size, dpi, name);
    lc_clip_text = 0;
    render_to(d, n, fmt, size, dpi, name_u);
    lc_clip_text = 1;
}

static void
pdf_page_png(const char *pdf, int page, int dpi, const char *png_prefix)
{
    char cmd[1200], in[512], out[512];
    int st;

    path_of(in, sizeof in, pdf);
    path_of(out, sizeof out, png_prefix);
    snprintf(cmd, sizeof cmd, "pdftoppm -r %d -png -singlefile -f %d -l %d '%s' '%s' 2>/dev/null", dpi, page, page,
             in, out);
    free(run(cmd, &st));
    if (st != 0)
        fail_msg("pdftoppm page %d of %s: got status %d, want 0", page, pdf, st);
}

static void
test_no_ink_cut_cairo(void **state)
{
    static const struct {
        const char *size;
        int dpi;
    } pages[] = { { "100x150", 203 }, { "100x150", 300 }, { "a6", 203 } };
    size_t i;
    int longer;

    (void)state;
    for (longer = 0; longer < 2; longer++) {
        label_data_t d = stress(longer);
        for (i = 0; i < sizeof pages / sizeof pages[0]; i++) {
            /* 1 mm at the page edge: the frame is 1.5 mm in */
            int band = pages[i].dpi * 10 / 254;
            render_both(&d, 1, "png", pages[i].size, pages[i].dpi, "ink.png", "ink_u.png");
            assert_same_ink("ink.png", "ink_u.png", band);
            assert_decodes("ink.png", URL, "RR000000014VN");
        }
        /* the PDF's vector text, rasterised by poppler */
        render_both(&d, 1, "pdf", NULL, 0, "ink.pdf", "ink_u.pdf");
        pdf_page_png("ink.pdf", 1, 203, "inkpdf");
        pdf_page_png("ink_u.pdf", 1, 203, "inkpdf_u");
        assert_same_ink("inkpdf.png", "inkpdf_u.png", 8);
        assert_inside_page("ink.pdf");
    }
}

static void
test_no_ink_cut_manifest(void **state)
{
    enum { N = 45 };
    static manifest_item_t items[N];
    static char waybills[N][16];
    const char *files[2] = { "inkm.pdf", "inkm_u.pdf" };
    manifest_data_t m;
    char err[256], path[512];
    size_t i;
    int k, page;

    (void)state;
    for (i = 0; i < N; i++) {
        assert_int_equal(s10_format("RR", 30000000UL + i, "VN", waybills[i], sizeof waybills[i]), 0);
        items[i].waybill = waybills[i];
        items[i].dossier_code = "000.00.31.H23-231124-0001";
        items[i].recipient_name = i % 3 == 0   ? "NGUYỄN THỊ ẤN"
                                  : i % 3 == 1 ? "ỦY BAN NHÂN DÂN ẤP ỄỶỸ ẶỰỠ TÔN NỮ HUYỀN TRÂN CÔNG CHÚA ĐỜI BẢY"
                                               : STACKED;
        items[i].commune = i % 2 ? "XÃ ỄỶỸ ẶỰỠ ẤP ỦY BAN" : "PHƯỜNG ẤP";
        items[i].cod_amount = (long long)i * 1000;
    }
    memset(&m, 0, sizeof m);
    m.manifest_id = "BBGN-2025-000124";
    m.agency_name = "ỦY BAN NHÂN DÂN ẤP ỄỶỸ ẶỰỠ";
    m.carrier_name = "BƯU ĐIỆN TỈNH ẤP ỦY";
    m.date = "24/11/2025";
    m.qr_text = "BBGN-2025-000124.45.sig";
    m.items = items;
    m.n = N;
    for (k = 0; k < 2; k++) {
        buf_t b;
        buf_init(&b, 0);
        lc_clip_text = k == 0;
        if (manifest_render_pdf(&m, &b, err, sizeof err) != 0)
            fail_msg("manifest: got error \"%s\", want success", err);
        lc_clip_text = 1;
        path_of(path, sizeof path, files[k]);
        write_file(path, b.data, b.len);
        buf_free(&b);
    }
    for (page = 1; page <= 2; page++) {
        pdf_page_png("inkm.pdf", page, 150, "inkm");
        pdf_page_png("inkm_u.pdf", page, 150, "inkm_u");
        assert_same_ink("inkm.png", "inkm_u.png", 8);
    }
    assert_inside_page("inkm.pdf");
}

/* zpl_raster - every ^GFA of one ZPL label OR-ed into a 1-bit page of
 * (pw + 2 margin) x (ll + 2 margin) dots, one byte per dot (caller frees) */
static unsigned char *
zpl_raster(const char *z, int pw, int ll, int margin)
{
    int cw = pw + 2 * margin, ch = ll + 2 * margin;
    unsigned char *page = calloc((size_t)cw * (size_t)ch, 1);
    const char *p;

    assert_non_null(page);
    for (p = strstr(z, "^GFA,"); p; p = strstr(p + 1, "^GFA,")) {
        size_t total, total2, bpr, rows, r, c;
        int used = 0, fx, fy;
        const char *fo = p, *end = strstr(p, "^FS");
        unsigned char *bits;

        assert_int_equal(sscanf(p, "^GFA,%zu,%zu,%zu,%n", &total, &total2, &bpr, &used), 3);
        while (fo > z && strncmp(fo, "^FO", 3) != 0)
            fo--;
        assert_int_equal(sscanf(fo, "^FO%d,%d", &fx, &fy), 2);
        assert_non_null(end);
        rows = total / bpr;
        bits = malloc(total);
        assert_non_null(bits);
        if (gf_decode(p + used, (size_t)(end - p - used), bpr, rows, bits) != (long)(end - p - used))
            fail_msg("graphic at %d,%d does not decode", fx, fy);
        for (r = 0; r < rows; r++)
            for (c = 0; c < bpr * 8; c++) {
                int X = fx + (int)c + margin, Yd = fy + (int)r + margin;
                if (!(bits[r * bpr + c / 8] & (0x80 >> (c % 8))))
                    continue;
                if (X < 0 || Yd < 0 || X >= cw || Yd >= ch)
                    fail_msg("graphic at %d,%d: ink at dot %d,%d, far off the page", fx, fy, X - margin,
                             Yd - margin);
                page[(size_t)Yd * (size_t)cw + (size_t)X] = 1;
            }
        free(bits);
    }
    return page;
}

static void
test_no_ink_cut_zpl(void **state)
{
    static const struct {
        const char *size;
        int dpi, pw, ll;
    } pages[] = { { "100x150", 203, 800, 1200 }, { "a6", 300, 1260, 1776 } };
    enum { MARGIN = 200 };
    size_t i;
    int longer;

    (void)state;
    for (longer = 0; longer < 2; longer++) {
        label_data_t d = stress(longer);
        for (i = 0; i < sizeof pages / sizeof pages[0]; i++) {
            int cw = pages[i].pw + 2 * MARGIN, ch = pages[i].ll + 2 * MARGIN, x, y, nd = 0, fx = 0, fy = 0;
            unsigned char *a, *b;
            buf_t za, zb;

            render_buf(&d, 1, "zpl", pages[i].size, pages[i].dpi, &za);
            lc_clip_text = 0;
            render_buf(&d, 1, "zpl", pages[i].size, pages[i].dpi, &zb);
            lc_clip_text = 1;
            a = zpl_raster(za.data, pages[i].pw, pages[i].ll, MARGIN);
            b = zpl_raster(zb.data, pages[i].pw, pages[i].ll, MARGIN);
            for (y = 0; y < ch; y++)
                for (x = 0; x < cw; x++) {
                    size_t k = (size_t)y * (size_t)cw + (size_t)x;
                    int off = x < MARGIN || y < MARGIN || x >= MARGIN + pages[i].pw || y >= MARGIN + pages[i].ll;
                    if (b[k] && off)
                        fail_msg("zpl %s %d dpi: ink at dot %d,%d, off the label", pages[i].size, pages[i].dpi,
                                 x - MARGIN, y - MARGIN);
                    if (a[k] != b[k] && nd++ == 0) {
                        fx = x - MARGIN;
                        fy = y - MARGIN;
                    }
                }
            if (nd)
                fail_msg("zpl %s %d dpi (%s): got %d dots cut by a text bitmap, first at %d,%d; want none",
                         pages[i].size, pages[i].dpi, longer ? "long text" : "stacked marks", nd, fx, fy);
            free(a);
            free(b);
            buf_free(&za);
            buf_free(&zb);
        }
    }
}

/* ---- text that does not fit: shrink, wrap, then an ellipsis the caller hears of ---- */

static label_result_t
render_result(const label_data_t *items, size_t n, const char *fmt, const char *size, int dpi, const char *file)
{
    label_options_t o = { fmt, size, dpi };
    label_result_t res;
    char err[256], path[512];
    buf_t b;

    buf_init(&b, 0);
    memset(&res, 0xA5, sizeof res); /* label_render must set every field */
    if (label_render(items, n, &o, &b, &res, err, sizeof err) != 0)
        fail_msg("render %s: got error \"%s\", want success", fmt, err);
    if (file) {
        path_of(path, sizeof path, file);
        write_file(path, b.data, b.len);
    }
    buf_free(&b);
    return res;
}

static void
test_shortened_reported(void **state)
{
    static const char *const formats[] = { "pdf", "png", "svg", "zpl", "zpl-font" };
    /* 75 characters: too long for one line at any readable size, so it wraps */
    static const char *const LONG_NAME =
        "Tôn Nữ Huyền Trân Công Chúa Nguyễn Phúc Lệ Minh Thị Thanh Nhàn Hoàng Yến CUỐITÊN";
    label_data_t d[3];
    label_result_t res;
    char huge[1200];
    size_t i, len = 0;
    char *txt;

    (void)state;
    d[0] = sample();
    for (i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        res = render_result(d, 1, formats[i], NULL, 0, NULL);
        if (res.shortened != 0 || res.labels_shortened != 0 || res.first_field != NULL)
            fail_msg("%s, sample label: got %zu boxes cut (first %s), want none", formats[i], res.shortened,
                     res.first_field ? res.first_field : "-");
    }

    /* a long name is shrunk and wrapped, its end is printed, nothing is cut */
    d[0].recipient.name = LONG_NAME;
    res = render_result(d, 1, "pdf", NULL, 0, "longname.pdf");
    assert_int_equal(res.shortened, 0);
    txt = pdftext("longname.pdf", "");
    assert_contains(txt, "CUỐITÊN", "75-character name");
    free(txt);

    /* past that, an ellipsis and the caller is told which field */
    while (len < 600)
        len += (size_t)snprintf(huge + len, sizeof huge - len, "Nguyễn Thị Ánh Tuyết ");
    d[0] = sample();
    d[1] = sample();
    d[1].recipient.name = huge;
    d[2] = sample();
    for (i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        int batch = strcmp(formats[i], "png") != 0 && strcmp(formats[i], "svg") != 0;
        res = render_result(batch ? d : d + 1, batch ? 3 : 1, formats[i], NULL, 0, NULL);
        if (res.shortened < 1 || res.labels_shortened != 1 || !res.first_field ||
            strcmp(res.first_field, "recipient.name") != 0)
            fail_msg("%s, a 600-character name: got %zu boxes cut on %zu labels (first %s), want the name cut on 1",
                     formats[i], res.shortened, res.labels_shortened, res.first_field ? res.first_field : "-");
    }
    /* the old entry point still works and says nothing */
    render_to(d, 3, "pdf", NULL, 0, "huge.pdf");
    txt = pdftext("huge.pdf", "");
    assert_contains(txt, "…", "600-character name");
    free(txt);
}

/* ZPL text is never below a readable size: ^A0 cells of at least 25 dots
 * (8.75 pt, an em of 7 pt) at 203 dpi */
static void
test_zpl_readable_size(void **state)
{
    label_data_t d = stress(1);
    const char *p;
    buf_t b;
    int fields = 0;

    (void)state;
    render_buf(&d, 1, "zpl-font", NULL, 203, &b);
    for (p = strstr(b.data, "^A0N,"); p; p = strstr(p + 1, "^A0N,")) {
        int h = 0;
        assert_int_equal(sscanf(p, "^A0N,%d", &h), 1);
        if (h < 24)
            fail_msg("zpl-font: got a %d-dot font (%.1f pt), want at least 24 dots", h, h * 72.0 / 203);
        fields++;
    }
    assert_true(fields >= 15);
    buf_free(&b);
}

/* ---- A4 sheets of four A6 labels ---- */

static void
test_pdf_a4_sheets(void **state)
{
    enum { N = 9 };
    static char waybills[N][16], urls[N][96];
    label_data_t d[N];
    char *txt, *info;
    size_t i;
    int page;

    (void)state;
    for (i = 0; i < N; i++) {
        d[i] = sample();
        assert_int_equal(s10_format("RR", 40000000UL + i * 31, "VN", waybills[i], sizeof waybills[i]), 0);
        snprintf(urls[i], sizeof urls[i], "https://hcc.example.gov.vn/t/%s?k=sheet%zu", waybills[i], i);
        d[i].waybill = waybills[i];
        d[i].tracking_url = urls[i];
    }
    render_to(d, N, "pdf-a4", NULL, 0, "sheets.pdf");
    txt = pdftext("sheets.pdf", "");
    if (count(txt, "\f") != 3)
        fail_msg("pdf-a4 of %d labels: got %zu pages, want 3", N, count(txt, "\f"));
    free(txt);
    info = pdftext("sheets.pdf", "-bbox");
    /* 210 x 297 mm = 595.28 x 841.89 pt */
    assert_contains(info, "<page width=\"595.2", "A4 sheet");
    assert_contains(info, "height=\"841.8", "A4 sheet");
    free(info);
    assert_inside_page("sheets.pdf");
    {
        /* cairo repeats a resource key when one form is painted twice on a page; qpdf notices */
        char cmd[700], path[512];
        int st = -1;
        char *log;
        path_of(path, sizeof path, "sheets.pdf");
        snprintf(cmd, sizeof cmd, "qpdf --check '%s' 2>&1", path);
        log = run(cmd, &st);
        if (st != 0)
            fail_msg("qpdf --check of the pdf-a4 sheets: got status %d (%s), want 0", st, log);
        free(log);
    }
    for (page = 1; page <= 3; page++) {
        size_t first = (size_t)(page - 1) * 4, last = first + 4 > N ? N : first + 4, k;
        char *got;

        pdf_page_png("sheets.pdf", page, 203, "sheet");
        got = zbar("sheet.png");
        for (k = first; k < last; k++) {
            char want[128];
            snprintf(want, sizeof want, "%s\n", urls[k]);
            if (!strstr(got, want))
                fail_msg("pdf-a4 page %d: zbarimg got \"%s\", want the QR of label %zu", page, got, k + 1);
            snprintf(want, sizeof want, "%s\n", waybills[k]);
            if (!strstr(got, want))
                fail_msg("pdf-a4 page %d: zbarimg got \"%s\", want the Code 128 of label %zu", page, got, k + 1);
        }
        if (count(got, "\n") != 2 * (last - first))
            fail_msg("pdf-a4 page %d: got %zu symbols, want %zu", page, count(got, "\n"), 2 * (last - first));
        free(got);
    }
    {
        label_options_t o = { "pdf-a4", "100x150", 0 };
        char err[256] = "";
        buf_t b;
        buf_init(&b, 0);
        assert_int_equal(label_render_batch(d, 1, &o, &b, err, sizeof err), -1);
        assert_contains(err, "format pdf-a4 prints A6 labels", "pdf-a4 with a 100x150 size");
        buf_free(&b);
    }
    assert_string_equal(label_content_type("pdf-a4"), "application/pdf");
}

/* ---- TT 17 Điều 9 content ---- */

static void
test_tt17_content(void **state)
{
    static const char *const want[] = {
        "Bưu điện Việt Nam — Chuyển phát nhanh hành chính công",
        "Thủ tục: Đăng ký biến động quyền sử dụng đất",
        "Giấy tờ: Giấy chứng nhận quyền sử dụng đất (bản chính); Tờ khai đăng ký biến động đất đai (bản sao)",
        "Khối lượng: 250 g · Cước: 25.000 đ (Người nhận trả)",
        "tuyet.nguyen@example.vn",
        "mã bưu chính 11108",
        "Người được ủy quyền: Trần Văn Ủy (con)",
        "Giấy tờ thu lại: Giấy biên nhận hồ sơ (bản chính)",
        "Ghi chú: Gọi trước khi phát",
        "NGƯỜI NHẬN KÝ",
        "Ngày nhận gửi: 24/11/2025",
    };
    label_data_t d = with_tt17(sample());
    label_result_t res;
    char *txt;
    size_t i;
    buf_t b;

    (void)state;
    res = render_result(&d, 1, "pdf", NULL, 0, "tt17.pdf");
    assert_int_equal(res.shortened, 0);
    txt = pdftext("tt17.pdf", "");
    squash(txt);
    for (i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_contains(txt, want[i], "TT 17 label");
    if (strstr(txt, "CTN001"))
        fail_msg("TT 17 label: got the raw carrier_service, want the carrier and service names");
    free(txt);
    assert_inside_page("tt17.pdf");
    render_to(&d, 1, "png", NULL, 0, "tt17.png");
    assert_decodes("tt17.png", URL, "RR000000014VN");
    render_to(&d, 1, "png", "a6", 300, "tt17a6.png");
    assert_decodes("tt17a6.png", URL, "RR000000014VN");

    /* zpl-font carries the same text */
    render_buf(&d, 1, "zpl-font", NULL, 0, &b);
    assert_contains(b.data, "Thủ tục: Đăng ký biến động quyền sử dụng đất", "TT 17 zpl-font");
    assert_contains(b.data, "Ngày nhận gửi: 24/11/2025", "TT 17 zpl-font");
    buf_free(&b);

    /* not accepted yet: a line to fill in, never the print date */
    d.accepted_date = NULL;
    render_to(&d, 1, "pdf", NULL, 0, "tt17b.pdf");
    txt = pdftext("tt17b.pdf", "");
    squash(txt);
    assert_contains(txt, "Ngày nhận gửi: ……/……/………", "label before acceptance");
    if (strstr(txt, "25/11/2025"))
        fail_msg("label before acceptance: got the print date, want an empty line");
    free(txt);

    /* none of it given: none of it printed */
    d = sample();
    render_to(&d, 1, "pdf", NULL, 0, "plain.pdf");
    txt = pdftext("plain.pdf", "");
    if (strstr(txt, "Thủ tục") || strstr(txt, "Khối lượng") || strstr(txt, "NGƯỜI NHẬN KÝ") ||
        strstr(txt, "mã bưu chính"))
        fail_msg("label without TT 17 fields: got TT 17 lines");
    free(txt);
}

/* ---- errors and helpers ---- */

static void
test_errors(void **state)
{
    static const struct {
        const char *format, *size;
        int dpi;
        size_t n;
        const char *want;
    } cases[] = {
        { "gif", NULL, 0, 1, "valid formats: pdf, png, svg, zpl" },
        { "pdf", "a4", 0, 1, "valid sizes: 100x150, a6" },
        { "png", NULL, 150, 1, "valid values: 203, 300" },
        { "png", NULL, 0, 2, "use pdf, pdf-a4, zpl or zpl-font for batches" },
        { "svg", NULL, 0, 2, "use pdf, pdf-a4, zpl or zpl-font for batches" },
        { "zpl", NULL, 0, 0, "at least one" },
    };
    label_data_t d[2];
    size_t i;

    (void)state;
    d[0] = sample();
    d[1] = sample();
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        label_options_t o = { cases[i].format, cases[i].size, cases[i].dpi };
        char err[256] = "";
        buf_t b;
        int rc;
        buf_init(&b, 0);
        rc = label_render_batch(d, cases[i].n, &o, &b, err, sizeof err);
        buf_free(&b);
        if (rc != -1 || !strstr(err, cases[i].want))
            fail_msg("case %zu (%s): got rc %d err \"%s\", want -1 and \"%s\"", i, cases[i].format, rc, err,
                     cases[i].want);
    }
    {
        label_options_t o = { "pdf", NULL, 0 };
        char err[256] = "";
        buf_t b;
        buf_init(&b, 0);
        d[0].recipient.address = "Ph\xc6\xb0\xe1\xbb"; /* truncated UTF-8 */
        assert_int_equal(label_render_batch(d, 1, &o, &b, err, sizeof err), -1);
        assert_contains(err, "recipient.address is not valid UTF-8", "invalid UTF-8");
        d[0] = sample();
        d[0].waybill = "RR00000001\xc4\x90VN";
        assert_int_equal(label_render_batch(d, 1, &o, &b, err, sizeof err), -1);
        assert_contains(err, "waybill must be printable ASCII", "non-ASCII waybill");
        buf_free(&b);
    }
    assert_string_equal(label_content_type("pdf"), "application/pdf");
    assert_string_equal(label_content_type("png"), "image/png");
    assert_string_equal(label_content_type("svg"), "image/svg+xml");
    assert_string_equal(label_content_type("zpl"), "application/zpl");
    assert_null(label_content_type("gif"));
}

static void
test_cod_format(void **state)
{
    static const struct {
        long long v;
        const char *want;
    } cases[] = {
        { 0, "Không thu hộ" },     { 5, "5 đ" },
        { 999, "999 đ" },          { 1000, "1.000 đ" },
        { 50000, "50.000 đ" },     { 1234567, "1.234.567 đ" },
        { -5000, "-5.000 đ" },     { 100000000, "100.000.000 đ" },
    };
    size_t i;
    char out[64];

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        label_format_cod(cases[i].v, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("label_format_cod(%lld): got \"%s\", want \"%s\"", cases[i].v, out, cases[i].want);
    }
}

static void
test_tracking_url(void **state)
{
    char out[256];

    (void)state;
    /* token = base64url(HMAC-SHA256("k3y-secret", "RR000000014VN"))[0:16],
     * computed independently with Python's hmac module */
    assert_int_equal(label_tracking_url("https://hcc.example.gov.vn/", "RR000000014VN", "k3y-secret", 10, out,
                                        sizeof out),
                     0);
    assert_string_equal(out, URL);
    assert_int_equal(label_tracking_url("https://hcc.example.gov.vn", "RR000000014VN", "k3y-secret", 10, out,
                                        sizeof out),
                     0);
    assert_string_equal(out, URL);
    /* RFC 4231-style known value: HMAC-SHA256("key", "The quick brown fox …") */
    assert_int_equal(label_tracking_url("http://x", "The quick brown fox jumps over the lazy dog", "key", 3, out,
                                        sizeof out),
                     0);
    assert_string_equal(out, "http://x/t/The quick brown fox jumps over the lazy dog?k=97yD9DBThCSxMpjm");
    assert_int_equal(label_tracking_url("https://hcc.example.gov.vn", "RR000000014VN", "k", 1, out, 20), -1);
}

/* ---- batches and the manifest ---- */

static void
test_pdf_batch_500(void **state)
{
    enum { N = 500 };
    static char waybills[N][16], urls[N][96];
    static label_data_t d[N];
    static const int pages[] = { 1, 2, 250, 499, 500 };
    char *txt;
    size_t i;

    (void)state;
    for (i = 0; i < N; i++) {
        d[i] = sample();
        assert_int_equal(s10_format("RR", 10000000UL + i * 7919, "VN", waybills[i], sizeof waybills[i]), 0);
        snprintf(urls[i], sizeof urls[i], "https://hcc.example.gov.vn/t/%s?k=tok%zu", waybills[i], i);
        d[i].waybill = waybills[i];
        d[i].tracking_url = urls[i];
    }
    render_to(d, N, "pdf", NULL, 0, "batch.pdf");
    txt = pdftext("batch.pdf", "");
    if (count(txt, "\f") != N)
        fail_msg("batch PDF: got %zu pages, want %d", count(txt, "\f"), N);
    free(txt);
    for (i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        char cmd[1200], pdf[512], prefix[512];
        int st;
        path_of(pdf, sizeof pdf, "batch.pdf");
        path_of(prefix, sizeof prefix, "page");
        snprintf(cmd, sizeof cmd, "pdftoppm -r 203 -png -singlefile -f %d -l %d '%s' '%s' 2>/dev/null", pages[i],
                 pages[i], pdf, prefix);
        free(run(cmd, &st));
        assert_int_equal(st, 0);
        assert_decodes("page.png", urls[pages[i] - 1], waybills[pages[i] - 1]);
    }
}

static void
test_manifest(void **state)
{
    enum { N = 70 };
    static manifest_item_t items[N];
    static char waybills[N][16];
    manifest_data_t m;
    char err[256], path[512], prefix[512], cmd[1200];
    char *txt, *got;
    buf_t b;
    size_t i;
    int st;

    (void)state;
    for (i = 0; i < N; i++) {
        assert_int_equal(s10_format("RR", 20000000UL + i, "VN", waybills[i], sizeof waybills[i]), 0);
        items[i].waybill = waybills[i];
        items[i].dossier_code = "000.00.31.H23-231124-0001";
        items[i].recipient_name = i % 2 ? NAME : "Trần Đức Thắng";
        items[i].commune = COMMUNE;
        items[i].cod_amount = i % 2 ? 50000 : 0;
        items[i].documents = (unsigned)(i % 3 + 1);
    }
    memset(&m, 0, sizeof m);
    m.handover_time = "14:30";
    m.handover_place = "Số 1 đường Hoàng Văn Thụ, Phường Phan Đình Phùng, Tỉnh Thái Nguyên";
    m.agency_staff = "Nguyễn Văn Giao";
    m.carrier_staff = "Lê Thị Nhận";
    m.manifest_id = "BBGN-2025-000123";
    m.agency_name = "Trung tâm Phục vụ hành chính công tỉnh Thái Nguyên";
    m.carrier_name = "Bưu điện tỉnh Thái Nguyên";
    m.date = "24/11/2025";
    m.qr_text = "BBGN-2025-000123.70.sig-Ab3dEfGh1jKlMn0p";
    m.items = items;
    m.n = N;
    buf_init(&b, 0);
    if (manifest_render_pdf(&m, &b, err, sizeof err) != 0)
        fail_msg("manifest: got error \"%s\", want success", err);
    path_of(path, sizeof path, "manifest.pdf");
    write_file(path, b.data, b.len);
    buf_free(&b);

    txt = pdftext("manifest.pdf", "");
    squash(txt);
    if (count(txt, "BIÊN BẢN GIAO NHẬN BƯU GỬI HÀNH CHÍNH CÔNG") != 3)
        fail_msg("manifest: got the title %zu times, want once on each of 3 pages",
                 count(txt, "BIÊN BẢN GIAO NHẬN BƯU GỬI HÀNH CHÍNH CÔNG"));
    assert_contains(txt, "Trang 3/3", "manifest");
    assert_contains(txt, "Số hiệu bưu gửi", "manifest");
    assert_contains(txt, "Xã/phường", "manifest");
    for (i = 0; i < N; i++)
        assert_contains(txt, waybills[i], "manifest rows");
    assert_contains(txt, NAME, "manifest rows");
    assert_contains(txt, "Trần Đức Thắng", "manifest rows");
    assert_contains(txt, "Tổng số bưu gửi: 70", "manifest totals");
    assert_contains(txt, "Tổng tiền thu hộ: 1.750.000 đ", "manifest totals");
    assert_contains(txt, "ĐẠI DIỆN CƠ QUAN GIAO", "manifest signatures");
    assert_contains(txt, "NHÂN VIÊN BƯU CHÍNH NHẬN", "manifest signatures");
    assert_contains(txt, "(Ký, ghi rõ họ tên)", "manifest signatures");
    /* parties, handover time and place, counts, page totals, who signs */
    assert_contains(txt, "Bên giao: Trung tâm Phục vụ hành chính công tỉnh Thái Nguyên", "manifest parties");
    assert_contains(txt, "Bên nhận: Bưu điện tỉnh Thái Nguyên", "manifest parties");
    assert_contains(txt, "Thời gian giao: 14:30, ngày 24/11/2025", "manifest handover time");
    assert_contains(txt, "Địa điểm giao: Số 1 đường Hoàng Văn Thụ, Phường Phan Đình Phùng, Tỉnh Thái Nguyên",
                    "manifest handover place");
    assert_contains(txt, "Số tài", "manifest documents column"); /* the title wraps in its column */
    assert_contains(txt, "Cộng trang 1: 28 bưu gửi, 55 tài liệu, thu hộ 700.000 đ", "manifest page totals");
    assert_contains(txt, "Cộng trang 3: 14 bưu gửi", "manifest page totals");
    assert_contains(txt, "Tổng số tài liệu: 139", "manifest totals");
    assert_contains(txt, "Hai bên đã kiểm đếm, giao nhận đủ số bưu gửi nêu trên", "manifest statement");
    assert_contains(txt, "Nguyễn Văn Giao", "manifest signatures");
    assert_contains(txt, "Lê Thị Nhận", "manifest signatures");
    free(txt);

    /* without counts or the optional fields: no documents column, dotted lines to fill in */
    for (i = 0; i < N; i++)
        items[i].documents = 0;
    m.handover_time = NULL;
    m.handover_place = NULL;
    m.agency_staff = NULL;
    m.carrier_staff = NULL;
    m.n = 5;
    buf_init(&b, 0);
    if (manifest_render_pdf(&m, &b, err, sizeof err) != 0)
        fail_msg("manifest: got error \"%s\", want success", err);
    path_of(path, sizeof path, "manifest5.pdf");
    write_file(path, b.data, b.len);
    buf_free(&b);
    txt = pdftext("manifest5.pdf", "");
    squash(txt);
    if (strstr(txt, "Số tài") || strstr(txt, "tài liệu,"))
        fail_msg("manifest without document counts: got a documents column or total");
    assert_contains(txt, "Thời gian giao: …… giờ ……, ngày 24/11/2025", "manifest without a time");
    assert_contains(txt, "Địa điểm giao: ……", "manifest without a place");
    assert_contains(txt, "Cộng trang 1: 5 bưu gửi, thu hộ 100.000 đ", "manifest page totals");
    assert_contains(txt, "Trang 1/1", "manifest of 5");
    free(txt);
    path_of(path, sizeof path, "manifest.pdf");
    m.n = N;

    path_of(prefix, sizeof prefix, "manifest");
    snprintf(cmd, sizeof cmd, "pdftoppm -r 150 -png -singlefile -f 1 -l 1 '%s' '%s' 2>/dev/null", path, prefix);
    free(run(cmd, &st));
    assert_int_equal(st, 0);
    got = zbar("manifest.png");
    if (strcmp(got, "BBGN-2025-000123.70.sig-Ab3dEfGh1jKlMn0p\n") != 0)
        fail_msg("manifest QR: got \"%s\", want the manifest code", got);
    free(got);

    m.n = 0;
    buf_init(&b, 0);
    assert_int_equal(manifest_render_pdf(&m, &b, err, sizeof err), -1);
    assert_contains(err, "at least one item", "empty manifest");
    buf_free(&b);
}

/* ---- samples for tests/labels/run.sh and the pictures under docs/labels/ ---- */

/* write_samples - every label kind for the sample data into dir (which
 * exists): what tests/labels/run.sh hands to decoders and renderers that
 * are not C libraries (zpl-renderer-js, rsvg-convert, qpdf) */
static int
write_samples(const char *dir)
{
    static const struct {
        const char *format, *size;
        int dpi;
        const char *file;
    } kinds[] = {
        { "pdf", NULL, 0, "label-100x150.pdf" },  { "pdf", "a6", 0, "label-a6.pdf" },
        { "png", NULL, 203, "label-100x150.png" }, { "svg", NULL, 0, "label-100x150.svg" },
        { "svg", "a6", 0, "label-a6.svg" },       { "pdf-a4", NULL, 0, "sheet-a4.pdf" },
        { "pdf", NULL, 0, "label-tt17.pdf" },     { "zpl", NULL, 203, "label-tt17-203.zpl" },
        { "zpl", NULL, 203, "label-100x150-203.zpl" }, { "zpl-font", NULL, 203, "label-100x150-203-font.zpl" },
        { "zpl", "a6", 300, "label-a6-300.zpl" },    { "zpl-font", "a6", 300, "label-a6-300-font.zpl" },
    };
    label_data_t d = sample(), sheet[4];
    static manifest_item_t items[12];
    static char waybills[12][16];
    manifest_data_t m;
    char err[256], path[600];
    size_t i;
    buf_t mb;

    static char sheet_ids[4][16], sheet_urls[4][96];

    /* four different labels: zbarimg reports a repeated symbol once */
    for (i = 0; i < 4; i++) {
        sheet[i] = i % 2 ? with_tt17(sample()) : sample();
        s10_format("RR", 1 + 10 * (unsigned long)i, "VN", sheet_ids[i], sizeof sheet_ids[i]);
        snprintf(sheet_urls[i], sizeof sheet_urls[i], "https://hcc.example.gov.vn/t/%s?k=sheet", sheet_ids[i]);
        sheet[i].waybill = sheet_ids[i];
        sheet[i].tracking_url = sheet_urls[i];
    }
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        label_options_t o = { kinds[i].format, kinds[i].size, kinds[i].dpi };
        label_data_t one = strstr(kinds[i].file, "tt17") ? with_tt17(sample()) : d;
        int is_sheet = strcmp(kinds[i].format, "pdf-a4") == 0;
        buf_t b;
        FILE *f;

        buf_init(&b, 0);
        if (label_render_batch(is_sheet ? sheet : &one, is_sheet ? 4 : 1, &o, &b, err, sizeof err) != 0) {
            fprintf(stderr, "label_test: %s: %s\n", kinds[i].file, err);
            buf_free(&b);
            return 1;
        }
        snprintf(path, sizeof path, "%s/%s", dir, kinds[i].file);
        f = fopen(path, "wb");
        if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0) {
            fprintf(stderr, "label_test: cannot write %s\n", path);
            buf_free(&b);
            return 1;
        }
        buf_free(&b);
    }

    /* the manifest: 12 items, every optional field */
    for (i = 0; i < 12; i++) {
        s10_format("RR", 20000000UL + i, "VN", waybills[i], sizeof waybills[i]);
        items[i].waybill = waybills[i];
        items[i].dossier_code = "000.00.31.H23-231124-0001";
        items[i].recipient_name = i % 2 ? NAME : "Trần Đức Thắng";
        items[i].commune = COMMUNE;
        items[i].cod_amount = i % 2 ? 50000 : 0;
        items[i].documents = (unsigned)(i % 3 + 1);
    }
    memset(&m, 0, sizeof m);
    m.manifest_id = "BB-20251124-ABCDEFGH";
    m.agency_name = "Trung tâm Phục vụ hành chính công tỉnh Thái Nguyên";
    m.carrier_name = "Bưu điện tỉnh Thái Nguyên";
    m.date = "24/11/2025";
    m.handover_time = "14:30";
    m.handover_place = "Số 1 đường Hoàng Văn Thụ, Phường Phan Đình Phùng, Tỉnh Thái Nguyên";
    m.qr_text = "BB-20251124-ABCDEFGH.12.sig-Ab3dEfGh1jKlMn0p";
    m.items = items;
    m.n = 12;
    buf_init(&mb, 0);
    snprintf(path, sizeof path, "%s/manifest.pdf", dir);
    if (manifest_render_pdf(&m, &mb, err, sizeof err) != 0) {
        fprintf(stderr, "label_test: manifest.pdf: %s\n", err);
        buf_free(&mb);
        return 1;
    }
    {
        FILE *f = fopen(path, "wb");
        int ok = f && fwrite(mb.data, 1, mb.len, f) == mb.len;
        if (f && fclose(f) != 0)
            ok = 0;
        buf_free(&mb);
        if (!ok) {
            fprintf(stderr, "label_test: cannot write %s\n", path);
            return 1;
        }
    }
    return 0;
}

int
main(void)
{
    const char *samples = getenv("BCCI_LABEL_SAMPLES");

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cod_format),
        cmocka_unit_test(test_tracking_url),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_png_decodes),
        cmocka_unit_test(test_sizes_and_dpi),
        cmocka_unit_test(test_pdf_text_nfc),
        cmocka_unit_test(test_nfd_input_same_as_nfc),
        cmocka_unit_test(test_long_address),
        cmocka_unit_test(test_svg_valid),
        cmocka_unit_test(test_zpl_golden),
        cmocka_unit_test(test_zpl_gf_round_trip),
        cmocka_unit_test(test_zpl_text_as_bitmaps),
        cmocka_unit_test(test_pdf_batch_500),
        cmocka_unit_test(test_manifest),
        cmocka_unit_test(test_no_ink_cut_cairo),
        cmocka_unit_test(test_no_ink_cut_manifest),
        cmocka_unit_test(test_no_ink_cut_zpl),
        cmocka_unit_test(test_shortened_reported),
        cmocka_unit_test(test_pdf_a4_sheets),
        cmocka_unit_test(test_tt17_content),
        cmocka_unit_test(test_zpl_readable_size),
    };
    if (samples && *samples)
        return write_samples(samples);
    return cmocka_run_group_tests(tests, setup, teardown);
}
