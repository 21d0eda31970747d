/*
 * store - the front of the store: backend registry and transactions (see store.h)
 *
 * Everything here dispatches to the backend named by the URI's scheme; the
 * data operations of each area have their own front (store_<area>.c).
 */
#include "gateway/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store/store_backend.h"
#include "gateway/store/token_cache.h"

static const store_backend_t *const backends[] = {
    &store_backend_sqlite,
    &store_backend_postgresql,
};

store_t *
store_open(const char *uri, char *err, size_t errlen)
{
    const char *colon = uri ? strchr(uri, ':') : NULL;
    size_t i;

    if (!colon || colon == uri) {
        snprintf(err, errlen, "store '%s' names no backend; write it as sqlite:PATH or postgresql://USER@HOST:PORT/DBNAME",
                 uri ? uri : "");
        return NULL;
    }
    for (i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        const store_backend_t *be = backends[i];

        if (strlen(be->scheme) == (size_t)(colon - uri) && strncmp(uri, be->scheme, (size_t)(colon - uri)) == 0) {
            store_t *self = be->open(colon + 1, err, errlen);

            if (!self)
                return NULL;
            self->be = be;
            self->uri = strdup(uri);
            self->tokens = be->tokens_generation ? token_cache_new() : NULL;
            if (!self->uri || (be->tokens_generation && !self->tokens)) {
                store_close(&self);
                snprintf(err, errlen, "out of memory");
                return NULL;
            }
            return self;
        }
    }
    snprintf(err, errlen, "store '%s': unknown backend '%.*s' (this build knows: sqlite, postgresql)", uri, (int)(colon - uri),
             uri);
    return NULL;
}

void
store_close(store_t **selfp)
{
    store_t *self = *selfp;
    char *uri;

    if (!self)
        return;
    uri = self->uri;
    token_cache_free(self->tokens);
    self->be->close(self);
    free(uri);
    *selfp = NULL;
}

const char *
store_uri(const store_t *self)
{
    return self->uri;
}

const char *
store_backend_name(const store_t *self)
{
    return self->be->scheme;
}

store_rc_t
store_health(store_t *self, const char **why)
{
    return self->be->health(self, why);
}

store_rc_t
store_leader_try(store_t *self, const char *role, int *held)
{
    *held = 0;
    if (!self->be->leader_try) {
        *held = 1;
        return STORE_OK;
    }
    return self->be->leader_try(self, role, held);
}

store_rc_t
store_tx_begin(store_t *self, store_mode_t mode, store_tx_t **out)
{
    *out = NULL;
    return self->be->tx_begin(self, mode, out);
}

store_rc_t
store_tx_savepoint(store_tx_t *tx)
{
    return tx->store->be->tx_savepoint(tx);
}

store_rc_t
store_tx_release(store_tx_t *tx, int keep)
{
    return tx->store->be->tx_release(tx, keep);
}

store_rc_t
store_tx_commit(store_tx_t **txp)
{
    store_tx_t *tx = *txp;
    store_t *store = tx->store;
    int tokens_changed = tx->tokens_changed;
    store_rc_t rc;

    *txp = NULL;
    rc = store->be->tx_commit(tx);
    /* before the caller answers the write: a request that starts after the answer sees no
     * remembered token (token_cache.h) */
    if (tokens_changed && store->be->tokens_bump)
        store->be->tokens_bump(store);
    return rc;
}

void
store_tx_abort(store_tx_t **txp)
{
    store_tx_t *tx = *txp;
    store_t *store;
    int tokens_changed;

    if (!tx)
        return;
    *txp = NULL;
    store = tx->store;
    tokens_changed = tx->tokens_changed;
    tx->store->be->tx_abort(tx);
    if (tokens_changed && store->be->tokens_bump)
        store->be->tokens_bump(store);
}

const char *
store_tx_message(const store_tx_t *tx)
{
    return tx->message;
}

store_t *
store_tx_store(const store_tx_t *tx)
{
    return tx->store;
}

store_rc_t
store_tx_fail(store_tx_t *tx, store_rc_t rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tx->message, sizeof tx->message, fmt, ap);
    va_end(ap);
    return rc;
}

const char *
store_rc_name(store_rc_t rc)
{
    static const char *const names[] = { "ok", "not_found", "exists", "conflict", "empty", "busy", "error" };

    return (unsigned)rc < sizeof names / sizeof names[0] ? names[rc] : "unknown";
}
