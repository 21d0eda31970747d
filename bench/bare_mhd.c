/*
 * bare_mhd - the HTTP ceiling: libmicrohttpd answering every request with a
 * tiny JSON body and doing no work at all
 *
 * Same daemon setup as bccid (internal polling thread pool, epoll,
 * keep-alive), so `loadgen` against this server measures what the HTTP
 * layer alone can do on this machine. The handler queues its answer on the
 * second call, after the request (and any upload) was read: answering on
 * the first call makes libmicrohttpd close the connection, which costs a
 * TCP handshake per request (measured about 5x slower).
 *
 * Prints `listening on http://HOST:PORT` on stdout once it accepts
 * connections; runs until SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"

static const char k_body[] = "{\"ok\":true}\n";

static const config_spec_t k_spec[] = {
    {"host", "127.0.0.1", "IPv4 address to listen on"},
    {"port", "0", "TCP port (0: pick a free one and print it)"},
    {"threads", "0", "thread pool size (0: number of online CPUs)"},
    {NULL, NULL, NULL},
};

static int s_first_call_marker;

/* answer - first call only marks the connection; the answer goes out once the
 * request and its upload have been read */
static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
       const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct MHD_Response *response = cls;

    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) {
        *con_cls = &s_first_call_marker;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0; /* discard the body */
        return MHD_YES;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, response);
}

int
main(int argc, char **argv)
{
    config_t *cfg = NULL;
    struct MHD_Response *response = NULL;
    struct MHD_Daemon *daemon = NULL;
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;
    sigset_t stop_signals;
    char err[256];
    long long port, threads;
    int rc = 1, sig = 0;

    cfg = config_new(k_spec);
    if (!cfg) {
        fprintf(stderr, "bare_mhd: out of memory\n");
        goto out;
    }
    switch (config_parse(cfg, argc, argv, 0, err, sizeof err)) {
    case CONFIG_OK:
        break;
    case CONFIG_HELP:
        config_print_help(cfg, "bare_mhd", "[--port N] [--threads N]");
        rc = 0;
        goto out;
    case CONFIG_VERSION:
        printf("bare_mhd %s\n", BCCI_VERSION);
        rc = 0;
        goto out;
    default:
        fprintf(stderr, "bare_mhd: %s\n", err);
        goto out;
    }
    port = config_get_int(cfg, "port", -1);
    threads = config_get_int(cfg, "threads", -1);
    if (port < 0 || port > 65535 || threads < 0 || threads > 1024) {
        fprintf(stderr, "bare_mhd: --port must be 0..65535 and --threads 0..1024\n");
        goto out;
    }
    if (threads == 0) {
        threads = sysconf(_SC_NPROCESSORS_ONLN);
        if (threads < 1)
            threads = 1;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, config_get(cfg, "host"), &addr.sin_addr) != 1) {
        fprintf(stderr, "bare_mhd: --host must be an IPv4 address, got '%s'\n", config_get(cfg, "host"));
        goto out;
    }

    /* Block the stop signals before MHD starts its threads, so that they all
     * inherit the mask and only sigwait below sees them. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    response = MHD_create_response_from_buffer(sizeof k_body - 1, (void *)k_body, MHD_RESPMEM_PERSISTENT);
    if (!response || MHD_add_response_header(response, "Content-Type", "application/json") != MHD_YES) {
        fprintf(stderr, "bare_mhd: cannot build the response\n");
        goto out;
    }
    daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                              answer, response, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                              MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads, MHD_OPTION_CONNECTION_LIMIT,
                              (unsigned int)10000, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
                              MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024, MHD_OPTION_END);
    if (!daemon) {
        fprintf(stderr, "bare_mhd: cannot listen on %s:%lld (port taken?)\n", config_get(cfg, "host"), port);
        goto out;
    }
    info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening on http://%s:%u\n", config_get(cfg, "host"), info ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);

    if (sigwait(&stop_signals, &sig) != 0)
        fprintf(stderr, "bare_mhd: sigwait failed, stopping\n");
    rc = 0;
out:
    if (daemon)
        MHD_stop_daemon(daemon);
    if (response)
        MHD_destroy_response(response);
    config_destroy(&cfg);
    return rc;
}
