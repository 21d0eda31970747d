/*
 * calendar - Vietnamese working days and transit due dates (design §1)
 *
 * Working days are Monday to Friday, minus public holidays (Bộ luật Lao động
 * 2019 Điều 112 and the yearly announcements), plus weekend days made working
 * days by a swap. A calendar starts from the table compiled into this module
 * (the same dates as data/holidays-vn.conf, so bccid works from any
 * directory); a file given by the operator (config key calendar_file) extends
 * it, and a file entry replaces the built-in entry of the same date.
 *
 * Dates are Vietnam dates (UTC+7, no daylight saving). Times are int64 UTC
 * milliseconds like everywhere else; a date is returned as the time of its
 * first millisecond in Vietnam (00:00 +07:00).
 *
 * Ownership: calendar_new / calendar_load return a calendar the caller owns
 * and releases with calendar_destroy. A calendar is read-only after loading,
 * so several threads may query one calendar at the same time.
 */
#ifndef BCCI_CALENDAR_H
#define BCCI_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#define CALENDAR_DEFAULT_FILE "data/holidays-vn.conf"
#define CALENDAR_MAX_DAYS 3660 /* the longest span calendar_add_working_days walks */
#define CALENDAR_DAY_MS (86400LL * 1000)

typedef struct calendar calendar_t;

/* calendar_new - the built-in table only; NULL when out of memory. Caller owns. */
calendar_t *calendar_new(void);

/* calendar_load - the built-in table extended by the file at path (NULL or ""
 * = built-in only). NULL with err ("FILE:LINE: what is wrong") when the file
 * cannot be read or is malformed. Caller owns. */
calendar_t *calendar_load(const char *path, char *err, size_t errlen);

/* calendar_merge_file - add the entries of a file to cal. All or nothing: on
 * -1 (err says which line and what is wrong) cal is unchanged. */
int calendar_merge_file(calendar_t *cal, const char *path, char *err, size_t errlen);

/* calendar_merge_text - as calendar_merge_file for text in memory; source
 * names it in messages (e.g. the file name) */
int calendar_merge_text(calendar_t *cal, const char *text, size_t len, const char *source, char *err,
                        size_t errlen);

void calendar_destroy(calendar_t **cal);

/* calendar_count - how many dated entries (holidays and swapped working days) */
size_t calendar_count(const calendar_t *cal);

/* calendar_is_working_day - 1 working day, 0 not, -1 when y-m-d is not a date */
int calendar_is_working_day(const calendar_t *cal, int y, int m, int d);

/* calendar_day_name - the name of the entry on that date ("Quốc khánh"),
 * NULL when the date has none. Borrowed until calendar_destroy. */
const char *calendar_day_name(const calendar_t *cal, int y, int m, int d);

/* calendar_ymd - the Vietnam date of a UTC time */
void calendar_ymd(int64_t ms, int *y, int *m, int *d);

/* calendar_add_working_days - the date J+n, where J is the Vietnam date of
 * start_ms: n = 0 is J itself, J+1 is the first working day after J, and so
 * on (J need not be a working day). Returns 00:00 (+07:00) of that date as
 * UTC ms, or -1 when n < 0 or the walk exceeds CALENDAR_MAX_DAYS. cal NULL counts
 * weekends only. The one working-day calculation of the gateway: due dates, invitation
 * spacing, the tracking page's expected date. */
int64_t calendar_add_working_days(const calendar_t *cal, int64_t start_ms, int n);

/* calendar_transit_days - TT 17/2017 Điều 7.2 transit limit in working days, the one table
 * of it: same commune 1, same province 2, another province 3 when either end is a special or
 * class-I city (major_city, admin_units_province_is_city), else 4; doubled when an
 * appointment slip travels with the item. Since 1/7/2025 there are no districts: "same
 * district" reads "same commune", "between districts of a province" "same province". */
int calendar_transit_days(int same_commune, int same_province, int major_city, int appointment_slip);

/* calendar_due_date - the last day of transit for an item taken at
 * accepted_ms: J + calendar_transit_days(...). The item is late once the
 * returned day is over (now >= result + CALENDAR_DAY_MS). -1 as above. */
int64_t calendar_due_date(const calendar_t *cal, int64_t accepted_ms, int same_commune, int same_province,
                          int major_city, int appointment_slip);

#endif
