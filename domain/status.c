/*
 * status - normalized status table (design §4)
 */
#include "status.h"

#include <string.h>

static const status_info_t statuses[] = {
    { "created", "", "Đã tiếp nhận yêu cầu gửi qua bưu chính, đã cấp số hiệu bưu gửi", 0, "" },
    { "booked", "", "Đã chuyển thông tin nhận kết quả sang bưu điện", 0, "9" },
    { "pickup_pending", "", "Bưu tá đang đến lấy hồ sơ", 0, "" },
    { "accepted", "EMA", "Bưu điện đã nhận bưu gửi", 0, "" },
    { "in_transit", "EDD", "Bưu gửi đang được vận chuyển", 0, "" },
    { "at_delivery_office", "EMG", "Bưu gửi đã đến bưu cục phát", 0, "" },
    { "out_for_delivery", "EDG", "Bưu tá đang giao kết quả đến bạn", 0, "" },
    { "delivery_failed", "EMH", "Phát không thành công", 0, "" },
    { "delivered", "EMI", "Đã phát thành công", 1, "10" },
    { "returning", "", "Bưu gửi đang được chuyển hoàn về cơ quan", 0, "" },
    { "returned", "", "Kết quả đã được chuyển hoàn về Bộ phận một cửa", 1, "" },
    { "cancelled", "", "Đã hủy yêu cầu gửi", 1, "" },
    { "exception", "", "Bưu gửi gặp sự cố (thất lạc, hư hỏng hoặc bị từ chối)", 0, "" },
    { NULL, NULL, NULL, 0, NULL },
};

/* what the send leg's statuses mean to the citizen who sends a dossier to the agency */
static const struct {
    const char *status, *text;
} send_texts[] = {
    { "created", "Đã tiếp nhận yêu cầu thu gom hồ sơ tại nhà" },
    { "booked", "Đã chuyển yêu cầu thu gom hồ sơ sang bưu điện" },
    { "pickup_pending", "Bưu tá đang đến lấy hồ sơ" },
    { "accepted", "Bưu điện đã nhận hồ sơ của bạn" },
    { "in_transit", "Hồ sơ đang được chuyển đến cơ quan giải quyết" },
    { "at_delivery_office", "Hồ sơ đã đến bưu cục gần cơ quan" },
    { "out_for_delivery", "Bưu tá đang chuyển hồ sơ đến Bộ phận một cửa" },
    { "delivery_failed", "Chưa giao được hồ sơ cho Bộ phận một cửa" },
    { "delivered", "Hồ sơ đã được giao cho Bộ phận một cửa" },
    { "returning", "Hồ sơ đang được chuyển trả lại bạn" },
    { "returned", "Hồ sơ đã được chuyển trả lại bạn" },
    { "cancelled", "Đã hủy yêu cầu thu gom hồ sơ" },
};

const char *
status_text_vi(const char *status, const char *leg)
{
    const status_info_t *si = status_lookup(status);
    size_t i;

    if (!si)
        return NULL;
    for (i = 0; leg && strcmp(leg, "send") == 0 && i < sizeof send_texts / sizeof send_texts[0]; i++)
        if (strcmp(send_texts[i].status, si->name) == 0)
            return send_texts[i].text;
    return si->text_vi;
}

const status_info_t *
status_lookup(const char *name)
{
    const status_info_t *s;

    if (!name)
        return NULL;
    for (s = statuses; s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

int
status_is_terminal(const char *name)
{
    const status_info_t *s = status_lookup(name);

    return s ? s->terminal : 0;
}

const status_info_t *
status_all(void)
{
    return statuses;
}

/* phase - how far along a shipment is: before the postal service has it (0), taken (1),
 * moving or being delivered (2), final (3) */
static int
phase(const status_info_t *s)
{
    static const char *const before[] = { "created", "booked", "pickup_pending" };
    size_t i;

    if (s->terminal)
        return 3;
    for (i = 0; i < sizeof before / sizeof before[0]; i++)
        if (strcmp(s->name, before[i]) == 0)
            return 0;
    return strcmp(s->name, "accepted") == 0 ? 1 : 2;
}

int
status_may_move(const char *from, int64_t from_time, const char *to, int64_t to_time)
{
    const status_info_t *f = status_lookup(from), *t = status_lookup(to);

    if (!f || !t || f == t || f->terminal || to_time < from_time)
        return 0;
    /* an exception (a refused booking, a lost item) may be resolved into any status; otherwise a
     * shipment the post office has never goes back to an earlier phase (a late "booked" or a
     * second "accepted" scan stays on the timeline only) */
    return strcmp(f->name, "exception") == 0 || phase(t) >= phase(f);
}
