/*
 * sms - the `sms` job: one text to a citizen's phone through an SMS-brandname API
 *
 * The provider is an HTTP JSON API of the shape Vietnamese brandname
 * providers offer. sms_send POSTs to sms.url
 *   {"brandname": B, "phone": "84xxxxxxxxx", "message": TEXT, "unicode": true|false,
 *    "request_id": RID[, "callback_url": URL]}
 * with "Authorization: Bearer <key>" and X-Request-Id, and classifies the
 * answer: 2xx with {"status":"accepted","id":…} is ok (the id is the
 * provider's, for its delivery report); 2xx with another status, 400/404/422
 * (invalid phone, text refused) and 401/403 (key refused) fail permanently;
 * 408, 429, 5xx, timeouts and refused connections are retried (Retry-After
 * gives delay_ms). request_id is the idempotency key: a provider that sees it
 * again answers with the same id and sends nothing twice.
 *
 * The phone is checked before anything is sent: a Vietnamese mobile number
 * 0[35789]xxxxxxxx, 84… or +84…, sent as 84xxxxxxxxx; anything else fails
 * permanently. Phones and texts are never logged or put in a result
 * message; sms_mask_phone gives the form that may be (last 3 digits).
 *
 * Options (config borrowed only during sms_new): sms.url (empty: this worker
 * sends no SMS, see sms_configured), sms.brandname, sms.api_key_file (0600),
 * sms.timeout_ms, sms.unaccented (1: send the text without diacritics, for a
 * provider that takes GSM 7-bit only; 0, the default, sends it as written),
 * carrier.allow_insecure, carrier.ca_bundle.
 * One sms_t per thread: it owns one libcurl easy handle and the key;
 * curl_global_init must have run before sms_new.
 */
#ifndef BCCI_SMS_H
#define BCCI_SMS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "queues/wire.h"

#define SMS_MAX_RESPONSE (64 * 1024)
#define SMS_MAX_TEXT_BYTES 2048 /* about 8 UCS-2 segments of Vietnamese */

typedef struct sms sms_t;

typedef struct {
    wire_outcome_t outcome;
    int64_t delay_ms;      /* retry: Retry-After in ms, 0 = backoff decides */
    int http_status;       /* 0 when no HTTP answer */
    char provider_id[64];  /* ok: the provider's message id */
    char message[256];     /* what happened: masked phone at most, never the text */
} sms_result_t;

/* sms_configured - 1 when cfg has a non-empty sms.url */
int sms_configured(const config_t *cfg);

/* sms_new - NULL with err when sms.url is not http(s)://, the brand name is
 * missing or over 11 characters, the key file is unreadable or not private,
 * or memory or curl fails. Caller owns; free with sms_destroy. */
sms_t *sms_new(const config_t *cfg, char *err, size_t errlen);
void sms_destroy(sms_t **self);

/* sms_send - run one sms job; payload {to, text, request_id?, callback_url?}
 * is borrowed. Always fills out. */
void sms_send(sms_t *self, const json_t *payload, sms_result_t *out);

/* sms_normalize_phone - "84" + 9 digits from a Vietnamese mobile number in
 * the forms above (spaces, dots and dashes ignored) into out (>= 12 bytes);
 * 0, or -1 when it is not one */
int sms_normalize_phone(const char *phone, char *out, size_t outlen);

/* sms_mask_phone - "*******678": only the last 3 digits, for logs */
void sms_mask_phone(const char *phone, char *out, size_t outlen);

#endif
