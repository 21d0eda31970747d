/*
 * ident - validation of the domain's identifiers and free text (design §1)
 *
 * Dossier codes (TT 01/2018 Điều 19), agency identifiers (QĐ 20/2020),
 * phone numbers, QĐ 19/2025 province and commune codes, and citizen text
 * (valid UTF-8, normalised to NFC, bounded in characters). Pure functions;
 * ident_text_nfc is the only one that allocates (caller frees).
 */
#ifndef BCCI_IDENT_H
#define BCCI_IDENT_H

#include <stddef.h>

/* ident_dossier_code - 1 when s is V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX[X] with a real date */
int ident_dossier_code(const char *s);
/* ident_agency_code - 1 when s is a 4-level unit identifier like 000.00.31.H23 */
int ident_agency_code(const char *s);
/* ident_mobile_phone - 0[35789]xxxxxxxx or +84[35789]xxxxxxxx */
int ident_mobile_phone(const char *s);
/* ident_phone - a mobile or a landline (02x area code, 10–11 digits) */
int ident_phone(const char *s);
int ident_province_code(const char *s); /* one of the 34 codes of QĐ 19/2025 */
int ident_commune_code(const char *s);  /* 5 digits, 00001–99999 */
/* ident_utf8_valid - 1 when s[0..len) is valid UTF-8 with no control characters
 * other than \n and \t */
int ident_utf8_valid(const char *s, size_t len);
/* ident_text_nfc - NFC copy of valid UTF-8 s, or NULL when invalid (caller frees) */
char *ident_text_nfc(const char *s);
/* ident_char_count - number of code points in valid UTF-8 s */
size_t ident_char_count(const char *s);
/* ident_safe_rid - 1 when a client-sent request id is 1-39 chars of [A-Za-z0-9._-] */
int ident_safe_rid(const char *s);

#endif
