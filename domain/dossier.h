/*
 * dossier - parse and validate a dossier submission (POST /v1/dossiers, design §7)
 *
 * dossier_from_json checks every field (identifiers, lengths in characters,
 * valid UTF-8 without controls, bidi overrides or zero-width characters, integer
 * amounts), normalises text to NFC and
 * builds the canonical JSON whose SHA-256 decides idempotency: the same
 * dossier and service with the same canonical body is a replay, a different
 * body is a conflict. A CCCD number in the submission is replaced by a keyed hash and
 * its last four digits before anything is stored (design §8). The dossier owns its canonical JSON tree; the const
 * char * accessors are borrowed from it until dossier_destroy.
 */
#ifndef BCCI_DOSSIER_H
#define BCCI_DOSSIER_H

#include <jansson.h>
#include <stddef.h>

#include "crypto.h"
#include "api_error.h"

/* the weight booked for a dossier or result envelope (no scale at the desk yet): the carrier
 * order and the label say the same */
#define DOSSIER_WEIGHT_GRAMS 200

#define DOSSIER_MAX_BODY (256 * 1024)
#define DOSSIER_MAX_DEPTH 8
#define DOSSIER_MAX_COD 100000000LL /* 100 million đồng */

typedef struct {
    json_t *canonical;            /* owned: the validated, NFC-normalised submission */
    char *canonical_text;         /* owned: compact, sorted-key JSON of canonical */
    char body_hash[SHA256_HEX_LEN];
    const char *code, *service, *carrier, *agency_code;
    long long cod_amount;         /* what this leg collects: the return leg's COD on delivery, the
                                   * collection leg's pickup_fee at pick-up */
    int transit_days;             /* TT 17 Điều 7.2 limit for this leg, in working days */
} dossier_t;

/* dossier_from_json - 0 and *out (caller owns, dossier_destroy), or -1 with err filled.
 * default_carrier is used when the submission names none; whether the carrier exists and
 * can deliver it is checked above the domain (gateway/rules/intake.h). */
int dossier_from_json(const char *body, size_t len, const char *default_carrier, dossier_t **out, api_error_t *err);
/* dossier_result_of_both - the return leg of a 'both' dossier whose result is ready (POST
 * /v1/dossiers/{code}/result): body is {"summary": text, "documents"?: [{name, original}]}
 * checked like a submission's result (unknown fields refused by name), both_canonical the
 * stored canonical text of the 'both' submission (its recipient, agency, COD, authorised
 * person and note). The dossier is a 'return' submission like any other: same hash rules, so
 * the same result twice is a replay and a different one a conflict. 0 and *out (caller owns),
 * or -1 with err. */
int dossier_result_of_both(const char *both_canonical, const char *body, size_t len, dossier_t **out,
                           api_error_t *err);
void dossier_destroy(dossier_t **self);
/* dossier_book_payload - what the carrier adapter books (carriers/carrier.h) for the
 * canonical dossier canon, without the waybill and carrier reference, which the dispatcher
 * adds from the shipment. Built where the booking runs, in the worker, from the stored
 * canonical text (which the store keeps once, not a second copy of the addresses per job).
 * Caller owns the object; NULL when canon is not an accepted dossier's canonical tree. */
json_t *dossier_book_payload(const json_t *canon);
/* dossier_book_payload_text - the same from canonical text, as compact JSON text (caller
 * frees); NULL when the text is not a canonical dossier */
char *dossier_book_payload_text(const char *canonical_text);
/* dossier_set_id_key - the key of the CCCD hash (the server secret); call once at start-up */
void dossier_set_id_key(const void *key, size_t len);

/* request_json_object - a request body as a JSON object (common/json_text.h: strict, duplicate
 * keys refused) nested at most DOSSIER_MAX_DEPTH levels; caller owns it. NULL with err set:
 * 400 invalid_json saying where and why. The size limit is the caller's (HTTP: max_body;
 * a dossier: DOSSIER_MAX_BODY). */
json_t *request_json_object(const char *body, size_t len, api_error_t *err);

/* json_depth_ok - 1 when the nesting depth of JSON text stays within max (strings skipped) */
int json_depth_ok(const char *text, size_t len, int max);

#endif
