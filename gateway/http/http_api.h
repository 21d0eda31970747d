/*
 * http_api - bccid's HTTP API on libmicrohttpd (design §7)
 *
 * Routing, body limits, content types, request ids and JSON errors live here;
 * everything that changes data goes through the engine (engine_submit), and
 * reads use the store's pooled read connections. Answers that take
 * milliseconds of CPU to draw (labels) are drawn on render threads of the
 * API's own, one per CPU, so the HTTP threads, which serve every connection,
 * never wait for a drawing. The API borrows the engine and the store;
 * http_api_stop must run before either is destroyed.
 */
#ifndef BCCI_HTTP_API_H
#define BCCI_HTTP_API_H

#include <jansson.h>
#include <stddef.h>

#include "gateway/engine/engine.h"
#include "gateway/store/store.h"

typedef struct {
    const char *listen;           /* "127.0.0.1:8080"; port 0 picks a free port */
    const char *default_carrier;  /* when a dossier names none */
    const char *public_base_url;  /* tracking links */
    size_t max_body;              /* bytes; larger bodies get 413 */
    unsigned connection_limit;
    unsigned threads;             /* HTTP threads; 0 = one per CPU less the engine's, at least one */
    unsigned timeout_s;           /* idle connections are closed after this (0 = 15) */
    unsigned per_ip_limit;        /* connections at once from one address (0 = 64) */
    unsigned request_deadline_s;  /* a request's headers and body must arrive within this, or the
                                   * connection is cut, however slowly it trickles (0 = 30) */
    const char *trusted_proxies;  /* "127.0.0.1,10.0.0.5": peers whose X-Forwarded-For is believed;
                                   * borrowed, NULL or "" = none */
    const unsigned char *secret;  /* server secret (tracking tokens, manifest codes); borrowed */
    struct webhook_auth *webhooks; /* carrier webhook verifier; borrowed */
    const struct areas *areas;    /* commune names for labels and pages; borrowed, may be NULL */
    const struct calendar *calendar; /* working days for the tracking page; borrowed, NULL = weekends only */
    size_t secretlen;
} http_api_config_t;

typedef struct http_api http_api_t;

/* http_api_start - NULL with err (port taken, bad address) on failure; caller owns */
http_api_t *http_api_start(engine_t *engine, store_t *store, const http_api_config_t *cfg, char *err,
                           size_t errlen);
int http_api_port(const http_api_t *self);
/* http_api_threads - the HTTP threads serving connections (cfg->threads, or the size 0 chose) */
unsigned http_api_threads(const http_api_t *self);
void http_api_stop(http_api_t **self);
/* http_api_routes - every route served: [{method, path, roles, summary}] (caller owns) */
json_t *http_api_routes(void);

#endif
