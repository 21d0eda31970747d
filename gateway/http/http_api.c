/*
 * http_api - libmicrohttpd plumbing, routing and authorisation (see http_api.h)
 *
 * Each request's body is collected into a bounded buffer; the handler runs
 * once the body is complete, on the call after the last chunk, which is also
 * what keeps libmicrohttpd connections alive. A write goes to the engine and
 * the connection is suspended until the commit, so the small thread pool is
 * never blocked on fsync. Errors use the JSON shape of design §7.
 */
#include "gateway/http/http_api.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "crypto.h"
#include "gateway/http/auth.h"
#include "gateway/http/http_deadline.h"
#include "gateway/http/http_internal.h"
#include "json_text.h"
#include "gateway/store/store_dossiers.h"
#include "domain/dossier.h"
#include "domain/ident.h"
#include "domain/s10.h"
#include "log.h"
#include "utf8.h"

#define KEEP_MAX 4
#define HEADERS_MAX 4

/* request metrics: counted by route pattern (never the raw path, so the label sets stay
 * bounded), with relaxed atomics on the pool threads; slot ROUTES_MAX is "no route" */
#define ROUTES_MAX 128
#define HTTP_RENDER_THREADS_MAX 8
#define CODE_MIN 100
#define CODE_SLOTS 500 /* 100..599 */
#define LAT_BUCKETS 6  /* the last is +Inf */
static const double lat_bounds[LAT_BUCKETS - 1] = { 0.005, 0.025, 0.1, 0.5, 2.5 };

typedef struct {
    uint64_t codes[CODE_SLOTS];
    uint64_t buckets[LAT_BUCKETS]; /* per bucket, not cumulative */
    uint64_t sum_us;
    uint64_t count;
} route_stats_t;

struct http_api {
    struct MHD_Daemon *daemon;
    int active;                   /* requests between their first call and completion (atomic) */
    engine_t *engine;
    store_t *store;
    http_api_config_t cfg;
    int port;
    route_stats_t *stats;         /* ROUTES_MAX + 1 slots */
    http_deadline_t *deadline;    /* cuts connections whose request does not arrive in time; owned */
    unsigned threads;             /* HTTP threads, as started */
    uint64_t rid_key;             /* random at start: request ids differ between runs */
    uint64_t rid_counter;         /* atomic: request ids differ within a run */
    /* the render pool: drawing a label takes milliseconds of CPU, which on an HTTP thread
     * would hold up every connection that thread serves; these threads draw instead */
    pthread_t render_threads[HTTP_RENDER_THREADS_MAX];
    int nrender;
    pthread_mutex_t render_lock;
    pthread_cond_t render_cond;
    struct request *render_head, *render_tail;
    int render_stopping;
};

typedef struct request {
    buf_t body;
    struct http_api *api;
    /* set by http_submit_rendered: runs on a render thread after a successful commit */
    void (*render)(void *arg);
    void *render_arg;
    struct request *render_next;
    int too_big;
    int bad_length;               /* two Content-Length headers that disagree */
    char first_length[32];
    char rid[64];
    /* a write in flight: the connection is suspended until the engine commits */
    engine_op_t op;
    int op_queued;
    http_handler_fn finish;
    struct MHD_Connection *conn;
    http_deadline_slot_t *slot;   /* the connection's deadline (the socket context); may be NULL */
    const http_route_t *route;
    int route_index;              /* into api->stats; ROUTES_MAX when no route matched */
    int status;                   /* the answer's status, for the metrics */
    struct timespec started;
    unsigned role;
    char client[72];
    char agency[AUTH_AGENCY_LEN];
    struct {
        void *p;
        void (*free_fn)(void *);
    } keep[KEEP_MAX];
    int nkeep;
    struct {
        char name[40];
        char value[200];
    } headers[HEADERS_MAX];
    int nheaders;
} request_t;

/* every API module's routes; a new module adds its table here */
static const http_route_t *const route_tables[] = { api_core_routes, api_dossier_routes, api_label_routes,
                                                     api_public_routes, api_metrics_routes, api_admin_routes,
                                                     api_clerk_routes };

static request_t *
R(http_ctx_t *c)
{
    return c->req;
}

/* ------------------------------------------------------------ accessors */

store_t *
http_store(http_ctx_t *c)
{
    return c->api->store;
}

engine_t *
http_engine(http_ctx_t *c)
{
    return c->api->engine;
}

const http_api_config_t *
http_config(http_ctx_t *c)
{
    return &c->api->cfg;
}

const char *
http_body(http_ctx_t *c, size_t *len)
{
    if (len)
        *len = R(c)->body.len;
    return R(c)->body.data ? R(c)->body.data : "";
}

const char *
http_query(http_ctx_t *c, const char *name)
{
    return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
http_header(http_ctx_t *c, const char *name)
{
    return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

/* addr_in_list - 1 when ip[0..len) is one of the comma-separated addresses of list */
static int
addr_in_list(const char *list, const char *ip, size_t len)
{
    const char *p = list;

    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);

        while (n && *p == ' ')
            p++, n--;
        while (n && p[n - 1] == ' ')
            n--;
        if (n == len && len && strncmp(p, ip, len) == 0)
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

const char *
http_forwarded_ip(http_ctx_t *c, char *out, size_t outlen)
{
    const char *trusted = c->api->cfg.trusted_proxies;
    const char *xff, *end;

    http_client_ip(c, out, outlen);
    if (!trusted || !*trusted || !addr_in_list(trusted, out, strlen(out)))
        return out;
    xff = http_header(c, "X-Forwarded-For");
    if (!xff)
        return out;
    /* each proxy appends the address it saw: walk from the right past our own proxies */
    end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        char cand[64];
        unsigned char bin[16];
        size_t n;

        while (start > xff && start[-1] != ',')
            start--;
        while (start < end && *start == ' ')
            start++;
        n = (size_t)(end - start);
        while (n && start[n - 1] == ' ')
            n--;
        if (n == 0 || n >= sizeof cand)
            return out;
        memcpy(cand, start, n);
        cand[n] = '\0';
        if (inet_pton(AF_INET, cand, bin) != 1 && inet_pton(AF_INET6, cand, bin) != 1)
            return out; /* not an address: believe nothing further left */
        if (!addr_in_list(trusted, cand, n)) {
            snprintf(out, outlen, "%s", cand);
            return out;
        }
        end = start;
        while (end > xff && (end[-1] == ',' || end[-1] == ' '))
            end--;
    }
    return out;
}

const char *
http_client_ip(http_ctx_t *c, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    out[0] = '\0';
    if (ci && ci->client_addr) {
        if (ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, out, (socklen_t)outlen);
        else if (ci->client_addr->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, out, (socklen_t)outlen);
    }
    return out;
}

int
http_require_json(http_ctx_t *c)
{
    const char *ct = http_header(c, "Content-Type");

    return ct && strncasecmp(ct, "application/json", 16) == 0 && (ct[16] == '\0' || ct[16] == ';');
}

json_t *
http_parse_object(http_ctx_t *c, api_error_t *e)
{
    size_t len;
    const char *body = http_body(c, &len);

    return request_json_object(body, len, e);
}

void
http_keep(http_ctx_t *c, void *p, void (*free_fn)(void *))
{
    request_t *req = R(c);

    if (req->nkeep == KEEP_MAX) {
        log_error("http_keep: too many parked objects; raise KEEP_MAX");
        free_fn(p);
        return;
    }
    req->keep[req->nkeep].p = p;
    req->keep[req->nkeep].free_fn = free_fn;
    req->nkeep++;
}

const char *
http_request_id(http_ctx_t *c)
{
    return R(c)->rid;
}

void
http_set_request_id(http_ctx_t *c, const char *rid)
{
    snprintf(R(c)->rid, sizeof R(c)->rid, "%s", rid);
    log_set_request_id(rid);
}

void
http_add_header(http_ctx_t *c, const char *name, const char *value)
{
    request_t *req = R(c);

    if (req->nheaders == HEADERS_MAX)
        return;
    snprintf(req->headers[req->nheaders].name, sizeof req->headers[0].name, "%s", name);
    snprintf(req->headers[req->nheaders].value, sizeof req->headers[0].value, "%s", value);
    req->nheaders++;
}

/* ------------------------------------------------------------ answers */

static enum MHD_Result
send_buffer(http_ctx_t *c, int status, const char *content_type, char *data, size_t len, int retry_after)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    request_t *req = R(c);
    enum MHD_Result ret;
    int i;

    if (!r) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", content_type);
    MHD_add_response_header(r, "X-Request-Id", req->rid);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    for (i = 0; i < req->nheaders; i++)
        MHD_add_response_header(r, req->headers[i].name, req->headers[i].value);
    if (retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    ret = MHD_queue_response(c->conn, (unsigned)status, r);
    MHD_destroy_response(r);
    if (ret == MHD_YES)
        req->status = status;
    return ret;
}

enum MHD_Result
http_send_bytes(http_ctx_t *c, int status, const char *content_type, char *data, size_t len)
{
    return send_buffer(c, status, content_type, data, len, 0);
}

enum MHD_Result
http_send_json(http_ctx_t *c, int status, json_t *doc)
{
    char *text = doc ? json_text_dump(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    if (!text) {
        api_error_t e;
        api_error_set(&e, 500, "internal", NULL, "the answer could not be built; retry");
        return http_send_error(c, &e);
    }
    return send_buffer(c, status, "application/json; charset=utf-8", text, strlen(text), 0);
}

enum MHD_Result
http_send_error(http_ctx_t *c, const api_error_t *e)
{
    char *text = api_error_json(e);

    if (e->status >= 500)
        log_warn("%s %s -> %d %s: %s", c->method, c->path, e->status, e->code, e->message);
    else
        log_info("%s %s -> %d %s%s%s", c->method, c->path, e->status, e->code, e->field[0] ? " field " : "",
                 e->field);
    if (!text)
        return MHD_NO;
    return send_buffer(c, e->status, "application/json; charset=utf-8", text, strlen(text), e->retry_after);
}

enum MHD_Result
http_fail(http_ctx_t *c, int status, const char *code, const char *field, const char *fmt, ...)
{
    api_error_t e;
    va_list ap;

    api_error_set(&e, status, code, field, "%s", "");
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    if (status == 503 || status == 429)
        e.retry_after = 2;
    return http_send_error(c, &e);
}

int
http_check_waybill(http_ctx_t *c, const char *waybill, const char *field, enum MHD_Result *ret)
{
    s10_status_t st = s10_validate(waybill, strlen(waybill));

    if (st == S10_OK)
        return 0;
    *ret = http_fail(c, 400, "invalid_waybill", field, "%.20s is not a valid S10 item number: %s", waybill,
                     s10_status_message(st));
    return -1;
}

void
http_store_error(api_error_t *err, store_rc_t rc, const char *message)
{
    const char *m = message && *message ? message : NULL;

    switch (rc) {
    case STORE_NOT_FOUND:
        api_error_set(err, 404, "not_found", NULL, "%s", m ? m : "no such thing on this gateway");
        break;
    case STORE_CONFLICT:
    case STORE_EXISTS:
        api_error_set(err, 409, "conflict", NULL, "%s", m ? m : "this conflicts with what the gateway holds");
        break;
    case STORE_EMPTY:
        api_error_set(err, 503, "code_pool_empty", NULL, "%s",
                      m ? m : "no S10 waybill numbers left; an administrator must import a range (bcci codes import)");
        err->retry_after = 60;
        break;
    case STORE_BUSY:
        api_error_set(err, 503, "storage_unavailable", NULL, "%s",
                      m ? m : "the database cannot do this right now; retry later");
        err->retry_after = 2;
        break;
    default:
        api_error_set(err, 500, "internal", NULL, "%s", m ? m : "the store failed; see the server log");
        break;
    }
}

/* agency_owns - 1 when the thing named by key belongs to the caller's agency, 0 when it is
 * another agency's or unknown, -1 on a storage error */
static int
agency_owns(http_ctx_t *c, http_scope_t kind, const char *key)
{
    static const store_owned_t owned[] = { STORE_OWNED_DOSSIER, STORE_OWNED_DOSSIER, STORE_OWNED_WAYBILL,
                                           STORE_OWNED_MANIFEST, STORE_OWNED_JOB };
    char agency[STORE_CODE_MAX];
    store_tx_t *tx = NULL;
    store_rc_t rc;

    if (store_tx_begin(c->api->store, STORE_READ, &tx) != STORE_OK)
        return -1;
    rc = store_dossiers_agency_of(tx, owned[kind], key, agency);
    store_tx_abort(&tx);
    if (rc == STORE_OK)
        return strcmp(agency, c->agency) == 0;
    return rc == STORE_NOT_FOUND ? 0 : -1;
}

/* check_scope - 0 when the caller may reach what the route's '*' names; else answers 404 or 503 */
static int
check_scope(http_ctx_t *c, http_scope_t kind, const char *key, enum MHD_Result *ret)
{
    static const char *const what[] = { "", "dossier", "shipment", "manifest", "job" };
    int owns;

    if (kind == HTTP_SCOPE_NONE || !c->agency || !*c->agency)
        return 0;
    owns = agency_owns(c, kind, key);
    if (owns > 0)
        return 0;
    if (owns < 0)
        *ret = http_fail(c, 503, "storage_unavailable", NULL, "the database cannot be read; retry later");
    else /* unknown and another agency's look the same: codes of other agencies cannot be probed */
        *ret = http_fail(c, 404, "not_found", NULL, "no %s %.40s for agency %s (the agency of this token)",
                         what[kind], key, c->agency);
    return -1;
}

/* ------------------------------------------------------------ engine */

engine_op_t *
http_op(http_ctx_t *c)
{
    return &R(c)->op;
}

/* render_push - queue req for a render thread (called on the engine thread) */
static void
render_push(http_api_t *api, request_t *req)
{
    pthread_mutex_lock(&api->render_lock);
    if (api->render_stopping) {
        /* the render threads are gone or going: finish draws on the HTTP thread instead */
        pthread_mutex_unlock(&api->render_lock);
        MHD_resume_connection(req->conn);
        return;
    }
    req->render_next = NULL;
    if (api->render_tail)
        api->render_tail->render_next = req;
    else
        api->render_head = req;
    api->render_tail = req;
    pthread_cond_signal(&api->render_cond);
    pthread_mutex_unlock(&api->render_lock);
}

/* render_loop - draw what was queued, then hand the connection back to its HTTP thread. The
 * queue is drained before the thread ends, so a stop never leaves a connection suspended. */
static void *
render_loop(void *arg)
{
    http_api_t *api = arg;

    pthread_setname_np(pthread_self(), "bccid-render");
    pthread_mutex_lock(&api->render_lock);
    for (;;) {
        request_t *req;

        while (!api->render_head && !api->render_stopping)
            pthread_cond_wait(&api->render_cond, &api->render_lock);
        req = api->render_head;
        if (!req)
            break; /* stopping, and nothing left */
        api->render_head = req->render_next;
        if (!api->render_head)
            api->render_tail = NULL;
        pthread_mutex_unlock(&api->render_lock);
        req->render(req->render_arg);
        MHD_resume_connection(req->conn);
        pthread_mutex_lock(&api->render_lock);
    }
    pthread_mutex_unlock(&api->render_lock);
    return NULL;
}

static void
op_committed(engine_op_t *op, void *cls)
{
    request_t *req = cls;

    if (req->render && op->status < 300 && op->result && req->api->nrender > 0) {
        render_push(req->api, req);
        return;
    }
    MHD_resume_connection(req->conn);
}

enum MHD_Result
http_submit(http_ctx_t *c, engine_op_kind_t kind, http_handler_fn finish)
{
    request_t *req = R(c);

    req->op.kind = kind;
    req->op_queued = 1;
    req->finish = finish;
    req->conn = c->conn;
    MHD_suspend_connection(c->conn);
    engine_submit_async(c->api->engine, &req->op, op_committed, req);
    return MHD_YES;
}

enum MHD_Result
http_submit_call(http_ctx_t *c, engine_write_fn fn, void *arg, http_handler_fn finish)
{
    R(c)->op.write_fn = fn;
    R(c)->op.write_arg = arg;
    return http_submit(c, ENGINE_OP_CALL, finish);
}

enum MHD_Result
http_submit_rendered(http_ctx_t *c, engine_write_fn fn, void *arg, void (*render)(void *arg), http_handler_fn finish)
{
    R(c)->render = render;
    R(c)->render_arg = arg;
    return http_submit_call(c, fn, arg, finish);
}

enum MHD_Result
http_finish_default(http_ctx_t *c)
{
    engine_op_t *op = http_op(c);

    if (op->status >= 300 || !op->result)
        return http_send_error(c, &op->err);
    return http_send_json(c, op->status, json_incref(op->result));
}

/* ------------------------------------------------------------ routing */

/* match - 1 when path fits pattern, segment by segment. A pattern segment "*" takes any
 * non-empty segment, "*.pdf" any segment ending in ".pdf"; the part matched by '*' is
 * copied into buf and pointed to by args. */
static int
match(const char *pattern, const char *path, char *buf, size_t buflen, const char **args, int *nargs)
{
    const char *p = pattern, *q = path;
    size_t used = 0;

    *nargs = 0;
    while (*p == '/' && *q == '/') {
        size_t pl, ql;

        p++;
        q++;
        pl = strcspn(p, "/");
        ql = strcspn(q, "/");
        if (p[0] == '*') {
            size_t sl = pl - 1; /* literal suffix after '*' */
            size_t n;

            if (ql <= sl || strncmp(q + ql - sl, p + 1, sl) != 0)
                return 0;
            n = ql - sl;
            if (*nargs == HTTP_MAX_ARGS || used + n + 1 > buflen)
                return 0;
            memcpy(buf + used, q, n);
            buf[used + n] = '\0';
            args[(*nargs)++] = buf + used;
            used += n + 1;
        } else if (pl != ql || strncmp(p, q, pl) != 0) {
            return 0;
        }
        p += pl;
        q += ql;
    }
    return *p == '\0' && *q == '\0';
}

/* find_route - the route of c's method and path; *index its place in the tables (ROUTES_MAX when none) */
static const http_route_t *
find_route(http_ctx_t *c, char *buf, size_t buflen, int *path_known, int *index)
{
    size_t t;
    const http_route_t *r;
    int i = 0;

    *path_known = 0;
    for (t = 0; t < sizeof route_tables / sizeof route_tables[0]; t++) {
        for (r = route_tables[t]; r->method; r++, i++) {
            if (!match(r->pattern, c->path, buf, buflen, c->args, &c->nargs))
                continue;
            *path_known = 1;
            if (strcmp(r->method, c->method) == 0) {
                *index = i < ROUTES_MAX ? i : ROUTES_MAX;
                return r;
            }
        }
    }
    c->nargs = 0;
    *index = ROUTES_MAX;
    return NULL;
}

/* authorise - 0 when the caller may use route (sets role/client), else answers 401/403 */
static int
authorise(http_ctx_t *c, const http_route_t *route, enum MHD_Result *ret)
{
    request_t *req = R(c);
    const char *auth = http_header(c, "Authorization");
    auth_client_t who;
    int rc;

    if (!auth || strncmp(auth, "Bearer ", 7) != 0) {
        if (route->roles & ROLE_PUBLIC)
            return 0;
        http_add_header(c, "WWW-Authenticate", "Bearer realm=\"bcci\"");
        *ret = http_fail(c, 401, "unauthorized", NULL,
                         "this route needs a bearer token (Authorization: Bearer …); ask an administrator for one "
                         "(bcci token create)");
        return -1;
    }
    rc = auth_check(c->api->store, auth + 7, &who);
    if (rc < 0) {
        *ret = http_fail(c, 503, "storage_unavailable", NULL, "cannot check the token now; retry later");
        return -1;
    }
    if (rc == 1) {
        http_add_header(c, "WWW-Authenticate", "Bearer realm=\"bcci\", error=\"invalid_token\"");
        *ret = http_fail(c, 401, "unauthorized", NULL, "the token is unknown or revoked");
        return -1;
    }
    if (!(route->roles & (who.role | ROLE_PUBLIC))) {
        *ret = http_fail(c, 403, "forbidden", NULL, "the role %s may not call %s %s", auth_role_name(who.role),
                         route->method, route->pattern);
        return -1;
    }
    req->role = who.role;
    snprintf(req->client, sizeof req->client, "%s", who.name);
    snprintf(req->agency, sizeof req->agency, "%s", who.agency);
    c->role = who.role;
    c->client = req->client;
    c->agency = req->agency;
    return 0;
}

static enum MHD_Result
dispatch(http_ctx_t *c)
{
    request_t *req = R(c);
    char argbuf[600];
    int path_known;
    enum MHD_Result ret;

    req->route = find_route(c, argbuf, sizeof argbuf, &path_known, &req->route_index);
    if (!req->route) {
        if (path_known)
            return http_fail(c, 405, "method_not_allowed", NULL, "%s is not allowed on %s", c->method, c->path);
        return http_fail(c, 404, "not_found", NULL, "no route %.200s; see docs/openapi.yaml for the API", c->path);
    }
    if (authorise(c, req->route, &ret) != 0 || check_scope(c, req->route->scope, c->args[0], &ret) != 0)
        return ret;
    return req->route->handler(c);
}

/* count_content_length - flags req when a second Content-Length differs from the first */
static enum MHD_Result
count_content_length(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    request_t *req = cls;

    (void)kind;
    if (strcasecmp(key, "Content-Length") != 0)
        return MHD_YES;
    if (req->first_length[0] && strcmp(req->first_length, value) != 0)
        req->bad_length = 1;
    else
        snprintf(req->first_length, sizeof req->first_length, "%.31s", value);
    return MHD_YES;
}

/* new_request_id - 12 URL-safe characters naming this request in logs and answers. They need
 * to be distinct, not secret: a keyed permutation of a counter (splitmix64's finaliser is a
 * bijection on 64 bits) is, without an OpenSSL RAND_bytes call and its lock per request. */
static void
new_request_id(http_api_t *api, char out[13])
{
    uint64_t z = __atomic_add_fetch(&api->rid_counter, 1, __ATOMIC_RELAXED) + api->rid_key;
    uint8_t raw[9];
    int i;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (i = 0; i < 8; i++)
        raw[i] = (uint8_t)(z >> (8 * i));
    raw[8] = (uint8_t)(api->rid_key >> 56);
    base64url_encode(raw, sizeof raw, out);
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
               const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct http_api *api = cls;
    request_t *req = *con_cls;
    http_ctx_t c;
    enum MHD_Result ret;

    (void)version;
    if (!req) {
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        __atomic_add_fetch(&api->active, 1, __ATOMIC_SEQ_CST);
        req->api = api;
        clock_gettime(CLOCK_MONOTONIC, &req->started);
        req->route_index = ROUTES_MAX;
        buf_init(&req->body, api->cfg.max_body);
        if (rid && ident_safe_rid(rid)) {
            snprintf(req->rid, sizeof req->rid, "%s", rid);
        } else {
            new_request_id(api, req->rid);
        }
        *con_cls = req;
        {
            const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
            req->slot = ci ? ci->socket_context : NULL;
        }
        if (cl && strtoull(cl, NULL, 10) > api->cfg.max_body)
            req->too_big = 1;
        /* request smuggling: a proxy may have framed the body by the other length */
        MHD_get_connection_values(conn, MHD_HEADER_KIND, count_content_length, req);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!req->too_big && !req->bad_length && buf_append(&req->body, upload_data, *upload_data_size) != BUF_OK)
            req->too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* headers and body are in: from here on, however long the answer takes, no cut */
    http_deadline_received(req->slot);
    memset(&c, 0, sizeof c);
    c.api = api;
    c.conn = conn;
    c.method = method;
    c.path = url;
    c.req = req;
    c.role = req->role;
    c.client = req->client;
    c.agency = req->agency;
    log_set_request_id(req->rid);
    if (req->op_queued) {
        /* resumed after the engine committed (or refused) the write; the route's '*'
         * arguments are matched again so the finish function sees them too */
        char argbuf[600];
        int known, index;
        find_route(&c, argbuf, sizeof argbuf, &known, &index);
        ret = req->op.done ? req->finish(&c) : MHD_YES;
    } else if (req->bad_length) {
        ret = http_fail(&c, 400, "bad_request", NULL, "the request has two different Content-Length headers");
    } else if (!utf8_valid(url, strlen(url))) {
        /* never echo or log the raw bytes: logs and JSON answers stay valid UTF-8 */
        c.path = "(path with invalid UTF-8)";
        ret = http_fail(&c, 400, "invalid_path", NULL, "the URL path is not valid UTF-8 once %%-decoded");
    } else if (req->too_big) {
        ret = http_fail(&c, 413, "body_too_large", NULL, "the body exceeds %zu bytes; split the request",
                        api->cfg.max_body);
    } else {
        ret = dispatch(&c);
    }
    log_set_request_id(NULL);
    return ret;
}

/* count_request - the request's route, status and time into the metrics (lock-free) */
static void
count_request(struct http_api *api, const request_t *req)
{
    route_stats_t *st = &api->stats[req->route_index];
    struct timespec now;
    int64_t us;
    int b;

    if (req->status < CODE_MIN || req->status >= CODE_MIN + CODE_SLOTS)
        return; /* never answered (the client went away) */
    clock_gettime(CLOCK_MONOTONIC, &now);
    us = (int64_t)(now.tv_sec - req->started.tv_sec) * 1000000 + (now.tv_nsec - req->started.tv_nsec) / 1000;
    if (us < 0)
        us = 0;
    for (b = 0; b < LAT_BUCKETS - 1 && (double)us / 1e6 > lat_bounds[b]; b++)
        ;
    __atomic_add_fetch(&st->codes[req->status - CODE_MIN], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->buckets[b], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->sum_us, (uint64_t)us, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->count, 1, __ATOMIC_RELAXED);
}

/* histogram - one route's latency histogram, when it served anything */
static void
histogram(buf_t *b, const route_stats_t *st, const char *route, const char *method)
{
    uint64_t cum = 0;
    int k;

    if (!__atomic_load_n(&st->count, __ATOMIC_RELAXED))
        return;
    for (k = 0; k < LAT_BUCKETS; k++) {
        char le[16];

        cum += __atomic_load_n(&st->buckets[k], __ATOMIC_RELAXED);
        if (k < LAT_BUCKETS - 1)
            snprintf(le, sizeof le, "%g", lat_bounds[k]);
        else
            snprintf(le, sizeof le, "+Inf");
        buf_appendf(b, "bcci_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"%s\"} %" PRIu64 "\n",
                    route, method, le, cum);
    }
    buf_appendf(b, "bcci_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n", route, method,
                (double)__atomic_load_n(&st->sum_us, __ATOMIC_RELAXED) / 1e6);
    buf_appendf(b, "bcci_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %" PRIu64 "\n", route,
                method, cum);
}

void
http_render_request_metrics(http_ctx_t *c, buf_t *b)
{
    const route_stats_t *all = c->api->stats;
    const http_route_t *r;
    size_t t;
    int i = 0, k;

    buf_appendf(b, "# HELP bcci_http_requests_total HTTP requests answered since bccid started, by route pattern, "
                   "method and status code.\n# TYPE bcci_http_requests_total counter\n");
    for (t = 0; t < sizeof route_tables / sizeof route_tables[0]; t++)
        for (r = route_tables[t]; r->method && i < ROUTES_MAX; r++, i++)
            for (k = 0; k < CODE_SLOTS; k++) {
                uint64_t n = __atomic_load_n(&all[i].codes[k], __ATOMIC_RELAXED);
                if (n)
                    buf_appendf(b, "bcci_http_requests_total{route=\"%s\",method=\"%s\",code=\"%d\"} %" PRIu64 "\n",
                                r->pattern, r->method, k + CODE_MIN, n);
            }
    for (k = 0; k < CODE_SLOTS; k++) {
        uint64_t n = __atomic_load_n(&all[ROUTES_MAX].codes[k], __ATOMIC_RELAXED);
        if (n)
            buf_appendf(b, "bcci_http_requests_total{route=\"unmatched\",method=\"any\",code=\"%d\"} %" PRIu64 "\n",
                        k + CODE_MIN, n);
    }
    buf_appendf(b, "# HELP bcci_http_request_duration_seconds Time from a request's headers to its completion, "
                   "by route pattern.\n# TYPE bcci_http_request_duration_seconds histogram\n");
    i = 0;
    for (t = 0; t < sizeof route_tables / sizeof route_tables[0]; t++)
        for (r = route_tables[t]; r->method && i < ROUTES_MAX; r++, i++)
            histogram(b, &all[i], r->pattern, r->method);
    histogram(b, &all[ROUTES_MAX], "unmatched", "any");
}

static void
request_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    request_t *req = *con_cls;
    struct http_api *api = cls;
    int i;

    (void)conn;
    (void)toe;
    if (!req)
        return;
    http_deadline_restart(req->slot); /* keep-alive: the next request's time starts now */
    count_request(api, req);
    buf_free(&req->body);
    json_decref(req->op.result);
    for (i = req->nkeep - 1; i >= 0; i--)
        req->keep[i].free_fn(req->keep[i].p);
    free(req);
    *con_cls = NULL;
    __atomic_sub_fetch(&api->active, 1, __ATOMIC_SEQ_CST);
}

/* notify_connection - a deadline slot per connection, kept as libmicrohttpd's socket context;
 * CLOSED comes before libmicrohttpd closes the descriptor */
static void
notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode toe)
{
    struct http_api *api = cls;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? http_deadline_open(api->deadline, ci->connect_fd) : NULL;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        http_deadline_close(api->deadline, *socket_context);
        *socket_context = NULL;
    }
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("http: %s", msg);
}

static void
stop_render_pool(http_api_t *self)
{
    int i;

    pthread_mutex_lock(&self->render_lock);
    self->render_stopping = 1;
    pthread_cond_broadcast(&self->render_cond);
    pthread_mutex_unlock(&self->render_lock);
    for (i = 0; i < self->nrender; i++)
        pthread_join(self->render_threads[i], NULL);
    self->nrender = 0;
}

unsigned
http_api_threads(const http_api_t *self)
{
    return self->threads;
}

http_api_t *
http_api_start(engine_t *engine, store_t *store, const http_api_config_t *cfg, char *err, size_t errlen)
{
    http_api_t *self = calloc(1, sizeof *self);
    struct sockaddr_in addr;
    char host[64];
    const char *colon = strrchr(cfg->listen, ':');
    const union MHD_DaemonInfo *info;
    struct MHD_OptionItem pool[2];
    int port;

    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->engine = engine;
    self->store = store;
    self->cfg = *cfg;
    if (random_bytes(&self->rid_key, sizeof self->rid_key) != 0) {
        struct timespec now;

        clock_gettime(CLOCK_REALTIME, &now);
        self->rid_key = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
    }
    self->stats = calloc(ROUTES_MAX + 1, sizeof *self->stats);
    if (!self->stats) {
        snprintf(err, errlen, "out of memory");
        free(self);
        return NULL;
    }
    if (!colon || colon == cfg->listen || (size_t)(colon - cfg->listen) >= sizeof host) {
        snprintf(err, errlen, "http_listen must be HOST:PORT, e.g. 127.0.0.1:8080 (got '%s')", cfg->listen);
        free(self->stats);
        free(self);
        return NULL;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - cfg->listen), cfg->listen);
    port = (int)strtol(colon + 1, NULL, 10);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "http_listen host '%s' is not an IPv4 address", host);
        free(self->stats);
        free(self);
        return NULL;
    }
    self->deadline = http_deadline_new(cfg->request_deadline_s ? cfg->request_deadline_s : 30u, err, errlen);
    if (!self->deadline) {
        free(self->stats);
        free(self);
        return NULL;
    }
    pthread_mutex_init(&self->render_lock, NULL);
    pthread_cond_init(&self->render_cond, NULL);
    {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        /* render threads: as many as there are CPUs, drawing is all CPU; without any, finish
         * draws itself */
        int want = cpus < 1 ? 1 : cpus > HTTP_RENDER_THREADS_MAX ? HTTP_RENDER_THREADS_MAX : (int)cpus;

        /* HTTP threads: the engine is one thread, busy whenever these are; with a pool as
         * large as the machine they take turns with it on every core, and the single writer
         * that every request waits for spent a quarter of its time runnable but off a CPU
         * (make bench: 12-18 % more intake on 2 cores with one HTTP thread than with two) */
        self->threads = cfg->threads ? cfg->threads : cpus > 1 ? (unsigned)(cpus - 1) : 1u;

        while (self->nrender < want &&
               pthread_create(&self->render_threads[self->nrender], NULL, render_loop, self) == 0)
            self->nrender++;
        if (self->nrender < want)
            log_warn("http: %d of %d render threads started; labels are drawn on the HTTP threads meanwhile",
                     self->nrender, want);
    }
    /* one thread is no pool: libmicrohttpd warns at a pool size of 0 or 1, so the option is
     * left out then and its polling thread serves every connection */
    pool[0].option = self->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END;
    pool[0].value = (intptr_t)self->threads;
    pool[0].ptr_value = NULL;
    pool[1].option = MHD_OPTION_END;
    pool[1].value = 0;
    pool[1].ptr_value = NULL;
    /* poll(2), not epoll: every dossier suspends its connection while the engine writes it,
     * and libmicrohttpd takes a suspended connection out of its epoll set and puts it back on
     * resume (two epoll_ctl calls), and reads an edge-triggered socket until EAGAIN (a second
     * recv). With poll each request costs one recv and one send, and one poll call serves
     * every connection ready at once: three system calls a dossier fewer, at ~3 µs each on a
     * virtual machine (make bench: 5-10 % more intake at 32 connections). poll's cost grows
     * with the connections open, which the connection limit bounds. */
    self->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, access_handler, self,
        /* the logger first: an option before it would make libmicrohttpd warn on every start */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_ARRAY, pool, MHD_OPTION_NOTIFY_COMPLETED,
        request_completed, self, MHD_OPTION_NOTIFY_CONNECTION, notify_connection, self,
        MHD_OPTION_CONNECTION_LIMIT, cfg->connection_limit ? cfg->connection_limit : 1024,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s ? cfg->timeout_s : 15u, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        cfg->per_ip_limit ? cfg->per_ip_limit : 64u,
        /* each connection's pool holds its headers and read buffer (bodies go to our own
         * buffer); libmicrohttpd zeroes the pool for every request, and its default 32 KiB
         * made that memset 7% of an HTTP thread's work at intake. 16 KiB still takes headers
         * far larger than any client of this API sends. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
    if (!self->daemon) {
        snprintf(err, errlen, "cannot listen on %s (port taken or address not local?)", cfg->listen);
        stop_render_pool(self);
        pthread_cond_destroy(&self->render_cond);
        pthread_mutex_destroy(&self->render_lock);
        http_deadline_destroy(&self->deadline);
        free(self->stats);
        free(self);
        return NULL;
    }
    info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : port;
    return self;
}

int
http_api_port(const http_api_t *self)
{
    return self->port;
}

void
http_api_stop(http_api_t **selfp)
{
    http_api_t *self = *selfp;

    if (!self)
        return;
    /* stop accepting, then give answers already on their way (a write the engine just
     * committed, resumed from its suspension) a moment to reach their clients */
    {
        MHD_socket lsock = MHD_quiesce_daemon(self->daemon);
        int64_t deadline = clock_now_ms() + 3000;

        while (__atomic_load_n(&self->active, __ATOMIC_SEQ_CST) > 0 && clock_now_ms() < deadline) {
            struct timespec pause = { 0, 10 * 1000000 };
            nanosleep(&pause, NULL);
        }
        /* before the daemon: a connection suspended for drawing is resumed by its render
         * thread, which must be done with the request before libmicrohttpd frees it */
        stop_render_pool(self);
        MHD_stop_daemon(self->daemon);
        if (lsock != MHD_INVALID_SOCKET)
            close(lsock);
    }
    /* after the daemon: every connection has closed, and its slot with it */
    http_deadline_destroy(&self->deadline);
    pthread_cond_destroy(&self->render_cond);
    pthread_mutex_destroy(&self->render_lock);
    free(self->stats);
    free(self);
    *selfp = NULL;
}

/* http_api_routes - every route, for listings and the OpenAPI check */
json_t *
http_api_routes(void)
{
    json_t *out = json_array();
    size_t t;
    const http_route_t *r;

    for (t = 0; t < sizeof route_tables / sizeof route_tables[0]; t++)
        for (r = route_tables[t]; r->method; r++) {
            json_t *roles = json_array();
            unsigned b;
            if (r->roles & ROLE_PUBLIC)
                json_array_append_new(roles, json_string("public"));
            for (b = 1; b <= ROLE_ADMIN; b <<= 1)
                if (r->roles & b)
                    json_array_append_new(roles, json_string(auth_role_name(b)));
            json_array_append_new(out, json_pack("{s:s, s:s, s:o, s:s}", "method", r->method, "path", r->pattern,
                                                 "roles", roles, "summary", r->summary ? r->summary : ""));
        }
    return out;
}
