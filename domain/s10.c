/*
 * s10 - UPU S10 identifiers (see s10.h)
 */
#include "s10.h"

#include <stdio.h>
#include <string.h>

static int
is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

int
s10_check_digit(unsigned long serial)
{
    static const int weights[8] = { 8, 6, 4, 2, 3, 5, 9, 7 };
    int sum = 0, i, c;

    for (i = 7; i >= 0; i--) {
        sum += (int)(serial % 10) * weights[i];
        serial /= 10;
    }
    c = 11 - sum % 11;
    if (c == 10)
        return 0;
    if (c == 11)
        return 5;
    return c;
}

s10_status_t
s10_validate(const char *s, size_t len)
{
    unsigned long serial = 0;
    size_t i;

    if (len != S10_LEN)
        return S10_BAD_LENGTH;
    if (!is_upper(s[0]) || !is_upper(s[1]))
        return S10_BAD_PREFIX;
    /* J, K, S, T, W indicators are reserved by the UPU */
    if (strchr("JKSTW", s[0]))
        return S10_BAD_PREFIX;
    for (i = 2; i < 10; i++) {
        if (s[i] < '0' || s[i] > '9')
            return S10_BAD_SERIAL;
        serial = serial * 10 + (unsigned long)(s[i] - '0');
    }
    if (s[10] < '0' || s[10] > '9')
        return S10_BAD_CHECK;
    if (!is_upper(s[11]) || !is_upper(s[12]))
        return S10_BAD_COUNTRY;
    if (s10_check_digit(serial) != s[10] - '0')
        return S10_BAD_CHECK;
    return S10_OK;
}

const char *
s10_status_message(s10_status_t st)
{
    switch (st) {
    case S10_OK: return "valid";
    case S10_BAD_LENGTH: return "an S10 item number has 13 characters, e.g. RR000000014VN";
    case S10_BAD_PREFIX: return "the service indicator must be two letters A-Z, not starting with J, K, S, T or W";
    case S10_BAD_SERIAL: return "characters 3 to 10 must be the 8-digit serial";
    case S10_BAD_CHECK: return "wrong check digit (UPU S10 weights 8 6 4 2 3 5 9 7)";
    case S10_BAD_COUNTRY: return "the last two characters must be the ISO country code, e.g. VN";
    }
    return "invalid";
}

int
s10_format(const char *prefix, unsigned long serial, const char *country, char *out, size_t outlen)
{
    if (!prefix || strlen(prefix) != 2 || !is_upper(prefix[0]) || !is_upper(prefix[1]) || !country ||
        strlen(country) != 2 || !is_upper(country[0]) || !is_upper(country[1]) || serial > 99999999UL ||
        outlen < S10_LEN + 1)
        return -1;
    snprintf(out, outlen, "%s%08lu%d%s", prefix, serial, s10_check_digit(serial), country);
    return 0;
}

void
s10_group(const char *s10, char *out, size_t outlen)
{
    if (strlen(s10) != S10_LEN) {
        snprintf(out, outlen, "%s", s10);
        return;
    }
    snprintf(out, outlen, "%.2s %.4s %.4s %.1s %.2s", s10, s10 + 2, s10 + 6, s10 + 10, s10 + 11);
}
