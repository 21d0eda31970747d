/*
 * scheduler - the time-driven work of bccid (design §2)
 *
 * Called by the engine on its thread, inside its open transaction, every
 * tick. Three duties, each bounded per tick:
 *  - tracking polls: a shipment with no carrier news for a while gets a
 *    `track` job; the wait grows with the shipment's age, polling stops at a
 *    final status, and a carrier never has more than poll_cap polls queued;
 *  - failed delivery (TT 17 Điều 5.2): the recipient is invited at least
 *    twice, two working days apart (carrier attempts count); after that the
 *    result goes back (`returning`), and the carrier's `returned` closes it;
 *  - SLA (TT 17 Điều 7.2): a shipment not attempted by its due date (working
 *    days from acceptance, calendar.h) gets one `sla_breached` timeline event.
 * The scheduler decides; the store (store_shipments.h) answers its queries and records.
 * Everything passed in is borrowed.
 */
#ifndef BCCI_SCHEDULER_H
#define BCCI_SCHEDULER_H

#include <stdint.h>

#include "gateway/rules/sink.h"
#include "gateway/store/store.h"

typedef struct {
    const sink_policy_t *policy;   /* calendar, case-system URL, poll base */
    int poll_cap;                  /* track jobs queued per carrier at most */
    int64_t invitation_gap_ms;     /* 0: two working days (the rule); tests shorten it */
    int batch;                     /* rows per duty per tick */
    int64_t purge_after_days;      /* retention purge of finished dossiers; 0 = off (by hand only) */
    int64_t purge_interval_ms;     /* between scheduled purges (the engine keeps the time) */
} scheduler_config_t;

typedef struct {
    int polls, invitations, returns, sla_breaches;
} scheduler_report_t;

/* scheduler_tick - STORE_OK, or STORE_BUSY/STORE_ERROR with store_tx_message(tx) saying why
 * (the engine rolls the tick back: it runs under a savepoint) */
store_rc_t scheduler_tick(store_tx_t *tx, const scheduler_config_t *cfg, int64_t now, scheduler_report_t *report);

/* scheduler_purge - the retention purge (TT 17 Điều 14.3) of dossiers finished more than
 * cfg->purge_after_days ago: the same store_admin_purge as POST /v1/purge, in the engine's
 * transaction; *purged how many. STORE_OK (nothing done when the purge is off), or why not. */
store_rc_t scheduler_purge(store_tx_t *tx, const scheduler_config_t *cfg, int64_t now, long long *purged);

#endif
