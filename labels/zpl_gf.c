/*
 * zpl_gf - ZPL ^GFA graphic fields with ASCII compression (see zpl_gf.h)
 */
#include "labels/zpl_gf.h"

#include <string.h>

static const char HEX[] = "0123456789ABCDEF";

/* put_run - a run of n copies of digit c, as the printer's repeat count and the digit */
static int
put_run(buf_t *out, char c, size_t n)
{
    int rc;

    while (n > 0) {
        size_t k = n > 400 ? 400 : n;
        char code[3];
        size_t len = 0;

        if (k >= 2) {
            if (k / 20)
                code[len++] = (char)('g' + k / 20 - 1); /* g = 20 ... z = 400 */
            if (k % 20)
                code[len++] = (char)('G' + k % 20 - 1); /* G = 1 ... Y = 19 */
        }
        code[len++] = c;
        rc = buf_append(out, code, len);
        if (rc != BUF_OK)
            return rc;
        n -= k;
    }
    return BUF_OK;
}

static int
put_row(buf_t *out, const unsigned char *row, size_t bpr)
{
    size_t digits = bpr * 2, end = digits, i = 0;
    int rc;

#define DIGIT(k) HEX[(k) & 1 ? row[(k) >> 1] & 15 : row[(k) >> 1] >> 4]
    while (end > 0 && DIGIT(end - 1) == '0')
        end--;
    while (i < end) {
        char c = DIGIT(i);
        size_t j = i + 1;

        while (j < end && DIGIT(j) == c)
            j++;
        rc = put_run(out, c, j - i);
        if (rc != BUF_OK)
            return rc;
        i = j;
    }
#undef DIGIT
    return end < digits ? buf_append(out, ",", 1) : BUF_OK;
}

int
zpl_gf_append(buf_t *out, const unsigned char *bits, size_t bytes_per_row, size_t rows)
{
    size_t r;
    int rc;

    rc = buf_appendf(out, "^GFA,%zu,%zu,%zu,", bytes_per_row * rows, bytes_per_row * rows, bytes_per_row);
    if (rc != BUF_OK)
        return rc;
    for (r = 0; r < rows; r++) {
        const unsigned char *row = bits + r * bytes_per_row;

        if (r > 0 && memcmp(row, row - bytes_per_row, bytes_per_row) == 0) {
            rc = buf_append(out, ":", 1);
            if (rc != BUF_OK)
                return rc;
            continue;
        }
        rc = put_row(out, row, bytes_per_row);
        if (rc != BUF_OK)
            return rc;
    }
    return BUF_OK;
}
