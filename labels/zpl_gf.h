/*
 * zpl_gf - ZPL II graphic fields (^GFA) in the printer's ASCII compression
 *
 * Thermal printers ship with fonts that lack most Vietnamese letters, so the
 * ZPL backend draws text itself and sends it as 1-bit bitmaps. A bitmap row
 * is hex digits, two per byte, most significant pixel first; the printer's
 * compression shortens it: a run of one digit is a count letter and the
 * digit (G..Y = 1..19, g..z = 20..400), ',' fills the rest of the row with
 * zeros and ':' repeats the previous row. Text blocks are mostly blank, so
 * they shrink several times over.
 *
 * Ownership: bits is borrowed; output is appended to a caller-owned buf_t.
 */
#ifndef BCCI_ZPL_GF_H
#define BCCI_ZPL_GF_H

#include <stddef.h>

#include "buf.h"

/* zpl_gf_append - append "^GFA,total,total,bytes_per_row,DATA" for rows
 * rows of bytes_per_row bytes each (contiguous, bit 7 of byte 0 = leftmost
 * dot, 1 = black). Returns BUF_OK or the buffer's error. */
int zpl_gf_append(buf_t *out, const unsigned char *bits, size_t bytes_per_row, size_t rows);

#endif
