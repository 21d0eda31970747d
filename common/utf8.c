/*
 * utf8 - UTF-8 validation, NFC and forbidden characters (see utf8.h)
 */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

size_t
utf8_seq_len(const unsigned char *s, size_t avail)
{
    utf8proc_int32_t cp;
    utf8proc_ssize_t n;

    if (avail == 0)
        return 0;
    n = utf8proc_iterate(s, (utf8proc_ssize_t)(avail > 4 ? 4 : avail), &cp);
    if (n <= 0 || cp < 0)
        return 0;
    return (size_t)n;
}

int
utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t off = 0;

    while (off < len) {
        size_t n;

        if (p[off] == 0)
            return 0;
        n = utf8_seq_len(p + off, len - off);
        if (n == 0)
            return 0;
        off += n;
    }
    return 1;
}

/* nfc_stable - 1 when s is valid UTF-8 made only of code points that NFC leaves alone whatever
 * surrounds them: U+0001..U+02FF (ASCII, Latin-1, Latin Extended-A/B, IPA, spacing modifiers)
 * and U+1E00..U+1EFF (Latin Extended Additional: every precomposed Vietnamese letter). None of
 * them decomposes or combines with a neighbour (no combining marks, no composition exclusions;
 * tests/unit/common/utf8_test.c checks every pair), so such a text is its own NFC form. Almost
 * every name and address a clerk types is one, and utf8proc's decompose-and-recompose costs
 * some ten thousand instructions per field; *valid says whether s is valid UTF-8 at all. */
static int
nfc_stable(const char *s, int *valid)
{
    const unsigned char *p = (const unsigned char *)s;
    int stable = 1;

    *valid = 1;
    while (*p) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n;

        if (*p < 0x80) {
            p++;
            continue;
        }
        n = utf8proc_iterate(p, 4, &cp);
        if (n <= 0 || cp < 0) {
            *valid = 0;
            return 0;
        }
        if (!(cp < 0x300 || (cp >= 0x1E00 && cp < 0x1F00)))
            stable = 0;
        p += n;
    }
    return stable;
}

char *
utf8_nfc(const char *s)
{
    int valid;

    if (nfc_stable(s, &valid))
        return strdup(s);
    if (!valid)
        return NULL;
    return (char *)utf8proc_NFC((const utf8proc_uint8_t *)s);
}

size_t
utf8_char_count(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static int
is_control(int32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

static int
is_bidi_control(int32_t cp)
{
    return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

static int
is_zero_width(int32_t cp)
{
    return (cp >= 0x200b && cp <= 0x200d) || cp == 0x2060 || cp == 0xfeff;
}

long
utf8_find_forbidden(const char *s, size_t len, unsigned flags, int32_t *cp)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t off = 0;

    while (off < len) {
        utf8proc_int32_t c = p[off];
        /* ASCII, most of every dossier, needs no decoder call */
        utf8proc_ssize_t n = c < 0x80 ? 1 : utf8proc_iterate(p + off, (utf8proc_ssize_t)(len - off), &c);

        if (n <= 0 || c < 0) {
            *cp = -1;
            return (long)off;
        }
        if ((is_control(c) && !(c == '\n' && (flags & UTF8_ALLOW_NEWLINE))) || is_bidi_control(c) ||
            is_zero_width(c)) {
            *cp = c;
            return (long)off;
        }
        off += (size_t)n;
    }
    return -1;
}

const char *
utf8_forbidden_what(int32_t cp)
{
    if (cp < 0)
        return "invalid UTF-8";
    if (cp == '\t')
        return "a TAB";
    if (is_control(cp))
        return "a control character";
    if (is_bidi_control(cp))
        return "a bidi embedding, override or isolate";
    if (is_zero_width(cp))
        return "a zero-width character";
    return "an allowed character";
}
