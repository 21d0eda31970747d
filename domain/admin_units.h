/*
 * admin_units - Vietnam's official administrative units, built in
 *
 * The 34 provinces and 3,321 communes (xã, phường, đặc khu) in force since
 * the 2025 reorganisation, with the General Statistics Office's codes and
 * each commune's postcode (mã bưu chính), so that labels, manifests and
 * pages print names, never bare codes, and intake can refuse an unknown
 * code or a commune outside its province. The table is generated at build
 * time from data/vn-admin-units.tsv (domain/gen_admin_units.py); that file
 * and its attribution are the source of truth.
 *
 * Ownership: every record and string is static, read-only data that lives
 * as long as the program; callers never free it. Lookups are pure (binary
 * search over the sorted table), thread-safe, and allocate nothing. Text
 * is UTF-8, NFC.
 */
#ifndef BCCI_ADMIN_UNITS_H
#define BCCI_ADMIN_UNITS_H

#include <stddef.h>

typedef struct {
    const char *code;      /* "01" */
    const char *unit;      /* "Thành phố" or "Tỉnh" */
    const char *name;      /* "Hà Nội" */
    const char *full_name; /* "Thành phố Hà Nội", as printed */
} admin_province_t;

typedef struct {
    const char *code;          /* "00008" */
    const char *province_code; /* "01" */
    const char *unit;          /* "Phường", "Xã" or "Đặc khu" */
    const char *name;          /* "Ngọc Hà" */
    const char *full_name;     /* "Phường Ngọc Hà", as printed */
    const char *postcode;      /* "11119"; "" when not known */
} admin_commune_t;

/* admin_units_province - the province with this 2-digit code, or NULL
 * (unknown code, NULL) */
const admin_province_t *admin_units_province(const char *code);

/* admin_units_commune - the commune with this 5-digit code, or NULL */
const admin_commune_t *admin_units_commune(const char *code);

/* admin_units_commune_in_province - 1 when both codes are known and the
 * commune belongs to the province, else 0 */
int admin_units_commune_in_province(const char *commune, const char *province);

/* admin_units_province_is_city - 1 for a centrally-run city (thành phố trực thuộc trung
 * ương: Hà Nội, TP Hồ Chí Minh, Hải Phòng, …), each a special or class-I urban area, which
 * makes a route between provinces J+3 instead of J+4 (TT 17/2017 Điều 7.2); 0 for a
 * province or an unknown code */
int admin_units_province_is_city(const char *code);

/* admin_units_province_count, admin_units_commune_count - table sizes
 * (34 and 3,321) */
size_t admin_units_province_count(void);
size_t admin_units_commune_count(void);

/* admin_units_province_at, admin_units_commune_at - the i-th record in
 * code order, or NULL past the end; for listings */
const admin_province_t *admin_units_province_at(size_t i);
const admin_commune_t *admin_units_commune_at(size_t i);

#endif
