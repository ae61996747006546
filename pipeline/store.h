/*
 * store.h - the store interface: everything dossier keeps, behind one API.
 *
 * Backends (SQLite now, PostgreSQL later) implement struct ds_store_ops in
 * store_impl.h; nothing outside a backend file talks to a database library.
 * A ds_store is one connection: use one per thread.
 *
 * Writes happen inside ds_store_begin()/ds_store_commit(); a commit returns
 * only once the data is durable (SQLite: WAL with synchronous=FULL, so the
 * commit is fsync'd). ds_store_savepoint()/ds_store_release()/
 * ds_store_rollback_to() bracket the work of one input inside a batch, so a
 * rejected input leaves nothing half-written.
 *
 * Strings handed back by getters live in the ds_arena the caller passes and
 * die with it. Lists are delivered row by row to a callback (constant
 * memory); a callback returning non-zero stops the walk and that value is
 * returned.
 */
#ifndef DS_STORE_H
#define DS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caltime.h"
#include "err.h"
#include "mem.h"

typedef struct ds_store ds_store;

/* Opens "sqlite:PATH" (PATH relative to home unless absolute; its folder is
 * created) and applies pending migrations. DS_ECONFIG for an unknown or
 * unavailable scheme. */
int ds_store_open(const char *url, const char *home, ds_store **out,
		  ds_err *err);
/* The same for a store that exists already: DS_ENOTFOUND, creating
 * nothing, when there is none (what `dossier check` compares with). */
int ds_store_open_existing(const char *url, const char *home, ds_store **out,
			   ds_err *err);
void ds_store_close(ds_store *s);

int ds_store_begin(ds_store *s, ds_err *err);
int ds_store_commit(ds_store *s, ds_err *err);
void ds_store_rollback(ds_store *s);
int ds_store_savepoint(ds_store *s, ds_err *err);
int ds_store_release(ds_store *s, ds_err *err);
void ds_store_rollback_to(ds_store *s);
/* Rows inserted, updated or deleted through this store so far: whether
 * something was written between two calls. */
int64_t ds_store_changes(ds_store *s);

/* ---- interactions: raw inputs, verbatim ---- */

typedef struct ds_interaction {
	int64_t id;
	const char *channel;
	const char *source;
	const char *origin;          /* file name, "stdin", or a request id */
	ds_time received_at;
	const unsigned char *bytes;
	size_t len;
	char sha256[65];             /* hex of bytes */
	const char *identity;        /* the input's own id (Message-ID), or NULL */
} ds_interaction;

/* Stores the interaction unless one with the same source and SHA-256, or
 * the same source and identity, exists; sets in->id to the new or existing
 * id and *duplicate accordingly. */
int ds_store_interaction_add(ds_store *s, ds_interaction *in, bool *duplicate,
			     ds_err *err);
/* Fetches one interaction (bytes included) into a. */
int ds_store_interaction_get(ds_store *s, int64_t id, ds_arena *a,
			     ds_interaction *out, ds_err *err);

/* ---- attachments: the files an interaction carried ---- */

/* The bytes stay in the interaction; a row says where they are (an email's
 * MIME part path, or the nth file of a multipart form) and what they are. */
typedef struct ds_attachment_row {
	int64_t id;
	int64_t interaction_id;
	int seq;                     /* the input's nth file, from 0 */
	const char *part;            /* email: IMAP part path; form: field name */
	const char *filename;        /* as sent, possibly "" */
	const char *content_type;
	int64_t size;                /* decoded bytes */
	char sha256[65];             /* hex of the decoded bytes */
} ds_attachment_row;

int ds_store_attachment_add(ds_store *s, ds_attachment_row *a, ds_err *err);
/* The attachments of the interactions whose records went to a case, in
 * the order they arrived. */
int ds_store_attachment_list(ds_store *s, int64_t case_id,
			     int (*fn)(void *ud, const ds_attachment_row *a),
			     void *ud, ds_err *err);
int ds_store_attachment_get(ds_store *s, int64_t id, ds_arena *a,
			    ds_attachment_row *out, ds_err *err);

/* ---- records ---- */

int ds_store_record_add(ds_store *s, int64_t interaction_id, const char *type,
			const char *json, int64_t case_id, ds_time at,
			int64_t *id, ds_err *err);

/* ---- cases ---- */

typedef struct ds_case_row {
	int64_t id;
	const char *process;
	int process_version;
	const char *key;
	const char *state;
	int64_t version;
	int64_t state_version;       /* version at which state was entered */
	ds_time state_since;
	ds_time created_at;
	ds_time updated_at;
	int64_t profile_id;          /* 0 when none */
	const char *data;            /* JSON text */
} ds_case_row;

/* DS_ENOTFOUND when absent. */
int ds_store_case_find(ds_store *s, const char *process, const char *key,
		       ds_arena *a, ds_case_row *out, ds_err *err);
int ds_store_case_get(ds_store *s, int64_t id, ds_arena *a, ds_case_row *out,
		      ds_err *err);
/* The same without the data (out->data NULL), for what may not need it
 * (a timer); ds_store_case_data reads it then. */
int ds_store_case_row(ds_store *s, int64_t id, ds_arena *a, ds_case_row *out,
		      ds_err *err);
int ds_store_case_data(ds_store *s, int64_t id, ds_arena *a, const char **out,
		       ds_err *err);
/* The case of process that a message belongs to: the latest case of that
 * process given a record by a stored interaction whose identity (an
 * email's Message-ID) is id. DS_ENOTFOUND when none. */
int ds_store_case_by_thread(ds_store *s, const char *process, const char *id,
			    ds_arena *a, ds_case_row *out, ds_err *err);
/* Cases of one version of a process, in id order. */
int ds_store_case_list_version(ds_store *s, const char *process, int version,
			       int (*fn)(void *ud, const ds_case_row *c),
			       void *ud, ds_err *err);
/* How many cases of one version of a process are in each state (states
 * without cases are not listed). */
int ds_store_case_states(ds_store *s, const char *process, int version,
			 int (*fn)(void *ud, const char *state, int64_t n),
			 void *ud, ds_err *err);
/* Inserts c (c->id is set). DS_EBUSY if (process, key) already exists. */
int ds_store_case_insert(ds_store *s, ds_case_row *c, ds_err *err);
/* Writes c (its process version too, and its data unless c->data is
 * NULL: unchanged) if the stored version is still expected_version, else
 * DS_EBUSY: the optimistic lock that serialises changes to one case. */
int ds_store_case_update(ds_store *s, const ds_case_row *c,
			 int64_t expected_version, ds_err *err);
int ds_store_case_set_profile(ds_store *s, int64_t case_id,
			      int64_t profile_id, ds_err *err);
/* Cases in id order; process and state may be NULL (no filter). */
int ds_store_case_list(ds_store *s, const char *process, const char *state,
		       int (*fn)(void *ud, const ds_case_row *c), void *ud,
		       ds_err *err);

/* ---- process definitions: every version the store has run ---- */

typedef struct ds_process_def_row {
	const char *process;
	int version;
	char sha256[65];             /* hex, of definition */
	const char *definition;      /* its JSON text */
	ds_time first_run;
} ds_process_def_row;

/* Records a definition unless its (process, version) is already there;
 * *added says which. Whether the stored one is the same is the caller's
 * to check (ds_store_process_def_list). */
int ds_store_process_def_add(ds_store *s, const ds_process_def_row *d,
			     bool *added, ds_err *err);
/* Every stored definition, by process then version. */
int ds_store_process_def_list(ds_store *s,
			      int (*fn)(void *ud, const ds_process_def_row *d),
			      void *ud, ds_err *err);

/* ---- audit: every change of a case ---- */

typedef struct ds_audit_row {
	int64_t id;
	int64_t case_id;
	int64_t version;             /* the case version this change made */
	const char *from_state;      /* NULL at creation */
	const char *to_state;
	ds_time at;
	const char *cause;           /* JSON object: {"type":"record"|...} */
	const char *changed;         /* JSON array of changed field names, or NULL */
} ds_audit_row;

int ds_store_audit_add(ds_store *s, ds_audit_row *r, ds_err *err);
int ds_store_audit_list(ds_store *s, int64_t case_id,
			int (*fn)(void *ud, const ds_audit_row *r), void *ud,
			ds_err *err);

/* ---- timers ---- */

typedef struct ds_timer_row {
	int64_t id;
	int64_t case_id;
	const char *state;           /* the state the timer belongs to */
	int64_t state_version;       /* the entry into that state */
	int transition;              /* index in the state's transitions */
	ds_time due;
} ds_timer_row;

int ds_store_timer_add(ds_store *s, ds_timer_row *t, ds_err *err);
/* Pending timers due at or before now that come after (after_due,
 * after_id) in (due, id) order, at most limit of them. */
int ds_store_timer_due(ds_store *s, ds_time now, ds_time after_due,
		       int64_t after_id, size_t limit,
		       int (*fn)(void *ud, const ds_timer_row *t), void *ud,
		       ds_err *err);
/* Marks a pending timer done (fired, or obsolete because the case moved
 * on); *was_pending is false if it was already done (never fire twice). */
int ds_store_timer_done(ds_store *s, int64_t id, ds_time at, bool fired,
			bool *was_pending, ds_err *err);
int64_t ds_store_timer_pending_count(ds_store *s);

/* ---- profiles ---- */

/* Finds or creates the profile of a normalised email; sets name when the
 * profile has none. */
int ds_store_profile_upsert(ds_store *s, const char *email, const char *name,
			    ds_time at, int64_t *id, bool *created,
			    ds_err *err);
typedef struct ds_profile_row {
	int64_t id;
	const char *email;
	const char *name;
	ds_time created_at;
	ds_time updated_at;
} ds_profile_row;
int ds_store_profile_find_email(ds_store *s, const char *email, ds_arena *a,
				ds_profile_row *out, ds_err *err);
/* Adds an entry to the profile's timeline, once per (profile, kind, ref):
 * what happened to the person stays theirs even if a case later changes
 * hands. */
int ds_store_timeline_add(ds_store *s, int64_t profile_id, const char *kind,
			  int64_t ref, ds_time at, ds_err *err);
/* The profile's timeline, oldest first. */
typedef struct ds_timeline_row {
	const char *kind;
	int64_t ref;
	ds_time at;
} ds_timeline_row;
int ds_store_timeline_list(ds_store *s, int64_t profile_id,
			   int (*fn)(void *ud, const ds_timeline_row *r),
			   void *ud, ds_err *err);

/* ---- documents ---- */

typedef struct ds_document_row {
	int64_t id;
	int64_t case_id;
	int64_t audit_id;            /* the entry into the output point */
	const char *case_key;        /* filled by list/get */
	const char *template_name;
	const char *path;
	char sha256[65];
	int64_t size;
	ds_time created_at;
} ds_document_row;

/* Records a produced document; DS_EBUSY if this audit entry already has a
 * document of this template (once per entry into an output point). */
int ds_store_document_add(ds_store *s, ds_document_row *d, ds_err *err);
bool ds_store_document_exists(ds_store *s, int64_t audit_id,
			      const char *template_name);
/* case_id 0: all documents. */
int ds_store_document_list(ds_store *s, int64_t case_id,
			   int (*fn)(void *ud, const ds_document_row *d),
			   void *ud, ds_err *err);
int ds_store_document_get(ds_store *s, int64_t id, ds_arena *a,
			  ds_document_row *out, ds_err *err);

/* ---- quarantine ---- */

typedef struct ds_quarantine_row {
	int64_t id;
	int64_t interaction_id;      /* 0 when the input was never stored */
	const char *source;
	const char *channel;
	const char *origin;
	const char *stage;
	const char *reason;
	ds_time at;
	const unsigned char *bytes;  /* get only; NULL in lists, and when the
	                                bytes are in the interaction or were
	                                over the size limit */
	size_t len;                  /* of bytes */
	size_t size;                 /* of the input as received */
	char sha256[65];
	bool replayed;
} ds_quarantine_row;

/* Adds an entry unless an unreplayed one with the same source, stage and
 * SHA-256 exists (then *duplicate is set and q->id is that entry). */
int ds_store_quarantine_add(ds_store *s, ds_quarantine_row *q, bool *duplicate,
			    ds_err *err);
int ds_store_quarantine_list(ds_store *s,
			     int (*fn)(void *ud, const ds_quarantine_row *q),
			     void *ud, ds_err *err);
int ds_store_quarantine_get(ds_store *s, int64_t id, ds_arena *a,
			    ds_quarantine_row *out, ds_err *err);
int ds_store_quarantine_mark_replayed(ds_store *s, int64_t id, ds_err *err);
int64_t ds_store_quarantine_count(ds_store *s);

#endif
