/*
 * privacy.h - the rights of the people in the store (GDPR): what the store
 * holds on a person, given back as one JSON document (access), erased
 * (erasure), and how long raw inputs and closed cases are kept (retention).
 *
 * A person is the profile a reference (an id, an email, a phone,
 * KIND:VALUE) finds and every profile merged into it. Their raw inputs are
 * found through the records those inputs gave and the consent they prove;
 * quarantined inputs, which gave no record, by their bytes: an entry names
 * the person when it holds one of their emails, phones or other numeric
 * identities (a SIRET), as written in a form (percent-encoded), a JSON or
 * XML payload or an email header (ds_person_named).
 *
 * Erasure keeps the history of the person's cases (states, times, causes)
 * and the counts of their profile (orders, money spent, offers...) under a
 * new profile, a pseudonym whose id was never shown: an id kept elsewhere
 * (an export, a log) leads to nothing. Everything else that names or
 * describes them goes in one transaction; see docs/privacy.md for the
 * list, and for how files, free pages and the write-ahead log are dealt
 * with.
 */
#ifndef DS_PRIVACY_H
#define DS_PRIVACY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "engine.h"
#include "err.h"
#include "store.h"

typedef struct ds_person {
	int64_t root;                /* the profile the reference found */
	int64_t *ids;                /* root first, then those merged into it */
	size_t n;
	char *ids_json;              /* "[7,9]", for the store's queries */
	ds_time forgotten_at;        /* root is a pseudonym already (0: no) */
	/* What names them, to search bytes for: emails (lower case), phones
	 * as they may be written (+33612345678, 0033612345678, 0612345678),
	 * other all-digit identities (a SIRET); and every identity as
	 * "kind value", for messages. */
	char **emails, **phones, **numbers, **labels;
	size_t nemails, nphones, nnumbers, nlabels;
} ds_person;

/* The person ref names (ds_profile_find's references). DS_ENOTFOUND when
 * it names nobody, several profiles, or is of no known form. Free with
 * ds_person_free. */
int ds_person_find(ds_store *s, const ds_config *cfg, const char *ref,
		   ds_person **out, ds_err *err);
void ds_person_free(ds_person *p);
/* Whether profile id is one of p's. */
bool ds_person_has(const ds_person *p, int64_t id);

/* Whether n bytes of an input hold one of p's emails, phones or numbers:
 * ASCII case and percent-encoding are undone first, and a phone or number
 * may be written with spaces, dots or dashes between its digits. */
bool ds_person_named(const ds_person *p, const void *bytes, size_t n);

/* Writes everything the store holds on p to out as one JSON document,
 * streamed (raw inputs are not held in memory whole): the profile with its
 * attributes' provenance and traits, identities, consent and its history,
 * merges, timeline, cases with their data and history, documents,
 * records, raw interactions (as text when they are UTF-8, else base64),
 * the files they carried, and the quarantine entries that name p. DS_EIO
 * when writing fails. */
int ds_privacy_export(ds_store *s, const ds_person *p, ds_time now, FILE *out,
		      ds_err *err);

typedef struct ds_forget_result {
	ds_erase_counts n;
	int64_t pseudonym;           /* the new profile (0 when not applied) */
	int64_t open_cases;          /* cases not in a final state */
	int64_t files;               /* document files deleted */
	bool scrubbed;               /* the write-ahead log was emptied */
	ds_err scrub;                /* why not, when it was not */
} ds_forget_result;

/* Erases p (see docs/privacy.md) in one transaction, committed when apply
 * is set, else rolled back, so that *out says what would go. Applied, the
 * document files are then deleted and the log emptied (ds_privacy_finish).
 * DS_EREFUSED when p is a pseudonym already. */
int ds_privacy_forget(ds_store *s, const ds_config *cfg, const ds_person *p,
		      ds_time now, bool apply, ds_forget_result *out,
		      ds_err *err);

/* Deletes the files of documents an erasure marked (left on disk when a
 * crash came between its commit and their deletion) and forgets their
 * paths; with scrub, empties the write-ahead log (failing that, *scrub_err
 * says why and the log is emptied at a later checkpoint). Outside a
 * transaction. *files counts the files deleted. */
int ds_privacy_finish(ds_store *s, bool scrub, int64_t *files,
		      ds_err *scrub_err, ds_err *err);

/* Retention, run by every tick: the raw interactions and closed cases
 * older than dossier.json's "retention" says are erased in batches of
 * cfg->batch_size (each in its own transaction, so a run cut short is
 * taken up by the next), except the raw inputs that prove a consent in
 * force; the counts go to rt->stats (purged...). */
int ds_privacy_purge(ds_runtime *rt, ds_err *err);

#endif
