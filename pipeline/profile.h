/*
 * profile.h - the customer profile store: what records and cases tell
 * about a person, kept under the rules the business declares
 * (profile_rules.h), on top of the store's tables (store.h).
 *
 * A record's identities (emails, phones, external ids) find its profile;
 * none found, a profile is created. When one record's strong identities
 * (those whose kind merges) lead to two profiles or more, they are merged
 * into the oldest, the merge logged with what it moved; an unmerge puts
 * exactly that back, and the two are never merged again. Weak identities
 * (a phone, unless declared strong) and shared values (a switchboard)
 * never merge anything. Attributes keep the record, source and time that
 * set them: a later value wins unless its source is less trusted. Consent
 * per purpose and channel goes by the time of the interaction that states
 * it, a withdrawal winning a tie. Traits follow the cases: each change of
 * a linked case adds what it changes (ds_profile_case_changed), and
 * ds_profile_rebuild computes them again from the cases and records.
 *
 * Everything is written in the caller's transaction.
 */
#ifndef DS_PROFILE_H
#define DS_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "engine.h"
#include "err.h"
#include "mem.h"
#include "store.h"

/* What one record gives the profile store. */
typedef struct ds_profile_input {
	const char *record_type;
	const cJSON *record;         /* the record's data */
	int64_t record_id;           /* 0: not stored */
	int64_t interaction_id;
	const char *source;          /* the source's name, or NULL */
	ds_time at;                  /* when the interaction was received */
	ds_case_work *work;          /* the case the record moved, or NULL */
} ds_profile_input;

/* The profile stage's work for one record: finds (or creates, or merges)
 * the profile from the identities the case's process block and the record
 * type's block name, links the case, and records the identities,
 * attributes, consent, interests, timeline entry and last interaction.
 * *pid is the profile, 0 when the record names nobody. Temporary memory
 * from a. */
int ds_profile_record(ds_runtime *rt, ds_arena *a, const ds_profile_input *in,
		      int64_t *pid, ds_err *err);

/* The engine's hook after writing a case: adds the change of what the case
 * counts for its profile's traits, and applies what the states it entered
 * do to the profile (tags, interests, attributes: ds_change's effects);
 * nothing when it is linked to none. */
int ds_profile_case_changed(ds_runtime *rt, ds_case_work *w, ds_err *err);
/* Whether ds_profile_case_changed reads w's data: what its linked
 * profile's traits count depends on it. */
bool ds_profile_case_reads_data(const ds_case_work *w);

/* What entering a state with effects e does, resolved against the case's
 * data: {"tag": [...], "untag": [...], "interest": [...], "set": {...}}
 * as JSON text in a, the value kept with the transition's audit entry;
 * NULL when it does nothing on this data (or memory ran out: *oom). */
char *ds_profile_effects_resolve(ds_arena *a, const ds_profile_effects *e,
				 const cJSON *data, bool *oom);
/* Whether resolving e reads the case's data (an interest or an attribute
 * taken from a field); when not, ds_profile_effects_resolve takes NULL. */
bool ds_profile_effects_read_data(const ds_profile_effects *e);

/* What a case in state (an index of p's states) with data counts for the
 * traits p's profile block declares. */
void ds_profile_case_traits(const ds_process *p, int state, const cJSON *data,
			    ds_traits *out);

/* What a stored case counts, by its own process version (p when that
 * version is not known): the case's state and data as the row has them.
 * Zero when the version declares no traits. */
int ds_profile_row_traits(const ds_config *cfg, const ds_process *p, const ds_case_row *c,
			  ds_traits *out, ds_err *err);

/* What a rebuild found: the traits stored and computed again, and which
 * of the rest differed. */
typedef struct ds_rebuild_diff {
	ds_traits stored, rebuilt;
	bool same;                   /* nothing differed */
	bool interests;              /* the interests differed */
	bool tags;                   /* the tags (and their transitions) */
	bool attributes;             /* the values transitions set */
} ds_rebuild_diff;

/* Computes a profile's traits and interests again from its cases and
 * records, and its tags and the attribute values its cases' transitions
 * set from what those transitions recorded (their audit entries'
 * effects); write stores them. diff (may be NULL) gets what differed. */
int ds_profile_rebuild(ds_store *s, const ds_config *cfg, int64_t pid,
		       ds_time at, bool write, ds_rebuild_diff *diff, ds_err *err);

/* Merges profile merged into survivor (logged with reason and the record
 * that linked them, 0: by hand), then settles the survivor's attributes and
 * consent and rebuilds its traits. DS_EREFUSED when either is merged
 * already or is a forgotten person's pseudonym (privacy.h), or they are
 * the same. */
int ds_profile_merge(ds_store *s, const ds_config *cfg, int64_t survivor,
		     int64_t merged, ds_time at, int64_t record_id,
		     const char *reason, int64_t *merge_id, ds_err *err);

/* Undoes the merge that folded profile pid into another (or, when pid was
 * merged into none, DS_EREFUSED naming its merges); both profiles get back
 * what they held, their traits rebuilt. *out gets the merge. */
int ds_profile_unmerge(ds_store *s, const ds_config *cfg, int64_t pid,
		       ds_time at, ds_arena *a, ds_merge_row *out, ds_err *err);

/* A profile's attributes (ds_profile_row's text) as an object: each name's
 * current value {value, record, source, trust, at (a ds_time)}, or with
 * history the values it replaced, best first. The caller frees it. */
cJSON *ds_profile_attributes(const char *text, bool history);

/* The profile a merged profile lives on in (pid itself when not merged). */
int ds_profile_root(ds_store *s, int64_t pid, int64_t *root, ds_err *err);

/* Whether ref is written as a profile id: digits, the first not 0 (ids
 * count from 1, so that a national phone number, 0612345678, is never
 * one), at most 18 of them; *id gets it. */
bool ds_profile_ref_id(const char *ref, int64_t *id);

/* A profile by reference: its id (ds_profile_ref_id); KIND:VALUE
 * (KIND:SOURCE:VALUE for an id per source), the value normalised as the
 * kind's identities are; else a text with an @ is an email, and one
 * starting with + or 0 of digits and separators a phone, read as the
 * sources read one (French national and international forms, other
 * countries' international forms, to E.164). A merged profile gives the
 * one it was merged into. DS_ENOTFOUND, with a message saying why, when
 * the reference names no profile, several (a shared phone), or is in none
 * of these forms. */
int ds_profile_find(ds_store *s, const ds_config *cfg, ds_arena *a,
		    const char *ref, int64_t *pid, ds_err *err);

#endif
