/*
 * http_json - every request body is checked for unknown fields (design §7)
 *
 * A field the API does not know is refused by name (400 unknown_field), never
 * dropped: "agency" sent for "agency_code" must not silently create a token
 * that reaches every agency. Handlers name their fields in a NULL-terminated
 * list and parse with http_parse_only instead of http_parse_object; the
 * dossier schema (domain/dossier.c) does the same for its nested objects.
 * Nothing here allocates except the parsed body, which the caller owns.
 */
#ifndef BCCI_HTTP_JSON_H
#define BCCI_HTTP_JSON_H

#include <jansson.h>

#include "api_error.h"
#include "gateway/http/http_internal.h"

/* http_json_only - 0 when every key of obj is in allowed (NULL-terminated); else -1
 * with err 400 unknown_field naming prefix.key ("" prefix: the key alone) */
int http_json_only(const json_t *obj, const char *const allowed[], const char *prefix, api_error_t *err);

/* http_parse_only - http_parse_object, then http_json_only on the top level: the body
 * as a JSON object (caller owns) or NULL with e set (400) */
json_t *http_parse_only(http_ctx_t *c, const char *const allowed[], api_error_t *e);

/* http_body_only - for routes whose body is optional: 0 when the body is empty or a
 * JSON object of allowed fields only, else -1 with e (400) */
int http_body_only(http_ctx_t *c, const char *const allowed[], api_error_t *e);

#endif
