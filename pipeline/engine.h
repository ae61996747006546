/*
 * engine.h - the state machine that moves cases, and the runtime one thread
 * works with.
 *
 * A ds_case_work holds one case in memory while something changes it: a
 * record, a user event, a data edit, a timer. change_state() in engine.c is
 * the only code that changes a case's state; it appends the audit entry,
 * and notes entries into output points. ds_engine_commit() then writes the
 * case (optimistic lock on its version), its audit entries, the record that
 * caused them and the timers of the state it ends in, in the caller's
 * transaction, and ds_engine_produce() renders the documents of the output
 * points entered. Rights are checked here, not in the interfaces, so the
 * command line and the HTTP API cannot differ.
 *
 * Every change adds one to the case version.
 */
#ifndef DS_ENGINE_H
#define DS_ENGINE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "caltime.h"
#include "config.h"
#include "err.h"
#include "mem.h"
#include "pdf.h"
#include "store.h"

/* Counters a run reports (SPEC section 3, `ingest` and `tick`). */
typedef struct ds_stats {
	int64_t read, new_, duplicates, quarantined, records, transitions,
		documents, fired, obsolete, failed, purged, unreadable,
		started;             /* cases started by other cases */
	int64_t max_late;        /* seconds, timers */
	/* Retention (privacy.h; purged is their sum): raw interactions,
	 * closed cases and their documents, quarantine entries erased; raw
	 * interactions kept as proofs of a consent in force. */
	int64_t purged_interactions, purged_cases, purged_documents,
		purged_quarantine, kept_proofs;
} ds_stats;

/* What one thread works with. Not shared between threads. */
typedef struct ds_runtime {
	const ds_config *cfg;
	ds_store *store;
	ds_pdf *pdf;
	ds_time now;
	char documents_dir[PATH_MAX]; /* absolute */
	char **written;               /* documents written since the last commit */
	size_t nwritten, capwritten;
	ds_stats stats;
} ds_runtime;

/* Sets up rt for cfg and store (both borrowed); creates the renderer and
 * the documents folder. */
int ds_runtime_init(ds_runtime *rt, const ds_config *cfg, ds_store *store,
		    ds_time now, ds_err *err);
void ds_runtime_fini(ds_runtime *rt);
/* Flushes written documents to disk; call before committing. */
int ds_runtime_sync(ds_runtime *rt, ds_err *err);
/* The transaction that recorded the documents written so far committed:
 * forget them. */
void ds_runtime_committed(ds_runtime *rt);
/* How many documents are written and not yet committed; a mark for
 * ds_runtime_discard(). */
size_t ds_runtime_mark(const ds_runtime *rt);
/* Their transaction was rolled back: removes the files written since
 * mark, so no document exists without its row. */
void ds_runtime_discard(ds_runtime *rt, size_t mark);

typedef enum {
	DS_CAUSE_RECORD, DS_CAUSE_EVENT, DS_CAUSE_EDIT, DS_CAUSE_TIMER, DS_CAUSE_GUARD,
	DS_CAUSE_START, DS_CAUSE_MIGRATION
} ds_cause_kind;

typedef struct ds_cause {
	ds_cause_kind kind;
	const char *record_type;     /* RECORD */
	const char *source;          /* RECORD */
	int64_t record_id;           /* RECORD, set at commit */
	int64_t interaction_id;      /* RECORD */
	const char *thread;          /* RECORD: the Message-ID it answers that
	                                tied it to the case, or NULL */
	const char *event;           /* EVENT */
	const char *role;            /* EVENT, EDIT */
	const char *actor;           /* EVENT, EDIT */
	const char *after;           /* TIMER */
	ds_time due;                 /* TIMER */
	const char *guard;           /* GUARD: the expression that held */
	const char *by_process;      /* START: the case whose state started it */
	const char *by_key;
	const char *by_state;
	int64_t by_case;
	int from_version;            /* MIGRATION: the process versions */
	int to_version;
} ds_cause;

#define DS_MAX_CHANGES 32

typedef struct ds_change {
	int from;                    /* -1 at creation */
	int to;
	const char *from_state;      /* the name of from, or NULL; for a
	                                migration, a state of the earlier version */
	ds_time at;
	ds_cause cause;
	char *changed;               /* JSON array text of changed fields, or NULL */
	char *effects;               /* what entering `to` did to the case's
	                                profile (ds_audit_row), set at commit */
	int64_t audit_id;            /* set at commit */
	int64_t version;
} ds_change;

typedef struct ds_case_work {
	ds_arena *a;                 /* borrowed; owns every string below */
	const ds_process *p;
	ds_case_row row;
	cJSON *data;                 /* owned through the arena; NULL until
	                                ds_engine_data reads data_json */
	const char *data_json;       /* data as JSON text while unchanged, or NULL */
	ds_store *store;             /* where ds_engine_data reads the data of
	                                a case loaded without it, or NULL */
	bool is_new;
	int64_t base_version;        /* the stored version; 0 when new */
	int state;
	ds_change changes[DS_MAX_CHANGES];
	size_t nchanges;
	/* What the case counted for its profile's traits before these
	 * changes: its state (-1: none) and data text as loaded, or, once
	 * counted (counted_known), the traits themselves. */
	int old_state;
	const char *old_data;
	ds_traits counted;
	bool counted_known;
	/* The record that caused the changes, inserted at commit. */
	const char *record_type;
	const char *record_json;
	int64_t interaction_id;
	int64_t record_id;
} ds_case_work;

/* A new case of p with key, in its initial state, with data: taken (freed
 * with the arena) unless arena_owned says the arena already frees it. */
int ds_engine_create(ds_case_work *w, ds_arena *a, const ds_process *p,
		     const char *key, cJSON *data, bool arena_owned,
		     const ds_cause *cause, ds_time now, ds_err *err);
/* Loads a stored case, under the version of its process it started with
 * (or was migrated to). DS_ENOTFOUND, DS_ECONFIG (process or version
 * unknown). */
int ds_engine_load(ds_case_work *w, ds_arena *a, const ds_config *cfg,
		   const ds_case_row *row, ds_err *err);
/* Finds a case by id ("12") or key ("DEV-2026-0042", or "offer:DEV-..."
 * when two processes share a key) and loads it. */
int ds_engine_find(ds_case_work *w, ds_arena *a, const ds_config *cfg,
		   ds_store *store, const char *ref, ds_err *err);

/* Moves a stored case of an earlier version of its process to version np
 * and its state `to` (ds_process_successor): one audit entry (cause:
 * migration), no document and no start, as entering a state would; the
 * data and the time the case entered its state are kept. The timers of
 * `to` in np are counted from that time; those of the earlier version no
 * longer apply. DS_ECONFIG when np has no state `to`. */
int ds_engine_migrate(ds_case_work *w, ds_arena *a, const ds_process *np,
		      const ds_case_row *row, const char *to, ds_time now,
		      ds_err *err);

/* Records, as one audit entry that changes neither state nor data, that
 * something reached the case (a reply to one of its messages). */
int ds_engine_attach(ds_case_work *w, const ds_cause *cause, ds_time now, ds_err *err);

/* Merges fields (a JSON object) into the case data as role; every changed
 * top-level field must be editable by role in the current state, else
 * DS_EREFUSED naming the state, the field and the role. role NULL means
 * the process itself (no check). */
/* The case's data as a tree, read from its text on first use (a loaded
 * case is not parsed until something needs its fields). */
int ds_engine_data(ds_case_work *w, cJSON **out, ds_err *err);

int ds_engine_edit(ds_case_work *w, const cJSON *fields, const char *role,
		   const ds_cause *cause, ds_time now, ds_err *err);
/* Checks the case data against the schema of the record type that starts
 * the process's cases (after a user's edit, so the data a state produces
 * documents from stays valid): DS_EREFUSED listing every error. */
int ds_engine_validate(ds_case_work *w, const ds_config *cfg, ds_err *err);
/* A user event: DS_EREFUSED when the current state has no such event or
 * the role may not send it (the message names state, event and role). */
int ds_engine_event(ds_case_work *w, const char *event, const char *role,
		    const char *actor, ds_time now, ds_err *err);
/* A due timer: transition t of the current state. */
int ds_engine_timer(ds_case_work *w, int t, ds_time due, ds_time now,
		    ds_err *err);
/* Follows data guards from the current state until none holds (at most
 * DS_MAX_CHANGES steps in all). */
int ds_engine_settle(ds_case_work *w, ds_time now, ds_err *err);

/* Writes everything w holds in the store's current transaction. DS_EBUSY
 * when the case changed meanwhile. */
int ds_engine_commit(ds_runtime *rt, ds_case_work *w, ds_err *err);
/* Renders the documents of the output points entered by w's changes and
 * records them (once per entry). */
int ds_engine_produce(ds_runtime *rt, ds_case_work *w, ds_err *err);

/* Fires every timer due at rt->now, in due order, each once, in
 * transactions of cfg->batch_size; report (may be NULL) is told of each
 * timer fired. A timer whose case cannot move (its guard or its document
 * fails on the data) is undone alone, left pending for the next tick and
 * passed to failed (may be NULL); the others go on. Then purges what the
 * retention settings say is old (ds_privacy_purge). Returns 0, or the
 * error that stopped the run (store, memory). */
int ds_engine_tick(ds_runtime *rt,
		   void (*report)(void *ud, const ds_case_work *w,
				  const ds_timer_row *t, int64_t late),
		   void (*failed)(void *ud, const ds_timer_row *t,
				  const ds_err *e),
		   void *ud, ds_err *err);

/* The cause as a JSON object text, allocated in a. */
char *ds_cause_json(ds_arena *a, const ds_cause *c);

#endif
