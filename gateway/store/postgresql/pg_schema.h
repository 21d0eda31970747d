/*
 * pg_schema - the PostgreSQL backend's schema and its versioned migrations
 * (gateway/store/postgresql/ only)
 *
 * The tables and columns are those of the SQLite backend after all its
 * migrations (INTEGER becomes BIGINT), so the areas' SQL reads alike on both,
 * plus what several bccid instances on one database need:
 *   jobs.lease_instance   the instance (pg_tx_instance) whose dispatcher holds a lease
 *   code_blocks           S10 serials taken from a code range by one instance at a time
 *                         (first..last, next = the next one it hands out); a block of an
 *                         instance that died is never handed out again, so no number is reused
 * schema_version records how many migrations ran. pg_schema_migrate runs the
 * missing ones, each in its own transaction, under a session advisory lock so
 * two instances starting at once do not race, and refuses a database whose
 * schema is newer than this build knows.
 */
#ifndef BCCI_PG_SCHEMA_H
#define BCCI_PG_SCHEMA_H

#include <libpq-fe.h>
#include <stddef.h>

/* the advisory lock namespace of bcci (the first key of the two-key form); the second key is
 * PG_LOCK_SCHEMA for migrations, or hashtext(role) for pg_leader_try */
#define PG_LOCK_CLASS 0x62636369 /* "bcci" */
#define PG_LOCK_SCHEMA 0

/* pg_schema_version_known - how many migrations this build has */
int pg_schema_version_known(void);
/* pg_schema_migrate - bring the database on conn up to date; 0, or -1 with err (what failed
 * and what to do). conn is an open connection outside any transaction; it is left so. */
int pg_schema_migrate(PGconn *conn, char *err, size_t errlen);

#endif
