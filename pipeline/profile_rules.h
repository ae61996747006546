/*
 * profile_rules.h - what the business declares about its customers'
 * profiles: which fields of a case or a record are a person's identities,
 * attributes, consent and interests; which identities are strong enough
 * to merge two profiles; how far each source is trusted; which cases feed
 * which traits. Loaded once, checked completely (every problem to the diag
 * with its file and JSON path), immutable afterwards and shared by threads.
 *
 * A profile block, in a process (schemas/processes/NAME.json, "profile",
 * read against the case data) or for a record type (schemas/profiles.json,
 * "records", read against the record):
 *   {"identities": {"email": "customer.email", "phone": ["customer.phone"],
 *                   "siret": "customer.siret", "erp_id": "customer.erp_id"},
 *    "attributes": {"name": "customer.name", "city": "customer.address.city"},
 *    "consent": [{"field": "consent_marketing", "purpose": "marketing",
 *                 "channel": "email"}],              (record blocks only)
 *    "interests": "interests",                       (record blocks only)
 *    "traits": {"orders_count": {"except": ["cancelled"]},
 *               "total_spent": {"except": ["cancelled"], "amount": "lines",
 *                               "currency": "EUR"},
 *               "last_order_at": {"except": ["cancelled"], "date": "date"}}}
 *                                                    (process blocks only)
 * "email": PATH and "name": PATH are short for an email identity and a name
 * attribute. Paths are dotted (customer.address.city).
 *
 * schemas/profiles.json (optional; without it the defaults below):
 *   {"identities": {"email": {"normalize": ["email"], "merge": true},
 *                   "phone": {"normalize": ["trim"], "merge": false,
 *                             "shared": ["+33140000000"]},
 *                   "siret": {"normalize": ["siret"], "merge": true},
 *                   "erp_id": {"normalize": ["trim"], "merge": true,
 *                              "per_source": true}},
 *    "trust": {"erp-orders": 2, "web-contact": 0},
 *    "records": {"lead": {...a profile block...}}}
 * A kind that merges is strong: two profiles holding the same value are
 * one person. A shared value (a company's switchboard) is kept on the
 * profile but never used to find or merge one. A per_source id means
 * something only within the source that sent it. Trust: a value from a
 * less trusted source never replaces one from a more trusted source;
 * sources not listed have trust 1.
 */
#ifndef DS_PROFILE_RULES_H
#define DS_PROFILE_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "diag.h"
#include "err.h"

#define DS_PROFILE_MAX_IDS 16        /* identities read from one record */
#define DS_PROFILE_MAX_VALUE 512     /* bytes of one identity or attribute */
#define DS_PROFILE_DEFAULT_TRUST 1
#define DS_PROFILE_MAX_DEPTH 64      /* merges followed from a profile */

typedef struct ds_identity_kind {
	char *name;                  /* "email", "phone", "siret", "erp_id" */
	char **normalize;            /* normalizer names, in order */
	size_t nnormalize;
	bool merge;                  /* strong: enough to merge two profiles */
	bool per_source;
	char **shared;               /* values never used to find or merge */
	size_t nshared;
} ds_identity_kind;

/* A named field: an identity kind or an attribute name, and the dotted
 * paths it is read from (the first present wins for an attribute; each
 * gives an identity). */
typedef struct ds_profile_field {
	char *name;
	char **paths;
	size_t npaths;
} ds_profile_field;

typedef struct ds_consent_def {
	char *path;                  /* a boolean: granted (true) or withdrawn */
	char *purpose;
	char *channel;               /* email, sms, post, phone */
} ds_consent_def;

/* A trait a process feeds: the cases in some of its states count, add up
 * an amount, or give the latest of a date. */
typedef struct ds_trait_def {
	int trait;                   /* DS_TRAIT_* */
	char **states;               /* as written */
	size_t nstates;
	bool except;                 /* states lists those that do not count */
	bool *in;                    /* per state index, once bound */
	char *amount;                /* money: a decimal field, or an array of
	                                priced lines */
	char *currency;              /* money: only cases in this currency */
	char *date;                  /* a date field */
} ds_trait_def;

typedef struct ds_profile_block {
	ds_profile_field *ids;
	size_t nids;
	ds_profile_field *attrs;
	size_t nattrs;
	ds_consent_def *consent;
	size_t nconsent;
	char **interests;            /* paths of strings or arrays of strings */
	size_t ninterests;
	ds_trait_def *traits;
	size_t ntraits;
} ds_profile_block;

/*
 * What entering a state does to its case's profile: a state's "profile"
 * (schemas/processes/NAME.json, "states" -> NAME -> "profile"):
 *   {"tag": "offer_rejected", "untag": ["unreachable"],
 *    "interest": [{"field": "equipment_type"}, "maintenance"],
 *    "set": {"equipment": {"field": "equipment.type"}, "segment": "b2b"}}
 * "tag" and "untag" take a tag or a list of tags: words of a-z, 0-9 and _
 * starting with a letter, so that a segment filter can name them
 * (tags.offer_rejected). An interest is a string, or {"field": PATH}: the
 * string (or strings) at that dotted path of the case data. "set" gives
 * attributes a value: a string, number or true/false, or {"field": PATH}.
 * A field without a value does nothing.
 */
#define DS_TAG_MAX 63                /* bytes of a tag */

typedef struct ds_effect_value {
	char *name;                  /* set: the attribute; NULL for an interest */
	char *field;                 /* a dotted path in the case data, or NULL */
	char *literal;               /* else the value as JSON text ("\"b2b\"", "3") */
} ds_effect_value;

typedef struct ds_profile_effects {
	char **tags;
	size_t ntags;
	char **untags;
	size_t nuntags;
	ds_effect_value *interests;
	size_t ninterests;
	ds_effect_value *sets;
	size_t nsets;
} ds_profile_effects;

/* Reads a state's "profile" at path of file; problems go to diag. *out is
 * NULL when j declares nothing usable. DS_ENOMEM only. */
int ds_profile_effects_load(const cJSON *j, const char *file, const char *path,
			    ds_diag *diag, ds_profile_effects **out, ds_err *err);
void ds_profile_effects_free(ds_profile_effects *e);
/* Whether s is a tag name: a-z first, then a-z, 0-9 or _, at most
 * DS_TAG_MAX bytes. */
bool ds_profile_tag_ok(const char *s);

typedef struct ds_source_trust {
	char *source;
	int trust;
} ds_source_trust;

typedef struct ds_record_profile {
	char *type;
	ds_profile_block *block;
} ds_record_profile;

typedef struct ds_profile_rules {
	char *file;                  /* schemas/profiles.json, or NULL */
	ds_identity_kind *kinds;
	size_t nkinds;
	ds_source_trust *trust;
	size_t ntrust;
	ds_record_profile *records;
	size_t nrecords;
} ds_profile_rules;

/* Reads a profile block at path (a JSON Pointer, for messages) of file.
 * for_process: traits are allowed, consent and interests are not (and the
 * other way round for a record type). Problems go to diag; *out is set
 * (possibly with parts left out) unless memory ran out. */
int ds_profile_block_load(const cJSON *j, bool for_process, const char *file,
			  const char *path, ds_diag *diag, ds_profile_block **out,
			  ds_err *err);
/* Resolves the states the block's traits name against a process's states
 * (names[0..n)); unknown ones are reported. */
int ds_profile_block_bind(ds_profile_block *b, const char *const *names,
			  size_t n, const char *file, const char *path,
			  ds_diag *diag, ds_err *err);
void ds_profile_block_free(ds_profile_block *b);

/* Loads home's schemas/profiles.json, or the defaults when there is none.
 * Problems go to diag (DS_ECONFIG); *out is set unless memory ran out. */
int ds_profile_rules_load(const char *home, ds_diag *diag,
			  ds_profile_rules **out, ds_err *err);
void ds_profile_rules_free(ds_profile_rules *r);

const ds_identity_kind *ds_profile_kind(const ds_profile_rules *r,
					const char *name);
/* The block of a record type, or NULL. */
const ds_profile_block *ds_profile_record_block(const ds_profile_rules *r,
						const char *type);
int ds_profile_trust(const ds_profile_rules *r, const char *source);
bool ds_profile_is_shared(const ds_identity_kind *k, const char *value);

/* Checks what only the whole configuration knows: identity kinds the
 * blocks name are declared, record types exist (has_type), sources named
 * for trust exist (has_source). */
void ds_profile_rules_check(const ds_profile_rules *r,
			    const ds_profile_block *const *blocks,
			    const char *const *block_files, size_t nblocks,
			    bool (*has_type)(const void *ud, const char *type),
			    bool (*has_source)(const void *ud, const char *name),
			    const void *ud, ds_diag *diag);

#endif
