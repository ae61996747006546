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
 * states feed (profile_rules.h).
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
} ds_state_def;

typedef struct ds_process {
	char *file;
	char *name;
	int version;
	char **consumes;
	size_t nconsumes;
	char **starts_with;
	size_t nstarts;
	char *key;               /* dotted path of the key field in the data */
	ds_profile_block *profile; /* or NULL: cases name no customer */
	int initial;
	ds_state_def *states;
	size_t nstates;
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
void ds_process_free(ds_process *p);

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
