/*
 * status - the normalized shipment status vocabulary (design §4)
 *
 * Carriers map their raw codes onto these names; the gateway stores the names
 * verbatim in SQLite and JSON. The table is static: every pointer returned
 * here is borrowed for the life of the process.
 */
#ifndef BCCI_STATUS_H
#define BCCI_STATUS_H

typedef struct {
    const char *name;      /* "out_for_delivery" */
    const char *upu;       /* "EDG", or "" when none fits */
    const char *text_vi;   /* what a citizen or clerk reads */
    int terminal;          /* delivered, returned, cancelled */
    const char *dvc_code;  /* case-system TrangThaiHoSo on the return leg, "" = none */
} status_info_t;

/* status_lookup - NULL when name is not a normalized status */
const status_info_t *status_lookup(const char *name);
int status_is_terminal(const char *name);
/* status_all - the whole table, terminated by an entry with name NULL */
const status_info_t *status_all(void);

#endif
