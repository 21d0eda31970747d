/*
 * store_fixture - a temporary store for unit tests (see store_fixture.h)
 */
#include "tests/unit/support/store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
store_fixture_open(store_fixture_t *f)
{
    const char *tmp = getenv("TMPDIR");
    char err[512];

    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s/store_test.XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    if (!mkdtemp(f->dir)) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(f->uri, sizeof f->uri, "sqlite:%s/bcci.db", f->dir);
    f->store = store_open(f->uri, err, sizeof err);
    if (!f->store) {
        fprintf(stderr, "store_fixture: %s\n", err);
        return -1;
    }
    return 0;
}

void
store_fixture_close(store_fixture_t *f)
{
    static const char *const files[] = { "bcci.db", "bcci.db-wal", "bcci.db-shm" };
    char path[700];
    size_t i;

    store_close(&f->store);
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
        unlink(path);
    }
    rmdir(f->dir);
}
