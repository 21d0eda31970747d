/*
 * citizen - messages to the citizen and the carrier's return request (see citizen.h)
 */
#include "gateway/rules/citizen.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "domain/messages.h"
#include "gateway/store/store_jobs.h"
#include "log.h"

/* queue - one message job; its purpose makes it unique per dossier, kind and attempt */
static store_rc_t
queue(store_tx_t *tx, store_job_kind_t kind, const store_shipment_t *s, const char *purpose, json_t *payload,
      int64_t now)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    store_rc_t r;

    if (!text)
        return store_tx_fail(tx, STORE_BUSY, "out of memory while queueing a message to the citizen; retry later");
    r = store_jobs_enqueue(tx, kind, s->id, purpose, JOBS_CASE_SYSTEM, text, now, now);
    free(text);
    return r == STORE_EXISTS ? STORE_OK : r;
}

static int
kind_for(const char *status, message_kind_t *kind)
{
    if (strcmp(status, "out_for_delivery") == 0)
        *kind = MESSAGE_OUT_FOR_DELIVERY;
    else if (strcmp(status, "delivery_failed") == 0)
        *kind = MESSAGE_DELIVERY_FAILED;
    else if (strcmp(status, "returned") == 0)
        *kind = MESSAGE_RETURNED_TO_DESK;
    else
        return -1;
    return 0;
}

/* a mobile number (design §1): 0 + 3|5|7|8|9 + 8 digits, or +84 …; landlines get no SMS */
static int
is_mobile(const char *p)
{
    size_t n = strlen(p), i;

    if (strncmp(p, "+84", 3) == 0) {
        p += 3;
        n -= 3;
        if (n != 9 || !strchr("35789", p[0]))
            return 0;
    } else if (n != 10 || p[0] != '0' || !strchr("35789", p[1])) {
        return 0;
    }
    for (i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

store_rc_t
citizen_inform(store_tx_t *tx, const store_shipment_t *s, const char *status, const char *reason, int attempt,
               int64_t event_time, const calendar_t *calendar, int sms_on, int email_on, int64_t now)
{
    message_input_t in;
    store_contact_t c;
    buf_t sms, subject, body;
    char err[256], purpose[64], request_id[160];
    store_rc_t r;

    memset(&in, 0, sizeof in);
    if ((!sms_on && !email_on) || strcmp(s->leg, "return") != 0 || kind_for(status, &in.kind) != 0)
        return STORE_OK;
    r = store_shipments_contact(tx, s->id, &c);
    if (r != STORE_OK)
        return r == STORE_NOT_FOUND ? STORE_OK : r;
    in.dossier_code = s->dossier_code;
    in.recipient_name = c.recipient_name[0] ? c.recipient_name : NULL;
    if (in.kind == MESSAGE_DELIVERY_FAILED) {
        in.reason = reason && *reason ? reason : NULL;
        in.attempt = attempt;
        /* the next appointment: two working days later; after the second attempt the result goes back */
        if (attempt < 2)
            in.when_ms = calendar_add_working_days(calendar, event_time, 2);
    }
    if (in.kind == MESSAGE_RETURNED_TO_DESK) {
        in.place_name = c.desk_name[0] ? c.desk_name : NULL;
        in.place_address = c.desk_address[0] ? c.desk_address : NULL;
        in.place_phone = c.desk_phone[0] ? c.desk_phone : NULL;
    }
    snprintf(purpose, sizeof purpose, "%s:%d", message_kind_name(in.kind), attempt);
    buf_init(&sms, 4096);
    buf_init(&subject, 1024);
    buf_init(&body, 16384);
    if (sms_on && c.recipient_phone[0] && is_mobile(c.recipient_phone)) {
        if (message_sms_text(&in, &sms, err, sizeof err) != 0) {
            log_warn("dossier %s: no SMS for %s: %s", s->dossier_code, status, err);
        } else {
            json_t *p;

            snprintf(request_id, sizeof request_id, "%s/%s/%d/sms", s->dossier_code, message_kind_name(in.kind),
                     attempt);
            p = json_pack("{s:s, s:s%, s:s}", "to", c.recipient_phone, "text", sms.data, sms.len, "request_id",
                          request_id);
            r = p ? queue(tx, STORE_JOB_SMS, s, purpose, p, now) : STORE_BUSY;
            json_decref(p);
        }
    }
    if (r == STORE_OK && email_on && c.recipient_email[0]) {
        if (message_email(&in, &subject, &body, err, sizeof err) != 0) {
            log_warn("dossier %s: no e-mail for %s: %s", s->dossier_code, status, err);
        } else {
            json_t *p;

            snprintf(request_id, sizeof request_id, "%s/%s/%d/email", s->dossier_code, message_kind_name(in.kind),
                     attempt);
            p = json_pack("{s:s, s:s%, s:s%, s:s}", "to", c.recipient_email, "subject", subject.data, subject.len,
                          "body", body.data, body.len, "request_id", request_id);
            r = p ? queue(tx, STORE_JOB_EMAIL, s, purpose, p, now) : STORE_BUSY;
            json_decref(p);
        }
    }
    buf_free(&sms);
    buf_free(&subject);
    buf_free(&body);
    return r;
}

store_rc_t
citizen_request_return(store_tx_t *tx, const store_shipment_t *s, const char *reason, int64_t now)
{
    char *payload = NULL;
    json_t *p;
    store_rc_t r;

    if (!s->carrier_ref[0])
        return STORE_OK; /* never booked: nothing at the carrier to bring back */
    r = store_jobs_book_payload(tx, s->id, &payload);
    if (r != STORE_OK)
        return r == STORE_NOT_FOUND ? STORE_OK : r;
    p = json_loads(payload, 0, NULL);
    free(payload);
    if (!p)
        return store_tx_fail(tx, STORE_ERROR, "the booking payload of shipment %" PRId64 " is not JSON", s->id);
    json_object_set_new(p, "return_reason", json_string(reason));
    payload = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    if (!payload)
        return store_tx_fail(tx, STORE_BUSY, "out of memory while queueing a return request; retry later");
    r = store_jobs_enqueue(tx, STORE_JOB_RETURN, s->id, "after_invitations", s->carrier, payload, now, now);
    free(payload);
    return r == STORE_EXISTS ? STORE_OK : r;
}
