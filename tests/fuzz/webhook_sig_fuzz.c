/*
 * webhook_sig_fuzz - libFuzzer target for the webhook signature header parser (gateway/http/webhook_auth.c)
 *
 * The input is split at its first newline: the X-BCCI-Signature header value,
 * then the body. The verifier must answer a verdict for any header (never crash,
 * never accept a MAC it did not compute): a header that verifies must be the
 * one notify_signature computes for that body and time. Anything else is
 * refused with a verdict that has a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/http/webhook_auth.h"
#include "queues/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1764547200LL /* 2025-12-01T00:00:00Z */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char secret[] = "fuzz-shared-secret";
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : size;
    const char *body = nl ? (const char *)nl + 1 : "";
    size_t blen = nl ? size - hlen - 1 : 0;
    char *header = malloc(hlen + 1);
    webhook_auth_t *auth = webhook_auth_new();
    webhook_verdict_t v;

    if (!header || !auth) {
        free(header);
        webhook_auth_destroy(&auth);
        return 0;
    }
    memcpy(header, data, hlen);
    header[hlen] = '\0';
    webhook_auth_set_secret(auth, "vnpost", secret, sizeof secret - 1);
    v = webhook_auth_verify(auth, "vnpost", header, body, blen, NOW);
    if (!webhook_verdict_message(v))
        abort();
    if (v == WEBHOOK_OK) {
        /* only a signature over this body can pass; a second use is a replay */
        if (webhook_auth_verify(auth, "vnpost", header, body, blen, NOW) != WEBHOOK_REPLAYED)
            abort();
    }
    /* the carrier without a secret never accepts */
    if (webhook_auth_verify(auth, "viettel", header, body, blen, NOW) == WEBHOOK_OK)
        abort();
    {
        /* a valid signature for the same body must verify (the parser accepts what we send) */
        char sig[128];
        webhook_auth_t *fresh = webhook_auth_new();

        if (fresh && notify_signature(secret, sizeof secret - 1, NOW, body, blen, sig, sizeof sig) == 0) {
            webhook_auth_set_secret(fresh, "vnpost", secret, sizeof secret - 1);
            if (webhook_auth_verify(fresh, "vnpost", sig, body, blen, NOW) != WEBHOOK_OK)
                abort();
        }
        webhook_auth_destroy(&fresh);
    }
    webhook_auth_destroy(&auth);
    free(header);
    return 0;
}
