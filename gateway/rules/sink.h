/*
 * sink - applies what comes back from the outside world to the store
 *
 * Worker results (a booking accepted, a cancel confirmed, tracking events, a
 * retry, a permanent refusal) and carrier webhooks become shipment status
 * changes and timeline events, and every change the case system cares about
 * (design §4, last column) becomes a `notify` job in the same transaction.
 * Only the engine thread calls these, inside its open transaction.
 *
 * Rules (design §3, §4): every carrier event is deduplicated; a terminal
 * status never moves backwards; an event older (carrier time) than the
 * current status goes on the timeline without changing the status; an
 * unknown raw code is kept on the timeline as a note; an event for a
 * finished shipment is recorded as a note.
 * Everything passed in is borrowed for the call.
 */
#ifndef BCCI_SINK_H
#define BCCI_SINK_H

#include <stdint.h>

#include "carriers/carrier.h"
#include "gateway/store/sqlite/db.h"
#include "domain/calendar.h"
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
    int64_t notify_max_age_ms;    /* notify jobs retry this long, then they are dead */
    const calendar_t *calendar;   /* working days for due dates; NULL = weekends only */
    int64_t poll_min_ms;          /* first tracking poll this long after the last news */
} sink_policy_t;

/* sink_job_result - apply a RESULT; 0 applied or ignored (late/duplicate), -1 SQLite error (*rc) */
int sink_job_result(db_t *db, const wire_msg_t *m, const sink_policy_t *policy, int64_t now, int *rc);
/* sink_carrier_events - apply events of carrier ops; 0 or -1 SQLite error (*rc) */
int sink_carrier_events(db_t *db, const carrier_ops_t *ops, const carrier_event_list_t *events,
                        const sink_policy_t *policy, int64_t now, sink_report_t *report, int *rc);
/* sink_set_status - move shipment_id to status (unless terminal) with a timeline event and,
 * when the case system cares, a notify job. 0, 1 when refused (terminal), -1 SQLite error. */
int sink_set_status(db_t *db, int64_t shipment_id, const char *status, const char *upu, int64_t event_time,
                    const char *source, const char *text, const char *details, const sink_policy_t *policy,
                    int64_t now, int *rc);
/* sink_notify - queue a notify job about shipment_id for status (design §4 last column);
 * 0 queued or not needed, -1 error */
int sink_notify(db_t *db, int64_t shipment_id, const char *status, const char *upu, int64_t event_time,
                const char *text, const sink_policy_t *policy, int64_t now, int *rc);

#endif
