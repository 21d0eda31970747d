/*
 * scheduler - polls, invitations, SLA (see scheduler.h)
 */
#include "gateway/rules/scheduler.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store/sqlite/timeline.h"
#include "log.h"
#include "gateway/store/sqlite/jobs.h"

/* ------------------------------------------------------------------ polls */

static const char SQL_POLL_DUE[] =
    "SELECT s.id, s.carrier, s.created_at FROM shipments s WHERE s.next_poll_at IS NOT NULL AND s.next_poll_at <= ?1"
    " AND s.status NOT IN ('created', 'delivered', 'returned', 'cancelled') AND COALESCE(s.carrier_ref, '') != ''"
    " ORDER BY s.next_poll_at LIMIT ?2";
static const char SQL_POLL_QUEUED[] =
    "SELECT COUNT(*) FROM jobs WHERE kind = 'track' AND carrier = ?1 AND state IN ('ready', 'leased')";
static const char SQL_POLL_NEXT[] = "UPDATE shipments SET next_poll_at = ?2 WHERE id = ?1";

/* poll_interval - how long to wait before asking again: often while the shipment is young,
 * rarely once it is old (most news arrives by webhook anyway) */
static int64_t
poll_interval(int64_t age_ms, int64_t base_ms)
{
    if (age_ms < 86400000LL)
        return base_ms;
    if (age_ms < 3 * 86400000LL)
        return base_ms * 4;
    return base_ms * 12;
}

static int
polls(db_t *db, const scheduler_config_t *cfg, int64_t now, scheduler_report_t *report, int *rc)
{
    sqlite3_stmt *st = db_stmt(db, SQL_POLL_DUE);
    struct {
        int64_t id, created;
        char carrier[32];
    } due[256];
    int n = 0, i, limit = cfg->batch < 256 ? cfg->batch : 256;
    int64_t base = cfg->policy->poll_min_ms ? cfg->policy->poll_min_ms : 1800000;

    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, limit);
    while (n < limit && (*rc = sqlite3_step(st)) == SQLITE_ROW) {
        due[n].id = sqlite3_column_int64(st, 0);
        snprintf(due[n].carrier, sizeof due[n].carrier, "%s", db_col_text(st, 1));
        due[n].created = sqlite3_column_int64(st, 2);
        n++;
    }
    sqlite3_reset(st);
    for (i = 0; i < n; i++) {
        char purpose[48], *payload;
        int queued = 0, r;

        st = db_stmt(db, SQL_POLL_QUEUED);
        db_bind_text(st, 1, due[i].carrier);
        if (sqlite3_step(st) == SQLITE_ROW)
            queued = sqlite3_column_int(st, 0);
        sqlite3_reset(st);
        st = db_stmt(db, SQL_POLL_NEXT);
        sqlite3_bind_int64(st, 1, due[i].id);
        sqlite3_bind_int64(st, 2, now + poll_interval(now - due[i].created, base));
        if ((*rc = sqlite3_step(st)) != SQLITE_DONE)
            return -1;
        if (queued >= cfg->poll_cap)
            continue; /* capped: this one waits for its next turn */
        payload = jobs_book_payload(db, due[i].id);
        if (!payload)
            continue;
        snprintf(purpose, sizeof purpose, "poll:%" PRId64, now);
        r = jobs_enqueue(db, "track", due[i].id, purpose, due[i].carrier, payload, now, now, rc);
        free(payload);
        if (r < 0)
            return -1;
        report->polls += r == 0;
    }
    *rc = SQLITE_OK;
    return 0;
}

/* ------------------------------------------------------------- invitations */

static const char SQL_FAILED[] =
    "SELECT id, attempts, last_attempt_at FROM shipments WHERE status = 'delivery_failed'"
    " AND last_attempt_at IS NOT NULL ORDER BY last_attempt_at LIMIT ?1";
static const char SQL_INVITED[] =
    "UPDATE shipments SET attempts = attempts + 1, last_attempt_at = ?2 WHERE id = ?1";
static const char SQL_DOSSIER_OF[] = "SELECT dossier_id FROM shipments WHERE id = ?1";

static int64_t
gap_over(const scheduler_config_t *cfg, int64_t since)
{
    if (cfg->invitation_gap_ms > 0)
        return since + cfg->invitation_gap_ms;
    /* two working days after the day of the last attempt */
    if (cfg->policy->calendar)
        return calendar_add_working_days(cfg->policy->calendar, since, 2);
    return since + 2 * 86400000LL;
}

static int
invitations(db_t *db, const scheduler_config_t *cfg, int64_t now, scheduler_report_t *report, int *rc)
{
    sqlite3_stmt *st = db_stmt(db, SQL_FAILED);
    struct {
        int64_t id, last;
        int attempts;
    } rows[128];
    int n = 0, i;

    sqlite3_bind_int(st, 1, cfg->batch < 128 ? cfg->batch : 128);
    while (n < 128 && (*rc = sqlite3_step(st)) == SQLITE_ROW) {
        rows[n].id = sqlite3_column_int64(st, 0);
        rows[n].attempts = sqlite3_column_int(st, 1);
        rows[n].last = sqlite3_column_int64(st, 2);
        n++;
    }
    sqlite3_reset(st);
    for (i = 0; i < n; i++) {
        if (now < gap_over(cfg, rows[i].last))
            continue;
        if (rows[i].attempts < 2) {
            /* the rule asks for a second invitation before the result goes back */
            timeline_event_t ev;
            char text[256];
            int64_t dossier_id = 0;

            st = db_stmt(db, SQL_DOSSIER_OF);
            sqlite3_bind_int64(st, 1, rows[i].id);
            if (sqlite3_step(st) == SQLITE_ROW)
                dossier_id = sqlite3_column_int64(st, 0);
            sqlite3_reset(st);
            snprintf(text, sizeof text,
                     "Gửi giấy mời lần %d: mời người nhận đến nhận kết quả hoặc hẹn lại thời gian phát "
                     "(TT 17/2017/TT-BTTTT Điều 5.2)",
                     rows[i].attempts + 1);
            memset(&ev, 0, sizeof ev);
            ev.dossier_id = dossier_id;
            ev.shipment_id = rows[i].id;
            ev.event_time = now;
            ev.received_at = now;
            ev.source = "gateway";
            ev.text = text;
            ev.details = "{\"kind\":\"invitation\"}";
            if (timeline_append(db, &ev, rc) == TIMELINE_ERROR)
                return -1;
            st = db_stmt(db, SQL_INVITED);
            sqlite3_bind_int64(st, 1, rows[i].id);
            sqlite3_bind_int64(st, 2, now);
            if ((*rc = sqlite3_step(st)) != SQLITE_DONE)
                return -1;
            report->invitations++;
        } else {
            /* invited twice, two working days apart, and still not delivered: send it back */
            if (sink_set_status(db, rows[i].id, "returning", NULL, now, "gateway",
                                "Đã mời người nhận hai lần không thành công; chuyển hoàn kết quả về cơ quan "
                                "(TT 17/2017/TT-BTTTT Điều 5.2)",
                                "{\"kind\":\"return_after_invitations\"}", cfg->policy, now, rc) < 0)
                return -1;
            report->returns++;
        }
    }
    *rc = SQLITE_OK;
    return 0;
}

/* -------------------------------------------------------------------- SLA */

static const char SQL_LATE[] =
    "SELECT s.id, s.dossier_id, s.due_at, s.waybill FROM shipments s WHERE s.due_at IS NOT NULL"
    " AND s.sla_breached = 0 AND s.first_attempt_at IS NULL AND s.due_at + 86400000 <= ?1"
    " AND s.status NOT IN ('delivered', 'returned', 'cancelled') LIMIT ?2";
static const char SQL_BREACHED[] = "UPDATE shipments SET sla_breached = 1 WHERE id = ?1";

static int
sla(db_t *db, const scheduler_config_t *cfg, int64_t now, scheduler_report_t *report, int *rc)
{
    sqlite3_stmt *st = db_stmt(db, SQL_LATE);
    struct {
        int64_t id, dossier_id, due;
        char waybill[16];
    } rows[128];
    int n = 0, i;

    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, cfg->batch < 128 ? cfg->batch : 128);
    while (n < 128 && (*rc = sqlite3_step(st)) == SQLITE_ROW) {
        rows[n].id = sqlite3_column_int64(st, 0);
        rows[n].dossier_id = sqlite3_column_int64(st, 1);
        rows[n].due = sqlite3_column_int64(st, 2);
        snprintf(rows[n].waybill, sizeof rows[n].waybill, "%s", db_col_text(st, 3));
        n++;
    }
    sqlite3_reset(st);
    for (i = 0; i < n; i++) {
        timeline_event_t ev;
        char text[256];
        int y, m, d;

        calendar_ymd(rows[i].due, &y, &m, &d);
        snprintf(text, sizeof text,
                 "Quá thời hạn phát theo quy định (hạn %02d/%02d/%04d, TT 17/2017/TT-BTTTT Điều 7.2); bưu gửi %s",
                 d, m, y, rows[i].waybill);
        memset(&ev, 0, sizeof ev);
        ev.dossier_id = rows[i].dossier_id;
        ev.shipment_id = rows[i].id;
        ev.event_time = now;
        ev.received_at = now;
        ev.source = "gateway";
        ev.status = "sla_breached";
        ev.text = text;
        ev.details = "{\"kind\":\"sla_breached\"}";
        if (timeline_append(db, &ev, rc) == TIMELINE_ERROR)
            return -1;
        st = db_stmt(db, SQL_BREACHED);
        sqlite3_bind_int64(st, 1, rows[i].id);
        if ((*rc = sqlite3_step(st)) != SQLITE_DONE)
            return -1;
        report->sla_breaches++;
        log_warn("shipment %s missed its due date", rows[i].waybill);
    }
    *rc = SQLITE_OK;
    return 0;
}

int
scheduler_tick(db_t *db, const scheduler_config_t *cfg, int64_t now, scheduler_report_t *report, int *rc)
{
    *rc = SQLITE_OK;
    if (polls(db, cfg, now, report, rc) != 0 || invitations(db, cfg, now, report, rc) != 0 ||
        sla(db, cfg, now, report, rc) != 0)
        return -1;
    return 0;
}
