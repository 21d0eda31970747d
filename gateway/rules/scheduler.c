/*
 * scheduler - polls, invitations, SLA: the decisions (see scheduler.h)
 */
#include "gateway/rules/scheduler.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store/store_shipments.h"
#include "gateway/store/store_timeline.h"
#include "log.h"
#include "gateway/rules/citizen.h"
#include "gateway/store/store_admin.h"
#include "gateway/store/store_jobs.h"

#define DAY_MS 86400000LL
/* a shipment is late when its due day is over, not at the start of it */
#define SLA_GRACE_MS DAY_MS

/* jobs.h answers a failure to read with a bare NULL: told as an I/O error (transient) */
#define JOBS_BARE_FAILURE 10

/* queue_poll - a track job for shipment id, carrying its booking payload; STORE_EXISTS when
 * this poll was already queued. Only a booked shipment (it has a carrier reference, which only
 * its booking job sets) is polled, so a payload that cannot be read is a failure to read, not a
 * poll to skip: skipping it would lose the poll, the next one being planned already. */
static store_rc_t
queue_poll(store_tx_t *tx, const store_shipment_t *s, int64_t now)
{
    char purpose[48], *payload = NULL;
    store_rc_t r = store_jobs_book_payload(tx, s->id, &payload);

    if (r == STORE_NOT_FOUND)
        return store_tx_fail(tx, STORE_ERROR, "shipment %" PRId64 " is booked but has no booking job to poll with",
                             s->id);
    if (r != STORE_OK)
        return r;
    snprintf(purpose, sizeof purpose, "poll:%" PRId64, now);
    r = store_jobs_enqueue(tx, STORE_JOB_TRACK, s->id, purpose, s->carrier, payload, now, now);
    free(payload);
    return r;
}

/* poll_interval - how long to wait before asking again: often while the shipment is young,
 * rarely once it is old (most news arrives by webhook anyway) */
static int64_t
poll_interval(int64_t age_ms, int64_t base_ms)
{
    if (age_ms < DAY_MS)
        return base_ms;
    if (age_ms < 3 * DAY_MS)
        return base_ms * 4;
    return base_ms * 12;
}

static store_rc_t
polls(store_tx_t *tx, const scheduler_config_t *cfg, int64_t now, scheduler_report_t *report)
{
    store_shipment_list_t due;
    int64_t base = cfg->policy->poll_min_ms ? cfg->policy->poll_min_ms : 1800000;
    size_t i;
    store_rc_t r = store_shipments_due_polls(tx, now, cfg->batch, &due);

    for (i = 0; r == STORE_OK && i < due.n; i++) {
        const store_shipment_t *s = &due.items[i];
        int queued = 0;

        r = store_shipments_count_track_jobs(tx, s->carrier, &queued);
        if (r == STORE_OK)
            r = store_shipments_set_next_poll(tx, s->id, now + poll_interval(now - s->created_at, base));
        if (r != STORE_OK || queued >= cfg->poll_cap)
            continue; /* capped: this one waits for its next turn */
        r = queue_poll(tx, s, now);
        report->polls += r == STORE_OK;
        if (r == STORE_EXISTS)
            r = STORE_OK;
    }
    store_shipment_list_free(&due);
    return r;
}

/* ------------------------------------------------------------- invitations */

static int64_t
gap_over(const scheduler_config_t *cfg, int64_t since)
{
    if (cfg->invitation_gap_ms > 0)
        return since + cfg->invitation_gap_ms;
    /* two working days after the day of the last attempt */
    return calendar_add_working_days(cfg->policy->calendar, since, 2);
}

/* note - a timeline event of the gateway about shipment s, details {"kind": kind} */
static store_rc_t
note(store_tx_t *tx, const store_shipment_t *s, int64_t now, const char *status, const char *text, const char *kind)
{
    store_timeline_event_t ev;
    json_t *d = json_pack("{s:s}", "kind", kind);
    char *dtext = d ? json_dumps(d, JSON_COMPACT) : NULL;
    store_rc_t r;

    json_decref(d);
    if (!dtext)
        return store_tx_fail(tx, STORE_BUSY, "out of memory while writing the timeline; retry later");
    memset(&ev, 0, sizeof ev);
    ev.dossier_id = s->dossier_id;
    ev.shipment_id = s->id;
    ev.event_time = now;
    ev.received_at = now;
    ev.source = "gateway";
    ev.status = status;
    ev.text = text;
    ev.details = dtext;
    r = store_timeline_append(tx, &ev);
    free(dtext);
    return r;
}

static store_rc_t
invitations(store_tx_t *tx, const scheduler_config_t *cfg, int64_t now, scheduler_report_t *report)
{
    store_shipment_list_t rows;
    size_t i;
    store_rc_t r = store_shipments_failed_deliveries(tx, cfg->batch, &rows);

    for (i = 0; r == STORE_OK && i < rows.n; i++) {
        const store_shipment_t *s = &rows.items[i];

        if (now < gap_over(cfg, s->last_attempt_at))
            continue;
        if (s->attempts < 2) {
            /* the rule asks for a second invitation before the result goes back */
            char text[256];

            snprintf(text, sizeof text,
                     "Gửi giấy mời lần %d: mời người nhận đến nhận kết quả hoặc hẹn lại thời gian phát "
                     "(TT 17/2017/TT-BTTTT Điều 5.2)",
                     s->attempts + 1);
            r = note(tx, s, now, NULL, text, "invitation");
            if (r == STORE_OK)
                r = store_shipments_record_invitation(tx, s->id, now);
            report->invitations += r == STORE_OK;
        } else {
            /* invited twice, two working days apart, and still not delivered: send it back */
            json_t *d = json_pack("{s:s}", "kind", "return_after_invitations");

            r = sink_set_status(tx, s->id, "returning", NULL, now, "gateway",
                                "Đã mời người nhận hai lần không thành công; chuyển hoàn kết quả về cơ quan "
                                "(TT 17/2017/TT-BTTTT Điều 5.2)",
                                d, cfg->policy, now);
            json_decref(d);
            /* and the carrier is asked to bring the item back (TT 17 Điều 5.2) */
            if (r == STORE_OK)
                r = citizen_request_return(tx, s, "Đã mời người nhận hai lần không thành công", now);
            report->returns += r == STORE_OK;
            if (r == STORE_CONFLICT)
                r = STORE_OK; /* the status machine refuses: nothing to send back */
        }
    }
    store_shipment_list_free(&rows);
    return r;
}

/* -------------------------------------------------------------------- SLA */

static store_rc_t
sla(store_tx_t *tx, const scheduler_config_t *cfg, int64_t now, scheduler_report_t *report)
{
    store_shipment_list_t rows;
    size_t i;
    store_rc_t r = store_shipments_past_due(tx, now - SLA_GRACE_MS, cfg->batch, &rows);

    for (i = 0; r == STORE_OK && i < rows.n; i++) {
        const store_shipment_t *s = &rows.items[i];
        char text[256];
        int y, m, d;

        calendar_ymd(s->due_at, &y, &m, &d);
        snprintf(text, sizeof text,
                 "Quá thời hạn phát theo quy định (hạn %02d/%02d/%04d, TT 17/2017/TT-BTTTT Điều 7.2); bưu gửi %s", d,
                 m, y, s->waybill);
        r = note(tx, s, now, "sla_breached", text, "sla_breached");
        if (r == STORE_OK)
            r = store_shipments_mark_breached(tx, s->id);
        /* the agency hears of it too (its clerks see it on the problem list) */
        if (r == STORE_OK) {
            snprintf(text, sizeof text, "Hạn phát %02d/%02d/%04d", d, m, y);
            r = sink_notify(tx, s->id, "sla_breached", NULL, now, text, cfg->policy, now);
        }
        if (r == STORE_OK) {
            report->sla_breaches++;
            log_warn("shipment %s missed its due date", s->waybill);
        }
    }
    store_shipment_list_free(&rows);
    return r;
}

/* ----------------------------------------------------------------- purge */

store_rc_t
scheduler_purge(store_tx_t *tx, const scheduler_config_t *cfg, int64_t now, long long *purged)
{
    store_rc_t r;

    *purged = 0;
    if (cfg->purge_after_days <= 0)
        return STORE_OK;
    r = store_admin_purge(tx, now - cfg->purge_after_days * 86400000LL, 0, now, purged);
    if (r == STORE_OK && *purged > 0)
        log_info("scheduled purge: %lld finished dossiers older than %" PRId64 " days had their personal fields "
                 "removed", *purged, cfg->purge_after_days);
    return r;
}

store_rc_t
scheduler_tick(store_tx_t *tx, const scheduler_config_t *cfg, int64_t now, scheduler_report_t *report)
{
    store_rc_t r = polls(tx, cfg, now, report);

    if (r == STORE_OK)
        r = invitations(tx, cfg, now, report);
    if (r == STORE_OK)
        r = sla(tx, cfg, now, report);
    return r;
}
