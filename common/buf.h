/*
 * buf - a growable byte buffer with a hard size limit (like curl's dynbuf)
 *
 * The buffer owns its memory; buf_free releases it. A buffer whose limit
 * would be exceeded refuses the append (BUF_TOOBIG) and keeps what it had,
 * so a caller can answer 413 or drop an oversized carrier response cleanly.
 * The content is always NUL-terminated (not counted in len).
 */
#ifndef BCCI_BUF_H
#define BCCI_BUF_H

#include <stddef.h>

enum { BUF_OK = 0, BUF_TOOBIG = -1, BUF_NOMEM = -2 };

typedef struct {
    char  *data;
    size_t len;
    size_t cap;
    size_t limit;
} buf_t;

void buf_init(buf_t *b, size_t limit);
int  buf_append(buf_t *b, const void *data, size_t len);
int  buf_appendf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(buf_t *b);
/* buf_steal - hand the content to the caller (caller frees); the buffer is emptied */
char *buf_steal(buf_t *b, size_t *len);
void buf_free(buf_t *b);

#endif
