/*
 * notify - POST signed JSON notifications to the case system (see notify.h)
 *
 * The body is never logged (it may carry a dossier's details); only the
 * status, the curl error and the response size are.
 */
#include "queues/notify.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "secret.h"

#ifndef BCCI_VERSION
#define BCCI_VERSION "dev"
#endif

#define NOTIFY_MAX_SECRET 4096
#define NOTIFY_MAX_DELAY_MS 86400000LL

struct notify {
    CURL *curl;
    char *secret;          /* NULL: do not sign */
    size_t secretlen;
    long timeout_ms;
    int allow_insecure;
    char *ca_bundle;       /* NULL: system store */
    char curl_err[CURL_ERROR_SIZE];
};

char *
notify_read_secret(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f;
    char *s = NULL;
    size_t n;

    *len = 0;
    /* secrets live in files nobody else can read (design §8) */
    if (secret_file_private(path, err, errlen) != 0)
        return NULL;
    f = fopen(path, "rb");

    *len = 0;
    if (!f) {
        snprintf(err, errlen, "cannot read secret file %s: %s", path, strerror(errno));
        return NULL;
    }
    s = malloc(NOTIFY_MAX_SECRET + 2);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    n = fread(s, 1, NOTIFY_MAX_SECRET + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read secret file %s", path);
        goto fail;
    }
    if (n > NOTIFY_MAX_SECRET) {
        snprintf(err, errlen, "secret file %s is larger than %d bytes", path, NOTIFY_MAX_SECRET);
        goto fail;
    }
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0) {
        snprintf(err, errlen, "secret file %s is empty: put the shared secret in it", path);
        goto fail;
    }
    s[n] = '\0';
    fclose(f);
    *len = n;
    return s;
fail:
    free(s);
    fclose(f);
    return NULL;
}

notify_t *
notify_new(const config_t *cfg, char *err, size_t errlen)
{
    notify_t *self = calloc(1, sizeof *self);
    const char *secret_file = config_get(cfg, "case_system.secret_file");
    const char *ca = config_get(cfg, "carrier.ca_bundle");

    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->timeout_ms = (long)config_get_int(cfg, "case_system.timeout_ms", 5000);
    if (self->timeout_ms <= 0 || self->timeout_ms > 600000) {
        snprintf(err, errlen, "case_system.timeout_ms must be 1..600000, got %ld", self->timeout_ms);
        goto fail;
    }
    self->allow_insecure = config_get_int(cfg, "carrier.allow_insecure", 0) != 0;
    if (ca && *ca) {
        self->ca_bundle = strdup(ca);
        if (!self->ca_bundle) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    if (secret_file && *secret_file) {
        self->secret = notify_read_secret(secret_file, &self->secretlen, err, errlen);
        if (!self->secret)
            goto fail;
    }
    self->curl = curl_easy_init();
    if (!self->curl) {
        snprintf(err, errlen, "curl_easy_init failed (out of memory?)");
        goto fail;
    }
    return self;
fail:
    notify_destroy(&self);
    return NULL;
}

void
notify_destroy(notify_t **selfp)
{
    notify_t *self = *selfp;

    if (!self)
        return;
    if (self->curl)
        curl_easy_cleanup(self->curl);
    if (self->secret) {
        memset(self->secret, 0, self->secretlen);
        free(self->secret);
    }
    free(self->ca_bundle);
    free(self);
    *selfp = NULL;
}

void
notify_key_id(const void *secret, size_t secretlen, char out[NOTIFY_KEY_ID_LEN])
{
    static const char label[] = "bcci case-system signing key id";
    uint8_t mac[SHA256_LEN];

    hmac_sha256(secret, secretlen, label, sizeof label - 1, mac);
    hex_encode(mac, (NOTIFY_KEY_ID_LEN - 1) / 2, out);
}

int
notify_signature(const void *secret, size_t secretlen, long long t, const char *body, size_t bodylen, char *out,
                 size_t outlen)
{
    uint8_t mac[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1], prefix[32];
    size_t plen;
    char *msg;
    int n;

    n = snprintf(prefix, sizeof prefix, "%lld.", t);
    if (n < 0 || (size_t)n >= sizeof prefix)
        return -1;
    plen = (size_t)n;
    msg = malloc(plen + bodylen + 1);
    if (!msg)
        return -1;
    memcpy(msg, prefix, plen);
    if (bodylen)
        memcpy(msg + plen, body, bodylen);
    hmac_sha256(secret, secretlen, msg, plen + bodylen, mac);
    free(msg);
    hex_encode(mac, sizeof mac, hex);
    n = snprintf(out, outlen, "t=%lld,v1=%s", t, hex);
    if (n < 0 || (size_t)n >= outlen)
        return -1;
    return 0;
}

static size_t
notify_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buf_t *b = userdata;
    size_t n = size * nmemb;

    if (buf_append(b, ptr, n) != BUF_OK)
        return 0; /* over NOTIFY_MAX_RESPONSE: abort the transfer */
    return n;
}

/* header_value_ok - printable ASCII without CR/LF, so it cannot inject headers */
static int
header_value_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

static void
set_result(notify_result_t *out, wire_outcome_t o, int64_t delay_ms, const char *fmt, const char *arg)
{
    out->outcome = o;
    out->delay_ms = delay_ms;
    snprintf(out->message, sizeof out->message, fmt, arg);
}

void
notify_post(notify_t *self, const json_t *payload, notify_result_t *out)
{
    const json_t *jurl = json_object_get(payload, "url");
    const json_t *jbody = json_object_get(payload, "body");
    const json_t *jrid = json_object_get(payload, "request_id");
    const json_t *jkey;
    const char *url;
    struct curl_slist *hdrs = NULL, *h;
    char *body = NULL, line[256], sig[128];
    buf_t resp;
    CURLcode cc;
    long status = 0;
    curl_off_t retry_after = 0;

    memset(out, 0, sizeof *out);
    buf_init(&resp, NOTIFY_MAX_RESPONSE);
    if (!json_is_object(payload) || !json_is_string(jurl) || !json_is_object(jbody)) {
        set_result(out, WIRE_FAIL, 0, "%s", "notify payload must be {url: string, body: object, request_id?}");
        goto out;
    }
    /* never sent unsigned (design §8): the job waits, retried, until a worker with the
     * secret takes it; its last_error tells the operator which key is missing */
    if (!self->secret) {
        set_result(out, WIRE_RETRY, 60000, "%s",
                   "this worker has no case_system.secret_file: case-system notifications are never sent "
                   "unsigned; set it on the workers and restart them");
        goto out;
    }
    /* bccid names the secret it was given: signing with another would only be refused */
    jkey = json_object_get(payload, "key_id");
    if (jkey) {
        char mine[NOTIFY_KEY_ID_LEN];

        notify_key_id(self->secret, self->secretlen, mine);
        if (!json_is_string(jkey) || strcmp(json_string_value(jkey), mine) != 0) {
            set_result(out, WIRE_RETRY, 60000,
                       "this worker's case_system.secret_file (key id %s) is not the secret bccid was given: the "
                       "case system would refuse its signature; give the workers the same file as bccid",
                       mine);
            goto out;
        }
    }
    url = json_string_value(jurl);
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        set_result(out, WIRE_FAIL, 0, "%s", "notify url must start with http:// or https://");
        goto out;
    }
    body = json_dumps(jbody, JSON_COMPACT);
    if (!body) {
        set_result(out, WIRE_RETRY, 0, "%s", "cannot serialise the notify body (out of memory?)");
        goto out;
    }

    h = curl_slist_append(hdrs, "Content-Type: application/json");
    if (h)
        hdrs = h;
    h = h ? curl_slist_append(hdrs, "Expect:") : NULL; /* no 100-continue round trip */
    if (h)
        hdrs = h;
    if (h && json_is_string(jrid) && json_string_length(jrid) < 128 && header_value_ok(json_string_value(jrid))) {
        snprintf(line, sizeof line, "X-Request-Id: %s", json_string_value(jrid));
        h = curl_slist_append(hdrs, line);
        if (h)
            hdrs = h;
    }
    if (h && self->secret) {
        if (notify_signature(self->secret, self->secretlen, (long long)time(NULL), body, strlen(body), sig,
                             sizeof sig) != 0)
            h = NULL;
        else {
            snprintf(line, sizeof line, "X-BCCI-Signature: %s", sig);
            h = curl_slist_append(hdrs, line);
            if (h)
                hdrs = h;
        }
    }
    if (!h) {
        set_result(out, WIRE_RETRY, 0, "%s", "cannot build the request headers (out of memory?)");
        goto out;
    }

    curl_easy_reset(self->curl);
    self->curl_err[0] = '\0';
    curl_easy_setopt(self->curl, CURLOPT_URL, url);
    curl_easy_setopt(self->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(self->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(self->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(self->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(self->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(self->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(self->curl, CURLOPT_TIMEOUT_MS, self->timeout_ms);
    curl_easy_setopt(self->curl, CURLOPT_CONNECTTIMEOUT_MS, self->timeout_ms);
    curl_easy_setopt(self->curl, CURLOPT_WRITEFUNCTION, notify_write);
    curl_easy_setopt(self->curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(self->curl, CURLOPT_ERRORBUFFER, self->curl_err);
    curl_easy_setopt(self->curl, CURLOPT_USERAGENT, "bcci-worker/" BCCI_VERSION);
    if (self->allow_insecure) {
        curl_easy_setopt(self->curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(self->curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (self->ca_bundle)
        curl_easy_setopt(self->curl, CURLOPT_CAINFO, self->ca_bundle);

    cc = curl_easy_perform(self->curl);
    curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(self->curl, CURLINFO_RETRY_AFTER, &retry_after);
    out->http_status = (int)status;
    if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && status > 0)) {
        const char *why = self->curl_err[0] ? self->curl_err : curl_easy_strerror(cc);

        if (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL)
            set_result(out, WIRE_FAIL, 0, "notify url refused: %.200s", why);
        else
            set_result(out, WIRE_RETRY, 0, "case system unreachable: %.200s", why);
        goto out;
    }
    if (retry_after < 0)
        retry_after = 0;
    if (retry_after > NOTIFY_MAX_DELAY_MS / 1000)
        retry_after = NOTIFY_MAX_DELAY_MS / 1000;
    if (status >= 200 && status < 300) {
        out->outcome = WIRE_OK;
        snprintf(out->message, sizeof out->message, "case system answered %ld", status);
    } else if (status == 408 || status == 429 || status >= 500) {
        out->outcome = WIRE_RETRY;
        out->delay_ms = (int64_t)retry_after * 1000;
        snprintf(out->message, sizeof out->message, "case system answered %ld, will retry", status);
    } else {
        out->outcome = WIRE_FAIL;
        snprintf(out->message, sizeof out->message,
                 "case system answered %ld: the notification was refused; check the case-system URL and "
                 "secret, then replay the job",
                 status);
    }
out:
    curl_slist_free_all(hdrs);
    free(body);
    buf_free(&resp);
}
