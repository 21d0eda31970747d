/*
 * py_sim - the Python test servers of tests/sims/ as child processes (see py_sim.h)
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
#include "tests/unit/support/py_sim.h"

extern char **environ;

int
py_sim_script(const char *argv0, const char *name, char *out, size_t outlen)
{
    char copy[4096];

    snprintf(out, outlen, "tests/sims/%s", name);
    if (access(out, R_OK) == 0)
        return 0;
    /* <src>/build/<mode>/tests/<name>_test → <src>/tests/sims/NAME */
    snprintf(copy, sizeof copy, "%s", argv0 ? argv0 : ".");
    snprintf(out, outlen, "%s/../../../tests/sims/%s", dirname(copy), name);
    return access(out, R_OK) == 0 ? 0 : -1;
}

/* spawn_python - python3 script args… with stdout on a pipe; the read end, or -1 */
static int
spawn_python(pid_t *pid, const char *script, const char *const *args)
{
    char *argv[40];
    int fds[2], n = 0, i, devnull;
    posix_spawn_file_actions_t fa;

    argv[n++] = "python3";
    argv[n++] = "-u";
    argv[n++] = (char *)script;
    for (i = 0; args && args[i] && n < 38; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    if (pipe(fds) != 0)
        return -1;
    devnull = open("/dev/null", O_RDONLY);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    if (devnull >= 0)
        posix_spawn_file_actions_adddup2(&fa, devnull, 0);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    if (posix_spawnp(pid, "python3", &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        close(fds[0]);
        close(fds[1]);
        if (devnull >= 0)
            close(devnull);
        *pid = 0;
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (devnull >= 0)
        close(devnull);
    return fds[0];
}

/* read_line - one line from fd within ms; its length (0 at EOF or timeout) */
static size_t
read_line(int fd, char *line, size_t cap, int64_t ms)
{
    int64_t deadline = clock_mono_ms() + ms;
    size_t len = 0;

    while (len < cap - 1) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        int64_t left = deadline - clock_mono_ms();

        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        if (read(fd, line + len, 1) <= 0)
            break;
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    return len;
}

void
py_sim_start(py_sim_t *p, const char *script, const char *const *args)
{
    char line[256];
    int fd, st = 0;
    const char *colon;

    memset(p, 0, sizeof *p);
    fd = spawn_python(&p->pid, script, args);
    if (fd < 0) {
        fprintf(stderr, "SKIPPED: cannot run python3 %s: %s\n", script, strerror(errno));
        skip();
    }
    read_line(fd, line, sizeof line, 30000);
    close(fd);
    if (strncmp(line, "listening on ", 13) != 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &st, 0);
        p->pid = 0;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 3) {
            fprintf(stderr, "SKIPPED: %s needs a Python module that is missing (see its stderr)\n", script);
            skip();
        }
        fail_msg("%s printed '%s', want 'listening on URL' within 30 s", script, line);
    }
    snprintf(p->url, sizeof p->url, "%s", line + 13);
    colon = strrchr(p->url, ':');
    p->port = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
}

int
py_sim_stop(py_sim_t *p)
{
    int64_t deadline = clock_mono_ms() + 10000;
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

json_t *
py_decode_eml(const char *argv0, const char *path)
{
    char script[4096], out[65536];
    const char *args[2] = { path, NULL };
    size_t len = 0;
    pid_t pid;
    int fd, st = 0;
    int64_t deadline = clock_mono_ms() + 30000;
    json_t *j;
    json_error_t jerr;

    if (py_sim_script(argv0, "eml_decode.py", script, sizeof script) != 0)
        fail_msg("tests/sims/eml_decode.py not found (run the test from the source tree)");
    fd = spawn_python(&pid, script, args);
    if (fd < 0)
        fail_msg("cannot run python3 %s", script);
    while (len < sizeof out - 1) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        int64_t left = deadline - clock_mono_ms();
        ssize_t r;

        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        r = read(fd, out + len, sizeof out - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    out[len] = '\0';
    close(fd);
    waitpid(pid, &st, 0);
    j = json_loads(out, 0, &jerr);
    if (!j)
        fail_msg("eml_decode.py %s printed '%s', want JSON (exit 0x%x)", path, out, st);
    return j;
}

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    return buf_append(userdata, ptr, size * nmemb) == BUF_OK ? size * nmemb : 0;
}

json_t *
py_http_json(const char *url, const char *body, long *status)
{
    CURL *c = curl_easy_init();
    buf_t b;
    json_t *j = NULL;
    json_error_t jerr;

    buf_init(&b, 1 << 24);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (curl_easy_perform(c) != CURLE_OK)
        fail_msg("%s %s failed", body ? "POST" : "GET", url);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (b.len)
        j = json_loadb(b.data, b.len, 0, &jerr);
    curl_easy_cleanup(c);
    buf_free(&b);
    return j;
}
