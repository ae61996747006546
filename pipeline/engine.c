/*
 * engine.c - the state machine and the runtime; see engine.h.
 */
#include "engine.h"
#include "privacy.h"
#include "profile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "hash.h"
#include "json.h"

/* ---- runtime ---- */

int ds_runtime_init(ds_runtime *rt, const ds_config *cfg, ds_store *store, ds_time now,
		    ds_err *err)
{
	memset(rt, 0, sizeof *rt);
	rt->cfg = cfg;
	rt->store = store;
	rt->now = now;
	const char *d = cfg->documents_dir;
	char tmp[PATH_MAX];
	if (d[0] == '/')
		snprintf(tmp, sizeof tmp, "%s", d);
	else
		snprintf(tmp, sizeof tmp, "%s/%s", cfg->home, d);
	int rc = ds_mkdirs(tmp, err);
	if (rc)
		return rc;
	if (!realpath(tmp, rt->documents_dir))
		return ds_err_set(err, DS_EIO, "cannot resolve %s: %s", tmp, strerror(errno));
	return ds_pdf_new(&rt->pdf, err);
}

void ds_runtime_fini(ds_runtime *rt)
{
	ds_runtime_discard(rt, 0);
	ds_free(rt->written);
	rt->written = NULL;
	rt->capwritten = 0;
	ds_pdf_free(rt->pdf);
	rt->pdf = NULL;
}

void ds_runtime_committed(ds_runtime *rt)
{
	for (size_t i = 0; i < rt->nwritten; i++)
		ds_free(rt->written[i]);
	rt->nwritten = 0;
}

size_t ds_runtime_mark(const ds_runtime *rt) { return rt->nwritten; }

void ds_runtime_discard(ds_runtime *rt, size_t mark)
{
	while (rt->nwritten > mark) {
		char *path = rt->written[--rt->nwritten];
		unlink(path);
		ds_free(path);
	}
}

static int remember(ds_runtime *rt, const char *path, ds_err *err)
{
	if (rt->nwritten == rt->capwritten) {
		size_t cap = rt->capwritten ? rt->capwritten * 2 : 64;
		char **n = ds_realloc(rt->written, cap * sizeof *n);
		if (!n)
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		rt->written = n;
		rt->capwritten = cap;
	}
	if (!(rt->written[rt->nwritten] = ds_strdup(path)))
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	rt->nwritten++;
	return DS_OK;
}

int ds_runtime_sync(ds_runtime *rt, ds_err *err)
{
	if (!rt->nwritten)
		return DS_OK;
	int fd = open(rt->documents_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ds_err_set(err, DS_EIO, "cannot open %s: %s", rt->documents_dir,
				  strerror(errno));
	/* One syncfs for the whole batch instead of an fsync per PDF. */
	int rc = syncfs(fd);
	close(fd);
	if (rc)
		return ds_err_set(err, DS_EIO, "cannot flush documents: %s", strerror(errno));
	return DS_OK;
}

/* ---- causes ---- */

/* ,"name":value: prefix is the member's text up to its value, `,"name":`;
 * nothing when value is NULL. */
#define MEMBER(b, name, value) member(b, ",\"" name "\":", sizeof ",\"" name "\":" - 1, value)
#define MEMBER_ID(b, name, id) member_id(b, ",\"" name "\":", sizeof ",\"" name "\":" - 1, id)

static void member(ds_buf *b, const char *prefix, size_t n, const char *value)
{
	if (!value)
		return;
	ds_buf_append(b, prefix, n);
	ds_buf_json_string(b, value);
}

static void member_id(ds_buf *b, const char *prefix, size_t n, int64_t id)
{
	ds_buf_append(b, prefix, n);
	ds_buf_put_i64(b, id);
}

/* Written by hand rather than through cJSON: it runs for every change. */
char *ds_cause_json(ds_arena *a, const ds_cause *c)
{
	ds_buf b;
	char when[24];
	ds_buf_init(&b, 4096);
	/* One allocation: a cause is a few hundred bytes but for long names. */
	if (ds_buf_reserve(&b, 256))
		return NULL;
	switch (c->kind) {
	case DS_CAUSE_RECORD:
		ds_buf_puts(&b, "{\"type\":\"record\"");
		MEMBER_ID(&b, "record", c->record_id);
		MEMBER(&b, "record_type", c->record_type);
		MEMBER(&b, "source", c->source);
		if (c->interaction_id)
			MEMBER_ID(&b, "interaction", c->interaction_id);
		MEMBER(&b, "thread", c->thread);
		break;
	case DS_CAUSE_EVENT:
	case DS_CAUSE_EDIT:
		ds_buf_printf(&b, "{\"type\":\"%s\"", c->kind == DS_CAUSE_EVENT ? "event" : "edit");
		MEMBER(&b, "event", c->event);
		MEMBER(&b, "role", c->role);
		MEMBER(&b, "actor", c->actor);
		break;
	case DS_CAUSE_TIMER:
		ds_time_format(c->due, when);
		ds_buf_puts(&b, "{\"type\":\"timer\"");
		MEMBER(&b, "after", c->after ? c->after : "");
		MEMBER(&b, "due", when);
		break;
	case DS_CAUSE_GUARD:
		ds_buf_puts(&b, "{\"type\":\"guard\"");
		MEMBER(&b, "when", c->guard ? c->guard : "");
		break;
	case DS_CAUSE_START:
		ds_buf_puts(&b, "{\"type\":\"start\"");
		MEMBER(&b, "process", c->by_process);
		MEMBER(&b, "case", c->by_key);
		MEMBER(&b, "state", c->by_state);
		MEMBER_ID(&b, "case_id", c->by_case);
		break;
	case DS_CAUSE_MIGRATION:
		ds_buf_printf(&b, "{\"type\":\"migration\",\"from_version\":%d,\"to_version\":%d",
			      c->from_version, c->to_version);
		break;
	}
	int rc = ds_buf_putc(&b, '}');
	char *r = rc ? NULL : ds_arena_strndup(a, b.data, b.len);
	ds_buf_free(&b);
	return r;
}

/* ---- the one writer of states ---- */

static int change_state(ds_case_work *w, int to, const ds_cause *cause, const char *changed,
			ds_time now, ds_err *err)
{
	if (w->nchanges >= DS_MAX_CHANGES)
		return ds_err_set(err, DS_ELIMIT,
				  "case %s: more than %d changes at once (a loop of guards?)",
				  w->row.key, DS_MAX_CHANGES);
	ds_change *c = &w->changes[w->nchanges++];
	c->from = w->nchanges == 1 && w->is_new ? -1 : w->state;
	c->from_state = c->from >= 0 ? w->p->states[c->from].name : NULL;
	c->to = to;
	c->at = now;
	c->cause = *cause;
	c->changed = changed ? ds_arena_strdup(w->a, changed) : NULL;
	c->version = ++w->row.version;
	if (to != w->state || c->from < 0) {
		w->row.state_version = w->row.version;
		w->row.state_since = now;
	}
	w->state = to;
	w->row.state = w->p->states[to].name;
	w->row.updated_at = now;
	return DS_OK;
}

static void free_json(void *p) { cJSON_Delete(p); }

int ds_engine_create(ds_case_work *w, ds_arena *a, const ds_process *p, const char *key,
		     cJSON *data, bool arena_owned, const ds_cause *cause, ds_time now,
		     ds_err *err)
{
	memset(w, 0, sizeof *w);
	w->a = a;
	w->p = p;
	if (!arena_owned && ds_arena_defer(a, free_json, data))
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	w->data = data;
	w->is_new = true;
	w->old_state = -1;
	w->state = p->initial;
	w->row.process = p->name;
	w->row.process_version = p->version;
	w->row.key = ds_arena_strdup(a, key);
	w->row.created_at = now;
	if (!w->row.key)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	return change_state(w, p->initial, cause, NULL, now, err);
}

int ds_engine_load(ds_case_work *w, ds_arena *a, const ds_config *cfg, const ds_case_row *row,
		   ds_err *err)
{
	memset(w, 0, sizeof *w);
	w->a = a;
	w->p = ds_config_process_version(cfg, row->process, row->process_version);
	if (!w->p && !ds_config_process(cfg, row->process))
		return ds_err_set(err, DS_ECONFIG, "case %s belongs to process \"%s\", which is not declared",
				  row->key, row->process);
	if (!w->p)
		return ds_err_set(err, DS_ECONFIG,
				  "case %s runs version %d of process \"%s\", which neither "
				  "schemas/processes/ nor the store holds",
				  row->key, row->process_version, row->process);
	w->state = ds_process_state(w->p, row->state);
	if (w->state < 0)
		return ds_err_set(err, DS_ECONFIG, "case %s is in state \"%s\", which process \"%s\" no longer has",
				  row->key, row->state, row->process);
	w->row = *row;
	w->base_version = row->version;
	w->old_state = w->state;
	w->old_data = row->data;
	/* The data is read when something needs it: a timer that only moves
	 * the case does not. */
	w->data_json = row->data;
	return DS_OK;
}

int ds_engine_data(ds_case_work *w, cJSON **out, ds_err *err)
{
	if (!w->data && !w->data_json && w->store) {
		int rc = ds_store_case_data(w->store, w->row.id, w->a, &w->data_json, err);
		if (rc)
			return rc;
		/* Read before anything changed it: the data as stored. */
		w->old_data = w->data_json;
	}
	if (!w->data) {
		const char *txt = w->data_json ? w->data_json : "{}";
		cJSON *data = NULL;
		int rc = ds_json_parse_own(txt, strlen(txt), &data, err);
		if (rc)
			return ds_err_prefix(err, "case %s data", w->row.key);
		if (ds_arena_defer(w->a, free_json, data))
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		w->data = data;
	}
	if (out)
		*out = w->data;
	return DS_OK;
}

int ds_engine_find(ds_case_work *w, ds_arena *a, const ds_config *cfg, ds_store *store,
		   const char *ref, ds_err *err)
{
	ds_case_row row;
	int rc = DS_ENOTFOUND;
	char *end;
	const char *colon = strchr(ref, ':');
	if (colon) {
		char *proc = ds_arena_strndup(a, ref, (size_t)(colon - ref));
		if (!proc)
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		rc = ds_store_case_find(store, proc, colon + 1, a, &row, err);
	} else {
		long long id = strtoll(ref, &end, 10);
		if (*ref && !*end && id > 0)
			rc = ds_store_case_get(store, id, a, &row, err);
		for (size_t i = 0; rc == DS_ENOTFOUND && i < cfg->nprocesses; i++)
			rc = ds_store_case_find(store, cfg->processes[i]->name, ref, a, &row, err);
	}
	if (rc == DS_ENOTFOUND)
		return ds_err_set(err, DS_ENOTFOUND, "no case %s", ref);
	if (rc)
		return rc;
	return ds_engine_load(w, a, cfg, &row, err);
}

int ds_engine_migrate(ds_case_work *w, ds_arena *a, const ds_process *np,
		      const ds_case_row *row, const char *to, ds_time now, ds_err *err)
{
	memset(w, 0, sizeof *w);
	w->a = a;
	w->p = np;
	w->state = ds_process_state(np, to);
	if (w->state < 0)
		return ds_err_set(err, DS_ECONFIG, "case %s cannot move to version %d of %s, which has no state \"%s\"",
				  row->key, np->version, np->name, to);
	w->row = *row;
	w->base_version = row->version;
	w->data_json = row->data;
	const char *from = ds_arena_strdup(a, row->state);
	if (!from)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	ds_cause c = { .kind = DS_CAUSE_MIGRATION, .from_version = row->process_version,
		       .to_version = np->version };
	w->row.process_version = np->version;
	w->row.state = np->states[w->state].name;
	/* A change within the state, as a data edit is: not an entry. */
	int rc = change_state(w, w->state, &c, NULL, now, err);
	if (rc)
		return rc;
	w->changes[w->nchanges - 1].from_state = from;
	/* The earlier version's timers belong to the entry they were set
	 * for: a new one, at the same time, gets np's. */
	w->row.state_version = w->row.version;
	return DS_OK;
}

int ds_engine_attach(ds_case_work *w, const ds_cause *cause, ds_time now, ds_err *err)
{
	return change_state(w, w->state, cause, NULL, now, err);
}

/* The list of changed fields could not grow: rc, DS_ENOMEM or DS_ELIMIT. */
static int changed_overflow(const ds_case_work *w, int rc, ds_err *err)
{
	if (rc == DS_ENOMEM)
		return ds_err_set(err, rc, "out of memory");
	return ds_err_set(err, rc, "case %s: the names of the fields changed at once exceed 1 MiB",
			  w->row.key);
}

int ds_engine_edit(ds_case_work *w, const cJSON *fields, const char *role,
		   const ds_cause *cause, ds_time now, ds_err *err)
{
	if (!cJSON_IsObject(fields))
		return ds_err_set(err, DS_EINVAL, "an edit must be a JSON object of fields");
	if (w->p->states[w->state].final)
		return ds_err_set(err, DS_EREFUSED, "case %s is in final state \"%s\" and cannot change",
				  w->row.key, w->row.state);
	int drc = ds_engine_data(w, NULL, err);
	if (drc)
		return drc;
	/* The names of the fields that change, as a JSON array. */
	ds_buf changed;
	ds_buf_init(&changed, 1u << 20);
	const cJSON *f;
	int rc = ds_buf_putc(&changed, '[');
	if (rc)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	/* Check every field before touching anything: all or nothing. */
	cJSON_ArrayForEach(f, fields) {
		const cJSON *old = cJSON_GetObjectItemCaseSensitive(w->data, f->string);
		if (old && cJSON_Compare(old, f, true))
			continue;
		if (!strcmp(f->string, w->p->key)) {
			rc = ds_err_set(err, DS_EREFUSED, "field \"%s\" is the key of case %s and cannot change",
					f->string, w->row.key);
			goto done;
		}
		if (role && !ds_process_may_edit(w->p, w->state, role, f->string)) {
			rc = ds_err_set(err, DS_EREFUSED,
					"state \"%s\" of %s %s does not let role \"%s\" change \"%s\"",
					w->row.state, w->p->name, w->row.key, role, f->string);
			goto done;
		}
		if ((rc = changed.len > 1 ? ds_buf_putc(&changed, ',') : DS_OK) ||
		    (rc = ds_buf_json_string(&changed, f->string))) {
			rc = changed_overflow(w, rc, err);
			goto done;
		}
	}
	if (rc || changed.len == 1)
		goto done;
	w->data_json = NULL;
	/* Only the fields that change are copied: the others are equal. */
	cJSON_ArrayForEach(f, fields) {
		cJSON *old = cJSON_GetObjectItemCaseSensitive(w->data, f->string);
		if (old && cJSON_Compare(old, f, true))
			continue;
		cJSON *copy = cJSON_Duplicate(f, true);
		if (!copy) {
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
			goto done;
		}
		if (old)
			cJSON_ReplaceItemViaPointer(w->data, old, copy);
		else
			cJSON_AddItemToObject(w->data, f->string, copy);
	}
	if ((rc = ds_buf_putc(&changed, ']'))) {
		rc = changed_overflow(w, rc, err);
		goto done;
	}
	rc = change_state(w, w->state, cause, changed.data, now, err);
done:
	ds_buf_free(&changed);
	return rc;
}

struct verrs {
	ds_buf buf;
	size_t n;
};

static void on_verr(void *ud, const char *pointer, const char *keyword, const char *message)
{
	(void)keyword;
	struct verrs *v = ud;
	/* Once the message is full, the count still says how many there are. */
	if (v->n++ < 8)
		ds_buf_printf(&v->buf, "%s%s: %s", v->n > 1 ? "; " : "", *pointer ? pointer : "/",
			      message);
}

int ds_engine_validate(ds_case_work *w, const ds_config *cfg, ds_err *err)
{
	const char *type = w->p->nstarts ? w->p->starts_with[0]
					 : w->p->nconsumes ? w->p->consumes[0] : NULL;
	const ds_schema *schema = type ? ds_schema_set_get(cfg->schemas, type) : NULL;
	if (!schema)
		return DS_OK;
	struct verrs v = { .n = 0 };
	size_t n = 0;
	int rc = ds_engine_data(w, NULL, err);
	if (rc)
		return rc;
	ds_buf_init(&v.buf, 700);
	rc = ds_schema_validate(schema, w->data, on_verr, &v, &n, err);
	if (!rc && n)
		rc = ds_err_set(err, DS_EREFUSED, "the change would make %s %s an invalid %s (%zu error%s): %s",
				w->p->name, w->row.key, type, n, n == 1 ? "" : "s",
				v.buf.data ? v.buf.data : "");
	ds_buf_free(&v.buf);
	return rc;
}

static bool has_role(const ds_transition_def *t, const char *role)
{
	for (size_t i = 0; i < t->nroles; i++)
		if (!strcmp(t->roles[i], role))
			return true;
	return false;
}

int ds_engine_event(ds_case_work *w, const char *event, const char *role, const char *actor,
		    ds_time now, ds_err *err)
{
	const ds_state_def *st = &w->p->states[w->state];
	const ds_transition_def *match = NULL;
	for (size_t t = 0; t < st->non; t++) {
		const ds_transition_def *tr = &st->on[t];
		if (tr->kind != DS_ON_EVENT || strcmp(tr->event, event))
			continue;
		if (role && has_role(tr, role)) {
			match = tr;
			break;
		}
		if (!match)
			match = tr;
	}
	if (!match)
		return ds_err_set(err, DS_EREFUSED, "event \"%s\" is not allowed in state \"%s\" of %s %s",
				  event, w->row.state, w->p->name, w->row.key);
	if (!role || !has_role(match, role)) {
		char allowed[256] = "";
		size_t n = 0;
		for (size_t i = 0; i < match->nroles; i++)
			n += (size_t)snprintf(allowed + n, n < sizeof allowed ? sizeof allowed - n : 0,
					      "%s%s", i ? ", " : "", match->roles[i]);
		return ds_err_set(err, DS_EREFUSED,
				  "role \"%s\" may not send \"%s\" in state \"%s\" of %s %s (allowed: %s)",
				  role ? role : "(none)", event, w->row.state, w->p->name,
				  w->row.key, allowed);
	}
	ds_cause c = { .kind = DS_CAUSE_EVENT, .event = ds_arena_strdup(w->a, event),
		       .role = ds_arena_strdup(w->a, role),
		       .actor = actor ? ds_arena_strdup(w->a, actor) : NULL };
	return change_state(w, match->to, &c, NULL, now, err);
}

int ds_engine_timer(ds_case_work *w, int t, ds_time due, ds_time now, ds_err *err)
{
	const ds_state_def *st = &w->p->states[w->state];
	if (t < 0 || (size_t)t >= st->non || st->on[t].kind != DS_ON_AFTER)
		return ds_err_set(err, DS_ECONFIG, "timer %d of state \"%s\" is not declared any more",
				  t, st->name);
	ds_cause c = { .kind = DS_CAUSE_TIMER, .after = st->on[t].after_src, .due = due };
	return change_state(w, st->on[t].to, &c, NULL, now, err);
}

int ds_engine_settle(ds_case_work *w, ds_time now, ds_err *err)
{
	for (;;) {
		const ds_state_def *st = &w->p->states[w->state];
		const ds_transition_def *hit = NULL;
		for (size_t t = 0; t < st->non && !hit; t++) {
			const ds_transition_def *tr = &st->on[t];
			if (tr->kind != DS_ON_WHEN)
				continue;
			int drc = ds_engine_data(w, NULL, err);
			if (drc)
				return drc;
			bool ok = false;
			ds_expr_env env = { ds_process_guard_resolve, w->data, now };
			int rc = ds_expr_eval_bool(tr->guard, &env, &ok, err);
			if (rc)
				return ds_err_prefix(err, "guard \"%s\" of state \"%s\"",
						     tr->guard_src, st->name);
			if (ok)
				hit = tr;
		}
		if (!hit)
			return DS_OK;
		ds_cause c = { .kind = DS_CAUSE_GUARD, .guard = hit->guard_src };
		int rc = change_state(w, hit->to, &c, NULL, now, err);
		if (rc)
			return rc;
	}
}

/* ---- writing ---- */

#define DS_START_DEPTH 4

static int start_cases(ds_runtime *rt, ds_case_work *w, int depth, ds_err *err);

static int commit_at(ds_runtime *rt, ds_case_work *w, int depth, ds_err *err)
{
	ds_store *s = rt->store;
	/* The data is written when it is new or changed; a stored case whose
	 * data was not edited, or not even read, is written without it. */
	bool changed = !w->data_json && w->data;
	char *data = changed ? ds_json_print_arena(w->a, w->data) : NULL;
	int rc;
	if (changed && !data)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	w->row.data = data ? data : w->is_new ? w->data_json : NULL;
	if (w->is_new) {
		rc = ds_store_case_insert(s, &w->row, err);
	} else if (w->nchanges) {
		rc = ds_store_case_update(s, &w->row, w->base_version, err);
	} else {
		rc = DS_OK;
	}
	w->row.data = NULL;
	if (rc)
		return rc;
	if (w->record_type) {
		rc = ds_store_record_add(s, w->interaction_id, w->record_type, w->record_json,
					 w->row.id, rt->now, &w->record_id, err);
		if (rc)
			return rc;
		rt->stats.records++;
	}
	/* The audit entries, written together once all are resolved. */
	ds_audit_row rows[DS_MAX_CHANGES];
	for (size_t i = 0; i < w->nchanges; i++) {
		ds_change *c = &w->changes[i];
		if (c->cause.kind == DS_CAUSE_RECORD)
			c->cause.record_id = w->record_id;
		char *cause = ds_cause_json(w->a, &c->cause);
		if (!cause)
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		/* Entering a state (not a data edit, nor a migration, which
		 * enters nothing) may do something to the customer's profile,
		 * resolved on the data as it is committed. */
		const ds_profile_effects *fx = w->p->states[c->to].effects;
		c->effects = NULL;
		if (fx && (c->from != c->to || c->from < 0) &&
		    c->cause.kind != DS_CAUSE_MIGRATION) {
			bool oom = false;
			if (ds_profile_effects_read_data(fx) && (rc = ds_engine_data(w, NULL, err)))
				return rc;
			c->effects = ds_profile_effects_resolve(w->a, fx, w->data, &oom);
			if (oom)
				return ds_err_set(err, DS_ENOMEM, "out of memory");
		}
		rows[i] = (ds_audit_row){
			.case_id = w->row.id,
			.version = c->version,
			.from_state = c->from_state,
			.to_state = w->p->states[c->to].name,
			.at = c->at,
			.cause = cause,
			.changed = c->changed,
			.effects = c->effects,
		};
	}
	if (w->nchanges && (rc = ds_store_audit_add_n(s, rows, w->nchanges, err)))
		return rc;
	for (size_t i = 0; i < w->nchanges; i++) {
		ds_change *c = &w->changes[i];
		c->audit_id = rows[i].id;
		/* A transition moves a case between two states; its creation
		 * and its data edits are audit entries, not transitions. */
		if (c->from >= 0 && c->from != c->to)
			rt->stats.transitions++;
	}
	/* Timers of the state the case rests in, counted from its entry. */
	if (w->nchanges && w->row.state_version > w->base_version) {
		const ds_state_def *st = &w->p->states[w->state];
		for (size_t t = 0; t < st->non; t++) {
			if (st->on[t].kind != DS_ON_AFTER)
				continue;
			ds_timer_row tr = {
				.case_id = w->row.id,
				.state = st->name,
				.state_version = w->row.state_version,
				.transition = (int)t,
				.due = ds_time_add(w->row.state_since, st->on[t].after),
			};
			if ((rc = ds_store_timer_add(s, &tr, err)))
				return rc;
		}
	}
	/* The traits of the case's profile follow its state and data. */
	if ((rc = ds_profile_case_changed(rt, w, err)))
		return rc;
	w->base_version = w->row.version;
	w->is_new = false;
	return start_cases(rt, w, depth, err);
}

int ds_engine_commit(ds_runtime *rt, ds_case_work *w, ds_err *err)
{
	return commit_at(rt, w, 0, err);
}

/* The cases that entering a state starts: built from this case's fields,
 * keyed by what lands in the new process's key, once (a case already there
 * under that key is left as it is). Each new case settles, is written and
 * produces its documents in the same transaction. */
static int start_one(ds_runtime *rt, ds_case_work *w, const ds_change *c,
		     const ds_start_def *sd, int depth, ds_err *err)
{
	const ds_state_def *st = &w->p->states[c->to];
	const ds_process *np = ds_config_process(rt->cfg, sd->process);
	if (!np)
		return ds_err_set(err, DS_ECONFIG, "state \"%s\" of %s starts process \"%s\", which does not exist",
				  st->name, w->p->name, sd->process);
	if (depth >= DS_START_DEPTH)
		return ds_err_set(err, DS_ELIMIT, "case %s: processes start each other more than %d deep",
				  w->row.key, DS_START_DEPTH);
	cJSON *data = cJSON_CreateObject();
	if (!data || ds_arena_defer(w->a, free_json, data)) {
		cJSON_Delete(data);
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	int drc = ds_engine_data(w, NULL, err);
	if (drc)
		return drc;
	for (size_t i = 0; i < sd->n; i++) {
		const cJSON *v = ds_json_dotted(w->data, sd->from[i]);
		if (!v)
			continue;
		int rc = ds_json_set_dotted(data, sd->to[i], cJSON_Duplicate(v, true));
		if (rc)
			return ds_err_set(err, rc, "case %s: cannot set %s of the new %s case", w->row.key,
					  sd->to[i], np->name);
	}
	const cJSON *k = ds_json_dotted(data, np->key);
	char keybuf[64];
	const char *key = cJSON_IsString(k) && *k->valuestring ? k->valuestring : NULL;
	if (!key && cJSON_IsNumber(k)) {
		snprintf(keybuf, sizeof keybuf, "%.15g", k->valuedouble);
		key = keybuf;
	}
	if (!key)
		return ds_err_set(err, DS_EINVAL, "case %s entered %s, which starts a %s case, but its key \"%s\" has no value",
				  w->row.key, st->name, np->name, np->key);
	ds_case_row row;
	int rc = ds_store_case_find(rt->store, np->name, key, w->a, &row, err);
	if (rc != DS_ENOTFOUND)
		return rc;
	ds_cause cause = { .kind = DS_CAUSE_START, .by_process = w->p->name, .by_key = w->row.key,
			   .by_state = st->name, .by_case = w->row.id };
	ds_case_work nw;
	if ((rc = ds_engine_create(&nw, w->a, np, key, data, true, &cause, c->at, err)))
		return rc;
	/* A case started by another serves the same customer. */
	if (np->profile)
		nw.row.profile_id = w->row.profile_id;
	if ((rc = ds_engine_settle(&nw, c->at, err)) ||
	    (rc = commit_at(rt, &nw, depth + 1, err)) ||
	    (rc = ds_engine_produce(rt, &nw, err)))
		return rc;
	rt->stats.started++;
	return DS_OK;
}

static int start_cases(ds_runtime *rt, ds_case_work *w, int depth, ds_err *err)
{
	for (size_t i = 0; i < w->nchanges; i++) {
		const ds_change *c = &w->changes[i];
		if (c->from == c->to && c->from >= 0)
			continue; /* a data edit is not an entry */
		const ds_state_def *st = &w->p->states[c->to];
		for (size_t k = 0; k < st->nstarts; k++) {
			int rc = start_one(rt, w, c, &st->starts[k], depth, err);
			if (rc)
				return rc;
		}
	}
	return DS_OK;
}

/* A file-name-safe copy of a key. */
static void safe_name(const char *in, char *out, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; in[i] && j + 1 < n; i++) {
		unsigned char c = (unsigned char)in[i];
		out[j++] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
			   ? (char)c : '_';
	}
	if (j && out[0] == '.')
		out[0] = '_';
	out[j] = '\0';
}

static int write_file(const char *path, const char *data, size_t len, ds_err *err)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ds_err_set(err, DS_EIO, "cannot write %s: %s", tmp, strerror(errno));
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return ds_err_set(err, DS_EIO, "cannot write %s: %s", tmp, strerror(e));
		}
		off += (size_t)n;
	}
	if (close(fd) || rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return ds_err_set(err, DS_EIO, "cannot write %s: %s", path, strerror(e));
	}
	return DS_OK;
}

static int produce_one(ds_runtime *rt, ds_case_work *w, const ds_change *c,
		       const ds_doc_template *t, ds_err *err)
{
	int rc;
	char when[24], key[128], dir[PATH_MAX], path[PATH_MAX], sha[65];
	ds_buf pdf;
	ds_buf_init(&pdf, 64u << 20);
	cJSON *vars = cJSON_CreateObject();
	cJSON *cs = cJSON_AddObjectToObject(vars, "case");
	if (!vars || !cs) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	cJSON_AddNumberToObject(cs, "id", (double)w->row.id);
	cJSON_AddStringToObject(cs, "key", w->row.key);
	cJSON_AddStringToObject(cs, "process", w->p->name);
	cJSON_AddStringToObject(cs, "state", w->p->states[c->to].name);
	cJSON_AddNumberToObject(cs, "version", (double)c->version);
	/* The data is borrowed for the render, not copied. */
	if ((rc = ds_engine_data(w, NULL, err)))
		goto done;
	cJSON_AddItemReferenceToObject(vars, "data", w->data);
	ds_time_format(c->at, when);
	cJSON_AddStringToObject(vars, "now", when);
	if ((rc = ds_pdf_render(rt->pdf, t, vars, &pdf, err)))
		goto done;
	safe_name(w->row.key, key, sizeof key);
	snprintf(dir, sizeof dir, "%s/%s", rt->documents_dir, w->p->name);
	if ((rc = ds_mkdirs(dir, err)))
		goto done;
	snprintf(path, sizeof path, "%s/%s-%s-v%" PRId64 ".pdf", dir, key,
		 ds_doc_template_name(t), c->version);
	if ((rc = write_file(path, pdf.data, pdf.len, err)))
		goto done;
	if ((rc = remember(rt, path, err))) {
		unlink(path);
		goto done;
	}
	ds_sha256_hex(pdf.data, pdf.len, sha);
	ds_document_row d = {
		.case_id = w->row.id,
		.audit_id = c->audit_id,
		.template_name = ds_doc_template_name(t),
		.path = path,
		.size = (int64_t)pdf.len,
		.created_at = c->at,
	};
	memcpy(d.sha256, sha, sizeof sha);
	if ((rc = ds_store_document_add(rt->store, &d, err)))
		goto done;
	rt->stats.documents++;
done:
	cJSON_Delete(vars);
	ds_buf_free(&pdf);
	return rc;
}

int ds_engine_produce(ds_runtime *rt, ds_case_work *w, ds_err *err)
{
	for (size_t i = 0; i < w->nchanges; i++) {
		const ds_change *c = &w->changes[i];
		if (c->from == c->to && c->from >= 0)
			continue; /* a data edit is not an entry */
		const char *out = w->p->states[c->to].output;
		if (!out)
			continue;
		const ds_doc_template *t = ds_config_template(rt->cfg, out);
		if (!t)
			return ds_err_set(err, DS_ECONFIG, "state \"%s\" names template \"%s\", which does not exist",
					  w->p->states[c->to].name, out);
		if (ds_store_document_exists(rt->store, c->audit_id, out))
			continue;
		int rc = produce_one(rt, w, c, t, err);
		if (rc)
			return ds_err_prefix(err, "document %s of %s", out, w->row.key);
	}
	return DS_OK;
}

/* ---- timers ---- */

struct due_list {
	ds_timer_row *v;
	char (*states)[DS_STATE_NAME_MAX + 1];
	size_t n, cap;
};

static int collect_due(void *ud, const ds_timer_row *t)
{
	struct due_list *l = ud;
	if (l->n == l->cap)
		return 1;
	l->v[l->n] = *t;
	snprintf(l->states[l->n], sizeof l->states[l->n], "%s", t->state);
	l->v[l->n].state = l->states[l->n];
	l->n++;
	return 0;
}

/* Whether writing w's changes may fail on its data once it has begun:
 * only printing a document or starting a case can. */
static bool may_refuse(const ds_case_work *w)
{
	for (size_t i = 0; i < w->nchanges; i++) {
		const ds_change *c = &w->changes[i];
		const ds_state_def *st = &w->p->states[c->to];
		if ((c->from != c->to || c->from < 0) && (st->output || st->nstarts))
			return true;
	}
	return false;
}

/* Whether writing w's changes reads its data: the profile effects of a
 * state entered, or what its customer's traits count. */
static bool commit_reads_data(const ds_case_work *w)
{
	for (size_t i = 0; i < w->nchanges; i++) {
		const ds_change *c = &w->changes[i];
		const ds_profile_effects *fx = w->p->states[c->to].effects;
		if (fx && ds_profile_effects_read_data(fx) && (c->from != c->to || c->from < 0) &&
		    c->cause.kind != DS_CAUSE_MIGRATION)
			return true;
	}
	return ds_profile_case_reads_data(w);
}

/* Fires one due timer in the open transaction. *saved: a savepoint was
 * opened for it, before its first write, because it may fail after that
 * (may_refuse); the other failures come before anything is written, or
 * stop the run. */
static int fire(ds_runtime *rt, ds_arena *a, const ds_timer_row *t,
		void (*report)(void *, const ds_case_work *, const ds_timer_row *, int64_t),
		void *ud, bool *saved, ds_err *err)
{
	ds_case_row row;
	ds_case_work w;
	bool pending = false;
	/* Most timers move a case without reading its data. */
	int rc = ds_store_case_row(rt->store, t->case_id, a, &row, err);
	if (rc)
		return rc;
	/* A timer belongs to one entry into its state: if the case has left
	 * it since, the timer no longer applies. */
	bool valid = !strcmp(row.state, t->state) && row.state_version == t->state_version;
	if (valid) {
		if ((rc = ds_engine_load(&w, a, rt->cfg, &row, err)))
			return rc;
		w.store = rt->store; /* its data, when something reads it */
		if ((rc = ds_engine_timer(&w, t->transition, t->due, rt->now, err)) ||
		    (rc = ds_engine_settle(&w, rt->now, err)))
			return rc;
		/* Read before the first write if writing needs it, so that a
		 * failure to read it comes before anything is written. */
		if (commit_reads_data(&w) && (rc = ds_engine_data(&w, NULL, err)))
			return rc;
	}
	if (valid && may_refuse(&w)) {
		if ((rc = ds_store_savepoint(rt->store, err)))
			return rc;
		*saved = true;
	}
	if (valid && ((rc = ds_engine_commit(rt, &w, err)) ||
		      (rc = ds_engine_produce(rt, &w, err))))
		return rc;
	if ((rc = ds_store_timer_done(rt->store, t->id, rt->now, valid, &pending, err)))
		return rc;
	if (!pending)
		return ds_err_set(err, DS_EBUSY, "timer %" PRId64 " fired elsewhere meanwhile", t->id);
	if (!valid) {
		rt->stats.obsolete++;
		return DS_OK;
	}
	int64_t late = rt->now - t->due;
	rt->stats.fired++;
	if (late > rt->stats.max_late)
		rt->stats.max_late = late;
	if (report)
		report(ud, &w, t, late);
	return DS_OK;
}

int ds_engine_tick(ds_runtime *rt,
		   void (*report)(void *ud, const ds_case_work *w, const ds_timer_row *t,
				  int64_t late),
		   void (*failed)(void *ud, const ds_timer_row *t, const ds_err *e),
		   void *ud, ds_err *err)
{
	size_t batch = rt->cfg->batch_size;
	struct due_list l = { ds_calloc(batch, sizeof *l.v), ds_calloc(batch, DS_STATE_NAME_MAX + 1), 0, batch };
	ds_arena *a = ds_arena_new(64 * 1024);
	ds_time after_due = INT64_MIN;
	int64_t after_id = 0;
	int rc = DS_OK;
	if (!l.v || !l.states || !a) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	for (;;) {
		l.n = 0;
		if ((rc = ds_store_begin(rt->store, err)))
			goto done;
		rc = ds_store_timer_due(rt->store, rt->now, after_due, after_id, batch, collect_due,
					&l, err);
		if (rc < 0)
			goto fail;
		rc = DS_OK;
		if (!l.n) {
			ds_store_rollback(rt->store);
			break;
		}
		for (size_t i = 0; i < l.n; i++) {
			const ds_timer_row *t = &l.v[i];
			ds_err terr = {0};
			after_due = t->due;
			after_id = t->id;
			ds_arena_reset(a);
			size_t mark = ds_runtime_mark(rt);
			ds_stats before = rt->stats;
			bool saved = false;
			rc = fire(rt, a, t, report, ud, &saved, &terr);
			if (rc == DS_EINVAL || rc == DS_ECONFIG || rc == DS_ELIMIT ||
			    rc == DS_EREFUSED || rc == DS_ENOTFOUND) {
				/* This timer's case cannot move (a template or a guard
				 * fails on its data): it stays pending for a later tick,
				 * and the others go on. */
				if (saved)
					ds_store_rollback_to(rt->store);
				ds_runtime_discard(rt, mark);
				rt->stats = before;
				rt->stats.failed++;
				if (failed)
					failed(ud, t, &terr);
				continue;
			}
			if (rc) {
				*err = terr;
				goto fail;
			}
			if (saved && (rc = ds_store_release(rt->store, err)))
				goto fail;
		}
		if ((rc = ds_runtime_sync(rt, err)) || (rc = ds_store_commit(rt->store, err)))
			goto fail;
		ds_runtime_committed(rt);
	}
	/* Then what the retention settings say is old (privacy.h). */
	rc = ds_privacy_purge(rt, err);
	goto done;
fail:
	ds_store_rollback(rt->store);
	ds_runtime_discard(rt, 0);
done:
	ds_arena_free(a);
	ds_free(l.v);
	ds_free(l.states);
	return rc;
}
