/*
 * sim_fixture - adapter, shipment and webhook fixtures of the simulator tests (see sim_fixture.h)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tests/unit/support/sim_fixture.h"

int
sim_fixture_setup(void **state)
{
    *state = calloc(1, sizeof(sim_fixture_t));
    return *state ? 0 : -1;
}

int
sim_fixture_teardown(void **state)
{
    sim_fixture_t *f = *state;
    int rc;

    if (!f)
        return 0;
    carrier_destroy(&f->c);
    config_destroy(&f->cfg);
    rc = sim_proc_stop(&f->sim);
    free(f);
    *state = NULL;
    if (rc != 0) {
        print_error("simulator exit status %d, want 0 (clean stop, no leaks)\n", rc);
        return -1;
    }
    return 0;
}

void
sim_fixture_open(sim_fixture_t *f, const config_spec_t *spec, const char *carrier, const char *timeout_ms)
{
    char err[256] = "", key[64];

    snprintf(key, sizeof key, "carrier.%s.url", carrier);
    f->cfg = config_new(spec);
    if (!f->cfg || config_set(f->cfg, key, f->sim.url, err, sizeof err) != 0)
        fail_msg("config: %s", err);
    if (timeout_ms && config_set(f->cfg, "carrier.timeout_ms", timeout_ms, err, sizeof err) != 0)
        fail_msg("config: %s", err);
    f->c = carrier_new(carrier_find(carrier), f->cfg, err, sizeof err);
    if (!f->c)
        fail_msg("carrier_new(%s): %s", carrier, err);
}

void
sim_shipment(carrier_shipment_t *s, const char *dossier, const char *waybill, const char *address)
{
    memset(s, 0, sizeof *s);
    s->request_id = "test-req-1";
    s->dossier_code = dossier;
    s->waybill = waybill;
    s->service = "return";
    s->content_note = "Kết quả giải quyết TTHC";
    s->sender.name = "UBND xã Tân Lập";
    s->sender.phone = "02433123456";
    s->sender.address = "Số 1 đường Lê Lợi";
    s->sender.province_code = "01";
    s->sender.commune_code = "00001";
    s->receiver.name = "Nguyễn Thị Hoa";
    s->receiver.phone = "0912345678";
    s->receiver.address = address ? address : "Số 2 ngõ 3 phố Huế";
    s->receiver.province_code = "01";
    s->receiver.commune_code = "00004";
    s->cod_amount = 50000;
    s->weight_g = 200;
}

void
sim_expect_status(const char *what, carrier_status_t got, carrier_status_t want, const carrier_result_t *r)
{
    if (got != want)
        fail_msg("%s: got %s (HTTP %d, '%s'), want %s", what, carrier_status_name(got), r->http_status, r->message,
                 carrier_status_name(want));
}

void
sim_book_under_faults(sim_fixture_t *f, const carrier_shipment_t *s)
{
    carrier_result_t r;

    sim_set_faults(&f->sim, "http500=1");
    sim_expect_status("book under http500=1", carrier_book(f->c, s, &r), CARRIER_RETRY, &r);
    if (r.http_status != 500)
        fail_msg("http_status = %d, want 500", r.http_status);

    sim_set_faults(&f->sim, "http429=1");
    sim_expect_status("book under http429=1", carrier_book(f->c, s, &r), CARRIER_THROTTLE, &r);
    if (r.retry_after_ms != 1000)
        fail_msg("retry_after_ms = %lld, want 1000", (long long)r.retry_after_ms);

    /* malformed: the order is created but the answer is garbage */
    sim_set_faults(&f->sim, "malformed=1");
    sim_expect_status("book under malformed=1", carrier_book(f->c, s, &r), CARRIER_RETRY, &r);

    sim_set_faults(&f->sim, "slow=1"); /* 2 s answers against a 1 s client timeout */
    sim_expect_status("book under slow=1", carrier_book(f->c, s, &r), CARRIER_RETRY, &r);
    if (!strstr(r.message, "curl 28"))
        fail_msg("slow answer: message '%s', want a curl timeout (28)", r.message);

    sim_set_faults(&f->sim, "");
    sim_expect_status("book without faults", carrier_book(f->c, s, &r), CARRIER_OK, &r);
    if (!r.already_existed)
        fail_msg("the retry after a garbage answer must find the order already there (already_existed = 0)");
}

void
sim_check_last_request(const sim_proc_t *p, const char *method, const char *path, const char *what,
                       const char *want_body)
{
    long code = 0;
    json_t *last = sim_http_json(p, "GET", "/_sim/last_request", NULL, &code), *want;
    json_error_t jerr;
    char *got;

    if (code != 200 || !last)
        fail_msg("GET /_sim/last_request: HTTP %ld", code);
    assert_string_equal(json_string_value(json_object_get(last, "method")), method);
    assert_string_equal(json_string_value(json_object_get(last, "path")), path);
    assert_string_equal(json_string_value(json_object_get(last, "x_request_id")), "test-req-1");
    assert_string_equal(json_string_value(json_object_get(last, "content_type")), "application/json");
    if (!json_is_true(json_object_get(last, "token")))
        fail_msg("%s was sent without the carrier's token header", what);
    want = json_loads(want_body, 0, &jerr);
    if (!want)
        fail_msg("want_body does not parse: %s", jerr.text);
    if (!json_equal(want, json_object_get(last, "body"))) {
        got = json_dumps(json_object_get(last, "body"), JSON_COMPACT);
        fail_msg("%s body:\n got  %s\n want %s", what, got ? got : "(none)", want_body);
    }
    json_decref(want);
    json_decref(last);
}

int
sim_has_code(const carrier_event_list_t *ev, const char *ref, const char *code)
{
    size_t i;
    int n = 0;

    for (i = 0; i < ev->n; i++)
        n += strcmp(ev->items[i].carrier_ref, ref) == 0 && strcmp(ev->items[i].raw_code, code) == 0;
    return n;
}

/* ---- webhook receiver ------------------------------------------------------ */

typedef struct {
    buf_t b;
} rx_req_t;

static enum MHD_Result
rx_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
           const char *data, size_t *size, void **con_cls)
{
    sim_receiver_t *rx = cls;
    rx_req_t *q = *con_cls;
    struct MHD_Response *resp;
    enum MHD_Result rc;
    const char *ct, *auth;

    (void)url;
    (void)method;
    (void)version;
    if (!q) {
        q = calloc(1, sizeof *q);
        if (!q)
            return MHD_NO;
        buf_init(&q->b, 1 << 22);
        *con_cls = q;
        return MHD_YES;
    }
    if (*size) {
        buf_append(&q->b, data, *size);
        *size = 0;
        return MHD_YES;
    }
    ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&rx->mu);
    if (rx->want_auth && (!auth || strcmp(auth, rx->want_auth) != 0))
        rx->unauthorized++;
    else if (rx->n < SIM_RECEIVER_MAX && (!rx->want_type || (ct && strcmp(ct, rx->want_type) == 0)))
        rx->bodies[rx->n++] = buf_steal(&q->b, NULL);
    pthread_mutex_unlock(&rx->mu);
    resp = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    rc = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void
rx_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    rx_req_t *q = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (q) {
        buf_free(&q->b);
        free(q);
        *con_cls = NULL;
    }
}

void
sim_receiver_start(sim_receiver_t *rx, const char *want_auth, const char *want_type)
{
    memset(rx, 0, sizeof *rx);
    pthread_mutex_init(&rx->mu, NULL);
    rx->want_auth = want_auth;
    rx->want_type = want_type;
    rx->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                             rx_handler, rx, MHD_OPTION_NOTIFY_COMPLETED, rx_done, NULL, MHD_OPTION_END);
    if (!rx->d)
        fail_msg("cannot start the webhook receiver");
    rx->port = MHD_get_daemon_info(rx->d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

void
sim_receiver_stop(sim_receiver_t *rx)
{
    int i;

    if (rx->d)
        MHD_stop_daemon(rx->d);
    rx->d = NULL;
    for (i = 0; i < rx->n; i++)
        free(rx->bodies[i]);
    rx->n = 0;
    pthread_mutex_destroy(&rx->mu);
}

void
sim_receiver_events(sim_receiver_t *rx, const carrier_ops_t *ops, sim_body_check_fn check, carrier_event_list_t *ev)
{
    int i;
    char err[256];

    ev->n = 0;
    pthread_mutex_lock(&rx->mu);
    for (i = 0; i < rx->n; i++) {
        if (check)
            check(i, rx->bodies[i]);
        if (ops->parse_webhook(rx->bodies[i], strlen(rx->bodies[i]), ev, err, sizeof err) != 0)
            fail_msg("webhook body %d refused by the adapter: %s", i, err);
    }
    pthread_mutex_unlock(&rx->mu);
}
