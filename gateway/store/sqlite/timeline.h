/*
 * timeline - the case timeline: append-only events with a hash chain (design §5)
 *
 * Each event stores the SHA-256 of its predecessor (by append order, seq) and
 * its own hash over every field, so any edit or deletion breaks the chain
 * (timeline_verify). Carrier events carry a dedup key (carrier + event id or
 * a content hash); a second event with the same key is not appended.
 * Readers show events in carrier-time order (event_time, then seq).
 * All strings in timeline_event_t are borrowed for the call.
 */
#ifndef BCCI_TIMELINE_H
#define BCCI_TIMELINE_H

#include <stdint.h>

#include "crypto.h"
#include "gateway/store/sqlite/db.h"

typedef struct {
    int64_t dossier_id;
    int64_t shipment_id;      /* 0 = none */
    int64_t event_time;       /* when it happened (carrier time for carrier events), UTC ms */
    int64_t received_at;      /* when the gateway recorded it */
    const char *source;       /* gateway, carrier, clerk, post_office, case_system */
    const char *status;       /* normalized status or NULL */
    const char *upu;          /* UPU code or NULL */
    const char *raw_code;     /* carrier code or NULL */
    const char *text;         /* Vietnamese, for people */
    const char *details;      /* JSON object text, NULL = "{}" */
    const char *dedup_key;    /* NULL = never deduplicated */
} timeline_event_t;

enum { TIMELINE_APPENDED = 0, TIMELINE_DUPLICATE = 1, TIMELINE_ERROR = -1 };

/* timeline_append - append ev; TIMELINE_DUPLICATE when dedup_key was seen. On
 * TIMELINE_ERROR *sqlite_rc holds the SQLite code. */
int timeline_append(db_t *db, const timeline_event_t *ev, int *sqlite_rc);
/* timeline_verify - 0 when the chain of dossier_id is intact, else -1 and err names the event */
int timeline_verify(db_t *db, int64_t dossier_id, char *err, size_t errlen);

#endif
