/*
 * pg_area - helpers shared by the PostgreSQL areas (see pg_area.h)
 */
#include "gateway/store/postgresql/pg_area.h"

store_rc_t
pg_query_id(store_tx_t *tx, const char *what, const char *sql, int64_t id, PGresult **res)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_int(&p, id);
    return pg_query(tx, what, sql, &p, res);
}

store_rc_t
pg_query_text(store_tx_t *tx, const char *what, const char *sql, const char *text, PGresult **res)
{
    pg_params_t p;

    pg_params_init(&p);
    pg_param_text(&p, text);
    return pg_query(tx, what, sql, &p, res);
}

store_rc_t
pg_no_memory(store_tx_t *tx, const char *what)
{
    return store_tx_fail(tx, STORE_BUSY, "out of memory while %s; retry later", what);
}
