/*
 * walbuf - gathers a WAL's appends into one write before each sync (see walbuf.h)
 */
#include "gateway/store/sqlite/walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* a batch of the group commit writes about 40 frames of 4 KiB; a run longer than this
 * (a big transaction, a cache spill) is written out in pieces of this size */
#define WALBUF_CAPACITY (1024 * 1024)
/* the unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length, because
 * SQLite itself never writes more than a 64 KiB page): the run goes out in pieces below that */
#define WALBUF_MAX_WRITE (120 * 1024)

typedef struct {
    sqlite3_file base;  /* pMethods = walbuf_io */
    sqlite3_file *real; /* the default VFS's file, allocated just after this struct */
    unsigned char *buf;
    sqlite3_int64 start; /* file offset of buf[0] */
    size_t len;
} walbuf_file_t;

static sqlite3_vfs walbuf_vfs;
static sqlite3_vfs *real_vfs;
static pthread_once_t register_once = PTHREAD_ONCE_INIT;
static int register_rc = SQLITE_ERROR;
static atomic_ulong flush_count;
static atomic_ulong write_count;

/* flush - write the gathered run; on failure the run is dropped (the transaction that
 * wrote it fails with the error, and SQLite never publishes frames it could not sync) */
static int
flush(walbuf_file_t *f)
{
    size_t done = 0;
    int rc = SQLITE_OK;

    while (done < f->len && rc == SQLITE_OK) {
        size_t piece = f->len - done < WALBUF_MAX_WRITE ? f->len - done : WALBUF_MAX_WRITE;

        rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)piece, f->start + (sqlite3_int64)done);
        atomic_fetch_add_explicit(&flush_count, 1, memory_order_relaxed);
        done += piece;
    }
    f->len = 0;
    return rc;
}

static int
wb_close(sqlite3_file *file)
{
    walbuf_file_t *f = (walbuf_file_t *)file;
    int rc = flush(f);
    int close_rc = f->real->pMethods->xClose(f->real);

    sqlite3_free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : close_rc;
}

static int
wb_read(sqlite3_file *file, void *out, int amt, sqlite3_int64 off)
{
    walbuf_file_t *f = (walbuf_file_t *)file;
    int rc = flush(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, out, amt, off);
}

static int
wb_write(sqlite3_file *file, const void *data, int amt, sqlite3_int64 off)
{
    walbuf_file_t *f = (walbuf_file_t *)file;
    int rc;

    atomic_fetch_add_explicit(&write_count, 1, memory_order_relaxed);
    if (f->len > 0 && (off != f->start + (sqlite3_int64)f->len || f->len + (size_t)amt > WALBUF_CAPACITY)) {
        rc = flush(f);
        if (rc != SQLITE_OK)
            return rc;
    }
    if ((size_t)amt > WALBUF_MAX_WRITE)
        return f->real->pMethods->xWrite(f->real, data, amt, off);
    if (f->len == 0)
        f->start = off;
    memcpy(f->buf + f->len, data, (size_t)amt);
    f->len += (size_t)amt;
    return SQLITE_OK;
}

static int
wb_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    walbuf_file_t *f = (walbuf_file_t *)file;
    int rc = flush(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int
wb_sync(sqlite3_file *file, int flags)
{
    walbuf_file_t *f = (walbuf_file_t *)file;
    int rc = flush(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int
wb_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    walbuf_file_t *f = (walbuf_file_t *)file;
    int rc = flush(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int
wb_lock(sqlite3_file *file, int level)
{
    walbuf_file_t *f = (walbuf_file_t *)file;

    return f->real->pMethods->xLock(f->real, level);
}

static int
wb_unlock(sqlite3_file *file, int level)
{
    walbuf_file_t *f = (walbuf_file_t *)file;

    return f->real->pMethods->xUnlock(f->real, level);
}

static int
wb_check_reserved(sqlite3_file *file, int *out)
{
    walbuf_file_t *f = (walbuf_file_t *)file;

    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
wb_file_control(sqlite3_file *file, int op, void *arg)
{
    walbuf_file_t *f = (walbuf_file_t *)file;
    int rc = flush(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
wb_sector_size(sqlite3_file *file)
{
    walbuf_file_t *f = (walbuf_file_t *)file;

    return f->real->pMethods->xSectorSize(f->real);
}

static int
wb_device_characteristics(sqlite3_file *file)
{
    walbuf_file_t *f = (walbuf_file_t *)file;

    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* version 1: a WAL file has no shared memory and is never memory-mapped */
static const sqlite3_io_methods walbuf_io = {
    .iVersion = 1,
    .xClose = wb_close,
    .xRead = wb_read,
    .xWrite = wb_write,
    .xTruncate = wb_truncate,
    .xSync = wb_sync,
    .xFileSize = wb_file_size,
    .xLock = wb_lock,
    .xUnlock = wb_unlock,
    .xCheckReservedLock = wb_check_reserved,
    .xFileControl = wb_file_control,
    .xSectorSize = wb_sector_size,
    .xDeviceCharacteristics = wb_device_characteristics,
};

static int
wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out_flags)
{
    walbuf_file_t *f = (walbuf_file_t *)file;
    int rc;

    (void)vfs;
    /* anything but a WAL: the default VFS's file lives in this slot, with its own methods */
    if (!(flags & SQLITE_OPEN_WAL))
        return real_vfs->xOpen(real_vfs, name, file, flags, out_flags);
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)(f + 1);
    f->buf = sqlite3_malloc(WALBUF_CAPACITY);
    if (!f->buf)
        return SQLITE_NOMEM;
    rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        /* SQLite calls xClose only when pMethods is set: ours stays NULL, so close the
         * inner file here if its VFS left it half open */
        if (f->real->pMethods)
            f->real->pMethods->xClose(f->real);
        sqlite3_free(f->buf);
        f->buf = NULL;
        return rc;
    }
    f->base.pMethods = &walbuf_io;
    return SQLITE_OK;
}

/* the rest of the VFS is the default one's */
static int
wb_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int
wb_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int
wb_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *
wb_dl_open(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return real_vfs->xDlOpen(real_vfs, name);
}

static void
wb_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    real_vfs->xDlError(real_vfs, n, out);
}

static void (*wb_dl_sym(sqlite3_vfs *vfs, void *handle, const char *sym))(void)
{
    (void)vfs;
    return real_vfs->xDlSym(real_vfs, handle, sym);
}

static void
wb_dl_close(sqlite3_vfs *vfs, void *handle)
{
    (void)vfs;
    real_vfs->xDlClose(real_vfs, handle);
}

static int
wb_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int
wb_sleep(sqlite3_vfs *vfs, int micros)
{
    (void)vfs;
    return real_vfs->xSleep(real_vfs, micros);
}

static int
wb_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int
wb_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}

static int
wb_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static void
register_vfs(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    /* xCurrentTimeInt64 is part of version 2, which the unix VFS has had since 3.7 */
    if (!real_vfs || real_vfs->iVersion < 2)
        return;
    walbuf_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = real_vfs->szOsFile + (int)sizeof(walbuf_file_t),
        .mxPathname = real_vfs->mxPathname,
        .zName = WALBUF_VFS_NAME,
        .xOpen = wb_open,
        .xDelete = wb_delete,
        .xAccess = wb_access,
        .xFullPathname = wb_full_pathname,
        .xDlOpen = wb_dl_open,
        .xDlError = wb_dl_error,
        .xDlSym = wb_dl_sym,
        .xDlClose = wb_dl_close,
        .xRandomness = wb_randomness,
        .xSleep = wb_sleep,
        .xCurrentTime = wb_current_time,
        .xGetLastError = wb_get_last_error,
        .xCurrentTimeInt64 = wb_current_time_int64,
    };
    register_rc = sqlite3_vfs_register(&walbuf_vfs, 0);
}

int
walbuf_register(void)
{
    pthread_once(&register_once, register_vfs);
    return register_rc;
}

unsigned long
walbuf_flushes(void)
{
    return atomic_load_explicit(&flush_count, memory_order_relaxed);
}

unsigned long
walbuf_writes(void)
{
    return atomic_load_explicit(&write_count, memory_order_relaxed);
}
