/*
 * http_internal - what a module of bccid's HTTP API needs to serve its routes
 *
 * Each API module (api_dossiers.c, api_labels.c, …) exports one route table;
 * http_api.c matches method and path, checks the caller's role against the
 * route's roles (design §8), and calls the handler once the whole body has
 * arrived. Handlers answer with http_send_* or hand a write to the engine
 * with http_submit: the connection is then suspended, the pool thread is free,
 * and the finish function answers after the commit.
 *
 * Ownership: a handler's ctx and everything reachable from it live until the
 * handler (or its finish function) returns, except what it parks with
 * http_keep, which lives until the request completes. http_send_json takes
 * ownership of the document; http_send_bytes of the buffer.
 */
#ifndef BCCI_HTTP_INTERNAL_H
#define BCCI_HTTP_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>

#include "api_error.h"
#include "buf.h"
#include "gateway/engine/engine.h"
#include "gateway/http/http_api.h"
#include "gateway/store/store.h"
#include "gateway/store/store_dossiers.h"

/* roles (design §8); a route lists the roles that may call it */
enum {
    ROLE_CASE_SYSTEM = 1u << 0,
    ROLE_CLERK = 1u << 1,
    ROLE_POST_OFFICE = 1u << 2,
    ROLE_CARRIER = 1u << 3,
    ROLE_ADMIN = 1u << 4,
    ROLE_PUBLIC = 1u << 8, /* no token needed */
};
#define ROLES_STAFF (ROLE_CASE_SYSTEM | ROLE_CLERK | ROLE_ADMIN)

typedef struct http_ctx http_ctx_t;
typedef enum MHD_Result (*http_handler_fn)(http_ctx_t *c);

/* What a route's first '*' names. Agency-bound tokens (auth.h) reach only their
 * agency's dossiers, shipments, manifests and jobs: for such a token the
 * dispatcher checks the named thing before the handler runs, and answers 404
 * (the same for unknown and for another agency's, so codes cannot be probed). */
typedef enum { HTTP_SCOPE_NONE, HTTP_SCOPE_DOSSIER, HTTP_SCOPE_WAYBILL, HTTP_SCOPE_MANIFEST, HTTP_SCOPE_JOB } http_scope_t;

typedef struct {
    const char *method;       /* "GET", "POST" */
    const char *pattern;      /* "/v1/dossiers/ * /timeline": '*' is one path segment (c->args) */
    http_handler_fn handler;
    unsigned roles;
    const char *summary;      /* one line, for the route listing */
    http_scope_t scope;       /* what args[0] names, for agency-bound tokens */
} http_route_t;

#define HTTP_MAX_ARGS 4

struct http_ctx {
    http_api_t *api;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const char *args[HTTP_MAX_ARGS];  /* the '*' segments, in order */
    int nargs;
    unsigned role;                    /* the caller's role bit, 0 for a public route without token */
    const char *client;               /* the token's name, "" when none */
    const char *agency;               /* the token's agency, "" = every agency (or no token) */
    void *req;                        /* the request (private to http_api.c) */
};

/* route tables of the API modules, each terminated by an entry with method NULL */
extern const http_route_t api_core_routes[];
extern const http_route_t api_dossier_routes[];
extern const http_route_t api_label_routes[];    /* api_labels.c: labels, manifests, scans */
extern const http_route_t api_public_routes[];   /* api_public.c: tracking page, clerk page */
extern const http_route_t api_metrics_routes[];  /* api_metrics.c: /metrics */
extern const http_route_t api_admin_routes[];    /* api_admin.c: COD reports, purge */
extern const http_route_t api_clerk_routes[];    /* api_clerk.c: search, whoami, manifests, return */

/* --- access to the gateway's parts --- */
store_t *http_store(http_ctx_t *c);
engine_t *http_engine(http_ctx_t *c);
const http_api_config_t *http_config(http_ctx_t *c);

/* --- the request --- */
const char *http_body(http_ctx_t *c, size_t *len);         /* never NULL */
const char *http_query(http_ctx_t *c, const char *name);   /* NULL when absent */
const char *http_header(http_ctx_t *c, const char *name);  /* NULL when absent */
const char *http_client_ip(http_ctx_t *c, char *out, size_t outlen);
/* http_forwarded_ip - the client's address for rate limits: the right-most X-Forwarded-For
 * address that is not a trusted proxy, when the connecting peer is one of trusted_proxies;
 * otherwise the peer's own address (a header from anyone else is ignored). Never for
 * authorisation: allow-lists use http_client_ip. */
const char *http_forwarded_ip(http_ctx_t *c, char *out, size_t outlen);
int http_require_json(http_ctx_t *c);                        /* 1 when Content-Type is JSON */
/* http_parse_object - the body as a JSON object (caller owns), or NULL with e set (400) */
json_t *http_parse_object(http_ctx_t *c, api_error_t *e);
/* http_keep - park p until the request completes; free_fn releases it then */
void http_keep(http_ctx_t *c, void *p, void (*free_fn)(void *));
/* http_request_id - the id in logs and X-Request-Id; http_set_request_id overrides it */
const char *http_request_id(http_ctx_t *c);
void http_set_request_id(http_ctx_t *c, const char *rid);

/* --- answers --- */
enum MHD_Result http_send_json(http_ctx_t *c, int status, json_t *doc);
enum MHD_Result http_send_bytes(http_ctx_t *c, int status, const char *content_type, char *data, size_t len);
enum MHD_Result http_send_error(http_ctx_t *c, const api_error_t *e);
enum MHD_Result http_fail(http_ctx_t *c, int status, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* http_add_header - for the next http_send_* of this request (at most 4) */
void http_add_header(http_ctx_t *c, const char *name, const char *value);

/* http_store_error - the one mapping of a store result to an HTTP error: not_found 404,
 * conflict 409, empty 503, busy 503 storage_unavailable (Retry-After 2), error 500 internal;
 * message says what failed and what to do */
void http_store_error(api_error_t *err, store_rc_t rc, const char *message);

/* --- writes through the engine --- */
/* http_op - the request's engine operation, zeroed, for the handler to fill */
engine_op_t *http_op(http_ctx_t *c);
/* http_submit - queue http_op(c) and suspend; finish(c) answers after the commit */
enum MHD_Result http_submit(http_ctx_t *c, engine_op_kind_t kind, http_handler_fn finish);
/* http_submit_call - the same for a module's own write function */
enum MHD_Result http_submit_call(http_ctx_t *c, engine_write_fn fn, void *arg, http_handler_fn finish);
/* http_submit_rendered - http_submit_call, and once the write committed without error,
 * render(arg) runs on one of the render threads before finish(c) runs on the HTTP thread:
 * for answers that take milliseconds of CPU to draw (labels), which on an HTTP thread would
 * hold up every connection it serves. render must not touch c; it leaves its output in arg
 * for finish. A failed write skips render (finish answers the error); when no render thread
 * could be started render does not run either, and finish must draw itself. */
enum MHD_Result http_submit_rendered(http_ctx_t *c, engine_write_fn fn, void *arg, void (*render)(void *arg),
                                     http_handler_fn finish);
/* http_finish_default - answers op->result with op->status, or op->err */
enum MHD_Result http_finish_default(http_ctx_t *c);

/* http_store_error - the one mapping of a store result to an HTTP error: STORE_NOT_FOUND 404
 * not_found, STORE_CONFLICT 409 conflict, STORE_EMPTY 503, STORE_BUSY 503 storage_unavailable
 * (Retry-After 2), STORE_ERROR 500 internal. message (may be NULL) says what went wrong. */
void http_store_error(api_error_t *err, store_rc_t rc, const char *message);

/* http_render_request_metrics - bcci_http_requests_total and bcci_http_request_duration_seconds
 * (by route pattern, method and status code) in the Prometheus text format, appended to b */
void http_render_request_metrics(http_ctx_t *c, buf_t *b);

/* tracking links (http_links.c): http_tracking_url - the waybill's tracking link as a JSON
 * string (caller owns), NULL when the gateway has no secret; http_link_shipments - adds
 * "tracking_url" to doc when it is a shipment and to each of doc.shipments[];
 * http_finish_linked - http_finish_default after http_link_shipments on the result */
json_t *http_tracking_url(http_ctx_t *c, const char *waybill);
void http_link_shipments(http_ctx_t *c, json_t *doc);
enum MHD_Result http_finish_linked(http_ctx_t *c);

/* api_clerk.c: http_clerk_row_json - one row of the clerk lists and the search (caller owns,
 * NULL when out of memory); http_parse_day - "2026-12-01" to the Vietnam midnight starting it
 * (UTC ms): 0, or -1 when not such a date */
json_t *http_clerk_row_json(http_ctx_t *c, const store_clerk_row_t *r);
int http_parse_day(const char *s, int64_t *ms);
/* http_timeline_note - a note (no status) on the shipment's timeline at now by source; takes
 * details (a JSON object, may be NULL only when out of memory: then STORE_BUSY) */
store_rc_t http_timeline_note(store_tx_t *tx, int64_t dossier_id, int64_t shipment_id, const char *source,
                              const char *text, json_t *details, int64_t now);

/* http_check_waybill - 0 when valid S10; else answers 400 into *ret and returns -1 */
int http_check_waybill(http_ctx_t *c, const char *waybill, const char *field, enum MHD_Result *ret);


#endif
