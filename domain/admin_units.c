/*
 * admin_units - the built-in table of provinces and communes (see admin_units.h)
 *
 * The records come from the generated admin_units_table.h (sorted by code,
 * checked by the generator); this file only looks them up.
 */
#include "domain/admin_units.h"

#include <stdlib.h>
#include <string.h>

#include "admin_units_table.h"

static int
cmp_province(const void *key, const void *rec)
{
    return strcmp(key, ((const admin_province_t *)rec)->code);
}

static int
cmp_commune(const void *key, const void *rec)
{
    return strcmp(key, ((const admin_commune_t *)rec)->code);
}

const admin_province_t *
admin_units_province(const char *code)
{
    if (!code)
        return NULL;
    return bsearch(code, admin_provinces, ADMIN_PROVINCE_COUNT, sizeof admin_provinces[0], cmp_province);
}

const admin_commune_t *
admin_units_commune(const char *code)
{
    if (!code)
        return NULL;
    return bsearch(code, admin_communes, ADMIN_COMMUNE_COUNT, sizeof admin_communes[0], cmp_commune);
}

int
admin_units_commune_in_province(const char *commune, const char *province)
{
    const admin_commune_t *c = admin_units_commune(commune);

    return c && admin_units_province(province) && strcmp(c->province_code, province) == 0;
}

int
admin_units_province_is_city(const char *code)
{
    const admin_province_t *p = admin_units_province(code);

    /* the table's unit of a centrally-run city is "Thành phố" (a province's is "Tỉnh"); the
     * law makes every such city a special or class-I urban area */
    return p && strcmp(p->unit, "Thành phố") == 0;
}

size_t
admin_units_province_count(void)
{
    return ADMIN_PROVINCE_COUNT;
}

size_t
admin_units_commune_count(void)
{
    return ADMIN_COMMUNE_COUNT;
}

const admin_province_t *
admin_units_province_at(size_t i)
{
    return i < ADMIN_PROVINCE_COUNT ? &admin_provinces[i] : NULL;
}

const admin_commune_t *
admin_units_commune_at(size_t i)
{
    return i < ADMIN_COMMUNE_COUNT ? &admin_communes[i] : NULL;
}
