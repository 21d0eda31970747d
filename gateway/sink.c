/*
 * sink - worker results and carrier events into the store (see sink.h)
 */
#include "gateway/sink.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carriers/status.h"
#include "gateway/timeline.h"
#include "log.h"
#include "queues/backoff.h"
#include "queues/jobs.h"

static const char SQL_SHIP_BY_ID[] =
    "SELECT id, dossier_id, status, status_time, waybill, carrier FROM shipments WHERE id = ?1";
static const char SQL_SHIP_BY_WAYBILL[] =
    "SELECT id, dossier_id, status, status_time, waybill, carrier FROM shipments WHERE waybill = ?1 AND carrier = ?2";
static const char SQL_SHIP_BY_REF[] =
    "SELECT id, dossier_id, status, status_time, waybill, carrier FROM shipments WHERE carrier = ?1"
    " AND carrier_ref = ?2";
static const char SQL_SET_BOOKED[] =
    "UPDATE shipments SET carrier_ref = ?2, fee = ?3, status = CASE WHEN status = 'created' THEN 'booked'"
    " ELSE status END, status_time = CASE WHEN status = 'created' THEN ?4 ELSE status_time END, updated_at = ?4"
    " WHERE id = ?1";
static const char SQL_SET_STATUS[] =
    "UPDATE shipments SET status = ?2, status_time = ?3, updated_at = ?4 WHERE id = ?1";
static const char SQL_SET_EXCEPTION[] =
    "UPDATE shipments SET status = 'exception', status_time = ?2, updated_at = ?2 WHERE id = ?1"
    " AND status = 'created'";

typedef struct {
    int64_t id, dossier_id, status_time;
    char status[24], waybill[16], carrier[32];
} ship_row_t;

/* load_ship - 0 found, 1 not found, -1 error */
static int
load_ship(sqlite3_stmt *st, ship_row_t *s)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_DONE)
        return 1;
    if (rc != SQLITE_ROW)
        return -1;
    s->id = sqlite3_column_int64(st, 0);
    s->dossier_id = sqlite3_column_int64(st, 1);
    snprintf(s->status, sizeof s->status, "%s", db_col_text(st, 2));
    s->status_time = sqlite3_column_int64(st, 3);
    snprintf(s->waybill, sizeof s->waybill, "%s", db_col_text(st, 4));
    snprintf(s->carrier, sizeof s->carrier, "%s", db_col_text(st, 5));
    sqlite3_reset(st);
    return 0;
}

static int
apply_booked(db_t *db, const wire_msg_t *m, int64_t now, int *rc)
{
    json_t *data = m->data;
    const char *ref = json_string_value(json_object_get(data, "carrier_ref"));
    json_int_t fee = json_integer_value(json_object_get(data, "fee"));
    int existed = json_is_true(json_object_get(data, "already_existed"));
    sqlite3_stmt *st;
    ship_row_t s;
    char text[256], details[256];
    timeline_event_t ev;
    job_row_t job;
    int was_created;

    if (jobs_get(db, m->job_id, &job) != 0 || !job.shipment_id)
        return 0;
    st = db_stmt(db, SQL_SHIP_BY_ID);
    sqlite3_bind_int64(st, 1, job.shipment_id);
    if (load_ship(st, &s) != 0)
        return 0;
    was_created = strcmp(s.status, "created") == 0;
    st = db_stmt(db, SQL_SET_BOOKED);
    sqlite3_bind_int64(st, 1, s.id);
    db_bind_text(st, 2, ref ? ref : "");
    sqlite3_bind_int64(st, 3, fee);
    sqlite3_bind_int64(st, 4, now);
    if ((*rc = sqlite3_step(st)) != SQLITE_DONE)
        return -1;
    snprintf(text, sizeof text, "Đã chuyển thông tin nhận kết quả sang bưu điện, mã vận đơn %s", s.waybill);
    {
        json_t *d = json_pack("{s:s, s:I, s:b, s:i}", "carrier_ref", ref ? ref : "", "fee", fee, "already_existed",
                              existed, "attempt", job.attempts);
        char *dtext = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(details, sizeof details, "%s", dtext ? dtext : "{}");
        free(dtext);
        json_decref(d);
    }
    memset(&ev, 0, sizeof ev);
    ev.dossier_id = s.dossier_id;
    ev.shipment_id = s.id;
    ev.event_time = now;
    ev.received_at = now;
    ev.source = "gateway";
    ev.status = was_created ? "booked" : NULL;
    ev.text = text;
    ev.details = details;
    {
        char key[64];
        snprintf(key, sizeof key, "booked:%" PRId64, s.id);
        ev.dedup_key = key; /* one booking event per shipment, however many results arrive */
        if (timeline_append(db, &ev, rc) == TIMELINE_ERROR)
            return -1;
    }
    return 0;
}

static int
apply_refused(db_t *db, const wire_msg_t *m, int64_t now, int *rc)
{
    sqlite3_stmt *st;
    ship_row_t s;
    job_row_t job;
    char text[400];
    timeline_event_t ev;

    if (jobs_get(db, m->job_id, &job) != 0 || !job.shipment_id || strcmp(job.kind, "book") != 0)
        return 0;
    st = db_stmt(db, SQL_SHIP_BY_ID);
    sqlite3_bind_int64(st, 1, job.shipment_id);
    if (load_ship(st, &s) != 0)
        return 0;
    st = db_stmt(db, SQL_SET_EXCEPTION);
    sqlite3_bind_int64(st, 1, s.id);
    sqlite3_bind_int64(st, 2, now);
    if ((*rc = sqlite3_step(st)) != SQLITE_DONE)
        return -1;
    snprintf(text, sizeof text, "Bưu điện không nhận đơn gửi; cán bộ một cửa cần kiểm tra lại thông tin (%s)",
             m->message);
    memset(&ev, 0, sizeof ev);
    ev.dossier_id = s.dossier_id;
    ev.shipment_id = s.id;
    ev.event_time = now;
    ev.received_at = now;
    ev.source = "gateway";
    ev.status = "exception";
    ev.text = text;
    if (timeline_append(db, &ev, rc) == TIMELINE_ERROR)
        return -1;
    return 0;
}

int
sink_job_result(db_t *db, const wire_msg_t *m, const sink_policy_t *policy, int64_t now, int *rc)
{
    job_row_t job;
    int found;

    *rc = SQLITE_OK;
    found = jobs_get(db, m->job_id, &job);
    if (found < 0) {
        *rc = SQLITE_ERROR;
        return -1;
    }
    if (found == 1 || strcmp(job.state, "done") == 0 || strcmp(job.state, "dead") == 0)
        return 0; /* unknown, or a late duplicate of something already settled */
    if (job.lease != m->lease) {
        /* A late result from a lease that was taken back (worker presumed dead,
         * lease expired). Success already happened at the carrier, so accept it;
         * anything else is ignored: the current lease holder will report. */
        if (m->outcome != WIRE_OK)
            return 0;
        log_info("job %" PRId64 ": late success from an expired lease reconciled", m->job_id);
    }
    switch (m->outcome) {
    case WIRE_OK:
        if (strcmp(job.kind, "book") == 0 && apply_booked(db, m, now, rc) != 0)
            return -1;
        return jobs_complete(db, m->job_id, now) == 0 ? 0 : -1;
    case WIRE_RETRY: {
        int64_t delay = backoff_full_jitter_ms(job.attempts, policy->backoff_base_ms, policy->backoff_cap_ms,
                                               backoff_random01());
        int r;

        if (m->delay_ms > delay)
            delay = m->delay_ms;
        r = jobs_retry(db, m->job_id, delay, m->message, policy->max_attempts_book, now);
        if (r == 1)
            log_warn("job %" PRId64 " (%s) is dead after %d attempts: %s", m->job_id, job.kind, job.attempts,
                     m->message);
        return r < 0 ? -1 : 0;
    }
    case WIRE_FAIL:
        log_warn("job %" PRId64 " (%s) failed permanently: %s", m->job_id, job.kind, m->message);
        if (apply_refused(db, m, now, rc) != 0)
            return -1;
        return jobs_kill(db, m->job_id, m->message, now) == 0 ? 0 : -1;
    }
    return 0;
}

static int
find_ship_for_event(db_t *db, const char *carrier, const carrier_event_t *e, ship_row_t *s)
{
    sqlite3_stmt *st;
    int r = 1;

    if (e->waybill[0]) {
        st = db_stmt(db, SQL_SHIP_BY_WAYBILL);
        db_bind_text(st, 1, e->waybill);
        db_bind_text(st, 2, carrier);
        r = load_ship(st, s);
        if (r != 1)
            return r;
    }
    if (e->carrier_ref[0]) {
        st = db_stmt(db, SQL_SHIP_BY_REF);
        db_bind_text(st, 1, carrier);
        db_bind_text(st, 2, e->carrier_ref);
        r = load_ship(st, s);
    }
    return r;
}

int
sink_carrier_events(db_t *db, const carrier_ops_t *ops, const carrier_event_list_t *events, int64_t now,
                    sink_report_t *report, int *rc)
{
    size_t i;

    *rc = SQLITE_OK;
    for (i = 0; i < events->n; i++) {
        const carrier_event_t *e = &events->items[i];
        carrier_mapping_t map = { NULL, "" };
        ship_row_t s;
        timeline_event_t ev;
        char key[128], text[512], hash[SHA256_HEX_LEN], details[512];
        int known, r, changes = 0;
        const status_info_t *info;

        r = find_ship_for_event(db, ops->name, e, &s);
        if (r < 0) {
            *rc = SQLITE_ERROR;
            return -1;
        }
        if (r == 1) {
            report->unknown_ship++;
            continue;
        }
        if (e->event_id[0]) {
            snprintf(key, sizeof key, "%s:id:%s", ops->name, e->event_id);
        } else {
            char content[512];
            snprintf(content, sizeof content, "%s|%s|%s|%" PRId64 "|%s", e->carrier_ref, e->waybill, e->raw_code,
                     e->carrier_time_ms, e->reason);
            sha256_hex(content, strlen(content), hash);
            snprintf(key, sizeof key, "%s:h:%s", ops->name, hash);
        }
        known = ops->map_status(e->raw_code, &map) == 0 && map.status;
        info = known ? status_lookup(map.status) : NULL;
        if (!info) {
            report->unknown_code++;
            snprintf(text, sizeof text, "Bưu điện báo mã trạng thái chưa xác định %s (%s); trạng thái không đổi",
                     e->raw_code, e->raw_name);
        } else if (e->reason[0]) {
            snprintf(text, sizeof text, "%s: %s", info->text_vi, e->reason);
        } else {
            snprintf(text, sizeof text, "%s", info->text_vi);
        }
        if (info && !status_is_terminal(s.status) && e->carrier_time_ms >= s.status_time &&
            strcmp(s.status, info->name) != 0)
            changes = 1;
        {
            json_t *d = json_pack("{s:s, s:s}", "carrier", ops->name, "raw_name", e->raw_name);
            char *dt;
            if (e->reason[0])
                json_object_set_new(d, "reason", json_string(e->reason));
            if (e->amount)
                json_object_set_new(d, "amount", json_integer(e->amount));
            if (e->event_id[0])
                json_object_set_new(d, "event_id", json_string(e->event_id));
            if (info && !changes && status_is_terminal(s.status))
                json_object_set_new(d, "note", json_string("shipment already final; status unchanged"));
            dt = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
            snprintf(details, sizeof details, "%s", dt ? dt : "{}");
            free(dt);
            json_decref(d);
        }
        memset(&ev, 0, sizeof ev);
        ev.dossier_id = s.dossier_id;
        ev.shipment_id = s.id;
        ev.event_time = e->carrier_time_ms;
        ev.received_at = now;
        ev.source = "carrier";
        ev.status = info ? info->name : NULL;
        ev.upu = info && info->upu[0] ? info->upu : NULL;
        ev.raw_code = e->raw_code;
        ev.text = text;
        ev.details = details;
        ev.dedup_key = key;
        r = timeline_append(db, &ev, rc);
        if (r == TIMELINE_ERROR)
            return -1;
        if (r == TIMELINE_DUPLICATE) {
            report->duplicates++;
            continue;
        }
        report->applied++;
        if (changes) {
            sqlite3_stmt *st = db_stmt(db, SQL_SET_STATUS);
            sqlite3_bind_int64(st, 1, s.id);
            db_bind_text(st, 2, info->name);
            sqlite3_bind_int64(st, 3, e->carrier_time_ms);
            sqlite3_bind_int64(st, 4, now);
            if ((*rc = sqlite3_step(st)) != SQLITE_DONE)
                return -1;
            *rc = SQLITE_OK;
            report->status_changes++;
        }
    }
    return 0;
}
