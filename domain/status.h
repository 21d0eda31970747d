/*
 * status - the normalized shipment status vocabulary (design §4)
 *
 * Carriers map their raw codes onto these names; the gateway stores the names
 * verbatim in SQLite and JSON. The table is static: every pointer returned
 * here is borrowed for the life of the process.
 */
#ifndef BCCI_STATUS_H
#define BCCI_STATUS_H

#include <stdint.h>

typedef struct {
    const char *name;      /* "out_for_delivery" */
    const char *upu;       /* "EDG", or "" when none fits */
    const char *text_vi;   /* what a citizen or clerk reads */
    int terminal;          /* delivered, returned, cancelled */
    const char *dvc_code;  /* case-system TrangThaiHoSo on the return leg, "" = none */
} status_info_t;

/* status_text_vi - what a citizen or clerk reads for status on leg ("send": the citizen sends
 * the dossier to the agency, so "delivered" means it reached the desk; anything else: the result
 * goes to the citizen, text_vi); NULL when status is not a normalized status. Static. */
const char *status_text_vi(const char *status, const char *leg);
/* status_lookup - NULL when name is not a normalized status */
const status_info_t *status_lookup(const char *name);
int status_is_terminal(const char *name);
/* status_may_move - the one status machine. May a shipment whose status is `from`, set by an
 * event that happened at from_time (UTC ms; 0 before any), move to `to` on an event that happened
 * at to_time? Never out of a terminal status (delivered, returned, cancelled), never to a status
 * older than the current one (out-of-order events still go on the timeline, status unchanged),
 * never to the status it already has, never back to an earlier phase (before the post office
 * has it: created, booked, pickup_pending; accepted; moving or delivering) unless the shipment
 * is in exception. 1 yes, 0 no; unknown names are 0. */
int status_may_move(const char *from, int64_t from_time, const char *to, int64_t to_time);
/* status_all - the whole table, terminated by an entry with name NULL */
const status_info_t *status_all(void);

#endif
