/*
 * dossier_rules - the dossiers area's backend-neutral steps (see dossier_rules.h)
 */
#include "gateway/store/dossier_rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/s10.h"
#include "gateway/store/store_jobs.h"
#include "gateway/store/store_timeline.h"

const char DOSSIER_CANCEL_SENT_TEXT[] = "Đã gửi yêu cầu hủy bưu gửi sang bưu điện";

const char *
dossier_leg_of(const char *service)
{
    return strcmp(service, "return") == 0 ? "return" : "send";
}

void
dossier_intake_text(const char *service, const char *waybill, char *buf, size_t len)
{
    if (strcmp(service, "return") == 0)
        snprintf(buf, len, "Tiếp nhận yêu cầu trả kết quả qua dịch vụ bưu chính công ích; số hiệu bưu gửi %s",
                 waybill);
    else
        snprintf(buf, len,
                 "Tiếp nhận yêu cầu thu gom hồ sơ tại nhà qua dịch vụ bưu chính công ích; số hiệu bưu gửi %s",
                 waybill);
}

void
dossier_left_manifest_text(const char *manifest_public_id, char *buf, size_t len)
{
    snprintf(buf, len, "Đã rút bưu gửi khỏi biên bản giao nhận %s do yêu cầu hủy", manifest_public_id);
}

long long
dossier_range_left(const store_code_range_t *r)
{
    long long left = r->last - r->next + 1;

    return left > 0 ? left : 0;
}

void
dossier_view_set_status(store_dossier_view_t *v)
{
    snprintf(v->status, sizeof v->status, "%s", v->nshipments ? v->shipments[v->nshipments - 1].status : "created");
}

store_rc_t
dossier_waybill(store_tx_t *tx, const char *prefix, int64_t serial, const char *country,
                char waybill[STORE_WAYBILL_MAX])
{
    if (serial < 0 || s10_format(prefix, (unsigned long)serial, country, waybill, STORE_WAYBILL_MAX) != 0)
        return store_tx_fail(tx, STORE_ERROR, "code range %s holds serial %" PRId64 ", which is not an S10 number",
                             prefix, serial);
    return STORE_OK;
}

int
dossier_clerk_row(store_clerk_row_t *row, const char *const *col, int search)
{
    memset(row, 0, sizeof *row);
    row->recipient_name = strdup(col[DOSSIER_COL_NAME]);
    row->last_event = strdup(col[DOSSIER_COL_LAST_EVENT]);
    if (search) {
        row->recipient_phone = strdup(col[DOSSIER_COL_PHONE]);
        row->agency_name = strdup(col[DOSSIER_COL_AGENCY_NAME]);
        row->fail_reason = strdup(col[DOSSIER_COL_FAIL_REASON]);
    }
    if (!row->recipient_name || !row->last_event ||
        (search && (!row->recipient_phone || !row->agency_name || !row->fail_reason))) {
        free(row->recipient_name);
        free(row->last_event);
        free(row->recipient_phone);
        free(row->agency_name);
        free(row->fail_reason);
        memset(row, 0, sizeof *row);
        return -1;
    }
    snprintf(row->waybill, sizeof row->waybill, "%s", col[DOSSIER_COL_WAYBILL]);
    snprintf(row->dossier_code, sizeof row->dossier_code, "%s", col[DOSSIER_COL_CODE]);
    snprintf(row->status, sizeof row->status, "%s", col[DOSSIER_COL_STATUS]);
    row->status_time = strtoll(col[DOSSIER_COL_STATUS_TIME], NULL, 10);
    row->created_at = strtoll(col[DOSSIER_COL_CREATED_AT], NULL, 10);
    row->cod_amount = strtoll(col[DOSSIER_COL_COD], NULL, 10);
    row->label_prints = atoi(col[DOSSIER_COL_PRINTS]);
    snprintf(row->carrier, sizeof row->carrier, "%s", col[DOSSIER_COL_CARRIER]);
    snprintf(row->province_code, sizeof row->province_code, "%s", col[DOSSIER_COL_PROVINCE]);
    snprintf(row->commune_code, sizeof row->commune_code, "%s", col[DOSSIER_COL_COMMUNE]);
    snprintf(row->agency_code, sizeof row->agency_code, "%s", col[DOSSIER_COL_AGENCY]);
    row->booking_dead = atoi(col[DOSSIER_COL_BOOKING_DEAD]) != 0;
    row->sla_breached = atoi(col[DOSSIER_COL_SLA_BREACHED]) != 0;
    if (search) {
        snprintf(row->leg, sizeof row->leg, "%s", col[DOSSIER_COL_LEG]);
        snprintf(row->service, sizeof row->service, "%s", col[DOSSIER_COL_SERVICE]);
        row->last_attempt_at = strtoll(col[DOSSIER_COL_LAST_ATTEMPT], NULL, 10);
        row->attempts = atoi(col[DOSSIER_COL_ATTEMPTS]);
    }
    return 0;
}

/* like_literal - q with the LIKE wildcards escaped (ESCAPE '\'); 0, or -1 when out is too small */
static int
like_literal(const char *q, char *out, size_t outlen)
{
    size_t o = 0;

    for (; *q; q++) {
        if (o + 3 > outlen)
            return -1;
        if (*q == '%' || *q == '_' || *q == '\\')
            out[o++] = '\\';
        out[o++] = *q;
    }
    out[o] = '\0';
    return 0;
}

/* phone_digits - the digits of q when q reads as (part of) a phone number: at least 4 digits
 * and only digits, spaces, '.', '-' or a leading '+'; "+84…" and "84…" (10 digits or more)
 * become "0…" as the stored numbers are compared; else "" */
static void
phone_digits(const char *q, char *out, size_t outlen)
{
    size_t o = 0;
    const char *p = q;

    out[0] = '\0';
    if (*p == '+')
        p++;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (o + 2 > outlen)
                return (void)(out[0] = '\0');
            out[o++] = *p;
        } else if (*p != ' ' && *p != '.' && *p != '-') {
            return;
        }
    }
    out[o] = '\0';
    if (o < 4) {
        out[0] = '\0';
        return;
    }
    if (o >= 10 && out[0] == '8' && out[1] == '4') {
        memmove(out + 1, out + 2, o - 1);
        out[0] = '0';
    }
}

store_rc_t
dossier_search_terms(store_tx_t *tx, const store_search_t *q, char *like, size_t likelen, char *digits,
                     size_t digitslen)
{
    const char *text = q->q ? q->q : "";

    if (like_literal(text, like, likelen) != 0)
        return store_tx_fail(tx, STORE_CONFLICT, "the search text is longer than %zu bytes", likelen / 2);
    phone_digits(text, digits, digitslen);
    return STORE_OK;
}

store_search_sort_t
dossier_search_sort(const store_search_t *q)
{
    return (unsigned)q->sort < STORE_SEARCH_SORTS ? q->sort : STORE_SEARCH_NEWEST;
}

/* take - a list's string, handed over to the caller (the list keeps NULL) */
static char *
take(char **s)
{
    char *t = *s;

    *s = NULL;
    return t;
}

store_rc_t
dossier_timeline_of(store_tx_t *tx, int64_t dossier_id, store_timeline_t *out)
{
    store_timeline_list_t list = { 0 };
    store_rc_t r;
    size_t i;

    memset(out, 0, sizeof *out);
    r = store_timeline_list(tx, dossier_id, &list);
    if (r != STORE_OK)
        return r;
    out->events = calloc(list.n ? list.n : 1, sizeof *out->events);
    if (!out->events) {
        store_timeline_list_free(&list);
        return store_tx_fail(tx, STORE_BUSY, "out of memory while reading the timeline; retry later");
    }
    for (i = 0; i < list.n; i++) {
        store_timeline_row_t *row = &list.items[i];
        store_event_t *e = &out->events[i];

        e->seq = row->seq;
        e->event_time = row->event_time;
        e->received_at = row->received_at;
        snprintf(e->source, sizeof e->source, "%s", row->source);
        snprintf(e->status, sizeof e->status, "%s", row->status);
        snprintf(e->upu, sizeof e->upu, "%s", row->upu);
        snprintf(e->hash, sizeof e->hash, "%s", row->hash);
        snprintf(e->waybill, sizeof e->waybill, "%s", row->waybill);
        e->raw_code = take(&row->raw_code);
        e->text = take(&row->text);
        e->details = take(&row->details);
        out->nevents++;
    }
    store_timeline_list_free(&list);
    r = store_timeline_verify(tx, dossier_id, out->chain_error, sizeof out->chain_error);
    if (r == STORE_OK || r == STORE_CONFLICT) {
        out->chain_valid = r == STORE_OK;
        if (out->chain_valid)
            out->chain_error[0] = '\0';
        return STORE_OK;
    }
    store_timeline_free(out);
    return r;
}

store_rc_t
dossier_note(store_tx_t *tx, const store_cancel_target_t *t, const char *source, const char *text, int64_t now)
{
    store_timeline_event_t ev;
    store_rc_t r;

    memset(&ev, 0, sizeof ev);
    ev.dossier_id = t->dossier_id;
    ev.shipment_id = t->shipment_id;
    ev.event_time = now;
    ev.received_at = now;
    ev.source = source;
    ev.text = text;
    r = store_timeline_append(tx, &ev);
    return r == STORE_EXISTS ? STORE_OK : r;
}

store_rc_t
dossier_request_cancel(store_tx_t *tx, const store_cancel_target_t *t, const char *source, int64_t now)
{
    char *payload = NULL;
    store_rc_t r = store_jobs_book_payload(tx, t->shipment_id, &payload);

    /* the carrier adapter reads the same shipment payload as for booking (carrier.h) */
    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_BUSY, "cannot read the booking of shipment %" PRId64 "; retry later",
                             t->shipment_id);
    if (r != STORE_OK)
        return r;
    r = store_jobs_enqueue(tx, STORE_JOB_CANCEL, t->shipment_id, "", t->carrier, payload, now, now);
    free(payload);
    if (r != STORE_OK && r != STORE_EXISTS)
        return r;
    return dossier_note(tx, t, source, DOSSIER_CANCEL_SENT_TEXT, now);
}
