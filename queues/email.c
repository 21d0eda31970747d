/*
 * email - libcurl SMTP client for the citizen's e-mails (see email.h)
 *
 * The message is built in memory (it is small: a subject and a few lines)
 * and fed to curl through a read callback. The body goes out in base64 so
 * that no line-length or 8-bit transport rule of any relay can damage the
 * Vietnamese text.
 */
#include "queues/email.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "crypto.h"
#include "secret.h"

#ifndef BCCI_VERSION
#define BCCI_VERSION "dev"
#endif

#define EMAIL_MAX_PASSWORD 512
/* UTF-8 bytes per RFC 2047 encoded-word: 52 base64 + 12 = 64 characters, so
 * "Subject: " and one word fit a 76-character line */
#define EMAIL_WORD_BYTES 39

struct email {
    CURL *curl;
    char *url, *from, *username, *password, *ca_bundle;
    int starttls;
    long timeout_ms;
    char curl_err[CURL_ERROR_SIZE];
};

int
email_configured(const config_t *cfg)
{
    const char *url = config_get(cfg, "smtp.url");

    return url && *url;
}

int
email_address_ok(const char *s)
{
    const char *at;
    size_t i;

    if (!s || !*s || strlen(s) > 254)
        return 0;
    at = strchr(s, '@');
    if (!at || at == s || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\\,;:\"", c))
            return 0;
    }
    return strchr(at + 1, '.') != NULL && at[1] != '.' && s[strlen(s) - 1] != '.';
}

void
email_mask_address(const char *addr, char *out, size_t outlen)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;

    if (!at || at == addr)
        snprintf(out, outlen, "(not an address)");
    else
        snprintf(out, outlen, "%c\xE2\x80\xA6%.100s", addr[0], at);
}

/* plain_smtp_to_loopback - 1 when url is smtp:// to 127.x, localhost or [::1] */
static int
plain_smtp_to_loopback(const char *url)
{
    const char *host = url + strlen("smtp://");
    size_t n = strcspn(host, ":/");

    if (strncmp(host, "[::1]", 5) == 0)
        return 1;
    return (n == 9 && strncmp(host, "localhost", 9) == 0) || strncmp(host, "127.", 4) == 0;
}

static char *
dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

email_t *
email_new(const config_t *cfg, char *err, size_t errlen)
{
    email_t *self = calloc(1, sizeof *self);
    const char *url = config_get(cfg, "smtp.url");
    const char *from = config_get(cfg, "smtp.from");
    const char *pw_file = config_get(cfg, "smtp.password_file");
    long long timeout = config_get_int(cfg, "smtp.timeout_ms", 10000);

    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!url || (strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0)) {
        snprintf(err, errlen, "smtp.url: '%.200s' must be smtp://HOST:PORT or smtps://HOST:PORT", url ? url : "");
        goto fail;
    }
    if (!email_address_ok(from)) {
        snprintf(err, errlen, "smtp.from: '%.200s' is not a plain address like no-reply@example.vn",
                 from ? from : "");
        goto fail;
    }
    if (timeout < 1 || timeout > 600000) {
        snprintf(err, errlen, "smtp.timeout_ms must be 1..600000");
        goto fail;
    }
    self->timeout_ms = (long)timeout;
    self->starttls = config_get_int(cfg, "smtp.starttls", 0) != 0;
    /* the citizen's name and dossier travel in the message: no clear text off this host */
    if (strncmp(url, "smtp://", 7) == 0 && !self->starttls && !plain_smtp_to_loopback(url) &&
        config_get_int(cfg, "carrier.allow_insecure", 0) == 0) {
        snprintf(err, errlen, "smtp.url: plain SMTP to another host would send citizens' data in clear: set "
                              "smtp.starttls = 1 or use smtps:// (carrier.allow_insecure = 1 allows it)");
        goto fail;
    }
    self->url = strdup(url);
    self->from = strdup(from);
    self->username = dup_or_null(config_get(cfg, "smtp.username"));
    self->ca_bundle = dup_or_null(config_get(cfg, "carrier.ca_bundle"));
    if (!self->url || !self->from) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (pw_file && *pw_file) {
        char pw[EMAIL_MAX_PASSWORD + 1];
        size_t len = 0;

        if (!self->username) {
            snprintf(err, errlen, "smtp.password_file is set but smtp.username is not: set both or neither");
            goto fail;
        }
        if (secret_file_read(pw_file, pw, sizeof pw, &len, err, errlen) != 0)
            goto fail;
        self->password = strdup(pw);
        memset(pw, 0, sizeof pw);
        if (!self->password) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    self->curl = curl_easy_init();
    if (!self->curl) {
        snprintf(err, errlen, "curl_easy_init failed (out of memory?)");
        goto fail;
    }
    return self;
fail:
    email_destroy(&self);
    return NULL;
}

void
email_destroy(email_t **selfp)
{
    email_t *self = *selfp;

    if (!self)
        return;
    if (self->curl)
        curl_easy_cleanup(self->curl);
    if (self->password) {
        memset(self->password, 0, strlen(self->password));
        free(self->password);
    }
    free(self->url);
    free(self->from);
    free(self->username);
    free(self->ca_bundle);
    free(self);
    *selfp = NULL;
}

/* ---- building the message ---------------------------------------------- */

static int
put(buf_t *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

static int
put_base64(buf_t *b, const unsigned char *in, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    for (i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        char q[4];

        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        q[0] = tbl[(v >> 18) & 63];
        q[1] = tbl[(v >> 12) & 63];
        q[2] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        q[3] = i + 2 < len ? tbl[v & 63] : '=';
        if (buf_append(b, q, 4) != BUF_OK)
            return -1;
    }
    return 0;
}

static int
utf8_ok(const char *s)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    utf8proc_ssize_t left = (utf8proc_ssize_t)strlen(s);

    while (left > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);

        if (n <= 0)
            return 0;
        p += n;
        left -= n;
    }
    return 1;
}

/* put_subject - "Subject: " and RFC 2047 encoded-words, folded, never
 * splitting a UTF-8 character between two words */
static int
put_subject(buf_t *b, const char *subject)
{
    size_t len = strlen(subject), pos = 0;

    if (put(b, "Subject:") != 0)
        return -1;
    while (pos < len) {
        size_t n = len - pos < EMAIL_WORD_BYTES ? len - pos : EMAIL_WORD_BYTES;

        while (n < len - pos && n > 0 && ((unsigned char)subject[pos + n] & 0xC0) == 0x80)
            n--; /* back off to the start of a character */
        if (put(b, pos ? "\r\n =?UTF-8?B?" : " =?UTF-8?B?") != 0 ||
            put_base64(b, (const unsigned char *)subject + pos, n) != 0 || put(b, "?=") != 0)
            return -1;
        pos += n;
    }
    return put(b, "\r\n");
}

int
email_build(const char *from, const char *to, const char *subject, const char *body, const char *message_id,
            long long date_unix, buf_t *out, char *err, size_t errlen)
{
    buf_t crlf;
    char date[64];
    time_t t = (time_t)date_unix;
    struct tm tm;
    size_t i, len, line;
    int rc = -1;

    buf_init(&crlf, 2 * EMAIL_MAX_BODY_BYTES + 16);
    if (!email_address_ok(from) || !email_address_ok(to)) {
        snprintf(err, errlen, "from and to must be plain addresses");
        goto out;
    }
    if (!subject || !*subject || strlen(subject) > EMAIL_MAX_SUBJECT_BYTES || !utf8_ok(subject) ||
        strpbrk(subject, "\r\n")) {
        snprintf(err, errlen, "the subject must be one line of 1..%d bytes of UTF-8", EMAIL_MAX_SUBJECT_BYTES);
        goto out;
    }
    if (!body || strlen(body) > EMAIL_MAX_BODY_BYTES || !utf8_ok(body)) {
        snprintf(err, errlen, "the body must be at most %d bytes of UTF-8", EMAIL_MAX_BODY_BYTES);
        goto out;
    }
    for (i = 0; message_id[i]; i++)
        if ((unsigned char)message_id[i] <= 0x20 || (unsigned char)message_id[i] >= 0x7f ||
            strchr("<>", message_id[i])) {
            snprintf(err, errlen, "the Message-ID may hold only printable ASCII without <>");
            goto out;
        }
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm); /* C locale names, as RFC 5322 wants */
    if (put(out, "Date: ") || put(out, date) || put(out, "\r\nFrom: <") || put(out, from) ||
        put(out, ">\r\nTo: <") || put(out, to) || put(out, ">\r\n") || put_subject(out, subject) ||
        put(out, "Message-ID: <") || put(out, message_id) ||
        put(out, ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                 "Content-Transfer-Encoding: base64\r\nAuto-Submitted: auto-generated\r\n"
                 "X-Mailer: bcci-worker/" BCCI_VERSION "\r\n\r\n"))
        goto oom;
    /* the text's line ends become CRLF before encoding (RFC 2046 canonical form) */
    for (i = 0; body[i]; i++) {
        if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) {
            if (buf_append(&crlf, "\r\n", 2) != BUF_OK)
                goto oom;
        } else if (buf_append(&crlf, body + i, 1) != BUF_OK) {
            goto oom;
        }
    }
    /* base64 in lines of 76 characters (57 bytes each) */
    len = crlf.len;
    for (i = 0; i < len; i += line) {
        line = len - i < 57 ? len - i : 57;
        if (put_base64(out, (const unsigned char *)crlf.data + i, line) != 0 || put(out, "\r\n") != 0)
            goto oom;
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "the message does not fit in memory");
out:
    buf_free(&crlf);
    return rc;
}

/* ---- sending ------------------------------------------------------------- */

typedef struct {
    const char *data;
    size_t len, pos;
} reader_t;

static size_t
read_message(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    reader_t *r = userdata;
    size_t n = size * nmemb;

    if (n > r->len - r->pos)
        n = r->len - r->pos;
    memcpy(ptr, r->data + r->pos, n);
    r->pos += n;
    return n;
}

/* message_id_for - "bcci.<request id or random>@<domain of from>" */
static void
message_id_for(const char *rid, const char *from, char *out, size_t outlen)
{
    char local[96];
    size_t i, n = 0;

    if (rid && *rid) {
        for (i = 0; rid[i] && n + 1 < sizeof local; i++) {
            unsigned char c = (unsigned char)rid[i];

            local[n++] = (isalnum(c) || c == '-' || c == '_' || c == '.') ? (char)c : '_';
        }
        local[n] = '\0';
    } else {
        uint8_t raw[12];
        char hex[2 * sizeof raw + 1];

        /* no request id: a random one, so two messages never share an id */
        if (random_bytes(raw, sizeof raw) != 0)
            memset(raw, 0, sizeof raw);
        hex_encode(raw, sizeof raw, hex);
        snprintf(local, sizeof local, "%lld.%s", (long long)time(NULL), hex);
    }
    snprintf(out, outlen, "bcci.%s%s", local, strchr(from, '@'));
}

static void
set_result(email_result_t *out, wire_outcome_t o, const char *fmt, const char *a, const char *b)
{
    out->outcome = o;
    out->delay_ms = 0;
    snprintf(out->message, sizeof out->message, fmt, a, b);
}

void
email_send(email_t *self, const json_t *payload, email_result_t *out)
{
    const json_t *jto = json_object_get(payload, "to");
    const json_t *jsubject = json_object_get(payload, "subject");
    const json_t *jbody = json_object_get(payload, "body");
    const json_t *jrid = json_object_get(payload, "request_id");
    struct curl_slist *rcpt = NULL;
    char masked[128], err[256], from[300], to[300], code[16];
    buf_t msg;
    reader_t reader;
    CURLcode cc;
    long smtp_code = 0;

    memset(out, 0, sizeof *out);
    buf_init(&msg, 4 * EMAIL_MAX_BODY_BYTES);
    if (!json_is_object(payload) || !json_is_string(jto) || !json_is_string(jsubject) || !json_is_string(jbody) ||
        (jrid && !json_is_string(jrid))) {
        set_result(out, WIRE_FAIL, "email payload must be {to: string, subject: string, body: string, %s%s",
                   "request_id?: string}", "");
        goto out;
    }
    email_mask_address(json_string_value(jto), masked, sizeof masked);
    if (!email_address_ok(json_string_value(jto))) {
        set_result(out, WIRE_FAIL, "email to %s: not a plain e-mail address%s", masked,
                   "; correct the dossier's e-mail, then replay the job");
        goto out;
    }
    message_id_for(jrid ? json_string_value(jrid) : NULL, self->from, out->message_id, sizeof out->message_id);
    if (email_build(self->from, json_string_value(jto), json_string_value(jsubject), json_string_value(jbody),
                    out->message_id, (long long)time(NULL), &msg, err, sizeof err) != 0) {
        set_result(out, WIRE_FAIL, "email to %s: %s", masked, err);
        goto out;
    }
    snprintf(from, sizeof from, "<%s>", self->from);
    snprintf(to, sizeof to, "<%s>", json_string_value(jto));
    rcpt = curl_slist_append(NULL, to);
    if (!rcpt) {
        set_result(out, WIRE_RETRY, "email to %s: %s", masked, "out of memory");
        goto out;
    }
    reader.data = msg.data;
    reader.len = msg.len;
    reader.pos = 0;
    curl_easy_reset(self->curl);
    self->curl_err[0] = '\0';
    curl_easy_setopt(self->curl, CURLOPT_URL, self->url);
    curl_easy_setopt(self->curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(self->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(self->curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(self->curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(self->curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(self->curl, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(self->curl, CURLOPT_READDATA, &reader);
    curl_easy_setopt(self->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg.len);
    curl_easy_setopt(self->curl, CURLOPT_TIMEOUT_MS, self->timeout_ms);
    curl_easy_setopt(self->curl, CURLOPT_CONNECTTIMEOUT_MS, self->timeout_ms < 5000 ? self->timeout_ms : 5000L);
    curl_easy_setopt(self->curl, CURLOPT_ERRORBUFFER, self->curl_err);
    if (self->starttls)
        curl_easy_setopt(self->curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (self->ca_bundle)
        curl_easy_setopt(self->curl, CURLOPT_CAINFO, self->ca_bundle);
    if (self->username) {
        curl_easy_setopt(self->curl, CURLOPT_USERNAME, self->username);
        if (self->password)
            curl_easy_setopt(self->curl, CURLOPT_PASSWORD, self->password);
    }
    cc = curl_easy_perform(self->curl);
    curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &smtp_code);
    out->smtp_code = (int)smtp_code;
    snprintf(code, sizeof code, "%ld", smtp_code);
    if (cc == CURLE_OK) {
        set_result(out, WIRE_OK, "email to %s accepted by the SMTP server (%s)", masked, code);
    } else if (cc == CURLE_LOGIN_DENIED) {
        set_result(out, WIRE_FAIL, "SMTP login refused (%s): check smtp.username and smtp.password_file%s", code,
                   ", then replay the job");
    } else if (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_USE_SSL_FAILED ||
               cc == CURLE_PEER_FAILED_VERIFICATION) {
        set_result(out, WIRE_FAIL, "SMTP server refused by policy: %.200s%s",
                   self->curl_err[0] ? self->curl_err : curl_easy_strerror(cc), "; check smtp.url and smtp.starttls");
    } else if (smtp_code >= 500 && smtp_code < 600) {
        set_result(out, WIRE_FAIL, "email to %s refused by the SMTP server (%s)", masked, code);
    } else {
        /* curl's message may quote the server's reply, which may quote the
         * address: keep only the code and curl's generic text */
        set_result(out, WIRE_RETRY, "SMTP server unavailable (%s, %s), will retry", code, curl_easy_strerror(cc));
    }
out:
    curl_slist_free_all(rcpt);
    buf_free(&msg);
}
