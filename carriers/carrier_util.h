/*
 * carrier_util - text, config and JSON helpers shared by the carrier adapters
 *
 * What every adapter needs and no adapter owns: reading its config (base URL,
 * private secret files), copying carrier text into fixed event fields without
 * cutting a UTF-8 character, turning JSON scalars into text, looking a raw
 * status code up in the adapter's own table, and walking a list of events
 * with the adapter's own event parser. The wire formats, status tables and
 * field mappings stay in each adapter's file.
 *
 * Ownership: nothing here allocates except carrier_webhook_json (caller owns
 * the returned JSON). Output goes to caller buffers; returned strings are
 * borrowed from the arguments.
 */
#ifndef BCCI_CARRIER_UTIL_H
#define BCCI_CARRIER_UTIL_H

#include <jansson.h>
#include <stddef.h>

#include "carriers/carrier.h"
#include "config.h"

/* carrier_cfg_str - the value of key, or fallback when cfg is NULL or the key
 * is undeclared, unset or empty (borrowed from cfg or fallback) */
const char *carrier_cfg_str(const config_t *cfg, const char *key, const char *fallback);

/* carrier_copy_checked - copy src into dst (cap bytes); -1 with err
 * "KEY is too long (N bytes, at most M)" when it does not fit (dst untouched) */
int carrier_copy_checked(char *dst, size_t cap, const char *src, const char *key, char *err, size_t errlen);

/* carrier_base_url - read the base URL under key (e.g. "carrier.vnpost.url"),
 * check it against carrier_http's URL policy, copy it into base (cap bytes)
 * without trailing slashes. -1 with err naming key when it is unset ("give the
 * <api_name> API base URL"), refused or too long. */
int carrier_base_url(const config_t *cfg, const char *key, const char *api_name, int allow_insecure, char *base,
                     size_t cap, char *err, size_t errlen);

/* carrier_secret_read - read the secret file path that config key names into
 * out (cap bytes, NUL-terminated; *len bytes before the NUL when len is not
 * NULL, which may include NUL bytes of the file), trailing whitespace dropped. The file must
 * be private (secret_file_private, design §8). -1 with err naming key and path
 * when it is not private, cannot be read, is longer than cap - 1 bytes or is
 * empty. */
int carrier_secret_read(const char *key, const char *path, char *out, size_t cap, size_t *len, char *err,
                        size_t errlen);

/* carrier_copy_utf8 - copy src into dst (cap bytes), cutting at a character boundary */
void carrier_copy_utf8(char *dst, size_t cap, const char *src);

/* carrier_json_scalar_text - a string (borrowed from v), or an integer as
 * decimal text in tmp; NULL for anything else */
const char *carrier_json_scalar_text(const json_t *v, char *tmp, size_t cap);

/* carrier_json_fee - *fee = v when v is a JSON integer or real (VND); unchanged otherwise */
void carrier_json_fee(const json_t *v, long long *fee);

/* carrier_instruction - the delivery instruction for the postman (TT 17 Điều 9), in
 * Vietnamese: who may receive the item instead of the citizen, what to take back, the
 * dossier's note ("Người được ủy quyền nhận: … (…). Thu hồi: …. Ghi chú: …"); "" when the
 * shipment has none of them. Cut at a character boundary to fit cap bytes; returns out. */
char *carrier_instruction(const carrier_shipment_t *s, char *out, size_t cap);

/* carrier_need_text - 0 when v is a non-empty string; -1 with err "LABEL is required" */
int carrier_need_text(const char *label, const char *v, char *err, size_t errlen);

/* carrier_check_shipment - the fields every carrier needs: dossier_code, waybill,
 * sender name and address, receiver name, phone and address. 0, or -1 with err
 * "FIELD is required" for the first one missing */
int carrier_check_shipment(const carrier_shipment_t *s, char *err, size_t errlen);

/* carrier_take_ref - copy id into out->carrier_ref; -1 (out untouched) when id
 * is NULL, empty or too long to be an order id */
int carrier_take_ref(const char *id, carrier_result_t *out);

/* carrier_need_ref - 0 when s carries the carrier's order id; else -1 with
 * out->message "WHAT: the shipment has no <ref_name> (it was never booked)",
 * ref_name e.g. "VNPost originalId" */
int carrier_need_ref(const carrier_shipment_t *s, const char *what, const char *ref_name, carrier_result_t *out);

/* carrier_unknown_ref - CARRIER_FAIL with out->message
 * "WHAT: <carrier> does not know <ref_name> <ref>" (the carrier answered 404) */
carrier_status_t carrier_unknown_ref(const char *what, const char *carrier, const char *ref_name, const char *ref,
                                     carrier_result_t *out);

/* ---- event fields: err starts "event IDX: KEY …" ---- */

/* carrier_event_id - the required scalar (string or integer) o[key] into dst
 * (cap bytes); -1 when missing, empty or longer than cap - 1 */
int carrier_event_id(const json_t *o, const char *key, size_t idx, char *dst, size_t cap, char *err, size_t errlen);

/* carrier_event_code - the required status code o[key] (string or integer) into e->raw_code */
int carrier_event_code(const json_t *o, const char *key, size_t idx, carrier_event_t *e, char *err, size_t errlen);

/* carrier_event_time - the required time o[key] ("dd/MM/yyyy HH:mm:ss", Vietnam
 * time, or ISO 8601) into e->carrier_time_ms */
int carrier_event_time(const json_t *o, const char *key, size_t idx, carrier_event_t *e, char *err, size_t errlen);

/* carrier_event_opt_text - *out = the optional string o[key] (borrowed), NULL
 * when absent or null; -1 when present but not a string */
int carrier_event_opt_text(const json_t *o, const char *key, size_t idx, const char **out, char *err,
                           size_t errlen);

/* ---- status tables ---- */

typedef struct {
    int code;           /* the carrier's numeric code */
    const char *status; /* normalized status (status.h) */
    const char *upu;    /* UPU event code or "" */
} carrier_code_t;

/* carrier_parse_code - 0 and *code when raw is 1 to 3 ASCII digits; -1 otherwise */
int carrier_parse_code(const char *raw, int *code);

/* carrier_code_find - the entry of table (n entries) for code, NULL when absent */
const carrier_code_t *carrier_code_find(const carrier_code_t *table, size_t n, int code);

/* carrier_code_map - map_status over table: 0 with out filled, or -1 with
 * out->status NULL and out->upu "" when raw is not a known code */
int carrier_code_map(const carrier_code_t *table, size_t n, const char *raw, carrier_mapping_t *out);

/* ---- event lists ---- */

/* carrier_event_parse_fn - an adapter's parser of one event object: with_ids
 * non-zero when the object must carry the order and waybill ids (webhook);
 * 0, or -1 with err */
typedef int (*carrier_event_parse_fn)(const json_t *o, size_t idx, int with_ids, carrier_event_t *e, char *err,
                                      size_t errlen);

/* carrier_track_events - append one event per entry of the JSON list (tracking
 * answer) parsed by parse, with carrier_ref and waybill taken from s.
 * CARRIER_OK, or CARRIER_RETRY with out->message "WHAT: …" (events may then
 * hold part of the list; the caller restores its length). */
carrier_status_t carrier_track_events(const json_t *list, const carrier_shipment_t *s, carrier_event_parse_fn parse,
                                      const char *what, carrier_event_list_t *events, carrier_result_t *out);

/* carrier_webhook_item_fn - an adapter's reader of one webhook entry: append
 * its event(s) to events; 0, or -1 with err */
typedef int (*carrier_webhook_item_fn)(const json_t *o, size_t idx, carrier_event_list_t *events, char *err,
                                       size_t errlen);

/* carrier_webhook_events - parse a webhook body (duplicate keys refused) that
 * is a JSON list of at most max entries, or, when single_ok, also one entry
 * object; each entry goes to item. All or nothing: 0 with the events appended,
 * or -1 with err and events as they were. shape completes the message
 * "webhook body must be SHAPE" for a body of another type. */
int carrier_webhook_events(const char *body, size_t len, int single_ok, size_t max, const char *shape,
                           carrier_webhook_item_fn item, carrier_event_list_t *events, char *err, size_t errlen);

#endif
