/*
 * config - key = value file plus command-line options (see config.h)
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_POSITIONAL 64

struct config {
    const config_spec_t *spec;
    size_t n;
    char **values;
    char *positional[CONFIG_MAX_POSITIONAL];
    int npositional;
};

config_t *
config_new(const config_spec_t *spec)
{
    config_t *self = calloc(1, sizeof *self);
    size_t i;

    if (!self)
        return NULL;
    self->spec = spec;
    while (spec[self->n].key)
        self->n++;
    self->values = calloc(self->n ? self->n : 1, sizeof(char *));
    if (!self->values) {
        free(self);
        return NULL;
    }
    for (i = 0; i < self->n; i++)
        if (spec[i].default_value)
            self->values[i] = strdup(spec[i].default_value);
    return self;
}

void
config_destroy(config_t **selfp)
{
    config_t *self = *selfp;
    size_t i;
    int j;

    if (!self)
        return;
    for (i = 0; i < self->n; i++)
        free(self->values[i]);
    for (j = 0; j < self->npositional; j++)
        free(self->positional[j]);
    free(self->values);
    free(self);
    *selfp = NULL;
}

static long
config_index(const config_t *self, const char *key)
{
    size_t i;

    for (i = 0; i < self->n; i++)
        if (strcmp(self->spec[i].key, key) == 0)
            return (long)i;
    return -1;
}

int
config_set(config_t *self, const char *key, const char *value, char *err, size_t errlen)
{
    long i = config_index(self, key);
    char *copy;

    if (i < 0) {
        snprintf(err, errlen, "unknown option '%s' (see --help for the valid keys)", key);
        return CONFIG_ERROR;
    }
    copy = strdup(value);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return CONFIG_ERROR;
    }
    free(self->values[i]);
    self->values[i] = copy;
    return CONFIG_OK;
}

static char *
trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

int
config_each_pair(const char *path, const char *what, const char *form, config_pair_fn fn, void *cls, char *err,
                 size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int lineno = 0;

    if (!f) {
        snprintf(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
        return CONFIG_ERROR;
    }
    while (fgets(line, sizeof line, f)) {
        char *eq, *s;
        char why[512];

        lineno++;
        s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected '%s'", path, lineno, form);
            fclose(f);
            return CONFIG_ERROR;
        }
        *eq = '\0';
        why[0] = '\0';
        if (fn(trim(s), trim(eq + 1), cls, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            fclose(f);
            return CONFIG_ERROR;
        }
    }
    fclose(f);
    return CONFIG_OK;
}

static int
set_pair(const char *key, const char *value, void *cls, char *why, size_t whylen)
{
    return config_set(cls, key, value, why, whylen) == CONFIG_OK ? 0 : -1;
}

int
config_load_file(config_t *self, const char *path, char *err, size_t errlen)
{
    return config_each_pair(path, "config file", "key = value", set_pair, self, err, errlen);
}

int
config_parse(config_t *self, int argc, char **argv, int allow_positional, char *err, size_t errlen)
{
    int i;

    /* The file first, so that any --key on the command line overrides it. */
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "%s needs a file name", argv[i]);
                return CONFIG_ERROR;
            }
            if (config_load_file(self, argv[i + 1], err, errlen) != CONFIG_OK)
                return CONFIG_ERROR;
            i++;
        }
    }
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            i++;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return CONFIG_HELP;
        if (strcmp(a, "--version") == 0)
            return CONFIG_VERSION;
        if (strncmp(a, "--", 2) == 0 && a[2]) {
            char key[256];
            const char *eq = strchr(a + 2, '=');
            const char *value;

            if (eq) {
                snprintf(key, sizeof key, "%.*s", (int)(eq - a - 2), a + 2);
                value = eq + 1;
            } else {
                snprintf(key, sizeof key, "%s", a + 2);
                if (config_index(self, key) >= 0 && i + 1 < argc) {
                    value = argv[++i];
                } else if (config_index(self, key) >= 0) {
                    /* a bare flag: --json, --dry-run */
                    value = "1";
                } else {
                    value = "";
                }
            }
            if (config_set(self, key, value, err, errlen) != CONFIG_OK)
                return CONFIG_ERROR;
            continue;
        }
        if (!allow_positional || self->npositional >= CONFIG_MAX_POSITIONAL) {
            snprintf(err, errlen, "unexpected argument '%s'", a);
            return CONFIG_ERROR;
        }
        self->positional[self->npositional] = strdup(a);
        if (!self->positional[self->npositional]) {
            snprintf(err, errlen, "out of memory");
            return CONFIG_ERROR;
        }
        self->npositional++;
    }
    return CONFIG_OK;
}

const char *
config_get(const config_t *self, const char *key)
{
    long i = config_index(self, key);

    return i < 0 ? NULL : self->values[i];
}

long long
config_get_int(const config_t *self, const char *key, long long fallback)
{
    const char *v = config_get(self, key);
    char *end;
    long long n;

    if (!v || !*v)
        return fallback;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno || *end)
        return fallback;
    return n;
}

double
config_get_double(const config_t *self, const char *key, double fallback)
{
    const char *v = config_get(self, key);
    char *end;
    double d;

    if (!v || !*v)
        return fallback;
    d = strtod(v, &end);
    return *end ? fallback : d;
}

int
config_positional_count(const config_t *self)
{
    return self->npositional;
}

const char *
config_positional(const config_t *self, int i)
{
    return (i >= 0 && i < self->npositional) ? self->positional[i] : NULL;
}

void
config_print_help(const config_t *self, const char *prog, const char *synopsis)
{
    size_t i;

    printf("usage: %s %s\n\noptions (also as 'key = value' lines in the file given with -c FILE):\n",
           prog, synopsis);
    for (i = 0; i < self->n; i++)
        printf("  --%-28s %s%s%s%s\n", self->spec[i].key, self->spec[i].help,
               self->spec[i].default_value ? " (default: " : "",
               self->spec[i].default_value ? self->spec[i].default_value : "",
               self->spec[i].default_value ? ")" : "");
    printf("  --%-28s %s\n  --%-28s %s\n", "help", "print this help", "version", "print the version");
}
