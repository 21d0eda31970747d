/*
 * carrier - the contract between the gateway and a postal carrier's API
 *
 * One const carrier_ops_t per carrier (vnpost.c exports carrier_vnpost), in
 * the manner of curl's TLS backends: named slots, a capability mask and the
 * size of the private state, which carrier.c allocates and frees. The core
 * (gateway, worker) only ever sees this header; wire formats, tokens, status
 * codes and area-code mapping stay inside each carrier's file.
 *
 * Ownership: every const char * in carrier_shipment_t is borrowed from the
 * caller for the duration of the call. Results and events are written into
 * caller-owned structures; carrier_event_list_t grows with malloc and is
 * released with carrier_event_list_free.
 */
#ifndef BCCI_CARRIER_H
#define BCCI_CARRIER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef enum {
    CARRIER_OK = 0,   /* done; for book, out->carrier_ref is set */
    CARRIER_RETRY,    /* transient: timeout, 5xx, connection refused; try later */
    CARRIER_FAIL,     /* permanent: the carrier refused the request as invalid */
    CARRIER_THROTTLE, /* 429 or equivalent; out->retry_after_ms says when */
    CARRIER_CONFIG    /* the carrier refused the gateway's own credentials or account (401 after a
                       * token refresh, unknown customer code): no job of this carrier can succeed
                       * until an operator fixes the configuration; out->message says what to check */
} carrier_status_t;

enum {
    CARRIER_CAN_BOOK   = 1u << 0,
    CARRIER_CAN_CANCEL = 1u << 1,
    CARRIER_CAN_TRACK  = 1u << 2,
    CARRIER_CAN_PICKUP = 1u << 3, /* collection at the citizen's address (send leg) */
    CARRIER_CAN_RETURN = 1u << 4, /* ask for an undeliverable item to go back to the sender */
};

typedef struct {
    const char *name, *phone, *address, *province_code, *commune_code;
} carrier_party_t;

typedef struct {
    const char *request_id;    /* travels to the carrier as X-Request-Id */
    const char *dossier_code;  /* saleOrderCode / ORDER_REFERENCE: the idempotency key */
    const char *waybill;       /* S10 item code (itemCode) */
    const char *service;       /* "return", "send" */
    const char *carrier_ref;   /* carrier's own order id once booked (originalId), else NULL */
    const char *content_note;  /* what is inside, no personal data */
    const char *service_code;  /* carrier product code, NULL = the adapter's code for the level */
    int express;               /* the citizen chose express delivery (else economy) */
    carrier_party_t sender, receiver;
    long long cod_amount;      /* VND, 0 = none */
    int weight_g;
    int pickup;                /* non-zero: collect from the sender's address */
    const char *pickup_window; /* "YYYY-MM-DD HH:MM-HH:MM" the citizen chose, NULL = any time */
    long long pickup_fee;      /* VND the postman collects from the sender at pick-up, 0 = none */
    /* for the postman at the door (TT 17 Điều 9); NULL when the dossier gives none */
    const char *note;          /* the dossier's note */
    const char *authorised_name, *authorised_relation; /* who may receive it instead (return leg) */
    const char *take_back;     /* documents to take back from the citizen, "A; B" */
} carrier_shipment_t;

typedef struct {
    char carrier_ref[64];      /* book: the carrier's order id */
    long long fee;             /* book: total fee in VND when the carrier says */
    int already_existed;       /* book: the carrier had the order already (idempotent success) */
    int http_status;           /* last HTTP status seen, 0 when none */
    int64_t retry_after_ms;    /* RETRY/THROTTLE hint, 0 = use the normal backoff */
    char message[256];         /* RETRY/FAIL: what went wrong, for the job's last_error */
} carrier_result_t;

typedef struct {
    char carrier_ref[64];      /* originalId / ORDER_NUMBER, may be empty */
    char waybill[16];          /* itemCode, may be empty */
    char raw_code[16];         /* the carrier's code, verbatim */
    char raw_name[160];        /* the carrier's text for it */
    char reason[256];          /* failure reason when given */
    char event_id[80];         /* carrier event id when given, else empty */
    int64_t carrier_time_ms;   /* when it happened at the carrier, UTC ms */
    long long amount;          /* money collected (COD) when the event carries it */
    /* proof of delivery, when a delivered event carries it: never the whole ID number */
    char receiver_name[100];
    char receiver_relation[24];  /* "self" or "authorised" */
    char receiver_id_type[16];   /* "CCCD", "passport", … */
    char receiver_id_last4[5];
} carrier_event_t;

typedef struct {
    carrier_event_t *items;
    size_t n, cap;
} carrier_event_list_t;

typedef struct {
    const char *status;        /* normalized status name (status.h), NULL = unknown code */
    const char *upu;           /* UPU event code or "" */
} carrier_mapping_t;

/* carrier_limits_t - the longest values a carrier's dialect accepts, in bytes of UTF-8
 * (a Vietnamese letter takes 2-3). Intake refuses a dossier whose parties exceed its
 * carrier's limits (gateway/rules/intake.h), so a 201 always means deliverable. */
typedef struct {
    size_t name_bytes;     /* sender and receiver names */
    size_t address_bytes;  /* street address */
    size_t phone_bytes;
    size_t note_bytes;     /* content note: procedure name or result summary */
} carrier_limits_t;

typedef struct carrier_ops {
    const char *name;          /* "vnpost": configuration keys and the API */
    const char *display_name;  /* what people read on labels and manifests: "Bưu điện Việt Nam (VNPost)" */
    const char *service_name;  /* the economy service the gateway books, as printed: "Chuyển phát thường (CTN001)" */
    const char *express_service_name; /* the express one: "Chuyển phát nhanh (ETN011)" */
    unsigned caps;
    size_t ctx_size;           /* private state, zeroed and owned by carrier.c */
    const carrier_limits_t *limits; /* what the dialect accepts; never NULL for a listed carrier */
    int (*init)(void *ctx, const config_t *cfg, char *err, size_t errlen);
    void (*cleanup)(void *ctx);
    carrier_status_t (*book)(void *ctx, const carrier_shipment_t *s, carrier_result_t *out);
    carrier_status_t (*cancel)(void *ctx, const carrier_shipment_t *s, carrier_result_t *out);
    carrier_status_t (*track)(void *ctx, const carrier_shipment_t *s, carrier_event_list_t *events,
                              carrier_result_t *out);
    /* request_return - ask the carrier to send a booked item back to the sender
     * (after the failed invitations of TT 17 Điều 5.2). reason (Vietnamese, may
     * be NULL) travels to the carrier. An item already on its way back or back
     * is an idempotent CARRIER_OK; a delivered or cancelled one is CARRIER_FAIL. */
    carrier_status_t (*request_return)(void *ctx, const carrier_shipment_t *s, const char *reason,
                                       carrier_result_t *out);
    /* parse_webhook - stateless; 0 and events appended, or -1 with err */
    int (*parse_webhook)(const char *body, size_t len, carrier_event_list_t *events, char *err, size_t errlen);
    /* map_status - raw code to normalized status; 0 when known, -1 when not */
    int (*map_status)(const char *raw_code, carrier_mapping_t *out);
} carrier_ops_t;

typedef struct carrier carrier_t;

/* carrier_find - the ops of a carrier by name, NULL when unknown (borrowed, static) */
const carrier_ops_t *carrier_find(const char *name);
/* carrier_names - comma-separated list of every known carrier, for error messages */
const char *carrier_names(void);

/* carrier_new - allocate and init; NULL with err on failure. Caller owns. */
carrier_t *carrier_new(const carrier_ops_t *ops, const config_t *cfg, char *err, size_t errlen);
void carrier_destroy(carrier_t **self);
const carrier_ops_t *carrier_ops(const carrier_t *self);
carrier_status_t carrier_book(carrier_t *self, const carrier_shipment_t *s, carrier_result_t *out);
carrier_status_t carrier_cancel(carrier_t *self, const carrier_shipment_t *s, carrier_result_t *out);
carrier_status_t carrier_track(carrier_t *self, const carrier_shipment_t *s, carrier_event_list_t *events,
                               carrier_result_t *out);
/* carrier_request_return - see the slot; CARRIER_FAIL naming the carrier when it cannot */
carrier_status_t carrier_request_return(carrier_t *self, const carrier_shipment_t *s, const char *reason,
                                        carrier_result_t *out);

/* carrier_shipment_from_json - fill s with strings borrowed from obj (the job payload,
 * see queues/jobs payload format); obj must outlive s. 0, or -1 with err. */
int carrier_shipment_from_json(const json_t *obj, carrier_shipment_t *s, char *err, size_t errlen);

carrier_event_t *carrier_event_list_push(carrier_event_list_t *l);
void carrier_event_list_free(carrier_event_list_t *l);
const char *carrier_status_name(carrier_status_t st);

#endif
