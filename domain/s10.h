/*
 * s10 - UPU S10 item identifiers (waybill numbers), e.g. RR000000014VN
 *
 * 2-letter service indicator, 8-digit serial, 1 check digit, 2-letter country.
 * Check digit: weights 8 6 4 2 3 5 9 7; C = 11 - (sum mod 11); 10 -> 0, 11 -> 5.
 * Pure functions, no allocation.
 */
#ifndef BCCI_S10_H
#define BCCI_S10_H

#include <stddef.h>

#define S10_LEN 13

/* s10_check_digit - check digit of an 8-digit serial (0..99999999) */
int s10_check_digit(unsigned long serial);

typedef enum {
    S10_OK = 0,
    S10_BAD_LENGTH,
    S10_BAD_PREFIX,    /* not two letters A-Z, or a reserved indicator */
    S10_BAD_SERIAL,    /* not 8 digits */
    S10_BAD_CHECK,     /* check digit does not match */
    S10_BAD_COUNTRY,   /* not two letters A-Z */
} s10_status_t;

/* s10_validate - classify s (len bytes, not necessarily NUL-terminated) */
s10_status_t s10_validate(const char *s, size_t len);
const char *s10_status_message(s10_status_t st);
/* s10_format - write prefix + serial + check + country into out (>= 14 bytes); 0 or -1 */
int s10_format(const char *prefix, unsigned long serial, const char *country, char *out, size_t outlen);
/* s10_group - human-readable groups "RR 0000 0001 4 VN"; out >= 20 bytes */
void s10_group(const char *s10, char *out, size_t outlen);

#endif
