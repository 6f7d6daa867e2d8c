/* ledger_db: what ledger.c shares with ledger_crl.c; not for other callers. */
#ifndef SG_LEDGER_DB_H
#define SG_LEDGER_DB_H

#include <sqlite3.h>
#include "ledger.h"

/* Open a connection (busy timeout, foreign keys, synchronous=FULL) / run SQL on it; both
 * log what went wrong. */
ik_status sg_ledger_db_open(const char *path, int flags, sqlite3 **db);
ik_status sg_ledger_db_exec(sqlite3 *db, const char *sql);
const char *sg_ledger_path(const sg_ledger *l);

#endif
