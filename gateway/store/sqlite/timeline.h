/*
 * timeline - the case timeline on SQLite: append-only events in a keyed hash chain,
 * with a sealed head per dossier (design §5; the public face is store_timeline.h)
 *
 * Each event stores HMAC-SHA256(key, previous hash | dossier | seq | every field): without
 * the key nobody can recompute a chain that verifies. Every append also rewrites the
 * dossier's head: the event count, the last hash and an HMAC over both (the seal), so
 * deleting the last events and pointing the head back needs the key too.
 * timeline_verify recomputes everything.
 *
 * The key is process-wide (timeline_set_key): one gateway per process, and the backend's
 * callers that still reach this file with a bare connection (intake, labels, cancels) need
 * no key of their own. Until a key is set the chain is keyed with the empty key and a
 * warning is logged once: bccid always sets its secret first; unit tests need not.
 * All strings in timeline_event_t are borrowed for the call.
 */
#ifndef BCCI_TIMELINE_H
#define BCCI_TIMELINE_H

#include <stddef.h>
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

/* timeline_set_key - the chain key (copied; at most 64 bytes are used). 0, or -1 when too long */
int timeline_set_key(const void *key, size_t len);
/* timeline_append - append ev and reseal the head; TIMELINE_DUPLICATE when dedup_key was
 * seen. On TIMELINE_ERROR *sqlite_rc holds the SQLite code. */
int timeline_append(db_t *db, const timeline_event_t *ev, int *sqlite_rc);
/* timeline_verify - 0 when the chain of dossier_id is intact and matches its sealed head,
 * 1 when it does not (err names the event), -1 when it cannot be read (*sqlite_rc may be NULL) */
int timeline_verify_rc(db_t *db, int64_t dossier_id, char *err, size_t errlen, int *sqlite_rc);
/* timeline_verify - 0 intact, -1 broken or unreadable (err says which) */
int timeline_verify(db_t *db, int64_t dossier_id, char *err, size_t errlen);
/* timeline_head - the sealed head; 0, 1 when the dossier has none, -1 (*sqlite_rc) */
int timeline_head(db_t *db, int64_t dossier_id, int64_t *count, char hash[SHA256_HEX_LEN], int *sqlite_rc);
/* timeline_seal_all - once per database: recompute every chain and head with the current key
 * (the upgrade from unkeyed chains). Dossiers resealed, or -1 (*sqlite_rc). */
int timeline_seal_all(db_t *db, int *sqlite_rc);

#endif
