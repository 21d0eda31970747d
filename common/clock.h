/*
 * clock - wall and monotonic time, and the time formats of the domain
 *
 * Times are int64 milliseconds since the Unix epoch (UTC). Vietnam has no
 * daylight saving, so Asia/Ho_Chi_Minh is UTC+7 all year; the formatters
 * use that fixed offset instead of the process's TZ.
 */
#ifndef BCCI_CLOCK_H
#define BCCI_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define VN_UTC_OFFSET_MS (7LL * 3600 * 1000)

int64_t clock_now_ms(void);       /* wall clock */
int64_t clock_mono_ms(void);      /* monotonic, for timeouts */
/* The time formats in use, one formatter for all of them (Vietnam time unless named UTC). */
typedef enum {
    CLOCK_ISO8601,        /* "2026-11-23T10:15:00.123+07:00" (the API); out >= 32 bytes */
    CLOCK_UTC_ISO8601,    /* "2026-11-23T03:15:00.123Z" (log lines); out >= 25 bytes */
    CLOCK_DVC,            /* "20261123101500", yyyyMMddHHmmss (the case system); out >= 15 bytes */
    CLOCK_YMD,            /* "20261123" (manifest ids); out >= 9 bytes */
    CLOCK_VN_DATE,        /* "23/11/2026" (what people read); out >= 11 bytes */
    CLOCK_VN_DATETIME,    /* "23/11/2026 10:15:00" (carrier dialects); out >= 20 bytes */
    CLOCK_VN_MINUTE,      /* "23/11/2026 10:15" (pages); out >= 17 bytes */
} clock_format_t;

/* clock_format - ms in format into out (always NUL-terminated, cut to outlen); returns out */
char *clock_format(int64_t ms, clock_format_t format, char *out, size_t outlen);
/* clock_weekday - 0 Sunday … 6 Saturday of the Vietnam date of ms */
int clock_weekday(int64_t ms);
/* clock_iso8601, clock_dvc - clock_format with CLOCK_ISO8601 / CLOCK_DVC */
void clock_iso8601(int64_t ms, char *out, size_t outlen);
void clock_dvc(int64_t ms, char *out, size_t outlen);
/* clock_parse_vn - parse "dd/MM/yyyy HH:mm:ss" or ISO "yyyy-MM-ddTHH:mm:ss[.sss][Z|+07:00]"
 * (no zone means Vietnam time); returns 0 and sets *ms, or -1 */
int clock_parse(const char *s, int64_t *ms);

#endif
