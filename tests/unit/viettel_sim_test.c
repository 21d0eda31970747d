/*
 * viettel_sim_test - the real Viettel Post adapter against the real simulator process
 *
 * Each test starts bcci-carrier-sim on port 0 (from $BCCI_BIN, else the bin/
 * directory beside this test's build directory, else build/san/bin or
 * build/rel/bin), drives carriers/viettel.c through carrier.h, inspects
 * GET /_sim/stats and /_sim/last_request, and stops the simulator with
 * SIGTERM, expecting a clean exit. A test is skipped only when the binary
 * does not exist.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "carriers/carrier.h"
#include "clock.h"
#include "config.h"

extern char **environ;

static char sim_path[4096];

typedef struct {
    pid_t pid;
    unsigned port;
    char url[64];
} simproc_t;

/* ---- simulator process ------------------------------------------------------ */

static int
find_sim(const char *argv0)
{
    const char *env = getenv("BCCI_BIN");
    char copy[4096];
    const char *cands[3];
    size_t i;

    if (env && *env) {
        snprintf(sim_path, sizeof sim_path, "%s/bcci-carrier-sim", env);
        if (access(sim_path, X_OK) == 0)
            return 1;
        sim_path[0] = '\0';
        return 0;
    }
    /* <build>/tests/viettel_sim_test → <build>/bin/bcci-carrier-sim */
    snprintf(copy, sizeof copy, "%s", argv0);
    snprintf(sim_path, sizeof sim_path, "%s/../bin/bcci-carrier-sim", dirname(copy));
    if (access(sim_path, X_OK) == 0)
        return 1;
    cands[0] = "build/san/bin/bcci-carrier-sim";
    cands[1] = "build/rel/bin/bcci-carrier-sim";
    cands[2] = NULL;
    for (i = 0; cands[i]; i++) {
        if (access(cands[i], X_OK) == 0) {
            snprintf(sim_path, sizeof sim_path, "%s", cands[i]);
            return 1;
        }
    }
    sim_path[0] = '\0';
    return 0;
}

/* sim_start - start the simulator with extra "--key value" args (NULL-terminated) */
static void
sim_start(simproc_t *p, const char *const *extra)
{
    char *argv[40];
    int fds[2], n = 0, i, devnull;
    posix_spawn_file_actions_t fa;
    char line[256];
    size_t len = 0;
    int64_t deadline = clock_mono_ms() + 20000;

    memset(p, 0, sizeof *p);
    if (!sim_path[0])
        skip();
    argv[n++] = sim_path;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--log_level";
    argv[n++] = "warn";
    argv[n++] = "--seed";
    argv[n++] = "7";
    for (i = 0; extra && extra[i] && n < 38; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    if (pipe(fds) != 0)
        fail_msg("pipe: %s", strerror(errno));
    devnull = open("/dev/null", O_RDONLY);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    if (devnull >= 0)
        posix_spawn_file_actions_adddup2(&fa, devnull, 0);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    if (posix_spawn(&p->pid, sim_path, &fa, NULL, argv, environ) != 0)
        fail_msg("cannot start %s: %s", sim_path, strerror(errno));
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (devnull >= 0)
        close(devnull);
    while (len < sizeof line - 1) {
        struct pollfd pfd = { fds[0], POLLIN, 0 };
        int64_t left = deadline - clock_mono_ms();
        ssize_t r;

        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        r = read(fds[0], line + len, 1);
        if (r <= 0)
            break;
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    close(fds[0]);
    if (sscanf(line, "listening on http://127.0.0.1:%u", &p->port) != 1 || p->port == 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        fail_msg("simulator printed '%s', want 'listening on http://127.0.0.1:PORT'", line);
    }
    snprintf(p->url, sizeof p->url, "http://127.0.0.1:%u", p->port);
}

/* sim_stop - SIGTERM, bounded wait, SIGKILL if needed; returns the exit status or -1 */
static int
sim_stop(simproc_t *p)
{
    int64_t deadline = clock_mono_ms() + 15000;
    int status = 0;

    if (p->pid <= 0)
        return 0;
    kill(p->pid, SIGTERM);
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);

        if (r == p->pid)
            break;
        if (clock_mono_ms() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            p->pid = 0;
            return -1;
        }
        usleep(20000);
    }
    p->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- plain HTTP to the simulator's control endpoints ------------------------------- */

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    return buf_append(userdata, ptr, size * nmemb) == BUF_OK ? size * nmemb : 0;
}

static json_t *
http_json(const simproc_t *p, const char *method, const char *path, const char *body, long *status)
{
    CURL *c = curl_easy_init();
    char url[256];
    buf_t b;
    json_t *j = NULL;
    json_error_t jerr;

    buf_init(&b, 1 << 24);
    snprintf(url, sizeof url, "%s%s", p->url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    if (curl_easy_perform(c) != CURLE_OK)
        fail_msg("%s %s failed", method, path);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (b.len)
        j = json_loadb(b.data, b.len, 0, &jerr);
    curl_easy_cleanup(c);
    buf_free(&b);
    return j;
}

static json_t *
stats(const simproc_t *p)
{
    long st = 0;
    json_t *j = http_json(p, "GET", "/_sim/stats", NULL, &st);

    if (st != 200 || !j)
        fail_msg("GET /_sim/stats: HTTP %ld, want 200 with JSON", st);
    return j;
}

static long long
stat_int(const json_t *root, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(root, a);

    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    if (!json_is_integer(v))
        fail_msg("stats %s.%s.%s is not an integer", a, b ? b : "", c ? c : "");
    return json_integer_value(v);
}

static void
set_faults(const simproc_t *p, const char *spec)
{
    long st = 0;
    json_t *j = http_json(p, "POST", "/_sim/faults", spec, &st);

    json_decref(j);
    if (st != 200)
        fail_msg("POST /_sim/faults '%s': HTTP %ld, want 200", spec, st);
}

/* ---- adapter setup ------------------------------------------------------------------------ */

static const config_spec_t cfg_spec[] = {
    { "carrier.viettel.url", NULL, "" },
    { "carrier.viettel.token_file", "", "" },
    { "carrier.timeout_ms", "3000", "" },
    { "carrier.allow_insecure", "0", "" },
    { "carrier.ca_bundle", "", "" },
    { NULL, NULL, NULL },
};

typedef struct {
    simproc_t sim;
    config_t *cfg;
    carrier_t *c;
} fixture_t;


static void
adapter_open(fixture_t *f, const char *timeout_ms)
{
    char err[256];

    f->cfg = config_new(cfg_spec);
    if (!f->cfg || config_set(f->cfg, "carrier.viettel.url", f->sim.url, err, sizeof err) != 0)
        fail_msg("config: %s", err);
    if (timeout_ms && config_set(f->cfg, "carrier.timeout_ms", timeout_ms, err, sizeof err) != 0)
        fail_msg("config: %s", err);
    f->c = carrier_new(carrier_find("viettel"), f->cfg, err, sizeof err);
    if (!f->c)
        fail_msg("carrier_new(viettel): %s", err);
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    int rc;

    if (!f)
        return 0;
    carrier_destroy(&f->c);
    config_destroy(&f->cfg);
    rc = sim_stop(&f->sim);
    free(f);
    *state = NULL;
    if (rc != 0) {
        print_error("simulator exit status %d, want 0 (clean stop, no leaks)\n", rc);
        return -1;
    }
    return 0;
}

static int
setup(void **state)
{
    *state = calloc(1, sizeof(fixture_t));
    return *state ? 0 : -1;
}

/* shipment - a valid return-leg shipment; waybill and dossier vary per test */
static void
shipment(carrier_shipment_t *s, const char *dossier, const char *waybill, const char *address)
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

static void
expect_status(const char *what, carrier_status_t got, carrier_status_t want, const carrier_result_t *r)
{
    if (got != want)
        fail_msg("%s: got %s (HTTP %d, '%s'), want %s", what, carrier_status_name(got), r->http_status, r->message,
                 carrier_status_name(want));
}


/* check_create_request - the exact createOrder request the adapter sent for shipment() */
static void
check_create_request(const simproc_t *p)
{
    static const char want_body[] =
        "{\"ORDER_NUMBER\":\"000.00.31.H23-231124-0001\",\"ORDER_REFERENCE\":\"RR000000014VN\","
        "\"SENDER_FULLNAME\":\"UBND xã Tân Lập\",\"SENDER_ADDRESS\":\"Số 1 đường Lê Lợi\","
        "\"SENDER_PHONE\":\"02433123456\",\"RECEIVER_FULLNAME\":\"Nguyễn Thị Hoa\","
        "\"RECEIVER_ADDRESS\":\"Số 2 ngõ 3 phố Huế\",\"RECEIVER_PHONE\":\"0912345678\","
        "\"PRODUCT_NAME\":\"Kết quả giải quyết TTHC\",\"PRODUCT_TYPE\":\"HH\",\"PRODUCT_QUANTITY\":1,"
        "\"PRODUCT_WEIGHT\":200,\"MONEY_COLLECTION\":50000,\"ORDER_SERVICE\":\"VCN\",\"ORDER_SERVICE_ADD\":\"\","
        "\"ORDER_NOTE\":\"Bưu chính công ích – hành chính công. Phát tận tay, kiểm tra CCCD/giấy ủy quyền.\","
        "\"ORDER_PAYMENT\":3}";
    long code = 0;
    json_t *last = http_json(p, "GET", "/_sim/last_request", NULL, &code), *want;
    json_error_t jerr;
    char *got;

    if (code != 200 || !last)
        fail_msg("GET /_sim/last_request: HTTP %ld", code);
    assert_string_equal(json_string_value(json_object_get(last, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(last, "path")), "/v2/order/createOrder");
    assert_string_equal(json_string_value(json_object_get(last, "x_request_id")), "test-req-1");
    assert_string_equal(json_string_value(json_object_get(last, "content_type")), "application/json");
    if (!json_is_true(json_object_get(last, "token")))
        fail_msg("createOrder was sent without the Token header");
    want = json_loads(want_body, 0, &jerr);
    if (!want)
        fail_msg("want_body does not parse: %s", jerr.text);
    if (!json_equal(want, json_object_get(last, "body"))) {
        got = json_dumps(json_object_get(last, "body"), JSON_COMPACT);
        fail_msg("createOrder body:\n got  %s\n want %s", got ? got : "(none)", want_body);
    }
    json_decref(want);
    json_decref(last);
}

/* ---- tests ------------------------------------------------------------------------------------------ */

static void
test_book_is_idempotent(void **state)
{
    fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r1, r2;
    json_t *st, *sale;
    const char *dossier = "000.00.31.H23-231124-0001";

    sim_start(&f->sim, NULL);
    adapter_open(f, NULL);
    shipment(&s, dossier, "RR000000014VN", NULL);
    expect_status("first book", carrier_book(f->c, &s, &r1), CARRIER_OK, &r1);
    if (strncmp(r1.carrier_ref, "VTP", 3) != 0 || r1.already_existed || r1.fee != 34000)
        fail_msg("first book: ref '%s' already_existed %d fee %lld; want VTP…, 0, 34000", r1.carrier_ref,
                 r1.already_existed, r1.fee);
    check_create_request(&f->sim);
    expect_status("second book", carrier_book(f->c, &s, &r2), CARRIER_OK, &r2);
    if (!r2.already_existed || strcmp(r1.carrier_ref, r2.carrier_ref) != 0)
        fail_msg("second book: already_existed %d ref '%s'; want 1 and '%s'", r2.already_existed, r2.carrier_ref,
                 r1.carrier_ref);
    st = stats(&f->sim);
    if (stat_int(st, "orders_total", NULL, NULL) != 1)
        fail_msg("orders_total = %lld, want 1", stat_int(st, "orders_total", NULL, NULL));
    sale = json_object_get(json_object_get(st, "by_sale_order"), dossier);
    if (!sale || json_integer_value(json_object_get(sale, "orders")) != 1 ||
        json_integer_value(json_object_get(sale, "create_calls")) != 2 ||
        strcmp(json_string_value(json_object_get(sale, "carrier")), "viettel") != 0)
        fail_msg("by_sale_order[%s]: want orders 1, create_calls 2, carrier viettel", dossier);
    if (stat_int(st, "requests", "viettel.createOrder", NULL) != 2)
        fail_msg("viettel.createOrder requests = %lld, want 2", stat_int(st, "requests", "viettel.createOrder", NULL));
    json_decref(st);

    /* the same dossier under another waybill: Viettel holds it already, a clerk must look */
    shipment(&s, dossier, "RR000000028VN", NULL);
    expect_status("book with a new waybill", carrier_book(f->c, &s, &r2), CARRIER_FAIL, &r2);
    if (!strstr(r2.message, "RR000000014VN") || !strstr(r2.message, "RR000000028VN"))
        fail_msg("conflicting waybill: message '%s' must name both waybills", r2.message);

    /* the send leg of the same dossier is another order (ORDER_NUMBER "<code>.send") */
    shipment(&s, dossier, "RR000000031VN", NULL);
    s.service = "send";
    expect_status("book the send leg", carrier_book(f->c, &s, &r2), CARRIER_OK, &r2);
    if (r2.already_existed || strcmp(r2.carrier_ref, r1.carrier_ref) == 0)
        fail_msg("send leg: already_existed %d ref '%s', want a new order", r2.already_existed, r2.carrier_ref);
    st = stats(&f->sim);
    sale = json_object_get(json_object_get(st, "by_sale_order"), "000.00.31.H23-231124-0001.send");
    if (stat_int(st, "orders_total", NULL, NULL) != 2 || !sale ||
        json_integer_value(json_object_get(sale, "orders")) != 1)
        fail_msg("send leg: want 2 orders in total and one under ORDER_NUMBER '%s.send'", dossier);
    json_decref(st);
}

static void
test_cancel_and_track(void **state)
{
    fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;
    carrier_event_list_t ev = { 0 };
    carrier_mapping_t m;
    const carrier_ops_t *ops = carrier_find("viettel");
    char ref[64];
    long code = 0;
    json_t *last;

    sim_start(&f->sim, NULL); /* default clock: 10 s per step, nothing moves during the test */
    adapter_open(f, NULL);
    shipment(&s, "000.00.31.H23-231124-0004", "RR000000059VN", NULL);
    expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(ref, sizeof ref, "%s", r.carrier_ref); /* r is reset by every call */
    s.carrier_ref = ref;
    expect_status("track", carrier_track(f->c, &s, &ev, &r), CARRIER_OK, &r);
    if (ev.n != 1 || strcmp(ev.items[0].raw_code, "100") != 0)
        fail_msg("track after booking: %zu events, first '%s'; want 1 event with code 100", ev.n,
                 ev.n ? ev.items[0].raw_code : "");
    if (ops->map_status(ev.items[0].raw_code, &m) != 0 || strcmp(m.status, "booked") != 0)
        fail_msg("code 100 must map to booked");
    if (strcmp(ev.items[0].carrier_ref, s.carrier_ref) != 0 || strcmp(ev.items[0].waybill, s.waybill) != 0 ||
        ev.items[0].carrier_time_ms <= 0 || strcmp(ev.items[0].raw_name, "Tạo đơn hàng") != 0)
        fail_msg("tracked event lacks ref/waybill/time/name");
    carrier_event_list_free(&ev);
    expect_status("cancel before pick-up", carrier_cancel(f->c, &s, &r), CARRIER_OK, &r);
    last = http_json(&f->sim, "GET", "/_sim/last_request", NULL, &code);
    if (!last || strcmp(json_string_value(json_object_get(last, "path")), "/v2/order/UpdateOrder") != 0 ||
        json_integer_value(json_object_get(json_object_get(last, "body"), "TYPE")) != 4 ||
        strcmp(json_string_value(json_object_get(json_object_get(last, "body"), "ORDER_NUMBER")), ref) != 0)
        fail_msg("cancel: want POST /v2/order/UpdateOrder with TYPE 4 and ORDER_NUMBER %s", ref);
    json_decref(last);
    expect_status("track after cancel", carrier_track(f->c, &s, &ev, &r), CARRIER_OK, &r);
    if (ev.n != 2 || strcmp(ev.items[1].raw_code, "107") != 0)
        fail_msg("after cancel: %zu events, last '%s'; want 2 with code 107", ev.n,
                 ev.n ? ev.items[ev.n - 1].raw_code : "");
    if (ops->map_status("107", &m) != 0 || strcmp(m.status, "cancelled") != 0)
        fail_msg("code 107 must map to cancelled");
    carrier_event_list_free(&ev);
    expect_status("cancel again (idempotent)", carrier_cancel(f->c, &s, &r), CARRIER_OK, &r);

    s.carrier_ref = "VTP9999999999";
    expect_status("track unknown order", carrier_track(f->c, &s, &ev, &r), CARRIER_FAIL, &r);
    if (ev.n != 0)
        fail_msg("a failed track left %zu events", ev.n);
    expect_status("cancel unknown order", carrier_cancel(f->c, &s, &r), CARRIER_FAIL, &r);
    carrier_event_list_free(&ev);
    s.carrier_ref = NULL;
    expect_status("cancel without ref", carrier_cancel(f->c, &s, &r), CARRIER_FAIL, &r);
}

static void
test_cancel_after_pickup(void **state)
{
    static const char *const fast[] = { "--clock_speed", "6000", "--step_seconds", "60", NULL };
    fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;
    carrier_event_list_t ev = { 0 };
    int64_t deadline = clock_mono_ms() + 10000;
    int delivered = 0;
    char ref[64];

    sim_start(&f->sim, fast); /* 10 ms per step */
    adapter_open(f, NULL);
    shipment(&s, "000.00.31.H23-231124-0005", "RR000000062VN", NULL);
    expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(ref, sizeof ref, "%s", r.carrier_ref);
    s.carrier_ref = ref;
    while (!delivered && clock_mono_ms() < deadline) {
        usleep(50000);
        ev.n = 0;
        expect_status("track", carrier_track(f->c, &s, &ev, &r), CARRIER_OK, &r);
        delivered = ev.n > 0 && strcmp(ev.items[ev.n - 1].raw_code, "501") == 0;
    }
    if (!delivered)
        fail_msg("the order did not reach code 501 within 10 s");
    if (ev.n != 5 || strcmp(ev.items[1].raw_code, "105") != 0 || strcmp(ev.items[2].raw_code, "200") != 0 ||
        strcmp(ev.items[3].raw_code, "500") != 0)
        fail_msg("delivered order has %zu events, want 5 (100, 105, 200, 500, 501)", ev.n);
    if (ev.items[4].amount != 50000)
        fail_msg("501 amount %lld, want the COD 50000", ev.items[4].amount);
    carrier_event_list_free(&ev);
    expect_status("cancel after pick-up", carrier_cancel(f->c, &s, &r), CARRIER_FAIL, &r);
    if (!strstr(r.message, "picked"))
        fail_msg("cancel after pick-up: message '%s' does not say it was picked up", r.message);
}

static void
test_faults(void **state)
{
    fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;
    json_t *st;

    sim_start(&f->sim, NULL);
    adapter_open(f, "1000");
    shipment(&s, "000.00.31.H23-231124-0106", "RR000000133VN", NULL);

    set_faults(&f->sim, "http500=1");
    expect_status("book under http500=1", carrier_book(f->c, &s, &r), CARRIER_RETRY, &r);
    if (r.http_status != 500)
        fail_msg("http_status = %d, want 500", r.http_status);

    set_faults(&f->sim, "http429=1");
    expect_status("book under http429=1", carrier_book(f->c, &s, &r), CARRIER_THROTTLE, &r);
    if (r.retry_after_ms != 1000)
        fail_msg("retry_after_ms = %lld, want 1000", (long long)r.retry_after_ms);

    /* malformed: the order is created but the answer is garbage */
    set_faults(&f->sim, "malformed=1");
    expect_status("book under malformed=1", carrier_book(f->c, &s, &r), CARRIER_RETRY, &r);

    set_faults(&f->sim, "slow=1"); /* 2 s answers against a 1 s client timeout */
    expect_status("book under slow=1", carrier_book(f->c, &s, &r), CARRIER_RETRY, &r);
    if (!strstr(r.message, "curl 28"))
        fail_msg("slow answer: message '%s', want a curl timeout (28)", r.message);

    set_faults(&f->sim, "");
    expect_status("book without faults", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    if (!r.already_existed)
        fail_msg("the retry after a garbage answer must find the order already there (already_existed = 0)");
    st = stats(&f->sim);
    if (stat_int(st, "orders_total", NULL, NULL) != 1)
        fail_msg("orders_total = %lld after retries, want 1", stat_int(st, "orders_total", NULL, NULL));
    if (stat_int(st, "faults_injected", NULL, NULL) != 4)
        fail_msg("faults_injected = %lld, want 4", stat_int(st, "faults_injected", NULL, NULL));
    json_decref(st);
}

static void
test_invalid_requests(void **state)
{
    fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;

    sim_start(&f->sim, NULL);
    adapter_open(f, NULL);
    shipment(&s, "000.00.31.H23-231124-0007", "RR000000080VN", NULL);
    s.receiver.phone = NULL;
    expect_status("book without receiver phone", carrier_book(f->c, &s, &r), CARRIER_FAIL, &r);
    if (!strstr(r.message, "receiver.phone"))
        fail_msg("message '%s' does not name receiver.phone", r.message);
    shipment(&s, "000.00.31.H23-231124-0007", "RR000000080VN", NULL);
    s.service_code = "XXX";
    expect_status("book with an unknown service", carrier_book(f->c, &s, &r), CARRIER_FAIL, &r);
    if (!strstr(r.message, "status 400") || !strstr(r.message, "ORDER_SERVICE"))
        fail_msg("unknown service: '%s', want status 400 naming ORDER_SERVICE", r.message);
}

static void
test_wrong_token(void **state)
{
    static const char *const tok[] = { "--viettel_token", "other-token", NULL };
    fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;

    sim_start(&f->sim, tok);
    adapter_open(f, NULL);
    shipment(&s, "000.00.31.H23-231124-0008", "RR000000093VN", NULL);
    expect_status("book with a wrong token", carrier_book(f->c, &s, &r), CARRIER_FAIL, &r);
    if (!strstr(r.message, "carrier.viettel.token_file"))
        fail_msg("message '%s' does not name carrier.viettel.token_file", r.message);
}

static void
test_vnpost_only(void **state)
{
    static const char *const only[] = { "--dialect", "vnpost", NULL };
    fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;

    sim_start(&f->sim, only);
    adapter_open(f, NULL);
    shipment(&s, "000.00.31.H23-231124-0009", "RR000000102VN", NULL);
    expect_status("book against a VNPost-only simulator", carrier_book(f->c, &s, &r), CARRIER_FAIL, &r);
    if (r.http_status != 404)
        fail_msg("http_status = %d, want 404", r.http_status);
}

/* ---- webhooks: a small receiver in this process ----------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    char *bodies[256];
    int n;
    int unauthorized;
} receiver_t;

typedef struct {
    buf_t b;
} rx_req_t;

static enum MHD_Result
rx_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
           const char *data, size_t *size, void **con_cls)
{
    receiver_t *rx = cls;
    rx_req_t *q = *con_cls;
    struct MHD_Response *resp;
    enum MHD_Result rc;
    const char *auth;

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
    auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&rx->mu);
    if (!auth || strcmp(auth, "Bearer hook-token") != 0)
        rx->unauthorized++;
    else if (rx->n < 256)
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

/* webhook_events - every event received so far, parsed by the adapter; each body must be ONE object */
static void
webhook_events(receiver_t *rx, carrier_event_list_t *ev)
{
    int i;
    char err[256];
    json_t *j;
    json_error_t jerr;

    ev->n = 0;
    pthread_mutex_lock(&rx->mu);
    for (i = 0; i < rx->n; i++) {
        j = json_loads(rx->bodies[i], 0, &jerr);
        if (!json_is_object(j) || !json_is_object(json_object_get(j, "DATA")) ||
            strcmp(json_string_value(json_object_get(j, "TOKEN")), "hook-token") != 0)
            fail_msg("webhook body %d is not {\"DATA\": {…}, \"TOKEN\": \"hook-token\"}: %s", i, rx->bodies[i]);
        json_decref(j);
        if (carrier_find("viettel")->parse_webhook(rx->bodies[i], strlen(rx->bodies[i]), ev, err, sizeof err) != 0)
            fail_msg("webhook body %d refused by the adapter: %s", i, err);
    }
    pthread_mutex_unlock(&rx->mu);
}

static int
has_code(const carrier_event_list_t *ev, const char *ref, const char *code)
{
    size_t i;
    int n = 0;

    for (i = 0; i < ev->n; i++)
        n += strcmp(ev->items[i].carrier_ref, ref) == 0 && strcmp(ev->items[i].raw_code, code) == 0;
    return n;
}

static void
test_webhooks(void **state)
{
    fixture_t *f = *state;
    receiver_t rx;
    struct MHD_Daemon *d;
    char hook[128], ok_ref[64], fail_ref[64];
    const char *args[12];
    carrier_shipment_t s;
    carrier_result_t r;
    carrier_event_list_t ev = { 0 };
    carrier_mapping_t m;
    int64_t deadline;
    size_t i;
    int k;

    if (!sim_path[0])
        skip();
    memset(&rx, 0, sizeof rx);
    pthread_mutex_init(&rx.mu, NULL);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, rx_handler,
                         &rx, MHD_OPTION_NOTIFY_COMPLETED, rx_done, NULL, MHD_OPTION_END);
    if (!d)
        fail_msg("cannot start the webhook receiver");
    snprintf(hook, sizeof hook, "http://127.0.0.1:%u/v1/carriers/viettel/events",
             MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
    args[0] = "--viettel_webhook_url";
    args[1] = hook;
    args[2] = "--clock_speed";
    args[3] = "6000";
    args[4] = "--step_seconds";
    args[5] = "60";
    args[6] = "--webhook_token";
    args[7] = "hook-token";
    args[8] = NULL;
    sim_start(&f->sim, args);
    adapter_open(f, NULL);
    shipment(&s, "000.00.31.H23-231124-0010", "RR000000116VN", NULL);
    expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(ok_ref, sizeof ok_ref, "%s", r.carrier_ref);
    shipment(&s, "000.00.31.H23-231124-0011", "RR000000125VN", "Số 9 phố Huế [fail-delivery]");
    expect_status("book (failed-delivery scenario)", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(fail_ref, sizeof fail_ref, "%s", r.carrier_ref);

    deadline = clock_mono_ms() + 15000;
    do {
        usleep(50000);
        webhook_events(&rx, &ev);
    } while ((!has_code(&ev, ok_ref, "501") || !has_code(&ev, fail_ref, "504")) && clock_mono_ms() < deadline);
    if (!has_code(&ev, ok_ref, "501") || !has_code(&ev, fail_ref, "504"))
        fail_msg("webhooks: delivered/returned not received within 15 s (%zu events)", ev.n);
    if (has_code(&ev, ok_ref, "105") != 1 || has_code(&ev, ok_ref, "200") != 1 || has_code(&ev, ok_ref, "500") != 1)
        fail_msg("normal order: want exactly one webhook each for 105, 200, 500");
    if (has_code(&ev, fail_ref, "506") != 2 || has_code(&ev, fail_ref, "502") != 1)
        fail_msg("failed-delivery order: got %d events with 506 and %d with 502, want 2 and 1",
                 has_code(&ev, fail_ref, "506"), has_code(&ev, fail_ref, "502"));
    if ((size_t)rx.n != ev.n)
        fail_msg("%d POSTs carried %zu events, want one event per POST", rx.n, ev.n);
    for (i = 0; i < ev.n; i++) {
        const carrier_event_t *e = &ev.items[i];

        if (strcmp(e->waybill, strcmp(e->carrier_ref, ok_ref) == 0 ? "RR000000116VN" : "RR000000125VN") != 0)
            fail_msg("event %zu: waybill '%s' is not the order's S10", i, e->waybill);
        if (strcmp(e->raw_code, "506") == 0 && strcmp(e->reason, "Người nhận vắng nhà") != 0)
            fail_msg("delivery failure without its reason: '%s'", e->reason);
        if (strcmp(e->raw_code, "501") == 0 && e->amount != 50000)
            fail_msg("delivered event amount %lld, want the COD 50000", e->amount);
        if (carrier_find("viettel")->map_status(e->raw_code, &m) != 0)
            fail_msg("webhook code %s is not in the status table", e->raw_code);
    }
    if (carrier_find("viettel")->map_status("504", &m) != 0 || strcmp(m.status, "returned") != 0)
        fail_msg("code 504 must map to returned");
    if (rx.unauthorized)
        fail_msg("%d webhook POSTs without 'Authorization: Bearer hook-token'", rx.unauthorized);
    carrier_event_list_free(&ev);
    carrier_destroy(&f->c);
    if (sim_stop(&f->sim) != 0)
        fail_msg("simulator did not stop cleanly");
    MHD_stop_daemon(d);
    for (k = 0; k < rx.n; k++)
        free(rx.bodies[k]);
    pthread_mutex_destroy(&rx.mu);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_book_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_and_track, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_after_pickup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vnpost_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhooks, setup, teardown),
    };

    (void)argc;
    signal(SIGPIPE, SIG_IGN);
    if (!find_sim(argv[0]))
        fprintf(stderr, "viettel_sim_test: SKIPPED: bcci-carrier-sim not found (set BCCI_BIN or run "
                        "`make build-progs` first)\n");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
