/*
 * wire - the protocol between bccid (ROUTER) and bcci-worker (DEALER)
 *
 * Every message is three ZeroMQ frames after the ROUTER's identity frame:
 *   "BCCI1" | command | JSON body
 * Commands (worker -> bccid): READY {worker, carriers:[..], credit}
 *                             HEARTBEAT {}
 *                             RESULT {job_id, lease, outcome:"ok"|"retry"|"fail",
 *                                     delay_ms, message, data:{…}, pause?}
 *                             BYE {}
 *          (bccid -> worker): JOB {job_id, lease, kind, carrier, attempt, payload:{…}}
 *                             HEARTBEAT {}
 * Heartbeats flow both ways every WIRE_HEARTBEAT_MS; a peer silent for
 * WIRE_HEARTBEAT_LIVENESS intervals is dead (Paranoid Pirate). `lease` is an
 * opaque token bccid gives each lease: a RESULT whose lease no longer matches
 * the job's current lease is late and is reconciled, never applied twice.
 *
 * pause (optional, RESULT with outcome retry only): the carrier refused the gateway's own
 * credentials or account; message says what the operator must fix. bccid pauses the carrier
 * (its breaker opens with that reason) and puts the job back without counting the attempt.
 * Absent means false, so older RESULTs read as before and an older bccid reads it as a retry.
 *
 * Ownership: wire_msg_t owns its `data` (a Jansson reference); wire_msg_clear
 * drops it. wire_decode never keeps pointers into its input.
 */
#ifndef BCCI_WIRE_H
#define BCCI_WIRE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION "BCCI1"
#define WIRE_HEARTBEAT_MS 1000
#define WIRE_HEARTBEAT_LIVENESS 3
#define WIRE_MAX_BODY (1024 * 1024)

typedef enum { WIRE_NONE = 0, WIRE_READY, WIRE_HEARTBEAT, WIRE_JOB, WIRE_RESULT, WIRE_BYE } wire_cmd_t;
typedef enum { WIRE_OK = 0, WIRE_RETRY, WIRE_FAIL } wire_outcome_t;

typedef struct {
    wire_cmd_t cmd;
    /* READY */
    char worker[64];
    char carriers[256];    /* comma-separated carrier names */
    int credit;            /* how many jobs the worker takes at once */
    /* JOB and RESULT */
    int64_t job_id;
    int64_t lease;
    char kind[16];         /* book, cancel, track, notify */
    char carrier[32];
    int attempt;
    /* RESULT */
    wire_outcome_t outcome;
    int64_t delay_ms;      /* retry: wait at least this long (0 = backoff decides) */
    int pause;             /* retry: the carrier refused the gateway's configuration (see above) */
    char message[256];
    json_t *data;          /* JOB: payload; RESULT: result data; may be NULL; owned */
} wire_msg_t;

void wire_msg_init(wire_msg_t *m);
/* wire_msg_clear - drop data and reset every field */
void wire_msg_clear(wire_msg_t *m);

/* wire_decode - parse command + body frames into out (initialised by the caller).
 * 0 on success; -1 with a message in err for any malformed, oversized or
 * out-of-range input (out is left cleared). Never crashes on any bytes. */
int wire_decode(const void *cmd, size_t cmdlen, const void *body, size_t bodylen, wire_msg_t *out, char *err,
                size_t errlen);
/* wire_encode - command name (static string) and a malloc'd JSON body (caller frees) */
int wire_encode(const wire_msg_t *m, const char **cmd, char **body, size_t *bodylen);

/* wire_send - send m; identity is the ROUTER routing id (NULL on a DEALER). 0 or -1 */
int wire_send(void *socket, const void *identity, size_t idlen, const wire_msg_t *m);
/* wire_recv - receive one message without blocking; identity (>= 256 bytes) is filled on a
 * ROUTER. Returns 0 with *out filled, 1 when nothing is waiting, -1 when a malformed
 * message was consumed and dropped (err says why). */
int wire_recv(void *socket, int is_router, unsigned char *identity, size_t *idlen, wire_msg_t *out, char *err,
              size_t errlen);

/* wire_json_string - a JSON string of s (NUL-terminated) where bytes that are not
 * valid UTF-8 (a message cut inside a character, a carrier's Latin-1) become '?'.
 * New reference (caller owns), NULL only when out of memory. */
json_t *wire_json_string(const char *s);

const char *wire_cmd_name(wire_cmd_t c);
const char *wire_outcome_name(wire_outcome_t o);

#endif
