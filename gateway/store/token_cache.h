/*
 * token_cache - live API tokens remembered between requests, for a store that
 * only this process writes (internal to gateway/store/)
 *
 * Every request names its bearer token, and reading it from the database
 * costs a read transaction (on SQLite: file locks and re-reading pages the
 * writer changed) — about a tenth of an intake. Where one process owns the
 * store (the SQLite backend; store_backend_t.one_process), every change to
 * the tokens goes through this process's store front, so the front can tell
 * the cache: after each write transaction that created or revoked a token
 * commits, the generation goes up and every remembered answer is void.
 *
 * Why a lookup never returns a revoked token: a caller takes the generation
 * (token_cache_get) before it reads the database, and the answer it read is
 * kept (token_cache_put) only if the generation is still the same. A reading
 * that saw the token before a revocation committed began before the commit,
 * so its generation is older than the one the commit's bump made, and the
 * answer is dropped or void. The engine answers a revoke only after the bump,
 * so a request that starts after that answer finds nothing and reads again.
 * Only live tokens are kept (an unknown token is never remembered: guessing
 * cannot fill the table), in a fixed table of TOKEN_CACHE_SLOTS.
 *
 * Where several processes share the store (PostgreSQL) there is no cache:
 * a revocation through another instance would not bump this one.
 * Thread-safe (one mutex, held for a copy). token_cache_new allocates; the
 * caller (the store front) frees with token_cache_free.
 */
#ifndef BCCI_TOKEN_CACHE_H
#define BCCI_TOKEN_CACHE_H

#include <stdint.h>

#include "gateway/store/store_admin.h"

#define TOKEN_CACHE_SLOTS 64

typedef struct token_cache token_cache_t;

token_cache_t *token_cache_new(void);
void token_cache_free(token_cache_t *self);
/* token_cache_get - 1 and *out when token_hash is remembered under the current generation,
 * else 0; *generation (always set) is what a following token_cache_put must carry */
int token_cache_get(token_cache_t *self, const char *token_hash, store_token_t *out, uint64_t *generation);
/* token_cache_put - remember the live token read after token_cache_get gave generation;
 * nothing is kept if the generation moved on since */
void token_cache_put(token_cache_t *self, const char *token_hash, const store_token_t *row, uint64_t generation);
/* token_cache_bump - tokens changed (a write transaction that touched them ended): forget
 * everything remembered so far */
void token_cache_bump(token_cache_t *self);

#endif
