/*
 * labels_rules - label prints, handover manifests, acceptance scans and receipts on any
 * backend's rows (see labels_rules.h and store_labels.h)
 *
 * Timeline events go through store_timeline_append (the backend's chain); their details
 * are built with Jansson.
 */
#include "gateway/store/labels_rules.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/status.h"
#include "gateway/store/store_backend.h"
#include "gateway/store/store_timeline.h"

static store_rc_t __attribute__((format(printf, 7, 8)))
refuse(store_tx_t *tx, store_labels_refusal_t *why, store_rc_t rc, store_labels_reason_t reason, const char *waybill,
       const char *other, const char *fmt, ...)
{
    va_list ap;

    if (why) {
        memset(why, 0, sizeof *why);
        why->reason = reason;
        snprintf(why->waybill, sizeof why->waybill, "%s", waybill ? waybill : "");
        snprintf(why->other, sizeof why->other, "%s", other ? other : "");
    }
    va_start(ap, fmt);
    vsnprintf(tx->message, sizeof tx->message, fmt, ap);
    va_end(ap);
    return rc;
}

static store_rc_t
out_of_memory(store_tx_t *tx, const char *what)
{
    return store_tx_fail(tx, STORE_BUSY, "out of memory %s; retry later", what);
}

/* ship_get - STORE_OK (row->item.body owned by the caller), STORE_NOT_FOUND, or a failure.
 * A shipment of another agency than agency (when set) is STORE_NOT_FOUND like a missing
 * one: an agency-bound caller cannot tell the two apart. */
static store_rc_t
ship_get(store_tx_t *tx, const labels_rows_t *rows, const char *waybill, const char *agency, labels_ship_t *row)
{
    store_rc_t r;

    memset(row, 0, sizeof *row);
    r = rows->ship(tx, waybill, row);
    if (r != STORE_OK) {
        free(row->item.body);
        memset(row, 0, sizeof *row);
        return r;
    }
    if (agency && *agency && strcmp(row->item.agency_code, agency) != 0) {
        free(row->item.body);
        memset(row, 0, sizeof *row);
        return STORE_NOT_FOUND;
    }
    return STORE_OK;
}

static const char *
waybill_at(const char *const *waybills, const labels_waybills_t *list, size_t i)
{
    return waybills ? waybills[i] : list->v[i];
}

/* append_event - one timeline event of the shipment in row; details is a JSON object (borrowed).
 * STORE_OK appended, STORE_EXISTS when dedup_key was seen, or a failure */
static store_rc_t
append_event(store_tx_t *tx, const labels_ship_t *row, int64_t now, const char *source, const char *status,
             const char *upu, const char *text, const json_t *details, const char *dedup_key)
{
    store_timeline_event_t ev;
    char *json = details ? json_dumps(details, JSON_COMPACT) : NULL;
    store_rc_t r;

    if (!json)
        return out_of_memory(tx, "writing the timeline");
    memset(&ev, 0, sizeof ev);
    ev.dossier_id = row->dossier_id;
    ev.shipment_id = row->id;
    ev.event_time = now;
    ev.received_at = now;
    ev.source = source;
    ev.status = status;
    ev.upu = upu;
    ev.text = text;
    ev.details = json;
    ev.dedup_key = dedup_key;
    r = store_timeline_append(tx, &ev);
    free(json);
    return r;
}

/* ------------------------------------------------------------- prints */

static store_rc_t
print_one(store_tx_t *tx, const labels_rows_t *rows, const char *waybill, const char *agency, const char *format,
          int64_t now, store_label_item_t *out, store_labels_refusal_t *why)
{
    labels_ship_t row;
    json_t *details;
    char text[160];
    store_rc_t r = ship_get(tx, rows, waybill, agency, &row);

    if (r == STORE_NOT_FOUND) {
        if (agency)
            return refuse(tx, why, r, STORE_LABELS_UNKNOWN, waybill, NULL,
                          "no shipment %s for agency %s; nothing was printed", waybill, agency);
        return refuse(tx, why, r, STORE_LABELS_UNKNOWN, waybill, NULL,
                      "no shipment %s on this gateway; nothing was printed", waybill);
    }
    if (r != STORE_OK)
        return r;
    if (strcmp(row.item.status, "cancelled") == 0) {
        free(row.item.body);
        return refuse(tx, why, STORE_CONFLICT, STORE_LABELS_CANCELLED, waybill, NULL,
                      "shipment %s is cancelled; a label for it must not be printed (nothing was printed)", waybill);
    }
    if ((r = rows->count_print(tx, row.id)) != STORE_OK)
        goto fail;
    row.item.prints++;
    snprintf(text, sizeof text, "In nhãn bưu gửi %s (lần %lld)", waybill, row.item.prints);
    details = json_pack("{s:s, s:I}", "format", format ? format : "", "reprint", (json_int_t)row.item.prints);
    r = append_event(tx, &row, now, "clerk", NULL, NULL, text, details, NULL);
    json_decref(details);
    if (r != STORE_OK)
        goto fail;
    *out = row.item; /* the body moves to the caller's list */
    return STORE_OK;
fail:
    free(row.item.body);
    return r;
}

store_rc_t
labels_print(store_tx_t *tx, const labels_rows_t *rows, const store_label_print_t *req, int64_t now,
             store_label_list_t *out, store_labels_refusal_t *why)
{
    labels_waybills_t list = { 0 };
    size_t n = req->n, i;
    store_rc_t r = STORE_OK;

    memset(out, 0, sizeof *out);
    if (why)
        memset(why, 0, sizeof *why);
    if (req->ready) {
        if ((r = rows->ready(tx, req->agency_code, req->max, &list)) != STORE_OK)
            return r;
        n = list.n;
        if (n == 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_NOTHING_READY, NULL, req->agency_code,
                       "no shipment%s%s is waiting for a label (created or booked and on no manifest)",
                       req->agency_code ? " of agency " : "", req->agency_code ? req->agency_code : "");
            goto out;
        }
    }
    out->items = calloc(n ? n : 1, sizeof *out->items);
    if (!out->items) {
        r = out_of_memory(tx, "printing labels");
        goto out;
    }
    for (i = 0; i < n && r == STORE_OK; i++) {
        r = print_one(tx, rows, waybill_at(req->waybills, &list, i), req->agency_code, req->format, now,
                      &out->items[i], why);
        if (r == STORE_OK)
            out->n++;
    }
out:
    free(list.v);
    if (r != STORE_OK)
        store_label_list_free(out);
    return r;
}

/* ----------------------------------------------------------- manifests */

store_rc_t
labels_manifest_create(store_tx_t *tx, const labels_rows_t *rows, const store_manifest_new_t *req, int64_t now,
                       store_manifest_t *out, store_labels_refusal_t *why)
{
    labels_waybills_t list = { 0 };
    int64_t *ids = NULL, manifest_id = 0;
    char other[STORE_LABELS_CODE_MAX];
    size_t n = req->n, i;
    store_rc_t r = STORE_OK;

    memset(out, 0, sizeof *out);
    if (why)
        memset(why, 0, sizeof *why);
    if (req->all_ready) {
        if ((r = rows->ready(tx, req->agency_code, req->max + 1, &list)) != STORE_OK)
            return r;
        n = list.n;
        if (n == 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_NOTHING_READY, NULL, req->agency_code,
                       "agency %s has no shipment waiting for handover (created or booked and on no manifest)",
                       req->agency_code ? req->agency_code : "");
            goto out;
        }
        if (n > req->max) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_TOO_MANY, NULL, req->agency_code,
                       "agency %s has more than %zu shipments ready; hand them over in several manifests "
                       "by listing waybills",
                       req->agency_code ? req->agency_code : "", req->max);
            goto out;
        }
    }
    ids = calloc(n ? n : 1, sizeof *ids);
    out->items = calloc(n ? n : 1, sizeof *out->items);
    if (!ids || !out->items) {
        r = out_of_memory(tx, "creating the manifest");
        goto out;
    }
    for (i = 0; i < n; i++) {
        const char *wb = waybill_at(req->waybills, &list, i);
        labels_ship_t row;

        r = ship_get(tx, rows, wb, req->agency_code, &row);
        if (r == STORE_NOT_FOUND && req->agency_code && !req->all_ready) {
            r = refuse(tx, why, r, STORE_LABELS_UNKNOWN, wb, NULL,
                       "no shipment %s for agency %s; nothing was created", wb, req->agency_code);
            goto out;
        }
        if (r == STORE_NOT_FOUND) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_UNKNOWN_ON_MANIFEST, wb, NULL,
                       "no shipment %s on this gateway; nothing was created", wb);
            goto out;
        }
        if (r != STORE_OK)
            goto out;
        out->items[out->n++] = row.item; /* owned by out from here on */
        if (status_is_terminal(row.item.status)) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_FINAL, wb, NULL,
                       "shipment %s is %s and cannot be handed over; remove it (nothing was created)", wb,
                       row.item.status);
            if (why)
                snprintf(why->status, sizeof why->status, "%s", row.item.status);
            goto out;
        }
        if ((r = rows->open_manifest_of(tx, row.id, other, sizeof other)) != STORE_OK)
            goto out;
        if (other[0]) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_ON_OPEN_MANIFEST, wb, other,
                       "shipment %s is already on open manifest %s; remove it (nothing was created)", wb, other);
            goto out;
        }
        if (i > 0 && strcmp(out->items[0].agency_code, row.item.agency_code) != 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_MIXED_AGENCIES, wb, out->items[0].agency_code,
                       "shipment %s belongs to agency %s, the others to %s; one manifest per agency "
                       "(nothing was created)",
                       wb, row.item.agency_code, out->items[0].agency_code);
            goto out;
        }
        ids[i] = row.id;
    }
    if (n == 0) {
        r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_NOTHING_READY, NULL, NULL,
                   "a manifest needs at least one shipment; nothing was created");
        goto out;
    }
    r = rows->insert_manifest(tx, req->public_id, out->items[0].agency_code, req->code,
                              req->created_by ? req->created_by : "", now, &manifest_id);
    if (r == STORE_EXISTS) {
        r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_ID_TAKEN, NULL, req->public_id,
                   "the new manifest id %s is taken; retry with another", req->public_id);
        goto out;
    }
    if (r != STORE_OK)
        goto out;
    for (i = 0; i < n; i++) {
        r = rows->insert_manifest_item(tx, manifest_id, ids[i], (int64_t)(i + 1));
        if (r == STORE_EXISTS) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_DUPLICATE, out->items[i].waybill, NULL,
                       "waybill %s is listed twice; list it once (nothing was created)", out->items[i].waybill);
            goto out;
        }
        if (r != STORE_OK)
            goto out;
    }
    snprintf(out->id, sizeof out->id, "%s", req->public_id);
    snprintf(out->code, sizeof out->code, "%s", req->code);
    snprintf(out->state, sizeof out->state, "open");
    snprintf(out->agency_code, sizeof out->agency_code, "%s", out->items[0].agency_code);
    out->created_at = now;
    r = STORE_OK;
out:
    free(ids);
    free(list.v);
    if (r != STORE_OK)
        store_manifest_free(out);
    return r;
}

/* manifest_read - manifest public_id with its items into out (empty before); *id its row */
static store_rc_t
manifest_read(store_tx_t *tx, const labels_rows_t *rows, const char *public_id, int64_t *id, store_manifest_t *out)
{
    store_rc_t r = rows->manifest(tx, public_id, id, out);

    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no manifest %s on this gateway", public_id);
    if (r == STORE_OK)
        r = rows->manifest_items(tx, *id, out);
    return r;
}

store_rc_t
labels_manifest_get(store_tx_t *tx, const labels_rows_t *rows, const char *public_id, store_manifest_t *out)
{
    int64_t id = 0;
    store_rc_t r;

    memset(out, 0, sizeof *out);
    r = manifest_read(tx, rows, public_id, &id, out);
    if (r != STORE_OK)
        store_manifest_free(out);
    return r;
}

/* -------------------------------------------------------------- scans */

/* accept_one - the EMA event and, where the status machine allows, the move to "accepted".
 * *recorded = 1 appended, 0 already accepted (duplicate); *moved = the status changed. */
static store_rc_t
accept_one(store_tx_t *tx, const labels_rows_t *rows, const labels_ship_t *row, const char *manifest, int64_t now,
           int *recorded, int *moved)
{
    const status_info_t *info = status_lookup("accepted");
    const char *waybill = row->item.waybill;
    json_t *details;
    char text[256], key[96];
    store_rc_t r;
    int move = status_may_move(row->item.status, row->status_time, "accepted", now);

    *recorded = *moved = 0;
    if (manifest) {
        snprintf(text, sizeof text, "Bưu điện đã nhận bưu gửi theo biên bản giao nhận %s", manifest);
        details = json_pack("{s:s}", "manifest", manifest);
    } else {
        snprintf(text, sizeof text, "%s (quét số hiệu %s)", info ? info->text_vi : "Bưu điện đã nhận bưu gửi",
                 waybill);
        details = json_pack("{s:s}", "scan", "waybill");
    }
    if (details && !move)
        json_object_set_new(details, "note", json_string("status unchanged"));
    snprintf(key, sizeof key, "post_office:accepted:%s", waybill);
    r = append_event(tx, row, now, "post_office", "accepted", "EMA", text, details, key);
    json_decref(details);
    if (r == STORE_EXISTS)
        return STORE_OK;
    if (r != STORE_OK)
        return r;
    *recorded = 1;
    if (!move)
        return STORE_OK;
    if ((r = rows->set_status(tx, row->id, "accepted", now)) != STORE_OK)
        return r;
    *moved = 1;
    return STORE_OK;
}

store_rc_t
labels_scan_manifest(store_tx_t *tx, const labels_rows_t *rows, const char *public_id, int64_t now,
                     store_scan_result_t *out)
{
    store_manifest_t m = { 0 };
    int64_t id = 0;
    size_t i;
    store_rc_t r;

    memset(out, 0, sizeof *out);
    r = manifest_read(tx, rows, public_id, &id, &m);
    if (r == STORE_NOT_FOUND)
        r = store_tx_fail(tx, r, "no manifest %s on this gateway; nothing changed", public_id);
    for (i = 0; r == STORE_OK && i < m.n; i++) {
        labels_ship_t row;
        int recorded, moved;

        r = ship_get(tx, rows, m.items[i].waybill, NULL, &row);
        if (r == STORE_NOT_FOUND)
            r = store_tx_fail(tx, STORE_ERROR, "manifest %s lists %s, which has no shipment (corruption)",
                              public_id, m.items[i].waybill);
        if (r != STORE_OK)
            break;
        r = accept_one(tx, rows, &row, public_id, now, &recorded, &moved);
        free(row.item.body);
        out->accepted += recorded;
    }
    if (r == STORE_OK)
        r = rows->manifest_accept(tx, id, now);
    out->items = m.n;
    store_manifest_free(&m);
    if (r != STORE_OK)
        memset(out, 0, sizeof *out);
    else
        snprintf(out->status, sizeof out->status, "accepted"); /* the manifest's state */
    return r;
}

store_rc_t
labels_scan_waybill(store_tx_t *tx, const labels_rows_t *rows, const char *waybill, int64_t now,
                    store_scan_result_t *out, store_labels_refusal_t *why)
{
    labels_ship_t row;
    store_rc_t r;
    int recorded, moved;

    memset(out, 0, sizeof *out);
    if (why)
        memset(why, 0, sizeof *why);
    r = ship_get(tx, rows, waybill, NULL, &row);
    if (r == STORE_NOT_FOUND)
        return refuse(tx, why, r, STORE_LABELS_UNKNOWN, waybill, NULL,
                      "no shipment %s on this gateway; nothing changed", waybill);
    if (r != STORE_OK)
        return r;
    free(row.item.body);
    row.item.body = NULL;
    if (strcmp(row.item.status, "cancelled") == 0) {
        r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_CANCELLED, waybill, NULL,
                   "shipment %s is cancelled; do not accept it, give it back to the agency", waybill);
        if (why)
            snprintf(why->status, sizeof why->status, "cancelled");
        return r;
    }
    r = accept_one(tx, rows, &row, NULL, now, &recorded, &moved);
    if (r != STORE_OK)
        return r;
    out->accepted = recorded;
    out->items = 1;
    snprintf(out->status, sizeof out->status, "%s", moved ? "accepted" : row.item.status);
    return STORE_OK;
}

/* ------------------------------------------------------------ receipts */

static store_rc_t
receipt_read(store_tx_t *tx, const labels_rows_t *rows, const char *public_id, store_receipt_t *out)
{
    int64_t id = 0;
    store_rc_t r;

    memset(out, 0, sizeof *out);
    r = rows->receipt(tx, public_id, &id, out);
    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no receipt %s on this gateway", public_id);
    if (r == STORE_OK)
        r = rows->receipt_items(tx, id, out);
    return r;
}

store_rc_t
labels_receipt_get(store_tx_t *tx, const labels_rows_t *rows, const char *public_id, store_receipt_t *out)
{
    store_rc_t r = receipt_read(tx, rows, public_id, out);

    if (r != STORE_OK)
        store_receipt_free(out);
    return r;
}

store_rc_t
labels_receipt_of(store_tx_t *tx, const labels_rows_t *rows, int64_t shipment_id, char id[STORE_LABELS_ID_MAX],
                  int64_t *received_at)
{
    store_receipt_t head;
    int64_t row_id = 0;
    store_rc_t r;

    *received_at = 0;
    id[0] = '\0';
    if ((r = rows->receipt_of(tx, shipment_id, id, STORE_LABELS_ID_MAX)) != STORE_OK)
        return r;
    if (!id[0])
        return STORE_NOT_FOUND;
    memset(&head, 0, sizeof head);
    r = rows->receipt(tx, id, &row_id, &head);
    if (r == STORE_OK)
        *received_at = head.created_at;
    store_receipt_free(&head);
    return r;
}

store_rc_t
labels_receipt_create(store_tx_t *tx, const labels_rows_t *rows, const store_receipt_new_t *req, int64_t now,
                      store_receipt_t *out, store_labels_refusal_t *why)
{
    int64_t *ids = NULL, receipt_id = 0;
    char agency[STORE_LABELS_CODE_MAX] = "", prior[STORE_LABELS_ID_MAX] = "", on[STORE_LABELS_ID_MAX];
    size_t i, n_prior = 0, n_new = 0;
    store_rc_t r = STORE_OK;

    memset(out, 0, sizeof *out);
    if (why)
        memset(why, 0, sizeof *why);
    ids = calloc(req->n ? req->n : 1, sizeof *ids);
    if (!ids)
        return out_of_memory(tx, "recording the receipt");
    for (i = 0; i < req->n && r == STORE_OK; i++) {
        const char *wb = req->waybills[i];
        labels_ship_t row;

        r = ship_get(tx, rows, wb, req->agency_code, &row);
        if (r == STORE_NOT_FOUND) {
            r = refuse(tx, why, r, STORE_LABELS_UNKNOWN, wb, NULL, "no shipment %s %s%s; nothing was received", wb,
                       req->agency_code ? "for agency " : "on this gateway", req->agency_code ? req->agency_code : "");
            break;
        }
        if (r != STORE_OK)
            break;
        free(row.item.body);
        ids[i] = row.id;
        if (strcmp(row.item.leg, "send") != 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_NOT_SEND_LEG, wb, NULL,
                       "%s is a %s-leg shipment (agency to citizen); only send-leg items brought to the agency "
                       "are received at the desk; nothing was received",
                       wb, row.item.leg);
            if (why)
                snprintf(why->status, sizeof why->status, "%s", row.item.leg);
            break;
        }
        if ((r = rows->receipt_of(tx, row.id, on, sizeof on)) != STORE_OK)
            break;
        if (on[0]) {
            if (n_prior == 0)
                snprintf(prior, sizeof prior, "%s", on);
            if (n_new > 0 || (n_prior > 0 && strcmp(prior, on) != 0)) {
                r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_ALREADY_RECEIVED, wb, on,
                           "%s was already received on receipt %s; list it alone to get that receipt", wb, on);
                break;
            }
            n_prior++;
            continue;
        }
        if (n_prior > 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_ALREADY_RECEIVED, req->waybills[0], prior,
                       "%s was already received on receipt %s; receive the other items without it",
                       req->waybills[0], prior);
            break;
        }
        if (strcmp(row.item.status, "cancelled") == 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_CANCELLED, wb, NULL,
                       "shipment %s is cancelled; it cannot be received (nothing was received)", wb);
            if (why)
                snprintf(why->status, sizeof why->status, "cancelled");
            break;
        }
        if (strcmp(row.item.status, "out_for_delivery") != 0 && strcmp(row.item.status, "delivered") != 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_NOT_ARRIVED, wb, NULL,
                       "shipment %s is %s, not yet brought to the agency (out_for_delivery or delivered); "
                       "receive it when the postman hands it over (nothing was received)",
                       wb, row.item.status);
            if (why)
                snprintf(why->status, sizeof why->status, "%s", row.item.status);
            break;
        }
        if (!agency[0])
            snprintf(agency, sizeof agency, "%s", row.item.agency_code);
        else if (strcmp(agency, row.item.agency_code) != 0) {
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_MIXED_AGENCIES, wb, agency,
                       "%s is for agency %s, the items before it for %s; one receipt covers one agency", wb,
                       row.item.agency_code, agency);
            break;
        }
        n_new++;
    }
    if (r == STORE_OK && n_prior > 0) {
        /* every item was received before, on the same receipt */
        free(ids);
        r = receipt_read(tx, rows, prior, out);
        if (r != STORE_OK)
            store_receipt_free(out);
        else
            out->existing = 1;
        return r;
    }
    if (r == STORE_OK) {
        r = rows->insert_receipt(tx, req->public_id, agency, req->officer, req->created_by ? req->created_by : "",
                                 now, &receipt_id);
        if (r == STORE_EXISTS)
            r = refuse(tx, why, STORE_CONFLICT, STORE_LABELS_ID_TAKEN, NULL, req->public_id,
                       "receipt id %s is taken; retry", req->public_id);
    }
    for (i = 0; r == STORE_OK && i < req->n; i++)
        r = rows->insert_receipt_item(tx, receipt_id, ids[i], (int64_t)i);
    free(ids);
    if (r == STORE_OK)
        r = receipt_read(tx, rows, req->public_id, out);
    if (r != STORE_OK)
        store_receipt_free(out);
    return r;
}

void
labels_manifest_row(store_manifest_row_t *m, const char *const col[LABELS_MANIFEST_LIST_COLS])
{
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", col[0]);
    snprintf(m->state, sizeof m->state, "%s", col[1]);
    snprintf(m->agency_code, sizeof m->agency_code, "%s", col[2]);
    snprintf(m->created_by, sizeof m->created_by, "%s", col[3]);
    m->created_at = strtoll(col[4], NULL, 10);
    m->accepted_at = strtoll(col[5], NULL, 10);
    m->items = strtoll(col[6], NULL, 10);
}
