/*
 * carrier - the carrier registry and the generic front of carrier_ops_t
 *
 * Like curl's vtls.c: a static table of backends, allocation of each
 * backend's private state, capability checks before dispatch, and the job
 * payload → carrier_shipment_t conversion shared by every adapter.
 */
#include "carriers/carrier.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const carrier_ops_t carrier_vnpost;
extern const carrier_ops_t carrier_viettel;

static const carrier_ops_t *const carriers[] = {
    &carrier_vnpost,
    &carrier_viettel,
    NULL,
};

struct carrier {
    const carrier_ops_t *ops;
    void *ctx;
};

const carrier_ops_t *
carrier_find(const char *name)
{
    size_t i;

    if (!name)
        return NULL;
    for (i = 0; carriers[i]; i++)
        if (strcmp(carriers[i]->name, name) == 0)
            return carriers[i];
    return NULL;
}

static char carrier_names_buf[256];
static pthread_once_t carrier_names_once = PTHREAD_ONCE_INIT;

static void
carrier_names_build(void)
{
    size_t i, len = 0;

    for (i = 0; carriers[i]; i++) {
        int n = snprintf(carrier_names_buf + len, sizeof carrier_names_buf - len, "%s%s", i ? "," : "",
                         carriers[i]->name);
        if (n < 0 || (size_t)n >= sizeof carrier_names_buf - len)
            break;
        len += (size_t)n;
    }
}

const char *
carrier_names(void)
{
    pthread_once(&carrier_names_once, carrier_names_build);
    return carrier_names_buf;
}

carrier_t *
carrier_new(const carrier_ops_t *ops, const config_t *cfg, char *err, size_t errlen)
{
    carrier_t *self;

    if (!ops) {
        snprintf(err, errlen, "unknown carrier (known: %s)", carrier_names());
        return NULL;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->ops = ops;
    if (ops->ctx_size) {
        self->ctx = calloc(1, ops->ctx_size);
        if (!self->ctx) {
            snprintf(err, errlen, "out of memory");
            free(self);
            return NULL;
        }
    }
    if (ops->init && ops->init(self->ctx, cfg, err, errlen) != 0) {
        /* init cleans up after itself on failure; cleanup must still be safe */
        if (ops->cleanup)
            ops->cleanup(self->ctx);
        free(self->ctx);
        free(self);
        return NULL;
    }
    return self;
}

void
carrier_destroy(carrier_t **selfp)
{
    carrier_t *self = *selfp;

    if (!self)
        return;
    if (self->ops->cleanup)
        self->ops->cleanup(self->ctx);
    free(self->ctx);
    free(self);
    *selfp = NULL;
}

const carrier_ops_t *
carrier_ops(const carrier_t *self)
{
    return self->ops;
}

static carrier_status_t
unsupported(const carrier_t *self, const char *what, carrier_result_t *out)
{
    snprintf(out->message, sizeof out->message, "carrier %s cannot %s", self->ops->name, what);
    return CARRIER_FAIL;
}

static void
result_reset(carrier_result_t *out)
{
    memset(out, 0, sizeof *out);
}

carrier_status_t
carrier_book(carrier_t *self, const carrier_shipment_t *s, carrier_result_t *out)
{
    result_reset(out);
    if (!(self->ops->caps & CARRIER_CAN_BOOK) || !self->ops->book)
        return unsupported(self, "book", out);
    if (s->pickup && !(self->ops->caps & CARRIER_CAN_PICKUP))
        return unsupported(self, "collect from the sender's address (pickup)", out);
    return self->ops->book(self->ctx, s, out);
}

carrier_status_t
carrier_cancel(carrier_t *self, const carrier_shipment_t *s, carrier_result_t *out)
{
    result_reset(out);
    if (!(self->ops->caps & CARRIER_CAN_CANCEL) || !self->ops->cancel)
        return unsupported(self, "cancel", out);
    return self->ops->cancel(self->ctx, s, out);
}

carrier_status_t
carrier_request_return(carrier_t *self, const carrier_shipment_t *s, const char *reason, carrier_result_t *out)
{
    result_reset(out);
    if (!(self->ops->caps & CARRIER_CAN_RETURN) || !self->ops->request_return)
        return unsupported(self, "return", out);
    return self->ops->request_return(self->ctx, s, reason, out);
}

carrier_status_t
carrier_track(carrier_t *self, const carrier_shipment_t *s, carrier_event_list_t *events, carrier_result_t *out)
{
    result_reset(out);
    if (!(self->ops->caps & CARRIER_CAN_TRACK) || !self->ops->track)
        return unsupported(self, "track", out);
    return self->ops->track(self->ctx, s, events, out);
}

/* get_str - borrowed string member; 0 ok (NULL when absent/null and optional), -1 with err */
static int
get_str(const json_t *obj, const char *key, const char *path, int required, const char **out, char *err,
        size_t errlen)
{
    const json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required) {
            snprintf(err, errlen, "%s: missing (a non-empty string is required)", path);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        snprintf(err, errlen, "%s: must be a string", path);
        return -1;
    }
    if (required && json_string_length(v) == 0) {
        snprintf(err, errlen, "%s: must not be empty", path);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int
get_party(const json_t *obj, const char *key, int full, carrier_party_t *p, char *err, size_t errlen)
{
    const json_t *o = json_object_get(obj, key);
    char path[64];

    memset(p, 0, sizeof *p);
    if (!o || !json_is_object(o)) {
        snprintf(err, errlen, "%s: missing or not an object", key);
        return -1;
    }
#define PARTY_FIELD(field, req)                                                                         \
    do {                                                                                                \
        snprintf(path, sizeof path, "%s.%s", key, #field);                                              \
        if (get_str(o, #field, path, (req), &p->field, err, errlen) != 0)                                \
            return -1;                                                                                  \
    } while (0)
    PARTY_FIELD(name, 1);
    PARTY_FIELD(phone, full);
    PARTY_FIELD(address, 1);
    PARTY_FIELD(province_code, full);
    PARTY_FIELD(commune_code, full);
#undef PARTY_FIELD
    return 0;
}

static int
get_int(const json_t *obj, const char *key, long long max, long long *out, char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, key);

    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
        snprintf(err, errlen, "%s: must be an integer between 0 and %lld", key, max);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

int
carrier_shipment_from_json(const json_t *obj, carrier_shipment_t *s, char *err, size_t errlen)
{
    const json_t *v;
    long long n;

    memset(s, 0, sizeof *s);
    if (!obj || !json_is_object(obj)) {
        snprintf(err, errlen, "shipment payload must be a JSON object");
        return -1;
    }
    if (get_str(obj, "request_id", "request_id", 0, &s->request_id, err, errlen) != 0 ||
        get_str(obj, "dossier_code", "dossier_code", 1, &s->dossier_code, err, errlen) != 0 ||
        get_str(obj, "waybill", "waybill", 1, &s->waybill, err, errlen) != 0 ||
        get_str(obj, "service", "service", 0, &s->service, err, errlen) != 0 ||
        get_str(obj, "carrier_ref", "carrier_ref", 0, &s->carrier_ref, err, errlen) != 0 ||
        get_str(obj, "content_note", "content_note", 0, &s->content_note, err, errlen) != 0 ||
        get_str(obj, "service_code", "service_code", 0, &s->service_code, err, errlen) != 0)
        return -1;
    if (s->carrier_ref && !*s->carrier_ref)
        s->carrier_ref = NULL;
    if (s->service_code && !*s->service_code)
        s->service_code = NULL;
    v = json_object_get(obj, "delivery");
    if (v && (!json_is_string(v) || (strcmp(json_string_value(v), "economy") != 0 &&
                                     strcmp(json_string_value(v), "express") != 0))) {
        snprintf(err, errlen, "delivery must be \"economy\" or \"express\"");
        return -1;
    }
    s->express = v && strcmp(json_string_value(v), "express") == 0;
    if (get_party(obj, "sender", 0, &s->sender, err, errlen) != 0 ||
        get_party(obj, "receiver", 1, &s->receiver, err, errlen) != 0)
        return -1;
    if (get_int(obj, "cod_amount", 1000000000000LL, &n, err, errlen) != 0)
        return -1;
    s->cod_amount = n;
    if (get_int(obj, "weight_g", 1000000, &n, err, errlen) != 0)
        return -1;
    s->weight_g = (int)n;
    if (get_int(obj, "pickup_fee", 1000000000000LL, &n, err, errlen) != 0)
        return -1;
    s->pickup_fee = n;
    if (get_str(obj, "note", "note", 0, &s->note, err, errlen) != 0 ||
        get_str(obj, "take_back", "take_back", 0, &s->take_back, err, errlen) != 0 ||
        get_str(obj, "pickup_window", "pickup_window", 0, &s->pickup_window, err, errlen) != 0)
        return -1;
    v = json_object_get(obj, "authorised_person");
    if (v && !json_is_null(v) &&
        (get_str(v, "name", "authorised_person.name", 1, &s->authorised_name, err, errlen) != 0 ||
         get_str(v, "relation", "authorised_person.relation", 0, &s->authorised_relation, err, errlen) != 0))
        return -1;
    v = json_object_get(obj, "pickup");
    if (v && !json_is_null(v)) {
        if (json_is_boolean(v))
            s->pickup = json_is_true(v);
        else if (json_is_integer(v))
            s->pickup = json_integer_value(v) != 0;
        else {
            snprintf(err, errlen, "pickup: must be true or false");
            return -1;
        }
    }
    return 0;
}

carrier_event_t *
carrier_event_list_push(carrier_event_list_t *l)
{
    carrier_event_t *e;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        carrier_event_t *p = realloc(l->items, cap * sizeof *p);

        if (!p)
            return NULL;
        l->items = p;
        l->cap = cap;
    }
    e = &l->items[l->n++];
    memset(e, 0, sizeof *e);
    return e;
}

void
carrier_event_list_free(carrier_event_list_t *l)
{
    if (!l)
        return;
    free(l->items);
    l->items = NULL;
    l->n = 0;
    l->cap = 0;
}

const char *
carrier_status_name(carrier_status_t st)
{
    switch (st) {
    case CARRIER_OK:
        return "ok";
    case CARRIER_RETRY:
        return "retry";
    case CARRIER_FAIL:
        return "fail";
    case CARRIER_THROTTLE:
        return "throttle";
    case CARRIER_CONFIG:
        return "config";
    }
    return "unknown";
}
