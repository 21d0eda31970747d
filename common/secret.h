/*
 * secret - read a secret (password, token, key) from a file an operator keeps private
 *
 * The file must be a regular file not readable or writable by group or
 * others (mode 0600 or stricter); otherwise the read is refused with a
 * message saying which chmod fixes it, so a program can refuse to start.
 * Trailing newlines are dropped. Output goes to a caller buffer.
 */
#ifndef BCCI_SECRET_H
#define BCCI_SECRET_H

#include <stddef.h>

/* secret_file_private - -1 with err naming the chmod that fixes it when path is a file group or
 * others can access; 0 otherwise (a missing file is left to the caller's open to report) */
int secret_file_private(const char *path, char *err, size_t errlen);
/* secret_file_read - 0 and *len bytes in buf (NUL-terminated), or -1 with err */
int secret_file_read(const char *path, char *buf, size_t cap, size_t *len, char *err, size_t errlen);

#endif
