/*
 * chain.c - running the registered stages over inputs; see chain.h.
 *
 * Each input after store_raw runs inside a savepoint: if a later stage
 * rejects it, everything it wrote except the raw interaction is undone
 * before the quarantine entry is written, so nothing is half-applied and
 * nothing is lost. A savepoint copies every page the input changes the
 * first time it changes it, which is much of what a short input costs; so
 * a driver that can run a batch's inputs again may run them without
 * (ds_chain_savepoints), and undo the batch and run them again, each with
 * its savepoint, in the rare case of an input refused after it wrote.
 */
#include "chain.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "source.h"

#define X(n) extern const ds_stage_type ds_stage_##n;
#include "stages.def"
#undef X

static const ds_stage_type *const registry[] = {
#define X(n) &ds_stage_##n,
#include "stages.def"
#undef X
};

#define NSTAGES (sizeof registry / sizeof *registry)

size_t ds_stage_count(void) { return NSTAGES; }

const ds_stage_type *ds_stage_at(size_t i) { return i < NSTAGES ? registry[i] : NULL; }

struct ds_chain {
	ds_runtime *rt;
	void *ctx[NSTAGES];
	bool inited[NSTAGES];
	bool in_batch;
	bool unsaved;                /* no savepoint per input */
	ds_stats batch_stats;        /* the counters when the batch began */
};

void ds_chain_savepoints(ds_chain *c, bool on)
{
	c->unsaved = !on;
}

void ds_chain_free(ds_chain *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NSTAGES; i++) {
		if (c->inited[i] && registry[i]->fini)
			registry[i]->fini(c->ctx[i]);
		ds_free(c->ctx[i]);
	}
	ds_free(c);
}

int ds_chain_new(ds_runtime *rt, ds_chain **out, ds_err *err)
{
	*out = NULL;
	ds_chain *c = ds_calloc(1, sizeof *c);
	if (!c)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	c->rt = rt;
	for (size_t i = 0; i < NSTAGES; i++) {
		const ds_stage_type *t = registry[i];
		if (t->ctx_size && !(c->ctx[i] = ds_calloc(1, t->ctx_size))) {
			ds_chain_free(c);
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		}
		if (t->init) {
			int rc = t->init(c->ctx[i], rt, err);
			if (rc) {
				ds_chain_free(c);
				return ds_err_prefix(err, "stage %s", t->name);
			}
		}
		c->inited[i] = true;
	}
	*out = c;
	return DS_OK;
}

static int control(ds_chain *c, int op, ds_err *err)
{
	for (size_t i = 0; i < NSTAGES; i++) {
		if (!registry[i]->control)
			continue;
		int rc = registry[i]->control(c->ctx[i], c->rt, op, err);
		if (rc)
			return ds_err_prefix(err, "stage %s", registry[i]->name);
	}
	return DS_OK;
}

int ds_chain_batch_begin(ds_chain *c, ds_err *err)
{
	int rc = ds_store_begin(c->rt->store, err);
	if (rc)
		return rc;
	c->in_batch = true;
	c->batch_stats = c->rt->stats;
	if ((rc = control(c, DS_CTL_BATCH_BEGIN, err))) {
		ds_chain_batch_abort(c);
		return rc;
	}
	return DS_OK;
}

int ds_chain_batch_end(ds_chain *c, ds_err *err)
{
	int rc;
	if ((rc = control(c, DS_CTL_BATCH_END, err)) ||
	    (rc = ds_runtime_sync(c->rt, err)) ||
	    (rc = ds_store_commit(c->rt->store, err))) {
		ds_chain_batch_abort(c);
		return rc;
	}
	ds_runtime_committed(c->rt);
	c->in_batch = false;
	return DS_OK;
}

void ds_chain_batch_abort(ds_chain *c)
{
	if (c->in_batch) {
		ds_store_rollback(c->rt->store);
		/* Counters only count kept work; paths that could not be read
		 * are not run again, so their count stays. */
		int64_t unreadable = c->rt->stats.unreadable;
		c->rt->stats = c->batch_stats;
		c->rt->stats.unreadable = unreadable;
	}
	ds_runtime_discard(c->rt, 0);
	c->in_batch = false;
}

static int quarantine(ds_chain *c, ds_env *env, const char *stage, const char *reason,
		      ds_err *err)
{
	ds_quarantine_row q = {
		.interaction_id = env->interaction_id,
		.source = env->source ? env->source->name : "(none)",
		.channel = env->channel,
		.origin = env->origin,
		.stage = stage,
		.reason = reason,
		.at = c->rt->now,
		/* The raw bytes live in the interaction once stored. */
		.bytes = env->interaction_id ? NULL : env->bytes,
		.len = env->interaction_id ? 0 : env->len,
		.size = env->too_large ? env->size : env->len,
	};
	memcpy(q.sha256, env->sha256, sizeof q.sha256);
	bool dup = false;
	int rc = ds_store_quarantine_add(c->rt->store, &q, &dup, err);
	if (rc)
		return rc;
	env->quarantine_id = q.id;
	env->quarantine_dup = dup;
	if (dup)
		c->rt->stats.duplicates++;
	else
		c->rt->stats.quarantined++;
	return DS_OK;
}

ds_outcome ds_chain_run(ds_chain *c, ds_env *env, ds_err *err)
{
	bool saved = false;
	int64_t changes = 0;
	ds_outcome o = DS_STAGE_CONTINUE;
	size_t mark = ds_runtime_mark(c->rt);
	c->rt->stats.read++;
	/* What an input did counts only if it is kept. */
	ds_stats before = c->rt->stats;
	for (size_t i = 0; i < NSTAGES && !env->done; i++) {
		const ds_stage_type *t = registry[i];
		o = t->process(c->ctx[i], c->rt, env, err);
		if (o == DS_STAGE_CONTINUE) {
			/* From here on, an input's writes can be undone alone (or,
			 * without savepoints, are known to need undoing). */
			if (env->interaction_id && !saved && !env->done) {
				if (c->unsaved)
					changes = ds_store_changes(c->rt->store);
				else if (ds_store_savepoint(c->rt->store, err))
					return DS_STAGE_FAIL;
				saved = true;
			}
			continue;
		}
		if (saved && c->unsaved && o == DS_STAGE_REJECT &&
		    ds_store_changes(c->rt->store) != changes) {
			env->redo = true;
			ds_err_set(err, DS_EBUSY, "stage %s rejected an input after it wrote: "
				   "the batch runs again with a savepoint per input", t->name);
			return DS_STAGE_RETRY;
		}
		if (saved && !c->unsaved)
			ds_store_rollback_to(c->rt->store);
		saved = false;
		ds_runtime_discard(c->rt, mark);
		c->rt->stats.records = before.records;
		c->rt->stats.transitions = before.transitions;
		c->rt->stats.documents = before.documents;
		if (o == DS_STAGE_REJECT) {
			char reason[sizeof err->msg];
			snprintf(reason, sizeof reason, "%s", err->msg);
			env->stage = t->name;
			ds_err qerr = {0};
			if (quarantine(c, env, t->name, reason, &qerr)) {
				*err = qerr;
				return DS_STAGE_FAIL;
			}
		}
		return o;
	}
	if (saved && !c->unsaved && ds_store_release(c->rt->store, err))
		return DS_STAGE_FAIL;
	return o;
}

void ds_env_init(ds_env *env)
{
	memset(env, 0, offsetof(ds_env, records));
}

/* ---- map and validate ---- */

static void free_json(void *p) { cJSON_Delete(p); }

struct mapping {
	ds_arena *arena;
	ds_mapped *recs;
	size_t n;
};

static int emit(void *ud, const char *type, cJSON *record)
{
	struct mapping *m = ud;
	if (m->n == DS_ENV_MAX_RECORDS) {
		cJSON_Delete(record);
		return DS_ELIMIT;
	}
	if (ds_arena_defer(m->arena, free_json, record))
		return DS_ENOMEM;
	m->recs[m->n++] = (ds_mapped){ type, record, NULL };
	return DS_OK;
}

ds_outcome ds_map_input(const ds_source *s, cJSON **doc, ds_xml_doc *xml, const char *sha256,
			ds_time now, ds_arena *arena, ds_mapped *recs, size_t *nrecs, ds_err *err)
{
	struct mapping m = { arena, recs, 0 };
	int rc = xml ? ds_source_map_xml(s, xml, sha256, arena, emit, &m, err)
		     : ds_source_map(s, doc, sha256, now, arena, emit, &m, err);
	*nrecs = m.n;
	if (rc == DS_ENOMEM) {
		ds_err_set(err, DS_ENOMEM, "out of memory");
		return DS_STAGE_FAIL;
	}
	if (rc == DS_ELIMIT) {
		ds_err_set(err, DS_ELIMIT, "more than %d records from one input", DS_ENV_MAX_RECORDS);
		return DS_STAGE_REJECT;
	}
	if (rc)
		return DS_STAGE_REJECT;
	if (!m.n) {
		ds_reason_unmapped(s, doc ? *doc : NULL, xml, err);
		return DS_STAGE_REJECT;
	}
	return DS_STAGE_CONTINUE;
}

ds_outcome ds_validate_mapped(const ds_config *cfg, const ds_mapped *recs, size_t nrecs,
			      ds_err *err)
{
	for (size_t i = 0; i < nrecs; i++) {
		const ds_schema *s = ds_schema_set_get(cfg->schemas, recs[i].type);
		if (!s) {
			ds_err_set(err, DS_ECONFIG, "unknown record type \"%s\"", recs[i].type);
			return DS_STAGE_REJECT;
		}
		int rc = ds_reason_invalid(s, recs[i].type, recs[i].data, err);
		if (rc)
			return rc == DS_EINVAL ? DS_STAGE_REJECT : DS_STAGE_FAIL;
	}
	return DS_STAGE_CONTINUE;
}

void ds_premap_run(ds_premap *p, const ds_config *cfg, const ds_source *s, cJSON **doc,
		   ds_xml_doc *xml, const char *sha256, ds_time now, ds_arena *arena)
{
	p->source = s;
	p->map_err = (ds_err){0};
	p->valid_err = (ds_err){0};
	p->map = ds_map_input(s, doc, xml, sha256, now, arena, p->records, &p->nrecords,
			      &p->map_err);
	ds_premap_check(p, cfg, arena);
}

void ds_premap_check(ds_premap *p, const ds_config *cfg, ds_arena *arena)
{
	p->valid = p->map == DS_STAGE_CONTINUE
			   ? ds_validate_mapped(cfg, p->records, p->nrecords, &p->valid_err)
			   : p->map;
	/* A record without its text (out of memory) is printed by advance. */
	for (size_t i = 0; p->valid == DS_STAGE_CONTINUE && i < p->nrecords; i++)
		p->records[i].text = ds_json_print_arena(arena, p->records[i].data);
}

/* ---- reasons ---- */

int ds_reason_unmapped(const ds_source *src, const cJSON *doc, const ds_xml_doc *xml,
		       ds_err *err)
{
	char fields[512];
	if (xml) {
		ds_xml_root_name(xml, fields, sizeof fields);
		return ds_err_set(err, DS_EINVAL,
				  "unmapped: no rule of source \"%s\" matched; the root element is %s",
				  src->name, fields);
	}
	size_t n = ds_json_member_names(doc, fields, sizeof fields);
	return ds_err_set(err, DS_EINVAL, "unmapped: no rule of source \"%s\" matched; the input has %s%s",
			  src->name, n ? "fields " : "no fields", fields);
}

struct collect {
	ds_buf *buf;
	size_t n;
};

static void on_error(void *ud, const char *pointer, const char *keyword, const char *message)
{
	(void)keyword;
	struct collect *c = ud;
	/* The reason is one line: the first errors in full, then the count
	 * says how many there were. */
	if (c->n++ >= 10)
		return;
	ds_buf_printf(c->buf, "%s%s: %s", c->n > 1 ? "; " : "", *pointer ? pointer : "/", message);
}

int ds_reason_invalid(const ds_schema *schema, const char *type, const cJSON *data, ds_err *err)
{
	ds_buf buf;
	ds_buf_init(&buf, sizeof err->msg - 64);
	struct collect c = { &buf, 0 };
	size_t n = 0;
	int rc = ds_schema_validate(schema, data, on_error, &c, &n, err);
	if (!rc && n)
		rc = ds_err_set(err, DS_EINVAL, "%s record: %zu error%s: %s%s", type, n,
				n == 1 ? "" : "s", buf.data ? buf.data : "", n > 10 ? "; ..." : "");
	ds_buf_free(&buf);
	return rc;
}
