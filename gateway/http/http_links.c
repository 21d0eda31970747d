/*
 * http_links - the citizen's tracking link in every API answer about a shipment
 *
 * The case system texts the link to the citizen, so each shipment object the API returns
 * (dossier intake and view, one shipment, the clerk lists, the search) carries
 * "tracking_url": the same link the label's QR holds (label_tracking_url), under
 * public_base_url. See http_internal.h.
 */
#include <string.h>

#include "gateway/http/http_internal.h"
#include "labels/label.h"

json_t *
http_tracking_url(http_ctx_t *c, const char *waybill)
{
    const http_api_config_t *cfg = http_config(c);
    char url[512];

    if (!waybill || !*waybill || !cfg->secret ||
        label_tracking_url(cfg->public_base_url ? cfg->public_base_url : "", waybill, cfg->secret, cfg->secretlen, url,
                           sizeof url) != 0)
        return NULL;
    return json_string(url);
}

/* link_one - obj.tracking_url from obj.waybill, when obj is a shipment without one */
static void
link_one(http_ctx_t *c, json_t *obj)
{
    const char *waybill = json_string_value(json_object_get(obj, "waybill"));
    json_t *url;

    if (!json_is_object(obj) || !waybill || json_object_get(obj, "tracking_url"))
        return;
    url = http_tracking_url(c, waybill);
    if (url)
        json_object_set_new(obj, "tracking_url", url);
}

void
http_link_shipments(http_ctx_t *c, json_t *doc)
{
    json_t *ships = json_object_get(doc, "shipments");
    size_t i;

    if (!json_is_object(doc))
        return;
    link_one(c, doc);
    for (i = 0; i < json_array_size(ships); i++)
        link_one(c, json_array_get(ships, i));
}

enum MHD_Result
http_finish_linked(http_ctx_t *c)
{
    engine_op_t *op = http_op(c);

    if (op->status < 300 && op->result)
        http_link_shipments(c, op->result);
    return http_finish_default(c);
}
