/*
 * walbuf - a SQLite VFS that hands the writer's WAL appends to the kernel in one write
 *
 * SQLite appends a commit to the write-ahead log one frame at a time, and each frame
 * as two writes (its 24-byte header, then the page): a batch of the engine's group
 * commit touches some forty pages, so about eighty pwrite calls precede the one fsync
 * that makes it durable. This VFS wraps the default one; for a file opened as a WAL it
 * gathers contiguous writes in memory and issues them as one pwrite at the next sync
 * (or before any read, truncate, size query, file control or close of that file, and
 * whenever a write does not continue the gathered run). Every other file passes
 * straight to the default VFS, which opens it in place: no extra call on its path.
 *
 * Why this is safe: a frame becomes visible to other connections only when the writer
 * publishes a new wal-index header, which SQLite does after the commit's frames are
 * written and, under synchronous=FULL, after xSync returned; xSync writes the gathered
 * run first. A crash before that sync loses the same uncommitted frames it would have
 * lost anyway. Under synchronous=NORMAL there is no sync at commit, so readers could be
 * told of frames still in memory: a connection opened on this VFS must run FULL (the
 * store checks it; see sqlite_store.c). A write error is reported by the call that
 * flushes (xSync at the latest), which fails that transaction as a failed write would.
 *
 * Memory: each WAL file owns its buffer (freed at close); the VFS object is static.
 */
#ifndef BCCI_WALBUF_H
#define BCCI_WALBUF_H

/* the name to pass to sqlite3_open_v2 */
#define WALBUF_VFS_NAME "bcci-walbuf"

/* walbuf_register - register the VFS once (thread-safe, idempotent; not the default VFS).
 * SQLite result code: SQLITE_OK, or SQLITE_ERROR when no default VFS exists to wrap. */
int walbuf_register(void);

/* walbuf_flushes / walbuf_writes - process-wide counters for tests: how many pwrite calls
 * the VFS issued for WAL files, and how many xWrite calls SQLite made on them */
unsigned long walbuf_flushes(void);
unsigned long walbuf_writes(void);

#endif
