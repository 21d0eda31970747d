/*
 * api_metrics - GET /metrics in the Prometheus text format 0.0.4
 *
 * Counters come from the engine (engine_get_stats: they start at zero with
 * each bccid process, as Prometheus counters may); gauges are read from the
 * store on each scrape (jobs by kind and state, notifications, SLA breaches,
 * numbers left in the code pool) in one read transaction, and
 * bcci_storage_failing from the store's health. The route is public: Prometheus
 * scrapes without a token, so bccid's port must only be reachable from the
 * operators' network (docs/operations.md). Nothing here names a person.
 *
 * Ownership: every buffer is local to the request; the answer's text is
 * handed to http_send_bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gateway/http/http_internal.h"
#include "gateway/store/store_jobs.h"

#define METRICS_MAX (1024 * 1024)

/* label - s escaped as a Prometheus label value (backslash, quote, newline) into out */
static const char *
label(const char *s, char *out, size_t outlen)
{
    size_t o = 0;

    for (; *s && o + 3 < outlen; s++) {
        if (*s == '\\' || *s == '"') {
            out[o++] = '\\';
            out[o++] = *s;
        } else if (*s == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
    return out;
}

static void
head(buf_t *b, const char *name, const char *type, const char *help)
{
    buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
one(buf_t *b, const char *name, const char *type, const char *help, long long v)
{
    head(b, name, type, help);
    buf_appendf(b, "%s %lld\n", name, v);
}

static void
engine_metrics(buf_t *b, const engine_stats_t *st)
{
    char l[80];
    int i;

    head(b, "bcci_dossiers_total", "counter", "Dossier submissions since bccid started, by outcome.");
    buf_appendf(b, "bcci_dossiers_total{outcome=\"accepted\"} %lld\n", st->dossiers_accepted);
    buf_appendf(b, "bcci_dossiers_total{outcome=\"replayed\"} %lld\n", st->dossiers_replayed);
    one(b, "bcci_commits_total", "counter", "Group commits of the single writer that carried HTTP operations (maintenance-only transactions are not counted).", st->commits);
    one(b, "bcci_commit_failures_total", "counter", "Group commits that failed and were rolled back.",
        st->commit_failures);
    one(b, "bcci_ops_committed_total", "counter",
        "Operations carried by successful group commits (divide by bcci_commits_total for the mean batch size).",
        st->ops_committed);
    head(b, "bcci_group_commit_batch_size_mean", "gauge", "Mean operations per group commit since bccid started.");
    buf_appendf(b, "bcci_group_commit_batch_size_mean %.3f\n", st->commits ? (double)st->ops_committed / st->commits : 0.0);
    head(b, "bcci_job_results_total", "counter", "Job results reported by workers, by result.");
    buf_appendf(b, "bcci_job_results_total{result=\"ok\"} %lld\n", st->results_ok);
    buf_appendf(b, "bcci_job_results_total{result=\"retry\"} %lld\n", st->results_retry);
    buf_appendf(b, "bcci_job_results_total{result=\"paused\"} %lld\n", st->results_paused);
    buf_appendf(b, "bcci_job_results_total{result=\"fail\"} %lld\n", st->results_fail);
    buf_appendf(b, "bcci_job_results_total{result=\"late\"} %lld\n", st->results_late);
    head(b, "bcci_carrier_events_total", "counter", "Carrier events received by webhook or tracking, by outcome.");
    buf_appendf(b, "bcci_carrier_events_total{outcome=\"applied\"} %lld\n", st->events_applied);
    buf_appendf(b, "bcci_carrier_events_total{outcome=\"duplicate\"} %lld\n", st->events_duplicate);
    buf_appendf(b, "bcci_carrier_events_total{outcome=\"unknown_code\"} %lld\n", st->events_unknown_code);
    one(b, "bcci_purged_dossiers_total", "counter",
        "Dossiers whose personal fields the scheduled retention purge removed (purge_after_days).", st->purged);
    one(b, "bcci_workers_connected", "gauge", "Workers connected to the dispatcher (heard from in the last 3 s).",
        st->workers);
    one(b, "bcci_circuit_breakers_open", "gauge", "Carriers whose circuit breaker is open.", st->breaker_open);
    one(b, "bcci_scheduler_leader", "gauge",
        "1 while this instance holds the scheduler role (polls, invitations, SLA, purge), else 0; "
        "across instances on one database exactly one reads 1.",
        st->scheduler_leader);
    head(b, "bcci_carrier_breaker_open", "gauge", "1 when the carrier's circuit breaker is open, else 0.");
    for (i = 0; i < st->ncarriers; i++)
        buf_appendf(b, "bcci_carrier_breaker_open{carrier=\"%s\"} %d\n", label(st->carriers[i].name, l, sizeof l),
            st->carriers[i].open);
    head(b, "bcci_carrier_paused", "gauge",
         "1 when the carrier refuses the gateway's credentials and its jobs wait (see /healthz), else 0.");
    for (i = 0; i < st->ncarriers; i++)
        buf_appendf(b, "bcci_carrier_paused{carrier=\"%s\"} %d\n", label(st->carriers[i].name, l, sizeof l),
            st->carriers[i].paused);
    head(b, "bcci_carrier_consecutive_failures", "gauge", "Consecutive failed carrier calls (opens the breaker).");
    for (i = 0; i < st->ncarriers; i++)
        buf_appendf(b, "bcci_carrier_consecutive_failures{carrier=\"%s\"} %d\n", label(st->carriers[i].name, l, sizeof l),
            st->carriers[i].consecutive_failures);
    head(b, "bcci_carrier_jobs_in_flight", "gauge", "Jobs leased to workers for the carrier.");
    for (i = 0; i < st->ncarriers; i++)
        buf_appendf(b, "bcci_carrier_jobs_in_flight{carrier=\"%s\"} %d\n", label(st->carriers[i].name, l, sizeof l),
            st->carriers[i].inflight);
}

/* store_metrics - gauges read from the store in one read transaction; STORE_OK, or why not */
static store_rc_t
store_metrics(buf_t *b, store_tx_t *tx)
{
    store_job_counts_t counts;
    store_gauges_t g;
    store_rc_t rc;
    int k, s;

    rc = store_jobs_counts(tx, &counts);
    if (rc == STORE_OK)
        rc = store_jobs_gauges(tx, &g);
    if (rc != STORE_OK)
        return rc;
    head(b, "bcci_jobs", "gauge", "Durable jobs in the database, by kind and state.");
    for (k = 0; k < STORE_JOB_KINDS; k++)
        for (s = 0; s < STORE_JOB_STATES; s++)
            if (counts.n[k][s] > 0)
                buf_appendf(b, "bcci_jobs{kind=\"%s\",state=\"%s\"} %lld\n", store_job_kind_name((store_job_kind_t)k),
                            store_job_state_name((store_job_state_t)s), (long long)counts.n[k][s]);
    head(b, "bcci_notifications", "gauge", "Case-system notifications, pending (ready or leased) and dead.");
    buf_appendf(b, "bcci_notifications{state=\"pending\"} %lld\n", (long long)g.notify_pending);
    buf_appendf(b, "bcci_notifications{state=\"dead\"} %lld\n", (long long)g.notify_dead);
    one(b, "bcci_sla_breaches", "gauge", "Shipments that missed their working-day due date (TT 17 Dieu 7.2).",
        (long long)g.sla_breaches);
    one(b, "bcci_codes_left", "gauge", "S10 numbers left in the code pool (import more below 1000).",
        (long long)g.codes_left);
    one(b, "bcci_dossiers_stored", "gauge", "Dossiers kept in the database.", (long long)g.dossiers);
    return STORE_OK;
}

/* h_metrics - the engine's counters always (they say what is failing); the store's gauges
 * when it can be read; bcci_storage_failing says whether the writer's transactions fail */
static enum MHD_Result
h_metrics(http_ctx_t *c)
{
    store_t *store = http_store(c);
    store_tx_t *tx = NULL;
    engine_stats_t st;
    api_error_t e;
    store_rc_t rc;
    buf_t b;
    size_t len;
    char *text;

    engine_get_stats(http_engine(c), &st);
    buf_init(&b, METRICS_MAX);
    one(&b, "bcci_up", "gauge", "1 while bccid answers.", 1);
    one(&b, "bcci_storage_failing", "gauge",
        "1 while the database refuses the gateway's writes (locked by another process, disk full, read-only).",
        store_health(store, NULL) != STORE_OK);
    engine_metrics(&b, &st);
    http_render_request_metrics(c, &b);
    rc = store_tx_begin(store, STORE_READ, &tx);
    if (rc == STORE_OK)
        rc = store_metrics(&b, tx);
    if (rc != STORE_OK || !b.data) {
        http_store_error(&e, rc == STORE_OK ? STORE_BUSY : rc,
                         tx ? store_tx_message(tx) : "the database cannot be read; retry later");
        store_tx_abort(&tx);
        buf_free(&b);
        return http_send_error(c, &e);
    }
    store_tx_abort(&tx);
    text = buf_steal(&b, &len); /* http_send_bytes owns it now */
    return http_send_bytes(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

const http_route_t api_metrics_routes[] = {
    { "GET", "/metrics", h_metrics, ROLE_PUBLIC, "Prometheus metrics (text format 0.0.4)", HTTP_SCOPE_NONE },
    { NULL, NULL, NULL, 0, NULL, HTTP_SCOPE_NONE },
};
