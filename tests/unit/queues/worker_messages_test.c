/*
 * worker_messages_test - the real bcci-worker running sms and email jobs
 *
 * A fake bccid (a ROUTER in this test) hands JOBs to the real worker binary,
 * which talks to the SMS-brandname stand-in (tests/sims/sms_sim.py) and to a
 * real SMTP server (tests/sims/smtp_sink.py, aiosmtpd). Checks: the exact
 * Vietnamese text and brand name reach the provider, a repeated request_id
 * is sent once, 500 and 429 are retries, an unknown number and a landline
 * fail, the e-mail arrives decodable (Python's email package) with the right
 * subject and body, 550 fails and 451 retries, no phone, address or text
 * appears in the worker's log, and a worker without sms.url / smtp.url says
 * so. Skipped, saying why, when the worker binary or python3 is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "domain/messages.h"
#include "queues/wire.h"
#include "tests/unit/support/py_sim.h"
#include "tests/unit/support/sim_fixture.h"

#define API_KEY "sms-key-for-tests"
#define PHONE "0912345678"
#define EMAIL "an.nguyen@example.vn"
#define CODE "000.00.31.H23-231124-0001"

static const char *argv0;

typedef struct {
    char dir[256], endpoint[320], bin[512], mail_dir[320];
    void *ctx, *router;
    unsigned char id[256];
    size_t idlen;
    int64_t last_rx_ms; /* when the worker was last heard */
    pid_t pid;
    py_sim_t sms, smtp;
} fx_t;

/* ---- the fake bccid ------------------------------------------------------ */

static int
wait_for(fx_t *fx, wire_cmd_t want, int64_t ms, wire_msg_t *out)
{
    int64_t end = clock_mono_ms() + ms;

    while (clock_mono_ms() < end) {
        zmq_pollitem_t it = { fx->router, 0, ZMQ_POLLIN, 0 };
        char err[256];
        int rc;

        zmq_poll(&it, 1, 100);
        rc = wire_recv(fx->router, 1, fx->id, &fx->idlen, out, err, sizeof err);
        if (rc == 1)
            continue;
        if (rc < 0)
            fail_msg("the worker sent a malformed message: %s", err);
        fx->last_rx_ms = clock_mono_ms();
        if (out->cmd == want)
            return 0;
        if (out->cmd == WIRE_HEARTBEAT) {
            wire_msg_t hb;

            wire_msg_init(&hb);
            hb.cmd = WIRE_HEARTBEAT;
            wire_send(fx->router, fx->id, fx->idlen, &hb);
        }
        wire_msg_clear(out);
    }
    return -1;
}

static void
send_job(fx_t *fx, int64_t id, const char *kind, const char *carrier, json_t *payload /* stolen */)
{
    wire_msg_t m;

    wire_msg_init(&m);
    m.cmd = WIRE_JOB;
    m.job_id = id;
    m.lease = id * 10;
    snprintf(m.kind, sizeof m.kind, "%s", kind);
    snprintf(m.carrier, sizeof m.carrier, "%s", carrier);
    m.data = payload;
    if (wire_send(fx->router, fx->id, fx->idlen, &m) != 0)
        fail_msg("send JOB %lld failed: %s", (long long)id, zmq_strerror(errno));
    wire_msg_clear(&m);
}

/* resync - after the test was busy elsewhere (a Python decoder, a file wait),
 * hear from the worker and answer its heartbeat before sending: a worker that
 * heard nothing for 3 s reconnects under a new identity, and a JOB sent to
 * the old one would be dropped by the ROUTER */
static void
resync(fx_t *fx)
{
    wire_msg_t m;

    if (clock_mono_ms() - fx->last_rx_ms < 1000)
        return;
    /* what queued up meanwhile may come from a socket the worker has closed:
     * drop it, then answer the next heartbeat, which comes from the live one */
    for (;;) {
        char err[256];
        int rc;

        wire_msg_init(&m);
        rc = wire_recv(fx->router, 1, fx->id, &fx->idlen, &m, err, sizeof err);
        wire_msg_clear(&m);
        if (rc == 1)
            break;
    }
    wire_msg_init(&m);
    if (wait_for(fx, WIRE_HEARTBEAT, 10000, &m) != 0)
        fail_msg("no heartbeat from the worker within 10 s");
    wire_msg_clear(&m);
    wire_msg_init(&m);
    m.cmd = WIRE_HEARTBEAT;
    wire_send(fx->router, fx->id, fx->idlen, &m);
    wire_msg_clear(&m);
}

/* run_job - send a job and wait for its RESULT, checking outcome, delay (>= 0) and a message part */
static void
run_job(fx_t *fx, int64_t id, const char *kind, json_t *payload, wire_outcome_t outcome, int64_t delay_ms,
        const char *msg_has, wire_msg_t *out)
{
    resync(fx);
    send_job(fx, id, kind, strcmp(kind, "return") == 0 ? "vnpost" : "", payload);
    if (wait_for(fx, WIRE_RESULT, 30000, out) != 0)
        fail_msg("%s job %lld: no RESULT within 30 s", kind, (long long)id);
    if (out->job_id != id)
        fail_msg("got RESULT for job %lld, want %lld", (long long)out->job_id, (long long)id);
    if (out->outcome != outcome)
        fail_msg("%s job %lld: got outcome %s (%s), want %s", kind, (long long)id, wire_outcome_name(out->outcome),
                 out->message, wire_outcome_name(outcome));
    if (delay_ms >= 0 && out->delay_ms != delay_ms)
        fail_msg("%s job %lld: got delay_ms %lld, want %lld", kind, (long long)id, (long long)out->delay_ms,
                 (long long)delay_ms);
    if (msg_has && !strstr(out->message, msg_has))
        fail_msg("%s job %lld: got message '%s', want it to contain '%s'", kind, (long long)id, out->message,
                 msg_has);
}

/* start_worker - the worker binary with extra "--key value" args, stderr into dir/NAME.err */
static void
start_worker(fx_t *fx, const char *name, const char *const *extra)
{
    char *argv[48], errpath[400];
    int n = 0, i;

    argv[n++] = "bcci-worker";
    argv[n++] = "--connect";
    argv[n++] = fx->endpoint;
    argv[n++] = "--concurrency";
    argv[n++] = "2";
    argv[n++] = "--name";
    argv[n++] = (char *)name;
    argv[n++] = "--carrier.vnpost.url";
    argv[n++] = "http://127.0.0.1:1";
    argv[n++] = "--log_level";
    argv[n++] = "debug";
    argv[n++] = "--shutdown_grace_ms";
    argv[n++] = "5000";
    for (i = 0; extra && extra[i] && n < 46; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    snprintf(errpath, sizeof errpath, "%s/%s.err", fx->dir, name);
    fx->pid = fork();
    if (fx->pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (fx->pid == 0) {
        if (!freopen(errpath, "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(127);
        execv(fx->bin, argv);
        _exit(127);
    }
}

static void
stop_worker(fx_t *fx)
{
    int64_t end = clock_mono_ms() + 15000;
    wire_msg_t m;
    int st = 0;

    kill(fx->pid, SIGTERM);
    wire_msg_init(&m);
    wait_for(fx, WIRE_BYE, 5000, &m);
    wire_msg_clear(&m);
    while (waitpid(fx->pid, &st, WNOHANG) == 0) {
        if (clock_mono_ms() > end) {
            kill(fx->pid, SIGKILL);
            waitpid(fx->pid, &st, 0);
            fx->pid = 0;
            fail_msg("the worker did not exit within 15 s of SIGTERM");
        }
        usleep(50 * 1000);
    }
    fx->pid = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("worker exit: got status 0x%x, want exit 0 (under ASan a leak makes it non-zero)", st);
}

static int
fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    const char *tmp = getenv("TMPDIR"), *bindir = getenv("BCCI_BIN");
    int linger = 0;

    if (!fx)
        return -1;
    *state = fx;
    snprintf(fx->bin, sizeof fx->bin, "%s/bcci-worker", bindir && *bindir ? bindir : "build/san/bin");
    if (access(fx->bin, X_OK) != 0)
        return 0; /* the test skips */
    snprintf(fx->dir, sizeof fx->dir, "%s/worker_messages_test.XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->endpoint, sizeof fx->endpoint, "ipc://%s/jobs.sock", fx->dir);
    snprintf(fx->mail_dir, sizeof fx->mail_dir, "%s/mail", fx->dir);
    fx->ctx = zmq_ctx_new();
    fx->router = zmq_socket(fx->ctx, ZMQ_ROUTER);
    zmq_setsockopt(fx->router, ZMQ_LINGER, &linger, sizeof linger);
    return zmq_bind(fx->router, fx->endpoint) == 0 ? 0 : -1;
}

static int
fx_teardown(void **state)
{
    fx_t *fx = *state;
    if (fx->pid > 0) {
        kill(fx->pid, SIGKILL);
        waitpid(fx->pid, NULL, 0);
    }
    py_sim_stop(&fx->sms);
    py_sim_stop(&fx->smtp);
    if (fx->router)
        zmq_close(fx->router);
    if (fx->ctx)
        zmq_ctx_term(fx->ctx);
    if (fx->dir[0] && !getenv("BCCI_KEEP_TMP")) {
        pid_t pid = fork(); /* the directory holds the mails, logs and the socket */

        if (pid == 0) {
            execlp("rm", "rm", "-rf", fx->dir, (char *)NULL);
            _exit(127);
        }
        if (pid > 0)
            waitpid(pid, NULL, 0);
    }
    free(fx);
    return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s = calloc(1, (size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

/* wait_for_file - until path exists (20 s) */
static void
wait_for_file(const char *path)
{
    int64_t end = clock_mono_ms() + 20000;

    while (access(path, R_OK) != 0) {
        if (clock_mono_ms() > end)
            fail_msg("%s did not appear within 20 s", path);
        usleep(50 * 1000);
    }
}

static json_t *
sms_messages(fx_t *fx)
{
    char url[200];
    long st = 0;
    json_t *j;

    snprintf(url, sizeof url, "%s/_sms/messages", fx->sms.url);
    j = py_http_json(url, NULL, &st);
    if (st != 200 || !json_is_array(j))
        fail_msg("GET /_sms/messages: HTTP %ld, want 200 with a list", st);
    return j;
}

static void
sms_faults(fx_t *fx, const char *spec)
{
    char url[200];
    long st = 0;
    json_t *j;

    snprintf(url, sizeof url, "%s/_sms/faults", fx->sms.url);
    j = py_http_json(url, spec, &st);
    json_decref(j);
    if (st != 200)
        fail_msg("POST /_sms/faults %s: HTTP %ld", spec, st);
}

static void
strip_cr(char *s)
{
    char *w = s;

    for (; *s; s++)
        if (*s != '\r')
            *w++ = *s;
    *w = '\0';
}

/* ---- the test ------------------------------------------------------------- */

static void
test_sms_and_email_jobs(void **state)
{
    fx_t *fx = *state;
    char sms_script[4096], smtp_script[4096], key_file[400], jsonl[400], sms_url[200], smtp_url[200], path[400], err[256];
    const char *sms_args[6], *smtp_args[3], *worker_args[13];
    message_input_t in = { .kind = MESSAGE_DELIVERY_FAILED, .dossier_code = CODE, .reason = "Không có người nhận",
                           .attempt = 1, .when_ms = 1796265000000LL, .contact_phone = "02838290000",
                           .recipient_name = "Nguyễn Văn An" };
    buf_t text, subject, body;
    json_t *msgs, *mail, *env;
    wire_msg_t m;
    const char *provider_id;
    char *log, *env_text;
    FILE *f;

    if (!fx->dir[0]) {
        fprintf(stderr, "SKIPPED: %s not built (set BCCI_BIN or run make SANITIZER=address build-progs)\n", fx->bin);
        skip();
    }
    if (py_sim_script(argv0, "sms_sim.py", sms_script, sizeof sms_script) != 0 ||
        py_sim_script(argv0, "smtp_sink.py", smtp_script, sizeof smtp_script) != 0)
        fail_msg("tests/sims/sms_sim.py or smtp_sink.py not found: run the test from the source tree");
    snprintf(jsonl, sizeof jsonl, "%s/sms.jsonl", fx->dir);
    sms_args[0] = "--api-key";
    sms_args[1] = API_KEY;
    sms_args[2] = "--messages";
    sms_args[3] = jsonl;
    sms_args[4] = NULL;
    py_sim_start(&fx->sms, sms_script, sms_args);
    smtp_args[0] = "--dir";
    smtp_args[1] = fx->mail_dir;
    smtp_args[2] = NULL;
    py_sim_start(&fx->smtp, smtp_script, smtp_args);

    snprintf(key_file, sizeof key_file, "%s/sms.key", fx->dir);
    f = fopen(key_file, "w");
    assert_non_null(f);
    fputs(API_KEY "\n", f);
    fclose(f);
    chmod(key_file, 0600);
    snprintf(sms_url, sizeof sms_url, "%s/api/v1/sms/send", fx->sms.url);
    snprintf(smtp_url, sizeof smtp_url, "%s", fx->smtp.url);
    worker_args[0] = "--sms.url";
    worker_args[1] = sms_url;
    worker_args[2] = "--sms.brandname";
    worker_args[3] = "BUUDIEN";
    worker_args[4] = "--sms.api_key_file";
    worker_args[5] = key_file;
    worker_args[6] = "--smtp.url";
    worker_args[7] = smtp_url;
    worker_args[8] = "--smtp.from";
    worker_args[9] = "no-reply@bcci.example.vn";
    worker_args[10] = "--sms.timeout_ms";
    worker_args[11] = "5000";
    worker_args[12] = NULL;
    start_worker(fx, "msg-worker", worker_args);

    wire_msg_init(&m);
    if (wait_for(fx, WIRE_READY, 30000, &m) != 0)
        fail_msg("no READY from the worker within 30 s");
    wire_msg_clear(&m);

    buf_init(&text, 4096);
    buf_init(&subject, 4096);
    buf_init(&body, 16384);
    if (message_sms_text(&in, &text, err, sizeof err) != 0 || message_email(&in, &subject, &body, err, sizeof err) != 0)
        fail_msg("messages: %s", err);

    /* the exact text and brand name reach the provider, with the request id */
    run_job(fx, 1, "sms", json_pack("{s:s,s:s,s:s}", "to", PHONE, "text", text.data, "request_id", "rid-sms-1"),
            WIRE_OK, 0, "*******678", &m);
    provider_id = json_string_value(json_object_get(m.data, "provider_id"));
    if (!provider_id || strcmp(provider_id, "SMS000001") != 0)
        fail_msg("sms: got provider_id '%s', want SMS000001", provider_id ? provider_id : "(none)");
    wire_msg_clear(&m);
    msgs = sms_messages(fx);
    if (json_array_size(msgs) != 1)
        fail_msg("provider got %zu messages, want 1", json_array_size(msgs));
    {
        json_t *rec = json_array_get(msgs, 0);
        const char *got = json_string_value(json_object_get(rec, "message"));

        if (!got || strcmp(got, text.data) != 0)
            fail_msg("provider got text '%s', want '%s'", got ? got : "(none)", text.data);
        assert_string_equal(json_string_value(json_object_get(rec, "brandname")), "BUUDIEN");
        assert_string_equal(json_string_value(json_object_get(rec, "phone")), "84912345678");
        assert_string_equal(json_string_value(json_object_get(rec, "x_request_id")), "rid-sms-1");
        assert_true(json_is_true(json_object_get(rec, "unicode")));
    }
    json_decref(msgs);

    /* the same job again (a retry after a lost RESULT): ok, same id, sent once */
    run_job(fx, 2, "sms", json_pack("{s:s,s:s,s:s}", "to", PHONE, "text", text.data, "request_id", "rid-sms-1"),
            WIRE_OK, 0, NULL, &m);
    assert_string_equal(json_string_value(json_object_get(m.data, "provider_id")), "SMS000001");
    wire_msg_clear(&m);
    msgs = sms_messages(fx);
    if (json_array_size(msgs) != 1)
        fail_msg("after a repeated request_id the provider has %zu messages, want 1", json_array_size(msgs));
    json_decref(msgs);

    /* 500 → retry (backoff decides); 429 with Retry-After → retry after it */
    sms_faults(fx, "{\"status\": 500, \"count\": 1}");
    run_job(fx, 3, "sms", json_pack("{s:s,s:s,s:s}", "to", PHONE, "text", text.data, "request_id", "rid-sms-3"),
            WIRE_RETRY, 0, "answered 500", &m);
    wire_msg_clear(&m);
    sms_faults(fx, "{\"status\": 429, \"count\": 1, \"retry_after\": 7}");
    run_job(fx, 4, "sms", json_pack("{s:s,s:s,s:s}", "to", PHONE, "text", text.data, "request_id", "rid-sms-4"),
            WIRE_RETRY, 7000, "answered 429", &m);
    wire_msg_clear(&m);

    /* a number the network does not know: the provider's 400 is a permanent fail */
    run_job(fx, 5, "sms", json_pack("{s:s,s:s,s:s}", "to", "0900000000", "text", text.data, "request_id", "rid-5"),
            WIRE_FAIL, 0, "invalid_phone", &m);
    wire_msg_clear(&m);
    /* a landline cannot take an SMS: refused before anything is sent */
    run_job(fx, 6, "sms", json_pack("{s:s,s:s}", "to", "02838290000", "text", text.data), WIRE_FAIL, 0,
            "not a Vietnamese mobile number", &m);
    wire_msg_clear(&m);
    run_job(fx, 7, "sms", json_pack("{s:s}", "to", PHONE), WIRE_FAIL, 0, "sms payload must be", &m);
    wire_msg_clear(&m);

    /* the delivery report goes to the callback_url the job names */
    {
        sim_receiver_t rx;
        char cb[128];
        int64_t end;
        json_t *report;

        memset(&rx, 0, sizeof rx);
        sim_receiver_start(&rx, NULL, "application/json");
        snprintf(cb, sizeof cb, "http://127.0.0.1:%u/v1/sms/reports", rx.port);
        run_job(fx, 8, "sms",
                json_pack("{s:s,s:s,s:s,s:s}", "to", PHONE, "text", text.data, "request_id", "rid-sms-8",
                          "callback_url", cb),
                WIRE_OK, 0, NULL, &m);
        wire_msg_clear(&m);
        end = clock_mono_ms() + 15000;
        for (;;) {
            int n;

            pthread_mutex_lock(&rx.mu);
            n = rx.n;
            pthread_mutex_unlock(&rx.mu);
            if (n > 0)
                break;
            if (clock_mono_ms() > end)
                fail_msg("no delivery report at the callback_url within 15 s");
            usleep(50 * 1000);
        }
        report = json_loads(rx.bodies[0], 0, NULL);
        if (!report || strcmp(json_string_value(json_object_get(report, "request_id")), "rid-sms-8") != 0 ||
            strcmp(json_string_value(json_object_get(report, "status")), "DELIVERED") != 0)
            fail_msg("delivery report '%s', want request_id rid-sms-8 and status DELIVERED", rx.bodies[0]);
        json_decref(report);
        sim_receiver_stop(&rx);
    }
    /* the provider's own record (JSON lines): the two messages it accepted, text intact */
    {
        char *lines = read_file(jsonl), *nl;
        int n = 0;

        assert_non_null(lines);
        for (nl = lines; (nl = strchr(nl, '\n')); nl++)
            n++;
        if (n != 2 || !strstr(lines, "Không có người nhận"))
            fail_msg("sms.jsonl has %d lines ('%s'), want 2 with the Vietnamese text", n, lines);
        free(lines);
    }

    /* e-mail: arrives, and Python's own parser reads the subject and body back */
    run_job(fx, 10, "email",
            json_pack("{s:s,s:s,s:s,s:s}", "to", EMAIL, "subject", subject.data, "body", body.data, "request_id",
                      "rid-mail-1"),
            WIRE_OK, 0, "a\xE2\x80\xA6@example.vn", &m);
    wire_msg_clear(&m);
    snprintf(path, sizeof path, "%s/0001.eml", fx->mail_dir);
    wait_for_file(path);
    mail = py_decode_eml(argv0, path);
    if (strcmp(json_string_value(json_object_get(mail, "subject")), subject.data) != 0)
        fail_msg("decoded subject '%s', want '%s'", json_string_value(json_object_get(mail, "subject")),
                 subject.data);
    assert_string_equal(json_string_value(json_object_get(mail, "content_type")), "text/plain");
    assert_string_equal(json_string_value(json_object_get(mail, "charset")), "utf-8");
    {
        char *got = strdup(json_string_value(json_object_get(mail, "body")));

        strip_cr(got);
        if (strcmp(got, body.data) != 0)
            fail_msg("decoded body '%s', want '%s'", got, body.data);
        free(got);
    }
    if (!strstr(json_string_value(json_object_get(mail, "message_id")), "bcci.rid-mail-1@bcci.example.vn"))
        fail_msg("Message-ID '%s', want it made from the request id",
                 json_string_value(json_object_get(mail, "message_id")));
    json_decref(mail);
    snprintf(path, sizeof path, "%s/0001.json", fx->mail_dir);
    env_text = read_file(path);
    assert_non_null(env_text);
    env = json_loads(env_text, 0, NULL);
    free(env_text);
    assert_string_equal(json_string_value(json_object_get(env, "mail_from")), "no-reply@bcci.example.vn");
    assert_string_equal(json_string_value(json_array_get(json_object_get(env, "rcpt_tos"), 0)), EMAIL);
    json_decref(env);

    /* 550 on the recipient fails; 451 retries; a bad address fails before SMTP */
    run_job(fx, 11, "email",
            json_pack("{s:s,s:s,s:s}", "to", "reject.me@example.vn", "subject", subject.data, "body", body.data),
            WIRE_FAIL, 0, "refused by the SMTP server (550)", &m);
    wire_msg_clear(&m);
    run_job(fx, 12, "email",
            json_pack("{s:s,s:s,s:s}", "to", "busy.box@example.vn", "subject", subject.data, "body", body.data),
            WIRE_RETRY, 0, "451", &m);
    wire_msg_clear(&m);
    run_job(fx, 13, "email", json_pack("{s:s,s:s,s:s}", "to", "not an address", "subject", "x", "body", "y"),
            WIRE_FAIL, 0, "not a plain e-mail address", &m);
    wire_msg_clear(&m);

    /* the return job kind reaches the carrier adapter: a payload without a
     * shipment is refused; a shipment whose carrier is unreachable is retried */
    run_job(fx, 30, "return", json_object(), WIRE_FAIL, 0, "invalid return payload", &m);
    wire_msg_clear(&m);
    run_job(fx, 31, "return",
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s},s:s}", "request_id",
                      "rid-ret", "dossier_code", CODE, "waybill", "RR000000085VN", "service", "return", "carrier_ref",
                      "VNP0000000001", "sender", "name", "UBND xã", "phone", "02838000000", "address", "1 Đường A",
                      "province_code", "79", "commune_code", "26734", "receiver", "name", "Người nhận", "phone",
                      PHONE, "address", "2 Đường B", "province_code", "79", "commune_code", "26737",
                      "return_reason", "Phát không thành công 2 lần"),
            WIRE_RETRY, -1, NULL, &m);
    wire_msg_clear(&m);

    stop_worker(fx);

    /* no phone, address or message text in the worker's log */
    snprintf(path, sizeof path, "%s/msg-worker.err", fx->dir);
    log = read_file(path);
    assert_non_null(log);
    {
        static const char *const secrets[] = { "912345678", "84912345678", "0900000000", "an.nguyen", "reject.me",
                                               "busy.box", "Không có người nhận", "Nguyễn Văn An", API_KEY };
        size_t i;

        if (!strstr(log, "job 1 sms"))
            fail_msg("the worker log has no line for job 1: '%s'", log);
        for (i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
            if (strstr(log, secrets[i]))
                fail_msg("the worker log shows '%s':\n%s", secrets[i], log);
    }
    free(log);

    /* a worker without sms.url / smtp.url says so, permanently */
    start_worker(fx, "plain-worker", NULL);
    if (wait_for(fx, WIRE_READY, 30000, &m) != 0)
        fail_msg("no READY from the second worker within 30 s");
    wire_msg_clear(&m);
    run_job(fx, 20, "sms", json_pack("{s:s,s:s}", "to", PHONE, "text", text.data), WIRE_FAIL, 0,
            "sms.url is not configured", &m);
    wire_msg_clear(&m);
    run_job(fx, 21, "email", json_pack("{s:s,s:s,s:s}", "to", EMAIL, "subject", "x", "body", "y"), WIRE_FAIL, 0,
            "smtp.url is not configured", &m);
    wire_msg_clear(&m);
    stop_worker(fx);

    buf_free(&text);
    buf_free(&subject);
    buf_free(&body);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sms_and_email_jobs, fx_setup, fx_teardown),
    };

    (void)argc;
    argv0 = argv[0];
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
