/*
 * sms - the SMS-brandname client (see sms.h)
 *
 * The HTTP plumbing (connection reuse, URL policy, bounded bodies,
 * Retry-After, the transport table) is carriers/carrier_http's: an SMS
 * provider is one more HTTP JSON API with the same failure modes.
 */
#include "queues/sms.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carriers/carrier_http.h"
#include "domain/messages.h"
#include "secret.h"

#define SMS_MAX_BRANDNAME 11 /* the brand name shown as sender: 11 characters in every network */
#define SMS_MAX_KEY 512
#define SMS_MAX_DELAY_MS 86400000LL

struct sms {
    carrier_http_t *http;
    char *url;
    char brandname[SMS_MAX_BRANDNAME + 1];
    char auth[SMS_MAX_KEY + 32]; /* "Authorization: Bearer <key>", "" = none */
    int unaccented;              /* sms.unaccented: the provider takes GSM 7-bit only */
};

int
sms_configured(const config_t *cfg)
{
    const char *url = config_get(cfg, "sms.url");

    return url && *url;
}

sms_t *
sms_new(const config_t *cfg, char *err, size_t errlen)
{
    sms_t *self = calloc(1, sizeof *self);
    const char *url = config_get(cfg, "sms.url");
    const char *brand = config_get(cfg, "sms.brandname");
    const char *key_file = config_get(cfg, "sms.api_key_file");
    carrier_http_opts_t o;
    long long timeout = config_get_int(cfg, "sms.timeout_ms", 5000);
    size_t i;

    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    carrier_http_opts_from_config(cfg, &o);
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
        snprintf(err, errlen, "sms.url: '%.200s' is not an http(s):// URL of the SMS provider's send endpoint",
                 url ? url : "");
        goto fail;
    }
    if (carrier_http_check_url(url, o.allow_insecure, err, errlen) != 0)
        goto fail;
    if (!brand || !*brand || strlen(brand) > SMS_MAX_BRANDNAME) {
        snprintf(err, errlen, "sms.brandname: give the registered brand name, 1..%d characters",
                 SMS_MAX_BRANDNAME);
        goto fail;
    }
    for (i = 0; brand[i]; i++)
        if (!isalnum((unsigned char)brand[i]) && brand[i] != '.' && brand[i] != '-' && brand[i] != '_' &&
            brand[i] != ' ') {
            snprintf(err, errlen, "sms.brandname: '%s' may hold only ASCII letters, digits, space, . - _", brand);
            goto fail;
        }
    snprintf(self->brandname, sizeof self->brandname, "%s", brand);
    if (timeout < 1 || timeout > 600000) {
        snprintf(err, errlen, "sms.timeout_ms must be 1..600000");
        goto fail;
    }
    o.timeout_ms = (long)timeout;
    self->unaccented = config_get_int(cfg, "sms.unaccented", 0) != 0;
    o.connect_timeout_ms = o.timeout_ms < 5000 ? o.timeout_ms : 5000;
    o.max_body = SMS_MAX_RESPONSE;
    if (key_file && *key_file) {
        char key[SMS_MAX_KEY + 1];
        size_t len = 0;

        if (secret_file_read(key_file, key, sizeof key, &len, err, errlen) != 0)
            goto fail;
        for (i = 0; i < len; i++)
            if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] > 0x7e) {
                memset(key, 0, sizeof key);
                snprintf(err, errlen, "sms.api_key_file %s: the key must be one line of printable ASCII",
                         key_file);
                goto fail;
            }
        snprintf(self->auth, sizeof self->auth, "Authorization: Bearer %s", key);
        memset(key, 0, sizeof key);
    }
    self->url = strdup(url);
    self->http = carrier_http_new(&o, err, errlen);
    if (!self->url || !self->http) {
        if (!self->url)
            snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return self;
fail:
    sms_destroy(&self);
    return NULL;
}

void
sms_destroy(sms_t **selfp)
{
    sms_t *self = *selfp;

    if (!self)
        return;
    carrier_http_destroy(&self->http);
    free(self->url);
    memset(self->auth, 0, sizeof self->auth);
    free(self);
    *selfp = NULL;
}

int
sms_normalize_phone(const char *phone, char *out, size_t outlen)
{
    char digits[24];
    size_t n = 0;
    const char *p = phone;
    const char *national;

    if (!phone || outlen < 12)
        return -1;
    if (*p == '+')
        p++;
    for (; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n + 1 >= sizeof digits)
                return -1;
            digits[n++] = *p;
        } else if (*p != ' ' && *p != '.' && *p != '-') {
            return -1;
        }
    }
    digits[n] = '\0';
    if (n == 10 && digits[0] == '0')
        national = digits + 1;
    else if (n == 11 && digits[0] == '8' && digits[1] == '4')
        national = digits + 2;
    else
        return -1;
    /* mobile prefixes: 3x, 5x, 7x, 8x, 9x (landlines 2x cannot take an SMS) */
    if (!strchr("35789", national[0]))
        return -1;
    snprintf(out, outlen, "84%s", national);
    return 0;
}

void
sms_mask_phone(const char *phone, char *out, size_t outlen)
{
    size_t len = phone ? strlen(phone) : 0, i, n = 0;

    if (outlen == 0)
        return;
    for (i = 0; i < len && n + 1 < outlen; i++)
        out[n++] = (len - i <= 3 && isdigit((unsigned char)phone[i])) ? phone[i] : '*';
    out[n] = '\0';
}

static void
set_result(sms_result_t *out, wire_outcome_t o, int64_t delay_ms, const char *fmt, const char *a, const char *b)
{
    out->outcome = o;
    out->delay_ms = delay_ms < 0 ? 0 : delay_ms > SMS_MAX_DELAY_MS ? SMS_MAX_DELAY_MS : delay_ms;
    snprintf(out->message, sizeof out->message, fmt, a, b);
}

/* needs_ucs2 - 1 when the text has a character outside ASCII (Vietnamese letters with marks) */
static int
needs_ucs2(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 1;
    return 0;
}

/* provider_error - the provider's error code ("invalid_phone") from a JSON body, or "" */
static const char *
provider_error(const json_t *body)
{
    const json_t *e = json_object_get(body, "error");

    if (json_is_object(e))
        e = json_object_get(e, "code");
    return json_is_string(e) && json_string_length(e) < 64 ? json_string_value(e) : "";
}

void
sms_send(sms_t *self, const json_t *payload, sms_result_t *out)
{
    const json_t *jto = json_object_get(payload, "to");
    const json_t *jtext = json_object_get(payload, "text");
    const json_t *jrid = json_object_get(payload, "request_id");
    const json_t *jcb = json_object_get(payload, "callback_url");
    const char *headers[2] = { NULL, NULL };
    const char *text, *rid;
    char phone[16], masked[32], status[16];
    carrier_http_response_t resp;
    carrier_status_t st;
    json_t *body = NULL;
    buf_t plain;

    memset(out, 0, sizeof *out);
    memset(&resp, 0, sizeof resp);
    buf_init(&plain, 2 * SMS_MAX_TEXT_BYTES);
    if (!json_is_object(payload) || !json_is_string(jto) || !json_is_string(jtext) ||
        (jrid && !json_is_string(jrid)) || (jcb && !json_is_string(jcb))) {
        set_result(out, WIRE_FAIL, 0, "%s%s", "sms payload must be {to: string, text: string, request_id?: string, ",
                   "callback_url?: string}");
        return;
    }
    sms_mask_phone(json_string_value(jto), masked, sizeof masked);
    if (sms_normalize_phone(json_string_value(jto), phone, sizeof phone) != 0) {
        set_result(out, WIRE_FAIL, 0, "sms to %s: not a Vietnamese mobile number (0[35789]… or +84…)%s", masked,
                   "; correct the dossier's phone, then replay the job");
        return;
    }
    text = json_string_value(jtext);
    if (json_string_length(jtext) == 0 || json_string_length(jtext) > SMS_MAX_TEXT_BYTES ||
        message_sms_units(text, json_string_length(jtext)) < 0) {
        set_result(out, WIRE_FAIL, 0, "sms to %s: the text must be 1..%s bytes of UTF-8", masked, "2048");
        return;
    }
    rid = jrid ? json_string_value(jrid) : NULL;
    if (self->unaccented) {
        if (message_unaccented(text, &plain) != 0) {
            set_result(out, WIRE_RETRY, 0, "sms to %s: %s", masked, "out of memory removing diacritics");
            goto out;
        }
        text = plain.data;
    }
    body = json_pack("{s:s,s:s,s:s,s:b}", "brandname", self->brandname, "phone", phone, "message", text, "unicode",
                     needs_ucs2(text));
    if (body && rid)
        json_object_set_new(body, "request_id", json_string(rid));
    if (body && jcb)
        json_object_set(body, "callback_url", (json_t *)jcb);
    if (!body) {
        set_result(out, WIRE_RETRY, 0, "sms to %s: %s", masked, "out of memory building the request");
        goto out;
    }
    if (self->auth[0])
        headers[0] = self->auth;
    if (carrier_http_request(self->http, "POST", self->url, headers, body, rid, &resp) != 0) {
        st = carrier_http_classify(resp.curl_code, 0);
        set_result(out, st == CARRIER_FAIL ? WIRE_FAIL : WIRE_RETRY, 0, "SMS provider unreachable: %.200s%s",
                   resp.error[0] ? resp.error : "transport error", "");
        goto out;
    }
    out->http_status = (int)resp.status;
    if (resp.status >= 200 && resp.status < 300) {
        const json_t *js = json_object_get(resp.json, "status");
        const json_t *jid = json_object_get(resp.json, "id");

        snprintf(status, sizeof status, "%s", json_is_string(js) ? json_string_value(js) : "");
        if (strcmp(status, "accepted") == 0 && (json_is_string(jid) || json_is_integer(jid))) {
            if (json_is_string(jid))
                snprintf(out->provider_id, sizeof out->provider_id, "%s", json_string_value(jid));
            else
                snprintf(out->provider_id, sizeof out->provider_id, "%lld", (long long)json_integer_value(jid));
            set_result(out, WIRE_OK, 0, "sms to %s accepted by the provider (%s)", masked, out->provider_id);
        } else if (!resp.json) {
            /* we cannot tell whether it was sent: retrying is safe, request_id dedups */
            set_result(out, WIRE_RETRY, 0, "sms to %s: the provider answered 2xx without JSON%s", masked,
                       "; will retry with the same request_id");
        } else {
            set_result(out, WIRE_FAIL, 0, "sms to %s: the provider did not accept it (status '%.15s')", masked,
                       status);
        }
        goto out;
    }
    st = carrier_http_classify(CURLE_OK, resp.status);
    if (st == CARRIER_RETRY || st == CARRIER_THROTTLE) {
        char code[16];

        snprintf(code, sizeof code, "%ld", resp.status);
        set_result(out, WIRE_RETRY, resp.retry_after_ms, "SMS provider answered %s, will retry%s", code, "");
    } else if (resp.status == 401 || resp.status == 403) {
        char code[16];

        snprintf(code, sizeof code, "%ld", resp.status);
        set_result(out, WIRE_FAIL, 0, "SMS provider refused the API key (%s): check sms.api_key_file%s", code,
                   ", then replay the job");
    } else {
        char why[96];

        snprintf(why, sizeof why, "%ld %s", resp.status, provider_error(resp.json));
        set_result(out, WIRE_FAIL, 0, "sms to %s refused by the provider: %s", masked, why);
    }
out:
    carrier_http_response_free(&resp);
    json_decref(body);
    buf_free(&plain);
}
