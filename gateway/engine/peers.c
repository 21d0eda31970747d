/*
 * peers - the workers connected to the engine (see peers.h)
 */
#include "gateway/engine/peers.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "log.h"

int
peers_find(const peers_t *self, const unsigned char *id, size_t idlen)
{
    int i;

    for (i = 0; i < self->n; i++)
        if (self->w[i].idlen == idlen && memcmp(self->w[i].id, id, idlen) == 0)
            return i;
    return -1;
}

int
peers_ready(peers_t *self, const unsigned char *id, size_t idlen, const wire_msg_t *m, int64_t now)
{
    int i = peers_find(self, id, idlen);
    peer_t *p;

    if (i < 0) {
        if (self->n == PEERS_MAX || idlen > sizeof self->w[0].id)
            return -1;
        i = self->n++;
        p = &self->w[i];
        memset(p, 0, sizeof *p);
        memcpy(p->id, id, idlen);
        p->idlen = idlen;
        hex_encode(id, idlen > 39 ? 39 : idlen, p->idhex);
    }
    p = &self->w[i];
    snprintf(p->name, sizeof p->name, "%s", m->worker);
    snprintf(p->carriers, sizeof p->carriers, "%s", m->carriers);
    p->credit = m->credit;
    p->last_seen = now;
    return i;
}

void
peers_remove(peers_t *self, int i)
{
    self->w[i] = self->w[--self->n];
}

int
peers_silent(const peers_t *self, int64_t now)
{
    int i;

    for (i = self->n - 1; i >= 0; i--)
        if (now - self->w[i].last_seen > (int64_t)WIRE_HEARTBEAT_MS * WIRE_HEARTBEAT_LIVENESS)
            return i;
    return -1;
}

int
peers_inflight(const peers_t *self)
{
    int i, n = 0;

    for (i = 0; i < self->n; i++)
        n += self->w[i].inflight;
    return n;
}

void
peers_heartbeat(peers_t *self, void *router, int64_t now)
{
    int i;

    for (i = 0; i < self->n; i++) {
        peer_t *p = &self->w[i];
        wire_msg_t m;

        if (now - p->last_hb_sent < WIRE_HEARTBEAT_MS)
            continue;
        wire_msg_init(&m);
        m.cmd = WIRE_HEARTBEAT;
        wire_send(router, p->id, p->idlen, &m);
        p->last_hb_sent = now;
    }
}
