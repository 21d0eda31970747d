/*
 * wire - the protocol between bccid (ROUTER) and bcci-worker (DEALER)
 *
 * See wire.h for the frames and commands. wire_decode is the only place that
 * turns untrusted bytes into a wire_msg_t, and it is fuzzed
 * (tests/fuzz/wire_fuzz.c): every field is checked for type and range, every
 * string must fit its array (too long is an error, never a truncation), and
 * the JSON nesting depth is bounded before Jansson sees the body.
 */
#include "queues/wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define WIRE_MAX_DEPTH 32
#define WIRE_MAX_CREDIT 1000
#define WIRE_MAX_DELAY_MS 86400000LL
#define WIRE_MAX_ATTEMPT 1000000
#define WIRE_MAX_FRAMES 4 /* identity + version + command + body */

static const char *const wire_cmd_names[] = { "", "READY", "HEARTBEAT", "JOB", "RESULT", "BYE" };
static const char *const wire_outcome_names[] = { "ok", "retry", "fail" };

void
wire_msg_init(wire_msg_t *m)
{
    memset(m, 0, sizeof *m);
}

void
wire_msg_clear(wire_msg_t *m)
{
    json_decref(m->data);
    memset(m, 0, sizeof *m);
}

const char *
wire_cmd_name(wire_cmd_t c)
{
    if ((int)c < 0 || (size_t)c >= sizeof wire_cmd_names / sizeof wire_cmd_names[0])
        return "";
    return wire_cmd_names[c];
}

const char *
wire_outcome_name(wire_outcome_t o)
{
    if ((int)o < 0 || (size_t)o >= sizeof wire_outcome_names / sizeof wire_outcome_names[0])
        return "fail";
    return wire_outcome_names[o];
}

/* ---- decoding ---------------------------------------------------------- */

/* depth_ok - 1 when the JSON text never nests deeper than WIRE_MAX_DEPTH.
 * Brackets inside strings do not count; the scan does not validate JSON. */
static int
depth_ok(const unsigned char *p, size_t len)
{
    size_t i;
    int depth = 0, in_string = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = p[i];

        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > WIRE_MAX_DEPTH)
                return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

/* get_string - copy member key into out (size outlen). required: absent is an
 * error. 0, or -1 with err set. A string that does not fit is an error. */
static int
get_string(const json_t *obj, const char *key, int required, int nonempty, char *out, size_t outlen, char *err,
           size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    size_t n;

    out[0] = '\0';
    if (!v || json_is_null(v)) {
        if (required) {
            snprintf(err, errlen, "field '%s' is missing", key);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        snprintf(err, errlen, "field '%s' must be a string", key);
        return -1;
    }
    n = json_string_length(v);
    if (n >= outlen) {
        snprintf(err, errlen, "field '%s' is %zu bytes, at most %zu allowed", key, n, outlen - 1);
        return -1;
    }
    if (nonempty && n == 0) {
        snprintf(err, errlen, "field '%s' must not be empty", key);
        return -1;
    }
    memcpy(out, json_string_value(v), n);
    out[n] = '\0';
    return 0;
}

/* get_int - integer member in [lo, hi]; absent: *out = dflt unless required */
static int
get_int(const json_t *obj, const char *key, int required, int64_t lo, int64_t hi, int64_t dflt, int64_t *out,
        char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    json_int_t n;

    *out = dflt;
    if (!v) {
        if (required) {
            snprintf(err, errlen, "field '%s' is missing", key);
            return -1;
        }
        return 0;
    }
    if (!json_is_integer(v)) {
        snprintf(err, errlen, "field '%s' must be an integer", key);
        return -1;
    }
    n = json_integer_value(v);
    if (n < lo || n > hi) {
        snprintf(err, errlen, "field '%s' is %lld, must be in %lld..%lld", key, (long long)n, (long long)lo,
                 (long long)hi);
        return -1;
    }
    *out = (int64_t)n;
    return 0;
}

/* get_object - optional object member (NULL when absent or null); new reference */
static int
get_object(const json_t *obj, const char *key, json_t **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v)) {
        snprintf(err, errlen, "field '%s' must be an object", key);
        return -1;
    }
    *out = json_incref(v);
    return 0;
}

static int
decode_ready(const json_t *root, wire_msg_t *m, char *err, size_t errlen)
{
    const json_t *arr = json_object_get(root, "carriers");
    size_t i, len = 0;
    int64_t credit;

    if (get_string(root, "worker", 1, 1, m->worker, sizeof m->worker, err, errlen) != 0)
        return -1;
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        snprintf(err, errlen, "field 'carriers' must be a non-empty array of carrier names");
        return -1;
    }
    for (i = 0; i < json_array_size(arr); i++) {
        const json_t *c = json_array_get(arr, i);
        size_t n;

        if (!json_is_string(c) || json_string_length(c) == 0) {
            snprintf(err, errlen, "carriers[%zu] must be a non-empty string", i);
            return -1;
        }
        n = json_string_length(c);
        if (memchr(json_string_value(c), ',', n)) {
            snprintf(err, errlen, "carriers[%zu] must not contain a comma", i);
            return -1;
        }
        if (len + (i ? 1 : 0) + n >= sizeof m->carriers) {
            snprintf(err, errlen, "field 'carriers' is too long: at most %zu bytes joined",
                     sizeof m->carriers - 1);
            return -1;
        }
        if (i)
            m->carriers[len++] = ',';
        memcpy(m->carriers + len, json_string_value(c), n);
        len += n;
        m->carriers[len] = '\0';
    }
    if (get_int(root, "credit", 1, 1, WIRE_MAX_CREDIT, 0, &credit, err, errlen) != 0)
        return -1;
    m->credit = (int)credit;
    return 0;
}

static int
decode_job(const json_t *root, wire_msg_t *m, char *err, size_t errlen)
{
    int64_t attempt;

    if (get_int(root, "job_id", 1, 1, INT64_MAX, 0, &m->job_id, err, errlen) != 0 ||
        get_int(root, "lease", 1, 1, INT64_MAX, 0, &m->lease, err, errlen) != 0 ||
        get_string(root, "kind", 1, 1, m->kind, sizeof m->kind, err, errlen) != 0 ||
        get_string(root, "carrier", 0, 0, m->carrier, sizeof m->carrier, err, errlen) != 0 ||
        get_int(root, "attempt", 0, 0, WIRE_MAX_ATTEMPT, 0, &attempt, err, errlen) != 0 ||
        get_object(root, "payload", &m->data, err, errlen) != 0)
        return -1;
    m->attempt = (int)attempt;
    return 0;
}

static int
decode_result(const json_t *root, wire_msg_t *m, char *err, size_t errlen)
{
    char outcome[8];
    const json_t *pause;
    size_t i;

    if (get_int(root, "job_id", 1, 1, INT64_MAX, 0, &m->job_id, err, errlen) != 0 ||
        get_int(root, "lease", 1, 1, INT64_MAX, 0, &m->lease, err, errlen) != 0 ||
        get_string(root, "outcome", 1, 1, outcome, sizeof outcome, err, errlen) != 0)
        return -1;
    for (i = 0; i < sizeof wire_outcome_names / sizeof wire_outcome_names[0]; i++)
        if (strcmp(outcome, wire_outcome_names[i]) == 0)
            break;
    if (i == sizeof wire_outcome_names / sizeof wire_outcome_names[0]) {
        snprintf(err, errlen, "field 'outcome' is '%s', must be ok, retry or fail", outcome);
        return -1;
    }
    m->outcome = (wire_outcome_t)i;
    if (get_int(root, "delay_ms", 0, 0, WIRE_MAX_DELAY_MS, 0, &m->delay_ms, err, errlen) != 0 ||
        get_string(root, "message", 0, 0, m->message, sizeof m->message, err, errlen) != 0 ||
        get_object(root, "data", &m->data, err, errlen) != 0)
        return -1;
    pause = json_object_get(root, "pause");
    if (pause && !json_is_null(pause)) {
        if (!json_is_boolean(pause)) {
            snprintf(err, errlen, "field 'pause' must be a boolean");
            return -1;
        }
        m->pause = json_is_true(pause);
        if (m->pause && m->outcome != WIRE_RETRY) {
            snprintf(err, errlen, "field 'pause' is true with outcome '%s': a pause travels as a retry", outcome);
            return -1;
        }
    }
    return 0;
}

int
wire_decode(const void *cmd, size_t cmdlen, const void *body, size_t bodylen, wire_msg_t *out, char *err,
            size_t errlen)
{
    json_error_t jerr;
    json_t *root = NULL;
    wire_cmd_t c = WIRE_NONE;
    size_t i;
    int rc = -1;

    wire_msg_clear(out);
    for (i = 1; i < sizeof wire_cmd_names / sizeof wire_cmd_names[0]; i++)
        if (cmd && cmdlen == strlen(wire_cmd_names[i]) && memcmp(cmd, wire_cmd_names[i], cmdlen) == 0)
            c = (wire_cmd_t)i;
    if (c == WIRE_NONE) {
        snprintf(err, errlen, "unknown command (%zu bytes); expected READY, HEARTBEAT, JOB, RESULT or BYE",
                 cmdlen);
        goto out;
    }
    if (!body || bodylen == 0) {
        snprintf(err, errlen, "%s: empty body, expected a JSON object", wire_cmd_names[c]);
        goto out;
    }
    if (bodylen > WIRE_MAX_BODY) {
        snprintf(err, errlen, "%s: body is %zu bytes, at most %d allowed", wire_cmd_names[c], bodylen,
                 WIRE_MAX_BODY);
        goto out;
    }
    if (!depth_ok(body, bodylen)) {
        snprintf(err, errlen, "%s: JSON nested deeper than %d levels", wire_cmd_names[c], WIRE_MAX_DEPTH);
        goto out;
    }
    root = json_loadb(body, bodylen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "%s: invalid JSON at byte %d: %s", wire_cmd_names[c], jerr.position, jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "%s: body must be a JSON object", wire_cmd_names[c]);
        goto out;
    }
    out->cmd = c;
    switch (c) {
    case WIRE_READY:
        rc = decode_ready(root, out, err, errlen);
        break;
    case WIRE_JOB:
        rc = decode_job(root, out, err, errlen);
        break;
    case WIRE_RESULT:
        rc = decode_result(root, out, err, errlen);
        break;
    default: /* HEARTBEAT, BYE: fields are ignored */
        rc = 0;
        break;
    }
    if (rc != 0) {
        /* prefix the command so the log says which message was wrong */
        char tmp[256];

        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, errlen, "%s: %s", wire_cmd_names[c], tmp);
    }
out:
    json_decref(root);
    if (rc != 0)
        wire_msg_clear(out);
    return rc;
}

/* ---- encoding ---------------------------------------------------------- */

/* utf8_len - length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
    size_t need, i;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

json_t *
wire_json_string(const char *s)
{
    size_t n = strlen(s), i = 0, o = 0, k;
    char *copy;
    json_t *j;

    j = json_stringn(s, n);
    if (j)
        return j;
    copy = malloc(n + 1);
    if (!copy)
        return NULL;
    while (i < n) {
        k = utf8_len((const unsigned char *)s + i, n - i);
        if (k == 0) {
            copy[o++] = '?';
            i++;
        } else {
            memcpy(copy + o, s + i, k);
            o += k;
            i += k;
        }
    }
    j = json_stringn(copy, o);
    free(copy);
    return j;
}

/* set_new - json_object_set_new that reports a NULL value as failure */
static int
set_new(json_t *obj, const char *key, json_t *v)
{
    if (!v)
        return -1;
    return json_object_set_new(obj, key, v);
}

int
wire_encode(const wire_msg_t *m, const char **cmd, char **body, size_t *bodylen)
{
    json_t *root = json_object();
    int rc = -1;

    *cmd = NULL;
    *body = NULL;
    *bodylen = 0;
    if (!root || m->cmd <= WIRE_NONE || m->cmd > WIRE_BYE)
        goto out;
    switch (m->cmd) {
    case WIRE_READY: {
        json_t *arr = json_array();
        const char *p = m->carriers;

        if (set_new(root, "worker", wire_json_string(m->worker)) != 0 || set_new(root, "carriers", arr) != 0)
            goto out;
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);

            if (n > 0 && json_array_append_new(arr, json_stringn(p, n)) != 0)
                goto out;
            p += n;
            if (*p == ',')
                p++;
        }
        if (set_new(root, "credit", json_integer(m->credit)) != 0)
            goto out;
        break;
    }
    case WIRE_JOB:
        if (set_new(root, "job_id", json_integer(m->job_id)) != 0 ||
            set_new(root, "lease", json_integer(m->lease)) != 0 ||
            set_new(root, "kind", wire_json_string(m->kind)) != 0 ||
            set_new(root, "carrier", wire_json_string(m->carrier)) != 0 ||
            set_new(root, "attempt", json_integer(m->attempt)) != 0 ||
            set_new(root, "payload", m->data ? json_incref(m->data) : json_object()) != 0)
            goto out;
        break;
    case WIRE_RESULT:
        if (set_new(root, "job_id", json_integer(m->job_id)) != 0 ||
            set_new(root, "lease", json_integer(m->lease)) != 0 ||
            set_new(root, "outcome", json_string(wire_outcome_name(m->outcome))) != 0 ||
            set_new(root, "delay_ms", json_integer(m->delay_ms)) != 0 ||
            set_new(root, "message", wire_json_string(m->message)) != 0 ||
            set_new(root, "data", m->data ? json_incref(m->data) : json_object()) != 0)
            goto out;
        /* only when set: a RESULT without it reads as before, and a bccid that does not know
         * the flag reads a pause as the retry it also is */
        if (m->pause && set_new(root, "pause", json_true()) != 0)
            goto out;
        break;
    default: /* HEARTBEAT, BYE: {} */
        break;
    }
    *body = json_dumps(root, JSON_COMPACT);
    if (!*body)
        goto out;
    *bodylen = strlen(*body);
    *cmd = wire_cmd_names[m->cmd];
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* ---- sockets ----------------------------------------------------------- */

int
wire_send(void *socket, const void *identity, size_t idlen, const wire_msg_t *m)
{
    const char *cmd;
    char *body = NULL;
    size_t bodylen;
    int rc = -1, saved;

    if (wire_encode(m, &cmd, &body, &bodylen) != 0) {
        errno = EINVAL;
        return -1;
    }
    /* Once the first frame is queued ZeroMQ queues the rest of the message
     * atomically, so only the first send can meet a full pipe (EAGAIN). */
    if (identity && zmq_send(socket, identity, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        goto out;
    if (zmq_send(socket, WIRE_VERSION, strlen(WIRE_VERSION), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(socket, cmd, strlen(cmd), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(socket, body, bodylen, ZMQ_DONTWAIT) < 0)
        goto out;
    rc = 0;
out:
    saved = errno;
    free(body);
    errno = saved;
    return rc;
}

int
wire_recv(void *socket, int is_router, unsigned char *identity, size_t *idlen, wire_msg_t *out, char *err,
          size_t errlen)
{
    zmq_msg_t parts[WIRE_MAX_FRAMES];
    size_t want = is_router ? 4 : 3, nparts = 0, total = 0, i;
    int more, rc = -1;

    wire_msg_clear(out);
    if (idlen)
        *idlen = 0;
    err[0] = '\0';
    /* Read every frame of the message, even past the ones we use, so that a
     * malformed message never leaves frames behind for the next read. */
    for (;;) {
        zmq_msg_t scratch, *msg = nparts < WIRE_MAX_FRAMES ? &parts[nparts] : &scratch;

        zmq_msg_init(msg);
        if (zmq_msg_recv(msg, socket, ZMQ_DONTWAIT) < 0) {
            int e = errno;

            zmq_msg_close(msg);
            if (total == 0 && e == EAGAIN) {
                rc = 1;
                goto out;
            }
            if (total == 0 && e == EINTR) {
                rc = 1;
                goto out;
            }
            snprintf(err, errlen, "receive failed after %zu frames: %s", total, zmq_strerror(e));
            goto out;
        }
        total++;
        more = zmq_msg_more(msg);
        if (msg == &scratch)
            zmq_msg_close(msg);
        else
            nparts++;
        if (!more)
            break;
    }
    if (total != want) {
        snprintf(err, errlen, "message has %zu frames, expected %zu", total, want);
        goto out;
    }
    i = 0;
    if (is_router) {
        size_t n = zmq_msg_size(&parts[0]);

        if (n == 0 || n > 255) {
            snprintf(err, errlen, "routing identity is %zu bytes, expected 1..255", n);
            goto out;
        }
        if (identity)
            memcpy(identity, zmq_msg_data(&parts[0]), n);
        if (idlen)
            *idlen = n;
        i = 1;
    }
    if (zmq_msg_size(&parts[i]) != strlen(WIRE_VERSION) ||
        memcmp(zmq_msg_data(&parts[i]), WIRE_VERSION, strlen(WIRE_VERSION)) != 0) {
        snprintf(err, errlen, "bad protocol version frame (%zu bytes), expected %s", zmq_msg_size(&parts[i]),
                 WIRE_VERSION);
        goto out;
    }
    if (wire_decode(zmq_msg_data(&parts[i + 1]), zmq_msg_size(&parts[i + 1]), zmq_msg_data(&parts[i + 2]),
                    zmq_msg_size(&parts[i + 2]), out, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    for (i = 0; i < nparts; i++)
        zmq_msg_close(&parts[i]);
    if (rc == -1)
        wire_msg_clear(out);
    return rc;
}
