/*
 * http_deadline - a deadline for receiving a whole HTTP request, per connection
 *
 * libmicrohttpd's connection timeout counts idle time only: a client that sends
 * one byte of its headers (or body) every few seconds keeps its connection, and
 * a thousand such clients fill the connection limit (slowloris). Here every
 * connection gets a slot when it is accepted; the slot is marked when its
 * request has fully arrived (headers and body) and restarted when the answer
 * has gone (keep-alive: the next request has the same time to arrive). A
 * thread sweeps the slots a few times a second and shuts down the socket of
 * every connection whose request is still incomplete after the deadline; the
 * HTTP library then sees the socket end and closes the connection as usual.
 * A request that has arrived is never cut, however long its answer takes (a
 * write waiting for the engine's commit).
 *
 * Knows nothing of libmicrohttpd: it is given file descriptors. The caller
 * must call http_deadline_close before the descriptor is closed (under the
 * sweep's lock, so the sweep never touches a descriptor number reused by
 * another connection).
 *
 * Ownership: the deadline owns its slots and its thread; a slot belongs to the
 * deadline and is freed by http_deadline_close or http_deadline_destroy.
 */
#ifndef BCCI_HTTP_DEADLINE_H
#define BCCI_HTTP_DEADLINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct http_deadline http_deadline_t;
typedef struct http_deadline_slot http_deadline_slot_t;

/* http_deadline_new - seconds (>= 1) to receive a request; starts the sweep thread.
 * NULL with err on failure; caller owns (http_deadline_destroy). */
http_deadline_t *http_deadline_new(unsigned seconds, char *err, size_t errlen);
/* http_deadline_destroy - stops the thread and frees every slot still open */
void http_deadline_destroy(http_deadline_t **self);

/* http_deadline_open - a slot for a connection just accepted on fd; NULL when out of
 * memory (that connection is then only under the idle timeout) */
http_deadline_slot_t *http_deadline_open(http_deadline_t *self, int fd);
/* http_deadline_close - the connection is closing (its fd not yet closed); slot may be NULL */
void http_deadline_close(http_deadline_t *self, http_deadline_slot_t *slot);
/* http_deadline_received - the slot's request has fully arrived; slot may be NULL */
void http_deadline_received(http_deadline_slot_t *slot);
/* http_deadline_restart - the answer has gone: the next request's time starts now; slot may be NULL */
void http_deadline_restart(http_deadline_slot_t *slot);
/* http_deadline_cut - connections cut so far (for metrics and tests) */
uint64_t http_deadline_cut(const http_deadline_t *self);

#endif
