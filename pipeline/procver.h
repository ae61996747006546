/*
 * procver.h - versions of process definitions, against what the store has
 * run.
 *
 * The store keeps every process definition it has run, by (process,
 * version), as its canonical JSON text with that text's SHA-256. A case
 * keeps running by the version it started with (rights, guards, timers,
 * outputs); new cases take the newest, the one in schemas/processes/.
 * Against the store:
 *   - a definition whose content changed while its "version" did not is an
 *     error (its "version" must go up);
 *   - a version below one the store has run is an error;
 *   - a version that drops a state where cases of an earlier version still
 *     are is not adopted (an error), unless it declares a "migrate" from
 *     that version that gives the state a successor; a migration naming a
 *     state the earlier version does not have is an error too. Once a
 *     version is adopted, earlier cases that their own version takes into
 *     such a state are only a warning: they run by their version.
 * ds_procver_sync then records the definitions the store has not run yet
 * and moves the cases of each version a "migrate" names to the newest, in
 * one transaction: a version's cases move once, since none is left after.
 */
#ifndef DS_PROCVER_H
#define DS_PROCVER_H

#include <stdint.h>

#include "caltime.h"
#include "config.h"
#include "diag.h"
#include "err.h"
#include "store.h"

/* Told of each migration done: cases of p's version `from` moved to p. */
typedef void (*ds_procver_note)(void *ud, const ds_process *p, int from,
				int64_t cases);

/* Compares cfg's processes with the definitions store has run; problems
 * go to diag against each process's file and JSON path. Adds to cfg the
 * earlier versions the store holds (ds_config_add_version), so that cases
 * started under one run by it. Writes nothing. Returns 0, DS_ECONFIG when
 * diag got errors, or a store error. */
int ds_procver_check(ds_config *cfg, ds_store *store, ds_diag *diag,
		     ds_err *err);

/* ds_procver_check; then, when it found no problem, records the
 * definitions store has not run yet (first run: now) and migrates the
 * cases of every version a "migrate" names, each with an audit entry, all
 * in one transaction (none is opened when there is nothing to write).
 * note (may be NULL) is told of each migration once it is committed. */
int ds_procver_sync(ds_config *cfg, ds_store *store, ds_time now,
		    ds_procver_note note, void *ud, ds_diag *diag, ds_err *err);

#endif
