/*
 * timeline - the case timeline on SQLite: append-only events in a keyed hash chain,
 * with a sealed head per dossier (design §5; the public face is store_timeline.h)
 *
 * The rows live here; what each hash and the head's seal cover, and what makes a chain
 * broken, is gateway/store/timeline_chain.c, shared with every backend (its key is
 * process-wide: the backend's callers that still reach this file with a bare connection,
 * intake, labels and cancels, need no key of their own). Every append also rewrites the
 * dossier's head: the event count, the last hash and its seal. timeline_verify recomputes
 * everything.
 * All strings in timeline_event_t are borrowed for the call.
 */
#ifndef BCCI_TIMELINE_H
#define BCCI_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "gateway/store/sqlite/db.h"
#include "gateway/store/store_timeline.h"

/* the store's event record; the chain itself is gateway/store/timeline_chain.c */
typedef store_timeline_event_t timeline_event_t;

enum { TIMELINE_APPENDED = 0, TIMELINE_DUPLICATE = 1, TIMELINE_ERROR = -1 };

/* timeline_append - append ev and reseal the head; TIMELINE_DUPLICATE when dedup_key was
 * seen. On TIMELINE_ERROR *sqlite_rc holds the SQLite code. */
int timeline_append(db_t *db, const timeline_event_t *ev, int *sqlite_rc);
/* timeline_append_first - timeline_append for the first event of a dossier the caller created
 * in this transaction: the chain starts at seq 1 without reading it (an event already there
 * fails the insert as a constraint error instead of being chained onto) */
int timeline_append_first(db_t *db, const timeline_event_t *ev, int *sqlite_rc);
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
