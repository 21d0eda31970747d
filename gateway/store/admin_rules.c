/*
 * admin_rules - the admin area's shared rules (see admin_rules.h)
 */
#include "gateway/store/admin_rules.h"

#include <string.h>

int
admin_is_admin(const char *role)
{
    return role && strcmp(role, "admin") == 0;
}

store_rc_t
admin_may_revoke(store_tx_t *tx, const char *name, const char *role, long long live_admins)
{
    /* without a live admin token nobody can create tokens again short of the local recovery */
    if (admin_is_admin(role) && live_admins <= 1)
        return store_tx_fail(tx, STORE_CONFLICT,
                             "%s is the last live admin token; create another admin token first "
                             "(bcci token create --name NAME --role admin), then revoke this one",
                             name);
    return STORE_OK;
}
