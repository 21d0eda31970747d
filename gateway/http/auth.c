/*
 * auth - tokens and roles (see auth.h)
 */
#include "gateway/http/auth.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "gateway/http/http_internal.h"
#include "domain/ident.h"

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

static const char SQL_INSERT[] =
    "INSERT INTO tokens (name, role, token_hash, created_at, agency_code) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_EXISTS[] = "SELECT 1 FROM tokens WHERE name = ?1";
static const char SQL_LOOKUP[] =
    "SELECT role, name, COALESCE(agency_code, '') FROM tokens WHERE token_hash = ?1 AND revoked_at IS NULL";
static const char SQL_REVOKE[] = "UPDATE tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL";
static const char SQL_LIST[] =
    "SELECT name, role, created_at, revoked_at, agency_code FROM tokens ORDER BY id";
static const char SQL_COUNT[] = "SELECT COUNT(*) FROM tokens WHERE revoked_at IS NULL";

int
auth_token_create(db_t *db, const char *name, const char *role, const char *agency, int64_t now,
                  char token_out[AUTH_TOKEN_LEN], json_t **out, api_error_t *err)
{
    uint8_t raw[32];
    char b64[48], hash[SHA256_HEX_LEN];
    sqlite3_stmt *st;
    size_t i, n = name ? strlen(name) : 0;

    *out = NULL;
    if (n == 0 || n > 64) {
        api_error_set(err, 422, "invalid_field", "name", "a token name has 1 to 64 characters");
        return -1;
    }
    for (i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
              (name[i] >= '0' && name[i] <= '9') || strchr("._-", name[i]))) {
            api_error_set(err, 422, "invalid_field", "name", "a token name uses letters, digits, '.', '_' or '-'");
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
    st = db_stmt(db, SQL_EXISTS);
    db_bind_text(st, 1, name);
    if (sqlite3_step(st) == SQLITE_ROW) {
        sqlite3_reset(st);
        api_error_set(err, 409, "conflict", "name", "a token named %s exists; revoke it or choose another name",
                      name);
        return -1;
    }
    sqlite3_reset(st);
    if (random_bytes(raw, sizeof raw) != 0) {
        api_error_set(err, 503, "unavailable", NULL, "the system random generator failed; retry");
        return -1;
    }
    base64url_encode(raw, sizeof raw, b64);
    snprintf(token_out, AUTH_TOKEN_LEN, "bcci_%s", b64);
    sha256_hex(token_out, strlen(token_out), hash);
    st = db_stmt(db, SQL_INSERT);
    db_bind_text(st, 1, name);
    db_bind_text(st, 2, role);
    db_bind_text(st, 3, hash);
    sqlite3_bind_int64(st, 4, now);
    if (agency)
        db_bind_text(st, 5, agency);
    else
        sqlite3_bind_null(st, 5);
    if (sqlite3_step(st) != SQLITE_DONE) {
        api_error_set(err, 503, "storage_unavailable", NULL, "cannot store the token: %s", db_errmsg(db));
        return -1;
    }
    *out = json_pack("{s:s, s:s, s:s}", "name", name, "role", role, "token", token_out);
    if (*out && agency)
        json_object_set_new(*out, "agency_code", json_string(agency));
    return 201;
}

int
auth_token_lookup(db_t *db, const char *token, auth_client_t *who)
{
    char hash[SHA256_HEX_LEN];
    sqlite3_stmt *st = db_stmt(db, SQL_LOOKUP);
    int rc;

    if (!st)
        return -1;
    sha256_hex(token, strlen(token), hash);
    db_bind_text(st, 1, hash);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        who->role = auth_role_bit(db_col_text(st, 0));
        snprintf(who->name, sizeof who->name, "%s", db_col_text(st, 1));
        snprintf(who->agency, sizeof who->agency, "%s", db_col_text(st, 2));
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 1 : -1;
}

int
auth_token_revoke(db_t *db, const char *name, int64_t now, json_t **out, api_error_t *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL_REVOKE);

    *out = NULL;
    db_bind_text(st, 1, name);
    sqlite3_bind_int64(st, 2, now);
    if (sqlite3_step(st) != SQLITE_DONE) {
        api_error_set(err, 503, "storage_unavailable", NULL, "cannot revoke: %s", db_errmsg(db));
        return -1;
    }
    if (sqlite3_changes(db_handle(db)) == 0) {
        api_error_set(err, 404, "not_found", NULL, "no live token named %s", name);
        return -1;
    }
    /* before the commit even: a revoked token must not be served from the cache */
    auth_cache_clear();
    *out = json_pack("{s:s, s:b}", "name", name, "revoked", 1);
    return 200;
}

int
auth_token_list(db_t *db, json_t **out)
{
    sqlite3_stmt *st = db_stmt(db, SQL_LIST);
    int rc;

    *out = json_array();
    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *t = json_pack("{s:s, s:s, s:I, s:b}", "name", db_col_text(st, 0), "role", db_col_text(st, 1),
                              "created_at", (json_int_t)sqlite3_column_int64(st, 2), "revoked",
                              sqlite3_column_type(st, 3) != SQLITE_NULL);
        if (t && sqlite3_column_type(st, 4) != SQLITE_NULL)
            json_object_set_new(t, "agency_code", json_string(db_col_text(st, 4)));
        json_array_append_new(*out, t);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int
auth_token_count(db_t *db)
{
    sqlite3_stmt *st = db_stmt(db, SQL_COUNT);
    int n = -1;

    if (st && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    if (st)
        sqlite3_reset(st);
    return n;
}

/* ---------------------------------------------------------------- cache */

#define AUTH_CACHE_SLOTS 64

/* the cache keys on the token's hash, never on the token itself */
static struct {
    uint8_t hash[SHA256_LEN];
    auth_client_t who;
    int64_t expires;
} cache[AUTH_CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

void
auth_cache_clear(void)
{
    pthread_mutex_lock(&cache_lock);
    memset(cache, 0, sizeof cache);
    pthread_mutex_unlock(&cache_lock);
}

int
auth_cache_get(const char *token, int64_t now, auth_client_t *who)
{
    uint8_t hash[SHA256_LEN];
    unsigned slot;
    int hit = 0;

    sha256(token, strlen(token), hash);
    slot = (unsigned)hash[0] % AUTH_CACHE_SLOTS;
    pthread_mutex_lock(&cache_lock);
    if (cache[slot].expires > now && ct_equal(cache[slot].hash, hash, sizeof hash)) {
        *who = cache[slot].who;
        hit = 1;
    }
    pthread_mutex_unlock(&cache_lock);
    return hit ? 0 : 1;
}

void
auth_cache_put(const char *token, const auth_client_t *who, int64_t now)
{
    uint8_t hash[SHA256_LEN];
    unsigned slot;

    sha256(token, strlen(token), hash);
    slot = (unsigned)hash[0] % AUTH_CACHE_SLOTS;
    pthread_mutex_lock(&cache_lock);
    memcpy(cache[slot].hash, hash, sizeof hash);
    cache[slot].who = *who;
    cache[slot].expires = now + AUTH_CACHE_MS;
    pthread_mutex_unlock(&cache_lock);
}
