/*
 * token_cache - live tokens remembered under a generation (see token_cache.h)
 */
#include "gateway/store/token_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int used;
    char hash[STORE_TOKEN_HASH_MAX];
    store_token_t row;
    uint64_t generation;
} slot_t;

struct token_cache {
    pthread_mutex_t lock;
    slot_t slots[TOKEN_CACHE_SLOTS];
};

/* slot_of - where a hash lives: token hashes are SHA-256 hex, evenly spread already */
static slot_t *
slot_of(token_cache_t *self, const char *hash)
{
    unsigned h = 0;
    size_t i;

    for (i = 0; i < 8 && hash[i]; i++)
        h = h * 31u + (unsigned char)hash[i];
    return &self->slots[h % TOKEN_CACHE_SLOTS];
}

token_cache_t *
token_cache_new(void)
{
    token_cache_t *self = calloc(1, sizeof *self);

    if (!self)
        return NULL;
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    return self;
}

void
token_cache_free(token_cache_t *self)
{
    if (!self)
        return;
    pthread_mutex_destroy(&self->lock);
    explicit_bzero(self->slots, sizeof self->slots);
    free(self);
}

int
token_cache_get(token_cache_t *self, const char *token_hash, uint64_t generation, store_token_t *out)
{
    int hit = 0;
    slot_t *s;

    pthread_mutex_lock(&self->lock);
    s = slot_of(self, token_hash);
    if (s->used && s->generation == generation && strcmp(s->hash, token_hash) == 0) {
        *out = s->row;
        hit = 1;
    }
    pthread_mutex_unlock(&self->lock);
    return hit;
}

void
token_cache_put(token_cache_t *self, const char *token_hash, const store_token_t *row, uint64_t generation)
{
    slot_t *s;

    if (strlen(token_hash) >= sizeof s->hash)
        return;
    pthread_mutex_lock(&self->lock);
    s = slot_of(self, token_hash);
    s->used = 1;
    strcpy(s->hash, token_hash);
    s->row = *row;
    s->generation = generation;
    pthread_mutex_unlock(&self->lock);
}
