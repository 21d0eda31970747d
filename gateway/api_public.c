/*
 * api_public - (being written)
 */
#include "gateway/http_internal.h"

const http_route_t api_public_routes[] = {
    { NULL, NULL, NULL, 0, NULL },
};
