/*
 * peers - the workers connected to the engine's ROUTER socket
 *
 * A worker is known by its ZeroMQ routing id from its first READY on: the
 * carriers it serves, the jobs it takes at once (credit) and the jobs it holds
 * (inflight). A worker silent for WIRE_HEARTBEAT_LIVENESS heartbeats is dead
 * (Paranoid Pirate); the engine then puts its jobs back and removes it. The
 * table is plain memory owned by the engine, used by its thread only.
 */
#ifndef BCCI_PEERS_H
#define BCCI_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "queues/wire.h"

#define PEERS_MAX 256

typedef struct {
    unsigned char id[256];
    size_t idlen;
    char idhex[80];     /* the routing id in hex: the worker's name in the job table's leases */
    char name[64];      /* what it calls itself, for logs */
    char carriers[256]; /* "vnpost,viettel" */
    int credit;
    int inflight;
    int64_t last_seen;
    int64_t last_hb_sent;
} peer_t;

typedef struct {
    peer_t w[PEERS_MAX];
    int n;
} peers_t;

/* peers_find - index of the worker with routing id, or -1 */
int peers_find(const peers_t *self, const unsigned char *id, size_t idlen);
/* peers_ready - record a READY from id: the index of the (new or known) worker, or -1 when full */
int peers_ready(peers_t *self, const unsigned char *id, size_t idlen, const wire_msg_t *m, int64_t now);
/* peers_remove - forget worker i (the last one takes its index) */
void peers_remove(peers_t *self, int i);
/* peers_silent - index of a worker not heard from for the liveness period, or -1 */
int peers_silent(const peers_t *self, int64_t now);
/* peers_inflight - jobs held by every worker together */
int peers_inflight(const peers_t *self);
/* peers_heartbeat - send a heartbeat to each worker not sent one for WIRE_HEARTBEAT_MS */
void peers_heartbeat(peers_t *self, void *router, int64_t now);

#endif
