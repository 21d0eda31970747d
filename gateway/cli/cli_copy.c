/*
 * cli_copy - `bcci store copy FROM_URI TO_URI`: a whole gateway into an empty store
 *
 * Opens both stores by URI (sqlite:PATH, or any backend store_open knows),
 * keys the timeline chains with the gateway's server secret so every chain
 * can be verified in the target, and runs store_copy (gateway/store/
 * store_copy.h), which refuses a non-empty target and commits only a copy
 * whose counts and chains check out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gateway/cli/cli.h"
#include "gateway/store/store_timeline.h"
#include "secret.h"

/* the server secret bccid keeps in STATE_DIR/secret: 32 raw bytes (they key the chains) */
#define CLI_SERVER_SECRET_LEN 32

static int
read_server_secret(const char *path, unsigned char key[CLI_SERVER_SECRET_LEN], char *err, size_t errlen)
{
    ssize_t n;
    int fd;

    if (secret_file_private(path, err, errlen) != 0)
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read the server secret %s: %s (give --secret STATE_DIR/secret)", path,
                 strerror(errno));
        return -1;
    }
    n = read(fd, key, CLI_SERVER_SECRET_LEN);
    close(fd);
    if (n != CLI_SERVER_SECRET_LEN) {
        snprintf(err, errlen, "%s is not a server secret (%d bytes); give the source gateway's STATE_DIR/secret", path,
                 CLI_SERVER_SECRET_LEN);
        return -1;
    }
    return 0;
}

int
cli_store_copy(const char *from_uri, const char *to_uri, const char *secret_path, store_copy_report_t *report,
               char *err, size_t errlen)
{
    unsigned char key[CLI_SERVER_SECRET_LEN];
    char default_secret[4200];
    store_t *from = NULL, *to = NULL;
    store_rc_t rc;

    memset(report, 0, sizeof *report);
    if (strncmp(from_uri, "sqlite:", 7) == 0) {
        const char *path = from_uri + 7, *slash = strrchr(path, '/');

        /* opening a store creates a missing database: check first that there is one to copy */
        if (access(path, R_OK) != 0) {
            snprintf(err, errlen, "cannot read the source database %s: %s", path, strerror(errno));
            return -1;
        }
        if (!secret_path) {
            snprintf(default_secret, sizeof default_secret, "%.*s/secret", slash ? (int)(slash - path) : 1,
                     slash ? path : ".");
            secret_path = default_secret;
        }
    }
    if (!secret_path) {
        snprintf(err, errlen,
                 "give the source gateway's server secret with --secret STATE_DIR/secret (the "
                 "timeline chains are verified with it)");
        return -1;
    }
    if (read_server_secret(secret_path, key, err, errlen) != 0)
        return -1;
    from = store_open(from_uri, err, errlen);
    if (from)
        to = store_open(to_uri, err, errlen);
    rc = to ? store_set_chain_key(to, key, sizeof key) : STORE_ERROR;
    explicit_bzero(key, sizeof key);
    if (to && rc != STORE_OK)
        snprintf(err, errlen, "cannot key the timeline chains: %s", store_rc_name(rc));
    if (rc == STORE_OK)
        rc = store_copy(from, to, report, err, errlen);
    store_close(&to);
    store_close(&from);
    return rc == STORE_OK ? 0 : rc == STORE_CONFLICT ? 1 : -1;
}
