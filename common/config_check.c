/*
 * config_check - start-up validation of option values (see config_check.h)
 */
#include "config_check.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int
word_in(const char *value, const char *choices)
{
    size_t n = strlen(value);
    const char *p = choices;

    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (len == n && strncmp(p, value, n) == 0)
            return 1;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

/* host_ok - a DNS name, IPv4 address or [IPv6] literal, without spaces or odd bytes */
static int
host_ok(const char *host, size_t len)
{
    size_t i;

    if (len == 0 || len > 253)
        return 0;
    if (host[0] == '[')
        return len > 2 && host[len - 1] == ']';
    for (i = 0; i < len; i++)
        if (!isalnum((unsigned char)host[i]) && host[i] != '.' && host[i] != '-' && host[i] != '_' &&
            host[i] != '*')
            return 0;
    return 1;
}

/* port_ok - s[0..len) is a decimal port 0..65535 */
static int
port_ok(const char *s, size_t len)
{
    unsigned long p = 0;
    size_t i;

    if (len == 0 || len > 5)
        return 0;
    for (i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        p = p * 10 + (unsigned long)(s[i] - '0');
    }
    return p <= 65535;
}

/* hostport_ok - HOST:PORT (the port may be omitted when port_optional) */
static int
hostport_ok(const char *s, size_t len, int port_optional)
{
    const char *colon = NULL;
    size_t i;

    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);

        if (!close)
            return 0;
        if ((size_t)(close - s) + 1 == len)
            return port_optional && host_ok(s, len);
        if (close[1] != ':')
            return 0;
        colon = close + 1;
    } else {
        for (i = 0; i < len; i++)
            if (s[i] == ':')
                colon = s + i;
    }
    if (!colon)
        return port_optional && host_ok(s, len);
    return host_ok(s, (size_t)(colon - s)) && port_ok(colon + 1, len - (size_t)(colon - s) - 1);
}

static int
url_ok(const char *v)
{
    const char *rest, *end;
    size_t i;

    if (strncmp(v, "http://", 7) == 0)
        rest = v + 7;
    else if (strncmp(v, "https://", 8) == 0)
        rest = v + 8;
    else
        return 0;
    for (i = 0; v[i]; i++)
        if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
            return 0;
    end = rest + strcspn(rest, "/?#");
    return !memchr(rest, '@', (size_t)(end - rest)) && hostport_ok(rest, (size_t)(end - rest), 1);
}

static int
endpoint_ok(const char *v)
{
    if (strncmp(v, "ipc://", 6) == 0)
        return v[6] != '\0';
    if (strncmp(v, "tcp://", 6) == 0)
        return hostport_ok(v + 6, strlen(v + 6), 0);
    return 0;
}

/* store_ok - sqlite:PATH, or postgresql://[USER@]HOST[:PORT]/DBNAME[?PARAMS] without a
 * password in it (passwords belong in a file: store_password_file) */
static int
store_ok(const char *v)
{
    const char *auth, *slash, *at, *db;
    size_t i;

    for (i = 0; v[i]; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return 0;
    if (strncmp(v, "sqlite:", 7) == 0)
        return v[7] != '\0';
    if (strncmp(v, "postgresql://", 13) != 0)
        return 0;
    auth = v + 13;
    slash = strchr(auth, '/');
    if (!slash || strchr(auth, ' '))
        return 0;
    at = memchr(auth, '@', (size_t)(slash - auth));
    if (at) {
        if (at == auth || memchr(auth, ':', (size_t)(at - auth)))
            return 0;
        auth = at + 1;
    }
    db = slash + 1;
    return hostport_ok(auth, (size_t)(slash - auth), 1) && *db && *db != '?';
}

static int
number_in(const char *v, const config_rule_t *r, int integer)
{
    char *end;

    errno = 0;
    if (integer) {
        long long n = strtoll(v, &end, 10);

        return !errno && end != v && !*end && n >= r->min && n <= r->max;
    } else {
        double d = strtod(v, &end);

        return !errno && end != v && !*end && d >= (double)r->min && d <= (double)r->max;
    }
}

int
config_check_value(const config_rule_t *r, const char *v, char *err, size_t errlen)
{
    log_level_t level;
    int ok = 0;

    if (!v || !*v) {
        if (r->optional)
            return 0;
        v = "";
    }
    switch (r->kind) {
    case CHECK_INT:
        ok = number_in(v, r, 1);
        break;
    case CHECK_NUMBER:
        ok = number_in(v, r, 0);
        break;
    case CHECK_ENUM:
        ok = *v && word_in(v, r->choices);
        break;
    case CHECK_URL:
        ok = url_ok(v);
        break;
    case CHECK_ENDPOINT:
        ok = endpoint_ok(v);
        break;
    case CHECK_HOSTPORT:
        ok = hostport_ok(v, strlen(v), 0);
        break;
    case CHECK_STORE:
        ok = store_ok(v);
        break;
    case CHECK_BOOL:
        ok = word_in(v, "yes,no,true,false,1,0");
        break;
    case CHECK_LOG_LEVEL:
        ok = log_level_parse(v, &level) == 0;
        break;
    }
    if (ok)
        return 0;
    switch (r->kind) {
    case CHECK_INT:
        snprintf(err, errlen, "%s: '%.80s' is not allowed: expected an integer from %lld to %lld", r->key, v, r->min,
                 r->max);
        break;
    case CHECK_NUMBER:
        snprintf(err, errlen, "%s: '%.80s' is not allowed: expected a number from %lld to %lld", r->key, v, r->min,
                 r->max);
        break;
    case CHECK_ENUM:
        snprintf(err, errlen, "%s: '%.80s' is not allowed: expected one of %s", r->key, v, r->choices);
        break;
    case CHECK_URL:
        snprintf(err, errlen, "%s: '%.80s' is not allowed: expected an http:// or https:// URL with a host",
                 r->key, v);
        break;
    case CHECK_ENDPOINT:
        snprintf(err, errlen, "%s: '%.80s' is not allowed: expected ipc://PATH or tcp://HOST:PORT", r->key, v);
        break;
    case CHECK_HOSTPORT:
        snprintf(err, errlen, "%s: '%.80s' is not allowed: expected HOST:PORT, e.g. 127.0.0.1:8080", r->key, v);
        break;
    case CHECK_STORE:
        snprintf(err, errlen,
                 "%s: '%.80s' is not allowed: expected sqlite:PATH or postgresql://USER@HOST:PORT/DBNAME "
                 "(the password goes in store_password_file)",
                 r->key, v);
        break;
    case CHECK_BOOL:
        snprintf(err, errlen, "%s: '%.80s' is not allowed: expected yes or no", r->key, v);
        break;
    case CHECK_LOG_LEVEL:
        snprintf(err, errlen, "%s: '%.80s' is not allowed: expected one of %s", r->key, v, LOG_LEVEL_CHOICES);
        break;
    }
    return -1;
}

int
config_check(const config_t *cfg, const config_rule_t *rules, char *err, size_t errlen)
{
    const config_rule_t *r;

    for (r = rules; r->key; r++)
        if (config_check_value(r, config_get(cfg, r->key), err, errlen) != 0)
            return -1;
    return 0;
}

int
config_bool(const config_t *cfg, const char *key)
{
    const char *v = config_get(cfg, key);

    return v && (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

int
config_url_is_loopback(const char *url)
{
    const char *host = strstr(url, "://");
    size_t len;

    if (!host)
        return 0;
    host += 3;
    len = strcspn(host, ":/?#");
    if (host[0] == '[')
        return strncmp(host, "[::1]", 5) == 0;
    return (len >= 4 && strncmp(host, "127.", 4) == 0) || (len == 9 && strncmp(host, "localhost", 9) == 0);
}
