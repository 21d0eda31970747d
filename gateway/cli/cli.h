/*
 * cli - the plumbing of the bcci command-line client: configuration, HTTP
 * calls to bccid, the local online backup of a live database, and the
 * copy of a whole gateway into another store
 *
 * Nothing here knows the server's state or runs inside bccid; these files
 * are in the library only because every gateway C file but the mains is
 * (see the Makefile). Configuration comes from flags, then the environment (BCCI_URL,
 * BCCI_TOKEN), then a file (--config FILE, else $XDG_CONFIG_HOME/bcci/config
 * or ~/.config/bcci/config) of `key = value` lines (url, token).
 *
 * Ownership: cli_client_new returns a client the caller owns
 * (cli_client_destroy NULLs the pointer); a cli_resp_t owns its body until
 * cli_resp_free; cli_escape returns a string the caller frees with free().
 */
#ifndef BCCI_CLI_H
#define BCCI_CLI_H

#include <stddef.h>

#include "buf.h"
#include "gateway/store/store_copy.h"

#define CLI_DEFAULT_URL "http://127.0.0.1:8080"

typedef struct {
    char url[1024];
    char token[512];
    char source_url[64];    /* where url came from: "flag", "environment", a file path, "default" */
    char source_token[64];
} cli_conf_t;

/* cli_conf_load - resolve url and token (flag > environment > file > default). flag_* and
 * config_path may be NULL. An explicit config_path must be readable; the default file may be
 * absent. Returns 0, or -1 with err (unreadable file, unknown key, malformed line). */
int cli_conf_load(cli_conf_t *conf, const char *flag_url, const char *flag_token, const char *config_path,
                  char *err, size_t errlen);

typedef struct {
    long status;             /* HTTP status; 0 when bccid could not be reached */
    buf_t body;              /* the answer, NUL-terminated */
    char content_type[128];
    char err[1400];          /* the transport error when status is 0 */
} cli_resp_t;

typedef struct cli_client cli_client_t;

/* cli_client_new - a client keeping its connection alive between calls; NULL when out of memory */
cli_client_t *cli_client_new(const cli_conf_t *conf);
void cli_client_destroy(cli_client_t **self);

/* cli_call - one request; path starts with '/', body (JSON) may be NULL. Fills resp (the
 * caller frees it with cli_resp_free, also on failure). Returns resp->status. */
long cli_call(cli_client_t *self, const char *method, const char *path, const char *body, size_t bodylen,
              cli_resp_t *resp);
void cli_resp_free(cli_resp_t *resp);

/* cli_escape - s percent-encoded for one path segment or query value; NULL when out of memory */
char *cli_escape(const char *s);

/* cli_backup - copy the live SQLite database at dbpath to dest with the online backup API
 * (readers and the writer keep working). dest must not exist. Returns 0, or -1 with err. */
int cli_backup(const char *dbpath, const char *dest, long long *pages, char *err, size_t errlen);

/* cli_store_copy - copy every row of the store at from_uri into the empty store at to_uri and
 * verify counts and chains (store_copy.h). secret_path: the source's server secret (NULL: the
 * file "secret" beside a sqlite: source). 0 copied; 1 refused (the target is not empty, or a
 * check failed), -1 any other failure; err says why. Nothing is committed unless 0. */
int cli_store_copy(const char *from_uri, const char *to_uri, const char *secret_path, store_copy_report_t *report,
                   char *err, size_t errlen);

#endif
