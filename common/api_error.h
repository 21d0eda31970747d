/*
 * api_error - the error value every API-facing function fills on failure
 *
 * Rendered as {"error": {"code": …, "field": …, "message": …}} with the HTTP
 * status it carries (design §7). Fixed-size, no allocation.
 */
#ifndef BCCI_API_ERROR_H
#define BCCI_API_ERROR_H

typedef struct {
    int status;            /* HTTP status: 400, 404, 409, 413, 415, 422, 503 … */
    char code[40];         /* invalid_json, invalid_field, not_found, conflict … */
    char field[64];        /* dotted path of the offending field, or "" */
    char message[400];     /* what was wrong and what to do */
    int retry_after;       /* seconds, for 429 and 503; 0 = none */
} api_error_t;

void api_error_set(api_error_t *e, int status, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* api_error_json - render e as a JSON document (caller frees) */
char *api_error_json(const api_error_t *e);

#endif
