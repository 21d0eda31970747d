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
/* clock_iso8601 - "2026-11-23T10:15:00.123+07:00" in Vietnam time; out >= 32 bytes */
void clock_iso8601(int64_t ms, char *out, size_t outlen);
/* clock_dvc - "yyyyMMddHHmmss" in Vietnam time (case-system format); out >= 15 bytes */
void clock_dvc(int64_t ms, char *out, size_t outlen);
/* clock_parse_vn - parse "dd/MM/yyyy HH:mm:ss" or ISO "yyyy-MM-ddTHH:mm:ss[.sss][Z|+07:00]"
 * (no zone means Vietnam time); returns 0 and sets *ms, or -1 */
int clock_parse(const char *s, int64_t *ms);

#endif
