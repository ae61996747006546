/*
 * process.c - loading and checking process definitions; see process.h.
 *
 * Everything that can be checked within one file is checked here: unknown
 * states in transitions, a transition with zero or several triggers, bad
 * guards and durations, unreachable states, non-final states with no way
 * out; and, as warnings, guards of one state that can be true together.
 * Each problem is reported with its JSON path.
 */
#include "process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "json.h"
#include "mem.h"

/* A copy of s for p's definition; running out of memory marks p, which
 * is then not returned (rather than returned with a part missing). */
static char *keep(ds_process *p, const char *s)
{
	char *c = ds_strdup(s);
	if (!c)
		p->oom = true;
	return c;
}

/* Copies x and y as the next items of the arrays a and b (count *n),
 * counted first so that p frees them whatever happens. */
static int keep_pair(ds_process *p, char **a, char **b, size_t *n, const char *x, const char *y)
{
	size_t i = (*n)++;
	a[i] = keep(p, x);
	b[i] = keep(p, y);
	return a[i] && b[i] ? DS_OK : DS_ENOMEM;
}

static char *dup_str(ds_process *p, const cJSON *v)
{
	return cJSON_IsString(v) ? keep(p, v->valuestring) : NULL;
}

/* Reads an array of strings; reports non-strings. */
static int str_array(ds_process *p, const cJSON *arr, const char *file, const char *path,
		     ds_diag *diag, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!arr)
		return DS_OK;
	if (!cJSON_IsArray(arr)) {
		ds_diag_error(diag, file, path, "must be an array of strings");
		return DS_ECONFIG;
	}
	size_t count = (size_t)cJSON_GetArraySize(arr);
	char **v = ds_calloc(count + 1, sizeof *v);
	if (!v) {
		p->oom = true;
		return DS_ENOMEM;
	}
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || !*it->valuestring) {
			ds_diag_error(diag, file, path, "item %zu must be a non-empty string", i);
			continue;
		}
		if (!(v[i] = keep(p, it->valuestring)))
			break;
		i++;
	}
	*out = v;
	*n = i;
	return DS_OK;
}

static void free_strs(char **v, size_t n)
{
	ds_strv_free(v, n);
}

void ds_process_free(ds_process *p)
{
	if (!p)
		return;
	for (size_t s = 0; s < p->nstates; s++) {
		ds_state_def *st = &p->states[s];
		ds_free(st->name);
		ds_free(st->lane);
		ds_free(st->output);
		for (size_t r = 0; r < st->nrights; r++) {
			ds_free(st->rights[r].role);
			free_strs(st->rights[r].fields, st->rights[r].nfields);
		}
		ds_free(st->rights);
		for (size_t t = 0; t < st->non; t++) {
			ds_transition_def *tr = &st->on[t];
			ds_free(tr->guard_src);
			ds_expr_free(tr->guard);
			ds_free(tr->event);
			free_strs(tr->roles, tr->nroles);
			ds_free(tr->after_src);
		}
		ds_free(st->on);
		for (size_t k = 0; k < st->nstarts; k++) {
			ds_free(st->starts[k].process);
			free_strs(st->starts[k].to, st->starts[k].n);
			free_strs(st->starts[k].from, st->starts[k].n);
		}
		ds_free(st->starts);
		ds_profile_effects_free(st->effects);
	}
	ds_free(p->states);
	for (size_t m = 0; m < p->nmigrates; m++) {
		free_strs(p->migrates[m].old_states, p->migrates[m].n);
		free_strs(p->migrates[m].new_states, p->migrates[m].n);
		ds_free(p->migrates[m].path);
	}
	ds_free(p->migrates);
	ds_free(p->canonical);
	free_strs(p->consumes, p->nconsumes);
	free_strs(p->starts_with, p->nstarts);
	ds_free(p->file);
	ds_free(p->name);
	ds_free(p->key);
	ds_profile_block_free(p->profile);
	ds_free(p);
}

int ds_process_state(const ds_process *p, const char *name)
{
	for (size_t i = 0; i < p->nstates; i++)
		if (!strcmp(p->states[i].name, name))
			return (int)i;
	return -1;
}

static bool in_list(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

bool ds_process_consumes(const ds_process *p, const char *type)
{
	return in_list(p->consumes, p->nconsumes, type);
}

const cJSON *ds_process_guard_resolve(void *data, const char *const *segs, size_t n)
{
	if (n && !strcmp(segs[0], "data"))
		return ds_expr_json_path(data, segs + 1, n - 1);
	return ds_expr_json_path(data, segs, n);
}

bool ds_process_can_start(const ds_process *p, const char *type)
{
	return in_list(p->starts_with, p->nstarts, type);
}

bool ds_process_may_edit(const ds_process *p, int s, const char *role, const char *field)
{
	if (s < 0 || (size_t)s >= p->nstates || !role)
		return false;
	const ds_state_def *st = &p->states[s];
	for (size_t r = 0; r < st->nrights; r++) {
		if (strcmp(st->rights[r].role, role))
			continue;
		if (in_list(st->rights[r].fields, st->rights[r].nfields, "*") ||
		    in_list(st->rights[r].fields, st->rights[r].nfields, field))
			return true;
	}
	return false;
}

const ds_migrate_def *ds_process_migration(const ds_process *p, int from)
{
	for (size_t i = 0; i < p->nmigrates; i++)
		if (p->migrates[i].from == from)
			return &p->migrates[i];
	return NULL;
}

const char *ds_process_successor(const ds_process *p, const ds_migrate_def *m,
				 const char *state)
{
	for (size_t i = 0; m && i < m->n; i++)
		if (!strcmp(m->old_states[i], state)) {
			int s = ds_process_state(p, m->new_states[i]);
			return s < 0 ? NULL : p->states[s].name;
		}
	int s = ds_process_state(p, state);
	return s < 0 ? NULL : p->states[s].name;
}

bool ds_process_knows_role(const ds_process *p, const char *role)
{
	for (size_t s = 0; s < p->nstates; s++) {
		const ds_state_def *st = &p->states[s];
		for (size_t r = 0; r < st->nrights; r++)
			if (!strcmp(st->rights[r].role, role))
				return true;
		for (size_t t = 0; t < st->non; t++)
			if (in_list(st->on[t].roles, st->on[t].nroles, role))
				return true;
	}
	return false;
}

static const char *const process_keys[] = {
	"name", "version", "title", "description", "consumes", "starts_with",
	"key", "initial", "profile", "states", "migrate", NULL,
};
static const char *const migrate_keys[] = { "from", "states", "description", NULL };
static const char *const state_keys[] = {
	"lane", "final", "output", "editable_by", "on", "start", "profile", "title",
	"description", NULL,
};
static const char *const start_keys[] = { "process", "with", "description", NULL };
static const char *const on_keys[] = {
	"when", "event", "roles", "after", "to", "description", NULL,
};

static void unknown_keys(const cJSON *obj, const char *const *known, const char *file,
			 const char *path, ds_diag *diag)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, obj) {
		bool ok = false;
		for (const char *const *k = known; *k; k++)
			if (!strcmp(*k, it->string))
				ok = true;
		if (!ok)
			ds_diag_error(diag, file, path, "unknown member \"%s\"", it->string);
	}
}

static int load_transition(ds_process *p, ds_transition_def *tr, const cJSON *j,
			   const char *path, ds_diag *diag, int *pending_to,
			   const cJSON **to_name)
{
	const char *file = p->file;
	char sub[512];
	if (!cJSON_IsObject(j)) {
		ds_diag_error(diag, file, path, "a transition must be an object");
		return DS_ECONFIG;
	}
	unknown_keys(j, on_keys, file, path, diag);
	const cJSON *when = cJSON_GetObjectItemCaseSensitive(j, "when");
	const cJSON *event = cJSON_GetObjectItemCaseSensitive(j, "event");
	const cJSON *after = cJSON_GetObjectItemCaseSensitive(j, "after");
	int triggers = (when != NULL) + (event != NULL) + (after != NULL);
	if (triggers != 1) {
		ds_diag_error(diag, file, path,
			      "a transition needs exactly one of \"when\", \"event\" or \"after\"");
		return DS_ECONFIG;
	}
	*to_name = cJSON_GetObjectItemCaseSensitive(j, "to");
	if (!cJSON_IsString(*to_name)) {
		snprintf(sub, sizeof sub, "%s/to", path);
		ds_diag_error(diag, file, sub, "\"to\" must name a state");
		return DS_ECONFIG;
	}
	*pending_to = 1;
	if (when) {
		tr->kind = DS_ON_WHEN;
		snprintf(sub, sizeof sub, "%s/when", path);
		if (!cJSON_IsString(when)) {
			ds_diag_error(diag, file, sub, "\"when\" must be an expression string");
			return DS_ECONFIG;
		}
		ds_err e = {0};
		tr->guard_src = keep(p, when->valuestring);
		if (ds_expr_parse(when->valuestring, &tr->guard, &e)) {
			ds_diag_error(diag, file, sub, "%s", e.msg);
			return DS_ECONFIG;
		}
	} else if (event) {
		tr->kind = DS_ON_EVENT;
		snprintf(sub, sizeof sub, "%s/event", path);
		if (!cJSON_IsString(event) || !*event->valuestring) {
			ds_diag_error(diag, file, sub, "\"event\" must be a name");
			return DS_ECONFIG;
		}
		tr->event = keep(p, event->valuestring);
		if (!tr->event)
			return DS_ENOMEM;
		snprintf(sub, sizeof sub, "%s/roles", path);
		const cJSON *roles = cJSON_GetObjectItemCaseSensitive(j, "roles");
		if (!roles) {
			ds_diag_error(diag, file, path,
				      "event \"%s\" needs \"roles\": who may send it",
				      tr->event);
			return DS_ECONFIG;
		}
		if (str_array(p, roles, file, sub, diag, &tr->roles, &tr->nroles))
			return DS_ECONFIG;
		if (!tr->nroles)
			ds_diag_error(diag, file, sub, "no role may send event \"%s\"", tr->event);
	} else {
		tr->kind = DS_ON_AFTER;
		snprintf(sub, sizeof sub, "%s/after", path);
		if (!cJSON_IsString(after) || ds_duration_parse(after->valuestring, &tr->after)) {
			ds_diag_error(diag, file, sub,
				      "\"after\" must be a duration such as \"30m\", \"48h\", \"5d\" or \"5bd\"");
			return DS_ECONFIG;
		}
		tr->after_src = keep(p, after->valuestring);
	}
	if (!when && cJSON_GetObjectItemCaseSensitive(j, "roles") && !event) {
		snprintf(sub, sizeof sub, "%s/roles", path);
		ds_diag_error(diag, file, sub, "\"roles\" only applies to an \"event\"");
	}
	return DS_OK;
}

/* "start": [{"process": NAME, "with": {"new.field": "this.field", ...}}] */
static int load_starts(ds_process *p, ds_state_def *st, const cJSON *j, const char *path,
		       ds_diag *diag)
{
	const char *file = p->file;
	char sub[700];
	snprintf(sub, sizeof sub, "%s/start", path);
	if (!cJSON_IsArray(j)) {
		ds_diag_error(diag, file, sub, "\"start\" must be an array of {process, with}");
		return DS_ECONFIG;
	}
	size_t n = (size_t)cJSON_GetArraySize(j);
	st->starts = ds_calloc(n ? n : 1, sizeof *st->starts);
	if (!st->starts)
		return DS_ENOMEM;
	const cJSON *it;
	size_t i = 0;
	cJSON_ArrayForEach(it, j) {
		snprintf(sub, sizeof sub, "%s/start/%zu", path, i++);
		const cJSON *proc = cJSON_GetObjectItemCaseSensitive(it, "process");
		const cJSON *with = cJSON_GetObjectItemCaseSensitive(it, "with");
		if (!cJSON_IsObject(it) || !cJSON_IsString(proc) || !*proc->valuestring ||
		    !cJSON_IsObject(with)) {
			ds_diag_error(diag, file, sub,
				      "a start needs \"process\" (a name) and \"with\" (new field: field)");
			continue;
		}
		unknown_keys(it, start_keys, file, sub, diag);
		ds_start_def *sd = &st->starts[st->nstarts++];
		size_t m = (size_t)cJSON_GetArraySize(with);
		sd->process = keep(p, proc->valuestring);
		sd->to = ds_calloc(m ? m : 1, sizeof *sd->to);
		sd->from = ds_calloc(m ? m : 1, sizeof *sd->from);
		if (!sd->process || !sd->to || !sd->from)
			return DS_ENOMEM;
		const cJSON *w;
		cJSON_ArrayForEach(w, with) {
			if (!cJSON_IsString(w) || !*w->valuestring || !*w->string) {
				char wp[900];
				snprintf(wp, sizeof wp, "%s/with/%s", sub, w->string);
				ds_diag_error(diag, file, wp, "must name a field of this case");
				continue;
			}
			if (keep_pair(p, sd->to, sd->from, &sd->n, w->string, w->valuestring))
				return DS_ENOMEM;
		}
	}
	return DS_OK;
}

static int load_state(ds_process *p, ds_state_def *st, const cJSON *j, ds_diag *diag,
		      const cJSON ***to_names)
{
	const char *file = p->file;
	char path[512], sub[600];
	snprintf(path, sizeof path, "/states/%s", st->name);
	if (!cJSON_IsObject(j)) {
		ds_diag_error(diag, file, path, "a state must be an object");
		return DS_ECONFIG;
	}
	unknown_keys(j, state_keys, file, path, diag);
	st->lane = dup_str(p, cJSON_GetObjectItemCaseSensitive(j, "lane"));
	st->final = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "final"));
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(j, "output");
	if (out) {
		if (!cJSON_IsString(out) || !*out->valuestring) {
			snprintf(sub, sizeof sub, "%s/output", path);
			ds_diag_error(diag, file, sub, "\"output\" must name a document template");
		} else {
			st->output = keep(p, out->valuestring);
		}
	}
	const cJSON *start = cJSON_GetObjectItemCaseSensitive(j, "start");
	if (start) {
		int src = load_starts(p, st, start, path, diag);
		if (src == DS_ENOMEM)
			return src;
	}
	const cJSON *effects = cJSON_GetObjectItemCaseSensitive(j, "profile");
	if (effects) {
		ds_err e = {0};
		snprintf(sub, sizeof sub, "%s/profile", path);
		if (ds_profile_effects_load(effects, file, sub, diag, &st->effects, &e))
			return DS_ENOMEM;
		if (st->effects && !p->profile)
			ds_diag_error(diag, file, sub, "entering a state changes its customer's profile "
				      "only when the process says who the customer is: add a "
				      "top-level \"profile\" block naming the identities");
	}
	const cJSON *rights = cJSON_GetObjectItemCaseSensitive(j, "editable_by");
	if (rights) {
		snprintf(sub, sizeof sub, "%s/editable_by", path);
		if (!cJSON_IsObject(rights)) {
			ds_diag_error(diag, file, sub, "\"editable_by\" maps roles to field lists");
		} else {
			size_t n = (size_t)cJSON_GetArraySize(rights);
			st->rights = ds_calloc(n ? n : 1, sizeof *st->rights);
			if (!st->rights)
				return DS_ENOMEM;
			const cJSON *r;
			cJSON_ArrayForEach(r, rights) {
				char rp[700];
				snprintf(rp, sizeof rp, "%s/%s", sub, r->string);
				ds_edit_right *er = &st->rights[st->nrights++];
				if (!(er->role = keep(p, r->string)))
					return DS_ENOMEM;
				if (str_array(p, r, file, rp, diag, &er->fields, &er->nfields))
					return p->oom ? DS_ENOMEM : DS_ECONFIG;
			}
		}
	}
	const cJSON *on = cJSON_GetObjectItemCaseSensitive(j, "on");
	if (on && !cJSON_IsArray(on)) {
		snprintf(sub, sizeof sub, "%s/on", path);
		ds_diag_error(diag, file, sub, "\"on\" must be an array of transitions");
		return DS_ECONFIG;
	}
	size_t n = on ? (size_t)cJSON_GetArraySize(on) : 0;
	st->on = ds_calloc(n ? n : 1, sizeof *st->on);
	*to_names = ds_calloc(n ? n : 1, sizeof **to_names);
	if (!st->on || !*to_names)
		return DS_ENOMEM;
	int rc = DS_OK;
	const cJSON *t;
	size_t i = 0;
	cJSON_ArrayForEach(t, on) {
		snprintf(sub, sizeof sub, "%s/on/%zu", path, i);
		int pending = 0;
		ds_transition_def *tr = &st->on[st->non];
		tr->to = -1;
		if (load_transition(p, tr, t, sub, diag, &pending, &(*to_names)[st->non]))
			rc = DS_ECONFIG;
		st->non++;
		i++;
	}
	if (st->final && st->non) {
		snprintf(sub, sizeof sub, "%s/final", path);
		ds_diag_error(diag, file, sub, "a final state cannot have transitions");
	}
	return rc;
}

/* ---- guards that can be true together ---- */

/*
 * The guards of a state are tried in order and the first true one wins,
 * so two that can both be true hide part of the second. That they can is
 * shown by a witness: data built from the literals the guards compare
 * their fields with (and values just around them), on which both guards,
 * run by the evaluator over the engine's view of the case data, are true.
 * No witness, no warning: every warning comes with data that really takes
 * both guards, while overlaps the search does not find (fields compared
 * with each other, regexes, array items) go unreported.
 */

#define OV_FIELDS 16         /* distinct fields read by two guards */
#define OV_CONJ 64           /* operands of their top-level 'and's */
#define OV_LITERALS 32       /* literals per field */
#define OV_CANDIDATES 200    /* values tried per field */
#define OV_FIELD_MAX 256     /* bytes of a dotted field path */

struct ov_conj {
	const ds_expr *e;
	const ds_expr_node *n;
	int field;               /* the one field it reads, or -1 */
};

struct overlap {
	struct ov_conj conj[OV_CONJ];
	size_t nconj;
	char field[OV_FIELDS][OV_FIELD_MAX];
	size_t nfields;
	bool undecided;
	int seen;                /* field of the operand walked: -1 none, -2 several */
};


static void ov_path(void *ud, const char *const *segs, size_t n)
{
	struct overlap *o = ud;
	char f[OV_FIELD_MAX];
	size_t len = 0, i = n && !strcmp(segs[0], "data") ? 1 : 0;
	/* The whole data, or array items: not searched. */
	if (i == n)
		o->undecided = true;
	for (; i < n && !o->undecided; i++) {
		size_t l = strlen(segs[i]);
		if (strspn(segs[i], "0123456789") == l || len + l + 2 > sizeof f) {
			o->undecided = true;
			break;
		}
		if (len)
			f[len++] = '.';
		memcpy(f + len, segs[i], l);
		len += l;
	}
	if (o->undecided)
		return;
	f[len] = '\0';
	size_t k = 0;
	while (k < o->nfields && strcmp(o->field[k], f))
		k++;
	if (k == OV_FIELDS) {
		o->undecided = true;
		return;
	}
	if (k == o->nfields)
		memcpy(o->field[o->nfields++], f, len + 1);
	o->seen = o->seen == -1 || o->seen == (int)k ? (int)k : -2;
}

/* Splits a guard into the operands of its 'and's, each with the field it
 * reads when it reads one. */
static void ov_conjuncts(struct overlap *o, const ds_expr *e, const ds_expr_node *n)
{
	if (n->kind == DS_EXPR_AND) {
		for (size_t i = 0; i < n->nkids; i++)
			ov_conjuncts(o, e, n->kids[i]);
		return;
	}
	if (o->nconj == OV_CONJ) {
		o->undecided = true;
		return;
	}
	o->seen = -1;
	ds_expr_node_foreach_path(n, ov_path, o);
	o->conj[o->nconj++] = (struct ov_conj){ e, n, o->seen >= 0 ? o->seen : -1 };
}

/* What the operands about one field compare it with. */
struct ov_lits {
	ds_dec num[OV_LITERALS];
	size_t nnum;
	const char *str[OV_LITERALS];
	size_t nstr;
	bool boolean, null, now, dated, list;
};

static void ov_literals(const ds_expr_node *n, struct ov_lits *l)
{
	switch (n->kind) {
	case DS_EXPR_NUMBER:
		if (l->nnum < OV_LITERALS)
			l->num[l->nnum++] = n->v.number;
		break;
	case DS_EXPR_DURATION:
		/* Numbers compared with durations count days. */
		if (l->nnum < OV_LITERALS)
			l->num[l->nnum++] = ds_dec_from_int(ds_duration_seconds(n->v.duration) / 86400);
		break;
	case DS_EXPR_STRING:
		if (l->nstr < OV_LITERALS)
			l->str[l->nstr++] = n->v.string.s;
		break;
	case DS_EXPR_BOOL: l->boolean = true; break;
	case DS_EXPR_NULL: l->null = true; break;
	case DS_EXPR_NOW: l->now = true; break;
	case DS_EXPR_DAYS_SINCE: l->dated = true; break;
	case DS_EXPR_IN: l->list = l->list || n->kids[1]->kind == DS_EXPR_PATH; break;
	case DS_EXPR_CONTAINS: l->list = l->list || n->kids[0]->kind == DS_EXPR_PATH; break;
	default: break;
	}
	for (size_t i = 0; i < n->nkids; i++)
		ov_literals(n->kids[i], l);
}

/* Adds v (taken) to the candidates. */
static void ov_add(cJSON *cands, cJSON *v)
{
	if (v && cJSON_GetArraySize(cands) < OV_CANDIDATES)
		cJSON_AddItemToArray(cands, v);
	else
		cJSON_Delete(v);
}

/* The day of t, as a date string (what days_since() and now() read). */
static cJSON *ov_time(ds_time t)
{
	char buf[12];
	ds_date_format(t, buf);
	return cJSON_CreateString(buf);
}

/* A number as data, or, for a field read by days_since(), the day that
 * many days before now. */
static cJSON *ov_number(ds_dec d, bool dated, ds_time now)
{
	char buf[64];
	if (dated) {
		ds_dec secs;
		if (ds_dec_mul(d, ds_dec_from_int(86400), &secs) || ds_dec_round(secs, 0, &secs) ||
		    secs.units > 100000 * 86400LL || secs.units < -100000 * 86400LL)
			return NULL;
		return ov_time(now - secs.units);
	}
	ds_dec_format(d, buf, sizeof buf);
	return cJSON_CreateNumber(strtod(buf, NULL));
}

/* The values tried for field f: its literals, and for numbers the values
 * one unit and one step finer than any literal around each. */
static cJSON *ov_candidates(const struct overlap *o, size_t f, ds_time now)
{
	struct ov_lits l = { .nnum = 0 };
	for (size_t i = 0; i < o->nconj; i++)
		if (o->conj[i].field == (int)f)
			ov_literals(o->conj[i].n, &l);
	cJSON *cands = cJSON_CreateArray();
	if (!cands)
		return NULL;
	int scale = 0;
	for (size_t i = 0; i < l.nnum; i++)
		scale = l.num[i].scale > scale ? l.num[i].scale : scale;
	ds_dec step = { .units = 1, .scale = scale < DS_DEC_MAX_SCALE ? scale + 1 : scale };
	for (size_t i = 0; i < l.nnum; i++) {
		ds_dec v[5] = { l.num[i] };
		bool ok[5] = { true,
			       !ds_dec_sub(l.num[i], ds_dec_from_int(1), &v[1]),
			       !ds_dec_add(l.num[i], ds_dec_from_int(1), &v[2]),
			       !ds_dec_sub(l.num[i], step, &v[3]),
			       !ds_dec_add(l.num[i], step, &v[4]) };
		for (int k = 0; k < 5; k++)
			if (ok[k])
				ov_add(cands, ov_number(v[k], l.dated, now));
	}
	for (size_t i = 0; i < l.nstr; i++)
		ov_add(cands, cJSON_CreateString(l.str[i]));
	if (l.boolean) {
		ov_add(cands, cJSON_CreateTrue());
		ov_add(cands, cJSON_CreateFalse());
	}
	if (l.null)
		ov_add(cands, cJSON_CreateNull());
	if (l.now) {
		ov_add(cands, ov_time(now - 86400));
		ov_add(cands, ov_time(now + 86400));
	}
	if (l.list) {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; arr && i < l.nstr; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(l.str[i]));
		for (size_t i = 0; arr && !l.dated && i < l.nnum; i++)
			cJSON_AddItemToArray(arr, ov_number(l.num[i], false, now));
		ov_add(cands, arr);
	}
	if (!cJSON_GetArraySize(cands))
		ov_add(cands, cJSON_CreateString("x"));  /* enough for exists() */
	return cands;
}

static bool ov_true(const ds_expr *e, const ds_expr_node *n, const cJSON *data, ds_time now)
{
	ds_expr_env env = { ds_process_guard_resolve, (void *)data, now };
	ds_err err = {0};
	bool ok = false;
	return !ds_expr_eval_node(e, n, &env, &ok, &err) && ok;
}

/* The first candidate that makes every operand about field f true. */
static const cJSON *ov_pick(const struct overlap *o, size_t f, const cJSON *cands, ds_time now)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cands) {
		cJSON *data = cJSON_CreateObject();
		bool all = data && !ds_json_set_dotted(data, o->field[f], cJSON_Duplicate(c, true));
		for (size_t i = 0; all && i < o->nconj; i++)
			if (o->conj[i].field == (int)f)
				all = ov_true(o->conj[i].e, o->conj[i].n, data, now);
		cJSON_Delete(data);
		if (all)
			return c;
	}
	return NULL;
}

/* Data on which guards a and b are both true, or NULL when none was found
 * (or memory ran out). The caller deletes it. */
static cJSON *ov_witness(const ds_expr *a, const ds_expr *b, ds_time now)
{
	struct overlap *o = ds_calloc(1, sizeof *o);
	cJSON *data = NULL;
	if (!o)
		return NULL;
	ov_conjuncts(o, a, ds_expr_root(a));
	ov_conjuncts(o, b, ds_expr_root(b));
	/* customer and customer.email are not independent: not searched. */
	for (size_t i = 0; i < o->nfields && !o->undecided; i++)
		for (size_t j = 0; j < o->nfields; j++) {
			size_t l = strlen(o->field[i]);
			if (i != j && !strncmp(o->field[i], o->field[j], l) && o->field[j][l] == '.')
				o->undecided = true;
		}
	if (o->undecided || !(data = cJSON_CreateObject()))
		goto fail;
	for (size_t f = 0; f < o->nfields; f++) {
		cJSON *cands = ov_candidates(o, f, now);
		const cJSON *pick = cands ? ov_pick(o, f, cands, now) : NULL;
		int rc = pick ? ds_json_set_dotted(data, o->field[f], cJSON_Duplicate(pick, true)) : -1;
		cJSON_Delete(cands);
		if (rc)
			goto fail;
	}
	if (!ov_true(a, ds_expr_root(a), data, now) || !ov_true(b, ds_expr_root(b), data, now))
		goto fail;
	ds_free(o);
	return data;
fail:
	cJSON_Delete(data);
	ds_free(o);
	return NULL;
}

static bool same_guard(const ds_expr *a, const ds_expr *b)
{
	ds_buf x, y;
	ds_buf_init(&x, DS_EXPR_MAX_SOURCE * 4);
	ds_buf_init(&y, DS_EXPR_MAX_SOURCE * 4);
	bool same = !ds_expr_format(a, &x) && !ds_expr_format(b, &y) && x.len == y.len &&
		    !memcmp(x.data, y.data, x.len);
	ds_buf_free(&x);
	ds_buf_free(&y);
	return same;
}

/* Warns of two guards of a state that can both be true and lead to
 * different states (the first one listed wins), and of a guard repeated. */
static void check_overlaps(const ds_process *p, ds_diag *diag)
{
	/* A fixed time, for guards that read the clock. */
	ds_time now = ds_days_from_civil(2026, 6, 15) * 86400 + 12 * 3600;
	for (size_t s = 0; s < p->nstates; s++) {
		const ds_state_def *st = &p->states[s];
		for (size_t j = 0; j < st->non; j++) {
			const ds_transition_def *b = &st->on[j];
			if (b->kind != DS_ON_WHEN || !b->guard)
				continue;
			char pa[600], pb[600];
			snprintf(pb, sizeof pb, "/states/%s/on/%zu/when", st->name, j);
			for (size_t i = 0; i < j; i++) {
				const ds_transition_def *a = &st->on[i];
				if (a->kind != DS_ON_WHEN || !a->guard)
					continue;
				snprintf(pa, sizeof pa, "/states/%s/on/%zu/when", st->name, i);
				if (same_guard(a->guard, b->guard)) {
					ds_diag_warn(diag, p->file, pb,
						     "the same guard as at %s, which is tried first: "
						     "this transition is never taken", pa);
					continue;
				}
				if (a->to == b->to)
					continue;
				cJSON *w = ov_witness(a->guard, b->guard, now);
				char *text = w ? cJSON_PrintUnformatted(w) : NULL;
				if (text)
					ds_diag_warn(diag, p->file, pb,
						     "can be true together with the guard at %s (%.200s), "
						     "e.g. for %.300s%s; the first one listed wins",
						     pa, a->guard_src, text, strlen(text) > 300 ? "..." : "");
				cJSON_free(text);
				cJSON_Delete(w);
			}
		}
	}
}

/* Marks the states reachable from the initial one. */
static void reach(const ds_process *p, int s, bool *seen)
{
	if (s < 0 || seen[s])
		return;
	seen[s] = true;
	for (size_t t = 0; t < p->states[s].non; t++)
		reach(p, p->states[s].on[t].to, seen);
}

/* "migrate": {"from": N, "states": {"old": "new", ...}}, or an array of
 * such objects. That the new states exist is checked once every state is
 * known; the old ones belong to a version only the store knows. */
static int load_migrates(ds_process *p, const cJSON *j, ds_diag *diag)
{
	const char *file = p->file;
	bool one = cJSON_IsObject(j);
	if (!one && !cJSON_IsArray(j)) {
		ds_diag_error(diag, file, "/migrate",
			      "\"migrate\" must be {\"from\": VERSION, \"states\": {OLD: NEW}}, "
			      "or an array of them");
		return DS_ECONFIG;
	}
	size_t n = one ? 1 : (size_t)cJSON_GetArraySize(j);
	p->migrates = ds_calloc(n ? n : 1, sizeof *p->migrates);
	if (!p->migrates)
		return DS_ENOMEM;
	const cJSON *e = one ? j : j->child;
	for (size_t i = 0; e; i++, e = one ? NULL : e->next) {
		char path[64], sub[128];
		snprintf(path, sizeof path, one ? "/migrate" : "/migrate/%zu", i);
		if (!cJSON_IsObject(e)) {
			ds_diag_error(diag, file, path,
				      "a migration must be an object with \"from\" and \"states\"");
			continue;
		}
		unknown_keys(e, migrate_keys, file, path, diag);
		const cJSON *from = cJSON_GetObjectItemCaseSensitive(e, "from");
		const cJSON *states = cJSON_GetObjectItemCaseSensitive(e, "states");
		snprintf(sub, sizeof sub, "%s/from", path);
		if (!cJSON_IsNumber(from) || from->valueint < 1 || from->valueint >= p->version ||
		    (double)from->valueint != from->valuedouble) {
			if (p->version == 1)
				ds_diag_error(diag, file, sub,
					      "version 1 has no earlier version to migrate from");
			else if (p->version == 2)
				ds_diag_error(diag, file, sub,
					      "\"from\" must be 1, the version before this one");
			else
				ds_diag_error(diag, file, sub,
					      "\"from\" must be an earlier version of this process (1 to %d)",
					      p->version - 1);
			continue;
		}
		if (ds_process_migration(p, from->valueint)) {
			ds_diag_error(diag, file, sub, "a second migration from version %d",
				      from->valueint);
			continue;
		}
		snprintf(sub, sizeof sub, "%s/states", path);
		if (!cJSON_IsObject(states)) {
			ds_diag_error(diag, file, sub,
				      "\"states\" must map states of version %d to states of version %d",
				      from->valueint, p->version);
			continue;
		}
		ds_migrate_def *m = &p->migrates[p->nmigrates++];
		size_t count = (size_t)cJSON_GetArraySize(states);
		m->from = from->valueint;
		m->path = keep(p, path);
		m->old_states = ds_calloc(count ? count : 1, sizeof *m->old_states);
		m->new_states = ds_calloc(count ? count : 1, sizeof *m->new_states);
		if (!m->path || !m->old_states || !m->new_states)
			return DS_ENOMEM;
		const cJSON *st;
		cJSON_ArrayForEach(st, states) {
			if (!cJSON_IsString(st) || !*st->valuestring) {
				char tok[256], sp[400];
				ds_json_pointer_escape(st->string, tok, sizeof tok);
				snprintf(sp, sizeof sp, "%s/%s", sub, tok);
				ds_diag_error(diag, file, sp, "must name a state of version %d",
					      p->version);
				continue;
			}
			if (keep_pair(p, m->old_states, m->new_states, &m->n, st->string,
				      st->valuestring))
				return DS_ENOMEM;
		}
	}
	return DS_OK;
}

/* Loads a definition from its parsed document (NULL when it could not be
 * read: the problem is already reported), reporting against label. */
static int load(const char *path, const cJSON *doc, ds_diag *diag, ds_process **out,
		ds_err *err)
{
	*out = NULL;
	size_t errors_before = diag ? diag->errors : 0;
	ds_diag local;
	if (!diag) {
		ds_diag_init(&local);
		diag = &local;
	}
	ds_process *p = NULL;
	const cJSON ***to_names = NULL;
	int rc = DS_ECONFIG;
	if (!doc)
		goto done;
	p = ds_calloc(1, sizeof *p);
	if (!p || !(p->file = ds_strdup(path)) || !(p->canonical = ds_json_print(doc))) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	ds_sha256_hex(p->canonical, strlen(p->canonical), p->sha256);
	if (!cJSON_IsObject(doc)) {
		ds_diag_error(diag, path, "", "a process must be a JSON object");
		goto done;
	}
	unknown_keys(doc, process_keys, path, "", diag);
	p->name = dup_str(p, cJSON_GetObjectItemCaseSensitive(doc, "name"));
	if (!p->name || !*p->name) {
		ds_diag_error(diag, path, "/name", "\"name\" is required");
		goto done;
	}
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(doc, "version");
	p->version = 1;
	if (ver) {
		if (!cJSON_IsNumber(ver) || ver->valueint < 1 || (double)ver->valueint != ver->valuedouble)
			ds_diag_error(diag, path, "/version", "\"version\" must be a positive integer");
		else
			p->version = ver->valueint;
	}
	if (str_array(p, cJSON_GetObjectItemCaseSensitive(doc, "consumes"), path, "/consumes", diag,
		      &p->consumes, &p->nconsumes) ||
	    str_array(p, cJSON_GetObjectItemCaseSensitive(doc, "starts_with"), path, "/starts_with",
		      diag, &p->starts_with, &p->nstarts))
		goto done;
	for (size_t i = 0; i < p->nstarts; i++)
		if (!ds_process_consumes(p, p->starts_with[i]))
			ds_diag_error(diag, path, "/starts_with",
				      "record type \"%s\" starts cases but is not in \"consumes\"",
				      p->starts_with[i]);
	p->key = dup_str(p, cJSON_GetObjectItemCaseSensitive(doc, "key"));
	if (!p->key)
		ds_diag_error(diag, path, "/key", "\"key\" must name the field that identifies a case");
	const cJSON *prof = cJSON_GetObjectItemCaseSensitive(doc, "profile");
	if (prof && (rc = ds_profile_block_load(prof, true, path, "/profile", diag, &p->profile,
						err)))
		goto done;
	rc = DS_ECONFIG;
	const cJSON *mig = cJSON_GetObjectItemCaseSensitive(doc, "migrate");
	if (mig && load_migrates(p, mig, diag) == DS_ENOMEM) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	const cJSON *states = cJSON_GetObjectItemCaseSensitive(doc, "states");
	if (!cJSON_IsObject(states) || !cJSON_GetArraySize(states)) {
		ds_diag_error(diag, path, "/states", "\"states\" must be a non-empty object");
		goto done;
	}
	size_t n = (size_t)cJSON_GetArraySize(states);
	p->states = ds_calloc(n, sizeof *p->states);
	to_names = ds_calloc(n, sizeof *to_names);
	if (!p->states || !to_names) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	const cJSON *sj;
	cJSON_ArrayForEach(sj, states) {
		ds_state_def *st = &p->states[p->nstates];
		if (strlen(sj->string) > DS_STATE_NAME_MAX) {
			char sp[600];
			snprintf(sp, sizeof sp, "/states/%.500s", sj->string);
			ds_diag_error(diag, path, sp, "a state name has at most %d bytes",
				      DS_STATE_NAME_MAX);
		}
		st->name = ds_strdup(sj->string);
		if (!st->name) {
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
			goto done;
		}
		if (load_state(p, st, sj, diag, &to_names[p->nstates]) == DS_ENOMEM)
			p->oom = true;
		p->nstates++;
	}
	/* Resolve targets now that every state is known. */
	for (size_t s = 0; s < p->nstates; s++) {
		for (size_t t = 0; t < p->states[s].non; t++) {
			const cJSON *to = to_names[s] ? to_names[s][t] : NULL;
			if (!cJSON_IsString(to))
				continue;
			int idx = ds_process_state(p, to->valuestring);
			if (idx < 0) {
				char sp[512];
				snprintf(sp, sizeof sp, "/states/%s/on/%zu/to", p->states[s].name, t);
				ds_diag_error(diag, path, sp, "unknown state \"%s\"", to->valuestring);
			}
			p->states[s].on[t].to = idx;
		}
	}
	if (p->oom)
		goto done;
	for (size_t m = 0; m < p->nmigrates; m++) {
		const ds_migrate_def *md = &p->migrates[m];
		for (size_t i = 0; i < md->n; i++) {
			if (ds_process_state(p, md->new_states[i]) >= 0)
				continue;
			char tok[256], sp[400];
			ds_json_pointer_escape(md->old_states[i], tok, sizeof tok);
			snprintf(sp, sizeof sp, "%s/states/%s", md->path, tok);
			ds_diag_error(diag, path, sp, "unknown state \"%s\": version %d has no such state",
				      md->new_states[i], p->version);
		}
	}
	check_overlaps(p, diag);
	if (p->profile) {
		const char **names = ds_calloc(p->nstates + 1, sizeof *names);
		for (size_t s = 0; names && s < p->nstates; s++)
			names[s] = p->states[s].name;
		int brc = names ? ds_profile_block_bind(p->profile, names, p->nstates, path,
							"/profile", diag, err)
				: ds_err_set(err, DS_ENOMEM, "out of memory");
		ds_free(names);
		if (brc) {
			rc = brc;
			goto done;
		}
	}
	const cJSON *init = cJSON_GetObjectItemCaseSensitive(doc, "initial");
	p->initial = cJSON_IsString(init) ? ds_process_state(p, init->valuestring) : -1;
	if (p->initial < 0) {
		ds_diag_error(diag, path, "/initial", "\"initial\" must name one of the states");
	} else {
		bool *seen = ds_calloc(p->nstates, sizeof *seen);
		if (!seen) {
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
			goto done;
		}
		reach(p, p->initial, seen);
		for (size_t s = 0; s < p->nstates; s++) {
			char sp[512];
			snprintf(sp, sizeof sp, "/states/%s", p->states[s].name);
			if (!seen[s])
				ds_diag_error(diag, path, sp, "state \"%s\" cannot be reached from \"%s\"",
					      p->states[s].name, p->states[p->initial].name);
			if (!p->states[s].final && !p->states[s].non)
				ds_diag_error(diag, path, sp,
					      "state \"%s\" has no way out and is not marked \"final\"",
					      p->states[s].name);
		}
		ds_free(seen);
	}
	rc = DS_OK;
done:
	if (to_names) {
		for (size_t s = 0; p && s < p->nstates; s++)
			ds_free(to_names[s]);
		ds_free(to_names);
	}
	if (p && p->oom)
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	/* A definition with errors is still returned once its states are
	 * known, so that `check` can cross-check the rest of it; the config
	 * refuses to run with it. */
	bool usable = rc == DS_OK && p && p->nstates;
	if ((diag->errors > errors_before && rc == DS_OK) || rc == DS_ECONFIG)
		rc = ds_err_set(err, DS_ECONFIG, "%s: the process definition has errors", path);
	if (!usable) {
		ds_process_free(p);
		p = NULL;
	}
	*out = p;
	if (diag == &local)
		ds_diag_free(&local);
	return rc;
}

int ds_process_load(const char *path, ds_diag *diag, ds_process **out, ds_err *err)
{
	cJSON *doc = ds_json_load_file(path, diag);
	int rc = load(path, doc, diag, out, err);
	cJSON_Delete(doc);
	return rc;
}

int ds_process_parse(const char *label, const char *text, size_t len, ds_diag *diag,
		     ds_process **out, ds_err *err)
{
	cJSON *doc = NULL;
	ds_err e = {0};
	if (ds_json_parse(text, len, DS_JSON_MAX_DEPTH, &doc, &e))
		ds_diag_error(diag, label, "", "%s", e.msg);
	int rc = load(label, doc, diag, out, err);
	cJSON_Delete(doc);
	return rc;
}
