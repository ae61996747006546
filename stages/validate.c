/*
 * validate.c - stage "validate": every record must be valid against the
 * schema of its type. The reason names every error, each as a JSON Pointer
 * and a message, so `quarantine show` says all that is wrong at once.
 * Records validated ahead (env->premap, taken by the map stage) are not
 * validated twice.
 */
#include "chain.h"

static ds_outcome validate_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	(void)ctx;
	const ds_premap *p = env->premap;
	if (p) {
		if (p->valid != DS_STAGE_CONTINUE)
			*err = p->valid_err;
		return p->valid;
	}
	ds_mapped recs[DS_ENV_MAX_RECORDS];
	for (size_t i = 0; i < env->nrecords; i++)
		recs[i] = (ds_mapped){ env->records[i].type, env->records[i].data, NULL };
	return ds_validate_mapped(rt->cfg, recs, env->nrecords, err);
}

const ds_stage_type ds_stage_validate = {
	.name = "validate",
	.process = validate_process,
};
