/*
 * rogue_zmq - a hostile jobs client, for the integration tests of the jobs link (tests/integration)
 *
 * SYNOPSIS
 *   rogue_zmq [--blind] ENDPOINT SECONDS [SERVER_PUBLIC_KEY CLIENT_SECRET_KEY]
 *
 * DESCRIPTION
 *   Connects a ZeroMQ DEALER to bccid's jobs endpoint as someone who is not a
 *   worker would: without CURVE keys, or with the server's public key and a
 *   client key bccid does not list (both Z85, 40 characters). It announces
 *   itself with READY like a worker, and for SECONDS seconds
 *     - with --blind, sends forged RESULTs (outcome ok, carrier_ref FORGED-BY-ROGUE)
 *       for job ids 1..20 with small lease numbers at once, as an attacker who
 *       cannot read the link would;
 *     - answers every JOB it does receive with a forged RESULT carrying the
 *       job's own lease, as an attacker who can read the link would.
 *   Then it prints one JSON line on stdout:
 *     {"messages": N, "jobs": J, "forged": F}
 *   (messages and jobs received; RESULTs sent) and exits 0. Exit 2 on bad
 *   arguments, 1 when the socket cannot be set up.
 *
 *   Not a program of the product: it is built beside the tests (build/…/tests/)
 *   and never installed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "queues/wire.h"

#define BLIND_JOBS 20
#define BLIND_LEASES 5

static int
send_forged(void *sock, int64_t job_id, int64_t lease)
{
    wire_msg_t m;
    int rc;

    wire_msg_init(&m);
    m.cmd = WIRE_RESULT;
    m.job_id = job_id;
    m.lease = lease;
    m.outcome = WIRE_OK;
    snprintf(m.message, sizeof m.message, "booked");
    m.data = json_pack("{s:s, s:i, s:b}", "carrier_ref", "FORGED-BY-ROGUE", "fee", 0, "already_existed", 0);
    rc = wire_send(sock, NULL, 0, &m);
    wire_msg_clear(&m);
    return rc == 0 ? 1 : 0;
}

static int
send_simple(void *sock, wire_cmd_t cmd)
{
    wire_msg_t m;
    int rc;

    wire_msg_init(&m);
    m.cmd = cmd;
    if (cmd == WIRE_READY) {
        snprintf(m.worker, sizeof m.worker, "rogue");
        snprintf(m.carriers, sizeof m.carriers, "vnpost,viettel");
        m.credit = 8;
    }
    rc = wire_send(sock, NULL, 0, &m);
    wire_msg_clear(&m);
    return rc;
}

int
main(int argc, char **argv)
{
    void *ctx, *sock;
    int linger = 0, timeout = 200, seconds, messages = 0, jobs = 0, forged = 0;
    int64_t end, next_hb = 0, id, lease;
    int blind = 0;
    char err[256];

    if (argc > 1 && strcmp(argv[1], "--blind") == 0) {
        blind = 1;
        argv++;
        argc--;
    }
    if (argc != 3 && argc != 5) {
        fprintf(stderr, "usage: rogue_zmq [--blind] ENDPOINT SECONDS [SERVER_PUBLIC_KEY CLIENT_SECRET_KEY]\n");
        return 2;
    }
    seconds = atoi(argv[2]);
    if (seconds < 1 || seconds > 600) {
        fprintf(stderr, "rogue_zmq: SECONDS must be 1..600\n");
        return 2;
    }
    ctx = zmq_ctx_new();
    sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    if (!sock) {
        fprintf(stderr, "rogue_zmq: zmq_socket: %s\n", zmq_strerror(errno));
        return 1;
    }
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    if (argc == 5) {
        char public_key[41];

        if (strlen(argv[3]) != 40 || strlen(argv[4]) != 40 || zmq_curve_public(public_key, argv[4]) != 0) {
            fprintf(stderr, "rogue_zmq: keys must be Z85, 40 characters\n");
            return 2;
        }
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, argv[3], 40) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public_key, 40) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, argv[4], 40) != 0) {
            fprintf(stderr, "rogue_zmq: CURVE options: %s\n", zmq_strerror(errno));
            return 1;
        }
    }
    if (zmq_connect(sock, argv[1]) != 0) {
        fprintf(stderr, "rogue_zmq: connect %s: %s\n", argv[1], zmq_strerror(errno));
        return 1;
    }
    /* a DEALER queues what it sends until a peer takes it: nothing below blocks for long */
    send_simple(sock, WIRE_READY);
    for (id = 1; blind && id <= BLIND_JOBS; id++)
        for (lease = 1; lease <= BLIND_LEASES; lease++)
            forged += send_forged(sock, id, lease);
    end = clock_mono_ms() + (int64_t)seconds * 1000;
    while (clock_mono_ms() < end) {
        zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
        wire_msg_t m;
        int r;

        if (clock_mono_ms() >= next_hb) {
            send_simple(sock, WIRE_HEARTBEAT);
            next_hb = clock_mono_ms() + WIRE_HEARTBEAT_MS;
        }
        if (zmq_poll(&item, 1, 200) <= 0)
            continue;
        wire_msg_init(&m);
        r = wire_recv(sock, 0, NULL, NULL, &m, err, sizeof err);
        if (r == 0) {
            messages++;
            if (m.cmd == WIRE_JOB) {
                jobs++;
                forged += send_forged(sock, m.job_id, m.lease);
            }
        } else if (r < 0) {
            messages++;
        }
        wire_msg_clear(&m);
    }
    printf("{\"messages\": %d, \"jobs\": %d, \"forged\": %d}\n", messages, jobs, forged);
    fflush(stdout);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return 0;
}
