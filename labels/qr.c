/*
 * qr - QR module matrices from libqrencode (see qr.h)
 *
 * The only file that includes qrencode.h, so the rest of labels/ sees a
 * plain matrix. Drawing merges horizontal runs of dark modules into one
 * rectangle each: fewer path operations in PDF and SVG, same pixels.
 */
#include "labels/qr.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

int
qr_encode(const char *text, qr_t *q, char *err, size_t errlen)
{
    QRcode *code;
    size_t n, len;
    int i;

    q->width = 0;
    q->modules = NULL;
    len = text ? strlen(text) : 0;
    if (len == 0 || len > 2000) {
        snprintf(err, errlen, "QR content must have 1 to 2000 bytes, got %zu", len);
        return -1;
    }
    code = QRcode_encodeData((int)len, (const unsigned char *)text, 0, QR_ECLEVEL_M);
    if (!code) {
        snprintf(err, errlen, "QR encoding failed (%s)", errno == ERANGE ? "content too long" : "out of memory");
        return -1;
    }
    n = (size_t)code->width * (size_t)code->width;
    q->modules = malloc(n);
    if (!q->modules) {
        QRcode_free(code);
        snprintf(err, errlen, "out of memory for a QR code");
        return -1;
    }
    for (i = 0; i < (int)n; i++)
        q->modules[i] = code->data[i] & 1;
    q->width = code->width;
    QRcode_free(code);
    return 0;
}

void
qr_free(qr_t *q)
{
    if (!q)
        return;
    free(q->modules);
    q->modules = NULL;
    q->width = 0;
}

void
qr_draw(cairo_t *cr, const qr_t *q, double x, double y, double size, int snap)
{
    int total = q->width + 2 * QR_QUIET;
    double m = size / total;
    int r, c;

    if (q->width <= 0)
        return;
    cairo_save(cr);
    if (snap) {
        /* work in device pixels: whole-pixel modules, centred in the square */
        double dx = x, dy = y, ds = size, dummy = 0;
        double pix;
        cairo_user_to_device(cr, &dx, &dy);
        cairo_user_to_device_distance(cr, &ds, &dummy);
        pix = floor(ds / total);
        if (pix < 1)
            pix = 1;
        dx = round(dx + (ds - pix * total) / 2);
        dy = round(dy + (ds - pix * total) / 2);
        cairo_identity_matrix(cr);
        x = dx;
        y = dy;
        m = pix;
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    x += QR_QUIET * m;
    y += QR_QUIET * m;
    for (r = 0; r < q->width; r++) {
        const unsigned char *row = q->modules + (size_t)r * (size_t)q->width;
        for (c = 0; c < q->width;) {
            int start;
            if (!row[c]) {
                c++;
                continue;
            }
            start = c;
            while (c < q->width && row[c])
                c++;
            cairo_rectangle(cr, x + start * m, y + r * m, (c - start) * m, m);
        }
    }
    cairo_fill(cr);
    cairo_restore(cr);
}
