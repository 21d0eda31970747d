/*
 * http_json - unknown fields in request bodies are refused by name (see http_json.h)
 */
#include "gateway/http/http_json.h"

#include <stdio.h>
#include <string.h>

int
http_json_only(const json_t *obj, const char *const allowed[], const char *prefix, api_error_t *err)
{
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)obj, key, value) {
        size_t i;

        (void)value;
        for (i = 0; allowed[i]; i++)
            if (strcmp(allowed[i], key) == 0)
                break;
        if (!allowed[i]) {
            char path[64];

            snprintf(path, sizeof path, "%s%s%.40s", prefix, *prefix ? "." : "", key);
            api_error_set(err, 400, "unknown_field", path, "%s is not a field of this request; remove it or check "
                          "its spelling", path);
            return -1;
        }
    }
    return 0;
}

json_t *
http_parse_only(http_ctx_t *c, const char *const allowed[], api_error_t *e)
{
    json_t *root = http_parse_object(c, e);

    if (root && http_json_only(root, allowed, "", e) != 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

int
http_body_only(http_ctx_t *c, const char *const allowed[], api_error_t *e)
{
    size_t len, i;
    const char *body = http_body(c, &len);
    json_t *root;

    for (i = 0; i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'); i++) {
    }
    if (i == len)
        return 0;
    root = http_parse_only(c, allowed, e);
    json_decref(root);
    return root ? 0 : -1;
}
