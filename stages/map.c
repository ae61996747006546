/*
 * map.c - stage "map": the source's mapping rules turn the parsed input
 * into typed records (not yet validated). An input no rule maps is
 * rejected: an interaction must become at least one record.
 */
#include "chain.h"

static void free_json(void *p) { cJSON_Delete(p); }

static int emit(void *ud, const char *type, cJSON *record)
{
	ds_env *env = ud;
	if (env->nrecords == DS_ENV_MAX_RECORDS) {
		cJSON_Delete(record);
		return DS_ELIMIT;
	}
	if (ds_arena_defer(env->arena, free_json, record))
		return DS_ENOMEM;
	ds_env_record *r = &env->records[env->nrecords++];
	r->type = type;
	r->data = record;
	return DS_OK;
}

static ds_outcome map_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	(void)ctx;
	int rc = env->xml ? ds_source_map_xml(env->source, env->xml, env->arena, emit, env, err)
			  : ds_source_map(env->source, &env->doc, rt->now, env->arena, emit, env, err);
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
	if (!env->nrecords) {
		ds_reason_unmapped(env->source, env->doc, env->xml, err);
		return DS_STAGE_REJECT;
	}
	return DS_STAGE_CONTINUE;
}

const ds_stage_type ds_stage_map = {
	.name = "map",
	.process = map_process,
};
