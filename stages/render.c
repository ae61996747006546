/*
 * render.c - stage "render": the documents of the output points a case
 * entered while this input moved it. No other stage, and no command,
 * produces a document.
 */
#include "chain.h"

static ds_outcome render_process(void *ctx, ds_runtime *rt, ds_env *env, ds_err *err)
{
	(void)ctx;
	for (size_t i = 0; i < env->nrecords; i++) {
		ds_env_record *r = &env->records[i];
		if (!r->has_work)
			continue;
		int rc = ds_engine_produce(rt, &r->work, err);
		if (rc == DS_EINVAL || rc == DS_ECONFIG || rc == DS_ELIMIT)
			return DS_STAGE_REJECT;
		if (rc)
			return DS_STAGE_FAIL;
	}
	return DS_STAGE_CONTINUE;
}

const ds_stage_type ds_stage_render = {
	.name = "render",
	.process = render_process,
};
