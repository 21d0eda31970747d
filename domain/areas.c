/*
 * areas - province names built in, commune names from the operator's file (see areas.h)
 */
#include "domain/areas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "domain/admin_units.h"
#include "domain/ident.h"

#define AREAS_NAME_MAX_CHARS 100

typedef struct {
    char code[6];
    char *name; /* NFC, owned */
} commune_t;

struct areas {
    commune_t *communes; /* sorted by code */
    size_t n, cap;
};

const char *
areas_province_name(const char *code)
{
    const admin_province_t *p = admin_units_province(code);

    return p ? p->full_name : NULL;
}

static int
by_code(const void *a, const void *b)
{
    return strcmp(((const commune_t *)a)->code, ((const commune_t *)b)->code);
}

/* add_commune - one "CODE = Name" line of the communes file (a config_pair_fn) */
static int
add_commune(const char *code, const char *name, void *cls, char *why, size_t whylen)
{
    areas_t *self = cls;
    commune_t c;

    if (!ident_commune_code(code)) {
        snprintf(why, whylen, "the code must be the 5 digits of QĐ 19/2025 (00001-99999)");
        return -1;
    }
    if (!*name) {
        snprintf(why, whylen, "the name is empty");
        return -1;
    }
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 4096;
        commune_t *nc = realloc(self->communes, cap * sizeof *nc);
        if (!nc) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        self->communes = nc;
        self->cap = cap;
    }
    c.name = ident_text_nfc(name);
    if (!c.name) {
        snprintf(why, whylen, "the name is not plain UTF-8 text");
        return -1;
    }
    if (ident_char_count(c.name) > AREAS_NAME_MAX_CHARS) {
        free(c.name);
        snprintf(why, whylen, "the name is longer than 100 characters");
        return -1;
    }
    memcpy(c.code, code, 6);
    self->communes[self->n++] = c;
    return 0;
}

areas_t *
areas_load(const char *communes_file, char *err, size_t errlen)
{
    areas_t *self = calloc(1, sizeof *self);
    size_t i;

    if (!self) {
        snprintf(err, errlen, "out of memory loading commune names");
        return NULL;
    }
    if (!communes_file || !*communes_file)
        return self;
    if (config_each_pair(communes_file, "communes_file", "CODE = Name", add_commune, self, err, errlen) !=
        CONFIG_OK) {
        areas_destroy(&self);
        return NULL;
    }
    qsort(self->communes, self->n, sizeof *self->communes, by_code);
    for (i = 1; i < self->n; i++) {
        if (strcmp(self->communes[i].code, self->communes[i - 1].code) == 0) {
            snprintf(err, errlen, "%s: commune code %s is given twice; keep one line per code", communes_file,
                     self->communes[i].code);
            areas_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void
areas_destroy(areas_t **selfp)
{
    areas_t *self = selfp ? *selfp : NULL;
    size_t i;

    if (!self)
        return;
    for (i = 0; i < self->n; i++)
        free(self->communes[i].name);
    free(self->communes);
    free(self);
    *selfp = NULL;
}

size_t
areas_commune_count(const areas_t *self)
{
    return self ? self->n : 0;
}

const char *
areas_commune_name(const areas_t *self, const char *code)
{
    commune_t key;
    const commune_t *hit = NULL;
    const admin_commune_t *c;

    if (!code || strlen(code) != 5)
        return NULL;
    if (self && self->n > 0) {
        memcpy(key.code, code, 6);
        hit = bsearch(&key, self->communes, self->n, sizeof *self->communes, by_code);
    }
    if (hit)
        return hit->name; /* the operator's file overrides the built-in name */
    c = admin_units_commune(code);
    return c ? c->full_name : NULL;
}

const char *
areas_commune_postcode(const char *code)
{
    const admin_commune_t *c = admin_units_commune(code);

    return c && c->postcode[0] ? c->postcode : NULL;
}

/* name_or_code - the name, else "<what> mã CODE"; "" for no code */
static char *
name_or_code(const char *name, const char *code, const char *what, char *out, size_t outlen)
{
    if (!code || !*code)
        snprintf(out, outlen, "%s", "");
    else if (name)
        snprintf(out, outlen, "%s", name);
    else
        snprintf(out, outlen, "%s mã %.8s", what, code);
    return out;
}

char *
areas_commune_text(const areas_t *self, const char *commune_code, char *out, size_t outlen)
{
    return name_or_code(areas_commune_name(self, commune_code), commune_code, "xã/phường", out, outlen);
}

char *
areas_province_text(const char *province_code, char *out, size_t outlen)
{
    return name_or_code(areas_province_name(province_code), province_code, "tỉnh/thành phố", out, outlen);
}
