/*
 * config - program options from a key = value file and the command line
 *
 * Every program declares its keys in a config_spec_t table (key, default,
 * help). config_parse reads `-c FILE` first, then `--key value` or
 * `--key=value` from argv (the command line wins). An unknown key is an
 * error that names the key. `--help` and `--version` are reported to the
 * caller through CONFIG_HELP / CONFIG_VERSION so main() decides what to print.
 * The config owns every string it returns; they live until config_destroy.
 */
#ifndef BCCI_CONFIG_H
#define BCCI_CONFIG_H

#include <stddef.h>

typedef struct {
    const char *key;
    const char *default_value; /* NULL: unset */
    const char *help;
} config_spec_t;

typedef struct config config_t;

enum { CONFIG_OK = 0, CONFIG_ERROR = -1, CONFIG_HELP = 1, CONFIG_VERSION = 2 };

/* config_new - spec is borrowed and must outlive the config (a static table) */
config_t *config_new(const config_spec_t *spec);
void config_destroy(config_t **self);

/* config_parse - apply -c FILE then argv; positional arguments are collected
 * (config_positional) when allow_positional is non-zero, else an error */
int config_parse(config_t *self, int argc, char **argv, int allow_positional, char *err, size_t errlen);
int config_load_file(config_t *self, const char *path, char *err, size_t errlen);
int config_set(config_t *self, const char *key, const char *value, char *err, size_t errlen);

/* config_each_pair - call fn for every "key = value" line of the file at path
 * (both sides trimmed; blank lines and lines starting with '#' skipped), for
 * data files in the config file's format. fn returns 0, or non-zero with a
 * reason in why. CONFIG_ERROR with err "cannot read WHAT PATH: …",
 * "PATH:LINE: expected 'FORM'" or "PATH:LINE: why" stops at the first bad line. */
typedef int (*config_pair_fn)(const char *key, const char *value, void *cls, char *why, size_t whylen);
int config_each_pair(const char *path, const char *what, const char *form, config_pair_fn fn, void *cls, char *err,
                     size_t errlen);

const char *config_get(const config_t *self, const char *key);
long long   config_get_int(const config_t *self, const char *key, long long fallback);
double      config_get_double(const config_t *self, const char *key, double fallback);
int         config_positional_count(const config_t *self);
const char *config_positional(const config_t *self, int i);

/* config_print_help - usage text for the declared keys */
void config_print_help(const config_t *self, const char *prog, const char *synopsis);

#endif
