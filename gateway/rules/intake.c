/*
 * intake - carrier-dependent checks of a dossier submission (see intake.h)
 */
#include "gateway/rules/intake.h"

#include <string.h>

#include "gateway/store/store_dossiers.h"
#include "gateway/store/store_labels.h"

/* check_bytes - the text at obj.key fits max bytes; err names prefix.key */
static int
check_bytes(const json_t *obj, const char *prefix, const char *key, size_t max, const carrier_ops_t *ops,
            api_error_t *err)
{
    const char *v = json_string_value(json_object_get(obj, key));
    size_t n = v ? strlen(v) : 0;
    char path[64];

    if (n <= max || max == 0)
        return 0;
    snprintf(path, sizeof path, "%s.%s", prefix, key);
    api_error_set(err, 422, "invalid_field", path,
                  "%s is %zu bytes of UTF-8 but carrier %s accepts at most %zu; shorten it (a Vietnamese letter "
                  "with diacritics takes 2 to 3 bytes)",
                  path, n, ops->name, max);
    return -1;
}

int
intake_check_deliverable(const dossier_t *d, const carrier_ops_t *ops, api_error_t *err)
{
    static const char *const parties[] = { "agency", "recipient", "sender" };
    const carrier_limits_t *lim;
    size_t i;

    if (!ops) {
        api_error_set(err, 422, "unknown_carrier", "carrier", "unknown carrier; this gateway knows: %s",
                      carrier_names());
        return -1;
    }
    lim = ops->limits;
    if (!lim)
        return 0;
    for (i = 0; i < sizeof parties / sizeof parties[0]; i++) {
        const json_t *p = json_object_get(d->canonical, parties[i]);

        if (!p)
            continue;
        if (check_bytes(p, parties[i], "name", lim->name_bytes, ops, err) != 0 ||
            check_bytes(p, parties[i], "address", lim->address_bytes, ops, err) != 0 ||
            check_bytes(p, parties[i], "phone", lim->phone_bytes, ops, err) != 0)
            return -1;
    }
    /* the content note is the procedure name (collection leg) or the result summary (return leg) */
    if (check_bytes(json_object_get(d->canonical, "procedure"), "procedure", "name", lim->note_bytes, ops, err) != 0)
        return -1;
    return check_bytes(json_object_get(d->canonical, "result"), "result", "summary", lim->note_bytes, ops, err);
}

store_rc_t
intake_return_leg_ready(store_tx_t *tx, const char *code, api_error_t *err)
{
    store_dossier_view_t v;
    char receipt[STORE_LABELS_ID_MAX];
    int64_t at;
    size_t i;
    store_rc_t rc = store_dossiers_view(tx, code, &v);

    if (rc == STORE_NOT_FOUND)
        return STORE_OK; /* a new dossier: nothing to wait for */
    for (i = 0; rc == STORE_OK && i < v.nshipments; i++) {
        const store_shipment_view_t *s = &v.shipments[i];

        if (strcmp(s->leg, "send") != 0 || strcmp(s->status, "cancelled") == 0)
            continue;
        rc = store_labels_receipt_of(tx, s->id, receipt, &at);
        if (rc == STORE_NOT_FOUND) {
            api_error_set(err, 409, "send_leg_not_received", NULL,
                          "dossier %s has not reached the agency yet: its collection leg %s is %s and no officer "
                          "has received it (POST /v1/receipts); the result can go back only after the legal "
                          "submission (QĐ 45 Điều 7.4). Post it again after the receipt (the case system is told "
                          "of it as DVC 2)",
                          code, s->waybill, s->status);
            rc = STORE_CONFLICT;
        }
    }
    store_dossier_view_free(&v);
    return rc;
}
