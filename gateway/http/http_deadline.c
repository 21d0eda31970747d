/*
 * http_deadline - a deadline for receiving a whole HTTP request (see http_deadline.h)
 *
 * The slots form a doubly linked list under one mutex: opening and closing a
 * connection is O(1), the sweep is O(connections) a few times a second (the
 * connection limit keeps it at most about a thousand). received and started
 * are written by the HTTP threads and read by the sweep with atomics, without
 * the lock: a sweep that reads a stale value cuts at most one sweep late, or
 * sees "received" one sweep late.
 */
#include "gateway/http/http_deadline.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "log.h"

struct http_deadline_slot {
    int fd;
    int received;       /* atomic: the request has fully arrived */
    int cut;            /* the socket was shut down (under the lock) */
    int64_t started_ms; /* atomic: when the request's time began (monotonic) */
    struct http_deadline_slot *prev, *next;
};

struct http_deadline {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int stopping; /* under lock */
    int64_t deadline_ms;
    int64_t sweep_ms;
    http_deadline_slot_t *head; /* under lock */
    uint64_t cut;               /* atomic */
};

static void
sweep(http_deadline_t *self)
{
    int64_t now = clock_mono_ms();
    http_deadline_slot_t *s;
    unsigned n = 0;

    for (s = self->head; s; s = s->next) {
        if (s->cut || __atomic_load_n(&s->received, __ATOMIC_ACQUIRE))
            continue;
        if (now - __atomic_load_n(&s->started_ms, __ATOMIC_ACQUIRE) < self->deadline_ms)
            continue;
        /* the HTTP library sees the end of the stream and closes the connection itself;
         * the descriptor stays open (and ours) until http_deadline_close */
        if (shutdown(s->fd, SHUT_RDWR) == 0 || errno == ENOTCONN) {
            s->cut = 1;
            n++;
        }
    }
    if (n) {
        __atomic_add_fetch(&self->cut, n, __ATOMIC_RELAXED);
        log_warn("http: %u connection(s) cut: no complete request within %lld s (http_request_deadline)", n,
                 (long long)(self->deadline_ms / 1000));
    }
}

static void *
sweeper(void *arg)
{
    http_deadline_t *self = arg;

    pthread_mutex_lock(&self->lock);
    while (!self->stopping) {
        struct timespec until;

        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)(self->sweep_ms % 1000) * 1000000L;
        until.tv_sec += (time_t)(self->sweep_ms / 1000) + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&self->wake, &self->lock, &until);
        if (!self->stopping)
            sweep(self);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

http_deadline_t *
http_deadline_new(unsigned seconds, char *err, size_t errlen)
{
    http_deadline_t *self = calloc(1, sizeof *self);
    pthread_condattr_t ca;
    int rc;

    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (seconds == 0)
        seconds = 1;
    self->deadline_ms = (int64_t)seconds * 1000;
    /* a few sweeps per deadline, at most four a second */
    self->sweep_ms = self->deadline_ms / 8 < 250 ? 250 : (self->deadline_ms / 8 > 1000 ? 1000 : self->deadline_ms / 8);
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wake, &ca);
    pthread_condattr_destroy(&ca);
    rc = pthread_create(&self->thread, NULL, sweeper, self);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the HTTP deadline thread: %s", strerror(rc));
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    return self;
}

void
http_deadline_destroy(http_deadline_t **selfp)
{
    http_deadline_t *self = *selfp;
    http_deadline_slot_t *s, *next;

    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->stopping = 1;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    for (s = self->head; s; s = next) {
        next = s->next;
        free(s);
    }
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *selfp = NULL;
}

http_deadline_slot_t *
http_deadline_open(http_deadline_t *self, int fd)
{
    http_deadline_slot_t *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->fd = fd;
    s->started_ms = clock_mono_ms();
    pthread_mutex_lock(&self->lock);
    s->next = self->head;
    if (self->head)
        self->head->prev = s;
    self->head = s;
    pthread_mutex_unlock(&self->lock);
    return s;
}

void
http_deadline_close(http_deadline_t *self, http_deadline_slot_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&self->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        self->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    pthread_mutex_unlock(&self->lock);
    free(s);
}

void
http_deadline_received(http_deadline_slot_t *s)
{
    if (s)
        __atomic_store_n(&s->received, 1, __ATOMIC_RELEASE);
}

void
http_deadline_restart(http_deadline_slot_t *s)
{
    if (!s)
        return;
    __atomic_store_n(&s->started_ms, clock_mono_ms(), __ATOMIC_RELEASE);
    __atomic_store_n(&s->received, 0, __ATOMIC_RELEASE);
}

uint64_t
http_deadline_cut(const http_deadline_t *self)
{
    return __atomic_load_n(&self->cut, __ATOMIC_RELAXED);
}
