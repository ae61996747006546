/*
 * procver.c - versions of process definitions against the store; see
 * procver.h.
 *
 * The check reads the stored definitions once (they are few: one per
 * version ever run) and asks the store how many cases sit in each state of
 * a version only when the newest one drops a state of it or migrates from
 * it, so a store whose definitions did not change costs one small read.
 */
#include "procver.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "json.h"
#include "mem.h"
#include "profile.h"

/* The definitions the store holds, copied into an arena. */
typedef struct stored {
	ds_arena *a;
	ds_process_def_row *v;
	size_t n, cap;
} stored;

static int collect_def(void *ud, const ds_process_def_row *d)
{
	stored *s = ud;
	ds_process_def_row *v = ds_room(s->v, s->n, &s->cap, sizeof *v);
	if (!v)
		return DS_ENOMEM;
	s->v = v;
	ds_process_def_row *r = &s->v[s->n];
	*r = *d;
	r->process = ds_arena_strdup(s->a, d->process);
	r->definition = ds_arena_strdup(s->a, d->definition ? d->definition : "");
	if (!r->process || !r->definition)
		return DS_ENOMEM;
	s->n++;
	return 0;
}

static int read_stored(ds_store *store, stored *s, ds_err *err)
{
	memset(s, 0, sizeof *s);
	if (!(s->a = ds_arena_new(16384)))
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	int rc = ds_store_process_def_list(store, collect_def, s, err);
	if (rc == DS_ENOMEM)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	return rc;
}

static void stored_free(stored *s)
{
	ds_arena_free(s->a);
	ds_free(s->v);
}

static const ds_process_def_row *stored_row(const stored *s, const char *name, int version)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].version == version && !strcmp(s->v[i].process, name))
			return &s->v[i];
	return NULL;
}

/* ---- occupied states ---- */

/* What the cases of version `from` of p's process become under p. */
struct occupancy {
	const ds_process *p;
	const ds_migrate_def *m;      /* p's migration from `from`, or NULL */
	int from;
	bool adopted;                 /* the store runs p already */
	ds_diag *diag;
};

static int occupied(void *ud, const char *state, int64_t n)
{
	struct occupancy *o = ud;
	const ds_process *p = o->p;
	if (ds_process_successor(p, o->m, state))
		return 0;
	bool one = n == 1;
	if (o->adopted) {
		/* Taken there by their own version since p was adopted: they
		 * run by it, and a later version may move them. */
		ds_diag_warn(o->diag, p->file, "/states",
			     "process \"%s\": %" PRId64 " case%s of version %d %s in state \"%s\", "
			     "which version %d does not have; %s by version %d, unless a later "
			     "version moves %s with \"migrate\"",
			     p->name, n, one ? "" : "s", o->from, one ? "is" : "are", state,
			     p->version, one ? "it runs" : "they run", o->from, one ? "it" : "them");
	} else if (o->m) {
		char path[128];
		snprintf(path, sizeof path, "%s/states", o->m->path);
		ds_diag_error(o->diag, p->file, path,
			      "process \"%s\": %" PRId64 " case%s of version %d %s in state \"%s\", "
			      "which version %d does not have: map it to one of its states",
			      p->name, n, one ? "" : "s", o->from, one ? "is" : "are", state,
			      p->version);
	} else {
		ds_diag_error(o->diag, p->file, "/states",
			      "process \"%s\" version %d removes state \"%s\", where %" PRId64
			      " case%s of version %d still %s; keep the state, or move %s with "
			      "\"migrate\": {\"from\": %d, \"states\": {\"%s\": \"<a state of version %d>\"}}",
			      p->name, p->version, state, n, one ? "" : "s", o->from,
			      one ? "is" : "are", one ? "it" : "them", o->from, state, p->version);
	}
	return 0;
}

/* Reports the cases of version `from` that p leaves without a state:
 * errors while p is not adopted yet (its adoption is refused), warnings
 * after. Asked of the store only when p drops a state of old (NULL:
 * unknown) or migrates from it. */
static int check_occupied(ds_store *store, const ds_process *p, const ds_process *old,
			  int from, bool adopted, ds_diag *diag, ds_err *err)
{
	struct occupancy o = { p, ds_process_migration(p, from), from, adopted, diag };
	bool drops = false;
	for (size_t s = 0; old && s < old->nstates && !drops; s++)
		drops = ds_process_state(p, old->states[s].name) < 0;
	if (!drops && !o.m)
		return DS_OK;
	return ds_store_case_states(store, p->name, from, occupied, &o, err);
}

/* ---- the check ---- */

/* The earlier version r of p, loaded once into cfg; NULL when it cannot be
 * read (reported). */
static const ds_process *earlier(ds_config *cfg, const ds_process *p,
				 const ds_process_def_row *r, ds_diag *diag, ds_err *err,
				 int *rc)
{
	const ds_process *o = ds_config_process_version(cfg, p->name, r->version);
	if (o)
		return o;
	char label[512];
	snprintf(label, sizeof label, "%s (version %d, as the store holds it)", p->file,
		 r->version);
	ds_diag local;
	ds_diag_init(&local);
	ds_process *np = NULL;
	ds_err e = {0};
	int lrc = ds_process_parse(label, r->definition, strlen(r->definition), &local, &np, &e);
	if (lrc == DS_ENOMEM) {
		*rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	} else if (lrc || !np) {
		const char *why = e.msg;
		for (size_t i = 0; i < local.count; i++)
			if (!local.items[i].warning) {
				why = local.items[i].message;
				break;
			}
		ds_diag_error(diag, p->file, "/version",
			      "version %d of process \"%s\", as the store holds it, cannot be read: %s",
			      r->version, p->name, why);
		ds_process_free(np);
		np = NULL;
	} else if ((*rc = ds_config_add_version(cfg, np, err))) {
		np = NULL;
	}
	ds_diag_free(&local);
	return np;
}

static int check_one(ds_config *cfg, ds_store *store, const stored *st, const ds_process *p,
		     ds_diag *diag, ds_err *err)
{
	int newest = 0, rc = DS_OK;
	char when[24];
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->v[i].process, p->name) && st->v[i].version > newest)
			newest = st->v[i].version;
	const ds_process_def_row *same = stored_row(st, p->name, p->version);
	bool adopted = same && !strcmp(same->sha256, p->sha256);
	if (same && !adopted) {
		ds_time_format(same->first_run, when);
		ds_diag_error(diag, p->file, "/version",
			      "process \"%s\" differs from the version %d the store has run since %s: "
			      "a changed definition needs a new \"version\" (raise it to %d)",
			      p->name, p->version, when, newest + 1);
	}
	if (newest > p->version) {
		ds_diag_error(diag, p->file, "/version",
			      "process \"%s\" is at version %d, but the store has run version %d "
			      "already: a version never goes back (raise it to %d)",
			      p->name, p->version, newest, newest + 1);
		return DS_OK;
	}
	for (size_t i = 0; i < st->n && !rc; i++) {
		const ds_process_def_row *r = &st->v[i];
		if (strcmp(r->process, p->name) || r->version >= p->version)
			continue;
		const ds_process *old = earlier(cfg, p, r, diag, err, &rc);
		if (rc)
			return rc;
		if (!old)
			continue;
		const ds_migrate_def *m = ds_process_migration(p, r->version);
		for (size_t k = 0; m && k < m->n; k++) {
			if (ds_process_state(old, m->old_states[k]) >= 0)
				continue;
			char tok[256], path[400];
			ds_json_pointer_escape(m->old_states[k], tok, sizeof tok);
			snprintf(path, sizeof path, "%s/states/%s", m->path, tok);
			ds_diag_error(diag, p->file, path,
				      "version %d of process \"%s\" has no state \"%s\"", r->version,
				      p->name, m->old_states[k]);
		}
		rc = check_occupied(store, p, old, r->version, adopted, diag, err);
	}
	/* A migration from a version the store never ran moves nothing, but
	 * its cases (from before versions were kept) are still looked at. */
	for (size_t k = 0; k < p->nmigrates && !rc; k++)
		if (!stored_row(st, p->name, p->migrates[k].from))
			rc = check_occupied(store, p, NULL, p->migrates[k].from, adopted, diag,
					    err);
	return rc;
}

int ds_procver_check(ds_config *cfg, ds_store *store, ds_diag *diag, ds_err *err)
{
	stored st;
	size_t before = diag->errors;
	int rc = read_stored(store, &st, err);
	for (size_t i = 0; !rc && i < cfg->nprocesses; i++)
		rc = check_one(cfg, store, &st, cfg->processes[i], diag, err);
	stored_free(&st);
	if (!rc && diag->errors > before)
		rc = ds_err_set(err, DS_ECONFIG, "the process definitions do not fit the store's cases");
	return rc;
}

/* ---- writing ---- */

struct ids {
	int64_t *v;
	size_t n, cap;
};

static int collect_id(void *ud, const ds_case_row *c)
{
	struct ids *l = ud;
	int64_t *v = ds_room(l->v, l->n, &l->cap, sizeof *v);
	if (!v)
		return DS_ENOMEM;
	l->v = v;
	l->v[l->n++] = c->id;
	return 0;
}

static int count_cases(void *ud, const char *state, int64_t n)
{
	(void)state;
	*(int64_t *)ud += n;
	return 0;
}

/* Moves every case of version m->from to p, in the open transaction. */
static int migrate_cases(ds_runtime *rt, const ds_process *p, const ds_migrate_def *m,
			 int64_t *moved, ds_err *err)
{
	struct ids l = { NULL, 0, 0 };
	ds_arena *a = ds_arena_new(16384);
	int rc = a ? ds_store_case_list_version(rt->store, p->name, m->from, collect_id, &l, err)
		   : DS_ENOMEM;
	if (rc == DS_ENOMEM)
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < l.n; i++) {
		ds_case_row row;
		ds_case_work w;
		ds_arena_reset(a);
		if ((rc = ds_store_case_get(rt->store, l.v[i], a, &row, err)))
			break;
		const char *to = ds_process_successor(p, m, row.state);
		if (!to) {
			rc = ds_err_set(err, DS_ECONFIG,
					"case %s of version %d of %s is in state \"%s\", which version %d "
					"does not have", row.key, m->from, p->name, row.state, p->version);
			break;
		}
		/* What the case counted for its customer, by its old version. */
		ds_traits before;
		if (!(rc = ds_profile_row_traits(rt->cfg, NULL, &row, &before, err)) &&
		    !(rc = ds_engine_migrate(&w, a, p, &row, to, rt->now, err))) {
			w.counted = before;
			w.counted_known = true;
			rc = ds_engine_commit(rt, &w, err);
		}
	}
	*moved = rc ? 0 : (int64_t)l.n;
	ds_free(l.v);
	ds_arena_free(a);
	return rc;
}

/* Whether sync has anything to write: a definition the store has not run,
 * or cases of a version migrated from. */
static int pending(const ds_config *cfg, ds_store *store, bool *any, ds_err *err)
{
	stored st;
	int rc = read_stored(store, &st, err);
	*any = false;
	for (size_t i = 0; !rc && i < cfg->nprocesses && !*any; i++) {
		const ds_process *p = cfg->processes[i];
		*any = !stored_row(&st, p->name, p->version);
		for (size_t k = 0; !rc && k < p->nmigrates && !*any; k++) {
			int64_t n = 0;
			rc = ds_store_case_states(store, p->name, p->migrates[k].from, count_cases, &n,
						  err);
			*any = n > 0;
		}
	}
	stored_free(&st);
	return rc;
}

struct done {
	const ds_process *p;
	int from;
	int64_t cases;
};

int ds_procver_sync(ds_config *cfg, ds_store *store, ds_time now, ds_procver_note note,
		    void *ud, ds_diag *diag, ds_err *err)
{
	bool any = false;
	int rc = ds_procver_check(cfg, store, diag, err);
	if (rc || (rc = pending(cfg, store, &any, err)) || !any)
		return rc;
	size_t nmig = 0, ndone = 0;
	for (size_t i = 0; i < cfg->nprocesses; i++)
		nmig += cfg->processes[i]->nmigrates;
	struct done *done = ds_calloc(nmig ? nmig : 1, sizeof *done);
	ds_runtime rt;
	/* Migrations are no entry into a state: no document is rendered and
	 * no case started, so the runtime needs no renderer. */
	memset(&rt, 0, sizeof rt);
	rt.cfg = cfg;
	rt.store = store;
	rt.now = now;
	if (!done)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	if ((rc = ds_store_begin(store, err)))
		goto out;
	for (size_t i = 0; !rc && i < cfg->nprocesses; i++) {
		const ds_process *p = cfg->processes[i];
		ds_process_def_row d = { .process = p->name, .version = p->version,
					 .definition = p->canonical, .first_run = now };
		bool added = false;
		memcpy(d.sha256, p->sha256, sizeof d.sha256);
		rc = ds_store_process_def_add(store, &d, &added, err);
		for (size_t k = 0; !rc && k < p->nmigrates; k++) {
			struct done *x = &done[ndone++];
			x->p = p;
			x->from = p->migrates[k].from;
			rc = migrate_cases(&rt, p, &p->migrates[k], &x->cases, err);
		}
	}
	/* Another command may have recorded a definition meanwhile: the one
	 * stored must be ours. */
	if (!rc) {
		size_t before = diag->errors;
		stored st;
		if (!(rc = read_stored(store, &st, err)))
			for (size_t i = 0; i < cfg->nprocesses; i++) {
				const ds_process *p = cfg->processes[i];
				const ds_process_def_row *r = stored_row(&st, p->name, p->version);
				if (!r || strcmp(r->sha256, p->sha256))
					ds_diag_error(diag, p->file, "/version",
						      "another definition of version %d of process \"%s\" "
						      "was recorded meanwhile: raise \"version\"",
						      p->version, p->name);
			}
		stored_free(&st);
		if (!rc && diag->errors > before)
			rc = ds_err_set(err, DS_ECONFIG, "the process definitions do not fit the store's");
	}
	if (!rc)
		rc = ds_store_commit(store, err);
	if (rc) {
		ds_store_rollback(store);
		goto out;
	}
	for (size_t i = 0; note && i < ndone; i++)
		if (done[i].cases)
			note(ud, done[i].p, done[i].from, done[i].cases);
out:
	ds_free(done);
	return rc;
}
