/*
 * config_fuzz - libFuzzer target for the configuration reader (common/config.c) and the
 * start-up value checks (common/config_check.c)
 *
 * The input is written to a file and read as a `-c FILE` configuration with a
 * table of keys like the programs'. Either the file is refused with a message,
 * or every key can be read back and checked against its rule without
 * crashing; a refusal always names what was wrong. The same bytes are also
 * fed to every rule of config_check_value as one value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const config_spec_t spec[] = {
    { "http_listen", "127.0.0.1:8080", "" },
    { "public_base_url", "http://127.0.0.1:8080", "" },
    { "jobs_endpoint", NULL, "" },
    { "max_body", "262144", "" },
    { "carrier", "vnpost", "" },
    { "log_level", "info", "" },
    { "insecure_plaintext_jobs", "no", "" },
    { "clock_speed", "60", "" },
    { NULL, NULL, NULL },
};

static const config_rule_t rules[] = {
    { "http_listen", CHECK_HOSTPORT, 0, 0, 0, NULL },
    { "public_base_url", CHECK_URL, 0, 0, 0, NULL },
    { "jobs_endpoint", CHECK_ENDPOINT, 1, 0, 0, NULL },
    { "max_body", CHECK_INT, 0, 1024, 64 * 1024 * 1024, NULL },
    { "carrier", CHECK_ENUM, 0, 0, 0, "vnpost,viettel" },
    { "log_level", CHECK_LOG_LEVEL, 0, 0, 0, NULL },
    { "insecure_plaintext_jobs", CHECK_BOOL, 0, 0, 0, NULL },
    { "clock_speed", CHECK_NUMBER, 0, 0, 1000000, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static char path[4096];

static void
remove_file(void)
{
    unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    config_t *cfg;
    char err[512];
    char *value;
    FILE *f;
    size_t i;

    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        int fd;

        snprintf(path, sizeof path, "%s/bcci-config-fuzz-XXXXXX", dir && *dir ? dir : P_tmpdir);
        fd = mkstemp(path);
        if (fd < 0)
            abort();
        close(fd);
        atexit(remove_file);
    }
    f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    cfg = config_new(spec);
    if (!cfg)
        return 0;
    err[0] = '\0';
    if (config_load_file(cfg, path, err, sizeof err) != CONFIG_OK) {
        if (!err[0])
            abort(); /* a refusal says why */
    } else {
        err[0] = '\0';
        if (config_check(cfg, rules, err, sizeof err) != 0 && !err[0])
            abort();
        for (i = 0; spec[i].key; i++)
            (void)config_get_int(cfg, spec[i].key, 0);
    }
    config_destroy(&cfg);

    value = malloc(size + 1);
    if (!value)
        return 0;
    memcpy(value, data, size);
    value[size] = '\0';
    for (i = 0; rules[i].key; i++) {
        err[0] = '\0';
        if (config_check_value(&rules[i], value, err, sizeof err) != 0 && strncmp(err, rules[i].key,
                                                                                     strlen(rules[i].key)) != 0)
            abort(); /* the message names the key first */
    }
    free(value);
    return 0;
}
