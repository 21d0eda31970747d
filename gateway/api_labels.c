/*
 * api_labels - (being written)
 */
#include "gateway/http_internal.h"

const http_route_t api_label_routes[] = {
    { NULL, NULL, NULL, 0, NULL },
};
