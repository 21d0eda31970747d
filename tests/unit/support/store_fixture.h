/*
 * store_fixture - a store on a fresh SQLite file in a temporary directory, for unit tests
 *
 * store_fixture_open creates the directory under TMPDIR (or the system default) and
 * opens "sqlite:DIR/bcci.db"; store_fixture_close closes the store and removes the
 * directory. The fixture owns both.
 */
#ifndef BCCI_STORE_FIXTURE_H
#define BCCI_STORE_FIXTURE_H

#include "gateway/store/store.h"

typedef struct {
    char dir[512];
    char uri[600];
    store_t *store;
} store_fixture_t;

/* store_fixture_open - 0, or -1 with a message on stderr */
int store_fixture_open(store_fixture_t *f);
void store_fixture_close(store_fixture_t *f);

#endif
