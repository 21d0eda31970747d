/*
 * store_dossiers - dossiers in the store: intake, the S10 code pool, and the
 * views of dossiers, shipments and timelines (design §1, §3, §7)
 *
 * Intake writes a dossier, its submission, its shipment with a waybill from
 * the pool, the first timeline event and the booking job in the caller's
 * write transaction: all or nothing (design §3). Waybills come from imported
 * code ranges and are never handed out twice, not even after a restore from
 * a backup: the pool reserves numbers in blocks whose high-water mark is also
 * kept outside the database (see store_dossiers_intake).
 *
 * Reads fill plain records. A read either returns the whole answer or a
 * STORE_BUSY / STORE_ERROR: a database failure in the middle of a read never
 * yields part of a dossier or timeline.
 *
 * Ownership: every input is borrowed for the call. Records with pointers
 * (views, timelines, code status, tracking) are caller-owned and freed with
 * the matching *_free function, which also zeroes them; freeing a zeroed
 * record is a no-op. JSON is rendered above the store (gateway/http/).
 */
#ifndef BCCI_STORE_DOSSIERS_H
#define BCCI_STORE_DOSSIERS_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/store/store.h"

#define STORE_WAYBILL_MAX 16  /* 13 characters of S10 and a NUL */
#define STORE_CODE_MAX 64     /* dossier and agency codes (ident.h keeps them shorter) */
#define STORE_STATUS_MAX 24   /* normalized status names (status.h) */

/* ---------------------------------------------------------------- intake */

/* a validated submission (domain/dossier.h), borrowed */
typedef struct {
    const char *code;           /* dossier code */
    const char *service;        /* send, return, both */
    const char *carrier;        /* carrier name */
    const char *agency_code;
    const char *canonical_body; /* canonical JSON text of the submission, stored as is */
    const char *body_hash;      /* decides replay (same) versus conflict (different) */
    const char *book_payload;   /* the booking job's payload (carriers/carrier.h), or NULL: the
                                 * worker builds it from canonical_body when it books
                                 * (dossier_book_payload), so the addresses are stored once */
    long long cod_amount;
    int transit_days;
} store_intake_t;

typedef struct {
    int64_t shipment_id;
    char waybill[STORE_WAYBILL_MAX];
    char leg[8];                /* send or return */
    int dossier_existed;        /* the dossier was there before: this is another service of it */
} store_intake_result_t;

/* store_dossiers_intake - write dossier, submission, shipment (waybill from the pool), first
 * timeline event and booking job. STORE_OK: created, *out filled (dossier_existed says whether
 * the dossier itself is new, so a rule about its other legs need not look it up first). STORE_EXISTS: the same
 * dossier and service with the same body was submitted before (nothing written; read the view).
 * STORE_CONFLICT: submitted before with a different body. STORE_EMPTY: no S10 number left (an
 * administrator must import a range). STORE_BUSY / STORE_ERROR with store_tx_message. On any
 * result but STORE_OK the caller rolls back its savepoint (the pool may have moved). */
store_rc_t store_dossiers_intake(store_tx_t *tx, const store_intake_t *in, int64_t now, store_intake_result_t *out);

/* ----------------------------------------------------------------- codes */

typedef struct {
    char prefix[3];
    char country[3];
    long long first, last;      /* serials, inclusive */
    long long next;             /* the next serial to hand out; > last when used up */
    int64_t imported_at;
} store_code_range_t;

/* store_dossiers_import_codes - add the S10 range prefix from..from+count-1 (country, e.g. VN).
 * STORE_CONFLICT when it overlaps an imported range (that range in *overlap when not NULL):
 * S10 numbers are never reused. */
store_rc_t store_dossiers_import_codes(store_tx_t *tx, const char *prefix, const char *country, long long from,
                                       long long count, int64_t now, store_code_range_t *overlap);

typedef struct {
    store_code_range_t *ranges; /* owned, in import order */
    size_t nranges;
    long long left;             /* numbers not yet handed out, over every range */
} store_codes_t;

/* store_dossiers_codes_status - every range with what is left; *out caller-owned (store_codes_free) */
store_rc_t store_dossiers_codes_status(store_tx_t *tx, store_codes_t *out);
void store_codes_free(store_codes_t *self);

/* store_dossiers_reassign_waybill - give shipment_id a fresh waybill from the pool (the old one
 * turned out to be known to the carrier for another order, e.g. after a restore); the old
 * number is never handed out again. *waybill receives the new one. STORE_NOT_FOUND,
 * STORE_EMPTY, STORE_BUSY, STORE_ERROR. For the sink, inside its write transaction. */
store_rc_t store_dossiers_reassign_waybill(store_tx_t *tx, int64_t shipment_id, int64_t now,
                                           char waybill[STORE_WAYBILL_MAX]);

/* ----------------------------------------------------------------- views */

typedef struct {
    char service[8];
    char *body;                 /* owned: the canonical JSON text as submitted */
} store_submission_t;

typedef struct {
    int64_t id;
    char waybill[STORE_WAYBILL_MAX];
    char carrier[32];
    char *carrier_ref;          /* owned; "" until the carrier accepted the order */
    char leg[8];
    char status[STORE_STATUS_MAX];
    int64_t status_time;        /* 0 until the carrier reports */
    long long cod_amount;
    long long fee;              /* -1 unknown */
    int64_t created_at, updated_at;
    char linked_waybill[STORE_WAYBILL_MAX]; /* the return leg's send leg, or "" */
} store_shipment_view_t;

typedef struct {
    int64_t id;
    char code[STORE_CODE_MAX];
    char agency_code[STORE_CODE_MAX];
    int64_t created_at;
    store_submission_t *submissions; /* owned, in submission order */
    size_t nsubmissions;
    store_shipment_view_t *shipments;     /* owned, in creation order */
    size_t nshipments;
    char status[STORE_STATUS_MAX];   /* current: the status of the newest shipment, "created" when none */
} store_dossier_view_t;

/* store_dossiers_view - dossier code with its submissions and shipments; STORE_NOT_FOUND.
 * *out caller-owned (store_dossier_view_free). */
store_rc_t store_dossiers_view(store_tx_t *tx, const char *code, store_dossier_view_t *out);
void store_dossier_view_free(store_dossier_view_t *self);

/* store_dossiers_code_of_waybill - the dossier code of the shipment with waybill; STORE_NOT_FOUND */
store_rc_t store_dossiers_code_of_waybill(store_tx_t *tx, const char *waybill, char code[STORE_CODE_MAX]);

typedef struct {
    int64_t seq;
    int64_t event_time, received_at;
    char source[16];
    char status[STORE_STATUS_MAX];  /* "" when the event is a note */
    char upu[8];
    char *raw_code;                 /* owned; "" when none */
    char *text;                     /* owned: Vietnamese, for people */
    char *details;                  /* owned: JSON object text as stored */
    char hash[72];
    char waybill[STORE_WAYBILL_MAX]; /* "" for dossier-wide events */
} store_event_t;

typedef struct {
    store_event_t *events;      /* owned, in carrier-time order (event_time, then seq) */
    size_t nevents;
    int chain_valid;            /* 1 when the hash chain is intact */
    char chain_error[200];      /* why not, when chain_valid is 0 */
} store_timeline_t;

/* store_dossiers_timeline - the case timeline of dossier code, with its chain checked;
 * STORE_NOT_FOUND. *out caller-owned (store_timeline_free). */
store_rc_t store_dossiers_timeline(store_tx_t *tx, const char *code, store_timeline_t *out);
void store_timeline_free(store_timeline_t *self);

/* ---------------------------------------------------- tracking page (/t/) */

#define STORE_TRACK_MAX_EVENTS 100

typedef struct {
    int64_t time;
    char status[STORE_STATUS_MAX];
} store_track_event_t;

typedef struct {
    char status[STORE_STATUS_MAX];
    int64_t status_time, created_at;
    int64_t due_at;             /* 0 until the carrier has the item */
    char leg[8];
    char *recipient_name;       /* owned, whole: the page masks it */
    char *agency_name;          /* owned */
    char province_code[8], commune_code[8]; /* the recipient's */
    store_track_event_t *events; /* owned: status events, newest first, at most STORE_TRACK_MAX_EVENTS */
    size_t nevents;
} store_tracking_t;

/* store_dossiers_tracking - what the citizen's tracking page shows for waybill; STORE_NOT_FOUND.
 * *out caller-owned (store_tracking_free). */
store_rc_t store_dossiers_tracking(store_tx_t *tx, const char *waybill, store_tracking_t *out);
void store_tracking_free(store_tracking_t *self);

/* ------------------------------------------------- clerk page (/clerk) */

typedef enum {
    STORE_CLERK_READY,    /* created or booked and on no open handover manifest, oldest first */
    STORE_CLERK_PROBLEMS, /* failed deliveries, returns, exceptions, dead bookings, SLA breaches of
                           * items not delivered or cancelled, deliveries with a timeline note of kind
                           * proof_mismatch, newest first */
} store_clerk_state_t;

typedef struct {
    char waybill[STORE_WAYBILL_MAX];
    char dossier_code[STORE_CODE_MAX];
    char agency_code[STORE_CODE_MAX];
    char status[STORE_STATUS_MAX];
    char carrier[32];
    int64_t status_time, created_at;
    long long cod_amount;
    int label_prints;
    char *recipient_name;       /* owned */
    char province_code[8], commune_code[8];
    char *last_event;           /* owned: the text of the shipment's newest timeline event, or "" */
    int booking_dead;           /* its book job is dead: the carrier never took the order */
    int sla_breached;           /* past its due date (TT 17 Điều 7.2) before any delivery attempt */
    /* filled by store_dossiers_search only ("" / 0 from store_dossiers_clerk_list) */
    char leg[8];                /* send or return */
    char service[8];            /* the dossier's service: send, return, both */
    char *recipient_phone;      /* owned, may be NULL: staff may see it (failed deliveries) */
    char *agency_name;          /* owned, may be NULL: the agency as the dossier names it */
    char *fail_reason;          /* owned, may be NULL: the carrier's reason of the newest failed attempt */
    int64_t last_attempt_at;    /* 0 before any failed attempt */
    int attempts;               /* failed attempts and invitations */
} store_clerk_row_t;

typedef struct {
    store_clerk_row_t *rows;    /* owned */
    size_t nrows;
} store_clerk_list_t;

/* store_dossiers_clerk_list - at most max shipments in state, of agency (NULL or "" = every
 * agency); returned ones only when they returned at or after returned_since (UTC ms).
 * *out caller-owned (store_clerk_list_free). */
store_rc_t store_dossiers_clerk_list(store_tx_t *tx, store_clerk_state_t state, const char *agency,
                                     int64_t returned_since, int max, store_clerk_list_t *out);
void store_clerk_list_free(store_clerk_list_t *self);

/* the clerk page's search (GET /v1/shipments): every filter is optional ("" or 0 = any) */
typedef enum {
    STORE_SEARCH_NEWEST,      /* created_at descending (the default) */
    STORE_SEARCH_OLDEST,      /* created_at ascending */
    STORE_SEARCH_STATUS_TIME, /* the newest status change first */
    STORE_SEARCH_WAYBILL,     /* waybill ascending */
    STORE_SEARCH_DOSSIER,     /* dossier code ascending */
    STORE_SEARCH_AGENCY,      /* agency code, then newest first */
    STORE_SEARCH_SORTS        /* the number of sort orders */
} store_search_sort_t;

typedef struct {
    const char *q;            /* dossier code or waybill (prefix, case-insensitive), phone (digits, as a
                               * substring of the recipient's), or name (substring, case-insensitive
                               * for ASCII letters); "" = any */
    const char *status;       /* a normalized status name (domain/status.h) */
    const char *service;      /* send, return, both */
    const char *carrier;      /* vnpost, viettel */
    const char *agency;       /* the agency asked for */
    const char *scope_agency; /* the token's agency: rows of other agencies are never returned */
    int64_t from, to;         /* created_at in [from, to) in UTC ms; 0 = open */
    store_search_sort_t sort;
    int limit, offset;        /* one page */
} store_search_t;

/* store_dossiers_search - one page of the shipments that match q (every filter ANDed), in
 * q->sort order, and *total: how many match over every page. *out caller-owned
 * (store_clerk_list_free). */
store_rc_t store_dossiers_search(store_tx_t *tx, const store_search_t *q, store_clerk_list_t *out,
                                 long long *total);

/* ------------------------------------------------------------- cancel */

typedef struct {
    int64_t shipment_id, dossier_id;
    char status[STORE_STATUS_MAX];
    char carrier[32];
    int has_carrier_ref;        /* the carrier accepted the order */
    char book_state[12];        /* the booking job: ready, leased, done, dead, or "" */
} store_cancel_target_t;

/* store_dossiers_cancel_target - what the cancel rule looks at; STORE_NOT_FOUND */
store_rc_t store_dossiers_cancel_target(store_tx_t *tx, const char *waybill, store_cancel_target_t *out);
/* store_dossiers_leave_manifest - take the shipment off an open handover manifest (the biên bản
 * printed afterwards no longer names it) with a timeline note by source; *left is 1 when it
 * was on one */
store_rc_t store_dossiers_leave_manifest(store_tx_t *tx, const store_cancel_target_t *t, const char *source,
                                         int64_t now, int *left);
/* store_dossiers_withdraw_booking - the booking job that never reached the carrier is done */
store_rc_t store_dossiers_withdraw_booking(store_tx_t *tx, int64_t shipment_id, int64_t now);
/* store_dossiers_request_cancel - queue the carrier cancel job (same payload as the booking)
 * and note it on the timeline by source */
store_rc_t store_dossiers_request_cancel(store_tx_t *tx, const store_cancel_target_t *t, const char *source,
                                         int64_t now);

/* ------------------------------------------------------- agency scope */

typedef enum { STORE_OWNED_DOSSIER, STORE_OWNED_WAYBILL, STORE_OWNED_MANIFEST, STORE_OWNED_JOB } store_owned_t;

/* store_dossiers_agency_of - the agency that owns the dossier code, waybill, manifest public id
 * or job id (decimal) named by key; STORE_NOT_FOUND */
store_rc_t store_dossiers_agency_of(store_tx_t *tx, store_owned_t kind, const char *key,
                                    char agency[STORE_CODE_MAX]);

/* -------------------------------------------------------------- health */

typedef struct {
    long long dossiers, jobs_pending, jobs_dead, codes_left;
} store_health_counts_t;

/* store_dossiers_health_counts - counts for /healthz and /metrics */
store_rc_t store_dossiers_health_counts(store_tx_t *tx, store_health_counts_t *out);

#endif
