/*
 * ident_fuzz - libFuzzer target for the identifier parsers: s10_validate
 * (labels/s10.h) and ident_dossier_code with its neighbours (gateway/ident.h)
 *
 * The bytes are given to s10_validate with their exact length (no NUL, so a
 * read past the end is caught), and as a NUL-terminated string to the ident_*
 * functions. Properties: an accepted S10 number is rebuilt byte for byte by
 * s10_format from its parts; an accepted dossier code starts with an accepted
 * agency code; text that ident_utf8_valid accepts normalises to NFC, and the
 * NFC form is valid and stable.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/ident.h"
#include "domain/s10.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_s10(const uint8_t *data, size_t size)
{
    char *exact = malloc(size ? size : 1), prefix[3], country[3], out[S10_LEN + 1];
    unsigned long serial = 0;
    size_t i;

    if (!exact)
        return;
    memcpy(exact, data, size);
    if (s10_validate(exact, size) == S10_OK) {
        if (size != S10_LEN)
            abort();
        memcpy(prefix, exact, 2);
        prefix[2] = '\0';
        memcpy(country, exact + 11, 2);
        country[2] = '\0';
        for (i = 2; i < 10; i++)
            serial = serial * 10 + (unsigned long)(exact[i] - '0');
        if (s10_check_digit(serial) != exact[10] - '0')
            abort();
        if (s10_format(prefix, serial, country, out, sizeof out) != 0 || memcmp(out, exact, S10_LEN) != 0)
            abort();
    }
    (void)s10_status_message(s10_validate(exact, size));
    free(exact);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;

    if (size > 4096)
        return 0;
    check_s10(data, size);
    s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (ident_dossier_code(s)) {
        /* V1V2V3.Z1Z2.Y1Y2.MX1X2 is the part before the first '-' */
        char agency[64];
        const char *dash = strchr(s, '-');
        if (!dash || (size_t)(dash - s) >= sizeof agency)
            abort();
        memcpy(agency, s, (size_t)(dash - s));
        agency[dash - s] = '\0';
        if (!ident_agency_code(agency))
            abort();
    }
    (void)ident_agency_code(s);
    (void)ident_mobile_phone(s);
    (void)ident_phone(s);
    (void)ident_province_code(s);
    (void)ident_commune_code(s);
    (void)ident_safe_rid(s);
    if (ident_utf8_valid(s, size) && strlen(s) == size) {
        char *nfc = ident_text_nfc(s), *again;
        if (!nfc)
            abort();
        if (!ident_utf8_valid(nfc, strlen(nfc)))
            abort();
        again = ident_text_nfc(nfc);
        if (!again || strcmp(again, nfc) != 0)
            abort();
        (void)ident_char_count(nfc);
        free(again);
        free(nfc);
    }
    free(s);
    return 0;
}
