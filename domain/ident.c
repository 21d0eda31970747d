/*
 * ident - identifiers and text validation (see ident.h)
 */
#include "ident.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
is_upper_or_digit(char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z');
}

static int
digits(const char *s, int n)
{
    int i;

    for (i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* agency_prefix_len - length of a V1V2V3.Z1Z2.Y1Y2.MX1X2 prefix at s, or 0 */
static size_t
agency_prefix_len(const char *s)
{
    static const int groups[3] = { 3, 2, 2 };
    size_t pos = 0;
    int g, i;

    for (g = 0; g < 3; g++) {
        for (i = 0; i < groups[g]; i++)
            if (!is_upper_or_digit(s[pos++]))
                return 0;
        if (s[pos++] != '.')
            return 0;
    }
    if (!(s[pos] >= 'A' && s[pos] <= 'Y'))
        return 0;
    if (!is_digit(s[pos + 1]) || !is_digit(s[pos + 2]))
        return 0;
    return pos + 3;
}

int
ident_agency_code(const char *s)
{
    size_t n = agency_prefix_len(s);

    return n > 0 && s[n] == '\0';
}

int
ident_dossier_code(const char *s)
{
    size_t n = agency_prefix_len(s), tail;
    int mm, dd;
    const char *p;

    if (n == 0 || s[n] != '-')
        return 0;
    p = s + n + 1;
    if (!digits(p, 6) || p[6] != '-')
        return 0;
    mm = (p[2] - '0') * 10 + (p[3] - '0');
    dd = (p[4] - '0') * 10 + (p[5] - '0');
    if (mm < 1 || mm > 12 || dd < 1 || dd > 31)
        return 0;
    p += 7;
    tail = strlen(p);
    /* a 4-digit daily sequence; some systems re-sync with a 5-digit tail */
    return (tail == 4 || tail == 5) && digits(p, (int)tail);
}

int
ident_mobile_phone(const char *s)
{
    if (strncmp(s, "+84", 3) == 0)
        s += 3;
    else if (s[0] == '0')
        s += 1;
    else
        return 0;
    return strchr("35789", s[0]) && s[0] && strlen(s) == 9 && digits(s, 9);
}

int
ident_phone(const char *s)
{
    size_t n = strlen(s);

    if (ident_mobile_phone(s))
        return 1;
    /* landlines: 02x area codes, 10 or 11 digits in all */
    return s[0] == '0' && s[1] == '2' && (n == 10 || n == 11) && digits(s, (int)n);
}

int
ident_province_code(const char *s)
{
    static const char *codes[] = { "01", "04", "08", "11", "12", "14", "15", "19", "20", "22", "24", "25",
                                   "31", "33", "37", "38", "40", "42", "44", "46", "48", "51", "52", "56",
                                   "66", "68", "75", "79", "80", "82", "86", "91", "92", "96" };
    size_t i;

    if (strlen(s) != 2)
        return 0;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(codes[i], s) == 0)
            return 1;
    return 0;
}

int
ident_commune_code(const char *s)
{
    return strlen(s) == 5 && digits(s, 5) && strcmp(s, "00000") != 0;
}

int
ident_utf8_valid(const char *s, size_t len)
{
    size_t i;

    if (!utf8_valid(s, len))
        return 0;
    /* in valid UTF-8 every byte below 0x80 is an ASCII character of its own */
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

char *
ident_text_nfc(const char *s)
{
    if (!ident_utf8_valid(s, strlen(s)))
        return NULL;
    return utf8_nfc(s);
}

size_t
ident_char_count(const char *s)
{
    return utf8_char_count(s);
}

int
ident_safe_rid(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 39)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              s[i] == '.' || s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}
