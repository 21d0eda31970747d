/*
 * json_text - request bodies from JSON text to Jansson values (json_text.h)
 */
#include "json_text.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

typedef struct {
    const unsigned char *start, *p, *end;
    int depth, max_depth;
    int failed;
    json_error_t *err;
    /* decoded strings that held escapes; each takes a fresh run, never reused in one parse,
     * so a key stays valid while its value is read. Decoding never lengthens a string, so
     * len bytes hold every one of them. */
    char *scratch;
    size_t scratch_used;
} parser_t;

static json_t *parse_value(parser_t *ps);

static void
fail(parser_t *ps, const unsigned char *at, enum json_error_code code, const char *fmt, ...)
{
    const unsigned char *q;
    json_error_t *e = ps->err;
    int line = 1, column = 0;
    va_list ap;

    if (ps->failed)
        return;
    ps->failed = 1;
    if (!e)
        return;
    if (at > ps->end)
        at = ps->end;
    for (q = ps->start; q < at; q++) {
        if (*q == '\n') {
            line++;
            column = 0;
        } else if ((*q & 0xC0) != 0x80) {
            column++;
        }
    }
    e->line = line;
    e->column = column + 1;
    e->position = (int)(at - ps->start);
    snprintf(e->source, sizeof e->source, "<buffer>");
    va_start(ap, fmt);
    vsnprintf(e->text, JSON_ERROR_TEXT_LENGTH - 1, fmt, ap);
    va_end(ap);
    e->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)code;
}

static void
skip_space(parser_t *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

static int
hex4(const unsigned char *p, const unsigned char *end, unsigned *out)
{
    unsigned v = 0;
    int i;

    if (end - p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t
put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* decode_escape - the escape at *pp (just after its backslash) appended at out; advances
 * *pp past it; the bytes written, 0 on a refusal (reported) */
static size_t
decode_escape(parser_t *ps, const unsigned char **pp, char *out)
{
    const unsigned char *p = *pp, *at = p - 1;
    unsigned cp, low;

    if (p >= ps->end) {
        fail(ps, p, json_error_premature_end_of_input, "premature end of input in a string");
        return 0;
    }
    switch (*p) {
    case '"': case '\\': case '/':
        *out = (char)*p;
        *pp = p + 1;
        return 1;
    case 'b': *out = '\b'; *pp = p + 1; return 1;
    case 'f': *out = '\f'; *pp = p + 1; return 1;
    case 'n': *out = '\n'; *pp = p + 1; return 1;
    case 'r': *out = '\r'; *pp = p + 1; return 1;
    case 't': *out = '\t'; *pp = p + 1; return 1;
    case 'u':
        break;
    default:
        fail(ps, at, json_error_invalid_syntax, "invalid escape");
        return 0;
    }
    if (hex4(p + 1, ps->end, &cp) != 0) {
        fail(ps, at, json_error_invalid_syntax, "invalid escape");
        return 0;
    }
    p += 5;
    if (cp == 0) {
        fail(ps, at, json_error_null_character, "\\u0000 is not allowed");
        return 0;
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        fail(ps, at, json_error_invalid_syntax, "invalid Unicode '\\u%04X'", cp);
        return 0;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (ps->end - p < 2 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, ps->end, &low) != 0) {
            fail(ps, at, json_error_invalid_syntax, "invalid Unicode '\\u%04X'", cp);
            return 0;
        }
        if (low < 0xDC00 || low > 0xDFFF) {
            fail(ps, at, json_error_invalid_syntax, "invalid Unicode '\\u%04X\\u%04X'", cp, low);
            return 0;
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        p += 6;
    }
    *pp = p;
    return put_utf8(out, cp);
}

/* scan_string - the string whose opening quote is at ps->p: *s and *n point into the text
 * when it holds no escape, into the scratch runs when it does; -1 on a refusal */
static int
scan_string(parser_t *ps, const char **s, size_t *n)
{
    const unsigned char *first = ps->p + 1, *p = first, *run = first, *end = ps->end;
    char *out = NULL;
    size_t used = 0;

    for (;;) {
        unsigned char c;

        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p >= end) {
            fail(ps, p, json_error_premature_end_of_input, "premature end of input in a string");
            return -1;
        }
        c = *p;
        if (c == '"')
            break;
        if (c < 0x20) {
            fail(ps, p, json_error_invalid_syntax, "control character 0x%x in a string", c);
            return -1;
        }
        if (c >= 0x80) {
            size_t k = utf8_seq_len(p, (size_t)(end - p));
            if (k == 0) {
                fail(ps, p, json_error_invalid_utf8, "unable to decode byte 0x%x", c);
                return -1;
            }
            p += k;
            continue;
        }
        /* a backslash: the decoded string goes to a fresh scratch run */
        if (!out) {
            if (!ps->scratch) {
                ps->scratch = malloc((size_t)(end - ps->start) + 1);
                if (!ps->scratch) {
                    fail(ps, p, json_error_out_of_memory, "out of memory");
                    return -1;
                }
            }
            out = ps->scratch + ps->scratch_used;
        }
        memcpy(out + used, run, (size_t)(p - run));
        used += (size_t)(p - run);
        p++;
        {
            size_t k = decode_escape(ps, &p, out + used);
            if (k == 0)
                return -1;
            used += k;
        }
        run = p;
    }
    if (out) {
        memcpy(out + used, run, (size_t)(p - run));
        used += (size_t)(p - run);
        ps->scratch_used += used;
        *s = out;
        *n = used;
    } else {
        *s = (const char *)first;
        *n = (size_t)(p - first);
    }
    ps->p = p + 1;
    return 0;
}

static json_t *
make_real(parser_t *ps, const unsigned char *from, size_t len)
{
    char small[64], *text = small;
    double value;
    json_t *v = NULL;

    if (len >= sizeof small) {
        text = malloc(len + 1);
        if (!text) {
            fail(ps, from, json_error_out_of_memory, "out of memory");
            return NULL;
        }
    }
    memcpy(text, from, len);
    text[len] = '\0';
    errno = 0;
    value = strtod(text, NULL);
    if ((value == HUGE_VAL || value == -HUGE_VAL) && errno == ERANGE)
        fail(ps, from, json_error_numeric_overflow, "real number overflow");
    else if (!(v = json_real(value)))
        fail(ps, from, json_error_out_of_memory, "out of memory");
    if (text != small)
        free(text);
    return v;
}

/* parse_number - the RFC 8259 number at ps->p: an integer when it has neither fraction
 * nor exponent (as Jansson decides), else a real */
static json_t *
parse_number(parser_t *ps)
{
    const unsigned char *from = ps->p, *p = ps->p, *end = ps->end;
    int negative = 0, is_real = 0;
    uint64_t magnitude = 0, limit;
    json_t *v;

    if (*p == '-') {
        negative = 1;
        p++;
    }
    if (p < end && *p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9') {
            fail(ps, from, json_error_invalid_syntax, "invalid token (a number cannot start with 0)");
            return NULL;
        }
    } else if (p < end && *p >= '1' && *p <= '9') {
        limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        while (p < end && *p >= '0' && *p <= '9') {
            unsigned digit = (unsigned)(*p - '0');
            if (magnitude > (limit - digit) / 10)
                magnitude = UINT64_MAX; /* too big: said below unless it turns out a real */
            else if (magnitude != UINT64_MAX)
                magnitude = magnitude * 10 + digit;
            p++;
        }
    } else {
        fail(ps, from, json_error_invalid_syntax, "invalid token");
        return NULL;
    }
    if (p < end && *p == '.') {
        is_real = 1;
        p++;
        if (p >= end || *p < '0' || *p > '9') {
            fail(ps, from, json_error_invalid_syntax, "invalid token (digits expected after '.')");
            return NULL;
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9') {
            fail(ps, from, json_error_invalid_syntax, "invalid token (digits expected in the exponent)");
            return NULL;
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    ps->p = p;
    if (is_real)
        return make_real(ps, from, (size_t)(p - from));
    if (magnitude == UINT64_MAX) {
        fail(ps, from, json_error_numeric_overflow, negative ? "too big negative integer" : "too big integer");
        return NULL;
    }
    /* the negation in unsigned arithmetic: -(2^63) has no positive json_int_t */
    v = json_integer(negative ? (json_int_t)(0 - magnitude) : (json_int_t)magnitude);
    if (!v)
        fail(ps, from, json_error_out_of_memory, "out of memory");
    return v;
}

static json_t *
parse_literal(parser_t *ps, const char *word, size_t n, json_t *value)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
        fail(ps, ps->p, json_error_invalid_syntax, "invalid token");
        return NULL;
    }
    ps->p += n;
    return value;
}

static int
enter(parser_t *ps)
{
    if (++ps->depth > ps->max_depth) {
        fail(ps, ps->p, json_error_stack_overflow, "nested deeper than %d levels", ps->max_depth);
        return -1;
    }
    ps->p++;
    return 0;
}

/* after_member - past the separator after a member or element: 1 when another follows, 0 when
 * close ended the container, -1 on anything else (reported) */
static int
after_member(parser_t *ps, char close)
{
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        skip_space(ps);
        return 1;
    }
    if (ps->p < ps->end && *ps->p == (unsigned char)close) {
        ps->p++;
        return 0;
    }
    fail(ps, ps->p, json_error_invalid_syntax, "'%c' expected", close);
    return -1;
}

static json_t *
parse_object(parser_t *ps)
{
    json_t *obj;
    int rc;

    if (enter(ps) != 0)
        return NULL;
    if (!(obj = json_object())) {
        fail(ps, ps->p, json_error_out_of_memory, "out of memory");
        return NULL;
    }
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        ps->depth--;
        return obj;
    }
    for (;;) {
        const char *key;
        size_t key_len;
        const unsigned char *key_at = ps->p;
        json_t *v;

        if (ps->p >= ps->end || *ps->p != '"') {
            fail(ps, ps->p, json_error_invalid_syntax, "string or '}' expected");
            goto error;
        }
        if (scan_string(ps, &key, &key_len) != 0)
            goto error;
        skip_space(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            fail(ps, ps->p, json_error_invalid_syntax, "':' expected");
            goto error;
        }
        ps->p++;
        if (json_object_getn(obj, key, key_len)) {
            fail(ps, key_at, json_error_duplicate_key, "duplicate object key");
            goto error;
        }
        skip_space(ps);
        if (!(v = parse_value(ps)))
            goto error;
        if (json_object_setn_new_nocheck(obj, key, key_len, v) != 0) {
            fail(ps, key_at, json_error_out_of_memory, "out of memory");
            goto error;
        }
        rc = after_member(ps, '}');
        if (rc < 0)
            goto error;
        if (rc == 0)
            break;
    }
    ps->depth--;
    return obj;
error:
    json_decref(obj);
    return NULL;
}

static json_t *
parse_array(parser_t *ps)
{
    json_t *arr;
    int rc;

    if (enter(ps) != 0)
        return NULL;
    if (!(arr = json_array())) {
        fail(ps, ps->p, json_error_out_of_memory, "out of memory");
        return NULL;
    }
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        ps->depth--;
        return arr;
    }
    for (;;) {
        json_t *v = parse_value(ps);

        if (!v)
            goto error;
        if (json_array_append_new(arr, v) != 0) {
            fail(ps, ps->p, json_error_out_of_memory, "out of memory");
            goto error;
        }
        rc = after_member(ps, ']');
        if (rc < 0)
            goto error;
        if (rc == 0)
            break;
    }
    ps->depth--;
    return arr;
error:
    json_decref(arr);
    return NULL;
}

static json_t *
parse_value(parser_t *ps)
{
    if (ps->p >= ps->end) {
        fail(ps, ps->p, json_error_premature_end_of_input, "premature end of input");
        return NULL;
    }
    switch (*ps->p) {
    case '{':
        return parse_object(ps);
    case '[':
        return parse_array(ps);
    case '"': {
        const char *s;
        size_t n;
        json_t *v;

        if (scan_string(ps, &s, &n) != 0)
            return NULL;
        if (!(v = json_stringn_nocheck(s, n)))
            fail(ps, ps->p, json_error_out_of_memory, "out of memory");
        return v;
    }
    case 't':
        return parse_literal(ps, "true", 4, json_true());
    case 'f':
        return parse_literal(ps, "false", 5, json_false());
    case 'n':
        return parse_literal(ps, "null", 4, json_null());
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return parse_number(ps);
        fail(ps, ps->p, json_error_invalid_syntax, "invalid token");
        return NULL;
    }
}

json_t *
json_text_parse(const char *text, size_t len, int max_depth, json_error_t *err)
{
    parser_t ps;
    json_t *root = NULL;

    memset(&ps, 0, sizeof ps);
    ps.start = ps.p = (const unsigned char *)(text ? text : "");
    ps.end = ps.start + (text ? len : 0);
    ps.max_depth = max_depth < 1 ? 1 : max_depth > JSON_TEXT_DEPTH_LIMIT ? JSON_TEXT_DEPTH_LIMIT : max_depth;
    ps.err = err;
    if (err)
        memset(err, 0, sizeof *err);
    skip_space(&ps);
    if (ps.p >= ps.end || (*ps.p != '{' && *ps.p != '[')) {
        fail(&ps, ps.p, json_error_invalid_syntax, "'[' or '{' expected");
        goto out;
    }
    root = parse_value(&ps);
    if (root) {
        skip_space(&ps);
        if (ps.p != ps.end) {
            fail(&ps, ps.p, json_error_end_of_input_expected, "end of file expected");
            json_decref(root);
            root = NULL;
        }
    }
out:
    free(ps.scratch);
    return root;
}

/* --- writing ------------------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
    size_t flags;
    int failed;
} writer_t;

/* reserve - room for n more bytes and the final NUL; 0, or -1 with the writer failed */
static int
reserve(writer_t *w, size_t n)
{
    size_t cap;
    char *p;

    if (w->failed)
        return -1;
    if (w->len + n + 1 <= w->cap)
        return 0;
    cap = w->cap ? w->cap : 512;
    while (cap < w->len + n + 1)
        cap *= 2;
    if (!(p = realloc(w->data, cap))) {
        w->failed = 1;
        return -1;
    }
    w->data = p;
    w->cap = cap;
    return 0;
}

static void
put(writer_t *w, const void *p, size_t n)
{
    if (reserve(w, n) == 0) {
        memcpy(w->data + w->len, p, n);
        w->len += n;
    }
}

/* put_string - s[0..n) quoted and escaped as Jansson writes it without JSON_ENSURE_ASCII
 * or JSON_ESCAPE_SLASH: the two mandatory escapes, the five short control escapes, \u00XX
 * (upper-case hex) for the other controls, everything else as it is; invalid UTF-8 fails,
 * as it does in Jansson. Room for the worst case (every byte six) is taken once. */
static void
put_string(writer_t *w, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)str, *end = p + n, *run = p;
    char *out;

    if (reserve(w, 6 * n + 2) != 0)
        return;
    out = w->data + w->len;
    *out++ = '"';
    while (p < end) {
        unsigned char c = *p;
        size_t k;

        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0x80) {
            k = utf8_seq_len(p, (size_t)(end - p));
            if (k == 0) {
                w->failed = 1;
                return;
            }
            p += k;
            continue;
        }
        memcpy(out, run, (size_t)(p - run));
        out += p - run;
        *out++ = '\\';
        switch (c) {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case '\b': *out++ = 'b'; break;
        case '\f': *out++ = 'f'; break;
        case '\n': *out++ = 'n'; break;
        case '\r': *out++ = 'r'; break;
        case '\t': *out++ = 't'; break;
        default:
            *out++ = 'u';
            *out++ = '0';
            *out++ = '0';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        }
        run = ++p;
    }
    memcpy(out, run, (size_t)(p - run));
    out += p - run;
    *out++ = '"';
    w->len = (size_t)(out - w->data);
}

typedef struct {
    const char *key;
    size_t len;
} key_t_;

/* compare_keys - Jansson's JSON_SORT_KEYS order: bytes, then length */
static int
compare_keys(const void *a, const void *b)
{
    const key_t_ *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->key, y->key, n);

    if (r)
        return r;
    return x->len < y->len ? -1 : x->len > y->len;
}

static void put_value(writer_t *w, const json_t *v, int depth);

static void
put_member(writer_t *w, const json_t *obj, const char *key, size_t len, int depth, int *first)
{
    if (!*first)
        put(w, ",", 1);
    *first = 0;
    put_string(w, key, len);
    put(w, ":", 1);
    put_value(w, json_object_getn(obj, key, len), depth);
}

static void
put_object(writer_t *w, const json_t *obj, int depth)
{
    size_t size = json_object_size(obj);
    void *iter = json_object_iter((json_t *)obj);
    int first = 1;

    put(w, "{", 1);
    if (!(w->flags & JSON_SORT_KEYS) || size < 2) {
        for (; iter && !w->failed; iter = json_object_iter_next((json_t *)obj, iter)) {
            if (!first)
                put(w, ",", 1);
            first = 0;
            put_string(w, json_object_iter_key(iter), json_object_iter_key_len(iter));
            put(w, ":", 1);
            put_value(w, json_object_iter_value(iter), depth);
        }
    } else {
        key_t_ small[32], *keys = size <= 32 ? small : malloc(size * sizeof *keys);
        size_t i = 0;

        if (!keys) {
            w->failed = 1;
            return;
        }
        for (; iter && i < size; iter = json_object_iter_next((json_t *)obj, iter), i++) {
            keys[i].key = json_object_iter_key(iter);
            keys[i].len = json_object_iter_key_len(iter);
        }
        qsort(keys, i, sizeof *keys, compare_keys);
        for (size = i, i = 0; i < size && !w->failed; i++)
            put_member(w, obj, keys[i].key, keys[i].len, depth, &first);
        if (keys != small)
            free(keys);
    }
    put(w, "}", 1);
}

static void
put_value(writer_t *w, const json_t *v, int depth)
{
    char num[32];
    int n;

    if (w->failed)
        return;
    if (!v || depth >= JSON_TEXT_DEPTH_LIMIT) {
        w->failed = 1; /* deeper than any document parsed here: a loop, as Jansson refuses */
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        put_object(w, v, depth + 1);
        break;
    case JSON_ARRAY: {
        size_t i, size = json_array_size(v);

        put(w, "[", 1);
        for (i = 0; i < size && !w->failed; i++) {
            if (i)
                put(w, ",", 1);
            put_value(w, json_array_get(v, i), depth + 1);
        }
        put(w, "]", 1);
        break;
    }
    case JSON_STRING:
        put_string(w, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        put(w, num, (size_t)n);
        break;
    case JSON_REAL: {
        /* Jansson's shortest-exact form (%.17g, ".0" added, exponent trimmed): its own code */
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

        if (!text)
            w->failed = 1;
        else
            put(w, text, strlen(text));
        free(text);
        break;
    }
    case JSON_TRUE:
        put(w, "true", 4);
        break;
    case JSON_FALSE:
        put(w, "false", 5);
        break;
    case JSON_NULL:
        put(w, "null", 4);
        break;
    }
}

char *
json_text_dump(const json_t *v, size_t flags)
{
    writer_t w;

    if ((flags & ~(size_t)(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)) || !(flags & JSON_COMPACT))
        return json_dumps(v, flags); /* indentation, ASCII-only and the rest: Jansson's */
    if (!v || (!(flags & JSON_ENCODE_ANY) && !json_is_object(v) && !json_is_array(v)))
        return NULL;
    memset(&w, 0, sizeof w);
    w.flags = flags;
    put_value(&w, v, 0);
    if (w.failed || reserve(&w, 0) != 0) {
        free(w.data);
        return NULL;
    }
    w.data[w.len] = '\0';
    return w.data;
}
