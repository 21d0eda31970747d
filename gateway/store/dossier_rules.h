/*
 * dossier_rules - what every store backend does alike in the dossiers area (internal to
 * gateway/store/)
 *
 * A backend keeps its SQL; the rest of an operation lives here once: which leg a service
 * books, the Vietnamese texts the store itself writes on the timeline, how much a code
 * range has left, a dossier's current status, the S10 number made of a serial, the clerk
 * rows made of their columns and the search's terms and order, and the steps built only of
 * other areas' operations (the dossier timeline with its chain checked,
 * a cancel's timeline note, the carrier cancel job).
 *
 * Ownership: inputs are borrowed; buffers are the caller's; records filled are those of
 * store_dossiers.h, freed as that header says.
 */
#ifndef BCCI_DOSSIER_RULES_H
#define BCCI_DOSSIER_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/store/store_dossiers.h"

/* dossier_leg_of - the leg a submission for service books: "return" for return, else "send" */
const char *dossier_leg_of(const char *service);
/* dossier_intake_text - the timeline text of a new shipment with waybill, for service */
void dossier_intake_text(const char *service, const char *waybill, char *buf, size_t len);
/* dossier_left_manifest_text - the note of a shipment taken off manifest_public_id by a cancel */
void dossier_left_manifest_text(const char *manifest_public_id, char *buf, size_t len);
/* the note of a cancel sent to the carrier */
extern const char DOSSIER_CANCEL_SENT_TEXT[];

/* dossier_range_left - the serials of r not yet handed out (0 when used up) */
long long dossier_range_left(const store_code_range_t *r);
/* dossier_view_set_status - v->status from its newest shipment ("created" when none) */
void dossier_view_set_status(store_dossier_view_t *v);
/* dossier_waybill - the S10 number of serial in (prefix, country); STORE_ERROR on tx when the
 * range holds a serial that is none */
store_rc_t dossier_waybill(store_tx_t *tx, const char *prefix, int64_t serial, const char *country,
                           char waybill[STORE_WAYBILL_MAX]);

/* ------------------------------------------------ the clerk page's lists */

/* the columns of a clerk row, in the order every backend selects them: a clerk list's row has
 * the first DOSSIER_CLERK_COLS, a search row all DOSSIER_SEARCH_COLS */
enum {
    DOSSIER_COL_WAYBILL, DOSSIER_COL_CODE, DOSSIER_COL_STATUS, DOSSIER_COL_STATUS_TIME, DOSSIER_COL_CREATED_AT,
    DOSSIER_COL_COD, DOSSIER_COL_PRINTS, DOSSIER_COL_CARRIER, DOSSIER_COL_NAME, DOSSIER_COL_PROVINCE,
    DOSSIER_COL_COMMUNE, DOSSIER_COL_LAST_EVENT, DOSSIER_COL_AGENCY, DOSSIER_COL_BOOKING_DEAD,
    DOSSIER_COL_SLA_BREACHED, DOSSIER_CLERK_COLS,
    DOSSIER_COL_LEG = DOSSIER_CLERK_COLS, DOSSIER_COL_SERVICE, DOSSIER_COL_PHONE, DOSSIER_COL_AGENCY_NAME,
    DOSSIER_COL_FAIL_REASON, DOSSIER_COL_LAST_ATTEMPT, DOSSIER_COL_ATTEMPTS,
    DOSSIER_SEARCH_COLS
};
/* dossier_clerk_row - *row from the text of its columns (col[i] is column i as text, "" for
 * SQL NULL; DOSSIER_SEARCH_COLS of them with search, else DOSSIER_CLERK_COLS); 0, or -1 when
 * out of memory (then row owns nothing) */
int dossier_clerk_row(store_clerk_row_t *row, const char *const *col, int search);

/* dossier_search_terms - what q->q is matched with: like, q->q with the LIKE wildcards escaped
 * for ESCAPE '\', and digits, its digits when it reads as (part of) a phone number ("" else;
 * "+84..." and "84..." read as "0..." as the stored numbers are compared). STORE_CONFLICT on tx
 * when q->q does not fit like */
store_rc_t dossier_search_terms(store_tx_t *tx, const store_search_t *q, char *like, size_t likelen, char *digits,
                                size_t digitslen);
/* dossier_search_sort - the sort order of q: q->sort, or STORE_SEARCH_NEWEST when it names none */
store_search_sort_t dossier_search_sort(const store_search_t *q);

/* dossier_timeline_of - the events of dossier_id from the timeline area, with its chain checked
 * (a broken chain is chain_valid 0, a failed read a failure); *out empty on failure */
store_rc_t dossier_timeline_of(store_tx_t *tx, int64_t dossier_id, store_timeline_t *out);
/* dossier_note - a timeline note by source on t's shipment */
store_rc_t dossier_note(store_tx_t *tx, const store_cancel_target_t *t, const char *source, const char *text,
                        int64_t now);
/* dossier_request_cancel - the carrier cancel job (with the booking's payload) and its note */
store_rc_t dossier_request_cancel(store_tx_t *tx, const store_cancel_target_t *t, const char *source, int64_t now);

#endif
