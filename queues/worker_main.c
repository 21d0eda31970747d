/*
 * bcci-worker - runs bccid's jobs (book, cancel, track, return, notify, sms, email)
 *
 * SYNOPSIS
 *   bcci-worker [-c FILE] [--connect ENDPOINT[,ENDPOINT]...] [--carriers vnpost] [--concurrency 8] [--KEY VALUE]...
 *
 * DESCRIPTION
 *   Connects to the jobs endpoint of each bccid instance listed, announces itself and runs jobs until
 *   SIGTERM or SIGINT; then it sends BYE, lets running jobs finish (at most
 *   shutdown_grace_ms), sends their results and exits 0. See queues/worker.h.
 *
 * DIAGNOSTICS
 *   JSON lines on stderr. Exit 2 on bad options or an unreadable secret,
 *   1 when the socket cannot be set up.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_check.h"
#include "log.h"
#include "queues/worker.h"

#ifndef BCCI_VERSION
#define BCCI_VERSION "dev"
#endif

static worker_t *the_worker;

/* every value the worker reads, with what it may hold: checked before anything starts */
static const config_rule_t worker_rules[] = {
    { "concurrency", CHECK_INT, 0, 1, 256, NULL }, /* WORKER_MAX_CONCURRENCY in worker.c */
    { "shutdown_grace_ms", CHECK_INT, 0, 0, 3600000, NULL },
    { "carrier.vnpost.url", CHECK_URL, 0, 0, 0, NULL },
    { "carrier.viettel.url", CHECK_URL, 1, 0, 0, NULL },
    { "carrier.timeout_ms", CHECK_INT, 0, 1, 600000, NULL },
    { "carrier.allow_insecure", CHECK_BOOL, 0, 0, 0, NULL },
    { "case_system.timeout_ms", CHECK_INT, 0, 1, 600000, NULL },
    { "log_level", CHECK_LOG_LEVEL, 0, 0, 0, NULL },
    { "insecure_plaintext_jobs", CHECK_BOOL, 0, 0, 0, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

/* check_options - values in range, and jobs over TCP only encrypted (design §8) unless
 * the operator opted out in so many words; warnings are logged at every start */
static int
check_options(const config_t *cfg, char *err, size_t errlen)
{
    const char *server_key = config_get(cfg, "curve_server_key");
    const char *secret = config_get(cfg, "case_system.secret_file");
    char endpoints[WORKER_MAX_LINKS][WORKER_ENDPOINT_MAX];
    int n, i;

    if (config_check(cfg, worker_rules, err, errlen) != 0 ||
        worker_endpoints_parse(config_get(cfg, "connect"), endpoints, &n, err, errlen) != 0)
        return -1;
    for (i = 0; i < n; i++) {
        const char *endpoint = endpoints[i];

        if (strncmp(endpoint, "ipc://", 6) == 0 || (server_key && *server_key))
            continue;
        if (!config_bool(cfg, "insecure_plaintext_jobs")) {
            snprintf(err, errlen,
                     "connect: '%.100s' crosses the network but the link is not encrypted: set curve_server_key "
                     "(bccid's public key) and curve_secret_file (bcci keys gen), use ipc://, or set "
                     "insecure_plaintext_jobs = yes on a network you trust",
                     endpoint);
            return -1;
        }
        log_warn("insecure_plaintext_jobs = yes: jobs from %s travel in clear text and bccid is not "
                 "authenticated",
                 endpoint);
    }
    if (!secret || !*secret)
        log_warn("case_system.secret_file is not set: this worker refuses notify jobs (case-system "
                 "notifications are never sent unsigned)");
    return 0;
}

static void
on_signal(int sig)
{
    (void)sig;
    if (the_worker)
        worker_request_stop(the_worker);
}

int
main(int argc, char **argv)
{
    config_t *cfg = NULL;
    worker_t *w = NULL;
    struct sigaction sa;
    char err[512];
    int rc = 2, r;

    log_init("bcci-worker");
    cfg = config_new(worker_config_spec);
    if (!cfg) {
        fprintf(stderr, "bcci-worker: out of memory\n");
        return 2;
    }
    r = config_parse(cfg, argc, argv, 0, err, sizeof err);
    if (r == CONFIG_HELP) {
        config_print_help(cfg, "bcci-worker", "[-c FILE] [--key value]...");
        rc = 0;
        goto out;
    }
    if (r == CONFIG_VERSION) {
        printf("bcci-worker %s\n", BCCI_VERSION);
        rc = 0;
        goto out;
    }
    if (r != CONFIG_OK) {
        fprintf(stderr, "bcci-worker: %s\n", err);
        goto out;
    }
    if (check_options(cfg, err, sizeof err) != 0) {
        fprintf(stderr, "bcci-worker: %s\n", err);
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "bcci-worker: curl_global_init failed\n");
        rc = 1;
        goto out;
    }
    w = worker_new(cfg, err, sizeof err);
    if (!w) {
        fprintf(stderr, "bcci-worker: %s\n", err);
        goto out_curl;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    the_worker = w;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    if (worker_run(w, err, sizeof err) != 0) {
        fprintf(stderr, "bcci-worker: %s\n", err);
        log_error("stopped: %s", err);
        rc = 1;
    } else {
        log_info("stopped cleanly");
        rc = 0;
    }
    sa.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    the_worker = NULL;
    worker_destroy(&w);
out_curl:
    curl_global_cleanup();
out:
    config_destroy(&cfg);
    return rc;
}
