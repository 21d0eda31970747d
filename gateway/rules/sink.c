/*
 * sink - worker results and carrier events: the decisions (see sink.h)
 *
 * Every write goes through the store (store_shipments.h, store_timeline.h); every JSON
 * document (event details, notification payloads) is built with Jansson, and texts are
 * sized to what they hold, so nothing a carrier sends is cut or spliced.
 */
#include "gateway/rules/sink.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "crypto.h"
#include "domain/status.h"
#include "gateway/rules/backoff.h"
#include "gateway/store/store_shipments.h"
#include "gateway/store/store_timeline.h"
#include "log.h"
#include "gateway/rules/citizen.h"
#include "gateway/store/store_dossiers.h"
#include "gateway/store/store_jobs.h"

/* queue_job - STORE_OK queued, STORE_EXISTS already queued (same shipment, kind, purpose) */
static store_rc_t
queue_job(store_tx_t *tx, const char *kind, int64_t shipment_id, const char *purpose, const char *carrier,
          const char *payload, int64_t now)
{
    store_job_kind_t k;

    if (store_job_kind_parse(kind, &k) != 0)
        return store_tx_fail(tx, STORE_ERROR, "bug: the sink queued a job of unknown kind '%s'", kind);
    return store_jobs_enqueue(tx, k, shipment_id, purpose, carrier, payload, now, now);
}

static store_rc_t
oom(store_tx_t *tx, const char *what)
{
    return store_tx_fail(tx, STORE_BUSY, "out of memory while %s; retry later", what);
}

/* textf - a formatted text of the size it needs; caller frees; NULL when out of memory */
static char *
textf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *
textf(const char *fmt, ...)
{
    va_list ap;
    char *out;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    out = malloc((size_t)n + 1);
    if (!out)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

/* sink_dvc - what the case system is told about a status (design §4 last column):
 * the DVC status code and the Vietnamese text; NULL when it is not told */
const char *
sink_dvc(const char *leg, const char *status, const char **text_prefix)
{
    int send = strcmp(leg, "send") == 0;
    /* a note changes nothing on the case system's side: it carries the dossier's state there,
     * "1" (registered, not yet received) while its dossier travels to the agency, "9" (done,
     * the result with the post) on the return leg */
    const char *note = send ? "1" : "9";

    if (strcmp(status, "booked") == 0 && !send) {
        *text_prefix = "Chuyển thông tin nhận kết quả sang bưu điện, mã vận đơn";
        return "9";
    }
    /* send leg: the carrier's "delivered" is not the submission time; the officer's receipt
     * at the desk is (QĐ 45 Điều 7.4, sink_receive), and only that is told as DVC 2 */
    if (strcmp(status, "received") == 0 && send) {
        *text_prefix = "Cơ quan đã tiếp nhận hồ sơ (thời điểm nộp hồ sơ hợp lệ), mã vận đơn";
        return "2";
    }
    if (strcmp(status, "delivered") == 0 && !send) {
        *text_prefix = "Đã trả kết quả qua bưu chính công ích cho người nhận, mã vận đơn";
        return "10";
    }
    if (strcmp(status, "delivery_failed") == 0) {
        *text_prefix = "Bưu điện phát không thành công, mã vận đơn";
        return note;
    }
    if (strcmp(status, "returned") == 0) {
        *text_prefix = "Kết quả đã được chuyển hoàn về Bộ phận một cửa, mã vận đơn";
        return note;
    }
    if (strcmp(status, "exception") == 0) {
        *text_prefix = "Bưu gửi gặp sự cố, cần cán bộ một cửa xử lý, mã vận đơn";
        return note;
    }
    if (strcmp(status, "cancelled") == 0) {
        *text_prefix = "Đã hủy yêu cầu gửi qua bưu chính công ích, mã vận đơn";
        return note;
    }
    if (strcmp(status, "sla_breached") == 0) {
        *text_prefix = "Bưu gửi quá thời hạn chuyển phát theo quy định (TT 17/2017/TT-BTTTT Điều 7.2), mã vận đơn";
        return note;
    }
    return NULL;
}

static const char *
dvc_for(const store_shipment_t *s, const char *status, const char **text_prefix)
{
    return sink_dvc(s->leg, status, text_prefix);
}

/* notify_ship - the notify job for a status the case system is told about; it carries the
 * timeline's sealed head (design §5) so the case system can hold the gateway to it */
static store_rc_t
notify_ship(store_tx_t *tx, const store_shipment_t *s, const char *status, const char *upu, int64_t event_time,
            const char *text, const sink_policy_t *policy, int64_t now)
{
    const char *prefix = NULL, *dvc;
    char when[16], head[STORE_HASH_HEX_LEN];
    char *content = NULL, *purpose = NULL, *ptext = NULL;
    int64_t count = 0;
    json_t *payload = NULL;
    store_rc_t r;

    if (!policy || !policy->case_system_url || !*policy->case_system_url)
        return STORE_OK;
    dvc = dvc_for(s, status, &prefix);
    if (!dvc)
        return STORE_OK;
    r = store_timeline_head(tx, s->dossier_id, &count, head);
    if (r == STORE_NOT_FOUND) {
        count = 0;
        head[0] = '\0';
    } else if (r != STORE_OK) {
        return r;
    }
    clock_dvc(event_time, when, sizeof when);
    content = text && *text ? textf("%s %s. %s", prefix, s->waybill, text) : textf("%s %s.", prefix, s->waybill);
    purpose = textf("notify:%s:%" PRId64, status, event_time);
    if (content && purpose)
        /* the channel is the public post (KenhThucHien 3) and so is the result's delivery
         * (HinhThucTra "1"), design §1 */
        payload = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:{s:I, s:s}}}", "url",
                            policy->case_system_url, "request_id", s->dossier_code, "body", "MaHoSo",
                            s->dossier_code, "TrangThaiHoSo", dvc, "NoiDungXuLy", content, "ThoiDiemXuLy", when,
                            "KenhThucHien", 3, "HinhThucTra", "1", "waybill", s->waybill, "status", status, "upu",
                            upu ? upu : "", "leg", s->leg, "timeline_head", "count", (json_int_t)count, "hash", head);
    if (payload && policy->case_system_key_id && *policy->case_system_key_id &&
        json_object_set_new(payload, "key_id", json_string(policy->case_system_key_id)) != 0) {
        json_decref(payload);
        payload = NULL;
    }
    if (payload && strcmp(status, "received") == 0 &&
        json_object_set_new(json_object_get(payload, "body"), "NgayTiepNhan", json_string(when)) != 0) {
        json_decref(payload);
        payload = NULL;
    }
    ptext = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    r = ptext ? queue_job(tx, "notify", s->id, purpose, JOBS_CASE_SYSTEM, ptext, now)
              : oom(tx, "building a case-system notification");
    json_decref(payload);
    free(ptext);
    free(purpose);
    free(content);
    return r == STORE_EXISTS ? STORE_OK : r;
}

store_rc_t
sink_notify(store_tx_t *tx, int64_t shipment_id, const char *status, const char *upu, int64_t event_time,
            const char *text, const sink_policy_t *policy, int64_t now)
{
    store_shipment_t s;
    store_rc_t r = store_shipments_get(tx, shipment_id, &s);

    if (r == STORE_NOT_FOUND)
        return STORE_OK;
    if (r != STORE_OK)
        return r;
    return notify_ship(tx, &s, status, upu, event_time, text, policy, now);
}

/* append - one timeline event of shipment s; details (may be NULL) serialised here */
static store_rc_t
append(store_tx_t *tx, const store_shipment_t *s, int64_t event_time, int64_t now, const char *source,
       const char *status, const char *upu, const char *raw, const char *text, const json_t *details,
       const char *dedup)
{
    store_timeline_event_t ev;
    char *dtext = NULL;
    store_rc_t r;

    if (details) {
        dtext = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
        if (!dtext)
            return oom(tx, "writing a timeline event");
    }
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
    ev.details = dtext;
    ev.dedup_key = dedup;
    r = store_timeline_append(tx, &ev);
    free(dtext);
    return r;
}

/* start_transit - J, the day the postal service took the item (TT 17 Điều 7.2): the first of
 * the handover scan of a manifest (or of the item) at the post office and the carrier's
 * "accepted"; due = J + the leg's working days (its route, fixed at intake by
 * calendar_transit_days). The store keeps the earliest due date it is given. */
static store_rc_t
start_transit(store_tx_t *tx, const store_shipment_t *s, int64_t taken_at, const sink_policy_t *policy)
{
    int days = s->transit_days > 0 ? s->transit_days : 4;
    int64_t due = calendar_add_working_days(policy ? policy->calendar : NULL, taken_at, days);

    return due < 0 ? STORE_OK : store_shipments_set_due(tx, s->id, due);
}

store_rc_t
sink_handed_over(store_tx_t *tx, const char *carrier, const char *waybill, int64_t at, const sink_policy_t *policy)
{
    store_shipment_t s;
    store_rc_t r = store_shipments_find_waybill(tx, carrier, waybill, &s);

    if (r != STORE_OK)
        return r;
    if (status_is_terminal(s.status))
        return STORE_OK; /* a scan of a finished item starts nothing */
    return start_transit(tx, &s, at, policy);
}

/* milestones - what the scheduler needs to know about a status change: when the postal
 * service took the item (the SLA clock starts, TT 17 Điều 7.2), when it first tried to
 * deliver (the return leg's transit ends), each failed attempt (TT 17 Điều 5.2), and when
 * to poll the carrier next */
static store_rc_t
milestones(store_tx_t *tx, const store_shipment_t *s, const char *status, int64_t event_time,
           const sink_policy_t *policy, int64_t now)
{
    store_rc_t r = STORE_OK;
    int64_t next_poll;

    if (strcmp(status, "accepted") == 0)
        r = start_transit(tx, s, event_time, policy);
    /* an attempt cannot have happened after we heard of it: a carrier clock running ahead of
     * ours must not hold back the invitations that count from it */
    if (r == STORE_OK && (strcmp(status, "delivery_failed") == 0 || strcmp(status, "delivered") == 0))
        r = store_shipments_record_attempt(tx, s->id, event_time < now ? event_time : now,
                                           strcmp(status, "delivery_failed") == 0);
    if (r != STORE_OK)
        return r;
    /* any news pushes the next poll back; a final status stops polling */
    next_poll = status_is_terminal(status) ? 0 : now + (policy && policy->poll_min_ms ? policy->poll_min_ms : 1800000);
    return store_shipments_set_next_poll(tx, s->id, next_poll);
}

/* move - write a status change already allowed by status_may_move, and its milestones */
static store_rc_t
move(store_tx_t *tx, const store_shipment_t *s, const char *status, int64_t status_time, int64_t event_time,
     const sink_policy_t *policy, int64_t now)
{
    store_rc_t r = store_shipments_set_status(tx, s->id, status, status_time, now);

    return r != STORE_OK ? r : milestones(tx, s, status, event_time, policy, now);
}

store_rc_t
sink_set_status(store_tx_t *tx, int64_t shipment_id, const char *status, const char *upu, int64_t event_time,
                const char *source, const char *text, const json_t *details, const sink_policy_t *policy,
                int64_t now)
{
    store_shipment_t s;
    store_rc_t r = store_shipments_get(tx, shipment_id, &s);

    if (r != STORE_OK)
        return r;
    /* a decision of the gateway or a clerk comes after everything it knew of, even when the
     * carrier's clock runs ahead of ours */
    if (!status_may_move(s.status, s.status_time, status, event_time > s.status_time ? event_time : s.status_time))
        return STORE_CONFLICT;
    r = append(tx, &s, event_time, now, source, status, upu, NULL, text, details, NULL);
    if (r == STORE_OK)
        r = move(tx, &s, status, event_time, event_time, policy, now);
    if (r == STORE_OK)
        r = notify_ship(tx, &s, status, upu, event_time, text, policy, now);
    return r;
}

/* ------------------------------------------------------------- results */

static store_rc_t
apply_booked(store_tx_t *tx, const store_job_t *job, const wire_msg_t *m, const sink_policy_t *policy, int64_t now)
{
    json_t *data = m->data, *details = NULL;
    const char *ref = json_string_value(json_object_get(data, "carrier_ref"));
    json_int_t fee = json_integer_value(json_object_get(data, "fee"));
    int existed = json_is_true(json_object_get(data, "already_existed"));
    store_shipment_t s;
    char *text = NULL, *key = NULL;
    const char *next;
    int fresh, late;
    int64_t when;
    store_rc_t r = store_shipments_get(tx, job->shipment_id, &s);

    if (r == STORE_NOT_FOUND)
        return STORE_OK;
    if (r != STORE_OK)
        return r;
    r = store_shipments_set_booked(tx, s.id, ref ? ref : "", fee, now);
    if (r != STORE_OK)
        return r;
    /* the send leg waits for the postman to collect; the return leg is booked */
    next = strcmp(s.leg, "send") == 0 ? "pickup_pending" : "booked";
    if (strcmp(next, "pickup_pending") == 0)
        text = textf("Bưu điện đã nhận yêu cầu; bưu tá sẽ đến lấy hồ sơ tại địa chỉ của bạn, mã vận đơn %s",
                     s.waybill);
    else
        text = textf("Đã chuyển thông tin nhận kết quả sang bưu điện, mã vận đơn %s", s.waybill);
    details = json_pack("{s:s, s:I, s:b, s:i}", "carrier_ref", ref ? ref : "", "fee", fee, "already_existed",
                        existed, "attempt", job->attempts);
    /* one booking event per shipment, however many results arrive */
    key = textf("booked:%" PRId64, s.id);
    if (!text || !details || !key) {
        r = oom(tx, "recording a booking");
        goto out;
    }
    /* only a shipment waiting for its booking moves ('exception' here means an earlier
     * refusal of this booking, replayed by a clerk); a late result never moves one the
     * carrier already reported on. status_time orders carrier events: a status the gateway
     * sets itself keeps the last carrier time, so a carrier event stamped in the same
     * second still applies. */
    fresh = (strcmp(s.status, "created") == 0 || strcmp(s.status, "exception") == 0) &&
            status_may_move(s.status, s.status_time, next, s.status_time);
    /* The carrier accepted the order before it reported anything of the item, so when its
     * events came first (a webhook can overtake the worker's answer) the booking still goes
     * on the timeline as what it was, just before the carrier's first news, and the status
     * stays where the carrier put it. */
    when = now;
    late = !fresh && s.status_time > 0 && !status_is_terminal(s.status) && strcmp(s.status, "exception") != 0;
    if (late) {
        if (s.status_time <= now)
            when = s.status_time - 1;
        if (when < s.created_at)
            when = s.created_at; /* a carrier clock behind ours never puts it before the request */
        json_object_set_new(details, "note", json_string("answered after the carrier's first events; status unchanged"));
    }
    r = append(tx, &s, when, now, "gateway", fresh || late ? next : NULL, NULL, NULL, text, details, key);
    if (r == STORE_EXISTS) {
        r = STORE_OK;
        goto out;
    }
    if (r == STORE_OK && fresh)
        r = move(tx, &s, next, s.status_time, now, policy, now);
    if (r == STORE_OK && (fresh || late))
        r = notify_ship(tx, &s, next, NULL, when, NULL, policy, now);
out:
    json_decref(details);
    free(key);
    free(text);
    return r;
}

static store_rc_t
apply_refused(store_tx_t *tx, const store_job_t *job, const wire_msg_t *m, const sink_policy_t *policy, int64_t now)
{
    store_shipment_t s;
    char *text = NULL;
    store_rc_t r = store_shipments_get(tx, job->shipment_id, &s);

    if (r == STORE_NOT_FOUND)
        return STORE_OK;
    if (r != STORE_OK)
        return r;
    if (strcmp(job->kind, "book") == 0) {
        text = textf("Bưu điện không nhận đơn gửi; cán bộ một cửa cần kiểm tra lại thông tin (%s)", m->message);
        if (!text)
            return oom(tx, "recording a refusal");
        if (strcmp(s.status, "created") != 0)
            r = append(tx, &s, now, now, "gateway", NULL, NULL, NULL, text, NULL, NULL);
        else
            r = sink_set_status(tx, s.id, "exception", NULL, now, "gateway", text, NULL, policy, now);
    } else if (strcmp(job->kind, "cancel") == 0) {
        text = textf("Bưu điện không hủy được bưu gửi (%s); trạng thái không đổi", m->message);
        r = text ? append(tx, &s, now, now, "gateway", NULL, NULL, NULL, text, NULL, NULL)
                 : oom(tx, "recording a refusal");
    }
    free(text);
    return r == STORE_CONFLICT ? STORE_OK : r;
}

/* note_booking_dead - a booking that used up its attempts: the dossier's timeline says so (the
 * clerk's problem list shows the shipment while its book job is dead); the status stays, so a
 * replay (bcci jobs retry) books it as usual */
static store_rc_t
note_booking_dead(store_tx_t *tx, const store_job_t *job, const wire_msg_t *m, int64_t now)
{
    store_shipment_t s;
    char *text;
    store_rc_t r = store_shipments_get(tx, job->shipment_id, &s);

    if (r == STORE_NOT_FOUND)
        return STORE_OK;
    if (r != STORE_OK)
        return r;
    text = textf("Bưu điện chưa nhận đơn sau %d lần thử (%s); cán bộ một cửa cần kiểm tra, quản trị viên có thể "
                 "gửi lại (bcci jobs retry)",
                 job->attempts, m->message);
    if (!text)
        return oom(tx, "recording a dead booking");
    r = append(tx, &s, now, now, "gateway", NULL, NULL, NULL, text, NULL, NULL);
    free(text);
    return r == STORE_CONFLICT ? STORE_OK : r;
}

/* reissue_waybill - the carrier knows the shipment's number for another dossier's order (a
 * restore handed it out again): the shipment takes a fresh number from the pool, the timeline
 * says why, an alert is logged, and the booking runs again at once with the new number.
 * STORE_EMPTY when the pool is exhausted (the caller then refuses the booking). */
static store_rc_t
reissue_waybill(store_tx_t *tx, const store_job_t *job, const wire_msg_t *m, int64_t now)
{
    store_shipment_t s;
    char fresh[STORE_WAYBILL_MAX], *text;
    store_rc_t r = store_shipments_get(tx, job->shipment_id, &s);

    if (r != STORE_OK)
        return r;
    r = store_dossiers_reassign_waybill(tx, s.id, now, fresh);
    if (r != STORE_OK)
        return r;
    log_error("ALERT dossier %s: waybill %s was already used at %s for another order; shipment %" PRId64
              " takes %s and is booked again",
              s.dossier_code, s.waybill, job->carrier, s.id, fresh);
    text = textf("Số hiệu bưu gửi %s đã được bưu điện dùng cho đơn khác (%s); cấp số mới %s và gửi lại yêu cầu",
                 s.waybill, m->message, fresh);
    if (!text)
        return oom(tx, "recording a new waybill");
    r = append(tx, &s, now, now, "gateway", NULL, NULL, NULL, text, NULL, NULL);
    free(text);
    if (r != STORE_OK)
        return r;
    return store_jobs_retry(tx, job->id, 0, m->message, 1 << 30, now, NULL);
}

/* copy_str - the string member key of obj into dst ("" when absent) */
static void
copy_str(char *dst, size_t size, const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));

    snprintf(dst, size, "%s", v ? v : "");
}

static store_rc_t
apply_tracked(store_tx_t *tx, const store_job_t *job, const wire_msg_t *m, const sink_policy_t *policy, int64_t now)
{
    const carrier_ops_t *ops = carrier_find(job->carrier);
    json_t *arr = json_object_get(m->data, "events"), *e;
    carrier_event_list_t events = { NULL, 0, 0 };
    sink_report_t report;
    store_shipment_t s;
    int have_ship = 0;
    size_t i;
    store_rc_t r;

    if (!ops || !json_is_array(arr))
        return STORE_OK;
    r = store_shipments_get(tx, job->shipment_id, &s);
    if (r == STORE_OK)
        have_ship = 1;
    else if (r != STORE_NOT_FOUND)
        return r;
    json_array_foreach(arr, i, e) {
        carrier_event_t *ev = carrier_event_list_push(&events);

        if (!ev) {
            carrier_event_list_free(&events);
            return oom(tx, "reading tracking events");
        }
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
        /* a tracking answer is about the job's shipment even when it does not say so */
        if (!ev->waybill[0] && !ev->carrier_ref[0] && have_ship)
            snprintf(ev->waybill, sizeof ev->waybill, "%s", s.waybill);
    }
    memset(&report, 0, sizeof report);
    r = sink_carrier_events(tx, ops, &events, policy, now, &report);
    carrier_event_list_free(&events);
    return r;
}

static store_rc_t
job_result(store_tx_t *tx, const wire_msg_t *m, const sink_policy_t *policy, int64_t now)
{
    store_job_t job;
    int dead = 0;
    store_rc_t r = STORE_OK, found;

    found = store_jobs_get(tx, m->job_id, &job);
    if (found != STORE_OK && found != STORE_NOT_FOUND)
        return found;
    if (found == STORE_NOT_FOUND || strcmp(job.state, "done") == 0 || strcmp(job.state, "dead") == 0)
        return STORE_OK; /* unknown, or a late duplicate of something already settled */
    /* a job never leased has no result to report: whoever sends one never saw the job (a forged
     * RESULT on a link without CURVE, guessing job ids) */
    if (job.attempts == 0) {
        log_warn("job %" PRId64 ": a result for a job never leased is ignored", m->job_id);
        return STORE_OK;
    }
    if (job.lease != m->lease) {
        /* A late result from a lease that was taken back (worker presumed dead,
         * lease expired). Success already happened at the carrier, so accept it;
         * anything else is ignored: the current lease holder will report. */
        if (m->outcome != WIRE_OK)
            return STORE_OK;
        log_info("job %" PRId64 ": late success from an expired lease reconciled", m->job_id);
    }
    switch (m->outcome) {
    case WIRE_OK:
        if (strcmp(job.kind, "book") == 0)
            r = apply_booked(tx, &job, m, policy, now);
        else if (strcmp(job.kind, "cancel") == 0) {
            r = sink_set_status(tx, job.shipment_id, "cancelled", NULL, now, "carrier",
                                "Bưu điện đã xác nhận hủy bưu gửi", NULL, policy, now);
            if (r == STORE_CONFLICT || r == STORE_NOT_FOUND)
                r = STORE_OK; /* already final: the confirmation changes nothing */
        } else if (strcmp(job.kind, "track") == 0)
            r = apply_tracked(tx, &job, m, policy, now);
        if (r != STORE_OK)
            return r;
        return store_jobs_complete(tx, m->job_id, now);
    case WIRE_RETRY: {
        int64_t delay;
        int max = policy->max_attempts_book;

        if (m->pause) {
            /* the carrier refused the gateway's own configuration: the job is not at fault and
             * waits, uncounted, while the engine's breaker pauses the carrier */
            return store_jobs_pause(tx, m->job_id, m->delay_ms, m->message, now);
        }
        delay = backoff_full_jitter_ms(job.attempts, policy->backoff_base_ms, policy->backoff_cap_ms,
                                               backoff_random01());
        if (m->delay_ms > delay)
            delay = m->delay_ms;
        /* the case system gets retries for a period of time rather than a count */
        if (strcmp(job.kind, "notify") == 0)
            max = now - job.created_at >= policy->notify_max_age_ms ? job.attempts : 1 << 30;
        r = store_jobs_retry(tx, m->job_id, delay, m->message, max, now, &dead);
        if (r == STORE_OK && dead) {
            log_warn("job %" PRId64 " (%s) is dead after %d attempts: %s", m->job_id, job.kind, job.attempts,
                     m->message);
            if (strcmp(job.kind, "book") == 0)
                r = note_booking_dead(tx, &job, m, now);
        }
        return r;
    }
    case WIRE_FAIL:
        if (strcmp(job.kind, "book") == 0 && strncmp(m->message, "waybill_taken", 13) == 0) {
            r = reissue_waybill(tx, &job, m, now);
            if (r != STORE_EMPTY)
                return r;
        }
        log_warn("job %" PRId64 " (%s) failed permanently: %s", m->job_id, job.kind, m->message);
        r = apply_refused(tx, &job, m, policy, now);
        if (r != STORE_OK)
            return r;
        return store_jobs_kill(tx, m->job_id, m->message, now);
    }
    return STORE_OK;
}

store_rc_t
sink_job_result(store_tx_t *tx, const wire_msg_t *m, const sink_policy_t *policy, int64_t now)
{
    store_rc_t r = store_tx_savepoint(tx), rel;

    if (r != STORE_OK)
        return r;
    r = job_result(tx, m, policy, now);
    /* a result that cannot be applied whole leaves nothing behind; the worker's result is
     * lost with it, and the lease's expiry gives the job to a worker again */
    rel = store_tx_release(tx, r == STORE_OK);
    return r != STORE_OK ? r : rel;
}

/* ------------------------------------------------------------- events */

/* four_digits - the only form of an ID's tail the gateway keeps (design §8) */
static int
four_digits(const char *s)
{
    int i;

    for (i = 0; i < 4; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return s[4] == '\0';
}

/* proof_json - the proof's relation, ID type and last 4 digits for the timeline; the name
 * stays in the shipment row (purgeable, design §8) and goes to the case system */
static json_t *
proof_json(const carrier_event_t *e)
{
    json_t *p = json_pack("{s:s, s:s}", "relation", strcmp(e->receiver_relation, "authorised") == 0 ? "authorised"
                                                                                                     : "self",
                          "id_type", e->receiver_id_type[0] == 'C' ? "CCCD" : "other");

    if (!p)
        return NULL;
    if (four_digits(e->receiver_id_last4))
        json_object_set_new(p, "id_last4", json_string(e->receiver_id_last4));
    else
        json_object_set_new(p, "note", json_string("the carrier sent no usable ID digits; none kept"));
    return p;
}

/* proof_text - "Người nhận: … (chính chủ), CCCD số cuối 1234" for the case system */
static store_rc_t
proof_text(store_tx_t *tx, int64_t id, char **out)
{
    store_proof_t p;
    store_rc_t r = store_shipments_get_proof(tx, id, &p);

    *out = NULL;
    if (r == STORE_NOT_FOUND)
        return STORE_OK;
    if (r != STORE_OK || !p.relation[0])
        return r;
    if (p.id_last4[0])
        *out = textf("Người nhận: %s (%s), %s số cuối %s", p.name,
                     strcmp(p.relation, "authorised") == 0 ? "người được ủy quyền" : "chính chủ", p.id_type,
                     p.id_last4);
    else
        *out = textf("Người nhận: %s (%s)", p.name,
                     strcmp(p.relation, "authorised") == 0 ? "người được ủy quyền" : "chính chủ");
    return *out ? STORE_OK : oom(tx, "describing the proof of delivery");
}

/* proof_mismatch - why the proof of delivery of return-leg shipment s does not match whom the
 * dossier allows to receive it (the citizen, or its authorised person: relation and the last 4
 * digits of the ID, design §8), or NULL when it matches or cannot be judged */
static const char *
proof_mismatch(const store_contact_t *c, const carrier_event_t *e)
{
    int authorised = strcmp(e->receiver_relation, "authorised") == 0;
    const char *want = authorised ? c->authorised_id_last4 : c->recipient_id_last4;

    if (authorised && !c->authorised_name[0])
        return "giao cho người được ủy quyền nhưng hồ sơ không có người được ủy quyền";
    if (*want && four_digits(e->receiver_id_last4) && strcmp(want, e->receiver_id_last4) != 0)
        return authorised ? "số cuối giấy tờ của người nhận khác người được ủy quyền trong hồ sơ"
                          : "số cuối giấy tờ của người nhận khác người nhận trong hồ sơ";
    return NULL;
}

/* check_proof - a delivered return leg whose proof does not match the dossier gets a note on
 * the timeline (details kind proof_mismatch: the clerk's problem list shows it) */
static store_rc_t
check_proof(store_tx_t *tx, const store_shipment_t *s, const carrier_event_t *e, int64_t now)
{
    store_contact_t c;
    const char *why;
    char *text, *key;
    json_t *details;
    store_rc_t r;

    if (strcmp(s->leg, "return") != 0 || !e->receiver_relation[0])
        return STORE_OK;
    r = store_shipments_contact(tx, s->id, &c);
    if (r != STORE_OK)
        return r == STORE_NOT_FOUND ? STORE_OK : r;
    why = proof_mismatch(&c, e);
    if (!why)
        return STORE_OK;
    text = textf("Người nhận không khớp với hồ sơ (%s); cán bộ một cửa cần kiểm tra việc trả kết quả, mã vận đơn %s",
                 why, s->waybill);
    key = textf("proof_mismatch:%" PRId64, s->id);
    details = json_pack("{s:s, s:s, s:s}", "kind", "proof_mismatch", "relation",
                        strcmp(e->receiver_relation, "authorised") == 0 ? "authorised" : "self", "id_last4",
                        four_digits(e->receiver_id_last4) ? e->receiver_id_last4 : "");
    r = text && key && details ? append(tx, s, e->carrier_time_ms, now, "gateway", NULL, NULL, NULL, text, details, key)
                               : oom(tx, "recording a proof mismatch");
    log_warn("shipment %s: the proof of delivery does not match the dossier", s->waybill);
    json_decref(details);
    free(key);
    free(text);
    return r == STORE_EXISTS ? STORE_OK : r;
}

static store_rc_t
find_ship_for_event(store_tx_t *tx, const char *carrier, const carrier_event_t *e, store_shipment_t *s)
{
    store_rc_t r = STORE_NOT_FOUND;

    if (e->waybill[0]) {
        r = store_shipments_find_waybill(tx, carrier, e->waybill, s);
        if (r != STORE_NOT_FOUND)
            return r;
    }
    if (e->carrier_ref[0])
        r = store_shipments_find_ref(tx, carrier, e->carrier_ref, s);
    return r;
}

/* dedup_key - carrier + event id, or carrier + a hash of the content (the same content
 * string as every earlier release, so events recorded before an upgrade still match) */
static char *
dedup_key(const char *carrier, const carrier_event_t *e)
{
    char hash[SHA256_HEX_LEN];
    buf_t b;

    if (e->event_id[0])
        return textf("%s:id:%s", carrier, e->event_id);
    buf_init(&b, 0);
    if (buf_appendf(&b, "%s|%s|%s|%" PRId64 "|%s", e->carrier_ref, e->waybill, e->raw_code, e->carrier_time_ms,
                    e->reason) != BUF_OK) {
        buf_free(&b);
        return NULL;
    }
    sha256_hex(b.data, b.len, hash);
    buf_free(&b);
    return textf("%s:h:%s", carrier, hash);
}

/* one_event - apply one carrier event to its shipment */
static store_rc_t
one_event(store_tx_t *tx, const carrier_ops_t *ops, const carrier_event_t *e, const sink_policy_t *policy,
          int64_t now, sink_report_t *report)
{
    carrier_mapping_t map = { NULL, "" };
    const status_info_t *info;
    store_shipment_t s;
    char *key = NULL, *text = NULL, *extra = NULL;
    json_t *details = NULL;
    int delivered, changes;
    store_rc_t r = find_ship_for_event(tx, ops->name, e, &s);

    if (r == STORE_NOT_FOUND) {
        report->unknown_ship++;
        return STORE_OK;
    }
    if (r != STORE_OK)
        return r;
    info = ops->map_status(e->raw_code, &map) == 0 && map.status ? status_lookup(map.status) : NULL;
    delivered = info && strcmp(info->name, "delivered") == 0;
    if (!info) {
        report->unknown_code++;
        text = textf("Bưu điện báo mã trạng thái chưa xác định %s (%s); trạng thái không đổi", e->raw_code,
                     e->raw_name);
    } else if (e->reason[0]) {
        text = textf("%s: %s", status_text_vi(info->name, s.leg), e->reason);
    } else {
        text = textf("%s", status_text_vi(info->name, s.leg));
    }
    changes = info && status_may_move(s.status, s.status_time, info->name, e->carrier_time_ms);
    key = dedup_key(ops->name, e);
    details = json_pack("{s:s, s:s}", "carrier", ops->name, "raw_name", e->raw_name);
    if (!text || !key || !details) {
        r = oom(tx, "recording a carrier event");
        goto out;
    }
    if (e->reason[0])
        json_object_set_new(details, "reason", json_string(e->reason));
    if (e->amount)
        json_object_set_new(details, "amount", json_integer(e->amount));
    if (e->event_id[0])
        json_object_set_new(details, "event_id", json_string(e->event_id));
    if (info && !changes && status_is_terminal(s.status))
        json_object_set_new(details, "note", json_string("shipment already final; status unchanged"));
    else if (info && !changes && e->carrier_time_ms < s.status_time)
        json_object_set_new(details, "note", json_string("older than the current status; status unchanged"));
    if (delivered && e->receiver_relation[0])
        json_object_set_new(details, "proof", proof_json(e));
    r = append(tx, &s, e->carrier_time_ms, now, "carrier", info ? info->name : NULL, info ? info->upu : NULL,
               e->raw_code, text, details, key);
    if (r == STORE_EXISTS) {
        report->duplicates++;
        r = STORE_OK;
        goto out;
    }
    if (r != STORE_OK)
        goto out;
    report->applied++;
    if (delivered) {
        store_proof_t p;

        memset(&p, 0, sizeof p);
        p.delivered_at = e->carrier_time_ms;
        snprintf(p.name, sizeof p.name, "%s", e->receiver_name);
        snprintf(p.relation, sizeof p.relation, "%s", e->receiver_relation);
        snprintf(p.id_type, sizeof p.id_type, "%s", e->receiver_id_type);
        if (four_digits(e->receiver_id_last4))
            snprintf(p.id_last4, sizeof p.id_last4, "%s", e->receiver_id_last4);
        p.cod_collected = e->amount > 0 ? e->amount : 0;
        r = store_shipments_record_delivery(tx, s.id, &p);
        if (r == STORE_OK)
            r = check_proof(tx, &s, e, now);
        if (r != STORE_OK)
            goto out;
    }
    /* the fee collected from the citizen at pick-up (send leg): reported apart from COD */
    if (!delivered && e->amount > 0 && strcmp(s.leg, "send") == 0 && info && strcmp(info->name, "accepted") == 0)
        r = store_shipments_record_collected(tx, s.id, e->amount, e->carrier_time_ms);
    if (r != STORE_OK)
        goto out;
    /* the carrier took it before the handover scan said so: J is the first of the two */
    if (!changes && info && strcmp(info->name, "accepted") == 0 && !status_is_terminal(s.status))
        r = start_transit(tx, &s, e->carrier_time_ms, policy);
    if (r != STORE_OK)
        goto out;
    if (changes) {
        r = move(tx, &s, info->name, e->carrier_time_ms, e->carrier_time_ms, policy, now);
        /* the citizen hears of it: out for delivery, a failed attempt, back at the desk */
        if (r == STORE_OK)
            r = citizen_inform(tx, &s, info->name, e->reason, s.attempts + 1, e->carrier_time_ms,
                               policy ? policy->calendar : NULL, policy && policy->citizen_sms,
                               policy && policy->citizen_email, now);
        if (r == STORE_OK && delivered)
            r = proof_text(tx, s.id, &extra);
        if (r == STORE_OK)
            r = notify_ship(tx, &s, info->name, info->upu, e->carrier_time_ms, extra ? extra : e->reason, policy,
                            now);
        if (r == STORE_OK)
            report->status_changes++;
    }
out:
    json_decref(details);
    free(extra);
    free(key);
    free(text);
    return r;
}

store_rc_t
sink_carrier_events(store_tx_t *tx, const carrier_ops_t *ops, const carrier_event_list_t *events,
                    const sink_policy_t *policy, int64_t now, sink_report_t *report)
{
    size_t i;
    store_rc_t r;

    for (i = 0; i < events->n; i++) {
        r = one_event(tx, ops, &events->items[i], policy, now, report);
        if (r != STORE_OK)
            return r;
    }
    return STORE_OK;
}

store_rc_t
sink_receive(store_tx_t *tx, int64_t shipment_id, const char *officer, const char *receipt_id,
             const sink_policy_t *policy, int64_t now)
{
    store_shipment_t s;
    char *text;
    json_t *details;
    store_rc_t r = store_shipments_get(tx, shipment_id, &s);

    if (r != STORE_OK)
        return r;
    text = textf("Cơ quan đã tiếp nhận hồ sơ (thời điểm nộp hồ sơ hợp lệ), cán bộ tiếp nhận: %s", officer);
    details = json_pack("{s:s, s:s, s:b}", "receipt", receipt_id, "officer", officer, "legal_submission", 1);
    if (!text || !details) {
        free(text);
        json_decref(details);
        return oom(tx, "recording a receipt");
    }
    if (strcmp(s.status, "delivered") == 0)
        r = append(tx, &s, now, now, "clerk", "delivered", "EMI", NULL, text, details, NULL);
    else
        r = sink_set_status(tx, shipment_id, "delivered", "EMI", now, "clerk", text, details, policy, now);
    if (r == STORE_CONFLICT)
        r = store_tx_fail(tx, STORE_CONFLICT, "shipment %s cannot move from %s to delivered; nothing was received",
                          s.waybill, s.status);
    free(text);
    text = r == STORE_OK ? textf("Cán bộ tiếp nhận: %s", officer) : NULL;
    if (r == STORE_OK)
        r = text ? notify_ship(tx, &s, "received", NULL, now, text, policy, now) : oom(tx, "recording a receipt");
    free(text);
    json_decref(details);
    return r;
}
