/*
 * store_admin - the front of the admin area: each call goes to the store's backend
 * (see store_admin.h for the contract)
 */
#include "gateway/store/store_admin.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/store/backend_admin.h"
#include "gateway/store/store_backend.h"
#include "gateway/store/token_cache.h"

void
store_token_list_free(store_token_list_t *list)
{
    if (!list)
        return;
    free(list->items);
    memset(list, 0, sizeof *list);
}

void
store_cod_report_free(store_cod_report_t *report)
{
    if (!report)
        return;
    free(report->rows);
    free(report->unknown);
    memset(report, 0, sizeof *report);
}

void
store_cod_count(store_cod_report_t *report, const store_cod_row_t *row)
{
    if (strcmp(row->leg, "send") == 0)
        report->pickup_total += row->amount;
    else
        report->total += row->amount;
}

unsigned
store_cod_flags(const store_cod_row_t *row, int64_t now)
{
    unsigned f = 0;
    long long collected = row->collected_at ? row->amount : 0;

    if (strcmp(row->leg, "send") == 0)
        return 0;
    if (collected != row->expected)
        f |= STORE_COD_COLLECTED_MISMATCH;
    if (collected > 0 && row->remitted_lines == 0 && now - row->collected_at >= STORE_COD_REMIT_DAYS * 86400000LL)
        f |= STORE_COD_NOT_REMITTED;
    if (row->remitted_lines > 0 && row->remitted != collected)
        f |= STORE_COD_REMITTED_MISMATCH;
    return f;
}

store_rc_t
store_admin_token_create(store_tx_t *tx, const char *name, const char *role, const char *agency_code,
                         const char *token_hash, int64_t now)
{
    tx->tokens_changed = 1;
    return tx->store->be->admin->token_create(tx, name, role, agency_code, token_hash, now);
}

store_rc_t
store_admin_token_lookup(store_tx_t *tx, const char *token_hash, store_token_t *out)
{
    return tx->store->be->admin->token_lookup(tx, token_hash, out);
}

store_rc_t
store_admin_token_find(store_t *store, const char *token_hash, store_token_t *out)
{
    store_tx_t *tx = NULL;
    uint64_t before = 0, after = 0;
    int cacheable = store->tokens && store->be->tokens_generation(store, &before) == 0;
    store_rc_t rc;

    /* the generation is taken before the read begins and checked after it: token_cache.h
     * says why that order */
    if (cacheable && token_cache_get(store->tokens, token_hash, before, out))
        return STORE_OK;
    rc = store_tx_begin(store, STORE_READ, &tx);
    if (rc != STORE_OK)
        return rc;
    rc = store_admin_token_lookup(tx, token_hash, out);
    store_tx_abort(&tx);
    if (rc == STORE_OK && cacheable && store->be->tokens_generation(store, &after) == 0 && after == before)
        token_cache_put(store->tokens, token_hash, out, before);
    return rc;
}

store_rc_t
store_admin_token_revoke(store_tx_t *tx, const char *name, int64_t now)
{
    tx->tokens_changed = 1;
    return tx->store->be->admin->token_revoke(tx, name, now);
}

store_rc_t
store_admin_token_list(store_tx_t *tx, store_token_list_t *out)
{
    return tx->store->be->admin->token_list(tx, out);
}

store_rc_t
store_admin_token_count(store_tx_t *tx, const char *role, long long *n)
{
    return tx->store->be->admin->token_count(tx, role, n);
}

store_rc_t
store_admin_purge(store_tx_t *tx, int64_t cutoff, int dry_run, int64_t now, long long *dossiers)
{
    return tx->store->be->admin->purge(tx, cutoff, dry_run, now, dossiers);
}

store_rc_t
store_admin_cod_report(store_tx_t *tx, int64_t from, int64_t to, const char *agency, store_cod_report_t *out)
{
    return tx->store->be->admin->cod_report(tx, from, to, agency, out);
}

store_rc_t
store_admin_remittance_import(store_tx_t *tx, const store_remittance_t *stmt, int64_t now, int *created,
                              size_t *unknown)
{
    return tx->store->be->admin->remittance_import(tx, stmt, now, created, unknown);
}

store_rc_t
store_admin_backup(store_t *store, const char *dest, long long *pages, char *err, size_t errlen)
{
    return store->be->admin->backup(store, dest, pages, err, errlen);
}
