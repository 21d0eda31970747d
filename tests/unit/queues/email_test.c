/*
 * email_test - the message the e-mail client builds (queues/email.c): headers,
 * RFC 2047 subject words that never split a character, base64 body lines,
 * addresses and masking; smtp.starttls = 1 against a server without
 * STARTTLS (tests/sims/smtp_sink.py) is refused, not sent in clear. Delivery
 * to a real SMTP server is tested through the worker in worker_messages_test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "queues/email.h"
#include "tests/unit/support/py_sim.h"

static const char *argv0;

static void
test_starttls_required(void **state)
{
    static const config_spec_t spec[] = {
        { "smtp.url", "", "" },      { "smtp.from", "no-reply@bcci.example.vn", "" }, { "smtp.starttls", "0", "" },
        { "smtp.username", "", "" }, { "smtp.password_file", "", "" },                { "smtp.timeout_ms", "5000", "" },
        { "carrier.ca_bundle", "", "" }, { NULL, NULL, NULL },
    };
    char script[4096], dir[256], err[256];
    const char *args[3];
    const char *tmp = getenv("TMPDIR");
    py_sim_t sink;
    config_t *cfg = config_new(spec);
    email_t *e;
    email_result_t r;
    json_t *payload;
    DIR *d;
    struct dirent *de;
    int files = 0;
    pid_t pid;

    (void)state;
    /* plain SMTP to another host is refused at start, with the way out */
    if (config_set(cfg, "smtp.url", "smtp://mail.example.vn:25", err, sizeof err) != 0)
        fail_msg("config: %s", err);
    e = email_new(cfg, err, sizeof err);
    if (e || !strstr(err, "smtp.starttls = 1"))
        fail_msg("plain SMTP to mail.example.vn: got %s '%s', want a refusal naming smtp.starttls",
                 e ? "a client" : "NULL", err);
    if (py_sim_script(argv0, "smtp_sink.py", script, sizeof script) != 0)
        fail_msg("tests/sims/smtp_sink.py not found: run the test from the source tree");
    snprintf(dir, sizeof dir, "%s/email_test.XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    if (!mkdtemp(dir))
        fail_msg("mkdtemp failed");
    args[0] = "--dir";
    args[1] = dir;
    args[2] = NULL;
    py_sim_start(&sink, script, args);
    if (config_set(cfg, "smtp.url", sink.url, err, sizeof err) != 0 ||
        config_set(cfg, "smtp.starttls", "1", err, sizeof err) != 0)
        fail_msg("config: %s", err);
    e = email_new(cfg, err, sizeof err);
    if (!e)
        fail_msg("email_new: %s", err);
    payload = json_pack("{s:s,s:s,s:s}", "to", "an@example.vn", "subject", "Thử", "body", "Nội dung");
    email_send(e, payload, &r);
    if (r.outcome != WIRE_FAIL || !strstr(r.message, "smtp.starttls"))
        fail_msg("STARTTLS required but not offered: got %s '%s', want a fail naming smtp.starttls",
                 wire_outcome_name(r.outcome), r.message);
    py_sim_stop(&sink);
    d = opendir(dir);
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            files++;
    if (d)
        closedir(d);
    if (files != 0)
        fail_msg("the sink received %d file(s): the message went out without TLS", files);
    json_decref(payload);
    email_destroy(&e);
    config_destroy(&cfg);
    pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

static void
test_build(void **state)
{
    const char *subject = "Phát kết quả hồ sơ 000.00.31.H23-231124-0001 không thành công";
    char err[256];
    const char *p, *line;
    buf_t b;

    (void)state;
    buf_init(&b, 1 << 20);
    assert_int_equal(email_build("no-reply@bcci.example.vn", "an@example.vn", subject, "Dòng 1\nDòng 2\n",
                                 "bcci.rid-1@bcci.example.vn", 1796137200LL, &b, err, sizeof err),
                     0);
    if (strncmp(b.data, "Date: Tue, 01 Dec 2026 15:00:00 +0000\r\nFrom: <no-reply@bcci.example.vn>\r\n"
                        "To: <an@example.vn>\r\nSubject: =?UTF-8?B?",
                strlen("Date: Tue, 01 Dec 2026 15:00:00 +0000\r\nFrom: <no-reply@bcci.example.vn>\r\n"
                       "To: <an@example.vn>\r\nSubject: =?UTF-8?B?")) != 0)
        fail_msg("got headers '%s'", b.data);
    if (!strstr(b.data, "\r\nMessage-ID: <bcci.rid-1@bcci.example.vn>\r\nMIME-Version: 1.0\r\n"
                        "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n"))
        fail_msg("got '%s', want the MIME headers", b.data);
    /* "Dòng 1\r\nDòng 2\r\n" in base64 */
    if (!strstr(b.data, "\r\n\r\nRMOybmcgMQ0KRMOybmcgMg0K\r\n"))
        fail_msg("got '%s', want the body with CRLF line ends in base64", b.data);
    /* every header line within 76 characters */
    for (line = b.data; (p = strstr(line, "\r\n")) && p != line; line = p + 2)
        if (p - line > 76)
            fail_msg("header line of %d characters: '%.*s'", (int)(p - line), (int)(p - line), line);
    buf_free(&b);
}

static void
test_build_refuses(void **state)
{
    static const struct {
        const char *why, *to, *subject, *body, *mid;
    } cases[] = {
        { "header injection in the subject", "an@example.vn", "x\r\nBcc: evil@example.com", "b", "m@x" },
        { "subject not UTF-8", "an@example.vn", "Kh\xF4ng", "b", "m@x" },
        { "body not UTF-8", "an@example.vn", "s", "\xC3", "m@x" },
        { "empty subject", "an@example.vn", "", "b", "m@x" },
        { "bad recipient", "an@example.vn>\r\nRCPT TO:<x@y.z", "s", "b", "m@x" },
        { "bad Message-ID", "an@example.vn", "s", "b", "m>@x" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        buf_t b;

        buf_init(&b, 1 << 20);
        if (email_build("no-reply@bcci.example.vn", cases[i].to, cases[i].subject, cases[i].body, cases[i].mid, 0, &b,
                        err, sizeof err) != -1 ||
            !err[0])
            fail_msg("%s: got success, want -1 with a reason", cases[i].why);
        buf_free(&b);
    }
}

static void
test_addresses(void **state)
{
    static const struct {
        const char *addr;
        int ok;
        const char *masked;
    } cases[] = {
        { "an.nguyen@example.vn", 1, "a\xE2\x80\xA6@example.vn" },
        { "x@mail.gov.vn", 1, "x\xE2\x80\xA6@mail.gov.vn" },
        { "no-at-sign", 0, "(not an address)" },
        { "@example.vn", 0, "(not an address)" },
        { "a@b", 0, "a\xE2\x80\xA6@b" },
        { "a b@example.vn", 0, "a\xE2\x80\xA6@example.vn" },
        { "a@@example.vn", 0, "a\xE2\x80\xA6@example.vn" },
        { "<a@example.vn>", 0, "<\xE2\x80\xA6@example.vn>" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char m[128];

        if (email_address_ok(cases[i].addr) != cases[i].ok)
            fail_msg("'%s': got ok %d, want %d", cases[i].addr, !cases[i].ok, cases[i].ok);
        email_mask_address(cases[i].addr, m, sizeof m);
        if (strcmp(m, cases[i].masked) != 0)
            fail_msg("'%s': got mask '%s', want '%s'", cases[i].addr, m, cases[i].masked);
    }
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_build_refuses),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_starttls_required),
    };
    int rc;

    (void)argc;
    argv0 = argv[0];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
