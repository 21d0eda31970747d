/*
 * sim_process - the carrier simulator as a child process of a test (see sim_process.h)
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
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "tests/unit/support/sim_process.h"

extern char **environ;

static char sim_path[4096];

int
sim_proc_find(const char *argv0)
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
    /* <build>/tests/<name>_test → <build>/bin/bcci-carrier-sim */
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

void
sim_proc_prepare(const char *argv0, const char *test_name)
{
    signal(SIGPIPE, SIG_IGN);
    if (!sim_proc_find(argv0))
        fprintf(stderr, "%s: SKIPPED: bcci-carrier-sim not found (set BCCI_BIN or run `make build-progs` first)\n",
                test_name);
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
sim_proc_found(void)
{
    return sim_path[0] != '\0';
}

void
sim_proc_start(sim_proc_t *p, const char *const *extra)
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

int
sim_proc_stop(sim_proc_t *p)
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

/* ---- plain HTTP to the simulator's control endpoints ---------------------- */

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    return buf_append(userdata, ptr, size * nmemb) == BUF_OK ? size * nmemb : 0;
}

json_t *
sim_http_json(const sim_proc_t *p, const char *method, const char *path, const char *body, long *status)
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

json_t *
sim_stats(const sim_proc_t *p)
{
    long st = 0;
    json_t *j = sim_http_json(p, "GET", "/_sim/stats", NULL, &st);

    if (st != 200 || !j)
        fail_msg("GET /_sim/stats: HTTP %ld, want 200 with JSON", st);
    return j;
}

long long
sim_stat_int(const json_t *root, const char *a, const char *b, const char *c)
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

void
sim_set_faults(const sim_proc_t *p, const char *spec)
{
    long st = 0;
    json_t *j = sim_http_json(p, "POST", "/_sim/faults", spec, &st);

    json_decref(j);
    if (st != 200)
        fail_msg("POST /_sim/faults '%s': HTTP %ld, want 200", spec, st);
}
