/*
 * messages - the citizen's SMS and e-mail texts (see messages.h)
 *
 * Each kind has one render function that writes its text from prepared
 * inputs (NFC, no control characters) and a per-field cap in characters.
 * message_sms_text renders with no caps, then lowers the caps of the
 * shortenable fields until the text fits MESSAGE_SMS_TARGET_UNITS or every
 * field is at MESSAGE_MIN_KEEP. The e-mail uses the uncut text.
 */
#include "domain/messages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "domain/calendar.h"

#define VN_OFFSET_MS (7LL * 3600 * 1000)
#define NO_CAP ((size_t)-1)
#define ELLIPSIS "\xE2\x80\xA6" /* U+2026 */

enum { F_REASON, F_PLACE_NAME, F_PLACE_ADDRESS, F_COUNT };

/* the inputs after NFC and clean-up; every pointer is owned (or NULL) */
typedef struct {
    char *code, *name, *reason, *phone, *place, *address, *place_phone, *url;
} prepared_t;

static const char *const kind_names[MESSAGE_KIND_COUNT] = {
    "pickup_scheduled", "at_agency", "out_for_delivery", "delivery_failed", "returned_to_desk",
};

const char *
message_kind_name(message_kind_t kind)
{
    return (unsigned)kind < MESSAGE_KIND_COUNT ? kind_names[kind] : NULL;
}

int
message_kind_from_name(const char *name, message_kind_t *out)
{
    int i;

    for (i = 0; name && i < MESSAGE_KIND_COUNT; i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (message_kind_t)i;
            return 0;
        }
    return -1;
}

/* ---- counting ------------------------------------------------------------ */

long
message_sms_units(const char *s, size_t len)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    utf8proc_ssize_t left = (utf8proc_ssize_t)len;
    long units = 0;

    while (left > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);

        if (n <= 0 || cp < 0)
            return -1;
        units += cp > 0xFFFF ? 2 : 1; /* outside the BMP: a surrogate pair */
        p += n;
        left -= n;
    }
    return units;
}

int
message_sms_segments(const char *s, size_t len)
{
    long septets = 0, units;
    size_t i;
    int gsm = 1;

    for (i = 0; i < len && gsm; i++) {
        unsigned char c = (unsigned char)s[i];

        /* only the ASCII part of the GSM basic set is recognised: enough to
         * tell an unaccented text from a Vietnamese one */
        if (c == '\n' || c == '\r')
            septets++;
        else if (c >= 0x80 || c < 0x20 || c == '`' || c == 0x7f)
            gsm = 0;
        else if (strchr("^{}\\[~]|", c))
            septets += 2; /* escape + character */
        else
            septets++;
    }
    if (gsm)
        return septets <= 160 ? 1 : (int)((septets + 152) / 153);
    units = message_sms_units(s, len);
    if (units < 0)
        return -1;
    return units <= MESSAGE_SMS_SEGMENT_UNITS ? 1
                                              : (int)((units + MESSAGE_SMS_PART_UNITS - 1) / MESSAGE_SMS_PART_UNITS);
}

/* ---- inputs ---------------------------------------------------------------- */

/* prepare_one - NFC copy of s with control characters turned into spaces,
 * runs of spaces folded and both ends trimmed; NULL stays NULL, "" too. */
static int
prepare_one(const char *what, const char *s, char **out, char *err, size_t errlen)
{
    utf8proc_uint8_t *nfc;
    char *r, *w;
    int space = 1;
    size_t len;

    *out = NULL;
    if (!s || !*s)
        return 0;
    len = strlen(s);
    if (len > MESSAGE_MAX_INPUT) {
        snprintf(err, errlen, "%s is %zu bytes, more than %d: shorten it", what, len, MESSAGE_MAX_INPUT);
        return -1;
    }
    nfc = utf8proc_NFC((const utf8proc_uint8_t *)s);
    if (!nfc) {
        snprintf(err, errlen, "%s is not valid UTF-8: send it as UTF-8 text", what);
        return -1;
    }
    for (r = w = (char *)nfc; *r; r++) {
        unsigned char c = (unsigned char)*r;

        if (c < 0x20 || c == 0x7f || c == ' ') {
            if (!space)
                *w++ = ' ';
            space = 1;
        } else {
            *w++ = (char)c;
            space = 0;
        }
    }
    while (w > (char *)nfc && w[-1] == ' ')
        w--;
    *w = '\0';
    if (!nfc[0]) {
        free(nfc);
        return 0;
    }
    *out = (char *)nfc;
    return 0;
}

static void
prepared_free(prepared_t *p)
{
    free(p->code);
    free(p->name);
    free(p->reason);
    free(p->phone);
    free(p->place);
    free(p->address);
    free(p->place_phone);
    free(p->url);
    memset(p, 0, sizeof *p);
}

static int
prepare(const message_input_t *in, prepared_t *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (message_kind_name(in->kind) == NULL) {
        snprintf(err, errlen, "unknown message kind %d", (int)in->kind);
        return -1;
    }
    if (prepare_one("dossier_code", in->dossier_code, &p->code, err, errlen) != 0 ||
        prepare_one("recipient_name", in->recipient_name, &p->name, err, errlen) != 0 ||
        prepare_one("reason", in->reason, &p->reason, err, errlen) != 0 ||
        prepare_one("contact_phone", in->contact_phone, &p->phone, err, errlen) != 0 ||
        prepare_one("place_name", in->place_name, &p->place, err, errlen) != 0 ||
        prepare_one("place_address", in->place_address, &p->address, err, errlen) != 0 ||
        prepare_one("place_phone", in->place_phone, &p->place_phone, err, errlen) != 0 ||
        prepare_one("tracking_url", in->tracking_url, &p->url, err, errlen) != 0)
        goto fail;
    if (!p->code) {
        snprintf(err, errlen, "dossier_code is missing: every message names the dossier");
        goto fail;
    }
    if (in->kind == MESSAGE_RETURNED_TO_DESK && !p->place) {
        snprintf(err, errlen, "place_name is missing: a returned-to-desk message must say where to collect");
        goto fail;
    }
    if (in->attempt < 0 || in->attempt > 99) {
        snprintf(err, errlen, "attempt %d is out of range 0..99", in->attempt);
        goto fail;
    }
    return 0;
fail:
    prepared_free(p);
    return -1;
}

/* ---- rendering ------------------------------------------------------------ */

typedef struct {
    buf_t *b;
    int failed;
} out_t;

static void
put(out_t *o, const char *s)
{
    if (!o->failed && buf_append(o->b, s, strlen(s)) != BUF_OK)
        o->failed = 1;
}

/* put_capped - s, cut to cap characters (code points) with "…" when longer */
static void
put_capped(out_t *o, const char *s, size_t cap)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t chars = 0, bytes = 0, len = strlen(s);

    if (cap == NO_CAP) {
        put(o, s);
        return;
    }
    while (bytes < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + bytes, (utf8proc_ssize_t)(len - bytes), &cp);

        if (n <= 0)
            break;
        if (chars == cap)
            break;
        bytes += (size_t)n;
        chars++;
    }
    if (bytes >= len) {
        put(o, s);
        return;
    }
    /* cut at a word boundary when one is near, so no word is left half */
    {
        size_t cut = bytes;

        while (cut > 0 && s[cut - 1] != ' ' && bytes - cut < 12)
            cut--;
        if (cut == 0 || s[cut - 1] != ' ')
            cut = bytes;
        while (cut > 0 && (s[cut - 1] == ' ' || s[cut - 1] == ',' || s[cut - 1] == '.'))
            cut--;
        if (!o->failed && buf_append(o->b, s, cut) != BUF_OK)
            o->failed = 1;
    }
    put(o, ELLIPSIS);
}

/* put_date - dd/MM/yyyy of the Vietnam day of ms */
static void
put_date(out_t *o, int64_t ms)
{
    char d[16];
    int y, m, day;

    calendar_ymd(ms, &y, &m, &day);
    snprintf(d, sizeof d, "%02d/%02d/%04d", day, m, y);
    put(o, d);
}

/* put_time - HH:mm (Vietnam time) of ms */
static void
put_time(out_t *o, int64_t ms)
{
    char t[8];
    int64_t minutes = ((ms + VN_OFFSET_MS) / 60000) % (24 * 60);

    if (minutes < 0)
        minutes += 24 * 60;
    snprintf(t, sizeof t, "%02d:%02d", (int)(minutes / 60), (int)(minutes % 60));
    put(o, t);
}

/* ends_with_stop - the text so far ends with . ! ? or … (so no second stop is added) */
static int
ends_with_stop(const out_t *o)
{
    const buf_t *b = o->b;

    if (b->len == 0)
        return 0;
    if (strchr(".!?", b->data[b->len - 1]))
        return 1;
    return b->len >= 3 && memcmp(b->data + b->len - 3, ELLIPSIS, 3) == 0;
}

static void
put_stop(out_t *o)
{
    if (!ends_with_stop(o))
        put(o, ".");
}

static void
render(const message_input_t *in, const prepared_t *p, const size_t cap[F_COUNT], out_t *o)
{
    switch (in->kind) {
    case MESSAGE_PICKUP_SCHEDULED:
        put(o, "Bưu điện sẽ đến lấy hồ sơ ");
        put(o, p->code);
        put(o, " tại địa chỉ của ông/bà");
        if (in->when_ms) {
            put(o, " ngày ");
            put_date(o, in->when_ms);
        }
        put(o, ". Xin chuẩn bị giấy tờ.");
        if (p->phone) {
            put(o, " LH: ");
            put(o, p->phone);
            put(o, ".");
        }
        break;
    case MESSAGE_AT_AGENCY:
        put(o, "Hồ sơ ");
        put(o, p->code);
        put(o, " đã đến cơ quan");
        if (p->place) {
            put(o, " ");
            put_capped(o, p->place, cap[F_PLACE_NAME]);
        } else {
            put(o, " tiếp nhận");
        }
        if (in->when_ms) {
            put(o, " lúc ");
            put_time(o, in->when_ms);
            put(o, " ngày ");
            put_date(o, in->when_ms);
        }
        put_stop(o);
        break;
    case MESSAGE_OUT_FOR_DELIVERY:
        put(o, "Bưu điện đang phát kết quả hồ sơ ");
        put(o, p->code);
        put(o, " đến địa chỉ của ông/bà. Xin xuất trình CCCD khi nhận.");
        if (p->phone) {
            put(o, " LH: ");
            put(o, p->phone);
            put(o, ".");
        }
        break;
    case MESSAGE_DELIVERY_FAILED:
        put(o, "Phát kết quả hồ sơ ");
        put(o, p->code);
        put(o, " không thành công");
        if (in->attempt > 0) {
            char n[16];

            snprintf(n, sizeof n, " lần %d", in->attempt);
            put(o, n);
        }
        if (p->reason) {
            put(o, ": ");
            put_capped(o, p->reason, cap[F_REASON]);
        }
        put_stop(o);
        if (in->when_ms) {
            put(o, " Phát lại ngày ");
            put_date(o, in->when_ms);
            put(o, ".");
        } else if (in->attempt >= 2) {
            /* the second invitation was the last one (TT 17 Điều 5.2) */
            put(o, " Kết quả sẽ chuyển về nơi tiếp nhận hồ sơ.");
        } else {
            put(o, " Bưu điện sẽ hẹn lại.");
        }
        if (p->phone) {
            put(o, " LH: ");
            put(o, p->phone);
            put(o, ".");
        }
        break;
    case MESSAGE_RETURNED_TO_DESK:
        put(o, "Kết quả hồ sơ ");
        put(o, p->code);
        put(o, " đã chuyển về ");
        put_capped(o, p->place, cap[F_PLACE_NAME]);
        if (p->address) {
            put(o, ", ");
            put_capped(o, p->address, cap[F_PLACE_ADDRESS]);
        }
        put_stop(o);
        put(o, " Mời ông/bà đến nhận");
        if (p->place_phone) {
            put(o, ", ĐT ");
            put(o, p->place_phone);
        }
        put(o, ".");
        break;
    default:
        o->failed = 1;
        break;
    }
}

static const char *
field_value(const prepared_t *p, int f)
{
    return f == F_REASON ? p->reason : f == F_PLACE_NAME ? p->place : p->address;
}

/* render_once - render into scratch (emptied first); UTF-16 units, or -1 on OOM */
static long
render_once(const message_input_t *in, const prepared_t *p, const size_t cap[F_COUNT], buf_t *scratch)
{
    out_t o = { scratch, 0 };

    buf_reset(scratch);
    render(in, p, cap, &o);
    return o.failed ? -1 : message_sms_units(scratch->data, scratch->len);
}

/* render_fitted - render, then shorten the free-text fields in order until it fits */
static int
render_fitted(const message_input_t *in, const prepared_t *p, buf_t *out, char *err, size_t errlen)
{
    static const int order[] = { F_PLACE_ADDRESS, F_REASON, F_PLACE_NAME };
    size_t cap[F_COUNT] = { NO_CAP, NO_CAP, NO_CAP };
    buf_t scratch;
    size_t i;
    long units;
    int rc = -1;

    buf_init(&scratch, 16 * 1024);
    units = render_once(in, p, cap, &scratch);
    for (i = 0; units > MESSAGE_SMS_TARGET_UNITS && i < sizeof order / sizeof order[0]; i++) {
        const char *v = field_value(p, order[i]);
        long have = v ? message_sms_units(v, strlen(v)) : 0;
        long want = have - (units - MESSAGE_SMS_TARGET_UNITS) - 1; /* 1 for the "…" */

        if (have <= MESSAGE_MIN_KEEP)
            continue;
        cap[order[i]] = (size_t)(want < MESSAGE_MIN_KEEP ? MESSAGE_MIN_KEEP : want);
        units = render_once(in, p, cap, &scratch);
    }
    if (units < 0) {
        snprintf(err, errlen, "out of memory while writing the message");
        goto out;
    }
    if (buf_append(out, scratch.data, scratch.len) != BUF_OK) {
        snprintf(err, errlen, "the message does not fit the output buffer");
        goto out;
    }
    rc = 0;
out:
    buf_free(&scratch);
    return rc;
}

int
message_sms_text(const message_input_t *in, buf_t *out, char *err, size_t errlen)
{
    prepared_t p;
    int rc;

    if (prepare(in, &p, err, errlen) != 0)
        return -1;
    rc = render_fitted(in, &p, out, err, errlen);
    prepared_free(&p);
    return rc;
}

static void
put_subject(const message_input_t *in, const prepared_t *p, out_t *o)
{
    switch (in->kind) {
    case MESSAGE_PICKUP_SCHEDULED:
        put(o, "Bưu điện sẽ đến lấy hồ sơ ");
        put(o, p->code);
        break;
    case MESSAGE_AT_AGENCY:
        put(o, "Hồ sơ ");
        put(o, p->code);
        put(o, " đã đến cơ quan tiếp nhận");
        break;
    case MESSAGE_OUT_FOR_DELIVERY:
        put(o, "Kết quả hồ sơ ");
        put(o, p->code);
        put(o, " đang được phát đến ông/bà");
        break;
    case MESSAGE_DELIVERY_FAILED:
        put(o, "Phát kết quả hồ sơ ");
        put(o, p->code);
        put(o, " không thành công");
        break;
    case MESSAGE_RETURNED_TO_DESK:
        put(o, "Kết quả hồ sơ ");
        put(o, p->code);
        put(o, " đã chuyển về nơi tiếp nhận");
        break;
    default:
        o->failed = 1;
        break;
    }
}

int
message_email(const message_input_t *in, buf_t *subject, buf_t *body, char *err, size_t errlen)
{
    static const size_t uncut[F_COUNT] = { NO_CAP, NO_CAP, NO_CAP };
    prepared_t p;
    out_t s = { subject, 0 }, o = { body, 0 };

    if (prepare(in, &p, err, errlen) != 0)
        return -1;
    put_subject(in, &p, &s);
    put(&o, "Kính gửi ông/bà");
    if (p.name) {
        put(&o, " ");
        put(&o, p.name);
    }
    put(&o, ",\n\n");
    render(in, &p, uncut, &o);
    put(&o, "\n\n");
    if (in->kind == MESSAGE_DELIVERY_FAILED)
        put(&o, "Theo quy định, bưu điện mời nhận ít nhất hai lần, cách nhau 2 ngày làm việc; sau đó kết quả "
                "được chuyển về nơi tiếp nhận hồ sơ để ông/bà đến nhận trực tiếp.\n\n");
    if (p.url) {
        put(&o, "Tra cứu hành trình: ");
        put(&o, p.url);
        put(&o, "\n\n");
    }
    put(&o, "Đây là thư tự động của dịch vụ bưu chính công ích (Quyết định 45/2016/QĐ-TTg); "
            "xin ông/bà không trả lời thư này.\n");
    prepared_free(&p);
    if (s.failed || o.failed) {
        snprintf(err, errlen, "the e-mail does not fit the output buffers");
        return -1;
    }
    return 0;
}

/* ---- unaccented ------------------------------------------------------------- */

int
message_unaccented(const char *s, buf_t *out)
{
    utf8proc_uint8_t *stripped = NULL;
    utf8proc_ssize_t n;
    const char *r;
    int rc = 0;

    n = utf8proc_map((const utf8proc_uint8_t *)s, 0, &stripped,
                     UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK);
    if (n < 0)
        return -1;
    /* đ and Đ are letters of their own, not d with a mark: no decomposition strips them */
    for (r = (const char *)stripped; *r && rc == 0; r++) {
        if ((unsigned char)r[0] == 0xC4 && ((unsigned char)r[1] == 0x91 || (unsigned char)r[1] == 0x90)) {
            rc = buf_append(out, (unsigned char)r[1] == 0x91 ? "d" : "D", 1);
            r++;
        } else {
            rc = buf_append(out, r, 1);
        }
    }
    free(stripped);
    return rc == BUF_OK ? 0 : -1;
}
