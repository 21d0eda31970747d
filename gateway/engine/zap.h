/*
 * zap - ZeroMQ authentication (ZAP, RFC 27) for the jobs socket
 *
 * With CURVE on, every worker proves it holds the secret key of a public key
 * listed by the operator (one Z85 key per line, then optional words; a line
 * starting with '#' is a comment, and '#' inside a key is a Z85 digit). The
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
/* zap_parse_key_line - one line of the allowed-keys file: 1 and the decoded key,
 * 0 for a blank or comment line, -1 when the line holds no valid key */
int zap_parse_key_line(const char *line, unsigned char key[32]);

#endif
