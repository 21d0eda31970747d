/*
 * code128_test - Code 128 patterns, set selection, check symbol, and a real
 * decoder (zbarimg) reading every set B character and every set C pair
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "labels/code128.h"

static void
test_patterns(void **state)
{
    int v;

    (void)state;
    for (v = 0; v <= 106; v++) {
        const char *p = code128_pattern(v);
        int sum = 0, bars = 0, i;
        size_t want_len = v == CODE128_STOP ? 7 : 6;
        assert_non_null(p);
        if (strlen(p) != want_len)
            fail_msg("pattern %d: got %zu elements, want %zu", v, strlen(p), want_len);
        for (i = 0; p[i]; i++) {
            sum += p[i] - '0';
            if (i % 2 == 0)
                bars += p[i] - '0';
        }
        if (sum != (v == CODE128_STOP ? 13 : 11))
            fail_msg("pattern %d (%s): got %d modules, want %d", v, p, sum, v == CODE128_STOP ? 13 : 11);
        if (bars % 2 != 0)
            fail_msg("pattern %d (%s): bar modules %d, want an even number", v, p, bars);
    }
    assert_null(code128_pattern(107));
    assert_null(code128_pattern(-1));
    assert_string_equal(code128_pattern(CODE128_START_B), "211214");
}

static void
test_encode_values(void **state)
{
    static const struct {
        const char *in;
        int want[24];
        size_t n;
        int modules;
    } cases[] = {
        /* B R R 0, switch to C for 00 00 00 14, back to B for V N */
        { "RR000000014VN", { 104, 50, 50, 16, 99, 0, 0, 0, 14, 100, 54, 46, 78, 106 }, 14, 156 },
        { "1234", { 105, 12, 34, 82, 106 }, 5, 57 },
        { "12", { 105, 12, 14, 106 }, 4, 46 },
        { "PJJ123C", { 104, 48, 42, 42, 17, 18, 19, 35, 55, 106 }, 10, 112 },
        { "12345", { 105, 12, 34, 100, 21, 54, 106 }, 7, 79 },
        { "A", { 104, 33, 34, 106 }, 4, 46 },
    };
    size_t i, k;
    char err[128];

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        code128_t c;
        assert_int_equal(code128_encode(cases[i].in, &c, err, sizeof err), 0);
        if (c.nvalues != cases[i].n)
            fail_msg("%s: got %zu symbols, want %zu", cases[i].in, c.nvalues, cases[i].n);
        for (k = 0; k < c.nvalues; k++)
            if (c.values[k] != cases[i].want[k])
                fail_msg("%s: symbol %zu got %d, want %d", cases[i].in, k, c.values[k], cases[i].want[k]);
        if (c.modules != cases[i].modules)
            fail_msg("%s: got %d modules, want %d", cases[i].in, c.modules, cases[i].modules);
        if (c.nwidths != 6 * c.nvalues + 1)
            fail_msg("%s: got %zu widths, want %zu", cases[i].in, c.nwidths, 6 * c.nvalues + 1);
    }
}

static void
test_encode_rejects(void **state)
{
    static const char *bad[] = { "", "RR\x01", "Đ123", "\x7f", "0123456789012345678901234567890123456789X" };
    size_t i;
    char err[128];

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        code128_t c;
        err[0] = '\0';
        if (code128_encode(bad[i], &c, err, sizeof err) != -1)
            fail_msg("input %zu: got success, want -1", i);
        if (!err[0])
            fail_msg("input %zu: no error message", i);
    }
}

/* decode - draw s at 3 px per module with quiet zones, run zbarimg; the
 * decoded text (newline stripped) goes to out. 0 or -1. */
static int
decode(const char *dir, const char *s, char *out, size_t outlen)
{
    char path[512], cmd[700], err[128];
    code128_t c;
    cairo_surface_t *img;
    cairo_t *cr;
    FILE *p;
    size_t n;
    int w;

    if (code128_encode(s, &c, err, sizeof err) != 0)
        return -1;
    w = (c.modules + 2 * CODE128_QUIET) * 3;
    img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, 120);
    cr = cairo_create(img);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    code128_draw(cr, &c, CODE128_QUIET * 3, 10, 3, 100, 1);
    cairo_destroy(cr);
    snprintf(path, sizeof path, "%s/c128.png", dir);
    cairo_surface_write_to_png(img, path);
    cairo_surface_destroy(img);
    snprintf(cmd, sizeof cmd, "zbarimg --raw -q -Sdisable -Scode128.enable '%s' 2>/dev/null", path);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    pclose(p);
    if (n > 0 && out[n - 1] == '\n')
        out[n - 1] = '\0';
    return 0;
}

static void
test_zbar_reads_every_symbol(void **state)
{
    char dir[256], in[48], got[256];
    const char *tmp = getenv("TMPDIR");
    int ch, pair;

    (void)state;
    snprintf(dir, sizeof dir, "%.200s/code128_test.XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    assert_non_null(mkdtemp(dir));
    /* every set B character, in chunks of 24; a letter at both ends keeps
     * spaces away from the edges and digits from forming set C runs */
    for (ch = 0x20; ch <= 0x7e; ch += 22) {
        size_t n = 0;
        int k;
        in[n++] = 'A';
        for (k = ch; k < ch + 22 && k <= 0x7e; k++)
            in[n++] = (char)k;
        in[n++] = 'Z';
        in[n] = '\0';
        assert_int_equal(decode(dir, in, got, sizeof got), 0);
        if (strcmp(got, in) != 0)
            fail_msg("zbarimg on set B chunk: got \"%s\", want \"%s\"", got, in);
    }
    /* every set C pair 00..99, 20 pairs per symbol */
    for (pair = 0; pair < 100; pair += 20) {
        size_t n = 0;
        int k;
        for (k = pair; k < pair + 20; k++) {
            in[n++] = (char)('0' + k / 10);
            in[n++] = (char)('0' + k % 10);
        }
        in[n] = '\0';
        assert_int_equal(decode(dir, in, got, sizeof got), 0);
        if (strcmp(got, in) != 0)
            fail_msg("zbarimg on set C pairs: got \"%s\", want \"%s\"", got, in);
    }
    assert_int_equal(decode(dir, "RR000000014VN", got, sizeof got), 0);
    assert_string_equal(got, "RR000000014VN");
    snprintf(got, sizeof got, "%.200s/c128.png", dir);
    unlink(got);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_encode_values),
        cmocka_unit_test(test_encode_rejects),
        cmocka_unit_test(test_zbar_reads_every_symbol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
