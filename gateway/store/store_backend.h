/*
 * store_backend - what a store backend implements (internal to gateway/store/)
 *
 * A backend exports one const store_backend_t with named slots, as curl's
 * vtls backends do: the lifecycle below, and one table of data operations per
 * area (declared in gateway/store/backend_<area>.h). Backends embed struct
 * store and struct store_tx as the first member of their own state, so the
 * front (store.c and store_<area>.c) can hand them back their pointers.
 *
 * Only files under gateway/store/ include this header.
 */
#ifndef BCCI_STORE_BACKEND_H
#define BCCI_STORE_BACKEND_H

#include <stdarg.h>

#include "gateway/store/store.h"

typedef struct store_backend store_backend_t;

struct token_cache;

struct store {
    const store_backend_t *be;
    char *uri;
    struct token_cache *tokens; /* the front's; NULL unless be->tokens_generation (token_cache.h) */
};

#define STORE_MESSAGE_MAX 512

struct store_tx {
    store_t *store;
    store_mode_t mode;
    int tokens_changed; /* set by the front when this transaction wrote the tokens */
    char message[STORE_MESSAGE_MAX];
};

/* the data areas; each backend_<area>.h defines its table of operations */
struct store_dossiers_ops;
struct store_jobs_ops;
struct store_timeline_ops;
struct store_shipments_ops;
struct store_labels_ops;
struct store_admin_ops;
struct store_copy_ops;

struct store_backend {
    const char *scheme; /* "sqlite": matches "sqlite:..." */
    /* tokens_generation - a counter every process on this store sees, bumped by tokens_bump
     * after each transaction that changed the tokens ended; 0 and *out, or -1 when it cannot
     * be read now (the lookup then reads the database). Both NULL: the backend keeps none,
     * and no token is remembered (token_cache.h) */
    int (*tokens_generation)(store_t *self, uint64_t *out);
    void (*tokens_bump)(store_t *self);
    /* open - location is the URI without "scheme:"; fills *out (allocated by the backend) */
    store_t *(*open)(const char *location, char *err, size_t errlen);
    void (*close)(store_t *self);
    store_rc_t (*health)(store_t *self, const char **why);
    store_rc_t (*tx_begin)(store_t *self, store_mode_t mode, store_tx_t **out);
    store_rc_t (*tx_savepoint)(store_tx_t *tx);
    store_rc_t (*tx_release)(store_tx_t *tx, int keep);
    store_rc_t (*tx_commit)(store_tx_t *tx); /* frees tx whatever the outcome */
    void (*tx_abort)(store_tx_t *tx);        /* frees tx */
    /* leader_try - store_leader_try; NULL: the backend's store has one process, always the leader */
    store_rc_t (*leader_try)(store_t *self, const char *role, int *held);

    const struct store_dossiers_ops *dossiers;
    const struct store_jobs_ops *jobs;
    const struct store_timeline_ops *timeline;
    const struct store_shipments_ops *shipments;
    const struct store_labels_ops *labels;
    const struct store_admin_ops *admin;
    const struct store_copy_ops *copy; /* NULL: bcci store copy cannot read or fill this backend */
};


/* the backends */
extern const store_backend_t store_backend_sqlite;
extern const store_backend_t store_backend_postgresql;

#endif
