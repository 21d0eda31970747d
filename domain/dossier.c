/*
 * dossier - dossier submission parsing and validation (see dossier.h)
 *
 * The schema is a table of fields per object, so the rules read in one place
 * and unknown fields are refused by name instead of being silently dropped.
 */
#include "domain/dossier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/admin_units.h"
#include "domain/calendar.h"
#include "json_text.h"
#include "domain/ident.h"
#include "utf8.h"

typedef enum { F_TEXT, F_CODE, F_BOOL, F_INT, F_OBJECT, F_DOCS, F_NAMES } field_kind_t;
typedef int (*ident_fn)(const char *);

typedef struct field_rule {
    const char *name;
    field_kind_t kind;
    int required;
    size_t min_chars, max_chars;     /* F_TEXT */
    ident_fn check;                  /* F_CODE */
    const char *what;                /* F_CODE: what a valid value looks like */
    const struct field_rule *object; /* F_OBJECT */
} field_rule_t;

static int
ident_email(const char *s)
{
    const char *at = strchr(s, '@');

    return at && at != s && strchr(at, '.') && !strchr(s, ' ') && strlen(s) <= 254;
}

static int
ident_service(const char *s)
{
    return strcmp(s, "return") == 0 || strcmp(s, "send") == 0 || strcmp(s, "both") == 0;
}

/* ident_cccd - a 12-digit citizen ID number (no check digit exists, design §1) */
static int
ident_cccd(const char *s)
{
    size_t i;

    if (strlen(s) != 12)
        return 0;
    for (i = 0; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* the key of the CCCD hash: set once at start-up (dossier_set_id_key), before any thread parses */
static uint8_t id_key[32];
static size_t id_keylen;

void
dossier_set_id_key(const void *key, size_t len)
{
    id_keylen = len > sizeof id_key ? sizeof id_key : len;
    memcpy(id_key, key, id_keylen);
}

/* the service level the citizen chose; the carrier adapter maps it to its own product code */
static int
ident_delivery(const char *s)
{
    return strcmp(s, "economy") == 0 || strcmp(s, "express") == 0;
}

static int
ident_any_code(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              s[i] == '.' || s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

/* ident_date - a calendar date "YYYY-MM-DD" (the Vietnam date of a pick-up) */
static int
ident_date(const char *s)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y, m, d, n = 0;

    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    if (y < 2000 || y > 2100 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    return !(m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

/* ident_hhmm - a time of day "HH:MM", 00:00 to 23:59 */
static int
ident_hhmm(const char *s)
{
    return strlen(s) == 5 && s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' && s[2] == ':' &&
           s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9' && (s[0] < '2' || s[1] <= '3');
}

/* the citizen's pick-up window on the collection leg (VNPost add-on GTG026) */
static const field_rule_t pickup_rules[] = {
    { "date", F_CODE, 1, 0, 0, ident_date, "a date YYYY-MM-DD", NULL },
    { "from", F_CODE, 1, 0, 0, ident_hhmm, "a time HH:MM, e.g. 08:00", NULL },
    { "to", F_CODE, 1, 0, 0, ident_hhmm, "a time HH:MM after from, e.g. 11:30", NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const field_rule_t procedure_rules[] = {
    { "code", F_CODE, 1, 0, 0, ident_any_code, "a procedure code like 1.001234.000.00.00.H23", NULL },
    { "name", F_TEXT, 1, 1, 300, NULL, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const field_rule_t agency_rules[] = {
    { "code", F_CODE, 1, 0, 0, ident_agency_code, "a unit identifier like 000.00.31.H23", NULL },
    { "name", F_TEXT, 1, 1, 200, NULL, NULL, NULL },
    { "address", F_TEXT, 1, 1, 400, NULL, NULL, NULL },
    { "phone", F_CODE, 1, 0, 0, ident_phone, "a Vietnamese phone number, e.g. 02203851234 or 0912345678", NULL },
    { "province_code", F_CODE, 1, 0, 0, ident_province_code, "one of the 34 province codes of QĐ 19/2025, e.g. 01",
      NULL },
    { "commune_code", F_CODE, 1, 0, 0, ident_commune_code, "a 5-digit commune code of QĐ 19/2025, e.g. 00004",
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const field_rule_t recipient_rules[] = {
    { "name", F_TEXT, 1, 1, 100, NULL, NULL, NULL },
    { "phone", F_CODE, 1, 0, 0, ident_phone, "a Vietnamese phone number, e.g. 0912345678 or +84912345678", NULL },
    { "email", F_CODE, 0, 0, 0, ident_email, "an e-mail address", NULL },
    { "address", F_TEXT, 1, 1, 400, NULL, NULL, NULL },
    { "province_code", F_CODE, 1, 0, 0, ident_province_code, "one of the 34 province codes of QĐ 19/2025, e.g. 01",
      NULL },
    { "commune_code", F_CODE, 1, 0, 0, ident_commune_code, "a 5-digit commune code of QĐ 19/2025, e.g. 00004",
      NULL },
    { "id_number", F_CODE, 0, 0, 0, ident_cccd, "the 12-digit CCCD number", NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const field_rule_t result_rules[] = {
    { "summary", F_TEXT, 1, 1, 500, NULL, NULL, NULL },
    { "documents", F_DOCS, 0, 0, 0, NULL, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const field_rule_t authorised_rules[] = {
    { "name", F_TEXT, 1, 1, 100, NULL, NULL, NULL },
    { "relation", F_TEXT, 0, 1, 50, NULL, NULL, NULL },
    { "id_number", F_CODE, 0, 0, 0, ident_cccd, "the 12-digit CCCD number", NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const field_rule_t dossier_rules[] = {
    { "dossier_code", F_CODE, 1, 0, 0, ident_dossier_code,
      "V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX, e.g. 000.00.31.H23-231124-0001", NULL },
    { "service", F_CODE, 1, 0, 0, ident_service,
      "\"return\" (result to the citizen), \"send\" (dossier collected from the citizen) or \"both\"", NULL },
    { "procedure", F_OBJECT, 1, 0, 0, NULL, NULL, procedure_rules },
    { "agency", F_OBJECT, 1, 0, 0, NULL, NULL, agency_rules },
    /* which of these are required depends on the service (check_service) */
    { "recipient", F_OBJECT, 0, 0, 0, NULL, NULL, recipient_rules },
    { "sender", F_OBJECT, 0, 0, 0, NULL, NULL, recipient_rules },
    { "result", F_OBJECT, 0, 0, 0, NULL, NULL, result_rules },
    { "documents", F_DOCS, 0, 0, 0, NULL, NULL, NULL },
    { "cod_amount", F_INT, 0, 0, 0, NULL, NULL, NULL },
    { "authorised_person", F_OBJECT, 0, 0, 0, NULL, NULL, authorised_rules },
    { "note", F_TEXT, 0, 0, 500, NULL, NULL, NULL },
    /* documents the postman takes back from the citizen at the door (TT 17 Điều 9) */
    { "take_back", F_NAMES, 0, 0, 0, NULL, NULL, NULL },
    { "pickup", F_OBJECT, 0, 0, 0, NULL, NULL, pickup_rules },
    /* the fee the agency asks the citizen to pay when the postman collects the dossier (send
     * leg); cod_amount is what the return leg collects on delivery */
    { "pickup_fee", F_INT, 0, 0, 0, NULL, NULL, NULL },
    { "appointment_slip", F_BOOL, 0, 0, 0, NULL, NULL, NULL },
    { "carrier", F_CODE, 0, 0, 0, ident_any_code, "a carrier name", NULL },
    { "delivery", F_CODE, 0, 0, 0, ident_delivery, "economy or express (default economy)", NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

int
json_depth_ok(const char *text, size_t len, int max)
{
    int depth = 0, in_string = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        char c = text[i];

        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

/* multiline - the free-text fields where a line break means something; names and
 * addresses are single lines that labels and the carrier print as given */
static int
multiline(const char *path)
{
    size_t n = strlen(path);

    return (n >= 4 && strcmp(path + n - 4, "note") == 0) || (n >= 7 && strcmp(path + n - 7, "summary") == 0);
}

static int
check_text(const char *value, const char *path, size_t min_chars, size_t max_chars, json_t **out,
           api_error_t *err)
{
    char *nfc = utf8_nfc(value);
    int32_t cp = 0;
    long at;
    size_t n;

    if (!nfc) {
        api_error_set(err, 422, "invalid_field", path, "%s is not valid UTF-8; send plain UTF-8 text", path);
        return -1;
    }
    /* controls, TAB, bidi overrides and zero-width characters make a label or a screen
     * show something else than what was stored */
    at = utf8_find_forbidden(nfc, strlen(nfc), multiline(path) ? UTF8_ALLOW_NEWLINE : 0, &cp);
    if (at >= 0) {
        api_error_set(err, 422, "invalid_field", path,
                      "%s contains %s (U+%04X) at byte %ld; send the text without it", path, utf8_forbidden_what(cp),
                      (unsigned)cp, at);
        free(nfc);
        return -1;
    }
    n = utf8_char_count(nfc);
    if (n < min_chars || n > max_chars) {
        api_error_set(err, 422, "invalid_field", path, "%s must have %zu to %zu characters (got %zu)", path,
                      min_chars, max_chars, n);
        free(nfc);
        return -1;
    }
    *out = json_string(nfc);
    free(nfc);
    return *out ? 0 : -1;
}

static int validate_object(json_t *in, const field_rule_t *rules, const char *prefix, json_t *out,
                           api_error_t *err);

static int
validate_documents(json_t *value, const char *path, json_t **out, api_error_t *err)
{
    size_t i;
    json_t *doc;

    if (!json_is_array(value) || json_array_size(value) > 50) {
        api_error_set(err, 422, "invalid_field", path, "%s must be a list of at most 50 documents", path);
        return -1;
    }
    *out = json_array();
    json_array_foreach(value, i, doc) {
        char sub[64];
        json_t *name = json_object_get(doc, "name"), *orig = json_object_get(doc, "original");
        json_t *clean = NULL, *norm;

        snprintf(sub, sizeof sub, "%s[%zu].name", path, i);
        if (!json_is_object(doc) || !json_is_string(name) || json_object_size(doc) > 2 ||
            (orig && !json_is_boolean(orig)) || (json_object_size(doc) == 2 && !orig)) {
            api_error_set(err, 422, "invalid_field", sub,
                          "each document is {\"name\": text, \"original\": true|false}");
            return -1;
        }
        if (check_text(json_string_value(name), sub, 1, 200, &norm, err) != 0)
            return -1;
        clean = json_pack("{s:o, s:b}", "name", norm, "original", orig ? json_is_true(orig) : 0);
        json_array_append_new(*out, clean);
    }
    return 0;
}

#define DOSSIER_MAX_TAKE_BACK 20

/* validate_names - a list of {"name": text}: what the agency wants back at the door */
static int
validate_names(json_t *value, const char *path, json_t **out, api_error_t *err)
{
    size_t i;
    json_t *item;

    if (!json_is_array(value) || json_array_size(value) > DOSSIER_MAX_TAKE_BACK) {
        api_error_set(err, 422, "invalid_field", path, "%s must be a list of at most %d documents", path,
                      DOSSIER_MAX_TAKE_BACK);
        return -1;
    }
    *out = json_array();
    json_array_foreach(value, i, item) {
        char sub[64];
        json_t *name = json_object_get(item, "name"), *norm;

        snprintf(sub, sizeof sub, "%s[%zu].name", path, i);
        if (!json_is_object(item) || !json_is_string(name) || json_object_size(item) != 1) {
            api_error_set(err, 422, "invalid_field", sub, "each document to take back is {\"name\": text}");
            return -1;
        }
        if (check_text(json_string_value(name), sub, 1, 200, &norm, err) != 0)
            return -1;
        json_array_append_new(*out, json_pack("{s:o}", "name", norm));
    }
    return 0;
}

static int
validate_field(json_t *value, const field_rule_t *r, const char *path, json_t **out, api_error_t *err)
{
    switch (r->kind) {
    case F_TEXT:
        if (!json_is_string(value))
            goto wrong_type;
        return check_text(json_string_value(value), path, r->min_chars, r->max_chars, out, err);
    case F_CODE:
        if (!json_is_string(value))
            goto wrong_type;
        if (!r->check(json_string_value(value))) {
            api_error_set(err, 422, "invalid_field", path, "%s is not valid: expected %s", path, r->what);
            return -1;
        }
        *out = json_string(json_string_value(value));
        return 0;
    case F_BOOL:
        if (!json_is_boolean(value))
            goto wrong_type;
        *out = json_boolean(json_is_true(value));
        return 0;
    case F_INT:
        if (!json_is_integer(value) || json_integer_value(value) < 0 ||
            json_integer_value(value) > DOSSIER_MAX_COD) {
            api_error_set(err, 422, "invalid_field", path,
                          "%s must be a whole number of đồng between 0 and %lld (no decimals, no quotes)", path,
                          DOSSIER_MAX_COD);
            return -1;
        }
        *out = json_integer(json_integer_value(value));
        return 0;
    case F_OBJECT:
        if (!json_is_object(value))
            goto wrong_type;
        *out = json_object();
        return validate_object(value, r->object, path, *out, err);
    case F_DOCS:
        return validate_documents(value, path, out, err);
    case F_NAMES:
        return validate_names(value, path, out, err);
    }
wrong_type:
    api_error_set(err, 422, "invalid_field", path, "%s has the wrong type: expected %s", path,
                  r->kind == F_OBJECT ? "an object" : r->kind == F_BOOL ? "true or false" : "a string");
    return -1;
}

/* join_path - "prefix.name" (just "name" at the top level) into out, cut to fit; every field
 * of every dossier gets its path, so no printf here */
static void
join_path(char *out, size_t len, const char *prefix, const char *name)
{
    size_t np = strlen(prefix), nn = strlen(name), at = 0;

    if (np && np + 1 < len) {
        memcpy(out, prefix, np);
        out[np] = '.';
        at = np + 1;
    }
    if (nn > len - 1 - at)
        nn = len - 1 - at;
    memcpy(out + at, name, nn);
    out[at + nn] = '\0';
}

typedef struct {
    const char *name;
    json_t *value;
} named_value_t;

#define DOSSIER_MAX_RULES 32

/* validate_object - every field of in checked against rules (in the rules' order, which
 * decides which error a body with several wrong fields gets), the cleaned values set into
 * out in the order of their names: then out dumps in canonical (sorted) order without
 * Jansson sorting every object again (build) */
static int
validate_object(json_t *in, const field_rule_t *rules, const char *prefix, json_t *out, api_error_t *err)
{
    const field_rule_t *r;
    const char *key;
    json_t *value;
    named_value_t found[DOSSIER_MAX_RULES];
    size_t nfound = 0, i, j;
    int rc = 0;

    json_object_foreach(in, key, value) {
        for (r = rules; r->name; r++)
            if (strcmp(r->name, key) == 0)
                break;
        if (!r->name) {
            char path[64];
            snprintf(path, sizeof path, "%s%s%.40s", prefix, *prefix ? "." : "", key);
            api_error_set(err, 422, "unknown_field", path, "%s is not a field of this API; remove it", path);
            return -1;
        }
    }
    for (r = rules; r->name; r++) {
        char path[64];
        json_t *clean = NULL;

        value = json_object_get(in, r->name);
        if (!value || json_is_null(value)) {
            if (r->required) {
                join_path(path, sizeof path, prefix, r->name);
                api_error_set(err, 422, "missing_field", path, "%s is required", path);
                rc = -1;
                break;
            }
            continue;
        }
        join_path(path, sizeof path, prefix, r->name);
        if (validate_field(value, r, path, &clean, err) != 0) {
            json_decref(clean);
            rc = -1;
            break;
        }
        if (nfound == DOSSIER_MAX_RULES) { /* more rules than the table allows: order by Jansson */
            json_object_set_new(out, r->name, clean);
            continue;
        }
        /* insertion sort by name: a dozen fields at most per object */
        for (i = nfound; i > 0 && strcmp(found[i - 1].name, r->name) > 0; i--)
            found[i] = found[i - 1];
        found[i].name = r->name;
        found[i].value = clean;
        nfound++;
    }
    for (j = 0; j < nfound; j++) {
        if (rc == 0)
            json_object_set_new(out, found[j].name, found[j].value);
        else
            json_decref(found[j].value);
    }
    return rc;
}

/* authorised_payload - authorised_person {name, relation} and take_back as one "A; B" text
 * into the booking payload p; 0, or -1 when out of memory */
static int
authorised_payload(const json_t *canon, json_t *p)
{
    const json_t *ap = json_object_get(canon, "authorised_person"), *tb = json_object_get(canon, "take_back"), *d;
    size_t i, n = 0;
    char *list;

    if (ap && json_object_set_new(p, "authorised_person",
                                  json_pack("{s:O, s:s}", "name", json_object_get(ap, "name"), "relation",
                                            json_string_value(json_object_get(ap, "relation"))
                                                ? json_string_value(json_object_get(ap, "relation"))
                                                : "")) != 0)
        return -1;
    if (!json_array_size(tb))
        return 0;
    json_array_foreach(tb, i, d)
        n += strlen(json_string_value(json_object_get(d, "name"))) + 2;
    list = malloc(n + 1);
    if (!list)
        return -1;
    list[0] = '\0';
    json_array_foreach(tb, i, d) {
        if (i)
            strcat(list, "; ");
        strcat(list, json_string_value(json_object_get(d, "name")));
    }
    i = (size_t)json_object_set_new(p, "take_back", json_string(list));
    free(list);
    return i ? -1 : 0;
}

json_t *
dossier_book_payload(const json_t *canon)
{
    const char *service = json_string_value(json_object_get(canon, "service"));
    int collect;
    json_t *agency = json_object_get(canon, "agency");
    json_t *result = json_object_get(canon, "result");
    json_t *from, *to, *note, *p, *zero;

    if (!service || !json_is_object(agency))
        return NULL;
    collect = strcmp(service, "return") != 0;
    /* the return leg goes agency -> recipient; the collection leg citizen -> agency */
    from = collect ? json_object_get(canon, "sender") : agency;
    to = collect ? agency : json_object_get(canon, "recipient");
    note = collect ? json_object_get(json_object_get(canon, "procedure"), "name") : json_object_get(result, "summary");
    zero = json_integer(0);
    p = json_pack("{s:O, s:O, s:s, s:s, s:O, s:O, s:i, s:b, s:{s:O, s:O, s:O, s:O, s:O}, "
                  "s:{s:O, s:O, s:O, s:O, s:O}}",
                  "request_id", json_object_get(canon, "dossier_code"), "dossier_code",
                  json_object_get(canon, "dossier_code"), "service", collect ? "send" : "return", "delivery",
                  json_string_value(json_object_get(canon, "delivery")) ? json_string_value(json_object_get(canon, "delivery"))
                                                                         : "economy",
                  "content_note",
                  note, "cod_amount", collect ? zero : json_object_get(canon, "cod_amount"), "weight_g", DOSSIER_WEIGHT_GRAMS, "pickup", collect,
                  "sender", "name", json_object_get(from, "name"), "phone", json_object_get(from, "phone"), "address",
                  json_object_get(from, "address"), "province_code", json_object_get(from, "province_code"),
                  "commune_code", json_object_get(from, "commune_code"), "receiver", "name",
                  json_object_get(to, "name"), "phone", json_object_get(to, "phone"), "address",
                  json_object_get(to, "address"), "province_code", json_object_get(to, "province_code"),
                  "commune_code", json_object_get(to, "commune_code"));
    json_decref(zero);
    if (!p)
        return NULL;
    if (collect && json_integer_value(json_object_get(canon, "pickup_fee")) > 0)
        json_object_set(p, "pickup_fee", json_object_get(canon, "pickup_fee"));
    /* what the postman must know at the door: the dossier's note and, on the return leg, who
     * may receive it instead of the citizen and what to take back (TT 17 Điều 9); the ID of the
     * authorised person stays here (its last 4 digits are compared with the proof) */
    if (json_object_get(canon, "note"))
        json_object_set(p, "note", json_object_get(canon, "note"));
    if (collect && json_object_get(canon, "pickup")) {
        const json_t *w = json_object_get(canon, "pickup");
        char window[32];

        snprintf(window, sizeof window, "%s %s-%s", json_string_value(json_object_get(w, "date")),
                 json_string_value(json_object_get(w, "from")), json_string_value(json_object_get(w, "to")));
        json_object_set_new(p, "pickup_window", json_string(window));
    }
    if (!collect && authorised_payload(canon, p) != 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}

char *
dossier_book_payload_text(const char *canonical_text)
{
    json_t *canon = json_loads(canonical_text ? canonical_text : "", 0, NULL);
    json_t *p = dossier_book_payload(canon);
    char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;

    json_decref(p);
    json_decref(canon);
    return text;
}

/* check_service - return needs recipient + result; send needs sender (the citizen the
 * postman collects from); both needs sender and recipient */
/* check_places - every party's commune is an official one and lies in the province given
 * (QĐ 19/2025): a label must name a place the carrier can route to */
static int
check_places(json_t *canon, api_error_t *err)
{
    static const char *const parties[] = { "agency", "recipient", "sender" };
    size_t i;

    for (i = 0; i < sizeof parties / sizeof parties[0]; i++) {
        json_t *p = json_object_get(canon, parties[i]);
        const char *prov = json_string_value(json_object_get(p, "province_code"));
        const char *comm = json_string_value(json_object_get(p, "commune_code"));
        const admin_province_t *pv;
        const admin_commune_t *cm;
        char path[48];

        if (!p)
            continue;
        pv = admin_units_province(prov);
        if (!pv) {
            snprintf(path, sizeof path, "%s.province_code", parties[i]);
            api_error_set(err, 422, "invalid_field", path,
                          "%s '%s' is not one of the 34 provinces of QĐ 19/2025/QĐ-TTg", path, prov ? prov : "");
            return -1;
        }
        cm = admin_units_commune(comm);
        snprintf(path, sizeof path, "%s.commune_code", parties[i]);
        if (!cm) {
            api_error_set(err, 422, "invalid_field", path,
                          "%s '%s' is not a commune of QĐ 19/2025/QĐ-TTg (3,321 xã, phường and đặc khu)", path,
                          comm ? comm : "");
            return -1;
        }
        if (strcmp(cm->province_code, pv->code) != 0) {
            api_error_set(err, 422, "invalid_field", path, "%s %s (%s) lies in %s, not in %s (%s.province_code %s)",
                          path, comm, cm->full_name, admin_units_province(cm->province_code)->full_name,
                          pv->full_name, parties[i], prov);
            return -1;
        }
    }
    return 0;
}

static int
check_service(json_t *canon, api_error_t *err)
{
    const char *service = json_string_value(json_object_get(canon, "service"));
    int ret = strcmp(service, "return") == 0, send = strcmp(service, "send") == 0;

    if ((ret || !send) && !json_object_get(canon, "recipient")) {
        api_error_set(err, 422, "missing_field", "recipient", "recipient is required for service '%s'", service);
        return -1;
    }
    if (ret && !json_object_get(canon, "result")) {
        api_error_set(err, 422, "missing_field", "result", "result is required for service 'return'");
        return -1;
    }
    if (!ret && !json_object_get(canon, "sender")) {
        api_error_set(err, 422, "missing_field", "sender",
                      "sender (the citizen the postman collects the dossier from) is required for service '%s'",
                      service);
        return -1;
    }
    if (ret && json_object_get(canon, "pickup_fee")) {
        api_error_set(err, 422, "unknown_field", "pickup_fee",
                      "pickup_fee is collected on the collection leg; a 'return' submission has cod_amount");
        return -1;
    }
    if (ret && json_object_get(canon, "pickup")) {
        api_error_set(err, 422, "unknown_field", "pickup",
                      "pickup is the collection leg's window; a 'return' submission has none");
        return -1;
    }
    if (json_object_get(canon, "pickup") &&
        strcmp(json_string_value(json_object_get(json_object_get(canon, "pickup"), "from")),
               json_string_value(json_object_get(json_object_get(canon, "pickup"), "to"))) >= 0) {
        api_error_set(err, 422, "invalid_field", "pickup.to", "pickup.to must be later than pickup.from");
        return -1;
    }
    if (ret && json_object_get(canon, "sender")) {
        api_error_set(err, 422, "unknown_field", "sender",
                      "sender is for the collection leg; a 'return' submission names the recipient only");
        return -1;
    }
    return 0;
}

/* protect_id - a CCCD number is never kept whole (design §8): a keyed hash and the last
 * four digits replace it before the submission is stored or hashed */
static void
protect_id(json_t *person)
{
    const char *id = json_string_value(json_object_get(person, "id_number"));
    uint8_t mac[SHA256_LEN];
    char hex[SHA256_HEX_LEN];

    if (!id)
        return;
    hmac_sha256(id_key, id_keylen, id, strlen(id), mac);
    hex_encode(mac, sizeof mac, hex);
    json_object_set_new(person, "id_hash", json_string(hex));
    json_object_set_new(person, "id_last4", json_string(id + strlen(id) - 4));
    json_object_del(person, "id_number");
}

void
dossier_destroy(dossier_t **selfp)
{
    dossier_t *self = *selfp;

    if (!self)
        return;
    json_decref(self->canonical);
    free(self->canonical_text);
    free(self);
    *selfp = NULL;
}

/* keys_sorted - every object in v lists its keys in ascending order, as JSON_SORT_KEYS dumps
 * them (byte order; the keys here are ASCII field names) */
static int
keys_sorted(json_t *v)
{
    const char *key, *prev = NULL;
    json_t *item;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach(v, key, item) {
            if ((prev && strcmp(prev, key) >= 0) || !keys_sorted(item))
                return 0;
            prev = key;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item)
            if (!keys_sorted(item))
                return 0;
    }
    return 1;
}

/* set_in_order - *obj with name = value (stolen) among its keys where its order puts it: a new
 * object replaces *obj (Jansson appends new keys at the end) */
static void
set_in_order(json_t **obj, const char *name, json_t *value)
{
    json_t *copy = json_object(), *item;
    const char *key;
    int placed = 0;

    if (!copy) {
        json_object_set_new(*obj, name, value);
        return;
    }
    json_object_foreach(*obj, key, item) {
        if (!placed && strcmp(name, key) < 0) {
            json_object_set_new(copy, name, value);
            placed = 1;
        }
        json_object_set(copy, key, item);
    }
    if (!placed)
        json_object_set_new(copy, name, value);
    json_decref(*obj);
    *obj = copy;
}

/* build - the dossier of a validated canonical tree (ownership of canon passes here): the
 * agency check, defaults, canonical text and hash, the booking payload, the leg's transit
 * limit. 0 and *out, or -1 with err. Both the submission and a result derived from a 'both'
 * submission go through here, so the two are hashed and booked alike. */
static int
build(json_t *canon, dossier_t **out, api_error_t *err)
{
    dossier_t *d = NULL;
    const char *agency_code, *code;
    int rc = -1;

    code = json_string_value(json_object_get(canon, "dossier_code"));
    agency_code = json_string_value(json_object_get(json_object_get(canon, "agency"), "code"));
    if (strncmp(code, agency_code, strlen(agency_code)) != 0 || code[strlen(agency_code)] != '-') {
        api_error_set(err, 422, "invalid_field", "agency.code",
                      "agency.code must be the unit identifier at the start of dossier_code");
        goto out;
    }
    if (!json_object_get(canon, "cod_amount"))
        set_in_order(&canon, "cod_amount", json_integer(0));

    d = calloc(1, sizeof *d);
    if (!d) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry later");
        goto out;
    }
    /* the canonical text has sorted keys; validate_object built canon in that order, so
     * Jansson need not sort each object again (it would come out the same: checked first) */
    d->canonical_text = json_text_dump(canon, JSON_COMPACT | (keys_sorted(canon) ? 0 : JSON_SORT_KEYS));
    if (!d->canonical_text) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry later");
        goto out;
    }
    sha256_hex(d->canonical_text, strlen(d->canonical_text), d->body_hash);
    d->canonical = canon;
    canon = NULL;
    d->code = json_string_value(json_object_get(d->canonical, "dossier_code"));
    d->service = json_string_value(json_object_get(d->canonical, "service"));
    d->carrier = json_string_value(json_object_get(d->canonical, "carrier"));
    d->agency_code = json_string_value(json_object_get(json_object_get(d->canonical, "agency"), "code"));
    /* what this leg collects: on delivery of the result, or from the citizen at pick-up */
    d->cod_amount = json_integer_value(json_object_get(
        d->canonical, strcmp(d->service, "return") == 0 ? "cod_amount" : "pickup_fee"));
    {
        /* the leg runs between the agency and the citizen's address (sender on the collection leg) */
        json_t *agency = json_object_get(d->canonical, "agency");
        json_t *citizen = strcmp(d->service, "return") == 0 ? json_object_get(d->canonical, "recipient")
                                                             : json_object_get(d->canonical, "sender");
        const char *ap = json_string_value(json_object_get(agency, "province_code"));
        const char *ac = json_string_value(json_object_get(agency, "commune_code"));
        const char *cp = json_string_value(json_object_get(citizen, "province_code"));
        const char *cc = json_string_value(json_object_get(citizen, "commune_code"));
        int same_province = ap && cp && strcmp(ap, cp) == 0;
        int same_commune = same_province && ac && cc && strcmp(ac, cc) == 0;
        int city = admin_units_province_is_city(ap) || admin_units_province_is_city(cp);
        int slip = json_is_true(json_object_get(d->canonical, "appointment_slip"));

        d->transit_days = calendar_transit_days(same_commune, same_province, city, slip);
    }
    *out = d;
    d = NULL;
    rc = 0;
out:
    dossier_destroy(&d);
    json_decref(canon);
    return rc;
}

json_t *
request_json_object(const char *body, size_t len, api_error_t *err)
{
    json_error_t jerr;
    json_t *root = json_text_parse(body, len, DOSSIER_MAX_DEPTH, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_stack_overflow)
            api_error_set(err, 400, "invalid_json", NULL, "JSON nested deeper than %d levels", DOSSIER_MAX_DEPTH);
        else
            api_error_set(err, 400, "invalid_json", NULL, "malformed JSON at line %d column %d: %s", jerr.line,
                          jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        api_error_set(err, 400, "invalid_json", NULL, "the body must be a JSON object");
        json_decref(root);
        return NULL;
    }
    return root;
}

/* parse_dossier - a dossier body: within DOSSIER_MAX_BODY, then as any request body */
static json_t *
parse_dossier(const char *body, size_t len, api_error_t *err)
{
    if (len > DOSSIER_MAX_BODY) {
        api_error_set(err, 413, "body_too_large", NULL, "the body exceeds %d bytes", DOSSIER_MAX_BODY);
        return NULL;
    }
    return request_json_object(body, len, err);
}

int
dossier_from_json(const char *body, size_t len, const char *default_carrier, dossier_t **out, api_error_t *err)
{
    json_t *root, *canon = NULL;
    int rc = -1;

    *out = NULL;
    root = parse_dossier(body, len, err);
    if (!root)
        return -1;
    canon = json_object();
    if (validate_object(root, dossier_rules, "", canon, err) != 0 || check_service(canon, err) != 0 ||
        check_places(canon, err) != 0)
        goto out;
    protect_id(json_object_get(canon, "recipient"));
    protect_id(json_object_get(canon, "sender"));
    protect_id(json_object_get(canon, "authorised_person"));
    /* whether that carrier exists and can take the dossier is gateway/rules/intake.c's call */
    if (!json_object_get(canon, "carrier"))
        json_object_set_new(canon, "carrier", json_string(default_carrier));
    rc = build(canon, out, err);
    canon = NULL;
out:
    json_decref(canon);
    json_decref(root);
    return rc;
}

int
dossier_result_of_both(const char *both_canonical, const char *body, size_t len, dossier_t **out, api_error_t *err)
{
    json_t *root, *both = NULL, *canon = NULL, *result = json_object();
    const char *service;
    int rc = -1;

    *out = NULL;
    root = parse_dossier(body, len, err);
    if (!root)
        goto out;
    if (!result || validate_object(root, result_rules, "", result, err) != 0)
        goto out;
    both = json_loads(both_canonical, 0, NULL);
    service = json_string_value(json_object_get(both, "service"));
    if (!service || strcmp(service, "both") != 0 || !json_object_get(both, "recipient")) {
        api_error_set(err, 500, "internal", NULL, "the stored 'both' submission cannot be read; report this");
        goto out;
    }
    /* the return leg of the same dossier: agency -> the recipient the 'both' submission named,
     * with the result the case system reports now; the collection leg's parts stay behind */
    canon = json_deep_copy(both);
    if (!canon) {
        api_error_set(err, 503, "unavailable", NULL, "out of memory; retry later");
        goto out;
    }
    json_object_set_new(canon, "service", json_string("return"));
    json_object_del(canon, "sender");
    json_object_del(canon, "documents");
    json_object_del(canon, "pickup");
    json_object_del(canon, "pickup_fee");
    json_object_set(canon, "result", result);
    rc = build(canon, out, err);
    canon = NULL;
out:
    json_decref(canon);
    json_decref(both);
    json_decref(result);
    json_decref(root);
    return rc;
}
