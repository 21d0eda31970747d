/*
 * carrier_http - the libcurl + Jansson plumbing shared by every carrier adapter
 *
 * A carrier_http_t wraps one reusable CURL easy handle, so consecutive calls
 * from one adapter context keep their connection alive. It is not
 * thread-safe: one per carrier_t, one carrier_t per worker thread.
 *
 * Policy enforced here, not in each carrier: https always verifies the peer
 * (optionally against carrier.ca_bundle); plain http is allowed only to
 * loopback hosts (127.0.0.1, ::1, localhost) unless carrier.allow_insecure = 1;
 * no redirects are followed; every response body is bounded.
 *
 * carrier_http_classify is the ONE place that turns a transport outcome
 * (CURLcode, HTTP status) into OK / RETRY / THROTTLE / FAIL. A carrier
 * overrides only its own codes (e.g. VNPost's 409 ORDER_EXISTS) before
 * falling back to it.
 *
 * Ownership: a carrier_http_response_t owns its body buffer and its parsed
 * JSON; carrier_http_response_free releases both.
 */
#ifndef BCCI_CARRIER_HTTP_H
#define BCCI_CARRIER_HTTP_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "carriers/carrier.h"
#include "config.h"

#define CARRIER_HTTP_DEFAULT_TIMEOUT_MS 5000
#define CARRIER_HTTP_DEFAULT_MAX_BODY (1024 * 1024)
#define CARRIER_HTTP_MAX_RETRY_AFTER_MS (3600LL * 1000)

typedef struct {
    long timeout_ms;         /* total per request; carrier.timeout_ms (5000) */
    long connect_timeout_ms; /* min(timeout_ms, 5000) unless set */
    int allow_insecure;      /* carrier.allow_insecure: plain http to any host */
    const char *ca_bundle;   /* carrier.ca_bundle, NULL or "" = system store; borrowed */
    size_t max_body;         /* response limit in bytes (1 MiB) */
} carrier_http_opts_t;

typedef struct {
    CURLcode curl_code;      /* CURLE_OK when an HTTP answer arrived */
    long status;             /* HTTP status, 0 when none */
    int body_too_big;        /* the body exceeded max_body and was dropped */
    buf_t body;              /* raw body (NUL-terminated), owned */
    json_t *json;            /* parsed body, NULL when empty or not JSON; owned */
    int64_t retry_after_ms;  /* from Retry-After, 0 when absent */
    char error[CURL_ERROR_SIZE]; /* curl's message when curl_code != CURLE_OK */
} carrier_http_response_t;

typedef struct carrier_http carrier_http_t;

/* carrier_http_opts_from_config - read carrier.timeout_ms, carrier.allow_insecure,
 * carrier.ca_bundle (keys the program did not declare count as unset).
 * Strings are borrowed from cfg. cfg may be NULL (defaults). */
void carrier_http_opts_from_config(const config_t *cfg, carrier_http_opts_t *o);

/* carrier_http_new - NULL with err when curl cannot start. Caller owns. */
carrier_http_t *carrier_http_new(const carrier_http_opts_t *o, char *err, size_t errlen);
void carrier_http_destroy(carrier_http_t **self);

/* carrier_http_check_url - 0 when url may be used under the policy above,
 * -1 with err saying what to change */
int carrier_http_check_url(const char *url, int allow_insecure, char *err, size_t errlen);

/* carrier_http_request - one request. method "GET" or "POST"; body (may be NULL)
 * is sent as application/json; headers is a NULL-terminated list of
 * "Name: value" lines (may be NULL); request_id (may be NULL) goes out as
 * X-Request-Id. Always fills resp (initialised here; free it with
 * carrier_http_response_free). Returns 0 when an HTTP answer arrived (any
 * status), -1 when the transport failed or the URL was refused (resp->error). */
int carrier_http_request(carrier_http_t *self, const char *method, const char *url, const char *const *headers,
                         const json_t *body, const char *request_id, carrier_http_response_t *resp);

void carrier_http_response_free(carrier_http_response_t *resp);

/* carrier_http_call - one request to base + path carrying the header
 * "<auth_name>: <auth_value>" (none when auth_name is NULL), wiped from memory
 * afterwards. CARRIER_OK means resp holds an HTTP answer (any status, also in
 * out->http_status) for the caller to interpret; any other value is final:
 * the transport failed, out says why ("what: …") and resp is already freed. */
carrier_status_t carrier_http_call(carrier_http_t *self, const char *method, const char *base, const char *path,
                                   const char *auth_name, const char *auth_value, const json_t *body,
                                   const char *request_id, const char *what, carrier_http_response_t *resp,
                                   carrier_result_t *out);

/* carrier_http_query_path - path = prefix + value URL-escaped (at most 180 bytes
 * of it); -1 when out of memory */
int carrier_http_query_path(char *path, size_t cap, const char *prefix, const char *value);

/* carrier_http_classify - the transport table: CURLE_OK with 2xx → OK; 408, 5xx,
 * 1xx/3xx-less-than-200 and transient curl errors (timeouts, refused, reset,
 * empty reply) → RETRY; 429 → THROTTLE; other 4xx and 3xx → FAIL; curl errors
 * that need an operator (bad URL, certificate refused, unsupported protocol) → FAIL. */
carrier_status_t carrier_http_classify(CURLcode cc, long http_status);

/* carrier_http_result - classify resp into out (http_status, retry_after_ms,
 * message "what: detail") and return the status; what names the call
 * ("CreateOrder"). Carriers call it after handling their own codes. */
carrier_status_t carrier_http_result(const carrier_http_response_t *resp, const char *what, carrier_result_t *out);

/* carrier_http_parse_retry_after - seconds or an HTTP date → ms from now, capped
 * at CARRIER_HTTP_MAX_RETRY_AFTER_MS; 0 when absent or unparsable */
int64_t carrier_http_parse_retry_after(const char *value);

#endif
