/*
 * backend_admin - what a store backend implements for store_admin.h (gateway/store/ only)
 *
 * One slot per public function of store_admin.h, with the same signature and contract.
 */
#ifndef BCCI_BACKEND_ADMIN_H
#define BCCI_BACKEND_ADMIN_H

#include "gateway/store/store_admin.h"

struct store_admin_ops {
    store_rc_t (*token_create)(store_tx_t *tx, const char *name, const char *role, const char *agency_code,
                               const char *token_hash, int64_t now);
    store_rc_t (*token_lookup)(store_tx_t *tx, const char *token_hash, store_token_t *out);
    store_rc_t (*token_revoke)(store_tx_t *tx, const char *name, int64_t now);
    store_rc_t (*token_list)(store_tx_t *tx, store_token_list_t *out);
    store_rc_t (*token_count)(store_tx_t *tx, const char *role, long long *n);
    store_rc_t (*purge)(store_tx_t *tx, int64_t cutoff, int dry_run, int64_t now, long long *dossiers);
    store_rc_t (*cod_report)(store_tx_t *tx, int64_t from, int64_t to, const char *agency, store_cod_report_t *out);
    store_rc_t (*remittance_import)(store_tx_t *tx, const store_remittance_t *stmt, int64_t now, int *created,
                                    size_t *unknown);
    store_rc_t (*backup)(store_t *store, const char *dest, long long *pages, char *err, size_t errlen);
};

#endif
