/*
 * zap - the ZAP handler of bccid's jobs socket (see zap.h)
 */
#include "gateway/engine/zap.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"

#define ZAP_MAX_KEYS 1024

struct zap {
    void *sock;
    pthread_t thread;
    volatile int stop;
    unsigned char keys[ZAP_MAX_KEYS][32];
    int nkeys;
    long refused;
};

int
zap_parse_key_line(const char *line, unsigned char key[32])
{
    const char *p = line;
    size_t len;
    char z85[41];

    while (*p == ' ' || *p == '\t')
        p++;
    /* '#' only opens a comment at the start of a line: it is also a Z85 digit, so a key may hold one */
    if (*p == '#' || *p == '\0' || *p == '\r' || *p == '\n')
        return 0;
    len = strcspn(p, " \t\r\n");
    if (len != 40)
        return -1;
    memcpy(z85, p, 40);
    z85[40] = '\0';
    return zmq_z85_decode(key, z85) ? 1 : -1;
}

static int
load_keys(zap_t *self, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[256];
    int lineno = 0;

    if (!f) {
        snprintf(err, errlen, "cannot read the allowed worker keys %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        unsigned char key[32];
        int parsed;

        lineno++;
        parsed = zap_parse_key_line(line, key);
        if (parsed == 0)
            continue;
        if (parsed < 0 || self->nkeys == ZAP_MAX_KEYS) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno,
                     parsed < 0 ? "expected a 40-character Z85 CURVE public key (bcci keys gen)"
                                : "too many worker keys (at most 1024)");
            fclose(f);
            return -1;
        }
        memcpy(self->keys[self->nkeys++], key, 32);
    }
    fclose(f);
    return 0;
}

static int
recv_frame(void *sock, char *buf, size_t cap, size_t *len)
{
    int n = zmq_recv(sock, buf, cap, 0);

    if (n < 0)
        return -1;
    *len = (size_t)n > cap ? cap : (size_t)n;
    return 0;
}

static void *
zap_loop(void *arg)
{
    zap_t *self = arg;

    while (!self->stop) {
        zmq_pollitem_t item = { self->sock, 0, ZMQ_POLLIN, 0 };
        char version[16], request_id[256], domain[256], address[256], identity[256], mechanism[32], key[64];
        size_t vl, rl, dl, al, il, ml, kl = 0;
        const char *status = "400", *text = "unknown worker key";
        int more, i;
        size_t moresz = sizeof more;

        if (zmq_poll(&item, 1, 200) <= 0)
            continue;
        if (recv_frame(self->sock, version, sizeof version, &vl) || recv_frame(self->sock, request_id, sizeof request_id, &rl) ||
            recv_frame(self->sock, domain, sizeof domain, &dl) || recv_frame(self->sock, address, sizeof address, &al) ||
            recv_frame(self->sock, identity, sizeof identity, &il) ||
            recv_frame(self->sock, mechanism, sizeof mechanism, &ml))
            continue;
        zmq_getsockopt(self->sock, ZMQ_RCVMORE, &more, &moresz);
        if (more)
            recv_frame(self->sock, key, sizeof key, &kl);
        /* drain anything else of this request */
        zmq_getsockopt(self->sock, ZMQ_RCVMORE, &more, &moresz);
        while (more) {
            char junk[64];
            size_t jl;
            recv_frame(self->sock, junk, sizeof junk, &jl);
            zmq_getsockopt(self->sock, ZMQ_RCVMORE, &more, &moresz);
        }
        if (ml == 5 && memcmp(mechanism, "CURVE", 5) == 0 && kl == 32) {
            for (i = 0; i < self->nkeys; i++)
                if (memcmp(self->keys[i], key, 32) == 0) {
                    status = "200";
                    text = "OK";
                    break;
                }
        } else {
            text = "CURVE is required";
        }
        if (status[0] != '2') {
            self->refused++;
            log_warn("jobs socket: a worker was refused at the handshake (%s)", text);
        }
        zmq_send(self->sock, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(self->sock, request_id, rl, ZMQ_SNDMORE);
        zmq_send(self->sock, status, 3, ZMQ_SNDMORE);
        zmq_send(self->sock, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(self->sock, "", 0, ZMQ_SNDMORE);
        zmq_send(self->sock, "", 0, 0);
    }
    return NULL;
}

zap_t *
zap_start(void *zctx, const char *allowed_file, char *err, size_t errlen)
{
    zap_t *self = calloc(1, sizeof *self);
    int linger = 0;

    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (load_keys(self, allowed_file, err, errlen) != 0)
        goto fail;
    self->sock = zmq_socket(zctx, ZMQ_REP);
    zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (!self->sock || zmq_bind(self->sock, "inproc://zeromq.zap.01") != 0) {
        snprintf(err, errlen, "cannot start the ZAP handler: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (pthread_create(&self->thread, NULL, zap_loop, self) != 0) {
        snprintf(err, errlen, "cannot start the ZAP thread");
        goto fail;
    }
    log_info("jobs socket: CURVE on, %d worker keys allowed", self->nkeys);
    return self;
fail:
    if (self->sock)
        zmq_close(self->sock);
    free(self);
    return NULL;
}

void
zap_stop(zap_t **selfp)
{
    zap_t *self = *selfp;

    if (!self)
        return;
    self->stop = 1;
    pthread_join(self->thread, NULL);
    zmq_close(self->sock);
    free(self);
    *selfp = NULL;
}

long
zap_refused(const zap_t *self)
{
    return self->refused;
}
