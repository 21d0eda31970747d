/*
 * bcci-carrier-sim - a carrier API simulator (VNPost and Viettel Post dialects) for tests and demos
 *
 * Serves both carrier APIs over HTTP at once, each on its own paths
 * (/customer-partner/… and /v2/order/…), moves orders through statuses on an
 * accelerated clock, POSTs webhooks, injects faults on request, and counts
 * orders per saleOrderCode (GET /_sim/stats) so tests can prove nothing was
 * booked twice. Prints exactly one line on stdout once it listens:
 *   listening on http://127.0.0.1:PORT
 * SIGTERM or SIGINT stop it cleanly. Logs (stderr, JSON lines) carry counts
 * and codes only, never names, phones or addresses.
 */
#include <curl/curl.h>
#include <errno.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carriers/sim/sim.h"
#include "config.h"
#include "config_check.h"
#include "crypto.h"
#include "log.h"

#ifndef BCCI_VERSION
#define BCCI_VERSION "dev"
#endif

static const config_spec_t spec[] = {
    { "listen", "127.0.0.1:9090", "address:port to serve on; port 0 picks a free port and prints it" },
    { "webhook_url", "", "where to POST status events (JSON list); empty = no webhooks" },
    { "webhook_token", "", "if set, webhooks carry 'Authorization: Bearer <token>'" },
    { "webhook_secret", "", "if set, webhooks carry X-BCCI-Signature: t=..,v1=hex(HMAC-SHA256(secret, t.body))" },
    { "dialect", "all", "carrier dialects to serve: all, vnpost or viettel (each on its own paths)" },
    { "viettel_token", "demo-viettel-token", "accepted Viettel Post 'Token' header value" },
    { "viettel_webhook_url", "", "where to POST Viettel Post status events ({\"DATA\": …}, one per POST); "
                                 "empty = none" },
    { "clock_speed", "60", "simulated seconds per real second" },
    { "step_seconds", "600", "simulated seconds between two status steps of an order" },
    { "faults", "", "e.g. http500=0.3,timeout=0.1,http429=0.1,malformed=0.1,slow=0.1,dup_webhook=0.2,"
                    "reorder_webhook=0.2" },
    { "username", "demo", "accepted API username" },
    { "password", "demo", "accepted API password" },
    { "customer_code", "BCCI", "accepted customer code" },
    { "seed", "", "random seed for fault injection (empty = random)" },
    { "log_level", "info", "debug, info, warn or error" },
    { NULL, NULL, NULL },
};

/* every value the simulator reads, with what it may hold (faults are checked by sim_faults_parse) */
static const config_rule_t sim_rules[] = {
    { "listen", CHECK_HOSTPORT, 0, 0, 0, NULL },
    { "webhook_url", CHECK_URL, 1, 0, 0, NULL },
    { "viettel_webhook_url", CHECK_URL, 1, 0, 0, NULL },
    { "dialect", CHECK_ENUM, 0, 0, 0, "all,vnpost,viettel" },
    { "clock_speed", CHECK_NUMBER, 0, 0, 1000000, NULL },
    { "step_seconds", CHECK_NUMBER, 0, 0, 86400 * 30, NULL },
    { "seed", CHECK_INT, 1, 0, 9223372036854775807LL, NULL },
    { "log_level", CHECK_LOG_LEVEL, 0, 0, 0, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static int
parse_listen(const char *listen, char *host, size_t hostlen, unsigned *port, char *err, size_t errlen)
{
    const char *colon = strrchr(listen, ':');
    char *end;
    unsigned long p;

    if (!colon || colon == listen || (size_t)(colon - listen) >= hostlen) {
        snprintf(err, errlen, "listen '%s' must be host:port, e.g. 127.0.0.1:9090", listen);
        return -1;
    }
    errno = 0;
    p = strtoul(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p > 65535) {
        snprintf(err, errlen, "listen '%s': the port must be a number from 0 to 65535", listen);
        return -1;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    *port = (unsigned)p;
    return 0;
}

static void *
ticker_thread(void *arg)
{
    sim_t *s = arg;

    while (!s->stopping) {
        struct timespec ts = { 0, 20 * 1000000L };

        sim_tick(s);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    config_t *cfg = NULL;
    sim_t sim;
    sim_faults_t faults;
    struct MHD_Daemon *d = NULL;
    pthread_t ticker, webhook;
    int have_ticker = 0, have_webhook = 0, have_sim = 0, rc = 1, sig = 0;
    char err[512], host[128];
    unsigned port = 0, bound = 0;
    uint64_t seed = 0;
    unsigned dialects = 0;
    const char *v, *lvl;
    log_level_t level;
    sigset_t set;

    log_init("bcci-carrier-sim");
    cfg = config_new(spec);
    if (!cfg) {
        fprintf(stderr, "bcci-carrier-sim: out of memory\n");
        return 1;
    }
    switch (config_parse(cfg, argc, argv, 0, err, sizeof err)) {
    case CONFIG_HELP:
        config_print_help(cfg, "bcci-carrier-sim", "[-c FILE] [--key value ...]");
        config_destroy(&cfg);
        return 0;
    case CONFIG_VERSION:
        printf("bcci-carrier-sim %s\n", BCCI_VERSION);
        config_destroy(&cfg);
        return 0;
    case CONFIG_OK:
        break;
    default:
        fprintf(stderr, "bcci-carrier-sim: %s\n", err);
        config_destroy(&cfg);
        return 2;
    }
    if (config_check(cfg, sim_rules, err, sizeof err) != 0) {
        fprintf(stderr, "bcci-carrier-sim: %s\n", err);
        config_destroy(&cfg);
        return 2;
    }
    lvl = config_get(cfg, "log_level");
    if (log_level_parse(lvl, &level) == 0)
        log_set_level(level);
    v = config_get(cfg, "dialect");
    if (strcmp(v, "all") == 0) {
        dialects = SIM_DIALECT_VNPOST | SIM_DIALECT_VIETTEL;
    } else if (strcmp(v, "vnpost") == 0) {
        dialects = SIM_DIALECT_VNPOST;
    } else if (strcmp(v, "viettel") == 0) {
        dialects = SIM_DIALECT_VIETTEL;
    } else {
        fprintf(stderr, "bcci-carrier-sim: dialect '%s' is not supported (known: all, vnpost, viettel)\n", v);
        goto out;
    }
    if (parse_listen(config_get(cfg, "listen"), host, sizeof host, &port, err, sizeof err) != 0 ||
        sim_faults_parse(config_get(cfg, "faults"), &faults, err, sizeof err) != 0) {
        fprintf(stderr, "bcci-carrier-sim: %s\n", err);
        rc = 2;
        goto out;
    }
    v = config_get(cfg, "seed");
    if (v && *v) {
        char *end;

        errno = 0;
        seed = strtoull(v, &end, 10);
        if (errno || *end) {
            fprintf(stderr, "bcci-carrier-sim: seed '%s' must be a non-negative integer\n", v);
            goto out;
        }
    } else if (random_bytes(&seed, sizeof seed) != 0) {
        seed = (uint64_t)time(NULL);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "bcci-carrier-sim: libcurl failed to initialise\n");
        goto out;
    }
    if (sim_init(&sim, config_get(cfg, "username"), config_get(cfg, "password"), config_get(cfg, "customer_code"),
                 config_get(cfg, "webhook_url"), config_get(cfg, "webhook_token"), config_get(cfg, "webhook_secret"),
                 config_get_double(cfg, "clock_speed", -1), config_get_double(cfg, "step_seconds", -1), &faults,
                 seed, err, sizeof err) != 0) {
        fprintf(stderr, "bcci-carrier-sim: %s\n", err);
        rc = 2; /* a value out of range */
        goto out_curl;
    }
    have_sim = 1;
    sim.dialects = dialects;
    if (sim_set_viettel(&sim, config_get(cfg, "viettel_token"), config_get(cfg, "viettel_webhook_url"), err,
                        sizeof err) != 0) {
        fprintf(stderr, "bcci-carrier-sim: %s\n", err);
        goto out_sim;
    }

    /* Signals are taken synchronously by sigwait below; every thread inherits the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    d = sim_http_start(&sim, host, port, &bound, err, sizeof err);
    if (!d) {
        fprintf(stderr, "bcci-carrier-sim: %s\n", err);
        goto out_sim;
    }
    if (pthread_create(&ticker, NULL, ticker_thread, &sim) != 0) {
        fprintf(stderr, "bcci-carrier-sim: cannot start the clock thread\n");
        goto out_stop;
    }
    have_ticker = 1;
    if (sim.webhook_url[0] || sim.viettel_webhook_url[0]) {
        if (pthread_create(&webhook, NULL, sim_webhook_thread, &sim) != 0) {
            fprintf(stderr, "bcci-carrier-sim: cannot start the webhook thread\n");
            goto out_stop;
        }
        have_webhook = 1;
    }
    log_info("started: port %u, dialects %s, clock_speed %.1f, step %lld ms simulated, webhooks vnpost %s, viettel %s",
             bound, config_get(cfg, "dialect"), sim.clock_speed, (long long)sim.step_ms,
             sim.webhook_url[0] ? "on" : "off", sim.viettel_webhook_url[0] ? "on" : "off");
    printf("listening on http://%s:%u\n", host, bound);
    fflush(stdout);

    if (sigwait(&set, &sig) == 0)
        log_info("signal %d: stopping", sig);
    rc = 0;
out_stop:
    pthread_mutex_lock(&sim.mu);
    sim.stopping = 1;
    pthread_cond_broadcast(&sim.cond);
    pthread_mutex_unlock(&sim.mu);
    MHD_stop_daemon(d);
    if (have_ticker)
        pthread_join(ticker, NULL);
    if (have_webhook)
        pthread_join(webhook, NULL);
    log_info("stopped: %zu orders", sim.norders);
out_sim:
    if (have_sim)
        sim_destroy(&sim);
out_curl:
    curl_global_cleanup();
out:
    config_destroy(&cfg);
    return rc;
}
