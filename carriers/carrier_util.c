/*
 * carrier_util - helpers shared by the carrier adapters (see carrier_util.h)
 */
#include "carriers/carrier_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "carriers/carrier_http.h"
#include "clock.h"
#include "secret.h"

const char *
carrier_cfg_str(const config_t *cfg, const char *key, const char *fallback)
{
    const char *v = cfg ? config_get(cfg, key) : NULL;

    return (v && *v) ? v : fallback;
}

int
carrier_copy_checked(char *dst, size_t cap, const char *src, const char *key, char *err, size_t errlen)
{
    size_t n = strlen(src);

    if (n >= cap) {
        snprintf(err, errlen, "%s is too long (%zu bytes, at most %zu)", key, n, cap - 1);
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

int
carrier_base_url(const config_t *cfg, const char *key, const char *api_name, int allow_insecure, char *base,
                 size_t cap, char *err, size_t errlen)
{
    const char *url = carrier_cfg_str(cfg, key, NULL);
    size_t n;

    if (!url) {
        snprintf(err, errlen, "%s is not set: give the %s API base URL", key, api_name);
        return -1;
    }
    if (carrier_http_check_url(url, allow_insecure, err, errlen) != 0 ||
        carrier_copy_checked(base, cap, url, key, err, errlen) != 0)
        return -1;
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        base[--n] = '\0';
    return 0;
}

int
carrier_secret_read(const char *key, const char *path, char *out, size_t cap, size_t *len, char *err,
                    size_t errlen)
{
    FILE *f;
    size_t n;

    /* secrets live in files nobody else can read (design §8) */
    if (secret_file_private(path, err, errlen) != 0)
        return -1;
    f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %s %s: %s", key, path, strerror(errno));
        return -1;
    }
    n = fread(out, 1, cap - 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read %s %s: read error", key, path);
        fclose(f);
        return -1;
    }
    if (n == cap - 1 && fgetc(f) != EOF) {
        snprintf(err, errlen, "%s %s is longer than %zu bytes", key, path, cap - 1);
        fclose(f);
        return -1;
    }
    fclose(f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' || out[n - 1] == '\t'))
        out[--n] = '\0';
    if (n == 0) {
        snprintf(err, errlen, "%s %s is empty", key, path);
        return -1;
    }
    if (len)
        *len = n;
    return 0;
}

void
carrier_copy_utf8(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

char *
carrier_instruction(const carrier_shipment_t *s, char *out, size_t cap)
{
    char buf[2048];
    size_t n = 0;
    int w;

    buf[0] = '\0';
    if (s->authorised_name && *s->authorised_name) {
        w = s->authorised_relation && *s->authorised_relation
                ? snprintf(buf + n, sizeof buf - n, "Người được ủy quyền nhận: %s (%s).", s->authorised_name,
                           s->authorised_relation)
                : snprintf(buf + n, sizeof buf - n, "Người được ủy quyền nhận: %s.", s->authorised_name);
        n += w > 0 && (size_t)w < sizeof buf - n ? (size_t)w : 0;
    }
    if (s->take_back && *s->take_back) {
        w = snprintf(buf + n, sizeof buf - n, "%sThu hồi: %s.", n ? " " : "", s->take_back);
        n += w > 0 && (size_t)w < sizeof buf - n ? (size_t)w : 0;
    }
    if (s->note && *s->note) {
        w = snprintf(buf + n, sizeof buf - n, "%sGhi chú: %s", n ? " " : "", s->note);
        n += w > 0 && (size_t)w < sizeof buf - n ? (size_t)w : 0;
    }
    carrier_copy_utf8(out, cap, buf);
    return out;
}

const char *
carrier_json_scalar_text(const json_t *v, char *tmp, size_t cap)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(tmp, cap, "%lld", (long long)json_integer_value(v));
        return tmp;
    }
    return NULL;
}

void
carrier_json_fee(const json_t *v, long long *fee)
{
    if (json_is_integer(v))
        *fee = json_integer_value(v);
    else if (json_is_real(v))
        *fee = (long long)json_real_value(v);
}

int
carrier_need_text(const char *label, const char *v, char *err, size_t errlen)
{
    if (!v || !*v) {
        snprintf(err, errlen, "%s is required", label);
        return -1;
    }
    return 0;
}

int
carrier_check_shipment(const carrier_shipment_t *s, char *err, size_t errlen)
{
    if (carrier_need_text("dossier_code", s->dossier_code, err, errlen) ||
        carrier_need_text("waybill", s->waybill, err, errlen) ||
        carrier_need_text("sender.name", s->sender.name, err, errlen) ||
        carrier_need_text("sender.address", s->sender.address, err, errlen) ||
        carrier_need_text("receiver.name", s->receiver.name, err, errlen) ||
        carrier_need_text("receiver.phone", s->receiver.phone, err, errlen) ||
        carrier_need_text("receiver.address", s->receiver.address, err, errlen))
        return -1;
    return 0;
}

int
carrier_take_ref(const char *id, carrier_result_t *out)
{
    if (!id || !*id || strlen(id) >= sizeof out->carrier_ref)
        return -1;
    memcpy(out->carrier_ref, id, strlen(id) + 1);
    return 0;
}

int
carrier_need_ref(const carrier_shipment_t *s, const char *what, const char *ref_name, carrier_result_t *out)
{
    if (s->carrier_ref && *s->carrier_ref)
        return 0;
    snprintf(out->message, sizeof out->message, "%s: the shipment has no %s (it was never booked)", what, ref_name);
    return -1;
}

carrier_status_t
carrier_unknown_ref(const char *what, const char *carrier, const char *ref_name, const char *ref,
                    carrier_result_t *out)
{
    snprintf(out->message, sizeof out->message, "%s: %s does not know %s %.63s", what, carrier, ref_name, ref);
    return CARRIER_FAIL;
}

/* ---- event fields -------------------------------------------------------- */

int
carrier_event_id(const json_t *o, const char *key, size_t idx, char *dst, size_t cap, char *err, size_t errlen)
{
    char tmp[32];
    const char *s = carrier_json_scalar_text(json_object_get(o, key), tmp, sizeof tmp);

    if (!s || !*s || strlen(s) >= cap) {
        snprintf(err, errlen, "event %zu: %s missing, empty or longer than %zu", idx, key, cap - 1);
        return -1;
    }
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int
carrier_event_code(const json_t *o, const char *key, size_t idx, carrier_event_t *e, char *err, size_t errlen)
{
    char tmp[32];
    const char *s = carrier_json_scalar_text(json_object_get(o, key), tmp, sizeof tmp);

    if (!s || !*s || strlen(s) >= sizeof e->raw_code) {
        snprintf(err, errlen, "event %zu: %s missing or not a short code", idx, key);
        return -1;
    }
    memcpy(e->raw_code, s, strlen(s) + 1);
    return 0;
}

int
carrier_event_time(const json_t *o, const char *key, size_t idx, carrier_event_t *e, char *err, size_t errlen)
{
    const char *s = json_string_value(json_object_get(o, key));

    if (!s) {
        snprintf(err, errlen, "event %zu: %s missing (want \"dd/MM/yyyy HH:mm:ss\")", idx, key);
        return -1;
    }
    if (clock_parse(s, &e->carrier_time_ms) != 0) {
        snprintf(err, errlen, "event %zu: %s '%.40s' is not a date (want \"dd/MM/yyyy HH:mm:ss\")", idx, key, s);
        return -1;
    }
    return 0;
}

int
carrier_event_opt_text(const json_t *o, const char *key, size_t idx, const char **out, char *err, size_t errlen)
{
    const json_t *v = json_object_get(o, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        snprintf(err, errlen, "event %zu: %s must be a string", idx, key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* ---- status tables ------------------------------------------------------- */

int
carrier_parse_code(const char *raw, int *code)
{
    size_t i, len;

    *code = 0;
    if (!raw)
        return -1;
    len = strlen(raw);
    if (len == 0 || len > 3)
        return -1;
    for (i = 0; i < len; i++) {
        if (!isdigit((unsigned char)raw[i]))
            return -1;
        *code = *code * 10 + (raw[i] - '0');
    }
    return 0;
}

const carrier_code_t *
carrier_code_find(const carrier_code_t *table, size_t n, int code)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (table[i].code == code)
            return &table[i];
    return NULL;
}

int
carrier_code_map(const carrier_code_t *table, size_t n, const char *raw, carrier_mapping_t *out)
{
    const carrier_code_t *c;
    int code;

    out->status = NULL;
    out->upu = "";
    if (carrier_parse_code(raw, &code) != 0)
        return -1;
    c = carrier_code_find(table, n, code);
    if (!c)
        return -1;
    out->status = c->status;
    out->upu = c->upu;
    return 0;
}

/* ---- event lists --------------------------------------------------------- */

carrier_status_t
carrier_track_events(const json_t *list, const carrier_shipment_t *s, carrier_event_parse_fn parse,
                     const char *what, carrier_event_list_t *events, carrier_result_t *out)
{
    char err[200];
    size_t i;

    for (i = 0; i < json_array_size(list); i++) {
        carrier_event_t *e = carrier_event_list_push(events);

        if (!e) {
            snprintf(out->message, sizeof out->message, "%s: out of memory", what);
            return CARRIER_RETRY;
        }
        if (parse(json_array_get(list, i), i, 0, e, err, sizeof err) != 0) {
            snprintf(out->message, sizeof out->message, "%s: %s", what, err);
            return CARRIER_RETRY;
        }
        carrier_copy_utf8(e->carrier_ref, sizeof e->carrier_ref, s->carrier_ref);
        if (s->waybill)
            carrier_copy_utf8(e->waybill, sizeof e->waybill, s->waybill);
    }
    return CARRIER_OK;
}

int
carrier_webhook_events(const char *body, size_t len, int single_ok, size_t max, const char *shape,
                       carrier_webhook_item_fn item, carrier_event_list_t *events, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root;
    size_t i, n0 = events->n;
    int rc = -1;

    root = json_loadb(body, len, JSON_REJECT_DUPLICATES | (single_ok ? JSON_DECODE_ANY : 0), &jerr);
    if (!root) {
        snprintf(err, errlen, "webhook body is not JSON: %s (line %d)", jerr.text, jerr.line);
        return -1;
    }
    if (single_ok && json_is_object(root)) {
        rc = item(root, 0, events, err, errlen);
        goto out;
    }
    if (!json_is_array(root)) {
        snprintf(err, errlen, "webhook body must be %s", shape);
        goto out;
    }
    if (json_array_size(root) > max) {
        snprintf(err, errlen, "webhook carries %zu events, at most %zu are accepted per call", json_array_size(root),
                 max);
        goto out;
    }
    for (i = 0; i < json_array_size(root); i++)
        if (item(json_array_get(root, i), i, events, err, errlen) != 0)
            goto out;
    rc = 0;
out:
    if (rc != 0)
        events->n = n0; /* all or nothing */
    json_decref(root);
    return rc;
}
