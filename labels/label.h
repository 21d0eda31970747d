/*
 * label - waybill labels that people can print and machines can read
 *
 * One front (label.c) and one implementation per output format, each a
 * const label_format_ops_t with named slots, like curl's vtls backends:
 *   label_format_pdf, label_format_png, label_format_svg  (label_cairo.c,
 *       cairo + pango, DejaVu Sans, one shared layout routine)
 *   label_format_pdf_a4  (label_cairo.c) the same A6 labels four to an A4
 *       page with cut marks, for offices without a thermal printer
 *   label_format_zpl, label_format_zpl_font               (label_zpl.c)
 * The front looks the format up by name, parses the page size and dpi,
 * normalises every input string to Unicode NFC (utf8proc) and hands the
 * normalised copies to the backend.
 *
 * Ownership: every string in label_data_t is borrowed for the duration of
 * the call. The output goes into a caller-owned buf_t (initialised by the
 * caller, appended to, never freed here). On error the buffer may hold a
 * partial output; the caller discards it.
 *
 * COD: an amount of 0 is printed "Không thu hộ" (no collection), which a
 * postman cannot misread as "collect 0 đ"; other amounts as "50.000 đ".
 *
 * Text that does not fit its box shrinks, then wraps, then ends with an
 * ellipsis; label_render() says how many boxes were cut (label_result_t)
 * so that nothing is shortened without the caller knowing. The TT 17
 * Điều 9 fields of label_data_t are optional: what is not given is not
 * printed.
 */
#ifndef BCCI_LABEL_H
#define BCCI_LABEL_H

#include <stddef.h>

#include "buf.h"

typedef struct {
    const char *name;     /* agency or citizen name */
    const char *phone;
    const char *address;  /* street part or full address */
    const char *commune;  /* may be NULL or "" */
    const char *province; /* may be NULL or "" */
    const char *email;    /* NULL or "": not printed */
    const char *postcode; /* the commune's mã bưu chính, "24108"; NULL or "": not printed */
} label_party_t;

/* One document in the parcel, as TT 17 Điều 9 asks it listed. */
typedef struct {
    const char *name; /* "Giấy chứng nhận quyền sử dụng đất" */
    int original;     /* 1: bản chính (original), 0: bản sao (copy) */
} label_document_t;

typedef struct {
    const char *waybill;         /* S10, e.g. RR000000014VN (printable ASCII, <= 40 chars) */
    const char *dossier_code;    /* 000.00.31.H23-231124-0001 */
    const char *tracking_url;    /* QR content: {public_base_url}/t/{waybill}?k={token} */
    const char *carrier_service; /* "VNPost — Chuyển phát thường (CTN001)"; see carrier_name */
    const char *result_summary;  /* what the parcel holds, e.g. "Giấy chứng nhận …" */
    const char *date;            /* dd/MM/yyyy: the print date. Not printed as "Ngày nhận gửi",
                                  * which is accepted_date */
    label_party_t sender;
    label_party_t recipient;
    long long cod_amount;        /* đồng; 0 = nothing to collect */

    /* The rest of a phiếu gửi's content under TT 17 Điều 9; NULL, 0 or ""
     * = not printed, unless said otherwise. */
    const char *carrier_name;    /* display name, "Bưu điện Việt Nam"; with service_name it is
                                  * printed instead of carrier_service */
    const char *service_name;    /* display name, "Chuyển phát nhanh" */
    const char *accepted_date;   /* dd/MM/yyyy once the carrier accepted the item; NULL or "" prints
                                  * an empty "Ngày nhận gửi: ……" line to fill in */
    const char *procedure_name;  /* the administrative procedure */
    const label_document_t *documents; /* ndocuments entries, borrowed */
    size_t ndocuments;
    unsigned weight_grams;
    const char *postage_payer;   /* who pays the postage: "Người gửi trả", "Cơ quan trả", …;
                                  * NULL = no postage line */
    long long postage;           /* đồng; printed with postage_payer */
    const char *authorised_name; /* the person authorised to receive (người được ủy quyền) */
    const char *authorised_relation; /* their relation to the recipient, "con" */
    const char *note;            /* ghi chú */
    const char *take_back;       /* documents the postman takes back (giấy tờ thu lại) */
    int receiver_signature;      /* 1: a box for the receiver's signature */
} label_data_t;

typedef struct {
    const char *format; /* "pdf" (default when NULL), "pdf-a4", "png", "svg", "zpl", "zpl-font" */
    const char *size;   /* "100x150" (default when NULL), "a6"; pdf-a4: NULL or "a6" */
    int dpi;            /* 203 (default when 0) or 300; raster formats and ZPL */
} label_options_t;

/* A resolved page: what the backends get. */
typedef struct {
    const char *size_name; /* "100x150" or "a6" */
    double width_mm, height_mm;
    int dpi;
} label_page_t;

enum {
    LABEL_CAN_BATCH = 1 << 0, /* many labels in one output */
    LABEL_A6_ONLY = 1 << 1,   /* the format's cells are A6: no size, or "a6" */
};

/* What a render had to shorten. Text that does not fit its box is first
 * shrunk (down to a readable minimum), then wrapped, and only then cut
 * with an ellipsis; every cut is counted here so that the caller can say so
 * (an HTTP response header, a warning to the clerk). */
typedef struct {
    size_t shortened;        /* text boxes cut with an ellipsis, over the batch */
    size_t labels_shortened; /* labels with at least one box cut */
    const char *first_field; /* the first field cut, e.g. "recipient.name" (static); NULL when none */
} label_result_t;

/* One output format. */
typedef struct label_format_ops {
    const char *name;         /* "pdf" */
    const char *content_type; /* "application/pdf" */
    unsigned caps;            /* LABEL_CAN_* */
    /* render - append n (>= 1) labels to out; strings are NFC, never NULL;
     * res (never NULL, zeroed by the front) counts what was cut.
     * 0 or -1 with a message in err. */
    int (*render)(const label_data_t *items, size_t n, const label_page_t *page, buf_t *out, label_result_t *res,
                  char *err, size_t errlen);
} label_format_ops_t;

extern const label_format_ops_t label_format_pdf;
extern const label_format_ops_t label_format_pdf_a4;   /* A4 sheets of four A6 labels, cut marks */
extern const label_format_ops_t label_format_png;
extern const label_format_ops_t label_format_svg;
extern const label_format_ops_t label_format_zpl;      /* text as bitmaps: any ZPL II printer */
extern const label_format_ops_t label_format_zpl_font; /* text in the printer's font 0 */

#define LABEL_MAX_BATCH 10000
#define LABEL_VALID_FORMATS "pdf, png, svg, zpl, zpl-font, pdf-a4"
#define LABEL_VALID_SIZES "100x150, a6"
#define LABEL_VALID_DPI "203, 300"

/* label_render_batch - render n labels into out (caller-owned buf_t).
 * PNG and SVG take exactly one label; PDF (one page per label), PDF-A4 (four
 * per page) and ZPL (one ^XA…^XZ per label) take up to LABEL_MAX_BATCH. Returns 0, or -1 with err
 * saying what was wrong (unknown format/size/dpi lists the valid values;
 * a string that is not UTF-8 names the field). */
int label_render_batch(const label_data_t *items, size_t n, const label_options_t *opt, buf_t *out, char *err,
                       size_t errlen);

/* label_render - label_render_batch that also fills res (caller-owned, may
 * be NULL) with what had to be cut to fit; res is zeroed first and is
 * meaningful only when 0 is returned */
int label_render(const label_data_t *items, size_t n, const label_options_t *opt, buf_t *out, label_result_t *res,
                 char *err, size_t errlen);

/* label_result_add - count one label's cuts (cut boxes, first field cut)
 * into res; for the backends */
void label_result_add(label_result_t *res, size_t cut, const char *first_field);

/* label_format_find - the backend called name, or NULL */
const label_format_ops_t *label_format_find(const char *name);

/* label_content_type - MIME type of a format name, or NULL when unknown */
const char *label_content_type(const char *format);

/* label_page_resolve - fill page from size name and dpi (NULL/0 = defaults);
 * 0, or -1 with err listing the valid values */
int label_page_resolve(const char *size, int dpi, label_page_t *page, char *err, size_t errlen);

/* label_format_cod - "50.000 đ" (dot thousands separator), "Không thu hộ"
 * for 0; negative amounts get a leading '-'. Writes at most outlen bytes. */
void label_format_cod(long long amount, char *out, size_t outlen);

/* label_join_address - "address, commune, province" into out, skipping empty
 * parts and parts the address already spells out in any letter case, then
 * " — mã bưu chính 24108" when the postcode is known; used by every backend
 * so that all formats print the same address */
void label_join_address(const label_party_t *p, char *out, size_t outlen);

/* label_service_text - what the label says of carrier and service:
 * "carrier_name — service_name" when the caller named them, else
 * carrier_service */
void label_service_text(const label_data_t *d, char *out, size_t outlen);

/* label_accepted_text - "Ngày nhận gửi: 24/11/2025", or with "……" to fill
 * in when the acceptance date is not known yet */
void label_accepted_text(const label_data_t *d, char *out, size_t outlen);

/* label_tt17_text - the TT 17 lines the caller gave (procedure, documents
 * with bản chính/bản sao, weight and postage, authorised person, note,
 * documents to take back), one per line ('\n'), into out; "" when none */
void label_tt17_text(const label_data_t *d, char *out, size_t outlen);

/* label_nfc - a NFC copy of s (caller frees), or NULL when s is not valid
 * UTF-8 or memory ran out. NULL s gives an empty string. */
char *label_nfc(const char *s);

#define LABEL_TOKEN_LEN 16

/* label_tracking_url - "{base}/t/{waybill}?k={token}" with
 * token = base64url(HMAC-SHA256(secret, waybill)) cut to 16 characters.
 * A trailing '/' on base is dropped. 0, or -1 when out is too small. */
int label_tracking_url(const char *public_base_url, const char *waybill, const void *secret, size_t secretlen,
                       char *out, size_t outlen);

#endif
