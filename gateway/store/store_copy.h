/*
 * store_copy - move a whole gateway from one store to another (bcci store copy)
 *
 * store_copy reads every table of `from` in one read transaction (a
 * consistent snapshot) and writes the rows, ids included, into `to` in one
 * write transaction, so the target ends up either a complete copy or
 * untouched. The target must be empty: a table holding any row refuses the
 * copy before anything is written. The backends' schemas may differ only in
 * what the front knows to be one backend's own bookkeeping (the PostgreSQL
 * backend's per-instance S10 blocks and lease owners), which is not copied. Before committing, the copy counts every
 * table on both sides and verifies every dossier's timeline hash chain in the
 * target against its sealed head (the chain key must be set on `to` first:
 * store_set_chain_key with the gateway's server secret); a mismatch aborts
 * and leaves the target empty. The backends only move rows (backend_copy.h);
 * which tables, in which order, and the checks are here.
 *
 * Run it with bccid stopped: rows written to `from` after the snapshot are
 * not copied. Ownership: both stores are borrowed; the report is the
 * caller's (no allocation inside).
 */
#ifndef BCCI_STORE_COPY_H
#define BCCI_STORE_COPY_H

#include <stddef.h>

#include "gateway/store/store.h"

#define STORE_COPY_MAX_TABLES 32
#define STORE_COPY_MAX_COLUMNS 64
#define STORE_COPY_NAME_MAX 64

typedef struct {
    struct {
        char name[STORE_COPY_NAME_MAX];
        long long rows; /* copied, and counted equal on both sides */
    } tables[STORE_COPY_MAX_TABLES];
    int ntables;
    long long chains; /* dossier timelines verified in the target */
} store_copy_report_t;

/* store_copy - STORE_OK with report filled once the target committed; otherwise nothing was
 * committed and err says why: STORE_CONFLICT the target is not empty (naming a table and its
 * rows) or a count or chain does not match after copying; STORE_ERROR a table one side has
 * and the copy does not know, or a backend without copy support; STORE_BUSY a database that
 * cannot answer now. */
store_rc_t store_copy(store_t *from, store_t *to, store_copy_report_t *report, char *err, size_t errlen);

#endif
