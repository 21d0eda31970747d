/*
 * utf8 - the one place that knows UTF-8 (on utf8proc)
 *
 * Validation, NFC normalisation, character counts and the check for the
 * characters no name or address may hold: controls (C0 including TAB, DEL,
 * C1), bidi embeddings, overrides and isolates (U+202A..U+202E,
 * U+2066..U+2069) and zero-width characters (U+200B..U+200D, U+2060,
 * U+FEFF), which make a label or a log line read differently from what was
 * stored. Pure functions; utf8_nfc is the only one that allocates (caller
 * frees with free()).
 */
#ifndef BCCI_UTF8_H
#define BCCI_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* utf8_seq_len - length (1..4) of the valid UTF-8 sequence at s, reading at most
 * avail bytes; 0 when the bytes there are not valid UTF-8 (overlong, surrogate,
 * truncated, above U+10FFFF) */
size_t utf8_seq_len(const unsigned char *s, size_t avail);

/* utf8_valid - 1 when s[0..len) is valid UTF-8 without NUL bytes, else 0 */
int utf8_valid(const char *s, size_t len);

/* utf8_nfc - NFC copy of the NUL-terminated s, NULL when s is not valid UTF-8 or
 * memory ran out. Caller frees. */
char *utf8_nfc(const char *s);

/* utf8_char_count - code points in the valid UTF-8 string s */
size_t utf8_char_count(const char *s);

/* flags for utf8_find_forbidden */
enum { UTF8_ALLOW_NEWLINE = 1u << 0 }; /* LF is allowed (multi-line notes) */

/* utf8_find_forbidden - byte offset of the first forbidden code point of the
 * valid UTF-8 string s[0..len) and the code point in *cp, or -1 when none.
 * Invalid UTF-8 counts as forbidden at its offset with *cp = -1. */
long utf8_find_forbidden(const char *s, size_t len, unsigned flags, int32_t *cp);

/* utf8_forbidden_what - a short English name of why cp is forbidden
 * ("a control character", "a bidi override", "a zero-width character"); static */
const char *utf8_forbidden_what(int32_t cp);

#endif
