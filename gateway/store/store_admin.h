/*
 * store_admin - the administrator's durable state: API tokens, the retention
 * purge, the COD report and online backups (design §8, TT 17 Điều 14.3)
 *
 * Tokens are kept only as the SHA-256 of the clear token (the caller hashes;
 * the store never sees a clear token). A token is live until revoked; the
 * store refuses to revoke the last live admin token (STORE_CONFLICT), because
 * without one nobody can create tokens again short of the local recovery
 * (bccid --new-admin-token).
 *
 * Writes take a STORE_WRITE transaction (bccid's engine, or a tool with the
 * daemon stopped); reads any transaction. Strings passed in are borrowed for
 * the call. Records returned are caller-owned: fixed-size fields, plus the
 * arrays of the list types, freed with their *_free function (which also
 * accepts a zeroed or already freed list). On failure the out records are
 * left empty and store_tx_message(tx) says what was wrong.
 */
#ifndef BCCI_STORE_ADMIN_H
#define BCCI_STORE_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/store/store.h"

#define STORE_TOKEN_NAME_MAX 72
#define STORE_TOKEN_ROLE_MAX 24
#define STORE_TOKEN_AGENCY_MAX 32
#define STORE_TOKEN_HASH_MAX 72 /* hex SHA-256 + NUL fits */

typedef struct {
    char name[STORE_TOKEN_NAME_MAX];
    char role[STORE_TOKEN_ROLE_MAX];        /* case_system, clerk, post_office, carrier, admin */
    char agency_code[STORE_TOKEN_AGENCY_MAX]; /* "" = every agency */
    int64_t created_at;                     /* UTC ms */
    int64_t revoked_at;                     /* UTC ms; 0 = live */
} store_token_t;

typedef struct {
    store_token_t *items; /* owned */
    size_t n;
} store_token_list_t;
void store_token_list_free(store_token_list_t *list);

/* store_admin_token_create - a live token (name, role, agency_code or NULL/"" for every
 * agency) whose clear text hashes to token_hash. STORE_CONFLICT when the name is taken (or,
 * astronomically, the hash). Names and roles are checked by the caller (auth.c). */
store_rc_t store_admin_token_create(store_tx_t *tx, const char *name, const char *role, const char *agency_code,
                                    const char *token_hash, int64_t now);
/* store_admin_token_lookup - the live token with token_hash into *out; STORE_NOT_FOUND when
 * unknown or revoked */
store_rc_t store_admin_token_lookup(store_tx_t *tx, const char *token_hash, store_token_t *out);
/* store_admin_token_find - the same lookup in a read transaction of its own, for a request's
 * bearer token. Where the backend keeps a token generation (SQLite) a live token is
 * remembered until any process on the store next creates or revokes a token
 * (gateway/store/token_cache.h); elsewhere (PostgreSQL) it is read every time. Either way a
 * revocation counts for every lookup that starts after its commit returned. */
store_rc_t store_admin_token_find(store_t *store, const char *token_hash, store_token_t *out);
/* store_admin_token_revoke - revoke the live token name. STORE_NOT_FOUND when no live token
 * has that name; STORE_CONFLICT when it is the last live admin token (nothing changes) */
store_rc_t store_admin_token_revoke(store_tx_t *tx, const char *name, int64_t now);
/* store_admin_token_list - every token, live and revoked, oldest first */
store_rc_t store_admin_token_list(store_tx_t *tx, store_token_list_t *out);
/* store_admin_token_count - live tokens of role (NULL = any role) into *n */
store_rc_t store_admin_token_count(store_tx_t *tx, const char *role, long long *n);

/* store_admin_purge - remove personal fields (names, phones, addresses, e-mail, ID hashes,
 * the authorised person, the proof-of-delivery name, payloads of finished jobs) of every
 * dossier not yet purged whose shipments are all final and unchanged since before cutoff
 * (UTC ms), and mark it purged at now. Province and commune codes and the timeline stay, so
 * its hash chain still verifies. dry_run counts without changing anything. *dossiers = how
 * many (at most 10000 per call: call again for more). */
store_rc_t store_admin_purge(store_tx_t *tx, int64_t cutoff, int dry_run, int64_t now, long long *dossiers);

typedef struct {
    char agency_code[STORE_TOKEN_AGENCY_MAX];
    char waybill[16];
    char dossier_code[64];
    long long amount;     /* đồng */
    int64_t collected_at; /* UTC ms */
    char leg[8];          /* "return": COD on delivery; "send": the fee collected at pick-up */
    long long expected;   /* the dossier's cod_amount (return legs; 0 on the send leg) */
    long long remitted;   /* sum of the carriers' statement lines naming this shipment */
    int remitted_lines;   /* how many such lines */
} store_cod_row_t;

/* a statement line naming no shipment (of the carrier, or of the statement's agency) */
typedef struct {
    char carrier[32];
    char statement_id[65];
    char waybill[16];
    long long amount;
    int64_t remitted_at;
} store_cod_unknown_t;

typedef struct {
    store_cod_row_t *rows; /* owned */
    size_t n;
    long long total;        /* COD collected on delivery (return legs) */
    long long pickup_total; /* fees collected at pick-up (send legs), apart from COD */
    store_cod_unknown_t *unknown; /* owned: lines remitted in [from, to) naming no shipment */
    size_t nunknown;
} store_cod_report_t;
void store_cod_report_free(store_cod_report_t *report);

/* store_admin_cod_report - money collected on delivery or at pick-up in [from, to) (UTC ms), and
 * return legs with COD expected delivered then but nothing collected, of agency (NULL or "" =
 * every agency), by agency then time; with what was remitted for each, and the statement lines
 * remitted in [from, to) naming no shipment */
store_rc_t store_admin_cod_report(store_tx_t *tx, int64_t from, int64_t to, const char *agency,
                                  store_cod_report_t *out);

/* a carrier's remittance statement (the money it paid the agency for COD it collected):
 * lines are borrowed from the caller for the call */
typedef struct {
    char waybill[16];
    long long amount;     /* đồng */
    int64_t remitted_at;  /* UTC ms */
} store_remittance_line_t;

typedef struct {
    const char *carrier;
    const char *statement_id;
    const char *content_hash; /* of the lines as sent: the same statement again is recognised by it */
    const char *agency_code;  /* NULL or "" = every agency; else lines tie only to its shipments */
    const char *created_by;
    const store_remittance_line_t *lines;
    size_t n;
} store_remittance_t;

/* store_admin_remittance_import - store one statement, unique per (carrier, statement_id), each
 * line tied to the shipment of its waybill (of the carrier, and of agency_code when set; none =
 * an unknown waybill, kept and reported apart). *created = 1 when stored now, 0 when the same
 * statement (same content_hash) was stored before (nothing written); STORE_CONFLICT when one
 * with this id but other content exists. *unknown = lines naming no shipment. */
store_rc_t store_admin_remittance_import(store_tx_t *tx, const store_remittance_t *stmt, int64_t now, int *created,
                                         size_t *unknown);

/* COD reconciliation flags of one row (store_cod_flags) */
enum {
    STORE_COD_COLLECTED_MISMATCH = 1 << 0, /* collected differs from the dossier's cod_amount */
    STORE_COD_NOT_REMITTED = 1 << 1,       /* collected, no statement line STORE_COD_REMIT_DAYS later */
    STORE_COD_REMITTED_MISMATCH = 1 << 2,  /* remitted (some line) differs from collected */
};
/* the carrier's remittance deadline: VNPost and Viettel Post pay COD weekly */
#define STORE_COD_REMIT_DAYS 7

/* store_cod_flags - the flags of a return-leg row as of now (UTC ms); 0 for a send leg (its fee is
 * not COD) */
unsigned store_cod_flags(const store_cod_row_t *row, int64_t now);
/* store_cod_count - add a row's money to report's totals: a send leg's is the fee taken at pick-up
 * (pickup_total), apart from a return leg's COD (total); the backends call it for every row */
void store_cod_count(store_cod_report_t *report, const store_cod_row_t *row);

/* store_admin_backup - an online copy of the whole store into the new file dest (mode 0600:
 * it holds every name, phone and address), while the store stays in use. dest must not
 * exist; it appears only once whole and checked. *pages = its size in database pages.
 * STORE_CONFLICT when dest exists, STORE_BUSY when the copy could not be written (disk
 * full, unwritable directory); err says which. No transaction: the backend copies from a
 * consistent snapshot of its own. */
store_rc_t store_admin_backup(store_t *store, const char *dest, long long *pages, char *err, size_t errlen);

#endif
