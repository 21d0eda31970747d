/*
 * pg_area - small helpers the PostgreSQL areas share (gateway/store/postgresql/ only)
 *
 * One-parameter queries (a row id or a text key) and the out-of-memory failure, so each
 * area file keeps only its SQL and its rows. Results are the caller's (PQclear), as with
 * pg_query.
 */
#ifndef BCCI_PG_AREA_H
#define BCCI_PG_AREA_H

#include "gateway/store/postgresql/pg_internal.h"

/* pg_query_id / pg_query_text - pg_query with one parameter: a bigint, or a text (NULL: SQL NULL) */
store_rc_t pg_query_id(store_tx_t *tx, const char *what, const char *sql, int64_t id, PGresult **res);
store_rc_t pg_query_text(store_tx_t *tx, const char *what, const char *sql, const char *text, PGresult **res);
/* pg_no_memory - STORE_BUSY, with "out of memory while what" on tx */
store_rc_t pg_no_memory(store_tx_t *tx, const char *what);

#endif
