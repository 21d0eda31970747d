/*
 * api_error - error values of the HTTP API (see api_error.h)
 */
#include "api_error.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>

void
api_error_set(api_error_t *e, int status, const char *code, const char *field, const char *fmt, ...)
{
    va_list ap;

    e->status = status;
    snprintf(e->code, sizeof e->code, "%s", code);
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    e->retry_after = 0;
}

char *
api_error_json(const api_error_t *e)
{
    json_t *inner = json_pack("{s:s, s:s}", "code", e->code, "message", e->message);
    json_t *root;
    char *out;

    if (e->field[0])
        json_object_set_new(inner, "field", json_string(e->field));
    root = json_pack("{s:o}", "error", inner);
    out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return out;
}
