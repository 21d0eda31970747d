/*
 * log - JSON-lines logging to stderr (see log.h)
 *
 * Each line is formatted into a local buffer and written with one write(2),
 * so lines from concurrent threads and processes never interleave.
 */
#include "log.h"

#include "clock.h"

#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "bcci";
static log_level_t log_min = LOG_INFO;
static _Thread_local char log_rid[64];

void
log_init(const char *prog)
{
    log_prog = prog;
}

void
log_set_level(log_level_t min)
{
    log_min = min;
}

int
log_level_parse(const char *s, log_level_t *out)
{
    static const struct {
        const char *name;
        log_level_t level;
    } levels[] = { { "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "warn", LOG_WARN }, { "error", LOG_ERROR } };
    size_t i;

    for (i = 0; s && i < sizeof levels / sizeof levels[0]; i++)
        if (strcmp(s, levels[i].name) == 0) {
            *out = levels[i].level;
            return 0;
        }
    return -1;
}

void
log_set_request_id(const char *rid)
{
    if (!rid) {
        log_rid[0] = '\0';
        return;
    }
    snprintf(log_rid, sizeof log_rid, "%s", rid);
}

/* json_escape_into - append s to out as JSON string content; returns new length.
 * Bytes that are not valid UTF-8 become the text \xHH, so the line stays valid JSON. */
static size_t
json_escape_into(char *out, size_t len, size_t cap, const char *s)
{
    for (; *s && len + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x80) {
            size_t n = utf8_seq_len((const unsigned char *)s, strnlen(s, 4));

            if (n == 0) {
                len += (size_t)snprintf(out + len, cap - len, "\\\\x%02X", c);
            } else if (len + n + 7 < cap) {
                memcpy(out + len, s, n);
                len += n;
                s += n - 1;
            } else {
                break;
            }
        } else if (c == '"' || c == '\\') {
            out[len++] = '\\';
            out[len++] = (char)c;
        } else if (c == '\n') {
            out[len++] = '\\';
            out[len++] = 'n';
        } else if (c < 0x20) {
            len += (size_t)snprintf(out + len, cap - len, "\\u%04x", c);
        } else {
            out[len++] = (char)c;
        }
    }
    return len;
}

/* line_head - {"ts":…,"level":…,"prog":…[,"rid":…] into line; returns the length */
static size_t
line_head(char *line, size_t cap, log_level_t level)
{
    static const char *names[] = { "debug", "info", "warn", "error" };
    struct timespec now;
    char ts[40];
    size_t len;

    clock_gettime(CLOCK_REALTIME, &now);
    clock_format((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, CLOCK_UTC_ISO8601, ts, sizeof ts);
    len = (size_t)snprintf(line, cap, "{\"ts\":\"%s\",\"level\":\"%s\",\"prog\":\"%s\"", ts, names[level],
                           log_prog);
    if (log_rid[0]) {
        len += (size_t)snprintf(line + len, cap - len, ",\"rid\":\"");
        len = json_escape_into(line, len, cap, log_rid);
        line[len++] = '"';
    }
    return len;
}

/* field - ,"key":"value" appended to line (value escaped); room for the closing "}\n" is kept */
static size_t
field(char *line, size_t len, size_t cap, const char *key, const char *value)
{
    if (len + strlen(key) + 8 >= cap)
        return len;
    len += (size_t)snprintf(line + len, cap - len, ",\"");
    len = json_escape_into(line, len, cap - 4, key);
    len += (size_t)snprintf(line + len, cap - len, "\":\"");
    len = json_escape_into(line, len, cap - 4, value);
    line[len++] = '"';
    return len;
}

static void
write_line(int fd, const char *line, size_t len)
{
    if (write(fd, line, len) < 0) {
        /* nothing sensible to do when the stream is gone */
    }
}

void
log_msg(log_level_t level, const char *fmt, ...)
{
    char msg[2048], line[4600];
    va_list ap;
    size_t len;

    if (level < log_min)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    len = line_head(line, sizeof line, level);
    len = field(line, len, sizeof line, "msg", msg);
    line[len++] = '}';
    line[len++] = '\n';
    write_line(STDERR_FILENO, line, len);
}

void
log_fields(int fd, log_level_t level, const char *msg, ...)
{
    char line[4600];
    const char *key;
    va_list ap;
    size_t len;

    len = line_head(line, sizeof line, level);
    len = field(line, len, sizeof line, "msg", msg);
    va_start(ap, msg);
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);

        len = field(line, len, sizeof line, key, value ? value : "");
    }
    va_end(ap);
    line[len++] = '}';
    line[len++] = '\n';
    write_line(fd, line, len);
}
