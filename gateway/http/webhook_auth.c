/*
 * webhook_auth - carrier webhook signatures and allow-lists (see webhook_auth.h)
 */
#include "gateway/http/webhook_auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

#define WEBHOOK_MAX_CARRIERS 8
#define WEBHOOK_REPLAY_SLOTS 4096

typedef struct {
    char name[32];
    uint8_t secret[128];
    size_t secretlen;
    char allow[512];
} carrier_auth_t;

struct webhook_auth {
    pthread_mutex_t lock;
    carrier_auth_t carriers[WEBHOOK_MAX_CARRIERS];
    int n;
    struct {
        int64_t t;
        uint8_t mac[SHA256_LEN];
    } seen[WEBHOOK_REPLAY_SLOTS]; /* a ring: the window is short, the ring is large */
    int next;
};

webhook_auth_t *
webhook_auth_new(void)
{
    webhook_auth_t *self = calloc(1, sizeof *self);

    if (self)
        pthread_mutex_init(&self->lock, NULL);
    return self;
}

void
webhook_auth_destroy(webhook_auth_t **selfp)
{
    webhook_auth_t *self = *selfp;

    if (!self)
        return;
    pthread_mutex_destroy(&self->lock);
    free(self);
    *selfp = NULL;
}

static carrier_auth_t *
find(webhook_auth_t *self, const char *carrier, int create)
{
    int i;

    for (i = 0; i < self->n; i++)
        if (strcmp(self->carriers[i].name, carrier) == 0)
            return &self->carriers[i];
    if (!create || self->n == WEBHOOK_MAX_CARRIERS)
        return NULL;
    snprintf(self->carriers[self->n].name, sizeof self->carriers[0].name, "%s", carrier);
    return &self->carriers[self->n++];
}

int
webhook_auth_set_secret(webhook_auth_t *self, const char *carrier, const void *secret, size_t len)
{
    carrier_auth_t *c = find(self, carrier, 1);

    if (!c || len == 0 || len > sizeof c->secret)
        return -1;
    memcpy(c->secret, secret, len);
    c->secretlen = len;
    return 0;
}

int
webhook_auth_set_allow(webhook_auth_t *self, const char *carrier, const char *list)
{
    carrier_auth_t *c = find(self, carrier, 1);

    if (!c || strlen(list) >= sizeof c->allow)
        return -1;
    snprintf(c->allow, sizeof c->allow, "%s", list);
    return 0;
}

static int
hex_decode(const char *hex, uint8_t *out, size_t outlen)
{
    size_t i;

    if (strlen(hex) != outlen * 2)
        return -1;
    for (i = 0; i < outlen; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

webhook_verdict_t
webhook_auth_verify(webhook_auth_t *self, const char *carrier, const char *header, const char *body, size_t len,
                    int64_t now)
{
    carrier_auth_t *c;
    char hexmac[80];
    long long t;
    uint8_t got[SHA256_LEN], want[SHA256_LEN];
    char prefix[32];
    uint8_t *msg;
    int n, i;
    webhook_verdict_t verdict = WEBHOOK_OK;

    pthread_mutex_lock(&self->lock);
    c = find(self, carrier, 0);
    if (!c || !c->secretlen) {
        verdict = WEBHOOK_NO_SECRET;
        goto out;
    }
    if (!header || !*header) {
        verdict = WEBHOOK_MISSING;
        goto out;
    }
    if (sscanf(header, "t=%lld,v1=%79[0-9a-fA-F]%n", &t, hexmac, &n) != 2 || header[n] != '\0' ||
        hex_decode(hexmac, got, sizeof got) != 0) {
        verdict = WEBHOOK_MALFORMED;
        goto out;
    }
    if (t < now - WEBHOOK_REPLAY_WINDOW_S || t > now + WEBHOOK_REPLAY_WINDOW_S) {
        verdict = WEBHOOK_STALE;
        goto out;
    }
    n = snprintf(prefix, sizeof prefix, "%lld.", t);
    msg = malloc((size_t)n + len);
    if (!msg) {
        verdict = WEBHOOK_MALFORMED;
        goto out;
    }
    memcpy(msg, prefix, (size_t)n);
    memcpy(msg + n, body, len);
    hmac_sha256(c->secret, c->secretlen, msg, (size_t)n + len, want);
    free(msg);
    if (!ct_equal(got, want, sizeof want)) {
        verdict = WEBHOOK_BAD_MAC;
        goto out;
    }
    for (i = 0; i < WEBHOOK_REPLAY_SLOTS; i++)
        if (self->seen[i].t == t && memcmp(self->seen[i].mac, got, sizeof got) == 0) {
            verdict = WEBHOOK_REPLAYED;
            goto out;
        }
    self->seen[self->next].t = t;
    memcpy(self->seen[self->next].mac, got, sizeof got);
    self->next = (self->next + 1) % WEBHOOK_REPLAY_SLOTS;
out:
    pthread_mutex_unlock(&self->lock);
    return verdict;
}

int
webhook_auth_allowed(webhook_auth_t *self, const char *carrier, const char *ip)
{
    carrier_auth_t *c;
    int ok = 1;

    pthread_mutex_lock(&self->lock);
    c = find(self, carrier, 0);
    if (c && c->allow[0]) {
        const char *p = c->allow;
        size_t n = strlen(ip);
        ok = 0;
        while (*p) {
            size_t len = strcspn(p, ", ");
            if (len == n && strncmp(p, ip, n) == 0) {
                ok = 1;
                break;
            }
            p += len;
            p += strspn(p, ", ");
        }
    }
    pthread_mutex_unlock(&self->lock);
    return ok;
}

const char *
webhook_verdict_message(webhook_verdict_t v)
{
    switch (v) {
    case WEBHOOK_OK: return "valid";
    case WEBHOOK_NO_SECRET: return "this carrier does not sign; send its bearer token instead";
    case WEBHOOK_MISSING: return "missing X-BCCI-Signature (or a bearer token)";
    case WEBHOOK_MALFORMED: return "X-BCCI-Signature must be t=<unix seconds>,v1=<64 hex digits>";
    case WEBHOOK_STALE: return "the signature time is outside the 5-minute replay window; check the sender's clock";
    case WEBHOOK_BAD_MAC: return "the signature does not match the body under this carrier's secret";
    case WEBHOOK_REPLAYED: return "this signed request was already received (replay)";
    }
    return "invalid";
}
