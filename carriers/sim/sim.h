/*
 * sim - bcci-carrier-sim internals: the VNPost and Viettel Post dialects in one process
 *
 * sim_store.c  orders, tokens, counters, fault rolls and the simulated clock
 *              (one mutex, sim_t.mu, guards all of it); the VNPost dialect;
 * sim_viettel.c the Viettel Post dialect (createOrder, UpdateOrder, tracking,
 *              its webhook body), over the same store, clock and faults;
 * sim_webhook.c the webhook delivery thread (libcurl), fed by the store's outbox;
 * sim_http.c   the libmicrohttpd front (carrier API + /_sim control endpoints);
 * sim_main.c   options, start, signal wait, clean stop.
 *
 * Ownership: sim_t owns every order, token, outbox event and option string;
 * sim_destroy frees them all. JSON returned by sim_* functions is owned by
 * the caller. The simulator never logs names, phones or addresses.
 */
#ifndef BCCI_SIM_H
#define BCCI_SIM_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_MAX_ORDERS 2000000
#define SIM_MAX_OUTBOX 1000000
#define SIM_MAX_HIST 12
#define SIM_WEBHOOK_BATCH 100
#define SIM_WEBHOOK_ATTEMPTS 6

enum { SIM_DIALECT_VNPOST = 1u << 0, SIM_DIALECT_VIETTEL = 1u << 1 };

typedef struct {
    double timeout, http500, http429, malformed, slow; /* carrier API faults, each a probability */
    double dup_webhook, reorder_webhook;               /* webhook faults */
} sim_faults_t;

typedef enum { SIM_FAULT_NONE, SIM_FAULT_TIMEOUT, SIM_FAULT_HTTP500, SIM_FAULT_HTTP429, SIM_FAULT_MALFORMED,
               SIM_FAULT_SLOW } sim_fault_t;

typedef struct {
    int64_t sim_ms;    /* simulated wall time of the event, UTC ms */
    short code;        /* status code of the order's dialect */
    short reason;      /* index into the reason table, 0 = none */
} sim_hist_t;

typedef struct sim_order {
    char original_id[24]; /* the carrier's own id: VNP… or VTP… */
    char item_code[32];   /* VNPost itemCode / Viettel ORDER_REFERENCE (our S10) */
    char sale_order[64];  /* VNPost saleOrderCode / Viettel ORDER_NUMBER */
    int viettel;          /* 1: a Viettel Post order */
    long long cod, fee;
    long long weight;     /* grams, as ordered */
    long long pickup_fee; /* VNPost pickupFee: collected at pick-up (status 6 carries it) */
    char instruction[1024]; /* VNPost deliveryInstruction / Viettel ORDER_NOTE, as ordered */
    char pickup[40];      /* VNPost GTG026: "" none, "any" without a window, else its propValue */
    const short *path;    /* status codes this order walks through */
    int path_len, step;   /* path[step] is the current status, unless cancelled */
    int cancelled;
    int return_calls;     /* return requests received for this order (orderReturn / UpdateOrder TYPE 2) */
    int nhist;
    sim_hist_t hist[SIM_MAX_HIST];
} sim_order_t;

typedef struct sim_sale {
    char code[64];
    long long create_calls;
    size_t *orders; /* indices into sim_t.orders */
    size_t n, cap;
} sim_sale_t;

typedef struct {
    const char **keys;
    size_t *vals;
    size_t cap, n;
} sim_map_t;

typedef struct sim_outbox_ev {
    struct sim_outbox_ev *next;
    int64_t send_after_ms; /* monotonic */
    int attempts;
    char *json;            /* one serialized event object, owned */
    int viettel;           /* 1: a whole Viettel webhook body for viettel_webhook_url */
} sim_outbox_ev_t;

typedef struct {
    size_t idx;     /* order index */
    int64_t due_ms; /* simulated time of its next step */
} sim_due_t;

typedef struct sim {
    pthread_mutex_t mu;
    pthread_cond_t cond;  /* outbox has work, or stopping */
    _Atomic int stopping;

    /* options (owned copies) */
    char *username, *password, *customer_code;
    char *webhook_url, *webhook_token, *webhook_secret;
    char *viettel_token, *viettel_webhook_url; /* sim_set_viettel */
    unsigned dialects;    /* SIM_DIALECT_* served */
    double clock_speed;   /* simulated seconds per real second */
    int64_t step_ms;      /* simulated ms between status steps */
    sim_faults_t faults;
    uint64_t rng;

    int64_t mono_start, wall_start;

    /* orders */
    sim_order_t **orders;
    size_t norders, corders;
    sim_map_t by_item, by_id, by_sale;
    sim_sale_t **sales;
    size_t nsales, csales;
    sim_due_t *due;       /* ring buffer FIFO, sorted by due_ms by construction */
    size_t due_head, due_len, due_cap;

    /* tokens: a ring of the most recent ones */
    char tokens[256][65];
    unsigned ntokens;

    /* outbox: ready FIFO plus a delayed list */
    sim_outbox_ev_t *ready_head, *ready_tail, *delayed;
    size_t outbox_len;

    /* the last carrier API request, for tests that assert the exact request */
    char last_method[8], last_path[256], last_request_id[128], last_content_type[64];
    int last_had_token;
    char *last_body;

    /* counters */
    long long create_calls, req_token, req_create, req_cancel, req_track, req_other;
    long long req_vt_create, req_vt_update, req_vt_track;
    long long req_return, req_vt_return; /* VNPost orderReturn; Viettel UpdateOrder TYPE 2 */
    long long webhooks_sent, webhooks_failed, webhook_events_sent, webhook_events_dropped, faults_injected;
} sim_t;

/* sim_faults_parse - "http500=0.3,timeout=0.1"; empty = none. 0, or -1 with err naming the key */
int sim_faults_parse(const char *spec, sim_faults_t *out, char *err, size_t errlen);

/* sim_init - set up an empty store; options are copied. 0 or -1 with err */
int sim_init(sim_t *s, const char *username, const char *password, const char *customer_code,
             const char *webhook_url, const char *webhook_token, const char *webhook_secret, double clock_speed,
             double step_seconds, const sim_faults_t *faults, uint64_t seed, char *err, size_t errlen);
void sim_destroy(sim_t *s);

int64_t sim_now_ms(const sim_t *s); /* simulated wall time */
double sim_random(sim_t *s);        /* uniform [0,1), takes the lock */
sim_fault_t sim_roll_fault(sim_t *s);
void sim_set_faults(sim_t *s, const sim_faults_t *f);
/* sim_record_request - remember the last carrier API request (GET /_sim/last_request) */
void sim_record_request(sim_t *s, const char *method, const char *path, const char *request_id,
                        const char *content_type, int had_token, const char *body, size_t len);
json_t *sim_last_request(sim_t *s);
/* sim_count_request - count one carrier API request by endpoint name (unknown → other) */
void sim_count_request(sim_t *s, const char *endpoint);

/* carrier API operations: each returns an HTTP status and sets *body (caller owns) */
int sim_get_token(sim_t *s, const json_t *req, json_t **body);
int sim_token_valid(sim_t *s, const char *token);
void sim_expire_tokens(sim_t *s);
int sim_create_order(sim_t *s, const json_t *req, json_t **body);
int sim_cancel_order(sim_t *s, const json_t *req, json_t **body);
int sim_track_order(sim_t *s, const char *original_id, json_t **body);
/* sim_return_order - VNPost orderReturn {OriginalId, reason}: 200 {originalId, status}, 404, or
 * 409 NOT_RETURNABLE (not picked up, delivered or cancelled); already returning is 200 */
int sim_return_order(sim_t *s, const json_t *req, json_t **body);
/* Viettel Post dialect (sim_viettel.c). sim_set_viettel - after sim_init: the
 * accepted Token header value and where Viettel webhooks go ("" = none). 0 or -1 */
int sim_set_viettel(sim_t *s, const char *token, const char *webhook_url, char *err, size_t errlen);
int sim_vt_token_valid(const sim_t *s, const char *token);
int sim_vt_create_order(sim_t *s, const json_t *req, json_t **body);
int sim_vt_update_order(sim_t *s, const json_t *req, json_t **body);
int sim_vt_track_order(sim_t *s, const char *order_number, json_t **body);
/* sim_vt_event_json - event i of a Viettel order: with_envelope → the whole webhook
 * body {"DATA": …, "TOKEN": …}, else the DATA object alone (tracking). Caller owns. */
json_t *sim_vt_event_json(const sim_t *s, const sim_order_t *o, int i, int with_envelope);
/* sim_vt_reason - the failure reason index for a Viettel code (as for VNPost 15) */
int sim_vt_reason(int code);

/* store internals shared by the dialects; the caller holds sim_t.mu */
sim_sale_t *sim_sale_get_locked(sim_t *s, const char *code);
/* sim_order_add_locked - register o (ownership moves to s on 0), start its
 * clock at path[0]; -1 when out of memory (o is then still the caller's) */
int sim_order_add_locked(sim_t *s, sim_sale_t *sale, sim_order_t *o);
int sim_order_find_locked(const sim_t *s, const char *original_id, sim_order_t **out);
void sim_record_locked(sim_t *s, sim_order_t *o, int code, int64_t when, int reason);
/* sim_order_start_return_locked - o walks path (n codes) from now on: path[0] is
 * recorded now, the rest one step_ms apart on the simulated clock. 0, -1 on OOM */
int sim_order_start_return_locked(sim_t *s, sim_order_t *o, const short *path, int n);
void sim_format_vn(int64_t ms, char *out, size_t cap);
extern const char *const sim_reasons[];

/* sim_stats - the /_sim/stats document; sale_order NULL = every saleOrderCode */
json_t *sim_stats(sim_t *s, const char *sale_order);

/* sim_tick - move every due order one step; returns how many steps were taken */
size_t sim_tick(sim_t *s);

/* outbox, used by the webhook thread (all take the lock themselves) */
/* sim_outbox_take - wait up to wait_ms for due events; moves at most max into *out (a list) */
size_t sim_outbox_take(sim_t *s, size_t max, int wait_ms, sim_outbox_ev_t **out);
/* sim_outbox_retry - put a failed batch back with backoff, dropping events out of attempts */
void sim_outbox_retry(sim_t *s, sim_outbox_ev_t *list);
void sim_outbox_free(sim_outbox_ev_t *list);
void sim_count_webhook(sim_t *s, int ok, size_t events);

/* webhook thread entry point (sim_webhook.c) */
void *sim_webhook_thread(void *arg);

/* HTTP front (sim_http.c): start on host:port (port 0 = any); *bound_port gets the port */
struct MHD_Daemon;
struct MHD_Daemon *sim_http_start(sim_t *s, const char *host, unsigned port, unsigned *bound_port, char *err,
                                  size_t errlen);

#endif
