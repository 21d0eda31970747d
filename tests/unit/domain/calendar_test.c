/*
 * calendar_test - working days, J+n due dates and the holiday file (gateway/calendar.c)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libgen.h>
#include <unistd.h>

#include "domain/calendar.h"

static char shipped_path[4096];

/* vn_ms - a Vietnam local time as UTC ms */
static int64_t
vn_ms(int y, int m, int d, int hh, int mm)
{
    /* days_from_civil, independent of the module under test: count via a loop */
    static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int64_t days = 0;
    int i;

    for (i = 1970; i < y; i++)
        days += ((i % 4 == 0 && i % 100 != 0) || i % 400 == 0) ? 366 : 365;
    for (i = 1; i < m; i++)
        days += dim[i - 1] + (i == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    days += d - 1;
    return days * 86400000LL + (int64_t)hh * 3600000LL + (int64_t)mm * 60000LL - 7LL * 3600000LL;
}

static void
expect_date(const char *what, int64_t got_ms, int y, int m, int d)
{
    int gy = 0, gm = 0, gd = 0;

    if (got_ms < 0)
        fail_msg("%s: got -1, want %04d-%02d-%02d", what, y, m, d);
    calendar_ymd(got_ms, &gy, &gm, &gd);
    if (gy != y || gm != m || gd != d)
        fail_msg("%s: got %04d-%02d-%02d, want %04d-%02d-%02d", what, gy, gm, gd, y, m, d);
    if (got_ms != vn_ms(y, m, d, 0, 0))
        fail_msg("%s: got %lld, want 00:00 +07:00 of the day (%lld)", what, (long long)got_ms,
                 (long long)vn_ms(y, m, d, 0, 0));
}

static void
test_working_days(void **state)
{
    static const struct {
        int y, m, d, want;
        const char *why;
    } cases[] = {
        { 2025, 1, 2, 1, "an ordinary Thursday" },
        { 2025, 1, 4, 0, "a Saturday" },
        { 2025, 1, 5, 0, "a Sunday" },
        { 2025, 1, 1, 0, "Tết Dương lịch" },
        { 2025, 1, 29, 0, "mùng 1 Tết Ất Tỵ" },
        { 2025, 2, 3, 1, "the Monday after Tết 2025" },
        { 2025, 4, 7, 0, "Giỗ Tổ 2025" },
        { 2025, 4, 26, 1, "Saturday 26/4/2025, swapped working day" },
        { 2025, 4, 30, 0, "30/4" },
        { 2025, 5, 1, 0, "1/5" },
        { 2025, 5, 2, 0, "Friday 2/5/2025, swapped day off" },
        { 2025, 9, 1, 0, "Quốc khánh 2025 adjacent day" },
        { 2025, 9, 2, 0, "Quốc khánh 2025" },
        { 2025, 9, 3, 1, "the day after Quốc khánh 2025" },
        { 2026, 2, 13, 1, "Friday before Tết 2026" },
        { 2026, 2, 16, 0, "Tết 2026 Monday" },
        { 2026, 2, 20, 0, "Tết 2026 Friday" },
        { 2026, 2, 23, 1, "Monday after Tết 2026" },
        { 2026, 4, 27, 0, "compensatory day for Giỗ Tổ 2026 (Sunday 26/4)" },
        { 2027, 5, 3, 0, "compensatory day for 1/5/2027 (Saturday)" },
        { 2028, 3, 1, 1, "a Wednesday beyond the table" },
        { 2024, 2, 29, 1, "leap day 2024, a Thursday" },
    };
    calendar_t *cal = calendar_new();
    size_t i;

    (void)state;
    assert_non_null(cal);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = calendar_is_working_day(cal, cases[i].y, cases[i].m, cases[i].d);

        if (got != cases[i].want)
            fail_msg("%04d-%02d-%02d (%s): got %d, want %d", cases[i].y, cases[i].m, cases[i].d, cases[i].why, got,
                     cases[i].want);
    }
    if (calendar_is_working_day(cal, 2025, 2, 29) != -1 || calendar_is_working_day(cal, 2025, 13, 1) != -1 ||
        calendar_is_working_day(cal, 2025, 4, 0) != -1)
        fail_msg("invalid dates must give -1");
    if (!calendar_day_name(cal, 2025, 9, 2) || strcmp(calendar_day_name(cal, 2025, 9, 2), "Quốc khánh") != 0)
        fail_msg("name of 2025-09-02: got '%s', want 'Quốc khánh'",
                 calendar_day_name(cal, 2025, 9, 2) ? calendar_day_name(cal, 2025, 9, 2) : "(null)");
    if (calendar_day_name(cal, 2025, 9, 3) != NULL)
        fail_msg("2025-09-03 has a name, want none");
    calendar_destroy(&cal);
    assert_null(cal);
}

static void
test_due_dates(void **state)
{
    static const struct {
        const char *why;
        int y, m, d, hh, mm;            /* accepted, Vietnam time */
        int commune, province, city, slip; /* city: either end a special or class-I city */
        int wy, wm, wd;                 /* due date */
    } cases[] = {
        { "same commune, Friday → Monday", 2025, 3, 7, 10, 0, 1, 1, 0, 0, 2025, 3, 10 },
        { "same province, Friday → Tuesday", 2025, 3, 7, 10, 0, 0, 1, 0, 0, 2025, 3, 11 },
        { "other province, Friday → Thursday", 2025, 3, 7, 10, 0, 0, 0, 0, 0, 2025, 3, 13 },
        { "other province + slip (J+8)", 2025, 3, 7, 10, 0, 0, 0, 0, 1, 2025, 3, 19 },
        { "same commune + slip (J+2)", 2025, 3, 7, 10, 0, 1, 1, 0, 1, 2025, 3, 11 },
        { "same province + slip (J+4)", 2025, 3, 7, 10, 0, 0, 1, 0, 1, 2025, 3, 13 },
        { "taken on a Saturday counts from Saturday", 2025, 3, 8, 9, 0, 1, 1, 0, 0, 2025, 3, 10 },
        { "Tết 2026: Friday 13/2 → Monday 23/2", 2026, 2, 13, 15, 0, 1, 1, 0, 0, 2026, 2, 23 },
        { "Tết 2026: 23:30 is still 13/2 in Vietnam", 2026, 2, 13, 23, 30, 0, 1, 0, 0, 2026, 2, 24 },
        { "Tết 2026: other province", 2026, 2, 12, 8, 0, 0, 0, 0, 0, 2026, 2, 25 },
        { "Tết 2026: other province + slip", 2026, 2, 12, 8, 0, 0, 0, 0, 1, 2026, 3, 3 },
        { "swapped Saturday 26/4/2025 is J+1", 2025, 4, 25, 9, 0, 1, 1, 0, 0, 2025, 4, 26 },
        { "same province + slip across the swap", 2025, 4, 25, 9, 0, 0, 1, 0, 1, 2025, 5, 5 },
        { "30/4–4/5/2025 break", 2025, 4, 29, 9, 0, 1, 1, 0, 0, 2025, 5, 5 },
        { "other province across the break", 2025, 4, 25, 9, 0, 0, 0, 0, 0, 2025, 5, 5 },
        { "Giỗ Tổ 2026 made up on Monday 27/4", 2026, 4, 24, 9, 0, 1, 1, 0, 0, 2026, 4, 28 },
        { "Quốc khánh 2025", 2025, 8, 29, 9, 0, 1, 1, 0, 0, 2025, 9, 3 },
        { "New Year 2026", 2025, 12, 31, 16, 0, 1, 1, 0, 0, 2026, 1, 2 },
        /* every route of TT 17 Điều 7.2 across Tết Bính Ngọ (holidays 16–20/2/2026, weekends 14–15
         * and 21–22/2), taken on Thursday 12/2: J+1 is Friday 13/2, J+2 Monday 23/2 */
        { "Tết 2026 route same commune (J+1)", 2026, 2, 12, 8, 0, 1, 1, 0, 0, 2026, 2, 13 },
        { "Tết 2026 route same province (J+2)", 2026, 2, 12, 8, 0, 0, 1, 0, 0, 2026, 2, 23 },
        { "Tết 2026 route to or from a special/class-I city (J+3)", 2026, 2, 12, 8, 0, 0, 0, 1, 0, 2026, 2, 24 },
        { "Tết 2026 route between other provinces (J+4)", 2026, 2, 12, 8, 0, 0, 0, 0, 0, 2026, 2, 25 },
        { "Tết 2026 same commune + slip (J+2)", 2026, 2, 12, 8, 0, 1, 1, 0, 1, 2026, 2, 23 },
        { "Tết 2026 same province + slip (J+4)", 2026, 2, 12, 8, 0, 0, 1, 0, 1, 2026, 2, 25 },
        { "Tết 2026 city route + slip (J+6)", 2026, 2, 12, 8, 0, 0, 0, 1, 1, 2026, 2, 27 },
        { "Tết 2026 other provinces + slip (J+8)", 2026, 2, 12, 8, 0, 0, 0, 0, 1, 2026, 3, 3 },
        { "a city does not shorten a route inside one province", 2026, 2, 12, 8, 0, 0, 1, 1, 0, 2026, 2, 23 },
        /* Tết Ất Tỵ (holidays 27–31/1/2025), taken on Friday 24/1: J+1 is Monday 3/2 */
        { "Tết 2025 route same commune (J+1)", 2025, 1, 24, 10, 0, 1, 1, 0, 0, 2025, 2, 3 },
        { "Tết 2025 route same province (J+2)", 2025, 1, 24, 10, 0, 0, 1, 0, 0, 2025, 2, 4 },
        { "Tết 2025 route to or from a special/class-I city (J+3)", 2025, 1, 24, 10, 0, 0, 0, 1, 0, 2025, 2, 5 },
        { "Tết 2025 route between other provinces (J+4)", 2025, 1, 24, 10, 0, 0, 0, 0, 0, 2025, 2, 6 },
        { "Tết 2025 city route + slip (J+6)", 2025, 1, 24, 10, 0, 0, 0, 1, 1, 2025, 2, 10 },
    };
    calendar_t *cal = calendar_new();
    size_t i;

    (void)state;
    assert_non_null(cal);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t at = vn_ms(cases[i].y, cases[i].m, cases[i].d, cases[i].hh, cases[i].mm);

        expect_date(cases[i].why, calendar_due_date(cal, at, cases[i].commune, cases[i].province, cases[i].city,
                                      cases[i].slip),
                    cases[i].wy, cases[i].wm, cases[i].wd);
    }
    expect_date("J+0 is J", calendar_add_working_days(cal, vn_ms(2026, 2, 15, 12, 0), 0), 2026, 2, 15);
    expect_date("J+3 from Friday 25/4/2025", calendar_add_working_days(cal, vn_ms(2025, 4, 25, 12, 0), 3), 2025, 4,
                29);
    if (calendar_add_working_days(cal, vn_ms(2025, 1, 1, 0, 0), -1) != -1)
        fail_msg("n = -1: want -1");
    if (calendar_add_working_days(cal, vn_ms(2025, 1, 1, 0, 0), CALENDAR_MAX_DAYS) != -1)
        fail_msg("n = CALENDAR_MAX_DAYS working days: want -1 (walk longer than the bound)");
    calendar_destroy(&cal);
}

static void
test_transit_days(void **state)
{
    static const struct {
        int commune, province, city, slip, want;
    } cases[] = {
        { 1, 1, 0, 0, 1 }, { 0, 1, 0, 0, 2 }, { 0, 0, 1, 0, 3 }, { 0, 0, 0, 0, 4 },
        { 1, 1, 0, 1, 2 }, { 0, 1, 0, 1, 4 }, { 0, 0, 1, 1, 6 }, { 0, 0, 0, 1, 8 },
        { 1, 0, 0, 0, 1 }, /* same commune implies the province */
        { 1, 1, 1, 0, 1 }, { 0, 1, 1, 0, 2 }, /* a city only shortens a route between provinces */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = calendar_transit_days(cases[i].commune, cases[i].province, cases[i].city, cases[i].slip);

        if (got != cases[i].want)
            fail_msg("transit(commune %d, province %d, city %d, slip %d): got %d, want %d", cases[i].commune,
                     cases[i].province, cases[i].city, cases[i].slip, got, cases[i].want);
    }
}

static void
test_malformed(void **state)
{
    static const struct {
        const char *text;
        const char *want; /* substring of the message */
    } cases[] = {
        { "2025-1-01  holiday  x\n", "test.conf:1: '2025-1-01" },
        { "# c\n\n2025-02-30  holiday  x\n", "test.conf:3: 2025-02-30 is not a calendar date" },
        { "2025-03-01  vacation  x\n", "test.conf:1: after the date, want 'holiday' or 'workday', got 'vacation'" },
        { "2025-03-01  holiday\n", "test.conf:1: the holiday needs a name" },
        { "2025-03-01  holiday   \n", "test.conf:1: the holiday needs a name" },
        { "2025-03-01holiday x\n", "test.conf:1: '2025-03-01holiday x' does not start with a date" },
        { "2025-03-01  holiday  a\n# x\n2025-03-01  workday  b\n", "test.conf:3: 2025-03-01 is listed twice" },
        { "1999-12-31  holiday  x\n", "test.conf:1: 1999-12-31 is not a calendar date between 2000 and 2199" },
        { "holiday 2025-03-01 x\n", "test.conf:1: 'holiday 2025-03-01 x' does not start with a date" },
    };
    calendar_t *cal = calendar_new();
    size_t i, n0;
    char err[256];

    (void)state;
    assert_non_null(cal);
    n0 = calendar_count(cal);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        if (calendar_merge_text(cal, cases[i].text, strlen(cases[i].text), "test.conf", err, sizeof err) != -1)
            fail_msg("case %zu: got 0, want -1 for '%s'", i, cases[i].text);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: got message '%s', want it to contain '%s'", i, err, cases[i].want);
    }
    /* all or nothing: a file that fails on line 2 adds nothing from line 1 */
    {
        static const char text[] = "2025-03-03  holiday  ngày thử\n2025-03-04  bogus  x\n";

        if (calendar_merge_text(cal, text, strlen(text), "test.conf", err, sizeof err) != -1)
            fail_msg("partial file: got 0, want -1");
        if (calendar_count(cal) != n0 || calendar_is_working_day(cal, 2025, 3, 3) != 1)
            fail_msg("a failed merge changed the calendar: count %zu (want %zu), 2025-03-03 working %d (want 1)",
                     calendar_count(cal), n0, calendar_is_working_day(cal, 2025, 3, 3));
    }
    calendar_destroy(&cal);
    cal = calendar_load("no-such-dir/holidays.conf", err, sizeof err);
    if (cal || !strstr(err, "no-such-dir/holidays.conf"))
        fail_msg("missing file: got %p '%s', want NULL and a message naming the file", (void *)cal, err);
}

static void
test_operator_override(void **state)
{
    static const char text[] = "# operator's own file\r\n"
                               "2026-09-01  workday  Không nghỉ (quyết định của tỉnh)\r\n"
                               "2026-09-03\tholiday\tQuốc khánh (ngày liền kề)\r\n"
                               "2028-01-01  holiday  Tết Dương lịch"; /* no final newline */
    char dir[128], path[160], err[256];
    const char *tmpdir = getenv("TMPDIR");
    calendar_t *cal;
    FILE *f;

    (void)state;
    if (!tmpdir || !*tmpdir || strlen(tmpdir) > 100)
        tmpdir = P_tmpdir;
    snprintf(dir, sizeof dir, "%s/calXXXXXX", tmpdir);
    if (!mkdtemp(dir))
        fail_msg("mkdtemp failed");
    snprintf(path, sizeof path, "%s/holidays.conf", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    cal = calendar_load(path, err, sizeof err);
    if (!cal)
        fail_msg("calendar_load: %s", err);
    if (calendar_is_working_day(cal, 2026, 9, 1) != 1 || calendar_is_working_day(cal, 2026, 9, 3) != 0 ||
        calendar_is_working_day(cal, 2028, 1, 1) != 0 || calendar_is_working_day(cal, 2026, 9, 2) != 0)
        fail_msg("override: 2026-09-01 %d (want 1), 2026-09-03 %d (want 0), 2028-01-01 %d (want 0), 2026-09-02 %d "
                 "(want 0, built-in kept)",
                 calendar_is_working_day(cal, 2026, 9, 1), calendar_is_working_day(cal, 2026, 9, 3),
                 calendar_is_working_day(cal, 2028, 1, 1), calendar_is_working_day(cal, 2026, 9, 2));
    if (strcmp(calendar_day_name(cal, 2026, 9, 3), "Quốc khánh (ngày liền kề)") != 0)
        fail_msg("name with tabs: got '%s'", calendar_day_name(cal, 2026, 9, 3));
    expect_date("due date after the override", calendar_due_date(cal, vn_ms(2026, 8, 31, 9, 0), 1, 1, 0, 0), 2026, 9, 1);
    calendar_destroy(&cal);
    unlink(path);
    rmdir(dir);
}

/* test_shipped_file - data/holidays-vn.conf parses and says exactly what the built-in table says */
static void
test_shipped_file(void **state)
{
    calendar_t *builtin = calendar_new(), *loaded;
    char err[256], line[600];
    FILE *f;
    size_t dated = 0;

    (void)state;
    assert_non_null(builtin);
    loaded = calendar_load(shipped_path, err, sizeof err);
    if (!loaded)
        fail_msg("the shipped calendar does not load: %s", err);
    if (calendar_count(loaded) != calendar_count(builtin))
        fail_msg("%s adds dates to the built-in table: %zu entries, want %zu (copy them into calendar.c)",
                 shipped_path, calendar_count(loaded), calendar_count(builtin));
    f = fopen(shipped_path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        int y, m, d, n = 0;
        char kind[16];
        const char *name, *got;
        size_t len;

        if (sscanf(line, "%4d-%2d-%2d %15s %n", &y, &m, &d, kind, &n) != 4 || n == 0)
            continue;
        dated++;
        name = line + n;
        len = strlen(name);
        while (len > 0 && (name[len - 1] == '\n' || name[len - 1] == ' '))
            line[n + --len] = '\0';
        got = calendar_day_name(builtin, y, m, d);
        if (!got || strcmp(got, name) != 0)
            fail_msg("%04d-%02d-%02d: built-in name '%s', file says '%s'", y, m, d, got ? got : "(none)", name);
        if (calendar_is_working_day(builtin, y, m, d) != (strcmp(kind, "workday") == 0))
            fail_msg("%04d-%02d-%02d: built-in kind differs from the file's '%s'", y, m, d, kind);
    }
    fclose(f);
    if (dated != calendar_count(builtin))
        fail_msg("%s has %zu dated lines, the built-in table %zu", shipped_path, dated, calendar_count(builtin));
    calendar_destroy(&loaded);
    calendar_destroy(&builtin);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_working_days),   cmocka_unit_test(test_due_dates),
        cmocka_unit_test(test_transit_days),   cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_operator_override), cmocka_unit_test(test_shipped_file),
    };
    char copy[4096];

    /* run from the repository root (make test-unit), else from beside build/<mode>/tests/ */
    snprintf(shipped_path, sizeof shipped_path, "%s", CALENDAR_DEFAULT_FILE);
    if (access(shipped_path, R_OK) != 0 && argc > 0) {
        snprintf(copy, sizeof copy, "%s", argv[0]);
        snprintf(shipped_path, sizeof shipped_path, "%s/../../../%s", dirname(copy), CALENDAR_DEFAULT_FILE);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
