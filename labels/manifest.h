/*
 * manifest - the handover manifest (biên bản giao nhận) as an A4 PDF
 *
 * One row per item (STT, waybill, dossier code, recipient, commune, the
 * number of documents when counted, COD), paginated with the header
 * (parties, handover time and place) and column titles repeated on every
 * page, the page's own totals under its rows, the grand totals, the
 * statement both sides sign and the two signature blocks on the last page,
 * and a QR holding the signed manifest code the caller provides. Strings are borrowed for
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
    unsigned documents;   /* documents (giấy tờ) in the item; 0 = not counted. When any item has a
                           * count, the manifest gets a "Số tài liệu" column and a total */
} manifest_item_t;

typedef struct {
    const char *manifest_id;  /* printed and usually part of qr_text */
    const char *agency_name;  /* the handing-over agency */
    const char *carrier_name; /* the receiving carrier's display name as printed, e.g. "Bưu điện tỉnh
                               * Thái Nguyên" (never a code such as "vnpost"); may be NULL */
    const char *date;         /* dd/MM/yyyy */
    const char *qr_text;      /* signed manifest code for the QR */
    const manifest_item_t *items;
    size_t n;                 /* 1 .. MANIFEST_MAX_ITEMS */
    /* Optional; NULL or "" leaves a dotted line to fill in by hand. */
    const char *handover_time;  /* "14:30"; printed with date */
    const char *handover_place; /* where the items change hands, e.g. the agency's address */
    const char *agency_staff;   /* who hands over, printed under the agency's signature */
    const char *carrier_staff;  /* the postal staff who receives, under the carrier's signature */
    int receiving;              /* 1: a receipt at the agency (send leg): the postal staff hands over
                                 * (Bên giao, signs first), the agency receives (Bên nhận, its
                                 * receiving officer = agency_staff); the name column is the sender */
} manifest_data_t;

#define MANIFEST_MAX_ITEMS 5000

/* manifest_render_pdf - 0, or -1 with err saying what was wrong (no items,
 * too many, text not UTF-8, QR content too long, output too big) */
int manifest_render_pdf(const manifest_data_t *m, buf_t *out, char *err, size_t errlen);

#endif
