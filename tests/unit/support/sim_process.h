/*
 * sim_process - run bcci-carrier-sim as a child process for a unit test, and
 * talk to its /_sim control endpoints
 *
 * sim_proc_find locates the binary: $BCCI_BIN/bcci-carrier-sim when BCCI_BIN
 * is set, else the bin/ directory beside the test's build directory, else
 * build/san/bin or build/rel/bin. sim_proc_start runs it on 127.0.0.1 port 0
 * and reads its "listening on" line; sim_proc_stop sends SIGTERM and waits.
 *
 * These helpers are for cmocka tests: they end the current test with
 * fail_msg (or skip() when the binary was not found) instead of returning
 * errors. JSON they return is owned by the caller (json_decref).
 */
#ifndef BCCI_TEST_SIM_PROCESS_H
#define BCCI_TEST_SIM_PROCESS_H

#include <jansson.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;     /* 0 when not running */
    unsigned port;
    char url[64];  /* http://127.0.0.1:PORT */
} sim_proc_t;

/* sim_proc_find - locate the simulator (see above); 1 when found, 0 when not */
int sim_proc_find(const char *argv0);
/* sim_proc_prepare - what a simulator test's main does first: ignore SIGPIPE,
 * find the simulator (saying on stderr that test_name's tests will be skipped
 * when it is missing) and initialise libcurl */
void sim_proc_prepare(const char *argv0, const char *test_name);
/* sim_proc_found - 1 when sim_proc_find found the binary */
int sim_proc_found(void);

/* sim_proc_start - start the simulator with extra "--key value" args
 * (NULL-terminated, may be NULL) after --listen, --log_level warn, --seed 7;
 * skips the test when the binary is missing, fails it when it does not start */
void sim_proc_start(sim_proc_t *p, const char *const *extra);

/* sim_proc_stop - SIGTERM, bounded wait, SIGKILL if needed; the exit status, or
 * -1 when killed; 0 when it was not running */
int sim_proc_stop(sim_proc_t *p);

/* sim_http_json - method ("GET" or "POST" with body) to the simulator's path;
 * *status gets the HTTP status; the parsed body or NULL. Fails the test when
 * the request cannot be made. */
json_t *sim_http_json(const sim_proc_t *p, const char *method, const char *path, const char *body, long *status);

/* sim_stats - GET /_sim/stats (fails the test unless 200 with JSON) */
json_t *sim_stats(const sim_proc_t *p);

/* sim_stat_int - root.a[.b[.c]] as an integer (fails the test when it is not one) */
long long sim_stat_int(const json_t *root, const char *a, const char *b, const char *c);

/* sim_set_faults - POST /_sim/faults with spec (fails the test unless 200) */
void sim_set_faults(const sim_proc_t *p, const char *spec);

#endif
