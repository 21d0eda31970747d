/*
 * webhook_auth - verifies who sent a carrier webhook (design §8)
 *
 * A carrier that signs sends X-BCCI-Signature: t=<unix seconds>,v1=<hex
 * HMAC-SHA256 of "<t>.<body>"> under its shared secret: the time must be
 * within the replay window, the MAC is compared in constant time, and a
 * signature already seen inside the window is refused as a replay. A carrier
 * that cannot sign uses a bearer token of role carrier, optionally limited
 * to an address allow-list. The verifier owns its secrets and replay cache;
 * it is safe to call from any HTTP thread.
 */
#ifndef BCCI_WEBHOOK_AUTH_H
#define BCCI_WEBHOOK_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_REPLAY_WINDOW_S 300

typedef struct webhook_auth webhook_auth_t;

typedef enum {
    WEBHOOK_OK = 0,
    WEBHOOK_NO_SECRET,      /* this carrier has no secret configured */
    WEBHOOK_MISSING,        /* no signature header */
    WEBHOOK_MALFORMED,
    WEBHOOK_STALE,          /* outside the replay window */
    WEBHOOK_BAD_MAC,
    WEBHOOK_REPLAYED,
} webhook_verdict_t;

webhook_auth_t *webhook_auth_new(void);
void webhook_auth_destroy(webhook_auth_t **self);
/* webhook_auth_set_secret - copy secret for carrier; 0 or -1 */
int webhook_auth_set_secret(webhook_auth_t *self, const char *carrier, const void *secret, size_t len);
/* webhook_auth_set_allow - comma-separated IP addresses allowed to post for carrier (copied) */
int webhook_auth_set_allow(webhook_auth_t *self, const char *carrier, const char *list);
/* webhook_auth_verify - check header against body at time now (unix seconds) */
webhook_verdict_t webhook_auth_verify(webhook_auth_t *self, const char *carrier, const char *header,
                                      const char *body, size_t len, int64_t now);
/* webhook_auth_allowed - 1 when ip may post for carrier (no list = everyone) */
int webhook_auth_allowed(webhook_auth_t *self, const char *carrier, const char *ip);
const char *webhook_verdict_message(webhook_verdict_t v);

#endif
