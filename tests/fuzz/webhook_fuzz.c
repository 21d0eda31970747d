/*
 * webhook_fuzz - libFuzzer target for every carrier's parse_webhook (carriers/carrier.h)
 *
 * The input is the body a carrier (or anyone on the network) POSTs to
 * /v1/carriers/NAME/events. Every registered carrier (carrier_names(), e.g.
 * "vnpost", "viettel") parses the same bytes. A refusal must leave an error
 * message; an acceptance must give events whose fixed-size strings are
 * NUL-terminated, and map_status must answer for every raw code without
 * crashing. The event list is freed either way.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carriers/carrier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void
check_one(const carrier_ops_t *ops, const char *body, size_t len)
{
    carrier_event_list_t events = { NULL, 0, 0 };
    char err[256] = "";
    size_t i;

    if (!ops || !ops->parse_webhook)
        return;
    if (ops->parse_webhook(body, len, &events, err, sizeof err) != 0) {
        if (!err[0])
            abort(); /* a refusal says why */
    } else {
        for (i = 0; i < events.n; i++) {
            const carrier_event_t *e = &events.items[i];
            carrier_mapping_t map;

            if (!TERMINATED(e->carrier_ref) || !TERMINATED(e->waybill) || !TERMINATED(e->raw_code) ||
                !TERMINATED(e->raw_name) || !TERMINATED(e->reason) || !TERMINATED(e->event_id))
                abort();
            if (ops->map_status && ops->map_status(e->raw_code, &map) == 0 && (!map.status || !map.upu))
                abort();
        }
    }
    carrier_event_list_free(&events);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char names[256], *save = NULL, *name;
    /* the HTTP layer hands the body as a NUL-terminated copy; keep that contract */
    char *body = malloc(size + 1);

    if (!body)
        return 0;
    memcpy(body, data, size);
    body[size] = '\0';
    snprintf(names, sizeof names, "%s", carrier_names());
    for (name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save))
        check_one(carrier_find(name), body, size);
    free(body);
    return 0;
}
