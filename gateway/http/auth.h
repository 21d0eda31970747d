/*
 * auth - API clients: bearer tokens with a role, stored only as hashes (design §8)
 *
 * A token is "bcci_" + 43 URL-safe characters (256 random bits); the table
 * keeps its SHA-256 (a fast hash is right for secrets with that much
 * entropy), its name, its role and optionally the one agency it acts for
 * (a commune's one-stop desk: it then reaches only that agency's dossiers,
 * shipments and manifests). The token itself is shown once, at creation.
 * Writes run in a write transaction (the engine's, or bccid's own at start-up
 * before the engine exists); lookups go through store_admin_token_find. The
 * table itself is the store's (store_admin.h).
 *
 * A token revoked through any instance is refused by all at the next request.
 * The store decides what that allows: on SQLite it remembers live tokens
 * until any process on the file next changes a token (a generation they
 * share, gateway/store/token_cache.h); on PostgreSQL every lookup reads the
 * table.
 */
#ifndef BCCI_AUTH_H
#define BCCI_AUTH_H

#include <stdint.h>

#include "gateway/store/store.h"
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

/* auth_token_create - check (name, role, agency) and store a new token in tx; agency NULL or ""
 * = every agency, otherwise an agency identifier (000.00.31.H23). The clear token goes to
 * token_out (it is shown once; the store keeps only its hash). 0, or -1 with err (422 bad
 * name, role or agency; 409 the name exists; 503 storage). */
int auth_token_create(store_tx_t *tx, const char *name, const char *role, const char *agency, int64_t now,
                      char token_out[AUTH_TOKEN_LEN], api_error_t *err);
/* auth_token_revoke - revoke the live token name in tx. 0, or -1 with err: 404 no live token
 * of that name, 409 last_admin_token (the last live admin token is never revoked), 503.
 * The revocation takes effect for every lookup (on every instance) once the transaction committed. */
int auth_token_revoke(store_tx_t *tx, const char *name, int64_t now, api_error_t *err);

/* auth_check - who calls with this clear token: 0 and *who for a live token, 1 unknown or
 * revoked, -1 when the store cannot be read. A request that starts after a revocation
 * committed on any instance is refused (see above). */
int auth_check(store_t *store, const char *token, auth_client_t *who);

#endif
