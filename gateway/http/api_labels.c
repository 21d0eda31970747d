/*
 * api_labels - waybill labels, handover manifests (biên bản giao nhận) and
 * acceptance scans over HTTP (design §7, §9)
 *
 *   GET  /v1/shipments/{waybill}/label?format=&size=&dpi=   clerk, admin, post office
 *   POST /v1/labels     {"waybills": […] | "ready": true, "agency_code"?, "format", "size"?, "dpi"?}
 *   POST /v1/manifests  {"waybills": […]} | {"agency_code": …, "all_ready": true}
 *   GET  /v1/manifests/{id}.pdf
 *   POST /v1/scans      {"code": <manifest QR or waybill>, "event": "accepted"}
 *   POST /v1/receipts   {"waybills": […], "officer": "Nguyễn Văn A"}   send leg, at the agency
 *   GET  /v1/receipts/{id}.pdf
 *
 * A receipt is the receiving officer's acceptance of send-leg items at the desk: the legal
 * submission time (QĐ 45 Điều 7.4). Items must be out_for_delivery or delivered (the postman
 * is at the desk or the carrier already said delivered); earlier ones are 409 not_arrived.
 * The store records the receipt and its rules (store_labels.h); the sink (sink_receive) puts
 * the moment on the timeline and tells the case system (DVC 2, NgayTiepNhan).
 *
 * A print is a write: the engine counts it and appends the label_printed
 * event (store_labels.h), and only after the commit are the labels drawn,
 * on a render thread (http_submit_rendered) from the records the write
 * returned, and sent by the finish function on the HTTP thread. JSON answers are built here from the store's typed records.
 * Options are checked before the write, so a bad format prints nothing.
 *
 * Manifest codes are "BCCI-MF:" + public id + "." + the first 16 characters
 * of base64url(HMAC-SHA256(server secret, public id)); a scan verifies the
 * MAC in constant time before it touches the database, so a forged code
 * changes nothing.
 *
 * Ownership: each handler allocates one lreq_t parked with http_keep; it
 * owns the parsed body and the waybill list, which the write borrows, and
 * the records the write returns (freed with the request).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "carriers/carrier.h"
#include "domain/areas.h"
#include "domain/dossier.h"
#include "gateway/http/http_internal.h"
#include "gateway/store/store_dossiers.h"
#include "gateway/store/store_labels.h"
#include "gateway/http/http_json.h"
#include "gateway/rules/sink.h"
#include "labels/label.h"
#include "labels/manifest.h"
#include "domain/s10.h"
#include "log.h"
#include "utf8.h"

#define LABELS_MANIFEST_PREFIX "BCCI-MF:"
#define LABELS_MANIFEST_ID_LEN 20 /* "BB-20251124-ABCDEFGH" */
#define LABELS_MANIFEST_MAC_LEN 16
#define LABELS_MANIFEST_CODE_MAX 64

#define LABEL_ONE_LIMIT (16u << 20)
#define LABEL_BATCH_LIMIT (512u << 20)
#define MANIFEST_PDF_LIMIT (64u << 20)
#define LABEL_BATCH_MAX 2000 /* per request; the CLI pages through more */

typedef struct {
    json_t *root;            /* owned: the parsed body */
    const char **list;       /* owned array; strings borrowed from root */
    char waybill[S10_LEN + 1];
    char format[24];
    char size[16];
    int dpi;
    char agency[64];
    char public_id[32];
    char code[LABELS_MANIFEST_CODE_MAX];
    char client[72];
    store_label_print_t pr;
    store_manifest_new_t mr;
    store_label_list_t labels; /* what the print returned */
    char officer[256];
    store_receipt_new_t rr;
    const sink_policy_t *policy;
    const http_api_config_t *cfg; /* the server's, for drawing off the HTTP thread */
    /* what draw_labels drew, for finish_labels to send */
    int drawn;
    api_error_t draw_err;         /* status 0: the drawing is ready */
    char *drawing;                /* owned until sent */
    size_t drawing_len;
    char disp[160];
    char shortened[96];           /* X-BCCI-Label-Shortened, "" when nothing was cut */
} lreq_t;

static void
lreq_free(void *p)
{
    lreq_t *r = p;

    if (!r)
        return;
    json_decref(r->root);
    free(r->list);
    store_label_list_free(&r->labels);
    free(r->drawing);
    free(r);
}

static lreq_t *
lreq_new(http_ctx_t *c)
{
    lreq_t *r = calloc(1, sizeof *r);

    if (r) {
        r->cfg = http_config(c);
        http_keep(c, r, lreq_free);
    }
    return r;
}

/* ------------------------------------------------------------- helpers */

/* vn_date - "dd/MM/yyyy" of ms in Vietnam time; ymd (9 bytes, may be NULL) gets "yyyymmdd" */
static void
vn_date(int64_t ms, char out[11], char *ymd)
{
    clock_format(ms, CLOCK_VN_DATE, out, 11);
    if (ymd)
        clock_format(ms, CLOCK_YMD, ymd, 9);
}

/* carrier_org, carrier_service_name - what people read about a carrier: its ops table's
 * display names; the configuration name only for a carrier this build does not know */
static const char *
carrier_org(const char *carrier)
{
    const carrier_ops_t *ops = carrier_find(carrier);

    return ops && ops->display_name ? ops->display_name : carrier;
}

static const char *
carrier_service_name(const char *carrier, int express)
{
    const carrier_ops_t *ops = carrier_find(carrier);
    const char *name = ops ? (express ? ops->express_service_name : ops->service_name) : NULL;

    return name ? name : "";
}

static const char *
jstr(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);
    const char *s;

    if (b)
        v = json_object_get(v, b);
    s = json_string_value(v);
    return s ? s : "";
}

/* refusal_error - the answer to a refused labels operation: the store's reason becomes the
 * status and code clients know; field names the request field of the waybills */
static void
refusal_error(api_error_t *err, store_rc_t rc, const store_labels_refusal_t *why, const char *message,
              const char *field)
{
    switch (rc == STORE_OK || rc == STORE_BUSY || rc == STORE_ERROR ? STORE_LABELS_OK : why->reason) {
    case STORE_LABELS_UNKNOWN:
        api_error_set(err, 404, "not_found", field, "%s", message);
        break;
    case STORE_LABELS_UNKNOWN_ON_MANIFEST:
        api_error_set(err, 409, "unknown_waybill", field, "%s", message);
        break;
    case STORE_LABELS_CANCELLED:
        api_error_set(err, 409, "shipment_cancelled", field, "%s", message);
        break;
    case STORE_LABELS_FINAL:
        api_error_set(err, 409, "shipment_final", field, "%s", message);
        break;
    case STORE_LABELS_ON_OPEN_MANIFEST:
        api_error_set(err, 409, "already_on_manifest", field, "%s", message);
        break;
    case STORE_LABELS_MIXED_AGENCIES:
        api_error_set(err, 409, "mixed_agencies", field, "%s", message);
        break;
    case STORE_LABELS_NOTHING_READY:
        api_error_set(err, 422, "nothing_ready", why->other[0] ? "agency_code" : NULL, "%s", message);
        break;
    case STORE_LABELS_TOO_MANY:
        api_error_set(err, 422, "too_many", "agency_code", "%s", message);
        break;
    case STORE_LABELS_NOT_SEND_LEG:
        api_error_set(err, 422, "not_send_leg", field, "%s", message);
        break;
    case STORE_LABELS_NOT_ARRIVED:
        api_error_set(err, 409, "not_arrived", field, "%s", message);
        break;
    case STORE_LABELS_ALREADY_RECEIVED:
        api_error_set(err, 409, "already_received", field, "%s", message);
        break;
    case STORE_LABELS_DUPLICATE:
        api_error_set(err, 422, "duplicate_waybill", field, "%s", message);
        break;
    case STORE_LABELS_ID_TAKEN:
        api_error_set(err, 503, "id_collision", NULL, "%s", message);
        err->retry_after = 1;
        break;
    default:
        http_store_error(err, rc, message);
        break;
    }
}

/* manifest_mac - the 16-character MAC of a public id */
static void
manifest_mac(http_ctx_t *c, const char *public_id, size_t idlen, char mac[LABELS_MANIFEST_MAC_LEN + 1])
{
    const http_api_config_t *cfg = http_config(c);
    uint8_t h[SHA256_LEN];
    char b64[48];

    hmac_sha256(cfg->secret, cfg->secretlen, public_id, idlen, h);
    base64url_encode(h, sizeof h, b64);
    memcpy(mac, b64, LABELS_MANIFEST_MAC_LEN);
    mac[LABELS_MANIFEST_MAC_LEN] = '\0';
}

/* manifest_verify - 0 and the public id when code is a manifest code of this server, else -1 */
static int
manifest_verify(http_ctx_t *c, const char *code, char *public_id, size_t len)
{
    size_t plen = strlen(LABELS_MANIFEST_PREFIX);
    const char *p, *dot;
    char want[LABELS_MANIFEST_MAC_LEN + 1];

    if (strncmp(code, LABELS_MANIFEST_PREFIX, plen) != 0)
        return -1;
    p = code + plen;
    dot = strchr(p, '.');
    if (!dot || (size_t)(dot - p) != LABELS_MANIFEST_ID_LEN || strlen(dot + 1) != LABELS_MANIFEST_MAC_LEN ||
        len <= LABELS_MANIFEST_ID_LEN)
        return -1;
    manifest_mac(c, p, LABELS_MANIFEST_ID_LEN, want);
    if (!ct_equal(dot + 1, want, LABELS_MANIFEST_MAC_LEN))
        return -1;
    memcpy(public_id, p, LABELS_MANIFEST_ID_LEN);
    public_id[LABELS_MANIFEST_ID_LEN] = '\0';
    return 0;
}

/* new_manifest_id - "BB-yyyymmdd-" + 8 base32 characters of 40 random bits; -1 when the RNG failed */
static int
new_public_id(const char *prefix, int64_t now, char out[32])
{
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint8_t rnd[5];
    uint64_t bits = 0;
    char day[11], ymd[9], tail[9];
    int i;

    if (random_bytes(rnd, sizeof rnd) != 0)
        return -1;
    for (i = 0; i < 5; i++)
        bits = (bits << 8) | rnd[i];
    for (i = 7; i >= 0; i--) {
        tail[i] = b32[bits & 31];
        bits >>= 5;
    }
    tail[8] = '\0';
    vn_date(now, day, ymd);
    snprintf(out, 32, "%s-%s-%s", prefix, ymd, tail);
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* parse_waybills - r->list from body "waybills": an array of 1..max valid, distinct S10 numbers.
 * 0, or -1 with the answer in *ret. */
static int
parse_waybills(http_ctx_t *c, lreq_t *r, size_t max, size_t *n, enum MHD_Result *ret)
{
    json_t *arr = json_object_get(r->root, "waybills");
    const char **sorted;
    size_t i, len;
    char field[32];

    if (!json_is_array(arr)) {
        *ret = http_fail(c, 422, "invalid_field", "waybills", "waybills must be an array of S10 waybill numbers");
        return -1;
    }
    len = json_array_size(arr);
    if (len == 0) {
        *ret = http_fail(c, 422, "empty_list", "waybills", "waybills is empty; list at least one waybill");
        return -1;
    }
    if (len > max) {
        *ret = http_fail(c, 422, "too_many", "waybills", "at most %zu waybills per request; got %zu, split them", max,
                         len);
        return -1;
    }
    r->list = calloc(len, sizeof *r->list);
    sorted = calloc(len, sizeof *sorted);
    if (!r->list || !sorted) {
        free(sorted);
        *ret = http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    for (i = 0; i < len; i++) {
        const char *wb = json_string_value(json_array_get(arr, i));

        snprintf(field, sizeof field, "waybills[%zu]", i);
        if (!wb) {
            free(sorted);
            *ret = http_fail(c, 422, "invalid_field", field, "%s must be a string such as RR000000014VN", field);
            return -1;
        }
        if (http_check_waybill(c, wb, field, ret) != 0) {
            free(sorted);
            return -1;
        }
        r->list[i] = sorted[i] = wb;
    }
    qsort(sorted, len, sizeof *sorted, cmp_str);
    for (i = 1; i < len; i++) {
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            *ret = http_fail(c, 422, "duplicate_waybill", "waybills", "waybill %s is listed twice; list it once",
                             sorted[i]);
            free(sorted);
            return -1;
        }
    }
    free(sorted);
    *n = len;
    return 0;
}

/* check_options - format (batch: only formats that take many labels), size, dpi; 0 or -1 with *ret */
static int
check_options(http_ctx_t *c, lreq_t *r, int batch, enum MHD_Result *ret)
{
    const label_format_ops_t *f = label_format_find(r->format);
    label_page_t page;
    char err[256];

    if (!f) {
        *ret = http_fail(c, 400, "invalid_format", "format", "unknown label format '%.16s'; valid: %s", r->format,
                         batch ? "pdf, zpl, zpl-font" : LABEL_VALID_FORMATS);
        return -1;
    }
    if (batch && !(f->caps & LABEL_CAN_BATCH)) {
        *ret = http_fail(c, 400, "invalid_format", "format",
                         "format '%s' holds one label; for many labels use one of: pdf, zpl, zpl-font", r->format);
        return -1;
    }
    if (label_page_resolve(r->size[0] ? r->size : NULL, r->dpi, &page, err, sizeof err) != 0) {
        *ret = http_fail(c, 400, "invalid_option", strncmp(err, "unknown dpi", 11) == 0 ? "dpi" : "size", "%s", err);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- labels */

static int
write_print(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    lreq_t *r = arg;
    store_labels_refusal_t why;
    store_rc_t rc;

    store_label_list_free(&r->labels); /* a write may be run again after a failed batch */
    rc = store_labels_print(tx, &r->pr, now, &r->labels, &why);
    if (rc != STORE_OK) {
        refusal_error(err, rc, &why, store_tx_message(tx), "waybills");
        return -1;
    }
    /* the finish function renders from r->labels; the result only says how many */
    *out = json_pack("{s:I}", "labels", (json_int_t)r->labels.n);
    if (!*out) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    return 200;
}

#define LABEL_MAX_DOCUMENTS 50 /* as intake allows */

typedef struct {
    char url[512];
    char accepted[11];
    label_document_t docs[LABEL_MAX_DOCUMENTS];
    char commune[320]; /* up to 100 characters of name, 3 bytes each at most */
    char province[64];
    char agency_commune[320];
    char agency_province[64];
} label_extra_t;

/* finish_labels - render what the committed write returned */
/* draw_labels - the labels of the print the engine recorded (r->labels), drawn into
 * r->drawing; on a render thread (http_submit_rendered), so it reads nothing of the request
 * but r. A failure is left in r->draw_err. */
static void
draw_labels(void *arg)
{
    lreq_t *r = arg;
    const http_api_config_t *cfg = r->cfg;
    size_t n = r->labels.n, i;
    label_data_t *items = NULL;
    label_extra_t *extra = NULL;
    json_t **bodies = NULL;
    label_options_t opt;
    char date[11], err[256];
    label_result_t cut;
    buf_t out;
    int rc;

    r->drawn = 1;
    items = calloc(n ? n : 1, sizeof *items);
    extra = calloc(n ? n : 1, sizeof *extra);
    bodies = calloc(n ? n : 1, sizeof *bodies);
    if (!items || !extra || !bodies) {
        free(items);
        free(extra);
        free(bodies);
        api_error_set(&r->draw_err, 503, "unavailable", NULL, "out of memory; the print was recorded, retry");
        return;
    }
    vn_date(clock_now_ms(), date, NULL);
    for (i = 0; i < n; i++) {
        const store_label_item_t *it = &r->labels.items[i];
        const json_t *body;
        label_data_t *d = &items[i];

        /* the submission as the intake stored it; an unreadable one prints without its parts */
        bodies[i] = json_loads(it->body ? it->body : "{}", 0, NULL);
        if (!bodies[i])
            log_error("the stored submission of %s cannot be read; its label lacks the addresses", it->waybill);
        body = bodies[i];
        d->waybill = it->waybill;
        d->dossier_code = it->dossier_code;
        d->carrier_name = carrier_org(it->carrier);
        d->service_name = carrier_service_name(
            it->carrier, json_string_value(json_object_get(body, "delivery")) &&
                             strcmp(json_string_value(json_object_get(body, "delivery")), "express") == 0);
        d->carrier_service = d->carrier_name;
        d->result_summary = jstr(body, "result", "summary");
        d->date = date;
        d->cod_amount = it->cod_amount;
        /* TT 17 Điều 9: the acceptance date once the post office has the item (a reprint after
         * the handover shows it); before that the line is left for the postman to fill in */
        if (it->accepted_at > 0) {
            vn_date(it->accepted_at, extra[i].accepted, NULL);
            d->accepted_date = extra[i].accepted;
        }
        /* the return leg carries the result from the agency to the citizen; the send leg
         * (QĐ 45 Điều 5) collects the dossier from the citizen, the sender, for the agency */
        {
            int send = strcmp(it->leg, "send") == 0;
            const char *citizen = send ? "sender" : "recipient";
            label_party_t *agency = send ? &d->recipient : &d->sender;
            label_party_t *person = send ? &d->sender : &d->recipient;

            agency->name = jstr(body, "agency", "name");
            agency->phone = jstr(body, "agency", "phone");
            agency->address = jstr(body, "agency", "address");
            areas_commune_text(cfg->areas, jstr(body, "agency", "commune_code"), extra[i].agency_commune,
                               sizeof extra[i].agency_commune);
            areas_province_text(jstr(body, "agency", "province_code"), extra[i].agency_province,
                                sizeof extra[i].agency_province);
            agency->commune = extra[i].agency_commune;
            agency->province = extra[i].agency_province;
            agency->postcode = areas_commune_postcode(jstr(body, "agency", "commune_code"));
            person->name = jstr(body, citizen, "name");
            person->phone = jstr(body, citizen, "phone");
            person->address = jstr(body, citizen, "address");
            person->email = jstr(body, citizen, "email");
            areas_commune_text(cfg->areas, jstr(body, citizen, "commune_code"), extra[i].commune,
                               sizeof extra[i].commune);
            areas_province_text(jstr(body, citizen, "province_code"), extra[i].province, sizeof extra[i].province);
            person->commune = extra[i].commune;
            person->province = extra[i].province;
            person->postcode = areas_commune_postcode(jstr(body, citizen, "commune_code"));
        }
        /* TT 17 Điều 9: what a phiếu gửi says besides the addresses */
        d->procedure_name = jstr(body, "procedure", "name");
        d->authorised_name = jstr(body, "authorised_person", "name");
        d->authorised_relation = jstr(body, "authorised_person", "relation");
        d->note = json_string_value(json_object_get(body, "note"));
        d->weight_grams = DOSSIER_WEIGHT_GRAMS;
        d->receiver_signature = 1;
        {
            const json_t *docs = json_object_get(json_object_get(body, "result"), "documents");
            size_t k;

            if (strcmp(it->leg, "send") == 0)
                docs = json_object_get(body, "documents");
            for (k = 0; k < json_array_size(docs) && k < LABEL_MAX_DOCUMENTS; k++) {
                const json_t *doc = json_array_get(docs, k);

                extra[i].docs[k].name = json_string_value(json_object_get(doc, "name"));
                extra[i].docs[k].original = json_is_true(json_object_get(doc, "original"));
                if (!extra[i].docs[k].name)
                    break;
            }
            d->documents = extra[i].docs;
            d->ndocuments = k;
        }
        label_tracking_url(cfg->public_base_url ? cfg->public_base_url : "", d->waybill, cfg->secret, cfg->secretlen,
                           extra[i].url, sizeof extra[i].url);
        d->tracking_url = extra[i].url;
    }
    memset(&opt, 0, sizeof opt);
    opt.format = r->format;
    opt.size = r->size[0] ? r->size : NULL;
    opt.dpi = r->dpi;
    buf_init(&out, n > 1 ? LABEL_BATCH_LIMIT : LABEL_ONE_LIMIT);
    rc = label_render(items, n, &opt, &out, &cut, err, sizeof err);
    if (n == 1)
        snprintf(r->disp, sizeof r->disp, "inline; filename=\"%s.%.3s\"", items[0].waybill, r->format);
    else
        snprintf(r->disp, sizeof r->disp, "inline; filename=\"nhan-%zu.%.3s\"", n, r->format);
    for (i = 0; i < n; i++)
        json_decref(bodies[i]);
    free(bodies);
    free(items);
    free(extra);
    if (rc != 0) {
        buf_free(&out);
        log_error("label rendering failed after the print was recorded: %s", err);
        api_error_set(&r->draw_err, 500, "render_failed", NULL,
                      "the print was recorded but the label could not be drawn: %s", err);
        return;
    }
    /* the clerk is told when text had to be cut: which field first, on how many labels */
    if (cut.shortened > 0)
        snprintf(r->shortened, sizeof r->shortened, "%zu; labels=%zu; first=%s", cut.shortened,
                 cut.labels_shortened, cut.first_field ? cut.first_field : "");
    log_info("printed %zu label(s) as %s%s", n, r->format, cut.shortened ? " (some text shortened)" : "");
    r->drawing = buf_steal(&out, &r->drawing_len);
    if (!r->drawing)
        api_error_set(&r->draw_err, 503, "unavailable", NULL, "out of memory; retry");
}

/* finish_labels - on the HTTP thread: send what draw_labels drew */
static enum MHD_Result
finish_labels(http_ctx_t *c)
{
    engine_op_t *op = http_op(c);
    lreq_t *r = op->write_arg;
    char *data;

    if (op->status >= 300 || !op->result)
        return http_send_error(c, &op->err);
    if (!r->drawn)
        draw_labels(r); /* no render thread could be started */
    if (r->draw_err.status)
        return http_send_error(c, &r->draw_err);
    http_add_header(c, "Content-Disposition", r->disp);
    if (r->shortened[0])
        http_add_header(c, "X-BCCI-Label-Shortened", r->shortened);
    data = r->drawing;
    r->drawing = NULL;
    return http_send_bytes(c, 200, label_content_type(r->format), data, r->drawing_len);
}

static enum MHD_Result
h_label(http_ctx_t *c)
{
    const char *format = http_query(c, "format"), *size = http_query(c, "size"), *dpi = http_query(c, "dpi");
    enum MHD_Result ret;
    lreq_t *r;

    if (http_check_waybill(c, c->args[0], NULL, &ret) != 0)
        return ret;
    r = lreq_new(c);
    if (!r)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    snprintf(r->waybill, sizeof r->waybill, "%s", c->args[0]);
    snprintf(r->format, sizeof r->format, "%s", format && *format ? format : "pdf");
    if (size) {
        if (strlen(size) >= sizeof r->size)
            return http_fail(c, 400, "invalid_option", "size", "unknown label size; valid: %s", LABEL_VALID_SIZES);
        snprintf(r->size, sizeof r->size, "%s", size);
    }
    if (dpi) {
        char *end;
        long v = strtol(dpi, &end, 10);
        if (!*dpi || *end || v <= 0 || v > 10000)
            return http_fail(c, 400, "invalid_option", "dpi", "dpi must be one of %s", LABEL_VALID_DPI);
        r->dpi = (int)v;
    }
    if (check_options(c, r, 0, &ret) != 0)
        return ret;
    r->list = calloc(1, sizeof *r->list);
    if (!r->list)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    r->list[0] = r->waybill;
    r->pr.waybills = r->list;
    r->pr.n = 1;
    r->pr.format = r->format;
    r->pr.max = 1;
    http_set_request_id(c, r->waybill);
    return http_submit_rendered(c, write_print, r, draw_labels, finish_labels);
}

/* body_options - format, size, dpi of a JSON body; 0 or -1 with *ret */
static int
body_options(http_ctx_t *c, lreq_t *r, enum MHD_Result *ret)
{
    json_t *jf = json_object_get(r->root, "format"), *js = json_object_get(r->root, "size"),
           *jd = json_object_get(r->root, "dpi");

    if (jf && !json_is_string(jf)) {
        *ret = http_fail(c, 400, "invalid_format", "format", "format must be a string: pdf, zpl or zpl-font");
        return -1;
    }
    snprintf(r->format, sizeof r->format, "%s", jf ? json_string_value(jf) : "pdf");
    if (js && !json_is_null(js)) {
        if (!json_is_string(js) || strlen(json_string_value(js)) >= sizeof r->size) {
            *ret = http_fail(c, 400, "invalid_option", "size", "unknown label size; valid: %s", LABEL_VALID_SIZES);
            return -1;
        }
        snprintf(r->size, sizeof r->size, "%s", json_string_value(js));
    }
    if (jd && !json_is_null(jd)) {
        if (!json_is_integer(jd) || json_integer_value(jd) <= 0 || json_integer_value(jd) > 10000) {
            *ret = http_fail(c, 400, "invalid_option", "dpi", "dpi must be one of %s", LABEL_VALID_DPI);
            return -1;
        }
        r->dpi = (int)json_integer_value(jd);
    }
    return check_options(c, r, 1, ret);
}

/* scoped_agency - the agency a request may cover: the token's own when it is bound to one
 * (another named in the body is refused with 403), else what the body names ("" = all) */
static int
scoped_agency(http_ctx_t *c, lreq_t *r, enum MHD_Result *ret)
{
    if (!c->agency || !*c->agency)
        return 0;
    if (r->agency[0] && strcmp(r->agency, c->agency) != 0) {
        *ret = http_fail(c, 403, "forbidden", "agency_code", "this token acts for agency %s only, not %.40s",
                         c->agency, r->agency);
        return -1;
    }
    snprintf(r->agency, sizeof r->agency, "%s", c->agency);
    return 0;
}

static enum MHD_Result
h_labels(http_ctx_t *c)
{
    enum MHD_Result ret;
    api_error_t e;
    json_t *ready, *agency;
    lreq_t *r;
    size_t n = 0;

    if (!http_require_json(c))
        return http_fail(c, 415, "unsupported_media_type", NULL, "send JSON with Content-Type: application/json");
    r = lreq_new(c);
    if (!r)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    r->root = http_parse_only(c, (const char *const[]){ "waybills", "ready", "agency_code", "format", "size", "dpi", NULL }, &e);
    if (!r->root)
        return http_send_error(c, &e);
    if (body_options(c, r, &ret) != 0)
        return ret;
    ready = json_object_get(r->root, "ready");
    agency = json_object_get(r->root, "agency_code");
    if (json_is_true(ready)) {
        if (json_object_get(r->root, "waybills"))
            return http_fail(c, 422, "invalid_field", "ready", "send either waybills or ready, not both");
        if (agency && !json_is_null(agency)) {
            if (!json_is_string(agency) || !*json_string_value(agency) ||
                strlen(json_string_value(agency)) >= sizeof r->agency)
                return http_fail(c, 422, "invalid_field", "agency_code", "agency_code must be an agency code string");
            snprintf(r->agency, sizeof r->agency, "%s", json_string_value(agency));
        }
        r->pr.ready = 1;
    } else {
        if (ready && !json_is_false(ready))
            return http_fail(c, 422, "invalid_field", "ready", "ready must be true or false");
        if (parse_waybills(c, r, LABEL_BATCH_MAX, &n, &ret) != 0)
            return ret;
        r->pr.waybills = r->list;
        r->pr.n = n;
    }
    if (scoped_agency(c, r, &ret) != 0)
        return ret;
    r->pr.agency_code = r->agency[0] ? r->agency : NULL;
    r->pr.format = r->format;
    r->pr.max = LABEL_BATCH_MAX;
    return http_submit_rendered(c, write_print, r, draw_labels, finish_labels);
}

/* ----------------------------------------------------------- manifests */

static int
write_manifest(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    lreq_t *r = arg;
    store_manifest_t m;
    store_labels_refusal_t why;
    json_t *waybills;
    store_rc_t rc = store_labels_manifest_create(tx, &r->mr, now, &m, &why);
    size_t i;

    if (rc != STORE_OK) {
        refusal_error(err, rc, &why, store_tx_message(tx), "waybills");
        return -1;
    }
    waybills = json_array();
    for (i = 0; waybills && i < m.n; i++)
        if (json_array_append_new(waybills, json_string(m.items[i].waybill)) != 0) {
            json_decref(waybills);
            waybills = NULL;
        }
    *out = waybills ? json_pack("{s:s, s:s, s:s, s:I, s:o}", "id", m.id, "code", m.code, "agency_code",
                                m.agency_code, "items", (json_int_t)m.n, "waybills", waybills)
                    : NULL;
    store_manifest_free(&m);
    if (!*out) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    return 201;
}

static enum MHD_Result
finish_manifest(http_ctx_t *c)
{
    engine_op_t *op = http_op(c);

    if (op->status == 201)
        log_info("manifest %s created with %lld items",
                 json_string_value(json_object_get(op->result, "id")),
                 (long long)json_integer_value(json_object_get(op->result, "items")));
    return http_finish_default(c);
}

static enum MHD_Result
h_manifest_create(http_ctx_t *c)
{
    enum MHD_Result ret;
    api_error_t e;
    json_t *agency, *all;
    char mac[LABELS_MANIFEST_MAC_LEN + 1];
    lreq_t *r;
    size_t n = 0;

    if (!http_require_json(c))
        return http_fail(c, 415, "unsupported_media_type", NULL, "send JSON with Content-Type: application/json");
    r = lreq_new(c);
    if (!r)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    r->root = http_parse_only(c, (const char *const[]){ "agency_code", "all_ready", "waybills", NULL }, &e);
    if (!r->root)
        return http_send_error(c, &e);
    agency = json_object_get(r->root, "agency_code");
    all = json_object_get(r->root, "all_ready");
    if (json_is_true(all)) {
        if (json_object_get(r->root, "waybills"))
            return http_fail(c, 422, "invalid_field", "all_ready", "send either waybills or all_ready, not both");
        if (!json_is_string(agency) || !*json_string_value(agency) ||
            strlen(json_string_value(agency)) >= sizeof r->agency)
            return http_fail(c, 422, "missing_field", "agency_code",
                             "all_ready needs agency_code: the agency whose shipments are handed over");
        snprintf(r->agency, sizeof r->agency, "%s", json_string_value(agency));
        r->mr.all_ready = 1;
    } else {
        if (all && !json_is_false(all))
            return http_fail(c, 422, "invalid_field", "all_ready", "all_ready must be true or false");
        if (parse_waybills(c, r, MANIFEST_MAX_ITEMS, &n, &ret) != 0)
            return ret;
        r->mr.waybills = r->list;
        r->mr.n = n;
    }
    if (scoped_agency(c, r, &ret) != 0)
        return ret;
    r->mr.agency_code = r->agency[0] ? r->agency : NULL;
    if (new_public_id("BB", clock_now_ms(), r->public_id) != 0)
        return http_fail(c, 503, "unavailable", NULL, "the system random generator failed; retry");
    manifest_mac(c, r->public_id, strlen(r->public_id), mac);
    snprintf(r->code, sizeof r->code, "%s%s.%s", LABELS_MANIFEST_PREFIX, r->public_id, mac);
    snprintf(r->client, sizeof r->client, "%s", c->client ? c->client : "");
    r->mr.public_id = r->public_id;
    r->mr.code = r->code;
    r->mr.created_by = r->client;
    r->mr.max = MANIFEST_MAX_ITEMS;
    http_set_request_id(c, r->public_id);
    return http_submit_call(c, write_manifest, r, finish_manifest);
}

/* documents - how many documents the citizen handed in (the submission's "documents") */
static unsigned
documents_of(const json_t *body)
{
    const json_t *docs = json_object_get(body, "documents");

    return json_is_array(docs) ? (unsigned)json_array_size(docs) : 0;
}

/* send_handover_pdf - render a handover list (manifest or receipt, what) and answer it as
 * ID.pdf; frees rows and bodies (the caller still owns the record they borrow from) */
static enum MHD_Result
send_handover_pdf(http_ctx_t *c, const manifest_data_t *md, manifest_item_t *rows, json_t **bodies, size_t n,
                  const char *what, const char *id)
{
    char err[256], disp[96], *data;
    size_t i, len;
    buf_t out;
    int rc;

    buf_init(&out, MANIFEST_PDF_LIMIT);
    rc = manifest_render_pdf(md, &out, err, sizeof err);
    for (i = 0; i < n; i++)
        json_decref(bodies[i]);
    free(bodies);
    free(rows);
    if (rc != 0) {
        buf_free(&out);
        log_error("%s rendering failed: %s", what, err);
        return http_fail(c, 500, "render_failed", NULL, "the %s could not be drawn: %s; retry, and report it if it "
                         "happens again", what, err);
    }
    snprintf(disp, sizeof disp, "inline; filename=\"%s.pdf\"", id);
    http_add_header(c, "Content-Disposition", disp);
    data = buf_steal(&out, &len);
    if (!data)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    return http_send_bytes(c, 200, "application/pdf", data, len);
}

/* handover_rows - one handover-list row per item, naming the citizen of each (the recipient on
 * the return leg, the sender on the send leg) and the documents a send leg carries. The rows
 * borrow from bodies[i] (parsed here; the caller json_decrefs each) and from items. */
static void
handover_rows(http_ctx_t *c, const store_label_item_t *items, size_t n, manifest_item_t *rows, json_t **bodies)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const store_label_item_t *it = &items[i];
        const char *citizen = strcmp(it->leg, "send") == 0 ? "sender" : "recipient";

        bodies[i] = json_loads(it->body ? it->body : "{}", 0, NULL);
        rows[i].waybill = it->waybill;
        rows[i].dossier_code = it->dossier_code;
        rows[i].recipient_name = jstr(bodies[i], citizen, "name");
        rows[i].commune = areas_commune_name(http_config(c)->areas, jstr(bodies[i], citizen, "commune_code"));
        if (!rows[i].commune)
            rows[i].commune = jstr(bodies[i], citizen, "commune_code");
        rows[i].cod_amount = it->cod_amount;
        rows[i].documents = documents_of(bodies[i]);
    }
}

static enum MHD_Result
h_manifest_pdf(http_ctx_t *c)
{
    const char *id = c->args[0];
    store_manifest_t m = { 0 };
    store_tx_t *tx = NULL;
    manifest_item_t *rows;
    json_t **bodies;
    manifest_data_t md;
    api_error_t e;
    char date[11];
    enum MHD_Result ret;
    size_t n;
    store_rc_t src;

    if (strlen(id) != LABELS_MANIFEST_ID_LEN || strncmp(id, "BB-", 3) != 0)
        return http_fail(c, 404, "not_found", NULL, "no manifest %.40s on this gateway (ids look like BB-20251124-ABCDEFGH)",
                         id);
    src = store_tx_begin(http_store(c), STORE_READ, &tx);
    if (src == STORE_OK)
        src = store_labels_manifest_get(tx, id, &m);
    if (src != STORE_OK) {
        http_store_error(&e, src, tx ? store_tx_message(tx) : "the database cannot be read; retry later");
        store_tx_abort(&tx);
        return http_send_error(c, &e);
    }
    store_tx_abort(&tx);
    n = m.n;
    if (n == 0) {
        /* cancelling a shipment takes it off its open manifest; with none left there is nothing to hand over */
        store_manifest_free(&m);
        return http_fail(c, 409, "manifest_void", NULL,
                         "manifest %s is void: every item on it was cancelled, so there is nothing to hand over; "
                         "create a new manifest for the shipments still to go",
                         id);
    }
    rows = calloc(n, sizeof *rows);
    bodies = calloc(n, sizeof *bodies);
    if (!rows || !bodies) {
        free(rows);
        free(bodies);
        store_manifest_free(&m);
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    }
    handover_rows(c, m.items, n, rows, bodies);
    vn_date(m.created_at, date, NULL);
    memset(&md, 0, sizeof md);
    md.manifest_id = id;
    md.agency_name = jstr(bodies[0], "agency", "name");
    md.carrier_name = carrier_org(m.items[0].carrier);
    md.date = date;
    md.qr_text = m.code;
    md.items = rows;
    md.n = n;
    ret = send_handover_pdf(c, &md, rows, bodies, n, "manifest", id);
    store_manifest_free(&m);
    return ret;
}

/* --------------------------------------------------------------- scans */

/* handed_over_manifest - the handover scan starts each item's transit clock (J, TT 17 Điều 7.2) */
static store_rc_t
handed_over_manifest(store_tx_t *tx, const lreq_t *r, int64_t now)
{
    store_manifest_t m;
    size_t i;
    store_rc_t rc = store_labels_manifest_get(tx, r->public_id, &m);

    for (i = 0; rc == STORE_OK && i < m.n; i++)
        rc = sink_handed_over(tx, m.items[i].carrier, m.items[i].waybill, now, r->policy);
    store_manifest_free(&m);
    return rc;
}

static int
write_scan_manifest(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    lreq_t *r = arg;
    store_scan_result_t res;
    store_rc_t rc = store_labels_scan_manifest(tx, r->public_id, now, &res);

    if (rc == STORE_OK)
        rc = handed_over_manifest(tx, r, now);
    if (rc != STORE_OK) {
        http_store_error(err, rc, store_tx_message(tx));
        if (rc == STORE_NOT_FOUND)
            snprintf(err->field, sizeof err->field, "code");
        return -1;
    }
    *out = json_pack("{s:s, s:i, s:I, s:s}", "manifest", r->public_id, "accepted", res.accepted, "items",
                     (json_int_t)res.items, "state", "accepted");
    if (!*out) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    return 200;
}

/* handed_over_waybill - one item scanned over the counter: its transit clock starts too */
static store_rc_t
handed_over_waybill(store_tx_t *tx, const lreq_t *r, int64_t now)
{
    char code[STORE_CODE_MAX];
    store_dossier_view_t v;
    size_t i;
    store_rc_t rc = store_dossiers_code_of_waybill(tx, r->waybill, code);

    if (rc == STORE_OK)
        rc = store_dossiers_view(tx, code, &v);
    if (rc != STORE_OK)
        return rc;
    for (i = 0; rc == STORE_OK && i < v.nshipments; i++)
        if (strcmp(v.shipments[i].waybill, r->waybill) == 0)
            rc = sink_handed_over(tx, v.shipments[i].carrier, r->waybill, now, r->policy);
    store_dossier_view_free(&v);
    return rc;
}

static int
write_scan_waybill(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    lreq_t *r = arg;
    store_scan_result_t res;
    store_labels_refusal_t why;
    store_rc_t rc = store_labels_scan_waybill(tx, r->waybill, now, &res, &why);

    if (rc != STORE_OK) {
        refusal_error(err, rc, &why, store_tx_message(tx), "code");
        return -1;
    }
    rc = handed_over_waybill(tx, r, now);
    if (rc != STORE_OK) {
        http_store_error(err, rc, store_tx_message(tx));
        return -1;
    }
    *out = json_pack("{s:s, s:i, s:s}", "waybill", r->waybill, "accepted", res.accepted, "status", res.status);
    if (!*out) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    return 200;
}

/* tracking_waybill - the waybill of a label's QR ("…/t/{waybill}?k=…") into out; 0 or -1 */
static int
tracking_waybill(const char *code, char *out, size_t outlen)
{
    const char *p = strstr(code, "/t/");
    size_t n;

    if (!p)
        return -1;
    p += 3;
    n = strcspn(p, "?/#");
    if (n != S10_LEN || n >= outlen)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static enum MHD_Result
h_scan(http_ctx_t *c)
{
    enum MHD_Result ret;
    api_error_t e;
    const char *code, *event;
    lreq_t *r;

    if (!http_require_json(c))
        return http_fail(c, 415, "unsupported_media_type", NULL, "send JSON with Content-Type: application/json");
    r = lreq_new(c);
    if (!r)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    r->policy = engine_policy(http_engine(c));
    r->root = http_parse_only(c, (const char *const[]){ "code", "event", NULL }, &e);
    if (!r->root)
        return http_send_error(c, &e);
    code = json_string_value(json_object_get(r->root, "code"));
    event = json_object_get(r->root, "event") ? json_string_value(json_object_get(r->root, "event")) : "accepted";
    if (!code || !*code)
        return http_fail(c, 422, "missing_field", "code", "code is required: the scanned manifest QR or waybill");
    if (!event || strcmp(event, "accepted") != 0)
        return http_fail(c, 422, "invalid_field", "event", "event must be one of: accepted");
    if (strncmp(code, LABELS_MANIFEST_PREFIX, strlen(LABELS_MANIFEST_PREFIX)) == 0) {
        if (manifest_verify(c, code, r->public_id, sizeof r->public_id) != 0) {
            log_warn("scan of a manifest code that fails verification");
            return http_fail(c, 404, "not_found", "code",
                             "this manifest code was not issued by this gateway (or was altered); nothing changed");
        }
        http_set_request_id(c, r->public_id);
        return http_submit_call(c, write_scan_manifest, r, http_finish_default);
    }
    if (tracking_waybill(code, r->waybill, sizeof r->waybill) != 0) {
        if (strlen(code) > S10_LEN)
            return http_fail(c, 400, "invalid_code", "code",
                             "code is neither a manifest code (BCCI-MF:…) nor an S10 waybill number");
        snprintf(r->waybill, sizeof r->waybill, "%s", code);
    }
    if (http_check_waybill(c, r->waybill, "code", &ret) != 0)
        return ret;
    http_set_request_id(c, r->waybill);
    return http_submit_call(c, write_scan_waybill, r, http_finish_linked);
}

/* ------------------------------------------------------------ receipts */

static int
write_receipt(store_tx_t *tx, void *arg, int64_t now, json_t **out, api_error_t *err)
{
    lreq_t *r = arg;
    store_receipt_t rec;
    store_labels_refusal_t why;
    json_t *waybills;
    char when[40];
    store_rc_t rc = store_labels_receipt_create(tx, &r->rr, now, &rec, &why);
    size_t i;

    if (rc != STORE_OK) {
        refusal_error(err, rc, &why, store_tx_message(tx), "waybills");
        return -1;
    }
    for (i = 0; !rec.existing && i < rec.n; i++) {
        rc = sink_receive(tx, rec.shipment_ids[i], rec.officer, rec.id, r->policy, now);
        if (rc != STORE_OK) {
            http_store_error(err, rc, store_tx_message(tx));
            store_receipt_free(&rec);
            return -1;
        }
    }
    waybills = json_array();
    for (i = 0; waybills && i < rec.n; i++)
        if (json_array_append_new(waybills, json_string(rec.items[i].waybill)) != 0) {
            json_decref(waybills);
            waybills = NULL;
        }
    clock_format(rec.created_at, CLOCK_ISO8601, when, sizeof when);
    *out = waybills ? json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "id", rec.id, "agency_code", rec.agency_code,
                                "officer", rec.officer, "received_at", when, "items", (json_int_t)rec.n,
                                "waybills", waybills)
                    : NULL;
    i = rec.existing;
    store_receipt_free(&rec);
    if (!*out) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry");
        return -1;
    }
    return i ? 200 : 201;
}

static enum MHD_Result
h_receipt_create(http_ctx_t *c)
{
    enum MHD_Result ret;
    api_error_t e;
    const char *officer;
    char *nfc;
    int32_t cp;
    lreq_t *r;
    size_t n = 0;

    if (!http_require_json(c))
        return http_fail(c, 415, "unsupported_media_type", NULL, "send JSON with Content-Type: application/json");
    r = lreq_new(c);
    if (!r)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    r->root = http_parse_only(c, (const char *const[]){ "waybills", "officer", NULL }, &e);
    if (!r->root)
        return http_send_error(c, &e);
    officer = json_string_value(json_object_get(r->root, "officer"));
    if (!json_object_get(r->root, "officer"))
        return http_fail(c, 422, "missing_field", "officer",
                         "officer is required: the full name of the officer receiving the items at the desk");
    if (!officer || !*officer || strlen(officer) >= 200)
        return http_fail(c, 422, "invalid_field", "officer",
                         "officer must be the receiving officer's full name (1 to 199 bytes of text)");
    if (utf8_find_forbidden(officer, strlen(officer), 0, &cp) >= 0)
        return http_fail(c, 422, "invalid_field", "officer", "officer contains %s; send the name as plain text",
                         utf8_forbidden_what(cp));
    nfc = utf8_nfc(officer); /* the name printed on the biên bản and told to the case system */
    if (!nfc)
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    snprintf(r->officer, sizeof r->officer, "%s", nfc);
    free(nfc);
    if (parse_waybills(c, r, MANIFEST_MAX_ITEMS, &n, &ret) != 0)
        return ret;
    if (scoped_agency(c, r, &ret) != 0)
        return ret;
    if (new_public_id("TN", clock_now_ms(), r->public_id) != 0)
        return http_fail(c, 503, "unavailable", NULL, "the system random generator failed; retry");
    snprintf(r->client, sizeof r->client, "%s", c->client ? c->client : "");
    r->rr.waybills = r->list;
    r->rr.n = n;
    r->rr.agency_code = r->agency[0] ? r->agency : NULL;
    r->rr.public_id = r->public_id;
    r->rr.officer = r->officer;
    r->rr.created_by = r->client;
    r->policy = engine_policy(http_engine(c));
    http_set_request_id(c, r->public_id);
    return http_submit_call(c, write_receipt, r, http_finish_default);
}

static enum MHD_Result
h_receipt_pdf(http_ctx_t *c)
{
    const char *id = c->args[0];
    store_receipt_t rec = { 0 };
    store_tx_t *tx = NULL;
    manifest_item_t *rows;
    json_t **bodies;
    manifest_data_t md;
    api_error_t e;
    char date[11], hm[20];
    enum MHD_Result ret;
    size_t n;
    store_rc_t src;

    if (strlen(id) != LABELS_MANIFEST_ID_LEN || strncmp(id, "TN-", 3) != 0)
        return http_fail(c, 404, "not_found", NULL, "no receipt %.40s on this gateway (ids look like TN-20251124-ABCDEFGH)",
                         id);
    src = store_tx_begin(http_store(c), STORE_READ, &tx);
    if (src == STORE_OK)
        src = store_labels_receipt_get(tx, id, &rec);
    if (src == STORE_OK && c->agency && *c->agency && strcmp(rec.agency_code, c->agency) != 0) {
        store_receipt_free(&rec);
        src = store_tx_fail(tx, STORE_NOT_FOUND, "no receipt %s on this gateway", id);
    }
    if (src != STORE_OK) {
        http_store_error(&e, src, tx ? store_tx_message(tx) : "the database cannot be read; retry later");
        store_tx_abort(&tx);
        return http_send_error(c, &e);
    }
    store_tx_abort(&tx);
    n = rec.n;
    if (n == 0) {
        store_receipt_free(&rec);
        return http_fail(c, 404, "not_found", NULL, "receipt %s lists no item on this gateway", id);
    }
    rows = calloc(n, sizeof *rows);
    bodies = calloc(n, sizeof *bodies);
    if (!rows || !bodies) {
        free(rows);
        free(bodies);
        store_receipt_free(&rec);
        return http_fail(c, 503, "unavailable", NULL, "out of memory; retry");
    }
    handover_rows(c, rec.items, n, rows, bodies);
    vn_date(rec.created_at, date, NULL);
    clock_format(rec.created_at, CLOCK_VN_MINUTE, hm, sizeof hm);
    memset(&md, 0, sizeof md);
    md.manifest_id = id;
    md.agency_name = jstr(bodies[0], "agency", "name");
    md.carrier_name = carrier_org(rec.items[0].carrier);
    md.date = date;
    md.qr_text = id;
    md.items = rows;
    md.n = n;
    md.handover_time = hm + 11; /* "HH:mm" of "dd/MM/yyyy HH:mm" */
    md.handover_place = jstr(bodies[0], "agency", "address");
    md.agency_staff = rec.officer;
    md.receiving = 1;
    ret = send_handover_pdf(c, &md, rows, bodies, n, "receipt", id);
    store_receipt_free(&rec);
    return ret;
}

const http_route_t api_label_routes[] = {
    { "GET", "/v1/shipments/*/label", h_label, ROLE_CLERK | ROLE_ADMIN | ROLE_POST_OFFICE,
      "one waybill label (?format=pdf|png|svg|zpl|zpl-font&size=100x150|a6&dpi=203|300)", HTTP_SCOPE_WAYBILL },
    { "POST", "/v1/labels", h_labels, ROLE_CLERK | ROLE_ADMIN, "many labels as one PDF or ZPL stream", HTTP_SCOPE_NONE },
    { "POST", "/v1/manifests", h_manifest_create, ROLE_CLERK | ROLE_ADMIN, "create a handover manifest", HTTP_SCOPE_NONE },
    { "GET", "/v1/manifests/*.pdf", h_manifest_pdf, ROLE_CLERK | ROLE_ADMIN | ROLE_POST_OFFICE,
      "the handover manifest (biên bản giao nhận) as A4 PDF", HTTP_SCOPE_MANIFEST },
    { "POST", "/v1/receipts", h_receipt_create, ROLE_CLERK | ROLE_ADMIN,
      "send leg: items received at the agency's desk (the legal submission time)", HTTP_SCOPE_NONE },
    { "GET", "/v1/receipts/*.pdf", h_receipt_pdf, ROLE_CLERK | ROLE_ADMIN,
      "the agency's receipt (biên bản giao nhận) as A4 PDF", HTTP_SCOPE_NONE },
    { "POST", "/v1/scans", h_scan, ROLE_POST_OFFICE | ROLE_ADMIN, "a scanned manifest QR or waybill (accepted)", HTTP_SCOPE_NONE },
    { NULL, NULL, NULL, 0, NULL, HTTP_SCOPE_NONE },
};
