/*
 * store_timeline - the case timeline: append-only, per dossier, keyed hash chain (design §5)
 *
 * Every event of a dossier (gateway, carrier, clerk, post office, case system) is appended
 * here and never changed. Each event stores an HMAC-SHA256, keyed with the server's secret,
 * over its fields and the previous event's hash; the dossier keeps a sealed head (event
 * count and last hash) updated with every append. store_timeline_verify recomputes the
 * chain and compares it with the head, so an edited event, a deleted last event and a chain
 * recomputed without the key are all detected. The head travels in every case-system
 * notification, so the case system can hold the gateway to it.
 *
 * Carrier events carry a dedup key (carrier + event id, or a hash of the content): a second
 * event with the same key is not appended (STORE_EXISTS).
 *
 * Ownership: everything passed in is borrowed for the call; the key given to
 * store_set_chain_key is copied. A store_timeline_list_t is caller-owned and freed with
 * store_timeline_list_free.
 */
#ifndef BCCI_STORE_TIMELINE_H
#define BCCI_STORE_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/store/store.h"

#define STORE_HASH_HEX_LEN 65 /* 64 hex digits + NUL */

typedef struct {
    int64_t dossier_id;
    int64_t shipment_id;   /* 0 = none */
    int64_t event_time;    /* when it happened (carrier time for carrier events), UTC ms */
    int64_t received_at;   /* when the gateway recorded it */
    const char *source;    /* gateway, carrier, clerk, post_office, case_system */
    const char *status;    /* normalized status, or NULL for a note */
    const char *upu;       /* UPU event code or NULL */
    const char *raw_code;  /* the carrier's code, verbatim, or NULL */
    const char *text;      /* Vietnamese, for people */
    const char *details;   /* a JSON object as json_dumps wrote it; NULL = {}; anything else is refused */
    const char *dedup_key; /* NULL = never deduplicated */
} store_timeline_event_t;

/* one recorded event; strings owned by the list */
typedef struct {
    int64_t seq;
    int64_t event_time, received_at;
    char *source, *status, *upu, *raw_code, *text, *details, *hash, *waybill; /* "" when none */
} store_timeline_row_t;

typedef struct {
    store_timeline_row_t *items;
    size_t n;
} store_timeline_list_t;

void store_timeline_list_free(store_timeline_list_t *list);

/* store_set_chain_key - the key of the chain (bccid: its server secret, before its first
 * transaction; at most 64 bytes, else STORE_ERROR). Copied. One key per process: the SQLite
 * backend keeps it beside its chain code. Until it is set the chain is keyed with the empty
 * key (a warning is logged once), which only unit tests rely on. */
store_rc_t store_set_chain_key(store_t *store, const void *key, size_t len);

/* store_timeline_append - STORE_OK appended (and the head resealed), STORE_EXISTS when
 * dedup_key was seen (nothing written), STORE_ERROR when details is not a JSON object */
store_rc_t store_timeline_append(store_tx_t *tx, const store_timeline_event_t *ev);
/* store_timeline_list - the dossier's events in carrier-time order (event_time, then seq) */
store_rc_t store_timeline_list(store_tx_t *tx, int64_t dossier_id, store_timeline_list_t *out);
/* store_timeline_head - the sealed head: event count and last hash ("" and 0 when empty) */
store_rc_t store_timeline_head(store_tx_t *tx, int64_t dossier_id, int64_t *count, char hash[STORE_HASH_HEX_LEN]);
/* store_timeline_verify - STORE_OK when the chain of dossier_id is intact and matches its
 * head; STORE_CONFLICT when it does not, with why saying which event; or a failure */
store_rc_t store_timeline_verify(store_tx_t *tx, int64_t dossier_id, char *why, size_t whylen);
/* store_timeline_seal_all - re-key every timeline that has no sealed head yet (the first
 * start after the upgrade to keyed chains); *sealed = how many dossiers */
store_rc_t store_timeline_seal_all(store_tx_t *tx, int *sealed);

#endif
