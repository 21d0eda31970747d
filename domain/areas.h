/*
 * areas - names of Vietnam's administrative units, for what people read
 *
 * Dossiers carry the codes of QĐ 19/2025/QĐ-TTg: 2-digit province, 5-digit
 * commune. Labels, handover manifests and the tracking page print names
 * instead. The 34 provinces and 3,321 communes are built in (domain/admin_units,
 * from data/vn-admin-units.tsv). The operator may override commune names with a
 * file (bccid's communes_file; one "CODE = Name" per line, '#' comments), for an
 * amendment by decree before the next release. A code without a name prints as
 * "xã/phường mã CODE", so a missing entry never stops a label.
 *
 * Ownership: areas_load returns a table the caller owns (areas_destroy). It is
 * read-only once loaded, so any thread may look names up. Returned names are
 * borrowed from the table (communes) or static (provinces).
 */
#ifndef BCCI_AREAS_H
#define BCCI_AREAS_H

#include <stddef.h>

typedef struct areas areas_t;

/* areas_load - the commune names of communes_file (NULL or "" = none); NULL
 * with err naming the file and line on a malformed line, a bad code, a name
 * that is not UTF-8 or longer than 100 characters, or a code given twice */
areas_t *areas_load(const char *communes_file, char *err, size_t errlen);
void areas_destroy(areas_t **self);
size_t areas_commune_count(const areas_t *self);

/* areas_province_name - "Thành phố Hà Nội" for "01"; NULL when unknown */
const char *areas_province_name(const char *code);
/* areas_commune_name - the operator's name for a 5-digit code, else the
 * official one; NULL when unknown. self may be NULL (no operator file). */
const char *areas_commune_name(const areas_t *self, const char *code);
/* areas_commune_postcode - the commune's postcode (mã bưu chính), NULL when not known */
const char *areas_commune_postcode(const char *code);

/* areas_commune_text, areas_province_text - the name where known, else
 * "xã/phường mã 11311" / "tỉnh/thành phố mã 31"; "" for an empty or NULL
 * code. Write at most outlen bytes; return out. */
char *areas_commune_text(const areas_t *self, const char *commune_code, char *out, size_t outlen);
char *areas_province_text(const char *province_code, char *out, size_t outlen);

#endif
