/*
 * notify - the `notify` job: POST a JSON document to the case system
 *
 * A JOB of kind "notify" carries payload {url, body, request_id}. notify_post
 * sends body (serialised compactly) to url with Content-Type
 * application/json, X-Request-Id and
 *   X-BCCI-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 * and classifies the answer (without a secret nothing is sent: retry, the
 * message naming case_system.secret_file; with a payload key_id that is not
 * this worker's secret's, nothing is sent either: the case system would refuse
 * the signature, so the job waits for a worker given bccid's secret): 2xx ok; 408, 429, 5xx, timeout, refused retry
 * (429 and 503 with Retry-After give delay_ms); other 4xx and 3xx fail.
 *
 * One notify_t per thread: it owns one libcurl easy handle, reused between
 * posts (keep-alive), and a copy of the secret. curl_global_init must have run
 * before notify_new. Options read (config borrowed only during notify_new):
 * case_system.secret_file (empty: every notify job is refused), case_system.timeout_ms (5000),
 * carrier.allow_insecure (0), carrier.ca_bundle (empty: system store).
 */
#ifndef BCCI_NOTIFY_H
#define BCCI_NOTIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "queues/wire.h"

#define NOTIFY_MAX_RESPONSE (64 * 1024)

typedef struct notify notify_t;

typedef struct {
    wire_outcome_t outcome;
    int64_t delay_ms;     /* retry: Retry-After in ms, 0 = backoff decides */
    int http_status;      /* 0 when no HTTP answer */
    char message[256];    /* what happened, no personal data */
} notify_result_t;

/* notify_new - NULL with err when the secret file cannot be read or memory or
 * curl fails. Caller owns; free with notify_destroy. */
notify_t *notify_new(const config_t *cfg, char *err, size_t errlen);
void notify_destroy(notify_t **self);

/* notify_post - run one notify job. payload is borrowed. Always fills out;
 * a payload that is not {url: "http(s)://…", body: {…}, key_id?} is a permanent fail. */
void notify_post(notify_t *self, const json_t *payload, notify_result_t *out);

/* notify_signature - the X-BCCI-Signature value for body at unix time t into
 * out (>= 96 bytes): "t=<t>,v1=<64 hex digits>". 0, or -1 when out is too small. */
int notify_signature(const void *secret, size_t secretlen, long long t, const char *body, size_t bodylen,
                     char *out, size_t outlen);

/* NOTIFY_KEY_ID_LEN - the key id: 16 hex digits and a NUL */
#define NOTIFY_KEY_ID_LEN 17

/* notify_key_id - a public name of a signing secret (the first 8 bytes of an HMAC of a fixed
 * label, in hex): bccid puts its secret's id into every notify job so that a worker holding
 * another secret refuses the job instead of signing it with a key the case system rejects */
void notify_key_id(const void *secret, size_t secretlen, char out[NOTIFY_KEY_ID_LEN]);

/* notify_read_secret - read a secret file (trailing whitespace stripped) into a
 * malloc'd buffer (caller frees). NULL with err when unreadable, empty or over 4 KiB. */
char *notify_read_secret(const char *path, size_t *len, char *err, size_t errlen);

#endif
