/*
 * clock - time sources and domain formats (see clock.h)
 */
#include "clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t
clock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
vn_tm(int64_t ms, struct tm *tm)
{
    time_t t = (time_t)((ms + VN_UTC_OFFSET_MS) / 1000);

    gmtime_r(&t, tm);
}

char *
clock_format(int64_t ms, clock_format_t format, char *out, size_t outlen)
{
    struct tm tm;
    int frac = (int)(((ms % 1000) + 1000) % 1000);

    if (!outlen)
        return out;
    if (format == CLOCK_UTC_ISO8601) {
        time_t t = (time_t)(ms / 1000);

        gmtime_r(&t, &tm);
    } else {
        vn_tm(ms, &tm);
    }
    switch (format) {
    case CLOCK_ISO8601:
    case CLOCK_UTC_ISO8601:
        snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, frac, format == CLOCK_ISO8601 ? "+07:00" : "Z");
        break;
    case CLOCK_DVC:
        snprintf(out, outlen, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
        break;
    case CLOCK_YMD:
        snprintf(out, outlen, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        break;
    case CLOCK_VN_DATE:
        snprintf(out, outlen, "%02d/%02d/%04d", tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900);
        break;
    case CLOCK_VN_DATETIME:
        snprintf(out, outlen, "%02d/%02d/%04d %02d:%02d:%02d", tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
        break;
    case CLOCK_VN_MINUTE:
        snprintf(out, outlen, "%02d/%02d/%04d %02d:%02d", tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900, tm.tm_hour,
                 tm.tm_min);
        break;
    }
    return out;
}

int
clock_weekday(int64_t ms)
{
    struct tm tm;

    vn_tm(ms, &tm);
    return tm.tm_wday;
}

void
clock_iso8601(int64_t ms, char *out, size_t outlen)
{
    clock_format(ms, CLOCK_ISO8601, out, outlen);
}

void
clock_dvc(int64_t ms, char *out, size_t outlen)
{
    clock_format(ms, CLOCK_DVC, out, outlen);
}

static int
tm_to_ms(int y, int mo, int d, int h, int mi, int s, int64_t *ms)
{
    struct tm tm;
    time_t t;

    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        s < 0 || s > 60)
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *ms = (int64_t)t * 1000;
    return 0;
}

int
clock_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, n = 0, frac = 0;
    int64_t v;

    if (sscanf(s, "%2d/%2d/%4d %2d:%2d:%2d%n", &d, &mo, &y, &h, &mi, &sec, &n) == 6 && s[n] == '\0') {
        if (tm_to_ms(y, mo, d, h, mi, sec, &v))
            return -1;
        *ms = v - VN_UTC_OFFSET_MS;
        return 0;
    }
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6 ||
        sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6) {
        const char *p = s + n;
        int64_t offset = VN_UTC_OFFSET_MS;

        if (tm_to_ms(y, mo, d, h, mi, sec, &v))
            return -1;
        if (*p == '.') {
            int digits = 0;
            p++;
            while (*p >= '0' && *p <= '9') {
                if (digits < 3) {
                    frac = frac * 10 + (*p - '0');
                    digits++;
                }
                p++;
            }
            while (digits++ < 3)
                frac *= 10;
        }
        if (*p == 'Z') {
            offset = 0;
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
                return -1;
            offset = ((int64_t)oh * 3600 + om * 60) * 1000 * (*p == '-' ? -1 : 1);
            p += 6;
        }
        if (*p)
            return -1;
        *ms = v + frac - offset;
        return 0;
    }
    return -1;
}
