/*
 * code128 - Code 128 barcodes (sets B and C) as bar/space module widths
 *
 * code128_encode turns printable ASCII into symbol values with a start
 * code, code-set switches (set C for runs of digits where that is shorter),
 * the mod-103 check symbol and the stop code, then into module widths.
 * No allocation: the result lives in the caller's code128_t.
 */
#ifndef BCCI_CODE128_H
#define BCCI_CODE128_H

#include <stddef.h>

#include <cairo.h>

#define CODE128_MAX_INPUT 40
#define CODE128_MAX_VALUES (2 * CODE128_MAX_INPUT + 4)
#define CODE128_QUIET 10 /* quiet zone, modules on each side */

enum {
    CODE128_CODE_C = 99,  /* switch to set C (from B) */
    CODE128_CODE_B = 100, /* switch to set B (from C) */
    CODE128_START_A = 103,
    CODE128_START_B = 104,
    CODE128_START_C = 105,
    CODE128_STOP = 106,
};

typedef struct {
    int values[CODE128_MAX_VALUES];                /* start … check, stop */
    size_t nvalues;
    unsigned char widths[6 * CODE128_MAX_VALUES + 1]; /* bar, space, bar, …; in modules */
    size_t nwidths;
    int modules;                                   /* total width without quiet zones */
} code128_t;

/* code128_encode - encode s (printable ASCII 0x20..0x7e, 1..40 chars).
 * 0, or -1 with err saying which character or length is wrong. */
int code128_encode(const char *s, code128_t *out, char *err, size_t errlen);

/* code128_pattern - the six (stop: seven) widths of symbol value v (0..106),
 * as a string of digits such as "211214"; NULL when v is out of range */
const char *code128_pattern(int v);

/* code128_draw - draw the bars in black from (x, y), module width module
 * and height height in user space (quiet zones are the caller's margin).
 * When snap is set (raster), the module width is rounded to whole device
 * pixels (at least 1) and x to a pixel edge. Returns the drawn width in
 * user space. */
double code128_draw(cairo_t *cr, const code128_t *c, double x, double y, double module, double height,
                    int snap);

#endif
