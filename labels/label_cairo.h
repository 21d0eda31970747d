/*
 * label_cairo - text boxes and page helpers shared by the cairo renderers
 * (label_cairo.c for waybill labels, manifest.c for handover manifests)
 *
 * Internal to labels/. User space is millimetres; fonts are DejaVu Sans,
 * sizes given in points. A text box fits the text's ink (not only its line
 * box: stacked marks on capitals such as Ễ reach far above the ascent), so
 * no glyph is cut at an edge. It shrinks the text from its largest to its
 * smallest size (on one line for LC_ONELINE boxes), then wraps it at word
 * (then character) boundaries, and past that cuts it with an ellipsis,
 * counts the cut and logs which field was cut (never its value). The clip
 * to the box (plus LC_CLIP_SLACK) only guards against a box smaller than
 * the ellipsis, so nothing is drawn outside the page.
 */
#ifndef BCCI_LABEL_CAIRO_H
#define BCCI_LABEL_CAIRO_H

#include <cairo.h>
#include <pango/pangocairo.h>

#define LC_FONT "DejaVu Sans"
#define LC_PT_TO_MM (25.4 / 72.0)
#define LC_CLIP_SLACK 0.3 /* mm: about two dots at 203 dpi */

/* lc_clip_text - 1 (default): text boxes are clipped as described above;
 * 0: not clipped at all. For tests only, which compare the two renders
 * pixel by pixel: any difference is ink cut at a box edge. Set it before
 * rendering, never while a render runs. */
extern int lc_clip_text;

enum {
    LC_LEFT = 0,
    LC_CENTER = 1 << 0,
    LC_RIGHT = 1 << 1,
    LC_BOLD = 1 << 2,
    LC_VCENTER = 1 << 3,
    LC_WHITE = 1 << 4,
    LC_ONELINE = 1 << 5, /* shrink on one line first; wrap only at the smallest size */
};

/* how glyphs are rasterised */
enum {
    LC_VECTOR = 0, /* PDF, SVG: outlines */
    LC_GRAY = 1,   /* PNG: antialiased pixels */
    LC_MONO = 2,   /* 1-bit bitmaps for thermal printers: no antialiasing, hinted to the dot grid */
};

typedef struct {
    cairo_t *cr;              /* borrowed; lc_text_use switches it */
    PangoContext *pc;         /* owned */
    PangoLayout *layout;      /* owned, reused for every box */
    PangoFontDescription *fd; /* owned */
    int raster;
    int cut;                  /* number of boxes cut since init */
    const char *first_cut;    /* field name of the first box cut, static; NULL when none */
} lc_text_t;

/* lc_text_init - text state bound to cr; raster is LC_VECTOR, LC_GRAY or
 * LC_MONO. Uses the calling thread's default pango font map. 0 or -1. */
int lc_text_init(lc_text_t *t, cairo_t *cr, int raster);
/* lc_text_use - draw on another cairo context with the same settings */
void lc_text_use(lc_text_t *t, cairo_t *cr);
void lc_text_cleanup(lc_text_t *t);

/* lc_text_box - fit text into (x, y, w, h), sizes in points from size_max
 * down to size_min; field names the text in the warning when it is cut.
 * Returns the height of the drawn text in mm. */
double lc_text_box(lc_text_t *t, const char *text, double x, double y, double w, double h, double size_max,
                   double size_min, unsigned flags, const char *field);

/* lc_mm_scale - the cairo scale for mm user space at dpi (72 for vector) */
static inline double
lc_mm_scale(double dpi)
{
    return dpi / 25.4;
}

#endif
