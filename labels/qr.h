/*
 * qr - QR codes as a module matrix (libqrencode), drawn with cairo rectangles
 *
 * qr.c is the only file that includes qrencode.h. Error correction is M,
 * input is encoded as 8-bit bytes (URLs keep their case). The matrix is
 * owned by the qr_t; qr_free releases it.
 */
#ifndef BCCI_QR_H
#define BCCI_QR_H

#include <stddef.h>

#include <cairo.h>

#define QR_QUIET 4 /* quiet zone, modules on each side */

typedef struct {
    int width;               /* modules per side, without the quiet zone */
    unsigned char *modules;  /* width*width, row-major, 1 = dark; owned */
} qr_t;

/* qr_encode - encode text (NUL-terminated, 1..2000 bytes) at ECC level M.
 * 0, or -1 with err saying why (too long, out of memory); q is then empty. */
int qr_encode(const char *text, qr_t *q, char *err, size_t errlen);

/* qr_free - release the matrix; q may be zeroed or already freed */
void qr_free(qr_t *q);

/* qr_draw - draw the dark modules in black, quiet zone included, in the
 * square (x, y, size) of user space. When snap is set (raster output) the
 * module size is rounded down to whole device pixels and the code is
 * centred in the square, so every module has the same number of pixels. */
void qr_draw(cairo_t *cr, const qr_t *q, double x, double y, double size, int snap);

#endif
