/*
 * carrier_http - libcurl + Jansson plumbing for carrier adapters (see carrier_http.h)
 *
 * One easy handle per carrier_http_t, reset between requests (curl keeps its
 * connection cache across curl_easy_reset), so a worker talks to its carrier
 * over one kept-alive connection.
 */
#include "carriers/carrier_http.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef BCCI_VERSION
#define BCCI_VERSION "dev"
#endif

struct carrier_http {
    CURL *curl;
    carrier_http_opts_t opts;
    char *ca_bundle; /* owned copy */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_global_rc = CURLE_OK;

static void
curl_global_once(void)
{
    curl_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
carrier_http_opts_from_config(const config_t *cfg, carrier_http_opts_t *o)
{
    long long t = cfg ? config_get_int(cfg, "carrier.timeout_ms", CARRIER_HTTP_DEFAULT_TIMEOUT_MS)
                      : CARRIER_HTTP_DEFAULT_TIMEOUT_MS;
    const char *ca = cfg ? config_get(cfg, "carrier.ca_bundle") : NULL;

    memset(o, 0, sizeof *o);
    if (t <= 0 || t > 10LL * 60 * 1000)
        t = CARRIER_HTTP_DEFAULT_TIMEOUT_MS;
    o->timeout_ms = (long)t;
    o->connect_timeout_ms = o->timeout_ms < 5000 ? o->timeout_ms : 5000;
    o->allow_insecure = cfg ? config_get_int(cfg, "carrier.allow_insecure", 0) != 0 : 0;
    o->ca_bundle = (ca && *ca) ? ca : NULL;
    o->max_body = CARRIER_HTTP_DEFAULT_MAX_BODY;
}

carrier_http_t *
carrier_http_new(const carrier_http_opts_t *o, char *err, size_t errlen)
{
    carrier_http_t *self = NULL;

    pthread_once(&curl_once, curl_global_once);
    if (curl_global_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl failed to initialise: %s", curl_easy_strerror(curl_global_rc));
        return NULL;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->opts = *o;
    if (self->opts.timeout_ms <= 0)
        self->opts.timeout_ms = CARRIER_HTTP_DEFAULT_TIMEOUT_MS;
    if (self->opts.connect_timeout_ms <= 0)
        self->opts.connect_timeout_ms = self->opts.timeout_ms < 5000 ? self->opts.timeout_ms : 5000;
    if (self->opts.max_body == 0)
        self->opts.max_body = CARRIER_HTTP_DEFAULT_MAX_BODY;
    if (o->ca_bundle && *o->ca_bundle) {
        self->ca_bundle = strdup(o->ca_bundle);
        if (!self->ca_bundle) {
            snprintf(err, errlen, "out of memory");
            free(self);
            return NULL;
        }
    }
    self->opts.ca_bundle = self->ca_bundle;
    self->curl = curl_easy_init();
    if (!self->curl) {
        snprintf(err, errlen, "curl_easy_init failed (out of memory?)");
        free(self->ca_bundle);
        free(self);
        return NULL;
    }
    return self;
}

void
carrier_http_destroy(carrier_http_t **selfp)
{
    carrier_http_t *self = *selfp;

    if (!self)
        return;
    if (self->curl)
        curl_easy_cleanup(self->curl);
    free(self->ca_bundle);
    free(self);
    *selfp = NULL;
}

static int
is_loopback_host(const char *host)
{
    return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0 ||
           strcasecmp(host, "localhost") == 0;
}

int
carrier_http_check_url(const char *url, int allow_insecure, char *err, size_t errlen)
{
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL;
    int rc = -1;

    if (!url || !*url) {
        snprintf(err, errlen, "carrier URL is empty: set the carrier's url option");
        return -1;
    }
    u = curl_url();
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(err, errlen, "carrier URL '%.200s' is not a valid http(s) URL", url);
        goto out;
    }
    if (strcasecmp(scheme, "https") == 0) {
        rc = 0;
    } else if (strcasecmp(scheme, "http") == 0) {
        if (is_loopback_host(host) || allow_insecure)
            rc = 0;
        else
            snprintf(err, errlen,
                     "carrier URL '%.200s' uses plain http to a non-loopback host: use https "
                     "or set carrier.allow_insecure = 1",
                     url);
    } else {
        snprintf(err, errlen, "carrier URL '%.200s' has scheme '%s': only http and https are allowed", url,
                 scheme);
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    carrier_http_response_t *resp = userdata;
    size_t n = size * nmemb;

    if (buf_append(&resp->body, ptr, n) != BUF_OK) {
        resp->body_too_big = 1;
        return 0; /* abort the transfer: CURLE_WRITE_ERROR */
    }
    return n;
}

int64_t
carrier_http_parse_retry_after(const char *value)
{
    const char *p = value;
    long long secs = 0;
    int digits = 0;

    if (!value)
        return 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (isdigit((unsigned char)*p)) {
        while (isdigit((unsigned char)*p)) {
            if (secs < 1000000)
                secs = secs * 10 + (*p - '0');
            p++;
            digits++;
        }
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p || !digits)
            return 0;
    } else {
        char date[128];
        size_t n = 0;
        time_t when, now = time(NULL);

        while (p[n] && p[n] != '\r' && p[n] != '\n' && n < sizeof date - 1) {
            date[n] = p[n];
            n++;
        }
        date[n] = '\0';
        when = curl_getdate(date, NULL);
        if (when == (time_t)-1)
            return 0;
        secs = when > now ? (long long)(when - now) : 0;
        if (secs == 0)
            return 1; /* "now": still a hint, but the smallest one */
    }
    if (secs * 1000 > CARRIER_HTTP_MAX_RETRY_AFTER_MS)
        return CARRIER_HTTP_MAX_RETRY_AFTER_MS;
    return (int64_t)secs * 1000;
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    carrier_http_response_t *resp = userdata;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";

    if (n > sizeof name - 1 && n < 256 && strncasecmp(ptr, name, sizeof name - 1) == 0) {
        char value[256];

        memcpy(value, ptr + sizeof name - 1, n - (sizeof name - 1));
        value[n - (sizeof name - 1)] = '\0';
        resp->retry_after_ms = carrier_http_parse_retry_after(value);
    } else if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        resp->retry_after_ms = 0; /* a new response (after 100-continue) starts over */
    }
    return n;
}

static void
response_init(carrier_http_response_t *resp, size_t limit)
{
    memset(resp, 0, sizeof *resp);
    buf_init(&resp->body, limit);
}

void
carrier_http_response_free(carrier_http_response_t *resp)
{
    if (!resp)
        return;
    buf_free(&resp->body);
    json_decref(resp->json);
    resp->json = NULL;
}

int
carrier_http_request(carrier_http_t *self, const char *method, const char *url, const char *const *headers,
                     const json_t *body, const char *request_id, carrier_http_response_t *resp)
{
    CURL *c = self->curl;
    struct curl_slist *hl = NULL, *tmp;
    char *payload = NULL;
    char line[256];
    int rc = -1;
    size_t i;

    response_init(resp, self->opts.max_body);
    if (carrier_http_check_url(url, self->opts.allow_insecure, resp->error, sizeof resp->error) != 0) {
        resp->curl_code = CURLE_URL_MALFORMAT;
        return -1;
    }
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        if (!payload) {
            resp->curl_code = CURLE_OUT_OF_MEMORY;
            snprintf(resp->error, sizeof resp->error, "cannot serialise the request body");
            return -1;
        }
    }
    curl_easy_reset(c);
    for (i = 0; headers && headers[i]; i++) {
        tmp = curl_slist_append(hl, headers[i]);
        if (!tmp)
            goto nomem;
        hl = tmp;
    }
    if (request_id && *request_id) {
        snprintf(line, sizeof line, "X-Request-Id: %.200s", request_id);
        tmp = curl_slist_append(hl, line);
        if (!tmp)
            goto nomem;
        hl = tmp;
    }
    tmp = curl_slist_append(hl, "Accept: application/json");
    if (!tmp)
        goto nomem;
    hl = tmp;
    if (payload) {
        tmp = curl_slist_append(hl, "Content-Type: application/json");
        if (!tmp)
            goto nomem;
        hl = tmp;
        tmp = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip */
        if (!tmp)
            goto nomem;
        hl = tmp;
    }

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, self->opts.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, self->opts.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (self->opts.ca_bundle)
        curl_easy_setopt(c, CURLOPT_CAINFO, self->opts.ca_bundle);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "bcci-gateway/" BCCI_VERSION);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, resp->error);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload ? payload : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(payload ? strlen(payload) : 0));
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }

    resp->error[0] = '\0';
    resp->curl_code = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    if (resp->curl_code == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
        if (resp->body.len > 0) {
            json_error_t jerr;

            resp->json = json_loadb(resp->body.data, resp->body.len, 0, &jerr);
        }
        rc = 0;
    } else {
        long st = 0;

        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
        resp->status = st;
        if (resp->body_too_big)
            snprintf(resp->error, sizeof resp->error, "response body larger than %zu bytes",
                     self->opts.max_body);
        else if (!resp->error[0])
            snprintf(resp->error, sizeof resp->error, "%s", curl_easy_strerror(resp->curl_code));
    }
    goto out;
nomem:
    resp->curl_code = CURLE_OUT_OF_MEMORY;
    snprintf(resp->error, sizeof resp->error, "out of memory");
out:
    curl_slist_free_all(hl);
    free(payload);
    return rc;
}

carrier_status_t
carrier_http_classify(CURLcode cc, long http_status)
{
    switch (cc) {
    case CURLE_OK:
        break;
    /* the operator must act: retrying cannot help */
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_LOGIN_DENIED:
    case CURLE_NOT_BUILT_IN:
    case CURLE_FUNCTION_NOT_FOUND:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_TOO_MANY_REDIRECTS:
        return CARRIER_FAIL;
    /* everything else (timeouts, refused, reset, empty reply, DNS, TLS
     * handshake hiccups, oversized body) is transient */
    default:
        return CARRIER_RETRY;
    }
    if (http_status >= 200 && http_status < 300)
        return CARRIER_OK;
    if (http_status == 429)
        return CARRIER_THROTTLE;
    if (http_status == 408 || http_status >= 500 || http_status < 200)
        return CARRIER_RETRY;
    return CARRIER_FAIL; /* 3xx (we never follow redirects) and other 4xx */
}

carrier_status_t
carrier_http_result(const carrier_http_response_t *resp, const char *what, carrier_result_t *out)
{
    carrier_status_t st = carrier_http_classify(resp->curl_code, resp->status);
    const char *detail = NULL;

    out->http_status = (int)resp->status;
    if (st == CARRIER_THROTTLE || st == CARRIER_RETRY)
        out->retry_after_ms = resp->retry_after_ms;
    if (st == CARRIER_OK) {
        out->message[0] = '\0';
        return st;
    }
    if (resp->curl_code != CURLE_OK) {
        snprintf(out->message, sizeof out->message, "%.40s: %.180s (curl %d)", what, resp->error, (int)resp->curl_code);
        return st;
    }
    if (resp->json && json_is_object(resp->json)) {
        detail = json_string_value(json_object_get(resp->json, "message"));
        if (!detail)
            detail = json_string_value(json_object_get(resp->json, "errorCode"));
    }
    if (st == CARRIER_THROTTLE)
        snprintf(out->message, sizeof out->message, "%.40s: carrier throttled us (HTTP 429), retry after %lld ms", what,
                 (long long)resp->retry_after_ms);
    else
        snprintf(out->message, sizeof out->message, "%.40s: HTTP %ld%s%.160s", what, resp->status, detail ? ": " : "",
                 detail ? detail : "");
    return st;
}

carrier_status_t
carrier_http_call(carrier_http_t *self, const char *method, const char *base, const char *path,
                  const char *auth_name, const char *auth_value, const json_t *body, const char *request_id,
                  const char *what, carrier_http_response_t *resp, carrier_result_t *out)
{
    char url[1024], header[1100];
    const char *headers[2] = { NULL, NULL };
    carrier_status_t st;
    int rc;

    snprintf(url, sizeof url, "%s%s", base, path);
    if (auth_name) {
        snprintf(header, sizeof header, "%s: %s", auth_name, auth_value);
        headers[0] = header;
    }
    rc = carrier_http_request(self, method, url, headers, body, request_id, resp);
    memset(header, 0, sizeof header); /* the credential does not linger on the stack */
    if (rc != 0) {
        st = carrier_http_result(resp, what, out);
        carrier_http_response_free(resp);
        return st;
    }
    out->http_status = (int)resp->status;
    return CARRIER_OK;
}

int
carrier_http_query_path(char *path, size_t cap, const char *prefix, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);

    if (!esc)
        return -1;
    snprintf(path, cap, "%s%.180s", prefix, esc);
    curl_free(esc);
    return 0;
}
