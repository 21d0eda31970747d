/*
 * auth - API clients: bearer tokens with a role, stored only as hashes (design §8)
 *
 * A token is "bcci_" + 43 URL-safe characters (256 random bits); the table
 * keeps its SHA-256 (a fast hash is right for secrets with that much
 * entropy), its name, its role and optionally the one agency it acts for
 * (a commune's one-stop desk: it then reaches only that agency's dossiers,
 * shipments and manifests). The token itself is shown once, at creation. Writes run on the engine thread (inside its transaction) or at
 * start-up before the engine exists; lookups use any read connection.
 */
#ifndef BCCI_AUTH_H
#define BCCI_AUTH_H

#include <jansson.h>
#include <stdint.h>

#include "gateway/store/sqlite/db.h"
#include "api_error.h"

#define AUTH_TOKEN_LEN 49 /* "bcci_" + 43 + NUL */
#define AUTH_AGENCY_LEN 32

/* who is calling: filled by a lookup */
typedef struct {
    unsigned role;                /* ROLE_* bit */
    char name[72];
    char agency[AUTH_AGENCY_LEN]; /* "" = every agency */
} auth_client_t;

/* auth_role_bit - the ROLE_* bit of a role name, 0 when unknown */
unsigned auth_role_bit(const char *name);
const char *auth_role_name(unsigned bit);
/* auth_role_names - "case_system, clerk, post_office, carrier, admin" */
const char *auth_role_names(void);

/* auth_token_create - new token for (name, role, agency); agency NULL or "" = every
 * agency, otherwise an agency identifier (000.00.31.H23). The clear token goes to
 * token_out. 201 and *out {name, role, agency_code?, token}, or -1 with err (409 when
 * the name exists). */
int auth_token_create(db_t *db, const char *name, const char *role, const char *agency, int64_t now,
                      char token_out[AUTH_TOKEN_LEN], json_t **out, api_error_t *err);
/* auth_token_lookup - 0 and *who for a live token, 1 unknown or revoked, -1 error */
int auth_token_lookup(db_t *db, const char *token, auth_client_t *who);
int auth_token_revoke(db_t *db, const char *name, int64_t now, json_t **out, api_error_t *err);
/* a small in-process cache of recent lookups (AUTH_CACHE_MS), keyed by the token's hash;
 * a revocation clears it (auth_cache_clear). get: 0 hit, 1 miss. */
#define AUTH_CACHE_MS 30000
int auth_cache_get(const char *token, int64_t now, auth_client_t *who);
void auth_cache_put(const char *token, const auth_client_t *who, int64_t now);
void auth_cache_clear(void);
int auth_token_list(db_t *db, json_t **out);
/* auth_token_count - live tokens, -1 on error */
int auth_token_count(db_t *db);

#endif
