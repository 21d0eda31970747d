/*
 * email - the `email` job: one plain-text UTF-8 message to a citizen over SMTP
 *
 * email_send builds an RFC 5322 message (Date, From, To, Subject encoded per
 * RFC 2047 as UTF-8 base64 encoded-words, a Message-ID derived from the
 * job's request_id so that a retried job carries the same id, MIME-Version,
 * text/plain; charset=UTF-8 in base64) and hands it to libcurl's SMTP client:
 * MAIL FROM smtp.from, RCPT TO the citizen. Outcomes: accepted is ok; an SMTP
 * 5xx on the recipient or the data (mailbox unknown, refused) and a refused
 * login fail permanently; 4xx, timeouts and refused connections are
 * retried. Addresses are never logged or put in a result message;
 * email_mask_address gives the form that may be (first letter + domain).
 *
 * Options (config borrowed only during email_new): smtp.url (smtp://HOST:PORT
 * or smtps://; empty: this worker sends no e-mail, see email_configured),
 * smtp.from, smtp.starttls (0: plain; 1: require STARTTLS), smtp.username and
 * smtp.password_file (optional login), smtp.timeout_ms, carrier.ca_bundle;
 * plain smtp:// without STARTTLS is accepted only to a loopback host unless
 * carrier.allow_insecure = 1.
 * One email_t per thread: it owns one libcurl easy handle and the password;
 * curl_global_init must have run before email_new.
 */
#ifndef BCCI_EMAIL_H
#define BCCI_EMAIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "queues/wire.h"

#define EMAIL_MAX_BODY_BYTES (64 * 1024)
#define EMAIL_MAX_SUBJECT_BYTES 512

typedef struct email email_t;

typedef struct {
    wire_outcome_t outcome;
    int64_t delay_ms;     /* always 0: the job's backoff decides */
    int smtp_code;        /* last SMTP reply code, 0 when none */
    char message_id[160]; /* ok: the Message-ID sent, without <> */
    char message[256];    /* what happened: masked address at most */
} email_result_t;

/* email_configured - 1 when cfg has a non-empty smtp.url */
int email_configured(const config_t *cfg);

/* email_new - NULL with err when smtp.url is not smtp:// or smtps://,
 * smtp.from is not an address, the password file is unreadable, or memory or
 * curl fails. Caller owns; free with email_destroy. */
email_t *email_new(const config_t *cfg, char *err, size_t errlen);
void email_destroy(email_t **self);

/* email_send - run one email job; payload {to, subject, body, request_id?}
 * is borrowed. Always fills out. */
void email_send(email_t *self, const json_t *payload, email_result_t *out);

/* email_build - the whole message (headers CRLF, blank line, base64 body)
 * appended to out. date_unix is the Date header's time; message_id is used
 * as given (no <>). 0, or -1 with err when an input is not UTF-8, holds a
 * line break where one is not allowed, or out is full. */
int email_build(const char *from, const char *to, const char *subject, const char *body, const char *message_id,
                long long date_unix, buf_t *out, char *err, size_t errlen);

/* email_address_ok - 1 when s is a plain ASCII addr-spec local@domain that
 * can go in MAIL FROM / RCPT TO (no spaces, brackets, quotes or line breaks) */
int email_address_ok(const char *s);

/* email_mask_address - "a…@example.vn": the first letter and the domain, for logs */
void email_mask_address(const char *addr, char *out, size_t outlen);

#endif
