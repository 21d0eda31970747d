/*
 * dossier_fuzz - libFuzzer target for dossier_from_json (gateway/dossier.h)
 *
 * The input is the request body of POST /v1/dossiers. Whatever the bytes,
 * the parser must either refuse them with an error that names a status in
 * 400..599 and a code, or accept them and give a canonical JSON text that
 * parses again, has a 64-hex-digit body hash and non-empty code, service and
 * carrier. An accepted canonical body fed back in must be accepted again with
 * the same hash (canonicalisation is idempotent).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/dossier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dossier_t *d = NULL, *again = NULL;
    api_error_t err;

    if (size > DOSSIER_MAX_BODY)
        return 0;
    memset(&err, 0, sizeof err);
    if (dossier_from_json((const char *)data, size, "vnpost", &d, &err) != 0) {
        if (d || err.status < 400 || err.status > 599 || !err.code[0])
            abort(); /* a refusal must leave nothing behind and say why */
        return 0;
    }
    if (!d || !d->canonical || !d->canonical_text || strlen(d->body_hash) != 64 || !d->code || !*d->code ||
        !d->service || !*d->service || !d->carrier || !*d->carrier)
        abort();
    {
        /* every accepted dossier can be booked: the worker builds the booking from its
         * canonical text (dossier_book_payload_text), the same as from the tree */
        json_t *booking = dossier_book_payload(d->canonical);
        char *text = dossier_book_payload_text(d->canonical_text), *dumped = json_dumps(booking, JSON_COMPACT);

        if (!booking || !text || !dumped || strcmp(text, dumped) != 0)
            abort();
        free(text);
        free(dumped);
        json_decref(booking);
    }
    memset(&err, 0, sizeof err);
    if (dossier_from_json(d->canonical_text, strlen(d->canonical_text), "vnpost", &again, &err) != 0)
        abort(); /* the canonical form of an accepted dossier is itself accepted */
    if (strcmp(again->body_hash, d->body_hash) != 0)
        abort();
    dossier_destroy(&again);
    dossier_destroy(&d);
    return 0;
}
