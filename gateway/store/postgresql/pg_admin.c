/*
 * pg_admin - the admin area of the PostgreSQL backend: tokens, purge, COD report
 * (see store_admin.h for the contract)
 *
 * Several instances share the tokens. Nothing about a token is cached here: every lookup
 * reads the table, so a revocation committed by one instance is refused by every other at
 * its next lookup (what the HTTP layer caches is its own business and must be invalidated
 * from the database, not from this process's memory). A revocation locks the live admin
 * tokens (in id order, so two revocations never deadlock) before it counts them, so two
 * instances revoking the last two admin tokens at once cannot both succeed.
 *
 * Backups: PostgreSQL's own tools (pg_dump, pg_basebackup, streaming replication) copy a
 * live database consistently; store_admin_backup says so instead of copying.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store/admin_rules.h"
#include "gateway/store/backend_admin.h"
#include "gateway/store/postgresql/pg_area.h"

/* ---------------------------------------------------------------- tokens */

static const char SQL_TOKEN_EXISTS[] = "SELECT 1 FROM tokens WHERE name = $1::text";
static const char SQL_TOKEN_INSERT[] =
    "INSERT INTO tokens (name, role, token_hash, created_at, agency_code)"
    " VALUES ($1::text, $2::text, $3::text, $4::bigint, $5::text) ON CONFLICT DO NOTHING";
static const char SQL_TOKEN_LOOKUP[] =
    "SELECT name, role, COALESCE(agency_code, ''), created_at FROM tokens"
    " WHERE token_hash = $1::text AND revoked_at IS NULL";
static const char SQL_TOKEN_LIVE_ROLE[] = "SELECT role FROM tokens WHERE name = $1::text AND revoked_at IS NULL";
/* READ COMMITTED: a row revoked meanwhile by another instance is re-checked after its lock and left out */
static const char SQL_LOCK_ADMINS[] =
    "SELECT COUNT(*) FROM (SELECT id FROM tokens WHERE role = 'admin' AND revoked_at IS NULL ORDER BY id"
    " FOR UPDATE) live";
static const char SQL_TOKEN_REVOKE[] =
    "UPDATE tokens SET revoked_at = $2::bigint WHERE name = $1::text AND revoked_at IS NULL";
static const char SQL_TOKEN_LIST[] =
    "SELECT name, role, COALESCE(agency_code, ''), created_at, COALESCE(revoked_at, 0) FROM tokens ORDER BY id";
static const char SQL_TOKEN_COUNT[] =
    "SELECT COUNT(*) FROM tokens WHERE revoked_at IS NULL AND ($1::text IS NULL OR role = $1::text)";

static store_rc_t
pg_token_create(store_tx_t *tx, const char *name, const char *role, const char *agency_code, const char *token_hash,
                int64_t now)
{
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int rows, added = 0;

    if ((r = pg_query_text(tx, "checking the token name", SQL_TOKEN_EXISTS, name, &res)) != STORE_OK)
        return r;
    rows = PQntuples(res);
    PQclear(res);
    if (rows > 0)
        return store_tx_fail(tx, STORE_CONFLICT, "a token named %s exists; revoke it or choose another name", name);
    pg_params_init(&p);
    pg_param_text(&p, name);
    pg_param_text(&p, role);
    pg_param_text(&p, token_hash);
    pg_param_int(&p, now);
    pg_param_text(&p, agency_code && *agency_code ? agency_code : NULL);
    if ((r = pg_exec(tx, "storing the token", SQL_TOKEN_INSERT, &p, &added)) != STORE_OK)
        return r;
    if (!added)
        return store_tx_fail(tx, STORE_CONFLICT, "a token named %s (or with this secret) exists; choose another name",
                             name);
    return STORE_OK;
}

static void
token_row(const PGresult *res, int i, store_token_t *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", pg_text(res, i, 0));
    snprintf(t->role, sizeof t->role, "%s", pg_text(res, i, 1));
    snprintf(t->agency_code, sizeof t->agency_code, "%s", pg_text(res, i, 2));
    t->created_at = pg_int(res, i, 3);
}

static store_rc_t
pg_token_lookup(store_tx_t *tx, const char *token_hash, store_token_t *out)
{
    PGresult *res;
    store_rc_t r;

    memset(out, 0, sizeof *out);
    if ((r = pg_query_text(tx, "looking up the token", SQL_TOKEN_LOOKUP, token_hash, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) == 1)
        token_row(res, 0, out);
    else
        r = store_tx_fail(tx, STORE_NOT_FOUND, "the token is unknown or revoked");
    PQclear(res);
    return r;
}

/* count - the single count of sql with param (NULL: none bound when nparams is 0) */
static store_rc_t
count(store_tx_t *tx, const char *what, const char *sql, const pg_params_t *p, long long *n)
{
    PGresult *res;
    store_rc_t r;

    *n = 0;
    if ((r = pg_query(tx, what, sql, p, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) == 1)
        *n = (long long)pg_int(res, 0, 0);
    else
        r = store_tx_fail(tx, STORE_ERROR, "%s: no row from COUNT()", what);
    PQclear(res);
    return r;
}

static store_rc_t
pg_token_revoke(store_tx_t *tx, const char *name, int64_t now)
{
    char role[STORE_TOKEN_ROLE_MAX] = "";
    long long admins = 0;
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int rows, changed = 0;

    if ((r = pg_query_text(tx, "reading the token", SQL_TOKEN_LIVE_ROLE, name, &res)) != STORE_OK)
        return r;
    rows = PQntuples(res);
    if (rows == 1)
        snprintf(role, sizeof role, "%s", pg_text(res, 0, 0));
    PQclear(res);
    if (rows != 1)
        return store_tx_fail(tx, STORE_NOT_FOUND, "no live token named %s", name);
    if (admin_is_admin(role)) {
        if ((r = count(tx, "counting admin tokens", SQL_LOCK_ADMINS, NULL, &admins)) != STORE_OK)
            return r;
        if ((r = admin_may_revoke(tx, name, role, admins)) != STORE_OK)
            return r;
    }
    pg_params_init(&p);
    pg_param_text(&p, name);
    pg_param_int(&p, now);
    if ((r = pg_exec(tx, "revoking the token", SQL_TOKEN_REVOKE, &p, &changed)) != STORE_OK)
        return r;
    return changed ? STORE_OK : store_tx_fail(tx, STORE_NOT_FOUND, "no live token named %s", name);
}

static store_rc_t
pg_token_list(store_tx_t *tx, store_token_list_t *out)
{
    PGresult *res;
    store_rc_t r;
    int rows, i;

    memset(out, 0, sizeof *out);
    if ((r = pg_query(tx, "listing tokens", SQL_TOKEN_LIST, NULL, &res)) != STORE_OK)
        return r;
    rows = PQntuples(res);
    if (rows > 0 && !(out->items = calloc((size_t)rows, sizeof *out->items))) {
        PQclear(res);
        return pg_no_memory(tx, "listing tokens");
    }
    for (i = 0; i < rows; i++) {
        token_row(res, i, &out->items[i]);
        out->items[i].revoked_at = pg_int(res, i, 4);
    }
    out->n = (size_t)rows;
    PQclear(res);
    return STORE_OK;
}

static store_rc_t
pg_token_count(store_tx_t *tx, const char *role, long long *n)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_text(&p, role);
    return count(tx, "counting tokens", SQL_TOKEN_COUNT, &p, n);
}

/* ----------------------------------------------------------------- purge */

static const char SQL_PURGE_CANDIDATES[] =
    "SELECT d.id FROM dossiers d WHERE d.purged_at IS NULL AND NOT EXISTS (SELECT 1 FROM shipments s"
    " WHERE s.dossier_id = d.id AND (s.status NOT IN ('delivered', 'returned', 'cancelled')"
    " OR s.updated_at >= $1::bigint))"
    " AND EXISTS (SELECT 1 FROM shipments s WHERE s.dossier_id = d.id) ORDER BY d.id LIMIT 10000";
/* personal fields become a marker, as on SQLite; province and commune codes stay (statistics) */
#define ERASED_PERSON                                                                                              \
    "jsonb_build_object('name', '[đã xóa]', 'phone', '[đã xóa]', 'address', '[đã xóa]', 'email', '[đã xóa]',"  \
    " 'id_hash', '[đã xóa]', 'id_last4', '[đã xóa]')"
static const char SQL_PURGE_BODY[] =
    "UPDATE submissions SET body = jsonb_set(body::jsonb, '{recipient}',"
    " (body::jsonb -> 'recipient') || " ERASED_PERSON ")::text"
    " WHERE dossier_id = $1::bigint AND jsonb_typeof(body::jsonb -> 'recipient') = 'object'";
static const char SQL_PURGE_SENDER[] =
    "UPDATE submissions SET body = jsonb_set(body::jsonb, '{sender}',"
    " (body::jsonb -> 'sender') || " ERASED_PERSON ")::text"
    " WHERE dossier_id = $1::bigint AND jsonb_typeof(body::jsonb -> 'sender') = 'object'";
static const char SQL_PURGE_AUTHORISED[] =
    "UPDATE submissions SET body = (body::jsonb - 'authorised_person')::text WHERE dossier_id = $1::bigint";
static const char SQL_PURGE_PROOF[] = "UPDATE shipments SET proof_name = NULL WHERE dossier_id = $1::bigint";
static const char SQL_PURGE_JOBS[] =
    "UPDATE jobs SET payload = '{}' WHERE state IN ('done', 'dead') AND shipment_id IN"
    " (SELECT id FROM shipments WHERE dossier_id = $1::bigint)";
static const char SQL_PURGE_MARK[] = "UPDATE dossiers SET purged_at = $2::bigint WHERE id = $1::bigint";

static store_rc_t
pg_purge(store_tx_t *tx, int64_t cutoff, int dry_run, int64_t now, long long *dossiers)
{
    static const char *const steps[] = { SQL_PURGE_BODY, SQL_PURGE_SENDER, SQL_PURGE_AUTHORISED, SQL_PURGE_PROOF,
                                         SQL_PURGE_JOBS, SQL_PURGE_MARK };
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int rows, i;
    size_t k;

    *dossiers = 0;
    pg_params_init(&p);
    pg_param_int(&p, cutoff);
    if ((r = pg_query(tx, "finding finished dossiers", SQL_PURGE_CANDIDATES, &p, &res)) != STORE_OK)
        return r;
    rows = PQntuples(res);
    for (i = 0; !dry_run && r == STORE_OK && i < rows; i++) {
        for (k = 0; r == STORE_OK && k < sizeof steps / sizeof steps[0]; k++) {
            pg_params_init(&p);
            pg_param_int(&p, pg_int(res, i, 0));
            if (steps[k] == SQL_PURGE_MARK)
                pg_param_int(&p, now);
            r = pg_exec(tx, "removing personal fields", steps[k], &p, NULL);
        }
    }
    PQclear(res);
    if (r == STORE_OK)
        *dossiers = rows;
    return r;
}

/* ------------------------------------------------------------------- COD */

static const char SQL_COD[] =
    "SELECT d.agency_code, s.waybill, d.code, COALESCE(s.cod_collected, 0),"
    " COALESCE(s.cod_collected_at, s.delivered_at), s.leg, CASE WHEN s.leg = 'send' THEN 0 ELSE s.cod_amount END,"
    " (SELECT COALESCE(SUM(l.amount), 0) FROM remittance_lines l WHERE l.shipment_id = s.id),"
    " (SELECT COUNT(*) FROM remittance_lines l WHERE l.shipment_id = s.id)"
    " FROM shipments s JOIN dossiers d ON d.id = s.dossier_id"
    " WHERE ((s.cod_collected > 0 AND s.cod_collected_at >= $1::bigint AND s.cod_collected_at < $2::bigint)"
    "  OR (s.leg <> 'send' AND s.cod_amount > 0 AND COALESCE(s.cod_collected, 0) = 0"
    "   AND s.delivered_at >= $1::bigint AND s.delivered_at < $2::bigint))"
    " AND ($3::text = '' OR d.agency_code = $3::text) ORDER BY d.agency_code, 5";
static const char SQL_COD_UNKNOWN[] =
    "SELECT r.carrier, r.statement_id, l.waybill, l.amount, l.remitted_at FROM remittance_lines l"
    " JOIN remittances r ON r.id = l.remittance_id WHERE l.shipment_id IS NULL AND l.remitted_at >= $1::bigint"
    " AND l.remitted_at < $2::bigint AND ($3::text = '' OR r.agency_code = $3::text)"
    " ORDER BY l.remitted_at, r.id, l.position";

static store_rc_t
pg_cod_report(store_tx_t *tx, int64_t from, int64_t to, const char *agency, store_cod_report_t *out)
{
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int rows, i;

    memset(out, 0, sizeof *out);
    pg_params_init(&p);
    pg_param_int(&p, from);
    pg_param_int(&p, to);
    pg_param_text(&p, agency ? agency : "");
    if ((r = pg_query(tx, "reading the COD report", SQL_COD, &p, &res)) != STORE_OK)
        return r;
    rows = PQntuples(res);
    if (rows > 0 && !(out->rows = calloc((size_t)rows, sizeof *out->rows))) {
        PQclear(res);
        return pg_no_memory(tx, "reading the COD report");
    }
    for (i = 0; i < rows; i++) {
        store_cod_row_t *row = &out->rows[out->n++];

        snprintf(row->agency_code, sizeof row->agency_code, "%s", pg_text(res, i, 0));
        snprintf(row->waybill, sizeof row->waybill, "%s", pg_text(res, i, 1));
        snprintf(row->dossier_code, sizeof row->dossier_code, "%s", pg_text(res, i, 2));
        row->amount = (long long)pg_int(res, i, 3);
        row->collected_at = row->amount > 0 ? pg_int(res, i, 4) : 0;
        snprintf(row->leg, sizeof row->leg, "%s", pg_text(res, i, 5));
        row->expected = (long long)pg_int(res, i, 6);
        row->remitted = (long long)pg_int(res, i, 7);
        row->remitted_lines = (int)pg_int(res, i, 8);
        store_cod_count(out, row);
    }
    PQclear(res);
    if ((r = pg_query(tx, "reading unknown remitted waybills", SQL_COD_UNKNOWN, &p, &res)) != STORE_OK) {
        store_cod_report_free(out);
        return r;
    }
    rows = PQntuples(res);
    if (rows > 0 && !(out->unknown = calloc((size_t)rows, sizeof *out->unknown))) {
        PQclear(res);
        store_cod_report_free(out);
        return pg_no_memory(tx, "reading unknown remitted waybills");
    }
    for (i = 0; i < rows; i++) {
        store_cod_unknown_t *u = &out->unknown[out->nunknown++];

        snprintf(u->carrier, sizeof u->carrier, "%s", pg_text(res, i, 0));
        snprintf(u->statement_id, sizeof u->statement_id, "%s", pg_text(res, i, 1));
        snprintf(u->waybill, sizeof u->waybill, "%s", pg_text(res, i, 2));
        u->amount = (long long)pg_int(res, i, 3);
        u->remitted_at = pg_int(res, i, 4);
    }
    PQclear(res);
    return STORE_OK;
}

/* ------------------------------------------------------------ remittances */

static const char SQL_REMIT_INSERT[] =
    "INSERT INTO remittances (carrier, statement_id, agency_code, content_hash, created_by, created_at)"
    " VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint)"
    " ON CONFLICT (carrier, statement_id) DO NOTHING RETURNING id";
static const char SQL_REMIT_FIND[] =
    "SELECT content_hash FROM remittances WHERE carrier = $1::text AND statement_id = $2::text";
static const char SQL_REMIT_LINE[] =
    "INSERT INTO remittance_lines (remittance_id, position, waybill, shipment_id, amount, remitted_at)"
    " VALUES ($1::bigint, $2::bigint, $3::text, (SELECT s.id FROM shipments s JOIN dossiers d ON d.id = s.dossier_id"
    "  WHERE s.waybill = $3::text AND s.carrier = $6::text AND ($7::text = '' OR d.agency_code = $7::text)),"
    " $4::bigint, $5::bigint) RETURNING shipment_id IS NULL";

static store_rc_t
pg_remittance_import(store_tx_t *tx, const store_remittance_t *stmt, int64_t now, int *created, size_t *unknown)
{
    const char *agency = stmt->agency_code ? stmt->agency_code : "";
    PGresult *res;
    pg_params_t p;
    store_rc_t r;
    int64_t id;
    size_t i;

    *created = 0;
    *unknown = 0;
    /* ON CONFLICT: two instances importing the same statement at once store it once */
    pg_params_init(&p);
    pg_param_text(&p, stmt->carrier);
    pg_param_text(&p, stmt->statement_id);
    pg_param_text(&p, agency);
    pg_param_text(&p, stmt->content_hash);
    pg_param_text(&p, stmt->created_by ? stmt->created_by : "");
    pg_param_int(&p, now);
    if ((r = pg_query(tx, "storing the statement", SQL_REMIT_INSERT, &p, &res)) != STORE_OK)
        return r;
    if (PQntuples(res) == 0) {
        int same;

        PQclear(res);
        pg_params_init(&p);
        pg_param_text(&p, stmt->carrier);
        pg_param_text(&p, stmt->statement_id);
        if ((r = pg_query(tx, "looking up the statement", SQL_REMIT_FIND, &p, &res)) != STORE_OK)
            return r;
        same = PQntuples(res) == 1 && strcmp(pg_text(res, 0, 0), stmt->content_hash) == 0;
        PQclear(res);
        if (!same)
            return store_tx_fail(tx, STORE_CONFLICT,
                                 "statement %s of %s was imported before with other lines; a corrected statement "
                                 "needs a new statement_id",
                                 stmt->statement_id, stmt->carrier);
        return STORE_OK;
    }
    id = pg_int(res, 0, 0);
    PQclear(res);
    for (i = 0; i < stmt->n; i++) {
        pg_params_init(&p);
        pg_param_int(&p, id);
        pg_param_int(&p, (int64_t)i + 1);
        pg_param_text(&p, stmt->lines[i].waybill);
        pg_param_int(&p, stmt->lines[i].amount);
        pg_param_int(&p, stmt->lines[i].remitted_at);
        pg_param_text(&p, stmt->carrier);
        pg_param_text(&p, agency);
        if ((r = pg_query(tx, "storing the statement's lines", SQL_REMIT_LINE, &p, &res)) != STORE_OK)
            return r;
        if (strcmp(pg_text(res, 0, 0), "t") == 0)
            (*unknown)++;
        PQclear(res);
    }
    *created = 1;
    return STORE_OK;
}

/* ---------------------------------------------------------------- backup */

static store_rc_t
pg_backup(store_t *store, const char *dest, long long *pages, char *err, size_t errlen)
{
    (void)store;
    (void)dest;
    *pages = 0;
    snprintf(err, errlen,
             "this gateway's store is a PostgreSQL database: back it up with pg_dump (or pg_basebackup and the "
             "standby of streaming replication); bcci backup copies SQLite stores only");
    return STORE_ERROR;
}

const struct store_admin_ops pg_admin_ops = {
    .token_create = pg_token_create,
    .token_lookup = pg_token_lookup,
    .token_revoke = pg_token_revoke,
    .token_list = pg_token_list,
    .token_count = pg_token_count,
    .purge = pg_purge,
    .cod_report = pg_cod_report,
    .remittance_import = pg_remittance_import,
    .backup = pg_backup,
};
