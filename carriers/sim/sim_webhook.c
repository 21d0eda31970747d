/*
 * sim_webhook - the simulator's webhook delivery thread
 *
 * Takes due events from the store's outbox, up to SIM_WEBHOOK_BATCH at a time,
 * and POSTs the VNPost ones as one JSON list to webhook_url over one
 * kept-alive libcurl handle; Viettel events are whole bodies ({"DATA": …}),
 * POSTed one per request to viettel_webhook_url, as Viettel Post does. A failed POST (transport error or non-2xx) puts the batch back with
 * exponential backoff; after SIM_WEBHOOK_ATTEMPTS the events are dropped and
 * counted. Optional authentication: `Authorization: Bearer <webhook_token>`
 * and `X-BCCI-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(webhook_secret,
 * t + "." + body)>` (design §8).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "carriers/sim/sim.h"
#include "crypto.h"
#include "log.h"

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

static int
abort_when_stopping(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    const sim_t *s = clientp;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return s->stopping ? 1 : 0;
}

static int
post_batch(sim_t *s, CURL *c, const char *url, const char *body, size_t len, long *status)
{
    struct curl_slist *hl = NULL, *tmp;
    char line[1200];
    CURLcode rc;
    int ok = 0;

    *status = 0;
    hl = curl_slist_append(NULL, "Content-Type: application/json");
    if (!hl)
        return 0;
    if ((tmp = curl_slist_append(hl, "Expect:")) != NULL)
        hl = tmp;
    if (s->webhook_token[0]) {
        snprintf(line, sizeof line, "Authorization: Bearer %.1000s", s->webhook_token);
        if ((tmp = curl_slist_append(hl, line)) != NULL)
            hl = tmp;
    }
    if (s->webhook_secret[0]) {
        char ts[24], hex[SHA256_HEX_LEN];
        uint8_t mac[SHA256_LEN];
        buf_t signed_data;

        snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
        buf_init(&signed_data, 0);
        if (buf_appendf(&signed_data, "%s.", ts) == BUF_OK && buf_append(&signed_data, body, len) == BUF_OK) {
            hmac_sha256(s->webhook_secret, strlen(s->webhook_secret), signed_data.data, signed_data.len, mac);
            hex_encode(mac, sizeof mac, hex);
            snprintf(line, sizeof line, "X-BCCI-Signature: t=%s,v1=%s", ts, hex);
            if ((tmp = curl_slist_append(hl, line)) != NULL)
                hl = tmp;
        }
        buf_free(&signed_data);
    }
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_when_stopping);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        ok = *status >= 200 && *status < 300;
    } else {
        *status = -(long)rc;
    }
    curl_slist_free_all(hl);
    return ok;
}

/*
 * post_viettel - POST every Viettel event of list on its own; failed ones go
 * back to the outbox. Returns the VNPost events left (*n counts them).
 */
static sim_outbox_ev_t *
post_viettel(sim_t *s, CURL *c, sim_outbox_ev_t *list, size_t *n)
{
    sim_outbox_ev_t *keep = NULL, **ktail = &keep, *failed = NULL, *e;
    long status;

    *n = 0;
    while (list) {
        e = list;
        list = e->next;
        e->next = NULL;
        if (!e->viettel) {
            *ktail = e;
            ktail = &e->next;
            (*n)++;
            continue;
        }
        if (post_batch(s, c, s->viettel_webhook_url, e->json, strlen(e->json), &status)) {
            sim_count_webhook(s, 1, 1);
            sim_outbox_free(e);
        } else {
            sim_count_webhook(s, 0, 1);
            if (status < 0)
                log_warn("viettel webhook POST failed: %s; it will be retried",
                         curl_easy_strerror((CURLcode)-status));
            else
                log_warn("viettel webhook POST answered HTTP %ld; it will be retried", status);
            e->next = failed;
            failed = e;
        }
    }
    if (failed)
        sim_outbox_retry(s, failed);
    return keep;
}

void *
sim_webhook_thread(void *arg)
{
    sim_t *s = arg;
    CURL *c = curl_easy_init();
    buf_t body;

    if (!c) {
        log_error("webhook thread: curl_easy_init failed; webhooks are off");
        return NULL;
    }
    buf_init(&body, 0);
    while (!s->stopping) {
        sim_outbox_ev_t *list = NULL, *e;
        size_t n = sim_outbox_take(s, SIM_WEBHOOK_BATCH, 200, &list);
        long status;
        int ok;

        if (n == 0)
            continue;
        list = post_viettel(s, c, list, &n);
        if (n == 0)
            continue;
        buf_reset(&body);
        buf_append(&body, "[", 1);
        for (e = list; e; e = e->next) {
            if (e != list)
                buf_append(&body, ",", 1);
            buf_append(&body, e->json, strlen(e->json));
        }
        if (buf_append(&body, "]", 1) != BUF_OK) {
            sim_outbox_retry(s, list);
            continue;
        }
        ok = post_batch(s, c, s->webhook_url, body.data, body.len, &status);
        sim_count_webhook(s, ok, n);
        if (ok) {
            log_debug("webhook delivered: %zu events, HTTP %ld", n, status);
            sim_outbox_free(list);
        } else {
            if (status < 0)
                log_warn("webhook POST failed: %s; %zu events will be retried", curl_easy_strerror((CURLcode)-status),
                         n);
            else
                log_warn("webhook POST answered HTTP %ld; %zu events will be retried", status, n);
            sim_outbox_retry(s, list);
        }
    }
    buf_free(&body);
    curl_easy_cleanup(c);
    return NULL;
}
