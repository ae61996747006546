/*
 * map.c - stage "map": the source's mapping rules turn the parsed input
 * into typed records (not yet validated). An input no rule maps is
 * rejected: an interaction must become at least one record. When a reading
 * thread mapped the input ahead (env->premap), its records are taken; the
 * document is then that thread's, read here but never taken over.
 */
#include "chain.h"

static ds_outcome map_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	(void)ctx;
	ds_mapped recs[DS_ENV_MAX_RECORDS];
	const ds_mapped *from = recs;
	size_t n = 0;
	ds_outcome o;
	const ds_premap *p = env->premap;
	if (p && p->source != env->source) {
		/* The document belongs to the reader that mapped it. */
		ds_err_set(err, DS_EINTERNAL, "input mapped ahead by source \"%s\", routed to \"%s\"",
			   p->source->name, env->source->name);
		return DS_STAGE_FAIL;
	}
	if (p) {
		o = p->map;
		n = p->nrecords;
		from = p->records;
		if (o != DS_STAGE_CONTINUE)
			*err = p->map_err;
	} else {
		o = ds_map_input(env->source, &env->doc, env->xml, env->sha256[0] ? env->sha256 : NULL,
				 rt->now, env->arena, recs, &n, err);
	}
	/* Field by field: a record's work (kilobytes) is set when it is used. */
	for (size_t i = 0; i < n; i++) {
		ds_env_record *r = &env->records[i];
		r->type = from[i].type;
		r->data = from[i].data;
		r->text = from[i].text;
		r->process = NULL;
		r->record_id = 0;
		r->has_work = false;
	}
	env->nrecords = n;
	return o;
}

const ds_stage_type ds_stage_map = {
	.name = "map",
	.process = map_process,
};
