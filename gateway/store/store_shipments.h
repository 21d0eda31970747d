/*
 * store_shipments - the shipment rows the rules read and change (the sink's and the
 * scheduler's writes, design §3-§5)
 *
 * A shipment is one leg (send or return) of a dossier carried by one carrier under one
 * S10 waybill. The sink (gateway/rules/sink.c) looks shipments up by id, by waybill or by
 * the carrier's own reference, records the booking, applies status changes it has decided
 * on (status_may_move, domain/status.h: the store never judges a change) and the
 * milestones the scheduler needs; the scheduler asks which shipments are due for a poll,
 * an invitation or an SLA check. Nothing here decides anything: every rule lives above.
 *
 * Ownership: strings passed in are borrowed for the call. store_shipment_t is a plain
 * value (fixed-size fields, nothing to free); a store_shipment_list_t filled by a query
 * is caller-owned and freed with store_shipment_list_free. Times are UTC milliseconds;
 * 0 means "not yet" for every optional time.
 */
#ifndef BCCI_STORE_SHIPMENTS_H
#define BCCI_STORE_SHIPMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/store/store.h"

typedef struct {
    int64_t id;
    int64_t dossier_id;
    char dossier_code[64];
    char status[24];          /* normalized status (domain/status.h) */
    int64_t status_time;      /* carrier time of the event behind the status; 0 before any */
    char waybill[16];
    char carrier[32];
    char carrier_ref[64];     /* "" until booked */
    char leg[12];             /* "send" or "return" */
    int transit_days;         /* working days allowed after acceptance (TT 17 Điều 7.2) */
    int64_t due_at;           /* 0 until the carrier accepted the item */
    int64_t first_attempt_at; /* 0 until the first delivery attempt */
    int attempts;             /* failed delivery attempts and invitations */
    int64_t last_attempt_at;  /* 0 before any */
    int64_t next_poll_at;     /* 0 = no poll planned */
    int sla_breached;
    int64_t created_at;
} store_shipment_t;

typedef struct {
    store_shipment_t *items;
    size_t n;
} store_shipment_list_t;

/* store_shipment_list_free - free what a query filled; the list is empty afterwards */
void store_shipment_list_free(store_shipment_list_t *list);

/* the proof of delivery (design §8: of the ID only the type and the last 4 digits) */
typedef struct {
    int64_t delivered_at;     /* carrier time */
    char name[100];           /* "" = not given (for "self" the store uses the recipient's name) */
    char relation[24];        /* "self" or "authorised", "" = not given */
    char id_type[16];
    char id_last4[5];         /* exactly four digits or "" */
    int64_t cod_collected;    /* VND collected on delivery, 0 = none */
} store_proof_t;

/* whom the citizen messages of a shipment go to, and the desk that holds a returned result:
 * from the dossier as submitted; "" where the dossier gave nothing */
typedef struct {
    char recipient_name[256];
    char recipient_phone[32];
    char recipient_email[256];
    char desk_name[512];      /* the agency (its one-stop desk) */
    char desk_address[512];
    char desk_phone[32];
    /* what the proof of delivery is compared with (design §8: of an ID the last 4 digits only) */
    char recipient_id_last4[5];
    char authorised_name[256]; /* "" when the dossier names no authorised person */
    char authorised_relation[64];
    char authorised_id_last4[5];
} store_contact_t;

/* store_shipments_contact - the contact data of shipment id's dossier (return leg: the
 * recipient; send leg: the citizen as sender); STORE_NOT_FOUND for an unknown shipment */
store_rc_t store_shipments_contact(store_tx_t *tx, int64_t id, store_contact_t *out);

/* lookups: STORE_OK and *out, STORE_NOT_FOUND, or STORE_BUSY/STORE_ERROR */
store_rc_t store_shipments_get(store_tx_t *tx, int64_t id, store_shipment_t *out);
store_rc_t store_shipments_find_waybill(store_tx_t *tx, const char *carrier, const char *waybill,
                                        store_shipment_t *out);
store_rc_t store_shipments_find_ref(store_tx_t *tx, const char *carrier, const char *carrier_ref,
                                    store_shipment_t *out);

/* store_shipments_set_booked - the carrier accepted the order: its reference and fee */
store_rc_t store_shipments_set_booked(store_tx_t *tx, int64_t id, const char *carrier_ref, int64_t fee, int64_t now);
/* store_shipments_set_status - write a status change the caller has decided on;
 * status_time is the carrier time that orders later events */
store_rc_t store_shipments_set_status(store_tx_t *tx, int64_t id, const char *status, int64_t status_time,
                                      int64_t now);
/* store_shipments_set_due - the SLA due date; an earlier one than recorded replaces it, a later
 * one changes nothing (J is the first of the handover scan and the carrier's acceptance) */
store_rc_t store_shipments_set_due(store_tx_t *tx, int64_t id, int64_t due_at);
/* store_shipments_record_attempt - a delivery attempt at `at`: the first one ends the return
 * leg's transit; failed = 1 also counts it and remembers it as the last attempt */
store_rc_t store_shipments_record_attempt(store_tx_t *tx, int64_t id, int64_t at, int failed);
/* store_shipments_record_invitation - an invitation sent at `at` counts as an attempt */
store_rc_t store_shipments_record_invitation(store_tx_t *tx, int64_t id, int64_t at);
/* store_shipments_set_next_poll - when to ask the carrier next; 0 stops polling */
store_rc_t store_shipments_set_next_poll(store_tx_t *tx, int64_t id, int64_t at);
/* store_shipments_mark_breached - the SLA breach was recorded (once per shipment) */
store_rc_t store_shipments_mark_breached(store_tx_t *tx, int64_t id);
/* store_shipments_record_delivery - who received it and what was collected; fields left
 * empty (or 0) keep what an earlier event recorded */
store_rc_t store_shipments_record_delivery(store_tx_t *tx, int64_t id, const store_proof_t *proof);
/* store_shipments_record_collected - money the carrier collected on this leg outside a delivery
 * (the send leg's fee taken from the citizen at pick-up): amount (VND) at `at` (carrier time),
 * kept where the COD report reads collected money (cod_collected, cod_collected_at) */
store_rc_t store_shipments_record_collected(store_tx_t *tx, int64_t id, int64_t amount, int64_t at);
/* store_shipments_get_proof - the recorded proof (STORE_OK with relation "" when none) */
store_rc_t store_shipments_get_proof(store_tx_t *tx, int64_t id, store_proof_t *out);

/* the scheduler's queries; at most max rows, *out caller-owned (empty on failure) */
/* store_shipments_due_polls - booked, not final, next poll at or before now; oldest first */
store_rc_t store_shipments_due_polls(store_tx_t *tx, int64_t now, int max, store_shipment_list_t *out);
/* store_shipments_failed_deliveries - in delivery_failed with a last attempt; oldest first */
store_rc_t store_shipments_failed_deliveries(store_tx_t *tx, int max, store_shipment_list_t *out);
/* store_shipments_past_due - not final, never attempted, due at or before cutoff, breach not
 * yet recorded */
store_rc_t store_shipments_past_due(store_tx_t *tx, int64_t cutoff, int max, store_shipment_list_t *out);
/* store_shipments_count_track_jobs - track jobs of carrier queued or running */
store_rc_t store_shipments_count_track_jobs(store_tx_t *tx, const char *carrier, int *n);

#endif
