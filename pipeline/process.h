/*
 * process.h - process definitions: states, rights, transitions, timers and
 * output points, loaded from the files under schemas/processes/ and checked once.
 *
 * A definition is immutable after loading and shared by every thread. The
 * state machine that moves cases lives in engine.h; this module only knows
 * what is allowed.
 *
 * File format (one process per file):
 *   {"name": "offer", "version": 1, "consumes": ["offer"],
 *    "starts_with": ["offer"], "key": "reference", "initial": "draft",
 *    "profile": {"identities": {"email": "customer.email"},
 *                "attributes": {"name": "customer.name"},
 *                "traits": {"offers_accepted": {"in": ["accepted"]}}},
 *    "states": {
 *      "draft": {"lane": "sales", "editable_by": {"sales": ["*"]},
 *                "on": [{"when": "discount_pct > 20", "to": "pending_approval"},
 *                       {"when": "discount_pct <= 20", "to": "validated"}]},
 *      "pending_approval": {"on": [{"event": "approve", "roles": ["manager"],
 *                                   "to": "validated"},
 *                                  {"after": "5d", "to": "validated"}]},
 *      "validated": {"output": "offer", "on": [...]},
 *      "accepted": {"final": true}}}
 * A state may also say "start": [{"process": "order", "with": {"offer_ref":
 * "reference", "customer": "customer"}}]: entering it starts a case of that
 * process from these fields (new field: field of this case).
 * A transition has exactly one of "when" (a guard in the expression
 * language), "event" (with the "roles" allowed to send it) or "after" (a
 * timer counted from the entry into the state). "editable_by" maps a role
 * to the top-level data fields it may change in that state ("*": all).
 * "profile" says how a case names its customer and which traits its
 * states feed (profile_rules.h); a state's own "profile" says what
 * entering it does to that customer's profile: {"tag": "offer_rejected"}
 * (ds_profile_effects).
 *
 * "version" (default 1) numbers the definition: a case runs by the version
 * it started with (see procver.h). A version may move the cases of an
 * earlier one to itself: "migrate": {"from": 1, "states": {"unreachable":
 * "to_resend"}} (or an array of such objects, one per earlier version);
 * states it does not map keep their name, which this version must have.
 */
#ifndef DS_PROCESS_H
#define DS_PROCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "caltime.h"
#include "diag.h"
#include "err.h"
#include "expr.h"
#include "profile_rules.h"

#define DS_STATE_NAME_MAX 63

typedef enum { DS_ON_WHEN, DS_ON_EVENT, DS_ON_AFTER } ds_on_kind;

typedef struct ds_transition_def {
	ds_on_kind kind;
	int to;                  /* index into states */
	char *guard_src;         /* DS_ON_WHEN */
	ds_expr *guard;
	char *event;             /* DS_ON_EVENT */
	char **roles;
	size_t nroles;
	ds_duration after;       /* DS_ON_AFTER */
	char *after_src;
} ds_transition_def;

typedef struct ds_edit_right {
	char *role;
	char **fields;           /* "*" means every field */
	size_t nfields;
} ds_edit_right;

/* Entering a state may start a case of another process: its data is made
 * of this case's fields, "with" naming for each target field (dotted path
 * in the new case) the field it comes from (dotted path here). */
typedef struct ds_start_def {
	char *process;
	char **to;
	char **from;
	size_t n;
} ds_start_def;

typedef struct ds_state_def {
	char *name;
	char *lane;
	bool final;
	char *output;            /* document template name, or NULL */
	ds_start_def *starts;    /* cases of other processes started on entry */
	size_t nstarts;
	ds_edit_right *rights;
	size_t nrights;
	ds_transition_def *on;
	size_t non;
	ds_profile_effects *effects; /* what entering it does to the case's
	                                profile (tags, interests, attributes),
	                                or NULL */
} ds_state_def;

/* "migrate": the cases of version `from` move to this version; a case in
 * old_states[i] goes to new_states[i], one in another state keeps it. */
typedef struct ds_migrate_def {
	int from;
	char **old_states;
	char **new_states;       /* states of this version */
	size_t n;
	char *path;              /* JSON path of the entry: "/migrate", "/migrate/1" */
} ds_migrate_def;

typedef struct ds_process {
	char *file;
	char *name;
	int version;
	char *canonical;         /* the definition as compact JSON text */
	char sha256[65];         /* of canonical: what "the same version" means */
	ds_migrate_def *migrates;
	size_t nmigrates;
	char **consumes;
	size_t nconsumes;
	char **starts_with;
	size_t nstarts;
	char *key;               /* dotted path of the key field in the data */
	ds_profile_block *profile; /* or NULL: cases name no customer */
	int initial;
	ds_state_def *states;
	size_t nstates;
	bool oom;                /* memory ran out while loading: never returned */
} ds_process;

/* Loads one definition; problems go to diag with the file and JSON path,
 * and so do warnings: two guards of one state that some data makes both
 * true while they lead to different states (shown with that data), a
 * guard repeated.
 * Returns 0, or DS_ECONFIG when the definition has errors: *out is then
 * still set when the states could be read (for cross-checks; never run a
 * case on it), NULL otherwise. Cross-checks against record types and templates are done by
 * config.c, which knows them all. */
int ds_process_load(const char *path, ds_diag *diag, ds_process **out,
		    ds_err *err);
/* The same from a definition's JSON text (len bytes, as canonical holds
 * it), reported against label: an earlier version kept by the store. */
int ds_process_parse(const char *label, const char *text, size_t len,
		     ds_diag *diag, ds_process **out, ds_err *err);
void ds_process_free(ds_process *p);

/* The migration p declares from version `from`, or NULL. */
const ds_migrate_def *ds_process_migration(const ds_process *p, int from);
/* The state of p that a case of an earlier version in `state` would be
 * in: the one m maps it to (m may be NULL), else the state of the same
 * name. NULL when p has none: such a case cannot move to p. */
const char *ds_process_successor(const ds_process *p, const ds_migrate_def *m,
				 const char *state);

/* Index of a state by name, or -1. */
int ds_process_state(const ds_process *p, const char *name);
bool ds_process_consumes(const ds_process *p, const char *type);
bool ds_process_can_start(const ds_process *p, const char *type);
/* How a guard reads a case: data (a cJSON object) as an expression
 * resolver, a path starting with "data" or not ("data.x" and "x" are the
 * same field). The engine runs guards with it; check reasons with it. */
const cJSON *ds_process_guard_resolve(void *data, const char *const *segs, size_t n);
/* Whether role may change field in state s. */
bool ds_process_may_edit(const ds_process *p, int s, const char *role,
			 const char *field);
/* Whether any state grants anything to role (rights or events). */
bool ds_process_knows_role(const ds_process *p, const char *role);

#endif
