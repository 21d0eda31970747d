/*
 * intake - what the dossier's carrier can deliver, checked before anything is written
 *
 * domain/dossier.c checks what any dossier must be (identifiers, characters,
 * lengths in characters); this file checks what the chosen carrier accepts:
 * it must be a known carrier, and every party's name, address and phone and
 * the content note must fit the carrier's limits (carriers/carrier.h,
 * carrier_limits_t, in bytes). A refusal is 422 naming the field
 * (e.g. "agency.name"), so a 201 always means the carrier can take it.
 * Nothing is allocated; the dossier and ops are borrowed for the call.
 */
#ifndef BCCI_INTAKE_H
#define BCCI_INTAKE_H

#include "api_error.h"
#include "carriers/carrier.h"
#include "domain/dossier.h"

/* intake_check_deliverable - 0 when ops (carrier_find(d->carrier); NULL = unknown
 * carrier) can take d, else -1 with err: 422 unknown_carrier, or 422 invalid_field naming the field too long for the carrier */
int intake_check_deliverable(const dossier_t *d, const carrier_ops_t *ops, api_error_t *err);

#endif
