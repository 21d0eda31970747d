/*
 * sink - applies what comes back from the outside world: the rules of a shipment's status
 *
 * Worker results (a booking accepted, a cancel confirmed, tracking events, a retry, a
 * permanent refusal) and carrier webhooks become shipment status changes and timeline
 * events, and every change the case system cares about (design §4, last column) becomes a
 * `notify` job in the same transaction, carrying the timeline's sealed head. Only the
 * engine thread calls these, inside its open write transaction; the sink decides, the
 * store (store_shipments.h, store_timeline.h) records.
 *
 * Rules (design §3, §4): every carrier event is deduplicated; a status changes only when
 * status_may_move (domain/status.h) allows it, so a terminal status never moves backwards
 * and an event older (carrier time) than the current status goes on the timeline without
 * changing the status; an unknown raw code is kept on the timeline as a note; an event
 * for a finished shipment is recorded as a note.
 *
 * Results: STORE_OK, or STORE_BUSY/STORE_ERROR with store_tx_message(tx) saying why; on a
 * failure the caller rolls back (sink_job_result does it itself: it runs under its own
 * savepoint). Everything passed in is borrowed for the call.
 */
#ifndef BCCI_SINK_H
#define BCCI_SINK_H

#include <jansson.h>
#include <stdint.h>

#include "carriers/carrier.h"
#include "domain/calendar.h"
#include "gateway/store/store.h"
#include "queues/wire.h"

typedef struct {
    int applied;       /* new timeline events */
    int duplicates;    /* already seen */
    int unknown_ship;  /* no shipment for this waybill / carrier reference */
    int unknown_code;  /* raw code the carrier table does not know */
    int status_changes;
} sink_report_t;

typedef struct {
    int max_attempts_book;        /* carrier jobs: then the job is dead */
    int64_t backoff_base_ms;
    int64_t backoff_cap_ms;
    const char *case_system_url;  /* NULL or "": no notifications */
    const char *case_system_key_id; /* the id of bccid's signing secret (notify_key_id), put into
                                     * every notify job; NULL or "": none */
    int64_t notify_max_age_ms;    /* notify jobs retry this long, then they are dead */
    const calendar_t *calendar;   /* working days for due dates; NULL = weekends only */
    int64_t poll_min_ms;          /* first tracking poll this long after the last news */
    int citizen_sms;              /* 1: sms jobs to the citizen (gateway/rules/citizen.h) */
    int citizen_email;            /* 1: email jobs to the citizen */
} sink_policy_t;

/* sink_dvc - the DVC status code (design §1: "2", "9", "10", or "1" for a note about a send leg)
 * the case system is told for a shipment of leg ("send" or "return") reaching status, with the
 * Vietnamese text that begins the notification in *text_prefix; status "received" is the send
 * leg's receipt at the agency. NULL when the case system is not told. Static strings. */
const char *sink_dvc(const char *leg, const char *status, const char **text_prefix);
/* sink_job_result - apply a RESULT (a late or duplicate one is ignored: STORE_OK) */
store_rc_t sink_job_result(store_tx_t *tx, const wire_msg_t *m, const sink_policy_t *policy, int64_t now);
/* sink_carrier_events - apply events of carrier ops; report counts what happened */
store_rc_t sink_carrier_events(store_tx_t *tx, const carrier_ops_t *ops, const carrier_event_list_t *events,
                               const sink_policy_t *policy, int64_t now, sink_report_t *report);
/* sink_set_status - move shipment_id to status with a timeline event (details: a JSON object or
 * NULL) and, when the case system cares, a notify job. STORE_OK moved; STORE_CONFLICT when the
 * status machine refuses (nothing written); STORE_NOT_FOUND; or a failure. */
store_rc_t sink_set_status(store_tx_t *tx, int64_t shipment_id, const char *status, const char *upu,
                           int64_t event_time, const char *source, const char *text, const json_t *details,
                           const sink_policy_t *policy, int64_t now);
/* sink_notify - queue a notify job about shipment_id for status (design §4 last column) when
 * the case system is told about it; STORE_OK queued or not needed */
store_rc_t sink_notify(store_tx_t *tx, int64_t shipment_id, const char *status, const char *upu, int64_t event_time,
                       const char *text, const sink_policy_t *policy, int64_t now);
/* sink_handed_over - the post office took waybill of carrier over the counter at `at` (the
 * handover scan of a manifest or of the item, POST /v1/scans): J of TT 17 Điều 7.2 when it
 * comes before the carrier's "accepted", so the due date counts from it. STORE_NOT_FOUND for
 * an unknown waybill; a finished shipment is left alone. */
store_rc_t sink_handed_over(store_tx_t *tx, const char *carrier, const char *waybill, int64_t at,
                            const sink_policy_t *policy);
/* sink_receive - the receiving officer accepted send-leg shipment_id at the agency's desk on
 * receipt_id (QĐ 45 Điều 7.4): the legal submission time goes on the timeline (source clerk;
 * the status stays or becomes delivered) and to the case system as DVC 2 with NgayTiepNhan.
 * The caller checked the leg and the status (store_labels_receipt_create). */
store_rc_t sink_receive(store_tx_t *tx, int64_t shipment_id, const char *officer, const char *receipt_id,
                        const sink_policy_t *policy, int64_t now);

#endif
