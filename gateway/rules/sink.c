/*
 * sink - worker results and carrier events into the store (see sink.h)
 */
#include "gateway/rules/sink.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/status.h"
#include "clock.h"
#include "gateway/store/sqlite/timeline.h"
#include "log.h"
#include "gateway/rules/backoff.h"
#include "gateway/store/sqlite/jobs.h"

static const char SQL_SHIP_BY_ID[] =
    "SELECT s.id, s.dossier_id, s.status, s.status_time, s.waybill, s.carrier, s.leg, d.code FROM shipments s"
    " JOIN dossiers d ON d.id = s.dossier_id WHERE s.id = ?1";
static const char SQL_SHIP_BY_WAYBILL[] =
    "SELECT s.id, s.dossier_id, s.status, s.status_time, s.waybill, s.carrier, s.leg, d.code FROM shipments s"
    " JOIN dossiers d ON d.id = s.dossier_id WHERE s.waybill = ?1 AND s.carrier = ?2";
static const char SQL_SHIP_BY_REF[] =
    "SELECT s.id, s.dossier_id, s.status, s.status_time, s.waybill, s.carrier, s.leg, d.code FROM shipments s"
    " JOIN dossiers d ON d.id = s.dossier_id WHERE s.carrier = ?1 AND s.carrier_ref = ?2";
static const char SQL_SET_BOOKED[] =
    "UPDATE shipments SET carrier_ref = ?2, fee = ?3, updated_at = ?4 WHERE id = ?1";
static const char SQL_SET_STATUS[] =
    "UPDATE shipments SET status = ?2, status_time = ?3, updated_at = ?4 WHERE id = ?1";

typedef struct {
    int64_t id, dossier_id;
    int64_t status_time; /* carrier time of the event behind the status; 0 before any */
    char status[24], waybill[16], carrier[32], leg[12], dossier_code[64];
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
    snprintf(s->leg, sizeof s->leg, "%s", db_col_text(st, 6));
    snprintf(s->dossier_code, sizeof s->dossier_code, "%s", db_col_text(st, 7));
    sqlite3_reset(st);
    return 0;
}

static int
ship_by_id(db_t *db, int64_t id, ship_row_t *s)
{
    sqlite3_stmt *st = db_stmt(db, SQL_SHIP_BY_ID);

    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    return load_ship(st, s);
}

/* dvc_for - what the case system is told about a status (design §4 last column):
 * the DVC status code and the Vietnamese text; NULL when it is not told */
static const char *
dvc_for(const ship_row_t *s, const char *status, const char **text_prefix)
{
    int send = strcmp(s->leg, "send") == 0;

    if (strcmp(status, "booked") == 0 && !send) {
        *text_prefix = "Chuyển thông tin nhận kết quả sang bưu điện, mã vận đơn";
        return "9";
    }
    if (strcmp(status, "delivered") == 0) {
        *text_prefix = send ? "Bưu điện đã giao hồ sơ đến cơ quan (thời điểm nộp hồ sơ hợp lệ), mã vận đơn"
                            : "Đã trả kết quả qua bưu chính công ích cho người nhận, mã vận đơn";
        return send ? "2" : "10";
    }
    if (strcmp(status, "delivery_failed") == 0) {
        *text_prefix = "Bưu điện phát không thành công, mã vận đơn";
        return "9";
    }
    if (strcmp(status, "returned") == 0) {
        *text_prefix = "Kết quả đã được chuyển hoàn về Bộ phận một cửa, mã vận đơn";
        return "9";
    }
    if (strcmp(status, "exception") == 0) {
        *text_prefix = "Bưu gửi gặp sự cố, cần cán bộ một cửa xử lý, mã vận đơn";
        return "9";
    }
    if (strcmp(status, "cancelled") == 0) {
        *text_prefix = "Đã hủy yêu cầu gửi qua bưu chính công ích, mã vận đơn";
        return "9";
    }
    return NULL;
}

static int
notify_ship(db_t *db, const ship_row_t *s, const char *status, const char *upu, int64_t event_time,
            const char *text, const sink_policy_t *policy, int64_t now, int *rc)
{
    const char *prefix = NULL, *dvc;
    char when[16], content[600], purpose[80];
    json_t *payload;
    char *ptext;
    int r;

    if (!policy || !policy->case_system_url || !*policy->case_system_url)
        return 0;
    dvc = dvc_for(s, status, &prefix);
    if (!dvc)
        return 0;
    clock_dvc(event_time, when, sizeof when);
    if (text && *text)
        snprintf(content, sizeof content, "%s %s. %s", prefix, s->waybill, text);
    else
        snprintf(content, sizeof content, "%s %s.", prefix, s->waybill);
    payload = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}", "url",
                        policy->case_system_url, "request_id", s->dossier_code, "body", "MaHoSo", s->dossier_code,
                        "TrangThaiHoSo", dvc, "NoiDungXuLy", content, "ThoiDiemXuLy", when, "HinhThucTra", "1",
                        "waybill", s->waybill, "status", status, "upu", upu ? upu : "", "leg", s->leg);
    ptext = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    if (!ptext) {
        *rc = SQLITE_NOMEM;
        return -1;
    }
    snprintf(purpose, sizeof purpose, "notify:%s:%" PRId64, status, event_time);
    r = jobs_enqueue(db, "notify", s->id, purpose, JOBS_CASE_SYSTEM, ptext, now, now, rc);
    free(ptext);
    return r < 0 ? -1 : 0;
}

int
sink_notify(db_t *db, int64_t shipment_id, const char *status, const char *upu, int64_t event_time,
            const char *text, const sink_policy_t *policy, int64_t now, int *rc)
{
    ship_row_t s;

    if (ship_by_id(db, shipment_id, &s) != 0)
        return 0;
    return notify_ship(db, &s, status, upu, event_time, text, policy, now, rc);
}

static int
append(db_t *db, const ship_row_t *s, int64_t event_time, int64_t now, const char *source, const char *status,
       const char *upu, const char *raw, const char *text, const char *details, const char *dedup, int *rc)
{
    timeline_event_t ev;

    memset(&ev, 0, sizeof ev);
    ev.dossier_id = s->dossier_id;
    ev.shipment_id = s->id;
    ev.event_time = event_time;
    ev.received_at = now;
    ev.source = source;
    ev.status = status;
    ev.upu = upu && *upu ? upu : NULL;
    ev.raw_code = raw;
    ev.text = text;
    ev.details = details;
    ev.dedup_key = dedup;
    return timeline_append(db, &ev, rc);
}

static const char SQL_MILESTONE_ACCEPTED[] =
    "UPDATE shipments SET due_at = ?2 WHERE id = ?1 AND due_at IS NULL";
static const char SQL_MILESTONE_ATTEMPT[] =
    "UPDATE shipments SET first_attempt_at = COALESCE(first_attempt_at, ?2),"
    " attempts = attempts + ?3, last_attempt_at = CASE WHEN ?3 > 0 THEN ?2 ELSE last_attempt_at END WHERE id = ?1";
static const char SQL_MILESTONE_POLL[] = "UPDATE shipments SET next_poll_at = ?2 WHERE id = ?1";

/* milestones - what the scheduler needs to know about a status change: when the postal
 * service took the item (the SLA clock starts, TT 17 Điều 7.2), when it first tried to
 * deliver (the return leg's transit ends), each failed attempt (TT 17 Điều 5.2), and when
 * to poll the carrier next */
static int
milestones(db_t *db, int64_t id, const char *status, int64_t event_time, const sink_policy_t *policy, int64_t now,
           int *rc)
{
    sqlite3_stmt *st;
    int64_t next_poll;

    if (strcmp(status, "accepted") == 0) {
        sqlite3_stmt *q = db_stmt(db, "SELECT transit_days FROM shipments WHERE id = ?1");
        int days = 4;
        int64_t due;

        sqlite3_bind_int64(q, 1, id);
        if (sqlite3_step(q) == SQLITE_ROW)
            days = sqlite3_column_int(q, 0);
        sqlite3_reset(q);
        due = policy && policy->calendar ? calendar_add_working_days(policy->calendar, event_time, days)
                                         : event_time + (int64_t)days * 86400000;
        st = db_stmt(db, SQL_MILESTONE_ACCEPTED);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, due);
        if ((*rc = sqlite3_step(st)) != SQLITE_DONE)
            return -1;
    }
    if (strcmp(status, "delivery_failed") == 0 || strcmp(status, "delivered") == 0) {
        st = db_stmt(db, SQL_MILESTONE_ATTEMPT);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, event_time);
        sqlite3_bind_int(st, 3, strcmp(status, "delivery_failed") == 0);
        if ((*rc = sqlite3_step(st)) != SQLITE_DONE)
            return -1;
    }
    /* any news pushes the next poll back; a final status stops polling */
    next_poll = status_is_terminal(status) ? 0 : now + (policy && policy->poll_min_ms ? policy->poll_min_ms : 1800000);
    st = db_stmt(db, SQL_MILESTONE_POLL);
    sqlite3_bind_int64(st, 1, id);
    if (next_poll)
        sqlite3_bind_int64(st, 2, next_poll);
    if ((*rc = sqlite3_step(st)) != SQLITE_DONE)
        return -1;
    *rc = SQLITE_OK;
    return 0;
}

static int
update_status(db_t *db, int64_t id, const char *status, int64_t event_time, int64_t now, int *rc)
{
    sqlite3_stmt *st = db_stmt(db, SQL_SET_STATUS);

    if (!st) {
        *rc = SQLITE_ERROR;
        return -1;
    }
    sqlite3_bind_int64(st, 1, id);
    db_bind_text(st, 2, status);
    sqlite3_bind_int64(st, 3, event_time);
    sqlite3_bind_int64(st, 4, now);
    *rc = sqlite3_step(st);
    if (*rc != SQLITE_DONE)
        return -1;
    *rc = SQLITE_OK;
    return 0;
}

int
sink_set_status(db_t *db, int64_t shipment_id, const char *status, const char *upu, int64_t event_time,
                const char *source, const char *text, const char *details, const sink_policy_t *policy, int64_t now,
                int *rc)
{
    ship_row_t s;
    int r;

    *rc = SQLITE_OK;
    r = ship_by_id(db, shipment_id, &s);
    if (r != 0) {
        *rc = r < 0 ? SQLITE_ERROR : SQLITE_OK;
        return r < 0 ? -1 : 1;
    }
    if (status_is_terminal(s.status))
        return 1;
    if (append(db, &s, event_time, now, source, status, upu, NULL, text, details, NULL, rc) == TIMELINE_ERROR)
        return -1;
    if (update_status(db, s.id, status, event_time, now, rc) != 0 ||
        milestones(db, s.id, status, event_time, policy, now, rc) != 0)
        return -1;
    return notify_ship(db, &s, status, upu, event_time, text, policy, now, rc);
}

/* ------------------------------------------------------------- results */

static int
apply_booked(db_t *db, const job_row_t *job, const wire_msg_t *m, const sink_policy_t *policy, int64_t now, int *rc)
{
    json_t *data = m->data;
    const char *ref = json_string_value(json_object_get(data, "carrier_ref"));
    json_int_t fee = json_integer_value(json_object_get(data, "fee"));
    int existed = json_is_true(json_object_get(data, "already_existed"));
    sqlite3_stmt *st;
    ship_row_t s;
    char text[256], details[256], key[64];
    const char *next;
    int r;

    if (ship_by_id(db, job->shipment_id, &s) != 0)
        return 0;
    st = db_stmt(db, SQL_SET_BOOKED);
    sqlite3_bind_int64(st, 1, s.id);
    db_bind_text(st, 2, ref ? ref : "");
    sqlite3_bind_int64(st, 3, fee);
    sqlite3_bind_int64(st, 4, now);
    if ((*rc = sqlite3_step(st)) != SQLITE_DONE)
        return -1;
    /* the send leg waits for the postman to collect; the return leg is booked */
    next = strcmp(s.leg, "send") == 0 ? "pickup_pending" : "booked";
    if (strcmp(next, "pickup_pending") == 0)
        snprintf(text, sizeof text, "Bưu điện đã nhận yêu cầu; bưu tá sẽ đến lấy hồ sơ tại địa chỉ của bạn, mã vận đơn %s",
                 s.waybill);
    else
        snprintf(text, sizeof text, "Đã chuyển thông tin nhận kết quả sang bưu điện, mã vận đơn %s", s.waybill);
    {
        json_t *d = json_pack("{s:s, s:I, s:b, s:i}", "carrier_ref", ref ? ref : "", "fee", fee, "already_existed",
                              existed, "attempt", job->attempts);
        char *dtext = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(details, sizeof details, "%s", dtext ? dtext : "{}");
        free(dtext);
        json_decref(d);
    }
    /* one booking event per shipment, however many results arrive */
    snprintf(key, sizeof key, "booked:%" PRId64, s.id);
    /* 'exception' here means an earlier refusal of this booking, replayed by a clerk */
    int fresh = strcmp(s.status, "created") == 0 || strcmp(s.status, "exception") == 0;
    r = append(db, &s, now, now, "gateway", fresh ? next : NULL, NULL, NULL, text, details, key, rc);
    if (r == TIMELINE_ERROR)
        return -1;
    if (r == TIMELINE_APPENDED && fresh) {
        /* status_time orders carrier events; a status the gateway sets itself keeps the last
         * carrier time, so a carrier event stamped in the same second still applies */
        if (update_status(db, s.id, next, s.status_time, now, rc) != 0 ||
            milestones(db, s.id, next, now, policy, now, rc) != 0)
            return -1;
        return notify_ship(db, &s, next, NULL, now, NULL, policy, now, rc);
    }
    return 0;
}

static int
apply_refused(db_t *db, const job_row_t *job, const wire_msg_t *m, const sink_policy_t *policy, int64_t now, int *rc)
{
    ship_row_t s;
    char text[400];

    if (ship_by_id(db, job->shipment_id, &s) != 0)
        return 0;
    if (strcmp(job->kind, "book") == 0) {
        snprintf(text, sizeof text, "Bưu điện không nhận đơn gửi; cán bộ một cửa cần kiểm tra lại thông tin (%s)",
                 m->message);
        if (strcmp(s.status, "created") != 0)
            return append(db, &s, now, now, "gateway", NULL, NULL, NULL, text, NULL, NULL, rc) == TIMELINE_ERROR
                       ? -1
                       : 0;
        return sink_set_status(db, s.id, "exception", NULL, now, "gateway", text, NULL, policy, now, rc) < 0 ? -1 : 0;
    }
    if (strcmp(job->kind, "cancel") == 0) {
        snprintf(text, sizeof text, "Bưu điện không hủy được bưu gửi (%s); trạng thái không đổi", m->message);
        return append(db, &s, now, now, "gateway", NULL, NULL, NULL, text, NULL, NULL, rc) == TIMELINE_ERROR ? -1 : 0;
    }
    return 0;
}

/* copy_str - the string member key of obj into dst ("" when absent) */
static void
copy_str(char *dst, size_t size, const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));

    snprintf(dst, size, "%s", v ? v : "");
}

static int
apply_tracked(db_t *db, const job_row_t *job, const wire_msg_t *m, const sink_policy_t *policy, int64_t now, int *rc)
{
    const carrier_ops_t *ops = carrier_find(job->carrier);
    json_t *arr = json_object_get(m->data, "events"), *e;
    carrier_event_list_t events = { NULL, 0, 0 };
    sink_report_t report;
    size_t i;
    int r;

    if (!ops || !json_is_array(arr))
        return 0;
    json_array_foreach(arr, i, e) {
        carrier_event_t *ev = carrier_event_list_push(&events);
        if (!ev)
            break;
        copy_str(ev->carrier_ref, sizeof ev->carrier_ref, e, "carrier_ref");
        copy_str(ev->waybill, sizeof ev->waybill, e, "waybill");
        copy_str(ev->raw_code, sizeof ev->raw_code, e, "raw_code");
        copy_str(ev->raw_name, sizeof ev->raw_name, e, "raw_name");
        copy_str(ev->reason, sizeof ev->reason, e, "reason");
        copy_str(ev->event_id, sizeof ev->event_id, e, "event_id");
        copy_str(ev->receiver_name, sizeof ev->receiver_name, e, "receiver_name");
        copy_str(ev->receiver_relation, sizeof ev->receiver_relation, e, "receiver_relation");
        copy_str(ev->receiver_id_type, sizeof ev->receiver_id_type, e, "receiver_id_type");
        copy_str(ev->receiver_id_last4, sizeof ev->receiver_id_last4, e, "receiver_id_last4");
        ev->carrier_time_ms = json_integer_value(json_object_get(e, "carrier_time_ms"));
        ev->amount = json_integer_value(json_object_get(e, "amount"));
        if (!ev->waybill[0] && !ev->carrier_ref[0]) {
            /* a tracking answer is about the job's shipment even when it does not say so */
            ship_row_t s;
            if (ship_by_id(db, job->shipment_id, &s) == 0)
                snprintf(ev->waybill, sizeof ev->waybill, "%s", s.waybill);
        }
    }
    memset(&report, 0, sizeof report);
    r = sink_carrier_events(db, ops, &events, policy, now, &report, rc);
    carrier_event_list_free(&events);
    return r;
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
        if (strcmp(job.kind, "book") == 0 && apply_booked(db, &job, m, policy, now, rc) != 0)
            return -1;
        if (strcmp(job.kind, "cancel") == 0 &&
            sink_set_status(db, job.shipment_id, "cancelled", NULL, now, "carrier",
                            "Bưu điện đã xác nhận hủy bưu gửi", NULL, policy, now, rc) < 0)
            return -1;
        if (strcmp(job.kind, "track") == 0 && apply_tracked(db, &job, m, policy, now, rc) != 0)
            return -1;
        return jobs_complete(db, m->job_id, now) == 0 ? 0 : -1;
    case WIRE_RETRY: {
        int64_t delay = backoff_full_jitter_ms(job.attempts, policy->backoff_base_ms, policy->backoff_cap_ms,
                                               backoff_random01());
        int max = policy->max_attempts_book, r;

        if (m->delay_ms > delay)
            delay = m->delay_ms;
        /* the case system gets retries for a period of time rather than a count */
        if (strcmp(job.kind, "notify") == 0)
            max = now - job.created_at >= policy->notify_max_age_ms ? job.attempts : 1 << 30;
        r = jobs_retry(db, m->job_id, delay, m->message, max, now);
        if (r == 1)
            log_warn("job %" PRId64 " (%s) is dead after %d attempts: %s", m->job_id, job.kind, job.attempts,
                     m->message);
        return r < 0 ? -1 : 0;
    }
    case WIRE_FAIL:
        log_warn("job %" PRId64 " (%s) failed permanently: %s", m->job_id, job.kind, m->message);
        if (apply_refused(db, &job, m, policy, now, rc) != 0)
            return -1;
        return jobs_kill(db, m->job_id, m->message, now) == 0 ? 0 : -1;
    }
    return 0;
}

/* ------------------------------------------------------------- events */

static const char SQL_DELIVERY[] =
    "UPDATE shipments SET delivered_at = COALESCE(delivered_at, ?2),"
    " proof_relation = COALESCE(NULLIF(?3, ''), proof_relation), proof_id_type = COALESCE(NULLIF(?4, ''), proof_id_type),"
    " proof_id_last4 = COALESCE(NULLIF(?5, ''), proof_id_last4),"
    " proof_name = COALESCE(NULLIF(?6, ''), proof_name, CASE WHEN ?3 = 'self' THEN"
    "   (SELECT json_extract(b.body, CASE WHEN s2.leg = 'send' THEN '$.agency.name' ELSE '$.recipient.name' END)"
    "    FROM shipments s2 JOIN submissions b ON b.id = s2.submission_id WHERE s2.id = ?1) END),"
    " cod_collected = CASE WHEN ?7 > 0 THEN ?7 ELSE cod_collected END,"
    " cod_collected_at = CASE WHEN ?7 > 0 THEN ?2 ELSE cod_collected_at END WHERE id = ?1";

/* record_delivery - who received it (proof) and what was collected on delivery (COD,
 * VNPost code 21 or the delivered event's amount) */
static int
record_delivery(db_t *db, int64_t id, const carrier_event_t *e, int64_t now, int *rc)
{
    sqlite3_stmt *st = db_stmt(db, SQL_DELIVERY);

    (void)now;
    if (!st) {
        *rc = SQLITE_ERROR;
        return -1;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, e->carrier_time_ms);
    db_bind_text(st, 3, e->receiver_relation);
    db_bind_text(st, 4, e->receiver_id_type);
    db_bind_text(st, 5, e->receiver_id_last4);
    db_bind_text(st, 6, e->receiver_name);
    sqlite3_bind_int64(st, 7, e->amount);
    if ((*rc = sqlite3_step(st)) != SQLITE_DONE)
        return -1;
    *rc = SQLITE_OK;
    return 0;
}

/* proof_text - "Người nhận: … (chính chủ), CCCD số cuối 1234" for the case system */
static void
proof_text(db_t *db, int64_t id, char *out, size_t outlen)
{
    sqlite3_stmt *st =
        db_stmt(db, "SELECT COALESCE(proof_name, ''), COALESCE(proof_relation, ''), COALESCE(proof_id_type, ''),"
                    " COALESCE(proof_id_last4, '') FROM shipments WHERE id = ?1");

    out[0] = '\0';
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW && *db_col_text(st, 1))
        snprintf(out, outlen, "Người nhận: %s (%s), %s số cuối %s", db_col_text(st, 0),
                 strcmp(db_col_text(st, 1), "authorised") == 0 ? "người được ủy quyền" : "chính chủ",
                 db_col_text(st, 2), db_col_text(st, 3));
    sqlite3_reset(st);
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
sink_carrier_events(db_t *db, const carrier_ops_t *ops, const carrier_event_list_t *events,
                    const sink_policy_t *policy, int64_t now, sink_report_t *report, int *rc)
{
    size_t i;

    *rc = SQLITE_OK;
    for (i = 0; i < events->n; i++) {
        const carrier_event_t *e = &events->items[i];
        carrier_mapping_t map = { NULL, "" };
        ship_row_t s;
        char key[128], text[512], hash[SHA256_HEX_LEN], details[768];
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
            else if (info && !changes && e->carrier_time_ms < s.status_time)
                json_object_set_new(d, "note", json_string("older than the current status; status unchanged"));
            dt = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
            snprintf(details, sizeof details, "%s", dt ? dt : "{}");
            free(dt);
            json_decref(d);
        }
        if (info && strcmp(info->name, "delivered") == 0 && e->receiver_relation[0]) {
            /* the proof's relation, ID type and last 4 digits go on the timeline; the name stays
             * in the shipment row (purgeable, design §8) and goes to the case system */
            size_t dl = strlen(details);
            if (dl > 1 && dl + 120 < sizeof details)
                snprintf(details + dl - 1, sizeof details - dl + 1,
                         ",\"proof\":{\"relation\":\"%s\",\"id_type\":\"%s\",\"id_last4\":\"%s\"}}",
                         strcmp(e->receiver_relation, "authorised") == 0 ? "authorised" : "self",
                         e->receiver_id_type[0] == 'C' ? "CCCD" : "other", e->receiver_id_last4);
        }
        r = append(db, &s, e->carrier_time_ms, now, "carrier", info ? info->name : NULL, info ? info->upu : NULL,
                   e->raw_code, text, details, key, rc);
        if (r == TIMELINE_ERROR)
            return -1;
        if (r == TIMELINE_DUPLICATE) {
            report->duplicates++;
            continue;
        }
        report->applied++;
        if (info && strcmp(info->name, "delivered") == 0 &&
            record_delivery(db, s.id, e, now, rc) != 0)
            return -1;
        if (changes) {
            if (update_status(db, s.id, info->name, e->carrier_time_ms, now, rc) != 0 ||
                milestones(db, s.id, info->name, e->carrier_time_ms, policy, now, rc) != 0)
                return -1;
            char extra[300] = "";
            if (strcmp(info->name, "delivered") == 0)
                proof_text(db, s.id, extra, sizeof extra);
            else if (e->reason[0])
                snprintf(extra, sizeof extra, "%s", e->reason);
            if (notify_ship(db, &s, info->name, info->upu, e->carrier_time_ms, extra, policy, now, rc) != 0)
                return -1;
            report->status_changes++;
        }
    }
    return 0;
}
