/*
 * sim_fixture - what the carrier simulator tests share around a simulator
 * process: an adapter opened against it, a valid test shipment, status
 * checks, and a small in-process webhook receiver
 *
 * For cmocka tests: failures end the current test (fail_msg). The fixture is
 * calloc'ed by sim_fixture_setup and freed by sim_fixture_teardown, which
 * also destroys the adapter and stops the simulator (a non-zero exit fails
 * the test). Received webhook bodies are owned by the receiver until
 * sim_receiver_stop.
 */
#ifndef BCCI_TEST_SIM_FIXTURE_H
#define BCCI_TEST_SIM_FIXTURE_H

#include <pthread.h>

#include "carriers/carrier.h"
#include "config.h"
#include "tests/unit/support/sim_process.h"

typedef struct {
    sim_proc_t sim;
    config_t *cfg;
    carrier_t *c;
} sim_fixture_t;

/* cmocka setup / teardown for tests whose state is a sim_fixture_t */
int sim_fixture_setup(void **state);
int sim_fixture_teardown(void **state);

/* sim_fixture_open - config from spec with carrier.<carrier>.url = the running
 * simulator (and carrier.timeout_ms when timeout_ms is not NULL), then the adapter */
void sim_fixture_open(sim_fixture_t *f, const config_spec_t *spec, const char *carrier, const char *timeout_ms);

/* sim_shipment - a valid return-leg shipment; address NULL = the default one */
void sim_shipment(carrier_shipment_t *s, const char *dossier, const char *waybill, const char *address);

/* sim_expect_status - fail with the result's HTTP status and message unless got == want */
void sim_expect_status(const char *what, carrier_status_t got, carrier_status_t want, const carrier_result_t *r);

/* sim_book_under_faults - book s through the simulator's faults http500,
 * http429, malformed and slow (the adapter's timeout must be 1000 ms), each a
 * single failure, then once more without faults, which must find the order
 * the malformed answer created (already_existed). Leaves no faults set. */
void sim_book_under_faults(sim_fixture_t *f, const carrier_shipment_t *s);

/* sim_check_last_request - the simulator's last request was method path with
 * the carrier's token, X-Request-Id test-req-1, a JSON body equal to want_body
 * (JSON text); what names the call in messages */
void sim_check_last_request(const sim_proc_t *p, const char *method, const char *path, const char *what,
                            const char *want_body);

/* sim_has_code - how many events of ev are for order ref with raw code code */
int sim_has_code(const carrier_event_list_t *ev, const char *ref, const char *code);

/* ---- webhook receiver ---- */

#define SIM_RECEIVER_MAX 256

struct MHD_Daemon;

typedef struct {
    pthread_mutex_t mu;
    char *bodies[SIM_RECEIVER_MAX]; /* owned */
    int n;
    int unauthorized;       /* bodies refused for a wrong Authorization header */
    const char *want_auth;  /* NULL = do not check */
    const char *want_type;  /* Content-Type a body must have to be kept; NULL = any */
    struct MHD_Daemon *d;
    unsigned port;
} sim_receiver_t;

/* sim_receiver_start - listen on a free loopback port (rx->port) */
void sim_receiver_start(sim_receiver_t *rx, const char *want_auth, const char *want_type);
/* sim_receiver_stop - stop listening and free every body */
void sim_receiver_stop(sim_receiver_t *rx);

/* sim_body_check_fn - a test's own check of one received body (fail_msg when wrong) */
typedef void (*sim_body_check_fn)(int idx, const char *body);

/* sim_receiver_events - ev = every event received so far, each body checked by
 * check (may be NULL) and parsed by ops->parse_webhook (which must accept it) */
void sim_receiver_events(sim_receiver_t *rx, const carrier_ops_t *ops, sim_body_check_fn check,
                         carrier_event_list_t *ev);

#endif
