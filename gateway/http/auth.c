/*
 * auth - tokens and roles (see auth.h); the tokens table is the store's (store_admin.h)
 */
#include "gateway/http/auth.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "gateway/http/http_internal.h"
#include "domain/ident.h"
#include "gateway/store/store_admin.h"

static const struct {
    const char *name;
    unsigned bit;
} roles[] = {
    { "case_system", ROLE_CASE_SYSTEM }, { "clerk", ROLE_CLERK }, { "post_office", ROLE_POST_OFFICE },
    { "carrier", ROLE_CARRIER },         { "admin", ROLE_ADMIN },
};

unsigned
auth_role_bit(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (name && strcmp(roles[i].name, name) == 0)
            return roles[i].bit;
    return 0;
}

const char *
auth_role_name(unsigned bit)
{
    size_t i;

    for (i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (roles[i].bit == bit)
            return roles[i].name;
    return "";
}

const char *
auth_role_names(void)
{
    return "case_system, clerk, post_office, carrier, admin";
}

/* valid_name - letters, digits, '.', '_', '-', 1 to 64 of them: safe in paths and logs */
static int
valid_name(const char *name)
{
    size_t i, n = name ? strlen(name) : 0;

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
              (name[i] >= '0' && name[i] <= '9') || strchr("._-", name[i])))
            return 0;
    return 1;
}

int
auth_token_create(store_tx_t *tx, const char *name, const char *role, const char *agency, int64_t now,
                  char token_out[AUTH_TOKEN_LEN], api_error_t *err)
{
    uint8_t raw[32];
    char b64[48], hash[SHA256_HEX_LEN];
    store_rc_t rc;

    if (!valid_name(name)) {
        api_error_set(err, 422, "invalid_field", "name",
                      "a token name has 1 to 64 characters: letters, digits, '.', '_' or '-'");
        return -1;
    }
    if (!auth_role_bit(role)) {
        api_error_set(err, 422, "invalid_field", "role", "role must be one of %s", auth_role_names());
        return -1;
    }
    if (agency && !*agency)
        agency = NULL;
    if (agency && (strlen(agency) >= AUTH_AGENCY_LEN || !ident_agency_code(agency))) {
        api_error_set(err, 422, "invalid_field", "agency_code",
                      "agency_code must be an agency identifier like 000.00.31.H23 (or absent for every agency)");
        return -1;
    }
    if (agency && strcmp(role, "case_system") != 0 && strcmp(role, "clerk") != 0) {
        api_error_set(err, 422, "invalid_field", "agency_code",
                      "the %s role serves every agency; give agency_code only to case_system or clerk tokens",
                      role);
        return -1;
    }
    if (random_bytes(raw, sizeof raw) != 0) {
        api_error_set(err, 503, "unavailable", NULL, "the system random generator failed; retry");
        return -1;
    }
    base64url_encode(raw, sizeof raw, b64);
    snprintf(token_out, AUTH_TOKEN_LEN, "bcci_%s", b64);
    explicit_bzero(raw, sizeof raw);
    sha256_hex(token_out, strlen(token_out), hash);
    rc = store_admin_token_create(tx, name, role, agency, hash, now);
    if (rc != STORE_OK) {
        explicit_bzero(token_out, AUTH_TOKEN_LEN);
        http_store_error(err, rc, store_tx_message(tx));
        if (rc == STORE_CONFLICT)
            snprintf(err->field, sizeof err->field, "name");
        return -1;
    }
    return 0;
}

int
auth_token_revoke(store_tx_t *tx, const char *name, int64_t now, api_error_t *err)
{
    store_rc_t rc = store_admin_token_revoke(tx, name, now);

    if (rc == STORE_OK)
        return 0;
    if (rc == STORE_CONFLICT) {
        api_error_set(err, 409, "last_admin_token", NULL,
                      "%s; if no admin token is left at all, stop bccid and run bccid --new-admin-token",
                      store_tx_message(tx));
        return -1;
    }
    http_store_error(err, rc, store_tx_message(tx));
    return -1;
}

/* ---------------------------------------------------------------- lookup */

int
auth_check(store_t *store, const char *token, auth_client_t *who)
{
    char hex[SHA256_HEX_LEN];
    store_token_t row;
    store_rc_t rc;

    memset(who, 0, sizeof *who);
    sha256_hex(token, strlen(token), hex);
    rc = store_admin_token_find(store, hex, &row);
    if (rc == STORE_NOT_FOUND)
        return 1;
    if (rc != STORE_OK)
        return -1;
    who->role = auth_role_bit(row.role);
    snprintf(who->name, sizeof who->name, "%s", row.name);
    snprintf(who->agency, sizeof who->agency, "%s", row.agency_code);
    return 0;
}
