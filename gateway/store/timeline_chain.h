/*
 * timeline_chain - the keyed hash chain of the case timeline, for every backend
 * (internal to gateway/store/; the public face is store_timeline.h)
 *
 * Each event's hash is HMAC-SHA256(key, previous hash | dossier | seq | every field), so
 * nobody without the key can recompute a chain that verifies; each dossier's head (event
 * count and last hash) carries a seal, an HMAC over both, so deleting the last events and
 * pointing the head back needs the key too. The backends only read and write rows: what a
 * hash covers, what the head's seal covers, and what makes a chain broken are decided here,
 * once, so a chain written by one backend verifies on the other (bcci store copy).
 *
 * The key is process-wide (chain_set_key): one gateway per process. Until a key is set the
 * chain is keyed with the empty key and a warning is logged once: bccid always sets its
 * secret first; unit tests need not.
 *
 * Verification walks a chain_verify_t: chain_verify_head with the dossier's stored head,
 * chain_verify_event for each stored event in seq order, chain_verify_end. Each returns 0
 * while the chain holds and 1 (err says which event) once it does not. Everything passed in
 * is borrowed for the call.
 */
#ifndef BCCI_TIMELINE_CHAIN_H
#define BCCI_TIMELINE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "gateway/store/store_timeline.h"

/* the hash a dossier's first event points at */
extern const char CHAIN_ZERO_HASH[SHA256_HEX_LEN];

/* chain_set_key - the chain key (copied; at most 64 bytes). 0, or -1 when too long */
int chain_set_key(const void *key, size_t len);

/* chain_details - the details an event is stored and hashed with ("{}" for NULL) */
const char *chain_details(const store_timeline_event_t *ev);

/* chain_event_hash - the hash of event ev stored as number seq of its dossier after prev.
 * ev->details must already be what is stored (chain_details); dedup_key is not covered. */
void chain_event_hash(const char *prev, int64_t seq, const store_timeline_event_t *ev, char out[SHA256_HEX_LEN]);
/* chain_head_seal - the seal of a head of count events ending on hash ("" when empty) */
void chain_head_seal(int64_t dossier_id, int64_t count, const char *hash, char out[SHA256_HEX_LEN]);

typedef struct {
    int64_t dossier_id;
    int64_t count;      /* what the sealed head says */
    int64_t expect_seq; /* the seq the next event must have */
    char head[SHA256_HEX_LEN];
    char prev[SHA256_HEX_LEN];
} chain_verify_t;

/* chain_verify_head - start on dossier_id's stored head: found = the dossier exists, head NULL
 * when it was never sealed, seal as stored */
int chain_verify_head(chain_verify_t *v, int64_t dossier_id, int found, int64_t count, const char *head,
                      const char *seal, char *err, size_t errlen);
/* chain_verify_event - the next stored event: its seq, stored prev_hash and hash, and its fields
 * (ev->dossier_id is ignored: it is v's) */
int chain_verify_event(chain_verify_t *v, int64_t seq, const char *prev_hash, const char *hash,
                       const store_timeline_event_t *ev, char *err, size_t errlen);
/* chain_verify_end - after the last stored event */
int chain_verify_end(const chain_verify_t *v, char *err, size_t errlen);

#endif
