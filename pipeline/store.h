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
#include "decimal.h"
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
/* Rows this connection has inserted, updated or deleted since it opened:
 * two readings that agree mean nothing was written between them. */
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

/* What became of a stored interaction: its records (id, type, and the case
 * each went to, 0 when none), in the order they were written. */
typedef struct ds_record_ref {
	int64_t id;
	const char *type;
	int64_t case_id;
} ds_record_ref;
int ds_store_interaction_records(ds_store *s, int64_t interaction_id,
				 int (*fn)(void *ud, const ds_record_ref *r), void *ud,
				 ds_err *err);

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
	ds_time erased_at;           /* 0 unless its personal data was erased */
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
	/* What entering to_state did to the case's profile, as resolved when
	 * it was committed: {"tag": [...], "untag": [...], "interest": [...],
	 * "set": {"name": value}}; NULL when nothing */
	const char *effects;
} ds_audit_row;

/* The n entries rows, in order (each row's id set): fewer statements than
 * one each. */
int ds_store_audit_add_n(ds_store *s, ds_audit_row *rows, size_t n, ds_err *err);
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
/* Pending timers due at or before t (-1 on a store error). */
int64_t ds_store_timer_due_count(ds_store *s, ds_time t);

/* ---- profiles ---- */

/* The traits kept per profile, one column each, so that a filter over them
 * compiles to indexed SQL. Values are whole numbers: a count; money in
 * cents (exact, never a float); a date as YYYYMMDD (0: none); a time as a
 * ds_time (0: none). */
enum {
	DS_TRAIT_ORDERS_COUNT, DS_TRAIT_TOTAL_SPENT, DS_TRAIT_LAST_ORDER_AT,
	DS_TRAIT_OFFERS_SENT, DS_TRAIT_OFFERS_ACCEPTED, DS_TRAIT_OFFERS_REJECTED,
	DS_TRAIT_OPEN_COMPLAINTS, DS_TRAIT_LAST_INTERACTION_AT, DS_NTRAITS
};
typedef enum { DS_TRAIT_COUNT, DS_TRAIT_CENTS, DS_TRAIT_DATE, DS_TRAIT_TIME } ds_trait_kind;
typedef struct ds_traits {
	int64_t v[DS_NTRAITS];
} ds_traits;
/* "orders_count"... for a trait index; -1 for an unknown name. */
const char *ds_trait_name(int trait);
ds_trait_kind ds_trait_kind_of(int trait);
int ds_trait_index(const char *name);

typedef struct ds_profile_row {
	int64_t id;
	ds_time created_at;
	ds_time updated_at;
	int64_t merged_into;         /* 0 unless merged into that profile */
	ds_traits traits;
	/* JSON: each attribute's values, best first, each with the record,
	 * source, trust and time that gave it (profile.c keeps it); in the
	 * arena given to profile_get, NULL when none was */
	const char *attributes;
	/* A digest of what the last record said of the attributes when the
	 * attributes held exactly that, else 0 (profile.c) */
	int64_t attrs_digest;
	/* 0, or when the person was forgotten: the profile is then the
	 * pseudonym that keeps their cases and counts (privacy.h) */
	ds_time forgotten_at;
} ds_profile_row;

/* The current (first) value of each attribute of a profile's attributes
 * as the writer of the document knows it: its text when it is a JSON
 * string, NULL when it is null or missing, other when it is anything
 * else. The store keeps the attributes it indexes (docs/segments.md) from
 * these, and reads the document itself only for a name it is not told
 * or whose value is other. */
typedef struct ds_attr_value {
	const char *name;
	const char *text;
	bool other;
} ds_attr_value;
typedef struct ds_attr_values {
	const ds_attr_value *v;      /* every name the document has */
	size_t n;
} ds_attr_values;

/* A new profile created at, with its attributes (JSON text; cur, their
 * current values, or NULL) and their digest, its traits (NULL: none; a 0
 * date or time: none), the last interaction among them, and the consent
 * its first record grants (bits of ds_store_consent_bit; the statements
 * themselves are still recorded by ds_store_consent_add): one row
 * written once. */
int ds_store_profile_create(ds_store *s, ds_time at, const char *attributes,
			    const ds_attr_values *cur, int64_t digest,
			    const ds_traits *traits, int64_t consent_mask,
			    int64_t *id, ds_err *err);
/* The bit of a purpose and channel in a profile's consent mask (the
 * current consent granted), numbered the first time it is asked for; -1
 * once 63 are numbered (the mask then leaves that one out). */
int ds_store_consent_bit(ds_store *s, const char *purpose, const char *channel,
			 int *bit, ds_err *err);
/* DS_ENOTFOUND when absent (a merged profile is still found). The
 * attributes are copied into a when it is not NULL. */
int ds_store_profile_get(ds_store *s, int64_t id, ds_arena *a,
			 ds_profile_row *out, ds_err *err);
/* Profiles not merged into another, in id order (attributes as text valid
 * during the call). */
int ds_store_profile_list(ds_store *s,
			  int (*fn)(void *ud, const ds_profile_row *p),
			  void *ud, ds_err *err);
/* Writes attributes (NULL: unchanged; cur: their current values, or
 * NULL), their digest (NULL: unchanged) and traits (NULL: unchanged): with
 * add, counts and cents are added, dates and times kept at the latest (a
 * 0 leaves them); else every trait is set to t. updated_at becomes at
 * unless it is later already. */
int ds_store_profile_update(ds_store *s, int64_t id, const char *attributes,
			    const ds_attr_values *cur, const int64_t *digest,
			    const ds_traits *t, bool add, ds_time at, ds_err *err);

/* An identity: a normalised email, an E.164 phone, an external id. scope
 * is "" or, for an id that means something only within its source, the
 * source's name. */
typedef struct ds_identity_row {
	int64_t id;
	int64_t profile_id;
	const char *kind;
	const char *scope;
	const char *value;
	int64_t record_id;           /* the record it came from, 0: none */
	ds_time at;
} ds_identity_row;

/* A profile holding an identity, with what the profile stage needs of it
 * (valid during the callback). */
typedef struct ds_identity_hit {
	int64_t profile_id;          /* never one merged into another */
	ds_time last_interaction_at; /* 0: none */
	const char *attributes;      /* ds_profile_row's */
	int64_t attrs_digest;
} ds_identity_hit;

typedef struct ds_identity_key {
	const char *kind;
	const char *scope;           /* NULL: "" */
	const char *value;
	unsigned max;                /* profiles wanted, at most
	                                DS_IDENTITY_MAX_HITS; 0: that many */
	int64_t holder;              /* only whether this profile holds it;
	                                0: any profile */
} ds_identity_key;

/* The profiles holding any of keys[0..n) (distinct keys): fn gets the index
 * of the key and the profile, in no particular order; for each key at most
 * its max profiles, the oldest, and none merged into another (the one it
 * was merged into holds what it held); for a key with a holder, that
 * profile if it holds the key (without its attributes). */
#define DS_IDENTITY_MAX_HITS 16
int ds_store_identity_find(ds_store *s, const ds_identity_key *keys, size_t n,
			   int (*fn)(void *ud, size_t key,
				     const ds_identity_hit *h),
			   void *ud, ds_err *err);
/* Adds identities r[0..n) to their profiles, each unless held already. */
int ds_store_identity_add(ds_store *s, const ds_identity_row *r, size_t n,
			  ds_err *err);
int ds_store_identity_list(ds_store *s, int64_t profile_id,
			   int (*fn)(void *ud, const ds_identity_row *r),
			   void *ud, ds_err *err);

/* A consent statement: granted or withdrawn, for a purpose ("marketing")
 * and a channel (email, sms, post, phone), when, and the interaction that
 * proves it. */
typedef struct ds_consent_row {
	int64_t profile_id;
	const char *purpose;
	const char *channel;
	bool granted;
	ds_time at;                  /* the time of the interaction */
	int64_t interaction_id;
	int64_t record_id;
	const char *source;
	/* The profile's consent mask holds the statement already (a profile
	 * created with the consent its first record grants): the mask is
	 * left as it is. */
	bool in_mask;
} ds_consent_row;

/* Keeps the statement in the consent history; it becomes the current
 * consent of its purpose and channel if it is later than the current one,
 * or as late and a withdrawal of a grant. */
int ds_store_consent_add(ds_store *s, const ds_consent_row *r, ds_err *err);
/* The current consent by purpose and channel, or with history every
 * statement in time order. */
int ds_store_consent_list(ds_store *s, int64_t profile_id, bool history,
			  int (*fn)(void *ud, const ds_consent_row *r),
			  void *ud, ds_err *err);

/* Interests (a set of words) of a profile. */
int ds_store_interest_add(ds_store *s, int64_t profile_id, const char *value,
			  ds_time at, ds_err *err);
int ds_store_interest_list(ds_store *s, int64_t profile_id,
			   int (*fn)(void *ud, const char *value), void *ud,
			   ds_err *err);
int ds_store_interest_clear(ds_store *s, int64_t profile_id, ds_err *err);

/* Recomputes the current consent of a profile from its history (after
 * statements moved in a merge or an unmerge). */
int ds_store_profile_settle(ds_store *s, int64_t profile_id, ds_err *err);

/* A merge: every identity, consent statement, timeline entry and case of
 * merged moved to survivor; what moved, and the attributes merged had, are
 * logged with it so that an unmerge puts exactly that back. */
typedef struct ds_merge_row {
	int64_t id;
	int64_t survivor;
	int64_t merged;
	ds_time at;
	int64_t record_id;           /* the record that linked them, 0: by hand */
	const char *reason;
	ds_time undone_at;           /* 0 while in force */
	const char *attributes;      /* merged's attributes when merged (JSON) */
} ds_merge_row;

/* Merges m->merged into m->survivor (m->id is set); the merged profile's
 * attributes, current consent and interests are emptied and its traits
 * zeroed, and it points to the survivor. The caller gives the survivor its
 * attributes, settles its consent and rebuilds its traits. */
int ds_store_profile_merge(ds_store *s, ds_merge_row *m, ds_err *err);
/* Moves back what merge id moved, if it is still with the survivor.
 * DS_ENOTFOUND, or DS_EREFUSED when it was undone already or the survivor
 * was merged into another profile since (undo that first). *out gets the
 * merge. The caller settles both profiles and rebuilds their traits. */
int ds_store_profile_unmerge(ds_store *s, int64_t id, ds_time at,
			     ds_arena *a, ds_merge_row *out, ds_err *err);
int ds_store_merge_get(ds_store *s, int64_t id, ds_arena *a,
		       ds_merge_row *out, ds_err *err);
/* Merges into or of a profile, in id order. */
int ds_store_merge_list(ds_store *s, int64_t profile_id,
			int (*fn)(void *ud, const ds_merge_row *m), void *ud,
			ds_err *err);
/* Whether a and b, or profiles merged into either (and into those...),
 * were merged once and unmerged: they are two people. True too when the
 * store cannot tell: nothing is merged on a doubt. */
bool ds_store_kept_apart(ds_store *s, int64_t a, int64_t b);

/* A tag on a profile: the latest transition that set or removed it (a
 * removal is kept, so that a transition older than it, processed later,
 * does not set the tag again). */
typedef struct ds_tag_row {
	int64_t profile_id;
	const char *tag;
	bool present;                /* false: removed */
	ds_time at;                  /* of the transition */
	int64_t case_id;
	int64_t audit_id;            /* the transition (its audit entry) */
} ds_tag_row;

/* Keeps r as the profile's statement on its tag if it is later, by time
 * then audit id, than the one kept. */
int ds_store_tag_put(ds_store *s, const ds_tag_row *r, ds_err *err);
/* The profile's tags by name; with removed also those removed. */
int ds_store_tag_list(ds_store *s, int64_t profile_id, bool removed,
		      int (*fn)(void *ud, const ds_tag_row *r), void *ud,
		      ds_err *err);
int ds_store_tag_clear(ds_store *s, int64_t profile_id, ds_err *err);

/* The audit entries of a profile's cases that did something to the
 * profile (effects not NULL), by time then id. */
int ds_store_profile_effects(ds_store *s, int64_t profile_id,
			     int (*fn)(void *ud, const ds_audit_row *r),
			     void *ud, ds_err *err);

/* The cases linked to a profile, in id order. */
int ds_store_case_list_profile(ds_store *s, int64_t profile_id,
			       int (*fn)(void *ud, const ds_case_row *c),
			       void *ud, ds_err *err);

/* The records on a profile's timeline, with the source and time of their
 * interaction, in id order. */
typedef struct ds_timeline_record {
	int64_t id;
	const char *type;
	const char *data;            /* JSON text */
	int64_t case_id;             /* 0: none */
	int64_t interaction_id;
	const char *source;
	ds_time received_at;
} ds_timeline_record;
int ds_store_profile_records(ds_store *s, int64_t profile_id,
			     int (*fn)(void *ud, const ds_timeline_record *r),
			     void *ud, ds_err *err);

/* Adds an entry to the profile's timeline, once per (profile, kind, ref):
 * what happened to the person stays theirs even if a case later changes
 * hands. kind is "record" (ref: a record id) or "case" (a case id). */
int ds_store_timeline_add(ds_store *s, int64_t profile_id, const char *kind,
			  int64_t ref, ds_time at, ds_err *err);
/* The profile's timeline, oldest first, with what each entry names: a
 * record's type and its case's key and state, or a case's process, key
 * and state (NULL when gone). */
typedef struct ds_timeline_row {
	const char *kind;
	int64_t ref;
	ds_time at;
	const char *type;            /* record type, or the case's process */
	const char *key;             /* the case's key */
	const char *state;           /* the case's state */
} ds_timeline_row;
int ds_store_timeline_list(ds_store *s, int64_t profile_id,
			   int (*fn)(void *ud, const ds_timeline_row *r),
			   void *ud, ds_err *err);

/* ---- segments: a filter over the profiles, compiled by segment.c ---- */

/*
 * A segment's filter reaches the store as a tree of conditions over what a
 * profile holds, every value in it to be bound as a parameter: a backend
 * renders the tree in its own SQL and never pastes a value into the text.
 * Only profiles merged into none take part. A leaf with neg holds exactly
 * when the condition does not (a field without a value included).
 */
typedef enum {
	DS_SEGF_ID,                  /* the profile's id */
	DS_SEGF_TRAIT,               /* a trait column, as the store keeps it */
	DS_SEGF_ATTR,                /* the current value of an attribute */
} ds_segf_kind;

typedef struct ds_seg_field {
	ds_segf_kind kind;
	int trait;                   /* DS_TRAIT_*: counts, cents, dates as
	                                "YYYY-MM-DD" text, times in seconds */
	const char *attr;            /* the attribute's name */
	const char *path;            /* JSON path of the value in the
	                                attributes document: $."name"[0].value */
	bool whole;                  /* the path is the attribute's whole value */
} ds_seg_field;

typedef enum { DS_SEGV_INT, DS_SEGV_NUM, DS_SEGV_TEXT } ds_segv_type;

typedef struct ds_seg_value {
	ds_segv_type type;
	int64_t i;                   /* INT */
	ds_dec num;                  /* NUM: a number with decimals */
	const char *text;            /* TEXT */
} ds_seg_value;

typedef enum {
	DS_SEG_TRUE, DS_SEG_FALSE,
	DS_SEG_AND, DS_SEG_OR,       /* kids */
	DS_SEG_CMP,                  /* field op values[0]; an attribute
	                                compares with a value of its type only */
	DS_SEG_SET,                  /* the field has a value */
	DS_SEG_BOOL,                 /* the attribute is JSON true (i 1) or
	                                false (i 0): values[0].i */
	DS_SEG_MATCH,                /* the attribute, a string, matches the
	                                regex text; every match starts with one
	                                of values (text), when there are some */
	DS_SEG_CONTAINS,             /* the attribute, a string, contains text */
	DS_SEG_TAG,                  /* the profile has tag text, set at a
	                                time within [lo, hi] (when has_lo, has_hi) */
	DS_SEG_INTEREST,             /* the profile has interest text */
	DS_SEG_CONSENT,              /* consent for purpose by channel is
	                                granted (state 1), withdrawn (0) or
	                                stated either way (-1) */
} ds_seg_kind;

/* DS_SEG_CMP's comparison (not equal is a negated DS_SEG_OP_EQ). */
enum { DS_SEG_OP_EQ, DS_SEG_OP_LT, DS_SEG_OP_LE, DS_SEG_OP_GT, DS_SEG_OP_GE };

typedef struct ds_seg_node {
	ds_seg_kind kind;
	bool neg;
	int op;                      /* CMP: DS_SEG_OP_* */
	ds_seg_field field;
	const ds_seg_value *values;
	size_t nvalues;
	const char *text;
	ds_time lo, hi;
	bool has_lo, has_hi;
	const char *purpose, *channel;
	int state;
	struct ds_seg_node *const *kids;
	size_t nkids;
} ds_seg_node;

/* What an export reads of each matching profile. */
typedef enum {
	DS_SEGC_ID,                  /* integer */
	DS_SEGC_IDENTITY,            /* the profile's first identity of kind arg */
	DS_SEGC_ATTRIBUTES,          /* the attributes document (JSON text) */
	DS_SEGC_TRAIT,               /* the trait column, as in DS_SEGF_TRAIT */
	DS_SEGC_TAG_AT,              /* when tag arg was set (seconds), or null */
	DS_SEGC_TAGS,                /* the tags, a JSON array of strings */
	DS_SEGC_INTERESTS,           /* the interests, a JSON array */
} ds_segc_kind;

typedef struct ds_seg_column {
	ds_segc_kind kind;
	const char *arg;
	int trait;
} ds_seg_column;

typedef struct ds_seg_query {
	const ds_seg_node *filter;
	const char *purpose;         /* the consent an export needs */
	const char *channel;
	const ds_seg_column *columns; /* read by an export */
	size_t ncolumns;
} ds_seg_query;

/* One value of an export row: null, an integer or a text (valid during
 * the callback). */
typedef struct ds_seg_cell {
	bool null;
	bool is_text;
	int64_t i;
	const char *text;
	size_t len;
} ds_seg_cell;

/* How many profiles the filter matches, and how many of them have the
 * consent it needs. */
int ds_store_segment_count(ds_store *s, const ds_seg_query *q, int64_t *matched,
			   int64_t *consented, ds_err *err);
/* The matching profiles whose consent allows it, row by row (q->columns),
 * in the order the database finds them, in constant memory: a walk over a
 * cursor (below). */
int ds_store_segment_export(ds_store *s, const ds_seg_query *q,
			    int (*fn)(void *ud, const ds_seg_cell *row),
			    void *ud, ds_err *err);

/* The same rows, pulled one at a time, for a reader that cannot take them
 * when the store gives them (an HTTP response written as the client reads
 * it). The cursor reads one snapshot of the store from open to close: it
 * holds a read transaction on s, so s is used for nothing else meanwhile,
 * and a cursor left open keeps the WAL from starting over. q and what it
 * points to must outlive the cursor.
 *   ds_store_segment_open: 0, or an error (then *out is NULL);
 *   ds_store_segment_next: 1 with *row set (valid until the next call or
 *     the close), 0 at the end, or a negative error code;
 *   ds_store_segment_close: ends the read; accepts NULL. */
typedef struct ds_seg_cursor ds_seg_cursor;
int ds_store_segment_open(ds_store *s, const ds_seg_query *q, ds_seg_cursor **out,
			  ds_err *err);
int ds_store_segment_next(ds_seg_cursor *c, const ds_seg_cell **row, ds_err *err);
void ds_store_segment_close(ds_seg_cursor *c);
/* The statement a count (or an export) runs and how the database plans
 * it: fn gets ("sql", text), each ("param", value as text) in order, and
 * each ("plan", step). */
int ds_store_segment_explain(ds_store *s, const ds_seg_query *q, bool count,
			     int (*fn)(void *ud, const char *what,
				       const char *text),
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
/* The open (unreplayed) entry of a stored interaction, the newest;
 * DS_ENOTFOUND when it has none. */
int ds_store_quarantine_of(ds_store *s, int64_t interaction_id, ds_arena *a,
			   ds_quarantine_row *out, ds_err *err);
int ds_store_quarantine_mark_replayed(ds_store *s, int64_t id, ds_err *err);
int64_t ds_store_quarantine_count(ds_store *s);

/* ---- privacy: access, erasure and retention (privacy.h) ----
 *
 * A person is a profile and every profile merged into it, given to these
 * calls as a JSON array of ids ("[7,9]", a bound parameter). Erasing a raw
 * interaction empties its bytes, its origin (a file name) and its identity
 * (an email's Message-ID), deletes the rows of the files it carried and the
 * quarantine entries that point to it, and sets erased_at; its SHA-256
 * stays, so the same bytes ingested again are a duplicate and bring
 * nothing back. Everything runs in the caller's transaction. */

/* What an erasure changed, added to by each call. */
typedef struct ds_erase_counts {
	int64_t profiles, identities, consent, merges, cases, rekeyed, records,
		interactions, attachments, documents, timers, quarantine;
} ds_erase_counts;

/* The records on the timeline of any profile of ids, or of a case linked
 * to one of them, in id order (each once). */
int ds_store_person_records(ds_store *s, const char *ids,
			    int (*fn)(void *ud, const ds_timeline_record *r),
			    void *ud, ds_err *err);
/* The raw interactions of those records and of the consent statements of
 * ids, bytes included (valid during the call), in id order; erased ones
 * have no bytes and erased_at set. */
int ds_store_person_interactions(ds_store *s, const char *ids,
				 int (*fn)(void *ud, const ds_interaction *in,
					   ds_time erased_at),
				 void *ud, ds_err *err);
/* The files those interactions carried, in id order. */
int ds_store_person_attachments(ds_store *s, const char *ids,
				int (*fn)(void *ud, const ds_attachment_row *a),
				void *ud, ds_err *err);
/* Every quarantine entry, replayed or not, with its input's bytes (its own,
 * or those of the interaction it points to; valid during the call). */
int ds_store_quarantine_scan(ds_store *s,
			     int (*fn)(void *ud, const ds_quarantine_row *q),
			     void *ud, ds_err *err);
/* The records of a case, in id order. */
int ds_store_record_list_case(ds_store *s, int64_t case_id,
			      int (*fn)(void *ud, const ds_timeline_record *r),
			      void *ud, ds_err *err);
int ds_store_record_set_data(ds_store *s, int64_t id, const char *data,
			     ds_err *err);

/* Erases case id: its data becomes data (what its counts are computed
 * from), its key becomes key unless NULL (and so do the start causes that
 * name it), its audit entries lose the Message-IDs that tied inputs to it
 * and the names of the fields edits changed, its documents are marked
 * erased (their files are the caller's: ds_store_document_pending), and
 * the raw interactions of its records are erased. With retention, an
 * interaction that proves a consent in force or gave a record to a case not
 * erased is kept, and pending timers are left; without (forget), pending
 * timers are dropped: the case stops where it is. */
int ds_store_case_erase(ds_store *s, int64_t id, const char *data,
			const char *key, ds_time at, bool retention,
			ds_erase_counts *n, ds_err *err);
/* Erases the profiles of ids: the records on their timelines and the raw
 * interactions of those and of their consent statements; their identities,
 * consent and its history, interests and merges are deleted; their cases
 * and timeline go to profile pseudonym, which is marked forgotten at at;
 * the profiles themselves are deleted. */
int ds_store_person_erase(ds_store *s, const char *ids, int64_t pseudonym,
			  ds_time at, ds_erase_counts *n, ds_err *err);
/* Deletes quarantine entry id and erases the interaction it points to. */
int ds_store_quarantine_erase(ds_store *s, int64_t id, ds_time at,
			      ds_erase_counts *n, ds_err *err);

/* Retention: erases up to limit raw interactions received before cutoff
 * and at or after *from (oldest first), except the proofs of a consent in
 * force; *from moves to the last one seen. */
int ds_store_interactions_expire(ds_store *s, ds_time cutoff, ds_time *from,
				 size_t limit, ds_time at, ds_erase_counts *n,
				 ds_err *err);
/* How many raw interactions received before cutoff are kept as proofs of a
 * consent in force. */
int64_t ds_store_interactions_kept(ds_store *s, ds_time cutoff);
/* Deletes up to limit quarantine entries made before cutoff. */
int ds_store_quarantine_expire(ds_store *s, ds_time cutoff, size_t limit,
			       ds_erase_counts *n, ds_err *err);
/* Up to limit cases of a process version, not erased, in state since
 * before cutoff, oldest first. */
int ds_store_case_list_since(ds_store *s, const char *process, int version,
			     const char *state, ds_time cutoff, size_t limit,
			     int (*fn)(void *ud, const ds_case_row *c),
			     void *ud, ds_err *err);

/* Documents marked erased whose file may still be on disk (path kept). */
int ds_store_document_pending(ds_store *s,
			      int (*fn)(void *ud, int64_t id, const char *path),
			      void *ud, ds_err *err);
/* The file of erased document id is gone: forgets its path and SHA-256. */
int ds_store_document_cleared(ds_store *s, int64_t id, ds_err *err);
/* Makes the indexes retention reads by, when they are not there yet (a
 * store that keeps everything does not maintain them). Outside a
 * transaction. */
int ds_store_retention_prepare(ds_store *s, ds_err *err);
/* Copies the write-ahead log into the database and empties it, so that
 * what erasures overwrote is nowhere on disk (deleted content is zeroed:
 * the store runs with secure_delete). Outside a transaction. DS_EBUSY when
 * a reader kept the log from being emptied. */
int ds_store_scrub(ds_store *s, ds_err *err);

#endif
