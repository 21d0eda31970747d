/*
 * wire_test - the bccid <-> worker protocol: encode/decode round trips, a table
 * of malformed inputs, and a real ZeroMQ ROUTER/DEALER pair over ipc:// in a
 * temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "clock.h"
#include "queues/wire.h"

/* ---- round trips ------------------------------------------------------- */

static void
roundtrip(const wire_msg_t *in, wire_msg_t *out)
{
    const char *cmd;
    char *body;
    size_t len;
    char err[256] = "";

    assert_int_equal(wire_encode(in, &cmd, &body, &len), 0);
    if (wire_decode(cmd, strlen(cmd), body, len, out, err, sizeof err) != 0)
        fail_msg("decode of %s %s failed: %s", cmd, body, err);
    free(body);
}

static void
test_roundtrip_ready(void **state)
{
    wire_msg_t in, out;

    (void)state;
    wire_msg_init(&in);
    wire_msg_init(&out);
    in.cmd = WIRE_READY;
    snprintf(in.worker, sizeof in.worker, "host-123");
    snprintf(in.carriers, sizeof in.carriers, "vnpost,viettel");
    in.credit = 8;
    roundtrip(&in, &out);
    assert_int_equal(out.cmd, WIRE_READY);
    assert_string_equal(out.worker, "host-123");
    assert_string_equal(out.carriers, "vnpost,viettel");
    assert_int_equal(out.credit, 8);
    wire_msg_clear(&out);
}

static void
test_roundtrip_job(void **state)
{
    wire_msg_t in, out;

    (void)state;
    wire_msg_init(&in);
    wire_msg_init(&out);
    in.cmd = WIRE_JOB;
    in.job_id = 42;
    in.lease = 9007199254740993LL; /* beyond a double's exact range */
    snprintf(in.kind, sizeof in.kind, "book");
    snprintf(in.carrier, sizeof in.carrier, "vnpost");
    in.attempt = 3;
    in.data = json_pack("{s:s,s:{s:s}}", "dossier_code", "000.00.31.H23-231124-0001", "receiver", "name",
                        "Nguyễn Văn A");
    roundtrip(&in, &out);
    assert_int_equal(out.cmd, WIRE_JOB);
    if (out.job_id != 42 || out.lease != 9007199254740993LL)
        fail_msg("got job_id %lld lease %lld, want 42 9007199254740993", (long long)out.job_id,
                 (long long)out.lease);
    assert_string_equal(out.kind, "book");
    assert_string_equal(out.carrier, "vnpost");
    assert_int_equal(out.attempt, 3);
    assert_non_null(out.data);
    assert_true(json_equal(in.data, out.data));
    wire_msg_clear(&in);
    wire_msg_clear(&out);
}

static void
test_roundtrip_result(void **state)
{
    static const wire_outcome_t outcomes[] = { WIRE_OK, WIRE_RETRY, WIRE_FAIL };
    size_t i;

    (void)state;
    for (i = 0; i < 3; i++) {
        wire_msg_t in, out;

        wire_msg_init(&in);
        wire_msg_init(&out);
        in.cmd = WIRE_RESULT;
        in.job_id = 7;
        in.lease = 99;
        in.outcome = outcomes[i];
        in.delay_ms = 86400000;
        snprintf(in.message, sizeof in.message, "Đã nhận");
        in.data = json_pack("{s:s,s:i,s:b}", "carrier_ref", "VN123", "fee", 25000, "already_existed", 0);
        roundtrip(&in, &out);
        assert_int_equal(out.cmd, WIRE_RESULT);
        if (out.outcome != outcomes[i])
            fail_msg("got outcome %s, want %s", wire_outcome_name(out.outcome), wire_outcome_name(outcomes[i]));
        assert_int_equal(out.job_id, 7);
        assert_int_equal(out.lease, 99);
        assert_int_equal(out.delay_ms, 86400000);
        assert_string_equal(out.message, "Đã nhận");
        assert_true(json_equal(in.data, out.data));
        wire_msg_clear(&in);
        wire_msg_clear(&out);
    }
}

static void
test_roundtrip_simple(void **state)
{
    static const wire_cmd_t cmds[] = { WIRE_HEARTBEAT, WIRE_BYE };
    size_t i;

    (void)state;
    for (i = 0; i < 2; i++) {
        wire_msg_t in, out;

        wire_msg_init(&in);
        wire_msg_init(&out);
        in.cmd = cmds[i];
        roundtrip(&in, &out);
        if (out.cmd != cmds[i])
            fail_msg("got %s, want %s", wire_cmd_name(out.cmd), wire_cmd_name(cmds[i]));
        wire_msg_clear(&out);
    }
}

/* A message cut inside a multi-byte character must still encode (as '?'). */
static void
test_encode_invalid_utf8(void **state)
{
    wire_msg_t in, out;

    (void)state;
    wire_msg_init(&in);
    wire_msg_init(&out);
    in.cmd = WIRE_RESULT;
    in.job_id = 1;
    in.lease = 1;
    in.outcome = WIRE_FAIL;
    snprintf(in.message, sizeof in.message, "l\xe1\xbb\x97i \xe1\xbb"); /* "lỗi " + a cut "ỗ" */
    roundtrip(&in, &out);
    assert_string_equal(out.message, "l\xe1\xbb\x97i ??");
    wire_msg_clear(&out);
}

/* ---- malformed input --------------------------------------------------- */

typedef struct {
    const char *name;
    const char *cmd;
    const char *body;
    const char *err_has; /* a fragment the error message must contain */
} bad_case_t;

static const bad_case_t bad_cases[] = {
    { "empty command", "", "{}", "unknown command" },
    { "unknown command", "PING", "{}", "unknown command" },
    { "lower-case command", "ready", "{}", "unknown command" },
    { "command with NUL", "BYE\0", "{}", "unknown command" },
    { "empty body", "HEARTBEAT", "", "empty body" },
    { "bad JSON", "HEARTBEAT", "{", "invalid JSON" },
    { "trailing garbage", "HEARTBEAT", "{} x", "invalid JSON" },
    { "array body", "HEARTBEAT", "[]", "JSON object" },
    { "string body", "BYE", "\"x\"", "JSON" },
    { "duplicate key", "READY", "{\"worker\":\"a\",\"worker\":\"b\",\"carriers\":[\"vnpost\"],\"credit\":1}",
      "invalid JSON" },
    { "ready no worker", "READY", "{\"carriers\":[\"vnpost\"],\"credit\":1}", "'worker' is missing" },
    { "ready empty worker", "READY", "{\"worker\":\"\",\"carriers\":[\"vnpost\"],\"credit\":1}", "empty" },
    { "ready worker number", "READY", "{\"worker\":5,\"carriers\":[\"vnpost\"],\"credit\":1}", "string" },
    { "ready worker too long", "READY",
      "{\"worker\":\"0123456789012345678901234567890123456789012345678901234567890123\","
      "\"carriers\":[\"vnpost\"],\"credit\":1}",
      "at most 63" },
    { "ready carriers string", "READY", "{\"worker\":\"w\",\"carriers\":\"vnpost\",\"credit\":1}", "carriers" },
    { "ready carriers empty", "READY", "{\"worker\":\"w\",\"carriers\":[],\"credit\":1}", "carriers" },
    { "ready carrier number", "READY", "{\"worker\":\"w\",\"carriers\":[1],\"credit\":1}", "carriers[0]" },
    { "ready carrier comma", "READY", "{\"worker\":\"w\",\"carriers\":[\"a,b\"],\"credit\":1}", "comma" },
    { "ready credit 0", "READY", "{\"worker\":\"w\",\"carriers\":[\"vnpost\"],\"credit\":0}", "1..1000" },
    { "ready credit 1001", "READY", "{\"worker\":\"w\",\"carriers\":[\"vnpost\"],\"credit\":1001}", "1..1000" },
    { "ready credit float", "READY", "{\"worker\":\"w\",\"carriers\":[\"vnpost\"],\"credit\":1.5}", "integer" },
    { "ready credit string", "READY", "{\"worker\":\"w\",\"carriers\":[\"vnpost\"],\"credit\":\"8\"}", "integer" },
    { "ready no credit", "READY", "{\"worker\":\"w\",\"carriers\":[\"vnpost\"]}", "'credit' is missing" },
    { "job id 0", "JOB", "{\"job_id\":0,\"lease\":1,\"kind\":\"book\"}", "job_id" },
    { "job id negative", "JOB", "{\"job_id\":-5,\"lease\":1,\"kind\":\"book\"}", "job_id" },
    { "job id huge", "JOB", "{\"job_id\":99999999999999999999,\"lease\":1,\"kind\":\"book\"}", "" },
    { "job lease 0", "JOB", "{\"job_id\":1,\"lease\":0,\"kind\":\"book\"}", "lease" },
    { "job no lease", "JOB", "{\"job_id\":1,\"kind\":\"book\"}", "'lease' is missing" },
    { "job no kind", "JOB", "{\"job_id\":1,\"lease\":1}", "'kind' is missing" },
    { "job kind too long", "JOB", "{\"job_id\":1,\"lease\":1,\"kind\":\"0123456789abcdef\"}", "at most 15" },
    { "job carrier too long", "JOB",
      "{\"job_id\":1,\"lease\":1,\"kind\":\"book\",\"carrier\":\"0123456789abcdef0123456789abcdef\"}",
      "at most 31" },
    { "job payload array", "JOB", "{\"job_id\":1,\"lease\":1,\"kind\":\"book\",\"payload\":[]}", "object" },
    { "job attempt negative", "JOB", "{\"job_id\":1,\"lease\":1,\"kind\":\"book\",\"attempt\":-1}", "attempt" },
    { "job string with NUL", "JOB", "{\"job_id\":1,\"lease\":1,\"kind\":\"bo\\u0000ok\"}", "invalid JSON" },
    { "result bad outcome", "RESULT", "{\"job_id\":1,\"lease\":1,\"outcome\":\"done\"}", "outcome" },
    { "result outcome case", "RESULT", "{\"job_id\":1,\"lease\":1,\"outcome\":\"OK\"}", "outcome" },
    { "result outcome number", "RESULT", "{\"job_id\":1,\"lease\":1,\"outcome\":1}", "string" },
    { "result no outcome", "RESULT", "{\"job_id\":1,\"lease\":1}", "'outcome' is missing" },
    { "result delay negative", "RESULT", "{\"job_id\":1,\"lease\":1,\"outcome\":\"retry\",\"delay_ms\":-1}",
      "delay_ms" },
    { "result delay over a day", "RESULT",
      "{\"job_id\":1,\"lease\":1,\"outcome\":\"retry\",\"delay_ms\":86400001}", "delay_ms" },
    { "result data string", "RESULT", "{\"job_id\":1,\"lease\":1,\"outcome\":\"ok\",\"data\":\"x\"}", "object" },
    { "result message number", "RESULT", "{\"job_id\":1,\"lease\":1,\"outcome\":\"ok\",\"message\":3}",
      "string" },
};

static void
test_malformed_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case_t *c = &bad_cases[i];
        size_t cmdlen = strcmp(c->name, "command with NUL") == 0 ? 4 : strlen(c->cmd);
        wire_msg_t m;
        char err[256] = "";
        int rc;

        wire_msg_init(&m);
        rc = wire_decode(c->cmd, cmdlen, c->body, strlen(c->body), &m, err, sizeof err);
        if (rc != -1)
            fail_msg("%s: got rc %d, want -1", c->name, rc);
        if (err[0] == '\0' || !strstr(err, c->err_has))
            fail_msg("%s: got error '%s', want it to contain '%s'", c->name, err, c->err_has);
        if (m.cmd != WIRE_NONE || m.data != NULL)
            fail_msg("%s: message not cleared after an error (cmd %d)", c->name, m.cmd);
    }
}

static void
test_too_long_message_rejected(void **state)
{
    char body[512], msg[300];
    wire_msg_t m;
    char err[256] = "";

    (void)state;
    memset(msg, 'a', 256);
    msg[256] = '\0';
    snprintf(body, sizeof body, "{\"job_id\":1,\"lease\":1,\"outcome\":\"ok\",\"message\":\"%s\"}", msg);
    wire_msg_init(&m);
    if (wire_decode("RESULT", 6, body, strlen(body), &m, err, sizeof err) != -1)
        fail_msg("a 256-byte message got accepted (truncated to %zu), want an error", strlen(m.message));
    assert_non_null(strstr(err, "message"));
    /* 255 bytes fit exactly */
    msg[255] = '\0';
    snprintf(body, sizeof body, "{\"job_id\":1,\"lease\":1,\"outcome\":\"ok\",\"message\":\"%s\"}", msg);
    if (wire_decode("RESULT", 6, body, strlen(body), &m, err, sizeof err) != 0)
        fail_msg("a 255-byte message: got error '%s', want success", err);
    assert_int_equal(strlen(m.message), 255);
    wire_msg_clear(&m);
}

static void
test_oversized_and_deep(void **state)
{
    size_t n = WIRE_MAX_BODY + 1, i;
    char *big = malloc(n + 1);
    wire_msg_t m;
    char err[256] = "";

    (void)state;
    assert_non_null(big);
    /* a valid JSON object one byte over the limit */
    big[0] = '{';
    memset(big + 1, ' ', n - 2);
    big[n - 1] = '}';
    big[n] = '\0';
    wire_msg_init(&m);
    assert_int_equal(wire_decode("HEARTBEAT", 9, big, n, &m, err, sizeof err), -1);
    if (!strstr(err, "at most"))
        fail_msg("oversized body: got error '%s', want a size error", err);
    /* exactly at the limit is fine */
    big[n - 2] = '}';
    assert_int_equal(wire_decode("HEARTBEAT", 9, big, n - 1, &m, err, sizeof err), 0);
    /* nesting: 100 levels deep inside the payload */
    for (i = 0; i < 100; i++)
        big[i] = '[';
    for (i = 0; i < 100; i++)
        big[100 + i] = ']';
    big[200] = '\0';
    {
        char body[400];

        snprintf(body, sizeof body, "{\"job_id\":1,\"lease\":1,\"kind\":\"book\",\"payload\":{\"x\":%s}}", big);
        assert_int_equal(wire_decode("JOB", 3, body, strlen(body), &m, err, sizeof err), -1);
        if (!strstr(err, "nested"))
            fail_msg("deep JSON: got error '%s', want a nesting error", err);
    }
    /* brackets inside strings do not count */
    {
        const char *body = "{\"job_id\":1,\"lease\":1,\"kind\":\"book\",\"payload\":{\"x\":\"[[[[[[[[[[[[[[[[[[[[[["
                           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"}}";

        if (wire_decode("JOB", 3, body, strlen(body), &m, err, sizeof err) != 0)
            fail_msg("brackets in a string: got error '%s', want success", err);
        wire_msg_clear(&m);
    }
    free(big);
}

static void
test_null_and_unknown_fields(void **state)
{
    const char *body = "{\"job_id\":5,\"lease\":6,\"kind\":\"notify\",\"carrier\":null,\"future\":[1,2],"
                       "\"payload\":null}";
    wire_msg_t m;
    char err[256] = "";

    (void)state;
    wire_msg_init(&m);
    if (wire_decode("JOB", 3, body, strlen(body), &m, err, sizeof err) != 0)
        fail_msg("got error '%s', want success (unknown fields ignored, null = absent)", err);
    assert_string_equal(m.carrier, "");
    assert_null(m.data);
    assert_int_equal(m.attempt, 0);
    wire_msg_clear(&m);
}

/* a pause is a retry with a flag: it round-trips, an old RESULT reads as no pause, an old
 * reader (which ignores unknown fields) sees a retry; the flag on ok/fail is refused */
static void
test_pause_flag(void **state)
{
    wire_msg_t m, back;
    const char *cmd;
    char *body = NULL;
    size_t len = 0;
    char err[256] = "";

    (void)state;
    wire_msg_init(&m);
    m.cmd = WIRE_RESULT;
    m.job_id = 7;
    m.lease = 8;
    m.outcome = WIRE_RETRY;
    m.pause = 1;
    snprintf(m.message, sizeof m.message, "check carrier.vnpost.password_file");
    assert_int_equal(wire_encode(&m, &cmd, &body, &len), 0);
    assert_non_null(strstr(body, "\"pause\":true"));
    assert_non_null(strstr(body, "\"outcome\":\"retry\""));
    wire_msg_init(&back);
    if (wire_decode(cmd, strlen(cmd), body, len, &back, err, sizeof err) != 0)
        fail_msg("pause round trip: %s", err);
    assert_int_equal(back.outcome, WIRE_RETRY);
    assert_int_equal(back.pause, 1);
    assert_string_equal(back.message, "check carrier.vnpost.password_file");
    wire_msg_clear(&back);
    free(body);
    m.pause = 0;
    assert_int_equal(wire_encode(&m, &cmd, &body, &len), 0);
    assert_null(strstr(body, "pause"));
    free(body);
    {
        const char *old = "{\"job_id\":1,\"lease\":2,\"outcome\":\"retry\",\"delay_ms\":0,\"message\":\"x\"}";
        const char *bad = "{\"job_id\":1,\"lease\":2,\"outcome\":\"fail\",\"pause\":true}";
        const char *notbool = "{\"job_id\":1,\"lease\":2,\"outcome\":\"retry\",\"pause\":1}";

        wire_msg_init(&back);
        assert_int_equal(wire_decode("RESULT", 6, old, strlen(old), &back, err, sizeof err), 0);
        assert_int_equal(back.pause, 0);
        wire_msg_clear(&back);
        assert_int_equal(wire_decode("RESULT", 6, bad, strlen(bad), &back, err, sizeof err), -1);
        assert_non_null(strstr(err, "pause"));
        assert_int_equal(wire_decode("RESULT", 6, notbool, strlen(notbool), &back, err, sizeof err), -1);
        assert_non_null(strstr(err, "boolean"));
    }
    wire_msg_clear(&m);
}

/* ---- real sockets ------------------------------------------------------ */

typedef struct {
    char dir[256];
    char endpoint[300];
    void *ctx, *router, *dealer;
} pair_t;

static int
pair_setup(void **state)
{
    pair_t *p = calloc(1, sizeof *p);
    const char *tmp = getenv("TMPDIR");
    int linger = 0;

    if (!p)
        return -1;
    snprintf(p->dir, sizeof p->dir, "%s/wire_test.XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    if (!mkdtemp(p->dir)) {
        free(p);
        return -1;
    }
    snprintf(p->endpoint, sizeof p->endpoint, "ipc://%s/jobs.sock", p->dir);
    p->ctx = zmq_ctx_new();
    p->router = zmq_socket(p->ctx, ZMQ_ROUTER);
    p->dealer = zmq_socket(p->ctx, ZMQ_DEALER);
    zmq_setsockopt(p->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(p->dealer, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(p->router, p->endpoint) != 0 || zmq_connect(p->dealer, p->endpoint) != 0)
        return -1;
    *state = p;
    return 0;
}

static int
pair_teardown(void **state)
{
    pair_t *p = *state;
    char path[320];

    zmq_close(p->dealer);
    zmq_close(p->router);
    zmq_ctx_term(p->ctx);
    snprintf(path, sizeof path, "%s/jobs.sock", p->dir);
    unlink(path);
    rmdir(p->dir);
    free(p);
    return 0;
}

/* recv_wait - wire_recv, polling up to 2 s for a message to arrive */
static int
recv_wait(void *sock, int is_router, unsigned char *id, size_t *idlen, wire_msg_t *m, char *err, size_t errlen)
{
    int64_t end = clock_mono_ms() + 2000;
    int rc;

    for (;;) {
        zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };

        rc = wire_recv(sock, is_router, id, idlen, m, err, errlen);
        if (rc != 1 || clock_mono_ms() > end)
            return rc;
        zmq_poll(&it, 1, 100);
    }
}

static void
test_router_dealer(void **state)
{
    pair_t *p = *state;
    unsigned char id[256];
    size_t idlen = 0;
    wire_msg_t m, got;
    char err[256] = "";
    int rc;

    wire_msg_init(&m);
    wire_msg_init(&got);
    /* nothing waiting */
    rc = wire_recv(p->router, 1, id, &idlen, &got, err, sizeof err);
    if (rc != 1)
        fail_msg("empty socket: got rc %d, want 1", rc);

    /* READY worker -> bccid */
    m.cmd = WIRE_READY;
    snprintf(m.worker, sizeof m.worker, "w1");
    snprintf(m.carriers, sizeof m.carriers, "vnpost");
    m.credit = 2;
    assert_int_equal(wire_send(p->dealer, NULL, 0, &m), 0);
    rc = recv_wait(p->router, 1, id, &idlen, &got, err, sizeof err);
    if (rc != 0)
        fail_msg("READY: got rc %d (%s), want 0", rc, err);
    assert_int_equal(got.cmd, WIRE_READY);
    assert_string_equal(got.worker, "w1");
    assert_int_equal(got.credit, 2);
    if (idlen == 0)
        fail_msg("got an empty identity, want the DEALER's routing id");
    wire_msg_clear(&got);

    /* JOB bccid -> worker, routed by the identity we got */
    wire_msg_init(&m);
    m.cmd = WIRE_JOB;
    m.job_id = 11;
    m.lease = 12;
    snprintf(m.kind, sizeof m.kind, "track");
    snprintf(m.carrier, sizeof m.carrier, "vnpost");
    m.data = json_pack("{s:s}", "carrier_ref", "X1");
    assert_int_equal(wire_send(p->router, id, idlen, &m), 0);
    wire_msg_clear(&m);
    rc = recv_wait(p->dealer, 0, NULL, NULL, &got, err, sizeof err);
    if (rc != 0)
        fail_msg("JOB: got rc %d (%s), want 0", rc, err);
    assert_int_equal(got.cmd, WIRE_JOB);
    assert_int_equal(got.job_id, 11);
    assert_string_equal(json_string_value(json_object_get(got.data, "carrier_ref")), "X1");
    wire_msg_clear(&got);

    /* RESULT worker -> bccid */
    m.cmd = WIRE_RESULT;
    m.job_id = 11;
    m.lease = 12;
    m.outcome = WIRE_RETRY;
    m.delay_ms = 1500;
    assert_int_equal(wire_send(p->dealer, NULL, 0, &m), 0);
    rc = recv_wait(p->router, 1, id, &idlen, &got, err, sizeof err);
    if (rc != 0)
        fail_msg("RESULT: got rc %d (%s), want 0", rc, err);
    assert_int_equal(got.cmd, WIRE_RESULT);
    assert_int_equal(got.outcome, WIRE_RETRY);
    assert_int_equal(got.delay_ms, 1500);
    wire_msg_clear(&got);
}

/* A malformed multipart message is consumed whole; the next good one arrives. */
static void
test_malformed_then_good(void **state)
{
    pair_t *p = *state;
    unsigned char id[256];
    size_t idlen = 0;
    wire_msg_t m, got;
    char err[256] = "";
    int rc;
    static const struct {
        const char *name;
        int nframes;
        const char *frames[5];
    } bad[] = {
        { "wrong version", 3, { "BCCI0", "HEARTBEAT", "{}" } },
        { "two frames", 2, { "BCCI1", "HEARTBEAT" } },
        { "five frames", 5, { "BCCI1", "HEARTBEAT", "{}", "extra", "more" } },
        { "one empty frame", 1, { "" } },
        { "bad body", 3, { "BCCI1", "RESULT", "{\"job_id\":1}" } },
        { "unknown command", 3, { "BCCI1", "NOPE", "{}" } },
    };
    size_t i;

    wire_msg_init(&m);
    wire_msg_init(&got);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int f;

        for (f = 0; f < bad[i].nframes; f++)
            zmq_send(p->dealer, bad[i].frames[f], strlen(bad[i].frames[f]),
                     f + 1 < bad[i].nframes ? ZMQ_SNDMORE : 0);
        m.cmd = WIRE_HEARTBEAT;
        assert_int_equal(wire_send(p->dealer, NULL, 0, &m), 0);

        err[0] = '\0';
        rc = recv_wait(p->router, 1, id, &idlen, &got, err, sizeof err);
        if (rc != -1 || err[0] == '\0')
            fail_msg("%s: got rc %d err '%s', want -1 with a reason", bad[i].name, rc, err);
        rc = recv_wait(p->router, 1, id, &idlen, &got, err, sizeof err);
        if (rc != 0 || got.cmd != WIRE_HEARTBEAT)
            fail_msg("%s: next message got rc %d cmd %s (%s), want the HEARTBEAT", bad[i].name, rc,
                     wire_cmd_name(got.cmd), err);
        wire_msg_clear(&got);
    }
    /* nothing left behind */
    rc = wire_recv(p->router, 1, id, &idlen, &got, err, sizeof err);
    if (rc != 1)
        fail_msg("after the table: got rc %d, want 1 (socket empty)", rc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_ready),
        cmocka_unit_test(test_roundtrip_job),
        cmocka_unit_test(test_roundtrip_result),
        cmocka_unit_test(test_roundtrip_simple),
        cmocka_unit_test(test_encode_invalid_utf8),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_too_long_message_rejected),
        cmocka_unit_test(test_oversized_and_deep),
        cmocka_unit_test(test_null_and_unknown_fields),
        cmocka_unit_test(test_pause_flag),
        cmocka_unit_test_setup_teardown(test_router_dealer, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_then_good, pair_setup, pair_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
