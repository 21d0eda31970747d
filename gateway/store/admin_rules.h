/*
 * admin_rules - the admin area's rules that every backend applies the same way
 * (internal to gateway/store/; the contract is store_admin.h)
 *
 * A backend reads the rows (under whatever lock its concurrency needs) and asks here
 * whether the change is allowed, so the rule and the words the operator reads are one.
 * Strings are borrowed for the call.
 */
#ifndef BCCI_ADMIN_RULES_H
#define BCCI_ADMIN_RULES_H

#include "gateway/store/store.h"

/* admin_may_revoke - STORE_OK when the live token name of role may be revoked while
 * live_admins admin tokens are live (counted only when role is "admin"); STORE_CONFLICT, with
 * the message on tx, when it is the last live admin token */
store_rc_t admin_may_revoke(store_tx_t *tx, const char *name, const char *role, long long live_admins);
/* admin_is_admin - 1 when role is the admin role, whose last live token is kept */
int admin_is_admin(const char *role);

#endif
