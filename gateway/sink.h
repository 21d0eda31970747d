/*
 * sink - applies what comes back from the outside world to the store
 *
 * Worker results (a booking accepted, a retry, a permanent refusal) and carrier
 * events (webhooks, tracking polls) become shipment status changes and
 * timeline events. Only the engine thread calls these, inside its open
 * transaction. Rules (design §3, §4): every carrier event is deduplicated; a
 * terminal status never moves backwards; an event older (carrier time) than
 * the current status goes on the timeline without changing the status; an
 * unknown raw code is kept on the timeline as a note.
 * Everything passed in is borrowed for the call.
 */
#ifndef BCCI_SINK_H
#define BCCI_SINK_H

#include <stdint.h>

#include "carriers/carrier.h"
#include "db.h"
#include "queues/wire.h"

typedef struct {
    int applied;       /* new timeline events */
    int duplicates;    /* already seen */
    int unknown_ship;  /* no shipment for this waybill / carrier reference */
    int unknown_code;  /* raw code the carrier table does not know */
    int status_changes;
} sink_report_t;

typedef struct {
    int max_attempts_book;    /* then the job is dead */
    int64_t backoff_base_ms;
    int64_t backoff_cap_ms;
} sink_policy_t;

/* sink_job_result - apply a RESULT; 0 applied or ignored (late/duplicate), -1 SQLite error (*rc) */
int sink_job_result(db_t *db, const wire_msg_t *m, const sink_policy_t *policy, int64_t now, int *rc);
/* sink_carrier_events - apply events of carrier ops; 0 or -1 SQLite error (*rc) */
int sink_carrier_events(db_t *db, const carrier_ops_t *ops, const carrier_event_list_t *events, int64_t now,
                        sink_report_t *report, int *rc);

#endif
