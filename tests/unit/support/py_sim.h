/*
 * py_sim - run one of the Python test servers of tests/sims/ (the SMS
 * provider stand-in, the SMTP sink) as a child process of a unit test
 *
 * py_sim_start runs `python3 tests/sims/SCRIPT ARGS…` from the source tree
 * (the working directory, or three levels above the test binary), reads its
 * "listening on URL" line within 30 s and keeps the URL; py_sim_stop sends
 * SIGTERM and waits (SIGKILL after 10 s). py_decode_eml runs
 * tests/sims/eml_decode.py, Python's own e-mail parser, on a message file.
 *
 * For cmocka tests: failures end the test with fail_msg; when python3 or the
 * script's module is missing the test is skipped, saying why on stderr.
 * JSON returned is owned by the caller (json_decref).
 */
#ifndef BCCI_TEST_PY_SIM_H
#define BCCI_TEST_PY_SIM_H

#include <jansson.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;       /* 0 when not running */
    char url[128];   /* what followed "listening on " */
    unsigned port;
} py_sim_t;

/* py_sim_script - the path of tests/sims/NAME into out; 0, or -1 when not found */
int py_sim_script(const char *argv0, const char *name, char *out, size_t outlen);

/* py_sim_start - start script (a path from py_sim_script) with extra
 * NULL-terminated args (may be NULL); skips when it exits 3 (a module is missing) */
void py_sim_start(py_sim_t *p, const char *script, const char *const *args);

/* py_sim_stop - SIGTERM, bounded wait; 0 when it was not running */
int py_sim_stop(py_sim_t *p);

/* py_decode_eml - {from, to, subject, message_id, date, content_type, charset, body} of the
 * message in path, decoded by Python's email package (fails the test when it cannot) */
json_t *py_decode_eml(const char *argv0, const char *path);

/* py_http_json - GET (body NULL) or POST body to url; parsed answer or NULL; *status the HTTP status */
json_t *py_http_json(const char *url, const char *body, long *status);

#endif
