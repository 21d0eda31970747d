/*
 * worker - bcci-worker's job runner (see worker.h)
 *
 * Threads: the main thread alone touches the ZeroMQ sockets, one DEALER per
 * bccid instance (a link). Job threads take JOBs from `todo` and put RESULTs
 * on `done` (both under `mu`), then poke the eventfd; the main thread polls
 * that fd beside the sockets, moves each RESULT of `done` into the outbox of
 * the link its JOB came from and sends from there (a send that meets a full
 * pipe stays in that link's outbox for the next turn, without holding back the
 * other links). worker_request_stop only sets a flag and writes the eventfd,
 * both async-signal-safe.
 */
#include "queues/worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "carriers/carrier.h"
#include "clock.h"
#include "config_check.h"
#include "domain/dossier.h"
#include "log.h"
#include "queues/email.h"
#include "queues/notify.h"
#include "queues/sms.h"
#include "secret.h"
#include "queues/wire.h"

#define WORKER_MAX_CARRIERS 8
#define WORKER_MAX_CONCURRENCY 256
#define WORKER_MAX_DELAY_MS 86400000LL

const config_spec_t worker_config_spec[] = {
    { "connect", "ipc://./var/jobs.sock", "bccid's jobs endpoint (ipc://PATH or tcp://HOST:PORT); several bccid "
                                          "instances as a comma-separated list (tcp://a:7000,tcp://b:7000)" },
    { "carriers", "vnpost", "comma-separated carriers this worker serves" },
    { "concurrency", "8", "jobs run at once (threads), 1..256" },
    { "name", NULL, "worker name announced to bccid (default: HOSTNAME-PID)" },
    { "shutdown_grace_ms", "10000", "on SIGTERM, how long running jobs may take to finish" },
    { "carrier.vnpost.url", "http://127.0.0.1:9090", "VNPost API base URL" },
    { "carrier.vnpost.username", "demo", "VNPost API user" },
    { "carrier.vnpost.password_file", "", "file holding the VNPost password (empty: the demo password)" },
    { "carrier.vnpost.customer_code", "BCCI", "VNPost customer code" },
    { "carrier.viettel.url", "", "Viettel Post API base URL" },
    { "carrier.viettel.token_file", "", "file holding the Viettel Post token" },
    { "carrier.timeout_ms", "5000", "timeout of one carrier HTTP request" },
    { "carrier.allow_insecure", "0", "1: allow plain http to non-loopback carrier URLs (certificates are always verified)" },
    { "carrier.ca_bundle", "", "CA bundle file for TLS (empty: the system store)" },
    { "case_system.secret_file", "", "file holding the HMAC secret for X-BCCI-Signature (empty: notify jobs are "
                                      "refused, never sent unsigned)" },
    { "case_system.timeout_ms", "5000", "timeout of one notification POST" },
    { "sms.url", "", "SMS-brandname provider's send endpoint (empty: sms jobs fail, saying so)" },
    { "sms.brandname", "BUUDIEN", "registered SMS brand name shown as the sender (1..11 characters)" },
    { "sms.api_key_file", "", "file (0600) holding the SMS provider's API key, sent as a bearer token" },
    { "sms.timeout_ms", "5000", "timeout of one SMS provider request" },
    { "sms.unaccented", "0", "1: strip diacritics before sending (only for a provider without UCS-2)" },
    { "smtp.url", "", "SMTP server for citizen e-mails, smtp://HOST:PORT or smtps:// (empty: email jobs fail)" },
    { "smtp.from", "no-reply@localhost.localdomain", "envelope and header sender of citizen e-mails" },
    { "smtp.starttls", "0", "1: require STARTTLS on smtp:// (certificates are verified)" },
    { "smtp.username", "", "SMTP login user (empty: no login)" },
    { "smtp.password_file", "", "file (0600) holding the SMTP password" },
    { "smtp.timeout_ms", "10000", "timeout of one SMTP transaction" },
    { "log_level", "info", "debug, info, warn or error" },
    { "curve_server_key", "", "bccid's CURVE public key (Z85): encrypt and authenticate the jobs link" },
    { "curve_secret_file", "", "file (0600) with this worker's CURVE secret key (Z85, from bcci keys gen)" },
    { "insecure_plaintext_jobs", "no", "yes: allow connect = tcp://… without CURVE (jobs and results in clear "
                                       "text; only on a private network you trust; warned at every start)" },
    { NULL, NULL, NULL },
};

typedef struct job {
    wire_msg_t msg;
    int link; /* the bccid instance the JOB came from, where its RESULT goes */
    int64_t started_ms;
    struct job *next;
} job_t;

typedef struct {
    job_t *head, *tail;
    size_t n;
} jobq_t;

typedef struct {
    struct worker *w;
    int index;
    pthread_t tid;
    int started;
    carrier_t *carriers[WORKER_MAX_CARRIERS];
    notify_t *notify;
    sms_t *sms;     /* NULL: sms.url not configured */
    email_t *email; /* NULL: smtp.url not configured */
} slot_t;

/* one bccid instance: its socket and its own Paranoid Pirate liveness (main thread only) */
typedef struct {
    char endpoint[WORKER_ENDPOINT_MAX];
    void *sock;
    int64_t last_heard, next_hb;
    int heard;      /* something arrived on the current socket */
    int printed;    /* "connected" was printed once for this link */
    jobq_t outbox;  /* RESULTs for this instance not yet accepted by its socket */
} link_t;

struct worker {
    const config_t *cfg;
    char name[64];
    link_t links[WORKER_MAX_LINKS];
    int nlinks;
    char curve_server[41];                    /* Z85 public key of bccid, "" = no CURVE */
    char curve_public[41], curve_secret[41];
    char carriers[256];                       /* comma-separated, as announced */
    char carrier_name[WORKER_MAX_CARRIERS][32];
    int ncarriers;
    int concurrency;
    int64_t grace_ms;
    slot_t *slots;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    jobq_t todo;    /* JOBs waiting for a thread (mu) */
    jobq_t done;    /* RESULTs waiting for the main thread (mu) */
    int running;    /* jobs being run (mu) */
    int quit;       /* threads exit once idle (mu) */

    int efd;
    volatile sig_atomic_t stop_requested;
    void *zctx;
};

/* ---- small queues ------------------------------------------------------ */

static void
jobq_push(jobq_t *q, job_t *j)
{
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->n++;
}

static void
jobq_push_front(jobq_t *q, job_t *j)
{
    j->next = q->head;
    q->head = j;
    if (!q->tail)
        q->tail = j;
    q->n++;
}

static job_t *
jobq_pop(jobq_t *q)
{
    job_t *j = q->head;

    if (!j)
        return NULL;
    q->head = j->next;
    if (!q->head)
        q->tail = NULL;
    q->n--;
    j->next = NULL;
    return j;
}

/* jobq_take_all - move every item of from to the end of to */
static void
jobq_take_all(jobq_t *to, jobq_t *from)
{
    if (!from->head)
        return;
    if (to->tail)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    to->n += from->n;
    from->head = from->tail = NULL;
    from->n = 0;
}

static void
job_free(job_t *j)
{
    if (!j)
        return;
    wire_msg_clear(&j->msg);
    free(j);
}

static void
jobq_free(jobq_t *q)
{
    job_t *j;

    while ((j = jobq_pop(q)))
        job_free(j);
}

/* ---- running one job (job threads) ------------------------------------- */

static int64_t
clamp_delay(int64_t ms)
{
    if (ms < 0)
        return 0;
    return ms > WORKER_MAX_DELAY_MS ? WORKER_MAX_DELAY_MS : ms;
}

static void
result_from_carrier(carrier_status_t st, const carrier_result_t *cr, wire_msg_t *res)
{
    switch (st) {
    case CARRIER_OK:
        res->outcome = WIRE_OK;
        break;
    case CARRIER_RETRY:
    case CARRIER_THROTTLE:
        res->outcome = WIRE_RETRY;
        res->delay_ms = clamp_delay(cr->retry_after_ms);
        break;
    case CARRIER_CONFIG:
        /* the gateway's own credentials: no job is at fault, bccid pauses the carrier */
        res->outcome = WIRE_RETRY;
        res->pause = 1;
        break;
    default:
        res->outcome = WIRE_FAIL;
        break;
    }
    if (cr->message[0])
        snprintf(res->message, sizeof res->message, "%s", cr->message);
    else
        snprintf(res->message, sizeof res->message, "carrier: %s", carrier_status_name(st));
}

/* set_str - add a string member that may hold bytes that are not UTF-8; -1 on OOM */
static int
set_str(json_t *obj, const char *key, const char *s)
{
    json_t *v = wire_json_string(s);

    return v ? json_object_set_new(obj, key, v) : -1;
}

static json_t *
events_to_json(const carrier_event_list_t *l)
{
    json_t *arr = json_array();
    size_t i;

    for (i = 0; arr && i < l->n; i++) {
        const carrier_event_t *e = &l->items[i];
        json_t *o = json_object();

        if (!o || json_array_append_new(arr, o) != 0 || set_str(o, "carrier_ref", e->carrier_ref) != 0 ||
            set_str(o, "waybill", e->waybill) != 0 || set_str(o, "raw_code", e->raw_code) != 0 ||
            set_str(o, "raw_name", e->raw_name) != 0 || set_str(o, "reason", e->reason) != 0 ||
            set_str(o, "event_id", e->event_id) != 0 || set_str(o, "receiver_name", e->receiver_name) != 0 ||
            set_str(o, "receiver_relation", e->receiver_relation) != 0 ||
            set_str(o, "receiver_id_type", e->receiver_id_type) != 0 ||
            set_str(o, "receiver_id_last4", e->receiver_id_last4) != 0 ||
            json_object_set_new(o, "carrier_time_ms", json_integer(e->carrier_time_ms)) != 0 ||
            json_object_set_new(o, "amount", json_integer(e->amount)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int
carrier_index(const struct worker *w, const char *name)
{
    int i;

    for (i = 0; i < w->ncarriers; i++)
        if (strcmp(w->carrier_name[i], name) == 0)
            return i;
    return -1;
}

/* run_carrier_job - book, cancel, track or return; fills res */
static void
run_carrier_job(slot_t *slot, const wire_msg_t *job, wire_msg_t *res)
{
    struct worker *w = slot->w;
    carrier_shipment_t s;
    carrier_result_t cr;
    carrier_event_list_t events = { 0 };
    carrier_status_t st;
    char err[256];
    int ci = carrier_index(w, job->carrier);

    if (ci < 0) {
        res->outcome = WIRE_FAIL;
        snprintf(res->message, sizeof res->message, "carrier '%.32s' is not served by this worker (serves: %.150s)",
                 job->carrier, w->carriers);
        return;
    }
    memset(&s, 0, sizeof s);
    memset(&cr, 0, sizeof cr);
    if (!job->data || carrier_shipment_from_json(job->data, &s, err, sizeof err) != 0) {
        res->outcome = WIRE_FAIL;
        snprintf(res->message, sizeof res->message, "invalid %s payload: %.200s", job->kind,
                 job->data ? err : "missing");
        return;
    }
    if (strcmp(job->kind, "book") == 0) {
        st = carrier_book(slot->carriers[ci], &s, &cr);
        result_from_carrier(st, &cr, res);
        if (st == CARRIER_OK) {
            res->data = json_object();
            if (!res->data || set_str(res->data, "carrier_ref", cr.carrier_ref) != 0 ||
                json_object_set_new(res->data, "fee", json_integer(cr.fee)) != 0 ||
                json_object_set_new(res->data, "already_existed", json_boolean(cr.already_existed)) != 0)
                goto oom;
        }
    } else if (strcmp(job->kind, "cancel") == 0) {
        st = carrier_cancel(slot->carriers[ci], &s, &cr);
        result_from_carrier(st, &cr, res);
    } else if (strcmp(job->kind, "return") == 0) {
        const json_t *why = json_object_get(job->data, "return_reason");

        st = carrier_request_return(slot->carriers[ci], &s, json_is_string(why) ? json_string_value(why) : NULL,
                                    &cr);
        result_from_carrier(st, &cr, res);
    } else {
        st = carrier_track(slot->carriers[ci], &s, &events, &cr);
        result_from_carrier(st, &cr, res);
        if (st == CARRIER_OK) {
            json_t *arr = events_to_json(&events);

            res->data = json_object();
            if (!arr || !res->data || json_object_set_new(res->data, "events", arr) != 0) {
                if (!res->data)
                    json_decref(arr);
                goto oom;
            }
        }
    }
    if (res->data == NULL && st == CARRIER_OK)
        res->data = json_object();
    carrier_event_list_free(&events);
    return;
oom:
    carrier_event_list_free(&events);
    json_decref(res->data);
    res->data = NULL;
    res->outcome = WIRE_RETRY;
    res->delay_ms = 0;
    snprintf(res->message, sizeof res->message, "out of memory while building the result; will retry");
}

/* run_sms_job - one text to a citizen's phone; the phone and text stay out of res and the logs */
static void
run_sms_job(slot_t *slot, const wire_msg_t *job, wire_msg_t *res)
{
    sms_result_t sr;

    if (!slot->sms) {
        res->outcome = WIRE_FAIL;
        snprintf(res->message, sizeof res->message,
                 "this worker sends no SMS: sms.url is not configured; configure sms.url, sms.brandname and "
                 "sms.api_key_file, then replay the job");
        return;
    }
    sms_send(slot->sms, job->data, &sr);
    res->outcome = sr.outcome;
    res->delay_ms = clamp_delay(sr.delay_ms);
    snprintf(res->message, sizeof res->message, "%s", sr.message);
    res->data = json_pack("{s:i,s:s}", "http_status", sr.http_status, "provider_id", sr.provider_id);
}

/* run_email_job - one e-mail to a citizen; the address stays out of res and the logs */
static void
run_email_job(slot_t *slot, const wire_msg_t *job, wire_msg_t *res)
{
    email_result_t er;

    if (!slot->email) {
        res->outcome = WIRE_FAIL;
        snprintf(res->message, sizeof res->message,
                 "this worker sends no e-mail: smtp.url is not configured; configure smtp.url and smtp.from, "
                 "then replay the job");
        return;
    }
    email_send(slot->email, job->data, &er);
    res->outcome = er.outcome;
    res->delay_ms = clamp_delay(er.delay_ms);
    snprintf(res->message, sizeof res->message, "%s", er.message);
    res->data = json_pack("{s:i,s:s}", "smtp_code", er.smtp_code, "message_id", er.message_id);
}

/* expand_booking - a JOB whose data is {"dossier": canonical dossier, "waybill", "carrier_ref"}
 * (the book job bccid queued at intake, store_jobs.h) gets the booking payload built from the
 * dossier in its place, here on the worker rather than on bccid's single writer. A dossier
 * that builds no payload is left as it is: the job then fails as an invalid payload, saying so. */
static void
expand_booking(wire_msg_t *job)
{
    const json_t *dossier = json_object_get(job->data, "dossier");
    json_t *booking;
    const char *keys[] = { "waybill", "carrier_ref" };
    size_t i;

    if (!json_is_object(dossier))
        return;
    booking = dossier_book_payload(dossier);
    if (!booking) {
        log_error("job %lld: the dossier bccid sent cannot be booked (not a dossier this worker reads, or out of "
                  "memory); the job fails as an invalid payload: run a bcci-worker of the same version as bccid",
                  (long long)job->job_id);
        return;
    }
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(job->data, keys[i]);

        if (v && json_object_set(booking, keys[i], v) != 0) {
            json_decref(booking);
            return;
        }
    }
    json_decref(job->data);
    job->data = booking;
}

static void
run_job(slot_t *slot, const wire_msg_t *job, wire_msg_t *res)
{
    const json_t *rid = job->data ? json_object_get(job->data, "request_id") : NULL;
    int64_t t0 = clock_mono_ms();

    wire_msg_init(res);
    res->cmd = WIRE_RESULT;
    res->job_id = job->job_id;
    res->lease = job->lease;
    log_set_request_id(json_is_string(rid) ? json_string_value(rid) : NULL);

    if (strcmp(job->kind, "notify") == 0) {
        notify_result_t nr;

        notify_post(slot->notify, job->data, &nr);
        res->outcome = nr.outcome;
        res->delay_ms = clamp_delay(nr.delay_ms);
        snprintf(res->message, sizeof res->message, "%s", nr.message);
        res->data = json_pack("{s:i}", "http_status", nr.http_status);
    } else if (strcmp(job->kind, "sms") == 0) {
        run_sms_job(slot, job, res);
    } else if (strcmp(job->kind, "email") == 0) {
        run_email_job(slot, job, res);
    } else if (strcmp(job->kind, "book") == 0 || strcmp(job->kind, "cancel") == 0 ||
               strcmp(job->kind, "track") == 0 || strcmp(job->kind, "return") == 0) {
        run_carrier_job(slot, job, res);
    } else {
        res->outcome = WIRE_FAIL;
        snprintf(res->message, sizeof res->message,
                 "unknown job kind '%.16s' (expected book, cancel, track, return, notify, sms, email)", job->kind);
    }
    if (res->outcome == WIRE_OK)
        log_info("job %lld %s%s%s attempt %d: ok in %lld ms", (long long)job->job_id, job->kind,
                 job->carrier[0] ? " " : "", job->carrier, job->attempt, (long long)(clock_mono_ms() - t0));
    else
        log_warn("job %lld %s%s%s attempt %d: %s in %lld ms (delay %lld ms): %s", (long long)job->job_id,
                 job->kind, job->carrier[0] ? " " : "", job->carrier, job->attempt, wire_outcome_name(res->outcome),
                 (long long)(clock_mono_ms() - t0), (long long)res->delay_ms, res->message);
    log_set_request_id(NULL);
}

static void
poke(struct worker *w)
{
    uint64_t one = 1;

    if (write(w->efd, &one, sizeof one) < 0) {
        /* the counter is already non-zero: the main thread will wake anyway */
    }
}

static void *
slot_main(void *arg)
{
    slot_t *slot = arg;
    struct worker *w = slot->w;

    for (;;) {
        job_t *j, *r;

        pthread_mutex_lock(&w->mu);
        while (!w->quit && !w->todo.head)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->quit) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        j = jobq_pop(&w->todo);
        w->running++;
        pthread_mutex_unlock(&w->mu);

        r = calloc(1, sizeof *r);
        if (r) {
            r->link = j->link;
            expand_booking(&j->msg);
            run_job(slot, &j->msg, &r->msg);
        } else {
            log_error("job %lld: out of memory, no result sent (the lease will expire)",
                      (long long)j->msg.job_id);
        }
        job_free(j);

        pthread_mutex_lock(&w->mu);
        if (r)
            jobq_push(&w->done, r);
        w->running--;
        pthread_mutex_unlock(&w->mu);
        poke(w);
    }
    return NULL;
}

/* ---- setup ------------------------------------------------------------- */

/* next_item - the next item of a comma-separated list at *p, spaces around it dropped: 1 with
 * *start and *n set and *p moved past it, 0 at the end of the list */
static int
next_item(const char **p, const char **start, size_t *n)
{
    const char *end;

    while (**p == ' ' || **p == ',')
        (*p)++;
    if (!**p)
        return 0;
    *start = *p;
    while (**p && **p != ',')
        (*p)++;
    end = *p;
    while (end > *start && end[-1] == ' ')
        end--;
    *n = (size_t)(end - *start);
    return 1;
}

static int
parse_carriers(struct worker *w, const char *list, char *err, size_t errlen)
{
    const char *p = list ? list : "", *start;
    size_t len = 0, n;

    w->ncarriers = 0;
    w->carriers[0] = '\0';
    while (next_item(&p, &start, &n)) {
        if (n >= sizeof w->carrier_name[0]) {
            snprintf(err, errlen, "carriers: name '%.*s' is too long", (int)n, start);
            return -1;
        }
        if (w->ncarriers == WORKER_MAX_CARRIERS) {
            snprintf(err, errlen, "carriers: at most %d carriers per worker", WORKER_MAX_CARRIERS);
            return -1;
        }
        memcpy(w->carrier_name[w->ncarriers], start, n);
        w->carrier_name[w->ncarriers][n] = '\0';
        if (!carrier_find(w->carrier_name[w->ncarriers])) {
            snprintf(err, errlen, "carriers: unknown carrier '%s' (known: %s)", w->carrier_name[w->ncarriers],
                     carrier_names());
            return -1;
        }
        if (carrier_index(w, w->carrier_name[w->ncarriers]) >= 0) {
            snprintf(err, errlen, "carriers: '%s' is listed twice", w->carrier_name[w->ncarriers]);
            return -1;
        }
        if (len + n + 1 >= sizeof w->carriers) {
            snprintf(err, errlen, "carriers: list too long");
            return -1;
        }
        if (len)
            w->carriers[len++] = ',';
        memcpy(w->carriers + len, start, n);
        len += n;
        w->carriers[len] = '\0';
        w->ncarriers++;
    }
    if (w->ncarriers == 0) {
        snprintf(err, errlen, "carriers: name at least one carrier (known: %s)", carrier_names());
        return -1;
    }
    return 0;
}

static int
set_log_level(const char *s, char *err, size_t errlen)
{
    log_level_t level;

    if (log_level_parse(s, &level) == 0) {
        log_set_level(level);
        return 0;
    }
    snprintf(err, errlen, "log_level: '%s' is not one of " LOG_LEVEL_CHOICES, s ? s : "");
    return -1;
}

worker_t *
worker_new(const config_t *cfg, char *err, size_t errlen)
{
    struct worker *w = calloc(1, sizeof *w);
    const char *name = config_get(cfg, "name");
    const char *endpoint = config_get(cfg, "connect");
    long long conc = config_get_int(cfg, "concurrency", -1);
    int i, k;

    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->cfg = cfg;
    w->efd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (set_log_level(config_get(cfg, "log_level"), err, errlen) != 0)
        goto fail;
    if (config_get(cfg, "curve_server_key") && *config_get(cfg, "curve_server_key")) {
        const char *server = config_get(cfg, "curve_server_key");
        const char *secret_path = config_get(cfg, "curve_secret_file");
        size_t len = 0;

        if (strlen(server) != 40 || !secret_path || !*secret_path) {
            snprintf(err, errlen, "curve_server_key must be bccid's 40-character Z85 public key, and "
                                  "curve_secret_file this worker's secret key file (bcci keys gen)");
            goto fail;
        }
        if (secret_file_read(secret_path, w->curve_secret, sizeof w->curve_secret, &len, err, errlen) != 0)
            goto fail;
        if (len != 40 || zmq_curve_public(w->curve_public, w->curve_secret) != 0) {
            snprintf(err, errlen, "%s does not hold a 40-character Z85 CURVE secret key", secret_path);
            goto fail;
        }
        snprintf(w->curve_server, sizeof w->curve_server, "%s", server);
    }
    {
        char list[WORKER_MAX_LINKS][WORKER_ENDPOINT_MAX];

        if (worker_endpoints_parse(endpoint, list, &w->nlinks, err, errlen) != 0)
            goto fail;
        for (i = 0; i < w->nlinks; i++)
            snprintf(w->links[i].endpoint, sizeof w->links[i].endpoint, "%s", list[i]);
    }
    if (conc < 1 || conc > WORKER_MAX_CONCURRENCY) {
        snprintf(err, errlen, "concurrency: '%s' must be an integer 1..%d", config_get(cfg, "concurrency"),
                 WORKER_MAX_CONCURRENCY);
        goto fail;
    }
    w->concurrency = (int)conc;
    w->grace_ms = config_get_int(cfg, "shutdown_grace_ms", -1);
    if (w->grace_ms < 0 || w->grace_ms > 3600000) {
        snprintf(err, errlen, "shutdown_grace_ms: must be an integer 0..3600000");
        goto fail;
    }
    if (name && *name) {
        if (strlen(name) >= sizeof w->name) {
            snprintf(err, errlen, "name: at most %zu bytes", sizeof w->name - 1);
            goto fail;
        }
        snprintf(w->name, sizeof w->name, "%s", name);
    } else {
        char host[48];

        if (gethostname(host, sizeof host) != 0)
            snprintf(host, sizeof host, "worker");
        host[sizeof host - 1] = '\0';
        snprintf(w->name, sizeof w->name, "%s-%ld", host, (long)getpid());
    }
    if (parse_carriers(w, config_get(cfg, "carriers"), err, errlen) != 0)
        goto fail;

    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        goto fail;
    }
    w->slots = calloc((size_t)w->concurrency, sizeof *w->slots);
    if (!w->slots) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (i = 0; i < w->concurrency; i++) {
        slot_t *s = &w->slots[i];

        s->w = w;
        s->index = i;
        for (k = 0; k < w->ncarriers; k++) {
            char cerr[256];

            s->carriers[k] = carrier_new(carrier_find(w->carrier_name[k]), cfg, cerr, sizeof cerr);
            if (!s->carriers[k]) {
                snprintf(err, errlen, "carrier %s: %s", w->carrier_name[k], cerr);
                goto fail;
            }
        }
        s->notify = notify_new(cfg, err, errlen);
        if (!s->notify)
            goto fail;
        if (sms_configured(cfg)) {
            char serr[256];

            s->sms = sms_new(cfg, serr, sizeof serr);
            if (!s->sms) {
                snprintf(err, errlen, "sms: %s", serr);
                goto fail;
            }
        }
        if (email_configured(cfg)) {
            char eerr[256];

            s->email = email_new(cfg, eerr, sizeof eerr);
            if (!s->email) {
                snprintf(err, errlen, "smtp: %s", eerr);
                goto fail;
            }
        }
    }
    return w;
fail:
    worker_destroy(&w);
    return NULL;
}

void
worker_destroy(worker_t **selfp)
{
    struct worker *w = *selfp;
    int i, k;

    if (!w)
        return;
    for (i = 0; w->slots && i < w->concurrency; i++) {
        for (k = 0; k < w->ncarriers; k++)
            carrier_destroy(&w->slots[i].carriers[k]);
        notify_destroy(&w->slots[i].notify);
        sms_destroy(&w->slots[i].sms);
        email_destroy(&w->slots[i].email);
    }
    free(w->slots);
    jobq_free(&w->todo);
    jobq_free(&w->done);
    for (i = 0; i < w->nlinks; i++) {
        jobq_free(&w->links[i].outbox);
        if (w->links[i].sock)
            zmq_close(w->links[i].sock);
    }
    if (w->zctx)
        zmq_ctx_term(w->zctx);
    if (w->efd >= 0)
        close(w->efd);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    *selfp = NULL;
}

const char *
worker_name(const worker_t *self)
{
    return self->name;
}

void
worker_request_stop(worker_t *self)
{
    self->stop_requested = 1;
    poke(self);
}

/* ---- the endpoints ----------------------------------------------------- */

int
worker_endpoints_parse(const char *list, char out[][WORKER_ENDPOINT_MAX], int *n, char *err, size_t errlen)
{
    static const config_rule_t rule = { "connect", CHECK_ENDPOINT, 0, 0, 0, NULL };
    const char *p = list ? list : "", *start;
    size_t len;
    int i;

    *n = 0;
    while (next_item(&p, &start, &len)) {
        if (*n == WORKER_MAX_LINKS) {
            snprintf(err, errlen, "connect: at most %d bccid endpoints", WORKER_MAX_LINKS);
            return -1;
        }
        if (len >= WORKER_ENDPOINT_MAX) {
            snprintf(err, errlen, "connect: endpoint '%.60s…' is too long (at most %d bytes)", start,
                     WORKER_ENDPOINT_MAX - 1);
            return -1;
        }
        memcpy(out[*n], start, len);
        out[*n][len] = '\0';
        if (config_check_value(&rule, out[*n], err, errlen) != 0)
            return -1;
        for (i = 0; i < *n; i++)
            if (strcmp(out[i], out[*n]) == 0) {
                snprintf(err, errlen, "connect: '%.200s' is listed twice", out[*n]);
                return -1;
            }
        (*n)++;
    }
    if (*n == 0) {
        snprintf(err, errlen, "connect: name at least one bccid endpoint (ipc://PATH or tcp://HOST:PORT)");
        return -1;
    }
    return 0;
}

/* ---- the main loop ----------------------------------------------------- */

static int
link_open(struct worker *w, link_t *l, char *err, size_t errlen)
{
    int linger = 0, maxmsg_ok;
    int64_t maxmsg = WIRE_MAX_BODY + 4096;

    l->sock = zmq_socket(w->zctx, ZMQ_DEALER);
    if (!l->sock) {
        snprintf(err, errlen, "zmq_socket: %s", zmq_strerror(errno));
        return -1;
    }
    zmq_setsockopt(l->sock, ZMQ_LINGER, &linger, sizeof linger);
    maxmsg_ok = zmq_setsockopt(l->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    (void)maxmsg_ok;
    if (w->curve_server[0] &&
        (zmq_setsockopt(l->sock, ZMQ_CURVE_SERVERKEY, w->curve_server, 40) != 0 ||
         zmq_setsockopt(l->sock, ZMQ_CURVE_PUBLICKEY, w->curve_public, 40) != 0 ||
         zmq_setsockopt(l->sock, ZMQ_CURVE_SECRETKEY, w->curve_secret, 40) != 0)) {
        snprintf(err, errlen, "cannot set the CURVE keys: %s (is libzmq built with CURVE?)", zmq_strerror(errno));
        zmq_close(l->sock);
        l->sock = NULL;
        return -1;
    }
    if (zmq_connect(l->sock, l->endpoint) != 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", l->endpoint, zmq_strerror(errno));
        zmq_close(l->sock);
        l->sock = NULL;
        return -1;
    }
    return 0;
}

static void
send_simple(struct worker *w, link_t *l, wire_cmd_t cmd)
{
    wire_msg_t m;

    wire_msg_init(&m);
    m.cmd = cmd;
    if (cmd == WIRE_READY) {
        snprintf(m.worker, sizeof m.worker, "%s", w->name);
        snprintf(m.carriers, sizeof m.carriers, "%s", w->carriers);
        m.credit = w->concurrency;
    }
    if (wire_send(l->sock, NULL, 0, &m) != 0 && errno != EAGAIN)
        log_warn("cannot send %s to %s: %s", wire_cmd_name(cmd), l->endpoint, zmq_strerror(errno));
    wire_msg_clear(&m);
}

/* flush_outbox - hand each finished RESULT to its link, then send on every link until its
 * socket pushes back */
static void
flush_outbox(struct worker *w)
{
    jobq_t done = { 0 };
    job_t *r;
    int i;

    pthread_mutex_lock(&w->mu);
    jobq_take_all(&done, &w->done);
    pthread_mutex_unlock(&w->mu);
    while ((r = jobq_pop(&done)))
        jobq_push(&w->links[r->link].outbox, r);
    for (i = 0; i < w->nlinks; i++) {
        link_t *l = &w->links[i];

        while ((r = jobq_pop(&l->outbox))) {
            if (wire_send(l->sock, NULL, 0, &r->msg) != 0) {
                if (errno == EAGAIN) {
                    jobq_push_front(&l->outbox, r);
                    break;
                }
                log_error("job %lld: cannot send RESULT to %s: %s (the lease will expire and the job run again)",
                          (long long)r->msg.job_id, l->endpoint, zmq_strerror(errno));
            }
            job_free(r);
        }
    }
}

static int
outbox_pending(const struct worker *w)
{
    int i;

    for (i = 0; i < w->nlinks; i++)
        if (w->links[i].outbox.head)
            return 1;
    return 0;
}

/* refuse_job - answer a job we will not run (shutting down) with retry now */
static void
refuse_job(struct worker *w, job_t *j)
{
    job_t *r = j; /* reuse the node: turn the JOB into its RESULT, for the same link */
    int64_t id = j->msg.job_id, lease = j->msg.lease;

    wire_msg_clear(&r->msg);
    r->msg.cmd = WIRE_RESULT;
    r->msg.job_id = id;
    r->msg.lease = lease;
    r->msg.outcome = WIRE_RETRY;
    snprintf(r->msg.message, sizeof r->msg.message, "worker %s is shutting down; not started", w->name);
    jobq_push(&w->links[r->link].outbox, r);
}

static void
begin_stop(struct worker *w)
{
    jobq_t pending = { 0 };
    job_t *j;
    int running, i;

    for (i = 0; i < w->nlinks; i++)
        send_simple(w, &w->links[i], WIRE_BYE);
    pthread_mutex_lock(&w->mu);
    running = w->running;
    jobq_take_all(&pending, &w->todo);
    w->quit = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    log_info("stopping: BYE sent, %zu queued job(s) handed back, waiting up to %lld ms for %d running",
             pending.n, (long long)w->grace_ms, running);
    while ((j = jobq_pop(&pending)))
        refuse_job(w, j);
}

static void
handle_message(struct worker *w, int link, wire_msg_t *m, int stopping)
{
    job_t *j;

    if (m->cmd == WIRE_HEARTBEAT)
        return;
    if (m->cmd != WIRE_JOB) {
        log_warn("ignoring %s from bccid at %s (a worker only takes JOB and HEARTBEAT)", wire_cmd_name(m->cmd),
                 w->links[link].endpoint);
        return;
    }
    j = calloc(1, sizeof *j);
    if (!j) {
        log_error("job %lld: out of memory, dropped (the lease will expire)", (long long)m->job_id);
        return;
    }
    j->msg = *m; /* takes m's data reference */
    j->link = link;
    wire_msg_init(m);
    if (stopping) {
        refuse_job(w, j);
        return;
    }
    log_debug("job %lld %s %s received from %s", (long long)j->msg.job_id, j->msg.kind, j->msg.carrier,
              w->links[link].endpoint);
    pthread_mutex_lock(&w->mu);
    jobq_push(&w->todo, j);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* link_receive - every message waiting on one link */
static void
link_receive(struct worker *w, int link, int stopping)
{
    link_t *l = &w->links[link];

    for (;;) {
        wire_msg_t m;
        char werr[256];
        int r;

        wire_msg_init(&m);
        r = wire_recv(l->sock, 0, NULL, NULL, &m, werr, sizeof werr);
        if (r == 1)
            break;
        l->last_heard = clock_mono_ms();
        l->heard = 1;
        if (!l->printed) {
            printf("worker %s connected to %s\n", w->name, l->endpoint);
            fflush(stdout);
            l->printed = 1;
        }
        if (r < 0)
            log_warn("dropped a malformed message from bccid at %s: %s", l->endpoint, werr);
        else
            handle_message(w, link, &m, stopping);
        wire_msg_clear(&m);
    }
}

/* link_keepalive - heartbeat one link, and reopen it when its bccid has fallen silent (Paranoid
 * Pirate, per link: one dead instance never stops the others). -1 when a socket cannot be made. */
static int
link_keepalive(struct worker *w, link_t *l, int64_t now, char *err, size_t errlen)
{
    const int64_t dead_after = (int64_t)WIRE_HEARTBEAT_MS * WIRE_HEARTBEAT_LIVENESS;

    if (now >= l->next_hb) {
        send_simple(w, l, WIRE_HEARTBEAT);
        l->next_hb = now + WIRE_HEARTBEAT_MS;
    }
    if (now - l->last_heard > dead_after) {
        log_warn("bccid silent for %lld ms: reconnecting to %s", (long long)(now - l->last_heard), l->endpoint);
        zmq_close(l->sock);
        l->sock = NULL;
        if (link_open(w, l, err, errlen) != 0)
            return -1;
        send_simple(w, l, WIRE_READY);
        l->last_heard = now;
        l->next_hb = now + WIRE_HEARTBEAT_MS;
        l->heard = 0;
    }
    return 0;
}

int
worker_run(worker_t *w, char *err, size_t errlen)
{
    int64_t now, deadline = 0;
    int stopping = 0, rc = -1, i;
    const int64_t dead_after = (int64_t)WIRE_HEARTBEAT_MS * WIRE_HEARTBEAT_LIVENESS;
    zmq_pollitem_t items[WORKER_MAX_LINKS + 1];

    w->zctx = zmq_ctx_new();
    if (!w->zctx) {
        snprintf(err, errlen, "zmq_ctx_new: %s", zmq_strerror(errno));
        return -1;
    }
    for (i = 0; i < w->nlinks; i++)
        if (link_open(w, &w->links[i], err, errlen) != 0)
            goto out;
    for (i = 0; i < w->concurrency; i++) {
        int e = pthread_create(&w->slots[i].tid, NULL, slot_main, &w->slots[i]);

        if (e != 0) {
            snprintf(err, errlen, "cannot start job thread: %s", strerror(e));
            goto out;
        }
        w->slots[i].started = 1;
    }
    now = clock_mono_ms();
    for (i = 0; i < w->nlinks; i++) {
        send_simple(w, &w->links[i], WIRE_READY);
        log_info("worker %s connecting to %s (carriers %s, concurrency %d)", w->name, w->links[i].endpoint,
                 w->carriers, w->concurrency);
        w->links[i].last_heard = now;
        w->links[i].next_hb = now + WIRE_HEARTBEAT_MS;
    }

    for (;;) {
        int64_t timeout;
        int n, idle, running;

        if (w->stop_requested && !stopping) {
            stopping = 1;
            deadline = clock_mono_ms() + w->grace_ms;
            begin_stop(w);
        }
        flush_outbox(w);
        if (stopping) {
            pthread_mutex_lock(&w->mu);
            running = w->running;
            idle = running == 0 && !w->todo.head && !w->done.head;
            pthread_mutex_unlock(&w->mu);
            if (idle && !outbox_pending(w))
                break;
            if (clock_mono_ms() >= deadline) {
                log_warn("shutdown grace of %lld ms is over with %d job(s) running: their results are "
                         "dropped (the leases will expire)",
                         (long long)w->grace_ms, running);
                break;
            }
        }

        now = clock_mono_ms();
        timeout = stopping ? deadline - now : 1000;
        for (i = 0; !stopping && i < w->nlinks; i++) {
            const link_t *l = &w->links[i];

            if (l->next_hb - now < timeout)
                timeout = l->next_hb - now;
            if (l->last_heard + dead_after - now < timeout)
                timeout = l->last_heard + dead_after - now;
        }
        if (outbox_pending(w) && timeout > 50)
            timeout = 50; /* a socket pushed back: try again soon */
        if (timeout < 0)
            timeout = 0;
        if (timeout > 1000)
            timeout = 1000;
        for (i = 0; i < w->nlinks; i++)
            items[i] = (zmq_pollitem_t){ w->links[i].sock, 0, ZMQ_POLLIN, 0 };
        items[w->nlinks] = (zmq_pollitem_t){ NULL, w->efd, ZMQ_POLLIN, 0 };
        n = zmq_poll(items, w->nlinks + 1, (long)timeout);
        if (n < 0 && errno != EINTR) {
            snprintf(err, errlen, "zmq_poll: %s", zmq_strerror(errno));
            goto out;
        }
        if (n > 0 && (items[w->nlinks].revents & ZMQ_POLLIN)) {
            uint64_t v;

            if (read(w->efd, &v, sizeof v) < 0) {
                /* EAGAIN: another wake-up already consumed it */
            }
        }
        for (i = 0; n > 0 && i < w->nlinks; i++)
            if (items[i].revents & ZMQ_POLLIN)
                link_receive(w, i, stopping);

        if (stopping)
            continue;
        now = clock_mono_ms();
        for (i = 0; i < w->nlinks; i++)
            if (link_keepalive(w, &w->links[i], now, err, errlen) != 0)
                goto out;
    }
    rc = 0;
out:
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (i = 0; i < w->concurrency; i++)
        if (w->slots[i].started) {
            pthread_join(w->slots[i].tid, NULL);
            w->slots[i].started = 0;
        }
    for (i = 0; i < w->nlinks; i++) {
        link_t *l = &w->links[i];

        if (l->sock) {
            /* give the last RESULTs and BYE a moment to leave, if anyone listens */
            int linger = l->heard ? 1000 : 0;

            zmq_setsockopt(l->sock, ZMQ_LINGER, &linger, sizeof linger);
            zmq_close(l->sock);
            l->sock = NULL;
        }
    }
    zmq_ctx_term(w->zctx);
    w->zctx = NULL;
    return rc;
}
