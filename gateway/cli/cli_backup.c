/*
 * cli_backup - `bcci backup`: an online copy of bccid's live database
 *
 * Opens the store beside the running bccid and asks it for a copy
 * (store_admin_backup): the backend copies a consistent snapshot in small
 * steps so bccid keeps working, writes it with mode 0600 (the copy holds
 * every name, phone and address) and never overwrites an existing file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gateway/cli/cli.h"
#include "gateway/store/store_admin.h"

int
cli_backup(const char *dbpath, const char *dest, long long *pages, char *err, size_t errlen)
{
    char uri[4200];
    store_t *store;
    store_rc_t rc;

    *pages = 0;
    if (access(dest, F_OK) == 0) {
        snprintf(err, errlen, "%s exists; choose a new file name (backups are never overwritten)", dest);
        return -1;
    }
    /* opening a store creates a missing database: check first that there is one to copy */
    if (access(dbpath, R_OK) != 0) {
        snprintf(err, errlen, "cannot read the database %s: %s (give --db STATE_DIR/bcci.db)", dbpath,
                 strerror(errno));
        return -1;
    }
    if (snprintf(uri, sizeof uri, "sqlite:%s", dbpath) >= (int)sizeof uri) {
        snprintf(err, errlen, "the database path is too long");
        return -1;
    }
    store = store_open(uri, err, errlen);
    if (!store)
        return -1;
    rc = store_admin_backup(store, dest, pages, err, errlen);
    store_close(&store);
    return rc == STORE_OK ? 0 : -1;
}
