/*
 * token_cache - live API tokens remembered between requests, valid while the
 * store's token generation stands (internal to gateway/store/)
 *
 * Every request names its bearer token, and reading it from the database
 * costs a read transaction (on SQLite: file locks and re-reading the pages the
 * writer changed), about a tenth of an intake. A backend that can keep a
 * token generation, a counter every process on the store sees and that goes
 * up after each committed change of the tokens (store_backend_t.
 * tokens_generation and tokens_bump; SQLite maps a small file beside the
 * database), lets the store front remember what it read: an answer counts
 * only under the generation it was read under.
 *
 * Why a lookup never returns a revoked token: the front takes the generation
 * before it reads the database and keeps the answer only if the generation
 * is still the same afterwards. A reading that saw the token before a
 * revocation committed began before that commit, so it was taken under an
 * older generation than the one the commit's bump made, on whichever instance
 * the revocation ran; the instance answers the revoke only after the bump, so
 * a request that starts after that answer finds nothing remembered and reads
 * the database. Only live tokens are kept (an unknown token is never
 * remembered: guessing cannot fill the table), in a fixed table of
 * TOKEN_CACHE_SLOTS.
 *
 * Thread-safe (one mutex, held for a copy). token_cache_new allocates; the
 * store front owns and frees it with token_cache_free.
 */
#ifndef BCCI_TOKEN_CACHE_H
#define BCCI_TOKEN_CACHE_H

#include <stdint.h>

#include "gateway/store/store_admin.h"

#define TOKEN_CACHE_SLOTS 64

typedef struct token_cache token_cache_t;

token_cache_t *token_cache_new(void);
void token_cache_free(token_cache_t *self);
/* token_cache_get - 1 and *out when token_hash was remembered under generation, else 0 */
int token_cache_get(token_cache_t *self, const char *token_hash, uint64_t generation, store_token_t *out);
/* token_cache_put - remember the live token row read entirely under generation */
void token_cache_put(token_cache_t *self, const char *token_hash, const store_token_t *row, uint64_t generation);

#endif
