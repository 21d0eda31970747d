/*
 * calendar - Vietnamese working days and transit due dates (design §1)
 *
 * The built-in table below is a copy of the dated lines of
 * data/holidays-vn.conf (tests/unit/calendar_test.c fails when the two
 * differ), parsed by the same line parser as an operator's file. Entries are
 * kept sorted by day number (days since 1970-01-01) and looked up by binary
 * search; a later entry for the same date replaces the earlier one.
 */
#include "domain/calendar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define CAL_NAME_MAX 160
#define CAL_LINE_MAX 512
#define CAL_FILE_MAX (1024 * 1024)
#define CAL_YEAR_MIN 2000
#define CAL_YEAR_MAX 2199

/* the dated lines of data/holidays-vn.conf; keep both in step */
static const char *const builtin_lines[] = {
    "2025-01-01  holiday  Tết Dương lịch",
    "2025-01-27  holiday  Tết Âm lịch (cuối năm)",
    "2025-01-28  holiday  Tết Âm lịch (cuối năm)",
    "2025-01-29  holiday  Tết Âm lịch (mùng 1)",
    "2025-01-30  holiday  Tết Âm lịch (mùng 2)",
    "2025-01-31  holiday  Tết Âm lịch (mùng 3)",
    "2025-04-07  holiday  Giỗ Tổ Hùng Vương (10/3 âm lịch)",
    "2025-04-26  workday  Làm bù cho thứ Sáu 2/5/2025",
    "2025-04-30  holiday  Ngày Chiến thắng",
    "2025-05-01  holiday  Ngày Quốc tế lao động",
    "2025-05-02  holiday  Nghỉ hoán đổi (làm bù thứ Bảy 26/4/2025)",
    "2025-09-01  holiday  Quốc khánh (ngày liền kề)",
    "2025-09-02  holiday  Quốc khánh",
    "2026-01-01  holiday  Tết Dương lịch",
    "2026-02-16  holiday  Tết Âm lịch (cuối năm)",
    "2026-02-17  holiday  Tết Âm lịch (mùng 1)",
    "2026-02-18  holiday  Tết Âm lịch (mùng 2)",
    "2026-02-19  holiday  Tết Âm lịch (mùng 3)",
    "2026-02-20  holiday  Tết Âm lịch (mùng 4)",
    "2026-04-27  holiday  Nghỉ bù Giỗ Tổ Hùng Vương (26/4 là Chủ nhật)",
    "2026-04-30  holiday  Ngày Chiến thắng",
    "2026-05-01  holiday  Ngày Quốc tế lao động",
    "2026-09-01  holiday  Quốc khánh (ngày liền kề)",
    "2026-09-02  holiday  Quốc khánh",
    "2027-01-01  holiday  Tết Dương lịch",
    "2027-02-04  holiday  Tết Âm lịch (ESTIMATED)",
    "2027-02-05  holiday  Tết Âm lịch (ESTIMATED)",
    "2027-02-08  holiday  Tết Âm lịch (ESTIMATED)",
    "2027-02-09  holiday  Tết Âm lịch (ESTIMATED)",
    "2027-02-10  holiday  Tết Âm lịch (ESTIMATED)",
    "2027-04-16  holiday  Giỗ Tổ Hùng Vương (10/3 âm lịch)",
    "2027-04-30  holiday  Ngày Chiến thắng",
    "2027-05-03  holiday  Nghỉ bù Ngày Quốc tế lao động (1/5 là thứ Bảy)",
    "2027-09-02  holiday  Quốc khánh",
    "2027-09-03  holiday  Quốc khánh (ngày liền kề, ESTIMATED)",
    NULL,
};

typedef struct {
    int32_t day;     /* days since 1970-01-01 */
    int workday;     /* 1: a weekend day made a working day; 0: a holiday */
    char name[CAL_NAME_MAX];
} cal_entry_t;

struct calendar {
    cal_entry_t *e;
    size_t n, cap;
};

/* ---- date arithmetic (proleptic Gregorian, H. Hinnant's algorithms) ----- */

static int32_t
days_from_civil(int y, int m, int d)
{
    int era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

static void
civil_from_days(int32_t z, int *y, int *m, int *d)
{
    int era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static int
days_in_month(int y, int m)
{
    static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

static int
valid_date(int y, int m, int d)
{
    return y >= CAL_YEAR_MIN && y <= CAL_YEAR_MAX && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* weekday - 0 Sunday .. 6 Saturday (1970-01-01 was a Thursday) */
static int
weekday(int32_t day)
{
    int w = (int)((day + 4) % 7);

    return w < 0 ? w + 7 : w;
}

/* vn_day - the Vietnam day number of a UTC time */
static int32_t
vn_day(int64_t ms)
{
    int64_t t = ms + VN_UTC_OFFSET_MS;

    return (int32_t)(t >= 0 ? t / CALENDAR_DAY_MS : -((-t + CALENDAR_DAY_MS - 1) / CALENDAR_DAY_MS));
}

void
calendar_ymd(int64_t ms, int *y, int *m, int *d)
{
    civil_from_days(vn_day(ms), y, m, d);
}

/* ---- the table ---------------------------------------------------------------- */

static const cal_entry_t *
find(const calendar_t *cal, int32_t day)
{
    size_t lo = 0, hi = cal ? cal->n : 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (cal->e[mid].day == day)
            return &cal->e[mid];
        if (cal->e[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* put - insert or replace, keeping the table sorted; -1 when out of memory */
static int
put(calendar_t *cal, const cal_entry_t *ent)
{
    size_t lo = 0, hi = cal->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (cal->e[mid].day < ent->day)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < cal->n && cal->e[lo].day == ent->day) {
        cal->e[lo] = *ent;
        return 0;
    }
    if (cal->n == cal->cap) {
        size_t ncap = cal->cap ? cal->cap * 2 : 64;
        cal_entry_t *ne = realloc(cal->e, ncap * sizeof *ne);

        if (!ne)
            return -1;
        cal->e = ne;
        cal->cap = ncap;
    }
    memmove(&cal->e[lo + 1], &cal->e[lo], (cal->n - lo) * sizeof *ent);
    cal->e[lo] = *ent;
    cal->n++;
    return 0;
}

/* ---- parsing ------------------------------------------------------------------- */

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int
parse_2or4(const char *p, int ndig, int *out)
{
    int i, v = 0;

    for (i = 0; i < ndig; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/*
 * parse_line - one line (without its newline) into *ent. Returns 1 for an
 * entry, 0 for a blank or comment line, -1 with err (without the position).
 */
static int
parse_line(const char *line, size_t len, cal_entry_t *ent, char *err, size_t errlen)
{
    const char *p = line, *end = line + len, *kind, *name;
    size_t klen, nlen;
    int y, m, d;

    memset(ent, 0, sizeof *ent);
    while (p < end && is_space(*p))
        p++;
    if (p == end || *p == '#')
        return 0;
    if (end - p < 10 || parse_2or4(p, 4, &y) != 0 || p[4] != '-' || parse_2or4(p + 5, 2, &m) != 0 ||
        p[7] != '-' || parse_2or4(p + 8, 2, &d) != 0 || (p + 10 < end && !is_space(p[10]))) {
        snprintf(err, errlen, "'%.*s' does not start with a date YYYY-MM-DD", (int)(len > 40 ? 40 : len), line);
        return -1;
    }
    if (!valid_date(y, m, d)) {
        snprintf(err, errlen, "%.10s is not a calendar date between %d and %d", p, CAL_YEAR_MIN, CAL_YEAR_MAX);
        return -1;
    }
    ent->day = days_from_civil(y, m, d);
    p += 10;
    while (p < end && is_space(*p))
        p++;
    kind = p;
    while (p < end && !is_space(*p))
        p++;
    klen = (size_t)(p - kind);
    if (klen == 7 && memcmp(kind, "holiday", 7) == 0) {
        ent->workday = 0;
    } else if (klen == 7 && memcmp(kind, "workday", 7) == 0) {
        ent->workday = 1;
    } else {
        snprintf(err, errlen, "after the date, want 'holiday' or 'workday', got '%.*s'", (int)(klen > 20 ? 20 : klen),
                 kind);
        return -1;
    }
    while (p < end && is_space(*p))
        p++;
    name = p;
    nlen = (size_t)(end - name);
    while (nlen > 0 && is_space(name[nlen - 1]))
        nlen--;
    if (nlen == 0) {
        snprintf(err, errlen, "the %.7s needs a name after '%.7s'", kind, kind);
        return -1;
    }
    if (nlen >= sizeof ent->name) {
        snprintf(err, errlen, "the name is %zu bytes long, at most %zu", nlen, sizeof ent->name - 1);
        return -1;
    }
    if (memchr(name, '\0', nlen)) {
        snprintf(err, errlen, "the line holds a NUL byte");
        return -1;
    }
    memcpy(ent->name, name, nlen);
    ent->name[nlen] = '\0';
    return 1;
}

/* parse_all - the entries of text into a fresh calendar (sorted, one per date) */
static calendar_t *
parse_all(const char *text, size_t len, const char *source, char *err, size_t errlen)
{
    calendar_t *tmp = calloc(1, sizeof *tmp);
    size_t off = 0, lineno = 0;
    char why[200];

    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", source);
        return NULL;
    }
    while (off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t llen = nl ? (size_t)(nl - (text + off)) : len - off;
        cal_entry_t ent;
        int rc;

        lineno++;
        if (llen > CAL_LINE_MAX) {
            snprintf(err, errlen, "%s:%zu: line longer than %d bytes", source, lineno, CAL_LINE_MAX);
            goto fail;
        }
        rc = parse_line(text + off, llen, &ent, why, sizeof why);
        off += llen + (nl ? 1 : 0);
        if (rc < 0) {
            snprintf(err, errlen, "%s:%zu: %s", source, lineno, why);
            goto fail;
        }
        if (rc == 0)
            continue;
        if (find(tmp, ent.day)) {
            int y, m, d;

            civil_from_days(ent.day, &y, &m, &d);
            snprintf(err, errlen, "%s:%zu: %04d-%02d-%02d is listed twice", source, lineno, y, m, d);
            goto fail;
        }
        if (put(tmp, &ent) != 0) {
            snprintf(err, errlen, "%s: out of memory", source);
            goto fail;
        }
    }
    return tmp;
fail:
    calendar_destroy(&tmp);
    return NULL;
}

int
calendar_merge_text(calendar_t *cal, const char *text, size_t len, const char *source, char *err, size_t errlen)
{
    calendar_t *tmp;
    cal_entry_t *save;
    size_t i, save_n, save_cap;

    tmp = parse_all(text, len, source ? source : "calendar", err, errlen);
    if (!tmp)
        return -1;
    /* all or nothing: merge into a copy, then swap */
    save = cal->e;
    save_n = cal->n;
    save_cap = cal->cap;
    cal->e = NULL;
    cal->n = cal->cap = 0;
    if (save_n) {
        cal->e = malloc(save_n * sizeof *cal->e);
        if (!cal->e)
            goto nomem;
        memcpy(cal->e, save, save_n * sizeof *cal->e);
        cal->n = cal->cap = save_n;
    }
    for (i = 0; i < tmp->n; i++)
        if (put(cal, &tmp->e[i]) != 0)
            goto nomem;
    free(save);
    calendar_destroy(&tmp);
    return 0;
nomem:
    free(cal->e);
    cal->e = save;
    cal->n = save_n;
    cal->cap = save_cap;
    calendar_destroy(&tmp);
    snprintf(err, errlen, "%s: out of memory", source ? source : "calendar");
    return -1;
}

int
calendar_merge_file(calendar_t *cal, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t n;
    int rc = -1;

    if (!f) {
        snprintf(err, errlen, "cannot read calendar_file %s: %s", path, strerror(errno));
        return -1;
    }
    text = malloc(CAL_FILE_MAX + 1);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    n = fread(text, 1, CAL_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read calendar_file %s: read error", path);
        goto out;
    }
    if (n > CAL_FILE_MAX) {
        snprintf(err, errlen, "calendar_file %s is larger than %d bytes", path, CAL_FILE_MAX);
        goto out;
    }
    rc = calendar_merge_text(cal, text, n, path, err, errlen);
out:
    free(text);
    fclose(f);
    return rc;
}

calendar_t *
calendar_new(void)
{
    calendar_t *cal = calloc(1, sizeof *cal);
    char err[256];
    size_t i;

    if (!cal)
        return NULL;
    for (i = 0; builtin_lines[i]; i++) {
        cal_entry_t ent;

        /* the built-in lines are checked by calendar_test; a bad one is a bug */
        if (parse_line(builtin_lines[i], strlen(builtin_lines[i]), &ent, err, sizeof err) != 1 ||
            put(cal, &ent) != 0) {
            calendar_destroy(&cal);
            return NULL;
        }
    }
    return cal;
}

calendar_t *
calendar_load(const char *path, char *err, size_t errlen)
{
    calendar_t *cal = calendar_new();

    if (!cal) {
        snprintf(err, errlen, "calendar: out of memory");
        return NULL;
    }
    if (path && *path && calendar_merge_file(cal, path, err, errlen) != 0)
        calendar_destroy(&cal);
    return cal;
}

void
calendar_destroy(calendar_t **calp)
{
    calendar_t *cal = calp ? *calp : NULL;

    if (!cal)
        return;
    free(cal->e);
    free(cal);
    *calp = NULL;
}

size_t
calendar_count(const calendar_t *cal)
{
    return cal->n;
}

/* ---- queries ------------------------------------------------------------------- */

static int
working_day(const calendar_t *cal, int32_t day)
{
    const cal_entry_t *e = find(cal, day);
    int w;

    if (e)
        return e->workday;
    w = weekday(day);
    return w != 0 && w != 6;
}

int
calendar_is_working_day(const calendar_t *cal, int y, int m, int d)
{
    if (!valid_date(y, m, d))
        return -1;
    return working_day(cal, days_from_civil(y, m, d));
}

const char *
calendar_day_name(const calendar_t *cal, int y, int m, int d)
{
    const cal_entry_t *e;

    if (!valid_date(y, m, d))
        return NULL;
    e = find(cal, days_from_civil(y, m, d));
    return e ? e->name : NULL;
}

int64_t
calendar_add_working_days(const calendar_t *cal, int64_t start_ms, int n)
{
    int32_t day = vn_day(start_ms);
    int walked = 0;

    if (n < 0)
        return -1;
    while (n > 0) {
        day++;
        if (++walked > CALENDAR_MAX_DAYS)
            return -1;
        if (working_day(cal, day))
            n--;
    }
    return (int64_t)day * CALENDAR_DAY_MS - VN_UTC_OFFSET_MS;
}

int
calendar_transit_days(int same_commune, int same_province, int major_city, int appointment_slip)
{
    int days = same_commune ? 1 : same_province ? 2 : major_city ? 3 : 4;

    return appointment_slip ? days * 2 : days;
}

int64_t
calendar_due_date(const calendar_t *cal, int64_t accepted_ms, int same_commune, int same_province, int major_city,
                  int appointment_slip)
{
    return calendar_add_working_days(
        cal, accepted_ms, calendar_transit_days(same_commune, same_province, major_city, appointment_slip));
}
