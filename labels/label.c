/*
 * label - the generic front of the label renderers (see label.h)
 *
 * Looks up the format, resolves the page, checks the batch size against the
 * format's capabilities, and normalises every input string to NFC so that a
 * decomposed "Nguyễn" (e + circumflex + tilde as combining marks) prints and
 * extracts exactly like the precomposed one. Backends never see NULL strings.
 */
#include "labels/label.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <utf8proc.h>

#include "crypto.h"

static const label_format_ops_t *const formats[] = {
    &label_format_pdf,
    &label_format_pdf_a4,
    &label_format_png,
    &label_format_svg,
    &label_format_zpl,
    &label_format_zpl_font,
};

static const struct {
    const char *name;
    double w, h;
} sizes[] = {
    { "100x150", 100.0, 150.0 },
    { "a6", 105.0, 148.0 },
};

const label_format_ops_t *
label_format_find(const char *name)
{
    size_t i;

    if (!name)
        return NULL;
    for (i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcasecmp(formats[i]->name, name) == 0)
            return formats[i];
    return NULL;
}

const char *
label_content_type(const char *format)
{
    const label_format_ops_t *ops = label_format_find(format);

    return ops ? ops->content_type : NULL;
}

int
label_page_resolve(const char *size, int dpi, label_page_t *page, char *err, size_t errlen)
{
    size_t i;

    if (!size || !*size)
        size = "100x150";
    if (dpi == 0)
        dpi = 203;
    if (dpi != 203 && dpi != 300) {
        snprintf(err, errlen, "unknown dpi %d; valid values: " LABEL_VALID_DPI, dpi);
        return -1;
    }
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (strcasecmp(sizes[i].name, size) == 0) {
            page->size_name = sizes[i].name;
            page->width_mm = sizes[i].w;
            page->height_mm = sizes[i].h;
            page->dpi = dpi;
            return 0;
        }
    }
    snprintf(err, errlen, "unknown label size \"%.32s\"; valid sizes: " LABEL_VALID_SIZES, size);
    return -1;
}

void
label_format_cod(long long amount, char *out, size_t outlen)
{
    char digits[32], grouped[48];
    unsigned long long v;
    size_t n, i, j = 0;

    if (amount == 0) {
        snprintf(out, outlen, "Không thu hộ");
        return;
    }
    v = amount < 0 ? 0ULL - (unsigned long long)amount : (unsigned long long)amount;
    n = (size_t)snprintf(digits, sizeof digits, "%llu", v);
    for (i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            grouped[j++] = '.';
        grouped[j++] = digits[i];
    }
    grouped[j] = '\0';
    snprintf(out, outlen, "%s%s đ", amount < 0 ? "-" : "", grouped);
}

int
label_tracking_url(const char *public_base_url, const char *waybill, const void *secret, size_t secretlen,
                   char *out, size_t outlen)
{
    uint8_t mac[SHA256_LEN];
    char b64[4 * ((SHA256_LEN + 2) / 3) + 1];
    size_t blen;
    int n;

    if (!public_base_url || !waybill || !out)
        return -1;
    blen = strlen(public_base_url);
    while (blen > 0 && public_base_url[blen - 1] == '/')
        blen--;
    hmac_sha256(secret, secretlen, waybill, strlen(waybill), mac);
    base64url_encode(mac, sizeof mac, b64);
    b64[LABEL_TOKEN_LEN] = '\0';
    n = snprintf(out, outlen, "%.*s/t/%s?k=%s", (int)blen, public_base_url, waybill, b64);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* The strings of one label, in a fixed order, for normalisation. */
#define NSTR 29

static const char *const field_names[NSTR] = {
    "waybill",          "dossier_code",       "tracking_url",       "carrier_service",
    "result_summary",   "date",               "sender.name",        "sender.phone",
    "sender.address",   "sender.commune",     "sender.province",    "recipient.name",
    "recipient.phone",  "recipient.address",  "recipient.commune",  "recipient.province",
    "sender.email",     "sender.postcode",    "recipient.email",    "recipient.postcode",
    "carrier_name",     "service_name",       "accepted_date",      "procedure_name",
    "postage_payer",    "authorised_name",    "authorised_relation", "note",
    "take_back",
};

static void
fields_of(label_data_t *d, const char ***f)
{
    f[0] = &d->waybill;
    f[1] = &d->dossier_code;
    f[2] = &d->tracking_url;
    f[3] = &d->carrier_service;
    f[4] = &d->result_summary;
    f[5] = &d->date;
    f[6] = &d->sender.name;
    f[7] = &d->sender.phone;
    f[8] = &d->sender.address;
    f[9] = &d->sender.commune;
    f[10] = &d->sender.province;
    f[11] = &d->recipient.name;
    f[12] = &d->recipient.phone;
    f[13] = &d->recipient.address;
    f[14] = &d->recipient.commune;
    f[15] = &d->recipient.province;
    f[16] = &d->sender.email;
    f[17] = &d->sender.postcode;
    f[18] = &d->recipient.email;
    f[19] = &d->recipient.postcode;
    f[20] = &d->carrier_name;
    f[21] = &d->service_name;
    f[22] = &d->accepted_date;
    f[23] = &d->procedure_name;
    f[24] = &d->postage_payer;
    f[25] = &d->authorised_name;
    f[26] = &d->authorised_relation;
    f[27] = &d->note;
    f[28] = &d->take_back;
}

/* is_ascii - 1 when s holds only bytes < 0x80 (already NFC, no copy needed) */
static int
is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* casefold - a case-folded NFC copy of s (caller frees), or NULL */
static char *
casefold(const char *s)
{
    utf8proc_uint8_t *out = NULL;

    if (utf8proc_map((const utf8proc_uint8_t *)s, 0, &out,
                     UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD) < 0)
        return NULL;
    return (char *)out;
}

void
label_join_address(const label_party_t *p, char *out, size_t outlen)
{
    const char *parts[3] = { p->address, p->commune, p->province };
    /* a part the address already spells out, in any letter case ("phường Ngọc Hà"), is not repeated */
    char *folded_address = p->address ? casefold(p->address) : NULL;
    size_t len = 0;
    int i;

    if (outlen == 0) {
        free(folded_address);
        return;
    }
    out[0] = '\0';
    for (i = 0; i < 3; i++) {
        int n;
        if (!parts[i] || !*parts[i])
            continue;
        if (i > 0 && p->address) {
            char *folded = casefold(parts[i]);
            int spelled = folded && folded_address ? strstr(folded_address, folded) != NULL
                                                   : strstr(p->address, parts[i]) != NULL;
            free(folded);
            if (spelled)
                continue;
        }
        n = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "", parts[i]);
        if (n < 0 || (size_t)n >= outlen - len)
            break;
        len += (size_t)n;
    }
    free(folded_address);
    if (p->postcode && *p->postcode && len < outlen)
        snprintf(out + len, outlen - len, "%smã bưu chính %s", len ? " — " : "", p->postcode);
}

static int
given(const char *s)
{
    return s && *s;
}

void
label_service_text(const label_data_t *d, char *out, size_t outlen)
{
    if (given(d->carrier_name) && given(d->service_name))
        snprintf(out, outlen, "%s — %s", d->carrier_name, d->service_name);
    else if (given(d->carrier_name) || given(d->service_name))
        snprintf(out, outlen, "%s", given(d->carrier_name) ? d->carrier_name : d->service_name);
    else
        snprintf(out, outlen, "%s", d->carrier_service ? d->carrier_service : "");
}

void
label_accepted_text(const label_data_t *d, char *out, size_t outlen)
{
    snprintf(out, outlen, "Ngày nhận gửi: %s", given(d->accepted_date) ? d->accepted_date : "……/……/………");
}

/* appendf - snprintf at *len into out, *len kept within outlen */
static void
appendf(char *out, size_t outlen, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
appendf(char *out, size_t outlen, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*len >= outlen)
        return;
    va_start(ap, fmt);
    n = vsnprintf(out + *len, outlen - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = *len + (size_t)n < outlen ? *len + (size_t)n : outlen - 1;
}

void
label_tt17_text(const label_data_t *d, char *out, size_t outlen)
{
    size_t len = 0, i;

    if (outlen == 0)
        return;
    out[0] = '\0';
    if (given(d->procedure_name))
        appendf(out, outlen, &len, "Thủ tục: %s\n", d->procedure_name);
    if (d->documents && d->ndocuments) {
        appendf(out, outlen, &len, "Giấy tờ: ");
        for (i = 0; i < d->ndocuments; i++)
            appendf(out, outlen, &len, "%s%s (%s)", i ? "; " : "", d->documents[i].name ? d->documents[i].name : "",
                    d->documents[i].original ? "bản chính" : "bản sao");
        appendf(out, outlen, &len, "\n");
    }
    if (d->weight_grams || given(d->postage_payer)) {
        if (d->weight_grams)
            appendf(out, outlen, &len, "Khối lượng: %u g", d->weight_grams);
        if (given(d->postage_payer)) {
            char cod[48];
            label_format_cod(d->postage, cod, sizeof cod);
            appendf(out, outlen, &len, "%sCước: %s (%s)", d->weight_grams ? " · " : "",
                    d->postage ? cod : "0 đ", d->postage_payer);
        }
        appendf(out, outlen, &len, "\n");
    }
    if (given(d->take_back))
        appendf(out, outlen, &len, "Giấy tờ thu lại: %s\n", d->take_back);
    /* the authorised person and the note share a line: both are short,
     * and the label has room for few lines */
    if (given(d->authorised_name)) {
        appendf(out, outlen, &len, "Người được ủy quyền: %s", d->authorised_name);
        if (given(d->authorised_relation))
            appendf(out, outlen, &len, " (%s)", d->authorised_relation);
    }
    if (given(d->note))
        appendf(out, outlen, &len, "%sGhi chú: %s", given(d->authorised_name) ? " · " : "", d->note);
    while (len > 0 && out[len - 1] == '\n')
        out[--len] = '\0';
}

char *
label_nfc(const char *s)
{
    if (!s)
        s = "";
    return (char *)utf8proc_NFC((const utf8proc_uint8_t *)s);
}

/* normalise_documents - out->documents as an owned copy with NFC names,
 * each name and the array recorded in *owned (caller frees every entry,
 * then the list); 0, or -1 naming the bad document */
static int
normalise_documents(label_data_t *out, size_t idx, char ***owned, char *err, size_t errlen)
{
    label_document_t *docs;
    size_t i;

    if (!out->documents || out->ndocuments == 0) {
        out->documents = NULL;
        out->ndocuments = 0;
        return 0;
    }
    *owned = calloc(out->ndocuments + 2, sizeof **owned); /* names, the array, NULL */
    docs = calloc(out->ndocuments, sizeof *docs);
    if (!*owned || !docs) {
        free(docs);
        snprintf(err, errlen, "label %zu: out of memory for its documents", idx + 1);
        return -1;
    }
    (*owned)[0] = (char *)docs;
    for (i = 0; i < out->ndocuments; i++) {
        docs[i] = out->documents[i];
        docs[i].name = (*owned)[i + 1] = label_nfc(docs[i].name);
        if (!docs[i].name) {
            snprintf(err, errlen, "label %zu: document %zu's name is not valid UTF-8; send UTF-8 text", idx + 1,
                     i + 1);
            return -1;
        }
    }
    out->documents = docs;
    return 0;
}

/* normalise - copy in to out with NFC strings; the copies are in owned[]
 * (NULL where the input was borrowed as is). 0, or -1 naming the bad field. */
static int
normalise(const label_data_t *in, size_t idx, label_data_t *out, char **owned, char *err, size_t errlen)
{
    const char **f[NSTR];
    size_t i;

    *out = *in;
    fields_of(out, f);
    for (i = 0; i < NSTR; i++) {
        const char *s = *f[i];
        if (!s) {
            *f[i] = "";
            continue;
        }
        if (is_ascii(s))
            continue;
        owned[i] = (char *)utf8proc_NFC((const utf8proc_uint8_t *)s);
        if (!owned[i]) {
            snprintf(err, errlen, "label %zu: field %s is not valid UTF-8; send UTF-8 text", idx + 1,
                     field_names[i]);
            return -1;
        }
        *f[i] = owned[i];
    }
    return 0;
}

static int
check_waybill(const char *w, size_t idx, char *err, size_t errlen)
{
    size_t n = strlen(w);
    size_t i;

    if (n == 0 || n > 40) {
        snprintf(err, errlen, "label %zu: waybill must have 1 to 40 characters, got %zu", idx + 1, n);
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (w[i] < 0x20 || w[i] > 0x7e) {
            snprintf(err, errlen, "label %zu: waybill must be printable ASCII (e.g. RR000000014VN)",
                     idx + 1);
            return -1;
        }
    }
    return 0;
}

void
label_result_add(label_result_t *res, size_t cut, const char *first_field)
{
    if (cut == 0)
        return;
    res->shortened += cut;
    res->labels_shortened++;
    if (!res->first_field)
        res->first_field = first_field;
}

int
label_render_batch(const label_data_t *items, size_t n, const label_options_t *opt, buf_t *out, char *err,
                   size_t errlen)
{
    return label_render(items, n, opt, out, NULL, err, errlen);
}

int
label_render(const label_data_t *items, size_t n, const label_options_t *opt, buf_t *out, label_result_t *res,
             char *err, size_t errlen)
{
    label_result_t scratch;
    const label_format_ops_t *ops;
    const char *fmt = opt && opt->format && *opt->format ? opt->format : "pdf";
    label_page_t page;
    label_data_t *norm = NULL;
    char **owned = NULL, ***owned_docs = NULL;
    size_t i;
    int rc = -1;

    if (!res)
        res = &scratch;
    memset(res, 0, sizeof *res);
    ops = label_format_find(fmt);
    if (!ops) {
        snprintf(err, errlen, "unknown label format \"%.32s\"; valid formats: " LABEL_VALID_FORMATS, fmt);
        return -1;
    }
    if ((ops->caps & LABEL_A6_ONLY) && opt && opt->size && *opt->size && strcasecmp(opt->size, "a6") != 0) {
        snprintf(err, errlen, "format %s prints A6 labels; leave size out or send a6", ops->name);
        return -1;
    }
    if (label_page_resolve((ops->caps & LABEL_A6_ONLY) ? "a6" : opt ? opt->size : NULL, opt ? opt->dpi : 0, &page,
                           err, errlen) != 0)
        return -1;
    if (n == 0) {
        snprintf(err, errlen, "no labels to render; send at least one");
        return -1;
    }
    if (!(ops->caps & LABEL_CAN_BATCH) && n != 1) {
        snprintf(err, errlen, "format %s holds one label, got %zu; use pdf, pdf-a4, zpl or zpl-font for batches", ops->name,
                 n);
        return -1;
    }
    if (n > LABEL_MAX_BATCH) {
        snprintf(err, errlen, "batch of %zu labels is too big; at most %d per request", n, LABEL_MAX_BATCH);
        return -1;
    }
    norm = calloc(n, sizeof *norm);
    owned = calloc(n * NSTR, sizeof *owned);
    owned_docs = calloc(n, sizeof *owned_docs);
    if (!norm || !owned || !owned_docs) {
        snprintf(err, errlen, "out of memory for %zu labels", n);
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (normalise(&items[i], i, &norm[i], owned + i * NSTR, err, errlen) != 0 ||
            normalise_documents(&norm[i], i, &owned_docs[i], err, errlen) != 0)
            goto out;
        if (check_waybill(norm[i].waybill, i, err, errlen) != 0)
            goto out;
    }
    rc = ops->render(norm, n, &page, out, res, err, errlen);
out:
    if (owned)
        for (i = 0; i < n * NSTR; i++)
            free(owned[i]);
    free(owned);
    if (owned_docs)
        for (i = 0; i < n; i++) {
            size_t k;
            for (k = 0; owned_docs[i] && (k == 0 || owned_docs[i][k]); k++)
                free(owned_docs[i][k]);
            free(owned_docs[i]);
        }
    free(owned_docs);
    free(norm);
    return rc;
}
