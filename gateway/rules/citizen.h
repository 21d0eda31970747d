/*
 * citizen - the duty to inform (TT 17 Điều 12, Điều 5.2): what the citizen is told, and how
 *
 * When a return-leg shipment goes out for delivery, fails an attempt (with the carrier's
 * reason and the next appointment, two working days later) or goes back to the one-stop
 * desk, the citizen gets an SMS (when the dossier has a mobile phone) and an e-mail (when it
 * has an address): `sms` and `email` jobs in the same transaction as the status change, so a
 * message is sent once the change is durable, retried like every job, and never sent twice
 * (the job's purpose and the provider's request id are the dossier, the kind and the attempt).
 * The texts come from domain/messages. After the second failed invitation the carrier is asked
 * to bring the item back: a `return` job.
 *
 * Ownership: everything passed in is borrowed for the call.
 */
#ifndef BCCI_CITIZEN_H
#define BCCI_CITIZEN_H

#include <stdint.h>

#include "domain/calendar.h"
#include "gateway/store/store_shipments.h"

/* citizen_inform - queue the messages status calls for (none for other statuses or the send
 * leg), by SMS when sms and by e-mail when email (bccid's citizen_sms / citizen_email: a
 * gateway whose workers have no SMS provider or mail server sends nothing rather than
 * piling up dead jobs); reason may be NULL; attempt is the failed attempt's number. */
store_rc_t citizen_inform(store_tx_t *tx, const store_shipment_t *s, const char *status, const char *reason,
                          int attempt, int64_t event_time, const calendar_t *calendar, int sms, int email,
                          int64_t now);

/* citizen_request_return - queue the carrier's return request for s (a booked shipment) */
store_rc_t citizen_request_return(store_tx_t *tx, const store_shipment_t *s, const char *reason, int64_t now);

#endif
