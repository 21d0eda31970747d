/*
 * zap - ZeroMQ authentication (ZAP, RFC 27) for the jobs socket
 *
 * With CURVE on, every worker proves it holds the secret key of a public key
 * listed by the operator (one Z85 key per line; '#' starts a comment). The
 * handler runs on its own thread in bccid's ZeroMQ context and must start
 * before the ROUTER binds. A worker with an unknown key is refused at the
 * handshake, so it never sees a job. zap_start returns a handler the caller
 * owns (zap_stop).
 */
#ifndef BCCI_ZAP_H
#define BCCI_ZAP_H

#include <stddef.h>

typedef struct zap zap_t;

zap_t *zap_start(void *zctx, const char *allowed_file, char *err, size_t errlen);
void zap_stop(zap_t **self);
/* zap_refused - handshakes refused so far (for logs and tests) */
long zap_refused(const zap_t *self);

#endif
