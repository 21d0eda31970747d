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
 *
 * It also holds the one rule of when a return leg may be booked on a dossier that has a
 * collection leg ('both', or 'send' followed by 'return'): only after the collection leg's
 * receipt at the agency, the legal submission time (QĐ 45 Điều 7.4). Before it the return
 * leg is refused with 409 send_leg_not_received and nothing is written; the case system
 * posts the result again once the dossier was received (the receipt's DVC 2 notification
 * tells it when). Refusing rather than holding the result keeps one truth: a return leg
 * that exists is booked, and the case system, not a hidden queue, owns a result the agency
 * cannot legally have produced yet.
 */
#ifndef BCCI_INTAKE_H
#define BCCI_INTAKE_H

#include "api_error.h"
#include "carriers/carrier.h"
#include "domain/dossier.h"
#include "gateway/store/store.h"

/* intake_check_deliverable - 0 when ops (carrier_find(d->carrier); NULL = unknown
 * carrier) can take d, else -1 with err: 422 unknown_carrier, or 422 invalid_field naming the field too long for the carrier */
int intake_check_deliverable(const dossier_t *d, const carrier_ops_t *ops, api_error_t *err);

/* intake_return_leg_ready - STORE_OK when dossier code may get its return leg now: it has no
 * collection leg, or each one not cancelled was received at the agency (store_labels
 * receipts). STORE_CONFLICT with err filled (409 send_leg_not_received naming the waybill and
 * its status), or the store's failure (STORE_BUSY/STORE_ERROR, store_tx_message). For the
 * engine's write transaction, so a receipt committed just before is seen. */
store_rc_t intake_return_leg_ready(store_tx_t *tx, const char *code, api_error_t *err);

#endif
