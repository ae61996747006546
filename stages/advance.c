/*
 * advance.c - stage "advance": each record reaches its case through the
 * consuming process's key (or, for an email whose key names no case, the
 * thread of the messages it answers), starts one if the process allows
 * that record type to, or edits it under the rights of the source's role
 * (a reply reached through its thread is only recorded); then the
 * data guards move the case on, and the case, its audit entries, the
 * record and the new timers are written together.
 */
#include <stdio.h>
#include <string.h>

#include "chain.h"
#include "json.h"

static void free_json(void *p) { cJSON_Delete(p); }

static ds_outcome fail_or_reject(int rc)
{
	switch (rc) {
	case DS_EINVAL: case DS_EREFUSED: case DS_ELIMIT: case DS_ECONFIG: case DS_ENOTFOUND:
		return DS_STAGE_REJECT;
	case DS_EBUSY:
		return DS_STAGE_RETRY;
	default:
		return DS_STAGE_FAIL;
	}
}

/* The record's JSON text: printed ahead, or now in the arena. */
static const char *record_text(ds_env *env, const ds_env_record *r, ds_err *err)
{
	if (r->text)
		return r->text;
	char *text = ds_json_print_arena(env->arena, r->data);
	if (!text)
		ds_err_set(err, DS_ENOMEM, "out of memory");
	return text;
}

/* The case a record goes to: the one its key names; else, for an email,
 * the case of the newest message of its thread that has one of this
 * process. DS_ENOTFOUND when neither. */
static int correlate(ds_runtime *rt, ds_env *env, const ds_process *p, const char *key,
		     ds_case_row *row, const char **via, ds_err *err)
{
	*via = NULL;
	int rc = key ? ds_store_case_find(rt->store, p->name, key, env->arena, row, err)
		     : DS_ENOTFOUND;
	for (size_t i = 0; rc == DS_ENOTFOUND && i < env->nthread; i++) {
		rc = ds_store_case_by_thread(rt->store, p->name, env->thread[i], env->arena, row,
					     err);
		if (rc == DS_OK)
			*via = env->thread[i];
	}
	return rc;
}

static ds_outcome one(ds_runtime *rt, ds_env *env, ds_env_record *r, ds_err *err)
{
	const ds_process *p = ds_config_process_for(rt->cfg, r->type);
	int rc;
	r->has_work = false;
	if (!p) {
		/* A record no process consumes is kept for the profile store. */
		const char *rec_json = record_text(env, r, err);
		if (!rec_json)
			return DS_STAGE_FAIL;
		rc = ds_store_record_add(rt->store, env->interaction_id, r->type, rec_json, 0,
					 rt->now, &r->record_id, err);
		if (rc)
			return fail_or_reject(rc);
		rt->stats.records++;
		return DS_STAGE_CONTINUE;
	}
	r->process = p;
	r->record_id = 0;
	const cJSON *k = ds_json_dotted(r->data, p->key);
	char keybuf[64];
	const char *key = NULL;
	if (cJSON_IsString(k) && *k->valuestring) {
		key = k->valuestring;
	} else if (cJSON_IsNumber(k)) {
		snprintf(keybuf, sizeof keybuf, "%.15g", k->valuedouble);
		key = keybuf;
	}
	ds_cause cause = { .kind = DS_CAUSE_RECORD, .record_type = r->type,
			   .source = env->source->name, .interaction_id = env->interaction_id };
	ds_case_row row;
	rc = correlate(rt, env, p, key, &row, &cause.thread, err);
	if (rc == DS_OK && cause.thread) {
		/* The record takes its case's key. It may be the reading
		 * thread's (mapped ahead), which this one does not change: a
		 * copy does. */
		cJSON *copy = cJSON_Duplicate(r->data, true);
		if (!copy || ds_arena_defer(env->arena, free_json, copy)) {
			ds_err_set(err, DS_ENOMEM, "out of memory");
			return DS_STAGE_FAIL;
		}
		r->data = copy;
		r->text = NULL;
		if ((rc = ds_json_set_dotted(r->data, p->key, cJSON_CreateString(row.key)))) {
			ds_err_set(err, rc, "%s record: cannot set its key \"%s\" to its case's",
				   r->type, p->key);
			return rc == DS_ENOMEM ? DS_STAGE_FAIL : DS_STAGE_REJECT;
		}
	}
	const char *rec_json = record_text(env, r, err);
	if (!rec_json)
		return DS_STAGE_FAIL;
	if (rc == DS_ENOTFOUND && !key) {
		ds_err_set(err, DS_EINVAL, "%s record has no key \"%s\" for process \"%s\"%s",
			   r->type, p->key, p->name,
			   env->nthread ? ", and the messages it answers belong to no such case" : "");
		return DS_STAGE_REJECT;
	}
	if (rc == DS_ENOTFOUND) {
		if (!ds_process_can_start(p, r->type)) {
			ds_err_set(err, DS_EINVAL,
				   "uncorrelated: no %s case %s%s, and a %s record cannot start one",
				   p->name, key, env->nthread ? " in this message's thread" : "",
				   r->type);
			return DS_STAGE_REJECT;
		}
		/* The case starts from the record itself: both die with the arena,
		 * and the record's text is the case's data text. */
		rc = ds_engine_create(&r->work, env->arena, p, key, r->data, true, &cause,
				      rt->now, err);
		r->work.data_json = rec_json;
	} else if (rc == DS_OK) {
		rc = ds_engine_load(&r->work, env->arena, rt->cfg, &row, err);
		/* A reply joins its case's history; it does not rewrite the data
		 * of the message that opened the case. */
		if (!rc && cause.thread)
			rc = ds_engine_attach(&r->work, &cause, rt->now, err);
		else if (!rc)
			rc = ds_engine_edit(&r->work, r->data, env->source->role, &cause, rt->now,
					    err);
	}
	if (!rc)
		rc = ds_engine_settle(&r->work, rt->now, err);
	if (rc)
		return fail_or_reject(rc);
	r->work.record_type = r->type;
	r->work.record_json = rec_json;
	r->work.interaction_id = env->interaction_id;
	if ((rc = ds_engine_commit(rt, &r->work, err)))
		return fail_or_reject(rc);
	r->has_work = true;
	return DS_STAGE_CONTINUE;
}

static ds_outcome advance_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	(void)ctx;
	for (size_t i = 0; i < env->nrecords; i++) {
		ds_outcome o = one(rt, env, &env->records[i], err);
		if (o != DS_STAGE_CONTINUE)
			return o;
	}
	return DS_STAGE_CONTINUE;
}

const ds_stage_type ds_stage_advance = {
	.name = "advance",
	.process = advance_process,
};
