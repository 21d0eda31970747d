/*
 * manifest - the handover manifest (biên bản giao nhận) as an A4 PDF
 *
 * One row per item (STT, waybill, dossier code, recipient, commune, COD),
 * paginated with the header and column titles repeated on every page,
 * totals and the two signature blocks on the last page, and a QR holding
 * the signed manifest code the caller provides. Strings are borrowed for
 * the call and normalised to NFC; the PDF is appended to a caller-owned
 * buf_t.
 */
#ifndef BCCI_MANIFEST_H
#define BCCI_MANIFEST_H

#include <stddef.h>

#include "buf.h"

typedef struct {
    const char *waybill;
    const char *dossier_code;
    const char *recipient_name;
    const char *commune; /* commune name or code */
    long long cod_amount; /* đồng */
} manifest_item_t;

typedef struct {
    const char *manifest_id;  /* printed and usually part of qr_text */
    const char *agency_name;  /* the handing-over agency */
    const char *carrier_name; /* e.g. "Bưu điện tỉnh Thái Nguyên"; may be NULL */
    const char *date;         /* dd/MM/yyyy */
    const char *qr_text;      /* signed manifest code for the QR */
    const manifest_item_t *items;
    size_t n;                 /* 1 .. MANIFEST_MAX_ITEMS */
} manifest_data_t;

#define MANIFEST_MAX_ITEMS 5000

/* manifest_render_pdf - 0, or -1 with err saying what was wrong (no items,
 * too many, text not UTF-8, QR content too long, output too big) */
int manifest_render_pdf(const manifest_data_t *m, buf_t *out, char *err, size_t errlen);

#endif
