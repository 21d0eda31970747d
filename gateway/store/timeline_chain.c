/*
 * timeline_chain - the keyed hash chain of the case timeline (see timeline_chain.h)
 */
#include "gateway/store/timeline_chain.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "log.h"

#define KEY_MAX 64

const char CHAIN_ZERO_HASH[SHA256_HEX_LEN] = "0000000000000000000000000000000000000000000000000000000000000000";

static uint8_t chain_key[KEY_MAX];
static size_t chain_key_len;
static int chain_key_set, chain_key_warned;

int
chain_set_key(const void *key, size_t len)
{
    if (len > KEY_MAX)
        return -1;
    memcpy(chain_key, key, len);
    chain_key_len = len;
    chain_key_set = 1;
    return 0;
}

const char *
chain_details(const store_timeline_event_t *ev)
{
    return ev->details ? ev->details : "{}";
}

static void
keyed_hex(const void *data, size_t len, char out[SHA256_HEX_LEN])
{
    uint8_t mac[SHA256_LEN];

    if (!chain_key_set && !chain_key_warned) {
        chain_key_warned = 1;
        log_warn("the timeline chain has no key yet; bccid sets its server secret before the first write");
    }
    hmac_sha256(chain_key, chain_key_len, data, len, mac);
    hex_encode(mac, sizeof mac, out);
}

/* put_number - v in decimal (as printf's PRId64 writes it), then sep; the writer hashes
 * every event it appends, and printf's machinery was a third of that cost */
static void
put_number(buf_t *b, int64_t v, char sep)
{
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    *--p = sep;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* field - "LENGTH:TEXT|" */
static void
field(buf_t *b, const char *s)
{
    size_t n;

    if (!s)
        s = "";
    n = strlen(s);
    put_number(b, (int64_t)n, ':');
    buf_append(b, s, n);
    buf_append(b, "|", 1);
}

/* length-prefixed fields so no two different events hash alike; the dossier is part of it
 * so an event cannot be moved to another dossier's chain. The text is
 * "bcci-timeline-v2|PREV|DOSSIER|SEQ|SHIPMENT|EVENT_TIME|RECEIVED_AT|" and then each of
 * source, status, upu, raw_code, text, details as a field (timeline_chain_test pins it). */
void
chain_event_hash(const char *prev, int64_t seq, const store_timeline_event_t *ev, char out[SHA256_HEX_LEN])
{
    static const char magic[] = "bcci-timeline-v2|";
    buf_t b;

    buf_init(&b, 0);
    buf_append(&b, magic, sizeof magic - 1);
    buf_append(&b, prev, strlen(prev));
    buf_append(&b, "|", 1);
    put_number(&b, ev->dossier_id, '|');
    put_number(&b, seq, '|');
    put_number(&b, ev->shipment_id, '|');
    put_number(&b, ev->event_time, '|');
    put_number(&b, ev->received_at, '|');
    field(&b, ev->source);
    field(&b, ev->status);
    field(&b, ev->upu);
    field(&b, ev->raw_code);
    field(&b, ev->text);
    field(&b, ev->details);
    keyed_hex(b.data, b.len, out);
    buf_free(&b);
}

void
chain_head_seal(int64_t dossier_id, int64_t count, const char *hash, char out[SHA256_HEX_LEN])
{
    char data[160];
    int n = snprintf(data, sizeof data, "bcci-timeline-head|%" PRId64 "|%" PRId64 "|%s", dossier_id, count, hash);

    keyed_hex(data, (size_t)n, out);
}

int
chain_verify_head(chain_verify_t *v, int64_t dossier_id, int found, int64_t count, const char *head,
                  const char *seal, char *err, size_t errlen)
{
    char want[SHA256_HEX_LEN];

    memset(v, 0, sizeof *v);
    v->dossier_id = dossier_id;
    v->expect_seq = 1;
    snprintf(v->prev, sizeof v->prev, "%s", CHAIN_ZERO_HASH);
    if (!found) {
        snprintf(err, errlen, "no dossier %" PRId64, dossier_id);
        return 1;
    }
    if (!head) {
        snprintf(err, errlen, "the timeline has no sealed head; bccid seals it at start");
        return 1;
    }
    /* the head first: its seal says how long the chain must be and where it must end */
    v->count = count;
    snprintf(v->head, sizeof v->head, "%s", head);
    chain_head_seal(dossier_id, count, v->head, want);
    if (!seal || strlen(seal) != SHA256_HEX_LEN - 1 || !ct_equal(want, seal, SHA256_HEX_LEN - 1)) {
        snprintf(err, errlen, "the sealed head (%" PRId64 " events) was altered", count);
        return 1;
    }
    return 0;
}

int
chain_verify_event(chain_verify_t *v, int64_t seq, const char *prev_hash, const char *hash,
                   const store_timeline_event_t *ev, char *err, size_t errlen)
{
    store_timeline_event_t e = *ev;
    char want[SHA256_HEX_LEN];

    if (seq != v->expect_seq) {
        snprintf(err, errlen, "event %" PRId64 " is missing (found %" PRId64 ")", v->expect_seq, seq);
        return 1;
    }
    if (strcmp(v->prev, prev_hash) != 0) {
        snprintf(err, errlen, "event %" PRId64 " does not point at the hash of event %" PRId64, seq, seq - 1);
        return 1;
    }
    e.dossier_id = v->dossier_id;
    chain_event_hash(v->prev, seq, &e, want);
    if (strcmp(want, hash) != 0) {
        snprintf(err, errlen, "event %" PRId64 " was altered after it was recorded", seq);
        return 1;
    }
    snprintf(v->prev, sizeof v->prev, "%s", want);
    v->expect_seq++;
    return 0;
}

int
chain_verify_end(const chain_verify_t *v, char *err, size_t errlen)
{
    int64_t seen = v->expect_seq - 1;

    if (seen != v->count) {
        snprintf(err, errlen, "the sealed head counts %" PRId64 " events but %" PRId64 " are left%s", v->count, seen,
                 seen < v->count ? ": the last ones were deleted" : "");
        return 1;
    }
    if (v->count > 0 && strcmp(v->prev, v->head) != 0) {
        snprintf(err, errlen, "the last event is not the one the sealed head names");
        return 1;
    }
    return 0;
}
