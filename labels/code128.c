/*
 * code128 - Code 128 B/C encoder and cairo drawing (see code128.h)
 *
 * Set selection: start in C when the text begins with 4+ digits (or is an
 * even run of 2 digits alone); in B, switch to C for a run of 6+ digits, or
 * 4+ digits that end the text; an odd run leaves its first digit in B.
 * These are the usual rules that give the shortest symbol for S10 numbers.
 */
#include "labels/code128.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const patterns[107] = {
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
    "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
    "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
    "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
    "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
    "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
    "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
    "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
};

const char *
code128_pattern(int v)
{
    if (v < 0 || v > 106)
        return NULL;
    return patterns[v];
}

static size_t
digit_run(const char *s)
{
    size_t n = 0;

    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

int
code128_encode(const char *s, code128_t *out, char *err, size_t errlen)
{
    size_t len, i = 0, k;
    int set, check;

    memset(out, 0, sizeof *out);
    len = s ? strlen(s) : 0;
    if (len == 0 || len > CODE128_MAX_INPUT) {
        snprintf(err, errlen, "Code 128 text must have 1 to %d characters, got %zu", CODE128_MAX_INPUT, len);
        return -1;
    }
    for (k = 0; k < len; k++) {
        if (s[k] < 0x20 || s[k] > 0x7e) {
            snprintf(err, errlen, "Code 128 set B holds printable ASCII; character %zu is not", k + 1);
            return -1;
        }
    }
    {
        size_t run = digit_run(s);
        if (run >= 4 || (run == 2 && len == 2))
            set = 'C';
        else
            set = 'B';
    }
    out->values[out->nvalues++] = set == 'C' ? CODE128_START_C : CODE128_START_B;
    while (i < len) {
        size_t run = digit_run(s + i);
        if (set == 'C') {
            if (run >= 2) {
                out->values[out->nvalues++] = (s[i] - '0') * 10 + (s[i + 1] - '0');
                i += 2;
                continue;
            }
            out->values[out->nvalues++] = CODE128_CODE_B;
            set = 'B';
            continue;
        }
        if (run >= 6 || (run >= 4 && i + run == len)) {
            if (run % 2) {
                out->values[out->nvalues++] = s[i] - 32;
                i++;
            }
            out->values[out->nvalues++] = CODE128_CODE_C;
            set = 'C';
            continue;
        }
        out->values[out->nvalues++] = s[i] - 32;
        i++;
    }
    check = out->values[0];
    for (k = 1; k < out->nvalues; k++)
        check += out->values[k] * (int)k;
    out->values[out->nvalues++] = check % 103;
    out->values[out->nvalues++] = CODE128_STOP;

    for (k = 0; k < out->nvalues; k++) {
        const char *p = patterns[out->values[k]];
        for (; *p; p++) {
            out->widths[out->nwidths++] = (unsigned char)(*p - '0');
            out->modules += *p - '0';
        }
    }
    return 0;
}

double
code128_draw(cairo_t *cr, const code128_t *c, double x, double y, double module, double height, int snap)
{
    double pos, scale = 1;
    size_t k;

    cairo_save(cr);
    if (snap) {
        double dx = x, dy = y, dm = module, dh = height, dummy = 0;
        cairo_user_to_device(cr, &dx, &dy);
        cairo_user_to_device_distance(cr, &dm, &dummy);
        dummy = 0;
        cairo_user_to_device_distance(cr, &dummy, &dh);
        scale = module > 0 ? dm / module : 1;
        dm = round(dm);
        if (dm < 1)
            dm = 1;
        cairo_identity_matrix(cr);
        x = round(dx);
        y = round(dy);
        module = dm;
        height = round(dh);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    pos = x;
    for (k = 0; k < c->nwidths; k++) {
        double w = c->widths[k] * module;
        if (k % 2 == 0)
            cairo_rectangle(cr, pos, y, w, height);
        pos += w;
    }
    cairo_fill(cr);
    cairo_restore(cr);
    return (pos - x) / scale;
}
