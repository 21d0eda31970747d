/*
 * api_dossiers - dossiers, shipments and timelines (design §7)
 *
 * POST /v1/dossiers validates on the HTTP thread (dossier.c) and hands the
 * write to the engine; the answer waits for the commit. Reads go straight
 * to a pooled read connection.
 */
#include <string.h>

#include "gateway/dossier.h"
#include "gateway/http_internal.h"
#include "log.h"

static void
free_dossier(void *p)
{
    dossier_t *d = p;

    dossier_destroy(&d);
}

static enum MHD_Result
finish_submit(http_ctx_t *c)
{
    engine_op_t *op = http_op(c);

    if (op->status == 201)
        log_debug("dossier accepted");
    return http_finish_default(c);
}

static enum MHD_Result
h_submit(http_ctx_t *c)
{
    dossier_t *d = NULL;
    api_error_t e;
    size_t len;
    const char *body = http_body(c, &len);

    if (!http_require_json(c))
        return http_fail(c, 415, "unsupported_media_type", NULL, "send the dossier as Content-Type: application/json");
    if (dossier_from_json(body, len, http_config(c)->default_carrier, &d, &e) != 0)
        return http_send_error(c, &e);
    http_keep(c, d, free_dossier);
    http_set_request_id(c, d->code);
    http_op(c)->dossier = d;
    return http_submit(c, ENGINE_OP_INTAKE, finish_submit);
}

static enum MHD_Result
read_doc(http_ctx_t *c, int (*fn)(db_t *, const char *, json_t **, api_error_t *), const char *key)
{
    db_t *db = http_reader(c);
    json_t *doc = NULL;
    api_error_t e;
    int rc;

    if (!db)
        return http_fail(c, 503, "storage_unavailable", NULL, "the database cannot be read; retry later");
    rc = fn(db, key, &doc, &e);
    http_reader_put(c, db);
    if (rc != 0)
        return http_send_error(c, &e);
    return http_send_json(c, 200, doc);
}

static enum MHD_Result
h_get_dossier(http_ctx_t *c)
{
    return read_doc(c, store_dossier_json, c->args[0]);
}

static enum MHD_Result
h_get_timeline(http_ctx_t *c)
{
    return read_doc(c, store_timeline_json, c->args[0]);
}

static enum MHD_Result
h_get_shipment(http_ctx_t *c)
{
    enum MHD_Result ret;

    if (http_check_waybill(c, c->args[0], NULL, &ret) != 0)
        return ret;
    return read_doc(c, store_shipment_json, c->args[0]);
}

const http_route_t api_dossier_routes[] = {
    { "POST", "/v1/dossiers", h_submit, ROLE_CASE_SYSTEM | ROLE_ADMIN, "submit a dossier" },
    { "GET", "/v1/dossiers/*", h_get_dossier, ROLES_STAFF, "dossier, shipments, current status" },
    { "GET", "/v1/dossiers/*/timeline", h_get_timeline, ROLES_STAFF, "the case timeline" },
    { "GET", "/v1/shipments/*", h_get_shipment, ROLES_STAFF | ROLE_POST_OFFICE, "one shipment by waybill" },
    { NULL, NULL, NULL, 0, NULL },
};
