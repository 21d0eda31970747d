/*
 * messages - what the citizen reads about a dossier's trip (TT 17 Điều 12, Điều 5.2)
 *
 * Pure text: the Vietnamese SMS and e-mail texts for the send leg (pick-up
 * announced, dossier arrived at the agency) and the return leg (out for
 * delivery, a failed attempt with its reason and the next appointment, the
 * result back at the one-stop desk). No I/O, no clock: every time is an input.
 *
 * Texts carry full diacritics in Unicode NFC (inputs are normalised to NFC,
 * control characters become spaces). Vietnamese with diacritics cannot be sent
 * in the GSM 7-bit alphabet, so an SMS is UCS-2: 70 UTF-16 units in a single
 * segment, 67 per segment of a concatenated one. A dossier code alone is 25
 * characters, so one segment is out of reach for every message; the limit
 * chosen is two segments, MESSAGE_SMS_TARGET_UNITS = 134 units. When a text
 * would be longer, the free-text inputs are shortened with "…" in this order
 * (place address, reason, place name), never below MESSAGE_MIN_KEEP
 * characters; the fixed words, the code, the dates and the phones are never
 * cut, so a text may still exceed the target with very long inputs (the
 * provider then sends three segments). message_unaccented exists for a
 * provider that only takes GSM 7-bit; nothing uses it by default.
 *
 * Ownership: the input struct and its strings are borrowed for the call.
 * Output is appended to caller-owned buffers (common/buf.h); on error the
 * buffers may hold a partial text and should be reset by the caller.
 */
#ifndef BCCI_MESSAGES_H
#define BCCI_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MESSAGE_SMS_SEGMENT_UNITS 70       /* one UCS-2 segment */
#define MESSAGE_SMS_PART_UNITS 67          /* one part of a concatenated UCS-2 message */
#define MESSAGE_SMS_TARGET_UNITS (2 * MESSAGE_SMS_PART_UNITS)
#define MESSAGE_MIN_KEEP 12                /* a shortened input keeps at least this many characters */
#define MESSAGE_MAX_INPUT 1024             /* bytes per input string */

typedef enum {
    MESSAGE_PICKUP_SCHEDULED = 0, /* send leg: the postman will come to collect the dossier */
    MESSAGE_AT_AGENCY,            /* send leg: the dossier reached the agency (biên bản signed) */
    MESSAGE_OUT_FOR_DELIVERY,     /* return leg: the result is with the postman */
    MESSAGE_DELIVERY_FAILED,      /* return leg: one attempt failed; reason and next appointment */
    MESSAGE_RETURNED_TO_DESK,     /* return leg: the result went back to the one-stop desk */
    MESSAGE_KIND_COUNT
} message_kind_t;

typedef struct {
    message_kind_t kind;
    const char *dossier_code;   /* required: mã hồ sơ */
    const char *recipient_name; /* e-mail greeting only; NULL = "ông/bà" alone */
    const char *reason;         /* DELIVERY_FAILED: the carrier's reason text; NULL = not given */
    int attempt;                /* DELIVERY_FAILED: 1, 2, …; 0 = not said */
    int64_t when_ms;            /* UTC ms, 0 = unknown. PICKUP_SCHEDULED: the pick-up day;
                                 * DELIVERY_FAILED: the next appointment day (none on a
                                 *   second attempt: the result goes back to the desk);
                                 * AT_AGENCY: when the agency received it (date and time) */
    const char *contact_phone;  /* postman's or post office's phone; NULL = none */
    const char *place_name;     /* RETURNED_TO_DESK: the desk; AT_AGENCY: the agency */
    const char *place_address;  /* RETURNED_TO_DESK: the desk's address */
    const char *place_phone;    /* RETURNED_TO_DESK: the desk's phone */
    const char *tracking_url;   /* e-mail only: the tracking page; NULL = none */
} message_input_t;

/* message_kind_name - "out_for_delivery", … (static); NULL for an unknown kind */
const char *message_kind_name(message_kind_t kind);
/* message_kind_from_name - 0 and *out, or -1 when name is not a kind */
int message_kind_from_name(const char *name, message_kind_t *out);

/* message_sms_text - append the SMS text for in to out. 0, or -1 with err
 * naming the bad input (missing dossier code, input not UTF-8, too long). */
int message_sms_text(const message_input_t *in, buf_t *out, char *err, size_t errlen);

/* message_email - append the e-mail subject (one line) and plain-text body
 * (UTF-8, "\n" line ends) for in. 0, or -1 with err as message_sms_text. */
int message_email(const message_input_t *in, buf_t *subject, buf_t *body, char *err, size_t errlen);

/* message_sms_units - UTF-16 code units of a UTF-8 text (what UCS-2 SMS
 * segments count); -1 when s is not valid UTF-8 */
long message_sms_units(const char *s, size_t len);

/* message_sms_segments - segments the text needs: GSM 7-bit (160, or 153 per
 * part) when every character is in the GSM basic set (extension characters
 * count twice), else UCS-2 (70, or 67 per part). -1 when not UTF-8. */
int message_sms_segments(const char *s, size_t len);

/* message_unaccented - append s without diacritics ("Bưu điện" → "Buu dien")
 * for a provider that only takes GSM 7-bit. 0, or -1 when s is not UTF-8 or
 * out is full. Not used unless a provider's configuration asks for it. */
int message_unaccented(const char *s, buf_t *out);

#endif
