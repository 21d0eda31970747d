/*
 * secret - private secret files (see secret.h)
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
secret_file_private(const char *path, char *err, size_t errlen)
{
    struct stat st;

    /* a file that cannot be read is reported by the caller's own open, in its own words */
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    if (st.st_mode & 0077) {
        snprintf(err, errlen, "secret file %s is readable by others (mode %03o); run: chmod 600 %s", path,
                 (unsigned)(st.st_mode & 0777), path);
        return -1;
    }
    return 0;
}

int
secret_file_read(const char *path, char *buf, size_t cap, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        snprintf(err, errlen, "cannot read secret file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "secret file %s is not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_mode & 0077) {
        snprintf(err, errlen, "secret file %s is readable by others (mode %03o); run: chmod 600 %s", path,
                 (unsigned)(st.st_mode & 0777), path);
        close(fd);
        return -1;
    }
    n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "cannot read secret file %s: %s", path, strerror(errno));
        return -1;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n == 0) {
        snprintf(err, errlen, "secret file %s is empty", path);
        return -1;
    }
    buf[n] = '\0';
    *len = (size_t)n;
    return 0;
}
