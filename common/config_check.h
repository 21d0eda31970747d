/*
 * config_check - validate every option of a program at start-up
 *
 * A program lists its keys with what each may hold (integer range, one of a
 * set of words, URL, ZeroMQ endpoint, host:port, yes/no, log level) in a
 * config_rule_t table; config_check stops at the first value that does not
 * fit, with a one-line message that names the key, what was given and what
 * is allowed, e.g.
 *   max_body: '-5' is not allowed: expected an integer from 1024 to 67108864
 * Programs print it and exit 2. Nothing is allocated; the rules are borrowed.
 */
#ifndef BCCI_CONFIG_CHECK_H
#define BCCI_CONFIG_CHECK_H

#include <stddef.h>

#include "config.h"

typedef enum {
    CHECK_INT,       /* decimal integer in [min, max] */
    CHECK_NUMBER,    /* decimal number (may have a fraction) in [min, max] */
    CHECK_ENUM,      /* one of the comma-separated words in choices */
    CHECK_URL,       /* http://HOST[:PORT][/PATH] or https://… */
    CHECK_ENDPOINT,  /* ZeroMQ: ipc://PATH or tcp://HOST:PORT */
    CHECK_HOSTPORT,  /* HOST:PORT, port 0..65535 */
    CHECK_STORE,     /* sqlite:PATH or postgresql://USER@HOST[:PORT]/DBNAME (no password in it) */
    CHECK_BOOL,      /* yes, no, true, false, 1, 0 */
    CHECK_LOG_LEVEL, /* what log_level_parse accepts */
} config_check_kind_t;

typedef struct {
    const char *key;
    config_check_kind_t kind;
    int optional;          /* 1: an empty or unset value is allowed */
    long long min, max;    /* CHECK_INT, CHECK_NUMBER */
    const char *choices;   /* CHECK_ENUM: "a,b,c" */
} config_rule_t;

/* config_check - 0 when every ruled key holds an allowed value; -1 with err
 * ("KEY: 'VALUE' is not allowed: expected …") at the first that does not.
 * rules ends with an entry whose key is NULL. */
int config_check(const config_t *cfg, const config_rule_t *rules, char *err, size_t errlen);

/* config_check_value - the same for one value (for tests and fuzzers) */
int config_check_value(const config_rule_t *rule, const char *value, char *err, size_t errlen);

/* config_bool - 1 for yes/true/1, 0 otherwise (after config_check accepted it) */
int config_bool(const config_t *cfg, const char *key);

/* config_url_is_loopback - 1 when the URL's host is 127.x.x.x, ::1 or localhost */
int config_url_is_loopback(const char *url);

#endif
